//! Fixtures shared by the client's integration tests.
#![allow(dead_code)]

use rafiki_client::{RafikiClient, RetryPolicy, types};
use serde_json::{Value, json};
use std::time::Duration;

pub const KEY: &str = "sk_test_client_suite";

/// A client for `base_url` with fast retries (tests must not wait long).
pub fn client(base_url: &str) -> RafikiClient {
    RafikiClient::builder(base_url, KEY)
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
        })
        .build()
        .unwrap()
}

pub fn payout_json(id: &str, state: &str) -> Value {
    json!({
        "id": id,
        "amount": {"value": "2500.00", "currency": "KES"},
        "payment_account_id": "pac-1",
        "wallet_id": "wlt-1",
        "state": {"code": state},
        "created_at": "2026-01-31T09:30:00Z"
    })
}

pub fn error_json(code: &str) -> Value {
    json!({"code": code, "message": format!("{code} happened")})
}

pub fn create_request() -> types::PayoutCreateRequest {
    serde_json::from_value(json!({
        "amount": {"value": "2500.00", "currency": "KES"},
        "payment_account_id": "pac-1",
        "sender": {
            "type": "BUSINESS", "name": "Duka Supplies Ltd",
            "address": {"line_1": "12 Moi Avenue", "city": "Nairobi", "postal_code": "00100", "country": "KE"}
        }
    }))
    .unwrap()
}
