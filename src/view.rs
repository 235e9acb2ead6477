//! What a popup, badge tooltip, notification or widget shows, already localized.
//!
//! The extension and the widget render these structures as they are; neither decides a level,
//! a colour or a sentence on its own.

use crate::alerts::AlertDecision;
use crate::badge::badge_look;
use crate::costs::{budget, estimate, CaptchaType, MAX_QUANTITY};
use crate::error::ApiError;
use crate::i18n::{age, format, text, Lang};
use crate::json::{object, Json, ToJson};
use crate::level::BalanceLevel;
use crate::money::Money;
use crate::monitor::Staleness;
use crate::settings::mask_key;
use crate::state::State;

/// Where to top up.
pub const ADD_FUNDS_URL: &str = "https://captchaai.com/";

/// The badge with its tooltip.
#[derive(Debug, Clone)]
pub struct BadgeView {
    /// At most four characters.
    pub text: String,
    /// `#rrggbb`.
    pub color: &'static str,
    /// Tooltip: full balance, level, when read, staleness or the error.
    pub title: String,
}

/// An error with its explanation.
#[derive(Debug, Clone)]
pub struct ErrorView {
    /// Stable code.
    pub code: &'static str,
    /// What was seen (key-free).
    pub raw: String,
    /// Short title.
    pub message: String,
    /// Why it happens.
    pub cause: String,
    /// What to do.
    pub fix: String,
}

/// Solves the balance still pays for, per type.
#[derive(Debug, Clone)]
pub struct RemainingView {
    /// Stable type name.
    pub kind: &'static str,
    /// Localized label.
    pub label: String,
    /// Exact rate.
    pub rate: Money,
    /// "$0.0030 per solve".
    pub rate_text: String,
    /// floor(balance / rate), `None` without a balance.
    pub solves: Option<u64>,
}

/// The whole picture.
#[derive(Debug, Clone)]
pub struct View {
    /// `ok` / `low` / `empty` / `unknown`.
    pub level: BalanceLevel,
    /// The level in words (colour is never the only signal).
    pub level_text: String,
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
    /// Badge look and tooltip.
    pub badge: BadgeView,
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
    /// Where to add funds.
    pub add_funds_url: &'static str,
}

/// A notification, localized.
#[derive(Debug, Clone)]
pub struct AlertView {
    /// `critical` / `warning` / `restored` / `key_error`.
    pub kind: &'static str,
    /// Notification title.
    pub title: String,
    /// Notification body.
    pub message: String,
}

/// A cost estimate against the balance.
#[derive(Debug, Clone, Default)]
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

impl ToJson for BadgeView {
    fn write_json(&self, out: &mut String) {
        object(out)
            .field("text", &self.text)
            .field("color", &self.color)
            .field("title", &self.title)
            .end();
    }
}

impl ToJson for ErrorView {
    fn write_json(&self, out: &mut String) {
        object(out)
            .field("code", &self.code)
            .field("raw", &self.raw)
            .field("message", &self.message)
            .field("cause", &self.cause)
            .field("fix", &self.fix)
            .end();
    }
}

impl ToJson for RemainingView {
    fn write_json(&self, out: &mut String) {
        object(out)
            .field("type", &self.kind)
            .field("label", &self.label)
            .field("rate", &self.rate)
            .field("rateText", &self.rate_text)
            .field("solves", &self.solves)
            .end();
    }
}

impl ToJson for View {
    fn write_json(&self, out: &mut String) {
        object(out)
            .field("level", &self.level)
            .field("levelText", &self.level_text)
            .field("stale", &self.stale)
            .field("staleText", &self.stale_text)
            .field("balance", &self.balance)
            .field("balanceText", &self.balance_text)
            .field("checkedAt", &self.checked_at)
            .field("checkedText", &self.checked_text)
            .field("updatedAt", &self.updated_at)
            .field("updatedAgo", &self.updated_ago)
            .field("badge", &self.badge)
            .field("error", &self.error)
            .field("remaining", &self.remaining)
            .field("nextCheckAt", &self.next_check_at)
            .field("pausedText", &self.paused_text)
            .field("keyMasked", &self.key_masked)
            .field("threshold", &self.threshold)
            .field("thresholdText", &self.threshold_text)
            .field("addFundsUrl", &self.add_funds_url)
            .end();
    }
}

impl ToJson for AlertView {
    fn write_json(&self, out: &mut String) {
        object(out)
            .field("kind", &self.kind)
            .field("title", &self.title)
            .field("message", &self.message)
            .end();
    }
}

impl ToJson for EstimateView {
    fn write_json(&self, out: &mut String) {
        object(out)
            .field("ok", &self.ok)
            .field("error", &self.error)
            .field("cost", &self.cost)
            .field("costText", &self.cost_text)
            .field("covered", &self.covered)
            .field("shortfall", &self.shortfall)
            .field("shortfallText", &self.shortfall_text)
            .field("enough", &self.enough)
            .field("summary", &self.summary)
            .end();
    }
}

