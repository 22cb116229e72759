//! The request journal (`GET /_sandbox/requests`): what an account sent to
//! `/v1`, in order, filtered; never the API key, never `/_sandbox` or other
//! accounts' requests; bodies cut at 4 KiB; bounded, saying how many
//! entries it dropped.

mod common;

use common::{Env, KEY, OTHER_KEY, payout_json, payout_request, start, start_configured};
use reqwest::Method;
use serde_json::{Value, json};

/// The `data` of a journal answer.
fn entries(journal: &Value) -> &Vec<Value> {
    journal["data"].as_array().expect("data is an array")
}

/// One field of every entry.
fn column<'j>(journal: &'j Value, field: &str) -> Vec<&'j Value> {
    entries(journal).iter().map(|e| &e[field]).collect()
}

/// Sends the traffic the tests look at: a payout (key `k-1`), a list with
/// a query, an unknown payout, an unknown path, a payment account.
async fn traffic(env: &Env) -> String {
    let payout = env
        .client
        .create_payout(&payout_request("+254712345678", "150.00"), Some("k-1"))
        .await
        .unwrap()
        .payout;
    env.get_v1("/payouts?paging_limit=2").await;
    env.get_v1("/payouts/pyt-missing").await;
    env.get_v1("/nope").await;
    env.call(
        Method::POST,
        "/v1/payment-accounts",
        Some(payout_json("+254712345678", "1.00")["payment_account"].clone()),
    )
    .await;
    payout.id.to_string()
}

#[tokio::test]
async fn the_journal_lists_what_the_account_sent_in_order() {
    let env = start().await;
    let id = traffic(&env).await;
    // Not recorded: control calls, other accounts, unknown keys.
    env.call(Method::GET, "/_sandbox/faults", None).await;
    common::client(&env.mock, OTHER_KEY)
        .list_wallets()
        .await
        .unwrap();
    env.http
        .get(format!("{}/wallets", env.mock.base_url()))
        .bearer_auth("sk_test_nobody_at_all_0001")
        .send()
        .await
        .unwrap();
    env.get_v1(&format!("/payouts/{id}")).await;

    let (status, journal) = env.journal("").await;
    assert_eq!(status, 200, "{journal}");
    assert_eq!(
        column(&journal, "seq"),
        [
            &json!(1),
            &json!(2),
            &json!(3),
            &json!(4),
            &json!(5),
            &json!(6)
        ]
    );
    assert_eq!(
        column(&journal, "operation"),
        [
            &json!("create_payout"),
            &json!("list_payouts"),
            &json!("get_payout"),
            &Value::Null,
            &json!("get_or_create_payment_account"),
            &json!("get_payout"),
        ]
    );
    assert_eq!(
        column(&journal, "status"),
        // The payment account exists since the payout: 200, not 201.
        [
            &json!(202),
            &json!(200),
            &json!(404),
            &json!(404),
            &json!(200),
            &json!(200)
        ]
    );
    let created = &entries(&journal)[0];
    assert_eq!(created["method"], "POST");
    assert_eq!(created["path"], "/v1/payouts");
    assert_eq!(created["query"], Value::Null);
    assert_eq!(created["idempotency_key"], "k-1");
    assert_eq!(created["content_type"], "application/json");
    assert_eq!(created["outcome"], "answered");
    assert_eq!(created["faults"], json!([]));
    assert_eq!(created["body_truncated"], false);
    assert_eq!(created["received_at"], "2026-01-31T09:30:00Z");
    let sent: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        sent["amount"],
        json!({"value": "150.00", "currency": "KES"})
    );
    let listed = &entries(&journal)[1];
    assert_eq!(
        (
            &listed["query"],
            &listed["body"],
            &listed["idempotency_key"]
        ),
        (&json!("paging_limit=2"), &Value::Null, &Value::Null)
    );
    assert_eq!(
        journal["meta"],
        json!({"capacity": 1000, "total": 6, "dropped": 0, "matched": 6})
    );

    // The other account has its own journal: its one request.
    let other = common::control_client(&env.mock, OTHER_KEY)
        .sandbox_list_requests()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(other.data.len(), 1);
    assert_eq!(other.data[0].path, "/v1/wallets");
}

