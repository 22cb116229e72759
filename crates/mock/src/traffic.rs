//! Around every request to the API under `/v1` that carries a known key:
//! the key's rate limit takes a token (`rate_limit`), the account's fault
//! plan is asked what fires ([`crate::faults`]), the request is recorded
//! in the account's journal ([`crate::journal`]), and then it is answered
//! 429 past the limit, delayed, answered with an injected status instead
//! of being handled, handled and its connection dropped, or simply
//! handled. Other requests (`/_sandbox`, no or an unknown key) pass
//! untouched.

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::conn::DropConnection;
use crate::errors::ApiError;
use crate::faults::{self, Fault, Injected};
use crate::journal::{self, Entry, Outcome};
use crate::operation::{API_PREFIX, Operation};
use crate::rate_limit::retry_after_seconds;
use crate::store::{AccountCell, Store};

/// Answers `request` of `account` (the one its key names, if any; see the
/// module docs), handing it to `handle` (the router) unless the rate limit
/// or an injected answer comes first.
pub(crate) async fn traffic<H, F>(
    store: &Store,
    account: Option<Arc<AccountCell>>,
    request: Request,
    handle: H,
) -> Response
where
    H: FnOnce(Request) -> F,
    F: Future<Output = Response>,
{
    let path = request.uri().path();
    let is_api = path
        .strip_prefix(API_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    let Some(cell) = account.filter(|_| is_api) else {
        return handle(request).await;
    };
    let operation = Operation::of(request.method(), path);
    let limited = over_limit(&cell);
    // A refused request is not drawn: the faults the plan gives the n-th
    // request of an operation must not depend on how fast it came.
    let fired = match (&limited, operation) {
        (None, Some(op)) => cell.faults().decide(op),
        _ => Vec::new(),
    };
    for injected in &fired {
        tracing::info!(
            account = cell.label(),
            operation = operation.map(Operation::id),
            rule = injected.rule,
            fault = %injected.text,
            "fault injected"
        );
    }
    let (parts, body) = request.into_parts();
    let (body, captured) = journal::peek_body(body).await;
    let entry = Entry::received(&parts, operation, store.now(), captured, &fired);
    let seq = cell.journal().open(entry);
    let request = Request::from_parts(parts, body);
    if let Some(response) = limited {
        cell.journal()
            .close(seq, response.status(), Outcome::Answered);
        return response;
    }

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
            let error = ApiError::Injected {
                status: *status,
                rule: text.clone(),
            };
            (refusal(error, *retry_after), Outcome::Answered)
        }
        Some(Injected {
            fault: Fault::DropAfterHandling,
            ..
        }) => {
            let mut response = handle(request).await;
            response.extensions_mut().insert(DropConnection);
            (response, Outcome::ConnectionDropped)
        }
        _ => (handle(request).await, Outcome::Answered),
    };
    cell.journal().close(seq, response.status(), outcome);
    response
}

/// The 429 for a request past its key's rate limit (the bucket then keeps
/// its tokens), or `None` when it may go on or there is no limit.
fn over_limit(cell: &AccountCell) -> Option<Response> {
    let mut bucket = cell.rate_limit()?;
    let wait = bucket.take(Instant::now()).err()?;
    let retry_after = retry_after_seconds(wait);
    let error = ApiError::RateLimited {
        per_second: bucket.per_second(),
        retry_after,
    };
    Some(refusal(error, Some(retry_after)))
}

/// An answer given instead of handling the request (an injected status or
/// the rate limit's 429), with `Retry-After` when it has one.
fn refusal(error: ApiError, retry_after: Option<u32>) -> Response {
    let mut response = error.into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
