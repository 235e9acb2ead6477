//! Wire types: everything that crosses the JS boundary or is stored is declared once, with
//! [`wire_struct!`] or [`wire_enum!`]. The declaration gives the Rust type, its JSON writer,
//! its JSON reader and its field list; docs/ARCHITECTURE.md's "Wire types" section is generated
//! from the same list and a test keeps the two equal (tests/wire_contract.rs).
//!
//! Reading comes in two modes, named in each declaration:
//! - `strict`: every field must read, or the whole value is `None` (one history point, one
//!   error: a half-read one would be a lie);
//! - `lenient`: each field that is missing or unreadable keeps its default, so one bad part
//!   never costs the others (settings, monitor state: what a user would lose);
//! - `output`: written for JS, never read back (views): no reader at all.
//!
//! A field may name its own reader (`via path`), for values that need validation (an API key,
//! a threshold within bounds). Lists keep the items they can read and drop the others.

use crate::json::Json;
use crate::prelude::*;

/// A value that reads itself from JSON: `None` when absent or of the wrong shape.
pub trait FromJson: Sized {
    /// Reads `value`.
    fn from_json(value: &Json) -> Option<Self>;
}

/// How a wire type looks to JavaScript, for the generated contract in docs/ARCHITECTURE.md.
pub trait JsShape {
    /// `string`, `number`, `View`, `ErrorCode | null` …
    fn js_shape() -> String;
}

/// A declared wire type: its name and its JSON members in order.
pub trait Wire {
    /// The type's name in docs/ARCHITECTURE.md.
    const NAME: &'static str;
    /// Whether members a newer build wrote are kept and written back.
    const KEEPS_UNKNOWN: bool;
    /// `(member, JS shape)`, in the order they are written.
    fn members() -> Vec<(&'static str, String)>;
}

impl FromJson for bool {
    fn from_json(value: &Json) -> Option<Self> {
        value.as_bool()
    }
}

impl FromJson for i64 {
    fn from_json(value: &Json) -> Option<Self> {
        value.as_i64()
    }
}

impl FromJson for u32 {
    fn from_json(value: &Json) -> Option<Self> {
        value.as_i64().and_then(|n| u32::try_from(n).ok())
    }
}

impl FromJson for u64 {
    fn from_json(value: &Json) -> Option<Self> {
        value.as_i64().and_then(|n| u64::try_from(n).ok())
    }
}

impl FromJson for String {
    fn from_json(value: &Json) -> Option<Self> {
        value.as_str().map(str::to_string)
    }
}

/// `null` (or absent) reads as `Some(None)`: an optional member that is not there is fine.
impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: &Json) -> Option<Self> {
        match value {
            Json::Null => Some(None),
            v => T::from_json(v).map(Some),
        }
    }
}

/// A list keeps the items it can read.
impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Json) -> Option<Self> {
        let Json::Array(items) = value else {
            return None;
        };
        // A plain loop: filter_map/collect instantiated an iterator per item type (610 bytes
        // more in all, measured).
        let mut kept = Vec::new();
        for item in items {
            if let Some(v) = T::from_json(item) {
                kept.push(v);
            }
        }
        Some(kept)
    }
}

macro_rules! js_shape {
    ($($ty:ty => $shape:literal),* $(,)?) => {
        $(impl JsShape for $ty {
            fn js_shape() -> String {
                $shape.to_string()
            }
        })*
    };
}

js_shape! {
    bool => "boolean",
    i64 => "number",
    u32 => "number",
    u64 => "number",
    String => "string",
    &'static str => "string",
}

impl<T: JsShape> JsShape for Option<T> {
    fn js_shape() -> String {
        format!("{} | null", T::js_shape())
    }
}

impl<T: JsShape> JsShape for Vec<T> {
    fn js_shape() -> String {
        let item = T::js_shape();
        if item.contains(' ') {
            format!("({item})[]")
        } else {
            format!("{item}[]")
        }
    }
}

