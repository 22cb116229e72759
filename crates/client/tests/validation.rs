//! Pre-validation against a counting server: what the documented contract
//! refuses is refused by the client with the server's field path and no
//! request; what it allows (our stricter readings included) is sent; the
//! check can be turned off; accounts the client has seen get their limits
//! checked.

mod common;

use common::{KEY, client, payout_json};
use httpmock::Method::POST;
use httpmock::{Mock, MockServer};
use rafiki_client::{Error, RafikiClient, types, validate_payment_account, validate_payout};
use serde_json::{Value, json};

/// A KE mobile-money payout from a business, as `overrides` changes it.
fn payout(overrides: impl FnOnce(&mut Value)) -> types::PayoutCreateRequest {
    let mut body = json!({
        "amount": {"value": "1500.00", "currency": "KES"},
        "payment_account": account_json(),
        "sender": {
            "type": "BUSINESS", "name": "Duka Ltd",
            "address": {"line_1": "1 Moi Avenue", "city": "Nairobi", "postal_code": "00100", "country": "KE"}
        }
    });
    overrides(&mut body);
    serde_json::from_value(body).expect("a request the generated types accept")
}

fn account_json() -> Value {
    json!({
        "type": "MOBILE_MONEY", "country": "KE",
        "holder": {"type": "INDIVIDUAL", "name": "Wanjiru Kamau"},
        "mobile_money": {"number": "+254712345678", "operator": "SAFARICOM"}
    })
}

/// A server that accepts every payout, counting them.
fn accepting(server: &MockServer) -> Mock<'_> {
    server.mock(|when, then| {
        when.method(POST).path("/payouts");
        then.status(202)
            .json_body(json!({"data": payout_json("pyt-1", "PENDING")}));
    })
}

/// The client's refusal: a local 422 with the server's body.
fn refusal(error: &Error) -> (Vec<String>, bool) {
    let Error::Validation(response) = error else {
        panic!("expected a validation error, got {error:?}");
    };
    let mut paths: Vec<_> = response.fields().unwrap().keys().cloned().collect();
    paths.sort();
    assert_eq!(response.status.as_u16(), 422);
    assert_eq!(response.code(), "VALIDATION_FAILED");
    (paths, response.refused_locally)
}

#[tokio::test]
async fn a_payout_breaking_a_kenyan_rule_is_refused_without_a_request() {
    let server = MockServer::start_async().await;
    let payouts = accepting(&server);
    let api = client(&server.base_url());

    let below_minimum = payout(|b| b["amount"]["value"] = json!("100.00"));
    let refused = api.create_payout(&below_minimum, None).await.unwrap_err();
    assert_eq!(refused.attempts, 0, "no attempt was made");
    assert_eq!(refusal(&refused.error), (vec!["amount.value".into()], true));
    assert!(refused.error.to_string().contains("refused before sending"));

    let individual_without_birth_date = payout(|b| {
        b["sender"]["type"] = json!("INDIVIDUAL");
        b["sender"]["name"] = json!("Amina Njeri");
    });
    let refused = api
        .create_payout(&individual_without_birth_date, None)
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&refused.error),
        (vec!["sender.individual.dob".into()], true)
    );

    // Kenya requires the sender.
    let no_sender = payout(|b| {
        b.as_object_mut().unwrap().remove("sender");
    });
    let refused = api.create_payout(&no_sender, None).await.unwrap_err();
    assert_eq!(refusal(&refused.error).0, vec!["sender".to_owned()]);
    assert_eq!(payouts.calls_async().await, 0, "nothing reached the server");

    api.create_payout(&payout(|_| {}), None).await.unwrap();
    assert_eq!(payouts.calls_async().await, 1, "a valid payout is sent");
}

