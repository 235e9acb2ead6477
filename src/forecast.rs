//! When the money runs out: spend rate, runway, spend spikes, the predictive alert and the
//! adaptive polling delay, from a balance history (src/history.rs). Pure: time is passed in,
//! money stays exact (rates are nano-dollars per hour; products are taken in `i128`, see
//! [`mul_div`]).
//!
//! The estimators and rules, with their constants and why, are in docs/FORECAST.md.

use crate::history::{is_top_up, step_spend, Sample, HOUR_MS};
use crate::level::EMPTY_FLOOR;
use crate::money::Money;

/// The spend rate looks at most this far back (within the segment since the last top-up).
pub const RATE_WINDOW_MS: i64 = 6 * HOUR_MS;
/// At most this many points of the window enter the fit (bounds the pairs to 1,128).
pub const RATE_MAX_POINTS: usize = 48;
/// The fit speaks only with at least this many readings ...
pub const RATE_MIN_POINTS: usize = 4;
/// ... spanning at least an hour (spend comes in batches; a shorter span measures one batch).
pub const RATE_MIN_SPAN_MS: i64 = HOUR_MS;

/// The spike rule compares the last hour ...
pub const SPIKE_RECENT_MS: i64 = HOUR_MS;
/// ... with the 24 hours before it ...
pub const SPIKE_BASELINE_MS: i64 = 24 * HOUR_MS;
/// ... of which at least this much must be known.
pub const SPIKE_BASELINE_MIN_MS: i64 = 6 * HOUR_MS;
/// Spend at least this many times the baseline rate is a spike ...
pub const SPIKE_FACTOR: i64 = 3;
/// ... if it is also at least this much money in the recent window.
pub const SPIKE_MIN: Money = Money::from_cents(50);
/// A fired spike alert re-arms after spend has been normal this long.
pub const SPIKE_CALM_MS: i64 = 2 * HOUR_MS;

/// The predictive alert's default horizon: "runs out within 24 hours".
pub const DEFAULT_HORIZON_MS: i64 = 24 * HOUR_MS;
/// The predictive alert re-arms once the runway is back above this many horizons.
pub const REARM_HORIZONS: i64 = 2;

/// Adaptive polling keeps the expected drop between two checks under 1/this of the distance
/// to the next threshold.
pub const POLL_DIVISOR: i64 = 4;

/// Why there is no spend rate yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotYet {
    /// No readings at all.
    NoReadings,
    /// Fewer than [`RATE_MIN_POINTS`] readings since the last top-up (or ever).
    TooFewReadings,
    /// The readings span less than [`RATE_MIN_SPAN_MS`].
    TooShort,
}

/// The points the rate looks at: since the last top-up, within [`RATE_WINDOW_MS`] of the
/// newest.
fn fit_points<S: Sample>(points: &[S]) -> &[S] {
    let cut = points
        .windows(2)
        .rposition(|w| matches!(w, [a, b] if is_top_up(a.balance(), b.balance())))
        .map_or(0, |i| i + 1);
    let segment = points.get(cut..).unwrap_or_default();
    let newest = segment.last().map_or(0, |p| p.at());
    let from = segment
        .iter()
        .position(|p| newest.saturating_sub(p.at()) <= RATE_WINDOW_MS)
        .unwrap_or(0);
    segment.get(from..).unwrap_or_default()
}

