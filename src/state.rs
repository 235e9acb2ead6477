//! The stored state (settings + monitor), versioned, with migrations.
//!
//! The extension keeps one `State` object in chrome.storage.local. Whatever is stored (an
//! older version, a hand-edited value, a half-written object) goes through [`State::load`],
//! which never fails and keeps every part it can read: a bad threshold never costs the key,
//! a bad history point never costs the last good balance.

use crate::alerts::AlertState;
use crate::monitor::{FailedCheck, HistoryPoint, MonitorState, Reading};
use crate::settings::{FieldError, Settings};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// The version this build writes.
pub const STATE_VERSION: u32 = 1;

/// Upgrades, indexed by the version they start from: `MIGRATIONS[0]` turns version 0 into 1.
/// A new layout adds a function here; old data is never thrown away.
const MIGRATIONS: [fn(Map<String, Value>) -> Map<String, Value>; 1] = [v0_to_v1];

/// Version 0 is anything stored without a version: either a v1-shaped object or bare settings
/// (`{apiKey, threshold, …}`) as a hand-written or early configuration would hold.
fn v0_to_v1(mut obj: Map<String, Value>) -> Map<String, Value> {
    if !obj.contains_key("settings") && !obj.contains_key("monitor") {
        let settings = Value::Object(std::mem::take(&mut obj));
        obj.insert("settings".into(), settings);
    }
    obj
}

/// Everything the monitor stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct State {
    /// Layout version ([`STATE_VERSION`]).
    pub version: u32,
    /// The user's settings.
    pub settings: Settings,
    /// Readings, errors, alert memory, history.
    pub monitor: MonitorState,
}

impl Default for State {
    fn default() -> Self {
        let settings = Settings::default();
        let monitor = MonitorState::default().for_account(&settings);
        State { version: STATE_VERSION, settings, monitor }
    }
}

impl State {
    /// Reads a stored value of any version; never fails.
    pub fn load(raw: &Value) -> State {
        let Some(obj) = raw.as_object() else {
            return State::default();
        };
        let mut obj = obj.clone();
        let version = obj.get("version").and_then(Value::as_u64).unwrap_or(0) as usize;
        for migrate in MIGRATIONS.iter().skip(version) {
            obj = migrate(obj);
        }
        // Data from a newer build is read as far as this build understands it.
        let settings = Settings::from_stored(obj.get("settings").unwrap_or(&Value::Null));
        let monitor = obj.get("monitor").map(monitor_from_stored).unwrap_or_default().for_account(&settings);
        State { version: STATE_VERSION, settings, monitor }
    }

    /// Applies a settings form. A changed key or endpoint starts a fresh monitor for the new
    /// account (history kept); on error the state is unchanged.
    pub fn apply_settings(&self, input: &Map<String, Value>) -> Result<State, Vec<(String, FieldError)>> {
        let settings = self.settings.apply(input)?;
        let monitor = self.monitor.for_account(&settings);
        Ok(State { version: STATE_VERSION, settings, monitor })
    }
}

fn field<T: DeserializeOwned + Default>(obj: &Map<String, Value>, name: &str) -> T {
    obj.get(name).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
}

/// Reads the monitor field by field; history points that do not parse are dropped one by one.
fn monitor_from_stored(value: &Value) -> MonitorState {
    let Some(obj) = value.as_object() else {
        return MonitorState::default();
    };
    let history = match obj.get("history") {
        Some(Value::Array(points)) => points
            .iter()
            .filter_map(|p| serde_json::from_value::<HistoryPoint>(p.clone()).ok())
            .collect(),
        _ => Vec::new(),
    };
    MonitorState {
        account: field(obj, "account"),
        last_good: field::<Option<Reading>>(obj, "lastGood"),
        last_error: field::<Option<FailedCheck>>(obj, "lastError"),
        last_request_at: field(obj, "lastRequestAt"),
        failures: field(obj, "failures"),
        alerts: field::<AlertState>(obj, "alerts"),
        history,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, ErrorCode};
    use crate::money::Money;
    use serde_json::json;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn with_reading() -> State {
        let s = State::default().apply_settings(json!({"apiKey": KEY}).as_object().unwrap()).unwrap();
        let (monitor, _) = s.monitor.observe(&s.settings, &Ok(Money::parse("12.345").unwrap()), 1_000);
        State { monitor, ..s }
    }

    #[test]
    fn round_trips() {
        let s = with_reading();
        let stored = serde_json::to_value(&s).unwrap();
        assert_eq!(stored["version"], 1);
        assert_eq!(State::load(&stored), s);
    }

    #[test]
    fn garbage_gives_defaults() {
        for raw in [json!(null), json!(42), json!("x"), json!([]), json!({})] {
            assert_eq!(State::load(&raw), State::default(), "{raw}");
        }
    }

    #[test]
    fn bad_parts_lose_nothing_else() {
        let mut stored = serde_json::to_value(with_reading()).unwrap();
        stored["settings"]["threshold"] = json!("oops");
        stored["monitor"]["failures"] = json!("many");
        stored["monitor"]["history"].as_array_mut().unwrap().push(json!({"at": "bad"}));
        let s = State::load(&stored);
        assert_eq!(s.settings.api_key, KEY);
        assert_eq!(s.monitor.last_good.unwrap().balance, Money::parse("12.345").unwrap());
        assert_eq!(s.monitor.history.len(), 1);
        assert_eq!(s.monitor.failures, 0);
    }

    #[test]
    fn migrates_unversioned_bare_settings() {
        let s = State::load(&json!({"apiKey": KEY, "threshold": "2"}));
        assert_eq!(s.version, STATE_VERSION);
        assert_eq!(s.settings.api_key, KEY);
        assert_eq!(s.settings.threshold, Money::parse("2").unwrap());
    }

    #[test]
    fn newer_versions_are_read_as_far_as_understood() {
        let mut stored = serde_json::to_value(with_reading()).unwrap();
        stored["version"] = json!(7);
        stored["monitor"]["somethingNew"] = json!({"x": 1});
        let s = State::load(&stored);
        assert_eq!(s.settings.api_key, KEY);
        assert!(s.monitor.last_good.is_some());
    }

    #[test]
    fn changing_the_key_starts_a_new_account_but_keeps_history() {
        let s = with_reading();
        let (monitor, _) = s.monitor.observe(&s.settings, &Err(ApiError::new(ErrorCode::WrongKey, "x")), 2_000);
        let s = State { monitor, ..s };
        let changed = s.apply_settings(json!({"apiKey": "ffffffffffffffffffffffffffffffff"}).as_object().unwrap()).unwrap();
        assert_eq!(changed.monitor.last_error, None);
        assert_eq!(changed.monitor.history.len(), 1);
        let same = s.apply_settings(json!({"threshold": "5"}).as_object().unwrap()).unwrap();
        assert!(same.monitor.last_error.is_some(), "same key stays rejected");
        assert!(s.apply_settings(json!({"threshold": "x"}).as_object().unwrap()).is_err());
    }
}
