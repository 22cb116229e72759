//! The sandbox control API under `/_sandbox` (described in
//! `spec/sandbox.yaml`): what support staff or a test harness does that the
//! public API cannot. Authenticated like the API (each key controls only
//! its own account), except `GET /_sandbox/health`.
//!
//! - `POST /_sandbox/payouts/{id}/transition` `{"to", "context"?}`: moves a
//!   payout (CANCELLED, REVERSED, or a forced SENT/FAILED) when the
//!   lifecycle allows it (else 409 ILLEGAL_TRANSITION), applying its
//!   wallet effect; `context` is for FAILED only.
//! - `POST /_sandbox/wallets/{id}/fund` `{"amount": "100.00"}`: credits
//!   `balance` and `available`.
//! - `POST /_sandbox/reset`: forgets every payout, payment account and
//!   idempotency key of the account and restores its seeded wallets (its
//!   fault plan and journal stay).
//! - `GET`, `PUT`, `DELETE /_sandbox/faults`: the account's fault plan
//!   ([`crate::faults`]): shown, replaced, cleared.
//! - `GET`, `DELETE /_sandbox/requests`: the account's request journal
//!   ([`crate::journal`]), filtered; emptied.
//! - `POST`, `GET /_sandbox/webhooks`, `DELETE /_sandbox/webhooks/{id}`:
//!   the account's webhook endpoints ([`crate::webhooks`]): added (201
//!   with the generated signing key), listed (keys shown), deleted (204).
//! - `GET`, `DELETE /_sandbox/webhooks/deliveries`: every attempt to
//!   deliver the account's events, filtered; emptied.
//! - `GET`, `PUT /_sandbox/snapshot`: the account's wallets, payment
//!   accounts, payouts and idempotency records as JSON ([`crate::snapshot`]);
//!   replaced by one (checked whole first; 422 at the path of a problem).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rafiki_rules::lifecycle::{FailureContext, StateCode};
use rafiki_rules::wire::Data;
use rafiki_rules::{Rule, Violations, read_amount, read_enum};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::errors::{ApiError, json};
use crate::extract::{Authed, JsonBody, Params, PathId};
use crate::faults::FaultPlan;
use crate::faults::wire::{PlanView, read_plan};
use crate::journal::Filter;
use crate::server::AppState;
use crate::snapshot;
use crate::webhooks::DeliveryFilter;
use crate::webhooks::wire::read_endpoint;

/// `GET /_sandbox/health`.
pub async fn health() -> Response {
    json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
}

/// `POST /_sandbox/payouts/{id}/transition`.
pub async fn transition(
    State(app): State<AppState>,
    Authed(cell): Authed,
    PathId(id): PathId,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (to, context) = transition_request(&body)?;
    let now = app.store.now();
    let mut account = cell.lock();
    let payout = account.transition(&id, to, context, now)?;
    tracing::info!(account = cell.label(), payout_id = %id, state = %to, "control: transition");
    Ok(json(StatusCode::OK, &Data { data: payout }))
}

/// `POST /_sandbox/wallets/{id}/fund`.
pub async fn fund(
    Authed(cell): Authed,
    PathId(id): PathId,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let amount = fund_request(&body)?;
    let mut account = cell.lock();
    let wallet = account.fund(&id, amount)?;
    Ok(json(StatusCode::OK, &Data { data: wallet }))
}

/// `POST /_sandbox/reset`: answers the restored wallets.
pub async fn reset(Authed(cell): Authed) -> Response {
    let wallets = cell.reset();
    tracing::info!(account = cell.label(), "control: account reset");
    json(StatusCode::OK, &Data { data: wallets })
}

/// `GET /_sandbox/faults`: the plan, each rule with how often it fired.
pub async fn faults(Authed(cell): Authed) -> Response {
    json(StatusCode::OK, &PlanView::of(&cell.faults()))
}

/// `PUT /_sandbox/faults`: replaces the plan (counters start from zero).
pub async fn replace_faults(
    Authed(cell): Authed,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let plan = read_plan(&body)?;
    tracing::info!(account = cell.label(), faults = %plan, "control: fault plan replaced");
    let mut faults = cell.faults();
    faults.replace(plan);
    Ok(json(StatusCode::OK, &PlanView::of(&faults)))
}

/// `DELETE /_sandbox/faults`: no faults any more.
pub async fn clear_faults(Authed(cell): Authed) -> Response {
    let mut faults = cell.faults();
    faults.replace(FaultPlan::default());
    tracing::info!(account = cell.label(), "control: fault plan cleared");
    json(StatusCode::OK, &PlanView::of(&faults))
}

/// `GET /_sandbox/requests`: the journal, filtered.
pub async fn requests(Authed(cell): Authed, params: Params) -> Result<Response, ApiError> {
    let filter = Filter::parse(&params)?;
    Ok(json(StatusCode::OK, &cell.journal().page(&filter)))
}

/// `DELETE /_sandbox/requests`: empties the journal (numbering goes on).
pub async fn clear_requests(Authed(cell): Authed) -> Response {
    let mut journal = cell.journal();
    journal.clear();
    json(StatusCode::OK, &journal.page(&Filter::default()))
}

/// `POST /_sandbox/webhooks`: a new endpoint, with a generated key.
pub async fn add_webhook(
    State(app): State<AppState>,
    Authed(cell): Authed,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let url = read_endpoint(&body)?;
    let endpoint = cell.webhooks().add(url, app.store.now())?;
    tracing::info!(account = cell.label(), endpoint_id = %endpoint.id, url = %endpoint.url, "control: webhook endpoint added");
    Ok(json(StatusCode::CREATED, &endpoint))
}

