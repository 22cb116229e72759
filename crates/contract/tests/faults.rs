//! The suite finds real bugs: a proxy in front of the embedded mock breaks
//! the API in one way at a time, and the check meant for that fault must
//! catch it (with a reproduction); the clean mock raises nothing.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use rafiki_client::sandbox::{
    self,
    types::{PayoutStateCode, TransitionRequest},
};
use rafiki_contract::{Report, RunConfig};
use serde_json::{Value, json};

const KEYS: [&str; 2] = ["sk_test_faults_a", "sk_test_faults_b"];

/// How a fault must show in the result of its own check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caught {
    /// At least one failure, each with a curl reproduction.
    Failure,
    /// The fault breaks only our model, not a documented promise: at least
    /// one warning, each with a curl reproduction.
    Warning,
    /// The fault leaves the check nothing it can judge: it must say so (a
    /// skip with the reason) and record no pass.
    Unjudged,
}

/// Declares each fault once, with the check that must catch it, how, and
/// its *partners*: the other checks that may also fail (or warn) on it,
/// each with the reason. The enum, `Fault::ALL` and the lookups all come
/// from this one list, so none of them can drift.
macro_rules! faults {
    ($(
        $(#[doc = $doc:literal])*
        $fault:ident => $check:literal $(as $caught:ident)?
            $(, partners: [$($partner:literal: $why:expr),* $(,)?])?;
    )*) => {
        /// One way to break the API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Fault {
            $($(#[doc = $doc])* $fault,)*
        }

        impl Fault {
            const ALL: &'static [Fault] = &[$(Fault::$fault),*];

            /// The check that must catch it.
            fn check(self) -> &'static str {
                match self {
                    $(Fault::$fault => $check,)*
                }
            }

            fn caught(self) -> Caught {
                match self {
                    $(Fault::$fault => {
                        let given: &[Caught] = &[$(Caught::$caught)?];
                        given.first().copied().unwrap_or(Caught::Failure)
                    })*
                }
            }

            /// Other checks that may fail or warn on it: (check, why).
            fn partners(self) -> &'static [(&'static str, &'static str)] {
                match self {
                    $(Fault::$fault => &[$($(($partner, $why)),*)?],)*
                }
            }
        }
    };
}

/// Why a fault that makes an extra payout can make `wallet_accounting` warn.
const EXTRA_PAYOUT_UNSEEN_BY_MODEL: &str = "the extra payout is unknown to the wallet model, and later sequences read the wallet while it settles";

