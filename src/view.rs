//! What a popup, badge tooltip, notification or widget shows, already localized.
//!
//! The extension and the widget render these structures as they are; neither decides a level,
//! a colour or a sentence on its own.

use crate::alerts::AlertDecision;
use crate::badge::{accent, badge_look, Accent};
use crate::costs::{budget, estimate, CaptchaType, RateTable, MAX_QUANTITY};
use crate::error::{ApiError, ErrorCode, ErrorKind};
use crate::forecast::{mul_div, recent_spend, runway, spend_rate, time_to};
use crate::history::{last_top_up, DAY_MS};
use crate::i18n::{age, count, day_clock, duration, format, text, Lang, Zone};
use crate::level::{is_stale, BalanceLevel, EMPTY_FLOOR};
use crate::money::Money;
use crate::monitor::HistoryPoint;
use crate::monitor::{Plan, PlanReason, Staleness, TaggedOutcome};
use crate::provider::{Family, ProviderId, PROVIDERS};
use crate::schedule::{trusted_time, Trigger};
use crate::settings::mask_key;
use crate::state::{Account, Repair, State};
use crate::summary::Status;
use crate::threads::{self, busy_share, Capacity, Diagnosis, Threads, ThreadsReading};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The badge with its tooltip.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct BadgeView {
    /// At most four characters.
    pub text: String,
    /// `#rrggbb`.
    pub color: &'static str,
    /// Tooltip: full balance, level, when read, staleness or the error.
    pub title: String,
}

/// How an error weighs: `warning` while a last good balance is still shown (an outage, not
/// an empty account), `error` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The last good balance still stands.
    Warning,
    /// No usable balance.
    Error,
}

/// What a widget reflects as its `state` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum WidgetState {
    /// Nothing read yet.
    Loading,
    /// At or above the threshold.
    Ok,
    /// Below the threshold.
    Low,
    /// Empty.
    Empty,
    /// No level known and the latest check failed.
    Error,
}

/// A notification's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The account just became empty.
    Critical,
    /// The balance just fell below the threshold.
    Warning,
    /// A top-up brought it back.
    Restored,
    /// The key was rejected.
    KeyError,
    /// Unusual spending.
    Spike,
    /// Runs out within the horizon.
    Predictive,
    /// Every thread of the plan has been busy for a while.
    ThreadsSaturated,
    /// The plan has no threads.
    PlanExpired,
}

impl AlertKind {
    /// The stable name (its serialized form, tested).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Critical => "critical",
            AlertKind::Warning => "warning",
            AlertKind::Restored => "restored",
            AlertKind::KeyError => "key_error",
            AlertKind::Spike => "spike",
            AlertKind::Predictive => "predictive",
            AlertKind::ThreadsSaturated => "threads_saturated",
            AlertKind::PlanExpired => "plan_expired",
        }
    }
}

/// An error with its explanation.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct ErrorView {
    /// Stable code.
    pub code: ErrorCode,
    /// What was seen (key-free).
    pub detail: String,
    /// Short title.
    pub message: String,
    /// Why it happens.
    pub cause: String,
    /// What to do.
    pub fix: String,
    /// How it weighs.
    pub severity: Severity,
    /// What a "no money" or "no slot" answer from a thread plan meant (all threads busy, no
    /// active plan), when the account's thread reading tells: message, cause and fix then say
    /// that, not "add funds".
    pub diagnosis: Option<Diagnosis>,
}

/// A thread plan's capacity, for an account of a provider that sells thread plans.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct ThreadsView {
    /// The plan's threads, `None` before a reading.
    pub threads: Option<u32>,
    /// Busy threads.
    pub working_threads: Option<u32>,
    /// Free threads (threads − busy).
    pub free_threads: Option<u32>,
    /// How the plan stands.
    pub capacity: Option<Capacity>,
    /// "3 of 10 threads busy", "All 10 threads busy", "No active plan" ("… · out of date" when
    /// `stale`), or "Threads unknown: Server error" before any reading.
    pub text: String,
    /// The reading is out of date: the latest `threadsinfo` request failed, or the reading is
    /// older than two check intervals.
    pub stale: bool,
    /// When the shown reading was taken (epoch ms).
    pub read_at: Option<i64>,
    /// "Every thread was busy in 2 of 12 readings over the last 24 h (17 %)."
    pub share_text: Option<String>,
}

/// The Refresh button: never silent. Within the request floor or a backoff it is disabled and
/// counts down; while checks are paused it is disabled with the reason.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct RefreshView {
    /// The button can be pressed: false only while checks are paused until the user changes
    /// something (no key, a key that failed the local check, plain http not allowed).
    pub enabled: bool,
    /// The button's label: always "Refresh". A page never opens on a countdown; the wait is
    /// said after a press that came too early (`wait_text`).
    pub text: String,
    /// "You can check again in 40 s" while a press would send nothing (the request floor, a
    /// back-off): shown, with the button held, only after such a press.
    pub wait_text: Option<String>,
    /// Why a press sends nothing now (the button's tooltip while disabled or waiting).
    pub reason: Option<String>,
    /// When a press may send a request again (epoch ms); views re-render until then.
    pub allowed_at: Option<i64>,
    /// The label while a request is out.
    pub checking_text: String,
}

/// What the API said about the key, for the options page next to the key field.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct KeyStatusView {
    /// The key was accepted (a balance was read with it).
    pub ok: bool,
    /// "CaptchaAI rejected this key at 10:02: ERROR_WRONG_USER_KEY".
    pub text: String,
}

/// Solves the balance still pays for, per type.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct RemainingView {
    /// The captcha type.
    #[serde(rename = "type")]
    pub kind: CaptchaType,
    /// Localized label.
    pub label: String,
    /// Exact rate.
    pub rate: Money,
    /// "$0.0030 per solve".
    pub rate_text: String,
    /// floor(balance / rate), `None` without a balance.
    pub solves: Option<u64>,
    /// `4,115` (en) / `4.115` (id), `None` without a balance.
    pub solves_text: Option<String>,
}

/// One account's whole picture.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// The account's id (`Settings::account_id`): what `estimate`, `planCheck` and the
    /// settings form name it by.
    pub id: String,
    /// What the user calls it.
    pub name: String,
    /// The service.
    pub provider: ProviderId,
    /// The service's name.
    pub provider_label: String,
    /// Where it stands among the others: `empty`, `low`, `error`, `ok`, `unknown` (worst
    /// first).
    pub status: Status,
    /// The status in words: the level's, or "Check failed" when the latest check failed and
    /// no level is known (the popup row's pill).
    pub status_text: String,
    /// The endpoint when it is not the provider's own (the options form's API endpoint).
    pub endpoint_override: String,
    /// What a widget reflects as its `state` attribute: `ok` / `low` / `empty` / `error` /
    /// `loading` (nothing read yet).
    pub state: WidgetState,
    /// `ok` / `low` / `empty` / `unknown`.
    pub level: BalanceLevel,
    /// The level in words (colour is never the only signal).
    pub level_text: String,
    /// The level pill: the level with what it is compared with and whether it is out of date
    /// ("Low · below $1.0000 · out of date").
    pub pill_text: String,
    /// The balance shown may be out of date.
    pub stale: bool,
    /// Why it is stale.
    pub stale_text: Option<String>,
    /// The exact balance shown.
    pub balance: Option<Money>,
    /// `$12.3450`.
    pub balance_text: Option<String>,
    /// When the API was last asked.
    pub checked_at: Option<i64>,
    /// "last checked 3 min ago" / "never checked".
    pub checked_text: String,
    /// When the shown balance was read.
    pub updated_at: Option<i64>,
    /// "3 min ago" for the shown balance.
    pub updated_ago: Option<String>,
    /// When the balance on screen was read: "Balance read 12:02, 14 min ago".
    pub read_text: Option<String>,
    /// That the latest check failed and when the next one is, apart from the balance's age.
    pub failed_text: Option<String>,
    /// The Refresh button.
    pub refresh: RefreshView,
    /// What the API said about the key, if it was asked.
    pub key_status: Option<KeyStatusView>,
    /// Show "Solves remaining" and the calculator (a setting).
    pub show_solves: bool,
    /// "Example rates: set yours in the options." while the rates are the built-in examples;
    /// "No prices set …" while the account has none (its provider publishes none here).
    pub rates_note: Option<String>,
    /// Badge look and tooltip.
    pub badge: BadgeView,
    /// The colour of the account's card, row and pill (the badge's, but an expired thread
    /// plan's is an empty balance's), with the widget's theme slot.
    pub accent: Accent,
    /// The latest check's error.
    pub error: Option<ErrorView>,
    /// Solves remaining per type.
    pub remaining: Vec<RemainingView>,
    /// Next scheduled check (epoch ms), `None` while paused.
    pub next_check_at: Option<i64>,
    /// Why checks are paused, if they are.
    pub paused_text: Option<String>,
    /// The key, masked.
    pub key_masked: String,
    /// Low-balance threshold.
    pub threshold: Money,
    /// `$1.0000`.
    pub threshold_text: String,
    /// Where to add funds, where the provider has a page for it; `None` while no key is set
    /// or the key is rejected.
    pub add_funds_url: Option<&'static str>,
    /// Spend, runway, last top-up and the sparklines.
    pub forecast: ForecastView,
    /// The plan's threads, for a provider that sells thread plans (CaptchaAI); `None` for the
    /// others and before anything was asked.
    pub threads: Option<ThreadsView>,
}

/// A sparkline: the balance over a period as SVG polyline points in a 100 × 30 box (x from
/// the period's start, y from its highest balance at 0 down to its lowest at 30), with its
/// text alternative.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct SparklineView {
    /// `"0,30 12.5,22 …"` for `<polyline points>`.
    pub points: String,
    /// "Balance over the last 24 h: from $12.0000 to $9.5000, lowest $9.5000".
    pub text: String,
}

/// What the history says about the future (docs/FORECAST.md).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct ForecastView {
    /// Spend per hour, exact (positive while the balance falls), once there is enough
    /// history.
    pub spend_per_hour: Option<Money>,
    /// "Spending $0.4200 per hour, $10.0800 per day".
    pub spend_text: Option<String>,
    /// Why there is no runway: not enough history yet, or nothing spent.
    pub note: Option<String>,
    /// Seconds from now until the balance is empty at the current spend, counted from the
    /// reading's time (so it shrinks while no new reading comes); 0 once that is past or the
    /// balance is empty, never negative.
    pub runway_seconds: Option<i64>,
    /// Seconds from now until it is below the low threshold, counted the same way (0 when it
    /// is already).
    pub runway_low_seconds: Option<i64>,
    /// "Empty in about 2 d 5 h, around Sun 03:10"; "Empty since Sun 21:07" at $0; "At the
    /// recent spend it would be empty since about 13:05" once the projected time is past;
    /// with " (as of the reading at 14:02)" while the reading is out of date.
    pub runway_text: Option<String>,
    /// "Below the threshold in about 7 h 10 min" (while above it), worded like `runway_text`.
    pub runway_low_text: Option<String>,
    /// The last top-up's amount.
    pub last_top_up: Option<Money>,
    /// When it was seen.
    pub last_top_up_at: Option<i64>,
    /// "Last top-up: +$20.0000 at 14:02".
    pub last_top_up_text: Option<String>,
    /// The last 24 hours, when two readings fall in them.
    pub day: Option<SparklineView>,
    /// The last 7 days, when two readings fall in them.
    pub week: Option<SparklineView>,
}

