//! Reading what was stored, by this build or another: member by member.
//!
//! A stored value may be old, hand-edited, half-written or written by a newer build. The types
//! that hold what a user would lose (state, account, settings, monitor, alert memory) derive
//! `Deserialize` with `#[serde(default)]`, so a missing member takes its default; [`read`]
//! adds that a member which is there but does not read (a threshold stored as an object, a
//! history point without a time) is dropped on its own instead of costing the whole value.
//! Unknown members land in each type's `#[serde(flatten)] extra` map and are written back.

use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::{Map, Value};

/// `value` read as a `T`: whole when it reads, otherwise without the members that do not read
/// on their own (each then takes its default); the default when `value` is not an object.
pub fn read<T: DeserializeOwned + Default>(value: &Value) -> T {
    if !value.is_object() {
        return T::default();
    }
    if let Ok(read) = T::deserialize(value) {
        return read;
    }
    let kept: Map<String, Value> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, member)| reads_alone::<T>(name, member))
        .map(|(name, member)| (name.clone(), member.clone()))
        .collect();
    T::deserialize(&Value::Object(kept)).unwrap_or_default()
}

/// The members of `value` that [`read`] drops: each one that does not read as part of a `T`
/// on its own. Empty when `value` reads whole (or is not an object).
pub fn unreadable<T: DeserializeOwned>(value: &Value) -> Vec<String> {
    match value.as_object() {
        Some(members) if T::deserialize(value).is_err() => members
            .iter()
            .filter(|(name, member)| !reads_alone::<T>(name, member))
            .map(|(name, _)| name.clone())
            .collect(),
        _ => Vec::new(),
    }
}

fn reads_alone<T: DeserializeOwned>(name: &str, member: &Value) -> bool {
    let alone = Value::Object(Map::from_iter([(name.to_string(), member.clone())]));
    T::deserialize(&alone).is_ok()
}

/// For `#[serde(deserialize_with)]`: a member read with [`read`], so a nested value that is
/// partly bad keeps its good parts.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    Ok(read(&Value::deserialize(deserializer)?))
}

/// For `#[serde(deserialize_with)]`: the items of a list that read; the others are dropped
/// (one bad history point never costs the history). Anything but a list reads as empty.
pub fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(items(&Value::deserialize(deserializer)?))
}

/// The items of `value` (a list) that read as a `T`.
pub fn items<T: DeserializeOwned>(value: &Value) -> Vec<T> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| T::deserialize(item).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    struct Form {
        count: u32,
        on: bool,
        #[serde(deserialize_with = "list")]
        points: Vec<Point>,
        #[serde(flatten)]
        extra: Map<String, Value>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Point {
        at: i64,
    }

    impl Default for Form {
        fn default() -> Self {
            Form {
                count: 7,
                on: true,
                points: Vec::new(),
                extra: Map::new(),
            }
        }
    }

    #[test]
    fn a_member_that_does_not_read_costs_only_itself() {
        type Case = (Value, (u32, bool, usize), &'static [&'static str]);
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            (json!({"count": 3, "on": false}),                          (3, false, 0), &[]),
            (json!({"count": -3, "on": false}),                         (7, false, 0), &["count"]),
            (json!({"count": "x", "on": 1}),                            (7, true, 0),  &["count", "on"]),
            (json!({"points": [{"at": 1}, {"at": "bad"}, 5, {"at": 2}]}), (7, true, 2),  &[]),
            (json!({"points": {"at": 1}}),                              (7, true, 0),  &[]),
            (json!({}),                                                 (7, true, 0),  &[]),
            (json!(null),                                               (7, true, 0),  &[]),
            (json!([1]),                                                (7, true, 0),  &[]),
        ];
        for (value, want, dropped) in cases {
            let form: Form = read(&value);
            assert_eq!((form.count, form.on, form.points.len()), want, "{value}");
            assert_eq!(unreadable::<Form>(&value), dropped, "{value}");
        }
    }

    #[test]
    fn members_of_a_newer_build_are_kept_and_written_back() {
        let value = json!({"count": 4, "future": {"a": [1]}, "on": "bad"});
        let form: Form = read(&value);
        assert_eq!(form.extra.get("future"), Some(&json!({"a": [1]})));
        assert_eq!(
            serde_json::to_value(&form).unwrap(),
            json!({"count": 4, "on": true, "points": [], "future": {"a": [1]}})
        );
    }
}
