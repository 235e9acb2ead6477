//! JSON in and out of the core: API answers, stored state, forms, and what the JS API returns.
//!
//! Why not serde: measured in the wasm module, serde_json's deserializer alone was half of the
//! binary (its error messages pull in float formatting and Debug escaping), and serde's derive
//! code with any serializer another 15 KB; the budget is 120 KB. Serde would also turn numbers
//! into `f64`, while a balance must keep its exact digits. This reader keeps numbers as their
//! text, bounds depth, and never panics; [`ToJson`] writes the few shapes the core returns.

use crate::prelude::*;
/// Nesting deeper than this is not data we wrote or an API answer.
const MAX_DEPTH: usize = 32;

/// A parsed JSON value. Numbers keep their source text (`"12.345"`, `"1e309"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object; keys in source order (the last duplicate wins on lookup).
    Object(Vec<(String, Json)>),
}

/// The text is not JSON (or, for [`Json::parse`], nests deeper than 32 levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError;

/// Null, shared so lookups on missing keys can return a reference.
pub static NULL: Json = Json::Null;

impl Json {
    /// Parses a whole document; trailing non-space text is an error, and so is nesting
    /// deeper than 32 levels (an API answer that deep is not an answer).
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        Json::parse_with(text, false)
    }

    /// Parses stored data: a value nested deeper than 32 levels becomes `null` (skipped
    /// without recursion) instead of failing the document, so one over-deep unknown field
    /// never costs the settings and history around it. Bad JSON is still an error.
    pub fn parse_stored(text: &str) -> Result<Json, JsonError> {
        Json::parse_with(text, true)
    }

    fn parse_with(text: &str, skip_deep: bool) -> Result<Json, JsonError> {
        let mut p = Parser {
            text,
            s: text.as_bytes(),
            i: 0,
            skip_deep,
        };
        let v = p.value(0)?;
        p.ws();
        if p.i == p.s.len() {
            Ok(v)
        } else {
            Err(JsonError)
        }
    }

    /// The member `key` of an object, or `Null`.
    pub fn get(&self, key: &str) -> &Json {
        match self {
            Json::Object(members) => members
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map_or(&NULL, |(_, v)| v),
            _ => &NULL,
        }
    }

    /// True unless `Null`.
    pub fn is_present(&self) -> bool {
        !matches!(self, Json::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A string's text or a number's digits (form fields arrive as either).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Json::String(s) | Json::Number(s) => Some(s),
            _ => None,
        }
    }

    /// A whole number written as an integer (JSON.stringify writes integral numbers so).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => parse_i64(n),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> &[Json] {
        match self {
            Json::Array(items) => items,
            _ => &[],
        }
    }
}

