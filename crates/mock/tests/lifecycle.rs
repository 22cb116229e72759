//! Payouts through their lifecycle: the scheduler (driven by the manual
//! clock), the sandbox test values, and the control API's transitions with
//! their wallet effects.

mod common;

use std::time::Duration;

use common::{DELAY, dec, refusal, start, to};
use rafiki_client::sandbox::types::{HealthStatus, TransitionRequest, TransitionRequestContext};
// The control API's own state type, beside the API client's PayoutStateCode.
use rafiki_client::sandbox::{self, types::PayoutStateCode as State};
use rafiki_client::types::PayoutStateCode;
use rafiki_client::{PollOptions, RafikiClient};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_payout_goes_pending_then_sent_with_a_receipt_and_settles_the_wallet() {
    let env = start().await;
    let payout = env.create("+254712345678", "2500.00").await;
    assert_eq!(payout.state.code, PayoutStateCode::Pending);
    assert!(payout.receipt.is_none());
    assert_eq!(
        env.balances().await,
        (dec("10000000.00"), dec("9997500.00"))
    );

    assert_eq!(
        env.mock.advance(DELAY - Duration::from_millis(1)),
        0,
        "not due yet"
    );
    assert_eq!(
        env.fetch(&payout.id).await.state.code,
        PayoutStateCode::Pending
    );
    assert_eq!(env.mock.advance(Duration::from_millis(1)), 1);

    let sent = env.fetch(&payout.id).await;
    assert_eq!(sent.state.code, PayoutStateCode::Sent);
    assert!(sent.state.context.is_none());
    assert!(sent.receipt.as_ref().is_some_and(|r| !r.is_empty()));
    assert_eq!(
        (sent.id.as_str(), &sent.amount, &sent.created_at),
        (payout.id.as_str(), &payout.amount, &payout.created_at)
    );
    assert_eq!(env.balances().await, (dec("9997500.00"), dec("9997500.00")));
}

#[tokio::test]
async fn each_sandbox_test_value_fails_with_its_context_and_releases_the_reservation() {
    let env = start().await;
    let cases = [
        ("+254700000100", None),
        (
            "+254700000101",
            Some("PAYMENT_ACCOUNT_INVALID_ACCOUNT_NUMBER"),
        ),
        ("+254700000102", Some("PAYMENT_ACCOUNT_BALANCE_MAXED_OUT")),
        (
            "+254700000103",
            Some("PAYMENT_ACCOUNT_PER_TRANSACTION_LIMIT_REACHED"),
        ),
        ("+254700000104", Some("PAYMENT_ACCOUNT_DAILY_LIMIT_REACHED")),
        (
            "+254700000105",
            Some("PAYMENT_ACCOUNT_MONTHLY_LIMIT_REACHED"),
        ),
        ("+254700000106", Some("PAYMENT_ACCOUNT_LIMIT_REACHED")),
    ];
    let mut ids = Vec::new();
    for (number, _) in cases {
        ids.push(env.create(number, "1000.00").await.id);
    }
    let bank_account: rafiki_client::types::PayoutCreateRequest = serde_json::from_value(json!({
        "amount": {"value": "1000.00", "currency": "KES"},
        "payment_account": {
            "type": "BANK_ACCOUNT", "country": "KE",
            "holder": {"type": "BUSINESS", "name": "Duka Ltd"},
            "bank_account": {"bank_id": "bnk-2WLXb8bP6sS7QRvA6AFGp7NhGs7", "number": "0390195016650"}
        },
        "sender": common::payout_json("+254712345678", "1000.00")["sender"].clone()
    }))
    .unwrap();
    let bank_payout = env
        .client
        .create_payout(&bank_account, None)
        .await
        .unwrap()
        .payout;
    assert_eq!(env.wallet().await.available, dec("9992000.00"));

    assert_eq!(env.mock.advance(DELAY), cases.len() + 1);
    for ((number, context), id) in cases.iter().zip(&ids) {
        let payout = env.fetch(id).await;
        assert_eq!(payout.state.code, PayoutStateCode::Failed, "{number}");
        assert_eq!(
            payout.state.context.as_ref().map(|c| c.as_str()),
            *context,
            "{number}"
        );
        assert!(payout.receipt.is_none(), "{number}");
    }
    let bank = env
        .client
        .get_payout(bank_payout.id.as_str())
        .await
        .unwrap();
    assert_eq!(
        (bank.state.code, bank.state.context),
        (PayoutStateCode::Failed, None)
    );
    assert_eq!(
        env.balances().await,
        (dec("10000000.00"), dec("10000000.00"))
    );
}

