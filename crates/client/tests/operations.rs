//! Every operation against httpmock: method, path, query, headers and body
//! on the way out; typed values and typed errors on the way back.

mod common;

use common::{KEY, client, create_request, error_json, payout_json};
use futures::TryStreamExt;
use httpmock::prelude::*;
use rafiki_client::mock::MockServerExt;
use rafiki_client::{Error, PayoutFilter, types};
use serde_json::json;

const BEARER: &str = "Bearer sk_test_client_suite";

#[tokio::test]
async fn list_banks_and_wallets_send_bearer_and_decode() {
    let server = MockServer::start_async().await;
    let body: types::BankList = serde_json::from_value(json!({"data": [
        {"id": "bnk-1", "name": "Equity", "country": "KE", "branches": [{"id": "brn-1", "name": "Nairobi"}]}
    ]}))
    .unwrap();
    // progenitor's typed helper; `into_inner` adds what it cannot express.
    let banks = server.list_banks(|when, then| {
        when.into_inner()
            .header("authorization", BEARER)
            .header("user-agent", rafiki_client::USER_AGENT);
        then.ok(&body);
    });
    let wallets = server.mock(|when, then| {
        when.method(GET)
            .path("/wallets")
            .header("authorization", BEARER);
        then.status(200).json_body(json!({"data": [
            {"id": "wlt-1", "currency": "KES", "balance": "1000.50", "available": "900.25"}
        ]}));
    });
    let api = client(&server.base_url());
    let bank_list = api.list_banks().await.unwrap();
    assert_eq!(bank_list[0].branches[0].id.as_str(), "brn-1");
    let wallet_list = api.list_wallets().await.unwrap();
    assert_eq!(wallet_list[0].available.to_string(), "900.25");
    assert_eq!(
        wallet_list[0].balance,
        "1000.50".parse().unwrap(),
        "decimals stay exact"
    );
    banks.assert();
    wallets.assert();
}

#[tokio::test]
async fn create_payout_sends_key_and_body_and_decodes_202() {
    let server = MockServer::start_async().await;
    let request = create_request();
    let key: types::CreatePayoutXIdempotencyKey = "key-123".parse().unwrap();
    let accepted: types::PayoutEnvelope =
        serde_json::from_value(json!({"data": payout_json("pyt-1", "PENDING")})).unwrap();
    let mock = server.create_payout(|when, then| {
        let when = when.x_idempotency_key(&key).body(&request);
        when.into_inner()
            .header("authorization", BEARER)
            .header("content-type", "application/json");
        then.accepted(&accepted);
    });
    let created = client(&server.base_url())
        .create_payout(&request, Some("key-123"))
        .await
        .unwrap();
    assert_eq!(created.payout.id.as_str(), "pyt-1");
    assert_eq!(created.payout.state.code, types::PayoutStateCode::Pending);
    assert_eq!(
        (created.idempotency_key.as_str(), created.attempts),
        ("key-123", 1)
    );
    mock.assert();
}

#[tokio::test]
async fn create_payout_makes_a_uuid_v4_key_when_none_is_given() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/payouts")
            .header_exists("x-idempotency-key");
        then.status(202)
            .json_body(json!({"data": payout_json("pyt-2", "PENDING")}));
    });
    let created = client(&server.base_url())
        .create_payout(&create_request(), None)
        .await
        .unwrap();
    let key = uuid::Uuid::parse_str(&created.idempotency_key).expect("a UUID");
    assert_eq!(key.get_version_num(), 4);
    mock.assert();
}

#[tokio::test]
async fn get_payout_uses_the_id_in_the_path_and_keeps_the_receipt() {
    let server = MockServer::start_async().await;
    let mut body = payout_json("pyt-abc", "SENT");
    body["receipt"] = json!("QK71ABCDEF");
    let mock = server.mock(|when, then| {
        when.method(GET)
            .path("/payouts/pyt-abc")
            .header("authorization", BEARER);
        then.status(200).json_body(json!({"data": body}));
    });
    let payout = client(&server.base_url())
        .get_payout("pyt-abc")
        .await
        .unwrap();
    assert_eq!(
        payout.receipt.as_deref().map(|r| r.as_str()),
        Some("QK71ABCDEF")
    );
    mock.assert();
}

