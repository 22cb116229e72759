//! An account's state as JSON: `GET /_sandbox/snapshot` shows it, `PUT
//! /_sandbox/snapshot` replaces the account's state with one (what GET
//! gave, from this mock or another, or one written by hand). With or
//! without a state file.
//!
//! ```json
//! {"version": 1,
//!  "wallets": [{"id": "wlt-…", "currency": "KES", "balance": "…", "available": "…", "seed_balance": "…"}],
//!  "payment_accounts": [<as GET /v1/payment-accounts shows them>],
//!  "payouts": [<as GET /v1/payouts/{id} shows it, and "due_at" while the scheduler has it queued>],
//!  "idempotency": [{"key": "…", "request": {…}, "stored_at": "…", "status": 202, "response": "<the exact bytes replayed>"}]}
//! ```
//!
//! Lists are oldest first (that order breaks ties of `created_at` in the
//! API's lists). On import `seed_balance` (what a reset gives back)
//! defaults to `balance`, and a PENDING payout without `due_at` is due one
//! processing delay after its `created_at`. An import is checked whole
//! before anything changes (payment accounts against the compliance table,
//! as `POST /v1/payment-accounts` checks them); a problem is a 422 at its
//! JSON path (`payouts[3].wallet_id`). Imported payouts send no webhook events:
//! they did not change state.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use rafiki_rules::codes::is_currency_code;
use rafiki_rules::format::{IdKind, is_id};
use rafiki_rules::idempotency::validate_key;
use rafiki_rules::lifecycle::StateCode;
use rafiki_rules::violations::BODY_PATH;
use rafiki_rules::wire::{PaymentAccount, Payout, Wallet};
use rafiki_rules::{ComplianceTable, Rule, Violations, account_identity, validate_payment_account};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::store::{
    AccountImage, IdempotencyRow, MAX_BALANCE, PaymentAccountRow, PayoutRow, PayoutView,
    StoredResponse, WalletRow, default_due,
};

/// The snapshot format's version.
pub const VERSION: u64 = 1;

/// A wallet in a snapshot.
#[derive(Serialize, Deserialize)]
struct WalletJson {
    id: String,
    currency: String,
    balance: Decimal,
    available: Decimal,
    /// What a reset gives back (default: `balance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seed_balance: Option<Decimal>,
}

/// An idempotency record in a snapshot.
#[derive(Serialize, Deserialize)]
struct IdempotencyJson {
    key: String,
    /// The body the key was first used with.
    request: Value,
    stored_at: DateTime<Utc>,
    status: u16,
    /// The answer's bytes, replayed as they are.
    response: String,
}

/// A snapshot as GET shows it.
#[derive(Serialize)]
struct SnapshotJson<'a> {
    version: u64,
    wallets: Vec<WalletJson>,
    payment_accounts: Vec<&'a PaymentAccount>,
    payouts: Vec<PayoutJson<'a>>,
    idempotency: Vec<IdempotencyJson>,
}

/// A payout as GET /v1/payouts/{id} shows it, and when it is due.
#[derive(Serialize)]
struct PayoutJson<'a> {
    #[serde(flatten)]
    view: PayoutView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_at: Option<DateTime<Utc>>,
}

/// The snapshot of `image` (see the module docs).
pub(crate) fn export(image: &AccountImage) -> impl Serialize + '_ {
    let wallets: Vec<WalletJson> = image
        .wallets
        .iter()
        .map(|row| WalletJson {
            id: row.wallet.id.clone(),
            currency: row.wallet.currency.clone(),
            balance: row.wallet.balance,
            available: row.wallet.available,
            seed_balance: Some(row.seed_balance),
        })
        .collect();
    let payment_accounts: Vec<&PaymentAccount> = image
        .payment_accounts
        .iter()
        .map(|row| &row.account)
        .collect();
    let payouts = image
        .payouts
        .iter()
        .map(|row| PayoutJson {
            view: PayoutView {
                payout: &row.payout,
                amount_text: row.amount_text.as_deref(),
            },
            due_at: row.due.map(|due| due.0),
        })
        .collect();
    let idempotency: Vec<IdempotencyJson> = image
        .idempotency
        .iter()
        .map(|row| IdempotencyJson {
            key: row.key.clone(),
            request: row.body.clone(),
            stored_at: row.stored_at,
            status: row.response.status.as_u16(),
            response: String::from_utf8_lossy(&row.response.body).into_owned(),
        })
        .collect();
    SnapshotJson {
        version: VERSION,
        wallets,
        payment_accounts,
        payouts,
        idempotency,
    }
}

