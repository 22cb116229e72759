//! One error type for every failure, rendered as the API's envelope
//! `{code, message, errors?: {fields}}` with its status.
//!
//! Codes beyond the API's list are used only where the API documents no
//! code: 400 BAD_REQUEST (a body not sent as JSON; the status is
//! documented, the code is not), 405 METHOD_NOT_ALLOWED, 413
//! PAYLOAD_TOO_LARGE, 409 ILLEGAL_TRANSITION and 422
//! WEBHOOK_ENDPOINT_LIMIT_REACHED on the control API, and the
//! codes of injected faults' statuses ([`crate::faults::FaultStatus`]),
//! whose 429 the rate limit answers too.

use std::num::NonZeroU32;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rafiki_rules::lifecycle::StateCode;
use rafiki_rules::violations::BODY_PATH;
use rafiki_rules::wire::{AccountType, ErrorCode, ErrorDetails};
use rafiki_rules::{Rule, Violation, Violations};
use serde::Serialize;

use crate::faults::FaultStatus;

/// Everything a request can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("missing or unknown API key")]
    Unauthorized,
    #[error("Authorization header without the Bearer scheme")]
    NotBearer,
    #[error("request body not sent as application/json")]
    NotJson,
    #[error("not found")]
    NotFound,
    /// No route has this path: a typo, a missing `/v1`, or the control API
    /// switched off. The same 404 and code as an unknown id, with a message
    /// that says which.
    #[error("no operation at {method} {path}")]
    NoSuchPath {
        method: String,
        path: String,
        control_api: bool,
    },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body over {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    Validation(Violations),
    #[error("wallet {wallet_id} does not have enough balance")]
    InsufficientBalance { wallet_id: String },
    #[error("idempotency key already used with another body")]
    IdempotencyKeyAlreadyUsed,
    #[error("a request with this idempotency key is still being processed")]
    IdempotencyRace,
    #[error("a {from} payout cannot become {to}")]
    IllegalTransition { from: StateCode, to: StateCode },
    #[error("internal error: {0}")]
    Internal(String),
    /// The recipient's bank or operator cannot take payouts for the moment.
    #[error("the recipient's {0:?} provider is temporarily unavailable")]
    RecipientUnavailable(AccountType),
    /// A fault rule fired: this answer instead of handling the request.
    #[error("injected {}: fault rule {rule}", status.status())]
    Injected {
        status: FaultStatus,
        /// The rule, in the flag grammar.
        rule: String,
    },
    /// An account already has its most webhook endpoints (control API).
    #[error("an account has at most {max} webhook endpoints")]
    WebhookEndpointLimit { max: usize },
    /// The key is past its rate limit: not handled.
    #[error("over the rate limit of {per_second} requests per second")]
    RateLimited {
        per_second: NonZeroU32,
        /// Whole seconds until the key is served again (`Retry-After`).
        retry_after: u32,
    },
}

/// The message of a 404 for a path no route has, with the likely reason.
fn no_such_path(method: &str, path: &str, control_api: bool) -> String {
    let hint = if path.starts_with("/_sandbox") && !control_api {
        "the control API is off (--no-control-api)"
    } else if path.starts_with("/_sandbox") || path.starts_with("/v1") {
        "see spec/openapi.yaml and spec/sandbox.yaml for the paths served"
    } else {
        "the API's paths start with /v1 (e.g. /v1/payouts)"
    };
    format!("No operation at {method} {path}: {hint}.")
}

/// Where an error's status and code come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// One of the API's codes, with the status the rules pair it with.
    Api(ErrorCode),
    /// An answer of the mock's own, where the API documents none.
    Own(StatusCode, &'static str),
}

impl Kind {
    /// The HTTP status; for the API's codes, the one `rafiki-rules` pairs
    /// with the code.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Kind::Api(code) => StatusCode::from_u16(code.http_status())
                .expect("the rules pair codes with valid statuses"),
            Kind::Own(status, _) => status,
        }
    }

    /// The `code` of the body.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Kind::Api(code) => code.as_str(),
            Kind::Own(_, code) => code,
        }
    }
}

/// The wire body of every error.
#[derive(Debug, Serialize)]
struct Envelope {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<ErrorDetails>,
}

impl ApiError {
    /// A 422 with one violation.
    pub fn invalid(path: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        ApiError::Validation(Violation::new(path, rule, message).into())
    }

    /// A 422 about the request body as a whole (field `body`).
    pub fn bad_body(message: impl Into<String>) -> Self {
        Self::invalid(BODY_PATH, Rule::WrongType, message)
    }

