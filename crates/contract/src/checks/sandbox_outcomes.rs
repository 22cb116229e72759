//! `sandbox_outcomes`: the sandbox's documented test values (mobile numbers
//! ending 000100 to 000106, bank account 0390195016650) end FAILED with
//! their context, and a payout to any other recipient ends SENT. Only
//! sandboxes promise this, so the check runs where the
//! run found that the server honours them (by behaviour, not host name:
//! see `--sandbox-values`), and is skipped elsewhere.

use std::sync::Arc;

use rafiki_rules::lifecycle::StateCode;
use rafiki_rules::sandbox::{FAILING_BANK_ACCOUNT_NUMBERS, FAILING_MOBILE_SUFFIXES};
use rafiki_rules::wire::ErrorCode;
use serde_json::{Value, json};

use super::{CheckInfo, SANDBOX_OUTCOMES};
use crate::engine::{Ctx, ListedBank, fixture_payout, poll_outcome};

pub const CHECKS: &[&CheckInfo] = &[&SANDBOX_OUTCOMES];

pub async fn run(ctx: Arc<Ctx>) {
    if let Err(why) = &ctx.sandbox_values {
        ctx.recorder.skip(
            &SANDBOX_OUTCOMES,
            format!("the server does not honour the sandbox test values: {why}"),
        );
        return;
    }
    // The test values hold for any number ending so, whatever its operator,
    // and for the bank number at any bank: each suffix goes to the
    // operators in turn, the bank number to a bank with branches and to one
    // without (where GET /banks lists them).
    let operators = ctx
        .table
        .country("KE")
        .map(|ke| ke.mobile_money_operators.clone())
        .unwrap_or_default();
    // Another number per operator too: a server may know an account by
    // its number alone, and would give the second operator the first's.
    let mobile = |suffix: &str, i: usize| {
        let at = i % operators.len().max(1);
        let mut account = fixture_payout(0)["payment_account"].clone();
        account["mobile_money"]["number"] = json!(format!("+25471{}{suffix}", 2 + at));
        if let Some(operator) = operators.get(at) {
            account["mobile_money"]["operator"] = json!(operator);
        }
        account
    };
    let mut cases: Vec<(Value, StateCode, Option<String>)> = FAILING_MOBILE_SUFFIXES
        .iter()
        .enumerate()
        .map(|(i, (suffix, context))| {
            let context = context.map(|c| c.to_string());
            (mobile(suffix, i), StateCode::Failed, context)
        })
        .collect();
    let banks = [true, false].map(|with_branches| {
        ctx.banks
            .in_country("KE")
            .find(|bank| bank.branches.is_empty() != with_branches)
    });
    for bank in banks.into_iter().flatten() {
        let failing = bank_account(bank, FAILING_BANK_ACCOUNT_NUMBERS[0]);
        cases.push((failing, StateCode::Failed, None));
    }
    // docs/contract.md#sandbox-test-values: "A valid sandbox payout moves
    // from PENDING to SENT, unless its recipient is one of these". The
    // control cases: built like the test values, ending in other digits,
    // at each operator and at a bank.
    for i in 0..operators.len().max(1) {
        cases.push((mobile(ORDINARY_MOBILE_SUFFIX, i), StateCode::Sent, None));
    }
    if let Some(bank) = ctx.banks.in_country("KE").next() {
        cases.push((
            bank_account(bank, ORDINARY_BANK_NUMBER),
            StateCode::Sent,
            None,
        ));
    }
    // Every test value at once: the waits for their outcomes overlap.
    let judged = cases
        .into_iter()
        .map(|(account, code, context)| judge(&ctx, account, code, context));
    futures::future::join_all(judged).await;
}

/// The last digits of a mobile number that is no test value.
const ORDINARY_MOBILE_SUFFIX: &str = "000200";

/// A bank account number that is no test value.
const ORDINARY_BANK_NUMBER: &str = "0390195016651";

/// Pays `account` (a test value, or an ordinary recipient) and judges the
/// outcome it ends in.
async fn judge(ctx: &Ctx, account: Value, code: StateCode, context: Option<String>) {
    let mut body = fixture_payout(3);
    body["payment_account"] = account;
    let created = ctx.create_payout(body).await;
    let Some(id) = created.data_id().map(str::to_string) else {
        if created.is_recipient_unavailable() {
            // A documented outage each time it was sent: nothing made.
            let why = "the recipient's bank or operator was down (503) each time a test-value payout was sent";
            return ctx.recorder.skip(&SANDBOX_OUTCOMES, why);
        }
        if created.is_error(ErrorCode::WalletInsufficientBalance) {
            // A wallet run dry (a long-lived server, many runs) refuses
            // any payout: legal, and nothing to judge.
            let why = "the wallet is short for a test-value payout (402)";
            return ctx.recorder.skip(&SANDBOX_OUTCOMES, why);
        }
        ctx.recorder.fail(
            &SANDBOX_OUTCOMES,
            "202 with the payout's id, for a valid sandbox payout (a test value or not)",
            Some(&created),
            None,
        );
        return;
    };
    match poll_outcome(ctx, &id).await {
        // Support may cancel any payout before it settles: no promise broken.
        Ok((state, _)) if state == "CANCELLED" => {
            ctx.recorder.skip(
                &SANDBOX_OUTCOMES,
                format!("payout {id} was cancelled before it settled"),
            );
        }
        // Only a SENT payout can be reversed: polling missed its SENT.
        Ok((state, _)) if code == StateCode::Sent && state == "REVERSED" => {
            ctx.recorder.pass(&SANDBOX_OUTCOMES);
        }
        Ok((state, exchange)) => {
            let got_context = exchange
                .json()
                .and_then(|j| j.pointer("/data/state/context"))
                .and_then(Value::as_str);
            // A documented context must be the one given; where none is
            // documented (SENT, the bank test value) any context passes:
            // the provider gives one "whenever possible".
            let context_ok = context.is_none() || got_context == context.as_deref();
            ctx.recorder.expect(
                &SANDBOX_OUTCOMES,
                state == code.to_string() && context_ok,
                || match (code, &context) {
                    (StateCode::Sent, _) => {
                        "SENT: a valid sandbox payout to a recipient that is no test value moves from PENDING to SENT".into()
                    }
                    (_, Some(context)) => format!("{code} with context {context}"),
                    (_, None) => format!("{code}"),
                },
                &exchange,
            );
        }
        Err(why) => ctx
            .recorder
            .skip(&SANDBOX_OUTCOMES, format!("payout {id}: {why}")),
    }
}

/// A bank account with `number` at `bank` (and its first branch).
fn bank_account(bank: &ListedBank, number: &str) -> Value {
    let mut details = json!({"bank_id": bank.id, "number": number});
    if let Some(branch) = bank.branches.first() {
        details["branch_id"] = json!(branch);
    }
    json!({
        "type": "BANK_ACCOUNT", "country": "KE",
        "holder": {"type": "BUSINESS", "name": "Sandbox Test Value"},
        "bank_account": details
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ordinary_number_is_no_test_value() {
        for (suffix, _) in FAILING_MOBILE_SUFFIXES {
            assert!(!ORDINARY_MOBILE_SUFFIX.ends_with(suffix), "{suffix}");
        }
    }
}