/// The sparkline of `points` (oldest first) over the `period_ms` before `now_ms`.
fn sparkline(
    points: &[&HistoryPoint],
    now_ms: i64,
    period_ms: i64,
    label_key: &str,
    lang: Lang,
) -> Option<SparklineView> {
    let start = now_ms.saturating_sub(period_ms);
    // Oldest first: the period's points are a tail.
    let shown = points.get(points.iter().position(|p| p.at >= start)?..)?;
    let (Some(&first), Some(&last), true) = (shown.first(), shown.last(), shown.len() > 1) else {
        return None;
    };
    let (mut low, mut high) = (first.balance, first.balance);
    for p in shown {
        low = low.min(p.balance);
        high = high.max(p.balance);
    }
    let spread = high.nanos().saturating_sub(low.nanos());
    let mut coordinates = Vec::new();
    let mut last_x = i64::MIN;
    for (i, &p) in shown.iter().enumerate() {
        // Tenths of a unit: x in 0..=1000, y in 0..=300, written as decimals.
        let x = mul_div(p.at.saturating_sub(start), 1000, period_ms);
        // At most one point per unit of width (and always the newest): a 7-day history has
        // more points than a popup has pixels for, and each one costs `view` time.
        if x < last_x.saturating_add(10) && i + 1 < shown.len() {
            continue;
        }
        last_x = x;
        let y = if spread == 0 {
            150
        } else {
            mul_div(high.nanos().saturating_sub(p.balance.nanos()), 300, spread)
        };
        coordinates.push(format!(
            "{},{}",
            tenths(x.clamp(0, 1000)),
            tenths(y.clamp(0, 300))
        ));
    }
    let out = coordinates.join(" ");
    let money = |m: Money| m.display_in(lang);
    Some(SparklineView {
        points: out,
        text: format(
            lang,
            "sparkline_text",
            &[
                &text(lang, label_key),
                &money(first.balance),
                &money(last.balance),
                &money(low),
            ],
        ),
    })
}

/// `n` tenths as a decimal: 125 -> "12.5", 30 -> "3".
fn tenths(n: i64) -> String {
    match n % 10 {
        0 => (n / 10).to_string(),
        d => format!("{}.{d}", n / 10),
    }
}

/// When the current spell at $0 began: the first of the newest run of readings below the
/// empty floor (`points` oldest first), if the newest reading is one.
fn empty_since(points: &[&HistoryPoint]) -> Option<i64> {
    let run = points
        .iter()
        .rev()
        .take_while(|p| p.balance < EMPTY_FLOOR)
        .count();
    points.get(points.len().checked_sub(run)?).map(|p| p.at)
}

/// What one account's history says: spend, runway, last top-up, sparklines.
///
/// Only readings up to `now` count: one stamped later was taken while the clock was ahead
/// (it has since been set back), so nothing shown is dated after now. The runway runs from
/// the reading's time (empty at = reading time + time to empty at the rate) and is said from
/// now: `runway_seconds` shrinks while no new reading comes and never goes below 0; once the
/// projected time is past the sentence says so, and at $0 it says since when the account is
/// empty. While the reading is out of date (`Staleness`) the runway sentences say which
/// reading they come from.
pub fn forecast_view(
    account: &Account,
    balance: Option<Money>,
    now_ms: i64,
    lang: Lang,
    zone: impl Zone,
) -> ForecastView {
    let mut own = account.monitor.own_history();
    own.retain(|p| p.at <= now_ms);
    let money = |m: Money| m.display_in(lang);
    let when = |at: i64| day_clock(lang, at, now_ms, &zone);
    let rate = spend_rate(&own);
    let spending = rate.ok().filter(|r| r.is_positive());
    let threshold = account.settings.threshold;
    // The reading the balance comes from (never after now: a clock set back).
    let read_at = account
        .monitor
        .last_good
        .as_ref()
        .map_or(now_ms, |r| r.at)
        .min(now_ms);
    let stale = account
        .monitor
        .staleness(&account.settings, now_ms)
        .is_some();
    let as_of = |sentence: String| {
        if stale {
            format(lang, "forecast_as_of", &[&sentence, &when(read_at)])
        } else {
            sentence
        }
    };
    let empty = balance.is_some_and(|b| b < EMPTY_FLOOR);
    // (empty at, below the threshold at), as instants.
    let lines = match (balance, spending) {
        (Some(b), Some(r)) if !empty => runway(b, threshold, r).map(|w| {
            (
                read_at.saturating_add(w.to_empty_ms),
                read_at.saturating_add(w.to_low_ms),
            )
        }),
        _ => None,
    };
    let from_now = |at: i64| at.saturating_sub(now_ms).max(0) / 1000;
    let (runway_seconds, runway_low_seconds, runway_text, runway_low_text) = match lines {
        _ if empty => {
            let since = empty_since(&own).unwrap_or(read_at);
            let text = format(lang, "runway_empty_since", &[&when(since)]);
            (Some(0), Some(0), Some(as_of(text)), None)
        }
        Some((empty_at, low_at)) => {
            let text = if empty_at > now_ms {
                let left = empty_at.saturating_sub(now_ms);
                format(
                    lang,
                    "runway_text",
                    &[&duration(lang, left), &when(empty_at)],
                )
            } else {
                format(lang, "runway_past_text", &[&when(empty_at)])
            };
            let above_low = balance.is_some_and(|b| b >= threshold);
            let low_text = above_low.then(|| {
                if low_at > now_ms {
                    let left = low_at.saturating_sub(now_ms);
                    format(lang, "runway_low_text", &[&duration(lang, left)])
                } else {
                    format(lang, "runway_low_past_text", &[&when(low_at)])
                }
            });
            (
                Some(from_now(empty_at)),
                Some(from_now(low_at)),
                Some(as_of(text)),
                low_text.map(as_of),
            )
        }
        None => (None, None, None, None),
    };
    let top_up = last_top_up(&own);
    ForecastView {
        spend_per_hour: rate.ok(),
        spend_text: spending.map(|r| {
            let day = r.checked_mul(24).unwrap_or(r);
            format(
                lang,
                "spend_text",
                &[&r.display_cost_in(lang), &day.display_cost_in(lang)],
            )
        }),
        // At $0 the runway sentence says how things stand.
        note: match rate {
            _ if empty => None,
            Err(_) => Some(text(lang, "forecast_not_yet")),
            Ok(_) if spending.is_none() => Some(text(lang, "forecast_no_spend")),
            Ok(_) => None,
        },
        runway_seconds,
        runway_low_seconds,
        runway_text,
        runway_low_text,
        last_top_up: top_up.map(|t| t.amount),
        last_top_up_at: top_up.map(|t| t.at),
        last_top_up_text: top_up
            .map(|t| format(lang, "top_up_text", &[&money(t.amount), &when(t.at)])),
        day: sparkline(&own, now_ms, DAY_MS, "sparkline_day", lang),
        week: sparkline(&own, now_ms, 7 * DAY_MS, "sparkline_week", lang),
    }
}

/// A notification, localized.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    /// `critical` / `warning` / `restored` / `key_error` / `spike` / `predictive`.
    pub kind: AlertKind,
    /// The account it is about (its id).
    pub account: String,
    /// Notification title.
    pub title: String,
    /// Notification body.
    pub message: String,
}

/// A cost estimate against the balance.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct EstimateView {
    /// The inputs were usable.
    pub ok: bool,
    /// Why not, localized.
    pub error: Option<String>,
    /// Batch price.
    pub cost: Option<Money>,
    /// `$3.0000`.
    pub cost_text: Option<String>,
    /// Solves of this type the balance pays for (`None` without a balance).
    pub covered: Option<u64>,
    /// Money missing for the batch.
    pub shortfall: Option<Money>,
    /// `$1.0000`.
    pub shortfall_text: Option<String>,
    /// The balance pays for the batch (`None` without a balance).
    pub enough: Option<bool>,
    /// One sentence: covered or short by how much.
    pub summary: String,
}

/// `planCheck`'s answer: which accounts to ask the API for now, and why, also in words.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    /// Send at least one request now.
    pub fetch: bool,
    /// The ids of the accounts to ask now.
    pub due: Vec<String>,
    /// Why.
    pub reason: PlanReason,
    /// Why, in words.
    pub reason_text: String,
    /// When the next scheduled check of any account is due (epoch ms), `None` while every
    /// account's checks are paused: one alarm serves them all.
    pub next_check_at: Option<i64>,
}

/// One row of the options page's provider select.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    /// Stable id.
    pub id: ProviderId,
    /// The name shown.
    pub label: String,
    /// Protocol family.
    pub family: Family,
    /// The API host (`""` for the custom rows, which need an endpoint).
    pub endpoint: &'static str,
    /// A custom row: the endpoint is required.
    pub custom: bool,
}

/// Every provider, in the table's order.
pub fn provider_views(lang: Lang) -> Vec<ProviderView> {
    let mut views = Vec::with_capacity(PROVIDERS.len());
    for p in PROVIDERS {
        views.push(ProviderView {
            id: p.id,
            label: provider_label(p.id, lang),
            family: p.family,
            endpoint: p.endpoint.unwrap_or_default(),
            custom: p.is_custom(),
        });
    }
    views
}

/// A captcha type with its label, for the options page's rate fields.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub struct TypeView {
    /// The stable name (`recaptcha_v2` …).
    #[serde(rename = "type")]
    pub kind: CaptchaType,
    /// Localized label.
    pub label: String,
}

/// One account's fields as the options form shows them: never the key itself.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct AccountFormView {
    /// The account's id: a form row that names it edits this account.
    pub id: String,
    /// What the user calls it.
    pub name: String,
    /// The service.
    pub provider: ProviderId,
    /// The key, masked (the key field's placeholder); empty without a key.
    pub key_masked: String,
    /// Low-balance threshold.
    pub threshold: Money,
    /// The endpoint when it is not the provider's own (empty means the provider's API).
    pub endpoint: String,
    /// Per-type prices.
    pub rates: RateTable,
    /// The user allowed plain `http://` to a host other than loopback for this account.
    pub allow_plain_http: bool,
}

/// `settingsForm`'s answer: what the options page fills its form with.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct SettingsFormView {
    /// The check interval in whole minutes (the form's unit; every account shares it).
    pub interval_minutes: u32,
    /// Show notifications.
    pub notifications: bool,
    /// Show solves remaining and the calculator.
    pub show_solves: bool,
    /// The predictive alert's horizon in hours.
    pub predictive_hours: u32,
    /// Warn of unusual spending.
    pub spike_alerts: bool,
    /// Every captcha type a rate can be set for, in display order.
    pub types: Vec<TypeView>,
    /// Every account, in the user's order.
    pub accounts: Vec<AccountFormView>,
    /// What could not be read from the stored settings and was reset, one sentence each
    /// ("Production: the low-balance threshold could not be read and was reset to $1.0000.
    /// Check it and press Save."), until a Save; empty when everything read.
    pub repairs: Vec<String>,
    /// The settings this form shows ([`State::settings_revision`]): sent back with Save, which
    /// is refused if they have changed since (another tab saved).
    pub revision: String,
}

/// The options form for `state`.
pub fn settings_form(state: &State, lang: Lang) -> SettingsFormView {
    let shared = state
        .accounts
        .first()
        .map(|a| a.settings.clone())
        .unwrap_or_default();
    SettingsFormView {
        interval_minutes: shared.interval_seconds / 60,
        notifications: shared.notifications,
        show_solves: shared.show_solves,
        predictive_hours: shared.predictive_hours,
        spike_alerts: shared.spike_alerts,
        types: CaptchaType::all()
            .map(|kind| TypeView {
                kind,
                label: text(lang, &format!("type_{}", kind.as_str())),
            })
            .collect(),
        accounts: state
            .accounts
            .iter()
            .map(|a| AccountFormView {
                id: a.id(),
                name: a.settings.name.clone(),
                provider: a.settings.provider,
                key_masked: mask_key(&a.settings.api_key),
                threshold: a.settings.threshold,
                endpoint: a.settings.endpoint_override().to_string(),
                rates: a.settings.rates.clone(),
                allow_plain_http: a.settings.allow_plain_http,
            })
            .collect(),
        repairs: state.repairs.iter().map(|r| repair_text(r, lang)).collect(),
        revision: state.settings_revision(),
    }
}

/// The settings a repair can name, each with its words (`repair_field_*`).
const REPAIRED_FIELDS: [&str; 11] = [
    "name",
    "provider",
    "threshold",
    "intervalSeconds",
    "endpoint",
    "rates",
    "notifications",
    "showSolves",
    "predictiveHours",
    "spikeAlerts",
    "allowPlainHttp",
];

