//! Localized text: every sentence comes from `locales/{en,id}/*.json`.
//!
//! Native builds (`cargo test`, the server) embed the tables at build time. The wasm module
//! does not: its text was 17 KB of the .wasm, which every widget page downloaded in both
//! languages. The build writes one catalog per language (`messages/<lang>.json`) and JS
//! installs the ones it needs with `setMessages` before asking for text (docs/ARCHITECTURE.md,
//! "Text catalogs").

#[cfg(any(test, target_arch = "wasm32"))]
use std::collections::BTreeMap;

#[cfg(not(target_arch = "wasm32"))]
include!(concat!(env!("OUT_DIR"), "/messages.rs"));

/// A language the monitor speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English (the fallback).
    En,
    /// Indonesian (the source material's language).
    Id,
}

impl Lang {
    /// The language for a BCP 47 tag: `id`, `id-ID` and the legacy `in` are Indonesian,
    /// everything else English.
    pub fn from_tag(tag: &str) -> Lang {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("id") || primary.eq_ignore_ascii_case("in") {
            Lang::Id
        } else {
            Lang::En
        }
    }

    /// The language's code, which names its catalog (`messages/<code>.json`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Id => "id",
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn table(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::En => EN,
            Lang::Id => ID,
        }
    }
}

/// The text for a key in one language, if the locale files define it.
#[cfg(not(target_arch = "wasm32"))]
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    let table = lang.table();
    table
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| table[i].1)
}

/// The text for a key in one language, if its installed catalog has it.
#[cfg(target_arch = "wasm32")]
fn lookup(lang: Lang, key: &str) -> Option<String> {
    CATALOGS.with_borrow(|catalogs| catalogs[lang as usize].get(key).cloned())
}

/// The raw text for a key (English if missing, the key itself if unknown everywhere, so a typo
/// or a catalog that did not load shows the key instead of a blank). Under `cargo test` an
/// unknown key panics, so every test that reaches a sentence also proves its key exists.
pub fn text(lang: Lang, key: &str) -> String {
    let found = lookup(lang, key).or_else(|| lookup(Lang::En, key));
    #[cfg(test)]
    assert!(found.is_some(), "locales miss the key {key}");
    found.map_or_else(|| key.to_string(), String::from)
}

#[cfg(target_arch = "wasm32")]
thread_local! {
    /// The catalogs `setMessages` installed, one per [`Lang`]. The store lives here rather
    /// than in the bindings because every layer of the core asks [`text`] for sentences; it
    /// holds data only: JS fetches the files, the bindings hand their text over.
    static CATALOGS: std::cell::RefCell<[BTreeMap<String, String>; 2]> = Default::default();
}

/// Installs (or replaces) the catalog of a language: a flat `{ "key": "text" }` JSON object
/// as the build writes to `messages/<lang>.json`. Returns false, installing nothing, when the
/// text is not such an object.
#[cfg(target_arch = "wasm32")]
pub fn install(lang: Lang, catalog: &str) -> bool {
    let Some(table) = parse_catalog(catalog) else {
        return false;
    };
    CATALOGS.with_borrow_mut(|catalogs| catalogs[lang as usize] = table);
    true
}

/// A catalog's (key, text) pairs (a key given twice keeps its last text), or None when the
/// text is not a JSON object of strings.
#[cfg(any(test, target_arch = "wasm32"))]
fn parse_catalog(catalog: &str) -> Option<BTreeMap<String, String>> {
    serde_json::from_str(catalog).ok()
}

/// The text for a key with `$1`, `$2` … replaced by `args`.
pub fn format(lang: Lang, key: &str, args: &[&str]) -> String {
    fill(&text(lang, key), args)
}