    /// The API's error code, or for the mock's own answers (where the API
    /// documents none) their status and code.
    fn kind(&self) -> Kind {
        match self {
            ApiError::Unauthorized | ApiError::NotBearer => Kind::Api(ErrorCode::Unauthorized),
            ApiError::NotFound | ApiError::NoSuchPath { .. } => Kind::Api(ErrorCode::NotFound),
            ApiError::Validation(_) => Kind::Api(ErrorCode::ValidationFailed),
            ApiError::InsufficientBalance { .. } => Kind::Api(ErrorCode::WalletInsufficientBalance),
            ApiError::IdempotencyKeyAlreadyUsed => Kind::Api(ErrorCode::IdempotencyKeyAlreadyUsed),
            ApiError::IdempotencyRace => Kind::Api(ErrorCode::IdempotencyRace),
            ApiError::Internal(_) => Kind::Api(ErrorCode::InternalServerError),
            ApiError::RecipientUnavailable(AccountType::BankAccount) => {
                Kind::Api(ErrorCode::PayoutBankTemporarilyUnavailable)
            }
            ApiError::RecipientUnavailable(AccountType::MobileMoney) => {
                Kind::Api(ErrorCode::PayoutMobileMoneyTemporarilyUnavailable)
            }
            // The provider documents the 400 but not its code.
            ApiError::NotJson => Kind::Own(StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            ApiError::MethodNotAllowed => {
                Kind::Own(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED")
            }
            ApiError::PayloadTooLarge { .. } => {
                Kind::Own(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
            }
            ApiError::IllegalTransition { .. } => {
                Kind::Own(StatusCode::CONFLICT, "ILLEGAL_TRANSITION")
            }
            ApiError::WebhookEndpointLimit { .. } => Kind::Own(
                StatusCode::UNPROCESSABLE_ENTITY,
                "WEBHOOK_ENDPOINT_LIMIT_REACHED",
            ),
            ApiError::Injected { status, .. } => status.kind(),
            // The same 429 as an injected one: one status, one code.
            ApiError::RateLimited { .. } => FaultStatus::TooManyRequests.kind(),
        }
    }

    /// The HTTP status; for the API's codes, the one `rafiki-rules` pairs
    /// with the code.
    pub fn status(&self) -> StatusCode {
        self.kind().status()
    }

    /// The `code` of the body.
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }

    fn envelope(&self) -> Envelope {
        let message = match self {
            ApiError::Unauthorized => "Missing or unknown API key.".to_owned(),
            // The key itself is never echoed.
            ApiError::NotBearer => {
                "The Authorization header must be `Bearer <key>`: the key alone is not accepted."
                    .to_owned()
            }
            ApiError::NotFound => "The resource you are looking for cannot be found.".to_owned(),
            ApiError::NoSuchPath {
                method,
                path,
                control_api,
            } => no_such_path(method, path, *control_api),
            ApiError::MethodNotAllowed => "This method is not allowed on this resource.".to_owned(),
            ApiError::NotJson => {
                "The request body must be sent with `Content-Type: application/json`.".to_owned()
            }
            ApiError::PayloadTooLarge { limit } => {
                format!("The request body is larger than {limit} bytes.")
            }
            ApiError::Validation(violations) => {
                let body = violations.to_error_body();
                return Envelope {
                    code: self.code(),
                    message: body.message,
                    errors: body.errors,
                };
            }
            ApiError::InsufficientBalance { wallet_id } => {
                format!("Wallet '{wallet_id}' does not have enough balance.")
            }
            ApiError::IdempotencyKeyAlreadyUsed => {
                "This idempotency key was already used with another request body.".to_owned()
            }
            ApiError::IdempotencyRace => {
                "A request with this idempotency key is still being processed; retry later."
                    .to_owned()
            }
            ApiError::IllegalTransition { from, to } => {
                format!("A {from} payout cannot become {to}.")
            }
            ApiError::WebhookEndpointLimit { max } => format!(
                "An account has at most {max} webhook endpoints: delete one (DELETE /_sandbox/webhooks/{{id}}) before adding another."
            ),
            ApiError::RecipientUnavailable(AccountType::BankAccount) => {
                "The recipient's bank cannot take payouts at the moment; retry later.".to_owned()
            }
            ApiError::RecipientUnavailable(AccountType::MobileMoney) => {
                "The recipient's mobile-money operator cannot take payouts at the moment; retry later."
                    .to_owned()
            }
            // Details go to the log, never to the client.
            ApiError::Internal(_) => "An internal error has occurred.".to_owned(),
            ApiError::Injected { rule, .. } => {
                format!("Injected by rafiki-mock (fault rule {rule}): the request was not handled.")
            }
            ApiError::RateLimited {
                per_second,
                retry_after,
            } => format!(
                "Too many requests: at most {per_second} per second for this API key; retry after {retry_after} s."
            ),
        };
        Envelope {
            code: self.code(),
            message,
            errors: None,
        }
    }

    /// The serialised body.
    pub fn body_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.envelope()).unwrap_or_else(|_| {
            br#"{"code":"INTERNAL_SERVER_ERROR","message":"An internal error has occurred."}"#
                .to_vec()
        })
    }
}

impl From<Violations> for ApiError {
    fn from(violations: Violations) -> Self {
        ApiError::Validation(violations)
    }
}

impl From<Violation> for ApiError {
    fn from(violation: Violation) -> Self {
        ApiError::Validation(violation.into())
    }
}

/// A JSON response from already serialised bytes.
pub fn json_bytes(status: StatusCode, body: impl IntoResponse) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON response of `value`.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_bytes(status, body),
        Err(e) => ApiError::Internal(format!("serialising a response: {e}")).into_response(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        json_bytes(self.status(), self.body_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(e: &ApiError) -> serde_json::Value {
        serde_json::from_slice(&e.body_bytes()).unwrap()
    }

    #[test]
    fn envelopes() {
        let e = ApiError::invalid("paging_limit", Rule::PagingLimit, "bad");
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body(&e),
            serde_json::json!({"code": "VALIDATION_FAILED", "message": "Validation failed.", "errors": {"fields": {"paging_limit": ["bad"]}}})
        );
        let e = ApiError::Internal("secret detail".into());
        assert!(
            !String::from_utf8(e.body_bytes())
                .unwrap()
                .contains("secret")
        );
        assert_eq!(body(&ApiError::Unauthorized)["code"], "UNAUTHORIZED");
        assert_eq!(ApiError::IdempotencyRace.status(), StatusCode::CONFLICT);
        assert_eq!(
            body(&ApiError::bad_body("x"))["errors"]["fields"]["body"][0],
            "x"
        );
    }
}
