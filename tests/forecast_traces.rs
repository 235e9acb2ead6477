//! The trace simulator: balance traces replayed with simulated time through the monitor, the
//! way the extension drives it, once with adaptive polling and once with a fixed 10-minute poll.
//!
//! Each run holds a `State` with one account whose settings come through the settings form
//! (`State::apply_settings`: a key, the trace's threshold, a 30-minute interval, the default
//! 24-hour predictive horizon, spike alerts on). Simulated time is passed in. Under adaptive
//! polling the plan (`view::plan_view`, what `planCheck` answers) says when the next check is
//! and that it is due then; every check is `State::begin_checks`, then the answer a second
//! later through `view::observed` (what `observe` answers) with a `TaggedOutcome`: a reading
//! of the true balance, or a failure in the trace's error windows. Between two checks the
//! state is stored as JSON and read back with `State::load`, as the extension stores it. The
//! alerts are the `alert` those answers carry. The fixed poll is the same state checked every
//! 10 minutes whatever the plan says.
//!
//! Each trace is a row of data: a start balance, drain steps (a rate, optionally in bursts, and
//! a top-up at the step's start), failed-check windows and noisy readings. The truth is the
//! alert machine of src/alerts.rs fed the true balance every second; a run must give exactly
//! the same low / empty / restored alerts (none missed, none twice) and the predictive and
//! spike alerts the row expects. Every run starts at ten phases (0–9 minutes) and the figures
//! are their mean. `cargo test --test forecast_traces -- --nocapture` prints the table.

use captchaai_balance::alerts::{AlertDecision, AlertInput, AlertState};
use captchaai_balance::error::{ApiError, ErrorCode};
use captchaai_balance::history::MINUTE_MS;
use captchaai_balance::i18n::Lang;
use captchaai_balance::money::Money;
use captchaai_balance::monitor::TaggedOutcome;
use captchaai_balance::provider::ProviderId;
use captchaai_balance::schedule::Trigger;
use captchaai_balance::settings::DEFAULT_PREDICTIVE_HOURS;
use captchaai_balance::state::State;
use captchaai_balance::threads::{Threads, SATURATED_MS};
use captchaai_balance::view::{observed, plan_view};

