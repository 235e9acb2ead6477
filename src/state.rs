//! The stored state: every account's settings and monitor, versioned, with migrations.
//!
//! The extension keeps one `State` object in chrome.storage.local. Whatever is stored (an
//! older version, a hand-edited value, a half-written object) goes through [`State::load`],
//! which never fails and keeps every part it can read: a bad threshold never costs the key,
//! a bad history point never costs the last good balance, a bad account never costs the others.

use crate::alerts::AlertDecision;
use crate::history::Point;
use crate::monitor::{MonitorState, Outcome};
use crate::settings::{short_hash, FieldError, Settings};
use crate::stored;
use crate::threads::ThreadsOutcome;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The version this build writes.
pub const STATE_VERSION: u32 = 3;

/// The most accounts one state holds (each is a request per interval).
pub const MAX_ACCOUNTS: usize = 20;

/// Upgrades, indexed by the version they start from: `MIGRATIONS[0]` turns version 0 into 1.
/// A new layout adds a function here; old data is never thrown away.
const MIGRATIONS: [fn(Value) -> Value; 3] = [v0_to_v1, v1_to_v2, v2_to_v3];

/// Version 0 is anything stored without a version: either a v1-shaped object or bare settings
/// (`{apiKey, threshold, …}`) as a hand-written or early configuration would hold.
fn v0_to_v1(value: Value) -> Value {
    if value.get("settings").is_some() || value.get("monitor").is_some() {
        value
    } else {
        serde_json::json!({ "settings": value })
    }
}

/// Version 2 calls a failed check's description `detail` (version 1 said `raw`, which it never
/// was: it is a short, key-free description), and names accounts by the canonical endpoint and
/// the key in lower case: readings, alert memory and history stored under the id an earlier
/// build gave the same account move to the new one instead of being dropped.
fn v1_to_v2(mut value: Value) -> Value {
    if let Some(error) = value
        .pointer_mut("/monitor/lastError/error")
        .and_then(Value::as_object_mut)
    {
        if let Some(raw) = error.remove("raw") {
            error.insert("detail".to_string(), raw);
        }
    }
    let settings = Settings::from_stored(value.get("settings").unwrap_or(&Value::Null));
    let former = settings.former_account_ids();
    let current = settings.account_id();
    let retag = |account: Option<&mut Value>| {
        if let Some(Value::String(id)) = account {
            if former.iter().any(|f| f == id) {
                *id = current.clone();
            }
        }
    };
    retag(value.pointer_mut("/monitor/account"));
    if let Some(points) = value
        .pointer_mut("/monitor/history")
        .and_then(Value::as_array_mut)
    {
        for point in points {
            retag(point.get_mut("account"));
        }
    }
    value
}

/// Version 3 holds a list of accounts. The one account of version 2 becomes the first, with
/// its key, threshold, rates, history and alert memory as they were; it had no provider and no
/// name, which read as CaptchaAI ([`Settings::from_stored`]). Other top-level members (a newer
/// build's) stay where they were.
fn v2_to_v3(value: Value) -> Value {
    let Value::Object(mut members) = value else {
        return value;
    };
    let account: Map<String, Value> = ["settings", "monitor"]
        .into_iter()
        .filter_map(|name| Some((name.to_string(), members.remove(name)?)))
        .collect();
    members.insert(
        "accounts".to_string(),
        Value::Array(vec![Value::Object(account)]),
    );
    Value::Object(members)
}

/// One watched account: what the user configured and what the monitor remembers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(default)]
pub struct Account {
    /// The user's settings for it.
    #[serde(deserialize_with = "read_settings")]
    pub settings: Settings,
    /// Readings, errors, alert memory, history.
    #[serde(deserialize_with = "stored::lenient")]
    pub monitor: MonitorState,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

fn read_settings<'de, D: Deserializer<'de>>(d: D) -> Result<Settings, D::Error> {
    Ok(Settings::from_stored(&Value::deserialize(d)?))
}

impl Default for Account {
    fn default() -> Self {
        Account::new(Settings::default())
    }
}

impl Account {
    /// A fresh account with these settings.
    pub fn new(settings: Settings) -> Account {
        let monitor = MonitorState::default().for_account(&settings);
        Account {
            settings,
            monitor,
            extra: Map::new(),
        }
    }

    /// The stable id of the account (`Settings::account_id`).
    pub fn id(&self) -> String {
        self.settings.account_id()
    }

    /// Marks a check as sent now ([`MonitorState::begin_check`]); store the result before
    /// sending the request.
    pub fn begin_check(self, now_ms: i64) -> Account {
        let monitor = self.monitor.begin_check(&self.settings, now_ms);
        Account { monitor, ..self }
    }

    /// Folds one check into the account. An echoed key is cut out of the error first.
    pub fn observe(self, outcome: &Outcome, now_ms: i64) -> (Account, AlertDecision) {
        let outcome = outcome
            .clone()
            .map_err(|e| e.without_secret(&self.settings.api_key));
        let (monitor, decision) = self.monitor.observe(&self.settings, &outcome, now_ms);
        (Account { monitor, ..self }, decision)
    }

    /// Folds one check's `threadsinfo` answer into the account (before its balance). An echoed
    /// key is cut out of the error first.
    pub fn observe_threads(
        self,
        outcome: &ThreadsOutcome,
        now_ms: i64,
    ) -> (Account, AlertDecision) {
        let outcome = outcome
            .clone()
            .map_err(|e| e.without_secret(&self.settings.api_key));
        let (monitor, decision) = self
            .monitor
            .observe_threads(&self.settings, &outcome, now_ms);
        (Account { monitor, ..self }, decision)
    }

    /// Applies one account's form. A changed key or endpoint starts a fresh monitor for the new
    /// account (history kept); on error the account is unchanged.
    pub fn apply_settings(&self, input: &Value) -> Result<Account, Vec<(String, FieldError)>> {
        let settings = self.settings.apply(input)?;
        let mut monitor = self.monitor.clone().for_account(&settings);
        if settings.threshold != self.settings.threshold {
            let last = monitor.last_good.as_ref().map(|r| r.balance);
            monitor.alerts = monitor.alerts.for_threshold(last, settings.threshold);
        }
        Ok(Account {
            settings,
            monitor,
            extra: self.extra.clone(),
        })
    }
}

/// A stored value that could not be read and was reset when the state was loaded: what the
/// options page tells the user (`view::settings_form`) until the next successful Save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct Repair {
    /// What was reset: a setting as the form names it (`threshold`, `apiKey`, `rates.image`
    /// …), `settings` (an account's whole settings), `account` (an account that could not be
    /// read at all and was left out) or `accounts` (the list itself).
    pub field: String,
    /// The account's name (for `account`: its place in the list, from 1), if it has one.
    #[serde(default)]
    pub account: Option<String>,
    /// The value it has now, in its stored form (`"1"` for a threshold of $1), if any (for
    /// `accounts`: how many accounts could be kept).
    #[serde(default)]
    pub value: Option<String>,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

impl Repair {
    fn new(field: &str, account: Option<String>, value: Option<String>) -> Repair {
        Repair {
            field: field.to_string(),
            account,
            value,
            extra: Map::new(),
        }
    }
}

/// Everything the monitor stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(default)]
pub struct State {
    /// Layout version: [`STATE_VERSION`], or the higher version a newer build stored (its
    /// layout is kept, so that build need not migrate its own data again).
    pub version: u32,
    /// The watched accounts, at least one, in the user's order.
    #[serde(deserialize_with = "read_accounts")]
    pub accounts: Vec<Account>,
    /// What had to be reset when a stored state was loaded ([`State::load`]): stored with the
    /// state, so every later write keeps it until a Save ([`State::apply_settings`]) clears
    /// it; the options page says it in words.
    #[serde(
        deserialize_with = "stored::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub repairs: Vec<Repair>,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

/// Each stored account on its own: one that cannot be read is dropped, not the others; one
/// that repeats an earlier one (same provider, endpoint and key) is the same account.
fn read_accounts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Account>, D::Error> {
    let mut accounts: Vec<Account> = Vec::new();
    for item in account_items(Value::deserialize(d)?) {
        if !item.is_object() {
            continue;
        }
        let mut account: Account = stored::read(&item);
        account.monitor = account.monitor.for_account(&account.settings);
        if accounts.len() < MAX_ACCOUNTS && accounts.iter().all(|a| a.id() != account.id()) {
            accounts.push(account);
        }
    }
    Ok(accounts)
}

/// The stored accounts: the list, or what can be kept when it is not one (one account stored
/// bare, or accounts stored as an object's members, in the order of their names); nothing else.
fn account_items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Object(members) if is_account(&members) => vec![Value::Object(members)],
        Value::Object(members) => {
            let mut named: Vec<(String, Value)> = members
                .into_iter()
                .filter(|(_, item)| item.as_object().is_some_and(is_account))
                .collect();
            // "10" after "9": positions written as names.
            named.sort_by_key(|(name, _)| (name.parse::<u64>().unwrap_or(u64::MAX), name.clone()));
            named.into_iter().map(|(_, item)| item).collect()
        }
        _ => Vec::new(),
    }
}

