//! Checks applied to every answer of every other check: documented
//! status, schema-valid body, a body the shipped client can read, JSON
//! content type, a consistent error body.

use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use std::collections::{HashMap, HashSet};

use rafiki_rules::wire::ErrorCode;
use rafiki_spec::Spec;

use super::client_decodes::{self, Decoders};
use crate::catalogue::{
    CLIENT_DECODES, CONTENT_TYPE_JSON, ERROR_ENVELOPE, RESPONSE_SCHEMA, STATUS_DOCUMENTED,
};
use crate::coverage::{Coverage, Tally};
use crate::http::Exchange;
use crate::report::{Recorder, Verdict};

/// The spec, compiled once: documented statuses, and per (operation,
/// status) a validator of the documented shape and one of our stricter spec.
pub struct Conformance {
    /// Documented statuses by operationId.
    statuses: HashMap<String, Vec<u16>>,
    /// The documented (operation, status) pairs answered so far.
    tally: Tally,
    /// By operationId, then status (looked up without allocating). Pairs
    /// that share a schema (`#/components/responses/Unauthorized`, ...)
    /// share one compiled pair.
    validators: HashMap<String, HashMap<u16, Arc<Validators>>>,
    /// Bodies already found valid and readable, with the operation and
    /// status they answered: the same bytes again pass both checks without
    /// being validated and decoded again. (Polling a payout gets the same
    /// body many times; about half of a run's answers repeat one.)
    passed: Mutex<HashSet<(&'static str, u16, Bytes)>>,
}

/// The most bodies [`Conformance`] remembers as passed, and the longest.
const REMEMBERED_BODIES: usize = 4096;
const REMEMBERED_BODY_BYTES: usize = 4096;

/// The two readings of one answer's schema.
struct Validators {
    /// Our stricter spec: breaking only it warns.
    strict: jsonschema::Validator,
    /// The provider's documented shape: breaking it fails. Compiled the
    /// first time it is needed (a body our spec refuses), which against a
    /// server that keeps to our spec is never.
    documented: OnceLock<Result<jsonschema::Validator, String>>,
    /// Where the schema is, in both readings.
    pointer: String,
    reading: Arc<DocumentedReading>,
}

/// The documented reading of the spec (`Spec::documented`), made when the
/// first validator of it is.
struct DocumentedReading {
    ours: Spec,
    documented: OnceLock<Spec>,
}

impl Conformance {
    /// Keeps `spec`, to make its documented reading from when that is
    /// first needed.
    pub fn new(spec: Spec) -> Result<Self, rafiki_spec::SpecError> {
        let reading = Arc::new(DocumentedReading {
            ours: spec,
            documented: OnceLock::new(),
        });
        let spec = &reading.ours;
        let strict_compiler = spec.compiler()?;
        let mut statuses = HashMap::new();
        let mut validators = HashMap::new();
        // Compiled once per schema pointer, however many pairs name it.
        let mut compiled: HashMap<String, Arc<Validators>> = HashMap::new();
        let mut pairs = Vec::new();
        for (_, _, operation) in spec.operations() {
            let Some(operation) = operation.operation_id.clone() else {
                continue;
            };
            let documented = spec.documented_statuses(&operation);
            for &status in &documented {
                if let Some(pointer) = spec.response_schema(&operation, status) {
                    let pointer = schema_behind(spec, pointer);
                    let pair = match compiled.get(&pointer) {
                        Some(pair) => pair.clone(),
                        None => {
                            let pair = Arc::new(Validators {
                                strict: strict_compiler.validator_at(&pointer)?,
                                documented: OnceLock::new(),
                                pointer: pointer.clone(),
                                reading: reading.clone(),
                            });
                            compiled.insert(pointer, pair.clone());
                            pair
                        }
                    };
                    validators
                        .entry(operation.clone())
                        .or_insert_with(HashMap::new)
                        .insert(status, pair);
                }
            }
            pairs.extend(documented.iter().map(|&status| (operation.clone(), status)));
            statuses.insert(operation, documented);
        }
        Ok(Conformance {
            statuses,
            tally: Tally::new(pairs),
            validators,
            passed: Mutex::default(),
        })
    }

