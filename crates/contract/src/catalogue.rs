//! What each check is: its stable name, what it holds a server to and
//! what a failure rests on, and the list of them all in report order. Data
//! only, at the bottom of the crate: the judges, the report, the engine,
//! the suites that run the checks (`checks`) and the proxy all name checks
//! from here.

/// A check's identity.
#[derive(Debug, PartialEq, Eq)]
pub struct CheckInfo {
    /// Stable, for `--checks` and reports.
    pub name: &'static str,
    pub description: &'static str,
    /// What a failure rests on: the documented contract it enforces, and
    /// which of its judgements are only warnings (our stricter reading).
    pub basis: &'static str,
}

/// Declares checks (one `static` [`CheckInfo`] each) and the list of them
/// all, in report order, under the name given first.
macro_rules! check_list {
    ($list:ident; $($ident:ident = $name:literal : $description:literal, basis: $basis:literal;)*) => {
        $(pub static $ident: $crate::catalogue::CheckInfo = $crate::catalogue::CheckInfo { name: $name, description: $description, basis: $basis };)*
        /// Every check, in report order.
        pub static $list: &[&$crate::catalogue::CheckInfo] = &[$(&$ident),*];
    };
}
pub(crate) use check_list;

/// Generated cases per property check unless `--max-examples` says (a
/// replay line names it only when a run used another number).
pub const DEFAULT_MAX_EXAMPLES: u32 = 100;

