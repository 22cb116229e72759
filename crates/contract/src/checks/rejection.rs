//! Judging a refused request (`invalid_payout_rejected`,
//! `invalid_payment_account_rejected`, the documented edges).
//!
//! What it rests on:
//! - *Fails*: a request that breaks a documented rule (a shape, a JSON
//!   type, an enum, an ISO code, E.164, a compliance limit or sender field,
//!   an unlisted bank) not answered 422; or a 422 whose `errors.fields`
//!   names no property related to the broken one (the provider documents
//!   that each key names a property that failed validation).
//! - *Warns*: the refused value breaks only a rule of ours (leading zeros,
//!   three decimals, blank text, letter case, a bare id prefix, a short
//!   E.164 number, an unserved country or currency, a plausible postal code
//!   our format refuses: `rafiki_rules::documented`); or the 422 names the
//!   property otherwise than our exact dotted path (a parent such as
//!   `amount` for `amount.value`, the leaf name alone, another spelling).

use std::sync::Arc;

use rafiki_rules::Rule;
use rafiki_rules::documented::{is_documented_refusal, value_at};
use serde_json::Value;

use crate::engine::Banks;
use crate::engine::{CaseResult, case_result};
use crate::http::Exchange;
use crate::report::Verdict;

/// How `errors.fields` names `path`: exactly (or a part of it), in some
/// other related way (a parent, the leaf name, another spelling), or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    Exact,
    Related,
    Missing,
}

/// The property path's segments, whatever the spelling
/// (`a.b`, `a[b]`, `/a/b`).
fn segments(path: &str) -> Vec<&str> {
    path.split(['.', '[', ']', '/'])
        .filter(|s| !s.is_empty())
        .collect()
}

/// How the keys of `errors.fields` name `path`.
pub fn naming(keys: &[String], path: &str) -> Naming {
    let wanted = segments(path);
    let mut best = Naming::Missing;
    for key in keys {
        if key == path || key.starts_with(&format!("{path}.")) {
            return Naming::Exact;
        }
        let got = segments(key);
        let related = got.starts_with(&wanted)
            || (!got.is_empty() && wanted.starts_with(&got))
            || got.last().is_some_and(|leaf| wanted.last() == Some(leaf));
        if related {
            best = Naming::Related;
        }
    }
    best
}

/// The verdict on a request with one fault at `path` (`documented`: the
/// documented contract refuses it). A body that is not an object has no
/// property to name; "exactly one of two" may be named at either.
pub fn judge(exchange: &Exchange, path: &str, rule: Rule, documented: bool) -> Verdict {
    let keys = exchange.error_fields();
    let name = match (path, rule) {
        (rafiki_rules::violations::BODY_PATH, _) => Naming::Exact,
        ("payment_account_id" | "payment_account", Rule::ExactlyOneOf) => {
            match (
                naming(&keys, "payment_account_id"),
                naming(&keys, "payment_account"),
            ) {
                (Naming::Exact, _) | (_, Naming::Exact) => Naming::Exact,
                (Naming::Related, _) | (_, Naming::Related) => Naming::Related,
                _ => Naming::Missing,
            }
        }
        _ => naming(&keys, path),
    };
    let status = exchange.status();
    let verdict = |expected: String| {
        if documented {
            Verdict::Fail(expected)
        } else {
            Verdict::Warn(expected)
        }
    };
    match (status, name) {
        (422, Naming::Exact) => Verdict::Pass,
        (422, Naming::Related) => Verdict::Warn(format!(
            "422 naming `{path}` (rule: {rule}) exactly, got {}",
            named(&keys)
        )),
        (422, Naming::Missing) => verdict(format!(
            "422 naming `{path}` (rule: {rule}) in errors.fields, got {}",
            named(&keys)
        )),
        (200..=299, _) => verdict(format!(
            "422 for `{path}` (rule: {rule}); the server accepted it with {status}"
        )),
        _ => verdict(format!("422 for `{path}` (rule: {rule}), got {status}")),
    }
}

