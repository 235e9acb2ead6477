//! One word per concept in Indonesian: every English message that uses a glossary term must use
//! the glossary's Indonesian term in its Indonesian counterpart, and no Indonesian message may
//! use a second translation of a term (the glossary's "avoid" list) (locales/GLOSSARY.json).
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

/// A section of the glossary as (word, word) pairs: `terms` (English -> Indonesian) or `avoid`
/// (a second Indonesian word -> the term to use instead).
fn glossary(section: &str) -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales/GLOSSARY.json");
    let glossary: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    glossary[section]
        .as_object()
        .unwrap()
        .iter()
        .map(|(a, b)| (a.clone(), b.as_str().unwrap().to_string()))
        .collect()
}

fn terms() -> Vec<(String, String)> {
    glossary("terms")
}

/// The (key, avoided word) pairs where an Indonesian message uses a second word for a term.
fn second_words(id: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let avoid = glossary("avoid");
    let mut out = Vec::new();
    for (key, indonesian) in id {
        for (word, _) in &avoid {
            if has_word(indonesian, word) {
                out.push((key.clone(), word.clone()));
            }
        }
    }
    out
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
fn no_indonesian_message_uses_a_second_word() {
    let bad = second_words(&messages("id"));
    assert!(
        bad.is_empty(),
        "Indonesian messages using an avoided word: {bad:?}"
    );
}

#[test]
fn a_second_word_beside_the_term_is_caught() {
    let mut id = messages("id");
    // The glossary word is there, so the first check passes; the synonym beside it is not.
    id.insert("refresh".into(), "Perbarui (Segarkan)".into());
    assert!(violations(&messages("en"), &id).is_empty());
    assert_eq!(
        second_words(&id),
        vec![("refresh".into(), "Segarkan".into())]
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

/// The sites the provider table sends users to for funds, bare (`captchaai.com`).
fn provider_sites() -> Vec<String> {
    let mut out = Vec::new();
    for provider in captchaai_balance::provider::PROVIDERS.iter() {
        if let Some(url) = provider.add_funds {
            let host = url
                .trim_start_matches("https://")
                .trim_start_matches("www.");
            out.push(host.trim_end_matches('/').to_string());
        }
    }
    out
}

/// An error's cause and fix are shown for an account of any provider, so none may send the
/// user to one provider's site (an Anti-Captcha account with no money must not be told to pay
/// at captchaai.com); the popup's "Add funds" link goes to the account's own site.
#[test]
fn error_texts_name_no_provider_site() {
    let sites = provider_sites();
    assert!(sites.contains(&"captchaai.com".to_string()), "{sites:?}");
    for lang in ["en", "id"] {
        for (key, text) in messages(lang) {
            if !key.starts_with("err_") {
                continue;
            }
            for site in &sites {
                assert!(
                    !text.to_lowercase().contains(site.as_str()),
                    "{lang} {key} sends every account to {site}: {text}"
                );
            }
        }
    }
}
