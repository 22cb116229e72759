//! The API's operations as the spec lists them: which request is which
//! operation, and a request of each (for the checks that cover every
//! operation, and for the proxy, which names each request it sees).

use std::sync::Arc;

use serde_json::Value;

use super::Probe;

/// The operations the API documents, by operationId
/// (`docs/contract.md#operations`). An operation of another spec
/// (`--spec`) that is none of these is left out: its answers are still
/// judged by the conformance checks wherever a check names it.
const DOCUMENTED: [&str; 7] = [
    "list_banks",
    "list_wallets",
    "list_payment_accounts",
    "get_or_create_payment_account",
    "list_payouts",
    "create_payout",
    "get_payout",
];

/// The documented operationId spelled `name`.
fn documented(name: &str) -> Option<&'static str> {
    DOCUMENTED.iter().copied().find(|known| *known == name)
}

/// One operation of the spec, as the checks that cover every operation
/// (auth, transport) send it.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The spec's operationId.
    pub id: &'static str,
    pub method: hyper::Method,
    /// The path template, e.g. `/payouts/{id}`.
    pub path: String,
    /// Whether the operation takes a request body.
    pub has_body: bool,
    /// Whether the spec requires the `X-Idempotency-Key` header.
    pub needs_idempotency_key: bool,
}

impl Operation {
    /// Whether a request `method path` (path below the base URL, e.g.
    /// `/payouts/pyt-1`) is this operation.
    pub fn matches(&self, method: &hyper::Method, path: &str) -> bool {
        let (mut template, mut path) = (self.path.split('/'), path.split('/'));
        self.method == method
            && loop {
                match (template.next(), path.next()) {
                    (None, None) => break true,
                    (Some(t), Some(p)) if t == p || (t.starts_with('{') && !p.is_empty()) => {}
                    _ => break false,
                }
            }
    }

    /// Every operation of `spec`, in the spec's order.
    pub fn all_in(spec: &rafiki_spec::Spec) -> Vec<Operation> {
        spec.operations()
            .filter_map(|(path, method, op)| {
                Some(Operation {
                    id: documented(op.operation_id.as_deref()?)?,
                    method: method.to_ascii_uppercase().parse().ok()?,
                    path: path.to_string(),
                    has_body: op.request_body.is_some(),
                    needs_idempotency_key: rafiki_spec::requires_header(
                        op,
                        rafiki_rules::idempotency::HEADER,
                    ),
                })
            })
            .collect()
    }

    /// A probe of this operation: path parameters filled with `id`, a
    /// fresh idempotency key where the spec requires one, and `body` when
    /// the operation takes one.
    pub fn probe(&self, id: &str, body: impl FnOnce(&str) -> Value) -> Probe {
        let target: Vec<&str> = self
            .path
            .split('/')
            .map(
                |segment| match segment.starts_with('{') && segment.ends_with('}') {
                    true => id,
                    false => segment,
                },
            )
            .collect();
        Probe {
            method: self.method.clone(),
            body: self.has_body.then(|| Arc::new(body(self.id))),
            idempotency_key: self
                .needs_idempotency_key
                .then(|| uuid::Uuid::new_v4().to_string()),
            ..Probe::get(self.id, target.join("/"))
        }
    }
}
