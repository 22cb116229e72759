//! The suite passes against a mock that keeps its state in a file
//! (`rafiki-mock --state`), and again against a mock started afresh on the
//! same file: what the first run left is loaded, and the second run meets
//! the same API.

mod common;

use rafiki_contract::Report;

const KEYS: [&str; 2] = ["sk_test_durable_suite_a", "sk_test_durable_suite_b"];

async fn run_on(state: &std::path::Path) -> Report {
    let mut mock_config = rafiki_mock::Config::for_contract_suite(KEYS);
    mock_config.state_file = Some(state.to_path_buf());
    common::run_against(mock_config, KEYS, |run| {
        run.max_examples = 20;
        run.seed = Some(30);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_on_a_state_file_and_again_after_a_restart_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.db");
    let first = run_on(&state).await;
    assert!(!first.failed(), "{}", first.render());
    let size = std::fs::metadata(&state).unwrap().len();
    assert!(size > 0, "the state file holds the first run's state");
    let second = run_on(&state).await;
    assert!(!second.failed(), "{}", second.render());
}
