//! The shipped client against the shipped mock, end to end: a payout is
//! created, replayed under its key, settled on the mock's clock and read
//! back; a refusal comes back as the typed error the status and code pair
//! with; every page is read. Both crates are real; nothing is scripted.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use rafiki_client::{Error, PayoutFilter, PollOptions, RafikiClient, RetryPolicy, types};
use rafiki_mock::{Config, ManualClock, MockHandle, WalletSeed};
use serde_json::json;

const KEY: &str = "sk_test_e2e_rich";
const POOR_KEY: &str = "sk_test_e2e_poor";
const DELAY: Duration = Duration::from_secs(30);

struct Env {
    mock: MockHandle,
    clock: Arc<ManualClock>,
}

async fn start() -> Env {
    let clock = Arc::new(ManualClock::new("2026-03-02T08:00:00Z".parse().unwrap()));
    let kes = |balance: &str| WalletSeed {
        currency: "KES".into(),
        balance: balance.parse().unwrap(),
    };
    let mut config = Config::with_keys([KEY], &[kes("1000000.00")]).manual_clock(clock.clone());
    config
        .accounts
        .extend(Config::with_keys([POOR_KEY], &[kes("100.00")]).accounts);
    config.processing_delay = DELAY;
    let mock = rafiki_mock::spawn(config).await.unwrap();
    Env { mock, clock }
}

fn client(env: &Env, key: &str) -> RafikiClient {
    RafikiClient::builder(env.mock.base_url(), key)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn payout(amount: &str, number: &str) -> types::PayoutCreateRequest {
    serde_json::from_value(json!({
        "amount": {"value": amount, "currency": "KES"},
        "payment_account": {
            "type": "MOBILE_MONEY", "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": "Wanjiru Kamau"},
            "mobile_money": {"number": number, "operator": "SAFARICOM"}
        },
        "sender": {
            "type": "BUSINESS", "name": "Duka Ltd",
            "address": {"line_1": "1 Moi Avenue", "city": "Nairobi", "postal_code": "00100", "country": "KE"}
        }
    }))
    .expect("a request the generated types accept")
}

#[tokio::test]
async fn a_payout_is_created_replayed_settled_and_read_back() {
    let env = start().await;
    let client = client(&env, KEY);
    let request = payout("1500.00", "+254712345678");

    let created = client
        .create_payout(&request, Some("e2e-key-1"))
        .await
        .unwrap();
    assert_eq!(created.payout.state.code.to_string(), "PENDING");
    assert_eq!(created.payout.amount.value, "1500.00".parse().unwrap());
    let replayed = client
        .create_payout(&request, Some("e2e-key-1"))
        .await
        .unwrap();
    assert_eq!(
        replayed.payout.id, created.payout.id,
        "same key, same payout"
    );

    env.clock.advance(DELAY);
    env.mock.run_due();
    let options = PollOptions {
        timeout: Duration::from_secs(5),
        initial_interval: Duration::from_millis(5),
        ..PollOptions::default()
    };
    let settled = client
        .wait_for_final_state(&created.payout.id, &options)
        .await
        .unwrap();
    assert_eq!(settled.state.code.to_string(), "SENT");
    let read = client.get_payout(created.payout.id.as_str()).await.unwrap();
    assert_eq!(read, settled);
}

#[tokio::test]
async fn refusals_arrive_as_the_typed_errors_their_status_and_code_pair_with() {
    let env = start().await;
    // Unchecked, so that the 422 is the mock's (the client would refuse it itself).
    let unchecked = RafikiClient::builder(env.mock.base_url(), KEY)
        .validate_requests(false)
        .build()
        .unwrap();
    let below_minimum = unchecked
        .create_payout(&payout("100.00", "+254712345678"), None)
        .await
        .unwrap_err();
    let Error::Validation(response) = &below_minimum.error else {
        panic!("expected a validation error, got {below_minimum:?}");
    };
    assert!(!response.refused_locally);
    assert!(
        response
            .fields()
            .is_some_and(|f| f.contains_key("amount.value")),
        "{response}"
    );

    let short = client(&env, POOR_KEY)
        .create_payout(&payout("500.00", "+254712345678"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(short.error, Error::InsufficientBalance(_)),
        "{short:?}"
    );

    let unknown = client(&env, "sk_test_nobody")
        .list_wallets()
        .await
        .unwrap_err();
    assert!(matches!(unknown, Error::Unauthorized(_)), "{unknown:?}");

    let missing = client(&env, KEY)
        .get_payout("pyt-2WLXb8bP6sS7QRvA6AFGp7NhGs7")
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");
}

#[tokio::test]
async fn every_page_is_read_newest_first() {
    let env = start().await;
    let client = client(&env, KEY);
    let mut ids = Vec::new();
    for i in 0..7 {
        let request = payout(&format!("{}.00", 200 + i), &format!("+2547123400{i:02}"));
        ids.push(
            client
                .create_payout(&request, None)
                .await
                .unwrap()
                .payout
                .id,
        );
        env.clock.advance(Duration::from_secs(1));
    }
    let filter = PayoutFilter {
        page_size: Some(2),
        ..PayoutFilter::default()
    };
    let listed: Vec<types::Payout> = client.payouts(filter).try_collect().await.unwrap();
    let listed: Vec<_> = listed.into_iter().map(|p| p.id).collect();
    ids.reverse();
    assert_eq!(listed, ids);
}
