//! The JSON report's published schema, `crates/contract/report.schema.json`:
//! it is what the report types derive today (rewrite it with
//! `UPDATE_EXPECT=1 cargo test -p rafiki-contract --test report_schema`),
//! and real `--json` reports validate against the committed file, both a
//! clean one and one full of failures, while a report missing a required
//! field or with an unknown value does not.

mod common;

use std::sync::OnceLock;

use common::{contract, failing_server, quick_run};
use rafiki_contract::Report;
use serde_json::Value;

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/report.schema.json");

#[test]
fn the_published_schema_is_fresh() {
    expect_test::expect_file!["../report.schema.json"].assert_eq(&Report::json_schema());
}

/// The committed schema file, compiled as the draft it declares.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(SCHEMA_FILE).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "schemars 1 writes draft 2020-12"
        );
        jsonschema::draft202012::new(&schema).expect("the published schema compiles")
    })
}

fn problems(report: &Value) -> Vec<String> {
    validator()
        .iter_errors(report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Runs the binary with `args` plus `--json FILE` and reads the report.
fn json_report(run: impl FnOnce(&str) -> std::process::Output) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let output = run(path.to_str().unwrap());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "no report ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// A clean run of the embedded mock: every check and the coverage pairs.
fn clean_report() -> Value {
    json_report(|json| contract(&["run", "--max-examples", "5", "--json", json]))
}

#[test]
fn a_clean_report_validates() {
    let report = clean_report();
    assert_eq!(
        report["checks"].as_array().unwrap().len(),
        rafiki_contract::CHECKS.len()
    );
    assert!(!report["coverage"]["pairs"].as_array().unwrap().is_empty());
    let problems = problems(&report);
    assert!(problems.is_empty(), "{problems:?}\n{report:#}");
}

#[test]
fn a_report_full_of_failures_validates() {
    let base_url = failing_server();
    let report = json_report(|json| quick_run(&base_url, &["--json", json]));
    let failures: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|check| check["failures"].as_array().unwrap())
        .collect();
    assert!(
        failures.iter().any(|f| f["curl"].is_string()),
        "failures with a reproduction: {report:#}"
    );
    assert!(report["first_failure_ms"].is_u64(), "{report:#}");
    let problems = problems(&report);
    assert!(problems.is_empty(), "{problems:?}\n{report:#}");
}

#[test]
fn the_schema_refuses_what_is_not_a_report() {
    let report = clean_report();
    assert!(problems(&report).is_empty());
    let broken = |change: fn(&mut Value)| {
        let mut copy = report.clone();
        change(&mut copy);
        problems(&copy)
    };
    let without_seed = broken(|r| {
        r.as_object_mut().unwrap().remove("seed");
    });
    assert!(
        without_seed.iter().any(|p| p.contains("\"seed\"")),
        "{without_seed:?}"
    );
    let without_a_count = broken(|r| {
        r["checks"][0].as_object_mut().unwrap().remove("passed");
    });
    assert!(
        without_a_count.iter().any(|p| p.contains("\"passed\"")),
        "{without_a_count:?}"
    );
    let unknown_standing = broken(|r| r["coverage"]["pairs"][0]["seen"] = "maybe".into());
    assert!(!unknown_standing.is_empty(), "coverage standing is an enum");
    let text_count = broken(|r| r["requests"] = "many".into());
    assert!(!text_count.is_empty(), "requests is a number");
}

/// A seed above 2^53 comes back whole from a reader that takes JSON
/// numbers as doubles (as JavaScript and jq do): it is a string.
#[test]
fn a_large_seed_survives_a_reader_of_doubles() {
    let seed: u64 = 13_132_989_522_432_979_107;
    assert_ne!(
        seed as f64 as u64, seed,
        "the seed must be one doubles lose"
    );
    let report = json_report(|json| {
        contract(&[
            "run",
            "--seed",
            &seed.to_string(),
            "--checks",
            "unknown_payout_not_found",
            "--json",
            json,
        ])
    });
    // What a doubles-only reader sees: a string stays a string.
    let text = report["seed"].as_str().expect("the seed as a string");
    assert_eq!(text.parse::<u64>().unwrap(), seed);
}