/// Reads one member: with the field's own reader when it names one, else [`FromJson`].
#[doc(hidden)]
#[macro_export]
macro_rules! wire_read {
    ($ty:ty, $value:expr) => {
        <$ty as $crate::wire::FromJson>::from_json($value)
    };
    ($ty:ty, $value:expr, $reader:path) => {
        $reader($value)
    };
}

/// Declares a wire struct: the struct, `ToJson`, `FromJson` (`strict` or `lenient`, see the
/// module doc) and [`Wire`]. `derived { "key": |s| expr }` adds members that are written
/// but never read back (a value JS wants in two units, say).
///
/// ```ignore
/// wire_struct! {
///     /// A balance read from the API.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub struct Reading strict {
///         /// The balance.
///         balance: Money = "balance",
///         /// When it was read (epoch ms).
///         at: i64 = "at",
///     }
/// }
/// ```
#[macro_export]
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident $mode:ident $(keeps $extra:ident)? {
            $(
                $(#[$field_meta:meta])*
                $field:ident : $ty:ty = $key:literal $(via $reader:path)?
            ),* $(,)?
        }
        $(derived { $($dkey:literal : $dty:ty = |$dself:ident| $dexpr:expr),* $(,)? })?
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[$field_meta])*
                pub $field: $ty,
            )*
            $(
                /// Members written by a newer build, kept as they are and written back.
                pub $extra: Vec<(String, $crate::json::Json)>,
            )?
        }

        impl $crate::json::ToJson for $name {
            fn write_json(&self, out: &mut String) {
                $crate::json::object(out)
                    $(.field($key, &self.$field))*
                    $($(.field($dkey, &{
                        let $dself = self;
                        let derived: $dty = $dexpr;
                        derived
                    }))*)?
                    $(.extra(&self.$extra))?
                    .end();
            }
        }

        $crate::wire_struct!(@from_json $mode $name
            { $($field : $ty = $key $(via $reader)?),* }
            { $($extra)? }
            [ $($key,)* $($($dkey,)*)? ]);

        impl $crate::wire::JsShape for $name {
            fn js_shape() -> String {
                stringify!($name).to_string()
            }
        }

        impl $crate::wire::Wire for $name {
            const NAME: &'static str = stringify!($name);
            const KEEPS_UNKNOWN: bool = $crate::wire_struct!(@keeps $($extra)?);
            fn members() -> Vec<(&'static str, String)> {
                vec![
                    $(($key, <$ty as $crate::wire::JsShape>::js_shape()),)*
                    $($(($dkey, <$dty as $crate::wire::JsShape>::js_shape()),)*)?
                ]
            }
        }
    };

    // `output` types (what views return) are written, never read back: no reader.
    (@from_json output $($rest:tt)*) => {};
    (@from_json $mode:ident $name:ident $fields:tt $extra:tt $known:tt) => {
        impl $crate::wire::FromJson for $name {
            fn from_json(value: &$crate::json::Json) -> Option<Self> {
                $crate::wire_struct!(@read $mode $name value $fields $extra $known)
            }
        }
    };

    (@keeps) => { false };
    (@keeps $extra:ident) => { true };

    (@read strict $name:ident $value:ident
        { $($field:ident : $ty:ty = $key:literal $(via $reader:path)?),* } { $($extra:ident)? } [ $($known:literal,)* ]) => {{
        let _known: &[&str] = &[$($known),*];
        Some($name {
            $($field: $crate::wire_read!($ty, $value.get($key) $(, $reader)?)?,)*
            $($extra: $crate::json::unknown_members($value, _known),)?
        })
    }};

    (@read lenient $name:ident $value:ident
        { $($field:ident : $ty:ty = $key:literal $(via $reader:path)?),* } { $($extra:ident)? } [ $($known:literal,)* ]) => {{
        if !matches!($value, $crate::json::Json::Object(_)) {
            return None;
        }
        // The defaults, then each member that reads over its default: building the struct
        // from `read.unwrap_or(default)` per member measured 804 bytes more (each unused
        // default was dropped member by member; docs/ARCHITECTURE.md, "Size").
        let mut read = <$name as Default>::default();
        let _known: &[&str] = &[$($known),*];
        $(if let Some(v) = $crate::wire_read!($ty, $value.get($key) $(, $reader)?) {
            read.$field = v;
        })*
        $(read.$extra = $crate::json::unknown_members($value, _known);)?
        Some(read)
    }};
}

