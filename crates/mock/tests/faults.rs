//! Faults on purpose: injected statuses answer the envelope and handle
//! nothing, latency delays, a dropped connection comes after the payout was
//! created (zero bytes reach the client, a replay gets the payout), `times`
//! spends a rule, a seed repeats the same faults, `/_sandbox` and other
//! accounts are never touched, and the control API reads, replaces and
//! clears plans (422 naming the field). Shutdown stays graceful.

mod common;

use std::time::{Duration, Instant};

use common::{Env, KEY, OTHER_KEY, payout_json, start, start_configured};
use rafiki_client::sandbox::types as control;
use rafiki_mock::faults::{BAD_GATEWAY, RATE_LIMITED, SERVICE_UNAVAILABLE};
use rafiki_mock::{FaultPlan, FaultRule};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `POST /v1/payouts`; status, `Retry-After` and body.
async fn post_payout(env: &Env, key: &str) -> (u16, Option<String>, Value) {
    let response = env
        .http
        .post(format!("{}/payouts", env.mock.base_url()))
        .bearer_auth(KEY)
        .header("X-Idempotency-Key", key)
        .json(&payout_json("+254712345678", "150.00"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

async fn payout_count(env: &Env) -> usize {
    env.mock.store().counts(KEY).unwrap().0
}

#[tokio::test]
async fn injected_statuses_answer_the_envelope_and_handle_nothing() {
    let env = start().await;
    let cases = [
        ("503", 503, SERVICE_UNAVAILABLE, None),
        ("503+retry-after=2", 503, SERVICE_UNAVAILABLE, Some("2")),
        ("502", 502, BAD_GATEWAY, None),
        ("500+retry-after=0", 500, "INTERNAL_SERVER_ERROR", Some("0")),
        ("429+retry-after=1", 429, RATE_LIMITED, Some("1")),
        ("429", 429, RATE_LIMITED, None),
        ("409", 409, "IDEMPOTENCY_RACE", None),
    ];
    let balances = env.balances().await;
    for (i, (fault, status, code, retry_after)) in cases.into_iter().enumerate() {
        let rule = format!("create_payout={fault}#1");
        env.put_faults(0, &[&rule]).await;
        let key = format!("injected-{i}");
        let (got, header, body) = post_payout(&env, &key).await;
        assert_eq!(
            (got, body["code"].as_str(), header.as_deref()),
            (status, Some(code), retry_after),
            "{rule}: {body}"
        );
        let message = body["message"].as_str().unwrap();
        let shown = rule.parse::<FaultRule>().unwrap().to_string();
        assert!(
            message.contains("Injected") && message.contains(&shown),
            "{message}"
        );
        assert_eq!(payout_count(&env).await, i, "{rule}: nothing was created");
        assert_eq!(env.balances().await, balances, "{rule}: nothing reserved");
        // Nothing was stored under the key: the same request now creates.
        let (got, _, body) = post_payout(&env, &key).await;
        assert_eq!(got, 202, "{rule}, once spent: {body}");
        assert_eq!(payout_count(&env).await, i + 1);
        env.mock.advance(common::DELAY);
        // Keep the wallet as it was for the next comparison.
        let wallet = env.wallet().await.id.to_string();
        env.fund(&wallet, "150.00").await.unwrap();
    }
}

#[tokio::test]
async fn a_race_fault_is_for_create_payout_only() {
    let env = start().await;
    env.put_faults(0, &["*=409"]).await;
    assert_eq!(env.get_v1("/payouts").await.0, 200);
    assert_eq!(post_payout(&env, "race").await.0, 409);
    let (status, body) = env
        .call(
            Method::PUT,
            "/_sandbox/faults",
            Some(json!({"rules": [{"operation": "list_banks", "kind": "status", "status": 409}]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(common::error_fields(&body), ["rules[0].status"]);
}

#[tokio::test]
async fn latency_delays_the_request_then_it_is_handled() {
    let env = start().await;
    env.put_faults(0, &["list_wallets=latency:150ms#1"]).await;
    let started = Instant::now();
    let (status, body) = env.get_v1("/wallets").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(status, 200, "{body}");
    assert!(body["data"].is_array());
    let (_, journal) = env.journal("operation=list_wallets").await;
    let faults: Vec<&Value> = journal["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| &entry["faults"])
        .collect();
    assert_eq!(faults, [&json!([{"rule": 0, "fault": "latency:150ms"}])]);
}

/// Sends `POST /v1/payouts` over a raw TCP connection and reads until the
/// server closes it: the bytes that arrived.
async fn raw_post(env: &Env, key: &str, body: &Value) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(env.mock.addr())
        .await
        .unwrap();
    let body = body.to_string();
    let request = format!(
        "POST /v1/payouts HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {KEY}\r\n\
         X-Idempotency-Key: {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        env.mock.addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection");
    if let Err(error) = read {
        // A reset is a close too; what matters is that nothing arrived.
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
    }
    received
}

#[tokio::test]
async fn a_dropped_connection_comes_after_the_payout_was_created() {
    let env = start().await;
    env.put_faults(0, &["create_payout=drop-after-handling#1"])
        .await;
    let body = payout_json("+254712345678", "150.00");

    let received = raw_post(&env, "did-it-go-through", &body).await;
    assert!(
        received.is_empty(),
        "no byte of the answer: {:?}",
        String::from_utf8_lossy(&received)
    );
    assert_eq!(payout_count(&env).await, 1, "the payout was created");

    // The client retries with the same key: the stored answer, same payout.
    let (status, replayed) = env.post_payout(&body, "did-it-go-through").await;
    assert_eq!(status, 202, "{replayed}");
    let (_, page) = env.get_v1("/payouts").await;
    let ids: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert_eq!(
        ids,
        [&replayed["data"]["id"]],
        "one payout, the replayed one"
    );

    // The journal tells the two attempts apart.
    let (_, journal) = env.journal("idempotency_key=did-it-go-through").await;
    let outcomes: Vec<(&Value, &Value, usize)> = journal["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                &e["status"],
                &e["outcome"],
                e["faults"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (&json!(202), &json!("connection_dropped"), 1),
            (&json!(202), &json!("answered"), 0)
        ]
    );
}

#[tokio::test]
async fn other_operations_drop_after_handling_too_and_keep_alive_connections_survive() {
    let env = start().await;
    env.put_faults(0, &["list_wallets=drop-after-handling#1"])
        .await;
    let error = env
        .http
        .get(format!("{}/wallets", env.mock.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_status(), "{error}");
    // The same client (and its pool) goes on working.
    assert_eq!(env.get_v1("/wallets").await.0, 200);
}

/// Statuses of `count` sequential `GET /v1/banks`.
async fn bank_statuses(env: &Env, count: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..count {
        statuses.push(env.get_v1("/banks").await.0);
    }
    statuses
}

#[tokio::test]
async fn a_seed_repeats_the_same_faults_and_times_spends_a_rule() {
    let env = start().await;
    let rules = ["list_banks=503@50%", "list_banks=502@20%#3"];
    env.put_faults(5, &rules).await;
    let first = bank_statuses(&env, 40).await;
    assert!(
        [200, 502, 503].iter().all(|s| first.contains(s)),
        "{first:?}"
    );
    assert_eq!(first.iter().filter(|s| **s == 502).count(), 3, "{first:?}");
    env.put_faults(5, &rules).await;
    assert_eq!(
        bank_statuses(&env, 40).await,
        first,
        "same seed, same faults"
    );
    env.put_faults(6, &rules).await;
    assert_ne!(bank_statuses(&env, 40).await, first, "another seed");

    // The plan counts what fired.
    let plan = env
        .control
        .sandbox_get_faults()
        .send()
        .await
        .unwrap()
        .into_inner();
    let injected: Vec<Option<u32>> = plan.rules.iter().map(|r| r.injected).collect();
    assert_eq!(injected[1], Some(3));
    assert!(injected[0].unwrap() > 5);
}

#[tokio::test]
async fn sandbox_paths_unknown_keys_and_other_accounts_are_never_faulted() {
    let env = start().await;
    env.put_faults(0, &["*=503"]).await;
    assert_eq!(env.get_v1("/wallets").await.0, 503);
    for path in ["/_sandbox/health", "/_sandbox/faults", "/_sandbox/requests"] {
        let (status, body) = env.call(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let other = common::client(&env.mock, OTHER_KEY);
    other
        .list_wallets()
        .await
        .expect("another account: no faults");
    let unknown = env
        .http
        .get(format!("{}/wallets", env.mock.base_url()))
        .bearer_auth("sk_test_nobody_at_all_0001")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);

    let cleared = env
        .control
        .sandbox_clear_faults()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(cleared.rules.is_empty());
    assert_eq!(env.get_v1("/wallets").await.0, 200);
}

#[tokio::test]
async fn plans_read_back_and_bad_plans_are_422_naming_the_field() {
    let env = start().await;
    let (status, empty) = env.call(Method::GET, "/_sandbox/faults", None).await;
    assert_eq!((status, empty), (200, json!({"seed": 0, "rules": []})));

    let flags = [
        "create_payout=503+retry-after=2@30%",
        "*=latency:20ms",
        "create_payout=drop-after-handling@10%#1",
    ];
    let plan = env.put_faults(7, &flags).await;
    assert_eq!(plan.seed, Some(7));
    let shown: Vec<String> = plan.rules.iter().map(|r| r.flag.clone().unwrap()).collect();
    assert_eq!(
        shown,
        [
            "create_payout=503+retry-after=2@30%",
            "*=latency:20ms@100%",
            "create_payout=drop-after-handling@10%#1"
        ]
    );
    assert!(plan.rules.iter().all(|r| r.injected == Some(0)));
    env.get_v1("/banks").await;
    let (_, now) = env.call(Method::GET, "/_sandbox/faults", None).await;
    assert_eq!(now["rules"][1]["injected"], 1);
    // What GET shows can be sent back as it is.
    let (status, again) = env.call(Method::PUT, "/_sandbox/faults", Some(now)).await;
    assert_eq!(status, 200);
    assert_eq!(again["rules"][1]["injected"], 0);
    assert_eq!(again["seed"], 7);

    for (body, fields) in [
        (json!({"seed": 7}), vec!["rules"]),
        (
            json!({"rules": [{"operation": "create_payouts", "kind": "status", "status": 503}]}),
            vec!["rules[0].operation"],
        ),
        (
            json!({"rules": [{"operation": "*", "kind": "status", "status": 418}]}),
            vec!["rules[0].status"],
        ),
        (
            json!({"rules": [{"operation": "*", "kind": "latency"}]}),
            vec!["rules[0].latency_ms"],
        ),
        (
            json!({"rules": [{"operation": "*", "kind": "drop_after_handling", "share": 2, "times": 0}]}),
            vec!["rules[0].share", "rules[0].times"],
        ),
        (json!([]), vec!["body"]),
    ] {
        let (status, answer) = env
            .call(Method::PUT, "/_sandbox/faults", Some(body.clone()))
            .await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(common::error_fields(&answer), fields, "{body}");
    }
    // A refused plan leaves the plan in force.
    let (_, still) = env.call(Method::GET, "/_sandbox/faults", None).await;
    assert_eq!(still["rules"].as_array().unwrap().len(), 3);

    let anonymous = env
        .http
        .get(format!("{}/_sandbox/faults", env.root()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn the_configured_plan_is_every_accounts_first_plan() {
    let plan = FaultPlan::new(0).with("list_wallets=502#1".parse::<FaultRule>().unwrap());
    let env = start_configured("1000.00", |config| config.faults = plan).await;
    for key in [KEY, OTHER_KEY] {
        let wallets = common::client(&env.mock, key).list_wallets().await;
        assert_eq!(
            wallets.unwrap_err().status().map(|s| s.as_u16()),
            Some(502),
            "{key}"
        );
        common::client(&env.mock, key).list_wallets().await.unwrap();
    }
    let plan = env
        .control
        .sandbox_get_faults()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        plan.rules[0].flag.as_deref(),
        Some("list_wallets=502@100%#1")
    );
    assert_eq!(plan.rules[0].kind, control::FaultRuleKind::Status);

    // From Rust, between scenarios: every account gets the new plan.
    env.mock
        .set_faults(&FaultPlan::new(0).with("list_banks=500#1".parse().unwrap()));
    for key in [KEY, OTHER_KEY] {
        let banks = common::client(&env.mock, key).list_banks().await;
        assert_eq!(banks.unwrap_err().status().map(|s| s.as_u16()), Some(500));
        common::client(&env.mock, key).list_banks().await.unwrap();
    }
}

#[tokio::test]
async fn shutdown_lets_a_request_in_progress_finish() {
    let env = start().await;
    env.put_faults(0, &["list_wallets=latency:200ms"]).await;
    let slow = {
        let http = env.http.clone();
        let url = format!("{}/wallets", env.mock.base_url());
        tokio::spawn(async move { http.get(url).bearer_auth(KEY).send().await })
    };
    // Wait until the mock has the request (the journal shows it unanswered).
    loop {
        let (_, journal) = env.journal("operation=list_wallets").await;
        if journal["data"][0]["outcome"] == "unanswered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let addr = env.mock.addr();
    env.mock.shutdown().await;
    let answer = slow
        .await
        .unwrap()
        .expect("the request in progress is answered");
    assert_eq!(answer.status(), 200);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no new connection after shutdown"
    );
}