#[tokio::test]
async fn support_transitions_go_through_the_control_api_and_illegal_ones_are_refused() {
    let env = start().await;
    let pending = env.create("+254712345678", "1000.00").await;
    let cancelled = env
        .transition(pending.id.as_str(), to(State::Cancelled))
        .await
        .unwrap();
    assert_eq!(
        (cancelled.state.code, cancelled.state.context),
        (State::Cancelled, None)
    );
    assert_eq!(
        env.wallet().await.available,
        dec("10000000.00"),
        "cancel releases"
    );
    for state in [
        State::Sent,
        State::Failed,
        State::Reversed,
        State::Pending,
        State::Cancelled,
    ] {
        assert_eq!(
            refusal(env.transition(pending.id.as_str(), to(state)).await),
            (409, "ILLEGAL_TRANSITION".into()),
            "CANCELLED -> {state}"
        );
    }
    assert_eq!(
        env.mock.advance(DELAY),
        0,
        "a cancelled payout is no longer scheduled"
    );

    let sent = env.create("+254712345678", "1000.00").await;
    let early = env.transition(sent.id.as_str(), to(State::Reversed)).await;
    assert_eq!(refusal(early).0, 409, "PENDING -> REVERSED is not allowed");
    env.mock.advance(DELAY);
    assert_eq!(env.wallet().await.balance, dec("9999000.00"));
    let reversed = env
        .transition(sent.id.as_str(), to(State::Reversed))
        .await
        .unwrap();
    assert_eq!(reversed.state.code, State::Reversed);
    assert_eq!(
        env.balances().await,
        (dec("10000000.00"), dec("10000000.00")),
        "reversal credits back"
    );
    assert_eq!(
        env.fetch(&sent.id).await.state.code,
        PayoutStateCode::Reversed
    );

    let forced = env.create("+254712345678", "1000.00").await;
    let limit_reached = TransitionRequest {
        to: State::Failed,
        context: Some(TransitionRequestContext::PaymentAccountDailyLimitReached),
    };
    let failed = env
        .transition(forced.id.as_str(), limit_reached)
        .await
        .unwrap();
    assert_eq!(
        (failed.state.code, failed.state.context.as_deref()),
        (State::Failed, Some("PAYMENT_ACCOUNT_DAILY_LIMIT_REACHED"))
    );

    assert_eq!(
        refusal(
            env.transition("pyt-doesnotexist", to(State::Cancelled))
                .await
        ),
        (404, "NOT_FOUND".into())
    );
    let context_without_failure = TransitionRequest {
        to: State::Sent,
        context: Some(TransitionRequestContext::PaymentAccountLimitReached),
    };
    assert_eq!(
        refusal(
            env.transition(forced.id.as_str(), context_without_failure)
                .await
        ),
        (422, "VALIDATION_FAILED".into())
    );
    // Bodies the typed client cannot write, sent raw.
    let path = format!("/_sandbox/payouts/{}/transition", forced.id.as_str());
    for bad in [json!({}), json!({"to": "LOST"}), json!({"to": 3})] {
        let (status, body) = env.call(Method::POST, &path, Some(bad.clone())).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_control_api_funds_resets_and_is_per_account() {
    let env = start().await;
    let wallet = env.wallet().await;
    let funded = env.fund(wallet.id.as_str(), "100.50").await.unwrap();
    assert_eq!(funded.available, dec("10000100.50"));
    assert_eq!(refusal(env.fund("wlt-unknown", "1").await).0, 404);
    // An amount the typed client cannot write, sent raw.
    let path = format!("/_sandbox/wallets/{}/fund", wallet.id.as_str());
    let (status, _) = env
        .call(Method::POST, &path, Some(json!({"amount": "-1"})))
        .await;
    assert_eq!(status, 422);

    let payout = env.create("+254712345678", "1000.00").await;
    let other = common::client(&env.mock, common::OTHER_KEY);
    let other_wallet = other.list_wallets().await.unwrap().remove(0);
    assert_eq!(
        refusal(env.fund(other_wallet.id.as_str(), "1").await).0,
        404,
        "a key cannot fund another account's wallet"
    );

    let restored = env
        .control
        .sandbox_reset_account()
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(
        restored[0].id.as_str(),
        wallet.id.as_str(),
        "same wallet ids after reset"
    );
    assert_eq!(env.wallet().await.available, dec("10000000.00"));
    assert!(matches!(
        env.client.get_payout(payout.id.as_str()).await,
        Err(rafiki_client::Error::NotFound(_))
    ));
    let keyless = sandbox::Client::new(&env.root());
    let health = keyless.sandbox_health().send().await.unwrap();
    assert_eq!(
        health.into_inner().status,
        HealthStatus::Ok,
        "health needs no key"
    );
}

/// The real clock and the background scheduler, as an integrator uses it:
/// create, then poll with the client until SENT.
#[tokio::test]
async fn with_the_system_clock_the_background_scheduler_settles_payouts() {
    let config = rafiki_mock::Config {
        processing_delay: Duration::from_millis(20),
        ..rafiki_mock::Config::default()
    };
    let mock = rafiki_mock::spawn(config).await.unwrap();
    let client = RafikiClient::new(mock.base_url(), rafiki_mock::DEFAULT_API_KEY).unwrap();
    let created = client
        .create_payout(&common::payout_request("+254712345678", "500.00"), None)
        .await
        .unwrap();
    let options = PollOptions {
        initial_interval: Duration::from_millis(10),
        timeout: Duration::from_secs(10),
        ..PollOptions::default()
    };
    let done = client
        .wait_for_final_state(created.payout.id.as_str(), &options)
        .await
        .unwrap();
    assert_eq!(done.state.code, PayoutStateCode::Sent);
    assert!(done.receipt.is_some());
    mock.shutdown().await;
}
