//! The spec coverage report: every documented (operation, status) pair a
//! client can provoke is exercised against the mock, and a pair the suite
//! has no check for (here: an operation added to a scratch copy of the
//! spec) is listed as not exercised in the JSON and JUnit (the table,
//! after a partial run, calls nothing missing).

mod common;

use rafiki_contract::{Report, RunConfig, Seen};

const KEYS: [&str; 2] = ["sk_test_coverage_a", "sk_test_coverage_b"];

async fn run(spec: Option<std::path::PathBuf>, checks: &[&str]) -> Report {
    let mock = rafiki_mock::Config::for_contract_suite(KEYS);
    common::run_against(mock, KEYS, |run| {
        run.checks = checks.iter().map(|c| c.to_string()).collect();
        run.max_examples = 20;
        run.seed = Some(11);
        run.spec = spec;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_run_exercises_every_pair_a_client_can_provoke() {
    let report = run(None, &[]).await;
    assert!(!report.failed(), "{}", report.render());
    let missing = report.coverage.list(|s| *s == Seen::NotExercised);
    assert!(missing.is_empty(), "not exercised: {missing:?}");
    assert!(report.coverage.exercised("create_payout", 402));
    assert!(report.coverage.exercised("get_payout", 404));
    assert!(
        report
            .coverage
            .list(|s| matches!(s, Seen::Unproducible(_)))
            .contains(&"create_payout 500".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_added_to_the_spec_is_reported_not_exercised() {
    let added = "\n  /ping:\n    get:\n      operationId: ping\n      summary: Scratch operation no check knows.\n      responses:\n        \"200\":\n          description: Alive.\n          content:\n            application/json:\n              schema:\n                type: object\n";
    let text = rafiki_spec::OPENAPI_YAML.replacen("\npaths:\n", &format!("\npaths:{added}"), 1);
    assert_ne!(
        text,
        rafiki_spec::OPENAPI_YAML,
        "the spec has a `paths:` line"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.yaml");
    std::fs::write(&path, text).unwrap();

    // Not auth_required: it probes every operation of the spec, and the mock
    // has no /ping (it would rightly fail).
    let report = run(
        Some(path),
        &["status_documented", "unknown_payout_not_found"],
    )
    .await;
    assert!(!report.failed(), "{}", report.render());
    assert!(
        report
            .coverage
            .list(|s| *s == Seen::NotExercised)
            .contains(&"ping 200".to_string()),
        "{}",
        report.coverage.render()
    );
    assert!(report.coverage.exercised("list_wallets", 200));
    // Two checks ran, so the table does not call the pairs they cannot
    // reach missing; the JSON and JUnit keep every pair's standing.
    assert!(
        report.render().contains("only part of the suite ran"),
        "{}",
        report.render()
    );
    let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    let ping = json["coverage"]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["operation"] == "ping")
        .expect("ping in the JSON report");
    assert_eq!(ping["seen"], "not_exercised");
    let junit = report.junit();
    assert!(
        junit.contains(r#"name="coverage.not_exercised""#) && junit.contains("ping 200"),
        "{junit}"
    );
}

#[tokio::test]
async fn a_spec_that_does_not_parse_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, "openapi: 3.1.0\npaths: {}\n").unwrap();
    let mut config = RunConfig::new("http://127.0.0.1:9/v1", "k");
    config.spec = Some(path.clone());
    let error = config.spec().unwrap_err().to_string();
    assert!(
        error.contains(&path.display().to_string()) && error.contains("3.0"),
        "{error}"
    );
}
