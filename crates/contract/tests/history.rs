//! A server with a long history: the date filters' walk stops once its
//! answer is settled (the payout is listed, or where it must not be, an
//! older payout is), so a run costs no more requests against a sandbox that
//! already holds many payouts than against a new one.

use std::sync::Arc;
use std::time::Duration;

use rafiki_contract::{Report, RunConfig, SandboxValues};
use rafiki_mock::{Config, ManualClock};

const KEYS: [&str; 2] = ["sk_test_history_a", "sk_test_history_b"];

/// Runs `date_filter_boundaries` against a new mock that first takes
/// `history` payouts, two seconds before the run's own (so that they fall
/// in the filter windows before the fixture payout).
async fn date_filters_after(history: usize) -> Report {
    let clock = Arc::new(ManualClock::new("2026-03-02T08:00:00Z".parse().unwrap()));
    let mock = rafiki_mock::spawn(Config::for_contract_suite(KEYS).manual_clock(clock.clone()))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    for i in 0..history {
        let answer = http
            .post(format!("{}/payouts", mock.base_url()))
            .bearer_auth(KEYS[0])
            .header("X-Idempotency-Key", format!("history-{i}"))
            .json(&rafiki_contract::fixture_payout(0))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202, "history payout {i}");
    }
    clock.advance(Duration::from_secs(2));
    let mut config = RunConfig::new(mock.base_url(), KEYS[0]);
    config.api_key_2 = Some(KEYS[1].into());
    config.checks = vec!["date_filter_boundaries".into()];
    config.seed = Some(5);
    // Trying a test value polls its payout, which the stopped clock never
    // settles.
    config.sandbox_values = SandboxValues::Off;
    let report = rafiki_contract::run(&config).await.unwrap();
    mock.shutdown().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_date_filters_walk_no_further_on_a_server_with_a_long_history() {
    let new = date_filters_after(0).await;
    // Three pages of 50 in the window the walk used to read to its end.
    let long = date_filters_after(150).await;
    for report in [&new, &long] {
        let check = report.check("date_filter_boundaries").unwrap();
        assert_eq!(check.verdict(), "passed", "{}", report.render());
    }
    assert_eq!(
        long.requests, new.requests,
        "requests against a server with 150 earlier payouts, and against a new one"
    );
}
