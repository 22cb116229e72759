//! Serde types mirroring the wire format, field names exactly as on the wire.
//!
//! Request types (`PayoutCreateRequest`, `PaymentAccountRequest`, `Sender`,
//! ...) are what the validators return once a body passed every rule. Response
//! types (`Payout`, `PaymentAccount`, `Wallet`, `Bank`, `ErrorBody`, `Page`)
//! are what the mock emits and the contract suite reads. Optional properties
//! are omitted when absent, never written as `null`. Money is a
//! [`Decimal`] serialised as a string (`"2000.99"`), never a float.
//!
//! With the `schema` feature every type here also implements
//! `schemars::JsonSchema`, so tests can hold these types against the
//! components of `spec/openapi.yaml` (`tests/tests/wire_schemas.rs`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use crate::lifecycle::{FailureContext, StateCode};
use crate::macros::wire_enum;

wire_enum! {
    /// `type` of a payment account.
    pub enum AccountType {
        MobileMoney = "MOBILE_MONEY",
        BankAccount = "BANK_ACCOUNT",
    }
}

wire_enum! {
    /// `holder.type` and `sender.type`: a person or a company.
    pub enum PartyType {
        Individual = "INDIVIDUAL",
        Business = "BUSINESS",
    }
}

wire_enum! {
    /// `sender.individual.identity_document.type`.
    pub enum DocumentType {
        Passport = "PASSPORT",
        DrivingLicence = "DRIVING_LICENCE",
        NationalIdCard = "NATIONAL_ID_CARD",
    }
}

/// `{value: "2000.99", currency: "KES"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Money {
    /// Exact decimal, serialised as a string keeping its scale (`"140.00"`).
    pub value: Decimal,
    /// ISO 4217 code.
    pub currency: String,
}

/// `holder` of a payment account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Holder {
    #[serde(rename = "type")]
    pub kind: PartyType,
    pub name: String,
}

/// `mobile_money` of a MOBILE_MONEY payment account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MobileMoney {
    /// E.164 number, e.g. `+254712345678`.
    pub number: String,
    /// Operator name; which ones are allowed is data (the compliance table).
    pub operator: String,
}

/// `bank_account` of a BANK_ACCOUNT payment account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BankAccount {
    pub bank_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_id: Option<String>,
    pub number: String,
}

/// Body of POST /payment-accounts, and `payment_account` inside a payout.
/// Exactly the block matching `type` is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PaymentAccountRequest {
    #[serde(rename = "type")]
    pub kind: AccountType,
    pub country: String,
    pub holder: Holder,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_money: Option<MobileMoney>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account: Option<BankAccount>,
}

/// A payment account as returned by the API: the request plus `id` and
/// `created_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PaymentAccount {
    /// `pac-...`
    pub id: String,
    #[serde(flatten)]
    pub account: PaymentAccountRequest,
    pub created_at: DateTime<Utc>,
}

/// `sender.address`. Which fields are required is decided per destination
/// country by the compliance table, hence every field is optional here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// `sender.individual.identity_document`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IdentityDocument {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
}

/// `sender.individual`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Individual {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dob: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_document: Option<IdentityDocument>,
}

/// `sender` of a payout (echoed back in the payout).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Sender {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PartyType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual: Option<Individual>,
}

/// Body of POST /payouts. Once validated, exactly one of `payment_account_id`
/// and `payment_account` is `Some` (see [`PayoutCreateRequest::recipient`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PayoutCreateRequest {
    pub amount: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_account: Option<PaymentAccountRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Sender>,
}

/// Who receives a payout: an existing account or one to get-or-create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient<'a> {
    Existing(&'a str),
    Inline(&'a PaymentAccountRequest),
}

impl PayoutCreateRequest {
    /// The recipient. `None` only for a request that was not validated
    /// (neither property set); when both are set the id wins.
    pub fn recipient(&self) -> Option<Recipient<'_>> {
        match (&self.payment_account_id, &self.payment_account) {
            (Some(id), _) => Some(Recipient::Existing(id)),
            (None, Some(account)) => Some(Recipient::Inline(account)),
            (None, None) => None,
        }
    }
}

