//! A real sandbox's load balancer fails a request now and then (502, 504,
//! a 503 that is not the API's outage): the run sends such a request again
//! under its idempotency key, so a blip is no verdict; a gateway failure
//! that outlasts its retries is judged, and so is every one after it.

mod common;

use rafiki_mock::FaultPlan;

const KEYS: [&str; 2] = ["sk_test_gateway_a", "sk_test_gateway_b"];

async fn run_with_faults(rules: &[&str]) -> rafiki_contract::Report {
    let mut config = rafiki_mock::Config::for_contract_suite(KEYS);
    config.faults = rules.iter().fold(FaultPlan::new(0), |plan, rule| {
        plan.with(rule.parse().unwrap())
    });
    common::run_against(config, KEYS, |run| {
        run.max_examples = 10;
        run.seed = Some(5);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_blip_is_sent_again_and_a_lasting_failure_is_judged() {
    let blips = run_with_faults(&[
        "get_payout=502#1",
        "list_wallets=503#1",
        "create_payout=502#1",
    ])
    .await;
    assert!(!blips.failed(), "{}", blips.render());
    assert_eq!(blips.totals().warned, 0, "{}", blips.render());

    let down = run_with_faults(&["get_payout=502"]).await;
    let status = down.check("status_documented").unwrap();
    assert!(status.failed > 0, "{}", down.render());
}
