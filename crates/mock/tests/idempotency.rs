//! Idempotency of POST /payouts and wallet accounting under concurrency.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{KEY, OTHER_KEY, dec, payout_json, payout_request, start, start_with_balance};
use futures::future::join_all;
use rafiki_client::Error;
use serde_json::Value;

/// A raw POST /payouts: status and exact body bytes.
async fn post(env: &common::Env, key: Option<&str>, body: &Value) -> (u16, Vec<u8>) {
    let mut request = env
        .http
        .post(format!("{}/payouts", env.mock.base_url()))
        .bearer_auth(KEY)
        .json(body);
    if let Some(key) = key {
        request = request.header("X-Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.bytes().await.unwrap().to_vec(),
    )
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[tokio::test]
async fn a_retry_replays_the_first_answer_byte_for_byte_and_creates_nothing() {
    let env = start().await;
    let body = payout_json("+254712345678", "2500.00");
    let first = post(&env, Some("key-1"), &body).await;
    assert_eq!(first.0, 202);
    env.mock.advance(common::DELAY);
    let again = post(&env, Some("key-1"), &body).await;
    assert_eq!(
        again, first,
        "same status and bytes, even after the payout moved on"
    );
    assert_eq!(env.mock.store().counts(KEY), Some((1, 1)));
    assert_eq!(
        env.wallet().await.balance,
        dec("9997500.00"),
        "charged once"
    );

    let typed = env
        .client
        .create_payout(&payout_request("+254712345678", "2500.00"), Some("key-1"))
        .await
        .unwrap();
    assert_eq!(typed.payout.id.as_str(), json(&first.1)["data"]["id"]);

    // Another body under a used key: the stored answer, as the provider's
    // idempotency page says (the key, not the body, names the request).
    let other_body = payout_json("+254712345678", "2600.00");
    assert_eq!(post(&env, Some("key-1"), &other_body).await, first);
    assert_eq!(env.mock.store().counts(KEY), Some((1, 1)), "nothing new");

    // Keys are per account: the other account may use the same one.
    let other = common::client(&env.mock, OTHER_KEY);
    let theirs = other
        .create_payout(&payout_request("+254712345678", "2500.00"), Some("key-1"))
        .await
        .unwrap();
    assert_ne!(theirs.payout.id.as_str(), json(&first.1)["data"]["id"]);
}

#[tokio::test]
async fn answers_are_kept_for_24_hours_then_the_key_is_free_again() {
    let env = start().await;
    let send = |amount: &'static str| async {
        post(&env, Some("key-24h"), &payout_json("+254712345678", amount)).await
    };
    let (status, first) = send("300.00").await;
    assert_eq!(status, 202);
    env.clock.advance(Duration::from_secs(24 * 3600 - 1));
    assert_eq!(send("301.00").await, (status, first.clone()), "still kept");
    env.clock.advance(Duration::from_secs(1));
    let (status, second) = send("301.00").await;
    assert_eq!(status, 202);
    assert_ne!(json(&first)["data"]["id"], json(&second)["data"]["id"]);
}

#[tokio::test]
async fn the_key_is_required_and_at_most_255_characters() {
    let env = start().await;
    let body = payout_json("+254712345678", "300.00");
    for key in [None, Some(""), Some(&*"k".repeat(256))] {
        let (status, bytes) = post(&env, key, &body).await;
        let error = json(&bytes);
        assert_eq!(
            (status, error["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{key:?}"
        );
        assert!(
            error["errors"]["fields"]["X-Idempotency-Key"].is_array(),
            "{error}"
        );
    }
    assert_eq!(post(&env, Some(&"k".repeat(255)), &body).await.0, 202);
    // Missing and empty are told apart (same status and code): a shell
    // whose key command failed may send either.
    for (key, reason) in [
        (None, "the header is required"),
        (Some(""), "must not be empty"),
    ] {
        let (_, bytes) = post(&env, key, &body).await;
        assert_eq!(
            json(&bytes)["errors"]["fields"]["X-Idempotency-Key"],
            serde_json::json!([reason]),
            "{key:?}"
        );
    }
    // The provider sets no format beyond the length: free text is a key.
    assert_eq!(post(&env, Some("order 42 / retry"), &body).await.0, 202);
    assert_eq!(env.mock.store().counts(KEY), Some((2, 1)));
}

#[tokio::test]
async fn the_key_reuse_refused_variant_answers_another_body_with_409() {
    let env = common::start_configured("10000000.00", |c| {
        c.other_body_with_used_key = rafiki_mock::OtherBody::Refuse
    })
    .await;
    let first = post(
        &env,
        Some("key-1"),
        &payout_json("+254712345678", "2500.00"),
    )
    .await;
    assert_eq!(first.0, 202);
    let other_body = payout_json("+254712345678", "2600.00");
    let (status, bytes) = post(&env, Some("key-1"), &other_body).await;
    assert_eq!(
        (status, json(&bytes)["code"].as_str()),
        (409, Some("IDEMPOTENCY_KEY_ALREADY_USED"))
    );
    let typed = env
        .client
        .create_payout(&payout_request("+254712345678", "2600.00"), Some("key-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(typed.error, Error::IdempotencyKeyAlreadyUsed(_)),
        "{typed}"
    );
    assert_eq!(env.mock.store().counts(KEY), Some((1, 1)));
}

#[tokio::test]
async fn refusals_are_replayed_too() {
    let env = start_with_balance("1000.00").await;
    let body = payout_json("+254712345678", "2500.00");
    let first = post(&env, Some("short"), &body).await;
    assert_eq!(
        (first.0, json(&first.1)["code"].as_str()),
        (402, Some("WALLET_INSUFFICIENT_BALANCE"))
    );
    let wallet = env.wallet().await;
    env.fund(wallet.id.as_str(), "5000").await.unwrap();
    assert_eq!(
        post(&env, Some("short"), &body).await,
        first,
        "the stored 402 is the answer for 24 h"
    );
    assert_eq!(
        post(&env, Some("funded"), &body).await.0,
        202,
        "a new key is a new request"
    );

    let invalid = payout_json("+254712345678", "1.00");
    let refused = post(&env, Some("invalid"), &invalid).await;
    assert_eq!(
        json(&refused.1)["errors"]["fields"]["amount.value"][0],
        "must be at least 140 KES"
    );
    assert_eq!(post(&env, Some("invalid"), &invalid).await, refused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_creates_with_one_key_make_exactly_one_payout() {
    let env = start().await;
    let request = payout_request("+254712345678", "2500.00");
    let answers =
        join_all((0..64).map(|_| env.client.create_payout(&request, Some("one-key")))).await;
    let mut ids = HashSet::new();
    let mut races = 0;
    for answer in answers {
        match answer {
            Ok(created) => {
                ids.insert(created.payout.id.to_string());
            }
            Err(e) if matches!(e.error, Error::IdempotencyRace(_)) => races += 1,
            Err(e) => panic!("unexpected answer: {e}"),
        }
    }
    assert_eq!(ids.len(), 1, "one payout id for one key ({races} races)");
    assert_eq!(env.mock.store().counts(KEY).unwrap().0, 1);
    assert_eq!(env.wallet().await.available, dec("9997500.00"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_payouts_against_a_wallet_for_one_hundred_accept_exactly_one_hundred()
 {
    let env = start_with_balance("15000.00").await;
    let request = payout_request("+254712345678", "150.00");
    let answers = join_all((0..200).map(|_| env.client.create_payout(&request, None))).await;
    let accepted = answers.iter().filter(|a| a.is_ok()).count();
    let short = answers
        .iter()
        .filter(|a| matches!(a, Err(e) if matches!(e.error, Error::InsufficientBalance(_))))
        .count();
    assert_eq!((accepted, short), (100, 100));
    assert_eq!(env.balances().await, (dec("15000.00"), dec("0")));
    assert_eq!(env.mock.advance(common::DELAY), 100);
    assert_eq!(env.balances().await, (dec("0"), dec("0")));
}
