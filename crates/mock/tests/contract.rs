//! The mock's answers match our contract: every body of a scenario that
//! touches every operation validates against the schema `spec/openapi.yaml`
//! documents for its operation and status; the control API's answers match
//! `spec/sandbox.yaml`, which itself passes the spec self-checks; and the
//! control API the mock serves is the one `spec/sandbox.yaml` describes,
//! no route more, no operation less.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::{KEY, payout_json, start};
use rafiki_mock::webhooks::MAX_ENDPOINTS;
use rafiki_spec::Spec;
use reqwest::Method;
use serde_json::{Value, json};

const SANDBOX_YAML: &str = include_str!("../../../spec/sandbox.yaml");
/// The router's source: its `/_sandbox` routes are read from it, so that a
/// route added there without a word in the spec fails here.
const SERVER_RS: &str = include_str!("../src/server.rs");
/// A test hook (`Config::panic_route`), not part of the control API.
const PANIC_ROUTE: &str = "/_sandbox/debug/panic";

/// One request and the spec and operation its answer must match.
struct Step<'s> {
    spec: &'s Spec,
    operation: &'s str,
    method: Method,
    path: String,
    body: Option<Value>,
}

fn step<'s>(
    spec: &'s Spec,
    operation: &'s str,
    method: Method,
    path: impl Into<String>,
    body: Option<Value>,
) -> Step<'s> {
    Step {
        spec,
        operation,
        method,
        path: path.into(),
        body,
    }
}

/// Sends the step's request and checks the answer against the schema its
/// spec documents for the operation and the status it got (which must be
/// documented).
async fn check(env: &common::Env, step: &Step<'_>) -> Value {
    let (status, body) = send(env, step).await;
    validate(step, status, &body)
}

/// Sends the step's request; answers the status and the body's bytes.
async fn send(env: &common::Env, step: &Step<'_>) -> (u16, Vec<u8>) {
    let Step {
        method, path, body, ..
    } = step;
    let mut request = env
        .http
        .request(method.clone(), format!("{}{path}", env.root()))
        .bearer_auth(KEY)
        .header("X-Idempotency-Key", uuid::Uuid::new_v4().to_string());
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// Checks an answer of the step's operation against its spec: a status the
/// spec documents, and a body its schema takes, or no body at all where
/// the spec documents none (a 204). Answers the body (null when none).
fn validate(step: &Step<'_>, status: u16, body: &[u8]) -> Value {
    let Step {
        spec, operation, ..
    } = step;
    let text = String::from_utf8_lossy(body);
    let Some(pointer) = spec.response_schema(operation, status) else {
        assert!(
            spec.documented_statuses(operation).contains(&status),
            "{operation}: HTTP {status} is not documented: {text}"
        );
        assert!(
            body.is_empty(),
            "{operation}: HTTP {status} is documented without a body: {text}"
        );
        return Value::Null;
    };
    let value: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{operation} HTTP {status}: not JSON ({e}): {text}"));
    let validator = spec.validator_at(&pointer).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{operation} HTTP {status}: {problems:?}\n{value}"
    );
    value
}

#[test]
fn the_operation_table_is_the_specs() {
    let spec = Spec::embedded();
    let mut documented = Vec::new();
    for (path, method, operation) in spec.operations() {
        let id = operation.operation_id.as_deref().unwrap();
        let table: rafiki_mock::Operation = id.parse().unwrap();
        assert_eq!(table.method().as_str(), method.to_uppercase(), "{id}");
        assert_eq!(table.route(), format!("/v1{path}"), "{id}");
        documented.push(table);
    }
    documented.sort();
    assert_eq!(
        documented,
        rafiki_mock::Operation::ALL,
        "the same operations"
    );
}

#[test]
fn the_sandbox_spec_passes_the_self_checks() {
    Spec::from_yaml(SANDBOX_YAML).unwrap().check().unwrap();
}

