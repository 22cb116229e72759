//! `--seed` replays a run: against the same server state (here, two fresh
//! mocks) the same seed sends the same cases. What the server's timing
//! decides (how often a payout is polled, how concurrent copies
//! interleave) may differ, so the comparison is of what was created: the
//! bodies of every payout and payment account sent, as a multiset.

use rafiki_contract::RunConfig;

const KEYS: [&str; 2] = ["sk_test_replay_a", "sk_test_replay_b"];

/// The bodies each account sent to `operation`, sorted (the order of
/// concurrent requests is the server's timing, not the seed's).
async fn bodies(base_url: &str, operation: &str) -> Vec<String> {
    let root = base_url.trim_end_matches("/v1");
    let ids = regex::Regex::new(r"(pac|pyt|wlt)-[0-9A-Za-z]+").unwrap();
    let mut all = Vec::new();
    for key in KEYS {
        let page: serde_json::Value = reqwest::Client::new()
            .get(format!("{root}/_sandbox/requests?operation={operation}"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["meta"]["dropped"], 0, "the journal kept everything");
        for entry in page["data"].as_array().unwrap() {
            let body = entry["body"].as_str().unwrap_or("");
            // Ids are the server's to choose (and time-ordered on the mock).
            let body = ids.replace_all(body, "$kind-ID");
            all.push(format!("{key} {body}"));
        }
    }
    all.sort();
    all
}

/// One run with `seed` against a fresh mock: what it created.
async fn created(seed: u64) -> (Vec<String>, Vec<String>) {
    let mut mock_config = rafiki_mock::Config::for_contract_suite(KEYS);
    mock_config.journal_capacity = 100_000;
    let mock = rafiki_mock::spawn(mock_config).await.unwrap();
    let mut config = RunConfig::new(mock.base_url(), KEYS[0]);
    config.api_key_2 = Some(KEYS[1].into());
    config.max_examples = 20;
    config.seed = Some(seed);
    let report = rafiki_contract::run(&config).await.unwrap();
    assert!(!report.failed(), "{}", report.render());
    let sent = (
        bodies(mock.base_url(), "create_payout").await,
        bodies(mock.base_url(), "get_or_create_payment_account").await,
    );
    mock.shutdown().await;
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_sends_the_same_cases() {
    let (payouts, accounts) = created(41).await;
    assert!(payouts.len() > 50, "{} payouts", payouts.len());
    let (again_payouts, again_accounts) = created(41).await;
    assert_same("payouts", &payouts, &again_payouts);
    assert_same("payment accounts", &accounts, &again_accounts);
    // And the comparison can fail: another seed sends other cases.
    let (other_payouts, _) = created(42).await;
    assert_ne!(payouts, other_payouts);
}

/// Fails naming what only one of the runs sent (the lists are long).
fn assert_same(what: &str, first: &[String], second: &[String]) {
    let only = |a: &[String], b: &[String]| {
        let mut rest = b.to_vec();
        let mut extra = Vec::new();
        for item in a {
            match rest.iter().position(|r| r == item) {
                Some(at) => {
                    rest.swap_remove(at);
                }
                None => extra.push(item.clone()),
            }
        }
        extra
    };
    let (only_first, only_second) = (only(first, second), only(second, first));
    assert!(
        only_first.is_empty() && only_second.is_empty(),
        "the {what} sent differ:\nonly the first run: {only_first:#?}\nonly the replay: {only_second:#?}"
    );
}
