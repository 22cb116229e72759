//! The sandbox control client (`rafiki_client::sandbox`) against httpmock:
//! it sends the account's key as a Bearer token on every control call,
//! bodies as the spec writes them, decodes answers and errors, and never
//! shows the key in `Debug` output.

mod common;

use common::KEY;
use httpmock::prelude::*;
use rafiki_client::sandbox::{self, types};
use serde_json::json;

#[tokio::test]
async fn control_calls_send_the_bearer_key_and_decode_the_answer() {
    let server = MockServer::start_async().await;
    let fund = server.mock(|when, then| {
        when.method(POST)
            .path("/_sandbox/wallets/wlt-1/fund")
            .header("authorization", format!("Bearer {KEY}"))
            .header("user-agent", rafiki_client::USER_AGENT)
            .json_body(json!({"amount": "100.50"}));
        then.status(200).json_body(json!({"data": {
            "id": "wlt-1", "currency": "KES", "balance": "1100.50", "available": "1000.50"
        }}));
    });
    let transition = server.mock(|when, then| {
        when.method(POST)
            .path("/_sandbox/payouts/pyt-1/transition")
            .header("authorization", format!("Bearer {KEY}"))
            .json_body(json!({"to": "SENT"}));
        then.status(409)
            .json_body(json!({"code": "ILLEGAL_TRANSITION", "message": "no"}));
    });
    let control = sandbox::connect(&server.base_url(), KEY).unwrap();

    let wallet = control
        .sandbox_fund_wallet()
        .id("wlt-1")
        .body(types::FundRequest {
            amount: "100.50".parse().unwrap(),
        })
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(wallet.available, "1000.50".parse().unwrap());

    let refused = control
        .sandbox_transition_payout()
        .id("pyt-1")
        .body(types::TransitionRequest {
            to: types::PayoutStateCode::Sent,
            context: None,
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(409));
    let sandbox::Error::ErrorResponse(body) = refused else {
        panic!("a documented error decodes: {refused:?}");
    };
    assert_eq!(body.code.as_str(), "ILLEGAL_TRANSITION");
    fund.assert();
    transition.assert();
}

#[test]
fn debug_output_never_shows_the_key() {
    let control = sandbox::connect("http://127.0.0.1:9", "sk_test_very_secret_key").unwrap();
    let printed = format!("{control:?} {control:#?}");
    assert!(!printed.contains("very_secret"), "{printed}");
    assert!(
        printed.contains("Sensitive"),
        "the header is there, hidden: {printed}"
    );
}

#[test]
fn a_bad_root_url_or_key_is_refused_like_the_api_client() {
    assert!(sandbox::connect("127.0.0.1:8080", KEY).is_err());
    assert!(sandbox::connect("http://127.0.0.1:8080", " ").is_err());
}