#[tokio::test]
async fn every_answer_matches_the_documented_schema() {
    let env = start().await;
    let (api, sandbox) = (Spec::embedded(), Spec::from_yaml(SANDBOX_YAML).unwrap());
    let account = payout_json("+254712345678", "150.00")["payment_account"].clone();
    let payout = |number: &str, amount: &str| Some(payout_json(number, amount));
    let created = check(
        &env,
        &step(
            &api,
            "create_payout",
            Method::POST,
            "/v1/payouts",
            payout("+254712345678", "150.00"),
        ),
    )
    .await;
    let id = created["data"]["id"].as_str().unwrap();
    let wallet = env.wallet().await.id.to_string();
    let transition = format!("/_sandbox/payouts/{id}/transition");
    let before_settling = [
        step(&api, "list_banks", Method::GET, "/v1/banks", None),
        step(&api, "list_wallets", Method::GET, "/v1/wallets", None),
        step(
            &api,
            "get_or_create_payment_account",
            Method::POST,
            "/v1/payment-accounts",
            Some(account.clone()),
        ),
        step(
            &api,
            "get_or_create_payment_account",
            Method::POST,
            "/v1/payment-accounts",
            Some(account),
        ),
        step(
            &api,
            "get_or_create_payment_account",
            Method::POST,
            "/v1/payment-accounts",
            Some(json!({"type": 1})),
        ),
        step(
            &api,
            "create_payout",
            Method::POST,
            "/v1/payouts",
            payout("+254712345678", "99999999.00"),
        ),
        step(
            &api,
            "create_payout",
            Method::POST,
            "/v1/payouts",
            payout("+254712345678", "12.00"),
        ),
        step(
            &api,
            "create_payout",
            Method::POST,
            "/v1/payouts",
            payout("+254700000104", "200.00"),
        ),
        step(
            &api,
            "create_payout",
            Method::POST,
            "/v1/payouts",
            payout("+254700000104", "201.00"),
        ),
    ];
    for step in &before_settling {
        check(&env, step).await;
    }
    env.mock.advance(common::DELAY);
    let after_settling = [
        step(
            &api,
            "get_payout",
            Method::GET,
            format!("/v1/payouts/{id}"),
            None,
        ),
        step(
            &api,
            "get_payout",
            Method::GET,
            "/v1/payouts/pyt-missing",
            None,
        ),
        step(
            &api,
            "list_payouts",
            Method::GET,
            "/v1/payouts?paging_limit=2&created_at_from=2026-01-01",
            None,
        ),
        step(
            &api,
            "list_payouts",
            Method::GET,
            "/v1/payouts?paging_limit=99",
            None,
        ),
        step(
            &api,
            "list_payment_accounts",
            Method::GET,
            "/v1/payment-accounts?paging_limit=1",
            None,
        ),
        step(
            &sandbox,
            "sandbox_health",
            Method::GET,
            "/_sandbox/health",
            None,
        ),
        step(
            &sandbox,
            "sandbox_fund_wallet",
            Method::POST,
            format!("/_sandbox/wallets/{wallet}/fund"),
            Some(json!({"amount": "10.00"})),
        ),
        step(
            &sandbox,
            "sandbox_fund_wallet",
            Method::POST,
            "/_sandbox/wallets/wlt-none/fund",
            Some(json!({"amount": "10.00"})),
        ),
        step(
            &sandbox,
            "sandbox_transition_payout",
            Method::POST,
            transition.clone(),
            Some(json!({"to": "REVERSED"})),
        ),
        step(
            &sandbox,
            "sandbox_transition_payout",
            Method::POST,
            transition.clone(),
            Some(json!({"to": "SENT"})),
        ),
        step(
            &sandbox,
            "sandbox_transition_payout",
            Method::POST,
            transition,
            Some(json!({"to": "NOPE"})),
        ),
        step(
            &sandbox,
            "sandbox_get_faults",
            Method::GET,
            "/_sandbox/faults",
            None,
        ),
        step(
            &sandbox,
            "sandbox_replace_faults",
            Method::PUT,
            "/_sandbox/faults",
            Some(json!({"seed": 7, "rules": [
                {"operation": "create_payout", "kind": "status", "status": 503, "retry_after_seconds": 2, "share": 0.3},
                {"operation": "*", "kind": "latency", "latency_ms": 1, "times": 1},
                {"operation": "get_payout", "kind": "drop_after_handling", "share": 0}
            ]})),
        ),
        step(
            &sandbox,
            "sandbox_replace_faults",
            Method::PUT,
            "/_sandbox/faults",
            Some(json!({"rules": [{"operation": "*", "kind": "status"}]})),
        ),
        step(&api, "list_banks", Method::GET, "/v1/banks", None),
        step(
            &sandbox,
            "sandbox_get_faults",
            Method::GET,
            "/_sandbox/faults",
            None,
        ),
        step(
            &sandbox,
            "sandbox_clear_faults",
            Method::DELETE,
            "/_sandbox/faults",
            None,
        ),
        step(
            &sandbox,
            "sandbox_list_requests",
            Method::GET,
            "/_sandbox/requests?method=GET&limit=3",
            None,
        ),
        step(
            &sandbox,
            "sandbox_list_requests",
            Method::GET,
            "/_sandbox/requests?limit=0",
            None,
        ),
        step(
            &sandbox,
            "sandbox_clear_requests",
            Method::DELETE,
            "/_sandbox/requests",
            None,
        ),
        step(
            &sandbox,
            "sandbox_reset_account",
            Method::POST,
            "/_sandbox/reset",
            None,
        ),
    ];
    for step in &after_settling {
        let answer = check(&env, step).await;
        if step.path.contains("paging_limit=2") {
            assert!(answer["meta"]["paging"]["next"].is_string(), "{answer}");
        }
    }
    webhook_answers_match(&env, &api, &sandbox).await;
    snapshot_answers_match(&env, &api, &sandbox).await;
}

