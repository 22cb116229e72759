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

/// Sends a request and checks its answer against `spec`'s schema for
/// `operation` and the status it got (which must be documented).
async fn check(env: &common::Env, spec: &Spec, operation: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut request = env.http.request(method, format!("{}{path}", env.root())).bearer_auth(KEY).header("X-Idempotency-Key", uuid::Uuid::new_v4().to_string());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let value: Value = response.json().await.unwrap();
    let pointer = spec.response_schema(operation, status).unwrap_or_else(|| panic!("{operation}: HTTP {status} is not documented: {value}"));
    let validator = spec.validator_at(&pointer).unwrap();
    let problems: Vec<String> = validator.iter_errors(&value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(problems.is_empty(), "{operation} HTTP {status}: {problems:?}\n{value}");
    value
}

#[test]
fn the_sandbox_spec_passes_the_self_checks() {
    Spec::from_yaml(SANDBOX_YAML).unwrap().check().unwrap();
}

#[tokio::test]
async fn every_answer_matches_the_documented_schema() {
    let env = start().await;
    let api = Spec::embedded();
    let sandbox = Spec::from_yaml(SANDBOX_YAML).unwrap();
    check(&env, &api, "list_banks", Method::GET, "/v1/banks", None).await;
    let wallets = check(&env, &api, "list_wallets", Method::GET, "/v1/wallets", None).await;
    let account = payout_json("+254712345678", "150.00")["payment_account"].clone();
    check(&env, &api, "get_or_create_payment_account", Method::POST, "/v1/payment-accounts", Some(account.clone())).await;
    check(&env, &api, "get_or_create_payment_account", Method::POST, "/v1/payment-accounts", Some(account)).await;
    check(&env, &api, "get_or_create_payment_account", Method::POST, "/v1/payment-accounts", Some(json!({"type": 1}))).await;
    let created = check(&env, &api, "create_payout", Method::POST, "/v1/payouts", Some(payout_json("+254712345678", "150.00"))).await;
    check(&env, &api, "create_payout", Method::POST, "/v1/payouts", Some(payout_json("+254712345678", "99999999.00"))).await;
    check(&env, &api, "create_payout", Method::POST, "/v1/payouts", Some(payout_json("+254712345678", "12.00"))).await;
    for i in 0..3 {
        check(&env, &api, "create_payout", Method::POST, "/v1/payouts", Some(payout_json("+254700000104", &format!("20{i}.00")))).await;
    }
    env.mock.advance(common::DELAY);
    let id = created["data"]["id"].as_str().unwrap();
    check(&env, &api, "get_payout", Method::GET, &format!("/v1/payouts/{id}"), None).await;
    check(&env, &api, "get_payout", Method::GET, "/v1/payouts/pyt-missing", None).await;
    let page = check(&env, &api, "list_payouts", Method::GET, "/v1/payouts?paging_limit=2&created_at_from=2026-01-01", None).await;
    assert!(page["meta"]["paging"]["next"].is_string());
    check(&env, &api, "list_payouts", Method::GET, "/v1/payouts?paging_limit=99", None).await;
    check(&env, &api, "list_payment_accounts", Method::GET, "/v1/payment-accounts?paging_limit=1", None).await;

    let wallet = wallets["data"][0]["id"].as_str().unwrap();
    check(&env, &sandbox, "sandbox_health", Method::GET, "/_sandbox/health", None).await;
    check(&env, &sandbox, "sandbox_fund_wallet", Method::POST, &format!("/_sandbox/wallets/{wallet}/fund"), Some(json!({"amount": "10.00"}))).await;
    check(&env, &sandbox, "sandbox_fund_wallet", Method::POST, "/_sandbox/wallets/wlt-none/fund", Some(json!({"amount": "10.00"}))).await;
    let transition = format!("/_sandbox/payouts/{id}/transition");
    check(&env, &sandbox, "sandbox_transition_payout", Method::POST, &transition, Some(json!({"to": "REVERSED"}))).await;
    check(&env, &sandbox, "sandbox_transition_payout", Method::POST, &transition, Some(json!({"to": "SENT"}))).await;
    check(&env, &sandbox, "sandbox_transition_payout", Method::POST, &transition, Some(json!({"to": "NOPE"}))).await;
    check(&env, &sandbox, "sandbox_reset_account", Method::POST, "/_sandbox/reset", None).await;
}
