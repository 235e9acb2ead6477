//! `accounts.toml`: a good file gives its accounts (defaults filled in), and each mistake is
//! refused with one line naming the file, the account and the field, never the key.

use captchaai_balance::provider::ProviderId;
use captchaai_balance_server::config::cli::Cli;
use captchaai_balance_server::config::{parse_accounts, Config, ConfigError, Mode};
use clap::Parser;
use std::path::Path;

const HEX: &str = "0123456789abcdef0123456789abcdef";
const HEX2: &str = "fedcba9876543210fedcba9876543210";
const TOKEN: &str = "CAP-0123456789ABCDEF0123456789ABCDEF";

/// The test environment: three variables, one of them empty.
fn env(name: &str) -> Option<String> {
    match name {
        "PROD_KEY" => Some(HEX.into()),
        "STAGING_KEY" => Some(format!("  {HEX2}\n")),
        "SOLVER_KEY" => Some(TOKEN.into()),
        "EMPTY_KEY" => Some(String::new()),
        _ => None,
    }
}

fn parse(text: &str) -> Result<Vec<captchaai_balance_server::config::AccountConfig>, ConfigError> {
    parse_accounts(Path::new("accounts.toml"), text, &env)
}

#[test]
fn a_good_file_gives_every_account_with_defaults() {
    let accounts = parse(
        r#"
# The team's accounts.
[[account]]
name = "production"
provider = "captchaai"
key_env = "PROD_KEY"
threshold = "5"

[[account]]
name = "staging-2"
provider = "anticaptcha"
key_env = "STAGING_KEY"
predictive_hours = 72

[[account]]
name = "solver"
provider = "capsolver"
key_env = "SOLVER_KEY"
threshold = 12
endpoint = "http://127.0.0.1:9000/"

[[account]]
name = "self-hosted"
provider = "custom-2captcha"
key_env = "PROD_KEY"
threshold = "0.000000001"
endpoint = "https://proxy.example/captcha"

# Plain http off loopback, allowed for this account only.
[[account]]
name = "lan"
provider = "custom-createtask"
key_env = "SOLVER_KEY"
endpoint = "http://10.0.0.7:8080/solver"
allow_plain_http = true

# Plain http to loopback needs no allowance.
[[account]]
name = "local"
provider = "2captcha"
key_env = "STAGING_KEY"
endpoint = "http://localhost:9001"
"#,
    )
    .expect("a valid file");
    let got: Vec<_> = accounts
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.provider,
                a.threshold.to_string(),
                a.endpoint.as_str().to_string(),
                a.key_env.as_str(),
                a.predictive_hours,
            )
        })
        .collect();
    #[rustfmt::skip]
    let want = [
        ("production",  ProviderId::CaptchaAi,      "5".to_string(),           "https://ocr.captchaai.com/".to_string(),     "PROD_KEY",    24),
        ("staging-2",   ProviderId::AntiCaptcha,    "1".to_string(),           "https://api.anti-captcha.com/".to_string(),  "STAGING_KEY", 72),
        ("solver",      ProviderId::CapSolver,      "12".to_string(),          "http://127.0.0.1:9000/".to_string(),         "SOLVER_KEY",  24),
        ("self-hosted", ProviderId::Custom2Captcha, "0.000000001".to_string(), "https://proxy.example/captcha".to_string(), "PROD_KEY",    24),
        ("lan",         ProviderId::CustomCreateTask, "1".to_string(),         "http://10.0.0.7:8080/solver".to_string(),   "SOLVER_KEY",  24),
        ("local",       ProviderId::TwoCaptcha,     "1".to_string(),           "http://localhost:9001/".to_string(),        "STAGING_KEY", 24),
    ];
    assert_eq!(got, want);
    // Keys come from the environment, trimmed.
    assert_eq!(accounts[0].key.expose(), HEX);
    assert_eq!(accounts[1].key.expose(), HEX2);
    assert_eq!(accounts[2].key.expose(), TOKEN);
}