struct Parser<'a> {
    /// The document; `s` is its bytes. Runs are cut from the `str` with `get` (every cut is
    /// next to an ASCII byte): `str::from_utf8` on the bytes linked 686 bytes of validation.
    text: &'a str,
    s: &'a [u8],
    i: usize,
    /// Replace too-deep values with `null` instead of failing.
    skip_deep: bool,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Steps over `word` if it comes next.
    fn literal(&mut self, word: &[u8]) -> bool {
        let found = self.s.get(self.i..self.i + word.len()) == Some(word);
        if found {
            self.i += word.len();
        }
        found
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return if self.skip_deep {
                self.skip().map(|_| Json::Null)
            } else {
                Err(JsonError)
            };
        }
        self.ws();
        match self.s.get(self.i).ok_or(JsonError)? {
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(JsonError);
                        }
                    }
                }
                Ok(Json::Array(items))
            }
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        if self.s.get(self.i) != Some(&b'"') {
                            return Err(JsonError);
                        }
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(JsonError);
                        }
                        members.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(JsonError);
                        }
                    }
                }
                Ok(Json::Object(members))
            }
            _ => self.scalar(),
        }
    }

    fn scalar(&mut self) -> Result<Json, JsonError> {
        self.ws();
        match self.s.get(self.i).ok_or(JsonError)? {
            b'n' if self.literal(b"null") => Ok(Json::Null),
            b't' if self.literal(b"true") => Ok(Json::Bool(true)),
            b'f' if self.literal(b"false") => Ok(Json::Bool(false)),
            b'"' => self.string().map(Json::String),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(JsonError),
        }
    }

    /// `"key":` inside an object.
    fn key(&mut self) -> Result<(), JsonError> {
        self.ws();
        if self.s.get(self.i) != Some(&b'"') {
            return Err(JsonError);
        }
        self.string()?;
        if self.eat(b':') {
            Ok(())
        } else {
            Err(JsonError)
        }
    }

    /// Checks and steps over one value of any depth with a heap stack of closing brackets
    /// instead of recursion.
    fn skip(&mut self) -> Result<(), JsonError> {
        let mut closers: Vec<u8> = Vec::new();
        loop {
            if self.eat(b'[') {
                if !self.eat(b']') {
                    closers.push(b']');
                    continue;
                }
            } else if self.eat(b'{') {
                if !self.eat(b'}') {
                    closers.push(b'}');
                    self.key()?;
                    continue;
                }
            } else {
                self.scalar()?;
            }
            // One value done: close what ends here, then expect the next member.
            loop {
                let Some(&close) = closers.last() else {
                    return Ok(());
                };
                if self.eat(close) {
                    closers.pop();
                    continue;
                }
                if !self.eat(b',') {
                    return Err(JsonError);
                }
                if close == b'}' {
                    self.key()?;
                }
                break;
            }
        }
    }

    /// A number token, checked against the JSON grammar (so `NaN`, `Infinity`, `01` and `1.`
    /// are errors) and kept as text.
    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - from
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.s.get(int_start) == Some(&b'0')) {
            return Err(JsonError);
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(JsonError);
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(JsonError);
            }
        }
        let text = self.text.get(start..self.i).ok_or(JsonError)?;
        Ok(Json::Number(text.to_string()))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let hex = self.s.get(self.i..self.i + 4).ok_or(JsonError)?;
        self.i += 4;
        hex.iter().try_fold(0, |acc, b| {
            Ok(acc * 16 + (*b as char).to_digit(16).ok_or(JsonError)?)
        })
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while self
                .s
                .get(self.i)
                .is_some_and(|b| !matches!(b, b'"' | b'\\') && *b >= 0x20)
            {
                self.i += 1;
            }
            out.push_str(self.text.get(start..self.i).ok_or(JsonError)?);
            match self.s.get(self.i).ok_or(JsonError)? {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let esc = *self.s.get(self.i + 1).ok_or(JsonError)?;
                    self.i += 2;
                    let c = match esc {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            // A lone surrogate is valid JSON text (JSON.stringify writes one
                            // for a lone UTF-16 half) but no character: it reads as U+FFFD, as
                            // a browser decodes it, so one odd string never costs a document.
                            let hi = self.hex4()?;
                            let mut code = hi;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.s.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                let before_low = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                } else {
                                    // Not a pair: that escape is read on its own next.
                                    self.i = before_low;
                                }
                            }
                            char::from_u32(code).unwrap_or('\u{FFFD}')
                        }
                        _ => return Err(JsonError),
                    };
                    out.push(c);
                }
                _ => return Err(JsonError), // raw control character
            }
        }
    }
}

/// A value that writes itself as JSON text.
pub trait ToJson {
    /// Appends the JSON text to `out`.
    fn write_json(&self, out: &mut String);

    /// The JSON text. Not in the trait object's vtable (`Self: Sized`): every field type is
    /// written through `&dyn ToJson`, and a vtable slot each cost the .wasm 85 bytes per type
    /// (docs/ARCHITECTURE.md, "Size"); [`to_json_text`] serves trait objects.
    fn to_json(&self) -> String
    where
        Self: Sized,
    {
        to_json_text(self)
    }
}

/// The JSON text of any value, trait objects included.
pub fn to_json_text(value: &dyn ToJson) -> String {
    let mut out = String::new();
    value.write_json(&mut out);
    out
}

/// Writes one object: `object(out).field("a", &a).field("b", &b).end()`.
///
/// Only the output string: a member writes its comma unless the object was just opened (no
/// JSON value ends with `{`). A `first` flag beside it made every `field` call return the
/// writer through memory, about 10 bytes more per call at 160 calls (docs/ARCHITECTURE.md,
/// "Size").
pub struct ObjectWriter<'a> {
    out: &'a mut String,
}

/// Starts an object.
pub fn object(out: &mut String) -> ObjectWriter<'_> {
    out.push('{');
    ObjectWriter { out }
}