/// Declares a string enum: the enum, its stable names, `ToJson`, `FromJson` and [`JsShape`]
/// (`"ok" | "low" | …`).
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $text:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $(
                $(#[$variant_meta])*
                $variant,
            )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// Every stable name, in declaration order.
            const NAMES: &'static [&'static str] = &[$($text),*];

            /// The stable name.
            pub fn as_str(self) -> &'static str {
                Self::NAMES[self as usize]
            }

            /// The value with this stable name.
            pub fn from_name(name: &str) -> Option<$name> {
                $crate::wire::name_index(Self::NAMES, name).map(|i| Self::ALL[i])
            }
        }

        impl $crate::json::ToJson for $name {
            fn write_json(&self, out: &mut String) {
                $crate::json::ToJson::write_json(self.as_str(), out);
            }
        }

        impl $crate::wire::FromJson for $name {
            fn from_json(value: &$crate::json::Json) -> Option<Self> {
                value.as_str().and_then($name::from_name)
            }
        }

        impl $crate::wire::JsShape for $name {
            fn js_shape() -> String {
                let names: &[&str] = &[$(concat!("\"", $text, "\"")),*];
                names.join(" | ")
            }
        }
    };
}

/// Where `name` is in `names`: one search for every [`wire_enum!`], where a search per enum
/// over its values measured bigger (docs/ARCHITECTURE.md, "Size").
#[doc(hidden)]
pub fn name_index(names: &[&str], name: &str) -> Option<usize> {
    names.iter().position(|n| *n == name)
}

/// One declared type for the contract: its name, `(member, JS shape)` list, and whether it
/// keeps a newer build's members.
pub type Described = (&'static str, Vec<(&'static str, String)>, bool);

/// The name and members of a wire type, for [`contract_text`].
pub fn describe<T: Wire>() -> Described {
    (T::NAME, T::members(), T::KEEPS_UNKNOWN)
}