#[tokio::test]
async fn payment_account_get_or_create_tells_200_from_201() {
    let server = MockServer::start_async().await;
    let request: types::PaymentAccountRequest = serde_json::from_value(json!({
        "type": "MOBILE_MONEY", "country": "KE",
        "holder": {"type": "INDIVIDUAL", "name": "Achieng Otieno"},
        "mobile_money": {"number": "+254712345678", "operator": "SAFARICOM"}
    }))
    .unwrap();
    let mut account = serde_json::to_value(&request).unwrap();
    account["id"] = json!("pac-9");
    account["created_at"] = json!("2026-01-31T09:30:00+03:00");
    let created = server.mock(|when, then| {
        when.method(POST)
            .path("/payment-accounts")
            .json_body(serde_json::to_value(&request).unwrap())
            .header("authorization", BEARER);
        then.status(201).json_body(json!({"data": account}));
    });
    let api = client(&server.base_url());
    let (first, was_created) = api.get_or_create_payment_account(&request).await.unwrap();
    assert!(was_created);
    assert_eq!(first.id.as_str(), "pac-9");
    assert_eq!(first.created_at.0.to_rfc3339(), "2026-01-31T06:30:00+00:00");
    created.assert();

    let mut created = created;
    created.delete();
    server.mock(|when, then| {
        when.method(POST).path("/payment-accounts");
        then.status(200).json_body(json!({"data": account}));
    });
    let (_, was_created) = api.get_or_create_payment_account(&request).await.unwrap();
    assert!(!was_created);
}

#[tokio::test]
async fn payout_stream_follows_the_cursor_and_visits_every_item_once() {
    let server = MockServer::start_async().await;
    let page = |ids: &[&str], after: Option<&str>| {
        let data: Vec<_> = ids.iter().map(|id| payout_json(id, "SENT")).collect();
        match after {
            Some(a) => json!({"data": data, "meta": {"paging": {"cursors": {"after": a},
                "next": format!("https://example.invalid/v1/payouts?paging_after={a}&paging_limit=2")}}}),
            None => json!({"data": data, "meta": {"paging": {}}}),
        }
    };
    let filtered = |when: httpmock::When| {
        when.method(GET)
            .path("/payouts")
            .query_param("paging_limit", "2")
            .query_param("created_at_from", "2026-01-01")
            .query_param("created_at_to", "2026-01-31T23:00:00+03:00")
    };
    let first = server.mock(|when, then| {
        filtered(when).query_param_missing("paging_after");
        then.status(200)
            .json_body(page(&["pyt-5", "pyt-4"], Some("Y3Vyc29yMQ")));
    });
    let second = server.mock(|when, then| {
        filtered(when).query_param("paging_after", "Y3Vyc29yMQ");
        then.status(200)
            .json_body(page(&["pyt-3", "pyt-2"], Some("Y3Vyc29yMg==")));
    });
    let last = server.mock(|when, then| {
        filtered(when).query_param("paging_after", "Y3Vyc29yMg==");
        then.status(200).json_body(page(&["pyt-1"], None));
    });
    let api = client(&server.base_url());
    let filter = PayoutFilter {
        created_at_from: Some("2026-01-01".into()),
        created_at_to: Some("2026-01-31T23:00:00+03:00".into()),
        page_size: Some(2),
    };
    let ids: Vec<String> = api
        .payouts(filter)
        .map_ok(|p| p.id.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["pyt-5", "pyt-4", "pyt-3", "pyt-2", "pyt-1"]);
    for mock in [first, second, last] {
        mock.assert_calls(1);
    }
}

