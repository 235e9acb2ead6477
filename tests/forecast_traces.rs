//! The trace simulator: balance traces replayed with simulated time through the history, the
//! forecast and the alert machines, once with adaptive polling and once with a fixed 10-minute
//! poll.
//!
//! Each trace is a row of data: a start balance, drain steps (a rate, optionally in bursts, and
//! a top-up at the step's start), failed-check windows and noisy readings. The truth is the
//! alert machine of src/alerts.rs fed the true balance every second; a run must give exactly
//! the same low / empty / restored alerts (none missed, none twice) and the predictive and
//! spike alerts the row expects. Every run starts at ten phases (0–9 minutes) and the figures
//! are their mean. `cargo test --test forecast_traces -- --nocapture` prints the table.

use captchaai_balance::alerts::{AlertDecision, AlertInput, AlertState};
use captchaai_balance::error::ErrorCode;
use captchaai_balance::forecast::{
    is_spike, next_delay_ms, polling_rate, spend_rate, time_to, PredictiveInput, PredictiveState,
    SpikeState, DEFAULT_HORIZON_MS,
};
use captchaai_balance::history::{fold, is_top_up, Point, MINUTE_MS};
use captchaai_balance::level::EMPTY_FLOOR;
use captchaai_balance::money::Money;

const T0: i64 = 1_800_000_000_000;
const CENT: i64 = 10_000_000;
/// The fixed poll compared with.
const FIXED_MS: i64 = 10 * MINUTE_MS;
/// The user's interval under adaptive polling (its longest delay).
const ADAPTIVE_INTERVAL_MS: i64 = 30 * MINUTE_MS;
/// The provider's floor.
const FLOOR_MS: i64 = MINUTE_MS;
/// Start phases of the first check, in minutes.
const PHASES: i64 = 10;

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
    /// [from, to) minutes in which every check fails.
    outages: &'static [(i64, i64)],
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

#[rustfmt::skip]
const TRACES: &[Trace] = &[
    Trace { name: "steady drain",    start_cents: 2_000, hours: 48, threshold_cents: 100, steps: &[drain(0, 50)], outages: &[], noise: &[(300, 320, 5), (700, 710, -4), (900, 905, 3)], predictive: 1, spike: None },
    Trace { name: "bursty drain",    start_cents: 1_200, hours: 30, threshold_cents: 100, steps: &[bursts(0, 300, 60, 10)], outages: &[], noise: &[], predictive: 1, spike: None },
    Trace { name: "top-up",          start_cents: 600,   hours: 48, threshold_cents: 100, steps: &[drain(0, 50), top_up(14 * 60, 50, 2_000)], outages: &[], noise: &[], predictive: 2, spike: None },
    Trace { name: "flapping",        start_cents: 160,   hours: 14, threshold_cents: 100, steps: &FLAPPING, outages: &[], noise: &[], predictive: 1, spike: None },
    Trace { name: "errors, outage",  start_cents: 1_200, hours: 30, threshold_cents: 100, steps: &[drain(0, 50)], outages: &[(120, 130), (135, 140), (145, 150), (600, 900), (1_000, 1_060)], noise: &[], predictive: 1, spike: None },
    Trace { name: "spend spike",     start_cents: 3_000, hours: 48, threshold_cents: 100, steps: &[drain(0, 20), drain(12 * 60, 600), drain(14 * 60, 20)], outages: &[], noise: &[], predictive: 1, spike: Some(12 * 60) },
    Trace { name: "long idle",       start_cents: 500,   hours: 72, threshold_cents: 100, steps: &[drain(0, 0)], outages: &[], noise: &[], predictive: 0, spike: None },
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Warning,
    Critical,
    Restored,
    Predictive,
    Spike,
}

fn level_alert(d: AlertDecision) -> Option<Kind> {
    match d {
        AlertDecision::Warning => Some(Kind::Warning),
        AlertDecision::Critical => Some(Kind::Critical),
        AlertDecision::Restored => Some(Kind::Restored),
        _ => None,
    }
}

