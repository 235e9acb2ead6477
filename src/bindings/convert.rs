//! Values across the JS boundary: JS objects in as `serde_json::Value` through
//! serde-wasm-bindgen (bounded in depth), Rust values out as plain JSON-compatible objects,
//! and the states the module already read, held by the JS object they came from.

use crate::state::State;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// Nesting deeper than this is not data this project wrote.
const MAX_DEPTH: usize = 32;

/// A JS value as JSON data. A value nested deeper than [`MAX_DEPTH`] becomes `null` on its
/// own (skipped without walking it), so one over-deep unknown member never costs the settings
/// and history around it; `undefined`, functions and non-finite numbers become `null`.
pub fn value_from_js(value: &JsValue) -> Value {
    Bounded(0)
        .deserialize(serde_wasm_bindgen::Deserializer::from(value.clone()))
        .unwrap_or(Value::Null)
}

/// A Rust value as a plain object: `None` is `null`, maps are objects, money is a decimal
/// string (its `Serialize`), times are numbers.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// Builds a [`Value`], replacing whatever lies deeper than [`MAX_DEPTH`] with `null`.
struct Bounded(usize);

impl<'de> DeserializeSeed<'de> for Bounded {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.0 > MAX_DEPTH {
            // serde-wasm-bindgen skips an ignored value without looking inside it.
            deserializer.deserialize_ignored_any(IgnoredAny)?;
            return Ok(Value::Null);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON data")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Bounded(self.0 + 1))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Bounded(self.0 + 1))?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

/// States held at once: one per widget on a typical page; more only costs a parse.
const HELD_STATES: usize = 4;

thread_local! {
    /// The states this instance read or returned, by the JS object they belong to, newest
    /// first. A popup or a widget renders the same state object every second: with its
    /// `State` held, `view` reads nothing across the boundary again. JS never changes a state
    /// object in place (docs/ARCHITECTURE.md, "Held states"), so the object's identity
    /// (`===`) names its content.
    static HELD: RefCell<VecDeque<(JsValue, Rc<State>)>> = const { RefCell::new(VecDeque::new()) };
}

/// The state `value` holds: the one held for that object, or `value` read and migrated
/// (`State::load`, which never fails) and held from then on.
pub fn state_from(value: &JsValue) -> Rc<State> {
    let held = HELD.with_borrow(|held| {
        held.iter()
            .find(|(object, _)| object == value)
            .map(|(_, state)| Rc::clone(state))
    });
    held.unwrap_or_else(|| {
        let state = Rc::new(State::load(value_from_js(value)));
        hold(value, Rc::clone(&state));
        state
    })
}

/// `state` as a JS object, held for the next call that passes that object back.
pub fn state_to_js(state: State) -> JsValue {
    let object = to_js(&state);
    hold(&object, Rc::new(state));
    object
}

/// Holds `state` as the content of the JS object `value` (objects only).
pub fn hold(value: &JsValue, state: Rc<State>) {
    if !value.is_object() {
        return;
    }
    HELD.with_borrow_mut(|held| {
        held.retain(|(object, _)| object != value);
        held.push_front((value.clone(), state));
        held.truncate(HELD_STATES);
    });
}