faults! {
    /// `GET /payouts/{id}` of an unknown id answers 400, not 404.
    UndocumentedStatus => "status_documented", partners: [
        "unknown_payout_not_found": "an unknown id answers 400 too, not 404 NOT_FOUND",
        "tenant_isolation": "another account's payout answers 400 too, not 404",
    ];
    /// `GET /payouts/{id}` answers without `wallet_id`.
    SchemaBreakingBody => "response_schema", partners: [
        "payout_retrievable": "the read-back lacks the wallet_id the payout was created with",
        "lifecycle_legal": "the sequences cannot read a payout without its required wallet_id",
        "client_decodes": "the shipped client cannot read a body without a required field",
    ];
    /// `GET /wallets` answers as text/plain.
    TextContentType => "content_type_json";
    /// A POST body not sent as JSON gets 422 VALIDATION_FAILED at `body`
    /// (what the mock did before it followed the documented 400).
    NotJsonIsValidation => "content_type_required";
    /// Every 404 has the code MISSING.
    WrongErrorCode => "error_envelope", partners: [
        "unknown_payout_not_found": "an unknown id's 404 has code MISSING, not NOT_FOUND",
    ];
    /// A missing or unknown key is replaced by a good one.
    AuthOptional => "auth_required";
    /// A key that begins with the first account's, or `Bearer` with no
    /// key at all, is served as the first account.
    LooseKeyMatch => "auth_required";
    /// A keyless read of an unknown payout answers 404, and a keyless POST
    /// of `{}` answers 422: the request is judged before its key.
    KeyAskedLast => "auth_required";
    /// A POST of `{}` without a Content-Type gets 422, not 400: the body is
    /// judged before its type.
    ContentTypeAfterValidation => "content_type_required";
    /// `GET /payouts/{id}` of an id no payout can have (not `pyt-`)
    /// answers 422, a status the operation does not document.
    MalformedIdRefused => "unknown_payout_not_found", partners: [
        "status_documented": "422 is not documented for GET /payouts/{id}",
    ];
    /// A create sent again under its key is answered with the payout as
    /// it is now, not the stored answer.
    ReplayShowsLiveState => "idempotency_replay", partners: [
        "idempotency_key_reuse": "the key with another body gets the payout as it is now too, not the stored answer",
        "idempotency_concurrent": "a copy arriving after the first answer is a replay, answered as the payout is now",
    ];
    /// The second account's create under a key the first account used is
    /// answered with the first account's payout.
    IdempotencyKeysShared => "tenant_isolation";
    /// Payouts above 1,000 get 402 whatever the wallet holds.
    SpuriousInsufficientBalance => "valid_payout_accepted", partners: [
        "insufficient_balance": "the sequences see a 402 for amounts the wallet covers",
    ];
    /// A payout's 422 names no field.
    ValidationFieldsLost => "invalid_payout_rejected";
    /// A missing or too long idempotency key is replaced by a good one.
    IdempotencyKeyOptional => "idempotency_key_required";
    /// An existing payment account answers 201 again.
    AlwaysCreatedAccount => "valid_payment_account_accepted";
    /// A payment account's 422 names no field.
    AccountValidationFieldsLost => "invalid_payment_account_rejected";
    /// A payout's amount reads 1.00 later on.
    AmountChangesOnRead => "payout_retrievable", partners: [
        "lifecycle_legal": "the amount is a field that never changes",
    ];
    /// An unknown payout id is found.
    UnknownIdFound => "unknown_payout_not_found", partners: [
        "tenant_isolation": "another account's payout, unknown to this one, is found too",
    ];
    /// Every page after the first drops its first item.
    PageItemSkipped => "pagination_walk", partners: [
        "date_filter_boundaries": "its filtered lists walk pages too, and miss the item a page drops",
    ];
    /// paging_limit is clamped to 1..=50 instead of refused.
    LimitClamped => "paging_limit_bounds";
    /// A paging_after that is not a cursor is ignored.
    BadCursorIgnored => "bad_cursor_rejected";
    /// A created_at_to date is read as the start of the day before it
    /// (off by a day under either reading of the bound).
    DateToIsDayBefore => "date_filter_boundaries";
    /// A created_at_to date is read as the start of that day (00:00:00),
    /// not 23:59:59: the day's payouts vanish from a filter ending today.
    DateToIsStartOfDay => "date_filter_boundaries";
    /// A created_at_from/to that is not a date is ignored.
    BadDateIgnored => "bad_date_rejected";
    /// The second key reads the first key's payouts.
    TenantLeak => "tenant_isolation", partners: [
        "auth_required": "the first key goes on every payout read, keyless ones too",
        "lifecycle_legal": "the second key's own payouts, read with the first key, are not found",
    ];
    /// A retry (the same key and body, after the answer) makes a new
    /// payout; copies sent together are still deduplicated.
    IdempotencyIgnored => "idempotency_replay", partners: [
        "wallet_accounting": EXTRA_PAYOUT_UNSEEN_BY_MODEL,
    ];
    /// A replay (the same key and body, after the answer) gets the stored
    /// answer, and the server pays the same body again in secret: the
    /// client never hears of the second payout.
    ReplayRunsAgain => "idempotency_replay", partners: [
        "wallet_accounting": EXTRA_PAYOUT_UNSEEN_BY_MODEL,
        "idempotency_concurrent": "a copy sent together that arrives after the first answer is a replay, and is paid again too",
    ];
    /// A key reused with another body makes a new payout.
    KeyReuseAccepted => "idempotency_key_reuse", partners: [
        "wallet_accounting": EXTRA_PAYOUT_UNSEEN_BY_MODEL,
    ];
    /// Concurrent requests with one key make several payouts.
    ConcurrentDuplicates => "idempotency_concurrent", partners: [
        "wallet_accounting": EXTRA_PAYOUT_UNSEEN_BY_MODEL,
    ];
    /// A payout above the available is answered 202 (a made-up payout).
    DoubleSpend => "insufficient_balance", partners: [
        "lifecycle_legal": "the made-up payouts it accepts cannot be read back when the lane settles",
    ];
    /// The wallet's available reads 0 to 2 cents above what it is.
    /// Every wallet read shows the figures of the first read: the wallet
    /// never moves while payouts are accepted and SENT.
    WalletNeverMoves => "wallet_accounting", partners: [
        "insufficient_balance": "a 402 for an amount within the frozen available looks wrong",
    ];
    WalletDrift => "wallet_accounting" as Warning, partners: [
        "insufficient_balance": "a 402 for an amount within the drifted available looks wrong",
    ];
    /// A SENT payout reads PENDING later on.
    StateGoesBack => "lifecycle_legal";
    /// A sandbox test value fails with the wrong context.
    SandboxContextWrong => "sandbox_outcomes";
    /// The control API answers 200 to a move the state machine refuses.
    IllegalSupportTransition => "support_transitions";
    /// `GET /payouts/{id}` answers without `state`.
    MissingState => "lifecycle_legal", partners: [
        "response_schema": "state is a required field of a payout",
        "client_decodes": "the shipped client cannot read a body without a required field",
    ];
    /// Kenya's upper limit is 600,000 instead of 500,000.
    UpperLimitOff => "invalid_payout_rejected";
    /// A FAILED payout reads SENT later on.
    FailedThenSent => "lifecycle_legal", partners: [
        "wallet_accounting": "a payout shown SENT is money that left, but the wallet released it: the balance does not drop",
    ];
    /// The suite's fixture payouts are answered without `id`, and a read
    /// of `GET /payouts/` (no id) is answered with them, in turn.
    PayoutWithoutId => "payout_retrievable", partners: [
        "response_schema": "id is a required field of a payout",
        "client_decodes": "the shipped client cannot read a body without a required field",
    ];
    /// The second account paying with a payment account that is not its
    /// own gets 500, not a refusal.
    ForeignAccountCrashes => "tenant_isolation";
    /// The second account paying from a wallet that is not its own is
    /// served as the wallet's owner: the payout is made, from that wallet.
    ForeignWalletUsable => "tenant_isolation";
    /// Lists never end: the last page, and every page after it, has a
    /// `next` to one more empty page.
    EndlessPages => "pagination_walk" as Unjudged;
    /// After the first, every `GET /wallets` with a good key answers 500;
    /// payouts above 1,000 get 402 anyway.
    ShortWithUnreadableWallet => "valid_payout_accepted";
    /// The first account's payment accounts are answered without `id`.
    AccountWithoutId => "valid_payment_account_accepted", partners: [
        "response_schema": "id is a required field of a payment account",
        "client_decodes": "the shipped client cannot read a body without a required field",
    ];
    /// `GET /payouts/{id}` names `payment_account_id` `account_id`: the
    /// shipped client cannot read the payout.
    FieldRenamed => "client_decodes", partners: [
        "response_schema": "payment_account_id is a required field of a payout",
        "payout_retrievable": "the read-back lacks the payment_account_id the payout was created with",
        "lifecycle_legal": "the sequences cannot read a payout without its required payment_account_id",
    ];
    /// An accepted payout is answered `ON_HOLD`, a state the client's
    /// enum lacks (every 202 has one, so every run sees it).
    NewState => "client_decodes", partners: [
        "response_schema": "ON_HOLD is not one of the documented states",
        "lifecycle_legal": "ON_HOLD is not a state of the documented lifecycle",
        "valid_payout_accepted": "an accepted payout must be answered PENDING",
        "idempotency_key_required": "the payout sent with a 255-character key is accepted ON_HOLD, not PENDING",
        "wallet_accounting": "the sequences cannot follow payouts in a state they do not know, and the wallet's figures may then differ from the model's",
    ];
    /// Bank accounts at banks `GET /banks` does not list are accepted.
    UnknownBanksAccepted => "invalid_payment_account_rejected", partners: [
        "invalid_payout_rejected": "a payout's inline bank account at an unlisted bank is accepted too",
        "valid_payment_account_accepted": "the proxy moves every account with a branch to one bank, so the account answered is not the one sent",
    ];
    /// The first account's payouts to a payment account named by its id
    /// are refused (the id is sent on as one the mock does not know).
    PayByIdRefused => "valid_payout_accepted", partners: [
        "invalid_payout_rejected": "the payouts by id that break Kenya's rules are refused for an unknown account instead, naming payment_account_id",
    ];
    /// A payment account posted on its own gets another id than the same
    /// account named inline in a payout.
    StandaloneAccountsApart => "valid_payment_account_accepted";
    /// Every payout answer names a wallet the account does not have.
    WalletIdMisreported => "payout_retrievable", partners: [
        "valid_payout_accepted": "the payout that names its wallet is answered with another wallet_id",
    ];
    /// A payout that names its wallet is refused (the id is sent on as one
    /// the mock does not know).
    ExplicitWalletRefused => "valid_payout_accepted";
    /// Payout answers leave out the sender that was sent.
    SenderDropped => "payout_retrievable";
    /// A payout the sandbox sent reads FAILED (with the control API
    /// hidden: a reversal of a payout shown FAILED would be another fault).
    ValidSandboxPayoutFails => "sandbox_outcomes", partners: [
        "wallet_accounting": "the wallet model releases what the server settled: payouts shown FAILED were really sent",
    ];
}

impl Fault {
    /// Whether the proxy hides the control API, as a real server would
    /// not have it: for faults whose shown states a control move would
    /// contradict.
    fn hides_control(self) -> bool {
        matches!(self, Fault::ValidSandboxPayoutFails)
    }
}

struct Proxy {
    upstream: String,
    fault: Option<Fault>,
    http: reqwest::Client,
    /// Idempotency keys of requests on their way (ConcurrentDuplicates).
    in_flight: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Keys answered, with their body (IdempotencyIgnored).
    answered: std::sync::Mutex<std::collections::HashMap<String, Bytes>>,
    /// Real ids of the fixture payouts answered without one, oldest
    /// first (PayoutWithoutId).
    unnamed: std::sync::Mutex<std::collections::VecDeque<String>>,
    /// Wallet answers so far (WalletDrift, ShortWithUnreadableWallet).
    wallet_reads: std::sync::atomic::AtomicU32,
    /// Each wallet as first read, by id (WalletNeverMoves).
    first_wallets: std::sync::Mutex<std::collections::HashMap<String, Value>>,
    /// Payouts already seen FAILED (FailedThenSent).
    failed_seen: std::sync::Mutex<std::collections::HashSet<String>>,
    /// SENT answers per payout (StateGoesBack).
    sent_reads: std::sync::Mutex<std::collections::HashMap<String, u32>>,
    /// Idempotency keys of creates answered 202 (ReplayShowsLiveState).
    keys_seen: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The first account's 202 answers by idempotency key
    /// (IdempotencyKeysShared).
    first_account_answers: std::sync::Mutex<std::collections::HashMap<String, Value>>,
    /// Hide the control API, as a real server would not have it.
    hide_control: bool,
}

fn query_value(uri: &axum::http::Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn with_query(
    uri: &axum::http::Uri,
    edit: impl Fn(&str, &str) -> Option<(String, String)>,
) -> String {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .filter_map(|(k, v)| edit(&k, &v))
            .collect();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    if query.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{query}", uri.path())
    }
}

