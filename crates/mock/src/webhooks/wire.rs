//! The control API's JSON for webhook endpoints:
//! `POST /_sandbox/webhooks` `{"url": "http://…"}` (unknown properties
//! ignored) answers `{"id", "url", "signing_key"}`, as each item of the
//! list does.

use rafiki_rules::violations::BODY_PATH;
use rafiki_rules::{Rule, Violations};
use serde::Serialize;
use serde_json::Value;

use super::WebhookUrl;

/// An endpoint as the control API shows it: its key in full, as the
/// provider's portal shows it on demand. No `Debug`: it holds the key.
#[derive(Serialize)]
pub(crate) struct EndpointView {
    pub id: String,
    pub url: String,
    pub signing_key: String,
}

/// Reads `{"url": "http://…"}`; a problem is a violation at `url` (or at
/// `body` for a body that is not an object).
pub(crate) fn read_endpoint(body: &Value) -> Result<WebhookUrl, Violations> {
    let mut violations = Violations::new();
    let Some(object) = body.as_object() else {
        violations.add(BODY_PATH, Rule::WrongType, "must be a JSON object");
        return Err(violations);
    };
    match object.get("url") {
        None | Some(Value::Null) => violations.add("url", Rule::Required, "is required"),
        Some(Value::String(text)) if text.trim().is_empty() => {
            violations.add("url", Rule::Blank, "must not be blank");
        }
        Some(Value::String(text)) => match text.parse::<WebhookUrl>() {
            Ok(url) => return Ok(url),
            Err(problem) => violations.add("url", Rule::WrongType, problem.to_string()),
        },
        Some(_) => violations.add("url", Rule::WrongType, "must be a string (an http:// URL)"),
    }
    Err(violations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoint_bodies() {
        let url = read_endpoint(&json!({"url": "http://127.0.0.1:3000/webhooks", "extra": 1}));
        assert_eq!(url.unwrap().to_string(), "http://127.0.0.1:3000/webhooks");
        for (body, path, rule) in [
            (json!({}), "url", Rule::Required),
            (json!({"url": null}), "url", Rule::Required),
            (json!({"url": " "}), "url", Rule::Blank),
            (json!({"url": 42}), "url", Rule::WrongType),
            (json!({"url": "ftp://example.com"}), "url", Rule::WrongType),
            (json!({"url": "no url"}), "url", Rule::WrongType),
            (json!([]), "body", Rule::WrongType),
        ] {
            let violations = read_endpoint(&body).unwrap_err();
            assert_eq!(violations.path_rules(), [(path.to_owned(), rule)], "{body}");
        }
    }
}
