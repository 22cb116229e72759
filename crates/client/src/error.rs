//! Typed errors: every failed call becomes one [`Error`] variant, chosen by
//! the HTTP status *and* the body's `code` together (never by the body's
//! shape alone), with the server's `errors.fields` kept for 422s.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use rafiki_rules::wire::ErrorCode;

use crate::generated::types;

/// An error answer that carried the API's error body.
#[derive(Debug, Clone)]
pub struct ErrorResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body: `code`, `message` and, for validation errors, `errors.fields`.
    pub body: types::Error,
    /// The `Retry-After` header, when the server sent one.
    pub retry_after: Option<Duration>,
    /// `true` when the client refused the request before sending it (see
    /// [`validate_payout`](crate::validate_payout)): the body is the one a
    /// server would send, and no request was made.
    pub refused_locally: bool,
}

impl ErrorResponse {
    /// The machine-readable code, e.g. `VALIDATION_FAILED`.
    pub fn code(&self) -> &str {
        self.body.code.as_str()
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.body.message
    }

    /// For validation errors: property path (e.g. `amount.value`) to reasons.
    pub fn fields(&self) -> Option<&HashMap<String, Vec<String>>> {
        self.body.errors.as_ref().map(|e| &e.fields)
    }
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.refused_locally {
            write!(f, "refused before sending, as a server would: ")?;
        }
        write!(
            f,
            "HTTP {} {}: {}",
            self.status.as_u16(),
            self.code(),
            self.message()
        )?;
        if let Some(fields) = self.fields() {
            let mut paths: Vec<_> = fields.iter().collect();
            paths.sort();
            for (path, reasons) in paths {
                write!(f, "; {path}: {}", reasons.join(", "))?;
            }
        }
        Ok(())
    }
}

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401 UNAUTHORIZED: the API key is missing or unknown.
    #[error("{0}")]
    Unauthorized(ErrorResponse),
    /// 402 WALLET_INSUFFICIENT_BALANCE: the wallet's `available` is short.
    #[error("{0}")]
    InsufficientBalance(ErrorResponse),
    /// 404 NOT_FOUND.
    #[error("{0}")]
    NotFound(ErrorResponse),
    /// 409 IDEMPOTENCY_RACE: a request with this key is still running. Safe to retry.
    #[error("{0}")]
    IdempotencyRace(ErrorResponse),
    /// 409 IDEMPOTENCY_KEY_ALREADY_USED: the server could not store the
    /// answer to this key (the provider asks you to contact its support),
    /// or, on servers that follow API.md, the key went with another body.
    /// Do not retry.
    #[error("{0}")]
    IdempotencyKeyAlreadyUsed(ErrorResponse),
    /// 422 VALIDATION_FAILED: see [`ErrorResponse::fields`]. Also the
    /// client's own refusal before sending ([`ErrorResponse::refused_locally`]).
    #[error("{0}")]
    Validation(ErrorResponse),
    /// 503 PAYOUT_BANK_TEMPORARILY_UNAVAILABLE or
    /// PAYOUT_MOBILE_MONEY_TEMPORARILY_UNAVAILABLE: the recipient's bank or
    /// operator cannot take payouts for the moment; nothing was created.
    /// Retrying later (with the same key) is safe.
    #[error("{0}")]
    RecipientUnavailable(ErrorResponse),
    /// 429, whatever the code: the server (or a gateway before it) asks
    /// the client to slow down; the request was not handled. The provider
    /// documents no 429, but any HTTP server may send one. Retrying with
    /// the same key after `Retry-After` is safe.
    #[error("{0}")]
    RateLimited(ErrorResponse),
    /// A 5xx answer with the API's error body.
    #[error("{0}")]
    Server(ErrorResponse),
    /// An error body whose status and code the contract does not pair.
    #[error("unexpected error answer: {0}")]
    Other(ErrorResponse),
    /// An answer without the API's error body (e.g. a proxy's 502 page), or
    /// with a status the operation does not document.
    #[error("unexpected HTTP {status} answer: {snippet}")]
    UnexpectedResponse {
        status: StatusCode,
        /// The first few hundred characters of the body.
        snippet: String,
        retry_after: Option<Duration>,
    },
    /// The request never got an answer: connection refused, reset, timed out.
    #[error("could not reach the server")]
    Transport(#[source] reqwest::Error),
    /// The request could not be built (e.g. a value the spec forbids).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A documented answer whose body could not be decoded. progenitor
    /// does not keep its status, so it may be a 5xx with a foreign body:
    /// it counts as transient (retrying under the same key is safe).
    #[error("undecodable response body: {0}")]
    UndecodableBody(String),
    /// An answer that breaks the API's rules (e.g. a repeated cursor).
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// `wait_for_final_state` ran out of time.
    #[error(
        "payout {payout_id} did not reach the awaited state in {waited:?} (last seen: {last_state})"
    )]
    PollDeadline {
        payout_id: String,
        waited: Duration,
        last_state: String,
    },
}