fn is_date(text: &str) -> bool {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

fn is_datetime(text: &str) -> bool {
    is_date(text) || chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// Rewrites the request on its way to the mock.
fn break_request(
    fault: Fault,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &mut HeaderMap,
) -> String {
    let path = uri.path();
    let bearer = |key: &str| HeaderValue::from_str(&format!("Bearer {key}")).unwrap();
    match fault {
        Fault::AuthOptional
            if !headers.contains_key("authorization")
                || !headers["authorization"]
                    .to_str()
                    .unwrap()
                    .contains("sk_test_faults") =>
        {
            headers.insert("authorization", bearer(KEYS[0]));
        }
        Fault::LooseKeyMatch
            if headers.get("authorization").is_some_and(|a| {
                let a = a.to_str().unwrap_or_default();
                a == "Bearer"
                    || (a.starts_with(&format!("Bearer {}", KEYS[0]))
                        && a != format!("Bearer {}", KEYS[0]))
            }) =>
        {
            headers.insert("authorization", bearer(KEYS[0]));
        }
        Fault::IdempotencyKeyOptional if method == Method::POST && path.ends_with("/payouts") => {
            let usable = headers
                .get("x-idempotency-key")
                .is_some_and(|k| k.len() <= 255);
            if !usable {
                headers.insert(
                    "x-idempotency-key",
                    HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap(),
                );
            }
        }
        Fault::TenantLeak if path.contains("/payouts/") => {
            headers.insert("authorization", bearer(KEYS[0]));
        }
        Fault::LimitClamped => {
            return with_query(uri, |k, v| match (k, v.parse::<i64>()) {
                ("paging_limit", Ok(n)) => Some((k.into(), n.clamp(1, 50).to_string())),
                ("paging_limit", Err(_)) => None,
                _ => Some((k.into(), v.into())),
            });
        }
        Fault::BadCursorIgnored => {
            return with_query(uri, |k, v| {
                (k != "paging_after"
                    || v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_=".contains(c)))
                .then(|| (k.into(), v.into()))
            });
        }
        Fault::BadDateIgnored => {
            return with_query(uri, |k, v| {
                (!k.starts_with("created_at") || is_datetime(v)).then(|| (k.into(), v.into()))
            });
        }
        Fault::DateToIsStartOfDay => {
            return with_query(uri, |k, v| {
                Some((
                    k.into(),
                    match (k, chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")) {
                        ("created_at_to", Ok(date)) => format!("{date}T00:00:00Z"),
                        _ => v.into(),
                    },
                ))
            });
        }
        Fault::DateToIsDayBefore => {
            return with_query(uri, |k, v| {
                Some((
                    k.into(),
                    if let (true, Ok(date)) = (
                        k == "created_at_to",
                        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d"),
                    ) {
                        format!("{}T00:00:00Z", date - chrono::Days::new(1))
                    } else {
                        v.into()
                    },
                ))
            });
        }
        _ => {}
    }
    uri.path_and_query()
        .map_or(path.to_string(), |p| p.to_string())
}

/// Rewrites the mock's answer on its way back.
fn break_response(
    fault: Fault,
    method: &Method,
    uri: &axum::http::Uri,
    status: &mut StatusCode,
    headers: &mut HeaderMap,
    body: &mut Value,
) {
    let path = uri.path();
    let is_get_payout = method == Method::GET && path.starts_with("/v1/payouts/");
    match fault {
        Fault::UndocumentedStatus if is_get_payout && *status == StatusCode::NOT_FOUND => {
            *status = StatusCode::BAD_REQUEST
        }
        Fault::MalformedIdRefused
            if is_get_payout
                && *status == StatusCode::NOT_FOUND
                && !path.trim_start_matches("/v1/payouts/").starts_with("pyt-") =>
        {
            *status = StatusCode::UNPROCESSABLE_ENTITY;
            *body = validation_failed("id", "must be a payout id (pyt-...)");
        }
        Fault::SchemaBreakingBody if is_get_payout => {
            body["data"].as_object_mut().map(|d| d.remove("wallet_id"));
        }
        Fault::TextContentType if path.ends_with("/wallets") => {
            headers.insert("content-type", HeaderValue::from_static("text/plain"));
        }
        Fault::WrongErrorCode if *status == StatusCode::NOT_FOUND => {
            body["code"] = json!("MISSING")
        }
        Fault::SpuriousInsufficientBalance | Fault::ShortWithUnreadableWallet
            if method == Method::POST
                && path.ends_with("/payouts")
                && *status == StatusCode::ACCEPTED =>
        {
            let amount = body
                .pointer("/data/amount/value")
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<rust_decimal::Decimal>().ok())
                .unwrap_or_default();
            if amount > rust_decimal::Decimal::ONE_THOUSAND {
                *status = StatusCode::PAYMENT_REQUIRED;
                *body = json!({"code": "WALLET_INSUFFICIENT_BALANCE", "message": "short"});
            }
        }
        Fault::ValidationFieldsLost
            if method == Method::POST
                && path.ends_with("/payouts")
                && *status == StatusCode::UNPROCESSABLE_ENTITY =>
        {
            body["errors"] = json!({"fields": {"request": ["is invalid"]}});
        }
        Fault::AccountValidationFieldsLost
            if path.ends_with("/payment-accounts")
                && *status == StatusCode::UNPROCESSABLE_ENTITY =>
        {
            body["errors"] = json!({"fields": {"request": ["is invalid"]}});
        }
        Fault::AlwaysCreatedAccount
            if method == Method::POST
                && path.ends_with("/payment-accounts")
                && *status == StatusCode::OK =>
        {
            *status = StatusCode::CREATED;
        }
        Fault::AmountChangesOnRead if is_get_payout && *status == StatusCode::OK => {
            body["data"]["amount"]["value"] = json!("1.00")
        }
        Fault::UnknownIdFound
            if is_get_payout
                && *status == StatusCode::NOT_FOUND
                && path.trim_start_matches("/v1/payouts/").starts_with("pyt-") =>
        {
            let id = path.rsplit('/').next().unwrap();
            *status = StatusCode::OK;
            *body = json!({"data": {"id": id, "amount": {"value": "140.00", "currency": "KES"}, "payment_account_id": "pac-x",
                "wallet_id": "wlt-x", "state": {"code": "PENDING"}, "created_at": "2026-01-01T00:00:00Z"}});
        }
        Fault::PageItemSkipped if query_value(uri, "paging_after").is_some() => {
            body["data"]
                .as_array_mut()
                .filter(|d| !d.is_empty())
                .map(|d| d.remove(0));
        }
        Fault::FieldRenamed if is_get_payout && *status == StatusCode::OK => {
            if let Some(data) = body["data"].as_object_mut() {
                let id = data.remove("payment_account_id").unwrap_or_default();
                data.insert("account_id".into(), id);
            }
        }
        Fault::NewState
            if method == Method::POST
                && path.ends_with("/payouts")
                && *status == StatusCode::ACCEPTED =>
        {
            body["data"]["state"]["code"] = json!("ON_HOLD");
        }
        Fault::MissingState if is_get_payout && *status == StatusCode::OK => {
            body["data"].as_object_mut().map(|d| d.remove("state"));
        }
        Fault::StandaloneAccountsApart
            if method == Method::POST
                && path.ends_with("/payment-accounts")
                && status.is_success() =>
        {
            if let Some(rest) = body
                .pointer("/data/id")
                .and_then(Value::as_str)
                .and_then(|id| id.strip_prefix("pac-"))
            {
                body["data"]["id"] = json!(format!("pac-S{rest}"));
            }
        }
        Fault::WalletIdMisreported => {
            for payout in payouts_in(method, path, body) {
                if let Some(rest) = payout["wallet_id"]
                    .as_str()
                    .and_then(|id| id.strip_prefix("wlt-"))
                {
                    payout["wallet_id"] = json!(format!("wlt-X{rest}"));
                }
            }
        }
        Fault::SenderDropped => {
            for payout in payouts_in(method, path, body) {
                payout.as_object_mut().map(|p| p.remove("sender"));
            }
        }
        Fault::ValidSandboxPayoutFails if method == Method::GET => {
            for payout in payouts_in(method, path, body) {
                if payout.pointer("/state/code") == Some(&json!("SENT")) {
                    payout["state"] = json!({"code": "FAILED"});
                }
            }
        }
        Fault::SandboxContextWrong
            if is_get_payout && body.pointer("/data/state/context").is_some() =>
        {
            let wrong = if body["data"]["state"]["context"] == "PAYMENT_ACCOUNT_LIMIT_REACHED" {
                "WALLET_INSUFFICIENT_BALANCE"
            } else {
                "PAYMENT_ACCOUNT_LIMIT_REACHED"
            };
            body["data"]["state"]["context"] = json!(wrong);
        }
        _ => {}
    }
}

/// The payouts in an answer: the one created (POST /payouts), read
/// (GET /payouts/{id}) or moved by the control API, or the items of a page
/// of GET /payouts.
fn payouts_in<'a>(method: &Method, path: &str, body: &'a mut Value) -> Vec<&'a mut Value> {
    let one = (method == Method::POST && path == "/v1/payouts")
        || (method == Method::GET && path.starts_with("/v1/payouts/"))
        || path.starts_with("/_sandbox/payouts/");
    let page = method == Method::GET && path == "/v1/payouts";
    match body.get_mut("data") {
        Some(data) if one && data.is_object() => vec![data],
        Some(Value::Array(items)) if page => items.iter_mut().collect(),
        _ => Vec::new(),
    }
}