fn level_text(lang: Lang, level: BalanceLevel) -> String {
    text(lang, &format!("level_{}", level.as_str())).to_string()
}

/// An error with its localized sentences.
pub fn error_view(error: &ApiError, lang: Lang) -> ErrorView {
    let code = error.code;
    let raw = error.raw.as_str();
    ErrorView {
        code: code.as_str(),
        raw: error.raw.clone(),
        message: format(lang, &code.title_key(), &[raw]),
        cause: format(lang, &code.cause_key(), &[raw]),
        fix: format(lang, &code.fix_key(), &[raw]),
    }
}

/// The whole picture of a state at `now`.
pub fn view(state: &State, now_ms: i64, lang: Lang) -> View {
    let (settings, monitor) = (&state.settings, &state.monitor);
    let level = monitor.level(settings);
    let balance = monitor.shown_balance();
    let error = monitor
        .last_error
        .as_ref()
        .map(|f| error_view(&f.error, lang));
    let staleness = monitor.staleness(settings, now_ms);
    let stale_text = staleness.map(|s| {
        text(
            lang,
            if s == Staleness::CheckFailed {
                "stale_failed"
            } else {
                "stale_old"
            },
        )
        .to_string()
    });
    let checked_text = match monitor.last_request_at {
        Some(at) => format(lang, "checked_at", &[&age(lang, now_ms, at)]),
        None => text(lang, "never_checked").to_string(),
    };
    let updated_at = monitor
        .last_good
        .filter(|_| balance.is_some())
        .map(|r| r.at);
    let updated_ago = updated_at.map(|at| age(lang, now_ms, at));
    let look = badge_look(level, balance, error.is_some());
    let level_words = level_text(lang, level);
    let plan = monitor.plan(settings, crate::schedule::Trigger::Alarm, now_ms);
    let paused_text = plan
        .next_check_at
        .is_none()
        .then(|| text(lang, &plan.reason.message_key()).to_string());
    let mut title = match (balance, &error) {
        (Some(b), _) => format(
            lang,
            "badge_title",
            &[
                &b.display(),
                &level_words,
                updated_ago.as_deref().unwrap_or_default(),
            ],
        ),
        (None, Some(e)) => format(lang, "badge_title_error", &[&e.message]),
        (None, None) if !settings.can_request() => text(lang, "badge_title_no_key").to_string(),
        (None, None) => text(lang, "badge_title_none").to_string(),
    };
    if let (Some(_), Some(e)) = (balance, &error) {
        title.push('\n');
        title.push_str(&e.message);
    }
    if let Some(s) = &stale_text {
        title.push('\n');
        title.push_str(s);
    }
    let remaining = settings
        .rates
        .iter()
        .map(|(kind, rate)| RemainingView {
            kind: kind.as_str(),
            label: text(lang, &format!("type_{}", kind.as_str())).to_string(),
            rate,
            rate_text: format(lang, "per_solve", &[&rate.display()]),
            solves: balance.map(|b| b.whole_multiples_of(rate)),
        })
        .collect();
    View {
        level,
        level_text: level_words,
        stale: staleness.is_some(),
        stale_text,
        balance,
        balance_text: balance.map(Money::display),
        checked_at: monitor.last_request_at,
        checked_text,
        updated_at,
        updated_ago,
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
        threshold_text: settings.threshold.display(),
        add_funds_url: ADD_FUNDS_URL,
    }
}

/// The notification for an alert decision, if it deserves one.
pub fn alert_view(decision: AlertDecision, state: &State, lang: Lang) -> Option<AlertView> {
    let balance = state
        .monitor
        .shown_balance()
        .unwrap_or(Money::ZERO)
        .display();
    let threshold = state.settings.threshold.display();
    let (kind, title, message) = match decision {
        AlertDecision::None => return None,
        AlertDecision::Critical => (
            "critical",
            text(lang, "alert_critical_title").into(),
            format(lang, "alert_critical_message", &[&balance]),
        ),
        AlertDecision::Warning => (
            "warning",
            text(lang, "alert_warning_title").into(),
            format(lang, "alert_warning_message", &[&balance, &threshold]),
        ),
        AlertDecision::Restored => (
            "restored",
            text(lang, "alert_restored_title").into(),
            format(lang, "alert_restored_message", &[&balance]),
        ),
        AlertDecision::KeyError(_) => {
            let failed = state.monitor.last_error.as_ref()?;
            let e = error_view(&failed.error, lang);
            (
                "key_error",
                format(lang, "alert_key_error_title", &[&e.message]),
                format!("{} {}", e.cause, e.fix),
            )
        }
    };
    Some(AlertView {
        kind,
        title,
        message,
    })
}

