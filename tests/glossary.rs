//! One word per concept in Indonesian: every English message that uses a glossary term must use
//! the glossary's Indonesian term in its Indonesian counterpart (locales/GLOSSARY.json).
#![cfg(not(target_arch = "wasm32"))]

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Every message of a language, merged over its files.
fn messages(lang: &str) -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("locales")
        .join(lang);
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let map: BTreeMap<String, String> =
                serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            out.extend(map);
        }
    }
    out
}

/// `term` occurs in `text` as a word (case-insensitive): not inside a longer identifier such
/// as `captchaai-balance` or `ERROR_ZERO_BALANCE`.
fn has_word(text: &str, term: &str) -> bool {
    let (text, term) = (text.to_lowercase(), term.to_lowercase());
    text.match_indices(&term).any(|(i, _)| {
        !text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
    })
}

fn terms() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales/GLOSSARY.json");
    let glossary: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    glossary["terms"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(en, id)| (en.clone(), id.as_str().unwrap().to_string()))
        .collect()
}

/// The (key, English term) pairs whose Indonesian message misses the glossary's term.
fn violations(
    en: &BTreeMap<String, String>,
    id: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, english) in en {
        for (term, indonesian) in terms() {
            if has_word(english, &term) && !has_word(&id[key], &indonesian) {
                out.push((key.clone(), term.clone()));
            }
        }
    }
    out
}

#[test]
fn every_glossary_term_has_one_indonesian_word() {
    let bad = violations(&messages("en"), &messages("id"));
    assert!(
        bad.is_empty(),
        "Indonesian messages not using the glossary term: {bad:?}"
    );
}

#[test]
fn a_second_word_for_refresh_is_caught() {
    let mut id = messages("id");
    let en = messages("en");
    // The words this project used before the glossary: "Segarkan" and "Muat ulang".
    id.insert("refresh".into(), "Muat ulang".into());
    assert_eq!(
        violations(&en, &id),
        vec![("refresh".into(), "Refresh".into())]
    );
    assert!(has_word("press Refresh", "refresh"));
    assert!(!has_word("<captchaai-balance>", "balance"));
    assert!(!has_word("ERROR_ZERO_BALANCE", "balance"));
}