/// The webhook operations, each answered and refused: endpoints added
/// (one that acknowledges, one nobody listens on, so that the deliveries
/// journal holds an answered attempt and a failed one), listed, refused
/// (a bad URL, the sixth endpoint), deleted; the journal read and emptied.
async fn webhook_answers_match(env: &common::Env, api: &Spec, sandbox: &Spec) {
    const WEBHOOKS: &str = "/_sandbox/webhooks";
    let list = step(
        sandbox,
        "sandbox_list_webhooks",
        Method::GET,
        WEBHOOKS,
        None,
    );
    let add = |url: &str| {
        let body = Some(json!({ "url": url }));
        step(sandbox, "sandbox_add_webhook", Method::POST, WEBHOOKS, body)
    };
    let delete = |id: &str| {
        let path = format!("{WEBHOOKS}/{id}");
        step(
            sandbox,
            "sandbox_delete_webhook",
            Method::DELETE,
            path,
            None,
        )
    };
    let deliveries = |query: &str| {
        let path = format!("{WEBHOOKS}/deliveries{query}");
        step(sandbox, "sandbox_list_deliveries", Method::GET, path, None)
    };
    let clear = step(
        sandbox,
        "sandbox_clear_deliveries",
        Method::DELETE,
        format!("{WEBHOOKS}/deliveries"),
        None,
    );

    let listening = acknowledging_receiver().await;
    let empty = check(env, &list).await;
    assert_eq!(empty["data"], json!([]), "{empty}");
    let added = check(env, &add(&listening)).await;
    let endpoint = added["id"].as_str().unwrap().to_owned();
    check(env, &add(&closed_port_url().await)).await;
    let refused = check(env, &add("https://example.com/hooks")).await;
    assert_eq!(common::error_fields(&refused), ["url"], "{refused}");
    let listed = check(env, &list).await;
    assert_eq!(listed["data"][0], added, "the list shows the key as added");

    // One event for two endpoints: two attempts, recorded in the
    // background once each has its answer.
    let payout = Some(payout_json("+254712345678", "150.00"));
    check(
        env,
        &step(api, "create_payout", Method::POST, "/v1/payouts", payout),
    )
    .await;
    await_attempts(env, 2).await;
    let journal = check(env, &deliveries("")).await;
    let outcomes: BTreeSet<&str> = journal["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        BTreeSet::from(["delivered", "retry_scheduled"]),
        "{journal}"
    );
    check(
        env,
        &deliveries(&format!("?endpoint_id={endpoint}&limit=1")),
    )
    .await;
    check(env, &deliveries("?limit=0")).await;
    check(env, &clear).await;

    check(env, &delete(&endpoint)).await;
    let missing = check(env, &delete(&endpoint)).await;
    assert_eq!(missing["code"], "NOT_FOUND", "{missing}");

    // One endpoint left: the limit's own 422 comes at the sixth.
    let mut answers = Vec::new();
    for _ in 1..=MAX_ENDPOINTS {
        answers.push(check(env, &add(&listening)).await);
    }
    let last = answers.pop().unwrap();
    assert!(answers.iter().all(|a| a["id"].is_string()), "{answers:?}");
    assert_eq!(last["code"], "WEBHOOK_ENDPOINT_LIMIT_REACHED", "{last}");
}