/// Faults that need the proxy's memory or a second upstream request.
async fn break_statefully(
    proxy: &Proxy,
    request: &Sent,
    status: &mut StatusCode,
    body: &mut Value,
) {
    let path = request.uri.path();
    let key = |slot: usize| {
        request
            .headers
            .get("authorization")
            .is_some_and(|a| a.to_str().ok() == Some(&format!("Bearer {}", KEYS[slot])))
    };
    let sent: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let is_list = request.method == Method::GET
        && (path.ends_with("/payouts") || path.ends_with("/payment-accounts"));
    let is_create = request.method == Method::POST && path == "/v1/payouts";
    let keyless = !request.headers.contains_key("authorization");
    let idempotency_key = request
        .headers
        .get("x-idempotency-key")
        .and_then(|k| k.to_str().ok())
        .map(str::to_string);
    match proxy.fault {
        Some(Fault::KeyAskedLast) if keyless && *status == StatusCode::UNAUTHORIZED => {
            let mut headers = request.headers.clone();
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {}", KEYS[0])).unwrap(),
            );
            if request.method == Method::GET && path.starts_with("/v1/payouts/") {
                let id = path.trim_start_matches("/v1/payouts/");
                let (got_status, got) = proxy.read_payout(id, &headers).await;
                if got_status == StatusCode::NOT_FOUND {
                    (*status, *body) = (got_status, got);
                }
            } else if request.method == Method::POST && sent == json!({}) {
                *status = StatusCode::UNPROCESSABLE_ENTITY;
                *body = validation_failed("amount", "is required");
            }
        }
        Some(Fault::ContentTypeAfterValidation)
            if request.method == Method::POST
                && !request.headers.contains_key("content-type")
                && sent == json!({})
                && *status == StatusCode::BAD_REQUEST =>
        {
            *status = StatusCode::UNPROCESSABLE_ENTITY;
            *body = validation_failed("amount", "is required");
        }
        Some(Fault::ReplayShowsLiveState) if is_create && *status == StatusCode::ACCEPTED => {
            let Some(key) = idempotency_key else { return };
            let seen = !proxy.keys_seen.lock().unwrap().insert(key);
            if let (true, Some(id)) = (seen, body.pointer("/data/id").and_then(Value::as_str)) {
                let id = id.to_string();
                let (_, now) = proxy.read_payout(&id, &request.headers).await;
                body["data"] = now["data"].clone();
            }
        }
        Some(Fault::IdempotencyKeysShared) if is_create => {
            let Some(used) = idempotency_key else { return };
            if key(0) && *status == StatusCode::ACCEPTED {
                proxy
                    .first_account_answers
                    .lock()
                    .unwrap()
                    .insert(used, body.clone());
            } else if key(1) {
                let theirs = proxy
                    .first_account_answers
                    .lock()
                    .unwrap()
                    .get(&used)
                    .cloned();
                if let Some(theirs) = theirs {
                    (*status, *body) = (StatusCode::ACCEPTED, theirs);
                }
            }
        }
        Some(Fault::PayoutWithoutId)
            if request.method == Method::POST
                && path.ends_with("/payouts")
                && *status == StatusCode::ACCEPTED
                && is_fixture(&sent) =>
        {
            if let Some(Value::String(id)) =
                body["data"].as_object_mut().and_then(|d| d.remove("id"))
            {
                proxy.unnamed.lock().unwrap().push_back(id);
            }
        }
        Some(Fault::PayoutWithoutId) if path == "/v1/payouts/" && request.method == Method::GET => {
            let next = {
                let mut unnamed = proxy.unnamed.lock().unwrap();
                let next = unnamed.pop_front();
                unnamed.extend(next.clone());
                next
            };
            if let Some(id) = next {
                let (got_status, mut got) = proxy.read_payout(&id, &request.headers).await;
                got["data"].as_object_mut().map(|d| d.remove("id"));
                (*status, *body) = (got_status, got);
            }
        }
        Some(Fault::ForeignAccountCrashes)
            if request.method == Method::POST
                && path.ends_with("/payouts")
                && key(1)
                && sent.get("payment_account_id").is_some()
                && status.is_client_error() =>
        {
            *status = StatusCode::INTERNAL_SERVER_ERROR;
            *body = json!({"code": "INTERNAL_SERVER_ERROR", "message": "An internal error has occurred."});
        }
        Some(Fault::ForeignWalletUsable)
            if request.method == Method::POST
                && path.ends_with("/payouts")
                && key(1)
                && sent.get("wallet_id").is_some()
                && status.is_client_error() =>
        {
            let mut headers = request.headers.clone();
            let owner = HeaderValue::from_str(&format!("Bearer {}", KEYS[0])).unwrap();
            headers.insert("authorization", owner);
            (*status, *body) = proxy
                .send(&Method::POST, path, headers, request.body.clone())
                .await;
        }
        Some(Fault::EndlessPages) if is_list => {
            let after = query_value(&request.uri, "paging_after");
            let n: Option<u32> = after
                .as_deref()
                .and_then(|a| a.strip_prefix("endless"))
                .and_then(|n| n.parse().ok());
            if n.is_some() {
                *status = StatusCode::OK;
                *body = json!({"data": [], "meta": {"paging": {}}});
            }
            if *status == StatusCode::OK && body.pointer("/meta/paging/next").is_none() {
                let cursor = format!("endless{}", n.unwrap_or(0) + 1);
                let target = with_query(&request.uri, |k, v| {
                    (k != "paging_after").then(|| (k.into(), v.into()))
                });
                let glue = if target.contains('?') { '&' } else { '?' };
                body["meta"]["paging"] = json!({
                    "cursors": {"after": cursor},
                    "next": format!("{}{target}{glue}paging_after={cursor}", proxy.upstream),
                });
            }
        }
        Some(Fault::ShortWithUnreadableWallet)
            if path.ends_with("/wallets") && *status == StatusCode::OK =>
        {
            let n = proxy
                .wallet_reads
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n > 0 {
                *status = StatusCode::INTERNAL_SERVER_ERROR;
                *body = json!({"code": "INTERNAL_SERVER_ERROR", "message": "An internal error has occurred."});
            }
        }
        Some(Fault::AccountWithoutId)
            if request.method == Method::POST
                && path.ends_with("/payment-accounts")
                && key(0)
                && status.is_success() =>
        {
            body["data"].as_object_mut().map(|d| d.remove("id"));
        }
        Some(Fault::DoubleSpend) if *status == StatusCode::PAYMENT_REQUIRED => {
            let sent: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            *status = StatusCode::ACCEPTED;
            *body = json!({"data": {"id": format!("pyt-{}", uuid::Uuid::new_v4().simple()), "amount": sent["amount"],
                "payment_account_id": "pac-fake", "wallet_id": "wlt-fake", "state": {"code": "PENDING"},
                "created_at": chrono::Utc::now().to_rfc3339()}});
        }
        Some(Fault::WalletNeverMoves)
            if path.ends_with("/wallets") && *status == StatusCode::OK =>
        {
            let mut first = proxy.first_wallets.lock().unwrap();
            for wallet in body["data"].as_array_mut().into_iter().flatten() {
                let id = wallet["id"].as_str().unwrap_or_default().to_string();
                *wallet = first.entry(id).or_insert_with(|| wallet.clone()).clone();
            }
        }
        Some(Fault::WalletDrift) if path.ends_with("/wallets") && *status == StatusCode::OK => {
            let n = proxy
                .wallet_reads
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            for wallet in body["data"].as_array_mut().into_iter().flatten() {
                let available: rust_decimal::Decimal =
                    wallet["available"].as_str().unwrap().parse().unwrap();
                wallet["available"] = json!(
                    (available + rust_decimal::Decimal::new(i64::from(n % 3), 2)).to_string()
                );
            }
        }
        Some(Fault::StateGoesBack)
            if path.starts_with("/v1/payouts/")
                && body.pointer("/data/state/code") == Some(&json!("SENT")) =>
        {
            let mut reads = proxy.sent_reads.lock().unwrap();
            let count = reads.entry(path.to_string()).or_default();
            *count += 1;
            if *count >= 2 {
                body["data"]["state"] = json!({"code": "PENDING"});
            }
        }
        Some(Fault::FailedThenSent)
            if path.starts_with("/v1/payouts/") && *status == StatusCode::OK =>
        {
            let mut failed = proxy.failed_seen.lock().unwrap();
            if body.pointer("/data/state/code") == Some(&json!("FAILED"))
                && !failed.insert(path.to_string())
            {
                body["data"]["state"] = json!({"code": "SENT"});
            }
        }
        Some(Fault::IllegalSupportTransition)
            if path.starts_with("/_sandbox/payouts/") && *status == StatusCode::CONFLICT =>
        {
            let id = path.split('/').nth(3).unwrap();
            let (_, current) = proxy.read_payout(id, &request.headers).await;
            (*status, *body) = (StatusCode::OK, current);
        }
        _ => {}
    }
}

