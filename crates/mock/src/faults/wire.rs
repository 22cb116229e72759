//! The control API's JSON for a fault plan (`spec/sandbox.yaml`,
//! `FaultPlan` and `FaultRule`):
//!
//! ```json
//! {"seed": 7, "rules": [
//!   {"operation": "create_payout", "kind": "status", "status": 503,
//!    "retry_after_seconds": 2, "share": 0.3, "times": null},
//!   {"operation": "*", "kind": "latency", "latency_ms": 200},
//!   {"operation": "create_payout", "kind": "drop_after_handling", "share": 0.1, "times": 1}
//! ]}
//! ```
//!
//! Read: every problem is a violation at its path (`rules[0].status`);
//! `null` counts as absent; unknown properties are ignored, so an answer
//! (which adds each rule's `flag` and `injected` count) can be sent back
//! as it is. `share` defaults to 1, `seed` to 0.

use std::num::NonZeroU32;
use std::time::Duration;

use rafiki_rules::violations::BODY_PATH;
use rafiki_rules::{Rule, Violations};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Fault, FaultPlan, FaultRule, FaultState, FaultStatus, Scope, Share, statuses};

/// `kind` of an answer instead of handling.
const STATUS: &str = "status";
/// `kind` of added latency.
const LATENCY: &str = "latency";
/// `kind` of a connection dropped after handling.
const DROP_AFTER_HANDLING: &str = "drop_after_handling";

/// A plan as the control API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct PlanView {
    seed: u64,
    rules: Vec<RuleView>,
}

#[derive(Debug, Serialize)]
struct RuleView {
    operation: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
    share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    times: Option<u32>,
    /// The rule in the flag grammar.
    flag: String,
    /// How many times it fired since the plan was set.
    injected: u32,
}

impl PlanView {
    pub fn of(state: &FaultState) -> Self {
        let rules = state
            .rules()
            .map(|(rule, injected)| {
                let (kind, status, retry_after_seconds, latency_ms) = match rule.fault() {
                    Fault::Answer {
                        status,
                        retry_after,
                    } => (STATUS, Some(status.status().as_u16()), retry_after, None),
                    Fault::Latency(duration) => (
                        LATENCY,
                        None,
                        None,
                        Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
                    ),
                    Fault::DropAfterHandling => (DROP_AFTER_HANDLING, None, None, None),
                };
                RuleView {
                    operation: rule.scope().to_string(),
                    kind,
                    status,
                    retry_after_seconds,
                    latency_ms,
                    share: rule.share().fraction(),
                    times: rule.times().map(NonZeroU32::get),
                    flag: rule.to_string(),
                    injected,
                }
            })
            .collect();
        PlanView {
            seed: state.plan().seed,
            rules,
        }
    }
}

/// Reads a plan; every problem is reported at its path.
pub(crate) fn read_plan(body: &Value) -> Result<FaultPlan, Violations> {
    let mut violations = Violations::new();
    let Some(object) = body.as_object() else {
        violations.add(BODY_PATH, Rule::WrongType, "must be a JSON object");
        return Err(violations);
    };
    let seed = match present(object, "seed") {
        None => 0,
        Some(value) => value.as_u64().unwrap_or_else(|| {
            violations.add(
                "seed",
                Rule::WrongType,
                format!("must be a whole number from 0 to {}", u64::MAX),
            );
            0
        }),
    };
    let rules = match present(object, "rules") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| read_rule(item, &format!("rules[{i}]"), &mut violations))
            .collect(),
        Some(_) => {
            violations.add("rules", Rule::WrongType, "must be an array of rules");
            Vec::new()
        }
        None => {
            violations.add(
                "rules",
                Rule::Required,
                "is required (an empty array: no faults)",
            );
            Vec::new()
        }
    };
    violations.into_result(FaultPlan { seed, rules })
}

/// The property `name`, unless absent or `null`.
fn present<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.get(name).filter(|value| !value.is_null())
}

