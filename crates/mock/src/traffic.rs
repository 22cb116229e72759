//! Around every request to the API under `/v1` that carries a known key:
//! the account's fault plan is asked what fires ([`crate::faults`]), the
//! request is recorded in the account's journal ([`crate::journal`]), and
//! then it is delayed, answered with an injected status instead of being
//! handled, handled and its connection dropped, or simply handled. Other
//! requests (`/_sandbox`, no or an unknown key) pass untouched.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::RETRY_AFTER;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::conn::DropConnection;
use crate::errors::ApiError;
use crate::extract::account_of;
use crate::faults::{self, Fault, Injected};
use crate::journal::{self, Entry, Outcome};
use crate::operation::{API_PREFIX, Operation};
use crate::server::AppState;

/// The middleware (see the module docs).
pub(crate) async fn traffic(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_api = path
        .strip_prefix(API_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    let cell = match account_of(request.headers(), &app.store) {
        Some(cell) if is_api => cell.clone(),
        _ => return next.run(request).await,
    };
    tracing::Span::current().record("account", cell.label());
    let operation = Operation::of(request.method(), path);
    let fired = operation.map_or_else(Vec::new, |op| cell.faults().decide(op));
    for injected in &fired {
        tracing::info!(
            operation = operation.map(Operation::id),
            rule = injected.rule,
            fault = %injected.text,
            "fault injected"
        );
    }
    let (parts, body) = request.into_parts();
    let (body, captured) = journal::peek_body(body).await;
    let entry = Entry::received(&parts, operation, app.store.now(), captured, &fired);
    let seq = cell.journal().open(entry);
    let request = Request::from_parts(parts, body);

    let latency = faults::latency(&fired);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (response, outcome) = match faults::outcome(&fired) {
        Some(Injected {
            fault:
                Fault::Answer {
                    status,
                    retry_after,
                },
            text,
            ..
        }) => {
            let mut response = ApiError::Injected {
                status: *status,
                rule: text.clone(),
            }
            .into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(*seconds));
            }
            (response, Outcome::Answered)
        }
        Some(Injected {
            fault: Fault::DropAfterHandling,
            ..
        }) => {
            let mut response = next.run(request).await;
            response.extensions_mut().insert(DropConnection);
            (response, Outcome::ConnectionDropped)
        }
        _ => (next.run(request).await, Outcome::Answered),
    };
    cell.journal().close(seq, response.status(), outcome);
    response
}