/// Spend per hour (nano-dollars, positive while the balance falls) from a history, oldest
/// first.
///
/// Estimator: Theil–Sen over long pairs. Take the readings since the last top-up (a rise of at
/// least `TOPUP_MIN` starts a new segment, so a top-up is never negative spend) within the last
/// 6 hours, thinned to at most 48 (every k-th back from the newest). Every pair of them at least half the span apart gives a
/// slope; the rate is the median slope (the mean of the two middle ones for an even count).
/// The median ignores a few wrong readings; long pairs average bursts of spending and bridge
/// gaps, because each slope uses the real time between its two readings. Each slope is the
/// pair's spend per hour, rounded toward zero to a nano-dollar.
/// Needs [`RATE_MIN_POINTS`] readings over [`RATE_MIN_SPAN_MS`]; until then says why not.
pub fn spend_rate<S: Sample>(points: &[S]) -> Result<Money, NotYet> {
    // Every k-th reading back from the newest, so a dense poll still spans the whole window
    // with at most RATE_MAX_POINTS readings.
    let window = fit_points(points);
    let stride = window.len().div_ceil(RATE_MAX_POINTS).max(1);
    let mut fit: Vec<(i64, i64)> = Vec::new();
    let mut i = window.len();
    while i > 0 {
        i -= 1;
        if let Some(p) = window.get(i) {
            fit.insert(0, (p.at(), p.balance().nanos()));
        }
        i = i.saturating_sub(stride - 1);
    }
    let (Some(&(first, _)), Some(&(last, _))) = (fit.first(), fit.last()) else {
        return Err(NotYet::NoReadings);
    };
    if fit.len() < RATE_MIN_POINTS {
        return Err(NotYet::TooFewReadings);
    }
    let span = last.saturating_sub(first);
    if span < RATE_MIN_SPAN_MS {
        return Err(NotYet::TooShort);
    }
    // Spend per hour of every long pair.
    let mut slopes: Vec<i64> = Vec::new();
    for (i, &(at_a, a)) in fit.iter().enumerate() {
        for &(at_b, b) in fit.get(i + 1..).unwrap_or_default() {
            let dt = at_b.saturating_sub(at_a);
            if dt > 0 && dt.saturating_mul(2) >= span {
                slopes.push(mul_div(a.saturating_sub(b), HOUR_MS, dt));
            }
        }
    }
    if slopes.is_empty() {
        return Err(NotYet::TooShort);
    }
    // The median (a selection, not a sort: this runs on every `view`): the mean of the two
    // middle slopes for an even count, the lower one being the largest before the middle.
    let (mid, even) = (slopes.len() / 2, slopes.len() % 2 == 0);
    let (before, &mut high, _) = slopes.select_nth_unstable(mid);
    let low = match before.iter().max() {
        Some(&low) if even => low,
        _ => high,
    };
    Ok(Money::from_nanos(low.saturating_add(high) / 2))
}

/// `a × b / c` rounded toward zero, for `c > 0`, saturating beyond `i64`.
pub fn mul_div(a: i64, b: i64, c: i64) -> i64 {
    let exact = i128::from(a) * i128::from(b) / i128::from(c.max(1));
    exact.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// How long until `balance` falls to `line` at `rate` per hour (ms, rounded down); 0 when it
/// is there already, `None` when nothing is spent.
pub fn time_to(balance: Money, line: Money, rate: Money) -> Option<i64> {
    if !rate.is_positive() {
        return None;
    }
    let gap = balance.nanos().saturating_sub(line.nanos()).max(0);
    Some(mul_div(gap, HOUR_MS, rate.nanos()))
}

/// How long the balance lasts at the current rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runway {
    /// Until the balance falls below the empty floor (ms).
    pub to_empty_ms: i64,
    /// Until it falls below the low threshold (ms; 0 when it is already below).
    pub to_low_ms: i64,
}

/// The runway of `balance` at `rate` per hour, `None` when nothing (or less than nothing) is
/// spent.
pub fn runway(balance: Money, threshold: Money, rate: Money) -> Option<Runway> {
    Some(Runway {
        to_empty_ms: time_to(balance, EMPTY_FLOOR, rate)?,
        to_low_ms: time_to(balance, threshold, rate)?,
    })
}

