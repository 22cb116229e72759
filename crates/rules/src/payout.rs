//! POST /payouts: validation of the body against formats and the
//! destination country's compliance rules, and the choice of the wallet.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde_json::Value;

use crate::compliance::{ComplianceTable, CountryRules};
use crate::format::IdKind;
use crate::payment_account::check_payment_account;
use crate::reader::{Field, Reader};
use crate::sender::check_sender;
use crate::violations::{Rule, Violation, Violations};
use crate::wire::{AccountType, Money, PaymentAccount, PayoutCreateRequest, Wallet};

/// Where an existing payment account sends money: what compliance needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    pub country: String,
    pub account_type: AccountType,
}

/// Resolves an existing `payment_account_id` (of the caller's API key) to
/// its destination; `None` when there is no such account.
pub trait PaymentAccountLookup {
    fn destination(&self, payment_account_id: &str) -> Option<Destination>;
}

/// A lookup that knows no account (for bodies with an inline account).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPaymentAccounts;

impl PaymentAccountLookup for NoPaymentAccounts {
    fn destination(&self, _: &str) -> Option<Destination> {
        None
    }
}

impl PaymentAccountLookup for HashMap<String, Destination> {
    fn destination(&self, id: &str) -> Option<Destination> {
        self.get(id).cloned()
    }
}

impl PaymentAccountLookup for BTreeMap<String, Destination> {
    fn destination(&self, id: &str) -> Option<Destination> {
        self.get(id).cloned()
    }
}

impl PaymentAccountLookup for [PaymentAccount] {
    fn destination(&self, id: &str) -> Option<Destination> {
        self.iter().find(|a| a.id == id).map(|a| Destination {
            country: a.account.country.clone(),
            account_type: a.account.kind,
        })
    }
}

impl PaymentAccountLookup for Vec<PaymentAccount> {
    fn destination(&self, id: &str) -> Option<Destination> {
        self.as_slice().destination(id)
    }
}

/// Validates a POST /payouts body, reporting every violation at its API
/// path. Inline account properties are reported below `payment_account.`.
///
/// Decisions where the contract (`docs/contract.md#payouts`) is silent:
/// - giving both or neither of `payment_account_id` and `payment_account`
///   is one `ExactlyOneOf` violation reported at `payment_account_id`; with
///   both, neither is examined further (the destination is ambiguous);
/// - an existing account whose country the table no longer serves gives
///   `UnsupportedCountry` at `payment_account_id`;
/// - amount limits need the destination country *and* account type; when
///   either is invalid only that fault is reported;
/// - a zero amount is `AmountNotPositive` (and no limit is checked);
/// - `null` counts as absent; unknown properties are ignored.
pub fn validate_payout_create(
    body: &Value,
    table: &ComplianceTable,
    accounts: &dyn PaymentAccountLookup,
) -> Result<PayoutCreateRequest, Violations> {
    let mut reader = Reader::default();
    let root = Field::at("", Some(body));
    if reader.object(&root, true).is_none() {
        return reader.finish(None);
    }
    let amount_field = root.child("amount");
    let amount = check_amount(&mut reader, &amount_field);
    let recipient = check_recipient(&mut reader, &root, table, accounts);
    let wallet_id = reader.id(&root.child("wallet_id"), IdKind::Wallet, false);
    let sender = check_sender(
        &mut reader,
        &root.child("sender"),
        recipient.country.map(|c| &c.sender),
        table,
    );
    if let (Some(money), Some(country), Some(kind)) = (&amount, recipient.country, recipient.kind) {
        check_limits(&mut reader, &amount_field, money, country, kind);
    }
    let request = amount.map(|amount| PayoutCreateRequest {
        amount,
        payment_account_id: recipient.payment_account_id,
        payment_account: recipient.payment_account,
        wallet_id: wallet_id.map(str::to_owned),
        sender,
    });
    reader.finish(request)
}

/// `amount`: a decimal string and an ISO 4217 code.
fn check_amount(reader: &mut Reader, field: &Field<'_>) -> Option<Money> {
    reader.object(field, true)?;
    let value = reader.amount(&field.child("value"), true);
    let currency = reader.currency(&field.child("currency"), true);
    Some(Money {
        value: value?,
        currency: currency?.to_owned(),
    })
}

/// The recipient as read from the body, plus what compliance needs.
struct CheckedRecipient<'t> {
    payment_account_id: Option<String>,
    payment_account: Option<crate::wire::PaymentAccountRequest>,
    country: Option<&'t CountryRules>,
    kind: Option<AccountType>,
}