    /// The bodies remembered as passed (a panic elsewhere while it was
    /// held leaves it usable).
    fn passed(&self) -> std::sync::MutexGuard<'_, HashSet<(&'static str, u16, Bytes)>> {
        self.passed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Which documented (operation, status) pairs the answers so far covered.
    pub fn coverage(&self) -> Coverage {
        self.tally.coverage()
    }

    /// Judges one answer against the four conformance checks.
    pub fn observe(&self, exchange: &Exchange, recorder: &Recorder) {
        let (Some(operation), Ok(answer)) = (exchange.probe.operation, &exchange.answer) else {
            return;
        };
        let status = answer.status;
        // A rate limit is the server's pace, never a verdict
        // (`docs/contract.md#errors`); the client waits and sends again.
        if status == 429 {
            return;
        }
        self.tally.saw(operation, status);
        let documented = self
            .statuses
            .get(operation)
            .is_some_and(|s| s.contains(&status));
        // A body sent as another type than JSON is a request the pages say
        // nothing of (only a missing type is refused, with 400): HTTP's
        // 415 for it only warns.
        let other_type = exchange
            .probe
            .body_type
            .is_some_and(|t| !t.starts_with("application/json"));
        if status == 415 && other_type {
            let expected = format!(
                "a status documented for {operation}; 415 answers a body sent as {}, a type the pages say nothing of",
                exchange.probe.body_type.unwrap_or_default()
            );
            recorder.warn(&STATUS_DOCUMENTED, expected, Some(exchange), None);
        } else {
            recorder.expect(
                &STATUS_DOCUMENTED,
                documented,
                || {
                    let listed = self.statuses.get(operation).map(|statuses| {
                        let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
                        statuses.join(", ")
                    });
                    match listed {
                        Some(listed) => {
                            format!("a status documented for {operation} ({listed}), got {status}")
                        }
                        None => {
                            format!("an operation the spec documents, got {operation} {status}")
                        }
                    }
                },
                exchange,
            );
        }
        let json_type = answer.content_type.as_deref().is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t.starts_with("application/json")
                || (t.starts_with("application/") && t.contains("+json"))
        });
        recorder.expect(
            &CONTENT_TYPE_JSON,
            json_type,
            || match &answer.content_type {
                Some(content_type) => {
                    format!("Content-Type application/json, got {content_type}")
                }
                None => "Content-Type application/json, got none".to_string(),
            },
            exchange,
        );
        if let Some(validators) = self.validators.get(operation).and_then(|v| v.get(&status)) {
            let decoders = client_decodes::for_operation(operation);
            let seen = (operation, status, answer.body.clone());
            let rememberable = seen.2.len() <= REMEMBERED_BODY_BYTES;
            if rememberable && self.passed().contains(&seen) {
                recorder.pass(&RESPONSE_SCHEMA);
                if decoders.is_some() {
                    recorder.pass(&CLIENT_DECODES);
                }
            } else {
                let schema = match &answer.json {
                    Some(body) => validators.judge(body, format_args!("{operation} {status}")),
                    None => Verdict::Fail(format!("a JSON body for {operation} {status}")),
                };
                let decoding = match (&answer.json, decoders) {
                    (Some(body), Some(decoders)) => {
                        Some(validators.judge_decoding(decoders, status, body, operation))
                    }
                    _ => None,
                };
                if rememberable
                    && schema == Verdict::Pass
                    && decoding.as_ref().is_none_or(|v| *v == Verdict::Pass)
                {
                    let mut passed = self.passed();
                    if passed.len() == REMEMBERED_BODIES {
                        passed.clear();
                    }
                    passed.insert(seen);
                }
                recorder.verdict(&RESPONSE_SCHEMA, schema, exchange, None);
                if let Some(verdict) = decoding {
                    recorder.verdict(&CLIENT_DECODES, verdict, exchange, None);
                }
            }
        }
        if status >= 400 {
            let problem = envelope_problem(status, answer.json.as_deref());
            recorder.expect(
                &ERROR_ENVELOPE,
                problem.is_none(),
                || problem.unwrap_or_default(),
                exchange,
            );
        }
    }
}

/// The schema at `pointer`, or the one it names when it is only a `$ref`
/// (which validates as its target does), so that answers of one schema
/// (`Error` answers eight of them) share one compiled validator.
fn schema_behind(spec: &Spec, mut pointer: String) -> String {
    for _ in 0..8 {
        let target = spec
            .json()
            .pointer(&pointer)
            .and_then(serde_json::Value::as_object)
            .filter(|schema| schema.len() == 1)
            .and_then(|schema| schema.get("$ref")?.as_str()?.strip_prefix('#'));
        match target {
            Some(target) => pointer = target.to_string(),
            None => break,
        }
    }
    pointer
}

