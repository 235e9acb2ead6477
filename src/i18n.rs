//! Localized text: every sentence comes from `locales/{en,id}/*.json`, embedded at build time.

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
        let primary = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if primary == "id" || primary == "in" {
            Lang::Id
        } else {
            Lang::En
        }
    }

    fn table(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::En => EN,
            Lang::Id => ID,
        }
    }
}

/// The text for a key in one language, if the locale files define it.
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    let table = lang.table();
    table
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| table[i].1)
}

/// The raw text for a key (English if missing, the key itself if unknown everywhere, so a typo
/// shows up on screen instead of a blank). Under `cargo test` an unknown key panics, so every
/// test that reaches a sentence also proves its key exists.
pub fn text(lang: Lang, key: &str) -> &str {
    let found = lookup(lang, key).or_else(|| lookup(Lang::En, key));
    #[cfg(test)]
    assert!(found.is_some(), "locales miss the key {key}");
    found.unwrap_or(key)
}

/// The text for a key with `$1`, `$2` … replaced by `args`.
pub fn format(lang: Lang, key: &str, args: &[&str]) -> String {
    let template = text(lang, key);
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            if let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                chars.next();
                if let Some(arg) = (d as usize).checked_sub(1).and_then(|i| args.get(i)) {
                    out.push_str(arg);
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Every (key, text) pair of a language.
pub fn all(lang: Lang) -> &'static [(&'static str, &'static str)] {
    lang.table()
}

/// "just now", "3 min ago", "2 h ago", "4 d ago".
pub fn age(lang: Lang, now_ms: i64, at_ms: i64) -> String {
    let secs = now_ms.saturating_sub(at_ms).max(0) / 1000;
    match secs {
        0..=59 => text(lang, "age_just_now").to_string(),
        60..=3599 => format(lang, "age_minutes", &[&(secs / 60).to_string()]),
        3600..=86_399 => format(lang, "age_hours", &[&(secs / 3600).to_string()]),
        _ => format(lang, "age_days", &[&(secs / 86_400).to_string()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            assert_eq!(Lang::from_tag(tag), lang, "{tag}");
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