/// The snapshot operations: a round trip (what GET shows, PUT back as it
/// is, answers the same state) with payouts settled and pending, then a
/// malformed snapshot, refused without changing anything.
async fn snapshot_answers_match(env: &common::Env, api: &Spec, sandbox: &Spec) {
    let create = |amount: &str| {
        let body = Some(payout_json("+254712345678", amount));
        step(api, "create_payout", Method::POST, "/v1/payouts", body)
    };
    // A settled payout (SENT, with its receipt) and a PENDING one (with
    // its `due_at`), beside the one the webhook steps left.
    check(env, &create("160.00")).await;
    env.mock.advance(common::DELAY);
    check(env, &create("170.00")).await;
    let get = step(
        sandbox,
        "sandbox_get_snapshot",
        Method::GET,
        "/_sandbox/snapshot",
        None,
    );
    let put = |body: Value| {
        step(
            sandbox,
            "sandbox_replace_snapshot",
            Method::PUT,
            "/_sandbox/snapshot",
            Some(body),
        )
    };
    let snapshot = check(env, &get).await;
    let states: BTreeSet<(&str, bool)> = snapshot["payouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|payout| {
            let code = payout["state"]["code"].as_str().unwrap();
            (code, payout.get("due_at").is_some())
        })
        .collect();
    assert_eq!(
        states,
        BTreeSet::from([("PENDING", true), ("SENT", false)]),
        "{snapshot}"
    );
    let replaced = check(env, &put(snapshot.clone())).await;
    assert_eq!(replaced, snapshot, "a snapshot read back is the same state");

    let malformed = json!({"version": 2, "wallets": {}, "payment_accounts": [], "payouts": [{}]});
    let refused = check(env, &put(malformed)).await;
    assert_eq!(
        common::error_fields(&refused),
        ["idempotency", "payouts[0]", "version", "wallets"],
        "{refused}"
    );
    assert_eq!(
        check(env, &get).await,
        snapshot,
        "a refused import changes nothing"
    );
}