impl ObjectWriter<'_> {
    /// One member.
    pub fn field(self, key: &str, value: &dyn ToJson) -> Self {
        if self.out.as_bytes().last() != Some(&b'{') {
            self.out.push(',');
        }
        key.write_json(self.out);
        self.out.push(':');
        value.write_json(self.out);
        self
    }

    /// Members kept from a newer build ([`unknown_members`]), after the known ones.
    pub fn extra(mut self, members: &[(String, Json)]) -> Self {
        for (k, v) in members {
            self = self.field(k, v);
        }
        self
    }

    /// Closes the object.
    pub fn end(self) {
        self.out.push('}');
    }
}

impl ToJson for str {
    /// Copies runs of plain bytes whole: a char-by-char copy made JSON writing the largest
    /// cost of `view` (sparklines are long strings). Every byte that needs an escape is ASCII,
    /// so the runs end on char boundaries.
    fn write_json(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.reserve(self.len() + 2);
        out.push('"');
        let mut start = 0;
        for (i, b) in self.bytes().enumerate() {
            let short = match b {
                b'"' | b'\\' => b,
                b'\n' => b'n',
                b'\r' => b'r',
                b'\t' => b't',
                0..=0x1f => b'u',
                _ => continue,
            };
            out.push_str(self.get(start..i).unwrap_or_default());
            out.push('\\');
            out.push(char::from(short));
            if short == b'u' {
                out.push_str("00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
            start = i + 1;
        }
        out.push_str(self.get(start..).unwrap_or_default());
        out.push('"');
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        self.as_str().write_json(out);
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl ToJson for i64 {
    fn write_json(&self, out: &mut String) {
        push_i64(out, *self);
    }
}

impl ToJson for u64 {
    fn write_json(&self, out: &mut String) {
        push_u64(out, *self);
    }
}

/// Appends `n` in decimal. The core writes every number with these few lines instead of
/// `to_string`/`format!`: core::fmt's Display code for each integer type, its padding and
/// `format!` itself cost the module over 2 KB (docs/ARCHITECTURE.md, "Size").
pub fn push_u64(out: &mut String, n: u64) {
    push_padded(out, n, 1);
}

/// Appends `n` in decimal with at least `width` digits, zeros in front (`width` up to 20).
pub fn push_padded(out: &mut String, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while start > 0 && (n > 0 || digits.len() - start < width.max(1)) {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for &d in digits.iter().skip(start) {
        out.push(char::from(d));
    }
}

/// Appends `n` in decimal, `-` in front when negative.
pub fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

/// A whole number as `str::parse::<i64>` reads it (an optional sign, then ASCII digits, no
/// overflow), in a few lines instead of std's generic integer parser.
pub fn parse_i64(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text.as_bytes()),
    };
    if digits.is_empty() {
        return None;
    }
    // Counted below zero, so i64::MIN fits.
    let mut n: i64 = 0;
    for &b in digits {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_sub(i64::from(digit))?;
    }
    if negative {
        Some(n)
    } else {
        n.checked_neg()
    }
}

/// `text` around the first byte `found` accepts, which must be ASCII (so both sides are
/// text): a byte scan where `split_once`/`split`/`contains` with a char pattern link core's
/// char searchers and memchr (docs/ARCHITECTURE.md, "Size").
pub fn split_at_ascii(text: &str, found: impl Fn(u8) -> bool) -> Option<(&str, &str)> {
    let i = text.bytes().position(found)?;
    Some((text.get(..i)?, text.get(i + 1..)?))
}

/// `text` without the copies of the ASCII byte `end` it ends with: a byte loop where
/// `trim_end_matches` with a char links core's reverse char decoder.
pub fn trim_end_ascii(text: &str, end: u8) -> &str {
    let mut len = text.len();
    while len > 0 && text.as_bytes().get(len - 1) == Some(&end) {
        len -= 1;
    }
    text.get(..len).unwrap_or(text)
}

/// The parts one after the other: a plain loop, where `[..].concat()` links std's generic
/// join (about 400 bytes) and `format!` core::fmt.
pub fn cat(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        out.push_str(part);
    }
    out
}

/// `n` in decimal.
pub fn u64_text(n: u64) -> String {
    let mut out = String::with_capacity(20);
    push_u64(&mut out, n);
    out
}

impl ToJson for u32 {
    fn write_json(&self, out: &mut String) {
        u64::from(*self).write_json(out);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(v) => v.write_json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_json(out);
        }
        out.push(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        self.as_slice().write_json(out);
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, out: &mut String) {
        (**self).write_json(out);
    }
}

/// A value read earlier, written back as it was (numbers keep their digits).
impl ToJson for Json {
    fn write_json(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => b.write_json(out),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => s.write_json(out),
            Json::Array(items) => items.write_json(out),
            Json::Object(members) => members.as_slice().write_json(out),
        }
    }
}

/// The members of `value` whose names are not in `known`: what a newer build stored, kept so
/// that writing from this build loses nothing (see [`ObjectWriter::extra`]).
pub fn unknown_members(value: &Json, known: &[&str]) -> Vec<(String, Json)> {
    let mut kept = Vec::new();
    if let Json::Object(members) = value {
        for (key, member) in members {
            if !known.contains(&key.as_str()) {
                kept.push((key.clone(), member.clone()));
            }
        }
    }
    kept
}

/// Pairs written as one object (`{"k": "v", …}`), in order.
impl<K: AsRef<str>, V: ToJson> ToJson for [(K, V)] {
    fn write_json(&self, out: &mut String) {
        let mut o = object(out);
        for (k, v) in self {
            o = o.field(k.as_ref(), v);
        }
        o.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[rustfmt::skip]
    fn writes_integers_as_std_does() {
        let cases: [(u64, usize); 9] = [
            (0, 1),
            (0, 2),
            (7, 2),
            (42, 2),
            (123, 2),
            (5, 9),
            (123_456_789, 9),
            (u64::MAX, 1),
            (u64::MAX, 20),
        ];
        for (n, width) in cases {
            let mut out = String::from("x");
            push_padded(&mut out, n, width);
            assert_eq!(out, format!("x{n:0width$}"), "{n} {width}");
        }
        for n in [0, 9, 10, -1, -10, i64::MIN, i64::MAX] {
            let mut out = String::new();
            push_i64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        assert_eq!(u64_text(1_000), "1000");
        assert_eq!(cat(&["a", "", "bc"]), "abc");
        assert_eq!(cat(&[]), "");
        let dot = |b| b == b'.';
        assert_eq!(split_at_ascii("1.5.2", dot), Some(("1", "5.2")));
        assert_eq!(split_at_ascii("é.ü", dot), Some(("é", "ü")));
        assert_eq!(split_at_ascii(".", dot), Some(("", "")));
        assert_eq!(split_at_ascii("15", dot), None);
        for text in ["", "/", "a//", "é/", "a/b", "//a"] {
            assert_eq!(trim_end_ascii(text, b'/'), text.trim_end_matches('/'), "{text}");
        }
    }

    #[test]
    fn reads_integers_as_std_does() {
        let cases = [
            "0",
            "7",
            "-7",
            "+7",
            "007",
            "-0",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "",
            "-",
            "+",
            "+-1",
            "1.5",
            "1e3",
            " 1",
            "1 ",
            "١",
            "0x10",
            "12a",
        ];
        for text in cases {
            assert_eq!(parse_i64(text), text.parse::<i64>().ok(), "{text:?}");
        }
    }

    #[test]
    fn writes_json_that_reads_back() {
        let mut out = String::new();
        let text = "quote \" backslash \\ newline \n bell \u{7} é";
        object(&mut out)
            .field("s", &text)
            .field("n", &-42_i64)
            .field("b", &true)
            .field("none", &None::<u64>)
            .field("list", &vec![1_u64, 2])
            .field("pairs", &&[("a", "x")][..])
            .end();
        assert_eq!(
            out,
            r#"{"s":"quote \" backslash \\ newline \n bell \u0007 é","n":-42,"b":true,"none":null,"list":[1,2],"pairs":{"a":"x"}}"#
        );
        let back = Json::parse(&out).unwrap();
        assert_eq!(back.get("s").as_str(), Some(text));
        assert_eq!(to_json_text(&"\r\t\u{8}\u{1f}x"), r#""\r\t\u0008\u001fx""#);
        let controls: String = (0..0x20_u8).map(char::from).collect();
        assert_eq!(Json::parse(&controls.to_json()), Ok(Json::String(controls)));
        assert_eq!(back.get("n").as_i64(), Some(-42));
    }

    #[test]
    fn parses_documents() {
        let v = Json::parse(r#" {"status":1, "request":"12.345", "n": -1.5e3, "a":[true,false,null,{}], "s":"\u00e9\ud83d\ude00\n\"", "status":2} "#).unwrap();
        assert_eq!(v.get("request").as_str(), Some("12.345"));
        assert_eq!(v.get("n"), &Json::Number("-1.5e3".into()));
        assert_eq!(v.get("status").as_i64(), Some(2), "last duplicate wins");
        assert_eq!(v.get("a").as_array().len(), 4);
        assert_eq!(v.get("s").as_str(), Some("é😀\n\""));
        assert_eq!(v.get("missing"), &Json::Null);
        assert_eq!(
            Json::parse("1800000000000").unwrap().as_i64(),
            Some(1_800_000_000_000)
        );
        assert_eq!(Json::parse("1.5").unwrap().as_i64(), None);
    }

    #[test]
    fn lone_surrogates_read_as_the_replacement_character() {
        #[rustfmt::skip]
        let cases = [
            (r#""\ud800""#,              "\u{FFFD}"),
            (r#""a\udc00b""#,            "a\u{FFFD}b"),
            (r#""\ud800\u0041""#,        "\u{FFFD}A"),
            (r#""\ud83d\ude00""#,        "\u{1F600}"),
            (r#""\ud800\ud83d\ude00""#,  "\u{FFFD}\u{1F600}"),
        ];
        for (text, want) in cases {
            assert_eq!(Json::parse(text), Ok(Json::String(want.into())), "{text}");
            assert_eq!(
                Json::parse_stored(text),
                Ok(Json::String(want.into())),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_json() {
        let deep = "[".repeat(40) + &"]".repeat(40);
        for bad in [
            "",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "[1,]",
            "NaN",
            "Infinity",
            "-Infinity",
            "01",
            "1.",
            ".5",
            "1e",
            "+1",
            "\"abc",
            "\"\\x\"",
            "\"\\ud800",
            "tru",
            "{a:1}",
            "1 2",
            "\"a\u{1}b\"",
            &deep,
        ] {
            assert_eq!(Json::parse(bad), Err(JsonError), "{bad:?}");
        }
    }

    #[test]
    fn stored_documents_skip_what_is_too_deep() {
        let deep = |n: usize| "[".repeat(n) + "1" + &"]".repeat(n);
        let doc = format!(
            r#"{{"keep":"yes","deep":{{"x":{}}},"obj":{},"after":[1,2]}}"#,
            deep(40),
            "{\"a\":".repeat(40) + "{}" + &"}".repeat(40)
        );
        assert_eq!(Json::parse(&doc), Err(JsonError), "API answers stay strict");
        let v = Json::parse_stored(&doc).unwrap();
        assert_eq!(v.get("keep").as_str(), Some("yes"));
        assert_eq!(v.get("after").as_array().len(), 2);
        // The value at depth 33 is replaced by null; the levels above it are kept (the root
        // is depth 0, "x" depth 2).
        let mut at = v.get("deep").get("x");
        for _ in 0..30 {
            at = &at.as_array()[0];
        }
        assert_eq!(at, &Json::Array(vec![Json::Null]));
        assert!(v.get("obj").is_present());
        // Skipping still checks the grammar, and a million levels do not recurse.
        for bad in [
            format!(r#"{{"x":{}"#, "[".repeat(40)),
            format!(r#"{{"x":{}1,]{}}}"#, "[".repeat(40), "]".repeat(39)),
            format!(r#"{{"x":{}{{"a" 1}}{}}}"#, "[".repeat(40), "]".repeat(40)),
            format!(r#"{{"x":{}tru{}}}"#, "[".repeat(40), "]".repeat(40)),
        ] {
            assert_eq!(Json::parse_stored(&bad), Err(JsonError), "{bad}");
        }
        let huge = format!(r#"{{"k":1,"x":{}}}"#, deep(1_000_000));
        assert_eq!(
            Json::parse_stored(&huge).unwrap().get("k").as_i64(),
            Some(1)
        );
    }

    #[test]
    fn values_write_back_as_read() {
        let text = r#"{"a":[1.50,"x\"y",null,true,{"b":-2e3}],"c":{}}"#;
        assert_eq!(Json::parse(text).unwrap().to_json(), text);
        let v = Json::parse(r#"{"known":1,"new":{"x":[1]},"later":"v"}"#).unwrap();
        let extra = unknown_members(&v, &["known"]);
        let mut out = String::new();
        object(&mut out).field("known", &2_u32).extra(&extra).end();
        assert_eq!(out, r#"{"known":2,"new":{"x":[1]},"later":"v"}"#);
    }
}