/// One repair ([`Repair`]) in words: which account, which field, the value it has now.
pub fn repair_text(repair: &Repair, lang: Lang) -> String {
    let account = repair.account.as_deref().unwrap_or_default();
    let value = repair.value.as_deref();
    let field = repair.field.as_str();
    match field {
        "accounts" => format(lang, "repair_accounts", &[value.unwrap_or("0")]),
        "account" => format(lang, "repair_account", &[account]),
        "settings" => format(lang, "repair_settings", &[account]),
        "apiKey" => format(lang, "repair_key", &[account]),
        "rates" if value.is_some() => format(lang, "repair_rates", &[account]),
        _ => {
            let (label, shown) = match field.strip_prefix("rates.") {
                Some(kind) => {
                    let kind = text(lang, &format!("type_{kind}"));
                    let label = format(lang, "repair_field_rate", &[&kind]);
                    (
                        label,
                        value
                            .and_then(|v| Money::parse(v).ok())
                            .map(|m| m.display_in(lang)),
                    )
                }
                None => {
                    // A field this build has no words for (a newer build's) by its name.
                    let label = if REPAIRED_FIELDS.contains(&field) {
                        text(lang, &format!("repair_field_{field}"))
                    } else {
                        field.to_string()
                    };
                    (label, value.map(|v| repair_value(field, v, lang)))
                }
            };
            match shown {
                Some(shown) => format(lang, "repair_reset", &[account, &label, &shown]),
                None => format(lang, "repair_cleared", &[account, &label]),
            }
        }
    }
}

/// A repaired setting's value as the options page shows it.
fn repair_value(field: &str, value: &str, lang: Lang) -> String {
    match field {
        "threshold" => {
            Money::parse(value).map_or_else(|_| value.to_string(), |m| m.display_in(lang))
        }
        "intervalSeconds" => value
            .parse::<u64>()
            .map_or_else(|_| value.to_string(), |secs| count(lang, secs / 60)),
        "predictiveHours" => value
            .parse::<u64>()
            .map_or_else(|_| value.to_string(), |hours| count(lang, hours)),
        "provider" => ProviderId::from_name(value)
            .map_or_else(|| value.to_string(), |id| provider_label(id, lang)),
        _ if value == "true" => text(lang, "repair_on"),
        _ if value == "false" => text(lang, "repair_off"),
        _ => value.to_string(),
    }
}

/// A settings form's refusals: field name (`threshold`, `accounts.1.apiKey`) -> localized
/// sentence.
pub type FieldErrors = BTreeMap<String, String>;

/// `applySettings`' answer: on success the new state, otherwise the unchanged one and one
/// sentence per refused field.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct SettingsAnswer {
    /// The form was accepted.
    pub ok: bool,
    /// The state to store (unchanged when refused).
    pub state: State,
    /// Why each refused field was refused.
    pub errors: FieldErrors,
}

/// `observe`'s answer: the state with the outcome folded in, and the alert it deserves.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct Observed {
    /// The new state.
    pub state: State,
    /// The notifications to show, at most one about money and one about threads (the caller
    /// still checks `settings.notifications`).
    pub alerts: Vec<AlertView>,
}