/// The alerts a perfect observer gives (one reading a second): (second, kind).
fn true_alerts(trace: &Trace, balances: &[i64]) -> Vec<(i64, Kind)> {
    let threshold = Money::from_cents(trace.threshold_cents);
    let mut state = AlertState::default();
    let mut out = Vec::new();
    for (s, &b) in balances.iter().enumerate() {
        let (d, next) = state.decide(AlertInput::Reading(Money::from_nanos(b), threshold));
        state = next;
        out.extend(level_alert(d).map(|k| (s as i64, k)));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Fixed,
    Adaptive,
}

struct Run {
    /// Seconds of every check.
    checks: Vec<i64>,
    alerts: Vec<(i64, Kind)>,
}

/// Replays `trace` with checks starting at `phase_min`.
fn run(trace: &Trace, balances: &[i64], policy: Policy, phase_min: i64) -> Run {
    let threshold = Money::from_cents(trace.threshold_cents);
    let end = balances.len() as i64 - 1;
    let mut history: Vec<Point> = Vec::new();
    let mut alerts = AlertState::default();
    let mut predictive = PredictiveState::default();
    let mut spike = SpikeState::default();
    let mut out = Run {
        checks: Vec::new(),
        alerts: Vec::new(),
    };
    let mut s = phase_min * 60;
    while s <= end {
        out.checks.push(s);
        let minute = s / 60;
        let at = T0 + s * 1_000;
        if trace.outages.iter().any(|&(a, b)| (a..b).contains(&minute)) {
            let (_, next) = alerts.decide(AlertInput::Failed(ErrorCode::ServerError));
            alerts = next;
        } else {
            let offset: i64 = trace
                .noise
                .iter()
                .filter(|&&(a, b, _)| (a..b).contains(&minute))
                .map(|&(_, _, cents)| cents * CENT)
                .sum();
            let balance = Money::from_nanos(balances[s as usize] + offset);
            let topped_up = history
                .last()
                .is_some_and(|p| is_top_up(p.balance, balance));
            fold(&mut history, Point { at, balance }, threshold);
            let (d, next) = alerts.decide(AlertInput::Reading(balance, threshold));
            alerts = next;
            out.alerts.extend(level_alert(d).map(|k| (s, k)));
            let rate = spend_rate(&history).ok();
            let (fire, next) = predictive.decide(PredictiveInput {
                balance,
                to_empty_ms: rate.and_then(|r| time_to(balance, EMPTY_FLOOR, r)),
                topped_up,
                horizon_ms: DEFAULT_HORIZON_MS,
            });
            predictive = next;
            if fire {
                out.alerts.push((s, Kind::Predictive));
            }
            let (fire, next) = spike.decide(is_spike(&history), at);
            spike = next;
            if fire {
                out.alerts.push((s, Kind::Spike));
            }
        }
        let delay = match (policy, history.last()) {
            (Policy::Adaptive, Some(last)) => next_delay_ms(
                last.balance,
                threshold,
                alerts.warned_low,
                polling_rate(&history),
                FLOOR_MS,
                ADAPTIVE_INTERVAL_MS,
            ),
            (Policy::Adaptive, None) => FLOOR_MS,
            (Policy::Fixed, _) => FIXED_MS,
        };
        s += delay / 1_000;
    }
    out
}

fn kinds(alerts: &[(i64, Kind)], pick: &[Kind]) -> Vec<(i64, Kind)> {
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
}

/// Runs every phase, asserts each run's alerts, and sums up.
fn measure(trace: &Trace, balances: &[i64], policy: Policy) -> Figures {
    let truth = true_alerts(trace, balances);
    let crossings = kinds(&truth, &[Kind::Warning, Kind::Critical]);
    let empty = crossings
        .iter()
        .find(|(_, k)| *k == Kind::Critical)
        .map(|&(s, _)| s);
    let (mut requests, mut delays) = (0usize, Vec::new());
    let (mut leads, mut spike_checks) = (Vec::new(), None);
    for phase in 0..PHASES {
        let r = run(trace, balances, policy, phase);
        let name = trace.name;
        let level = kinds(&r.alerts, &[Kind::Warning, Kind::Critical, Kind::Restored]);
        let want: Vec<Kind> = truth.iter().map(|&(_, k)| k).collect();
        let got: Vec<Kind> = level.iter().map(|&(_, k)| k).collect();
        assert_eq!(
            got, want,
            "{name} phase {phase}: low/empty/restored, none missed or twice"
        );
        let predictive = kinds(&r.alerts, &[Kind::Predictive]);
        assert_eq!(
            predictive.len(),
            trace.predictive,
            "{name} phase {phase}: predictive"
        );
        let spikes = kinds(&r.alerts, &[Kind::Spike]);
        assert_eq!(
            spikes.len(),
            usize::from(trace.spike.is_some()),
            "{name} phase {phase}: spikes"
        );
        if let (Some(start), Some(&(alert, _))) = (trace.spike, spikes.first()) {
            let checks = r
                .checks
                .iter()
                .filter(|&&c| c >= start * 60 && c <= alert)
                .count();
            assert!(
                (1..=2).contains(&checks),
                "{name} phase {phase}: spike after {checks} checks"
            );
            spike_checks = spike_checks.max(Some(checks));
        }
        let said = predictive.first().map(|&(s, _)| s);
        let ahead = empty.zip(said).map(|(e, p)| e - p);
        leads.extend(ahead.map(|a| a as f64 / 3_600.0));
        if trace.name == "steady drain" {
            assert!(
                ahead.is_some_and(|a| a >= 12 * 3_600),
                "{name} phase {phase}: {ahead:?}"
            );
        }
        let seen = kinds(&r.alerts, &[Kind::Warning, Kind::Critical]);
        delays.extend(crossings.iter().zip(&seen).map(|(t, o)| (o.0 - t.0) as f64));
        requests += r.checks.len();
    }
    Figures {
        per_hour: requests as f64 / PHASES as f64 / trace.hours as f64,
        delay: (!delays.is_empty()).then(|| delays.iter().sum::<f64>() / delays.len() as f64),
        lead_hours: leads.into_iter().reduce(f64::min),
        spike_checks,
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
        let fixed = measure(trace, &balances, Policy::Fixed);
        let adaptive = measure(trace, &balances, Policy::Adaptive);
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

#[test]
fn truth_has_the_crossings_the_traces_are_about() {
    // A control for the simulator itself: the traces do cross what they claim to.
    #[rustfmt::skip]
    let want: &[(&str, &[Kind])] = &[
        ("steady drain",   &[Kind::Warning, Kind::Critical]),
        ("bursty drain",   &[Kind::Warning, Kind::Critical]),
        ("top-up",         &[Kind::Warning, Kind::Critical, Kind::Restored]),
        ("flapping",       &[Kind::Warning, Kind::Restored]),
        ("errors, outage", &[Kind::Warning, Kind::Critical]),
        ("spend spike",    &[]),
        ("long idle",      &[]),
    ];
    for (trace, &(name, expected)) in TRACES.iter().zip(want) {
        assert_eq!(trace.name, name);
        let got: Vec<Kind> = true_alerts(trace, &truth(trace))
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
