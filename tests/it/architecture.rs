//! ARCHITECTURE.md cannot drift from the code: every source file is in its table of layers, no
//! file imports a module of a higher layer, and no files import each other in a loop (inside a
//! layer too). Imports are read as rustc resolves them: `crate::a::b`, grouped
//! `crate::{a, b::{c, d}}`, `super::` (against the file's own module path) and a child module
//! declared with `mod x;` used as `x::`. The tests at the end plant each kind of import and see
//! it caught.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ARCHITECTURE: &str = include_str!("../../ARCHITECTURE.md");

/// `module path` (`error`, `ledger/`, `stream/link.rs`) → layer number, from the table.
fn layers() -> BTreeMap<String, u32> {
    let mut map = BTreeMap::new();
    for line in ARCHITECTURE.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(layer) = cells
            .get(1)
            .and_then(|c| c.split('.').next())
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        for entry in cells[2].split(',') {
            let name = entry.trim().trim_matches('`');
            if !name.is_empty() {
                map.insert(name.to_owned(), layer);
            }
        }
    }
    map
}

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The layer of a file (`cli/lower.rs`): the most specific entry of the table that names it.
fn layer_of(map: &BTreeMap<String, u32>, path: &str) -> Option<u32> {
    let stem = path.trim_end_matches(".rs").trim_end_matches("/mod");
    let top = stem.split('/').next().unwrap_or(stem);
    map.get(&format!("{stem}.rs"))
        .or_else(|| map.get(stem))
        .or_else(|| map.get(&format!("{top}/mod.rs")))
        .or_else(|| map.get(&format!("{top}/")))
        .or_else(|| map.get(top))
        .copied()
}

/// A file's module path: `stream/link.rs` → `[stream, link]`, `stream/mod.rs` → `[stream]`.
fn module_of(rel: &str) -> Vec<String> {
    let stem = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The source file that holds module path `path` (or the longest prefix of it that is a
/// file's module: `text::span` is in `text.rs`).
fn file_of(files: &BTreeSet<String>, path: &[String]) -> Option<String> {
    (1..=path.len()).rev().find_map(|k| {
        let stem = path[..k].join("/");
        [format!("{stem}.rs"), format!("{stem}/mod.rs")]
            .into_iter()
            .find(|f| files.contains(f))
    })
}

/// The paths a `{…}` group (or a single path) names, each as its segments: `{a, b::{c, d}}`
/// → `a`, `b::c`, `b::d`.
fn expand(group: &str) -> Vec<Vec<String>> {
    let group = group.trim();
    let Some(inner) = group.strip_prefix('{').and_then(|g| g.strip_suffix('}')) else {
        return match group.split_once("::{") {
            Some((head, rest)) => expand(&format!("{{{rest}"))
                .into_iter()
                .map(|mut tail| {
                    let mut path: Vec<String> = head.split("::").map(str::to_owned).collect();
                    path.append(&mut tail);
                    path
                })
                .collect(),
            None => vec![
                group
                    .split("::")
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty() && s != "self" && s != "*")
                    .collect(),
            ],
        };
    };
    let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|i| !i.trim().is_empty())
        .flat_map(expand)
        .collect()
}

/// Every module path a file's code names, absolute, from `crate::`, `super::` and the child
/// modules it declares, its unit tests and comments left out.
fn imports(rel: &str, text: &str) -> Vec<Vec<String>> {
    let own = module_of(rel);
    // A file's unit tests (at its end, in `mod tests`) are left out: inside them `super::` is
    // the file itself.
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let children: Vec<String> = code
        .split(';')
        .filter_map(|s| {
            let s = s.trim();
            let s = ["pub ", "pub(crate) ", "pub(super) "]
                .iter()
                .find_map(|p| s.strip_prefix(p))
                .unwrap_or(s);
            s.strip_prefix("mod ").map(|m| m.trim().to_owned())
        })
        .filter(|m| m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    let path_chars = |c: char| c.is_ascii_alphanumeric() || "_:{}, ".contains(c);
    let mut found = Vec::new();
    let starts = ["crate::", "super::"]
        .into_iter()
        .chain(children.iter().map(String::as_str));
    for start in starts {
        for (at, _) in code.match_indices(start) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &code[at..];
            let (base, tail) = match start {
                "crate::" => (Vec::new(), &rest["crate::".len()..]),
                "super::" => {
                    let mut base = own.clone();
                    let mut tail = rest;
                    while let Some(t) = tail.strip_prefix("super::") {
                        // A file's parent is its directory's module (`a/b.rs` → `a`).
                        base.pop();
                        tail = t;
                    }
                    (base, tail)
                }
                child => {
                    let Some(t) = rest[child.len()..].strip_prefix("::") else {
                        continue;
                    };
                    let mut base = own.clone();
                    base.push(child.to_owned());
                    (base, t)
                }
            };
            // The path runs while its characters do and braces balance.
            let mut depth = 0i32;
            let mut end = 0;
            for (i, c) in tail.char_indices() {
                if !path_chars(c) || (c == ',' && depth == 0) || (c == ' ' && depth == 0) {
                    break;
                }
                if c == '{' {
                    depth += 1;
                }
                if c == '}' {
                    depth -= 1;
                    if depth < 0 {
                        break;
                    }
                }
                end = i + c.len_utf8();
            }
            for tail in expand(&tail[..end]) {
                let mut path = base.clone();
                path.extend(tail);
                if !path.is_empty() {
                    found.push(path);
                }
            }
        }
    }
    found
}

