//! Lists and paging, date filters, payment accounts get-or-create, tenant
//! isolation and authentication.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{KEY, OTHER_KEY, payout_json, payout_request, start};
use futures::TryStreamExt;
use rafiki_client::{Error, PayoutFilter, types};
use serde_json::{Value, json};

async fn get(env: &common::Env, url: &str) -> (u16, Value) {
    let response = env.http.get(url).bearer_auth(KEY).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A payout of 150.00 KES to an existing payment account.
fn to_existing_account(payment_account_id: &str) -> types::PayoutCreateRequest {
    let mut body = payout_json("+254712345678", "150.00");
    body.as_object_mut().unwrap().remove("payment_account");
    body["payment_account_id"] = json!(payment_account_id);
    serde_json::from_value(body).unwrap()
}

/// `GET /payouts?{query}`.
async fn list_payouts(env: &common::Env, query: &str) -> (u16, Value) {
    get(env, &format!("{}/payouts?{query}", env.mock.base_url())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walking_next_visits_every_existing_payout_once_while_others_are_created() {
    let env = start().await;
    let mut existing = HashSet::new();
    for i in 0..45 {
        existing.insert(env.create("+254712345678", "150.00").await.id.to_string());
        if i % 3 == 0 {
            env.clock.advance(Duration::from_millis(1));
        }
    }
    // Writers keep inserting while the walk goes on.
    let writer_client = env.client.clone();
    let writers = tokio::spawn(async move {
        for _ in 0..60 {
            writer_client
                .create_payout(&payout_request("+254712345678", "150.00"), None)
                .await
                .unwrap();
        }
    });
    let mut seen = Vec::new();
    let mut url = format!("{}/payouts?paging_limit=7", env.mock.base_url());
    loop {
        let (status, page) = get(&env, &url).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned()),
        );
        match page["meta"]["paging"]["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with(env.mock.base_url()), "a full URL: {next}");
                assert!(page["meta"]["paging"]["cursors"]["after"].is_string());
                url = next.to_owned();
            }
            None => {
                assert!(page["meta"]["paging"]["cursors"].get("after").is_none());
                break;
            }
        }
        tokio::task::yield_now().await;
    }
    writers.await.unwrap();
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no payout twice");
    assert!(
        existing.is_subset(&unique),
        "every payout that existed when the walk started"
    );

    // The client's stream walks the same way; newest first.
    let all: Vec<types::Payout> = env
        .client
        .payouts(PayoutFilter {
            page_size: Some(50),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 105);
    assert!(all.windows(2).all(|w| *w[0].created_at >= *w[1].created_at));
}

#[tokio::test]
async fn date_filters_are_inclusive_days_or_instants_and_next_keeps_them() {
    let env = start().await;
    let at = |t: &str| env.clock.set(t.parse().unwrap());
    let mut ids = Vec::new();
    for t in [
        "2026-01-30T23:59:59Z",
        "2026-01-31T00:00:00Z",
        "2026-01-31T12:00:00Z",
        "2026-01-31T23:59:59.500Z",
        "2026-02-01T00:00:00Z",
    ] {
        at(t);
        ids.push(env.create("+254712345678", "150.00").await.id.to_string());
    }
    let filter = |from: &str, to: &str| PayoutFilter {
        created_at_from: Some(from.into()),
        created_at_to: Some(to.into()),
        page_size: Some(1),
    };
    let found = |list: Vec<types::Payout>| {
        list.into_iter()
            .map(|p| p.id.to_string())
            .collect::<Vec<_>>()
    };
    let day: Vec<types::Payout> = env
        .client
        .payouts(filter("2026-01-31", "2026-01-31"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        found(day),
        vec![ids[3].clone(), ids[2].clone(), ids[1].clone()],
        "pages of 1 keep the filter"
    );
    let offsets: Vec<types::Payout> = env
        .client
        .payouts(filter(
            "2026-01-31T03:00:00+03:00",
            "2026-01-31T09:00:00-03:00",
        ))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        found(offsets),
        vec![ids[2].clone(), ids[1].clone()],
        "RFC 3339 bounds, inclusive"
    );

    let (_, page) = list_payouts(
        &env,
        "paging_limit=1&created_at_to=2026-01-31T12%3A00%3A00%2B00%3A00",
    )
    .await;
    let next = page["meta"]["paging"]["next"].as_str().unwrap();
    assert!(
        next.contains("created_at_to=2026-01-31T12%3A00%3A00%2B00%3A00"),
        "{next}"
    );
    let (_, inverted) =
        list_payouts(&env, "created_at_from=2026-02-01&created_at_to=2026-01-01").await;
    assert_eq!(inverted["data"], json!([]));
}

#[tokio::test]
async fn bad_list_parameters_are_422_at_their_names() {
    let env = start().await;
    let base = env.mock.base_url();
    let cases = [
        ("payouts?paging_limit=0", "paging_limit"),
        ("payouts?paging_limit=51", "paging_limit"),
        ("payouts?paging_limit=ten", "paging_limit"),
        ("payouts?paging_limit=5&paging_limit=6", "paging_limit"),
        ("payouts?paging_after=garbage", "paging_after"),
        ("payouts?created_at_from=yesterday", "created_at_from"),
        ("payouts?created_at_to=2026-02-30", "created_at_to"),
        ("payment-accounts?paging_limit=-1", "paging_limit"),
        ("payment-accounts?paging_after=%FF%FE", "paging_after"),
    ];
    for (path, field) in cases {
        let (status, body) = get(&env, &format!("{base}/{path}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{path}"
        );
        assert!(body["errors"]["fields"][field].is_array(), "{path}: {body}");
    }
    // A payouts cursor is not a payment accounts cursor.
    for _ in 0..3 {
        env.create("+254712345678", "150.00").await;
    }
    let (_, page) = get(&env, &format!("{base}/payouts?paging_limit=1")).await;
    let cursor = page["meta"]["paging"]["cursors"]["after"].as_str().unwrap();
    let (status, _) = get(
        &env,
        &format!("{base}/payment-accounts?paging_after={cursor}"),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn payment_accounts_are_got_or_created_standalone_and_inline() {
    let env = start().await;
    let request: types::PaymentAccountRequest =
        serde_json::from_value(payout_json("+254711000001", "150.00")["payment_account"].clone())
            .unwrap();
    let (created, is_new) = env
        .client
        .get_or_create_payment_account(&request)
        .await
        .unwrap();
    assert!(is_new, "201 the first time");
    let (again, is_new) = env
        .client
        .get_or_create_payment_account(&request)
        .await
        .unwrap();
    assert!(!is_new, "200 afterwards");
    assert_eq!(again.id, created.id);
    let mut renamed = serde_json::to_value(&request).unwrap();
    renamed["holder"]["name"] = json!("A. Otieno");
    renamed["unknown_property"] = json!("ignored");
    let (status, body) = env
        .call(reqwest::Method::POST, "/v1/payment-accounts", Some(renamed))
        .await;
    assert_eq!(
        (status, body["data"]["id"].as_str()),
        (200, Some(created.id.as_str()))
    );

    let payout = env.create("+254711000001", "150.00").await;
    assert_eq!(
        payout.payment_account_id, created.id,
        "inline get-or-create reuses it"
    );
    let by_id = to_existing_account(created.id.as_str());
    assert_eq!(
        env.client
            .create_payout(&by_id, None)
            .await
            .unwrap()
            .payout
            .payment_account_id,
        created.id
    );
    env.create("+254711000002", "150.00").await;
    let accounts: Vec<types::PaymentAccount> = env
        .client
        .payment_accounts(Some(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[1].id, created.id, "newest first");

    let (status, body) = env.call(reqwest::Method::POST, "/v1/payment-accounts", Some(json!({"type": "MOBILE_MONEY", "country": "KE", "holder": {"type": "INDIVIDUAL", "name": "X"}, "mobile_money": {"number": "0712", "operator": "TELKOM"}}))).await;
    assert_eq!(status, 422);
    assert!(
        body["errors"]["fields"]["mobile_money.number"].is_array()
            && body["errors"]["fields"]["mobile_money.operator"].is_array(),
        "{body}"
    );
}

#[tokio::test]
async fn accounts_are_isolated_both_ways() {
    let env = start().await;
    let other = common::client(&env.mock, OTHER_KEY);
    let mine = env.create("+254712345678", "150.00").await;
    let theirs = other
        .create_payout(&payout_request("+254712345678", "150.00"), None)
        .await
        .unwrap()
        .payout;
    assert!(matches!(
        other.get_payout(mine.id.as_str()).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        env.client.get_payout(theirs.id.as_str()).await,
        Err(Error::NotFound(_))
    ));
    let my_list: Vec<types::Payout> = env
        .client
        .payouts(Default::default())
        .try_collect()
        .await
        .unwrap();
    let their_list: Vec<types::Payout> = other
        .payouts(Default::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        (my_list.len(), my_list[0].id.as_str()),
        (1, mine.id.as_str())
    );
    assert_eq!(
        (their_list.len(), their_list[0].id.as_str()),
        (1, theirs.id.as_str())
    );
    assert_ne!(
        other.list_wallets().await.unwrap()[0].id,
        env.wallet().await.id
    );
    let accounts: Vec<types::PaymentAccount> =
        other.payment_accounts(None).try_collect().await.unwrap();
    assert_ne!(
        accounts[0].id, mine.payment_account_id,
        "same number, separate accounts"
    );

    // Using my payment account id from the other key: unknown there.
    let by_id = to_existing_account(mine.payment_account_id.as_str());
    let refused = other.create_payout(&by_id, None).await.unwrap_err();
    let Error::Validation(response) = &refused.error else {
        panic!("{refused}")
    };
    assert!(
        response
            .fields()
            .unwrap()
            .contains_key("payment_account_id")
    );
    let cancel = common::to(rafiki_client::sandbox::types::PayoutStateCode::Cancelled);
    assert_eq!(
        common::refusal(env.transition(theirs.id.as_str(), cancel).await).0,
        404,
        "the control API is per account too"
    );
}

#[tokio::test]
async fn every_operation_needs_a_known_key() {
    let env = start().await;
    let base = env.root();
    let operations = [
        ("GET", "/v1/banks"),
        ("GET", "/v1/wallets"),
        ("GET", "/v1/payment-accounts"),
        ("POST", "/v1/payment-accounts"),
        ("GET", "/v1/payouts"),
        ("POST", "/v1/payouts"),
        ("GET", "/v1/payouts/pyt-2WLXb8bP6sS7QRvA6AFGp7NhGs7"),
        (
            "POST",
            "/_sandbox/payouts/pyt-2WLXb8bP6sS7QRvA6AFGp7NhGs7/transition",
        ),
        (
            "POST",
            "/_sandbox/wallets/wlt-2WLXb8bP6sS7QRvA6AFGp7NhGs7/fund",
        ),
        ("POST", "/_sandbox/reset"),
    ];
    for (method, path) in operations {
        for auth in [
            None,
            Some("Bearer sk_test_nobody"),
            Some("Basic c2s6"),
            Some("Bearer"),
            Some(&*format!("Token {KEY}")),
        ] {
            let mut request = env
                .http
                .request(method.parse().unwrap(), format!("{base}{path}"))
                .json(&json!({}));
            if let Some(auth) = auth {
                request = request.header("Authorization", auth);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} with {auth:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "UNAUTHORIZED");
            assert!(body["message"].is_string());
        }
    }
    let wrong = rafiki_client::RafikiClient::new(env.mock.base_url(), "sk_test_wrong_key").unwrap();
    assert!(matches!(
        wrong.list_wallets().await,
        Err(Error::Unauthorized(_))
    ));
    assert_eq!(env.client.list_banks().await.unwrap().len(), 5);
}
