//! Hostile input: every malformed request gets the error envelope with a
//! clear status, never a 5xx (except the deliberate panic hook, which is a
//! 500 envelope after which the server keeps serving). Ends with
//! property-based sweeps over every operation.

mod common;

use std::collections::BTreeSet;
use std::sync::Mutex;

use common::{Env, KEY, payout_json, start};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};

/// One raw request.
#[derive(Debug, Clone)]
struct Raw {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    auth: Option<Vec<u8>>,
    content_type: Option<Vec<u8>>,
    idempotency_key: Option<Vec<u8>>,
    body: Option<Vec<u8>>,
}

impl Raw {
    fn new(method: Method, path: &str) -> Self {
        Raw {
            method,
            path: path.to_owned(),
            query: Vec::new(),
            auth: Some(format!("Bearer {KEY}").into_bytes()),
            content_type: Some(b"application/json".to_vec()),
            idempotency_key: Some(b"hostile-key".to_vec()),
            body: None,
        }
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
}

/// Sends it; answers the status, the content type and the body.
async fn send(env: &Env, raw: &Raw) -> (u16, String, Vec<u8>) {
    let mut request = env
        .http
        .request(raw.method.clone(), format!("{}{}", env.root(), raw.path))
        .query(&raw.query);
    let headers = [
        ("authorization", &raw.auth),
        ("content-type", &raw.content_type),
        ("x-idempotency-key", &raw.idempotency_key),
    ];
    for (name, value) in headers {
        if let Some(value) = value
            .as_ref()
            .and_then(|v| reqwest::header::HeaderValue::from_bytes(v).ok())
        {
            request = request.header(name, value);
        }
    }
    if let Some(body) = &raw.body {
        request = request.body(body.clone());
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// The envelope's `code` (and checks its shape).
fn envelope_code(status: u16, content_type: &str, body: &[u8]) -> Result<String, String> {
    if content_type != "application/json" {
        return Err(format!("HTTP {status} with content type {content_type:?}"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "HTTP {status}, body not JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    })?;
    let code = value["code"]
        .as_str()
        .ok_or_else(|| format!("no code in {value}"))?;
    let ok = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !ok || !value["message"].is_string() {
        return Err(format!("not an envelope: {value}"));
    }
    if let Some(errors) = value.get("errors") {
        let fields = errors["fields"]
            .as_object()
            .ok_or_else(|| format!("errors without fields: {value}"))?;
        if fields.values().any(|reasons| {
            reasons
                .as_array()
                .is_none_or(|r| r.is_empty() || r.iter().any(|r| !r.is_string()))
        }) {
            return Err(format!("bad errors.fields: {value}"));
        }
    }
    Ok(code.to_owned())
}

async fn expect(env: &Env, raw: Raw, status: u16, code: &str) -> Value {
    let (got, content_type, body) = send(env, &raw).await;
    let got_code =
        envelope_code(got, &content_type, &body).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
    assert_eq!((got, got_code.as_str()), (status, code), "{raw:?}");
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn unreadable_bodies_are_422_at_body() {
    let env = start().await;
    let post = || Raw::new(Method::POST, "/v1/payouts");
    let cases = [
        post().body("{\"amount\": "),
        post().body("not json"),
        post().body(b"{\"amount\": \"\xff\xfe\"}".to_vec()),
        post().body(""),
        Raw::new(Method::POST, "/v1/payment-accounts").body("[1,2"),
    ];
    for raw in cases {
        let body = expect(&env, raw, 422, "VALIDATION_FAILED").await;
        assert!(body["errors"]["fields"]["body"][0].is_string(), "{body}");
    }
    let typed = expect(
        &env,
        post().body(r#"{"amount": {"value": 150, "currency": ["KES"]}, "payment_account": "x"}"#),
        422,
        "VALIDATION_FAILED",
    )
    .await;
    let fields = typed["errors"]["fields"].as_object().unwrap();
    for path in ["amount.value", "amount.currency", "payment_account"] {
        assert!(fields.contains_key(path), "{path} in {typed}");
    }
    let both = expect(
        &env,
        Raw {
            idempotency_key: None,
            ..post().body("nope")
        },
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert!(
        both["errors"]["fields"]["X-Idempotency-Key"].is_array()
            && both["errors"]["fields"]["body"].is_array(),
        "{both}"
    );
    let (status, _) = expect_ok(
        &env,
        Raw::new(Method::POST, "/_sandbox/reset").body("reset reads no body"),
    )
    .await;
    assert_eq!(status, 200);
}

/// A request expected to succeed: its status and JSON body.
async fn expect_ok(env: &Env, raw: Raw) -> (u16, Value) {
    let (status, _, body) = send(env, &raw).await;
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn unknown_properties_are_ignored() {
    let env = start().await;
    let mut body = payout_json("+254712345678", "150.00");
    body["colour"] = json!("blue");
    body["sender"]["favourite_food"] = json!({"nested": [1, 2]});
    let (status, payout) = expect_ok(
        &env,
        Raw::new(Method::POST, "/v1/payouts").body(body.to_string()),
    )
    .await;
    assert_eq!(status, 202, "{payout}");
    assert!(
        payout["data"].get("colour").is_none()
            && payout["data"]["sender"].get("favourite_food").is_none()
    );
}

#[tokio::test]
async fn oversized_bodies_routes_methods_and_ids_get_envelopes() {
    let env = start().await;
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    expect(
        &env,
        Raw::new(Method::POST, "/v1/payouts").body(huge.clone()),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    .await;
    let refused = expect(
        &env,
        Raw::new(Method::POST, "/v1/payment-accounts").body(huge.clone()),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("65536 bytes"),
        "the 413 names the limit that refused it: {refused}"
    );
    // The snapshot import has a limit of its own (256 MiB, which its 413
    // names): the same body is read, and refused for its shape.
    expect(
        &env,
        Raw::new(Method::PUT, "/_sandbox/snapshot").body(huge),
        422,
        "VALIDATION_FAILED",
    )
    .await;
    // A path no route has says so, and a path without /v1 says where the
    // API lives; an unknown id (below) keeps the API's own message.
    for (path, hint) in [
        ("/v1/nothing", "spec/openapi.yaml"),
        ("/v2/payouts", "start with /v1"),
        ("/", "start with /v1"),
        ("/payouts", "start with /v1"),
        ("/v1/payouts/pyt-1/extra", "spec/openapi.yaml"),
        ("/v1/payouts/", "spec/openapi.yaml"),
        ("/_sandbox/nothing", "spec/sandbox.yaml"),
    ] {
        let body = expect(&env, Raw::new(Method::GET, path), 404, "NOT_FOUND").await;
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("GET {path}:")) && message.contains(hint),
            "{path}: {message}"
        );
    }
    for (method, path) in [
        (Method::DELETE, "/v1/payouts"),
        (Method::PUT, "/v1/banks"),
        (Method::POST, "/v1/payouts/pyt-1"),
        (Method::GET, "/_sandbox/reset"),
    ] {
        expect(&env, Raw::new(method, path), 405, "METHOD_NOT_ALLOWED").await;
    }
    for id in [
        "pyt-unknown",
        "%FF%FE",
        "wlt-2WLXb8bP6sS7QRvA6AFGp7NhGs7",
        "..%2F..%2Fetc",
    ] {
        let body = expect(
            &env,
            Raw::new(Method::GET, &format!("/v1/payouts/{id}")),
            404,
            "NOT_FOUND",
        )
        .await;
        assert!(
            !body["message"].as_str().unwrap().contains("No operation"),
            "{id}: {body}"
        );
    }
}

/// `POST /_sandbox/wallets/{id}/fund` sent raw: the amounts here are at
/// the edge of what the server can hold.
async fn fund_raw(env: &Env, wallet_id: &str, amount: &str) -> (u16, Value) {
    let path = format!("/_sandbox/wallets/{wallet_id}/fund");
    env.call(Method::POST, &path, Some(json!({ "amount": amount })))
        .await
}

#[tokio::test]
async fn funding_cannot_overflow_a_wallet() {
    let env = start().await;
    let wallet = env.wallet().await;
    let huge = "79228162514264337593543950335";
    for _ in 0..2 {
        let (status, body) = fund_raw(&env, wallet.id.as_str(), huge).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{body}"
        );
    }
    assert_eq!(
        fund_raw(&env, wallet.id.as_str(), "999999999990000000.00")
            .await
            .0,
        200
    );
    assert_eq!(fund_raw(&env, wallet.id.as_str(), "0.01").await.0, 422);
}

#[tokio::test]
async fn a_handler_panic_is_a_500_envelope_and_the_server_keeps_serving() {
    let env = start().await;
    for _ in 0..3 {
        expect(
            &env,
            Raw::new(Method::GET, "/_sandbox/debug/panic"),
            500,
            "INTERNAL_SERVER_ERROR",
        )
        .await;
    }
    let payout = env.create("+254712345678", "150.00").await;
    assert_eq!(
        env.client.get_payout(payout.id.as_str()).await.unwrap().id,
        payout.id
    );
}

// ---- property-based sweeps ---------------------------------------------

const PATHS: &[&str] = &[
    "/v1/banks",
    "/v1/wallets",
    "/v1/payment-accounts",
    "/v1/payouts",
    "/v1/payouts/{id}",
    "/_sandbox/health",
    "/_sandbox/payouts/{id}/transition",
    "/_sandbox/wallets/{id}/fund",
    "/_sandbox/debug/nothing",
];

const NAMES: &[&str] = &[
    "amount",
    "value",
    "currency",
    "payment_account",
    "payment_account_id",
    "wallet_id",
    "sender",
    "type",
    "country",
    "holder",
    "name",
    "mobile_money",
    "number",
    "operator",
    "bank_account",
    "bank_id",
    "branch_id",
    "address",
    "line_1",
    "city",
    "postal_code",
    "individual",
    "dob",
    "identity_document",
    "expires_on",
    "to",
    "context",
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "KES",
            "KE",
            "MOBILE_MONEY",
            "BANK_ACCOUNT",
            "INDIVIDUAL",
            "SAFARICOM",
            "150.00",
            "+254712345678",
            "pac-1",
            "wlt-x",
            "1970-01-01",
            "CANCELLED",
            "FAILED"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(NAMES).prop_map(str::to_owned),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid payout body with one value somewhere replaced or removed.
fn mutated_payout() -> impl Strategy<Value = Value> {
    (any::<prop::sample::Index>(), prop::option::of(any_json())).prop_map(|(index, replacement)| {
        let mut body = payout_json("+254712345678", "150.00");
        let mut paths = Vec::new();
        collect_paths(&body, String::new(), &mut paths);
        let path = index.get(&paths).clone();
        let pointer = &mut body;
        let target = pointer.pointer_mut(&path).expect("collected path");
        match replacement {
            Some(value) => *target = value,
            None => *target = Value::Null,
        }
        body
    })
}

fn collect_paths(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    if let Value::Object(map) = value {
        for (key, child) in map {
            collect_paths(child, format!("{at}/{key}"), out);
        }
    }
}

fn header_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::of(prop_oneof![
        prop::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff], 0..80),
        Just(format!("Bearer {KEY}").into_bytes()),
        Just(b"application/json".to_vec()),
    ])
}

fn body_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::of(prop_oneof![
        3 => any_json().prop_map(|v| v.to_string().into_bytes()),
        2 => mutated_payout().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => "\\PC{0,40}".prop_map(String::into_bytes),
    ])
}

fn hostile_request() -> impl Strategy<Value = Raw> {
    let method = prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ]);
    let path = (prop::sample::select(PATHS), "[A-Za-z0-9%._~-]{0,40}")
        .prop_map(|(p, id)| p.replace("{id}", &id));
    let query_name = prop_oneof![
        prop::sample::select(vec![
            "paging_limit",
            "paging_after",
            "created_at_from",
            "created_at_to"
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,12}",
    ];
    let query = prop::collection::vec((query_name, "\\PC{0,30}"), 0..4);
    let auth =
        prop_oneof![3 => Just(Some(format!("Bearer {KEY}").into_bytes())), 1 => header_bytes()];
    (
        method,
        path,
        query,
        auth,
        header_bytes(),
        header_bytes(),
        body_bytes(),
    )
        .prop_map(
            |(method, path, query, auth, content_type, idempotency_key, body)| Raw {
                method,
                path,
                query,
                auth,
                content_type,
                idempotency_key,
                body,
            },
        )
}

/// Runs `strategy`'s requests against one server: never a 5xx; every
/// error is the envelope; successes are JSON. Answers the statuses seen.
fn sweep(cases: u32, strategy: impl Strategy<Value = Raw>) -> BTreeSet<u16> {
    let seen = Mutex::new(BTreeSet::new());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let env = runtime.block_on(start());
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    // A fixed seed: the statuses the sweep must reach are the same every run.
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
        .run(&strategy, |raw| {
            let (status, content_type, body) = runtime.block_on(send(&env, &raw));
            seen.lock().unwrap().insert(status);
            prop_assert!(
                status < 500,
                "HTTP {} for {:?}: {}",
                status,
                raw,
                String::from_utf8_lossy(&body)
            );
            if raw.method == Method::HEAD {
                return Ok(());
            }
            if status >= 400 {
                envelope_code(status, &content_type, &body)
                    .map_err(|e| TestCaseError::fail(format!("{raw:?}: {e}")))?;
            } else {
                prop_assert!(
                    serde_json::from_slice::<Value>(&body).is_ok(),
                    "HTTP {} not JSON for {:?}",
                    status,
                    raw
                );
            }
            Ok(())
        })
        .unwrap();
    seen.into_inner().unwrap()
}

/// The sweep reached past the outer checks.
fn assert_saw(seen: &BTreeSet<u16>, expected: &[u16]) {
    assert!(
        expected.iter().all(|s| seen.contains(s)),
        "statuses seen: {seen:?}, expected at least {expected:?}"
    );
}

#[test]
fn sweep_random_requests_over_every_operation() {
    let seen = sweep(128, hostile_request());
    assert_saw(&seen, &[200, 401, 404, 405, 422]);
}

#[test]
fn sweep_mutated_payouts_and_payment_accounts() {
    let payouts = mutated_payout()
        .prop_map(|body| Raw::new(Method::POST, "/v1/payouts").body(body.to_string()));
    let keyed = (payouts, "[!-~]{1,20}").prop_map(|(raw, key)| Raw {
        idempotency_key: Some(key.into_bytes()),
        ..raw
    });
    let accounts = any_json()
        .prop_map(|body| Raw::new(Method::POST, "/v1/payment-accounts").body(body.to_string()));
    let seen = sweep(128, prop_oneof![keyed, accounts]);
    assert_saw(&seen, &[422]);
}

#[test]
fn sweep_control_api_bodies() {
    let body = || prop_oneof![4 => any_json(), 1 => Just(json!({"to": "CANCELLED"})), 1 => Just(json!({"amount": "1.00"}))];
    let transition = body().prop_map(|body| {
        Raw::new(Method::POST, "/_sandbox/payouts/pyt-x/transition").body(body.to_string())
    });
    let fund = body().prop_map(|body| {
        Raw::new(Method::POST, "/_sandbox/wallets/wlt-x/fund").body(body.to_string())
    });
    let seen = sweep(64, prop_oneof![transition, fund]);
    assert_saw(&seen, &[404, 422]);
}