#[tokio::test]
async fn what_only_our_stricter_reading_refuses_is_sent() {
    let server = MockServer::start_async().await;
    let payouts = accepting(&server);
    let api = client(&server.base_url());
    // Blank text, an unserved country and our postcode formats are ours only.
    let blank_city = payout(|b| b["sender"]["address"]["city"] = json!("  "));
    assert!(validate_payout(&blank_city).is_ok());
    api.create_payout(&blank_city, None).await.unwrap();
    let unserved_country = payout(|b| b["payment_account"]["country"] = json!("FR"));
    api.create_payout(&unserved_country, None).await.unwrap();
    // A real British postcode our format does not know: the provider does
    // not document the formats, so the server decides.
    let special_postcode = payout(|b| {
        b["sender"]["address"]["country"] = json!("GB");
        b["sender"]["address"]["postal_code"] = json!("GIR 0AA");
    });
    api.create_payout(&special_postcode, None).await.unwrap();
    assert_eq!(payouts.calls_async().await, 3);
}

#[tokio::test]
async fn the_check_can_be_turned_off_per_client() {
    let server = MockServer::start_async().await;
    let refused_by_server = server.mock(|when, then| {
        when.method(POST).path("/payouts");
        then.status(422).json_body(json!({
            "code": "VALIDATION_FAILED", "message": "Validation failed.",
            "errors": {"fields": {"amount.value": ["below the minimum"]}}
        }));
    });
    let api = RafikiClient::builder(server.base_url(), KEY)
        .retry_policy(rafiki_client::RetryPolicy::none())
        .validate_requests(false)
        .build()
        .unwrap();
    let below_minimum = payout(|b| b["amount"]["value"] = json!("100.00"));
    let refused = api.create_payout(&below_minimum, None).await.unwrap_err();
    assert_eq!(refused.attempts, 1);
    assert_eq!(
        refusal(&refused.error),
        (vec!["amount.value".into()], false)
    );
    assert_eq!(refused_by_server.calls_async().await, 1);
    assert!(format!("{api:?}").contains("validate_requests: false"));
}

#[tokio::test]
async fn payouts_to_an_account_the_client_has_seen_get_its_limits_checked() {
    let server = MockServer::start_async().await;
    let mut account = account_json();
    account["id"] = json!("pac-seen");
    account["created_at"] = json!("2026-01-31T09:30:00Z");
    server.mock(|when, then| {
        when.method(POST).path("/payment-accounts");
        then.status(201).json_body(json!({"data": account}));
    });
    let payouts = accepting(&server);
    let api = client(&server.base_url());
    let by_id = |id: &str| {
        payout(|b| {
            b["amount"]["value"] = json!("600000.00");
            b.as_object_mut().unwrap().remove("payment_account");
            b["payment_account_id"] = json!(id);
        })
    };

    // Unknown destination: the limits are the server's to check.
    api.create_payout(&by_id("pac-seen"), None).await.unwrap();
    assert_eq!(payouts.calls_async().await, 1);

    let request = serde_json::from_value(account_json()).unwrap();
    api.get_or_create_payment_account(&request).await.unwrap();
    let refused = api
        .create_payout(&by_id("pac-seen"), None)
        .await
        .unwrap_err();
    assert_eq!(refusal(&refused.error), (vec!["amount.value".into()], true));
    api.create_payout(&by_id("pac-other"), None).await.unwrap();
    assert_eq!(payouts.calls_async().await, 2);
}

#[tokio::test]
async fn a_payment_account_breaking_a_rule_is_refused_without_a_request() {
    let server = MockServer::start_async().await;
    let accounts = server.mock(|when, then| {
        when.method(POST).path("/payment-accounts");
        then.status(500);
    });
    let api = client(&server.base_url());
    // A mobile-money account without its number and operator.
    let mut body = account_json();
    body.as_object_mut().unwrap().remove("mobile_money");
    let request: types::PaymentAccountRequest = serde_json::from_value(body).unwrap();
    assert_eq!(
        refusal(&validate_payment_account(&request).unwrap_err()),
        (vec!["mobile_money".into()], true)
    );
    let error = api
        .get_or_create_payment_account(&request)
        .await
        .unwrap_err();
    assert_eq!(refusal(&error).0, vec!["mobile_money".to_owned()]);
    assert_eq!(accounts.calls_async().await, 0);
}