const T0: i64 = 1_800_000_000_000;
const CENT: i64 = 10_000_000;
/// The fixed poll compared with.
const FIXED_MS: i64 = 10 * MINUTE_MS;
/// The user's interval (minutes) under adaptive polling: its longest delay.
const INTERVAL_MIN: i64 = 30;
/// A check's answer arrives this long after its request.
const ANSWER_MS: i64 = 1_000;
/// Start phases of the first check, in minutes.
const PHASES: [i64; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const KEY: &str = "0123456789abcdef0123456789abcdef";

/// From `from_min` on: drain `cents_per_hour`, only `on_min` of every `period_min` when
/// `period_min > 0`; `top_up` cents arrive at `from_min`.
#[derive(Clone, Copy)]
struct Step {
    from_min: i64,
    cents_per_hour: i64,
    top_up: i64,
    period_min: i64,
    on_min: i64,
}

const fn drain(from_min: i64, cents_per_hour: i64) -> Step {
    Step {
        from_min,
        cents_per_hour,
        top_up: 0,
        period_min: 0,
        on_min: 0,
    }
}

const fn top_up(from_min: i64, cents_per_hour: i64, cents: i64) -> Step {
    Step {
        top_up: cents,
        ..drain(from_min, cents_per_hour)
    }
}

const fn bursts(from_min: i64, cents_per_hour: i64, period_min: i64, on_min: i64) -> Step {
    Step {
        period_min,
        on_min,
        ..drain(from_min, cents_per_hour)
    }
}

struct Trace {
    name: &'static str,
    start_cents: i64,
    hours: i64,
    threshold_cents: i64,
    steps: &'static [Step],
    /// [from, to) minutes in which every check fails with this error.
    failures: &'static [(i64, i64, ErrorCode)],
    /// [from, to) minutes in which readings are off by this many cents.
    noise: &'static [(i64, i64, i64)],
    /// Predictive alerts expected.
    predictive: usize,
    /// Spike alerts expected, and the minute the spike starts.
    spike: Option<i64>,
}

/// Refunds of 9 cents (not a top-up) every 18 minutes: the balance hovers at $0.95–$1.04.
const FLAPPING: [Step; 35] = {
    let mut steps = [drain(0, 30); 35];
    let mut i = 1;
    while i < 34 {
        steps[i] = top_up(130 + 18 * (i as i64 - 1), 30, 9);
        i += 1;
    }
    steps[34] = top_up(12 * 60, 0, 300);
    steps
};

use ErrorCode::{Network, ServerError, Timeout};

#[rustfmt::skip]
const TRACES: &[Trace] = &[
    Trace { name: "steady drain",    start_cents: 2_000, hours: 48, threshold_cents: 100, steps: &[drain(0, 50)], failures: &[], noise: &[(300, 320, 5), (700, 710, -4), (900, 905, 3)], predictive: 1, spike: None },
    Trace { name: "bursty drain",    start_cents: 1_200, hours: 30, threshold_cents: 100, steps: &[bursts(0, 300, 60, 10)], failures: &[], noise: &[], predictive: 1, spike: None },
    Trace { name: "top-up",          start_cents: 600,   hours: 48, threshold_cents: 100, steps: &[drain(0, 50), top_up(14 * 60, 50, 2_000)], failures: &[], noise: &[], predictive: 2, spike: None },
    Trace { name: "flapping",        start_cents: 160,   hours: 14, threshold_cents: 100, steps: &FLAPPING, failures: &[], noise: &[], predictive: 1, spike: None },
    Trace { name: "errors, outage",  start_cents: 1_200, hours: 30, threshold_cents: 100, steps: &[drain(0, 50)], failures: &[(120, 130, Timeout), (135, 140, ServerError), (145, 150, Network), (600, 900, ServerError), (1_000, 1_060, Network)], noise: &[], predictive: 1, spike: None },
    Trace { name: "spend spike",     start_cents: 3_000, hours: 48, threshold_cents: 100, steps: &[drain(0, 20), drain(12 * 60, 600), drain(14 * 60, 20)], failures: &[], noise: &[], predictive: 1, spike: Some(12 * 60) },
    Trace { name: "long idle",       start_cents: 500,   hours: 72, threshold_cents: 100, steps: &[drain(0, 0)], failures: &[], noise: &[], predictive: 0, spike: None },
    Trace { name: "empty, top-up",   start_cents: 150,   hours: 30, threshold_cents: 100, steps: &[drain(0, 50), top_up(14 * 60, 50, 3_000)], failures: &[], noise: &[], predictive: 1, spike: None },
];

/// The true balance (nano-dollars) at every second of the trace.
fn truth(trace: &Trace) -> Vec<i64> {
    let seconds = trace.hours * 3_600;
    let mut balance = trace.start_cents * CENT;
    let mut out = Vec::with_capacity(seconds as usize + 1);
    for s in 0..=seconds {
        let minute = s / 60;
        let mut step = None;
        for st in trace.steps.iter().filter(|st| st.from_min <= minute) {
            if st.from_min * 60 == s {
                balance += st.top_up * CENT;
            }
            step = Some(st);
        }
        out.push(balance);
        if let Some(st) = step {
            let on = st.period_min == 0 || (minute - st.from_min) % st.period_min < st.on_min;
            if on {
                balance = (balance - st.cents_per_hour * CENT / 3_600).max(0);
            }
        }
    }
    out
}

/// The alerts a perfect observer gives (one reading a second): (second, kind), named as the
/// monitor's alerts are (`AlertView::kind`).
fn true_alerts(trace: &Trace, balances: &[i64]) -> Vec<(i64, &'static str)> {
    let threshold = Money::from_cents(trace.threshold_cents);
    let mut state = AlertState::default();
    let mut out = Vec::new();
    for (s, &b) in balances.iter().enumerate() {
        let (d, next) = state.decide(AlertInput::Reading(Money::from_nanos(b), threshold));
        state = next;
        let kind = match d {
            AlertDecision::Warning => "warning",
            AlertDecision::Critical => "critical",
            AlertDecision::Restored => "restored",
            _ => continue,
        };
        out.push((s as i64, kind));
    }
    out
}

/// The level alerts: low, empty and restored.
const LEVEL: [&str; 3] = ["warning", "critical", "restored"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Fixed,
    Adaptive,
}

/// The account the simulated user set up.
#[derive(Debug, Clone, Copy)]
struct Setup {
    provider: ProviderId,
    interval_min: i64,
}

const CAPTCHAAI: Setup = Setup {
    provider: ProviderId::CaptchaAi,
    interval_min: INTERVAL_MIN,
};

/// A state with one account, set up through the settings form as a user would.
fn start_state(trace: &Trace, setup: Setup) -> State {
    let threshold = Money::from_cents(trace.threshold_cents).decimal_text();
    let form = format!(
        r#"{{"provider":"{}","apiKey":"{KEY}","threshold":"{threshold}","intervalMinutes":{}}}"#,
        setup.provider.as_str(),
        setup.interval_min
    );
    let state = State::default()
        .apply_settings(&serde_json::from_str::<serde_json::Value>(&form).unwrap())
        .unwrap_or_else(|e| panic!("{form}: {e:?}"));
    let settings = &state.accounts[0].settings;
    assert_eq!(state.accounts.len(), 1);
    assert_eq!(settings.threshold, Money::from_cents(trace.threshold_cents));
    assert_eq!(settings.interval_ms(), setup.interval_min * MINUTE_MS);
    assert_eq!(settings.predictive_hours, DEFAULT_PREDICTIVE_HOURS);
    assert!(settings.spike_alerts && settings.can_request());
    state
}

struct Run {
    /// Simulated time (ms since the trace's start) of every check's request.
    checks: Vec<i64>,
    /// (ms since the start, kind) of every alert the monitor gave.
    alerts: Vec<(i64, &'static str)>,
    /// The time from each answer to the check the monitor planned next (ms), adaptive only.
    delays: Vec<i64>,
}

/// What the API answers at second `s` of the trace.
fn answer(trace: &Trace, balances: &[i64], s: i64) -> Result<Money, ApiError> {
    let minute = s / 60;
    if let Some(&(_, _, code)) = trace
        .failures
        .iter()
        .find(|&&(a, b, _)| (a..b).contains(&minute))
    {
        return Err(ApiError::new(code, code.as_str()));
    }
    let offset: i64 = trace
        .noise
        .iter()
        .filter(|&&(a, b, _)| (a..b).contains(&minute))
        .map(|&(_, _, cents)| cents * CENT)
        .sum();
    Ok(Money::from_nanos(balances[s as usize] + offset))
}

/// Replays `trace` through the monitor with the first check at `phase_min`. The run of phase
/// 0 stores the state as JSON between two checks and reads it back, as the extension does,
/// and asserts that it reads back as it was; the others keep it in memory (at a third of the
/// cost).
fn run(trace: &Trace, balances: &[i64], setup: Setup, policy: Policy, phase_min: i64) -> Run {
    let end_ms = (balances.len() as i64 - 1) * 1_000;
    let name = trace.name;
    let stores = phase_min == 0;
    let mut state = start_state(trace, setup);
    let mut out = Run {
        checks: Vec::new(),
        alerts: Vec::new(),
        delays: Vec::new(),
    };
    let mut t = phase_min * MINUTE_MS;
    while t <= end_ms {
        let now = T0 + t;
        if stores {
            let loaded = State::load(
                serde_json::from_str::<serde_json::Value>(&serde_json::to_string(&state).unwrap())
                    .unwrap(),
            );
            assert_eq!(loaded, state, "{name} at {t} ms: stored and read back");
            state = loaded;
        }
        let id = state.accounts[0].id();
        if policy == Policy::Adaptive {
            // The alarm was set for the planned time: the check must be due then.
            let plan = plan_view(&state, Some(Trigger::Alarm), None, now, Lang::En);
            assert_eq!(
                plan.due,
                std::slice::from_ref(&id),
                "{name} at {t} ms: {:?}",
                plan.reason
            );
        }
        out.checks.push(t);
        let begun = state.begin_checks(std::slice::from_ref(&id), now);
        let outcome = answer(trace, balances, t / 1_000);
        let tagged = TaggedOutcome::new(&outcome, Some(id.clone()));
        let done = now + ANSWER_MS;
        let result = observed(begun, &tagged, done, Lang::En);
        for alert in &result.alerts {
            assert_eq!(alert.account, id, "{name}: the alert names the account");
            if alert.kind.as_str() == "spike" {
                // A spike is money spent: never zero or less.
                let amount = alert.message.split(' ').next().unwrap_or_default();
                assert!(
                    amount.starts_with('$') && amount != "$0.0000",
                    "{name} at {t} ms: {}",
                    alert.message
                );
            }
            out.alerts.push((done - T0, alert.kind.as_str()));
        }
        state = result.state;
        t = match policy {
            Policy::Fixed => t + FIXED_MS,
            Policy::Adaptive => {
                let next = plan_view(&state, Some(Trigger::Alarm), None, done, Lang::En)
                    .next_check_at
                    .unwrap_or_else(|| panic!("{name} at {t} ms: no next check"));
                out.delays.push(next - done);
                next - T0
            }
        };
    }
    out
}

fn kinds(alerts: &[(i64, &'static str)], pick: &[&str]) -> Vec<(i64, &'static str)> {
    alerts
        .iter()
        .copied()
        .filter(|(_, k)| pick.contains(k))
        .collect()
}

/// What a policy achieved on a trace, over all phases.
struct Figures {
    /// Requests per hour (mean).
    per_hour: f64,
    /// Mean delay in seconds from a low or empty crossing to its alert, if the trace has one.
    delay: Option<f64>,
    /// The shortest time from the first predictive alert to the true empty crossing (hours).
    lead_hours: Option<f64>,
    /// The most checks from the spike's start to its alert.
    spike_checks: Option<usize>,
    /// The shortest and the longest planned delay (ms), adaptive only.
    delays: Option<(i64, i64)>,
}

/// Runs `phases`, asserts each run's alerts, and sums up.
fn measure(
    trace: &Trace,
    balances: &[i64],
    setup: Setup,
    policy: Policy,
    phases: &[i64],
) -> Figures {
    let truth = true_alerts(trace, balances);
    let crossings = kinds(&truth, &["warning", "critical"]);
    let empty = crossings
        .iter()
        .find(|(_, k)| *k == "critical")
        .map(|&(s, _)| s * 1_000);
    let (mut requests, mut delays) = (0usize, Vec::new());
    let (mut leads, mut spike_checks) = (Vec::new(), None);
    let mut planned: Option<(i64, i64)> = None;
    for &phase in phases {
        let r = run(trace, balances, setup, policy, phase);
        let name = trace.name;
        let want: Vec<&str> = truth.iter().map(|&(_, k)| k).collect();
        let got: Vec<&str> = kinds(&r.alerts, &LEVEL).iter().map(|&(_, k)| k).collect();
        assert_eq!(
            got, want,
            "{name} phase {phase} {policy:?}: low/empty/restored, none missed or twice"
        );
        let other: Vec<&str> = r
            .alerts
            .iter()
            .map(|&(_, k)| k)
            .filter(|k| !LEVEL.contains(k) && !["predictive", "spike"].contains(k))
            .collect();
        assert!(other.is_empty(), "{name} phase {phase}: {other:?}");
        let predictive = kinds(&r.alerts, &["predictive"]);
        assert_eq!(
            predictive.len(),
            trace.predictive,
            "{name} phase {phase} {policy:?}: predictive at {predictive:?}"
        );
        let spikes = kinds(&r.alerts, &["spike"]);
        assert_eq!(
            spikes.len(),
            usize::from(trace.spike.is_some()),
            "{name} phase {phase} {policy:?}: spikes at {spikes:?}"
        );
        if let (Some(start), Some(&(alert, _))) = (trace.spike, spikes.first()) {
            let checks = r
                .checks
                .iter()
                .filter(|&&c| c >= start * MINUTE_MS && c <= alert)
                .count();
            assert!(
                (1..=2).contains(&checks),
                "{name} phase {phase} {policy:?}: spike after {checks} checks"
            );
            spike_checks = spike_checks.max(Some(checks));
        }
        let said = predictive.first().map(|&(t, _)| t);
        let ahead = empty.zip(said).map(|(e, p)| e - p);
        leads.extend(ahead.map(|a| a as f64 / 3_600_000.0));
        if trace.name == "steady drain" {
            assert!(
                ahead.is_some_and(|a| a >= 12 * 3_600_000),
                "{name} phase {phase} {policy:?}: predictive {ahead:?} ms ahead"
            );
        }
        let seen = kinds(&r.alerts, &["warning", "critical"]);
        delays.extend(
            crossings
                .iter()
                .zip(&seen)
                .map(|(t, o)| (o.0 - t.0 * 1_000) as f64 / 1_000.0),
        );
        requests += r.checks.len();
        for &d in &r.delays {
            planned = Some(planned.map_or((d, d), |(lo, hi)| (lo.min(d), hi.max(d))));
        }
    }
    Figures {
        per_hour: requests as f64 / phases.len() as f64 / trace.hours as f64,
        delay: (!delays.is_empty()).then(|| delays.iter().sum::<f64>() / delays.len() as f64),
        lead_hours: leads.into_iter().reduce(f64::min),
        spike_checks,
        delays: planned,
    }
}

#[test]
fn traces_adaptive_vs_fixed() {
    println!(
        "{:<16} {:>11} {:>11} {:>13} {:>13} {:>14} {:>12}",
        "trace",
        "fixed req/h",
        "adapt req/h",
        "fixed delay s",
        "adapt delay s",
        "pred. lead h",
        "spike checks"
    );
    let show =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    for trace in TRACES {
        let balances = truth(trace);
        let fixed = measure(trace, &balances, CAPTCHAAI, Policy::Fixed, &PHASES);
        let adaptive = measure(trace, &balances, CAPTCHAAI, Policy::Adaptive, &PHASES);
        println!(
            "{:<16} {:>11.2} {:>11.2} {:>13} {:>13} {:>14} {:>12}",
            trace.name,
            fixed.per_hour,
            adaptive.per_hour,
            show(fixed.delay, 0),
            show(adaptive.delay, 0),
            show(adaptive.lead_hours, 1),
            show(adaptive.spike_checks.map(|c| c as f64), 0)
        );
        let name = trace.name;
        assert!(
            adaptive.per_hour <= fixed.per_hour,
            "{name}: {} > {} requests/h",
            adaptive.per_hour,
            fixed.per_hour
        );
        if let (Some(f), Some(a)) = (fixed.delay, adaptive.delay) {
            assert!(a <= f / 2.0, "{name}: mean delay {a} s > half of {f} s");
        }
    }
}

/// The delays the monitor plans stay between the provider's floor (`Provider::min_gap_ms`: 1
/// minute, 30 s for Anti-Captcha) and the user's interval, and reach both ends: near a
/// threshold the floor, while idle the interval.
#[test]
fn planned_delays_stay_between_the_floor_and_the_interval() {
    #[rustfmt::skip]
    let setups = [
        (Setup { provider: ProviderId::CaptchaAi,   interval_min: INTERVAL_MIN }, MINUTE_MS),
        (Setup { provider: ProviderId::AntiCaptcha, interval_min: INTERVAL_MIN }, MINUTE_MS / 2),
        (Setup { provider: ProviderId::AntiCaptcha, interval_min: 5 },            MINUTE_MS / 2),
    ];
    for (setup, floor) in setups {
        assert_eq!(setup.provider.info().min_gap_ms, floor);
        let interval = setup.interval_min * MINUTE_MS;
        let (mut lowest, mut highest) = (i64::MAX, 0);
        for trace in TRACES {
            let balances = truth(trace);
            let (lo, hi) = measure(trace, &balances, setup, Policy::Adaptive, &[3])
                .delays
                .unwrap();
            let name = trace.name;
            assert!(lo >= floor, "{name} {setup:?}: {lo} ms under the floor");
            assert!(
                hi <= interval,
                "{name} {setup:?}: {hi} ms over the interval"
            );
            lowest = lowest.min(lo);
            highest = highest.max(hi);
        }
        assert_eq!((lowest, highest), (floor, interval), "{setup:?}");
    }
}

#[test]
fn truth_has_the_crossings_the_traces_are_about() {
    // A control for the simulator itself: the traces do cross what they claim to.
    #[rustfmt::skip]
    let want: &[(&str, &[&str])] = &[
        ("steady drain",   &["warning", "critical"]),
        ("bursty drain",   &["warning", "critical"]),
        ("top-up",         &["warning", "critical", "restored"]),
        ("flapping",       &["warning", "restored"]),
        ("errors, outage", &["warning", "critical"]),
        ("spend spike",    &[]),
        ("long idle",      &[]),
        ("empty, top-up",  &["warning", "critical", "restored"]),
    ];
    for (trace, &(name, expected)) in TRACES.iter().zip(want) {
        assert_eq!(trace.name, name);
        let got: Vec<&str> = true_alerts(trace, &truth(trace))
            .iter()
            .map(|&(_, k)| k)
            .collect();
        assert_eq!(got, expected, "{name}");
    }
    let flapping = truth(&TRACES[3]);
    let dips = flapping
        .windows(2)
        .filter(|w| w[0] >= 100 * CENT && w[1] < 100 * CENT)
        .count();
    assert!(dips >= 10, "flapping crosses the threshold {dips} times");
}

// ---------------------------------------------------------------------------------------------
// A thread plan's capacity (src/threads.rs): the same replay, with each check's `threadsinfo`
// answer beside a steady balance.

/// A thread plan over time: from `from_min` on, the plan has `threads`, `working` of them busy;
/// in `no_money` windows the balance answer is `ERROR_ZERO_BALANCE` (as CaptchaAI answers while
/// every thread is busy or no plan is active), money remaining all along.
struct ThreadsTrace {
    name: &'static str,
    hours: i64,
    steps: &'static [(i64, u32, u32)],
    no_money: &'static [(i64, i64)],
    /// Episodes: every thread busy from..to (minutes), each long enough to be seen.
    saturated: &'static [(i64, i64)],
    /// Episodes: no threads from..to (minutes).
    expired: &'static [(i64, i64)],
}

#[rustfmt::skip]
const THREADS_TRACES: &[ThreadsTrace] = &[
    ThreadsTrace { name: "saturation", hours: 24, steps: &[(0, 10, 3), (120, 10, 10), (360, 10, 6), (600, 10, 10), (780, 10, 2), (900, 10, 10), (905, 10, 9)], no_money: &[(200, 240)], saturated: &[(120, 360), (600, 780)], expired: &[] },
    ThreadsTrace { name: "expiry",     hours: 30, steps: &[(0, 10, 4), (600, 0, 0), (960, 10, 1), (1_200, 0, 0)], no_money: &[(620, 700), (1_210, 1_260)], saturated: &[], expired: &[(600, 960), (1_200, 1_800)] },
];

fn threads_at(trace: &ThreadsTrace, minute: i64) -> Threads {
    let &(_, threads, working_threads) = trace
        .steps
        .iter()
        .rfind(|&&(from, _, _)| from <= minute)
        .unwrap();
    Threads {
        threads,
        working_threads,
    }
}

/// Replays a thread trace: (ms since the start, kind) of every alert, and the check times.
fn run_threads(
    trace: &ThreadsTrace,
    policy: Policy,
    phase_min: i64,
) -> (Vec<(i64, &'static str)>, Vec<i64>) {
    let end_ms = trace.hours * 3_600_000;
    let balance = Money::from_cents(2_000);
    let form = format!(r#"{{"apiKey":"{KEY}","intervalMinutes":{INTERVAL_MIN}}}"#);
    let mut state = State::default()
        .apply_settings(&serde_json::from_str::<serde_json::Value>(&form).unwrap())
        .unwrap();
    assert!(
        state.accounts[0].settings.provider().threads,
        "CaptchaAI sells thread plans"
    );
    let (mut alerts, mut checks) = (Vec::new(), Vec::new());
    let mut t = phase_min * MINUTE_MS;
    while t <= end_ms {
        let now = T0 + t;
        let minute = t / MINUTE_MS;
        let id = state.accounts[0].id();
        checks.push(t);
        let begun = state.begin_checks(std::slice::from_ref(&id), now);
        let money = if trace
            .no_money
            .iter()
            .any(|&(a, b)| (a..b).contains(&minute))
        {
            Err(ApiError::new(ErrorCode::ZeroBalance, "ERROR_ZERO_BALANCE"))
        } else {
            Ok(balance)
        };
        let tagged = TaggedOutcome::new(&money, Some(id.clone()))
            .with_threads(&Ok(threads_at(trace, minute)));
        let done = now + ANSWER_MS;
        let result = observed(begun, &tagged, done, Lang::En);
        for alert in &result.alerts {
            assert_eq!(alert.account, id);
            alerts.push((done - T0, alert.kind.as_str()));
        }
        state = result.state;
        // Stored and read back between checks, as the extension does.
        state = State::load(serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap());
        t = match policy {
            Policy::Fixed => t + FIXED_MS,
            Policy::Adaptive => {
                plan_view(&state, Some(Trigger::Alarm), None, done, Lang::En)
                    .next_check_at
                    .unwrap_or_else(|| panic!("{} at {t} ms: no next check", trace.name))
                    - T0
            }
        };
    }
    (alerts, checks)
}

/// One alert per episode, inside it (0 missed, 0 duplicate), and no money alert: the balance
/// never moved, whatever "no money" the API answered while every thread was busy or no plan
/// was active.
#[test]
fn thread_traces_alert_once_per_episode() {
    println!(
        "{:<12} {:>8} {:>10} {:>10} {:>22}",
        "trace", "policy", "saturated", "expired", "latest alert after (min)"
    );
    for trace in THREADS_TRACES {
        for policy in [Policy::Fixed, Policy::Adaptive] {
            let mut slowest = 0;
            for &phase in &PHASES {
                let (alerts, checks) = run_threads(trace, policy, phase);
                let name = trace.name;
                let unexpected: Vec<_> = alerts
                    .iter()
                    .filter(|(_, k)| !["threads_saturated", "plan_expired"].contains(k))
                    .collect();
                assert!(
                    unexpected.is_empty(),
                    "{name} {policy:?} phase {phase}: {unexpected:?}"
                );
                for (kind, episodes) in [
                    ("threads_saturated", trace.saturated),
                    ("plan_expired", trace.expired),
                ] {
                    let said: Vec<i64> = alerts
                        .iter()
                        .filter(|(_, k)| *k == kind)
                        .map(|&(t, _)| t)
                        .collect();
                    assert_eq!(
                        said.len(),
                        episodes.len(),
                        "{name} {policy:?} phase {phase}: {kind} at {said:?}"
                    );
                    for (&at, &(from, to)) in said.iter().zip(episodes) {
                        let (from, to) = (from * MINUTE_MS, to * MINUTE_MS);
                        assert!(
                            at > from && at <= to,
                            "{name} {policy:?} phase {phase}: {kind} at {at} outside {from}..{to}"
                        );
                        // Saturation needs three busy readings or ten minutes of them; expiry one reading.
                        let seen = checks.iter().filter(|&&c| c >= from && c < at).count();
                        let late = at - from;
                        match kind {
                            "plan_expired" => assert_eq!(
                                seen, 1,
                                "{name} {policy:?} phase {phase}: {seen} readings"
                            ),
                            _ => assert!(
                                seen <= 3 || late <= SATURATED_MS + INTERVAL_MIN * MINUTE_MS,
                                "{name} {policy:?} phase {phase}: {seen} readings, {late} ms"
                            ),
                        }
                        slowest = slowest.max(late);
                    }
                }
            }
            println!(
                "{:<12} {:>8} {:>10} {:>10} {:>22}",
                trace.name,
                format!("{policy:?}"),
                trace.saturated.len(),
                trace.expired.len(),
                slowest / MINUTE_MS
            );
        }
    }
}