/// Reads one rule at `at` (`rules[0]`).
fn read_rule(value: &Value, at: &str, violations: &mut Violations) -> Option<FaultRule> {
    let Some(object) = value.as_object() else {
        violations.add(at, Rule::WrongType, "must be an object");
        return None;
    };
    let before = violations.len();
    let path = |name: &str| format!("{at}.{name}");
    let mut field = |name: &str, required: bool| {
        let value = present(object, name);
        if required && value.is_none() {
            violations.add(path(name), Rule::Required, "is required");
        }
        value
    };
    let operation = field("operation", true);
    let kind = field("kind", true);
    let (status, retry_after, latency_ms) = {
        let wants = |k: &str| kind.and_then(Value::as_str) == Some(k);
        (
            field(STATUS, wants(STATUS)),
            field("retry_after_seconds", false),
            field("latency_ms", wants(LATENCY)),
        )
    };
    let share = field("share", false);
    let times = field("times", false);

    let scope = operation.and_then(|value| {
        let scope = value.as_str().and_then(|text| text.parse::<Scope>().ok());
        if scope.is_none() {
            violations.add(
                path("operation"),
                Rule::UnknownEnumValue,
                format!("must be `*` or one of {}", crate::operation::ids()),
            );
        }
        scope
    });
    let kind = kind.and_then(|value| {
        let kind = value
            .as_str()
            .filter(|k| [STATUS, LATENCY, DROP_AFTER_HANDLING].contains(k));
        if kind.is_none() {
            violations.add(
                path("kind"),
                Rule::UnknownEnumValue,
                format!("must be one of {STATUS}, {LATENCY}, {DROP_AFTER_HANDLING}"),
            );
        }
        kind
    });
    let mut only_with = |name: &str, value: Option<&Value>, with: &str| {
        if value.is_some() && kind.is_some_and(|k| k != with) {
            violations.add(
                path(name),
                Rule::WrongType,
                format!("is only allowed with kind {with}"),
            );
        }
    };
    only_with(STATUS, status, STATUS);
    only_with("retry_after_seconds", retry_after, STATUS);
    only_with("latency_ms", latency_ms, LATENCY);

    let status = status.and_then(|value| {
        let status = value
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .and_then(FaultStatus::from_status);
        if status.is_none() {
            violations.add(
                path(STATUS),
                Rule::UnknownEnumValue,
                format!("must be one of {}", statuses()),
            );
        }
        status
    });
    let mut whole = |name: &str, value: Option<&Value>, min: u64, max: u64| {
        value.and_then(|value| {
            let number = value.as_u64().filter(|n| (min..=max).contains(n));
            if number.is_none() {
                violations.add(
                    path(name),
                    Rule::WrongType,
                    format!("must be a whole number from {min} to {max}"),
                );
            }
            number
        })
    };
    let retry_after = whole("retry_after_seconds", retry_after, 0, u64::from(u32::MAX))
        .and_then(|n| u32::try_from(n).ok());
    let latency_ms = whole("latency_ms", latency_ms, 0, u64::from(u32::MAX));
    let times = whole("times", times, 1, u64::from(u32::MAX))
        .and_then(|n| u32::try_from(n).ok())
        .and_then(NonZeroU32::new);
    let share = match share {
        None => Some(Share::ALWAYS),
        Some(value) => {
            let share = value.as_f64().and_then(Share::from_fraction);
            if share.is_none() {
                violations.add(
                    path("share"),
                    Rule::WrongType,
                    "must be a number from 0 to 1",
                );
            }
            share
        }
    };
    if violations.len() > before {
        return None;
    }
    let fault = match kind? {
        STATUS => Fault::Answer {
            status: status?,
            retry_after,
        },
        LATENCY => Fault::Latency(Duration::from_millis(latency_ms?)),
        _ => Fault::DropAfterHandling,
    };
    match FaultRule::new(scope?, fault) {
        Ok(rule) => {
            let rule = rule.with_share(share?);
            Some(match times {
                Some(times) => rule.with_times(times),
                None => rule,
            })
        }
        Err(problem) => {
            violations.add(path(STATUS), Rule::UnknownEnumValue, problem.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(body: Value) -> Vec<(String, Rule)> {
        match read_plan(&body) {
            Ok(plan) => panic!("{body} was read as {plan:?}"),
            Err(violations) => violations.path_rules(),
        }
    }

    #[test]
    fn plans_read_back_what_they_show() {
        let body = json!({"seed": 7, "rules": [
            {"operation": "create_payout", "kind": "status", "status": 503,
             "retry_after_seconds": 2, "share": 0.3, "times": null},
            {"operation": "*", "kind": "latency", "latency_ms": 200},
            {"operation": "create_payout", "kind": "drop_after_handling", "share": 0.1, "times": 1,
             "flag": "ignored", "injected": 4},
        ]});
        let plan = read_plan(&body).unwrap();
        assert_eq!(
            plan.to_string(),
            "seed 7: create_payout=503+retry-after=2@30%, *=latency:200ms@100%, create_payout=drop-after-handling@10%#1"
        );
        let shown = serde_json::to_value(PlanView::of(&FaultState::new(plan.clone()))).unwrap();
        assert_eq!(
            shown["rules"][0],
            json!({"operation": "create_payout", "kind": "status", "status": 503,
                   "retry_after_seconds": 2, "share": 0.3, "flag": "create_payout=503+retry-after=2@30%",
                   "injected": 0})
        );
        assert_eq!(read_plan(&shown).unwrap(), plan, "an answer reads back");
        assert_eq!(
            read_plan(&json!({"rules": []})).unwrap(),
            FaultPlan::default()
        );
    }

    #[test]
    fn problems_are_named_at_their_path() {
        use Rule::*;
        let cases = [
            (json!([]), vec![("body", WrongType)]),
            (json!({}), vec![("rules", Required)]),
            (
                json!({"seed": -1, "rules": {}}),
                vec![("seed", WrongType), ("rules", WrongType)],
            ),
            (json!({"rules": [1]}), vec![("rules[0]", WrongType)]),
            (
                json!({"rules": [{"kind": "status", "status": 503}, {"operation": "create_payout"}]}),
                vec![
                    ("rules[0].operation", Required),
                    ("rules[1].kind", Required),
                ],
            ),
            (
                json!({"rules": [{"operation": "payouts", "kind": "boom"}]}),
                vec![
                    ("rules[0].operation", UnknownEnumValue),
                    ("rules[0].kind", UnknownEnumValue),
                ],
            ),
            (
                json!({"rules": [{"operation": "*", "kind": "status"}]}),
                vec![("rules[0].status", Required)],
            ),
            (
                json!({"rules": [{"operation": "*", "kind": "status", "status": 404}]}),
                vec![("rules[0].status", UnknownEnumValue)],
            ),
            (
                json!({"rules": [{"operation": "*", "kind": "latency", "latency_ms": 1, "retry_after_seconds": 1, "status": 500}]}),
                vec![
                    ("rules[0].status", WrongType),
                    ("rules[0].retry_after_seconds", WrongType),
                ],
            ),
            (
                json!({"rules": [{"operation": "*", "kind": "latency", "latency_ms": "200ms"}]}),
                vec![("rules[0].latency_ms", WrongType)],
            ),
            (
                json!({"rules": [{"operation": "*", "kind": "drop_after_handling", "share": 1.5, "times": 0}]}),
                vec![("rules[0].times", WrongType), ("rules[0].share", WrongType)],
            ),
            (
                json!({"rules": [{"operation": "list_banks", "kind": "status", "status": 409}]}),
                vec![("rules[0].status", UnknownEnumValue)],
            ),
        ];
        for (body, expected) in cases {
            let mut expected: Vec<(String, Rule)> = expected
                .into_iter()
                .map(|(p, r)| (p.to_owned(), r))
                .collect();
            let mut got = fields(body.clone());
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, expected, "{body}");
        }
    }
}