/// Reads a snapshot into an image, checking it whole: every problem is a
/// violation at its path. `delay` is the processing delay (the due time
/// of a PENDING payout without one); `table` the compliance table each
/// payment account must pass, as `POST /v1/payment-accounts` requires.
pub(crate) fn import(
    body: &Value,
    delay: TimeDelta,
    table: &ComplianceTable,
) -> Result<AccountImage, Violations> {
    let mut problems = Violations::new();
    let Some(object) = body.as_object() else {
        problems.add(
            BODY_PATH,
            Rule::WrongType,
            "must be a JSON object (a snapshot)",
        );
        return Err(problems);
    };
    match object.get("version") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_u64() == Some(VERSION) => {}
        Some(v) => problems.add(
            "version",
            Rule::UnknownEnumValue,
            format!("is {v}; this mock reads snapshots of version {VERSION}"),
        ),
    }
    let wallets = items(object, "wallets", &mut problems);
    let accounts = items(object, "payment_accounts", &mut problems);
    let payouts = items(object, "payouts", &mut problems);
    let keys = items(object, "idempotency", &mut problems);

    let mut image = AccountImage::default();
    let mut seq = 0u64;
    let mut wallet_ids: HashMap<String, usize> = HashMap::new();
    for (i, item) in wallets.iter().enumerate() {
        let path = format!("wallets[{i}]");
        let Some(wallet) = parse::<WalletJson>(item, &path, &mut problems) else {
            continue;
        };
        check_id(IdKind::Wallet, &wallet.id, &path, &mut problems);
        if wallet_ids.insert(wallet.id.clone(), i).is_some() {
            problems.add(
                format!("{path}.id"),
                Rule::WrongType,
                "is another wallet's id too",
            );
        }
        if !is_currency_code(&wallet.currency) {
            problems.add(
                format!("{path}.currency"),
                Rule::CurrencyCode,
                "is not an ISO 4217 code",
            );
        }
        let seed = wallet.seed_balance.unwrap_or(wallet.balance);
        for (name, amount) in [("balance", wallet.balance), ("seed_balance", seed)] {
            if amount.is_sign_negative() || amount > MAX_BALANCE {
                problems.add(
                    format!("{path}.{name}"),
                    Rule::AmountFormat,
                    format!("must be between 0 and {MAX_BALANCE}"),
                );
            }
        }
        if wallet.available.is_sign_negative() || wallet.available > wallet.balance {
            problems.add(
                format!("{path}.available"),
                Rule::AmountFormat,
                "must be between 0 and the balance",
            );
        }
        image.wallets.push(WalletRow {
            wallet: Wallet {
                id: wallet.id,
                currency: wallet.currency,
                balance: wallet.balance,
                available: wallet.available,
            },
            seed_balance: seed,
        });
    }

    let mut account_ids = HashSet::new();
    let mut identities = HashMap::new();
    for (i, item) in accounts.iter().enumerate() {
        let path = format!("payment_accounts[{i}]");
        let Some(account) = parse::<PaymentAccount>(item, &path, &mut problems) else {
            continue;
        };
        // The API would never have made an account its table refuses (a
        // country it does not serve, a number of the wrong shape): the
        // mock would then serve what no real account can look like.
        if let Err(refused) = validate_payment_account(item, table) {
            for violation in refused.iter() {
                problems.add(
                    format!("{path}.{}", violation.path),
                    violation.rule,
                    violation.message.clone(),
                );
            }
        }
        check_id(IdKind::PaymentAccount, &account.id, &path, &mut problems);
        if !account_ids.insert(account.id.clone()) {
            problems.add(
                format!("{path}.id"),
                Rule::WrongType,
                "is another payment account's id too",
            );
        }
        if let Some(identity) = account_identity(&account.account)
            && let Some(first) = identities.insert(identity, i)
        {
            problems.add(
                path.clone(),
                Rule::WrongType,
                format!("is the same account as payment_accounts[{first}] (country, operator or bank, number)"),
            );
        }
        seq += 1;
        image.payment_accounts.push(PaymentAccountRow {
            order: (account.created_at, seq),
            account,
        });
    }

    let mut payout_ids = HashSet::new();
    let mut reserved: HashMap<String, Decimal> = HashMap::new();
    for (i, item) in payouts.iter().enumerate() {
        let path = format!("payouts[{i}]");
        let Some(payout) = parse::<Payout>(item, &path, &mut problems) else {
            continue;
        };
        let due_at = match item.get("due_at") {
            None | Some(Value::Null) => None,
            Some(value) => match DateTime::<Utc>::deserialize(value) {
                Ok(at) => Some(at),
                Err(e) => {
                    problems.add(
                        format!("{path}.due_at"),
                        Rule::DateTimeFormat,
                        e.to_string(),
                    );
                    None
                }
            },
        };
        check_id(IdKind::Payout, &payout.id, &path, &mut problems);
        if !payout_ids.insert(payout.id.clone()) {
            problems.add(
                format!("{path}.id"),
                Rule::WrongType,
                "is another payout's id too",
            );
        }
        match image
            .wallets
            .iter()
            .find(|w| w.wallet.id == payout.wallet_id)
        {
            None => problems.add(
                format!("{path}.wallet_id"),
                Rule::UnknownWallet,
                format!("names no wallet of the snapshot (`{}`)", payout.wallet_id),
            ),
            Some(w) if w.wallet.currency != payout.amount.currency => problems.add(
                format!("{path}.amount.currency"),
                Rule::WalletCurrencyMismatch,
                format!(
                    "is not the currency of wallet {} ({})",
                    w.wallet.id, w.wallet.currency
                ),
            ),
            Some(_) => {}
        }
        if !account_ids.contains(&payout.payment_account_id) {
            problems.add(
                format!("{path}.payment_account_id"),
                Rule::UnknownPaymentAccount,
                format!(
                    "names no payment account of the snapshot (`{}`)",
                    payout.payment_account_id
                ),
            );
        }
        if payout.amount.value <= Decimal::ZERO {
            problems.add(
                format!("{path}.amount.value"),
                Rule::AmountNotPositive,
                "must be above 0",
            );
        }
        let code = payout.state.code;
        if due_at.is_some() && !matches!(code, StateCode::Pending | StateCode::Sent) {
            problems.add(
                format!("{path}.due_at"),
                Rule::WrongType,
                format!("is only for a PENDING or SENT payout, not {code}"),
            );
        }
        if code == StateCode::Pending {
            *reserved.entry(payout.wallet_id.clone()).or_default() += payout.amount.value;
        }
        // The text as sent, when it is not the number's own (lenient amounts).
        let text = item
            .pointer("/amount/value")
            .and_then(Value::as_str)
            .filter(|text| *text != payout.amount.value.to_string())
            .map(str::to_owned);
        seq += 1;
        let due = match (code, due_at) {
            (_, Some(at)) => Some((at, seq)),
            (StateCode::Pending, None) => Some((default_due(payout.created_at, delay), seq)),
            _ => None,
        };
        image.payouts.push(PayoutRow {
            order: (payout.created_at, seq),
            payout,
            amount_text: text,
            due,
        });
    }
    for (i, row) in image.wallets.iter().enumerate() {
        let held = reserved.get(&row.wallet.id).copied().unwrap_or_default();
        if row.wallet.balance - row.wallet.available != held {
            problems.add(
                format!("wallets[{i}].available"),
                Rule::AmountFormat,
                format!(
                    "must be the balance less what the PENDING payouts hold ({held}): {}",
                    row.wallet.balance - held
                ),
            );
        }
    }

    let mut used_keys = HashSet::new();
    for (i, item) in keys.iter().enumerate() {
        let path = format!("idempotency[{i}]");
        let Some(record) = parse::<IdempotencyJson>(item, &path, &mut problems) else {
            continue;
        };
        if let Err(violation) = validate_key(Some(&record.key)) {
            problems.add(format!("{path}.key"), violation.rule, violation.message);
        }
        if !used_keys.insert(record.key.clone()) {
            problems.add(
                format!("{path}.key"),
                Rule::WrongType,
                "is another record's key too",
            );
        }
        let status = StatusCode::from_u16(record.status)
            .ok()
            .filter(|s| (200..600).contains(&s.as_u16()));
        if status.is_none() {
            problems.add(
                format!("{path}.status"),
                Rule::WrongType,
                "must be an HTTP status, 200 to 599",
            );
        }
        if serde_json::from_str::<Value>(&record.response).is_err() {
            problems.add(
                format!("{path}.response"),
                Rule::WrongType,
                "must be the JSON text of the answer",
            );
        }
        image.idempotency.push(IdempotencyRow {
            key: record.key,
            body: record.request,
            stored_at: record.stored_at,
            response: StoredResponse {
                status: status.unwrap_or(StatusCode::OK),
                body: Bytes::from(record.response),
            },
        });
    }
    image.seq = seq;
    problems.into_result(image)
}

