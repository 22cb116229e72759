//! What the sequences pay, from the compliance data (`spec/compliance.yaml`,
//! read as the run's `ComplianceTable`): the amount limits of the payouts
//! the request builders make (their country, currency and account type are
//! read from such a body), the range the generated amounts are drawn from,
//! and the wallet top-up with the available below which it is made. Every
//! amount the suite pays is derived here from those limits, so a change
//! to the compliance data flows through without touching the suite.

use std::ops::RangeInclusive;

use rafiki_rules::ComplianceTable;
use rafiki_rules::wire::AccountType;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

/// The sequences' amounts, for one destination, currency and account type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amounts {
    /// The payouts' currency (the wallet the money model follows).
    pub currency: String,
    /// The smallest payout the compliance data allows.
    pub min: Decimal,
    /// The largest payout the compliance data allows.
    pub max: Decimal,
    /// The generated payout amounts, in cents.
    pub cents: RangeInclusive<u32>,
    /// What a top-up (control API) adds to the wallet.
    pub top_up: Decimal,
    /// The available below which the wallet is topped up.
    pub top_up_below: Decimal,
}

impl Amounts {
    /// The amounts for payouts like `payout` under `table`'s limits; `Err`
    /// names what the table lacks.
    pub fn from_compliance(table: &ComplianceTable, payout: &Value) -> Result<Self, String> {
        let text = |pointer: &str| {
            payout
                .pointer(pointer)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the sequences' payouts have no {pointer}"))
        };
        let country = text("/payment_account/country")?;
        let currency = text("/amount/currency")?;
        let account_type: AccountType = text("/payment_account/type")?
            .parse()
            .map_err(|e| format!("the sequences' payouts: {e}"))?;
        let limit = table
            .country(country)
            .and_then(|rules| rules.limit_for(currency, account_type))
            .ok_or_else(|| {
                format!(
                    "the compliance data accepts no {currency} {account_type} payout to {country}"
                )
            })?;
        let max = limit.max.ok_or_else(|| {
            format!(
                "the compliance data gives {country} {currency} {account_type} payouts no maximum, which the sequences' amounts are scaled from"
            )
        })?;
        // A payout is at least a cent, whatever the table says.
        let min = limit.min.unwrap_or_default().max(Decimal::new(1, 2));
        // The top-up, a twenty-fifth of the largest payout: right after one,
        // an overdraw (available + 0.01) is still an amount the limits allow.
        let top_up = (max / Decimal::from(25)).round_dp(2);
        // Top up below a quarter of a top-up: two of the largest generated payouts.
        let top_up_below = (top_up / Decimal::from(4)).round_dp(2);
        // The largest generated payout, a sixteenth of a top-up: now and
        // then a few creates drain a topped-up wallet, so sequences meet
        // 402s as well as 202s (most pay near the minimum: `model`).
        let largest = (top_up / Decimal::from(16)).round_dp(2);
        let cents = |amount: Decimal| (amount * Decimal::ONE_HUNDRED).ceil().to_u32();
        let (Some(low), Some(high)) = (cents(min), cents(largest)) else {
            return Err(format!(
                "{country} {currency} limits {min} to {max} do not fit the sequences' amounts in cents"
            ));
        };
        let high = high.max(low);
        if Decimal::new(i64::from(high), 2) > max {
            return Err(format!(
                "{country} {currency} limits {min} to {max} leave no room for the sequences' amounts"
            ));
        }
        Ok(Amounts {
            currency: currency.to_string(),
            min,
            max,
            cents: low..=high,
            top_up,
            top_up_below,
        })
    }

    /// The top-up as the control API takes it, two decimals.
    pub fn top_up_text(&self) -> String {
        format!("{:.2}", self.top_up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(limits: &str) -> ComplianceTable {
        ComplianceTable::from_yaml_str(&format!(
            "countries:\n  KE:\n    name: Kenya\n    limits:\n      - {{currency: KES{limits}}}\n"
        ))
        .unwrap()
    }

    fn payout() -> Value {
        json!({
            "amount": {"value": "140.00", "currency": "KES"},
            "payment_account": {"type": "MOBILE_MONEY", "country": "KE"}
        })
    }

    #[test]
    fn amounts_follow_the_limits() {
        let amounts =
            Amounts::from_compliance(&table(", min: '140', max: '500000'"), &payout()).unwrap();
        assert_eq!(amounts.currency, "KES");
        assert_eq!(
            (amounts.min, amounts.max),
            (Decimal::from(140), Decimal::from(500_000))
        );
        assert_eq!(amounts.top_up_text(), "20000.00");
        assert_eq!(amounts.top_up_below, Decimal::from(5_000));
        assert_eq!(amounts.cents, 14_000..=125_000);

        let doubled =
            Amounts::from_compliance(&table(", min: '280', max: '1000000'"), &payout()).unwrap();
        assert_eq!(doubled.top_up_text(), "40000.00");
        assert_eq!(doubled.cents, 28_000..=250_000);
    }

    #[test]
    fn the_generated_amounts_and_an_overdraw_stay_within_the_limits() {
        for (min, max) in [("140", "500000"), ("0.5", "333.33"), ("900", "1000")] {
            let limits = format!(", min: '{min}', max: '{max}'");
            let amounts = Amounts::from_compliance(&table(&limits), &payout()).unwrap();
            let cents = |c: u32| Decimal::new(i64::from(c), 2);
            assert!(amounts.min <= cents(*amounts.cents.start()), "{limits}");
            assert!(cents(*amounts.cents.end()) <= amounts.max, "{limits}");
            let overdraw = amounts.top_up_below + amounts.top_up + Decimal::new(1, 2);
            assert!(overdraw <= amounts.max, "{limits}");
        }
    }

    #[test]
    fn a_table_without_the_limit_is_named() {
        let why = Amounts::from_compliance(&table(", min: '140'"), &payout()).unwrap_err();
        assert!(why.contains("no maximum"), "{why}");
        let mut elsewhere = payout();
        elsewhere["payment_account"]["country"] = json!("UG");
        let why = Amounts::from_compliance(&table(""), &elsewhere).unwrap_err();
        assert!(why.contains("no KES MOBILE_MONEY payout to UG"), "{why}");
    }
}