/// `state` of a payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PayoutState {
    pub code: StateCode,
    /// Why a FAILED payout failed, when known. Text, as the spec has it, so
    /// that a context the provider adds later still reads; the ones known
    /// today are [`FailureContext`]s ([`PayoutState::failure_context`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl PayoutState {
    /// A state with the `context` a known failure gives it.
    pub fn new(code: StateCode, context: Option<FailureContext>) -> Self {
        PayoutState {
            code,
            context: context.map(|c| c.as_str().to_owned()),
        }
    }

    /// The context, when it is one we know.
    pub fn failure_context(&self) -> Option<FailureContext> {
        self.context.as_deref().and_then(|c| c.parse().ok())
    }
}

/// A payout as returned by POST (202) and GET.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Payout {
    /// `pyt-...`
    pub id: String,
    pub amount: Money,
    pub payment_account_id: String,
    pub wallet_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Sender>,
    pub state: PayoutState,
    pub created_at: DateTime<Utc>,
    /// The bank's or telco's reference; omitted when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

/// A wallet: `balance` is the total, `available` what can be spent now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Wallet {
    /// `wlt-...`
    pub id: String,
    pub currency: String,
    pub balance: Decimal,
    pub available: Decimal,
}

/// A bank branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Branch {
    /// `brn-...`
    pub id: String,
    pub name: String,
}

/// A bank, with its branches when it has several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Bank {
    /// `bnk-...`
    pub id: String,
    pub name: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches: Option<Vec<Branch>>,
}

wire_enum! {
    /// `code` of an error body.
    pub enum ErrorCode {
        Unauthorized = "UNAUTHORIZED",
        WalletInsufficientBalance = "WALLET_INSUFFICIENT_BALANCE",
        NotFound = "NOT_FOUND",
        IdempotencyRace = "IDEMPOTENCY_RACE",
        IdempotencyKeyAlreadyUsed = "IDEMPOTENCY_KEY_ALREADY_USED",
        ValidationFailed = "VALIDATION_FAILED",
        InternalServerError = "INTERNAL_SERVER_ERROR",
        PayoutBankTemporarilyUnavailable = "PAYOUT_BANK_TEMPORARILY_UNAVAILABLE",
        PayoutMobileMoneyTemporarilyUnavailable = "PAYOUT_MOBILE_MONEY_TEMPORARILY_UNAVAILABLE",
    }
}

impl ErrorCode {
    /// The HTTP status that carries this code: the one statement of the
    /// status/code pairing that the mock answers with, the suite checks and
    /// the client decodes.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthorized => 401,
            ErrorCode::WalletInsufficientBalance => 402,
            ErrorCode::NotFound => 404,
            ErrorCode::IdempotencyRace | ErrorCode::IdempotencyKeyAlreadyUsed => 409,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::InternalServerError => 500,
            ErrorCode::PayoutBankTemporarilyUnavailable
            | ErrorCode::PayoutMobileMoneyTemporarilyUnavailable => 503,
        }
    }

    /// The codes an error answer with `status` may carry; empty for a
    /// status the API pairs with no code.
    pub fn carried_by(status: u16) -> impl Iterator<Item = ErrorCode> {
        <Self as crate::macros::WireEnum>::ALL
            .iter()
            .copied()
            .filter(move |code| code.http_status() == status)
    }

    /// The code, when `text` is one and `status` carries it.
    pub fn paired(status: u16, text: &str) -> Option<ErrorCode> {
        Self::carried_by(status).find(|code| code.as_str() == text)
    }
}

/// `errors` of an error body. A 422 names the properties that failed in
/// `fields`; other errors may carry an empty `errors: {}` (the transport
/// page gives every error body key/value pairs, `docs/contract.md`, "Errors").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorDetails {
    /// Property path to reasons.
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<String>>,
}

/// Every error response: `{code, message, errors?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<ErrorDetails>,
}

impl ErrorBody {
    /// An error without field details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            errors: None,
        }
    }
}

/// `{data: T}`: single resources and unpaged lists (banks, wallets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Data<T> {
    pub data: T,
}

/// The body of a webhook event (docs/contract.md, "Webhooks"): `data` is
/// the resource `type` names, a [`Payout`] for
/// [`PAYOUT_STATE_UPDATED`](crate::webhooks::PAYOUT_STATE_UPDATED).
/// Deliveries of one event, first or sent again, share its `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WebhookEvent<T> {
    /// `wbh-...`
    pub id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub data: T,
    pub created_at: DateTime<Utc>,
}