/// The request as it went upstream.
struct Sent {
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Proxy {
    async fn send(
        &self,
        method: &Method,
        target: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, Value) {
        let answer = self
            .http
            .request(method.clone(), format!("{}{target}", self.upstream))
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// `GET /v1/payouts/{id}` upstream, with the request's own headers.
    async fn read_payout(&self, id: &str, headers: &HeaderMap) -> (StatusCode, Value) {
        let target = format!("/v1/payouts/{id}");
        self.send(&Method::GET, &target, headers.clone(), Bytes::new())
            .await
    }
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if proxy.hide_control && parts.uri.path().starts_with("/_sandbox") {
        return (StatusCode::NOT_FOUND, "no such route").into_response();
    }
    let mut body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let sent_as_json = parts
        .headers
        .get("content-type")
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if proxy.fault == Some(Fault::NotJsonIsValidation)
        && parts.method == Method::POST
        && !sent_as_json
        && !parts.uri.path().starts_with("/_sandbox")
    {
        let envelope = json!({"code": "VALIDATION_FAILED", "message": "Validation failed.",
            "errors": {"fields": {"body": ["must be sent as application/json"]}}});
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(envelope)).into_response();
    }
    if proxy.fault == Some(Fault::UnknownBanksAccepted) {
        body = known_banks_only(body);
    }
    if parts.method == Method::POST && parts.uri.path() == "/v1/payouts" {
        let first_account = parts
            .headers
            .get("authorization")
            .is_some_and(|a| a.to_str().ok() == Some(&format!("Bearer {}", KEYS[0])));
        match proxy.fault {
            Some(Fault::PayByIdRefused) if first_account => {
                body = unknown_id(body, "payment_account_id", "pac-");
            }
            Some(Fault::ExplicitWalletRefused) => body = unknown_id(body, "wallet_id", "wlt-"),
            _ => {}
        }
    }
    let mut headers = parts.headers.clone();
    let target = match proxy.fault {
        Some(fault) => break_request(fault, &parts.method, &parts.uri, &mut headers),
        None => parts.uri.path_and_query().unwrap().to_string(),
    };
    headers.remove("host");
    headers.remove("content-length");
    // ConcurrentDuplicates: a key already on its way is swapped for a fresh one.
    let mut claimed = None;
    if proxy.fault == Some(Fault::ConcurrentDuplicates)
        && parts.method == Method::POST
        && parts.uri.path().ends_with("/payouts")
        && let Some(key) = headers
            .get("x-idempotency-key")
            .and_then(|k| k.to_str().ok())
            .map(str::to_string)
    {
        if proxy.in_flight.lock().unwrap().insert(key.clone()) {
            claimed = Some(key);
        } else {
            headers.insert(
                "x-idempotency-key",
                HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap(),
            );
        }
        // Widen the window in which copies overlap.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let first_of_key = ignore_retries(&proxy, &parts.method, parts.uri.path(), &mut headers, &body);
    let replayed =
        replay_runs_again(&proxy, &parts.method, parts.uri.path(), &headers, &body).await;
    let answer = proxy
        .http
        .request(parts.method.clone(), format!("{}{target}", proxy.upstream))
        .headers(headers.clone())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let mut status = answer.status();
    let mut response_headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap();
    if let Some(key) = claimed {
        proxy.in_flight.lock().unwrap().remove(&key);
    }
    if let Some(key) = replayed {
        proxy.answered.lock().unwrap().insert(key, body.clone());
    }
    if let Some(key) = first_of_key {
        // Copies sent together (the sequences' concurrent step) arrive
        // meanwhile and go on unchanged; a retry can only follow the answer.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        proxy.answered.lock().unwrap().insert(key, body.clone());
    }
    let mut json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(fault) = proxy.fault {
        break_response(
            fault,
            &parts.method,
            &parts.uri,
            &mut status,
            &mut response_headers,
            &mut json,
        );
        let sent = Sent {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers,
            body,
        };
        break_statefully(&proxy, &sent, &mut status, &mut json).await;
    }
    response_headers.remove("content-length");
    // `next` links point at the mock; send them through the proxy instead.
    let text = json.to_string().replace(
        &proxy.upstream,
        &format!("http://{}", parts.headers["host"].to_str().unwrap()),
    );
    let mut response = (status, Body::from(text)).into_response();
    *response.headers_mut() = response_headers;
    response
}

/// A 422 VALIDATION_FAILED naming `field`.
fn validation_failed(field: &str, reason: &str) -> Value {
    json!({"code": "VALIDATION_FAILED", "message": "Validation failed.",
        "errors": {"fields": {field: [reason]}}})
}

/// Whether a payout request is one of the suite's fixtures (or made like
/// one): the holder and mobile numbers of `runner::fixture_payout`.
fn is_fixture(sent: &Value) -> bool {
    let account = &sent["payment_account"];
    account["holder"]["name"] == "Contract Fixture"
        && account["mobile_money"]["number"]
            .as_str()
            .is_some_and(|n| n.starts_with("+25471234567"))
}

/// IdempotencyIgnored: a retry (a key already answered, with the same body)
/// is sent on with a fresh key; KeyReuseAccepted: so is a key already
/// answered with another body. Only the second account's payouts: the
/// sequences that replay run on it, and the rest of the suite need not
/// wait. The key to note as answered once this request is, if any.
fn ignore_retries(
    proxy: &Proxy,
    method: &Method,
    path: &str,
    headers: &mut HeaderMap,
    body: &Bytes,
) -> Option<String> {
    let second_account = headers
        .get("authorization")
        .is_some_and(|a| a.to_str().ok() == Some(&format!("Bearer {}", KEYS[1])));
    let same_body_again = match proxy.fault {
        Some(Fault::IdempotencyIgnored) => true,
        Some(Fault::KeyReuseAccepted) => false,
        _ => return None,
    };
    if method != Method::POST || !path.ends_with("/payouts") || !second_account {
        return None;
    }
    let key = headers.get("x-idempotency-key")?.to_str().ok()?.to_string();
    let answered = proxy.answered.lock().unwrap().get(&key).cloned();
    if answered.is_some_and(|first| (first == *body) == same_body_again) {
        headers.insert(
            "x-idempotency-key",
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap(),
        );
        return None;
    }
    Some(key)
}

/// ReplayRunsAgain: a second-account create whose key was answered for the
/// same body is sent on as it is (the mock replays the answer) and, in
/// secret, once more under a fresh key. The key to note as answered once
/// this request is, when it is the first of its key.
async fn replay_runs_again(
    proxy: &Proxy,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<String> {
    let second_account = headers
        .get("authorization")
        .is_some_and(|a| a.to_str().ok() == Some(&format!("Bearer {}", KEYS[1])));
    if proxy.fault != Some(Fault::ReplayRunsAgain)
        || method != Method::POST
        || path != "/v1/payouts"
        || !second_account
    {
        return None;
    }
    let key = headers.get("x-idempotency-key")?.to_str().ok()?.to_string();
    let answered = proxy.answered.lock().unwrap().get(&key).cloned();
    match answered {
        Some(first) if first == *body => {
            let mut hidden = headers.clone();
            hidden.insert(
                "x-idempotency-key",
                HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap(),
            );
            proxy.send(method, path, hidden, body.clone()).await;
            None
        }
        Some(_) => None,
        None => Some(key),
    }
}

/// UnknownBanksAccepted: a bank account at a bank the mock does not list
/// is sent on as one at a bank it does (without a branch).
fn known_banks_only(body: Bytes) -> Bytes {
    let Ok(mut json) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    for pointer in ["/bank_account", "/payment_account/bank_account"] {
        let Some(details) = json.pointer_mut(pointer).and_then(Value::as_object_mut) else {
            continue;
        };
        let unlisted = details
            .get("bank_id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.starts_with("bnk-ContractUnlisted"));
        if unlisted || details.contains_key("branch_id") {
            details.insert("bank_id".into(), json!(KNOWN_BANK));
            details.remove("branch_id");
        }
    }
    Bytes::from(json.to_string())
}

/// PayByIdRefused, ExplicitWalletRefused: a payout body whose `field` is a
/// well-formed id (`prefix` and letters or digits) is sent on with an id
/// the mock does not know. Malformed ids (the validation checks' faults)
/// go on unchanged; so does a body naming an inline account as well.
fn unknown_id(body: Bytes, field: &str, prefix: &str) -> Bytes {
    let Ok(mut json) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let well_formed = json[field]
        .as_str()
        .and_then(|id| id.strip_prefix(prefix))
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()));
    if !well_formed || (field == "payment_account_id" && json.get("payment_account").is_some()) {
        return body;
    }
    json[field] = json!(format!("{prefix}0unknown"));
    Bytes::from(json.to_string())
}

/// A bank the mock lists.
const KNOWN_BANK: &str = "bnk-2WLXe1TjI7xZ4vNw6yBj2EsTk0M";

/// The mock behind a proxy with `fault`; the proxy's base URL.
async fn faulty_server(
    fault: Option<Fault>,
    hide_control: bool,
) -> (String, rafiki_mock::MockHandle) {
    let mut config = rafiki_mock::Config::for_contract_suite(KEYS);
    config.processing_delay = std::time::Duration::from_millis(20);
    if fault == Some(Fault::UpperLimitOff) {
        let yaml = include_str!("../../../spec/compliance.yaml")
            .replace("max: \"500000\"", "max: \"600000\"");
        assert!(
            yaml.contains("600000"),
            "the KE limit moved in spec/compliance.yaml"
        );
        config.compliance = Arc::new(rafiki_rules::ComplianceTable::from_yaml_str(&yaml).unwrap());
    }
    let mock = rafiki_mock::spawn(config).await.unwrap();
    let upstream = mock.base_url().trim_end_matches("/v1").to_string();
    let proxy = Arc::new(Proxy {
        upstream,
        fault,
        http: reqwest::Client::new(),
        in_flight: Default::default(),
        answered: Default::default(),
        wallet_reads: Default::default(),
        first_wallets: Default::default(),
        unnamed: Default::default(),
        failed_seen: Default::default(),
        sent_reads: Default::default(),
        keys_seen: Default::default(),
        first_account_answers: Default::default(),
        hide_control,
    });
    let app = Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base_url, mock)
}

async fn run_against(fault: Option<Fault>, checks: Vec<String>, seed: u64) -> Report {
    let (base_url, _mock) = faulty_server(fault, fault.is_some_and(Fault::hides_control)).await;
    let mut config = RunConfig::new(base_url, KEYS[0]);
    config.api_key_2 = Some(KEYS[1].into());
    config.checks = checks;
    config.max_examples = 40;
    config.poll_deadline = std::time::Duration::from_secs(5);
    config.seed = Some(seed);
    rafiki_contract::run(&config).await.unwrap()
}

/// The seeds a test runs on: `RAFIKI_TEST_SEEDS=N` runs N of them (the
/// note's 20-seed figures), CI runs one.
fn seeds(default: u64) -> Vec<u64> {
    let count: u64 = std::env::var("RAFIKI_TEST_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    (0..count).map(|i| default + i * 7919).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_mock_passes_every_check() {
    let report = run_against(None, Vec::new(), 7).await;
    assert!(!report.failed(), "{}", report.render());
    let warned: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.warned > 0 && !background(c))
        .map(|c| c.name)
        .collect();
    assert!(warned.is_empty(), "{warned:?} warned:\n{}", report.render());
    let totals = report.totals();
    assert!(
        totals.passed > 500 && totals.skipped == 0,
        "{}",
        report.render()
    );
}

/// Every check has a fault that it must catch, by construction of the
/// fault list; and every name the list uses is a check.
#[test]
fn every_check_is_targeted_by_a_fault() {
    let names: Vec<&str> = rafiki_contract::CHECKS.iter().map(|c| c.name).collect();
    let uncovered: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !Fault::ALL.iter().any(|f| f.check() == *name))
        .collect();
    assert!(
        uncovered.is_empty(),
        "checks no fault targets (add a fault for each): {uncovered:?}"
    );
    for (name, _) in BACKGROUND_WARNINGS {
        assert!(names.contains(name), "background warnings: no check {name}");
    }
    for fault in Fault::ALL {
        assert!(
            names.contains(&fault.check()),
            "{fault:?}: no check {}",
            fault.check()
        );
        for (partner, why) in fault.partners() {
            assert!(names.contains(partner), "{fault:?}: no check {partner}");
            assert!(
                *partner != fault.check(),
                "{fault:?}: its own check as a partner"
            );
            assert!(!why.is_empty(), "{fault:?}: {partner} without a reason");
        }
    }
}

