//! A finite wallet: the run says what it needs before its first payout;
//! a wallet holding exactly that passes, and one holding half of it gets
//! one line and skips, never a cascade of 402 failures.

mod common;

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

/// A run against a mock like the real sandbox: no control API to fund a
/// wallet, the first account holding `first` KES (the run's cap, as no
/// more is needed than its wallet) and the second, whose wallet the money
/// sequences pay from, 20,000.
async fn run_without_control_api(first: &str, max_spend: Option<Decimal>) -> Report {
    let mut config = rafiki_mock::Config::for_contract_suite(KEYS);
    config.control_api = false;
    config.accounts[0].wallets[0].balance = decimal(first);
    config.accounts[1].wallets[0].balance = decimal("20000.00");
    common::run_against(config, KEYS, |run| {
        run.max_examples = 40;
        run.seed = Some(11);
        run.max_spend = max_spend;
    })
    .await
}

/// The documented 402 is still tried on a finite wallet: the sequences'
/// payout just above what their wallet shows is sent (a conforming server
/// refuses it, so the wallet does not cap it), unless `--max-spend` is
/// below it. And creates no conforming server accepts (no key, no content
/// type) spend nothing: their 401 and 400 are tried past the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_tried_on_a_small_wallet_without_a_control_api() {
    let report = run_without_control_api("10000.00", None).await;
    let render = report.render();
    assert!(!report.failed(), "{render}");
    assert!(report.coverage.exercised("create_payout", 402), "{render}");
    let insufficient = report.check("insufficient_balance").unwrap();
    assert!(insufficient.passed > 0, "{render}");

    let report = run_without_control_api("1000.00", None).await;
    let render = report.render();
    assert!(!report.failed(), "{render}");
    for status in [400, 401] {
        assert!(
            report.coverage.exercised("create_payout", status),
            "{status}: {render}"
        );
    }
    // (A create with the bare key, or sent as text/plain, may be accepted:
    // the provider documents neither answer, so those are held.)
    let auth = report.check("auth_required").unwrap();
    assert_eq!((auth.failed, auth.skipped), (0, 1), "{render}");
    // Refused as documented, a payout is sent however spent the wallet.
    for check in ["invalid_payout_rejected", "idempotency_key_required"] {
        let result = report.check(check).unwrap();
        assert!(result.passed > 0 && result.failed == 0, "{check}: {render}");
    }
    let idempotency = report.check("idempotency_key_required").unwrap();
    assert_eq!(idempotency.passed, 2, "the two refusals: {render}");
    assert!(
        report.check("content_type_required").unwrap().passed > 0,
        "{render}"
    );

    // Under a --max-spend below the wallet, no payout above the wallet is sent.
    let report = run_without_control_api("10000.00", Some(decimal("15000.00"))).await;
    assert!(!report.failed(), "{}", report.render());
    assert!(
        !report.coverage.exercised("create_payout", 402),
        "{}",
        report.render()
    );
}
