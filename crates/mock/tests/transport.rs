//! How the mock reads credentials and bodies before any validation: a key
//! sent without the `Bearer` scheme (as the provider's own generated
//! examples do) gets a 401 that says how to send it, never echoing the key;
//! a body not sent as `application/json` gets 400 before anything else.

mod common;

use common::{KEY, start};
use serde_json::Value;

async fn wallets_with_authorization(env: &common::Env, header: &str) -> (u16, Value) {
    let response = env
        .http
        .get(format!("{}/wallets", env.mock.base_url()))
        .header("Authorization", header)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_bare_key_gets_401_naming_the_bearer_scheme_without_echoing_the_key() {
    let env = start().await;
    for header in [
        KEY.to_string(),
        format!("Token {KEY}"),
        format!("Basic {KEY}"),
    ] {
        let (status, body) = wallets_with_authorization(&env, &header).await;
        assert_eq!(status, 401, "{header}: {body}");
        assert_eq!(body["code"], "UNAUTHORIZED");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("Bearer <key>"), "{message}");
        assert!(!body.to_string().contains(KEY), "the key is echoed: {body}");
    }
    // The documented form works, the scheme in any case.
    for header in [format!("Bearer {KEY}"), format!("bearer {KEY}")] {
        assert_eq!(wallets_with_authorization(&env, &header).await.0, 200);
    }
    // An unknown key in the right form is the plain 401.
    let (status, body) = wallets_with_authorization(&env, "Bearer sk_test_nobody").await;
    assert_eq!(status, 401);
    assert!(!body["message"].as_str().unwrap().contains("Bearer <key>"));
}

/// `POST path` with `body`, the given `Content-Type` (or none) and, for
/// payouts, no idempotency key: the answer's status and body.
async fn post(
    env: &common::Env,
    path: &str,
    content_type: Option<&str>,
    body: String,
) -> (u16, Value) {
    let mut request = env
        .http
        .post(format!("{}{path}", env.mock.base_url()))
        .header("Authorization", format!("Bearer {KEY}"))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_body_not_sent_as_json_gets_400_before_any_validation() {
    let env = start().await;
    let payout = common::payout_json("+254712345678", "150.00");
    let account = payout["payment_account"].clone();
    for (path, valid) in [("/payouts", payout), ("/payment-accounts", account)] {
        // Valid bodies and invalid ones alike: the type is refused first
        // (for payouts even before the missing X-Idempotency-Key).
        for body in [valid.to_string(), "not json".to_string(), String::new()] {
            for content_type in [
                None,
                Some("text/plain"),
                Some("application/x-www-form-urlencoded"),
            ] {
                let (status, answer) = post(&env, path, content_type, body.clone()).await;
                assert_eq!(status, 400, "{path} {content_type:?} {body:?}: {answer}");
                assert!(answer["code"].is_string(), "{answer}");
                assert!(
                    answer["message"]
                        .as_str()
                        .unwrap()
                        .contains("application/json"),
                    "{answer}"
                );
                assert!(answer.get("errors").is_none(), "{answer}");
            }
        }
    }
    // Nothing was created.
    let (status, payouts) = env.get_v1("/payouts").await;
    assert_eq!(status, 200);
    assert_eq!(
        payouts["data"].as_array().map(Vec::len),
        Some(0),
        "{payouts}"
    );
    // JSON, with parameters or a +json type, is read.
    let (status, answer) = post(
        &env,
        "/payment-accounts",
        Some("application/json; charset=utf-8"),
        "[1,2".to_string(),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("VALIDATION_FAILED"))
    );
}