/// Warnings a correct server draws too, from timing alone: allowed in any
/// run, with the reason. Failures never are.
const BACKGROUND_WARNINGS: &[(&str, &str)] = &[(
    "insufficient_balance",
    "a payout released between the wallet read and a create lets one above the read available through: a race it only warns about",
)];

/// Whether `check` only warned, and may do so on a correct server.
fn background(check: &rafiki_contract::CheckResult) -> bool {
    check.failed == 0
        && !check.unfinished
        && BACKGROUND_WARNINGS
            .iter()
            .any(|(name, _)| *name == check.name)
}

/// The faults `RAFIKI_TEST_FAULTS=DoubleSpend,MissingState` names, or all.
fn selected_faults() -> Vec<Fault> {
    let only = std::env::var("RAFIKI_TEST_FAULTS").unwrap_or_default();
    let faults: Vec<Fault> = Fault::ALL
        .iter()
        .copied()
        .filter(|f| only.is_empty() || only.split(',').any(|n| n == format!("{f:?}")))
        .collect();
    assert!(!faults.is_empty(), "RAFIKI_TEST_FAULTS names no fault");
    faults
}

/// What is wrong with a run against `fault` with every check selected:
/// its own check did not catch it (with reproductions), or a check that
/// is not one of its partners failed or warned too.
fn judge(fault: Fault, report: &Report) -> Vec<String> {
    let mut problems = Vec::new();
    let own = report.check(fault.check()).unwrap();
    let reproducible = |cases: &[rafiki_contract::Failure]| {
        cases
            .iter()
            .all(|f| f.curl.as_deref().is_some_and(|c| c.contains("curl -sS")))
    };
    let caught = match fault.caught() {
        Caught::Failure => own.failed > 0 && reproducible(&own.failures),
        Caught::Warning => own.warned > 0 && reproducible(&own.warnings),
        Caught::Unjudged => own.passed == 0 && own.failed == 0 && own.skipped > 0,
    };
    if !caught {
        problems.push(format!(
            "not caught by {} (as a {:?})",
            fault.check(),
            fault.caught()
        ));
    }
    problems.extend(debug_leaks(report));
    for other in &report.checks {
        let raised = other.failed > 0 || other.warned > 0 || other.unfinished;
        let partner = fault.partners().iter().any(|(p, _)| *p == other.name);
        if other.name != fault.check() && raised && !partner && !background(other) {
            problems.push(format!(
                "{} also {} and is not a named partner",
                other.name,
                other.verdict()
            ));
        }
    }
    problems
}

