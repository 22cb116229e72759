//! Request extractors whose every rejection is an [`ApiError`], so no
//! plain-text axum rejection ever reaches a client.
//!
//! - [`Authed`]: `Authorization: Bearer <key>` resolved to its account (401
//!   otherwise, saying so when the header lacks the `Bearer` scheme).
//! - [`JsonBody`]: an `application/json` body parsed into a
//!   `serde_json::Value`; a missing or other content type is a 400 before
//!   anything else; unreadable bytes, bad UTF-8 or malformed JSON are a 422
//!   at field `body`, a body over the limit is 413. Unknown properties are left for the validators, which ignore them.
//! - [`Params`]: the query string as pairs (a parameter given twice is a
//!   422 at its name).
//! - [`PathId`]: the `{id}` path segment; undecodable is 404.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use rafiki_rules::{Rule, Violation};
use serde_json::Value;

use crate::errors::ApiError;
use crate::server::AppState;
use crate::store::{AccountCell, Store};

/// The caller's account.
pub struct Authed(pub Arc<AccountCell>);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Credentials::OtherScheme = credentials(&parts.headers) {
            // Said plainly: the provider's own examples send the bare key.
            return Err(ApiError::NotBearer);
        }
        // The traffic layer has already put the account on the log span.
        let cell = account_of(&parts.headers, &state.store).ok_or(ApiError::Unauthorized)?;
        Ok(Authed(cell.clone()))
    }
}

/// The account of a request's `Authorization: Bearer <key>`, when the key
/// is known (for the layers that act per account before any handler).
pub(crate) fn account_of<'s>(
    headers: &HeaderMap,
    store: &'s Store,
) -> Option<&'s Arc<AccountCell>> {
    match credentials(headers) {
        Credentials::Bearer(key) => store.account(key),
        Credentials::OtherScheme | Credentials::Missing => None,
    }
}

/// What the `Authorization` header holds.
enum Credentials<'h> {
    /// `Bearer <key>` (scheme case-insensitive).
    Bearer(&'h str),
    /// A header without the Bearer scheme, e.g. the bare key.
    OtherScheme,
    /// No header, or an empty key.
    Missing,
}

fn credentials(headers: &HeaderMap) -> Credentials<'_> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Credentials::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Credentials::OtherScheme;
    };
    match value.trim().split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => match key.trim() {
            "" => Credentials::Missing,
            key => Credentials::Bearer(key),
        },
        _ if value.trim().eq_ignore_ascii_case("bearer") || value.trim().is_empty() => {
            Credentials::Missing
        }
        _ => Credentials::OtherScheme,
    }
}

/// A parsed JSON request body.
pub struct JsonBody(pub Value);

/// A route's own body limit, set beside axum's `DefaultBodyLimit` where it
/// is not `--body-limit` (the snapshot import): the figure its 413 names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteBodyLimit(pub usize);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let json_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json_type);
        // Refused at once, before the body is read or validated (400, as
        // the provider's transport page documents).
        if !json_type {
            return Err(ApiError::NotJson);
        }
        let limit = request
            .extensions()
            .get::<RouteBodyLimit>()
            .map_or(state.body_limit, |own| own.0);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge { limit }
                } else {
                    ApiError::bad_body(format!("could not be read: {rejection}"))
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid(
                rafiki_rules::violations::BODY_PATH,
                Rule::Required,
                "a JSON body is required",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_body(format!("is not valid JSON: {e}")))
    }
}

/// `application/json` or `application/<anything>+json`, any parameters.
fn is_json_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Query parameters.
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::invalid("query", Rule::WrongType, format!("could not be read: {e}"))
            })?;
        Ok(Params(pairs))
    }
}

impl Params {
    /// The value of `name`; a parameter given twice is a violation.
    pub fn one(&self, name: &str) -> Result<Option<&str>, Violation> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(Violation::new(
                name,
                Rule::WrongType,
                "must be given at most once",
            ));
        }
        Ok(first)
    }
}

/// The `{id}` segment of the path.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        Ok(PathId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn content_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/problem+json",
        ] {
            assert!(is_json_type(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/jsonx",
            "",
            "multipart/form-data",
            "json",
        ] {
            assert!(!is_json_type(bad), "{bad}");
        }
    }

    #[test]
    fn credentials_tell_a_bearer_key_from_another_scheme() {
        let read = |value: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            }
            match credentials(&headers) {
                Credentials::Bearer(key) => format!("bearer {key}"),
                Credentials::OtherScheme => "other".to_string(),
                Credentials::Missing => "missing".to_string(),
            }
        };
        assert_eq!(read(Some("Bearer sk_1")), "bearer sk_1");
        assert_eq!(read(Some("bearer sk_1")), "bearer sk_1");
        assert_eq!(read(Some("Basic sk_1")), "other");
        assert_eq!(read(Some("sk_1")), "other");
        assert_eq!(read(Some("Bearer ")), "missing");
        assert_eq!(read(Some("Bearer")), "missing");
        assert_eq!(read(None), "missing");
    }
}
