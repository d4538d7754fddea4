//! ARCHITECTURE.md cannot drift from the code: every source file is in its table of layers,
//! and no file imports (`crate::…`) a module of a higher layer. A feature that would add a loop
//! fails here first.

use std::collections::BTreeMap;
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

/// The layer of a file (`cli/lower.rs`) or of an imported module path (`stream`, `stream/link`):
/// the most specific entry of the table that names it.
fn layer_of(map: &BTreeMap<String, u32>, path: &str) -> Option<u32> {
    let stem = path.trim_end_matches(".rs");
    let top = stem.split('/').next().unwrap_or(stem);
    map.get(&format!("{stem}.rs"))
        .or_else(|| map.get(stem))
        .or_else(|| map.get(&format!("{top}/mod.rs")))
        .or_else(|| map.get(&format!("{top}/")))
        .or_else(|| map.get(top))
        .copied()
}

#[test]
fn every_file_has_a_layer_and_imports_only_its_own_or_lower_ones() {
    let map = layers();
    assert!(
        map.len() > 20,
        "ARCHITECTURE.md's table was not read: {map:?}"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == "lib.rs" || rel.ends_with("tests.rs") {
            continue;
        }
        let Some(own) = layer_of(&map, &rel) else {
            wrong.push(format!("{rel} is in no layer of ARCHITECTURE.md"));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let path: String = line[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == ':')
                    .collect();
                let module = path.trim_end_matches(':').replace("::", "/");
                if module.is_empty() {
                    continue;
                }
                match layer_of(&map, &module) {
                    Some(theirs) if theirs > own => wrong.push(format!(
                        "{rel} (layer {own}) imports crate::{path} (layer {theirs})"
                    )),
                    Some(_) => {}
                    None => wrong.push(format!("{rel} imports crate::{path}, in no layer")),
                }
            }
        }
    }
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports must go down the layers of ARCHITECTURE.md:\n{}",
        wrong.join("\n")
    );
}