/// `template` with `$1`, `$2` … replaced by `args` (a missing argument, or `$0`, by nothing).
fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match after.bytes().next().filter(u8::is_ascii_digit) {
            Some(digit) => {
                let n = usize::from(digit - b'0');
                if let Some(arg) = n.checked_sub(1).and_then(|n| args.get(n)) {
                    out.push_str(arg);
                }
                rest = &after[1..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every (key, text) pair of a language.
#[cfg(not(target_arch = "wasm32"))]
pub fn all(lang: Lang) -> &'static [(&'static str, &'static str)] {
    lang.table()
}

/// Digit grouping, decimal and clock separators per language: `1,234.50` and `12:02` in
/// English, `1.234,50` and `12.02` in Indonesian. One table, so sentences, tables, the badge
/// tooltip, notifications and the widget format numbers the same way.
#[rustfmt::skip]
const SEPARATORS: [(Lang, char, char, char); 2] = [
    // lang,    thousands, decimal, clock
    (Lang::En, ',', '.', ':'),
    (Lang::Id, '.', ',', '.'),
];

fn separators(lang: Lang) -> (char, char, char) {
    // Indexed by the language (the rows are in `Lang`'s order, tested).
    let (_, t, d, c) = SEPARATORS[lang as usize];
    (t, d, c)
}

/// The decimal separator of a language.
pub fn decimal_mark(lang: Lang) -> char {
    separators(lang).1
}

/// A count with its thousands grouped: `4,115` (en), `4.115` (id).
pub fn count(lang: Lang, n: u64) -> String {
    let digits = n.to_string();
    let sep = separators(lang).0;
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(d);
    }
    out
}

/// Where clock times are shown: minutes east of UTC at each instant, so a time on the other
/// side of a daylight-saving change is shown with its own offset. A fixed offset is an `i64`
/// (the server, tests); the wasm bindings ask the browser for each instant
/// (`-new Date(ms).getTimezoneOffset()`); [`ZoneFn`] wraps any function.
pub trait Zone {
    /// Minutes east of UTC at `at_ms` (epoch ms).
    fn offset_min(&self, at_ms: i64) -> i64;
}

/// A fixed offset in minutes east of UTC, the same at every instant.
impl Zone for i64 {
    fn offset_min(&self, _at_ms: i64) -> i64 {
        *self
    }
}

/// A borrowed zone is a zone (one zone passed down through a view).
impl<Z: Zone + ?Sized> Zone for &Z {
    fn offset_min(&self, at_ms: i64) -> i64 {
        (**self).offset_min(at_ms)
    }
}

/// A zone from a function of the instant: minutes east of UTC at `at_ms`.
pub struct ZoneFn<F>(pub F);

impl<F: Fn(i64) -> i64> Zone for ZoneFn<F> {
    fn offset_min(&self, at_ms: i64) -> i64 {
        (self.0)(at_ms)
    }
}

/// The wall-clock time of `at_ms` (epoch ms) in `zone`, at the offset of that instant:
/// `12:02` (en), `12.02` (id). The zone comes from the browser, the only place that knows it.
pub fn clock(lang: Lang, at_ms: i64, zone: impl Zone) -> String {
    let utc_offset_min = zone.offset_min(at_ms);
    let minutes = (at_ms.div_euclid(60_000) + utc_offset_min).rem_euclid(24 * 60);
    format!(
        "{:02}{}{:02}",
        minutes / 60,
        separators(lang).2,
        minutes % 60
    )
}

/// A span of time, rounded down to two units: "2 d 5 h", "5 h 20 min", "40 min".
pub fn duration(lang: Lang, ms: i64) -> String {
    let minutes = (ms.max(0) / 60_000) as u64;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if days > 0 {
        format(
            lang,
            "duration_days",
            &[&days.to_string(), &hours.to_string()],
        )
    } else if hours > 0 {
        format(
            lang,
            "duration_hours",
            &[&hours.to_string(), &mins.to_string()],
        )
    } else {
        format(lang, "duration_minutes", &[&mins.max(1).to_string()])
    }
}

/// A clock time with its day when that is not today (in the browser's zone): "14:02" today,
/// "Sun 03:10" within six days either way, "2026-12-24 09:00" further off (a weekday alone
/// would be ambiguous then). Each instant is placed at its own offset, so a time on the other
/// side of a daylight-saving change is right, and so is its day.
pub fn day_clock(lang: Lang, at_ms: i64, now_ms: i64, zone: impl Zone) -> String {
    let time = clock(lang, at_ms, &zone);
    let day_of = |ms: i64| (ms.div_euclid(60_000) + zone.offset_min(ms)).div_euclid(1440);
    let (day, today) = (day_of(at_ms), day_of(now_ms));
    if day == today {
        return time;
    }
    if (day - today).abs() <= 6 {
        // 1970-01-01 was a Thursday: day 0 is weekday 4 (Sunday = 0).
        let key = format!("weekday_{}", (day + 4).rem_euclid(7));
        return format(lang, "weekday_time", &[&text(lang, &key), &time]);
    }
    // The civil date of a day number (days since 1970-01-01), after Howard Hinnant's
    // `civil_from_days`.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let date = format!("{:04}-{m:02}-{d:02}", y.max(0));
    format(lang, "weekday_time", &[&date, &time])
}

/// "just now", "3 min ago", "2 h ago", "4 d ago"; "an unknown time ago (the computer's clock
/// was changed)" for a time more than the clock skew tolerance after now, written by a clock
/// that has since been set back (never "just now" beside "out of date").
pub fn age(lang: Lang, now_ms: i64, at_ms: i64) -> String {
    if crate::schedule::trusted_time(Some(at_ms), now_ms).is_none() {
        return text(lang, "age_unknown");
    }
    let secs = now_ms.saturating_sub(at_ms).max(0) / 1000;
    match secs {
        0..=59 => text(lang, "age_just_now"),
        60..=3599 => format(lang, "age_minutes", &[&(secs / 60).to_string()]),
        3600..=86_399 => format(lang, "age_hours", &[&(secs / 3600).to_string()]),
        _ => format(lang, "age_days", &[&(secs / 86_400).to_string()]),
    }
}

// Native only: the embedded tables they check are not in the wasm module (whose unit tests
// are compiled by `clippy --target wasm32` but never run).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn day_clock_names_the_day_when_it_is_not_today() {
        // 2026-11-28 (a Saturday) 12:00 UTC.
        let now = 1_795_867_200_000;
        const H: i64 = 3_600_000;
        #[rustfmt::skip]
        let cases = [
            (now + 2 * H,       0,   "14:00"),
            (now - 11 * H,      0,   "01:00"),
            (now - 13 * H,      0,   "Fri 23:00"),
            (now - 13 * H,      120, "01:00"),
            (now + 15 * H,      0,   "Sun 03:00"),
            (now - 6 * 24 * H,  0,   "Sun 12:00"),
            (now - 7 * 24 * H,  0,   "2026-11-21 12:00"),
            (now + 30 * 24 * H, 60,  "2026-12-28 13:00"),
            (now - 366 * 24 * H, 0,  "2025-11-27 12:00"),
        ];
        for (at, offset, want) in cases {
            assert_eq!(day_clock(Lang::En, at, now, offset), want, "{at} {offset}");
        }
        assert_eq!(day_clock(Lang::Id, now + 15 * H, now, 0), "Min 03.00");
    }

    #[test]
    fn clock_times_use_the_offset_of_their_own_instant() {
        // UTC+1 until 2027-03-28 01:00 UTC, UTC+2 from then on (Europe's summer time).
        const SWITCH: i64 = 1_806_195_600_000;
        let zone = ZoneFn(|at: i64| if at < SWITCH { 60 } else { 120 });
        // Fri 2027-03-26 12:00 UTC and Mon 2027-03-29 10:00 UTC.
        let (friday, monday) = (1_806_062_400_000, 1_806_314_400_000);
        const M: i64 = 60_000;
        #[rustfmt::skip]
        let cases = [
            // now,  at,              shown
            (friday, SWITCH + 70 * M, "Sun 04:10"), // two days ahead, after the change
            (friday, SWITCH - 90 * M, "Sun 00:30"), // 23:30 UTC is Sunday already at UTC+1
            (friday, SWITCH - M,      "Sun 01:59"),
            (friday, SWITCH,          "Sun 03:00"),
            (friday, friday,          "13:00"),
            (monday, SWITCH - 5 * 60 * M, "Sat 21:00"), // yesterday's reading, before it
            (monday, monday,          "12:00"),
        ];
        for (now, at, want) in cases {
            assert_eq!(day_clock(Lang::En, at, now, &zone), want, "{at}");
        }
        assert_eq!(clock(Lang::Id, SWITCH + 70 * M, &zone), "04.10");
        // A fixed offset is the same at every instant.
        assert_eq!(
            day_clock(Lang::En, SWITCH + 70 * M, friday, 60),
            "Sun 03:10"
        );
    }

    #[test]
    fn an_age_is_never_just_now_for_a_time_after_now() {
        assert_eq!(age(Lang::En, 10_000, 9_000), "just now");
        // Within the clock skew tolerance (a minute) it is still "just now" ...
        assert_eq!(age(Lang::En, 10_000, 40_000), "just now");
        // ... beyond it the time was written by a clock that has since been set back.
        for (lang, want) in [
            (
                Lang::En,
                "an unknown time ago (the computer's clock was changed)",
            ),
            (Lang::Id, "entah berapa lama lalu (jam komputer diubah)"),
        ] {
            assert_eq!(age(lang, 0, 2 * 3_600_000), want);
        }
    }

    #[test]
    fn catalogs_parse_with_the_last_duplicate_first() {
        let table = parse_catalog(r#"{ "b": "B", "a": "A \"q\"", "b": "B2" }"#).expect("catalog");
        let first = |key: &str| table.get(key).map(String::as_str);
        assert_eq!(first("a"), Some("A \"q\""));
        assert_eq!(first("b"), Some("B2"));
        assert_eq!(first("c"), None);
        for bad in ["", "[]", r#"{"a": 1}"#, r#"{"a": "A""#, "\"text\""] {
            assert_eq!(parse_catalog(bad), None, "{bad}");
        }
        assert_eq!(parse_catalog("{}"), Some(BTreeMap::new()));
    }

    #[test]
    fn tables_are_sorted_and_complete() {
        for lang in [Lang::En, Lang::Id] {
            let t = all(lang);
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
            assert_eq!(t.len(), EN.len());
        }
    }

    #[test]
    fn picks_language_from_tag() {
        for (tag, lang) in [
            ("id", Lang::Id),
            ("id-ID", Lang::Id),
            ("in", Lang::Id),
            ("en-US", Lang::En),
            ("", Lang::En),
            ("de", Lang::En),
            (" ID_id ", Lang::Id),
            ("iN", Lang::Id),
            ("ind", Lang::En),
            ("idx-ID", Lang::En),
            ("i", Lang::En),
            ("-id", Lang::En),
            ("\u{a0}id\u{3000}", Lang::Id),
            ("i\u{130}", Lang::En),
        ] {
            assert_eq!(Lang::from_tag(tag), lang, "{tag}");
            assert_eq!(Lang::from_tag(lang.code()), lang, "{tag}");
        }
    }

    #[test]
    fn formats_and_falls_back() {
        assert_eq!(format(Lang::En, "age_minutes", &["3"]), "3 min ago");
        assert_eq!(format(Lang::Id, "age_minutes", &["3"]), "3 menit lalu");
        assert_eq!(lookup(Lang::En, "no_such_key"), None);
        assert_eq!(age(Lang::En, 10_000, 9_000), "just now");
        assert_eq!(age(Lang::En, 3 * 60_000 + 5, 0), "3 min ago");
        assert_eq!(age(Lang::En, 7_200_000, 0), "2 h ago");
        assert_eq!(age(Lang::Id, 3 * 86_400_000, 0), "3 hari lalu");
    }

    #[test]
    #[rustfmt::skip]
    fn fills_placeholders() {
        let cases = [
            ("$1 menit lalu", &["3"][..], "3 menit lalu"),
            ("Saldo: $1 dari $2.", &["€1", "ñ2"], "Saldo: €1 dari ñ2."),
            ("$2 before $1", &["a", "b"], "b before a"),
            ("costs $0.01 and $", &[], "costs .01 and $"),
            ("missing $3 arg", &["a"], "missing  arg"),
            ("$$1", &["x"], "$x"),
            ("é$1é", &["ü"], "éüé"),
            ("", &[], ""),
        ];
        for (template, args, want) in cases {
            assert_eq!(fill(template, args), want, "{template}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn counts_and_clocks_per_language() {
        for (i, row) in SEPARATORS.iter().enumerate() {
            assert_eq!(row.0 as usize, i, "separators are indexed by language");
        }
        let counts = [
            (Lang::En, 0, "0"),
            (Lang::En, 4115, "4,115"),
            (Lang::En, 50_000_000, "50,000,000"),
            (Lang::Id, 4115, "4.115"),
            (Lang::Id, 411_499, "411.499"),
            (Lang::Id, 999, "999"),
        ];
        for (lang, n, want) in counts {
            assert_eq!(count(lang, n), want, "{lang:?} {n}");
        }
        // 1_800_000_000_000 ms is 2027-01-15 08:00 UTC.
        let clocks = [
            (Lang::En, 1_800_000_000_000, 0, "08:00"),
            (Lang::En, 1_800_000_000_000 + 122 * 60_000, 0, "10:02"),
            (Lang::Id, 1_800_000_000_000 + 122 * 60_000, 0, "10.02"),
            (Lang::En, 1_800_000_000_000, 420, "15:00"),
            (Lang::En, 1_800_000_000_000, -540, "23:00"),
            (Lang::En, 1_800_000_000_000 + 59_999, 0, "08:00"),
        ];
        for (lang, at, offset, want) in clocks {
            assert_eq!(clock(lang, at, offset), want, "{lang:?} {at} {offset}");
        }
    }

    #[test]
    fn every_key_the_core_uses_exists() {
        use crate::costs::CaptchaType;
        use crate::error::ErrorCode;
        let mut keys: Vec<String> = Vec::new();
        for code in ErrorCode::all() {
            keys.extend([code.title_key(), code.cause_key(), code.fix_key()]);
        }
        for kind in CaptchaType::all() {
            keys.push(format!("type_{}", kind.as_str()));
        }
        for level in ["ok", "low", "empty", "unknown"] {
            keys.push(format!("level_{level}"));
        }
        for key in keys {
            for lang in [Lang::En, Lang::Id] {
                assert!(
                    all(lang).iter().any(|(k, _)| *k == key),
                    "{lang:?} misses {key}"
                );
            }
        }
    }
}