/// The keys of `errors.fields` as a reader would list them.
fn named(keys: &[String]) -> String {
    match keys {
        [] => "no key".to_string(),
        keys => keys
            .iter()
            .map(|key| format!("`{key}`"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// [`judge`] as a property verdict ([`crate::engine::case_result`]).
pub fn judge_case(
    ctx: &crate::engine::Ctx,
    check: &'static crate::checks::CheckInfo,
    exchange: Exchange,
    fault: &Fault,
) -> CaseResult {
    let verdict = judge(&exchange, &fault.path, fault.rule, fault.documented);
    case_result(ctx, check, verdict, exchange, || fault.to_string())
}

/// A single-fault body, the field it broke, and whether the documented
/// contract refuses it.
#[derive(Debug, Clone)]
pub struct Fault {
    /// (Shared with the request that sends it.)
    pub body: Arc<Value>,
    pub path: String,
    pub rule: Rule,
    pub documented: bool,
}

impl Fault {
    /// A fault from the rules crate's catalogue, classified, with its bank
    /// account (at `pointer`) moved to a bank the server lists, so that
    /// only the fault is wrong (a server may name the first problem only):
    /// a fault in `bank_id` keeps the body's bank, one in `branch_id` its
    /// branch. `None` when the server lists no bank for the account's
    /// country.
    pub fn with_listed_bank(
        banks: &Banks,
        pointer: &str,
        mut body: Value,
        path: String,
        rule: Rule,
    ) -> Option<Self> {
        if !path.ends_with("bank_account.bank_id") {
            let broken_branch = path
                .ends_with("bank_account.branch_id")
                .then(|| value_at(&body, &path).cloned());
            if !banks.assign(&mut body, pointer) {
                return None;
            }
            if let Some(branch) = broken_branch {
                let details = body
                    .pointer_mut(&format!("{pointer}/bank_account"))
                    .and_then(Value::as_object_mut)
                    .expect("a branch fault is inside a bank account object");
                match branch {
                    Some(branch) => details.insert("branch_id".into(), branch),
                    None => details.remove("branch_id"),
                };
            }
        }
        let documented = is_documented_refusal(rule, value_at(&body, &path));
        Some(Fault {
            body: Arc::new(body),
            path,
            rule,
            documented,
        })
    }
}

/// How a report shows the case: where the fault is, which rule it
/// breaks and whose rule that is, then the body as JSON.
impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let basis = if self.documented {
            "documented"
        } else {
            "ours, stricter than documented"
        };
        write!(
            f,
            "`{}` broken (rule: {}; {basis}) in {}",
            self.path, self.rule, self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_exact_related_or_missing() {
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            naming(&keys(&["amount.value"]), "amount.value"),
            Naming::Exact
        );
        assert_eq!(naming(&keys(&["sender.address"]), "sender"), Naming::Exact);
        assert_eq!(naming(&keys(&["amount"]), "amount.value"), Naming::Related);
        assert_eq!(naming(&keys(&["value"]), "amount.value"), Naming::Related);
        assert_eq!(
            naming(&keys(&["amount[value]"]), "amount.value"),
            Naming::Related
        );
        assert_eq!(naming(&keys(&["request"]), "amount.value"), Naming::Missing);
        assert_eq!(naming(&keys(&[]), "amount.value"), Naming::Missing);
    }

    /// Found by an implementation written from the provider's pages: a
    /// fault in the bank account kept the generator's invented bank, so the
    /// case broke two rules, and a server naming the first problem only
    /// named the bank.
    #[test]
    fn a_fault_in_a_bank_account_has_a_listed_bank_but_keeps_the_fault() {
        let banks = Banks::from_body(Some(&serde_json::json!({"data": [
            {"id": "bnk-a", "name": "A", "country": "KE", "branches": [{"id": "brn-a1", "name": "x"}]}
        ]})));
        let body = |branch: &str| {
            serde_json::json!({"type": "BANK_ACCOUNT", "country": "KE",
                "holder": {"type": "INDIVIDUAL", "name": "N"},
                "bank_account": {"bank_id": "bnk-invented", "branch_id": branch, "number": "12-34"}})
        };
        let fault = |body: Value, path: &str, rule: Rule| {
            let fault = Fault::with_listed_bank(&banks, "", body, path.into(), rule).unwrap();
            fault.body["bank_account"].clone()
        };
        let number = fault(body("brn-x"), "bank_account.number", Rule::AlphaNumeric);
        assert_eq!(
            number,
            serde_json::json!({"bank_id": "bnk-a", "branch_id": "brn-a1", "number": "12-34"})
        );
        let branch = fault(body("brn-"), "bank_account.branch_id", Rule::IdPrefix);
        assert_eq!(
            (&branch["bank_id"], &branch["branch_id"]),
            (&"bnk-a".into(), &"brn-".into())
        );
        let bank = fault(body("brn-x"), "bank_account.bank_id", Rule::IdPrefix);
        assert_eq!(bank["bank_id"], "bnk-invented");
    }
}