#[tokio::test]
async fn filters_select_and_bad_filters_are_422() {
    let env = start().await;
    let id = traffic(&env).await;
    env.get_v1(&format!("/payouts/{id}")).await;
    let seqs = |journal: &Value| -> Vec<u64> {
        column(journal, "seq")
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect()
    };
    for (query, expected) in [
        ("method=post", vec![1, 5]),
        ("path=/v1/payouts", vec![1, 2]),
        ("path_prefix=/v1/payouts/", vec![3, 6]),
        ("operation=get_payout", vec![3, 6]),
        ("idempotency_key=k-1", vec![1]),
        ("since=4", vec![5, 6]),
        ("limit=2", vec![5, 6]),
        ("method=GET&path_prefix=/v1/payouts&limit=3", vec![2, 3, 6]),
        ("path=/v1/wallets", vec![]),
    ] {
        let (status, journal) = env.journal(query).await;
        assert_eq!(status, 200, "{query}: {journal}");
        assert_eq!(seqs(&journal), expected, "{query}");
    }
    let (_, limited) = env.journal("method=GET&limit=1").await;
    assert_eq!(limited["meta"]["matched"], 4);

    for (query, field) in [
        ("operation=create_payouts", "operation"),
        ("since=-1", "since"),
        ("limit=0", "limit"),
        ("limit=many", "limit"),
        ("method=GET&method=POST", "method"),
    ] {
        let (status, body) = env.journal(query).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(common::error_fields(&body), [field], "{query}");
    }

    // The typed client reads the same.
    let typed = env
        .control
        .sandbox_list_requests()
        .operation(rafiki_client::sandbox::types::OperationId::CreatePayout)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(typed.data.len(), 1);
    assert_eq!(typed.data[0].idempotency_key.as_deref(), Some("k-1"));
}

#[tokio::test]
async fn the_key_is_never_stored_or_shown() {
    let env = start().await;
    traffic(&env).await;
    // A key sent without the Bearer scheme is not an account: not recorded.
    env.http
        .get(format!("{}/wallets", env.mock.base_url()))
        .header("Authorization", KEY)
        .send()
        .await
        .unwrap();
    let text = env
        .http
        .get(format!("{}/_sandbox/requests", env.root()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("k-1"), "the idempotency key is shown: {text}");
    assert!(!text.contains(KEY), "the API key leaked: {text}");
    assert!(!text.to_lowercase().contains("authorization"), "{text}");
}

#[tokio::test]
async fn bodies_are_cut_at_4_kib_and_still_handled_whole() {
    let env = start().await;
    let mut body = payout_json("+254712345678", "150.00");
    body["note"] = json!("é".repeat(3000));
    let (status, answer) = env.post_payout(&body, "long-body").await;
    assert_eq!(status, 202, "the mock read the whole body: {answer}");
    let (_, journal) = env.journal("idempotency_key=long-body").await;
    let entry = &entries(&journal)[0];
    assert_eq!(entry["body_truncated"], true);
    let kept = entry["body"].as_str().unwrap();
    assert!(
        kept.len() <= rafiki_mock::journal::BODY_CAP,
        "{}",
        kept.len()
    );
    assert!(kept.len() > rafiki_mock::journal::BODY_CAP - 4);
    assert!(
        body.to_string().starts_with(kept),
        "a prefix of what was sent"
    );
}

#[tokio::test]
async fn the_journal_is_bounded_and_says_how_many_it_dropped() {
    let env = start_configured("1000.00", |config| config.journal_capacity = 3).await;
    for _ in 0..5 {
        env.get_v1("/banks").await;
    }
    let (_, journal) = env.journal("").await;
    assert_eq!(column(&journal, "seq"), [&json!(3), &json!(4), &json!(5)]);
    assert_eq!(
        journal["meta"],
        json!({"capacity": 3, "total": 5, "dropped": 2, "matched": 3})
    );

    let cleared = env
        .control
        .sandbox_clear_requests()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(cleared.data.is_empty());
    env.get_v1("/banks").await;
    let (_, journal) = env.journal("").await;
    assert_eq!(column(&journal, "seq"), [&json!(6)], "numbering goes on");
}

#[tokio::test]
async fn injected_faults_are_recorded_with_their_rule() {
    let env = start().await;
    env.put_faults(
        0,
        &["list_banks=latency:1ms", "list_banks=503+retry-after=1#1"],
    )
    .await;
    env.get_v1("/banks").await;
    env.get_v1("/banks").await;
    let (_, journal) = env.journal("operation=list_banks").await;
    assert_eq!(
        column(&journal, "faults"),
        [
            &json!([{"rule": 0, "fault": "latency:1ms"}, {"rule": 1, "fault": "503+retry-after=1"}]),
            &json!([{"rule": 0, "fault": "latency:1ms"}]),
        ]
    );
    assert_eq!(column(&journal, "status"), [&json!(503), &json!(200)]);
}