fn is_account(members: &Map<String, Value>) -> bool {
    members.contains_key("settings") || members.contains_key("monitor")
}

/// The layout version a stored state says it has: a number, or a number written as text
/// (`"3"`, `"3.0"`); a state that holds accounts is version 3 at least, whatever it says (its
/// accounts are never read as one account's settings).
fn stored_version(raw: &Value) -> i64 {
    let whole = |f: f64| (f.is_finite() && f.fract() == 0.0).then_some(f as i64);
    let said = match raw.get("version") {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().and_then(whole)),
        // "3" or "3.0" (no float parsing: it would double the module's number code).
        Some(Value::String(text)) => {
            let text = text.trim();
            let (digits, fraction) = text.split_once('.').unwrap_or((text, ""));
            fraction
                .bytes()
                .all(|b| b == b'0')
                .then(|| digits.parse::<i64>().ok())
                .flatten()
        }
        _ => None,
    };
    let said = said.unwrap_or(0).clamp(0, i64::from(u32::MAX));
    if raw.get("accounts").is_some_and(|a| !a.is_null()) {
        said.max(3)
    } else {
        said
    }
}

/// What reading the (migrated) stored state `value` had to reset, as [`State::load`] reads it:
/// each account's settings members ([`Settings::reset_members`]), an account that is not one,
/// a list of accounts that is not a list.
fn repairs_of(value: &Value) -> Vec<Repair> {
    let mut repairs = Vec::new();
    let accounts = value.get("accounts").unwrap_or(&Value::Null);
    let items = account_items(accounts.clone());
    if !accounts.is_null() && !accounts.is_array() {
        repairs.push(Repair::new("accounts", None, Some(items.len().to_string())));
    }
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            repairs.push(Repair::new("account", Some((i + 1).to_string()), None));
            continue;
        }
        let stored = item.get("settings").unwrap_or(&Value::Null);
        let settings = Settings::from_stored(stored);
        for (field, now) in Settings::reset_members(stored, &settings) {
            repairs.push(Repair::new(&field, Some(settings.name.clone()), now));
        }
    }
    repairs
}

impl Default for State {
    fn default() -> Self {
        State {
            version: STATE_VERSION,
            accounts: vec![Account::default()],
            repairs: Vec::new(),
            extra: Map::new(),
        }
    }
}

/// Field errors of a form, named `accounts.N.field` for an account's fields.
pub type FormErrors = Vec<(String, FieldError)>;

impl State {
    /// Reads a stored value of any version; never fails.
    pub fn load(raw: Value) -> State {
        if !raw.is_object() {
            return State::default();
        }
        let stored = stored_version(&raw);
        let version = stored.min(i64::from(STATE_VERSION)) as usize;
        let value = MIGRATIONS
            .iter()
            .skip(version)
            .fold(raw, |v, migrate| migrate(v));
        // Data from a newer build is read as far as this build understands it, and what it
        // does not understand is written back untouched.
        let mut state: State = stored::read(&value);
        state.version = (stored as u32).max(STATE_VERSION);
        // What was reset now joins what an earlier load reset and nobody has saved over yet.
        for repair in repairs_of(&value) {
            let known = state
                .repairs
                .iter()
                .any(|r| r.field == repair.field && r.account == repair.account);
            if !known {
                state.repairs.push(repair);
            }
        }
        if state.accounts.is_empty() {
            state.accounts.push(Account::default());
        }
        state
    }