/// The cost of `quantity` solves of `captcha_type` against the shown balance.
/// `quantity` may be a number or the text of a form field.
pub fn estimate_view(
    state: &State,
    captcha_type: &str,
    quantity: &Json,
    lang: Lang,
) -> EstimateView {
    let fail = |key: &str| EstimateView {
        error: Some(text(lang, key).to_string()),
        summary: text(lang, key).to_string(),
        ..EstimateView::default()
    };
    let Some(kind) = CaptchaType::from_name(captcha_type) else {
        return fail("estimate_bad_type");
    };
    let qty = quantity
        .as_text()
        .and_then(|q| q.trim().parse::<i64>().ok())
        .and_then(|q| u64::try_from(q).ok());
    let Some(qty) = qty.filter(|q| (1..=MAX_QUANTITY).contains(q)) else {
        return fail("estimate_bad_quantity");
    };
    let rate = state.settings.rates.rate(kind);
    let Some(cost) = estimate(rate, qty) else {
        return fail("estimate_bad_quantity");
    };
    let mut out = EstimateView {
        ok: true,
        cost: Some(cost),
        cost_text: Some(cost.display()),
        ..EstimateView::default()
    };
    match state
        .monitor
        .shown_balance()
        .and_then(|b| budget(b, rate, qty))
    {
        Some(b) => {
            out.covered = Some(b.covered);
            out.shortfall = Some(b.shortfall);
            out.shortfall_text = Some(b.shortfall.display());
            out.enough = Some(b.enough);
            out.summary = if b.enough {
                format(lang, "estimate_enough", &[&b.covered.to_string()])
            } else {
                format(
                    lang,
                    "estimate_short",
                    &[
                        &b.shortfall.display(),
                        &b.covered.min(qty).to_string(),
                        &qty.to_string(),
                    ],
                )
            };
        }
        None => out.summary = text(lang, "estimate_no_balance").to_string(),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::{json, Value};

    fn j(v: Value) -> Json {
        Json::parse(&v.to_string()).unwrap()
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const T0: i64 = 1_800_000_000_000;

    fn state_after(outcomes: &[Result<&str, ErrorCode>]) -> State {
        let mut s = State::default()
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

    #[test]
    fn views_per_situation() {
        let now = |s: &State| s.monitor.last_request_at.unwrap_or(T0) + 180_000;
        type Case<'a> = (
            &'a str,
            Vec<Result<&'a str, ErrorCode>>,
            &'a str,
            &'a str,
            &'a str,
            bool,
        );
        let cases: Vec<Case> = vec![
            (
                "ok",
                vec![Ok("12.345")],
                "ok",
                "12.3",
                crate::badge::GREEN,
                false,
            ),
            (
                "low",
                vec![Ok("0.42")],
                "low",
                ".42",
                crate::badge::RED,
                false,
            ),
            (
                "zero",
                vec![Ok("0")],
                "empty",
                "0",
                crate::badge::RED,
                false,
            ),
            (
                "zero error",
                vec![Err(ErrorCode::ZeroBalance)],
                "empty",
                "0",
                crate::badge::RED,
                false,
            ),
            (
                "wrong key",
                vec![Err(ErrorCode::WrongKey)],
                "unknown",
                "!",
                crate::badge::GREY,
                false,
            ),
            (
                "502 after good",
                vec![Ok("12.345"), Err(ErrorCode::ServerError)],
                "ok",
                "12.3",
                crate::badge::GREEN,
                true,
            ),
            (
                "nothing yet",
                vec![],
                "unknown",
                "?",
                crate::badge::GREY,
                false,
            ),
        ];
        for (name, outcomes, level, text, color, stale) in cases {
            let s = state_after(&outcomes);
            let v = view(&s, now(&s), Lang::En);
            assert_eq!(
                (
                    v.level.as_str(),
                    v.badge.text.as_str(),
                    v.badge.color,
                    v.stale
                ),
                (level, text, color, stale),
                "{name}"
            );
            assert!(
                !v.badge.title.contains(KEY) && v.key_masked == "0123…cdef",
                "{name}"
            );
        }
        let s = state_after(&[Ok("12.345"), Err(ErrorCode::ServerError)]);
        let v = view(&s, T0 + 600_000 + 180_000, Lang::En);
        assert_eq!(v.balance_text.as_deref(), Some("$12.3450"));
        assert_eq!(v.checked_text, "last checked 3 min ago");
        assert!(
            v.badge.title.contains("$12.3450") && v.badge.title.contains("Stale"),
            "{}",
            v.badge.title
        );
        assert_eq!(v.error.as_ref().unwrap().code, "server_error");
        assert_eq!(v.remaining[0].solves, Some(4115));
        let wrong = state_after(&[Err(ErrorCode::WrongKey)]);
        let v = view(&wrong, T0, Lang::Id);
        assert_eq!(v.error.unwrap().message, "API key salah");
        assert!(v.paused_text.unwrap().contains("dihentikan"));
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
        assert_eq!(a.kind, "key_error");
        assert!(!a.message.contains(KEY));
    }
}