/// A page of a paged list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Page<T> {
    pub data: Vec<T>,
    pub meta: PageMeta,
}

/// `meta` of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PageMeta {
    pub paging: Paging,
}

/// `meta.paging`: both `cursors.after` and `next` are absent on the last page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Paging {
    pub cursors: Cursors,
    /// Full URL of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `meta.paging.cursors`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Cursors {
    /// Opaque base64url cursor of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_status_carries_its_codes() {
        let codes = |status| {
            ErrorCode::carried_by(status)
                .map(ErrorCode::as_str)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes(409),
            ["IDEMPOTENCY_RACE", "IDEMPOTENCY_KEY_ALREADY_USED"]
        );
        assert_eq!(codes(422), ["VALIDATION_FAILED"]);
        assert!(codes(200).is_empty() && codes(502).is_empty());
        assert_eq!(
            codes(503),
            [
                "PAYOUT_BANK_TEMPORARILY_UNAVAILABLE",
                "PAYOUT_MOBILE_MONEY_TEMPORARILY_UNAVAILABLE"
            ]
        );
        assert_eq!(
            ErrorCode::paired(402, "WALLET_INSUFFICIENT_BALANCE"),
            Some(ErrorCode::WalletInsufficientBalance)
        );
        assert_eq!(ErrorCode::paired(422, "NOT_FOUND"), None);
        assert_eq!(ErrorCode::paired(404, "not_found"), None);
    }

    #[test]
    fn money_serialises_value_as_string_keeping_scale() {
        let money = Money {
            value: "2000.99".parse().unwrap(),
            currency: "KES".into(),
        };
        assert_eq!(
            serde_json::to_value(&money).unwrap(),
            json!({"value": "2000.99", "currency": "KES"})
        );
        let money = Money {
            value: "140.00".parse().unwrap(),
            currency: "KES".into(),
        };
        assert_eq!(serde_json::to_value(&money).unwrap()["value"], "140.00");
    }

    #[test]
    fn payout_omits_absent_optionals() {
        let payout = Payout {
            id: "pyt-1".into(),
            amount: Money {
                value: "150".parse().unwrap(),
                currency: "KES".into(),
            },
            payment_account_id: "pac-1".into(),
            wallet_id: "wlt-1".into(),
            sender: None,
            state: PayoutState {
                code: StateCode::Pending,
                context: None,
            },
            created_at: "2024-01-02T03:04:05Z".parse().unwrap(),
            receipt: None,
        };
        let value = serde_json::to_value(&payout).unwrap();
        assert_eq!(
            value,
            json!({
                "id": "pyt-1",
                "amount": {"value": "150", "currency": "KES"},
                "payment_account_id": "pac-1",
                "wallet_id": "wlt-1",
                "state": {"code": "PENDING"},
                "created_at": "2024-01-02T03:04:05Z"
            })
        );
        let back: Payout = serde_json::from_value(value).unwrap();
        assert_eq!(back, payout);
    }

    #[test]
    fn payment_account_flattens_request_fields() {
        let value = json!({
            "id": "pac-1",
            "type": "MOBILE_MONEY",
            "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": "Amina"},
            "mobile_money": {"number": "+254712345678", "operator": "SAFARICOM"},
            "created_at": "2024-01-02T03:04:05Z"
        });
        let account: PaymentAccount = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(account.account.kind, AccountType::MobileMoney);
        assert_eq!(serde_json::to_value(&account).unwrap(), value);
    }

    #[test]
    fn last_page_has_no_cursor_nor_next() {
        let page: Page<Wallet> = Page {
            data: vec![],
            meta: PageMeta::default(),
        };
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({"data": [], "meta": {"paging": {"cursors": {}}}})
        );
    }

    #[test]
    fn error_codes_map_to_statuses() {
        assert_eq!(ErrorCode::IdempotencyRace.http_status(), 409);
        assert_eq!(ErrorCode::Unauthorized.http_status(), 401);
        assert_eq!(
            serde_json::to_value(ErrorCode::WalletInsufficientBalance).unwrap(),
            "WALLET_INSUFFICIENT_BALANCE"
        );
    }
}
