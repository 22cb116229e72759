//! No false alarms for a team with one key: the default suite (100
//! examples) against a correct server, on many seeds, settling after a
//! delay or at once. The suite's own tests mostly give it two keys; with
//! one, every lane's sequences share the account, so anything that makes
//! two sequences meet (the same payment account, a payout of one listed
//! by another) shows here. Random account tags did, on about half the
//! seeds, as a "hidden second payout".

use std::time::Duration;

use rafiki_contract::RunConfig;
use rafiki_mock::WalletSeed;

const KEY: &str = "sk_test_one_key_team";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_server_passes_every_seed_with_one_key() {
    let mut alarms = Vec::new();
    for seed in 1..=6u64 {
        let mut config = rafiki_mock::Config::with_keys([KEY], &[WalletSeed::default_kes()]);
        // Odd seeds: the mock's default delay; even seeds: settled at once
        // (a server may settle before the first read).
        if seed % 2 == 0 {
            config.processing_delay = Duration::ZERO;
        }
        let mock = rafiki_mock::spawn(config).await.unwrap();
        let mut run = RunConfig::new(mock.base_url(), KEY);
        run.seed = Some(seed);
        let report = rafiki_contract::run(&run).await.unwrap();
        mock.shutdown().await;
        let totals = report.totals();
        eprintln!(
            "seed {seed}: {} passed, {} failed, {} warned, {} requests",
            totals.passed, totals.failed, totals.warned, report.requests
        );
        if report.failed() || totals.warned > 0 {
            alarms.push(format!("seed {seed}:\n{}", report.render()));
        }
    }
    assert!(alarms.is_empty(), "false alarms:\n{}", alarms.join("\n"));
}
