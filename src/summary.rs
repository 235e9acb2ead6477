//! One picture of every account: the worst first, and the badge of the worst.
//!
//! The badge is red when ANY account needs money: the summary ranks accounts empty, then low,
//! then error, then ok, then unknown, and takes the badge look from the first.

use crate::i18n::{format, text, Lang, Zone};
use crate::level::BalanceLevel;
use crate::state::State;
use crate::view::{account_view, AccountView, BadgeView};
use serde::Serialize;

/// Where an account stands among the others, worst first (declaration order is the rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No money (or below one solve).
    Empty,
    /// Below its threshold.
    Low,
    /// A thread plan with no threads (expired or never bought): its money may be fine, but it
    /// takes no job.
    PlanExpired,
    /// The latest check failed (the balance, if shown, may be out of date).
    Error,
    /// Fine.
    Ok,
    /// Nothing read yet.
    Unknown,
}

impl Status {
    /// The status of an account at `level`, whose latest check failed or not.
    pub fn of(level: BalanceLevel, failed: bool) -> Status {
        match level {
            BalanceLevel::Empty => Status::Empty,
            BalanceLevel::Low => Status::Low,
            _ if failed => Status::Error,
            BalanceLevel::Ok => Status::Ok,
            BalanceLevel::Unknown => Status::Unknown,
        }
    }
}

/// `view`'s answer: every account, the worst first, and what the badge shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// The worst account's status.
    pub status: Status,
    /// The badge: the worst account's look; the tooltip lists every account.
    pub badge: BadgeView,
    /// Every account, the worst first (the user's order among equals).
    pub accounts: Vec<AccountView>,
    /// The next scheduled check of any account (epoch ms), `None` while all are paused.
    pub next_check_at: Option<i64>,
    /// Whether to show notifications (a setting every account shares).
    pub notifications: bool,
    /// With several accounts, the list's one-line summary: "2 of 12 accounts need money", or
    /// that none does; `None` with one account.
    pub summary_text: Option<String>,
}

/// The whole picture at `now`; clock times in `zone` (a fixed offset in minutes east of UTC,
/// or the browser's zone, each instant at its own offset).
pub fn view(state: &State, now_ms: i64, lang: Lang, zone: impl Zone) -> View {
    // Worst first, equals in the user's order (a stable sort).
    let mut accounts: Vec<AccountView> = state
        .accounts
        .iter()
        .map(|account| account_view(account, now_ms, lang, &zone))
        .collect();
    accounts.sort_by_key(|a| a.status);
    let next_check_at = accounts.iter().filter_map(|a| a.next_check_at).min();
    let worst = accounts.first();
    let mut badge = worst.map(|a| a.badge.clone()).unwrap_or(BadgeView {
        text: String::new(),
        color: crate::badge::GREY,
        title: String::new(),
    });
    if accounts.len() > 1 {
        // One line per account: "Production (CaptchaAI): $0.5000 · Low".
        badge.title.clear();
        for a in &accounts {
            let shown = a
                .balance_text
                .clone()
                .unwrap_or_else(|| text(lang, "badge_line_none"));
            if !badge.title.is_empty() {
                badge.title.push('\n');
            }
            badge.title.push_str(&format(
                lang,
                "badge_line",
                &[&a.name, &a.provider_label, &shown, &status_text(a)],
            ));
            if let Some(threads) = a
                .threads
                .as_ref()
                .filter(|_| a.status != Status::PlanExpired)
            {
                badge.title.push_str(" · ");
                badge.title.push_str(&threads.text);
            }
        }
    }
    let needing = accounts
        .iter()
        .filter(|a| matches!(a.status, Status::Empty | Status::Low | Status::PlanExpired))
        .count();
    // An expired plan is no lack of money: the line then says "attention".
    let plans = accounts.iter().any(|a| a.status == Status::PlanExpired);
    let summary_text = (accounts.len() > 1).then(|| match needing {
        0 => format(
            lang,
            "summary_none_needs_money",
            &[&accounts.len().to_string()],
        ),
        n => format(
            lang,
            if plans {
                "summary_need_attention"
            } else {
                "summary_need_money"
            },
            &[&n.to_string(), &accounts.len().to_string()],
        ),
    });
    View {
        status: worst.map_or(Status::Unknown, |a| a.status),
        badge,
        summary_text,
        next_check_at,
        notifications: state
            .accounts
            .first()
            .is_none_or(|a| a.settings.notifications),
        accounts,
    }
}

