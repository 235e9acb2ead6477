//! A balance history that lasts: weeks of readings in a fixed number of points.
//!
//! Readings arrive as often as once every 30 s (the shortest provider floor), so keeping every
//! one would hold a few hours. [`compact`] keeps recent readings at full resolution and older
//! ones one per time bucket (the newest of each bucket, so nothing is invented or averaged and
//! money stays exact), and always keeps the readings around a top-up or a level change, which
//! the forecast and the sparkline need. The tiers are a table ([`TIERS`]); docs/FORECAST.md
//! gives the worst-case point count.
//!
//! Time is passed in (epoch ms); a point is anything with a time and a balance ([`Sample`]),
//! so the stored history points of today carry over as they are.

use crate::level::BalanceLevel;
use crate::money::Money;

/// One minute in ms.
pub const MINUTE_MS: i64 = 60_000;
/// One hour in ms.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// One day in ms.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The most points a history holds. The tiers fit in it even at a 30-second poll (120 + 138 +
/// 144 + 92 = 494); the rest is room for kept top-ups and level changes. Beyond it the oldest
/// points go first.
pub const HISTORY_POINTS: usize = 500;

/// A rise at least this big is a top-up; smaller rises are refunds of failed solves or noise,
/// which the spend estimators treat as (negative) spend.
pub const TOPUP_MIN: Money = Money::from_cents(10);

/// Resolution by age, youngest first: points younger than the age are kept one per bucket of
/// that many ms (0: every point). Points older than the last age are dropped. Buckets are
/// aligned to the epoch, so a point's bucket does not move between two compactions.
#[rustfmt::skip]
pub const TIERS: [(i64, i64); 4] = [
    (HOUR_MS,       0),
    (DAY_MS,        10 * MINUTE_MS),
    (7 * DAY_MS,    HOUR_MS),
    (30 * DAY_MS,   6 * HOUR_MS),
];

/// A reading as the forecast sees it.
pub trait Sample {
    /// When (epoch ms).
    fn at(&self) -> i64;
    /// The balance then.
    fn balance(&self) -> Money;
}

/// A borrowed reading is a reading (one account's points picked out of a history).
impl<S: Sample> Sample for &S {
    fn at(&self) -> i64 {
        (**self).at()
    }
    fn balance(&self) -> Money {
        (**self).balance()
    }
}

/// A bare reading: what the server keeps per account and serves as `/v1/…/history`
/// (`{ at, balance }`), and what the trace simulator feeds the forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub struct Point {
    /// When (epoch ms).
    pub at: i64,
    /// The balance then.
    pub balance: Money,
}

impl Sample for Point {
    fn at(&self) -> i64 {
        self.at
    }
    fn balance(&self) -> Money {
        self.balance
    }
}

/// True when `next` is a top-up after `prev` (a rise of at least [`TOPUP_MIN`]).
pub fn is_top_up(prev: Money, next: Money) -> bool {
    next.nanos().saturating_sub(prev.nanos()) >= TOPUP_MIN.nanos()
}

/// True when the step from `prev` to `next` must survive compaction: a top-up, or a change of
/// level against `threshold` (the reading before and the one after bracket the crossing).
fn significant(prev: Money, next: Money, threshold: Money) -> bool {
    is_top_up(prev, next) || BalanceLevel::of(prev, threshold) != BalanceLevel::of(next, threshold)
}

/// The bucket a point of this age falls in: (tier, bucket), or `None` past the last tier.
/// Unbucketed tiers give every point its own bucket (its time).
fn bucket(at: i64, now_ms: i64) -> Option<(usize, i64)> {
    let age = now_ms.saturating_sub(at);
    let tier = TIERS.iter().position(|&(limit, _)| age < limit)?;
    let width = TIERS.get(tier).map_or(0, |&(_, w)| w);
    Some((tier, if width > 0 { at.div_euclid(width) } else { at }))
}