fn check_recipient<'t>(
    reader: &mut Reader,
    root: &Field<'_>,
    table: &'t ComplianceTable,
    accounts: &dyn PaymentAccountLookup,
) -> CheckedRecipient<'t> {
    let id_field = root.child("payment_account_id");
    let inline_field = root.child("payment_account");
    let mut recipient = CheckedRecipient {
        payment_account_id: None,
        payment_account: None,
        country: None,
        kind: None,
    };
    match (id_field.is_present(), inline_field.is_present()) {
        (true, true) => reader.report(
            &id_field,
            Rule::ExactlyOneOf,
            "give either payment_account_id or payment_account, not both",
        ),
        (false, false) => reader.report(
            &id_field,
            Rule::ExactlyOneOf,
            "one of payment_account_id or payment_account is required",
        ),
        (true, false) => {
            let Some(id) = reader.id(&id_field, IdKind::PaymentAccount, true) else {
                return recipient;
            };
            recipient.payment_account_id = Some(id.to_owned());
            match accounts.destination(id) {
                None => reader.report(
                    &id_field,
                    Rule::UnknownPaymentAccount,
                    format!("no payment account `{id}`"),
                ),
                Some(destination) => {
                    recipient.kind = Some(destination.account_type);
                    recipient.country = table.country(&destination.country);
                    if recipient.country.is_none() {
                        reader.report(
                            &id_field,
                            Rule::UnsupportedCountry,
                            format!("payouts to {} are not supported", destination.country),
                        );
                    }
                }
            }
        }
        (false, true) => {
            let checked = check_payment_account(reader, &inline_field, true, table);
            recipient.payment_account = checked.account;
            recipient.country = checked.country;
            recipient.kind = checked.kind;
        }
    }
    recipient
}

/// The destination's currency and amount limits.
fn check_limits(
    reader: &mut Reader,
    amount_field: &Field<'_>,
    money: &Money,
    country: &CountryRules,
    kind: AccountType,
) {
    let Some(limit) = country.limit_for(&money.currency, kind) else {
        let accepted: Vec<&str> = country
            .limits
            .iter()
            .filter(|l| l.account_types.contains(&kind))
            .map(|l| l.currency.as_str())
            .collect();
        reader.report(
            &amount_field.child("currency"),
            Rule::UnsupportedCurrency,
            format!(
                "{} is not accepted for {kind} accounts in {} (accepted: {})",
                money.currency,
                country.code,
                if accepted.is_empty() {
                    "none".to_owned()
                } else {
                    accepted.join(", ")
                }
            ),
        );
        return;
    };
    let value_field = amount_field.child("value");
    let bound = |d: Decimal| format!("{d} {}", money.currency);
    if let Some(min) = limit.min
        && money.value < min
    {
        reader.report(
            &value_field,
            Rule::AmountBelowMin,
            format!("must be at least {}", bound(min)),
        );
    }
    if let Some(max) = limit.max
        && money.value > max
    {
        reader.report(
            &value_field,
            Rule::AmountAboveMax,
            format!("must be at most {}", bound(max)),
        );
    }
}

/// What [`select_wallet`] needs to know of a wallet.
pub trait WalletRef {
    fn wallet_id(&self) -> &str;
    fn wallet_currency(&self) -> &str;
}

impl WalletRef for Wallet {
    fn wallet_id(&self) -> &str {
        &self.id
    }
    fn wallet_currency(&self) -> &str {
        &self.currency
    }
}

/// Picks the wallet a payout of `currency` is paid from.
///
/// - With `wallet_id`: that wallet; unknown id -> `UnknownWallet` at
///   `wallet_id`; a wallet of another currency -> `WalletCurrencyMismatch`
///   at `wallet_id` (the API never converts currencies).
/// - Without: the first wallet (in the given order) holding `currency`;
///   none -> `NoWalletForCurrency` at `amount.currency`.
pub fn select_wallet<'w, W: WalletRef>(
    wallets: &'w [W],
    wallet_id: Option<&str>,
    currency: &str,
) -> Result<&'w W, Violation> {
    match wallet_id {
        Some(id) => {
            let wallet = wallets
                .iter()
                .find(|w| w.wallet_id() == id)
                .ok_or_else(|| {
                    Violation::new(
                        "wallet_id",
                        Rule::UnknownWallet,
                        format!("no wallet `{id}`"),
                    )
                })?;
            if wallet.wallet_currency() != currency {
                return Err(Violation::new(
                    "wallet_id",
                    Rule::WalletCurrencyMismatch,
                    format!(
                        "wallet `{id}` holds {}, not {currency}",
                        wallet.wallet_currency()
                    ),
                ));
            }
            Ok(wallet)
        }
        None => wallets
            .iter()
            .find(|w| w.wallet_currency() == currency)
            .ok_or_else(|| {
                Violation::new(
                    "amount.currency",
                    Rule::NoWalletForCurrency,
                    format!("no wallet holds {currency}"),
                )
            }),
    }
}
