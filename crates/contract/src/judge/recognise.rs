//! Is the server the Rafiki payouts API at all? Asked once, before
//! anything else, by `run` (with its key) and by the proxy (which has
//! none), of the answer to one request: `GET /wallets`, a list every
//! account has, with no parameter to get wrong. Only what the documented
//! contract promises is taken as evidence (`docs/contract.md`): a list in
//! `{"data": [...]}`, a 401 in the error envelope, or a 429 (any server
//! may limit the rate; it is never a verdict).

use serde_json::Value;

/// The path asked, below the base URL, and its operation.
pub const PATH: &str = "/wallets";
pub const OPERATION: &str = "list_wallets";

/// What an answer to [`PATH`] shows of a server that is the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recognised {
    /// `{"data": [...]}`: the API, serving the request.
    Served,
    /// 401 in the error envelope: the API, refusing the key given (or
    /// asking for one).
    Unauthorized,
    /// 429: a server that limits the rate; it answered, and a client waits
    /// and sends again.
    RateLimited,
}

/// Why an answer to [`PATH`] shows a server that is not the API (or not
/// at the base URL given). `flag` names where the base URL came from
/// (`--base-url`, `--upstream`), for the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotTheApi {
    /// Nothing there, below a base URL without a version: every path of
    /// the API is below `/v1`.
    #[error("GET {PATH} answered HTTP 404 (no such path): is /v1 missing from {flag}?")]
    VersionMissing { flag: &'static str },
    /// Nothing there, below a base URL with a version.
    #[error(
        "GET {PATH} answered HTTP 404 (no such path): is {flag} the API's base URL, /v1 included?"
    )]
    NoSuchPath { flag: &'static str },
    #[error(
        "GET {PATH} answered HTTP {status} without a {{\"data\": [...]}} body or the error envelope"
    )]
    Unrecognised { status: u16 },
}

/// Judges the answer (`status`, the body if it was JSON) to `GET
/// {base_url}/wallets`.
pub fn recognise(
    base_url: &str,
    flag: &'static str,
    status: u16,
    body: Option<&Value>,
) -> Result<Recognised, NotTheApi> {
    let has = |name: &str, is: fn(&Value) -> bool| body.and_then(|b| b.get(name)).is_some_and(is);
    match status {
        200 if has("data", Value::is_array) => Ok(Recognised::Served),
        401 if has("code", Value::is_string) => Ok(Recognised::Unauthorized),
        429 => Ok(Recognised::RateLimited),
        404 if !has_version(base_url) => Err(NotTheApi::VersionMissing { flag }),
        404 => Err(NotTheApi::NoSuchPath { flag }),
        status => Err(NotTheApi::Unrecognised { status }),
    }
}

/// Whether the path of `base_url` ends in a version segment (`/v1`).
fn has_version(base_url: &str) -> bool {
    let path = url::Url::parse(base_url).map_or_else(|_| String::new(), |u| u.path().to_string());
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|last| last.strip_prefix('v'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_documented_answers_show_the_api() {
        let at = |url, status, body: Value| recognise(url, "--upstream", status, Some(&body));
        let v1 = "http://127.0.0.1:9/v1";
        assert_eq!(at(v1, 200, json!({"data": []})), Ok(Recognised::Served));
        assert_eq!(
            at(
                v1,
                401,
                json!({"code": "UNAUTHORIZED", "message": "no key"})
            ),
            Ok(Recognised::Unauthorized)
        );
        assert_eq!(at(v1, 429, json!("slow down")), Ok(Recognised::RateLimited));
        assert_eq!(
            at(v1, 401, json!("<html>login</html>")),
            Err(NotTheApi::Unrecognised { status: 401 })
        );
        assert_eq!(
            at(v1, 200, json!({"wallets": []})),
            Err(NotTheApi::Unrecognised { status: 200 })
        );
        let missing = at("http://127.0.0.1:9", 404, json!({"code": "NOT_FOUND"}));
        assert_eq!(
            missing.unwrap_err().to_string(),
            "GET /wallets answered HTTP 404 (no such path): is /v1 missing from --upstream?"
        );
        assert_eq!(
            at(v1, 404, json!({})),
            Err(NotTheApi::NoSuchPath { flag: "--upstream" })
        );
        assert!(has_version("https://rest.sandbox.rafiki-api.com/v1/"));
        assert!(has_version("http://h/api/v2"));
        assert!(!has_version("http://h/api"));
        assert!(!has_version("http://h/v"));
    }
}