/// Which accounts to ask the API for now; `trigger` is `None` when the caller named none this
/// build knows; `only` limits the check to one account (a Refresh in its details). Each
/// account keeps its own floor, backoff and key block. The reason is the first planned
/// account's that is not due, or `due`.
pub fn plan_view(
    state: &State,
    trigger: Option<Trigger>,
    only: Option<&str>,
    now_ms: i64,
    lang: Lang,
) -> PlanView {
    let mut due = Vec::new();
    let mut reason = None;
    let mut next_check_at: Option<i64> = None;
    for account in &state.accounts {
        let next = account.monitor.next_check_at(&account.settings, now_ms);
        next_check_at = match (next_check_at, next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if only.is_some_and(|id| id != account.id()) {
            continue;
        }
        let plan = match trigger {
            Some(trigger) => account.monitor.plan(&account.settings, trigger, now_ms),
            None => Plan {
                fetch: false,
                reason: PlanReason::UnknownTrigger,
                next_check_at: next,
            },
        };
        if plan.fetch {
            due.push(account.id());
        } else if reason.is_none() {
            reason = Some((plan.reason, reason_text(account, plan.reason, lang)));
        }
    }
    let (reason, reason_text) = match reason {
        Some(not_due) if due.is_empty() => not_due,
        None if due.is_empty() => (
            PlanReason::NotDue,
            text(lang, &PlanReason::NotDue.message_key()),
        ),
        _ => (PlanReason::Due, text(lang, &PlanReason::Due.message_key())),
    };
    PlanView {
        fetch: !due.is_empty(),
        due,
        reason,
        reason_text,
        next_check_at,
    }
}

/// Applies a settings form to the state.
pub fn settings_answer(state: State, input: &Value, lang: Lang) -> SettingsAnswer {
    match state.apply_settings(input) {
        Ok(next) => SettingsAnswer {
            ok: true,
            state: next,
            errors: FieldErrors::new(),
        },
        Err(errors) => SettingsAnswer {
            ok: false,
            state,
            errors: errors
                .into_iter()
                .map(|(field, e)| {
                    let (key, args) = e.message_key();
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    (field, format(lang, key, &args))
                })
                .collect(),
        },
    }
}

/// Folds a tagged outcome into the state, with its alerts in words: the check's thread reading
/// first (a "no money" answer is read beside it), then its balance.
pub fn observed(state: State, outcome: &TaggedOutcome, now_ms: i64, lang: Lang) -> Observed {
    let account = outcome.account.as_deref();
    let (state, threads_decision) = match &outcome.threads {
        Some(threads) => state.observe_threads(&threads.outcome(), account, now_ms),
        None => (state, None),
    };
    let (state, decision) = state.observe(&outcome.outcome(), account, now_ms);
    // Both alerts are about the account as it stands after the whole check.
    let alerts = [decision, threads_decision]
        .into_iter()
        .flatten()
        .filter_map(|(i, d)| alert_view(d, state.accounts.get(i)?, lang))
        .collect();
    Observed { state, alerts }
}

fn level_text(lang: Lang, level: BalanceLevel) -> String {
    text(lang, &format!("level_{}", level.as_str()))
}

/// True when the key is not in these settings but added by a server in front of the API
/// (server mode): a key problem is fixed there, not in the settings.
fn key_on_server(account: &Account) -> bool {
    account.settings.api_key.is_empty() && account.settings.can_request()
}

/// An error with its localized sentences. `kept_balance`: a last good balance is still shown;
/// `key_on_server`: the key is the server's (server mode).
pub fn error_view(
    error: &ApiError,
    lang: Lang,
    kept_balance: bool,
    key_on_server: bool,
) -> ErrorView {
    let code = error.code;
    let detail = error.detail.as_str();
    let fix_key = if key_on_server && matches!(code, ErrorCode::WrongKey | ErrorCode::KeyNotFound) {
        "err_key_fix_server".to_string()
    } else {
        code.fix_key()
    };
    ErrorView {
        code,
        detail: error.detail.clone(),
        message: format(lang, &code.title_key(), &[detail]),
        cause: format(lang, &code.cause_key(), &[detail]),
        fix: format(lang, &fix_key, &[detail]),
        severity: if kept_balance && code.keeps_last_balance() {
            Severity::Warning
        } else {
            Severity::Error
        },
        diagnosis: None,
    }
}

/// `view` of a thread plan's "no money" or "no slot" answer, said as what it was: every thread
/// busy (a warning: the money is fine; with the share of busy readings when known), or no
/// active plan.
fn diagnosed(
    view: ErrorView,
    diagnosis: Diagnosis,
    account: &Account,
    now_ms: i64,
    lang: Lang,
) -> ErrorView {
    let monitor = &account.monitor;
    let api_text = view.code.api_code();
    let (message, cause, fix, severity) = match diagnosis {
        Diagnosis::AllThreadsBusy => {
            let busy = monitor
                .threads
                .last()
                .map(|r| threads_text(r.counts(), lang))
                .unwrap_or_default();
            let mut cause = format(lang, "diag_all_busy_cause", &[api_text, &busy]);
            if let Some(share) = share_text(account, now_ms, lang) {
                cause.push(' ');
                cause.push_str(&share);
            }
            (
                text(lang, "err_no_slot_available"),
                cause,
                text(lang, "diag_all_busy_fix"),
                Severity::Warning,
            )
        }
        Diagnosis::NoActivePlan => (
            text(lang, "threads_no_plan"),
            format(
                lang,
                "diag_no_plan_cause",
                &[
                    api_text,
                    &monitor
                        .shown_balance()
                        .unwrap_or(Money::ZERO)
                        .display_in(lang),
                ],
            ),
            format(
                lang,
                "diag_no_plan_fix",
                &[&provider_label(account.settings.provider, lang)],
            ),
            Severity::Error,
        ),
    };
    ErrorView {
        message,
        cause,
        fix,
        severity,
        diagnosis: Some(diagnosis),
        ..view
    }
}

/// What an error a script met (`code`, e.g. from `ERROR_ZERO_BALANCE`) means for this account
/// now, read beside its latest thread reading and balance: the server's diagnose answer.
pub fn reported_error_view(
    account: &Account,
    code: ErrorCode,
    now_ms: i64,
    lang: Lang,
) -> ErrorView {
    let monitor = &account.monitor;
    let balance = monitor.shown_balance();
    let view = error_view(
        &ApiError::new(code, code.api_code()),
        lang,
        balance.is_some(),
        key_on_server(account),
    );
    let reading = monitor.threads.last().map(|r| r.counts());
    match account
        .settings
        .provider()
        .threads
        .then(|| threads::diagnose(code, balance, reading))
        .flatten()
    {
        Some(diagnosis) => diagnosed(view, diagnosis, account, now_ms, lang),
        None => view,
    }
}

/// "3 of 10 threads busy", "All 10 threads busy", "No active plan".
fn threads_text(counts: Threads, lang: Lang) -> String {
    let n = |v: u32| count(lang, u64::from(v));
    match counts.capacity() {
        Capacity::NoPlan => text(lang, "threads_no_plan"),
        Capacity::AllBusy => format(lang, "threads_all_busy", &[&n(counts.threads)]),
        Capacity::Free => format(
            lang,
            "threads_busy",
            &[&n(counts.working_threads), &n(counts.threads)],
        ),
    }
}

/// How often every thread was busy over the last day, once there are two readings to compare
/// and any of them was busy (a share of nothing says nothing).
fn share_text(account: &Account, now_ms: i64, lang: Lang) -> Option<String> {
    let share =
        busy_share(&account.monitor.threads, now_ms).filter(|s| s.readings >= 2 && s.busy > 0)?;
    Some(format(
        lang,
        "threads_share",
        &[
            &count(lang, share.busy as u64),
            &count(lang, share.readings as u64),
            &share.percent().to_string(),
        ],
    ))
}

/// The account's threads, for a provider that sells thread plans.
fn threads_view(account: &Account, now_ms: i64, lang: Lang) -> Option<ThreadsView> {
    if !account.settings.provider().threads {
        return None;
    }
    let monitor = &account.monitor;
    let reading = monitor.threads.last();
    let failed = monitor.threads_failed.as_ref();
    if reading.is_none() && failed.is_none() {
        return None;
    }
    let counts = reading.map(ThreadsReading::counts);
    let stale = failed.is_some()
        || reading.is_some_and(|r| {
            trusted_time(Some(r.at), now_ms).is_none()
                || is_stale(r.at, now_ms, account.settings.interval_ms())
        });
    let text = match (counts, failed) {
        (Some(counts), _) if stale => format!(
            "{} · {}",
            threads_text(counts, lang),
            text(lang, "pill_stale")
        ),
        (Some(counts), _) => threads_text(counts, lang),
        (None, Some(f)) => format(
            lang,
            "threads_failed",
            &[&error_view(&f.error, lang, false, key_on_server(account)).message],
        ),
        (None, None) => return None,
    };
    Some(ThreadsView {
        threads: counts.map(|c| c.threads),
        working_threads: counts.map(|c| c.working_threads),
        free_threads: counts.map(Threads::free),
        capacity: counts.map(Threads::capacity),
        text,
        stale,
        read_at: reading.map(|r| r.at),
        share_text: share_text(account, now_ms, lang),
    })
}

/// Why a plan sends nothing, in words. A key that failed the local check (never sent, so
/// Refresh cannot help) is told apart from one the API rejected (Refresh may try it again).
fn reason_text(account: &Account, reason: PlanReason, lang: Lang) -> String {
    let never_sent = reason == PlanReason::KeyRejected
        && account
            .monitor
            .last_error
            .as_ref()
            .is_some_and(|f| f.error.code == ErrorCode::InvalidKey);
    if never_sent {
        text(lang, "plan_key_invalid")
    } else {
        text(lang, &reason.message_key())
    }
}

/// The Refresh button at `now`, derived from the plan a press would get.
fn refresh_view(account: &Account, now_ms: i64, lang: Lang, zone: &dyn Zone) -> RefreshView {
    let monitor = &account.monitor;
    let plan = monitor.plan(&account.settings, Trigger::Refresh, now_ms);
    let allowed_at = match plan.reason {
        // The floor runs from the key's last request, whichever account on this key sent it.
        PlanReason::TooSoon => monitor
            .last_asked(&account.settings, now_ms)
            .map(|at| at.saturating_add(account.settings.min_gap_ms())),
        PlanReason::BackingOff => plan.next_check_at,
        _ => None,
    };
    let paused = matches!(
        plan.reason,
        PlanReason::KeyRejected | PlanReason::NoKey | PlanReason::PlainHttp
    );
    let wait_text = allowed_at.map(|at| {
        // Whole seconds, rounded up: the button never reaches 0 while still disabled.
        let secs = (at.saturating_sub(now_ms).max(0) + 999) / 1000;
        if secs <= 90 {
            format(lang, "refresh_wait", &[&count(lang, secs as u64)])
        } else {
            format(
                lang,
                "refresh_wait_until",
                &[&day_clock(lang, at, now_ms, zone)],
            )
        }
    });
    RefreshView {
        enabled: !paused,
        text: text(lang, "refresh"),
        wait_text,
        reason: (allowed_at.is_some() || paused).then(|| reason_text(account, plan.reason, lang)),
        allowed_at,
        checking_text: text(lang, "checking"),
    }
}

/// What the API said about the key, if it was asked.
fn key_status(
    account: &Account,
    now_ms: i64,
    lang: Lang,
    zone: &dyn Zone,
) -> Option<KeyStatusView> {
    let monitor = &account.monitor;
    let provider = provider_label(account.settings.provider, lang);
    if let Some(failed) = &monitor.last_error {
        // No access to the host says nothing about the key (the error card explains it).
        if failed.error.code == ErrorCode::PermissionMissing {
            return None;
        }
        if failed.error.code.kind() == ErrorKind::KeyProblem {
            let at = day_clock(lang, failed.at, now_ms, zone);
            let key = match failed.error.code {
                ErrorCode::InvalidKey => "key_status_invalid",
                _ if key_on_server(account) => "key_status_rejected_server",
                _ => "key_status_rejected",
            };
            return Some(KeyStatusView {
                ok: false,
                text: format(lang, key, &[&provider, &at, &failed.error.detail]),
            });
        }
    }
    monitor.last_good.as_ref().map(|good| KeyStatusView {
        ok: true,
        text: format(
            lang,
            "key_status_accepted",
            &[&provider, &day_clock(lang, good.at, now_ms, zone)],
        ),
    })
}

/// The name of a provider in a language (brands are not translated; the custom rows are).
pub fn provider_label(id: ProviderId, lang: Lang) -> String {
    let provider = id.info();
    match provider.label_key() {
        Some(key) => text(lang, key),
        None => provider.label.to_string(),
    }
}

/// One account's whole picture at `now`; clock times are shown in `zone` (the browser's time
/// zone in the wasm module, each instant at its own offset; a fixed offset in minutes east of
/// UTC natively), with their day when it is not today.
pub fn account_view(account: &Account, now_ms: i64, lang: Lang, zone: impl Zone) -> AccountView {
    let zone: &dyn Zone = &zone;
    let (settings, monitor) = (&account.settings, &account.monitor);
    let level = monitor.level(settings);
    let balance = monitor.shown_balance();
    let money = |m: Money| m.display_in(lang);
    let diagnosis = monitor.diagnosis(settings);
    let error = monitor.last_error.as_ref().map(|f| {
        let view = error_view(&f.error, lang, balance.is_some(), key_on_server(account));
        match diagnosis {
            Some(d) => diagnosed(view, d, account, now_ms, lang),
            None => view,
        }
    });
    let threads = threads_view(account, now_ms, lang);
    // An expired plan needs the user as much as money does (the badge stays about money).
    let plan_expired = diagnosis == Some(Diagnosis::NoActivePlan)
        || threads
            .as_ref()
            .is_some_and(|t| t.capacity == Some(Capacity::NoPlan));
    // Every thread busy is a warning beside a good balance, not a failed check.
    let failed = error.is_some() && diagnosis != Some(Diagnosis::AllThreadsBusy);
    let status = match Status::of(level, failed) {
        money @ (Status::Empty | Status::Low) => money,
        _ if plan_expired => Status::PlanExpired,
        other => other,
    };
    let staleness = monitor.staleness(settings, now_ms);
    // A reading stamped after now (a clock set back) is of unknown age, not "older than two
    // intervals".
    let from_the_future = monitor
        .last_good
        .as_ref()
        .is_some_and(|r| trusted_time(Some(r.at), now_ms).is_none());
    let stale_text = staleness.map(|s| {
        text(
            lang,
            match s {
                Staleness::CheckFailed => "stale_failed",
                Staleness::Old if from_the_future => "stale_unknown_age",
                Staleness::Old => "stale_old",
            },
        )
    });
    let checked_text = match monitor.last_request_at {
        Some(at) => format(lang, "checked_at", &[&age(lang, now_ms, at)]),
        None => text(lang, "never_checked"),
    };
    let updated_at = monitor
        .last_good
        .as_ref()
        .filter(|_| balance.is_some())
        .map(|r| r.at);
    let updated_ago = updated_at.map(|at| age(lang, now_ms, at));
    let read_text = updated_at.map(|at| {
        format(
            lang,
            "balance_read",
            &[&day_clock(lang, at, now_ms, zone), &age(lang, now_ms, at)],
        )
    });
    let look = badge_look(level, balance, staleness.is_some(), error.is_some(), lang);
    let level_words = level_text(lang, level);
    // A line to stay above is shown like a cost (rounded up), so a balance below it never
    // reads as at or above it.
    let threshold_text = settings.threshold.display_cost_in(lang);
    // A failed check with no level known reads "Check failed", not "Unknown".
    let status_words = if status == Status::PlanExpired {
        text(lang, "threads_no_plan")
    } else if error.is_some() && level == BalanceLevel::Unknown {
        text(lang, "status_error")
    } else {
        level_words.clone()
    };
    let mut pill_text = status_words.clone();
    if level == BalanceLevel::Low {
        pill_text = format(lang, "pill_low", &[&level_words, &threshold_text]);
    }
    if staleness.is_some() {
        pill_text.push_str(" · ");
        pill_text.push_str(&text(lang, "pill_stale"));
    }
    let plan = monitor.plan(settings, Trigger::Alarm, now_ms);
    let paused_text = plan
        .next_check_at
        .is_none()
        .then(|| reason_text(account, plan.reason, lang));
    let failed_text = monitor
        .last_error
        .as_ref()
        .filter(|f| f.error.code != ErrorCode::ZeroBalance)
        .map(|f| {
            let at = day_clock(lang, f.at, now_ms, zone);
            match plan.next_check_at {
                Some(next) => format(
                    lang,
                    "check_failed_next",
                    &[&at, &day_clock(lang, next, now_ms, zone)],
                ),
                None => format(lang, "check_failed_paused", &[&at]),
            }
        });
    let mut title = match (balance, &error) {
        (Some(b), _) => format(
            lang,
            "badge_title",
            &[
                &money(b),
                &level_words,
                updated_ago.as_deref().unwrap_or_default(),
            ],
        ),
        (None, Some(e)) => format(lang, "badge_title_error", &[&e.message]),
        (None, None) if !settings.can_request() => text(lang, "badge_title_no_key"),
        (None, None) => text(lang, "badge_title_none"),
    };
    if let (Some(_), Some(e)) = (balance, &error) {
        title.push('\n');
        title.push_str(&e.message);
    }
    if let Some(s) = &stale_text {
        title.push('\n');
        title.push_str(s);
    }
    if let Some(t) = &threads {
        title.push('\n');
        title.push_str(&t.text);
    }
    let mut remaining = Vec::new();
    for (kind, rate) in settings.rates.iter() {
        let solves = balance.map(|b| b.whole_multiples_of(rate));
        remaining.push(RemainingView {
            kind,
            label: text(lang, &format!("type_{}", kind.as_str())),
            rate,
            rate_text: format(lang, "per_solve", &[&rate.display_cost_in(lang)]),
            solves,
            solves_text: solves.map(|n| count(lang, n)),
        });
    }
    let state_name = match level {
        BalanceLevel::Unknown if error.is_some() => WidgetState::Error,
        BalanceLevel::Unknown => WidgetState::Loading,
        BalanceLevel::Ok => WidgetState::Ok,
        BalanceLevel::Low => WidgetState::Low,
        BalanceLevel::Empty => WidgetState::Empty,
    };
    AccountView {
        id: account.id(),
        name: settings.name.clone(),
        provider: settings.provider,
        provider_label: provider_label(settings.provider, lang),
        status,
        status_text: status_words,
        endpoint_override: settings.endpoint_override().to_string(),
        state: state_name,
        level,
        level_text: level_words,
        pill_text,
        stale: staleness.is_some(),
        stale_text,
        balance,
        balance_text: balance.map(money),
        checked_at: monitor.last_request_at,
        checked_text,
        updated_at,
        updated_ago,
        read_text,
        failed_text,
        refresh: refresh_view(account, now_ms, lang, zone),
        key_status: key_status(account, now_ms, lang, zone),
        show_solves: settings.show_solves,
        rates_note: if settings.rates.iter().next().is_none() {
            Some(text(lang, "rates_none"))
        } else {
            (settings.provider().rates.is_some()
                && settings.rates == RateTable::from_nanos(settings.provider().rates))
            .then(|| {
                format(
                    lang,
                    "rates_example",
                    &[&provider_label(settings.provider, lang)],
                )
            })
        },
        accent: accent(
            level,
            &look,
            error.is_some(),
            staleness.is_some(),
            status == Status::PlanExpired,
        ),
        badge: BadgeView {
            text: look.text,
            color: look.color,
            title,
        },
        error,
        remaining,
        next_check_at: plan.next_check_at,
        paused_text,
        key_masked: mask_key(&settings.api_key),
        threshold: settings.threshold,
        threshold_text,
        // Money can be added once the account is known to be the user's: not while no key is
        // set (nothing says whose account it would be) or the provider rejects the key.
        add_funds_url: settings
            .provider()
            .add_funds
            .filter(|_| settings.can_request())
            .filter(|_| {
                monitor
                    .last_error
                    .as_ref()
                    .is_none_or(|f| f.error.code.kind() != ErrorKind::KeyProblem)
            }),
        forecast: forecast_view(account, balance, now_ms, lang, zone),
        threads,
    }
}

/// The notification for an alert decision, if it deserves one.
pub fn alert_view(decision: AlertDecision, account: &Account, lang: Lang) -> Option<AlertView> {
    let own = account.monitor.own_history();
    let balance = account
        .monitor
        .shown_balance()
        .unwrap_or(Money::ZERO)
        .display_in(lang);
    let threshold = account.settings.threshold.display_cost_in(lang);
    let (kind, title, message) = match decision {
        AlertDecision::None => return None,
        AlertDecision::Critical => (
            AlertKind::Critical,
            text(lang, "alert_critical_title"),
            format(lang, "alert_critical_message", &[&balance]),
        ),
        AlertDecision::Warning => (
            AlertKind::Warning,
            text(lang, "alert_warning_title"),
            format(lang, "alert_warning_message", &[&balance, &threshold]),
        ),
        AlertDecision::Restored => (
            AlertKind::Restored,
            text(lang, "alert_restored_title"),
            match last_top_up(&own).filter(|t| own.last().is_some_and(|p| p.at == t.at)) {
                Some(t) => format(
                    lang,
                    "alert_restored_top_up_message",
                    &[&t.amount.display_in(lang), &balance],
                ),
                None => format(lang, "alert_restored_message", &[&balance]),
            },
        ),
        AlertDecision::Spike => {
            // The spend the rule measured (a top-up counts 0); a spike of nothing spent is
            // not an alert.
            let spent = recent_spend(&own);
            if !spent.is_positive() {
                return None;
            }
            (
                AlertKind::Spike,
                text(lang, "alert_spike_title"),
                format(lang, "alert_spike_message", &[&spent.display_cost_in(lang)]),
            )
        }
        AlertDecision::Predictive => {
            let rate = spend_rate(&own).ok()?;
            let shown = account.monitor.shown_balance()?;
            let left = time_to(shown, EMPTY_FLOOR, rate)?;
            (
                AlertKind::Predictive,
                text(lang, "alert_predictive_title"),
                format(
                    lang,
                    "alert_predictive_message",
                    &[&rate.display_cost_in(lang), &balance, &duration(lang, left)],
                ),
            )
        }
        AlertDecision::KeyError(_) => {
            let failed = account.monitor.last_error.as_ref()?;
            let e = error_view(&failed.error, lang, false, key_on_server(account));
            (
                AlertKind::KeyError,
                format(lang, "alert_key_error_title", &[&e.message]),
                format!("{} {}", e.cause, e.fix),
            )
        }
        AlertDecision::ThreadsSaturated => {
            let reading = account.monitor.threads.last()?;
            (
                AlertKind::ThreadsSaturated,
                text(lang, "alert_threads_saturated_title"),
                format(
                    lang,
                    "alert_threads_saturated_message",
                    &[&count(lang, u64::from(reading.threads))],
                ),
            )
        }
        AlertDecision::PlanExpired => (
            AlertKind::PlanExpired,
            text(lang, "alert_plan_expired_title"),
            format(
                lang,
                "alert_plan_expired_message",
                &[&provider_label(account.settings.provider, lang)],
            ),
        ),
    };
    Some(AlertView {
        kind,
        account: account.id(),
        // Notifications name the account: with several, "Balance low" alone says too little.
        title: format(
            lang,
            "alert_account_title",
            &[&account.settings.name, &title],
        ),
        message,
    })
}

/// An estimate refused for the reason under a locale key.
pub fn estimate_failed(lang: Lang, key: &str) -> EstimateView {
    EstimateView {
        error: Some(text(lang, key)),
        summary: text(lang, key),
        ..EstimateView::default()
    }
}

/// The cost of `quantity` solves of `captcha_type` against the shown balance.
/// `quantity` may be a number or the text of a form field.
pub fn estimate_view(
    account: &Account,
    captcha_type: &str,
    quantity: &Value,
    lang: Lang,
) -> EstimateView {
    let fail = |key: &str| estimate_failed(lang, key);
    let Some(kind) = CaptchaType::from_name(captcha_type) else {
        return fail("estimate_bad_type");
    };
    let qty = match quantity {
        Value::String(text) => text.trim().parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    let Some(qty) = qty.filter(|q| (1..=MAX_QUANTITY).contains(q)) else {
        return fail("estimate_bad_quantity");
    };
    let Some(rate) = account.settings.rates.rate(kind) else {
        return fail("estimate_no_rate");
    };
    let Some(cost) = estimate(rate, qty) else {
        return fail("estimate_bad_quantity");
    };
    let mut out = EstimateView {
        ok: true,
        cost: Some(cost),
        cost_text: Some(cost.display_cost_in(lang)),
        ..EstimateView::default()
    };
    match account
        .monitor
        .shown_balance()
        .and_then(|b| budget(b, rate, qty))
    {
        Some(b) => {
            out.covered = Some(b.covered);
            out.shortfall = Some(b.shortfall);
            out.shortfall_text = Some(b.shortfall.display_cost_in(lang));
            out.enough = Some(b.enough);
            out.summary = if b.enough {
                format(lang, "estimate_enough", &[&count(lang, b.covered)])
            } else {
                format(
                    lang,
                    "estimate_short",
                    &[
                        &b.shortfall.display_cost_in(lang),
                        &count(lang, b.covered.min(qty)),
                        &count(lang, qty),
                    ],
                )
            };
        }
        None => out.summary = text(lang, "estimate_no_balance"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::{json, Value};

    fn j(v: Value) -> Value {
        v
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const T0: i64 = 1_800_000_000_000;

    fn state_after(outcomes: &[Result<&str, ErrorCode>]) -> Account {
        let mut s = Account::default()
            .apply_settings(&j(json!({"apiKey": KEY})))
            .unwrap();
        for (i, o) in outcomes.iter().enumerate() {
            let outcome = o
                .map(|b| Money::parse(b).unwrap())
                .map_err(|c| ApiError::new(c, c.api_code()));
            s.monitor = s
                .monitor
                .observe(&s.settings, &outcome, T0 + i as i64 * 600_000)
                .0;
        }
        s
    }

    fn view_at(s: &Account, now: i64, lang: Lang) -> AccountView {
        account_view(s, now, lang, 0)
    }

    /// An account after these outcomes at these minutes after T0 (08:00 UTC, a Friday).
    fn read_at(outcomes: &[(i64, Result<&str, ErrorCode>)]) -> Account {
        let mut s = state_after(&[]);
        for (min, o) in outcomes {
            let outcome = o
                .map(|b| Money::parse(b).unwrap())
                .map_err(|c| ApiError::new(c, c.api_code()));
            s.monitor = s
                .monitor
                .observe(&s.settings, &outcome, T0 + min * 60_000)
                .0;
        }
        s
    }

    #[test]
    fn at_zero_the_forecast_says_since_when() {
        // Spending down to $0 at 08:50, still $0 at 09:10: empty since 08:50, not "in 1 min".
        let drained = read_at(&[
            (0, Ok("1.00")),
            (10, Ok("0.80")),
            (20, Ok("0.60")),
            (30, Ok("0.40")),
            (40, Ok("0.20")),
            (50, Ok("0")),
            (60, Ok("0")),
            (70, Ok("0")),
        ]);
        // A spell at $0 that a small top-up ended: the current one began at 08:50.
        let again = read_at(&[
            (0, Ok("0.50")),
            (10, Ok("0")),
            (20, Ok("0.30")),
            (30, Ok("0.20")),
            (50, Ok("0")),
            (70, Ok("0.005")),
        ]);
        // The provider says "zero balance" (a reading of $0 all the same).
        let refused = read_at(&[
            (0, Ok("0.50")),
            (50, Err(ErrorCode::ZeroBalance)),
            (70, Err(ErrorCode::ZeroBalance)),
        ]);
        for (name, s) in [
            ("drained", &drained),
            ("again", &again),
            ("refused", &refused),
        ] {
            let f = view_at(s, T0 + 75 * 60_000, Lang::En).forecast;
            assert_eq!(
                f.runway_text.as_deref(),
                Some("Empty since 08:50"),
                "{name}"
            );
            assert_eq!(
                (f.runway_seconds, f.runway_low_seconds),
                (Some(0), Some(0)),
                "{name}"
            );
            assert_eq!(f.runway_low_text, None, "{name}");
            let f = view_at(s, T0 + 75 * 60_000, Lang::Id).forecast;
            assert_eq!(
                f.runway_text.as_deref(),
                Some("Habis sejak 08.50"),
                "{name}"
            );
        }
        // The next day the day is named.
        let f = view_at(&drained, T0 + 20 * 3_600_000, Lang::En).forecast;
        assert_eq!(
            f.runway_text.as_deref(),
            Some("Empty since Fri 08:50 (as of the reading at Fri 09:10)")
        );
    }

    #[test]
    fn the_runway_counts_from_the_reading() {
        // $10.00 falling $0.60 an hour, read last at 09:00: empty at 00:39 the next day, below
        // $1.00 at 23:00.
        let readings: Vec<(i64, Result<&str, ErrorCode>)> =
            ["10.00", "9.90", "9.80", "9.70", "9.60", "9.50", "9.40"]
                .iter()
                .enumerate()
                .map(|(i, b)| (i as i64 * 10, Ok(*b)))
                .collect();
        let s = read_at(&readings);
        let hour = 3_600_000;
        // At the reading.
        let f = view_at(&s, T0 + hour, Lang::En).forecast;
        assert_eq!(f.runway_seconds, Some(15 * 3_600 + 39 * 60));
        assert_eq!(
            f.runway_text.as_deref(),
            Some("Empty in about 15 h 39 min, around Sat 00:39")
        );
        assert_eq!(
            f.runway_low_text.as_deref(),
            Some("Below the threshold in about 14 h 0 min")
        );
        // Three hours later with no new reading: three hours less, and said to be as of then.
        let f = view_at(&s, T0 + 4 * hour, Lang::En).forecast;
        assert_eq!(f.runway_seconds, Some(12 * 3_600 + 39 * 60));
        assert_eq!(f.runway_low_seconds, Some(11 * 3_600));
        assert_eq!(
            f.runway_text.as_deref(),
            Some("Empty in about 12 h 39 min, around Sat 00:39 (as of the reading at 09:00)")
        );
        assert_eq!(
            f.runway_low_text.as_deref(),
            Some("Below the threshold in about 11 h 0 min (as of the reading at 09:00)")
        );
        let f = view_at(&s, T0 + 4 * hour, Lang::Id).forecast;
        assert_eq!(
            f.runway_text.as_deref(),
            Some(
                "Habis dalam sekitar 12 jam 39 menit, sekitar Sab 00.39 (menurut pembacaan 09.00)"
            )
        );
        // A day later the projected times are past: never a negative runway, never "in 1 min".
        let f = view_at(&s, T0 + 20 * hour, Lang::En).forecast;
        assert_eq!((f.runway_seconds, f.runway_low_seconds), (Some(0), Some(0)));
        assert_eq!(
            f.runway_text.as_deref(),
            Some("At the recent spend it would be empty since about 00:39 (as of the reading at Fri 09:00)")
        );
        assert_eq!(
            f.runway_low_text.as_deref(),
            Some("At the recent spend it would be below the threshold since about Fri 23:00 (as of the reading at Fri 09:00)")
        );
    }

    #[test]
    fn a_clock_set_back_never_dates_the_history_after_now() {
        let hour = 3_600_000;
        // $5.00 read every 10 minutes from 08:00 to 11:00 by a clock that was two hours
        // ahead; set right, the next reading ($4.80) is at 09:05.
        let mut readings: Vec<(i64, Result<&str, ErrorCode>)> =
            (0..=18).map(|i| (i * 10, Ok("5.00"))).collect();
        readings.push((65, Ok("4.80")));
        let s = read_at(&readings);
        let now = T0 + 65 * 60_000;
        let v = view_at(&s, now, Lang::En);
        assert!(
            v.forecast.last_top_up_at.is_none_or(|at| at <= now),
            "{:?}",
            v.forecast.last_top_up_text
        );
        assert!(s.monitor.history.iter().all(|p| p.at <= now));
        // A top-up at 10:30 by the clock that was ahead, seen at 09:00 before any new reading:
        // the forecast shows the history up to now only.
        let mut readings: Vec<(i64, Result<&str, ErrorCode>)> =
            (0..=15).map(|i| (i * 10, Ok("1.00"))).collect();
        readings.extend([(150, Ok("25.00")), (160, Ok("25.00"))]);
        let s = read_at(&readings);
        let now = T0 + hour;
        let f = view_at(&s, now, Lang::En).forecast;
        assert!(
            f.last_top_up_at.is_none_or(|at| at <= now),
            "{:?}",
            f.last_top_up_text
        );
        assert_eq!(f.last_top_up_text, None);
    }

    #[test]
    fn sparklines_have_at_most_one_point_per_unit_of_width() {
        // A reading every 10 minutes for a day and a half, falling a cent each time.
        let readings: Vec<String> = (0..216)
            .map(|i| format!("{}", 30.0 - f64::from(i) * 0.01))
            .collect();
        let outcomes: Vec<Result<&str, ErrorCode>> =
            readings.iter().map(|b| Ok(b.as_str())).collect();
        let s = state_after(&outcomes);
        let now = T0 + 215 * 600_000;
        let day = view_at(&s, now, Lang::En).forecast.day.unwrap();
        let points: Vec<(f64, f64)> = day
            .points
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        // 145 readings fall in the day (both ends included); a unit of width holds at most one.
        assert!(
            points.len() <= 101 && points.len() >= 70,
            "{} points",
            points.len()
        );
        assert!(points
            .windows(2)
            .all(|w| w[1].0 >= w[0].0 + 1.0 || w[1] == points[points.len() - 1]));
        // The newest reading is always there: now, at the lowest balance.
        assert_eq!(points.last(), Some(&(100.0, 30.0)));
        assert_eq!(points.first().map(|p| p.1), Some(0.0));
        assert_eq!(
            day.text,
            "Balance over the last 24 h: from $29.2900 to $27.8500, lowest $27.8500"
        );
    }

    #[test]
    #[rustfmt::skip]
    fn views_per_situation() {
        use crate::badge::{AMBER, DARK_RED, GREEN, GREY, RED};
        let now = |s: &Account| s.monitor.last_request_at.unwrap_or(T0) + 180_000;
        type Case<'a> = (&'a str, Vec<Result<&'a str, ErrorCode>>, &'a str, &'a str, &'a str, &'a str, bool);
        let cases: Vec<Case> = vec![
            // name, outcomes, state, level, badge text, badge colour, stale
            ("ok", vec![Ok("12.345")], "ok", "ok", "12.3", GREEN, false),
            ("low", vec![Ok("0.42")], "low", "low", "0.42", RED, false),
            ("zero", vec![Ok("0")], "empty", "empty", "0", RED, false),
            ("zero error", vec![Err(ErrorCode::ZeroBalance)], "empty", "empty", "0", RED, false),
            ("wrong key", vec![Err(ErrorCode::WrongKey)], "error", "unknown", "!", GREY, false),
            ("wrong key after ok", vec![Ok("12.345"), Err(ErrorCode::WrongKey)], "ok", "ok", "12.3", AMBER, true),
            ("wrong key after low", vec![Ok("0.42"), Err(ErrorCode::WrongKey)], "low", "low", "0.42", DARK_RED, true),
            ("key not found after low", vec![Ok("0.42"), Err(ErrorCode::KeyNotFound)], "low", "low", "0.42", DARK_RED, true),
            ("502 after good", vec![Ok("12.345"), Err(ErrorCode::ServerError)], "ok", "ok", "12.3", AMBER, true),
            ("502 first", vec![Err(ErrorCode::ServerError)], "error", "unknown", "!", GREY, false),
            ("nothing yet", vec![], "loading", "unknown", "?", GREY, false),
        ];
        for (name, outcomes, state, level, text, color, stale) in cases {
            let s = state_after(&outcomes);
            let v = view_at(&s, now(&s), Lang::En);
            assert_eq!(
                (serde_json::to_value(v.state).unwrap(), v.level.as_str(), v.badge.text.as_str(), v.badge.color, v.stale),
                (serde_json::Value::from(state), level, text, color, stale),
                "{name}"
            );
            assert!(!v.badge.title.contains(KEY) && v.key_masked == "0123…cdef", "{name}");
        }
        let s = state_after(&[Ok("12.345"), Err(ErrorCode::ServerError)]);
        let v = view_at(&s, T0 + 600_000 + 180_000, Lang::En);
        assert_eq!(v.balance_text.as_deref(), Some("$12.3450"));
        assert_eq!(v.checked_text, "last checked 3 min ago");
        assert!(v.badge.title.contains("$12.3450") && v.badge.title.contains("Stale"), "{}", v.badge.title);
        assert_eq!(v.error.as_ref().unwrap().code, ErrorCode::ServerError);
        assert_eq!(v.remaining[0].solves, Some(4115));
        assert_eq!(v.remaining[0].solves_text.as_deref(), Some("4,115"));
        let wrong = state_after(&[Err(ErrorCode::WrongKey)]);
        let v = view_at(&wrong, T0, Lang::Id);
        assert_eq!(v.error.unwrap().message, "Penyedia menolak API key");
        assert!(v.paused_text.unwrap().contains("dihentikan"));
        // No level is known: the pill and the status say the check failed, not "unknown".
        assert_eq!((v.pill_text.as_str(), v.status_text.as_str()), ("Cek gagal", "Cek gagal"));
        assert_eq!(v.level_text, "Tidak diketahui");
    }

    #[test]
    fn a_rejected_key_hides_nothing_already_known() {
        // Read every 10 minutes for a day, down to $0.50 (below the $1.00 threshold); then the
        // provider rejects the key.
        let mut outcomes: Vec<Result<String, ErrorCode>> = (0..=144)
            .map(|i| Ok(format!("{}", 2.0 - f64::from(i) * 1.5 / 144.0)))
            .collect();
        outcomes.push(Err(ErrorCode::WrongKey));
        let outcomes: Vec<Result<&str, ErrorCode>> = outcomes
            .iter()
            .map(|o| o.as_ref().map(String::as_str).map_err(|c| *c))
            .collect();
        let s = state_after(&outcomes);
        let rejected_at = T0 + 145 * 600_000;
        let v = view_at(&s, rejected_at + 3 * 60_000, Lang::En);
        // The level of the last balance, out of date, with the key problem beside it.
        assert_eq!(v.level, BalanceLevel::Low);
        assert_eq!(v.status, Status::Low);
        assert_eq!(v.balance_text.as_deref(), Some("$0.5000"));
        assert!(v.stale);
        assert_eq!(v.pill_text, "Low · below $1.0000 · out of date");
        assert_eq!(
            v.read_text.as_deref(),
            Some("Balance read 08:00, 13 min ago")
        );
        let e = v.error.as_ref().unwrap();
        assert_eq!((e.code, e.severity), (ErrorCode::WrongKey, Severity::Error));
        assert_eq!(e.message, "The provider rejected the API key");
        assert!(!v.key_status.as_ref().unwrap().ok);
        assert_eq!(v.next_check_at, None, "automatic checks stay paused");
        // The badge: the stale level's text in the stale colour, never the grey "!".
        assert_eq!(
            (v.badge.text.as_str(), v.badge.color),
            ("0.50", crate::badge::DARK_RED)
        );
        // The tooltip keeps the balance with its age, then says what is wrong.
        let lines: Vec<&str> = v.badge.title.lines().collect();
        assert_eq!(
            lines,
            [
                "Balance: $0.5000 (Low), checked 13 min ago",
                "The provider rejected the API key",
                "Stale: the last check failed, showing the last good balance.",
            ]
        );
        // The sparklines and what the history says stay.
        assert!(v.forecast.day.is_some() && v.forecast.week.is_some());
        assert!(v.forecast.spend_text.is_some());
        // Indonesian too.
        let id = view_at(&s, rejected_at + 3 * 60_000, Lang::Id);
        assert_eq!(id.balance_text.as_deref(), Some("$0,5000"));
        assert!(id.pill_text.ends_with("usang"), "{}", id.pill_text);
        // Rejected before any reading: nothing to keep, the grey "!".
        let never = view_at(&state_after(&[Err(ErrorCode::WrongKey)]), T0, Lang::En);
        assert_eq!(
            (never.badge.text.as_str(), never.balance.is_none()),
            ("!", true)
        );
        assert!(never.forecast.day.is_none());
    }

    #[test]
    fn one_story_during_an_outage() {
        // Read at 08:00, the check at 08:10 failed, seen at 08:14.
        let s = state_after(&[Ok("12.345"), Err(ErrorCode::ServerError)]);
        let v = view_at(&s, T0 + 14 * 60_000, Lang::En);
        assert_eq!(
            v.read_text.as_deref(),
            Some("Balance read 08:00, 14 min ago")
        );
        let failed = v.failed_text.as_deref().unwrap();
        assert!(
            failed.starts_with("Latest check failed at 08:10; next check at 08:"),
            "{failed}"
        );
        assert_eq!(v.pill_text, "OK · out of date");
        let e = v.error.unwrap();
        assert_eq!(e.severity, Severity::Warning);
        // The same local time in another zone (UTC+7) and in Indonesian.
        let v = account_view(&s, T0 + 14 * 60_000, Lang::Id, 7 * 60);
        assert_eq!(
            v.read_text.as_deref(),
            Some("Saldo dibaca 15.00, 14 menit lalu")
        );
        // A 502 with no earlier reading: no balance kept, so nothing says one is.
        let first = state_after(&[Err(ErrorCode::ServerError)]);
        let v = view_at(&first, T0 + 60_000, Lang::En);
        let e = v.error.unwrap();
        assert_eq!(e.severity, Severity::Error);
        for sentence in [&e.message, &e.cause, &e.fix] {
            assert!(!sentence.contains("last good balance"), "{sentence}");
        }
        assert_eq!(v.read_text, None);
        assert!(v.failed_text.is_some());
        // Fresh reading: no failure line, plain pill.
        let ok = state_after(&[Ok("12.345")]);
        let v = view_at(&ok, T0 + 60_000, Lang::En);
        assert_eq!((v.failed_text, v.pill_text.as_str()), (None, "OK"));
    }

    #[test]
    fn clock_times_name_their_day_and_their_own_offset() {
        // Read Fri 08:00 UTC, seen Sun 21:00: the day is named wherever a clock time is.
        let s = state_after(&[Ok("12.345")]);
        let sunday = T0 + 2 * 24 * 3_600_000 + 13 * 3_600_000;
        let v = view_at(&s, sunday, Lang::En);
        assert_eq!(
            v.read_text.as_deref(),
            Some("Balance read Fri 08:00, 2 d ago")
        );
        assert_eq!(
            v.key_status.unwrap().text,
            "CaptchaAI accepted this key at Fri 08:00."
        );
        let v = view_at(&s, sunday, Lang::Id);
        assert_eq!(
            v.read_text.as_deref(),
            Some("Saldo dibaca Jum 08.00, 2 hari lalu")
        );
        let failed = state_after(&[Ok("12.345"), Err(ErrorCode::ServerError)]);
        let text = view_at(&failed, sunday, Lang::En).failed_text.unwrap();
        assert!(
            text.starts_with("Latest check failed at Fri 08:10; next check at "),
            "{text}"
        );
        // A runway across a daylight-saving change: UTC+1 until Fri 20:00 UTC, UTC+2 after.
        let readings: Vec<(i64, Result<&str, ErrorCode>)> =
            ["10.00", "9.90", "9.80", "9.70", "9.60", "9.50", "9.40"]
                .iter()
                .enumerate()
                .map(|(i, b)| (i as i64 * 10, Ok(*b)))
                .collect();
        let s = read_at(&readings);
        let switch = T0 + 12 * 3_600_000;
        let zone = crate::i18n::ZoneFn(move |at: i64| if at < switch { 60 } else { 120 });
        let v = account_view(&s, T0 + 3_600_000, Lang::En, &zone);
        assert_eq!(v.read_text.as_deref(), Some("Balance read 10:00, just now"));
        // Empty at Sat 00:39 UTC: 02:39 at UTC+2 (01:39 with the offset of now).
        assert_eq!(
            v.forecast.runway_text.as_deref(),
            Some("Empty in about 15 h 39 min, around Sat 02:39")
        );
        let all = crate::summary::view(
            &State {
                accounts: vec![s.clone()],
                ..State::default()
            },
            T0 + 3_600_000,
            Lang::En,
            &zone,
        );
        assert_eq!(all.accounts[0].forecast.runway_text, v.forecast.runway_text);
    }

    #[test]
    fn a_reading_stamped_after_now_is_of_unknown_age() {
        // Read at 10:00 by a clock two hours ahead; set back, it is 08:00 now.
        let ahead = read_at(&[(120, Ok("12.345"))]);
        let v = view_at(&ahead, T0, Lang::En);
        let unknown = "an unknown time ago (the computer's clock was changed)";
        assert_eq!(
            v.read_text.as_deref(),
            Some(format!("Balance read 10:00, {unknown}").as_str())
        );
        assert_eq!(v.updated_ago.as_deref(), Some(unknown));
        assert_eq!(v.checked_text, format!("last checked {unknown}"));
        assert!(v.stale);
        let stale = v.stale_text.unwrap();
        assert!(
            !stale.contains("older than") && stale.contains("clock"),
            "{stale}"
        );
        assert!(!v.badge.title.contains("just now"), "{}", v.badge.title);
        let v = view_at(&ahead, T0, Lang::Id);
        assert!(v.stale_text.unwrap().contains("jam komputer"));
        // Thirty seconds ahead is within the tolerance: just now, fresh.
        let v = view_at(&ahead, T0 + 120 * 60_000 - 30_000, Lang::En);
        assert_eq!(v.read_text.as_deref(), Some("Balance read 10:00, just now"));
        assert!(!v.stale);
    }

    #[test]
    fn the_low_pill_names_the_threshold() {
        let s = state_after(&[Ok("0.42")]);
        assert_eq!(view_at(&s, T0, Lang::En).pill_text, "Low · below $1.0000");
        assert_eq!(
            view_at(&s, T0, Lang::Id).pill_text,
            "Rendah · di bawah $1,0000"
        );
    }

    /// `account` after a check at `min` minutes past T0 that read these threads and this
    /// balance outcome (threads first, as `observed` folds them).
    fn checked(
        account: Account,
        min: i64,
        threads: (u32, u32),
        balance: Result<&str, ErrorCode>,
    ) -> Account {
        let at = T0 + min * 60_000;
        let (threads, working_threads) = threads;
        let (account, _) = account.observe_threads(
            &Ok(Threads {
                threads,
                working_threads,
            }),
            at,
        );
        let outcome = balance
            .map(|b| Money::parse(b).unwrap())
            .map_err(|c| ApiError::new(c, c.api_code()));
        account.observe(&outcome, at).0
    }

    #[test]
    fn a_thread_plan_shows_its_threads_in_words() {
        let base = state_after(&[Ok("24.50")]);
        assert!(
            view_at(&base, T0, Lang::En).threads.is_none(),
            "nothing asked yet"
        );
        #[rustfmt::skip]
        let cases = [
            ((10, 3),  "3 of 10 threads busy", Capacity::Free,    7, "OK"),
            ((10, 10), "All 10 threads busy",  Capacity::AllBusy, 0, "OK"),
            ((0, 0),   "No active plan",       Capacity::NoPlan,  0, "No active plan"),
        ];
        for (counts, words, capacity, free, status) in cases {
            let a = checked(base.clone(), 1, counts, Ok("24.50"));
            let v = view_at(&a, T0 + 61_000, Lang::En);
            let t = v.threads.clone().unwrap();
            assert_eq!(
                (t.text.as_str(), t.capacity, t.free_threads, t.stale),
                (words, Some(capacity), Some(free), false)
            );
            assert_eq!(v.status_text, status);
            assert_eq!(
                v.status == Status::PlanExpired,
                capacity == Capacity::NoPlan
            );
            // The badge stays about money; its tooltip says the threads.
            assert_eq!(v.badge.text, "24.5");
            assert!(
                v.badge.title.ends_with(&format!("\n{words}")),
                "{}",
                v.badge.title
            );
        }
        let id = checked(base.clone(), 1, (10, 3), Ok("24.50"));
        assert_eq!(
            view_at(&id, T0 + 61_000, Lang::Id).threads.unwrap().text,
            "3 dari 10 thread sibuk"
        );
        let calm = checked(id.clone(), 11, (10, 4), Ok("24.50"));
        let share = |a: &Account, min: i64| {
            view_at(a, T0 + min * 60_000, Lang::En)
                .threads
                .unwrap()
                .share_text
        };
        assert_eq!(share(&calm, 11), None, "no busy reading: no share");
        let once = checked(calm, 21, (10, 10), Ok("24.50"));
        assert_eq!(
            share(&once, 21).as_deref(),
            Some("Every thread was busy in 1 of 3 readings over the last 24 h (33 %).")
        );
        // A failed threads request keeps the reading, out of date; with none, it says why.
        let failed = id
            .clone()
            .observe_threads(
                &Err(ApiError::new(ErrorCode::ServerError, "HTTP 502")),
                T0 + 700_000,
            )
            .0;
        let t = view_at(&failed, T0 + 700_000, Lang::En).threads.unwrap();
        assert_eq!(
            (t.text.as_str(), t.stale),
            ("3 of 10 threads busy · out of date", true)
        );
        assert!(view_at(&failed, T0 + 700_000, Lang::En)
            .badge
            .title
            .ends_with("3 of 10 threads busy · out of date"));
        let never = base
            .clone()
            .observe_threads(&Err(ApiError::new(ErrorCode::Timeout, "timeout")), T0)
            .0;
        assert_eq!(
            view_at(&never, T0, Lang::En).threads.unwrap().text,
            "Threads unknown: Timed out"
        );
        // Other providers have no threads.
        let mut other = base.clone();
        other.settings.provider = ProviderId::TwoCaptcha;
        assert!(view_at(&other, T0, Lang::En).threads.is_none());
    }

    #[test]
    fn no_money_from_a_thread_plan_whose_money_remains_is_said_as_what_it_is() {
        let base = state_after(&[Ok("24.50")]);
        // Every thread busy: a warning beside the balance, not "add funds", no empty alert.
        let busy = checked(
            checked(base.clone(), 1, (10, 10), Ok("24.50")),
            12,
            (10, 10),
            Err(ErrorCode::ZeroBalance),
        );
        let v = view_at(&busy, T0 + 12 * 60_000, Lang::En);
        let e = v.error.clone().unwrap();
        assert_eq!(
            (e.code, e.diagnosis, e.severity),
            (
                ErrorCode::ZeroBalance,
                Some(Diagnosis::AllThreadsBusy),
                Severity::Warning
            )
        );
        assert_eq!(e.message, "All threads busy");
        assert!(
            e.cause.contains("ERROR_ZERO_BALANCE") && e.cause.contains("All 10 threads busy"),
            "{}",
            e.cause
        );
        assert!(
            e.cause
                .contains("Every thread was busy in 2 of 2 readings over the last 24 h (100 %)."),
            "{}",
            e.cause
        );
        assert!(
            !e.fix.contains("Add funds") && e.fix.contains("more threads"),
            "{}",
            e.fix
        );
        assert_eq!(
            (v.balance_text.as_deref(), v.level),
            (Some("$24.5000"), BalanceLevel::Ok)
        );
        assert_ne!(v.status, Status::Error, "a busy plan is no failed check");
        // No active plan: an error that says renew, and the account needs attention.
        let expired = checked(base.clone(), 12, (0, 0), Err(ErrorCode::ZeroBalance));
        let v = view_at(&expired, T0 + 12 * 60_000, Lang::En);
        let e = v.error.clone().unwrap();
        assert_eq!(
            (e.diagnosis, e.severity, e.message.as_str()),
            (
                Some(Diagnosis::NoActivePlan),
                Severity::Error,
                "No active plan"
            )
        );
        assert!(
            e.cause.contains("$24.5000") && e.fix.contains("Renew") && e.fix.contains("CaptchaAI"),
            "{} {}",
            e.cause,
            e.fix
        );
        assert_eq!((v.status, v.level), (Status::PlanExpired, BalanceLevel::Ok));
        // The badge stays about money (its last reading, out of date beside the failed
        // submit); the card, row and pill say the plan needs the user.
        assert_eq!(v.badge.color, crate::badge::AMBER);
        assert_eq!(
            (v.accent.slot, v.accent.color),
            ("empty", crate::badge::DARK_RED)
        );
        let id = view_at(&expired, T0 + 12 * 60_000, Lang::Id).error.unwrap();
        assert!(
            id.fix.contains("Perpanjang") && id.message == "Tidak ada paket aktif",
            "{}",
            id.fix
        );
        // No money and no threads reading: the usual meaning (a reading of zero).
        let broke = checked(base.clone(), 1, (10, 2), Ok("0"));
        let zero = broke
            .observe(
                &Err(ApiError::new(ErrorCode::ZeroBalance, "ERROR_ZERO_BALANCE")),
                T0 + 700_000,
            )
            .0;
        let v = view_at(&zero, T0 + 700_000, Lang::En);
        assert_eq!(
            (v.level, v.error.unwrap().diagnosis),
            (BalanceLevel::Empty, None)
        );
        // A script's report, read beside the latest reading.
        let reported = reported_error_view(
            &busy,
            ErrorCode::NoSlotAvailable,
            T0 + 13 * 60_000,
            Lang::En,
        );
        assert_eq!(
            (reported.diagnosis, reported.message.as_str()),
            (Some(Diagnosis::AllThreadsBusy), "All threads busy")
        );
        let renew =
            reported_error_view(&expired, ErrorCode::ZeroBalance, T0 + 13 * 60_000, Lang::En);
        assert_eq!(renew.diagnosis, Some(Diagnosis::NoActivePlan));
        let plain = reported_error_view(&base, ErrorCode::ZeroBalance, T0, Lang::En);
        assert_eq!(
            (plain.diagnosis, plain.message.as_str()),
            (None, "Balance is empty")
        );
    }

    #[test]
    #[rustfmt::skip]
    fn refresh_is_never_silent() {
        let ok = state_after(&[Ok("12.345")]);
        let banned = state_after(&[Ok("12.345"), Err(ErrorCode::IpBanned)]);
        let wrong = state_after(&[Err(ErrorCode::WrongKey)]);
        let not_found = state_after(&[Ok("12.345"), Err(ErrorCode::KeyNotFound)]);
        let invalid = state_after(&[Err(ErrorCode::InvalidKey)]);
        let none = Account::default();
        let t1 = T0 + 600_000;
        type Case<'a> = (&'a str, &'a Account, i64, bool, Option<&'a str>, Option<i64>);
        let cases: [Case; 10] = [
            // name, state, now, enabled, wait said after a press, allowed at
            ("just checked", &ok, T0 + 20_000, true, Some("You can check again in 40 s"), Some(T0 + 60_000)),
            ("rounds up", &ok, T0 + 59_001, true, Some("You can check again in 1 s"), Some(T0 + 60_000)),
            ("after the floor", &ok, T0 + 60_000, true, None, None),
            ("banned", &banned, t1 + 60_000, true, Some("You can check again at 08:15"), Some(t1 + 300_000)),
            ("banned, later", &banned, t1 + 300_000, true, None, None),
            // A key fixed at the provider is tried again by the user, within the floor.
            ("rejected key, just now", &wrong, T0 + 20_000, true, Some("You can check again in 40 s"), Some(T0 + 60_000)),
            ("rejected key, later", &wrong, T0 + 3_600_000, true, None, None),
            ("key not found, later", &not_found, t1 + 60_000, true, None, None),
            // Never sent (the local check): asking again would not change it.
            ("key failed the local check", &invalid, T0 + 3_600_000, false, None, None),
            ("no key", &none, T0, false, None, None),
        ];
        for (name, s, now, enabled, wait, allowed_at) in cases {
            let r = view_at(s, now, Lang::En).refresh;
            // A page opens on "Refresh", never on a countdown.
            assert_eq!(r.text, "Refresh", "{name}");
            assert_eq!((r.enabled, r.wait_text.as_deref(), r.allowed_at), (enabled, wait, allowed_at), "{name}");
            assert_eq!(r.reason.is_some(), !enabled || wait.is_some(), "{name}: a press that sends nothing says why");
        }
        // A key that would travel unencrypted is never sent by a press either.
        let mut plain = state_after(&[Ok("12.345")]);
        plain.settings.endpoint = "http://192.168.1.5:8080".to_string();
        let r = view_at(&plain, T0 + 3_600_000, Lang::En).refresh;
        assert!(!r.enabled && r.reason.unwrap().contains("unencrypted"));
        // The automatic checks stay paused and say so; Refresh does not.
        let v = view_at(&wrong, T0 + 3_600_000, Lang::En);
        assert_eq!(v.next_check_at, None);
        assert!(v.paused_text.unwrap().contains("paused"));
        let r = view_at(&invalid, T0, Lang::En).refresh;
        assert!(r.reason.unwrap().contains("paused"));
        let id = view_at(&ok, T0 + 20_000, Lang::Id).refresh;
        assert_eq!(id.wait_text.as_deref(), Some("Bisa dicek lagi dalam 40 detik"));
        assert_eq!(id.text, "Perbarui");
    }

    #[test]
    fn key_status_next_to_the_key() {
        let wrong = state_after(&[Err(ErrorCode::WrongKey)]);
        let status = view_at(&wrong, T0, Lang::En).key_status.unwrap();
        assert!(!status.ok);
        assert_eq!(
            status.text,
            "CaptchaAI rejected this key at 08:00: ERROR_WRONG_USER_KEY"
        );
        let ok = state_after(&[Ok("1")]);
        let status = view_at(&ok, T0, Lang::En).key_status.unwrap();
        assert_eq!(
            (status.ok, status.text.as_str()),
            (true, "CaptchaAI accepted this key at 08:00.")
        );
        assert!(view_at(&Account::default(), T0, Lang::En)
            .key_status
            .is_none());
        // The API's rejection and the local check are told apart.
        let invalid = error_view(
            &ApiError::new(ErrorCode::InvalidKey, "x"),
            Lang::En,
            false,
            false,
        );
        let rejected = error_view(
            &ApiError::new(ErrorCode::WrongKey, "x"),
            Lang::En,
            false,
            false,
        );
        assert!(
            rejected.message.contains("The provider rejected"),
            "{}",
            rejected.message
        );
        assert!(
            invalid.message.contains("local check"),
            "{}",
            invalid.message
        );
        assert!(invalid.cause.contains("never sent") && !rejected.cause.contains("never sent"));
        // Server mode: the key is the server's, so the fix points there, not at the settings.
        let mut server = Account::default()
            .apply_settings(&j(json!({"endpoint": "http://127.0.0.1:9"})))
            .unwrap();
        let outcome = Err(ApiError::new(ErrorCode::WrongKey, "ERROR_WRONG_USER_KEY"));
        server.monitor = server.monitor.observe(&server.settings, &outcome, T0).0;
        let v = view_at(&server, T0, Lang::En);
        let fix = v.error.unwrap().fix;
        assert!(
            fix.contains("CAPTCHAAI_API_KEY") && !fix.contains("settings"),
            "{fix}"
        );
        assert!(v.key_status.unwrap().text.contains("server's key"));
        let own = view_at(&wrong, T0, Lang::En).error.unwrap().fix;
        assert!(
            own.contains("settings") && !own.contains("CAPTCHAAI_API_KEY"),
            "{own}"
        );
    }

    #[test]
    #[rustfmt::skip]
    fn a_balance_is_written_one_way_everywhere() {
        use crate::summary::view as summary_view;
        // $3.49999 with a threshold of $5: the badge, the tooltip (one and several accounts),
        // the popup and the notification say the same rounded-down figure; the threshold,
        // rates and costs are rounded up.
        let s = state_after(&[Ok("3.49999")])
            .apply_settings(&j(json!({"threshold": "5.00001", "rates": {"image": "0.00055"}})))
            .unwrap();
        let cases = [
            (Lang::En, "$3.4999", "3.49", "$5.0001", "$0.0006 per solve", "$5.5000"),
            (Lang::Id, "$3,4999", "3,49", "$5,0001", "$0,0006 per penyelesaian", "$5,5000"),
        ];
        for (lang, balance, badge, threshold, rate, cost) in cases {
            let v = view_at(&s, T0, lang);
            assert_eq!(v.balance_text.as_deref(), Some(balance), "{lang:?}");
            assert_eq!(v.badge.text, badge, "{lang:?}");
            assert!(v.badge.title.contains(balance), "{lang:?}: {}", v.badge.title);
            assert_eq!(v.threshold_text, threshold, "{lang:?}");
            assert!(v.pill_text.ends_with(threshold), "{lang:?}: {}", v.pill_text);
            let image = v.remaining.iter().find(|r| r.kind == CaptchaType::Image).unwrap();
            assert_eq!(image.rate_text, rate, "{lang:?}");
            let a = alert_view(AlertDecision::Warning, &s, lang).unwrap();
            assert!(a.message.contains(balance) && a.message.contains(threshold), "{lang:?}: {}", a.message);
            let e = estimate_view(&s, "image", &j(json!("10000")), lang);
            assert_eq!(e.cost_text.as_deref(), Some(cost), "{lang:?}");
            let state = State {
                accounts: vec![s.clone(), s.clone()],
                ..State::default()
            };
            let all = summary_view(&state, T0, lang, 0);
            assert_eq!(all.badge.text, badge, "{lang:?}");
            assert!(all.badge.title.lines().all(|l| l.contains(balance)), "{lang:?}: {}", all.badge.title);
        }
        // A shortfall is what is missing: never understated.
        let e = estimate_view(&s, "image", &j(json!("10000")), Lang::En);
        assert_eq!(e.shortfall_text.as_deref(), Some("$2.0001"));
    }

    #[test]
    #[rustfmt::skip]
    fn numbers_in_one_format_per_language() {
        let s = state_after(&[Ok("1234.49")]);
        let cases = [
            (Lang::En, "$1,234.4900", "411,496", "$1.0000", "$0.0030 per solve"),
            (Lang::Id, "$1.234,4900", "411.496", "$1,0000", "$0,0030 per penyelesaian"),
        ];
        for (lang, balance, solves, threshold, rate) in cases {
            let v = view_at(&s, T0, lang);
            assert_eq!(v.balance_text.as_deref(), Some(balance), "{lang:?}");
            assert_eq!(v.remaining[0].solves_text.as_deref(), Some(solves), "{lang:?}");
            assert_eq!(v.threshold_text, threshold, "{lang:?}");
            assert_eq!(v.remaining[0].rate_text, rate, "{lang:?}");
            assert!(v.badge.title.contains(balance), "{lang:?}: {}", v.badge.title);
        }
        let e = estimate_view(&s, "recaptcha_v2", &j(json!("1000")), Lang::Id);
        assert_eq!(e.summary, "Cukup: saldo membayar 411.496 penyelesaian jenis ini.");
        let low = state_after(&[Ok("0.42")]);
        let a = alert_view(AlertDecision::Warning, &low, Lang::Id).unwrap();
        assert!(a.message.contains("$0,4200") && a.message.contains("$1,0000"), "{}", a.message);
    }

    #[test]
    fn add_funds_shows_only_for_an_account_known_to_be_the_users() {
        let no_key = Account::default();
        assert_eq!(
            view_at(&no_key, T0, Lang::En).add_funds_url,
            None,
            "no key yet"
        );
        let rejected = state_after(&[Ok("1"), Err(ErrorCode::KeyNotFound)]);
        assert_eq!(
            view_at(&rejected, T0, Lang::En).add_funds_url,
            None,
            "a rejected key"
        );
        let outage = state_after(&[Ok("1"), Err(ErrorCode::ServerError)]);
        assert!(
            view_at(&outage, T0, Lang::En).add_funds_url.is_some(),
            "an outage is no reason"
        );
    }

    #[test]
    fn example_rates_and_hidden_solves() {
        let s = state_after(&[Ok("1")]);
        let v = view_at(&s, T0, Lang::En);
        assert_eq!(
            v.rates_note.as_deref(),
            Some("Example CaptchaAI rates: set yours in the options.")
        );
        assert_eq!(v.add_funds_url, Some("https://captchaai.com/"));
        assert!(v.show_solves);
        let own = s
            .apply_settings(&j(
                json!({"rates": {"image": "0.0008"}, "showSolves": false}),
            ))
            .unwrap();
        let v = view_at(&own, T0, Lang::En);
        assert_eq!((v.rates_note, v.show_solves), (None, false));
        // A provider without published rates: no solves remaining, and a note saying why.
        let none = s
            .apply_settings(&j(json!({"provider": "2captcha"})))
            .unwrap();
        let v = view_at(&none, T0, Lang::En);
        assert!(v.remaining.is_empty());
        assert_eq!(
            v.rates_note.as_deref(),
            Some(
                "No prices set for this account: add yours in the options to see solves remaining."
            )
        );
        let e = estimate_view(&none, "image", &j(json!("10")), Lang::En);
        assert!(!e.ok);
        assert_eq!(e.summary, text(Lang::En, "estimate_no_rate"));
    }

    #[test]
    fn a_spike_alert_says_the_spend_the_rule_measured() {
        // $0.50 spent, a top-up to $30.00, then $2.00 spent: the hour's spend is $2.50 (the
        // top-up counts 0), not the first reading of the hour less the last (-$26.0000).
        let s = state_after(&[
            Ok("2.00"),
            Ok("1.50"),
            Ok("30.00"),
            Ok("29.00"),
            Ok("28.00"),
        ]);
        for (lang, amount) in [(Lang::En, "$2.5000 "), (Lang::Id, "$2,5000 ")] {
            let a = alert_view(AlertDecision::Spike, &s, lang).unwrap();
            assert_eq!(a.kind, AlertKind::Spike);
            assert!(a.message.starts_with(amount), "{lang:?}: {}", a.message);
        }
        // Nothing spent in the hour (only a top-up): no spike alert can be worded.
        for outcomes in [
            &[Ok("0"), Ok("30.00")][..],
            &[Ok("5"), Ok("5")],
            &[Ok("5"), Ok("5.05")],
        ] {
            let s = state_after(outcomes);
            let a = alert_view(AlertDecision::Spike, &s, Lang::En);
            assert!(a.is_none(), "{outcomes:?}: {:?}", a.map(|a| a.message));
        }
    }

    #[test]
    fn estimates() {
        let s = state_after(&[Ok("1.00")]);
        let e = estimate_view(&s, "recaptcha_v3", &j(json!("500")), Lang::En);
        assert!(e.ok);
        assert_eq!(e.cost_text.as_deref(), Some("$2.0000"));
        assert_eq!((e.covered, e.enough), (Some(250), Some(false)));
        assert_eq!(
            e.summary,
            "Short by $1.0000: the balance covers 250 of 500 solves."
        );
        let big = state_after(&[Ok("100")]);
        let e = estimate_view(&big, "image", &j(json!("50000000")), Lang::En);
        assert_eq!(
            e.summary,
            "Short by $49,900.0000: the balance covers 100,000 of 50,000,000 solves."
        );
        let e = estimate_view(&s, "image", &j(json!(100)), Lang::En);
        assert_eq!(e.enough, Some(true));
        for (t, q) in [
            ("image", json!("0")),
            ("image", json!("-1")),
            ("image", json!("1.5")),
            ("image", json!(null)),
            ("nope", json!(1)),
        ] {
            let e = estimate_view(&s, t, &j(q.clone()), Lang::En);
            assert!(!e.ok && e.error.is_some(), "{t} {q}");
        }
        let none = state_after(&[]);
        let e = estimate_view(&none, "image", &j(json!(10)), Lang::En);
        assert_eq!(
            (e.ok, e.cost_text.as_deref(), e.enough),
            (true, Some("$0.0100"), None)
        );
    }

    #[test]
    fn alert_texts() {
        let s = state_after(&[Ok("0.42")]);
        let a = alert_view(AlertDecision::Warning, &s, Lang::En).unwrap();
        assert_eq!(a.message, "Balance $0.4200 is below your threshold of $1.0000. Add funds before jobs start failing.");
        assert!(alert_view(AlertDecision::None, &s, Lang::En).is_none());
        let w = state_after(&[Err(ErrorCode::WrongKey)]);
        let a = alert_view(AlertDecision::KeyError(ErrorCode::WrongKey), &w, Lang::En).unwrap();
        assert_eq!(a.kind, AlertKind::KeyError);
        for kind in [
            AlertKind::Critical,
            AlertKind::Warning,
            AlertKind::Restored,
            AlertKind::KeyError,
            AlertKind::Spike,
            AlertKind::Predictive,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert!(!a.message.contains(KEY));
    }
}
