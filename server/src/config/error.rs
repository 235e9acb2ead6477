//! The configuration's one error: why the server (or a command) cannot start, in one line that
//! names the file, the account and the field, never a key.
//!
//! A message may quote what the file or a flag said (a name, a variable's name, a field toml
//! did not know). Those come from whoever wrote the file, so every quoted value goes through
//! [`shown`] or [`bare`]: control characters (a newline that would start a second, made-up
//! line; `ESC [` sequences that would recolour or clear the operator's terminal) and the
//! characters that reorder text (bidi controls) are written escaped, and a value longer than
//! [`MAX_SHOWN`] characters is cut. The whole line is escaped once more when printed (a value
//! that reached a message some other way), so a config error is always one plain line.

use crate::secret::KeyError;
use std::fmt;

/// Why the server cannot start: one line, never a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(&self.0))
    }
}

impl std::error::Error for ConfigError {}

impl From<KeyError> for ConfigError {
    fn from(error: KeyError) -> ConfigError {
        ConfigError(error.to_string())
    }
}

/// The most characters of one quoted value a message shows.
pub const MAX_SHOWN: usize = 80;

/// A value from the file or a flag, quoted for a message: `"value"`, escaped, cut after
/// [`MAX_SHOWN`] characters (`"aaaa…" (200 characters)`).
pub fn shown(value: &str) -> String {
    let count = value.chars().count();
    let kept: String = value.chars().take(MAX_SHOWN).collect();
    if count > MAX_SHOWN {
        format!("\"{}…\" ({count} characters)", escape_quoted(&kept))
    } else {
        format!("\"{}\"", escape_quoted(&kept))
    }
}

/// The same without quotes, for a value that reads as a word of the sentence (an environment
/// variable's name, a file name): `value`, or `aaaa… (200 characters)`.
pub fn bare(value: &str) -> String {
    let count = value.chars().count();
    let kept: String = value.chars().take(MAX_SHOWN).collect();
    if count > MAX_SHOWN {
        format!("{}… ({count} characters)", escape(&kept))
    } else {
        escape(&kept)
    }
}

/// `text` with every value between backticks or double quotes cut after [`MAX_SHOWN`]
/// characters (toml and serde quote what the file said that way: ``unknown field `…` ``).
pub fn cut_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(1024));
    let mut rest = text;
    while let Some(open) = rest.find(['`', '"']) {
        let quote = rest[open..].chars().next().unwrap_or('"');
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find(quote) else {
            // An unclosed quote: the rest is one value.
            out.push_str(&cut(after));
            return out;
        };
        out.push_str(&cut(&after[..close]));
        out.push(quote);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

fn cut(value: &str) -> String {
    let count = value.chars().count();
    // A value [`shown`] cut already (a message of this crate that serde passed on) stays as it
    // is: cut again, it would count its own ellipsis.
    let cut_already = count == MAX_SHOWN + 1 && value.ends_with('…');
    if count > MAX_SHOWN && !cut_already {
        let kept: String = value.chars().take(MAX_SHOWN).collect();
        format!("{kept}… ({count} characters)")
    } else {
        value.to_string()
    }
}

/// True for the characters a message never prints as they are: control characters and the
/// bidi controls that reorder what a terminal shows.
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [`unprintable`] character escaped (`\n`, `\u{1b}`).
pub fn escape(text: &str) -> String {
    if !text.chars().any(unprintable) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unprintable(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`escape`], and `"` and `\` escaped too (inside a quoted value).
fn escape_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if unprintable(c) => out.extend(c.escape_debug()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_cut() {
        assert_eq!(shown("prod"), "\"prod\"");
        assert_eq!(
            shown("a\nerror: forged\u{1b}[2J\"\\"),
            "\"a\\nerror: forged\\u{1b}[2J\\\"\\\\\""
        );
        assert_eq!(shown("\u{202e}gnp.exe"), "\"\\u{202e}gnp.exe\"");
        let long = "x".repeat(200);
        assert_eq!(
            shown(&long),
            format!("\"{}…\" (200 characters)", "x".repeat(80))
        );
        assert_eq!(bare("KEY\tVAR"), "KEY\\tVAR");
        assert_eq!(bare(&long), format!("{}… (200 characters)", "x".repeat(80)));
        assert_eq!(
            cut_quoted(&format!("unknown field `{long}`, expected `name`")),
            format!(
                "unknown field `{}… (200 characters)`, expected `name`",
                "x".repeat(80)
            )
        );
        assert_eq!(cut_quoted("a \"b\" `c"), "a \"b\" `c");
        let quoted = format!("unknown type {}", shown(&long));
        assert_eq!(cut_quoted(&quoted), quoted, "cut once");
        assert_eq!(
            ConfigError("a\u{1b}[31mb\nc".into()).to_string(),
            "a\\u{1b}[31mb\\nc"
        );
        // Multi-byte characters are counted and cut as characters.
        let wide = "é".repeat(100);
        assert_eq!(
            shown(&wide),
            format!("\"{}…\" (100 characters)", "é".repeat(80))
        );
    }
}
