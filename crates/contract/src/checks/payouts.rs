//! Payout requests: valid ones accepted, single-fault ones refused with
//! the broken field named, the idempotency header required, created
//! payouts retrievable and listed, unknown ids 404.

use std::sync::Arc;

use proptest::prelude::*;
use rafiki_rules::{Rule, strategies};
use serde_json::Value;

use super::{
    CheckInfo, decimal_at, IDEMPOTENCY_KEY_REQUIRED, INVALID_PAYOUT_REJECTED, PAYOUT_RETRIEVABLE, UNKNOWN_PAYOUT_NOT_FOUND,
    VALID_PAYOUT_ACCEPTED,
};
use crate::generate::{CaseFailure, CaseResult, Json, run_property};
use crate::http::{Exchange, Probe};
use crate::runner::{Ctx, fixture_payout};

pub const CHECKS: &[&CheckInfo] = &[
    &VALID_PAYOUT_ACCEPTED,
    &INVALID_PAYOUT_REJECTED,
    &IDEMPOTENCY_KEY_REQUIRED,
    &PAYOUT_RETRIEVABLE,
    &UNKNOWN_PAYOUT_NOT_FOUND,
];

pub async fn run(ctx: Arc<Ctx>) {
    if ctx.is_selected(&VALID_PAYOUT_ACCEPTED) {
        let ctx = ctx.clone();
        blocking(move || run_property(&ctx, &VALID_PAYOUT_ACCEPTED, valid_bodies(&ctx), valid_payout_is_accepted)).await;
    }
    if ctx.is_selected(&INVALID_PAYOUT_REJECTED) {
        let ctx = ctx.clone();
        blocking(move || run_property(&ctx, &INVALID_PAYOUT_REJECTED, fault_cases(&ctx), invalid_payout_is_rejected))
            .await;
    }
    if ctx.is_selected(&IDEMPOTENCY_KEY_REQUIRED) {
        idempotency_key_required(&ctx).await;
    }
    if ctx.is_selected(&PAYOUT_RETRIEVABLE) {
        payout_retrievable(&ctx).await;
    }
    if ctx.is_selected(&UNKNOWN_PAYOUT_NOT_FOUND) {
        for _ in 0..3 {
            let id = format!("pyt-{}", uuid::Uuid::new_v4().simple());
            let exchange = ctx.send(Probe::get("get_payout", format!("/payouts/{id}"))).await;
            ctx.recorder.expect(
                &UNKNOWN_PAYOUT_NOT_FOUND,
                exchange.status() == 404 && exchange.error_code() == Some("NOT_FOUND"),
                || "HTTP 404 NOT_FOUND".into(),
                &exchange,
            );
        }
    }
}

/// Runs blocking property code off the async workers.
pub async fn blocking(f: impl FnOnce() + Send + 'static) {
    tokio::task::spawn_blocking(f).await.expect("property check panicked");
}

/// Valid bodies a server with no prior state must accept: the payment
/// account inline (a `payment_account_id` would name nothing there) and
/// the wallet chosen by currency.
fn valid_bodies(ctx: &Ctx) -> impl Strategy<Value = Json> + use<> {
    strategies::valid_payout(ctx.table.clone())
        .prop_filter("inline payment account", |case| case.body.get("payment_account").is_some())
        .prop_map(|case| Json(without(case.body, "wallet_id")))
}

fn without(mut body: Value, field: &str) -> Value {
    if let Some(object) = body.as_object_mut() {
        object.remove(field);
    }
    body
}

fn valid_payout_is_accepted(ctx: &Ctx, Json(body): &Json) -> CaseResult {
    let exchange = ctx.send_blocking(Probe::create_payout(body.clone()));
    let amount = decimal_at(body, "/amount/value");
    let currency = body.pointer("/amount/currency").and_then(Value::as_str).unwrap_or_default();
    match exchange.status() {
        202 => {
            let data = exchange.json().and_then(|j| j.get("data"));
            let pending = data.and_then(|d| d.pointer("/state/code")) == Some(&Value::from("PENDING"));
            let echoed = data.is_some_and(|d| decimal_at(d, "/amount/value") == amount);
            if pending && echoed {
                Ok(())
            } else {
                Err(CaseFailure::new("202 with the payout PENDING and its amount echoed", exchange))
            }
        }
        402 => {
            // Allowed only if the wallet really is short.
            let wallets = ctx.send_blocking(Probe::get("list_wallets", "/wallets"));
            let available = wallets
                .json()
                .and_then(|j| j["data"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .find(|w| w["currency"] == currency)
                .and_then(|w| decimal_at(w, "/available"));
            match (available, amount) {
                (Some(available), Some(amount)) if available >= amount => Err(CaseFailure::new(format!("202: the {currency} wallet has {available} available, enough for {amount}"), exchange)),
                _ => Ok(()),
            }
        }
        _ => Err(CaseFailure::new("202 (or 402 when the wallet is short)", exchange)),
    }
}

/// A single-fault body and the field it broke.
#[derive(Clone)]
pub struct Fault {
    pub body: Value,
    pub path: String,
    pub rule: Rule,
}

impl From<strategies::FaultCase> for Fault {
    fn from(case: strategies::FaultCase) -> Self {
        Fault { body: case.body, path: case.path, rule: case.rule }
    }
}

/// Reports show the rule, the path and the body as JSON.
impl std::fmt::Debug for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} at `{}` in {}", self.rule, self.path, self.body)
    }
}