/// Spend (nanos) and time (ms) over the steps whose later reading is at or after `from` and
/// before `to`. A top-up counts no spend ([`step_spend`]); a step that starts below the empty
/// floor counts neither spend nor time: an account that cannot pay spends nothing, and a day
/// at $0 is not a day of "usual" spend to compare the spend after a top-up with.
fn spend_between<S: Sample>(points: &[S], from: i64, to: i64) -> (i64, i64) {
    let (mut spend, mut time) = (0i64, 0i64);
    for w in points.windows(2) {
        if let [a, b] = w {
            if b.at() >= from && b.at() < to && a.balance() >= EMPTY_FLOOR {
                spend = spend.saturating_add(step_spend(a.balance(), b.balance()));
                time = time.saturating_add(b.at().saturating_sub(a.at()));
            }
        }
    }
    (spend, time)
}

/// What the spike rule compares: (spend, time) of the recent steps and of the baseline's.
fn spike_windows<S: Sample>(points: &[S]) -> ((i64, i64), (i64, i64)) {
    let Some(now) = points.last().map(|p| p.at()) else {
        return ((0, 0), (0, 0));
    };
    let recent_from = now.saturating_sub(SPIKE_RECENT_MS) + 1;
    let base_from = recent_from.saturating_sub(SPIKE_BASELINE_MS);
    (
        spend_between(points, recent_from, i64::MAX),
        spend_between(points, base_from, recent_from),
    )
}

/// What the spike rule counts as spent in the last hour: the spend of the steps whose later
/// reading is in the last hour (a top-up counts 0, a refund less than 0). The spike alert
/// says this amount, so the figure is the one the rule measured.
pub fn recent_spend<S: Sample>(points: &[S]) -> Money {
    Money::from_nanos(spike_windows(points).0 .0)
}

/// True when the last hour's spend is a spike against the account's own baseline: spend in the
/// steps ending within the last hour is at least [`SPIKE_MIN`], and its rate is at least
/// [`SPIKE_FACTOR`] times the rate of the steps ending in the 24 hours before, of which at
/// least [`SPIKE_BASELINE_MIN_MS`] must be known (without a baseline nothing is unusual).
/// Steps that start at an empty balance count in neither ([`spend_between`]).
pub fn is_spike<S: Sample>(points: &[S]) -> bool {
    let ((spend, time), (base_spend, base_time)) = spike_windows(points);
    spend >= SPIKE_MIN.nanos()
        && base_time >= SPIKE_BASELINE_MIN_MS
        && mul_div(spend, HOUR_MS, time)
            >= mul_div(base_spend.max(0), HOUR_MS, base_time).saturating_mul(SPIKE_FACTOR)
}

/// The rate adaptive polling plans with: the fitted rate or, when higher, the fastest step
/// between two readings of the fit's window (since the last top-up, last 6 hours). Spend comes
/// in batches (a job runs, then nothing), so the average alone would plan a long wait just
/// before a batch crosses the threshold; the fastest recent step plans for the next batch, and
/// the first check inside a batch already sees it. `None` when neither is known.
pub fn polling_rate<S: Sample>(points: &[S]) -> Option<Money> {
    let mut peak: Option<Money> = None;
    for w in fit_points(points).windows(2) {
        if let [a, b] = w {
            if b.at() > a.at() {
                let step = mul_div(
                    step_spend(a.balance(), b.balance()),
                    HOUR_MS,
                    b.at() - a.at(),
                );
                peak =
                    Some(peak.map_or(Money::from_nanos(step), |p| p.max(Money::from_nanos(step))));
            }
        }
    }
    match (spend_rate(points).ok(), peak) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The delay before the next check (ms): short enough that the expected drop at `rate` stays
/// under a [`POLL_DIVISOR`]th of the distance to the next line whose crossing alerts (the low
/// threshold, or the empty floor once the low warning was given: `warned_low`, the alert
/// machine's flag, so a balance hovering at a warned threshold is not chased); the user's
/// `interval_ms` when nothing is spent or nothing lies below; never under the provider's
/// `floor_ms`.
pub fn next_delay_ms(
    balance: Money,
    threshold: Money,
    warned_low: bool,
    rate: Option<Money>,
    floor_ms: i64,
    interval_ms: i64,
) -> i64 {
    let longest = interval_ms.max(floor_ms);
    let line = if balance >= threshold && !warned_low {
        threshold
    } else {
        EMPTY_FLOOR
    };
    let delay = match rate {
        Some(rate) if rate.is_positive() && balance >= line => {
            let gap = balance.nanos().saturating_sub(line.nanos());
            mul_div(gap, HOUR_MS, rate.nanos().saturating_mul(POLL_DIVISOR))
        }
        _ => longest,
    };
    delay.max(floor_ms).min(longest)
}

/// The predictive alert's memory: fired in this episode or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PredictiveState {
    /// "Runs out within N hours" was said and not re-armed.
    pub fired: bool,
}

