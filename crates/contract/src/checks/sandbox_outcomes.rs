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
use crate::engine::{Ctx, fixture_payout, poll_outcome};

pub const CHECKS: &[&CheckInfo] = &[&SANDBOX_OUTCOMES];

pub async fn run(ctx: Arc<Ctx>) {
    if let Err(why) = &ctx.sandbox_values {
        ctx.recorder.skip(
            &SANDBOX_OUTCOMES,
            format!("the server does not honour the sandbox test values: {why}"),
        );
        return;
    }
    let mut cases: Vec<(Value, StateCode, Option<String>)> = FAILING_MOBILE_SUFFIXES
        .iter()
        .map(|(suffix, context)| {
            let mut account = fixture_payout(0)["payment_account"].clone();
            account["mobile_money"]["number"] = json!(format!("+254712{suffix}"));
            (account, StateCode::Failed, context.map(|c| c.to_string()))
        })
        .collect();
    if let Some(account) = bank_account(&ctx, FAILING_BANK_ACCOUNT_NUMBERS[0]) {
        cases.push((account, StateCode::Failed, None));
    }
    // docs/contract.md#sandbox-test-values: "A valid sandbox payout moves
    // from PENDING to SENT, unless its recipient is one of these". The
    // control case: built like the test numbers, ending in other digits.
    let mut ordinary = fixture_payout(0)["payment_account"].clone();
    ordinary["mobile_money"]["number"] = json!(format!("+254712{ORDINARY_MOBILE_SUFFIX}"));
    cases.push((ordinary, StateCode::Sent, None));
    // Every test value at once: the waits for their outcomes overlap.
    let judged = cases
        .into_iter()
        .map(|(account, code, context)| judge(&ctx, account, code, context));
    futures::future::join_all(judged).await;
}

/// The last digits of a mobile number that is no test value.
const ORDINARY_MOBILE_SUFFIX: &str = "000200";

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
            ctx.recorder.expect(
                &SANDBOX_OUTCOMES,
                state == code.to_string() && got_context == context.as_deref(),
                || match (code, &context) {
                    (StateCode::Sent, _) => {
                        "SENT: a valid sandbox payout to a recipient that is no test value moves from PENDING to SENT".into()
                    }
                    (_, Some(context)) => format!("{code} with context {context}"),
                    (_, None) => format!("{code} without a context"),
                },
                &exchange,
            );
        }
        Err(why) => ctx
            .recorder
            .skip(&SANDBOX_OUTCOMES, format!("payout {id}: {why}")),
    }
}

/// A bank account with `number` at the first listed bank (and branch).
fn bank_account(ctx: &Ctx, number: &str) -> Option<Value> {
    let bank = ctx.banks.in_country("KE").next()?;
    let mut details = json!({"bank_id": bank.id, "number": number});
    if let Some(branch) = bank.branches.first() {
        details["branch_id"] = json!(branch);
    }
    Some(json!({
        "type": "BANK_ACCOUNT", "country": "KE",
        "holder": {"type": "BUSINESS", "name": "Sandbox Test Value"},
        "bank_account": details
    }))
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