/// What is wrong with the house: files in no layer, imports up, and loops.
fn problems(files: &BTreeMap<String, String>) -> Vec<String> {
    let map = layers();
    let names: BTreeSet<String> = files.keys().cloned().collect();
    let mut wrong = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files {
        if rel == "lib.rs" || rel == "main.rs" || rel.ends_with("tests.rs") {
            continue;
        }
        let Some(own) = layer_of(&map, rel) else {
            wrong.push(format!("{rel} is in no layer of ARCHITECTURE.md"));
            continue;
        };
        for path in imports(rel, text) {
            let Some(target) = file_of(&names, &path) else {
                continue; // an outside crate's path, or an item of this file
            };
            if &target == rel || target == "lib.rs" {
                continue;
            }
            match layer_of(&map, &target) {
                Some(theirs) if theirs > own => wrong.push(format!(
                    "{rel} (layer {own}) imports {} ({target}, layer {theirs})",
                    path.join("::")
                )),
                Some(_) => {
                    edges.entry(rel.clone()).or_default().insert(target);
                }
                None => wrong.push(format!("{rel} imports {}, in no layer", path.join("::"))),
            }
        }
    }
    // Every loop, one at a time: take out an edge of each found, and look again.
    while let Some(cycle) = find_cycle(&edges) {
        wrong.push(format!("a loop of imports: {}", cycle.join(" → ")));
        if let Some(next) = edges.get_mut(&cycle[0]) {
            next.remove(&cycle[1]);
        }
    }
    wrong.dedup();
    wrong
}

/// A loop in `edges`, as the files along it (the first again at the end), if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

/// The crate's source files, by path under `src/`, with their text.
fn source_files() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel = f
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read_to_string(&f).unwrap())
        })
        .collect()
}

#[test]
fn every_file_has_a_layer_and_imports_only_its_own_or_lower_ones_without_a_loop() {
    assert!(layers().len() > 20, "ARCHITECTURE.md's table was not read");
    let wrong = problems(&source_files());
    assert!(
        wrong.is_empty(),
        "imports must go down the layers of ARCHITECTURE.md, without loops:\n{}",
        wrong.join("\n")
    );
}

/// The crate's files with `line` added to `file`: what the house would be with that import.
fn planted(file: &str, line: &str) -> Vec<String> {
    let mut files = source_files();
    let text = files.get_mut(file).unwrap();
    text.insert_str(0, line);
    problems(&files)
}

#[test]
fn an_upward_import_is_caught_however_it_is_written() {
    for line in [
        "\nuse crate::run::execute;\n",
        "\nuse crate::{decimal, run};\n",
        "\nuse crate::{decimal::sum, output::{Format, file}};\n",
        "\nfn f() { crate::run::execute; }\n",
    ] {
        let wrong = planted("market.rs", line);
        assert!(
            wrong
                .iter()
                .any(|w| w.starts_with("market.rs (layer 1) imports")),
            "{line:?} was not caught: {wrong:?}"
        );
    }
    // `super::` is resolved against the file's module: from stream/link.rs it is `stream`.
    let wrong = planted("stream/link.rs", "\nuse super::consumer::Consumer;\n");
    assert!(
        wrong
            .iter()
            .any(|w| w.contains("stream/link.rs (layer 2) imports stream::consumer")),
        "{wrong:?}"
    );
}

#[test]
fn a_loop_inside_a_layer_is_caught() {
    // clock and decimal are both vocabulary; decimal does not import clock today.
    let wrong = planted("decimal.rs", "\nuse crate::clock::unix_ms;\n");
    assert!(wrong.is_empty(), "one way is fine: {wrong:?}");
    let mut files = source_files();
    files
        .get_mut("decimal.rs")
        .unwrap()
        .insert_str(0, "use crate::clock::unix_ms;\n");
    files
        .get_mut("clock.rs")
        .unwrap()
        .insert_str(0, "use crate::decimal::compare;\n");
    let wrong = problems(&files);
    assert!(
        wrong.iter().any(|w| w.starts_with("a loop of imports")
            && w.contains("clock.rs")
            && w.contains("decimal.rs")),
        "{wrong:?}"
    );
    // A child module that imports its parent, which uses it: a loop too.
    let wrong = planted("history/at.rs", "use super::plan;\n");
    assert!(
        wrong.iter().any(|w| w.starts_with("a loop of imports")),
        "{wrong:?}"
    );
    // Through a `pub(crate) mod` child, used by its bare name (`metrics::render` in
    // output/mod.rs): board → output → output/metrics → board.
    let wrong = planted("board.rs", "fn f() { crate::output::serve_status(); }\n");
    assert!(
        wrong
            .iter()
            .any(|w| w.starts_with("a loop of imports") && w.contains("output/metrics.rs")),
        "{wrong:?}"
    );
}

#[test]
fn groups_and_nested_paths_are_expanded() {
    let got = expand("{a, b::{c, d}, e::f}");
    let want: Vec<Vec<String>> = [vec!["a"], vec!["b", "c"], vec!["b", "d"], vec!["e", "f"]]
        .iter()
        .map(|p| p.iter().map(|s| (*s).to_owned()).collect())
        .collect();
    assert_eq!(got, want);
    let found = imports(
        "stream/consumer/take.rs",
        "use super::super::link::Event;\nuse crate::{text, market::Update};",
    );
    assert!(found.contains(&vec!["stream".into(), "link".into(), "Event".into()]));
    assert!(found.contains(&vec!["text".into()]));
}
