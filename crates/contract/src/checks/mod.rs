//! The checks: each has a stable name and a one-line description, and is
//! counted on its own. Checks are grouped into *suites* (one module each)
//! that share the requests they make; a suite runs when any of its checks
//! is selected.

pub mod auth;
pub mod conformance;
pub mod isolation;
pub mod listing;
pub mod payment_accounts;
pub mod payouts;
pub mod sandbox_outcomes;
pub mod stateful;

/// A check's identity.
#[derive(Debug, PartialEq, Eq)]
pub struct CheckInfo {
    /// Stable, for `--checks` and reports.
    pub name: &'static str,
    pub description: &'static str,
}

macro_rules! checks {
    ($($ident:ident = $name:literal : $description:literal;)*) => {
        $(pub static $ident: CheckInfo = CheckInfo { name: $name, description: $description };)*
        /// Every check, in report order.
        pub static ALL: &[&CheckInfo] = &[$(&$ident),*];
    };
}

checks! {
    STATUS_DOCUMENTED = "status_documented": "every answer's status is documented for its operation";
    RESPONSE_SCHEMA = "response_schema": "every answer's body matches the spec's schema for its status";
    CONTENT_TYPE_JSON = "content_type_json": "every answer is application/json";
    ERROR_ENVELOPE = "error_envelope": "every error has {code, message} and a code that fits its status";
    AUTH_REQUIRED = "auth_required": "every operation answers 401 UNAUTHORIZED without a key or with a wrong key";
    VALID_PAYOUT_ACCEPTED = "valid_payout_accepted": "a valid payout is accepted: 202 PENDING (402 only when the wallet is short)";
    INVALID_PAYOUT_REJECTED = "invalid_payout_rejected": "a payout breaking one rule gets 422 naming the broken field";
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required": "POST /payouts without a usable X-Idempotency-Key gets 422";
    VALID_PAYMENT_ACCOUNT_ACCEPTED = "valid_payment_account_accepted": "a valid payment account gets 201, then 200 with the same id";
    INVALID_PAYMENT_ACCOUNT_REJECTED = "invalid_payment_account_rejected": "a payment account breaking one rule gets 422 naming the broken field";
    PAYOUT_RETRIEVABLE = "payout_retrievable": "a created payout is returned by GET /payouts/{id} unchanged and is listed";
    UNKNOWN_PAYOUT_NOT_FOUND = "unknown_payout_not_found": "GET /payouts/{id} of an unknown id gets 404 NOT_FOUND";
    PAGINATION_WALK = "pagination_walk": "walking `next` visits every item once, newest first, pages within paging_limit";
    PAGING_LIMIT_BOUNDS = "paging_limit_bounds": "paging_limit 1 and 50 are served; 0, 51 and non-integers get 422";
    BAD_CURSOR_REJECTED = "bad_cursor_rejected": "a paging_after that is not a cursor gets 422";
    DATE_FILTER_BOUNDARIES = "date_filter_boundaries": "created_at_from/to include and exclude at the exact boundaries";
    BAD_DATE_REJECTED = "bad_date_rejected": "created_at_from/to that are neither a date nor RFC 3339 get 422";
    TENANT_ISOLATION = "tenant_isolation": "a second API key can neither read nor list nor use the first key's resources";
    IDEMPOTENCY_REPLAY = "idempotency_replay": "the same key and body replay the first answer (same payout) and create nothing";
    IDEMPOTENCY_KEY_REUSE = "idempotency_key_reuse": "the same key with another body gets 409 IDEMPOTENCY_KEY_ALREADY_USED";
    IDEMPOTENCY_CONCURRENT = "idempotency_concurrent": "concurrent requests with one key make one payout (others replay it or get 409 IDEMPOTENCY_RACE)";
    INSUFFICIENT_BALANCE = "insufficient_balance": "a payout above the wallet's available gets 402 WALLET_INSUFFICIENT_BALANCE, one within it does not";
    WALLET_ACCOUNTING = "wallet_accounting": "available and balance move exactly as the wallet model says, never below zero";
    LIFECYCLE_LEGAL = "lifecycle_legal": "every observed payout history is a legal walk; final states stay final; fixed fields never change";
    SUPPORT_TRANSITIONS = "support_transitions": "the control API cancels and reverses exactly when the state machine allows";
    SANDBOX_OUTCOMES = "sandbox_outcomes": "the sandbox's test numbers end FAILED with their documented context";
}

/// The decimal string at `pointer` in `json` (amounts, balances).
pub fn decimal_at(json: &serde_json::Value, pointer: &str) -> Option<rust_decimal::Decimal> {
    json.pointer(pointer).and_then(serde_json::Value::as_str).and_then(|s| s.parse().ok())
}

/// Looks a check up by name.
pub fn by_name(name: &str) -> Option<&'static CheckInfo> {
    ALL.iter().copied().find(|c| c.name == name)
}