/// A webhook receiver on an ephemeral port that acknowledges everything
/// (204); answers its URL.
async fn acknowledging_receiver() -> String {
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(|| async { StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// An `http://` URL on a port just closed: a delivery there fails without
/// an answer (connection refused).
async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    format!("http://{}/hooks", listener.local_addr().unwrap())
}

/// Waits until the main account's deliveries journal has recorded
/// `count` attempts: they are made in the background, after the request
/// whose change they tell of has been answered.
async fn await_attempts(env: &common::Env, count: u64) {
    let journal = || async {
        let (status, journal) = env
            .call(Method::GET, "/_sandbox/webhooks/deliveries", None)
            .await;
        assert_eq!(status, 200, "{journal}");
        journal
    };
    common::wait_until(journal, |j| j["meta"]["total"].as_u64() >= Some(count)).await;
}

/// Every operation of `spec/sandbox.yaml` is served: its request answers
/// a status the spec documents for it, with a body its schema takes, and
/// never 404 or 405. The ids in its path exist, so a 404 can only be the
/// router's "no such path" (a handler's 404 for an unknown id has the
/// same body). No request sends a body: an operation that reads one
/// answers its documented 400, which only its handler gives.
#[tokio::test]
async fn every_sandbox_operation_is_served() {
    let env = start().await;
    let sandbox = Spec::from_yaml(SANDBOX_YAML).unwrap();
    let payout = env.create("+254712345678", "150.00").await.id.to_string();
    let wallet = env.wallet().await.id.to_string();
    let (status, endpoint) = env
        .call(
            Method::POST,
            "/_sandbox/webhooks",
            Some(json!({"url": closed_port_url().await})),
        )
        .await;
    assert_eq!(status, 201, "{endpoint}");
    let endpoint = endpoint["id"].as_str().unwrap().to_owned();
    for (path, method, operation) in sandbox.operations() {
        let operation = operation.operation_id.as_deref().unwrap();
        // `/_sandbox/{collection}/{id}/…`: the id of that collection.
        let id = match path.split('/').nth(2) {
            _ if !path.contains("{id}") => "",
            Some("payouts") => &payout,
            Some("wallets") => &wallet,
            Some("webhooks") => &endpoint,
            _ => panic!("{path}: which id goes in it? Add one here"),
        };
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let step = step(
            &sandbox,
            operation,
            method.clone(),
            path.replace("{id}", id),
            None,
        );
        let (status, body) = send(&env, &step).await;
        assert!(
            ![404, 405].contains(&status),
            "{method} {path} ({operation}) is not served: HTTP {status} {}",
            String::from_utf8_lossy(&body)
        );
        validate(&step, status, &body);
    }
}

/// Every `/_sandbox` route the router declares (method and path, read
/// from `src/server.rs`) is an operation of `spec/sandbox.yaml`, and the
/// other way round.
#[test]
fn every_sandbox_route_is_documented() {
    let sandbox = Spec::from_yaml(SANDBOX_YAML).unwrap();
    let documented: BTreeSet<(String, String)> = sandbox
        .operations()
        .map(|(path, method, _)| (method.to_uppercase(), path.to_owned()))
        .collect();
    let routed = declared_sandbox_routes(SERVER_RS);
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from spec/sandbox.yaml: {undocumented:?}; \
         operations of the spec src/server.rs does not route: {unrouted:?}"
    );
}

/// The `(METHOD, path)` of every `.route("/_sandbox…", …)` in `source`
/// (rustfmt may break the line before the path), but the test hook's.
/// A route's methods are the method routers its second argument calls:
/// `get(…)`, `.post(…)`, `axum::routing::delete(…)`...
fn declared_sandbox_routes(source: &str) -> BTreeSet<(String, String)> {
    const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];
    let mut routes = BTreeSet::new();
    for (at, call) in source.match_indices(".route(") {
        let args = &source[at + call.len()..];
        let Some((path, _)) = args
            .trim_start()
            .strip_prefix('"')
            .and_then(|rest| rest.split_once('"'))
        else {
            continue;
        };
        if !path.starts_with("/_sandbox") || path == PANIC_ROUTE {
            continue;
        }
        let args = &args[..closing_paren(args)];
        for method in METHODS {
            let calls = args.match_indices(&format!("{method}(")).any(|(i, _)| {
                !args[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
            if calls {
                routes.insert((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    assert!(
        routes.iter().any(|(_, path)| path == "/_sandbox/health"),
        "no /_sandbox route read from src/server.rs: has `fn router` changed shape?"
    );
    routes
}

/// Where the call whose arguments `args` starts ends (its `)`).
fn closing_paren(args: &str) -> usize {
    let mut depth = 1;
    for (i, c) in args.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 1 => return i,
            ')' => depth -= 1,
            _ => {}
        }
    }
    panic!("unbalanced parentheses in src/server.rs")
}