    /// The account with this id.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id() == id)
    }

    /// Folds readings taken elsewhere (`[{ at, balance }]`, a server's history) into the
    /// history of the account with this id (`MonitorState::merge_history`); the other
    /// accounts, and a state without that account, stay as they are.
    pub fn merge_history(mut self, id: &str, points: &[Point]) -> State {
        for a in &mut self.accounts {
            if a.id() == id {
                a.monitor.merge_history(points, a.settings.threshold);
            }
        }
        self
    }

    /// Marks checks as sent now for the accounts named in `ids`; store the result before
    /// sending the requests.
    pub fn begin_checks(self, ids: &[String], now_ms: i64) -> State {
        let accounts = self
            .accounts
            .into_iter()
            .map(|a| {
                if ids.contains(&a.id()) {
                    a.begin_check(now_ms)
                } else {
                    a
                }
            })
            .collect();
        State { accounts, ..self }
    }

    /// Folds one check into the account it was fetched for (`fetched_for`, its id). An answer
    /// for an account that no longer exists (its key or endpoint changed, or it was removed
    /// while the request was out) is dropped rather than credited to another one. Returns the
    /// account's index with the alert.
    pub fn observe(
        self,
        outcome: &Outcome,
        fetched_for: Option<&str>,
        now_ms: i64,
    ) -> (State, Option<(usize, AlertDecision)>) {
        self.observe_with(fetched_for, |account| account.observe(outcome, now_ms))
    }

    /// Folds one check's `threadsinfo` answer into the account it was fetched for (see
    /// [`State::observe`]); fold it before the same check's balance.
    pub fn observe_threads(
        self,
        outcome: &ThreadsOutcome,
        fetched_for: Option<&str>,
        now_ms: i64,
    ) -> (State, Option<(usize, AlertDecision)>) {
        self.observe_with(fetched_for, |account| {
            account.observe_threads(outcome, now_ms)
        })
    }

    /// Runs `fold` on the account an answer was fetched for; an answer for an account that is
    /// gone (or changed its key or endpoint) changes nothing.
    fn observe_with(
        self,
        fetched_for: Option<&str>,
        fold: impl FnOnce(Account) -> (Account, AlertDecision),
    ) -> (State, Option<(usize, AlertDecision)>) {
        let index = match fetched_for {
            Some(id) => self.accounts.iter().position(|a| a.id() == id),
            // An untagged outcome only fits a state with one account.
            None => (self.accounts.len() == 1).then_some(0),
        };
        let Some(index) = index else {
            return (self, None);
        };
        let mut accounts = self.accounts;
        let account = accounts.remove(index);
        let (account, decision) = fold(account);
        accounts.insert(index, account);
        (State { accounts, ..self }, Some((index, decision)))
    }

    /// A name for the settings as they stand (every account's, in order; not its readings): it
    /// changes with any save and with nothing else, so a form can say which settings it was
    /// filled from. A short hash, so the keys in it cannot be read back.
    pub fn settings_revision(&self) -> String {
        let texts: Vec<String> = self
            .accounts
            .iter()
            .map(|a| serde_json::to_string(&a.settings).unwrap_or_default())
            .collect();
        short_hash(&texts.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Applies a settings form:
    /// `{ intervalMinutes?, notifications?, showSolves?, accounts?: [{ id?, name, provider,
    /// apiKey, threshold, endpoint, rates }] }`. The shared fields apply to every account. With
    /// `accounts`, the list replaces the accounts: a row with the `id` of a stored account edits
    /// it (keeping its readings and alert memory), a row without one adds an account, a stored
    /// account without a row is removed. Without `accounts` the form's account fields apply to
    /// the first account (a one-account form, the widget's attributes). All fields are
    /// checked; on any error nothing changes and every bad field is reported.
    ///
    /// A form that names the `revision` it was filled from is refused when the settings have
    /// changed since ([`FieldError::ChangedElsewhere`] on `revision`): a list from a second
    /// options tab would otherwise remove the account the first one added, or undo its rename.
    pub fn apply_settings(&self, input: &Value) -> Result<State, FormErrors> {
        if let Some(revision) = input.get("revision").and_then(Value::as_str) {
            if revision != self.settings_revision() {
                return Err(vec![("revision".to_string(), FieldError::ChangedElsewhere)]);
            }
        }
        let shared = shared_fields(input);
        let mut errors: FormErrors = Vec::new();
        let mut accounts = Vec::new();
        match input.get("accounts") {
            Some(Value::Array(rows)) => {
                if rows.is_empty() || rows.len() > MAX_ACCOUNTS {
                    errors.push(("accounts".to_string(), FieldError::NoAccounts));
                }
                let fresh = Account::default();
                for (i, row) in rows.iter().take(MAX_ACCOUNTS).enumerate() {
                    let base = row
                        .get("id")
                        .and_then(Value::as_str)
                        .and_then(|id| self.account(id))
                        .unwrap_or(&fresh);
                    match base.apply_settings(&merged(row, &shared)) {
                        Ok(account) => accounts.push(account),
                        Err(e) => {
                            for (field, e) in e {
                                // A shared field is one field of the form, reported once.
                                let name = if shared.contains_key(&field) {
                                    field
                                } else {
                                    account_field(i, &field)
                                };
                                if errors.iter().all(|(n, _)| *n != name) {
                                    errors.push((name, e));
                                }
                            }
                        }
                    }
                }
            }
            _ => {
                let shared = Value::Object(shared);
                for (i, account) in self.accounts.iter().enumerate() {
                    let form = if i == 0 { input } else { &shared };
                    match account.apply_settings(form) {
                        Ok(account) => accounts.push(account),
                        Err(e) => errors.extend(e),
                    }
                }
            }
        }
        if errors.is_empty() {
            errors.extend(duplicates(&accounts));
        }
        if errors.is_empty() {
            // Saved: the user has seen the form, and what was reset is now what they saved.
            Ok(State {
                version: self.version,
                accounts,
                repairs: Vec::new(),
                extra: self.extra.clone(),
            })
        } else {
            Err(errors)
        }
    }
}

/// The form's fields that every account shares.
fn shared_fields(input: &Value) -> Map<String, Value> {
    const SHARED: [&str; 6] = [
        "intervalSeconds",
        "intervalMinutes",
        "notifications",
        "showSolves",
        "predictiveHours",
        "spikeAlerts",
    ];
    SHARED
        .into_iter()
        .filter_map(|name| Some((name.to_string(), input.get(name)?.clone())))
        .filter(|(_, value)| !value.is_null())
        .collect()
}

/// An account's row with the shared fields added.
fn merged(row: &Value, shared: &Map<String, Value>) -> Value {
    let mut members = row.as_object().cloned().unwrap_or_default();
    members.extend(shared.clone());
    Value::Object(members)
}

/// `accounts.N.field`: the name of a field of the form's row N.
fn account_field(row: usize, field: &str) -> String {
    format!("accounts.{row}.{field}")
}

/// Two rows that are the same account, or share a name: the later one is refused.
fn duplicates(accounts: &[Account]) -> FormErrors {
    let mut errors = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let earlier = &accounts[..i];
        if let Some(same) = earlier.iter().find(|a| a.id() == account.id()) {
            errors.push((
                account_field(i, "apiKey"),
                FieldError::DuplicateAccount(same.settings.name.clone()),
            ));
        } else if earlier
            .iter()
            .any(|a| a.settings.name.eq_ignore_ascii_case(&account.settings.name))
        {
            errors.push((
                account_field(i, "name"),
                FieldError::DuplicateName(account.settings.name.clone()),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, ErrorCode};
    use crate::money::Money;
    use crate::schedule::Trigger;
    use serde_json::{json, Value};

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn j(v: Value) -> Value {
        v
    }

    fn stored(s: &State) -> Value {
        serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap()
    }

    fn with_reading() -> State {
        let s = State::default()
            .apply_settings(&j(json!({"apiKey": KEY})))
            .unwrap();
        s.observe(&Ok(Money::parse("12.345").unwrap()), None, 1_000)
            .0
    }

    /// The alert an observation decided (none when it was dropped).
    fn decided(observed: (State, Option<(usize, AlertDecision)>)) -> (State, AlertDecision) {
        let (s, d) = observed;
        (s, d.map_or(AlertDecision::None, |(_, d)| d))
    }

    #[test]
    fn round_trips() {
        let s = with_reading();
        let stored = stored(&s);
        assert_eq!(stored["version"], STATE_VERSION);
        assert_eq!(State::load(j(stored)), s);
    }

    #[test]
    fn garbage_gives_defaults() {
        for raw in [json!(null), json!(42), json!("x"), json!([]), json!({})] {
            assert_eq!(State::load(j(raw.clone())), State::default(), "{raw}");
        }
    }

    #[test]
    fn bad_parts_lose_nothing_else() {
        let mut stored = stored(&with_reading());
        stored["accounts"][0]["settings"]["threshold"] = json!("oops");
        stored["accounts"][0]["monitor"]["failures"] = json!("many");
        stored["accounts"][0]["monitor"]["history"]
            .as_array_mut()
            .unwrap()
            .push(json!({"at": "bad"}));
        let s = State::load(j(stored));
        assert_eq!(s.accounts[0].settings.api_key, KEY);
        assert_eq!(
            s.accounts[0].monitor.last_good.as_ref().unwrap().balance,
            Money::parse("12.345").unwrap()
        );
        assert_eq!(s.accounts[0].monitor.history.len(), 1);
        assert_eq!(s.accounts[0].monitor.failures, 0);
    }

    #[test]
    fn migrates_unversioned_bare_settings() {
        let s = State::load(j(json!({"apiKey": KEY, "threshold": "2"})));
        assert_eq!(s.version, STATE_VERSION);
        assert_eq!(s.accounts[0].settings.api_key, KEY);
        assert_eq!(s.accounts[0].settings.threshold, Money::parse("2").unwrap());
    }

    #[test]
    fn every_stored_version_loads_with_its_failed_check() {
        let failed = json!({"code": "server_error", "at": 5});
        // The readings belong to this key's account: a monitor for another one starts afresh.
        let account = with_reading().accounts[0].monitor.account.clone();
        #[rustfmt::skip]
        let versions = [
            ("v0 bare monitor",   json!({"settings": {"apiKey": KEY}, "monitor": {"account": account, "lastError": {"error": {"code": "server_error", "raw": "HTTP 502"}, "at": 5}}})),
            ("v1 raw",            json!({"version": 1, "settings": {"apiKey": KEY}, "monitor": {"account": account, "lastError": {"error": {"code": "server_error", "raw": "HTTP 502"}, "at": 5}}})),
            ("v2 detail",         json!({"version": 2, "settings": {"apiKey": KEY}, "monitor": {"account": account, "lastError": {"error": {"code": "server_error", "detail": "HTTP 502"}, "at": 5}}})),
        ];
        for (name, stored_value) in versions {
            let s = State::load(j(stored_value));
            assert_eq!(s.version, STATE_VERSION, "{name}");
            assert_eq!(s.accounts[0].settings.api_key, KEY, "{name}");
            let error = &s.accounts[0].monitor.last_error.as_ref().expect(name).error;
            assert_eq!(error.code, ErrorCode::ServerError, "{name}");
            assert_eq!(error.detail, "HTTP 502", "{name}");
            let back = stored(&s);
            assert_eq!(
                back["accounts"][0]["monitor"]["lastError"]["error"]["detail"], "HTTP 502",
                "{name}"
            );
            assert!(
                back["accounts"][0]["monitor"]["lastError"]["error"]
                    .get("raw")
                    .is_none(),
                "{name}"
            );
        }
        // A failed check is kept whole or not at all.
        let s = State::load(j(
            json!({"version": 1, "settings": {"apiKey": KEY}, "monitor": {"account": account, "lastError": failed}}),
        ));
        assert!(s.accounts[0].monitor.last_error.is_none());
    }

    #[test]
    fn version_1_readings_survive_the_new_account_names() {
        // Ids as the first release wrote them: the endpoint lower-cased as typed, the key as
        // typed (FNV-1a over "endpoint NUL key", top 32 bits).
        fn first_release_id(endpoint: &str, key: &str) -> String {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for b in endpoint
                .to_ascii_lowercase()
                .bytes()
                .chain([0])
                .chain(key.bytes())
            {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            format!("{:08x}", (hash >> 32) as u32)
        }
        let upper = KEY.to_ascii_uppercase();
        #[rustfmt::skip]
        let cases = [
            ("http://localhost:8080",       KEY),
            ("https://proxy.example:443",   KEY),
            ("https://ocr.captchaai.com",   KEY),
            ("https://ocr.captchaai.com",   upper.as_str()),
        ];
        for (endpoint, key) in cases {
            let account = first_release_id(endpoint, key);
            let stored_value = json!({
                "version": 1,
                "settings": {"apiKey": key, "endpoint": endpoint},
                "monitor": {
                    "account": account,
                    "lastGood": {"balance": "0.5", "at": 10},
                    "lastError": {"error": {"code": "wrong_key", "raw": "ERROR_WRONG_USER_KEY"}, "at": 20},
                    "alerts": {"warnedLow": true, "keyErrorNotified": true},
                    "history": [{"at": 10, "balance": "0.5", "account": account}],
                },
            });
            let s = State::load(j(stored_value));
            let name = format!("{endpoint} {key}");
            assert_eq!(
                s.accounts[0].monitor.account,
                s.accounts[0].settings.account_id(),
                "{name}"
            );
            assert!(
                s.accounts[0].monitor.last_good.is_some(),
                "{name}: last good balance kept"
            );
            assert!(
                s.accounts[0].monitor.alerts.warned_low,
                "{name}: alert memory kept"
            );
            let rejected = s.accounts[0]
                .monitor
                .last_error
                .as_ref()
                .map(|f| f.error.code);
            assert_eq!(
                rejected,
                Some(ErrorCode::WrongKey),
                "{name}: the rejection is remembered"
            );
            assert_eq!(
                s.accounts[0].monitor.history[0].account, s.accounts[0].monitor.account,
                "{name}"
            );
            let plan =
                s.accounts[0]
                    .monitor
                    .plan(&s.accounts[0].settings, Trigger::Alarm, 1_000_000);
            assert!(!plan.fetch, "{name}: a rejected key is not sent again");
        }
    }

    #[test]
    fn an_echoed_key_never_reaches_the_state_or_the_view() {
        let s = with_reading();
        let upper = KEY.to_ascii_uppercase();
        #[rustfmt::skip]
        let echoes = [
            (ErrorCode::Unknown,     format!("ERROR_{upper}")),
            (ErrorCode::Malformed,   format!("key {KEY} is odd")),
            (ErrorCode::ServerError, upper.clone()),
        ];
        for (code, detail) in echoes {
            let (s, _) = s
                .clone()
                .observe(&Err(ApiError::new(code, detail.clone())), None, 2_000);
            // The settings hold the key by design; the monitor's memory must not.
            let text = serde_json::to_string(&s.accounts[0].monitor)
                .unwrap()
                .to_ascii_lowercase();
            assert!(!text.contains(KEY), "{detail}: stored");
            let view =
                serde_json::to_string(&crate::summary::view(&s, 3_000, crate::i18n::Lang::En, 0))
                    .unwrap();
            assert!(!view.to_ascii_lowercase().contains(KEY), "{detail}: shown");
        }
    }

    #[test]
    fn lowering_the_threshold_rearms_quietly() {
        use crate::alerts::AlertDecision as D;
        let read = |s: State, balance: &str, at: i64| {
            decided(s.observe(&Ok(Money::parse(balance).unwrap()), None, at))
        };
        let (s, warned) = read(with_reading(), "0.50", 100_000);
        assert_eq!(warned, D::Warning, "below the default $1.00");
        let s = s.apply_settings(&j(json!({"threshold": "0.30"}))).unwrap();
        let (s, after_change) = read(s, "0.50", 200_000);
        assert_eq!(after_change, D::None, "no top-up happened: no 'restored'");
        let (_, below_new) = read(s, "0.20", 300_000);
        assert_eq!(
            below_new,
            D::Warning,
            "the new threshold warns once crossed"
        );
    }

    #[test]
    fn a_newer_builds_members_inside_a_failed_check_are_kept() {
        let mut newer = stored(&with_reading());
        newer["version"] = json!(3);
        newer["accounts"][0]["monitor"]["lastError"] = json!({
            "error": {"code": "rate_limited", "detail": "HTTP 429", "retryAfter": 120},
            "at": 2_000,
            "attempt": 4,
        });
        let back = stored(&State::load(j(newer)));
        assert_eq!(
            back["accounts"][0]["monitor"]["lastError"]["error"]["retryAfter"],
            120
        );
        assert_eq!(back["accounts"][0]["monitor"]["lastError"]["attempt"], 4);
    }

    #[test]
    fn newer_versions_are_read_as_far_as_understood() {
        let mut stored = stored(&with_reading());
        stored["version"] = json!(7);
        stored["accounts"][0]["monitor"]["somethingNew"] = json!({"x": 1});
        let s = State::load(j(stored));
        assert_eq!(s.accounts[0].settings.api_key, KEY);
        assert!(s.accounts[0].monitor.last_good.is_some());
    }

    #[test]
    fn what_a_newer_build_stored_survives_a_round_trip_through_this_one() {
        let mut newer = stored(&with_reading());
        newer["version"] = json!(99);
        newer["teams"] = json!([{"id": "t1", "accounts": [0]}]);
        newer["accounts"][0]["settings"]["forecast"] = json!({"days": 7, "unit": "day"});
        newer["accounts"][0]["monitor"]["forecastCache"] = json!([1, 2.5, "x"]);
        newer["accounts"][0]["monitor"]["alerts"]["snoozedUntil"] = json!(1_800_000_000_000_i64);
        // Members inside the strict parts too: a history point's, a failed check's error's.
        newer["accounts"][0]["monitor"]["history"][0]["source"] = json!("proxy");
        // This build reads it, saves settings, checks, and stores it again.
        let s = State::load(j(newer.clone()))
            .apply_settings(&j(json!({"threshold": "3"})))
            .unwrap();
        let id = s.accounts[0].id();
        let (s, _) =
            s.begin_checks(&[id], 2_000)
                .observe(&Ok(Money::parse("2").unwrap()), None, 3_000);
        let back = stored(&s);
        assert_eq!(
            back["accounts"][0]["monitor"]["history"][0]["source"],
            "proxy"
        );
        assert_eq!(back["version"], 99);
        assert_eq!(back["teams"], newer["teams"]);
        assert_eq!(
            back["accounts"][0]["settings"]["forecast"],
            newer["accounts"][0]["settings"]["forecast"]
        );
        assert_eq!(
            back["accounts"][0]["monitor"]["forecastCache"],
            newer["accounts"][0]["monitor"]["forecastCache"]
        );
        assert_eq!(
            back["accounts"][0]["monitor"]["alerts"]["snoozedUntil"],
            1_800_000_000_000_i64
        );
        assert_eq!(back["accounts"][0]["settings"]["threshold"], "3");
        assert_eq!(
            State::load(
                serde_json::from_str::<serde_json::Value>(&serde_json::to_string(&s).unwrap())
                    .unwrap()
            ),
            s,
            "stable from then on"
        );
    }

    #[test]
    fn an_unknown_member_of_any_shape_costs_nothing() {
        // How deep a JS value may nest before it is cut is the bindings' (tests/web.rs); here
        // a newer build's member of any shape is kept and written back as it was.
        let mut stored = stored(&with_reading());
        stored["accounts"][0]["settings"]["threshold"] = json!("2");
        let mut deep = json!(0);
        for _ in 0..40 {
            deep = json!([deep]);
        }
        stored["junk"] = json!({ "nested": deep });
        stored["accounts"][0]["monitor"]["futureCache"] = json!({"a": [1, {"b": null}]});
        let s = State::load(stored.clone());
        assert_eq!(s.accounts[0].settings.api_key, KEY);
        assert_eq!(s.accounts[0].settings.threshold, Money::parse("2").unwrap());
        assert_eq!(s.accounts[0].monitor.history.len(), 1);
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["junk"], stored["junk"]);
        assert_eq!(
            back["accounts"][0]["monitor"]["futureCache"],
            stored["accounts"][0]["monitor"]["futureCache"]
        );
    }

    #[test]
    fn an_answer_for_the_old_key_is_dropped() {
        let s = with_reading();
        let asked_for = s.accounts[0].settings.account_id();
        let changed = s
            .apply_settings(&j(json!({"apiKey": "ffffffffffffffffffffffffffffffff"})))
            .unwrap();
        let late = Err(ApiError::new(ErrorCode::WrongKey, "ERROR_WRONG_USER_KEY"));
        let (after, decision) = decided(changed.clone().observe(&late, Some(&asked_for), 5_000));
        assert_eq!(
            (after.clone(), decision),
            (changed.clone(), AlertDecision::None)
        );
        let account = changed.accounts[0].settings.account_id();
        let (current, _) = changed.clone().observe(&late, Some(&account), 5_000);
        assert!(current.accounts[0].monitor.last_error.is_some());
        let (untagged, _) = changed.observe(&late, None, 5_000);
        assert_eq!(untagged, current);
    }

    #[test]
    fn changing_the_key_starts_a_new_account_but_keeps_history() {
        let s = with_reading();
        let (monitor, _) = s.accounts[0].monitor.clone().observe(
            &s.accounts[0].settings,
            &Err(ApiError::new(ErrorCode::WrongKey, "x")),
            2_000,
        );
        let mut s = s;
        s.accounts[0].monitor = monitor;
        let changed = s
            .apply_settings(&j(json!({"apiKey": "ffffffffffffffffffffffffffffffff"})))
            .unwrap();
        assert_eq!(changed.accounts[0].monitor.last_error, None);
        assert_eq!(changed.accounts[0].monitor.history.len(), 1);
        let same = s.apply_settings(&j(json!({"threshold": "5"}))).unwrap();
        assert!(
            same.accounts[0].monitor.last_error.is_some(),
            "same key stays rejected"
        );
        assert!(s.apply_settings(&j(json!({"threshold": "x"}))).is_err());
    }

    /// Settings saved one after another, a second apart, each followed by the plan for its
    /// `settings` check; returns which saves would have sent a request.
    fn saves(inputs: &[Value]) -> Vec<bool> {
        let mut s = State::default();
        let mut sent = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let now = 1_000_000 + i as i64 * 1_000;
            s = s.apply_settings(&j(input.clone())).unwrap();
            let plan = s.accounts[0]
                .monitor
                .plan(&s.accounts[0].settings, Trigger::Settings, now);
            if plan.fetch {
                let id = s.accounts[0].id();
                s = s.begin_checks(&[id], now);
                s = s
                    .observe(&Ok(Money::parse("0.5").unwrap()), None, now + 100)
                    .0;
            }
            sent.push(plan.fetch);
        }
        sent
    }

    #[test]
    fn the_floor_belongs_to_the_key_whatever_the_settings_say() {
        let other = "ffffffffffffffffffffffffffffffff";
        let at = |key: &str, endpoint: &str| json!({"apiKey": key, "endpoint": endpoint});
        #[rustfmt::skip]
        let cases: Vec<(&str, Vec<Value>, Vec<bool>)> = vec![
            ("endpoint spellings alternate", vec![at(KEY, "http://localhost:9"), at(KEY, "http://127.0.0.1:9"), at(KEY, "http://localhost:9/"), at(KEY, "HTTP://127.0.0.1:9")], vec![true, false, false, false]),
            ("keys switch back and forth",   vec![at(KEY, "http://127.0.0.1:9"), at(other, "http://127.0.0.1:9"), at(KEY, "http://127.0.0.1:9"), at(other, "http://127.0.0.1:9")], vec![true, true, false, false]),
            ("same key, another endpoint",   vec![at(KEY, "http://127.0.0.1:9"), at(KEY, "http://127.0.0.1:10")], vec![true, false]),
            ("control: two keys once each",  vec![at(KEY, "http://127.0.0.1:9"), at(other, "http://127.0.0.1:9")], vec![true, true]),
        ];
        for (name, inputs, want) in cases {
            assert_eq!(saves(&inputs), want, "{name}");
        }
    }

    #[test]
    fn a_change_that_keeps_the_key_keeps_the_alert_memory() {
        let s = State::default()
            .apply_settings(&j(json!({"apiKey": KEY, "endpoint": "http://localhost:9"})))
            .unwrap();
        let (s, first) = decided(s.observe(&Ok(Money::parse("0.5").unwrap()), None, 1_000));
        assert_eq!(first, AlertDecision::Warning);
        for input in [
            json!({"endpoint": "http://127.0.0.1:9/"}),
            json!({"threshold": "0.90"}),
            json!({"apiKey": KEY}),
        ] {
            let changed = s.apply_settings(&j(input.clone())).unwrap();
            let (_, again) =
                decided(changed.observe(&Ok(Money::parse("0.5").unwrap()), None, 90_000));
            assert_eq!(again, AlertDecision::None, "{input}");
        }
        // Control: another key is another account, with its own first warning.
        let other = s
            .apply_settings(&j(json!({"apiKey": "ffffffffffffffffffffffffffffffff"})))
            .unwrap();
        let (_, fresh) = decided(other.observe(&Ok(Money::parse("0.5").unwrap()), None, 90_000));
        assert_eq!(fresh, AlertDecision::Warning);
    }

    const OTHER: &str = "ffffffffffffffffffffffffffffffff";

    fn form(rows: Value) -> Value {
        j(json!({ "accounts": rows }))
    }

    #[test]
    fn version_2_becomes_the_first_account_with_everything_it_knew() {
        let account = with_reading().accounts[0].monitor.account.clone();
        let v2 = json!({
            "version": 2,
            "settings": {"apiKey": KEY, "threshold": "2", "intervalSeconds": 300,
                         "rates": {"image": "0.0008", "bls": "0.002"}, "notifications": false},
            "monitor": {
                "account": account,
                "lastGood": {"balance": "1.5", "at": 10},
                "alerts": {"warnedLow": true},
                "history": [{"at": 10, "balance": "1.5", "account": account}],
                "requests": [{"requester": "abc", "at": 10}],
            },
            "newerTopLevel": {"kept": 1},
        });
        let s = State::load(j(v2));
        assert_eq!(s.version, STATE_VERSION);
        assert_eq!(s.accounts.len(), 1);
        let a = &s.accounts[0];
        assert_eq!(a.settings.name, "CaptchaAI");
        assert_eq!(a.settings.provider, crate::provider::ProviderId::CaptchaAi);
        assert_eq!(a.settings.api_key, KEY);
        assert_eq!(a.settings.threshold, Money::parse("2").unwrap());
        assert_eq!(a.settings.interval_seconds, 300);
        assert!(!a.settings.notifications);
        let image = a.settings.rates.rate(crate::costs::CaptchaType::Image);
        assert_eq!(image, Money::parse("0.0008").ok());
        // Types the stored table did not name have no rate (v2 always wrote all seven).
        assert_eq!(
            a.settings.rates.rate(crate::costs::CaptchaType::Turnstile),
            None
        );
        assert_eq!(a.monitor.account, a.id(), "the id did not change");
        assert!(a.monitor.alerts.warned_low, "alert memory kept");
        assert_eq!(a.monitor.history.len(), 1);
        assert_eq!(a.monitor.requests.len(), 1);
        assert_eq!(stored(&s)["newerTopLevel"], json!({"kept": 1}));
        // A migrated state loads as itself from then on.
        assert_eq!(State::load(j(stored(&s))), s);
    }

    /// A stored state of two accounts, Production (threshold $5, a reading of $2) and Staging.
    fn two_accounts() -> Value {
        let s = State::default()
            .apply_settings(&form(json!([
                {"name": "Production", "apiKey": KEY, "threshold": "5"},
                {"name": "Staging", "provider": "anticaptcha", "apiKey": OTHER},
            ])))
            .unwrap();
        let id = s.accounts[0].id();
        stored(
            &s.observe(&Ok(Money::parse("2").unwrap()), Some(&id), 1_000)
                .0,
        )
    }

    /// Names, thresholds and whether the first account kept its reading.
    fn kept(s: &State) -> (Vec<String>, Vec<String>, bool) {
        (
            s.accounts.iter().map(|a| a.settings.name.clone()).collect(),
            s.accounts
                .iter()
                .map(|a| a.settings.threshold.decimal_text())
                .collect(),
            s.accounts[0].monitor.last_good.is_some(),
        )
    }

    #[test]
    fn a_version_written_as_text_or_missing_never_hides_the_accounts() {
        let both = (
            vec!["Production".to_string(), "Staging".to_string()],
            vec!["5".to_string(), "1".to_string()],
            true,
        );
        for version in [
            json!("3"),
            json!("3.0"),
            json!(" 3 "),
            json!(3.0),
            json!("x"),
            json!(null),
            json!({"v": 3}),
            json!(-1),
        ] {
            let mut v = two_accounts();
            v["version"] = version.clone();
            let s = State::load(j(v));
            assert_eq!(kept(&s), both, "version {version}");
            assert_eq!(s.version, STATE_VERSION, "version {version}");
            assert!(s.repairs.is_empty(), "version {version}: {:?}", s.repairs);
        }
        // Without any version member at all.
        let mut v = two_accounts();
        v.as_object_mut().unwrap().remove("version");
        assert_eq!(kept(&State::load(j(v))), both);
        // An older layout written as text still migrates.
        let s = State::load(j(
            json!({"version": "2", "settings": {"apiKey": KEY, "threshold": "3"}}),
        ));
        assert_eq!(s.accounts[0].settings.threshold, Money::parse("3").unwrap());
    }

    #[test]
    fn what_could_not_be_read_is_reset_and_reported_until_a_save() {
        use crate::i18n::Lang;
        use crate::view::settings_form;
        type Case = (
            &'static str,
            fn(&mut Value),
            Vec<&'static str>,
            &'static str,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("threshold as an object",
             |v| v["accounts"][0]["settings"]["threshold"] = json!({"amount": "5"}),
             vec!["Production", "Staging"],
             "Production: the low-balance threshold could not be read and was reset to $1.0000. Check it and press Save."),
            ("threshold as text that is no amount",
             |v| v["accounts"][0]["settings"]["threshold"] = json!("five"),
             vec!["Production", "Staging"],
             "Production: the low-balance threshold could not be read and was reset to $1.0000. Check it and press Save."),
            ("notifications as text",
             |v| v["accounts"][1]["settings"]["notifications"] = json!("yes"),
             vec!["Production", "Staging"],
             "Staging: the notifications setting could not be read and was reset to on. Check it and press Save."),
            ("interval as an object",
             |v| v["accounts"][0]["settings"]["intervalSeconds"] = json!({"s": 60}),
             vec!["Production", "Staging"],
             "Production: the check interval (minutes) could not be read and was reset to 10. Check it and press Save."),
            ("a price that is none",
             |v| v["accounts"][0]["settings"]["rates"]["image"] = json!("free"),
             vec!["Production", "Staging"],
             "Production: the cost per solve of Image / text could not be read and was reset to $0.0010. Check it and press Save."),
            ("a key of another format",
             |v| v["accounts"][0]["settings"]["apiKey"] = json!("not a key"),
             vec!["Production", "Staging"],
             "Production: the API key could not be read and was removed. Enter it again and press Save."),
            ("an endpoint that is none",
             |v| v["accounts"][1]["settings"]["endpoint"] = json!(42),
             vec!["Production", "Staging"],
             "Staging: the API endpoint could not be read and was reset to https://api.anti-captcha.com. Check it and press Save."),
            ("prices that are not a table",
             |v| v["accounts"][0]["settings"]["rates"] = json!("cheap"),
             vec!["Production", "Staging"],
             "Production: the costs per solve could not be read and were reset to the provider's examples. Check them and press Save."),
            ("a name that is none",
             |v| v["accounts"][1]["settings"]["name"] = json!(["Staging"]),
             vec!["Production", "Anti-Captcha"],
             "Anti-Captcha: the name could not be read and was reset to Anti-Captcha. Check it and press Save."),
            ("settings that are not settings",
             |v| v["accounts"][1]["settings"] = json!("Staging"),
             vec!["Production", "CaptchaAI"],
             "CaptchaAI: the settings could not be read and were reset to the defaults, without an API key. Check them, enter the key and press Save."),
            ("an account that is not one",
             |v| v["accounts"].as_array_mut().unwrap().insert(1, json!("junk")),
             vec!["Production", "Staging"],
             "Stored account 2 could not be read and was left out. Add it again if you need it, then press Save."),
            ("accounts as an object of accounts",
             |v| { let list = v["accounts"].take(); v["accounts"] = json!({"1": list[1], "0": list[0]}); },
             vec!["Production", "Staging"],
             "The stored list of accounts was damaged: 2 could be kept. Check the accounts and press Save."),
            ("one account stored bare",
             |v| { let list = v["accounts"].take(); v["accounts"] = list[0].clone(); },
             vec!["Production"],
             "The stored list of accounts was damaged: 1 could be kept. Check the accounts and press Save."),
            ("accounts as text",
             |v| v["accounts"] = json!("Production, Staging"),
             vec!["CaptchaAI"],
             "The stored list of accounts was damaged: 0 could be kept. Check the accounts and press Save."),
        ];
        for (name, damage, names, sentence) in cases {
            let mut v = two_accounts();
            damage(&mut v);
            let s = State::load(j(v));
            let got: Vec<&str> = s
                .accounts
                .iter()
                .map(|a| a.settings.name.as_str())
                .collect();
            assert_eq!(got, names, "{name}: what was kept");
            let form = settings_form(&s, Lang::En);
            assert_eq!(form.repairs, [sentence], "{name}");
            // Nothing else of the damaged account was lost with it (a cleared key makes it
            // another account: its reading stays in the history only).
            if names[0] == "Production" && !name.contains("key") {
                assert!(
                    s.accounts[0].monitor.last_good.is_some(),
                    "{name}: the reading"
                );
            }
            assert_eq!(
                settings_form(&s, Lang::Id).repairs.len(),
                1,
                "{name}: in Indonesian"
            );
            // Stored with the state: every later write keeps it (once), until a Save.
            let again = State::load(j(stored(&s)));
            assert_eq!(again.repairs, s.repairs, "{name}: kept by a write");
            let checked = again
                .observe(
                    &Ok(Money::parse("3").unwrap()),
                    Some(&s.accounts[0].id()),
                    2_000,
                )
                .0;
            assert_eq!(
                State::load(j(stored(&checked))).repairs,
                s.repairs,
                "{name}: after a check"
            );
            // The user's Save: every account as the form sends it, a cleared key typed again.
            let rows: Vec<Value> = checked
                .accounts
                .iter()
                .enumerate()
                .map(|(i, a)| match a.settings.api_key.is_empty() {
                    true => json!({"id": a.id(), "apiKey": if i == 0 { KEY } else { OTHER }}),
                    false => json!({"id": a.id()}),
                })
                .collect();
            let saved = checked
                .apply_settings(&j(json!({"notifications": true, "accounts": rows})))
                .unwrap();
            assert!(saved.repairs.is_empty(), "{name}: a Save clears it");
            assert!(stored(&saved).get("repairs").is_none(), "{name}");
            assert!(State::load(j(stored(&saved))).repairs.is_empty(), "{name}");
            // A refused Save keeps it.
            assert!(checked
                .apply_settings(&j(json!({"intervalMinutes": "0"})))
                .is_err());
        }
        // Indonesian words, with its own number format.
        let mut v = two_accounts();
        v["accounts"][0]["settings"]["threshold"] = json!({"amount": "5"});
        assert_eq!(
            settings_form(&State::load(j(v)), Lang::Id).repairs,
            ["Production: batas saldo rendah tidak dapat dibaca dan diatur ulang ke $1,0000. Periksa lalu tekan Simpan."]
        );
        // Everything read: nothing to say, and nothing stored for it; an account without a
        // key (a server adds it) is not a key that could not be read.
        let s = State::load(j(two_accounts()));
        assert!(s.repairs.is_empty() && stored(&s).get("repairs").is_none());
        let server = State::default()
            .apply_settings(&j(json!({"endpoint": "http://127.0.0.1:9"})))
            .unwrap();
        assert!(State::load(j(stored(&server))).repairs.is_empty());
    }

    #[test]
    fn a_bad_account_costs_only_itself_and_a_repeated_one_is_one() {
        let mut v = stored(&with_reading());
        let good = v["accounts"][0].clone();
        v["accounts"] = json!(["junk", good.clone(), 42, good]);
        let s = State::load(j(v));
        assert_eq!(s.accounts.len(), 1);
        assert_eq!(s.accounts[0].settings.api_key, KEY);
        assert!(s.accounts[0].monitor.last_good.is_some());
        let empty = State::load(j(json!({"version": 3, "accounts": []})));
        assert_eq!(empty.accounts.len(), 1, "never zero accounts");
    }

    #[test]
    fn the_accounts_form_adds_edits_and_removes() {
        let s = with_reading();
        let first = s.accounts[0].id();
        let two = s
            .apply_settings(&form(json!([
                {"id": first, "name": "Production", "threshold": "3"},
                {"name": "Staging", "provider": "anticaptcha", "apiKey": OTHER},
            ])))
            .unwrap();
        assert_eq!(two.accounts.len(), 2);
        let (prod, staging) = (&two.accounts[0], &two.accounts[1]);
        assert_eq!(prod.settings.name, "Production");
        assert_eq!(prod.settings.api_key, KEY, "an edited row keeps its key");
        assert!(prod.monitor.last_good.is_some(), "and its readings");
        assert_eq!(staging.settings.endpoint, "https://api.anti-captcha.com");
        assert_eq!(staging.settings.rates.iter().count(), 0, "no example rates");
        assert!(staging.monitor.last_good.is_none());
        // Shared fields reach every account.
        let shared = two
            .apply_settings(&j(json!({"intervalMinutes": "15", "notifications": false})))
            .unwrap();
        assert!(shared
            .accounts
            .iter()
            .all(|a| a.settings.interval_seconds == 900));
        assert!(shared.accounts.iter().all(|a| !a.settings.notifications));
        // Removing a row removes the account; the other keeps everything.
        let one = shared
            .apply_settings(&form(json!([{"id": staging.id()}])))
            .unwrap();
        assert_eq!(one.accounts.len(), 1);
        assert_eq!(one.accounts[0].settings.name, "Staging");
        assert_eq!(one.accounts[0].settings.interval_seconds, 900);
    }

    #[test]
    fn a_form_filled_before_another_save_is_refused_and_changes_nothing() {
        let s = with_reading();
        let first = s.accounts[0].id();
        let opened = s.settings_revision();
        // Two options tabs opened on the same settings; the first adds an account.
        let with_revision = |rows: Value, revision: &str| {
            let mut input = form(rows);
            input["revision"] = json!(revision);
            input
        };
        let added = s
            .apply_settings(&with_revision(
                json!([{"id": first}, {"name": "Staging", "provider": "anticaptcha", "apiKey": OTHER}]),
                &opened,
            ))
            .unwrap();
        assert_ne!(added.settings_revision(), opened);
        // The second tab's list has no Staging row: saving it would remove that account.
        let refused = added
            .apply_settings(&with_revision(
                json!([{"id": first, "name": "Production"}]),
                &opened,
            ))
            .unwrap_err();
        assert_eq!(
            refused,
            vec![("revision".to_string(), FieldError::ChangedElsewhere)]
        );
        // Filled again from what is stored, the same change saves.
        let renamed = added
            .apply_settings(&with_revision(
                json!([{"id": first, "name": "Production"}, {"id": added.accounts[1].id()}]),
                &added.settings_revision(),
            ))
            .unwrap();
        assert_eq!(renamed.accounts.len(), 2);
        assert_eq!(renamed.accounts[0].settings.name, "Production");
        // A check changes readings, not settings: a form stays good across checks.
        let checked = renamed
            .clone()
            .observe(&Ok(Money::parse("3").unwrap()), Some(&first), 70_000)
            .0;
        assert_eq!(checked.settings_revision(), renamed.settings_revision());
        // The revision tells nothing of the keys (a short hash).
        assert_eq!(opened.len(), 8);
        assert!(!opened.contains("0123"));
        // A form without a revision (the widget's attributes) applies as before.
        assert!(renamed
            .apply_settings(&j(json!({"notifications": false})))
            .is_ok());
    }

    #[test]
    fn the_accounts_form_refuses_what_cannot_be_watched() {
        let s = with_reading();
        let id = s.accounts[0].id();
        type Case = (Value, Vec<(&'static str, FieldError)>);
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            (json!([]),                                                                     vec![("accounts", FieldError::NoAccounts)]),
            (json!([{"id": id}, {"apiKey": KEY}]),                                          vec![("accounts.1.apiKey", FieldError::DuplicateAccount("CaptchaAI".into()))]),
            (json!([{"id": id}, {"apiKey": OTHER}]),                                        vec![("accounts.1.name", FieldError::DuplicateName("CaptchaAI".into()))]),
            (json!([{"id": id}, {"name": "B", "provider": "custom-2captcha", "apiKey": OTHER}]), vec![("accounts.1.endpoint", FieldError::EndpointMissing)]),
            (json!([{"id": id}, {"name": "B", "provider": "nope", "apiKey": OTHER}]),       vec![("accounts.1.provider", FieldError::UnknownProvider)]),
            (json!([{"id": id, "name": "  "}]),                                             vec![("accounts.0.name", FieldError::BadName)]),
            (json!([{"id": id, "provider": "capsolver"}]),                                  vec![]),
            (json!([{"id": id}, {"name": "C", "provider": "capsolver", "apiKey": "CAP-1 2"}]), vec![("accounts.1.apiKey", FieldError::KeyToken(16, 128))]),
            (json!([{"id": id}, {"name": "D", "provider": "2captcha"}]),                    vec![("accounts.1.apiKey", FieldError::KeyMissing)]),
            (json!([{"id": id}, {"name": "E", "apiKey": OTHER, "threshold": "x"}]),         vec![("accounts.1.threshold", FieldError::NotAnAmount)]),
        ];
        for (rows, want) in cases {
            let got = s.apply_settings(&form(rows.clone()));
            let want: Vec<(String, FieldError)> =
                want.into_iter().map(|(f, e)| (f.to_string(), e)).collect();
            match got {
                Ok(_) => assert!(want.is_empty(), "{rows}: accepted"),
                Err(errors) => assert_eq!(errors, want, "{rows}"),
            }
        }
        // A shared field's error is the form's, once, however many accounts there are.
        let shared = s.apply_settings(&j(json!({
            "intervalMinutes": "0",
            "accounts": [{"id": id}, {"name": "B", "apiKey": OTHER}],
        })));
        assert_eq!(
            shared.unwrap_err(),
            vec![(
                "intervalMinutes".to_string(),
                FieldError::NumberRange(1, 1440)
            )]
        );
        // The same key at the same host is another account in the other protocol family.
        let both = s
            .apply_settings(&form(json!([
                {"id": id, "endpoint": "http://127.0.0.1:9"},
                {"name": "B", "provider": "custom-createtask", "apiKey": KEY, "endpoint": "http://127.0.0.1:9"},
            ])))
            .unwrap();
        assert_ne!(both.accounts[0].id(), both.accounts[1].id());
    }

    #[test]
    fn each_account_keeps_its_own_floor_backoff_and_key_block() {
        use crate::view::plan_view;
        let en = crate::i18n::Lang::En;
        let s = State::default()
            .apply_settings(&form(json!([
                {"name": "A", "apiKey": KEY},
                {"name": "B", "provider": "anticaptcha", "apiKey": OTHER},
            ])))
            .unwrap();
        let (a, b) = (s.accounts[0].id(), s.accounts[1].id());
        let plan = plan_view(&s, Some(Trigger::Alarm), None, 1_000_000, en);
        assert_eq!(plan.due, vec![a.clone(), b.clone()]);
        // A rejects its key, B reads a balance.
        let s = s.begin_checks(&plan.due, 1_000_000);
        let wrong = Err(ApiError::new(ErrorCode::WrongKey, "ERROR_WRONG_USER_KEY"));
        let s = s.observe(&wrong, Some(&a), 1_000_100).0;
        let s = s
            .observe(&Ok(Money::parse("5").unwrap()), Some(&b), 1_000_100)
            .0;
        // B is asked again at its interval; A stays paused.
        let later = 1_000_000 + 10 * 60_000;
        let plan = plan_view(&s, Some(Trigger::Alarm), None, later, en);
        assert_eq!(plan.due, vec![b.clone()]);
        // A Save is the user saying the key may be fixed at the provider: A is asked once.
        let saved = plan_view(&s, Some(Trigger::Settings), None, later, en);
        assert!(
            saved.due.contains(&a),
            "a Save left the rejected key paused"
        );
        let refresh = plan_view(&s, Some(Trigger::Refresh), Some(&a), later, en);
        assert_eq!(refresh.due, vec![a.clone()]);
        // Anti-Captcha's floor is 30 s; CaptchaAI's a minute.
        let s = s.begin_checks(core::slice::from_ref(&b), later);
        let s = s
            .observe(&Ok(Money::parse("5").unwrap()), Some(&b), later)
            .0;
        let refresh =
            |at: i64, only: &str| plan_view(&s, Some(Trigger::Refresh), Some(only), at, en).fetch;
        assert!(!refresh(later + 29_000, &b));
        assert!(refresh(later + 31_000, &b));
        // An answer for a removed account is dropped.
        let removed = s.apply_settings(&form(json!([{"id": b}]))).unwrap();
        let (after, decision) = removed.clone().observe(&wrong, Some(&a), later);
        assert_eq!((after, decision), (removed, None));
    }

    #[test]
    fn merged_history_goes_to_the_named_account_only() {
        let s = with_reading();
        let id = s.accounts[0].id();
        let s = s
            .apply_settings(&j(
                json!({"accounts": [{"id": id}, {"name": "B", "apiKey": OTHER}]}),
            ))
            .unwrap();
        let other = s.accounts[1].id();
        let points: Vec<Point> = crate::stored::items(&json!([{"at": 500, "balance": "13"}]));
        let merged = s.clone().merge_history(&id, &points);
        let first: Vec<i64> = merged.accounts[0]
            .monitor
            .own_history()
            .iter()
            .map(|p| p.at)
            .collect();
        assert_eq!(first, [500, 1_000]);
        assert_eq!(
            merged.accounts[1], s.accounts[1],
            "the other account is untouched"
        );
        // An id the state does not hold: nothing changes.
        assert_eq!(s.clone().merge_history("nope", &points), s);
        let second = s.clone().merge_history(&other, &points);
        assert_eq!(second.accounts[0], s.accounts[0]);
        assert_eq!(second.accounts[1].monitor.own_history().len(), 1);
    }
}
