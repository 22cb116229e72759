//! A finite wallet: the run says what it needs before its first payout;
//! a wallet holding exactly that passes, and one holding half of it gets
//! one line and skips, never a cascade of 402 failures.

use std::sync::{Arc, Mutex};

use rafiki_contract::Event;
use rafiki_contract::{Report, RunConfig};
use rust_decimal::Decimal;

const KEYS: [&str; 2] = ["sk_test_spend_a", "sk_test_spend_b"];

/// A run against a fresh mock whose first account holds `kes` (the
/// default when `None`), with the lines the run said of its money.
async fn run_with_wallet(kes: Option<Decimal>) -> (Report, Vec<String>) {
    let mut config = rafiki_mock::Config::for_contract_suite(KEYS);
    if let Some(kes) = kes {
        config.accounts[0].wallets[0].balance = kes;
    }
    let mock = rafiki_mock::spawn(config).await.unwrap();
    let mut run = RunConfig::new(mock.base_url(), KEYS[0]);
    run.api_key_2 = Some(KEYS[1].into());
    run.max_examples = 40;
    run.seed = Some(7);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let said = lines.clone();
    let report = rafiki_contract::run_observed(&run, move |event| {
        if let Event::Money(line) = event {
            said.lock().unwrap().push(line);
        }
    })
    .await
    .unwrap();
    mock.shutdown().await;
    let lines = lines.lock().unwrap().clone();
    (report, lines)
}

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_with_what_the_run_needs_passes_and_half_of_it_skips() {
    let (first, lines) = run_with_wallet(None).await;
    let spent = first.spending.clone().expect("a run reports its spending");
    let planned = decimal(&spent.planned);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!("expects to spend up to {planned} KES")),
        "{lines:?}"
    );
    assert!(decimal(&spent.spent) <= planned, "{spent:?}");

    let (exact, lines) = run_with_wallet(Some(planned)).await;
    let spent = exact.spending.clone().unwrap();
    assert!(!exact.failed(), "{}", exact.render());
    assert_eq!(spent.skipped, 0, "{}", exact.render());
    assert!(lines[0].contains("expects to spend"), "{lines:?}");

    let half = (planned / Decimal::TWO).round_dp(2);
    let (short, lines) = run_with_wallet(Some(half)).await;
    let spent = short.spending.clone().unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!(
            "holds {half} KES available; this run needs up to {planned} KES"
        )),
        "{lines:?}"
    );
    assert!(!short.failed(), "{}", short.render());
    assert!(spent.skipped > 0, "{spent:?}");
    assert!(decimal(&spent.spent) <= half, "{spent:?}");
    assert_eq!(spent.cap.as_deref(), Some(half.to_string().as_str()));
}