#[tokio::test]
async fn payment_account_stream_pages_too() {
    let server = MockServer::start_async().await;
    let account = |id: &str| {
        json!({"id": id, "type": "BANK_ACCOUNT", "country": "KE",
        "holder": {"type": "BUSINESS", "name": "Duka"},
        "bank_account": {"bank_id": "bnk-1", "number": "0123456789"},
        "created_at": "2026-01-31T09:30:00Z"})
    };
    server.mock(|when, then| {
        when.method(GET).path("/payment-accounts").query_param("paging_limit", "1").query_param_missing("paging_after");
        then.status(200).json_body(json!({"data": [account("pac-2")], "meta": {"paging": {"cursors": {"after": "cGFjLTI"}}}}));
    });
    server.mock(|when, then| {
        when.method(GET)
            .path("/payment-accounts")
            .query_param("paging_limit", "1")
            .query_param("paging_after", "cGFjLTI");
        then.status(200)
            .json_body(json!({"data": [account("pac-1")], "meta": {"paging": {}}}));
    });
    let ids: Vec<String> = client(&server.base_url())
        .payment_accounts(Some(1))
        .map_ok(|a| a.id.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["pac-2", "pac-1"]);
}

/// Answers `POST /payouts` with `status` and `body`, then returns the error.
async fn create_error(status: u16, body: serde_json::Value) -> (Error, usize) {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method(POST).path("/payouts");
        then.status(status)
            .header("content-type", "application/json")
            .json_body(body);
    });
    let error = client(&server.base_url())
        .create_payout(&create_request(), Some("k"))
        .await
        .unwrap_err();
    (error.error, mock.calls())
}

#[tokio::test]
async fn error_statuses_map_to_typed_errors() {
    let (e, hits) = create_error(401, error_json("UNAUTHORIZED")).await;
    assert!(matches!(e, Error::Unauthorized(_)) && hits == 1, "{e:?}");
    let (e, _) = create_error(402, error_json("WALLET_INSUFFICIENT_BALANCE")).await;
    assert!(matches!(e, Error::InsufficientBalance(_)), "{e:?}");
    let (e, hits) = create_error(409, error_json("IDEMPOTENCY_KEY_ALREADY_USED")).await;
    assert!(
        matches!(e, Error::IdempotencyKeyAlreadyUsed(_)) && hits == 1,
        "{e:?}"
    );
    let (e, hits) = create_error(409, error_json("IDEMPOTENCY_RACE")).await;
    assert!(matches!(e, Error::IdempotencyRace(_)), "{e:?}");
    assert_eq!(hits, 3, "a race is retried until the attempts run out");
    let (e, hits) = create_error(500, error_json("INTERNAL_SERVER_ERROR")).await;
    assert!(matches!(e, Error::Server(_)) && hits == 3, "{e:?}");
    let mut invalid = error_json("VALIDATION_FAILED");
    invalid["errors"] = json!({"fields": {"amount.value": ["must be at least 140 KES"], "sender.address.city": ["is required"]}});
    let (e, hits) = create_error(422, invalid).await;
    assert_eq!(hits, 1, "422 is never retried");
    let Error::Validation(response) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        response.fields().unwrap()["amount.value"],
        ["must be at least 140 KES"]
    );
    assert!(
        e.to_string().contains("sender.address.city: is required"),
        "{e}"
    );
}

#[tokio::test]
async fn not_found_and_unexpected_answers() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET).path("/payouts/pyt-missing");
        then.status(404).json_body(error_json("NOT_FOUND"));
    });
    server.mock(|when, then| {
        when.method(GET).path("/payouts/pyt-proxy");
        then.status(502).body("<html>bad gateway</html>");
    });
    let api = client(&server.base_url());
    let missing = api.get_payout("pyt-missing").await.unwrap_err();
    assert!(
        matches!(&missing, Error::NotFound(r) if r.code() == "NOT_FOUND"),
        "{missing:?}"
    );
    let proxy = api.get_payout("pyt-proxy").await.unwrap_err();
    assert!(
        matches!(&proxy, Error::UnexpectedResponse { status, .. } if status.as_u16() == 502),
        "{proxy:?}"
    );
    assert!(proxy.is_retryable());
    let bad_id = api.get_payout("not-a-payout-id").await.unwrap_err();
    assert!(
        matches!(bad_id, Error::InvalidRequest(_)),
        "the spec's id pattern is enforced client-side"
    );
}

#[tokio::test]
async fn the_api_key_never_reaches_an_error_message() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET).path("/wallets");
        then.status(401).json_body(error_json("UNAUTHORIZED"));
    });
    let error = client(&server.base_url()).list_wallets().await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized(_)));
    assert!(!format!("{error} {error:?}").contains(KEY));
}