impl Error {
    /// Builds the typed error from an error body and its status.
    pub fn from_body(
        status: StatusCode,
        body: types::Error,
        retry_after: Option<Duration>,
    ) -> Self {
        let response = ErrorResponse {
            status,
            body,
            retry_after,
            refused_locally: false,
        };
        // Which status carries which code is stated once, in rafiki-rules.
        match ErrorCode::paired(status.as_u16(), response.code()) {
            Some(ErrorCode::Unauthorized) => Error::Unauthorized(response),
            Some(ErrorCode::WalletInsufficientBalance) => Error::InsufficientBalance(response),
            Some(ErrorCode::NotFound) => Error::NotFound(response),
            Some(ErrorCode::IdempotencyRace) => Error::IdempotencyRace(response),
            Some(ErrorCode::IdempotencyKeyAlreadyUsed) => {
                Error::IdempotencyKeyAlreadyUsed(response)
            }
            Some(ErrorCode::ValidationFailed) => Error::Validation(response),
            Some(ErrorCode::InternalServerError) => Error::Server(response),
            Some(
                ErrorCode::PayoutBankTemporarilyUnavailable
                | ErrorCode::PayoutMobileMoneyTemporarilyUnavailable,
            ) => Error::RecipientUnavailable(response),
            None if status == StatusCode::TOO_MANY_REQUESTS => Error::RateLimited(response),
            None if status.is_server_error() => Error::Server(response),
            None => Error::Other(response),
        }
    }

    /// Converts progenitor's error, reading the body of unexpected answers.
    pub(crate) async fn from_generated(error: progenitor_client::Error<types::Error>) -> Self {
        use progenitor_client::Error as E;
        match error {
            E::ErrorResponse(response) => {
                let status = response.status();
                let retry_after = retry_after(response.headers());
                Error::from_body(status, response.into_inner(), retry_after)
            }
            E::UnexpectedResponse(response) => {
                let status = response.status();
                let retry_after = retry_after(response.headers());
                let text = response.text().await.unwrap_or_default();
                // An undocumented status may still carry the error body.
                match serde_json::from_str::<types::Error>(&text) {
                    Ok(body) => Error::from_body(status, body, retry_after),
                    Err(_) => Error::UnexpectedResponse {
                        status,
                        snippet: snippet(&text),
                        retry_after,
                    },
                }
            }
            E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
                Error::Transport(e)
            }
            E::InvalidRequest(message) | E::Custom(message) => Error::InvalidRequest(message),
            E::InvalidResponsePayload(bytes, e) => Error::UndecodableBody(format!(
                "{e}: {}",
                snippet(&String::from_utf8_lossy(&bytes))
            )),
        }
    }

    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::UnexpectedResponse { status, .. } => Some(*status),
            other => other.response().map(|r| r.status),
        }
    }

    /// The error body, when the answer had one.
    pub fn response(&self) -> Option<&ErrorResponse> {
        match self {
            Error::Unauthorized(r)
            | Error::InsufficientBalance(r)
            | Error::NotFound(r)
            | Error::IdempotencyRace(r)
            | Error::IdempotencyKeyAlreadyUsed(r)
            | Error::Validation(r)
            | Error::RecipientUnavailable(r)
            | Error::RateLimited(r)
            | Error::Server(r)
            | Error::Other(r) => Some(r),
            _ => None,
        }
    }

    /// For 422s: property path to reasons.
    pub fn fields(&self) -> Option<&HashMap<String, Vec<String>>> {
        self.response().and_then(ErrorResponse::fields)
    }

    /// The server's `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::UnexpectedResponse { retry_after, .. } => *retry_after,
            other => other.response().and_then(|r| r.retry_after),
        }
    }

    /// Whether sending the *same* request again (same idempotency key) may
    /// succeed: transport failures, 5xx answers (also those whose body could
    /// not be decoded), 429 and IDEMPOTENCY_RACE. Everything else would
    /// fail the same way again.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_)
            | Error::Server(_)
            | Error::RecipientUnavailable(_)
            | Error::RateLimited(_)
            | Error::IdempotencyRace(_)
            | Error::UndecodableBody(_) => true,
            Error::UnexpectedResponse { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }
}