/// `price_per_1000`, as a table of its own or inline, gives the account's per-solve rates: each
/// a thousandth of its price, exactly, over the provider's example rates (CaptchaAI's) or over
/// none (every other provider, the custom ones included).
#[test]
fn prices_per_1000_become_exact_per_solve_rates() {
    let accounts = parse(
        r#"
[[account]]
name = "production"
provider = "captchaai"
key_env = "PROD_KEY"

[account.price_per_1000]
recaptcha_v2 = "2.99"
image = 1

[[account]]
name = "plain"
provider = "captchaai"
key_env = "STAGING_KEY"

[[account]]
name = "own"
provider = "custom-createtask"
key_env = "SOLVER_KEY"
endpoint = "https://proxy.example/solver"
price_per_1000 = { turnstile = "1.2345", other = "0.000001" }

[[account]]
name = "anti"
provider = "anticaptcha"
key_env = "PROD_KEY"
endpoint = "https://api.example"
"#,
    )
    .expect("a valid file");
    let rates = |i: usize| -> Vec<(&str, String)> {
        accounts[i]
            .rates
            .iter()
            .map(|(kind, rate)| (kind.as_str(), rate.to_string()))
            .collect()
    };
    let owned = |rows: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        rows.iter().map(|(k, r)| (*k, r.to_string())).collect()
    };
    #[rustfmt::skip]
    let production = owned(&[
        ("recaptcha_v2", "0.00299"), ("recaptcha_v3", "0.004"), ("turnstile", "0.002"),
        ("geetest", "0.003"), ("image", "0.001"), ("bls", "0.002"), ("other", "0.003"),
    ]);
    assert_eq!(
        rates(0),
        production,
        "its own two, CaptchaAI's examples for the rest"
    );
    #[rustfmt::skip]
    let examples = owned(&[
        ("recaptcha_v2", "0.003"), ("recaptcha_v3", "0.004"), ("turnstile", "0.002"),
        ("geetest", "0.003"), ("image", "0.001"), ("bls", "0.002"), ("other", "0.003"),
    ]);
    assert_eq!(rates(1), examples, "no table: the provider's examples");
    assert_eq!(
        rates(2),
        owned(&[("turnstile", "0.0012345"), ("other", "0.000000001")]),
        "a custom provider: its own prices only"
    );
    assert_eq!(rates(3), owned(&[]), "no examples and no prices: no rate");
}

