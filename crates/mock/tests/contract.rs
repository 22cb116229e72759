//! The mock's answers match our contract: every body of a scenario that
//! touches every operation validates against the schema `spec/openapi.yaml`
//! documents for its operation and status; the control API's answers match
//! `spec/sandbox.yaml`, which itself passes the spec self-checks.

mod common;

use common::{KEY, payout_json, start};
use rafiki_spec::Spec;
use reqwest::Method;
use serde_json::{Value, json};

const SANDBOX_YAML: &str = include_str!("../../../spec/sandbox.yaml");

/// One request and the spec and operation its answer must match.
struct Step<'s> {
    spec: &'s Spec,
    operation: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
}

fn step<'s>(
    spec: &'s Spec,
    operation: &'static str,
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
    let Step {
        spec,
        operation,
        method,
        path,
        body,
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
    let value: Value = response.json().await.unwrap();
    let pointer = spec
        .response_schema(operation, status)
        .unwrap_or_else(|| panic!("{operation}: HTTP {status} is not documented: {value}"));
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
}