/// A status in words: the level's word, the error's title for an account whose check failed,
/// "No active plan" for an expired thread plan.
fn status_text(account: &AccountView) -> String {
    match (&account.error, account.status) {
        (Some(e), Status::Error) => e.message.clone(),
        (_, Status::PlanExpired) => account.status_text.clone(),
        _ => account.level_text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, ErrorCode};
    use crate::money::Money;
    use serde_json::json;

    const T0: i64 = 1_800_000_000_000;

    fn key(n: u8) -> String {
        format!("{n:x}").repeat(32)
    }

    /// An account's name and what its check read.
    type Read<'a> = (&'a str, Result<&'a str, ErrorCode>);

    /// A state whose accounts read these outcomes (a balance or an error code), in order.
    fn state_with(outcomes: &[Read]) -> State {
        let rows: Vec<_> = outcomes
            .iter()
            .enumerate()
            .map(|(i, (name, _))| json!({"name": name, "apiKey": key(i as u8 + 1), "threshold": "1"}))
            .collect();
        let form =
            serde_json::from_str::<serde_json::Value>(&json!({ "accounts": rows }).to_string())
                .unwrap();
        let mut state = State::default().apply_settings(&form).unwrap();
        for (i, (_, outcome)) in outcomes.iter().enumerate() {
            let id = state.accounts[i].id();
            let outcome = outcome
                .map(|b| Money::parse(b).unwrap())
                .map_err(|c| ApiError::new(c, c.api_code()));
            state = state.observe(&outcome, Some(&id), T0).0;
        }
        state
    }

    #[test]
    fn the_worst_account_comes_first_and_colours_the_badge() {
        use ErrorCode as E;
        #[rustfmt::skip]
        let cases: &[(&[Read], &[&str], Status)] = &[
            (&[("a", Ok("5")), ("b", Ok("0.5"))],                         &["b", "a"],      Status::Low),
            (&[("a", Ok("0.5")), ("b", Ok("0"))],                         &["b", "a"],      Status::Empty),
            (&[("a", Ok("5")), ("b", Err(E::ServerError))],               &["b", "a"],      Status::Error),
            (&[("a", Err(E::ServerError)), ("b", Ok("0.9"))],             &["b", "a"],      Status::Low),
            (&[("a", Ok("5")), ("b", Ok("7"))],                           &["a", "b"],      Status::Ok),
            (&[("a", Err(E::ZeroBalance)), ("b", Err(E::WrongKey))],      &["a", "b"],      Status::Empty),
            (&[("a", Ok("3")), ("b", Ok("2")), ("c", Ok("0.2"))],         &["c", "a", "b"], Status::Low),
            (&[("a", Ok("5")), ("b", Ok("0.5")), ("c", Ok("7")), ("d", Ok("0.2"))], &["b", "d", "a", "c"], Status::Low),
        ];
        for (outcomes, order, worst) in cases {
            let v = view(&state_with(outcomes), T0, Lang::En, 0);
            let names: Vec<_> = v.accounts.iter().map(|a| a.name.as_str()).collect();
            assert_eq!(&names, order, "{outcomes:?}");
            assert_eq!(v.status, *worst, "{outcomes:?}");
            assert_eq!(v.badge.color, v.accounts[0].badge.color, "{outcomes:?}");
            let soonest = v.accounts.iter().filter_map(|a| a.next_check_at).min();
            assert!(soonest.is_some());
            assert_eq!(v.next_check_at, soonest, "{outcomes:?}");
        }
    }

    #[test]
    fn the_tooltip_lists_every_account() {
        let v = view(
            &state_with(&[("Production", Ok("12.5")), ("Staging", Ok("0.5"))]),
            T0,
            Lang::En,
            0,
        );
        assert_eq!(v.badge.color, crate::badge::RED);
        let lines: Vec<_> = v.badge.title.lines().collect();
        assert_eq!(
            lines,
            [
                "Staging (CaptchaAI): $0.5000 · Low",
                "Production (CaptchaAI): $12.5000 · OK",
            ]
        );
    }

    #[test]
    fn the_list_says_how_many_need_money() {
        let two_low = state_with(&[
            ("a", Ok("5")),
            ("b", Ok("0.5")),
            ("c", Ok("0")),
            ("d", Err(ErrorCode::ServerError)),
        ]);
        let v = view(&two_low, T0, Lang::En, 0);
        assert_eq!(
            v.summary_text.as_deref(),
            Some("2 of 4 accounts need money")
        );
        let v = view(&two_low, T0, Lang::Id, 0);
        assert_eq!(
            v.summary_text.as_deref(),
            Some("2 dari 4 akun perlu tambahan saldo")
        );
        let fine = view(
            &state_with(&[("a", Ok("5")), ("b", Ok("7"))]),
            T0,
            Lang::En,
            0,
        );
        assert_eq!(
            fine.summary_text.as_deref(),
            Some("No account needs money (2 accounts)")
        );
        let one = view(&state_with(&[("a", Ok("0.5"))]), T0, Lang::En, 0);
        assert_eq!(one.summary_text, None);
    }

    #[test]
    fn an_expired_thread_plan_needs_attention_and_the_tooltip_says_the_threads() {
        use crate::threads::Threads;
        let mut state = state_with(&[
            ("Production", Ok("12.5")),
            ("Staging", Ok("9")),
            ("Spare", Ok("20")),
        ]);
        let read = |state: State, i: usize, threads: u32, working_threads: u32| {
            let id = state.accounts[i].id();
            state
                .observe_threads(
                    &Ok(Threads {
                        threads,
                        working_threads,
                    }),
                    Some(&id),
                    T0,
                )
                .0
        };
        state = read(state, 0, 10, 3);
        state = read(state, 1, 0, 0);
        let v = view(&state, T0, Lang::En, 0);
        // The expired plan first, its money still OK; the badge stays about money.
        assert_eq!(v.accounts[0].name, "Staging");
        assert_eq!(v.accounts[0].status, Status::PlanExpired);
        assert_eq!(v.status, Status::PlanExpired);
        assert_eq!(v.badge.text, "9.00");
        assert_eq!(
            v.summary_text.as_deref(),
            Some("1 of 3 accounts need attention")
        );
        let lines: Vec<&str> = v.badge.title.lines().collect();
        assert_eq!(lines[0], "Staging (CaptchaAI): $9.0000 · No active plan");
        assert_eq!(
            lines[1],
            "Production (CaptchaAI): $12.5000 · OK · 3 of 10 threads busy"
        );
        assert_eq!(lines[2], "Spare (CaptchaAI): $20.0000 · OK");
        let id = view(&state, T0, Lang::Id, 0);
        assert_eq!(
            id.summary_text.as_deref(),
            Some("1 dari 3 akun perlu perhatian")
        );
    }

    #[test]
    fn a_rejected_key_keeps_its_balance_in_the_tooltip() {
        let mut state = state_with(&[("Production", Ok("12.5")), ("Staging", Ok("0.5"))]);
        let staging = state.accounts[1].id();
        let wrong = Err(ApiError::new(ErrorCode::WrongKey, "ERROR_WRONG_USER_KEY"));
        state = state.observe(&wrong, Some(&staging), T0 + 600_000).0;
        let production = state.accounts[0].id();
        state = state.observe(&wrong, Some(&production), T0 + 600_000).0;
        let v = view(&state, T0 + 660_000, Lang::En, 0);
        // Low beats a failed check; each line keeps the last balance.
        assert_eq!(v.status, Status::Low);
        assert_eq!(v.badge.color, crate::badge::DARK_RED);
        let lines: Vec<_> = v.badge.title.lines().collect();
        assert_eq!(
            lines,
            [
                "Staging (CaptchaAI): $0.5000 · Low",
                "Production (CaptchaAI): $12.5000 · The provider rejected the API key",
            ]
        );
    }

    #[test]
    fn one_account_keeps_its_own_tooltip() {
        let v = view(&state_with(&[("Solo", Ok("12.5"))]), T0, Lang::En, 0);
        assert_eq!(v.badge.title, v.accounts[0].badge.title);
    }
}