/// A mistake serde finds in the file's shape (an unknown or missing field, a value of the wrong
/// type, an unknown provider, a float threshold, a horizon out of range) names the line toml saw
/// it on; one found in the values (a name's characters, the endpoint, the key's variable, the key)
/// is worded by the server. Either way: one line with the file, the account (by name, or by its
/// place while the name is missing or bad) and the field, never the key.
#[test]
fn every_mistake_names_the_account_and_the_field() {
    let account = |body: &str| format!("[[account]]\n{body}\n");
    let ok = "name = \"prod\"\nprovider = \"captchaai\"\nkey_env = \"PROD_KEY\"";
    let two = format!("{}{}", account(ok), account(ok));
    let same_key = format!(
        "{}{}",
        account(ok),
        account("name = \"copy\"\nprovider = \"captchaai\"\nkey_env = \"PROD_KEY\"")
    );
    let second_unnamed = format!("{}{}", account(ok), account("name = 3"));
    let bad_webhook = format!("{}[[webhook]]\nformat = 1\n", account(ok));
    // Each error starts with the file and holds these fragments, in this order.
    #[rustfmt::skip]
    let cases: Vec<(String, &[&str])> = vec![
        ("".into(),                                                                        &["no [[account]]"]),
        ("account = []".into(),                                                            &["no [[account]]"]),
        ("account = 1".into(),                                                             &["line 1: account: invalid type: integer `1`, expected a sequence", "; write it as [[account]] tables"]),
        ("[account]\nname = \"prod\"".into(),                                             &["line 1: account: ", "; write it as [[account]] tables"]),
        ("account = [1]".into(),                                                           &["line 1: account #1: ", "expected an [[account]] table"]),
        ("listen = \"0.0.0.0:80\"".into(),                                                 &["line 1: listen: unknown field `listen`", "; the file holds only [[account]] and [[webhook]] tables"]),
        ("[[account]\nname = 1".into(),                                                    &["line 1: "]),
        (account("provider = \"captchaai\"\nkey_env = \"PROD_KEY\""),                      &["line 1: account #1: name: missing"]),
        (account("name = \"Prod\"\nprovider = \"captchaai\"\nkey_env = \"PROD_KEY\""),     &["account #1: name: \"Prod\" must be 1 to 64 of a-z, 0-9 and -"]),
        (account("name = \"a b\"\nprovider = \"captchaai\"\nkey_env = \"PROD_KEY\""),      &["account #1: name: \"a b\" must be"]),
        (account("name = \"\"\nprovider = \"captchaai\"\nkey_env = \"PROD_KEY\""),         &["account #1: name: \"\" must be"]),
        (account("name = 7\nprovider = \"captchaai\"\nkey_env = \"PROD_KEY\""),            &["line 2: account #1: name: invalid type: integer `7`, expected a string"]),
        (second_unnamed,                                                                   &["line 6: account #2: name: invalid type: integer `3`"]),
        (two,                                                                              &["account \"prod\": name: used by an earlier account"]),
        (same_key,                                                                         &["account \"copy\": key_env: same provider, endpoint and key as account \"prod\""]),
        (account(&format!("{ok}\nkey = \"{HEX}\"")),                                       &["line 5: account \"prod\": key: unknown field `key`, expected one of `name`, `provider`, `key_env`, `threshold`, `endpoint`, `predictive_hours`, `allow_plain_http`", "; keys never go in this file"]),
        (account(&format!("{ok}\napi_key = \"{HEX}\"")),                                   &["line 5: account \"prod\": api_key: unknown field", "; keys never go in this file"]),
        (account(&format!("{ok}\ncolour = \"red\"")),                                      &["line 5: account \"prod\": colour: unknown field `colour`"]),
        (account("name = \"prod\"\nkey_env = \"PROD_KEY\""),                               &["line 1: account \"prod\": provider: missing"]),
        (account("name = \"prod\"\nprovider = \"CaptchaAI\"\nkey_env = \"PROD_KEY\""),     &["line 3: account \"prod\": provider: unknown variant `CaptchaAI`, expected one of `captchaai`, `2captcha`, `rucaptcha`, `anticaptcha`, `capmonster`, `capsolver`, `custom-2captcha`, `custom-createtask`"]),
        (account("name = \"prod\"\nprovider = \"captchaai\""),                             &["line 1: account \"prod\": key_env: missing (the environment variable that holds the key)"]),
        (account("name = \"prod\"\nprovider = \"captchaai\"\nkey_env = \"NOT_SET\""),      &["account \"prod\": key_env: NOT_SET is not set or empty"]),
        (account("name = \"prod\"\nprovider = \"captchaai\"\nkey_env = \"EMPTY_KEY\""),    &["account \"prod\": key_env: EMPTY_KEY is not set or empty"]),
        (account("name = \"prod\"\nprovider = \"captchaai\"\nkey_env = \"SOLVER_KEY\""),   &["account \"prod\": key_env: the key in SOLVER_KEY must be 32 characters, it has 36"]),
        (account("name = \"prod\"\nprovider = \"captchaai\"\nkey_env = \"\""),             &["account \"prod\": key_env: not an environment variable name"]),
        (account(&format!("{ok}\nthreshold = \"abc\"")),                                   &["line 5: account \"prod\": threshold: \"abc\" is not a decimal number"]),
        (account(&format!("{ok}\nthreshold = \"-1\"")),                                    &["line 5: account \"prod\": threshold: must be from 0 to 1000000"]),
        (account(&format!("{ok}\nthreshold = \"1000000.01\"")),                            &["line 5: account \"prod\": threshold: must be from 0 to 1000000"]),
        (account(&format!("{ok}\nthreshold = 1000001")),                                   &["line 5: account \"prod\": threshold: must be from 0 to 1000000"]),
        (account(&format!("{ok}\nthreshold = 0.1")),                                       &["line 5: account \"prod\": threshold: write it as a decimal string, e.g. threshold = \"5.50\""]),
        (account(&format!("{ok}\nthreshold = 5.0")),                                       &["line 5: account \"prod\": threshold: write it as a decimal string"]),
        (account(&format!("{ok}\nthreshold = true")),                                      &["line 5: account \"prod\": threshold: invalid type: boolean `true`"]),
        (account(&format!("{ok}\nendpoint = \"ftp://x\"")),                                &["account \"prod\": endpoint: expected http(s)://host"]),
        (account(&format!("{ok}\nendpoint = \"https://a.b/?key=1\"")),                     &["account \"prod\": endpoint: expected http(s)://host"]),
        (account(&format!("{ok}\nendpoint = \"https://u:p@a.b\"")),                        &["account \"prod\": endpoint: expected http(s)://host"]),
        (account(&format!("{ok}\nendpoint = \"\"")),                                       &["account \"prod\": endpoint: expected http(s)://host"]),
        (account(&format!("{ok}\nendpoint = \"http://api.example\"")),                     &["account \"prod\": endpoint: plain http:// ", "unencrypted", "allow_plain_http = true"]),
        (account(&format!("{ok}\nendpoint = \"http://10.0.0.7:8080\"\nallow_plain_http = false")), &["account \"prod\": endpoint: plain http:// ", "allow_plain_http = true"]),
        (account(&format!("{ok}\nallow_plain_http = \"yes\"")),                            &["line 5: account \"prod\": allow_plain_http: invalid type: string \"yes\", expected a boolean"]),
        (account(&format!("{ok}\npredictive_hours = 0")),                                  &["line 5: account \"prod\": predictive_hours: a whole number of hours from 1 to 168, e.g. predictive_hours = 24"]),
        (account(&format!("{ok}\npredictive_hours = 169")),                                &["line 5: account \"prod\": predictive_hours: a whole number of hours from 1 to 168"]),
        (account(&format!("{ok}\npredictive_hours = -3")),                                 &["line 5: account \"prod\": predictive_hours: a whole number of hours from 1 to 168"]),
        (account(&format!("{ok}\npredictive_hours = \"24\"")),                             &["line 5: account \"prod\": predictive_hours: ", "expected a whole number of hours from 1 to 168"]),
        (account("name = \"own\"\nprovider = \"custom-createtask\"\nkey_env = \"SOLVER_KEY\""), &["account \"own\": endpoint: required for provider \"custom-createtask\""]),
        // Prices per 1,000 solves: a known type, an exact decimal that divides into a per-solve rate.
        (account(&format!("{ok}\n[account.price_per_1000]\nrecaptcha2 = \"2.99\"")),          &["line 5: account \"prod\": price_per_1000: unknown captcha type \"recaptcha2\"; the types are recaptcha_v2, recaptcha_v3, turnstile, geetest, image, bls, other"]),
        (account(&format!("{ok}\nprice_per_1000 = {{ \"re\\u001b[2Jcap\\n\" = \"1\" }}")), &["line 5: account \"prod\": price_per_1000: unknown captcha type \"re\\u{1b}[2Jcap\\n\""]),
        (account(&format!("{ok}\nprice_per_1000 = {{ {} = \"1\" }}", "x".repeat(200))),     &["line 5: account \"prod\": price_per_1000: unknown captcha type \"xxxx", "…\" (200 characters)"]),
        (account(&format!("{ok}\nprice_per_1000 = {{ image = \"abc\" }}")),                   &["line 5: account \"prod\": price_per_1000: image: \"abc\" is not a decimal number"]),
        (account(&format!("{ok}\nprice_per_1000 = {{ image = \"1,50\" }}")),                  &["line 5: account \"prod\": price_per_1000: image: \"1,50\" is not a decimal number"]),
        (account(&format!("{ok}\nprice_per_1000 = {{ image = 1.5 }}")),                         &["line 5: account \"prod\": price_per_1000: image: write it as a decimal string, e.g. image = \"2.99\""]),
        (account(&format!("{ok}\nprice_per_1000 = {{ image = \"0\" }}")),                      &["line 5: account \"prod\": price_per_1000: image: must be above 0 and at most 100000 (USD per 1,000 solves), got \"0\""]),
        (account(&format!("{ok}\nprice_per_1000 = {{ bls = -2 }}")),                            &["line 5: account \"prod\": price_per_1000: bls: must be above 0"]),
        (account(&format!("{ok}\nprice_per_1000 = {{ bls = \"100000.001\" }}")),               &["line 5: account \"prod\": price_per_1000: bls: must be above 0 and at most 100000"]),
        (account(&format!("{ok}\nprice_per_1000 = {{ geetest = \"2.9999995\" }}")),            &["line 5: account \"prod\": price_per_1000: geetest: \"2.9999995\" has more than 6 decimals; the price per solve (a thousandth of it) would not be exact"]),
        (account(&format!("{ok}\nprice_per_1000 = {{ geetest = true }}")),                      &["line 5: account \"prod\": price_per_1000: ", "invalid type: boolean `true`"]),
        (account(&format!("{ok}\nprice_per_1000 = \"2.99\"")),                                 &["line 5: account \"prod\": price_per_1000: invalid type: string \"2.99\", expected a table of captcha type to USD per 1,000 solves"]),
        // The whole file is one shape: a broken [[webhook]] table stops it too.
        (bad_webhook,                                                                      &["line 6: webhook #1: format: "]),
    ];
    for (text, fragments) in &cases {
        let error = parse(text).expect_err(text).to_string();
        assert!(
            in_order(&error, "accounts.toml: ", fragments),
            "{text}\n got: {error}\nwant: {fragments:?}"
        );
        assert_eq!(error.lines().count(), 1, "one line: {error}");
        for key in [HEX, HEX2, TOKEN] {
            assert!(!error.contains(key), "the key is in {error:?}");
        }
    }
}