/// `GET /_sandbox/webhooks`: the endpoints, keys included.
pub async fn webhooks(Authed(cell): Authed) -> Response {
    json(
        StatusCode::OK,
        &Data {
            data: cell.webhooks().list(),
        },
    )
}

/// `DELETE /_sandbox/webhooks/{id}`: what it had queued is dropped.
pub async fn delete_webhook(
    Authed(cell): Authed,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    if !cell.webhooks().remove(&id) {
        return Err(ApiError::NotFound);
    }
    tracing::info!(account = cell.label(), endpoint_id = %id, "control: webhook endpoint deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /_sandbox/webhooks/deliveries`: every attempt, filtered.
pub async fn deliveries(Authed(cell): Authed, params: Params) -> Result<Response, ApiError> {
    let filter = DeliveryFilter::parse(&params)?;
    Ok(cell
        .webhooks()
        .journal(|journal| json(StatusCode::OK, &journal.page(&filter))))
}

/// `DELETE /_sandbox/webhooks/deliveries`: empties the deliveries journal
/// (numbering goes on).
pub async fn clear_deliveries(Authed(cell): Authed) -> Response {
    cell.webhooks().journal(|journal| {
        journal.clear();
        json(StatusCode::OK, &journal.page(&DeliveryFilter::default()))
    })
}

/// `GET /_sandbox/snapshot`: the account's state.
pub async fn snapshot(Authed(cell): Authed) -> Response {
    let image = cell.lock().image();
    json(StatusCode::OK, &snapshot::export(&image))
}

/// `PUT /_sandbox/snapshot`: replaces the account's state with the one
/// sent; answers it as `GET` now shows it.
pub async fn replace_snapshot(
    State(app): State<AppState>,
    Authed(cell): Authed,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let image = snapshot::import(&body, app.store.delay(), app.store.compliance())?;
    let (queued, image) = {
        let mut account = cell.lock();
        let queued = account.replace(image, app.store.autonomous_support());
        (queued, account.image())
    };
    if queued {
        app.store.wake.notify_one();
    }
    tracing::info!(
        account = cell.label(),
        payouts = image.payouts.len(),
        payment_accounts = image.payment_accounts.len(),
        "control: snapshot imported"
    );
    Ok(json(StatusCode::OK, &snapshot::export(&image)))
}

/// Test hook (only with `Config::panic_route`): a handler that panics.
pub async fn panic() -> Response {
    panic!("deliberate panic from /_sandbox/debug/panic")
}

/// Reads `{"to": STATE, "context"?: FAILURE_CONTEXT}`; unknown properties
/// are ignored.
fn transition_request(body: &Value) -> Result<(StateCode, Option<FailureContext>), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_body("must be a JSON object"));
    }
    let mut violations = Violations::new();
    let to = read_enum::<StateCode>(body, "to", true, &mut violations);
    let context = read_enum::<FailureContext>(body, "context", false, &mut violations);
    if context.is_some() && to.is_some_and(|to| to != StateCode::Failed) {
        violations.add(
            "context",
            Rule::WrongType,
            "is only allowed when `to` is FAILED",
        );
    }
    match to {
        Some(to) if violations.is_empty() => Ok((to, context)),
        _ => Err(violations.into()),
    }
}

/// Reads `{"amount": "100.00"}`: a positive amount, read as a payout's
/// `amount.value` is; unknown properties are ignored.
fn fund_request(body: &Value) -> Result<Decimal, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_body("must be a JSON object"));
    }
    let mut violations = Violations::new();
    match read_amount(body, "amount", true, &mut violations) {
        Some(amount) if violations.is_empty() => Ok(amount),
        _ => Err(violations.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transition_bodies() {
        assert_eq!(
            transition_request(&json!({"to": "CANCELLED", "extra": 1})).unwrap(),
            (StateCode::Cancelled, None)
        );
        assert_eq!(
            transition_request(
                &json!({"to": "FAILED", "context": "PAYMENT_ACCOUNT_LIMIT_REACHED"})
            )
            .unwrap(),
            (
                StateCode::Failed,
                Some(FailureContext::PaymentAccountLimitReached)
            )
        );
        for bad in [
            json!({}),
            json!({"to": "DONE"}),
            json!({"to": 1}),
            json!([]),
            json!({"to": "SENT", "context": "PAYMENT_ACCOUNT_LIMIT_REACHED"}),
            json!({"to": "FAILED", "context": "NOPE"}),
        ] {
            let error = transition_request(&bad).unwrap_err();
            assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
    }

    #[test]
    fn fund_bodies() {
        assert_eq!(
            fund_request(&json!({"amount": "100.50", "extra": 1}))
                .unwrap()
                .to_string(),
            "100.50"
        );
        for (bad, field, rule) in [
            (json!({}), "amount", Rule::Required),
            (json!({"amount": null}), "amount", Rule::Required),
            (json!({"amount": 100}), "amount", Rule::WrongType),
            (json!({"amount": "-1"}), "amount", Rule::AmountFormat),
            (json!({"amount": "1e3"}), "amount", Rule::AmountFormat),
            (json!({"amount": "0"}), "amount", Rule::AmountNotPositive),
            (json!([]), "body", Rule::WrongType),
        ] {
            let Err(ApiError::Validation(violations)) = fund_request(&bad) else {
                panic!("{bad} was accepted or refused otherwise");
            };
            assert_eq!(violations.path_rules(), [(field.to_owned(), rule)], "{bad}");
        }
    }
}