check_list! { ALL;
    STATUS_DOCUMENTED = "status_documented": "every answer's status is documented for its operation",
        basis: "each operation's documented statuses, plus 401 for a missing or unknown key";
    RESPONSE_SCHEMA = "response_schema": "every answer's body matches the spec's schema for its status",
        basis: "documented shapes (names, types, required parts, enums, id prefixes) fail; our stricter patterns (id alphabets, decimal spelling such as leading zeros) only warn";
    CLIENT_DECODES = "client_decodes": "every documented answer decodes into the shipped client's type for it",
        basis: "an answer that breaks the documented shape and that the generated rafiki-client cannot read fails, naming the field; one the documented contract allows but the client cannot read (a limit of the client, e.g. an amount beyond rust_decimal) only warns";
    CONTENT_TYPE_JSON = "content_type_json": "every answer is application/json",
        basis: "the API speaks JSON only";
    ERROR_ENVELOPE = "error_envelope": "every error has {code, message} and a code that fits its status",
        basis: "the error body {code, message} and the documented status/code pairs";
    CONTENT_TYPE_REQUIRED = "content_type_required": "a POST body sent without Content-Type gets 400, before any validation",
        basis: "the provider's transport page: a POST with a body but without the Content-Type application/json header is refused at once with HTTP 400 (the body's code is not documented, so any code passes), whether its body is valid or not (an invalid one answered 422 was judged first); a non-JSON type refused the same way is our reading and only warns, as does refusing `application/json; charset=utf-8`";
    AUTH_REQUIRED = "auth_required": "every operation answers 401 UNAUTHORIZED without a key or with a wrong key",
        basis: "a Bearer key on every operation; a missing or unknown key is refused with 401: no key, a made-up key, the real key with a character added, `Bearer` alone; keyless also for an unknown payout id and an invalid body (the key is asked for before anything else)";
    VALID_PAYOUT_ACCEPTED = "valid_payout_accepted": "a valid payout is accepted: 202 PENDING (402 only when the wallet is short)",
        basis: "a payout within the compliance rules is accepted PENDING with 202, or refused 402 when the wallet's available does not cover it; the recipient may be named by `payment_account_id` and the wallet by `wallet_id`, and the 202 names the ones sent";
    INVALID_PAYOUT_REJECTED = "invalid_payout_rejected": "a payout breaking one rule gets 422 naming the broken field",
        basis: "breaking a documented rule (shape, type, enum, E.164, ISO codes, compliance limits and sender fields, unlisted bank) gets 422 whose errors.fields names the property; rules of ours (leading zeros, blank text, code case) and naming a parent or other spelling only warn";
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required": "POST /payouts without a usable X-Idempotency-Key gets 422",
        basis: "X-Idempotency-Key is required and at most 255 characters";
    VALID_PAYMENT_ACCOUNT_ACCEPTED = "valid_payment_account_accepted": "a valid payment account gets 201, then 200 with the same id",
        basis: "get-or-create: 201 when created, 200 with the same account when it existed (its created_at unchanged), never another (its type, country and recipient details as sent); an account a payout named inline is the same account (200, same id) and is listed by GET /payment-accounts";
    INVALID_PAYMENT_ACCOUNT_REJECTED = "invalid_payment_account_rejected": "a payment account breaking one rule gets 422 naming the broken field",
        basis: "as invalid_payout_rejected, for POST /payment-accounts";
    PAYOUT_RETRIEVABLE = "payout_retrievable": "a created payout is returned by GET /payouts/{id} unchanged and is listed, its sender as sent and its wallet one in the amount's currency",
        basis: "an accepted payout can be read back and is listed; id, amount, accounts and created_at never change; `sender` reads back as sent; without `wallet_id` the payout is paid from a wallet whose currency is the amount's";
    UNKNOWN_PAYOUT_NOT_FOUND = "unknown_payout_not_found": "GET /payouts/{id} of an unknown id gets 404 NOT_FOUND",
        basis: "an unknown payout id gets 404 NOT_FOUND, the one error the operation documents: a malformed id (`abc`, another resource's `pac-1`) too";
    PAGINATION_WALK = "pagination_walk": "walking `next` visits every item once, newest first, pages within paging_limit",
        basis: "lists are newest first; walking `next` visits every item exactly once; `next` and cursors.after come together";
    PAGING_LIMIT_BOUNDS = "paging_limit_bounds": "paging_limit 1 and 50 are served; 0, 51 and non-integers get 422",
        basis: "paging_limit is an integer from 1 to 50; anything else gets 422";
    BAD_CURSOR_REJECTED = "bad_cursor_rejected": "a paging_after that is not a cursor gets 422",
        basis: "paging_after is a base64url cursor handed out by a page; garbage gets 422";
    DATE_FILTER_BOUNDARIES = "date_filter_boundaries": "created_at_from/to include and exclude around the exact boundaries",
        basis: "created_at_from is inclusive (a date from 00:00:00 UTC); RFC 3339 with any offset; created_at_to at the payout's own instant or day is contested (API.md: inclusive, up to 23:59:59; the provider's page: created before), so either answer passes there";
    BAD_DATE_REJECTED = "bad_date_rejected": "created_at_from/to that are neither a date nor RFC 3339 get 422",
        basis: "created_at_from/to other than YYYY-MM-DD or RFC 3339 get 422; a date-time without an offset only warns (the provider's page asks for \"time and/or offset\")";
    TENANT_ISOLATION = "tenant_isolation": "a second API key can neither read nor list nor use the first key's resources",
        basis: "every resource belongs to the account of the key that created it, idempotency keys too (API.md: a key's scope is the account, the URL and the key)";
    IDEMPOTENCY_REPLAY = "idempotency_replay": "the same key and body replay the first answer (same payout) and create nothing",
        basis: "the same key and body replay the first answer (same status, same payout) and create nothing";
    IDEMPOTENCY_KEY_REUSE = "idempotency_key_reuse": "the same key with another body gets the first answer again (or 409), never a second payout",
        basis: "a key never makes a second payout; for another body the provider's idempotency page gives back the stored answer and API.md answers 409 IDEMPOTENCY_KEY_ALREADY_USED: two documented behaviours, both pass";
    IDEMPOTENCY_CONCURRENT = "idempotency_concurrent": "concurrent requests with one key make one payout (others replay it or get 409 IDEMPOTENCY_RACE)",
        basis: "never two payouts for one key; a key still in process gets 409 IDEMPOTENCY_RACE";
    INSUFFICIENT_BALANCE = "insufficient_balance": "a payout above the wallet's available gets 402 WALLET_INSUFFICIENT_BALANCE, one within it does not",
        basis: "available is what can be spent now: a payout above the available read just before gets 402, one within the available read before and after does not; verdicts that rest on our wallet model only warn";
    WALLET_ACCOUNTING = "wallet_accounting": "available and balance move exactly as the wallet model says, never below zero",
        basis: "available never goes below zero (fails); the exact reserve/settle/release arithmetic is our model of the wallet (warns)";
    LIFECYCLE_LEGAL = "lifecycle_legal": "every observed payout history is a legal walk; final states stay final; fixed fields never change",
        basis: "the documented lifecycle (PENDING to SENT, FAILED or CANCELLED; SENT to REVERSED; the rest final) and fields that never change; a payout without a readable state fails at once; polls may miss a state (PENDING then REVERSED passes)";
    SUPPORT_TRANSITIONS = "support_transitions": "the control API cancels and reverses exactly when the state machine allows",
        basis: "where the server has our mock's control API: its transitions follow the documented lifecycle";
    SANDBOX_OUTCOMES = "sandbox_outcomes": "the sandbox's test numbers end FAILED with their documented context; any other recipient ends SENT",
        basis: "the documented sandbox test values, and SENT for every other recipient, on a server found to honour them";
}

/// Looks a check up by name.
pub fn by_name(name: &str) -> Option<&'static CheckInfo> {
    ALL.iter().copied().find(|c| c.name == name)
}
