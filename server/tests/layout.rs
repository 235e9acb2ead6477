//! The server's modules form layers: no top-level module of server/src (a file such as
//! `clock.rs` or a folder such as `http/`) may use one that uses it back, directly or through
//! others. With a circle, neither side can be read, tested or moved without the other (config
//! once used the webhook and serve modules, which used config; state used everything).
//!
//! The test reads every `.rs` file under server/src, maps each path that starts with `crate::`,
//! `super::` or `self::` (in a `use` or in code; comments and string literals are skipped) to
//! the top-level module it names, builds the graph of top-level module -> top-level module
//! dependencies (a module's references to itself left out) and fails naming every circle, with
//! the line behind each step. lib.rs sits on top: it declares and uses every module, so a
//! module that names an item defined in lib.rs (`crate::SomeItem`) closes a circle through it.
//! main.rs is the binary, a crate of its own, and is not read.
//!
//! The layers, bottom-up, are described in server/README.md ("Source layout").

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// The crate root's node: lib.rs, which depends on every top-level module.
const ROOT: &str = "lib.rs";

#[test]
fn the_top_level_modules_form_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = read_tree(&src);
    assert!(
        files.iter().any(|(path, _)| path == "lib.rs") && files.len() > 10,
        "expected the server's sources in {}",
        src.display()
    );
    let graph = Graph::of(&files);
    assert!(
        graph.edge_count() > 0,
        "no dependency found: the reader is broken"
    );
    if let Some(report) = graph.circles() {
        panic!("import circle between the top-level modules of server/src:\n{report}");
    }
}

#[test]
fn a_circle_is_found_and_named() {
    let graph = Graph::of(&owned(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\npub mod d;\n"),
        (
            "a.rs",
            "use crate::b::B;\n// use crate::c::C;\nconst S: &str = \"crate::c::C\";\n",
        ),
        ("b/mod.rs", "mod inner;\npub struct B;\n"),
        ("b/inner.rs", "fn f() {\n    super::super::c::f();\n}\n"),
        (
            "c.rs",
            "use crate::{a::A as _, d::{self, D}};\npub fn f() {}\n",
        ),
        ("d.rs", "pub struct D;\n"),
    ]));
    assert!(graph.depends("c", "d"), "every item of a group counts");
    assert!(
        !graph.depends("a", "c"),
        "a comment and a string are no dependency"
    );
    assert!(
        graph.depends("b", "c"),
        "super::super:: from b/inner.rs reaches the root"
    );
    let report = graph.circles().expect("a -> b -> c -> a");
    assert!(report.contains("a.rs -> b/ -> c.rs -> a.rs"), "{report}");
    assert!(
        report.contains("b/inner.rs:2: super::super::c::f();"),
        "{report}"
    );
    assert!(
        report.contains("c.rs:1: use crate::{a::A as _, d::{self, D}};"),
        "{report}"
    );
}

#[test]
fn tests_modules_lifetimes_and_macros_are_read_right() {
    let graph = Graph::of(&owned(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a.rs",
            concat!(
                "use crate::b::X;\n",
                "fn f<'a>(x: &'a str) -> char { let _ = r#\"crate::b\"#; '\"' }\n",
                "#[cfg(test)]\n",
                "mod tests {\n",
                "    use super::*;\n",
                "    use super::super::b::Y;\n",
                "}\n",
                "pub fn g() { self::f(\"\"); }\n",
            ),
        ),
        (
            "b.rs",
            "pub struct X;\npub struct Y;\nmacro_rules! m { () => { $crate::a::g() } }\n",
        ),
    ]));
    assert!(graph.depends("a", "b"));
    assert!(!graph.depends("b", "a"), "$crate is the user's crate");
    assert_eq!(graph.circles(), None);
}

#[test]
fn an_item_of_lib_rs_closes_a_circle() {
    let graph = Graph::of(&owned(&[
        ("lib.rs", "pub mod a;\npub enum AppError {}\n"),
        ("a.rs", "use crate::AppError;\n"),
    ]));
    let report = graph.circles().expect("a -> lib.rs -> a");
    assert!(report.contains("a.rs -> lib.rs -> a.rs"), "{report}");
}

fn owned(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(path, text)| (path.to_string(), text.to_string()))
        .collect()
}

