//! How the mock reads credentials and bodies before any validation: a key
//! sent without the `Bearer` scheme (as the provider's own generated
//! examples do) gets a 401 that says how to send it, never echoing the key.

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
