//! The crate's modules depend one way, bottom up: a module may use the
//! ones below it, never one above it or beside it on its own layer. Read
//! from the source, so a new `use` that breaks the order fails here,
//! naming the file and the module it reaches for. (`lib.rs` and `main.rs`
//! sit on top and may use anything.)

use std::path::{Path, PathBuf};

/// Each top-level module and its layer, bottom first.
const LAYERS: &[(&str, u8)] = &[
    ("http", 0),
    ("catalogue", 1),
    ("coverage", 1),
    ("report", 2),
    ("judge", 3),
    ("engine", 4),
    ("checks", 5),
    ("proxy", 5),
    ("webhooks", 5),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a source names as `crate::<module>`.
fn reached(text: &str) -> Vec<String> {
    text.split("crate::")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn no_module_uses_one_above_it_or_beside_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let own = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap()
            .trim_end_matches(".rs");
        if own == "lib" || own == "main" {
            continue;
        }
        let Some(own_layer) = layer(own) else {
            problems.push(format!(
                "{}: module `{own}` has no layer in LAYERS",
                relative.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for target in reached(&text) {
            match layer(&target) {
                Some(_) if target == own => {}
                Some(l) if l < own_layer => {}
                Some(_) => problems.push(format!(
                    "{}: `{own}` (layer {own_layer}) uses `crate::{target}`, which is not below it",
                    relative.display()
                )),
                None => problems.push(format!(
                    "{}: `crate::{target}` is no module of LAYERS",
                    relative.display()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_reader_finds_what_a_file_reaches_for() {
    let text = "use crate::http::{Exchange, Probe};\n/// see [`crate::engine::Ctx`]\nfn f() { crate::report::x() }";
    assert_eq!(reached(text), ["http", "engine", "report"]);
}