/// Every `.rs` file under `dir` but the binary's main.rs, as (path relative to `dir` with `/`
/// separators, text), sorted by path.
fn read_tree(dir: &Path) -> Vec<(String, String)> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.expect("directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                walk(&path, &format!("{prefix}{name}/"), out);
            } else if name.ends_with(".rs") {
                let text =
                    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push((format!("{prefix}{name}"), text));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, "", &mut files);
    files.retain(|(path, _)| path != "main.rs");
    files.sort();
    files
}

/// The module path of a file: `http/api.rs` is `[http, api]`, `http/mod.rs` is `[http]`,
/// lib.rs is `[]`.
fn module_path(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file.split('/').map(str::to_string).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !(parts.is_empty() && stem == "lib") && stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// Why one top-level module depends on another: the first place that says so.
#[derive(Debug, Clone)]
struct Evidence {
    file: String,
    line: usize,
    text: String,
}

#[derive(Debug, Default)]
struct Graph {
    /// Top-level module -> how it is shown (`clock.rs`, `http/`, `lib.rs`).
    shown: BTreeMap<String, String>,
    /// from -> to -> the first reference.
    edges: BTreeMap<String, BTreeMap<String, Evidence>>,
}

impl Graph {
    fn of(files: &[(String, String)]) -> Graph {
        let mut graph = Graph::default();
        graph.shown.insert(ROOT.into(), ROOT.into());
        for (file, _) in files {
            if let Some(top) = module_path(file).first() {
                let shown = if file.contains('/') {
                    format!("{top}/")
                } else {
                    file.clone()
                };
                graph.shown.insert(top.clone(), shown);
            }
        }
        // lib.rs declares (and so depends on) every module.
        let modules: Vec<String> = graph.shown.keys().filter(|m| *m != ROOT).cloned().collect();
        for module in modules {
            let evidence = Evidence {
                file: ROOT.into(),
                line: 0,
                text: format!("mod {module};"),
            };
            graph.add(ROOT, &module, evidence);
        }
        for (file, text) in files {
            graph.read(file, text);
        }
        graph
    }

    fn add(&mut self, from: &str, to: &str, evidence: Evidence) {
        if from != to {
            self.edges
                .entry(from.to_string())
                .or_default()
                .entry(to.to_string())
                .or_insert(evidence);
        }
    }

    fn depends(&self, from: &str, to: &str) -> bool {
        self.edges.get(from).is_some_and(|e| e.contains_key(to))
    }

    fn edge_count(&self) -> usize {
        self.edges
            .iter()
            .filter(|(from, _)| *from != ROOT)
            .map(|(_, to)| to.len())
            .sum()
    }

    /// The top-level module a name at the crate root is: a module, or an item of lib.rs.
    fn node(&self, name: &str) -> String {
        if name != ROOT && self.shown.contains_key(name) {
            name.to_string()
        } else {
            ROOT.to_string()
        }
    }

    /// Adds the dependencies of one file.
    fn read(&mut self, file: &str, text: &str) {
        let path = module_path(file);
        let from = path.first().cloned().unwrap_or_else(|| ROOT.to_string());
        let lines: Vec<&str> = text.lines().collect();
        let tokens = lex(text);
        let mut depth = 0usize;
        // Inline modules (`mod tests { … }`) and the brace depth inside which each one lives.
        let mut inline: Vec<(String, usize)> = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            match &token.tok {
                Tok::Open => depth += 1,
                Tok::Close => {
                    if inline.last().is_some_and(|(_, d)| *d == depth) {
                        inline.pop();
                    }
                    depth = depth.saturating_sub(1);
                }
                Tok::Ident(word) if word == "mod" => {
                    if let (Some(Tok::Ident(name)), Some(Tok::Open)) = (
                        tokens.get(i + 1).map(|t| &t.tok),
                        tokens.get(i + 2).map(|t| &t.tok),
                    ) {
                        inline.push((name.clone(), depth + 1));
                    }
                }
                Tok::Ident(word)
                    if matches!(word.as_str(), "crate" | "super" | "self")
                        && (i == 0 || tokens[i - 1].tok != Tok::PathSep)
                        && tokens.get(i + 1).map(|t| &t.tok) == Some(&Tok::PathSep) =>
                {
                    let mut current = path.clone();
                    current.extend(inline.iter().map(|(name, _)| name.clone()));
                    for name in resolve(&tokens, i, &current) {
                        let to = self.node(&name);
                        let evidence = Evidence {
                            file: file.to_string(),
                            line: token.line,
                            text: lines
                                .get(token.line - 1)
                                .map_or("", |l| l.trim())
                                .to_string(),
                        };
                        self.add(&from, &to, evidence);
                    }
                }
                _ => {}
            }
        }
    }

    /// Every circle (one per strongly connected group of modules), shown as the group's
    /// shortest circle with the line behind each step; `None` when there is none.
    fn circles(&self) -> Option<String> {
        let mut report = String::new();
        for group in self.groups() {
            let cycle = group
                .iter()
                .map(|start| self.shortest_cycle(start, &group))
                .min_by_key(Vec::len)
                .expect("a group has members");
            let names: Vec<&str> = cycle.iter().map(|m| self.shown[m].as_str()).collect();
            let members: Vec<&str> = group.iter().map(|m| self.shown[m].as_str()).collect();
            let _ = writeln!(report, "\n{}", names.join(" -> "));
            for pair in cycle.windows(2) {
                let evidence = &self.edges[&pair[0]][&pair[1]];
                let _ = writeln!(
                    report,
                    "  {} -> {}: {}:{}: {}",
                    self.shown[&pair[0]],
                    self.shown[&pair[1]],
                    evidence.file,
                    evidence.line,
                    evidence.text
                );
            }
            let _ = writeln!(
                report,
                "  (all of {} depend on each other)",
                members.join(", ")
            );
        }
        (!report.is_empty()).then_some(report)
    }

    /// The strongly connected groups of more than one module (Tarjan's algorithm).
    fn groups(&self) -> Vec<BTreeSet<String>> {
        struct Tarjan<'g> {
            graph: &'g Graph,
            index: BTreeMap<String, usize>,
            low: BTreeMap<String, usize>,
            stack: Vec<String>,
            on_stack: BTreeSet<String>,
            groups: Vec<BTreeSet<String>>,
        }
        impl Tarjan<'_> {
            fn visit(&mut self, node: &str) {
                let n = self.index.len();
                self.index.insert(node.to_string(), n);
                self.low.insert(node.to_string(), n);
                self.stack.push(node.to_string());
                self.on_stack.insert(node.to_string());
                let next: Vec<String> = self
                    .graph
                    .edges
                    .get(node)
                    .map(|e| e.keys().cloned().collect())
                    .unwrap_or_default();
                for to in next {
                    if !self.index.contains_key(&to) {
                        self.visit(&to);
                        let low = self.low[node].min(self.low[&to]);
                        self.low.insert(node.to_string(), low);
                    } else if self.on_stack.contains(&to) {
                        let low = self.low[node].min(self.index[&to]);
                        self.low.insert(node.to_string(), low);
                    }
                }
                if self.low[node] == self.index[node] {
                    let mut group = BTreeSet::new();
                    while let Some(member) = self.stack.pop() {
                        self.on_stack.remove(&member);
                        let done = member == node;
                        group.insert(member);
                        if done {
                            break;
                        }
                    }
                    if group.len() > 1 {
                        self.groups.push(group);
                    }
                }
            }
        }
        let mut tarjan = Tarjan {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            groups: Vec::new(),
        };
        for node in self.shown.keys() {
            if !tarjan.index.contains_key(node) {
                tarjan.visit(node);
            }
        }
        tarjan.groups.sort();
        tarjan.groups
    }

    /// The shortest way from `start` back to itself inside `group` (breadth first), both ends
    /// included.
    fn shortest_cycle(&self, start: &str, group: &BTreeSet<String>) -> Vec<String> {
        let mut came_from: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = VecDeque::from([start.to_string()]);
        while let Some(node) = queue.pop_front() {
            for to in self.edges.get(&node).into_iter().flat_map(|e| e.keys()) {
                if !group.contains(to) {
                    continue;
                }
                if to == start {
                    let mut cycle = vec![start.to_string(), node.clone()];
                    while let Some(previous) = came_from.get(cycle.last().expect("non-empty")) {
                        cycle.push(previous.clone());
                    }
                    if node == start {
                        cycle.pop();
                    }
                    cycle.reverse();
                    return cycle;
                }
                if !came_from.contains_key(to) {
                    came_from.insert(to.clone(), node.clone());
                    queue.push_back(to.clone());
                }
            }
        }
        unreachable!("every module of a strongly connected group is on a circle")
    }
}