/// Thins `points` (oldest first) for `now_ms`: see the module doc. The newest and the oldest
/// point (within the last tier) always stay; so do both readings of every top-up and level change younger than the last tier.
/// Points out of time order are put in order first. Points stamped after `now_ms` were read
/// while the clock was ahead (it has since been set back) and are dropped: kept, a reading
/// now would sort before them, and the step back up to them would be a top-up, a level change
/// or a rate dated after now.
pub fn compact<S: Sample>(points: &mut Vec<S>, now_ms: i64, threshold: Money) {
    points.retain(|p| p.at() <= now_ms);
    sort_by_time(points);
    // Kept points move to the front in place; `prev` remembers the balance of the point
    // before `i` as it was read, since its slot may have been reused.
    let mut prev: Option<Money> = None;
    let mut kept = 0;
    for i in 0..points.len() {
        let (Some(p), next) = (points.get(i), points.get(i + 1)) else {
            break;
        };
        let (at, balance) = (p.at(), p.balance());
        let key = bucket(at, now_ms);
        let newest_in_bucket = next.is_none_or(|q| bucket(q.at(), now_ms) != key);
        let step_in = prev.is_some_and(|q| significant(q, balance, threshold));
        let step_out = next.is_some_and(|q| significant(balance, q.balance(), threshold));
        prev = Some(balance);
        // The oldest reading says how far back the history reaches.
        if key.is_some() && (i == 0 || newest_in_bucket || step_in || step_out) {
            points.swap(kept, i);
            kept += 1;
        }
    }
    points.truncate(kept);
    let excess = kept.saturating_sub(HISTORY_POINTS);
    points.drain(..excess);
}

