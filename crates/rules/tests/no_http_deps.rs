//! rafiki-rules stays pure: nothing it depends on (normally or at build
//! time, directly or transitively) is an HTTP or async crate. Proven on the
//! resolve graph that `cargo metadata` reports for the workspace, filtered
//! to the host platform: on wasm32 only, chrono's `iana-time-zone -> js-sys`
//! edge pulls `futures-util`, which says nothing about native builds.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// Crates that would mean HTTP or an async runtime.
const FORBIDDEN: &[&str] = &[
    "reqwest",
    "hyper",
    "hyper-util",
    "http",
    "http-body",
    "h2",
    "tokio",
    "tokio-util",
    "mio",
    "axum",
    "axum-core",
    "tower",
    "tower-http",
    "futures",
    "futures-util",
    "futures-core",
    "futures-executor",
    "async-std",
    "async-trait",
    "smol",
    "httpmock",
    "ureq",
    "isahc",
    "surf",
    "actix-web",
    "warp",
];

/// The host target triple, from `rustc -vV`.
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let text = String::from_utf8(output.stdout).expect("utf-8");
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

fn metadata() -> Value {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let host = host_triple();
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--filter-platform",
            &host,
        ])
        .args(["--manifest-path", manifest])
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// Names of every package reachable from `root` over normal and build edges.
fn normal_closure(metadata: &Value, root: &str) -> BTreeSet<String> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let root_id = names
        .iter()
        .find(|(_, name)| **name == root)
        .map(|(id, _)| *id)
        .expect("root package in metadata");
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root_id];
    while let Some(id) = stack.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let not_dev_only = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].as_str() != Some("dev"));
            let pkg = dep["pkg"].as_str().unwrap();
            if not_dev_only && seen.insert(pkg) {
                stack.push(pkg);
            }
        }
    }
    seen.into_iter().map(|id| names[id].to_owned()).collect()
}

#[test]
fn rafiki_rules_depends_on_no_http_or_async_crate() {
    let metadata = metadata();
    let closure = normal_closure(&metadata, "rafiki-rules");
    // The walk does see transitive dependencies (serde -> serde_derive -> syn).
    for expected in ["serde_json", "rust_decimal", "syn"] {
        assert!(
            closure.contains(expected),
            "walk missed {expected}: {closure:?}"
        );
    }
    let offending: Vec<&String> = closure
        .iter()
        .filter(|name| FORBIDDEN.contains(&name.as_str()))
        .collect();
    assert!(
        offending.is_empty(),
        "rafiki-rules must stay pure, but depends on {offending:?}"
    );
}