/// The top-level names a path starting at `tokens[at]` (`crate`, `super` or `self`, followed
/// by `::`) reaches from module `current`: one name, or one per item of a `{…}` group that
/// starts at the crate root. A name that is not a module is an item of lib.rs.
fn resolve(tokens: &[Token], at: usize, current: &[String]) -> Vec<String> {
    let tok = |i: usize| tokens.get(i).map(|t| &t.tok);
    let mut base: Vec<String> = match tok(at) {
        Some(Tok::Ident(word)) if word == "crate" => Vec::new(),
        Some(Tok::Ident(word)) if word == "self" => current.to_vec(),
        _ => current[..current.len().saturating_sub(1)].to_vec(),
    };
    let mut i = at + 1;
    while tok(i) == Some(&Tok::PathSep) && tok(i + 1) == Some(&Tok::Ident("super".into())) {
        base.pop();
        i += 2;
    }
    // tokens[i] is the `::` before the rest of the path.
    if let Some(top) = base.first() {
        return vec![top.clone()];
    }
    match tok(i + 1) {
        Some(Tok::Ident(name)) => vec![name.clone()],
        Some(Tok::Open) => {
            let mut names = Vec::new();
            let mut depth = 0usize;
            let mut item_start = true;
            for token in &tokens[i + 1..] {
                match &token.tok {
                    Tok::Open => {
                        depth += 1;
                        item_start = depth == 1;
                        continue;
                    }
                    Tok::Close => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Tok::Comma if depth == 1 => {
                        item_start = true;
                        continue;
                    }
                    Tok::Ident(name) if item_start => names.push(name.clone()),
                    Tok::Star if item_start => names.push(ROOT.into()),
                    _ => {}
                }
                item_start = false;
            }
            names
        }
        // `use crate::*` and the like: the root itself.
        _ => vec![ROOT.into()],
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Star,
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Rust source as the tokens this test needs, without comments, strings and characters.
/// `$crate` is one identifier (a macro's own crate, not a path of this one).
fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Skips a quoted literal whose opening quote is at `i`; returns the index after it.
    let skip_quoted = |mut i: usize, quote: char, line: &mut usize| -> usize {
        i += 1;
        while i < chars.len() && chars[i] != quote {
            if chars[i] == '\\' {
                i += 1;
            }
            if at(i) == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    while i < chars.len() {
        let c = chars[i];
        let push = |tokens: &mut Vec<Token>, tok: Tok| tokens.push(Token { tok, line });
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '/' if at(i + 1) == '/' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == '*' => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if chars[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            '"' => i = skip_quoted(i, '"', &mut line),
            '\'' => {
                if at(i + 1) == '\\' || at(i + 2) == '\'' {
                    i = skip_quoted(i, '\'', &mut line);
                } else {
                    // A lifetime or a label: the quote alone.
                    i += 1;
                }
            }
            'r' | 'b' if raw_string_start(&chars, i).is_some() => {
                let (hashes, quote) = raw_string_start(&chars, i).expect("checked");
                let mut j = quote + 1;
                loop {
                    if j >= chars.len() {
                        break;
                    }
                    if chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                        j += 1 + hashes;
                        break;
                    }
                    if chars[j] == '\n' {
                        line += 1;
                    }
                    j += 1;
                }
                i = j;
            }
            'b' if at(i + 1) == '"' || at(i + 1) == '\'' => {
                i = skip_quoted(i + 1, at(i + 1), &mut line);
            }
            c if is_ident(c) || (c == '$' && is_ident(at(i + 1))) => {
                let start = i;
                i += 1;
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let tok = if c.is_ascii_digit() {
                    Tok::Other
                } else {
                    Tok::Ident(word)
                };
                push(&mut tokens, tok);
            }
            ':' if at(i + 1) == ':' => {
                push(&mut tokens, Tok::PathSep);
                i += 2;
            }
            '{' | '}' | ',' | '*' => {
                let tok = match c {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    _ => Tok::Star,
                };
                push(&mut tokens, tok);
                i += 1;
            }
            _ => {
                push(&mut tokens, Tok::Other);
                i += 1;
            }
        }
    }
    tokens
}

/// For a raw string (`r"…"`, `r#"…"#`, `br"…"`) starting at `i`: the number of `#` and the
/// index of the opening quote.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    // Not the end of an identifier (`br` in `attr"`, say).
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|c| **c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some((hashes, j + hashes))
}