/// Puts points in time order. An insertion sort: the history is in order but for the odd
/// reading of a clock that went back, and std's stable sort costs the .wasm about 3 KB
/// (docs/ARCHITECTURE.md, "Size").
fn sort_by_time<S: Sample>(points: &mut [S]) {
    for i in 1..points.len() {
        let mut j = i;
        while j > 0 && points.get(j - 1).map(Sample::at) > points.get(j).map(Sample::at) {
            points.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Folds a new reading into the history: appends it and compacts for its time.
pub fn fold<S: Sample>(points: &mut Vec<S>, reading: S, threshold: Money) {
    let now_ms = reading.at();
    points.push(reading);
    compact(points, now_ms, threshold);
}

/// `GET /v1/accounts/{name}/history` (and `/v1/history`, the default account's) of
/// captchaai-balance-server: the history it keeps for an account, oldest first. The server
/// writes it; the module reads it to start an account's forecast from the server's readings
/// (`serverHistory`), keeping the points that read (one bad point costs only itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub struct HistoryView {
    /// The server's name for the account.
    pub account: String,
    /// Its provider.
    pub provider: crate::provider::ProviderId,
    /// The readings, oldest first.
    #[serde(deserialize_with = "crate::stored::list")]
    pub points: Vec<Point>,
}

/// A top-up seen in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TopUp {
    /// When the reading that showed it was taken (epoch ms).
    pub at: i64,
    /// How much the balance rose between the two readings (the top-up, less what was spent
    /// between them).
    pub amount: Money,
}

/// The top-up between two consecutive readings, if `b` is one after `a`.
fn top_up_step<S: Sample>(a: &S, b: &S) -> Option<TopUp> {
    is_top_up(a.balance(), b.balance()).then(|| TopUp {
        at: b.at(),
        amount: Money::from_nanos(b.balance().nanos() - a.balance().nanos()),
    })
}

/// Every top-up in `points` (oldest first), oldest first.
pub fn top_ups<S: Sample>(points: &[S]) -> Vec<TopUp> {
    points
        .windows(2)
        .filter_map(|w| match w {
            [a, b] => top_up_step(a, b),
            _ => None,
        })
        .collect()
}

/// The latest top-up, if the history holds one. A backward scan: the newest is usually near
/// the end, and the module keeps no list of every top-up for it.
pub fn last_top_up<S: Sample>(points: &[S]) -> Option<TopUp> {
    let mut i = points.len();
    while i > 1 {
        i -= 1;
        if let (Some(a), Some(b)) = (points.get(i - 1), points.get(i)) {
            if let Some(top_up) = top_up_step(a, b) {
                return Some(top_up);
            }
        }
    }
    None
}

/// What was spent between two readings, in nano-dollars: the fall, none across a top-up, and a
/// small rise (a refund) as negative spend.
pub fn step_spend(prev: Money, next: Money) -> i64 {
    if is_top_up(prev, next) {
        0
    } else {
        prev.nanos().saturating_sub(next.nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{MonitorState, HISTORY_LIMIT};

    const T0: i64 = 1_800_000_000_000;

    fn p(min: i64, cents: i64) -> Point {
        Point {
            at: T0 + min * MINUTE_MS,
            balance: Money::from_cents(cents),
        }
    }

    /// Polls every `gap_min` for `span_min` minutes, draining a cent per reading from $50.
    fn drained(gap_min: i64, span_min: i64) -> Vec<Point> {
        let mut points = Vec::new();
        let mut cents = 5_000;
        for min in (0..span_min).step_by(gap_min as usize) {
            fold(&mut points, p(min, cents), Money::from_cents(100));
            cents -= 1;
        }
        points
    }

    #[test]
    fn bounded_and_lasting_at_any_poll() {
        // (poll every, for): always within the limit, reaching back at least 7 days, hourly or
        // better over that week, full resolution in the last hour.
        #[rustfmt::skip]
        let cases: &[(i64, i64)] = &[
            (1,  10 * 24 * 60),
            (10, 10 * 24 * 60),
            (60, 40 * 24 * 60),
            (1,  3 * 60),
        ];
        for &(gap, span) in cases {
            let points = drained(gap, span);
            let newest = points.last().map_or(0, |q| q.at);
            assert!(
                points.len() <= HISTORY_POINTS,
                "{gap} {span}: {}",
                points.len()
            );
            let reach = newest - points.first().map_or(0, |q| q.at);
            assert!(
                reach >= (7 * DAY_MS).min((span - gap) * MINUTE_MS),
                "{gap} {span}: {reach}"
            );
            let week: Vec<_> = points
                .iter()
                .filter(|q| newest - q.at < 7 * DAY_MS)
                .collect();
            let widest = week
                .windows(2)
                .map(|w| w[1].at - w[0].at)
                .max()
                .unwrap_or(0);
            assert!(
                widest <= HOUR_MS.max(gap * MINUTE_MS),
                "{gap} {span}: {widest}"
            );
            let last_hour = points.iter().filter(|q| newest - q.at < HOUR_MS).count() as i64;
            assert_eq!(last_hour, (60 / gap).min(span / gap), "{gap} {span}");
            assert!(
                points.iter().all(|q| newest - q.at < 30 * DAY_MS),
                "{gap} {span}"
            );
        }
    }

    #[test]
    fn keeps_top_ups_and_level_changes_when_old() {
        // Ten days at one reading a minute; a top-up and a fall below $1.00 nine days ago.
        let mut points = Vec::new();
        let mut cents = 150;
        for min in 0..10 * 24 * 60 {
            cents = match min {
                100 => 90,              // below the threshold
                105 => cents + 2_000,   // topped up +$20
                _ => cents - (min % 2), // a cent every other minute
            };
            fold(&mut points, p(min, cents.max(0)), Money::from_cents(100));
        }
        let kept = |min: i64| points.iter().any(|q| q.at == T0 + min * MINUTE_MS);
        assert!(kept(99) && kept(100), "the fall below the threshold");
        assert!(kept(104) && kept(105), "the top-up");
        assert!(!kept(101), "an ordinary old reading is thinned");
        assert_eq!(
            top_ups(&points),
            vec![TopUp {
                at: T0 + 105 * MINUTE_MS,
                amount: Money::from_cents(2_000)
            }]
        );
    }

    #[test]
    fn compaction_is_stable() {
        let mut once = drained(1, 3 * 24 * 60);
        let newest = once.last().map_or(0, |q| q.at);
        let twice = {
            let mut again = once.clone();
            compact(&mut again, newest, Money::from_cents(100));
            again
        };
        compact(&mut once, newest, Money::from_cents(100));
        assert_eq!(once, twice);
    }

    #[test]
    fn out_of_order_points_are_sorted() {
        let mut points = vec![p(5, 100), p(1, 300), p(3, 200)];
        compact(&mut points, T0 + 6 * MINUTE_MS, Money::from_cents(100));
        let times: Vec<i64> = points.iter().map(|q| (q.at - T0) / MINUTE_MS).collect();
        assert_eq!(times, vec![1, 3, 5]);
    }

    #[test]
    fn points_after_now_are_dropped() {
        // Read at 10:00–10:20 by a clock two hours ahead; set back, it reads $4.80 at 08:15.
        // Kept, the step from $4.80 back up to $5.00 would be a top-up at 10:00.
        let mut points = vec![p(120, 500), p(130, 500), p(140, 500)];
        fold(&mut points, p(15, 480), Money::from_cents(100));
        assert_eq!(points, vec![p(15, 480)]);
        assert_eq!(last_top_up(&points), None);
    }

    #[test]
    fn todays_stored_history_carries_over() {
        // A stored monitor as this build writes it: 500 points, 10 minutes apart (3.5 days),
        // with one top-up, read back and compacted as the next reading arrives.
        let points: Vec<String> = (0..HISTORY_LIMIT as i64)
            .map(|i| {
                let cents = if i < 200 { 900 - i } else { 3_000 - i };
                let at = T0 + i * 10 * MINUTE_MS;
                let balance = Money::from_cents(cents);
                [
                    "{\"at\":",
                    &at.to_string(),
                    ",\"balance\":\"",
                    &balance.to_string(),
                ]
                .concat()
                    + "\",\"account\":\"a1\"}"
            })
            .collect();
        let stored = ["{\"account\":\"a1\",\"history\":[", &points.join(","), "]}"].concat();
        let json: serde_json::Value = serde_json::from_str(&stored).expect("valid JSON");
        let mut history = crate::stored::read::<MonitorState>(&json).history;
        assert_eq!(history.len(), HISTORY_LIMIT);
        let first = history.first().cloned();
        let stored_points = history.clone();
        let now = T0 + HISTORY_LIMIT as i64 * 10 * MINUTE_MS;
        compact(&mut history, now, Money::from_cents(100));
        assert_eq!(history.first().cloned(), first, "the oldest reading stays");
        assert!(history.len() < HISTORY_LIMIT, "older readings are thinned");
        let top = last_top_up(&history).expect("the top-up is kept");
        assert_eq!(top.at, T0 + 200 * 10 * MINUTE_MS);
        assert_eq!(top.amount, Money::from_cents(2_099));
        let day =
            |h: &[crate::monitor::HistoryPoint]| h.iter().filter(|q| now - q.at < DAY_MS).count();
        assert_eq!(
            day(&history),
            day(&stored_points),
            "the last day at full resolution"
        );
    }

    #[test]
    fn step_spend_table() {
        #[rustfmt::skip]
        let cases: &[(i64, i64, i64)] = &[
            (500, 400, 100),
            (500, 500, 0),
            (500, 505, -5),   // a refund: negative spend
            (500, 510, 0),    // a top-up: no spend
            (500, 2_500, 0),
        ];
        for &(a, b, want) in cases {
            let got = step_spend(Money::from_cents(a), Money::from_cents(b));
            assert_eq!(got, Money::from_cents(want).nanos(), "{a} -> {b}");
        }
    }
}
