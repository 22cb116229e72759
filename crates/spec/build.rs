//! Converts `spec/openapi.yaml` to JSON once, when the crate is built, so
//! that `Spec::embedded` parses JSON at run time: several times cheaper
//! than YAML, and every `rafiki-contract` run starts by doing it. The YAML
//! stays the one source; a spec that does not parse fails the build.

use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: two checkouts
    // sharing a target directory share this script's binary.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let source = Path::new(&manifest_dir).join("../../spec/openapi.yaml");
    println!("cargo::rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(&source)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
    let json: serde_json::Value = serde_yaml::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", source.display()));
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("openapi.json");
    std::fs::write(&out, json.to_string())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
