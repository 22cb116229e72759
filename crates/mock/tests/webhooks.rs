//! Webhooks: every change of a payout's state reaches the account's
//! endpoints as one signed `payout.state-updated` event whose `data` is the
//! payout as GET shows it; failed deliveries are retried on the mock's
//! clock, then given up; each webhook fault does what it says; endpoints
//! are managed through the control API and their keys never reach logs.
//!
//! The receiver is an axum server on an ephemeral port that records what
//! it gets. Signatures are checked with HMAC code written here, not with
//! `rafiki_rules::webhooks`, so a wrong definition there cannot pass.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, TimeDelta, Utc};
use common::{
    Captured, Env, KEY, OTHER_KEY, PATIENCE, error_fields, start_configured, to, wait_until,
};
use hmac::{Hmac, Mac};
use rafiki_client::sandbox::types::PayoutStateCode as Control;
use rafiki_mock::webhooks::OUT_OF_ORDER_HOLD;
use rafiki_mock::{Clock, Config, WebhookEndpoint, WebhookFaultPlan};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The signing key the tests fix.
const SIGNING_KEY: &str = "whsk_test_fixed_for_the_mock_suite";
/// A number the sandbox sends to.
const SENDS: &str = "+254712345678";
/// A number the sandbox fails (PAYMENT_ACCOUNT_INVALID_ACCOUNT_NUMBER).
const FAILS: &str = "+254700000101";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn id(&self) -> String {
        self.json()["id"].as_str().unwrap().to_owned()
    }

    fn payout(&self) -> String {
        self.json()["data"]["id"].as_str().unwrap().to_owned()
    }

    fn state(&self) -> String {
        self.json()["data"]["state"]["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.json()["created_at"].as_str().unwrap().parse().unwrap()
    }

    /// The signature header's `t` and `v1`.
    fn signature(&self) -> (i64, String) {
        let header = self.header("X-Rafiki-Webhook-Signature");
        let (t, v1) = header
            .strip_prefix("t=")
            .and_then(|rest| rest.split_once(", v1="))
            .unwrap_or_else(|| panic!("not `t=<t>, v1=<hex>`: {header}"));
        (t.parse().unwrap(), v1.to_owned())
    }

    /// Checks the digest with `key`; answers `t`.
    fn verified_with(&self, key: &str) -> i64 {
        let (t, v1) = self.signature();
        assert_eq!(v1, digest(key, t, &self.body), "the digest does not verify");
        t
    }
}

/// HMAC-SHA256 in hex over `"<t>.<body>"`, written here on purpose.
fn digest(key: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The receiver's shared record.
#[derive(Clone)]
struct Record {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses for the next requests, in order; 200 after them.
    script: Arc<Mutex<VecDeque<u16>>>,
    count: Arc<watch::Sender<usize>>,
}

/// A webhook receiver on an ephemeral port.
struct Receiver {
    url: String,
    record: Record,
}

async fn receiver() -> Receiver {
    logs();
    let record = Record {
        received: Arc::default(),
        script: Arc::default(),
        count: Arc::new(watch::Sender::new(0)),
    };
    let app = Router::new()
        .route("/webhooks", post(receive))
        .with_state(record.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, record }
}

async fn receive(State(record): State<Record>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = record.script.lock().unwrap().pop_front().unwrap_or(200);
    record
        .received
        .lock()
        .unwrap()
        .push(Received { headers, body });
    record.count.send_modify(|count| *count += 1);
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    /// Answers these statuses to the next requests, then 200 again.
    fn answer_next(&self, statuses: &[u16]) {
        self.record.script.lock().unwrap().extend(statuses);
    }

    /// Everything received once there are at least `n` (bounded wait).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let mut count = self.record.count.subscribe();
        let waited = tokio::time::timeout(PATIENCE, count.wait_for(|count| *count >= n)).await;
        let received = self.record.received.lock().unwrap().clone();
        assert!(
            waited.is_ok(),
            "{} deliveries within {PATIENCE:?}, expected {n}: {:?}",
            received.len(),
            received.iter().map(Received::json).collect::<Vec<_>>()
        );
        received
    }

    /// How many requests carried event `id`.
    fn count_of(&self, id: &str) -> usize {
        let received = self.record.received.lock().unwrap();
        received.iter().filter(|r| r.id() == id).count()
    }
}

/// An endpoint at `url` signing with [`SIGNING_KEY`].
fn endpoint(url: &str) -> WebhookEndpoint {
    WebhookEndpoint::new(url.parse().unwrap(), Some(SIGNING_KEY.parse().unwrap()))
}

