//! Checks applied to every answer of every other check: documented
//! status, schema-valid body, JSON content type, a consistent error body.

use std::collections::HashMap;

use rafiki_spec::Spec;

use super::{CONTENT_TYPE_JSON, ERROR_ENVELOPE, RESPONSE_SCHEMA, STATUS_DOCUMENTED};
use crate::http::Exchange;
use crate::report::Recorder;

/// The spec, compiled once: documented statuses and a validator per
/// (operation, status).
pub struct Conformance {
    statuses: HashMap<&'static str, Vec<u16>>,
    validators: HashMap<(&'static str, u16), jsonschema::Validator>,
}

/// The operations of the spec, by operationId.
pub const OPERATIONS: &[&str] = &[
    "list_banks",
    "list_wallets",
    "list_payment_accounts",
    "get_or_create_payment_account",
    "list_payouts",
    "get_payout",
    "create_payout",
];

impl Conformance {
    pub fn new(spec: &Spec) -> Result<Self, rafiki_spec::SpecError> {
        let mut statuses = HashMap::new();
        let mut validators = HashMap::new();
        for &operation in OPERATIONS {
            let documented = spec.documented_statuses(operation);
            for &status in &documented {
                if let Some(pointer) = spec.response_schema(operation, status) {
                    validators.insert((operation, status), spec.validator_at(&pointer)?);
                }
            }
            statuses.insert(operation, documented);
        }
        Ok(Conformance { statuses, validators })
    }

    /// Judges one answer against the four conformance checks.
    pub fn observe(&self, exchange: &Exchange, recorder: &Recorder) {
        let (Some(operation), Ok(answer)) = (exchange.probe.operation, &exchange.answer) else { return };
        let status = answer.status;
        let documented = self.statuses.get(operation).is_some_and(|s| s.contains(&status));
        recorder.expect(
            &STATUS_DOCUMENTED,
            documented,
            || format!("a status documented for {operation} ({:?})", self.statuses.get(operation)),
            exchange,
        );
        let json_type = answer.content_type.as_deref().is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t.starts_with("application/json") || (t.starts_with("application/") && t.contains("+json"))
        });
        recorder.expect(
            &CONTENT_TYPE_JSON,
            json_type,
            || format!("Content-Type application/json, got {:?}", answer.content_type),
            exchange,
        );
        if let Some(validator) = self.validators.get(&(operation, status)) {
            match &answer.json {
                Some(body) => {
                    let problems: Vec<String> =
                        validator.iter_errors(body).take(3).map(|e| format!("{} at {}", e, e.instance_path())).collect();
                    recorder.expect(
                        &RESPONSE_SCHEMA,
                        problems.is_empty(),
                        || format!("a body valid for {operation} {status}: {}", problems.join("; ")),
                        exchange,
                    );
                }
                None => recorder.fail(&RESPONSE_SCHEMA, format!("a JSON body for {operation} {status}"), Some(exchange), None),
            }
        }
        if status >= 400 {
            let problem = envelope_problem(status, answer.json.as_ref());
            recorder.expect(&ERROR_ENVELOPE, problem.is_none(), || problem.unwrap_or_default(), exchange);
        }
    }
}

/// What is wrong with an error answer's body, if anything.
pub fn envelope_problem(status: u16, body: Option<&serde_json::Value>) -> Option<String> {
    let Some(body) = body else { return Some("a JSON error body {code, message}".into()) };
    let code = body.get("code").and_then(|c| c.as_str());
    let message = body.get("message").and_then(|m| m.as_str());
    let (Some(code), Some(_)) = (code, message) else {
        return Some("an error body with string `code` and `message`".into());
    };
    let allowed: &[&str] = match status {
        401 => &["UNAUTHORIZED"],
        402 => &["WALLET_INSUFFICIENT_BALANCE"],
        404 => &["NOT_FOUND"],
        409 => &["IDEMPOTENCY_RACE", "IDEMPOTENCY_KEY_ALREADY_USED"],
        422 => &["VALIDATION_FAILED"],
        500 => &["INTERNAL_SERVER_ERROR"],
        _ => return None,
    };
    (!allowed.contains(&code)).then(|| format!("code {} for HTTP {status}, got {code}", allowed.join(" or ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_codes_must_fit_their_status() {
        assert_eq!(envelope_problem(404, Some(&json!({"code": "NOT_FOUND", "message": "m"}))), None);
        assert!(envelope_problem(404, Some(&json!({"code": "VALIDATION_FAILED", "message": "m"}))).is_some());
        assert!(envelope_problem(422, Some(&json!({"message": "m"}))).is_some());
        assert!(envelope_problem(409, None).is_some());
        assert_eq!(envelope_problem(413, Some(&json!({"code": "PAYLOAD_TOO_LARGE", "message": "m"}))), None);
    }
}