/// Parses `Retry-After` as delta-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn snippet(text: &str) -> String {
    const LIMIT: usize = 300;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn body(code: &str) -> types::Error {
        serde_json::from_value(serde_json::json!({"code": code, "message": "m"})).unwrap()
    }

    #[test]
    fn variant_is_chosen_by_status_and_code_together() {
        let cases = [
            (401, "UNAUTHORIZED", "Unauthorized"),
            (402, "WALLET_INSUFFICIENT_BALANCE", "InsufficientBalance"),
            (404, "NOT_FOUND", "NotFound"),
            (409, "IDEMPOTENCY_RACE", "IdempotencyRace"),
            (
                409,
                "IDEMPOTENCY_KEY_ALREADY_USED",
                "IdempotencyKeyAlreadyUsed",
            ),
            (422, "VALIDATION_FAILED", "Validation"),
            (500, "INTERNAL_SERVER_ERROR", "Server"),
            (503, "ANYTHING", "Server"),
            (429, "RATE_LIMITED", "RateLimited"),
            (429, "TOO_MANY_REQUESTS", "RateLimited"),
            (
                503,
                "PAYOUT_BANK_TEMPORARILY_UNAVAILABLE",
                "RecipientUnavailable",
            ),
            (
                503,
                "PAYOUT_MOBILE_MONEY_TEMPORARILY_UNAVAILABLE",
                "RecipientUnavailable",
            ),
            // The same code under another status is not guessed into a variant.
            (400, "VALIDATION_FAILED", "Other"),
            (409, "NOT_FOUND", "Other"),
        ];
        for (status, code, expected) in cases {
            let error = Error::from_body(StatusCode::from_u16(status).unwrap(), body(code), None);
            let name = format!("{error:?}");
            assert!(name.starts_with(expected), "{status} {code} gave {name}");
        }
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        let make =
            |s: u16, c: &str| Error::from_body(StatusCode::from_u16(s).unwrap(), body(c), None);
        assert!(make(500, "INTERNAL_SERVER_ERROR").is_retryable());
        assert!(make(409, "IDEMPOTENCY_RACE").is_retryable());
        assert!(make(503, "PAYOUT_BANK_TEMPORARILY_UNAVAILABLE").is_retryable());
        assert!(make(429, "RATE_LIMITED").is_retryable());
        assert!(make(502, "BAD_GATEWAY").is_retryable());
        assert!(!make(409, "IDEMPOTENCY_KEY_ALREADY_USED").is_retryable());
        assert!(!make(422, "VALIDATION_FAILED").is_retryable());
        assert!(!make(402, "WALLET_INSUFFICIENT_BALANCE").is_retryable());
        let gateway = Error::UnexpectedResponse {
            status: StatusCode::BAD_GATEWAY,
            snippet: "<html>".into(),
            retry_after: None,
        };
        assert!(gateway.is_retryable());
        let throttled = Error::UnexpectedResponse {
            status: StatusCode::TOO_MANY_REQUESTS,
            snippet: "slow down".into(),
            retry_after: None,
        };
        assert!(throttled.is_retryable());
        let teapot = Error::UnexpectedResponse {
            status: StatusCode::IM_A_TEAPOT,
            snippet: "".into(),
            retry_after: None,
        };
        assert!(!teapot.is_retryable());
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a past date means now"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