/// The "Wire types" block of docs/ARCHITECTURE.md: one `Name = { member: shape, … }` a struct,
/// then one `Name = "a" | "b" …` a string enum.
pub fn contract_text(types: &[Described], enums: &[(&str, Vec<&str>)]) -> String {
    let mut out = String::from("```\n");
    for (name, members, keeps_unknown) in types {
        out.push_str(name);
        out.push_str(" = {\n");
        for (member, shape) in members {
            out.push_str("  ");
            out.push_str(member);
            out.push_str(": ");
            out.push_str(shape);
            out.push_str(",\n");
        }
        if *keeps_unknown {
            out.push_str("  ...members of a newer build, kept\n");
        }
        out.push_str("}\n");
    }
    for (name, names) in enums {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        out.push_str(name);
        out.push_str(" = ");
        out.push_str(&quoted.join(" | "));
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::ToJson;

    wire_enum! {
        /// A test enum.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Colour {
            /// Red.
            Red = "red",
            /// Dark blue.
            DarkBlue = "dark_blue",
        }
    }

    fn positive(value: &Json) -> Option<i64> {
        value.as_i64().filter(|n| *n > 0)
    }

    wire_struct! {
        /// Every member must read.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Point strict {
            /// When.
            at: i64 = "at",
            /// A colour.
            colour: Colour = "colour",
            /// Optional.
            note: Option<String> = "note",
        }
    }

    wire_struct! {
        /// Each member falls back on its own.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Form lenient keeps extra {
            /// Must be positive.
            count: i64 = "count" via positive,
            /// A flag.
            on: bool = "on",
            /// Points.
            points: Vec<Point> = "points",
        }
        derived { "double": i64 = |s| s.count * 2 }
    }

    impl Default for Form {
        fn default() -> Self {
            Form {
                count: 7,
                on: true,
                points: Vec::new(),
                extra: Vec::new(),
            }
        }
    }

    fn read<T: FromJson>(text: &str) -> Option<T> {
        T::from_json(&Json::parse(text).unwrap())
    }

    #[test]
    fn strict_structs_read_whole_or_not_at_all() {
        #[rustfmt::skip]
        let cases: &[(&str, Option<Point>)] = &[
            (r#"{"at":5,"colour":"red"}"#,                 Some(Point { at: 5, colour: Colour::Red, note: None })),
            (r#"{"at":5,"colour":"dark_blue","note":"x"}"#, Some(Point { at: 5, colour: Colour::DarkBlue, note: Some("x".into()) })),
            (r#"{"at":5,"colour":"green"}"#,               None),
            (r#"{"at":"5","colour":"red"}"#,               None),
            (r#"{"colour":"red"}"#,                        None),
            (r#"{"at":5,"colour":"red","note":3}"#,        None),
            ("[]",                                         None),
        ];
        for (text, want) in cases {
            assert_eq!(&read::<Point>(text), want, "{text}");
        }
    }

    #[test]
    fn lenient_structs_keep_what_reads() {
        // (text, read as (count, on, points read))
        type Case = (&'static str, Option<(i64, bool, usize)>);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            (r#"{"count":3,"on":false,"points":[]}"#,                                         Some((3, false, 0))),
            (r#"{"count":-3,"on":false}"#,                                                    Some((7, false, 0))),
            (r#"{"count":"x","on":1}"#,                                                       Some((7, true, 0))),
            (r#"{"points":[{"at":1,"colour":"red"},{"at":"bad"},{"at":2,"colour":"red"}]}"#, Some((7, true, 2))),
            ("{}",                                                                            Some((7, true, 0))),
            ("null",                                                                          None),
            ("[1]",                                                                           None),
        ];
        for (text, want) in cases {
            let got = read::<Form>(text).map(|f| (f.count, f.on, f.points.len()));
            assert_eq!(got, *want, "{text}");
        }
    }

    #[test]
    fn writes_what_it_reads_plus_derived_members() {
        let form = Form {
            count: 4,
            on: false,
            points: vec![Point {
                at: 1,
                colour: Colour::DarkBlue,
                note: None,
            }],
            extra: Vec::new(),
        };
        let text = form.to_json();
        assert_eq!(
            text,
            r#"{"count":4,"on":false,"points":[{"at":1,"colour":"dark_blue","note":null}],"double":8}"#
        );
        assert_eq!(read::<Form>(&text), Some(form));
        // What a newer build wrote comes back after the known members; derived ones are known.
        let newer = r#"{"count":4,"future":{"a":[1]},"double":99,"on":true}"#;
        let read_back = read::<Form>(newer).unwrap();
        assert_eq!(read_back.extra.len(), 1);
        assert_eq!(
            read_back.to_json(),
            r#"{"count":4,"on":true,"points":[],"double":8,"future":{"a":[1]}}"#
        );
    }

    #[test]
    fn describes_itself_for_the_docs() {
        assert_eq!(Form::NAME, "Form");
        let members: Vec<(&str, String)> = Form::members();
        #[rustfmt::skip]
        let want: &[(&str, &str)] = &[
            ("count",  "number"),
            ("on",     "boolean"),
            ("points", "Point[]"),
            ("double", "number"),
        ];
        let got: Vec<(&str, &str)> = members.iter().map(|(k, s)| (*k, s.as_str())).collect();
        assert_eq!(got, want);
        assert_eq!(Colour::js_shape(), r#""red" | "dark_blue""#);
        assert_eq!(
            <Option<Vec<Colour>>>::js_shape(),
            r#"("red" | "dark_blue")[] | null"#
        );
        assert_eq!(Colour::from_name("dark_blue"), Some(Colour::DarkBlue));
        assert_eq!(Colour::ALL.len(), 2);
        assert_eq!(
            contract_text(&[describe::<Point>()], &[("Colour", vec!["red", "dark_blue"])]),
            "```\nPoint = {\n  at: number,\n  colour: \"red\" | \"dark_blue\",\n  note: string | null,\n}\nColour = \"red\" | \"dark_blue\"\n```\n"
        );
    }
}
