//! Payment accounts: validation of POST /payment-accounts bodies (and of
//! `payment_account` inline in a payout), and the identity that decides
//! whether a posted account already exists (200) or is new (201).

use serde_json::Value;

use crate::compliance::{ComplianceTable, CountryRules};
use crate::format::{IdKind, is_alphanumeric, is_blank, is_e164};
use crate::reader::{Field, Reader};
use crate::violations::{Rule, Violations};
use crate::wire::{
    AccountType, BankAccount, Holder, MobileMoney, PartyType, PaymentAccountRequest,
};

/// Validates a POST /payment-accounts body. Paths are relative to the body
/// (`mobile_money.number`, `holder.name`, ...).
///
/// Decisions where the contract (`docs/contract.md#payment-accounts`) is silent:
/// - the country must be one the compliance table serves (else
///   `UnsupportedCountry` at `country`): an account nobody can pay is refused;
/// - a block that does not match `type` (e.g. `bank_account` on a
///   MOBILE_MONEY account) is ignored and dropped from the result;
/// - a bank account number must be ASCII alphanumeric (the upstream schema's
///   `alphanum` format); `branch_id` is optional;
/// - unknown properties are ignored.
pub fn validate_payment_account(
    body: &Value,
    table: &ComplianceTable,
) -> Result<PaymentAccountRequest, Violations> {
    let mut reader = Reader::default();
    let checked = check_payment_account(&mut reader, &Field::at("", Some(body)), true, table);
    reader.finish(checked.account)
}

/// What a (possibly faulty) payment account says about the destination.
pub(crate) struct CheckedAccount<'t> {
    /// The whole account, when every part of it was valid.
    pub account: Option<PaymentAccountRequest>,
    /// The destination country's rules, when the country is valid and served.
    pub country: Option<&'t CountryRules>,
    /// The account type, when valid.
    pub kind: Option<AccountType>,
}

pub(crate) fn check_payment_account<'t>(
    reader: &mut Reader,
    field: &Field<'_>,
    required: bool,
    table: &'t ComplianceTable,
) -> CheckedAccount<'t> {
    let nothing = CheckedAccount {
        account: None,
        country: None,
        kind: None,
    };
    if reader.object(field, required).is_none() {
        return nothing;
    }
    let kind = reader.enumeration::<AccountType>(&field.child("type"), true);
    let country_field = field.child("country");
    let country_code = reader.country(&country_field, true);
    let country = country_code.and_then(|code| {
        let rules = table.country(code);
        if rules.is_none() {
            reader.report(
                &country_field,
                Rule::UnsupportedCountry,
                format!("payouts to {code} are not supported"),
            );
        }
        rules
    });
    let holder = check_holder(reader, &field.child("holder"));
    let (mobile_money, bank_account) = match kind {
        Some(AccountType::MobileMoney) => (
            check_mobile_money(reader, &field.child("mobile_money"), country).map(Some),
            Some(None),
        ),
        Some(AccountType::BankAccount) => (
            Some(None),
            check_bank_account(reader, &field.child("bank_account")).map(Some),
        ),
        None => (None, None),
    };
    let account = (|| {
        Some(PaymentAccountRequest {
            kind: kind?,
            country: country_code?.to_owned(),
            holder: holder?,
            mobile_money: mobile_money?,
            bank_account: bank_account?,
        })
    })();
    CheckedAccount {
        account,
        country,
        kind,
    }
}

fn check_holder(reader: &mut Reader, field: &Field<'_>) -> Option<Holder> {
    reader.object(field, true)?;
    let kind = reader.enumeration::<PartyType>(&field.child("type"), true);
    let name = reader.text(&field.child("name"), true);
    Some(Holder {
        kind: kind?,
        name: name?.to_owned(),
    })
}

fn check_mobile_money(
    reader: &mut Reader,
    field: &Field<'_>,
    country: Option<&CountryRules>,
) -> Option<MobileMoney> {
    reader.object(field, true)?;
    let number_field = field.child("number");
    let number = reader.string(&number_field, true).filter(|number| {
        let ok = is_e164(number);
        if !ok {
            reader.report(
                &number_field,
                Rule::E164,
                format!(
                    "`{number}` is not an E.164 number (`+` then 8 to 15 digits, the first not 0)"
                ),
            );
        }
        ok
    });
    let operator_field = field.child("operator");
    let operator = reader
        .string(&operator_field, true)
        .filter(|operator| match country {
            // Without a served country there is no operator list to check against;
            // the country's own violation says what is wrong.
            None => true,
            Some(rules) => {
                let ok = rules.allows_operator(operator);
                if !ok {
                    reader.report(
                        &operator_field,
                        Rule::Operator,
                        format!(
                            "`{operator}` is not a mobile money operator served in {} (served: {})",
                            rules.code,
                            rules.mobile_money_operators.join(", ")
                        ),
                    );
                }
                ok
            }
        });
    Some(MobileMoney {
        number: number?.to_owned(),
        operator: operator?.to_owned(),
    })
}

fn check_bank_account(reader: &mut Reader, field: &Field<'_>) -> Option<BankAccount> {
    reader.object(field, true)?;
    let bank_id = reader.id(&field.child("bank_id"), IdKind::Bank, true);
    let branch_id = reader.id(&field.child("branch_id"), IdKind::Branch, false);
    let number_field = field.child("number");
    let number = reader.string(&number_field, true).filter(|number| {
        let ok = is_alphanumeric(number);
        if !ok {
            let (rule, message) = if is_blank(number) {
                (Rule::Blank, "must not be blank".to_owned())
            } else {
                (
                    Rule::AlphaNumeric,
                    format!("`{number}` must contain only letters and digits"),
                )
            };
            reader.report(&number_field, rule, message);
        }
        ok
    });
    Some(BankAccount {
        bank_id: bank_id?.to_owned(),
        branch_id: branch_id.map(str::to_owned),
        number: number?.to_owned(),
    })
}

/// What makes two posted payment accounts "the same account" for
/// get-or-create: where the money goes. The holder (type and name) is
/// deliberately *not* part of it: re-posting an existing number with a
/// differently spelled holder name returns the existing account (200, with
/// its original holder) instead of creating a twin that pays the same wallet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountIdentity {
    MobileMoney {
        country: String,
        operator: String,
        number: String,
    },
    BankAccount {
        country: String,
        bank_id: String,
        branch_id: Option<String>,
        number: String,
    },
}

/// The identity of a validated account request. `None` only for a request
/// whose block does not match its type (which validation never returns).
pub fn account_identity(account: &PaymentAccountRequest) -> Option<AccountIdentity> {
    let country = account.country.clone();
    match account.kind {
        AccountType::MobileMoney => {
            account
                .mobile_money
                .as_ref()
                .map(|m| AccountIdentity::MobileMoney {
                    country,
                    operator: m.operator.clone(),
                    number: m.number.clone(),
                })
        }
        AccountType::BankAccount => {
            account
                .bank_account
                .as_ref()
                .map(|b| AccountIdentity::BankAccount {
                    country,
                    bank_id: b.bank_id.clone(),
                    branch_id: b.branch_id.clone(),
                    number: b.number.clone(),
                })
        }
    }
}