/// The array `name` of the snapshot (empty, with a violation, when it is
/// missing or not an array).
fn items<'v>(object: &'v Map<String, Value>, name: &str, problems: &mut Violations) -> &'v [Value] {
    match object.get(name) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => {
            problems.add(name, Rule::Required, "is required (a list, maybe empty)");
            &[]
        }
        Some(_) => {
            problems.add(name, Rule::WrongType, "must be a list");
            &[]
        }
    }
}

/// `item` read as a `T`, or a violation at `path` (at the property serde
/// names, when it names one).
/// An id of the shape the API gives (its kind's prefix, then letters and
/// digits): clients and the contract suite hold answers to it.
fn check_id(kind: IdKind, id: &str, path: &str, problems: &mut Violations) {
    if !is_id(kind, id) {
        problems.add(
            format!("{path}.id"),
            Rule::IdPrefix,
            format!("must be `{}` followed by letters or digits", kind.prefix()),
        );
    }
}

fn parse<T: for<'de> Deserialize<'de>>(
    item: &Value,
    path: &str,
    problems: &mut Violations,
) -> Option<T> {
    match serde_json::from_value(item.clone()) {
        Ok(value) => Some(value),
        Err(e) => {
            problems.add(path, Rule::WrongType, e.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delay() -> TimeDelta {
        TimeDelta::milliseconds(300)
    }

    /// Why importing `body` is refused (it must be).
    fn refusal(body: &Value) -> Violations {
        import(body, delay(), ComplianceTable::builtin()).unwrap_err()
    }

    /// The paths [`refusal`] names, sorted.
    fn refused_paths(body: &Value) -> Vec<String> {
        refusal(body)
            .path_rules()
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    }

    fn snapshot() -> Value {
        json!({
            "version": 1,
            "wallets": [{"id": "wlt-1", "currency": "KES", "balance": "1000.00", "available": "850.00"}],
            "payment_accounts": [{"id": "pac-1", "type": "MOBILE_MONEY", "country": "KE",
                "holder": {"type": "INDIVIDUAL", "name": "A"},
                "mobile_money": {"number": "+254712345678", "operator": "SAFARICOM"},
                "created_at": "2026-01-31T09:30:00Z"}],
            "payouts": [{"id": "pyt-1", "amount": {"value": "0150.00", "currency": "KES"},
                "payment_account_id": "pac-1", "wallet_id": "wlt-1", "state": {"code": "PENDING"},
                "created_at": "2026-01-31T09:30:00Z"}],
            "idempotency": [{"key": "k1", "request": {"a": 1}, "stored_at": "2026-01-31T09:30:00Z",
                "status": 202, "response": "{\"data\":{}}"}]
        })
    }

    #[test]
    fn a_snapshot_reads_into_an_image_and_back() {
        let image = import(&snapshot(), delay(), ComplianceTable::builtin()).unwrap();
        assert_eq!(image.wallets[0].seed_balance, "1000.00".parse().unwrap());
        let payout = &image.payouts[0];
        assert_eq!(payout.amount_text.as_deref(), Some("0150.00"));
        let due: DateTime<Utc> = "2026-01-31T09:30:00.300Z".parse().unwrap();
        assert_eq!(payout.due, Some((due, 2)));
        assert_eq!(image.seq, 2);
        let exported = serde_json::to_value(export(&image)).unwrap();
        let again = import(&exported, delay(), ComplianceTable::builtin()).unwrap();
        assert_eq!(again, image);
    }

    #[test]
    fn problems_are_named_by_their_path() {
        let mut bad = snapshot();
        bad["payouts"][0]["wallet_id"] = json!("wlt-9");
        bad["payouts"][0]["payment_account_id"] = json!("pac-9");
        bad["wallets"][0]["currency"] = json!("XXY");
        bad["idempotency"][0]["status"] = json!(42);
        bad["idempotency"][0]["response"] = json!("not json");
        bad["version"] = json!(2);
        assert_eq!(
            refused_paths(&bad),
            [
                "idempotency[0].response",
                "idempotency[0].status",
                "payouts[0].payment_account_id",
                "payouts[0].wallet_id",
                "version",
                "wallets[0].available",
                "wallets[0].currency",
            ]
        );
        let missing = refusal(&json!({"wallets": []}));
        assert_eq!(
            missing.path_rules(),
            [
                ("idempotency".to_owned(), Rule::Required),
                ("payment_accounts".to_owned(), Rule::Required),
                ("payouts".to_owned(), Rule::Required),
            ]
        );
        let mut drift = snapshot();
        drift["wallets"][0]["available"] = json!("900.00");
        let error = refusal(&drift);
        assert_eq!(
            error.path_rules(),
            [("wallets[0].available".to_owned(), Rule::AmountFormat)]
        );
        assert!(error.to_string().contains("150.00"), "{error}");
    }

    #[test]
    fn a_payment_account_the_table_refuses_is_refused_at_its_path() {
        let mut bad = snapshot();
        bad["payment_accounts"][0]["country"] = json!("ZZ");
        bad["payment_accounts"][0]["mobile_money"]["number"] = json!("12");
        let paths = refused_paths(&bad);
        assert!(
            paths.iter().any(|p| p == "payment_accounts[0].country"),
            "{paths:?}"
        );
        let mut number = snapshot();
        number["payment_accounts"][0]["mobile_money"]["number"] = json!("12");
        assert_eq!(
            refused_paths(&number),
            ["payment_accounts[0].mobile_money.number"]
        );
    }

    #[test]
    fn ids_must_have_the_apis_shape() {
        let mut bad = snapshot();
        bad["wallets"][0]["id"] = json!("wallet-1");
        bad["payouts"][0]["wallet_id"] = json!("wallet-1");
        bad["payment_accounts"][0]["id"] = json!("pac-");
        bad["payouts"][0]["payment_account_id"] = json!("pac-");
        bad["payouts"][0]["id"] = json!("pyt-1 2");
        assert_eq!(
            refusal(&bad).path_rules(),
            [
                ("payment_accounts[0].id".to_owned(), Rule::IdPrefix),
                ("payouts[0].id".to_owned(), Rule::IdPrefix),
                ("wallets[0].id".to_owned(), Rule::IdPrefix),
            ]
        );
    }
}