/// Rust `Debug` formatting in what a user reads of `report`, one line
/// each: in the prose of every failure, warning and skip (`debug_syntax`),
/// and anywhere in the three renderings (`debug_structure`). Every fault
/// makes its checks fail or warn, so across the faults every kind of
/// failure is rendered here.
fn debug_leaks(report: &Report) -> Vec<String> {
    let mut leaks = Vec::new();
    for check in &report.checks {
        let cases = check.failures.iter().chain(&check.warnings);
        let prose = cases
            .flat_map(|case| {
                [
                    ("expected", Some(&case.expected)),
                    ("got", Some(&case.actual)),
                    ("input", case.input.as_ref()),
                ]
            })
            .chain([("skip_reason", check.skip_reason.as_ref())]);
        for (field, text) in prose {
            let Some(text) = text else { continue };
            if let Some(snippet) = debug_syntax(text) {
                leaks.push(format!(
                    "{}'s {field} shows `{snippet}` (Rust Debug formatting): {text}",
                    check.name
                ));
            }
        }
    }
    for (rendering, text) in [
        ("terminal report", report.render()),
        ("JSON report", report.json()),
        ("JUnit report", report.junit()),
    ] {
        if let Some(snippet) = debug_structure(&text) {
            leaks.push(format!(
                "the {rendering} shows `{snippet}` (Rust Debug formatting)"
            ));
        }
    }
    leaks
}

/// The first snippet of Rust `Debug` formatting in a line of prose, if
/// any: the shapes of [`debug_structure`], a Rust name in CamelCase
/// (`UnknownBank`, `PostalCode`: an uppercase letter, lowercase letters,
/// then another uppercase letter, in a word of letters only), or a
/// bracketed list of quoted strings (`["pyt-a", "pyt-b"]`) or of
/// capitalised words (`[Pending, Sent]`).
///
/// The last two are looked for only outside JSON objects and URLs: a
/// server's body, its keys and the generated names in it may hold any
/// word, and a cursor in a URL is random letters. Words joined by `-` or
/// `_` (`X-Idempotency-Key`, `IDEMPOTENCY_RACE`, `pyt-3N30RjT6Ezth`) and
/// words with digits or dots (`E.164`) are not Rust names.
fn debug_syntax(text: &str) -> Option<&str> {
    if let Some(snippet) = debug_structure(text) {
        return Some(snippet);
    }
    for span in prose_spans(text) {
        let words = span.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        if let Some(word) = words.into_iter().find(|word| is_camel_case(word)) {
            return Some(word);
        }
        if let Some(at) = span.find("[\"") {
            return Some(&span[at..(at + 2)]);
        }
        let mut rest = span;
        while let Some(at) = rest.find('[') {
            let after = &rest[(at + 1)..];
            let word = after
                .find(|c: char| !c.is_ascii_alphabetic())
                .map_or(after, |end| &after[..end]);
            let capitalised = word.len() > 1
                && word.starts_with(|c: char| c.is_ascii_uppercase())
                && word[1..].chars().all(|c| c.is_ascii_lowercase());
            if capitalised
                && (after[word.len()..].starts_with(", ") || after[word.len()..].starts_with(']'))
            {
                return Some(&rest[at..(at + 1 + word.len())]);
            }
            rest = after;
        }
    }
    None
}

/// The first snippet of `Debug` shapes that nothing a user reads holds,
/// not even a body or a curl line (so whole renderings are searched):
/// `Some(`, a list of tuples `[(`, and a struct or enum variant with
/// fields, `Word { ` (or `Word {` and a new line, as `{:#?}` writes it).
fn debug_structure(text: &str) -> Option<&str> {
    for marker in ["Some(", "[("] {
        if let Some(at) = text.find(marker) {
            return Some(&text[at..(at + marker.len())]);
        }
    }
    let mut from = 0;
    while let Some(found) = text[from..].find(" {") {
        let at = from + found;
        let opened = text[(at + 2)..].starts_with([' ', '\n']);
        let start = text[..at]
            .char_indices()
            .rev()
            .find(|(_, c)| !c.is_ascii_alphanumeric())
            .map_or(0, |(i, c)| i + c.len_utf8());
        if opened && text[start..at].starts_with(|c: char| c.is_ascii_uppercase()) {
            return Some(&text[start..(at + 2)]);
        }
        from = at + 2;
    }
    None
}

/// Whether `word` is a Rust name in CamelCase: letters only, an
/// uppercase letter, lowercase letters, then another uppercase letter,
/// and every uppercase letter starting a run of lowercase ones (so
/// `UnknownBank` is one, an acronym such as `OpenAPI` or `KES` is not).
fn is_camel_case(word: &str) -> bool {
    let capitals = word.chars().filter(char::is_ascii_uppercase).count();
    word.chars().all(|c| c.is_ascii_alphabetic())
        && word.starts_with(|c: char| c.is_ascii_uppercase())
        && capitals >= 2
        && word
            .char_indices()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .all(|(i, _)| word[(i + 1)..].starts_with(|c: char| c.is_ascii_lowercase()))
}