/// A mock whose first account delivers to `receiver` with [`SIGNING_KEY`];
/// `change` applies last.
async fn start_delivering(receiver: &Receiver, change: impl FnOnce(&mut Config)) -> Env {
    let url = receiver.url.clone();
    start_configured("10000000.00", move |config| {
        config.accounts[0].webhooks.push(endpoint(&url));
        change(config);
    })
    .await
}

/// [`start_delivering`] with webhook faults `rules` (seed 0), and payouts
/// that stay PENDING (events come only from what a test does).
async fn start_with_faults(receiver: &Receiver, rules: &[&str]) -> Env {
    let plan = rules.iter().fold(WebhookFaultPlan::new(0), |plan, rule| {
        plan.with(rule.parse().unwrap())
    });
    start_delivering(receiver, |config| {
        config.webhook_faults = plan;
        config.processing_delay = Duration::from_secs(3600);
    })
    .await
}

/// The account's deliveries journal, filtered by `query`.
async fn deliveries(env: &Env, query: &str) -> Vec<Value> {
    let (status, page) = env
        .call(
            Method::GET,
            &format!("/_sandbox/webhooks/deliveries{query}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

/// The `n`-th delivery (from 1), once it arrives: one signed
/// `payout.state-updated` event about payout `id`, made now on the mock's
/// clock, whose `data` is the payout as GET answers it now.
async fn check_event(env: &Env, receiver: &Receiver, n: usize, id: &str) -> Received {
    let event = receiver.wait_for(n).await.swap_remove(n - 1);
    assert_eq!(event.header("Content-Type"), "application/json");
    assert_eq!(event.header("User-Agent"), "Rafiki-Webhooks/1.0");
    assert_eq!(
        event.header("X-Rafiki-Webhook-Type"),
        "payout.state-updated"
    );
    let now = env.clock.now();
    assert_eq!(event.verified_with(SIGNING_KEY), now.timestamp());
    let body = event.json();
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "data", "id", "type"], "{body}");
    assert_eq!(body["type"], "payout.state-updated");
    assert!(event.id().starts_with("wbh-"), "{body}");
    assert_eq!(event.created_at(), now, "{body}");
    let (status, shown) = env.get_v1(&format!("/payouts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], shown["data"], "event {n}");
    event
}

#[tokio::test]
async fn every_state_change_is_one_signed_event_with_the_payout_as_get_shows_it() {
    let receiver = receiver().await;
    let env = start_delivering(&receiver, |_| {}).await;

    let sent = env.create(SENDS, "150.00").await;
    check_event(&env, &receiver, 1, sent.id.as_str()).await;
    let cancelled = env.create(SENDS, "160.00").await;
    check_event(&env, &receiver, 2, cancelled.id.as_str()).await;
    env.transition(cancelled.id.as_str(), to(Control::Cancelled))
        .await
        .unwrap();
    check_event(&env, &receiver, 3, cancelled.id.as_str()).await;
    // Settlement by the scheduler, on the mock's clock.
    assert_eq!(env.mock.advance(common::DELAY), 1);
    check_event(&env, &receiver, 4, sent.id.as_str()).await;
    let failed = env.create(FAILS, "170.00").await;
    check_event(&env, &receiver, 5, failed.id.as_str()).await;
    env.mock.advance(common::DELAY);
    check_event(&env, &receiver, 6, failed.id.as_str()).await;
    env.transition(sent.id.as_str(), to(Control::Reversed))
        .await
        .unwrap();
    check_event(&env, &receiver, 7, sent.id.as_str()).await;
    // The other account has no endpoint: its payout sends nothing here,
    // and the next event of this account is the next one received.
    common::client(&env.mock, OTHER_KEY)
        .create_payout(&common::payout_request(SENDS, "180.00"), None)
        .await
        .unwrap();
    let last = env.create(SENDS, "190.00").await;
    check_event(&env, &receiver, 8, last.id.as_str()).await;

    let received = receiver.wait_for(8).await;
    let seen: Vec<(String, String)> = received.iter().map(|r| (r.payout(), r.state())).collect();
    let expected = [
        (&sent, "PENDING"),
        (&cancelled, "PENDING"),
        (&cancelled, "CANCELLED"),
        (&sent, "SENT"),
        (&failed, "PENDING"),
        (&failed, "FAILED"),
        (&sent, "REVERSED"),
        (&last, "PENDING"),
    ]
    .map(|(payout, state)| (payout.id.to_string(), state.to_owned()));
    assert_eq!(seen, expected);
    let mut ids: Vec<String> = received.iter().map(Received::id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "one id per event");
    assert_eq!(
        received[5].json()["data"]["state"]["context"],
        "PAYMENT_ACCOUNT_INVALID_ACCOUNT_NUMBER"
    );

    let journal = deliveries(&env, "").await;
    assert_eq!(journal.len(), 8, "{journal:?}");
    for (entry, event) in journal.iter().zip(&received) {
        assert_eq!(entry["event_id"], event.id().as_str());
        assert_eq!(entry["payout_id"], event.payout().as_str());
        assert_eq!(entry["event_type"], "payout.state-updated");
        assert_eq!(entry["url"], receiver.url.as_str());
        assert_eq!(
            (entry["attempt"].as_u64(), entry["status"].as_u64()),
            (Some(1), Some(200))
        );
        assert_eq!(entry["outcome"], "delivered");
    }
}

#[tokio::test]
async fn a_failed_delivery_is_retried_on_the_mock_clock_then_never_again() {
    let receiver = receiver().await;
    // The event's first two attempts get 500; the other payout's event,
    // sent between them, gets 200.
    receiver.answer_next(&[500, 200, 500]);
    let env = start_delivering(&receiver, |config| {
        config.processing_delay = Duration::from_secs(3600);
    })
    .await;
    let start = env.clock.now();
    let payout = env.create(SENDS, "150.00").await;
    let first = receiver.wait_for(1).await.remove(0);
    let event = first.id();

    // Not retried before its time: an event due now goes out, the retry
    // (due 1 s after the first attempt) does not.
    env.mock.advance(Duration::from_millis(999));
    let other = env.create(SENDS, "160.00").await;
    assert_eq!(receiver.wait_for(2).await[1].payout(), other.id.as_str());
    assert_eq!(receiver.count_of(&event), 1);
    env.mock.advance(Duration::from_millis(1));
    receiver.wait_for(3).await;
    env.mock.advance(Duration::from_secs(2));
    let received = receiver.wait_for(4).await;

    let attempts: Vec<&Received> = received.iter().filter(|r| r.id() == event).collect();
    assert_eq!(attempts.len(), 3);
    let times: Vec<i64> = attempts
        .iter()
        .map(|r| r.verified_with(SIGNING_KEY))
        .collect();
    assert_eq!(
        times,
        [0, 1, 3].map(|s| start.timestamp() + s),
        "signed afresh at each attempt"
    );
    assert!(attempts.iter().all(|r| r.body == first.body), "same bytes");

    // Far past the whole schedule, then a new event of the endpoint: a
    // fourth attempt, due earlier, would go out before it.
    env.mock.advance(Duration::from_secs(60));
    env.transition(payout.id.as_str(), to(Control::Cancelled))
        .await
        .unwrap();
    let received = receiver.wait_for(5).await;
    assert_eq!(received[4].state(), "CANCELLED");
    assert_eq!(receiver.count_of(&event), 3, "no fourth attempt");

    let journal = deliveries(&env, &format!("?event_id={event}")).await;
    let rows: Vec<(u64, u64, &str, Option<&str>)> = journal
        .iter()
        .map(|e| {
            (
                e["attempt"].as_u64().unwrap(),
                e["status"].as_u64().unwrap(),
                e["outcome"].as_str().unwrap(),
                e["next_attempt_at"].as_str(),
            )
        })
        .collect();
    let at = |seconds| {
        (start + TimeDelta::seconds(seconds)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    };
    let (one, three) = (at(1), at(3));
    assert_eq!(
        rows,
        [
            (1, 500, "retry_scheduled", Some(one.as_str())),
            (2, 500, "retry_scheduled", Some(three.as_str())),
            (3, 200, "delivered", None),
        ]
    );
    assert!(journal.iter().all(|e| e["payout_id"] == payout.id.as_str()));
    let (status, page) = env
        .call(Method::GET, "/_sandbox/webhooks/deliveries?limit=0", None)
        .await;
    assert_eq!(
        (status, error_fields(&page)),
        (422, vec!["limit".to_owned()])
    );
}

#[tokio::test]
async fn a_delivery_nobody_answers_is_given_up_after_five_attempts() {
    // Nothing listens on port 9 of this host (discard): connection refused.
    let env = start_configured("10000000.00", |config| {
        config.accounts[0]
            .webhooks
            .push(endpoint("http://127.0.0.1:9/hooks"));
        config.processing_delay = Duration::from_secs(3600);
    })
    .await;
    env.create(SENDS, "150.00").await;
    // Each attempt is recorded once refused; then the clock passes the
    // longest wait, so the retry is due.
    for attempts in 1..=4 {
        wait_until(|| deliveries(&env, ""), |j| j.len() >= attempts).await;
        env.mock.advance(Duration::from_secs(8));
    }
    let journal = wait_until(|| deliveries(&env, ""), |j| j.len() >= 5).await;
    env.mock.advance(Duration::from_secs(60));
    let outcomes: Vec<&str> = journal
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "retry_scheduled",
            "retry_scheduled",
            "retry_scheduled",
            "retry_scheduled",
            "given_up"
        ]
    );
    assert!(
        journal
            .iter()
            .all(|e| e["status"].is_null() && e["error"].as_str().is_some()),
        "{journal:?}"
    );
}

#[tokio::test]
async fn with_the_system_clock_settlements_and_retries_happen_on_their_own() {
    let receiver = receiver().await;
    receiver.answer_next(&[500]);
    let mut config = Config::with_keys([KEY], &[rafiki_mock::WalletSeed::default_kes()])
        .with_webhook(endpoint(&receiver.url));
    config.processing_delay = Duration::from_millis(50);
    let mock = rafiki_mock::spawn(config).await.unwrap();
    let payout = common::client(&mock, KEY)
        .create_payout(&common::payout_request(SENDS, "150.00"), None)
        .await
        .unwrap()
        .payout;
    // PENDING (500), SENT (settled after 50 ms, before the retry is due),
    // PENDING again one second after its first attempt.
    let received = receiver.wait_for(3).await;
    let seen: Vec<(String, String)> = received.iter().map(|r| (r.payout(), r.state())).collect();
    let pending = (payout.id.to_string(), "PENDING".to_owned());
    let sent = (payout.id.to_string(), "SENT".to_owned());
    assert_eq!(seen, [pending.clone(), sent, pending]);
    assert_eq!(received[0].body, received[2].body);
    let (first, retry) = (
        received[0].verified_with(SIGNING_KEY),
        received[2].verified_with(SIGNING_KEY),
    );
    assert!(retry - first >= 1, "retried {} s later", retry - first);
    mock.shutdown().await;
}

#[tokio::test]
async fn an_endpoint_that_never_answers_holds_up_only_itself() {
    let receiver = receiver().await;
    // Accepts connections and never answers.
    let stalled = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stalled_url = format!("http://{}/hooks", stalled.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = stalled.accept().await {
            held.push(connection);
        }
    });
    let env = start_configured("10000000.00", |config| {
        config.accounts[0].webhooks.push(endpoint(&stalled_url));
        config.accounts[0].webhooks.push(endpoint(&receiver.url));
    })
    .await;
    let started = std::time::Instant::now();
    let payout = env.create(SENDS, "150.00").await;
    env.transition(payout.id.as_str(), to(Control::Cancelled))
        .await
        .unwrap();
    assert!(
        started.elapsed() < rafiki_mock::webhooks::ATTEMPT_TIMEOUT,
        "the API waited for a delivery"
    );
    let states: Vec<String> = receiver
        .wait_for(2)
        .await
        .iter()
        .map(Received::state)
        .collect();
    assert_eq!(states, ["PENDING", "CANCELLED"]);
    env.mock.shutdown().await;
}

#[tokio::test]
async fn duplicate_sends_the_same_event_twice() {
    let receiver = receiver().await;
    let env = start_with_faults(&receiver, &["duplicate#1"]).await;
    let payout = env.create(SENDS, "150.00").await;
    let twice = receiver.wait_for(2).await;
    assert_eq!(twice[0].id(), twice[1].id());
    assert_eq!(twice[0].body, twice[1].body);
    for copy in &twice {
        copy.verified_with(SIGNING_KEY);
    }
    // Spent (#1): the next event goes once, then the one after it.
    env.transition(payout.id.as_str(), to(Control::Cancelled))
        .await
        .unwrap();
    let marker = env.create(SENDS, "160.00").await;
    let received = receiver.wait_for(4).await;
    assert_eq!(received[2].state(), "CANCELLED");
    assert_eq!(received[3].payout(), marker.id.as_str());
    let journal = deliveries(&env, &format!("?event_id={}", twice[0].id())).await;
    let copies: Vec<(bool, &Value)> = journal
        .iter()
        .map(|e| (e["copy"].as_bool().unwrap(), &e["faults"]))
        .collect();
    let fault = json!([{"rule": 0, "fault": "duplicate"}]);
    assert_eq!(copies, [(false, &fault), (true, &fault)]);
}

#[tokio::test]
async fn out_of_order_holds_an_event_until_the_payouts_next_one_is_sent() {
    let receiver = receiver().await;
    let env = start_with_faults(&receiver, &["out-of-order#1"]).await;
    let payout = env.create(SENDS, "150.00").await;
    env.mock.advance(Duration::from_secs(1));
    env.transition(payout.id.as_str(), to(Control::Cancelled))
        .await
        .unwrap();
    let received = receiver.wait_for(2).await;
    let states: Vec<String> = received.iter().map(Received::state).collect();
    assert_eq!(states, ["CANCELLED", "PENDING"], "received order swapped");
    assert!(received[1].created_at() < received[0].created_at());

    // A payout with no next event: held at most OUT_OF_ORDER_HOLD, then sent.
    env.mock
        .set_webhook_faults(&WebhookFaultPlan::new(0).with("out-of-order#1".parse().unwrap()));
    let alone = env.create(SENDS, "160.00").await;
    env.mock.advance(OUT_OF_ORDER_HOLD);
    let received = receiver.wait_for(3).await;
    assert_eq!(received[2].payout(), alone.id.as_str());
    assert_eq!(received[2].state(), "PENDING");
}

#[tokio::test]
async fn bad_signature_signs_with_another_key() {
    let receiver = receiver().await;
    let env = start_with_faults(&receiver, &["bad-signature#1"]).await;
    let payout = env.create(SENDS, "150.00").await;
    let forged = receiver.wait_for(1).await.remove(0);
    let (t, v1) = forged.signature();
    assert_eq!(t, env.clock.now().timestamp());
    assert_ne!(v1, digest(SIGNING_KEY, t, &forged.body), "must not verify");
    env.transition(payout.id.as_str(), to(Control::Cancelled))
        .await
        .unwrap();
    receiver.wait_for(2).await[1].verified_with(SIGNING_KEY);
}

#[tokio::test]
async fn stale_timestamp_signs_an_hour_ago() {
    let receiver = receiver().await;
    let env = start_with_faults(&receiver, &["stale-timestamp#1"]).await;
    env.create(SENDS, "150.00").await;
    let stale = receiver.wait_for(1).await.remove(0);
    let t = stale.verified_with(SIGNING_KEY);
    assert_eq!(t, env.clock.now().timestamp() - 3600);
}

#[tokio::test]
async fn delay_holds_a_delivery_until_the_clock_passes_it() {
    let receiver = receiver().await;
    let env = start_with_faults(&receiver, &["delay:2s#1"]).await;
    let start = env.clock.now();
    let delayed = env.create(SENDS, "150.00").await;
    // Later events that are due go first.
    let next = env.create(SENDS, "160.00").await;
    assert_eq!(receiver.wait_for(1).await[0].payout(), next.id.as_str());
    env.mock.advance(Duration::from_millis(1999));
    let marker = env.create(SENDS, "170.00").await;
    assert_eq!(receiver.wait_for(2).await[1].payout(), marker.id.as_str());
    env.mock.advance(Duration::from_millis(1));
    let late = receiver.wait_for(3).await.remove(2);
    assert_eq!(late.payout(), delayed.id.as_str());
    assert_eq!(late.created_at(), start, "the change's time");
    assert_eq!(late.verified_with(SIGNING_KEY), start.timestamp() + 2);
    let journal = deliveries(&env, &format!("?payout_id={}", delayed.id.as_str())).await;
    assert_eq!(
        journal[0]["faults"],
        json!([{"rule": 0, "fault": "delay:2000ms"}])
    );
}

#[tokio::test]
async fn endpoints_are_added_listed_and_deleted_through_the_control_api() {
    let receiver = receiver().await;
    let env = common::start().await;
    assert!(endpoints(&env).await.is_empty());

    let (status, added) = add_endpoint(&env, json!({"url": receiver.url})).await;
    assert_eq!(status, 201, "{added}");
    let key = added["signing_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("whsk_") && key.len() > 20, "{key}");
    assert!(added["id"].as_str().unwrap().starts_with("whe-"));
    assert_eq!(added["url"], receiver.url.as_str());
    assert_eq!(
        endpoints(&env).await,
        std::slice::from_ref(&added),
        "keys shown"
    );

    // It delivers, signed with its key.
    env.create(SENDS, "150.00").await;
    receiver.wait_for(1).await[0].verified_with(&key);

    for n in 2..=5 {
        let url = format!("http://127.0.0.1:9/hooks/{n}");
        let (status, _) = add_endpoint(&env, json!({"url": url})).await;
        assert_eq!(status, 201);
    }
    let sixth = json!({"url": "http://127.0.0.1:9/hooks/6"});
    let (status, refused) = add_endpoint(&env, sixth.clone()).await;
    assert_eq!(status, 422);
    assert_eq!(refused["code"], "WEBHOOK_ENDPOINT_LIMIT_REACHED");
    assert!(
        refused["message"].as_str().unwrap().contains("at most 5"),
        "{refused}"
    );
    assert_eq!(endpoints(&env).await.len(), 5);

    for bad in [
        json!({}),
        json!({"url": 42}),
        json!({"url": "not a url"}),
        json!({"url": "ftp://example.com/hooks"}),
        json!({"url": "https://example.com/hooks"}),
        json!({"url": "/webhooks"}),
    ] {
        let (status, body) = add_endpoint(&env, bad.clone()).await;
        assert_eq!(
            (status, error_fields(&body)),
            (422, vec!["url".to_owned()]),
            "{bad}: {body}"
        );
    }

    let path = format!("/_sandbox/webhooks/{}", added["id"].as_str().unwrap());
    let deleted = env
        .http
        .delete(format!("{}{path}", env.root()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(endpoints(&env).await.len(), 4);
    let (status, _) = env.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 404, "already deleted");
    let (status, _) = add_endpoint(&env, sixth).await;
    assert_eq!(status, 201, "room again");

    // Each account sees its own endpoints only.
    let (status, other) = env
        .http
        .get(format!("{}/_sandbox/webhooks", env.root()))
        .bearer_auth(OTHER_KEY)
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(other.json::<Value>().await.unwrap()["data"], json!([]));
}

#[tokio::test]
async fn one_url_added_twice_is_two_endpoints_each_signing_with_its_own_key() {
    let receiver = receiver().await;
    let env = common::start().await;
    let mut keys = Vec::new();
    for _ in 0..2 {
        let (status, added) = add_endpoint(&env, json!({"url": receiver.url})).await;
        assert_eq!(status, 201, "{added}");
        keys.push(added["signing_key"].as_str().unwrap().to_owned());
    }
    assert_ne!(keys[0], keys[1]);

    env.create(SENDS, "150.00").await;
    let received = receiver.wait_for(2).await;
    assert_eq!(received[0].id(), received[1].id(), "one event, twice");
    // One copy verifies with each key (the two are sent concurrently).
    for key in &keys {
        let verifying = received
            .iter()
            .filter(|r| r.signature().1 == digest(key, r.signature().0, &r.body))
            .count();
        assert_eq!(verifying, 1, "copies signed with one endpoint's key");
    }
}

/// `POST /_sandbox/webhooks` with `body`: the status and the answer.
async fn add_endpoint(env: &Env, body: Value) -> (u16, Value) {
    env.call(Method::POST, "/_sandbox/webhooks", Some(body))
        .await
}

/// `GET /_sandbox/webhooks`'s list.
async fn endpoints(env: &Env) -> Vec<Value> {
    let (status, body) = env.call(Method::GET, "/_sandbox/webhooks", None).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

/// Everything the tests of this file log, from the first that starts (every
/// test makes a receiver first). One global subscriber: a scoped one
/// (`set_default`) misses events while other tests run on other threads.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        captured
    })
}

#[tokio::test]
async fn signing_keys_stay_out_of_debug_output_and_logs() {
    let receiver = receiver().await;
    let config = Config::default().with_webhook(endpoint(&receiver.url));
    assert!(!format!("{config:?}").contains(SIGNING_KEY));
    let env = start_delivering(&receiver, |_| {}).await;
    let (status, added) = add_endpoint(&env, json!({"url": receiver.url})).await;
    assert_eq!(status, 201);
    let generated = added["signing_key"].as_str().unwrap();
    env.call(Method::GET, "/_sandbox/webhooks", None).await;
    env.create(SENDS, "150.00").await;
    receiver.wait_for(2).await;
    // Both deliveries recorded (and logged) once the journal shows them.
    wait_until(|| deliveries(&env, ""), |j| j.len() == 2).await;

    // This test's logs, and those of the others so far (which sign with
    // SIGNING_KEY too).
    let logs = String::from_utf8(logs().0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("webhook attempt"), "{logs}");
    for secret in [SIGNING_KEY, generated] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