/// True when `text` starts with `prefix` and holds `fragments` after it, in order.
fn in_order(text: &str, prefix: &str, fragments: &[&str]) -> bool {
    let Some(mut rest) = text.strip_prefix(prefix) else {
        return false;
    };
    for (i, fragment) in fragments.iter().enumerate() {
        // The first fragment follows the prefix at once.
        match rest.find(fragment) {
            Some(at) if i > 0 || at == 0 => rest = &rest[at + fragment.len()..],
            _ => return false,
        }
    }
    true
}

/// `--config` beats `CAPTCHAAI_API_KEY`; `--upstream` moves the first account; no file and
/// no key is mock mode; a missing file is one line.
#[test]
fn flags_pick_the_accounts() {
    let dir = std::env::temp_dir().join(format!("cab-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("accounts.toml");
    std::fs::write(
        &file,
        "[[account]]\nname = \"a\"\nprovider = \"anticaptcha\"\nkey_env = \"PROD_KEY\"\n\n\
         [[account]]\nname = \"b\"\nprovider = \"capsolver\"\nkey_env = \"SOLVER_KEY\"\n",
    )
    .expect("write");
    let file_arg = file.to_str().expect("utf-8");
    let with_key = |name: &str| match name {
        "CAPTCHAAI_API_KEY" => Some(HEX2.to_string()),
        other => env(other),
    };

    let cli = Cli::try_parse_from([
        "x",
        "--config",
        file_arg,
        "--upstream",
        "http://127.0.0.1:9",
    ])
    .expect("flags");
    let Mode::Proxy(accounts) = Config::from_cli(&cli, with_key).expect("config").mode else {
        panic!("proxy mode");
    };
    let got: Vec<_> = accounts
        .iter()
        .map(|a| (a.name.as_str(), a.endpoint.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("a", "http://127.0.0.1:9/"),
            ("b", "https://api.capsolver.com/")
        ]
    );

    let cli = Cli::try_parse_from(["x"]).expect("flags");
    assert!(matches!(
        Config::from_cli(&cli, env).expect("config").mode,
        Mode::Mock
    ));

    let missing = dir.join("missing.toml");
    let cli =
        Cli::try_parse_from(["x", "--config", missing.to_str().expect("utf-8")]).expect("flags");
    let error = Config::from_cli(&cli, with_key)
        .expect_err("no file")
        .to_string();
    assert!(error.starts_with("cannot read "), "{error}");
    assert_eq!(error.lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