/// `text` without its JSON objects (from `{"` or `{}` to the brace that
/// closes it, or the end: bodies are cut) and its URLs (to the next space
/// or backtick).
fn prose_spans(text: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let skip = if rest.starts_with("{\"") || rest.starts_with("{}") {
            Some(json_object_len(rest))
        } else if rest.starts_with("http://") || rest.starts_with("https://") {
            Some(rest.find([' ', '`', '\'']).unwrap_or(rest.len()))
        } else {
            None
        };
        match skip {
            Some(len) => {
                spans.push(&text[start..at]);
                at += len;
                start = at;
            }
            None => at += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    spans.push(&text[start..]);
    spans
}

/// The length of the JSON object `text` starts with (all of `text` when
/// it is cut before its end).
fn json_object_len(text: &str) -> usize {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in text.char_indices() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '{' | '[') => depth += 1,
            (false, _, '}' | ']') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// `debug_syntax` catches what users were shown before (issue 28) and
/// lets clean prose, JSON bodies, headers, codes and URLs through.
#[test]
fn debug_syntax_catches_rust_formatting_and_passes_prose() {
    let leaks = [
        (
            "a status documented for list_payouts (Some([200, 401, 422, 500]))",
            "Some(",
        ),
        (
            r#"[("created_at_from", "2026-12-04"), ("created_at_to", "2026-12-05")] to include payout pyt-1"#,
            "[(",
        ),
        (
            "422 for PostalCode at `sender.address.postal_code`",
            "PostalCode",
        ),
        (
            r#"422 naming `bank_account.bank_id` (UnknownBank) in errors.fields, got ["request"]"#,
            "UnknownBank",
        ),
        (
            "[Concurrent { cents: 59798, account: 1, copies: 6 }, Overdraw, ReadWallet]",
            "Concurrent {",
        ),
        ("[Overdraw]", "[Overdraw"),
        (
            "a legal history for pyt-1, got [Pending, Sent]: snapshot 1",
            "[Pending",
        ),
        (
            r#"one outcome for 2 requests with key k: got payouts ["pyt-a", "pyt-b"], 402: false"#,
            "[\"",
        ),
        ("Fault {\n    path: \"amount\",\n}", "Fault {"),
        (
            "Content-Type application/json, got Some(\"text/plain\")",
            "Some(",
        ),
    ];
    for (text, snippet) in leaks {
        assert_eq!(debug_syntax(text), Some(snippet), "{text}");
    }
    let clean = [
        "a status documented for get_payout (200, 401, 404, 500), got 400",
        "422 for `sender.address.postal_code` (rule: postal code); the server accepted it with 202",
        "`?created_at_from=2026-12-04&created_at_to=2026-12-05T10:00:00+03:00` to include payout pyt-3N30RjT6EzthMkVniIR1T40swND",
        "6 concurrent copies of a 597.98 KES payout to account 1; read the wallet; a payout just above the wallet's available amount",
        "a legal history for pyt-1, got PENDING → SENT → PENDING: snapshot 2: state went from SENT to PENDING",
        "POST /payouts without a usable X-Idempotency-Key gets 422; an E.164 number; 409 IDEMPOTENCY_RACE",
        "one outcome (one payout, or a 402) for 2 requests with key 5781ef88-5857, got 2 payouts (pyt-a, pyt-b)",
        r#"HTTP 422 {"code":"VALIDATION_FAILED","errors":{"fields":{"UnknownBank":["is invalid"]}},"message":"Validation failed."}"#,
        r#"`amount.value` broken (rule: amount format; documented) in {"amount":{"value":"0140"},"holder":{"name":"AbcDef [Xyz, Q]"}}"#,
        r#"payout pyt-1 created with body {"sender":{"name":"McDonald Trading","address":{"line_1":"XXEsX"#,
        "`next` to be a full URL with paging_after, got `http://127.0.0.1:1/v1/payouts?paging_after=QmFzZQ`",
        r#"curl -sS -i -X GET 'https://rest.sandbox.rafiki-api.com/v1/payouts?paging_after=AbCdEf' -H "Authorization: Bearer $RAFIKI_API_KEY""#,
        r#"a body valid for create_payout 202: "ON_HOLD" is not one of "PENDING", "SENT" or 3 other candidates at /data/state/code"#,
        "the spec's OpenAPI document, in JSON; rafiki-contract run --seed 7",
    ];
    for text in clean {
        assert_eq!(debug_syntax(text), None, "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_caught_by_its_own_check_and_only_its_partners() {
    // Each fault gets its own mock and proxy, and the whole suite; they run
    // side by side.
    let runs = selected_faults().into_iter().map(|fault| async move {
        let mut reports = Vec::new();
        for seed in seeds(7) {
            reports.push(run_against(Some(fault), Vec::new(), seed).await);
        }
        (fault, reports)
    });
    let mut missed = Vec::new();
    for (fault, reports) in futures::future::join_all(runs).await {
        for report in reports {
            let problems = judge(fault, &report);
            if !problems.is_empty() {
                missed.push(format!(
                    "{fault:?} (seed {:?}): {}\n{}",
                    report.seed,
                    problems.join("; "),
                    report.render()
                ));
            }
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

/// Support staff acting by hand: cancels some PENDING payouts and reverses
/// some SENT ones, through the mock's control API, while the suite runs
/// against a proxy that hides that API (as a real server would).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_support_cancels_and_reverses_on_its_own_passes() {
    let (base_url, mock) = faulty_server(None, true).await;
    let control = mock.base_url().trim_end_matches("/v1").to_string();
    let api = mock.base_url().to_string();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acting = stop.clone();
    let support = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let controls = KEYS.map(|key| (key, sandbox::connect(&control, key).unwrap()));
        let mut moved = 0u32;
        while !acting.load(std::sync::atomic::Ordering::SeqCst) {
            for (key, control) in &controls {
                let page: Value = http
                    .get(format!("{api}/payouts?paging_limit=50"))
                    .bearer_auth(key)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                for payout in page["data"].as_array().into_iter().flatten() {
                    let id = payout["id"].as_str().unwrap();
                    // Act on about one payout in three, chosen by id.
                    if id.bytes().map(u32::from).sum::<u32>() % 3 != 0 {
                        continue;
                    }
                    let to = match payout["state"]["code"].as_str() {
                        Some("PENDING") => PayoutStateCode::Cancelled,
                        Some("SENT") => PayoutStateCode::Reversed,
                        _ => continue,
                    };
                    let answer = control
                        .sandbox_transition_payout()
                        .id(id)
                        .body(TransitionRequest { to, context: None })
                        .send()
                        .await;
                    match answer {
                        Ok(_) => moved += 1,
                        // Refused (e.g. the scheduler settled it first).
                        Err(error) if error.status().is_some() => {}
                        Err(error) => panic!("control call failed: {error}"),
                    }
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        moved
    });
    let mut config = RunConfig::new(base_url, KEYS[0]);
    config.api_key_2 = Some(KEYS[1].into());
    config.max_examples = 40;
    config.seed = Some(11);
    let report = rafiki_contract::run(&config).await.unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let moved = support.await.unwrap();
    assert!(moved > 0, "support never acted");
    assert!(!report.failed(), "{}", report.render());
    assert_eq!(
        report.check("support_transitions").unwrap().passed,
        0,
        "no control API was visible"
    );
}

/// Servers that used to make the suite hang (a payout without `state`, a
/// page that skips an item) get the whole suite, and a report in bounded
/// time with the fault caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_prone_faults_end_with_a_report_in_bounded_time() {
    for fault in [Fault::MissingState, Fault::PageItemSkipped] {
        for seed in seeds(3) {
            let started = std::time::Instant::now();
            let report = run_against(Some(fault), Vec::new(), seed).await;
            let elapsed = started.elapsed();
            assert!(
                elapsed < std::time::Duration::from_secs(60),
                "{fault:?} took {elapsed:?}"
            );
            assert!(
                report.check(fault.check()).unwrap().failed > 0,
                "{fault:?} seed {seed}:\n{}",
                report.render()
            );
            assert_eq!(report.unfinished().count(), 0, "{}", report.render());
            eprintln!(
                "{fault:?} seed {seed}: report in {elapsed:.1?}, {} requests",
                report.requests
            );
        }
    }
}

/// Every run ends with a report: against a server whose payout reads stall
/// (answered only after the request timeout), `max_duration` cuts the run
/// and the checks still running are reported as not finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalling_server_still_gets_a_report_by_the_deadline() {
    let mock = rafiki_mock::spawn(rafiki_mock::Config::for_contract_suite(KEYS))
        .await
        .unwrap();
    let upstream = mock.base_url().trim_end_matches("/v1").to_string();
    let app = Router::new().fallback(move |request: Request| {
        let upstream = upstream.clone();
        async move {
            let (parts, body) = request.into_parts();
            if parts.method == Method::GET && parts.uri.path().starts_with("/v1/payouts/") {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let mut headers = parts.headers.clone();
            headers.remove("host");
            let answer = reqwest::Client::new()
                .request(
                    parts.method,
                    format!("{upstream}{}", parts.uri.path_and_query().unwrap()),
                )
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = answer.status();
            let headers = answer.headers().clone();
            let mut response = (status, answer.bytes().await.unwrap()).into_response();
            *response.headers_mut() = headers;
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = RunConfig::new(base_url, KEYS[0]);
    config.api_key_2 = Some(KEYS[1].into());
    config.max_examples = 10;
    config.sandbox_values = rafiki_contract::SandboxValues::Off;
    config.request_timeout = std::time::Duration::from_secs(2);
    config.max_duration = std::time::Duration::from_secs(5);
    let started = std::time::Instant::now();
    let report = rafiki_contract::run(&config).await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(report.failed(), "{}", report.render());
    let unfinished: Vec<&str> = report.unfinished().map(|c| c.name).collect();
    assert!(!unfinished.is_empty(), "{}", report.render());
    assert!(
        report.render().contains("not finished"),
        "{}",
        report.render()
    );
    assert!(report.junit().contains("not finished"));
}