/// What one check tells the predictive rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredictiveInput {
    /// The balance read.
    pub balance: Money,
    /// Time until empty at the current rate, `None` when unknown or nothing is spent.
    pub to_empty_ms: Option<i64>,
    /// This reading is a top-up.
    pub topped_up: bool,
    /// The horizon N (ms).
    pub horizon_ms: i64,
}

impl PredictiveState {
    /// Whether to say "runs out within N hours" now, and the state after. Fires once per
    /// episode while the account can still pay and the runway is within the horizon; re-arms
    /// on a top-up or once the runway is above [`REARM_HORIZONS`] horizons. Spending that stops
    /// (no runway) does not re-arm: the money did not come back.
    pub fn decide(self, input: PredictiveInput) -> (bool, PredictiveState) {
        let PredictiveInput {
            balance,
            to_empty_ms,
            topped_up,
            horizon_ms,
        } = input;
        let rearmed =
            topped_up || to_empty_ms.is_some_and(|t| t > horizon_ms.saturating_mul(REARM_HORIZONS));
        let armed = !self.fired || rearmed;
        let due = balance >= EMPTY_FLOOR && to_empty_ms.is_some_and(|t| t <= horizon_ms);
        let fire = armed && due;
        (
            fire,
            PredictiveState {
                fired: fire || (self.fired && !rearmed),
            },
        )
    }
}

/// The spike alert's memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpikeState {
    /// The spike alert fired and has not re-armed.
    pub fired: bool,
    /// Since when spend has been normal again (while fired).
    pub calm_since: Option<i64>,
}