/// Rules whose verdict depends on the server's state, not the request.
fn depends_on_server_state(rule: Rule) -> bool {
    matches!(rule, Rule::UnknownPaymentAccount | Rule::UnknownWallet | Rule::WalletCurrencyMismatch | Rule::NoWalletForCurrency)
}

fn fault_cases(ctx: &Ctx) -> impl Strategy<Value = Fault> + use<> {
    strategies::payout_with_one_fault(ctx.table.clone())
        .prop_filter("fault judged from the request alone", |case| {
            !depends_on_server_state(case.rule)
                && (case.body.get("payment_account").is_some() || case.path.starts_with("payment_account"))
        })
        .prop_map(|case| {
            let mut fault = Fault::from(case);
            if fault.path != "wallet_id" {
                fault.body = without(fault.body, "wallet_id");
            }
            fault
        })
}

/// Whether `errors.fields` names `path` (or a part of it, or a whole it belongs to).
pub fn names_field(exchange: &Exchange, path: &str) -> bool {
    exchange.error_fields().iter().any(|key| {
        key == path || key.starts_with(&format!("{path}.")) || path.starts_with(&format!("{key}."))
    })
}

fn invalid_payout_is_rejected(ctx: &Ctx, fault: &Fault) -> CaseResult {
    let exchange = ctx.send_blocking(Probe::create_payout(fault.body.clone()));
    judge_rejection(exchange, &fault.path, fault.rule)
}

/// 422, with the broken field named (a body that is not an object has no
/// field to name; "exactly one of two" may be reported at either of them).
pub fn judge_rejection(exchange: Exchange, path: &str, rule: Rule) -> CaseResult {
    let named = match (path, rule) {
        (rafiki_rules::violations::BODY_PATH, _) => true,
        ("payment_account_id" | "payment_account", Rule::ExactlyOneOf) => {
            names_field(&exchange, "payment_account_id") || names_field(&exchange, "payment_account")
        }
        _ => names_field(&exchange, path),
    };
    if exchange.status() == 422 && named {
        return Ok(());
    }
    let expected = match exchange.status() {
        200..=299 => format!("422 for {rule:?} at `{path}`; the server accepted it"),
        422 => format!("422 naming `{path}` ({rule:?}) in errors.fields, got {:?}", exchange.error_fields()),
        _ => format!("422 for {rule:?} at `{path}`"),
    };
    Err(CaseFailure::new(expected, exchange))
}

async fn idempotency_key_required(ctx: &Ctx) {
    let cases = [(None, false), (Some("k".repeat(256)), false), (Some("k".repeat(255)), true)];
    for (key, accepted) in cases {
        let mut probe = Probe::create_payout(fixture_payout(9));
        probe.idempotency_key = key.clone();
        let exchange = ctx.send(probe).await;
        let described = key.map_or("no X-Idempotency-Key".to_string(), |k| format!("a {}-character key", k.len()));
        if accepted {
            ctx.recorder.expect(&IDEMPOTENCY_KEY_REQUIRED, exchange.status() == 202, || format!("202 with {described}"), &exchange);
        } else {
            ctx.recorder.expect(&IDEMPOTENCY_KEY_REQUIRED, exchange.status() == 422, || format!("422 with {described}"), &exchange);
        }
    }
}

/// The fields of a payout that must read back exactly as created.
const STABLE_FIELDS: &[&str] = &["/id", "/amount/currency", "/payment_account_id", "/wallet_id"];

fn same_instant(a: Option<&Value>, b: Option<&Value>) -> bool {
    let parse = |v: Option<&Value>| v.and_then(Value::as_str).and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
}

async fn payout_retrievable(ctx: &Ctx) {
    let Some(fixtures) = ctx.fixtures_or_skip(&[&PAYOUT_RETRIEVABLE]) else { return };
    for created in &fixtures.payouts {
        let id = created["id"].as_str().unwrap_or_default();
        let exchange = ctx.send(Probe::get("get_payout", format!("/payouts/{id}"))).await;
        let data = exchange.json().and_then(|j| j.get("data"));
        let same = data.is_some_and(|d| {
            STABLE_FIELDS.iter().all(|p| d.pointer(p) == created.pointer(p))
                && decimal_at(d, "/amount/value") == decimal_at(created, "/amount/value")
                && same_instant(d.get("created_at"), created.get("created_at"))
        });
        ctx.recorder.expect(
            &PAYOUT_RETRIEVABLE,
            exchange.status() == 200 && same,
            || format!("200 with payout {id} as created (id, amount, accounts, created_at)"),
            &exchange,
        );
    }
    // Every fixture appears when listing from the first one's creation time.
    let from = fixtures.payouts[0]["created_at"].as_str().unwrap_or_default().to_string();
    let listed = crate::checks::listing::walk(ctx, Probe::get("list_payouts", "/payouts").query("created_at_from", from).query("paging_limit", "50"), 40).await;
    match listed {
        Ok(walk) => {
            let missing: Vec<&str> = fixtures
                .payouts
                .iter()
                .filter_map(|p| p["id"].as_str())
                .filter(|id| !walk.ids.iter().any(|seen| seen == id))
                .collect();
            ctx.recorder.expect(
                &PAYOUT_RETRIEVABLE,
                missing.is_empty(),
                || format!("GET /payouts lists every created payout; missing {missing:?}"),
                walk.last.as_ref().expect("a walk has pages"),
            );
        }
        Err(exchange) => ctx.recorder.fail(&PAYOUT_RETRIEVABLE, "GET /payouts answers 200", Some(&exchange), None),
    }
}