impl Validators {
    /// The documented reading's validator, compiled now if this is the
    /// first time; `Err` says why it does not compile (only a spec given
    /// with `--spec` can have a documented pattern that does not).
    fn documented(&self) -> Result<&jsonschema::Validator, &str> {
        self.documented
            .get_or_init(|| {
                let reading = &self.reading;
                reading
                    .documented
                    .get_or_init(|| reading.ours.documented())
                    .validator_at(&self.pointer)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Fails a body the documented shape refuses, warns one only our spec
    /// refuses; `what` names the answer (`get_payout 200`) in the verdict.
    fn judge(&self, body: &serde_json::Value, what: std::fmt::Arguments<'_>) -> Verdict {
        // Nearly every body is valid: `is_valid` says so without building
        // errors, which are collected only for a body that is not.
        let problems = |validator: &jsonschema::Validator| -> String {
            let problems: Vec<String> = validator
                .iter_errors(body)
                .take(3)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            problems.join("; ")
        };
        // Our spec only narrows the documented one (patterns, and nothing
        // that could turn a narrower value into a broader verdict, such as
        // `oneOf`: `rafiki_spec`'s tests hold it to that), so a body valid
        // under ours is valid as documented, and one validation is enough.
        if self.strict.is_valid(body) {
            return Verdict::Pass;
        }
        let ours = || problems(&self.strict);
        match self.documented() {
            Ok(documented) if !documented.is_valid(body) => {
                Verdict::Fail(format!("a body valid for {what}: {}", problems(documented)))
            }
            Ok(_) => Verdict::Warn(format!(
                "a body valid for {what} under our spec: {}",
                ours()
            )),
            Err(why) => Verdict::Warn(format!(
                "a body valid for {what} under our spec: {} (the documented reading cannot judge it: {why})",
                ours()
            )),
        }
    }

    /// Whether the shipped client reads `body`: a body it cannot read fails
    /// when the documented shape refuses it too, else only warns (then the
    /// client is the one at fault).
    fn judge_decoding(
        &self,
        decoders: Decoders,
        status: u16,
        body: &serde_json::Value,
        operation: &str,
    ) -> Verdict {
        let Err(problem) = decoders.decode(status, body) else {
            return Verdict::Pass;
        };
        let what = format!(
            "a {operation} {status} body the shipped rafiki-client can read; it cannot read {problem}"
        );
        match self.documented() {
            Ok(documented) if !documented.is_valid(body) => Verdict::Fail(what),
            Ok(_) => Verdict::Warn(format!(
                "{what} (the documented contract allows this body: the client is stricter than the contract)"
            )),
            Err(why) => Verdict::Warn(format!(
                "{what} (the documented reading cannot judge it: {why})"
            )),
        }
    }
}

/// What is wrong with an error answer's body, if anything.
pub fn envelope_problem(status: u16, body: Option<&serde_json::Value>) -> Option<String> {
    let Some(body) = body else {
        return Some("a JSON error body {code, message}".into());
    };
    let code = body.get("code").and_then(|c| c.as_str());
    let message = body.get("message").and_then(|m| m.as_str());
    let (Some(code), Some(_)) = (code, message) else {
        return Some("an error body with string `code` and `message`".into());
    };
    let allowed: Vec<&str> = ErrorCode::carried_by(status)
        .map(ErrorCode::as_str)
        .collect();
    if allowed.is_empty() {
        return None;
    }
    (!allowed.contains(&code)).then(|| {
        format!(
            "code {} for HTTP {status}, got {code}",
            allowed.join(" or ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leading_zeros_warn_and_missing_fields_fail() {
        let conformance = Conformance::new(Spec::embedded()).unwrap();
        let validators = &conformance.validators["get_payout"][&200];
        let mut body = json!({"data": {"id": "pyt-1", "amount": {"value": "0140", "currency": "KES"},
            "payment_account_id": "pac-1", "wallet_id": "wlt-1", "state": {"code": "PENDING"},
            "created_at": "2026-01-01T00:00:00Z"}});
        assert!(matches!(
            validators.judge(&body, format_args!("x")),
            Verdict::Warn(_)
        ));
        body["data"]["amount"]["value"] = json!("140");
        assert_eq!(validators.judge(&body, format_args!("x")), Verdict::Pass);
        body["data"].as_object_mut().unwrap().remove("state");
        assert!(matches!(
            validators.judge(&body, format_args!("x")),
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn our_word_patterns_and_cursor_alphabet_only_warn() {
        let conformance = Conformance::new(Spec::embedded()).unwrap();
        let failed = &conformance.validators["get_payout"][&200];
        let body = json!({"data": {"id": "pyt-1", "amount": {"value": "140", "currency": "KES"},
            "payment_account_id": "pac-1", "wallet_id": "wlt-1",
            "state": {"code": "FAILED", "context": "limit reached"},
            "created_at": "2026-01-01T00:00:00Z"}});
        assert!(matches!(
            failed.judge(&body, format_args!("x")),
            Verdict::Warn(_)
        ));
        let error = &conformance.validators["get_payout"][&404];
        let body = json!({"code": "not-found", "message": "m"});
        assert!(matches!(
            error.judge(&body, format_args!("x")),
            Verdict::Warn(_)
        ));
        let page = &conformance.validators["list_payouts"][&200];
        let body = json!({"data": [], "meta": {"paging": {"cursors": {"after": "YWJj%3D%3D"},
            "next": "https://example.invalid/v1/payouts?paging_after=YWJj%3D%3D"}}});
        assert!(
            matches!(page.judge(&body, format_args!("x")), Verdict::Warn(_)),
            "{:?}",
            page.judge(&body, format_args!("x"))
        );
    }

    #[test]
    fn a_body_the_client_cannot_read_fails_unless_the_documented_contract_allows_it() {
        let conformance = Conformance::new(Spec::embedded()).unwrap();
        let validators = &conformance.validators["get_payout"][&200];
        let decoders = client_decodes::for_operation("get_payout").unwrap();
        let judge =
            |body: &serde_json::Value| validators.judge_decoding(decoders, 200, body, "get_payout");
        let payout = json!({"data": {"id": "pyt-1", "amount": {"value": "140", "currency": "KES"},
            "payment_account_id": "pac-1", "wallet_id": "wlt-1", "state": {"code": "PENDING"},
            "created_at": "2026-01-01T00:00:00Z"}});
        assert_eq!(judge(&payout), Verdict::Pass);
        let mut new_state = payout.clone();
        new_state["data"]["state"]["code"] = json!("ON_HOLD");
        let Verdict::Fail(why) = judge(&new_state) else {
            panic!("a new state must fail: {:?}", judge(&new_state));
        };
        assert!(why.contains("`data.state.code`"), "{why}");
        // Thirty digits are a decimal by the documented pattern, but more
        // than rust_decimal holds: the client's limit, so only a warning.
        let mut huge = payout.clone();
        huge["data"]["amount"]["value"] = json!("123456789012345678901234567890");
        let Verdict::Warn(why) = judge(&huge) else {
            panic!("{:?}", judge(&huge));
        };
        assert!(why.contains("`data.amount.value`"), "{why}");
        // The client is generated from the documented reading: an error
        // code outside our stricter alphabet reads fine.
        let not_found = &conformance.validators["get_payout"][&404];
        let body = json!({"code": "not-found", "message": "m"});
        let verdict = not_found.judge_decoding(decoders, 404, &body, "get_payout");
        assert_eq!(verdict, Verdict::Pass);
    }

    /// Found by an implementation written from the provider's pages alone
    /// (session 15): both bodies are as documented, and were failed.
    #[test]
    fn an_empty_errors_object_and_a_short_e164_number_are_documented() {
        let conformance = Conformance::new(Spec::embedded()).unwrap();
        // The transport page: every error body has `errors`, key/value
        // pairs; `fields` is documented for a 422 only.
        let not_found = &conformance.validators["get_payout"][&404];
        let decoders = client_decodes::for_operation("get_payout").unwrap();
        let body = json!({"code": "NOT_FOUND", "message": "m", "errors": {}});
        assert_eq!(not_found.judge(&body, format_args!("x")), Verdict::Pass);
        assert_eq!(
            not_found.judge_decoding(decoders, 404, &body, "get_payout"),
            Verdict::Pass
        );
        // "Formatted as E.164": up to 15 digits, no least number; our
        // eight is an opinion.
        let account = &conformance.validators["get_or_create_payment_account"][&201];
        let mut body = json!({"data": {"id": "pac-1", "type": "MOBILE_MONEY", "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": "A"},
            "mobile_money": {"number": "+1234567", "operator": "SAFARICOM"},
            "created_at": "2026-01-01T00:00:00Z"}});
        assert!(
            matches!(account.judge(&body, format_args!("x")), Verdict::Warn(_)),
            "{:?}",
            account.judge(&body, format_args!("x"))
        );
        body["data"]["mobile_money"]["number"] = json!("+1234567890123456");
        assert!(matches!(
            account.judge(&body, format_args!("x")),
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn error_codes_must_fit_their_status() {
        assert_eq!(
            envelope_problem(404, Some(&json!({"code": "NOT_FOUND", "message": "m"}))),
            None
        );
        assert!(
            envelope_problem(
                404,
                Some(&json!({"code": "VALIDATION_FAILED", "message": "m"}))
            )
            .is_some()
        );
        assert!(envelope_problem(422, Some(&json!({"message": "m"}))).is_some());
        assert!(envelope_problem(409, None).is_some());
        assert_eq!(
            envelope_problem(
                413,
                Some(&json!({"code": "PAYLOAD_TOO_LARGE", "message": "m"}))
            ),
            None
        );
    }
}