impl SpikeState {
    /// Whether to say "unusual spending" now (`spiking`: [`is_spike`] of the history at
    /// `now_ms`), and the state after. Once per episode; re-armed after [`SPIKE_CALM_MS`] of
    /// normal spend.
    pub fn decide(self, spiking: bool, now_ms: i64) -> (bool, SpikeState) {
        let calm_since = match (spiking, self.calm_since) {
            (true, _) => None,
            (false, since) => Some(since.unwrap_or(now_ms)),
        };
        let rearmed = calm_since.is_some_and(|t| now_ms.saturating_sub(t) >= SPIKE_CALM_MS);
        let fired = self.fired && !rearmed;
        let fire = spiking && !fired;
        (
            fire,
            SpikeState {
                fired: fired || fire,
                calm_since: if fired { calm_since } else { None },
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Point, MINUTE_MS};

    const T0: i64 = 1_800_000_000_000;

    /// (minute, cents) readings.
    fn pts(readings: &[(i64, i64)]) -> Vec<Point> {
        readings
            .iter()
            .map(|&(min, cents)| Point {
                at: T0 + min * MINUTE_MS,
                balance: Money::from_cents(cents),
            })
            .collect()
    }

    fn c(cents: i64) -> Money {
        Money::from_cents(cents)
    }

    #[test]
    fn spend_rate_table() {
        #[rustfmt::skip]
        let cases = vec![
            ("nothing",                  vec![],                                                          Err(NotYet::NoReadings)),
            ("three readings",           vec![(0, 500), (10, 490), (20, 480)],                            Err(NotYet::TooFewReadings)),
            ("four in 45 minutes",       vec![(0, 500), (15, 485), (30, 470), (45, 455)],                 Err(NotYet::TooShort)),
            ("steady $0.60/h",           vec![(0, 500), (20, 480), (40, 460), (60, 440)],                 Ok(c(60))),
            ("idle",                     vec![(0, 500), (20, 500), (40, 500), (60, 500)],                 Ok(c(0))),
            ("top-up cuts the series",   vec![(0, 500), (10, 490), (20, 480), (30, 2480), (40, 2470)],    Err(NotYet::TooFewReadings)),
            ("rate since the top-up",    vec![(0, 900), (10, 100), (20, 2500), (40, 2480), (60, 2460), (80, 2440)], Ok(c(60))),
            ("one glitch ignored",       vec![(0, 500), (10, 490), (20, 471), (30, 470), (40, 460), (50, 450), (60, 440)], Ok(c(60))),
            ("a gap is bridged",         vec![(0, 500), (10, 490), (20, 480), (320, 180), (330, 170)],    Ok(c(60))),
            ("refunds are not top-ups",  vec![(0, 500), (10, 495), (20, 480), (30, 484), (40, 460), (50, 450), (60, 440)], Ok(c(60))),
            ("six-hour window",          vec![(0, 9000), (60, 5000), (400, 500), (420, 480), (440, 460), (460, 440)], Ok(c(60))),
            ("exact nano-dollars",       (0..10).map(|i| (7 * i, 100 - i)).collect(),                     Ok(Money::from_nanos(85_714_285))),
        ];
        for (name, readings, want) in cases {
            assert_eq!(spend_rate(&pts(&readings)), want, "{name}");
        }
    }

    #[test]
    fn bursts_average_out() {
        // $0.50 spent in the first 10 minutes of each hour, polled every 10 minutes: $0.50/h.
        let readings: Vec<(i64, i64)> = (0..=36)
            .map(|i| (i * 10, 5_000 - 50 * ((i + 5) / 6)))
            .collect();
        let rate = spend_rate(&pts(&readings)).unwrap();
        assert!((c(40)..=c(60)).contains(&rate), "{rate}");
    }

    #[test]
    fn runway_table() {
        let hour = HOUR_MS;
        #[rustfmt::skip]
        let cases = &[
            // balance, threshold, rate (cents/h) -> (to empty, to low)
            (1_001, 100, 100, Some((10 * hour, 9 * hour + 36_000))),
            (50,    100, 49,  Some((hour, 0))),
            (0,     100, 10,  Some((0, 0))),
            (500,   100, 0,   None),
            (500,   100, -10, None),
        ];
        for &(b, t, r, want) in cases {
            let got = runway(c(b), c(t), c(r)).map(|w| (w.to_empty_ms, w.to_low_ms));
            assert_eq!(got, want, "{b} {t} {r}");
        }
    }

    /// Eight hours at `base` cents per 10 minutes, then the last hour's readings.
    fn with_last_hour(base: i64, last_hour: &[i64]) -> Vec<Point> {
        let mut cents = 10_000;
        let mut readings = Vec::new();
        for i in 0..=48 {
            readings.push((i * 10, cents));
            cents -= base;
        }
        cents += base;
        for (i, drop) in last_hour.iter().enumerate() {
            cents -= drop;
            readings.push((480 + 10 * (i as i64 + 1), cents));
        }
        pts(&readings)
    }

    #[test]
    fn spike_table() {
        #[rustfmt::skip]
        let cases: Vec<(&str, Vec<Point>, bool)> = vec![
            ("steady",                      with_last_hour(5, &[5, 5, 5, 5, 5, 5]),        false),
            ("3x over one hour",            with_last_hour(5, &[15, 15, 15, 15, 15, 15]),  true),
            ("just under 3x",               with_last_hour(5, &[15, 15, 15, 15, 15, 14]),  false),
            ("one check into a burst",      with_last_hour(1, &[60]),                      true),
            ("3x but under the minimum",    with_last_hour(1, &[3, 3, 3, 3, 3, 3]),        false),
            ("idle, then a drain",          with_last_hour(0, &[50]),                      true),
            ("a top-up is not spend",       with_last_hour(5, &[-2_000, 5]),               false),
            ("no baseline yet",             pts(&[(0, 5_000), (60, 4_000), (70, 3_000)]),   false),
            ("nothing",                     vec![],                                         false),
        ];
        for (name, points, want) in cases {
            assert_eq!(is_spike(&points), want, "{name}");
        }
    }

    #[test]
    fn a_top_up_after_an_empty_spell_is_not_a_spike() {
        // Ten hours at $0 (the account could not spend, so that is no baseline of "usual"
        // spend), then a top-up to $30.00 and $0.50 spent: not unusual.
        let mut readings: Vec<(i64, i64)> = (0..=20).map(|i| (i * 30, 0)).collect();
        readings.extend([(610, 3_000), (640, 2_950)]);
        assert!(!is_spike(&pts(&readings)));
        // The same with spend before the account ran dry: still no six hours of baseline.
        let mut readings: Vec<(i64, i64)> = (0..=4).map(|i| (i * 30, 100 - 25 * i)).collect();
        readings.extend((5..=20).map(|i| (i * 30, 0)));
        readings.extend([(610, 3_000), (640, 2_950), (670, 2_900)]);
        assert!(!is_spike(&pts(&readings)));
        // What the rule measured as the hour's spend: the top-up counts 0.
        assert_eq!(recent_spend(&pts(&readings)), c(100));
    }

    #[test]
    fn spike_episodes() {
        let m = MINUTE_MS;
        // (minute, spiking) -> fires
        #[rustfmt::skip]
        let cases = vec![
            ("once per episode",            vec![(0, true), (10, true), (20, true)],                  vec![true, false, false]),
            ("calm too short: no re-arm",   vec![(0, true), (10, false), (100, false), (110, true)], vec![true, false, false, false]),
            ("re-armed after 2 h of calm",  vec![(0, true), (10, false), (130, false), (140, true)], vec![true, false, false, true]),
            ("a spike resets the calm",     vec![(0, true), (10, false), (60, true), (70, false), (180, false), (190, true)], vec![true, false, false, false, false, false]),
            ("quiet stays quiet",           vec![(0, false), (500, false)],                           vec![false, false]),
        ];
        for (name, checks, want) in cases {
            let mut state = SpikeState::default();
            let got: Vec<bool> = checks
                .iter()
                .map(|&(min, spiking)| {
                    let (fire, next) = state.decide(spiking, T0 + min * m);
                    state = next;
                    fire
                })
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn predictive_episodes() {
        let h = HOUR_MS;
        let r = |cents: i64, hours: Option<i64>, topped_up: bool| PredictiveInput {
            balance: c(cents),
            to_empty_ms: hours.map(|x| x * h),
            topped_up,
            horizon_ms: DEFAULT_HORIZON_MS,
        };
        #[rustfmt::skip]
        let cases: Vec<(&str, Vec<PredictiveInput>, Vec<bool>)> = vec![
            ("far away: quiet",             vec![r(900, Some(90), false), r(800, Some(80), false)],                    vec![false, false]),
            ("within 24 h: once",           vec![r(900, Some(30), false), r(800, Some(24), false), r(700, Some(20), false)], vec![false, true, false]),
            ("no rate: quiet",              vec![r(900, None, false)],                                                  vec![false]),
            ("already empty: quiet",        vec![r(0, Some(0), false)],                                                 vec![false]),
            ("spend stops: no re-arm",      vec![r(500, Some(10), false), r(500, None, false), r(400, Some(10), false)], vec![true, false, false]),
            ("wobble under 2N: no re-arm",  vec![r(500, Some(10), false), r(500, Some(40), false), r(400, Some(10), false)], vec![true, false, false]),
            ("back above 2N re-arms",       vec![r(500, Some(10), false), r(500, Some(49), false), r(400, Some(10), false)], vec![true, false, true]),
            ("a top-up re-arms",            vec![r(500, Some(10), false), r(900, None, true), r(400, Some(10), false)],     vec![true, false, true]),
            ("a small top-up fires again",  vec![r(500, Some(10), false), r(600, Some(12), true)],                      vec![true, true]),
        ];
        for (name, inputs, want) in cases {
            let mut state = PredictiveState::default();
            let got: Vec<bool> = inputs
                .iter()
                .map(|&input| {
                    let (fire, next) = state.decide(input);
                    state = next;
                    fire
                })
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn next_delay_table() {
        let m = MINUTE_MS;
        #[rustfmt::skip]
        let cases = &[
            // balance, threshold, warned, rate (cents/h), floor, interval -> delay
            (500, 100, false, Some(100),  m, 60 * m, 60 * m),   // 4 h to the threshold: a quarter is 1 h
            (200, 100, false, Some(100),  m, 60 * m, 15 * m),   // $1 away at $1/h: 15 minutes
            (110, 100, false, Some(100),  m, 60 * m, 90_000),   // 10 cents away: 1.5 minutes
            (101, 100, false, Some(100),  m, 60 * m, m),        // never under the floor
            (101, 100, false, Some(100),  m / 2, 60 * m, m / 2), // a 30 s floor
            (104, 100, true,  Some(100),  m, 60 * m, 927_000),  // warned: the empty floor is next
            (90,  100, true,  Some(100),  m, 60 * m, 801_000),  // below the threshold: 89 cents to empty
            (90,  100, false, Some(100),  m, 60 * m, 801_000),  // (the same before the warning is folded in)
            (0,   100, true,  Some(100),  m, 60 * m, 60 * m),   // empty: nothing below
            (500, 100, false, Some(0),    m, 60 * m, 60 * m),   // idle: the user's interval
            (500, 100, false, None,       m, 60 * m, 60 * m),   // unknown: the user's interval
            (500, 100, false, Some(-50),  m, 60 * m, 60 * m),   // rising: the user's interval
            (500, 100, false, Some(100),  m, 30_000, m),        // interval under the floor: the floor
        ];
        for &(b, t, warned, r, floor, interval, want) in cases {
            let got = next_delay_ms(c(b), c(t), warned, r.map(c), floor, interval);
            assert_eq!(got, want, "{b} {t} {warned} {r:?} {floor} {interval}");
        }
    }

    #[test]
    fn polling_rate_plans_for_bursts() {
        let steady = pts(&[(0, 500), (20, 480), (40, 460), (60, 440)]);
        assert_eq!(polling_rate(&steady), Some(c(60)));
        let burst = pts(&[(0, 500), (20, 480), (40, 460), (60, 440), (70, 340)]);
        assert_eq!(polling_rate(&burst), Some(c(600)));
        assert_eq!(polling_rate(&pts(&[(0, 500), (10, 490)])), Some(c(60)));
        assert_eq!(polling_rate(&pts(&[(0, 500)])), None);
        let earlier_burst = pts(&[(0, 500), (10, 400), (20, 390), (30, 380), (40, 370)]);
        assert_eq!(polling_rate(&earlier_burst), Some(c(600)));
        let topped = pts(&[(0, 500), (10, 400), (20, 2_490)]);
        assert_eq!(
            polling_rate(&topped),
            None,
            "a burst before the top-up is forgotten"
        );
        let after = pts(&[(0, 500), (10, 400), (20, 2_490), (30, 2_480)]);
        assert_eq!(polling_rate(&after), Some(c(60)));
    }

    #[test]
    fn mul_div_is_exact_and_saturates() {
        assert_eq!(mul_div(7, 3, 2), 10);
        assert_eq!(mul_div(-7, 3, 2), -10);
        assert_eq!(mul_div(i64::MAX, 4, 2), i64::MAX);
        assert_eq!(mul_div(i64::MAX / 2, HOUR_MS, HOUR_MS), i64::MAX / 2);
        assert_eq!(mul_div(5, 1, 0), 5, "a zero divisor counts as 1");
    }
}
