//! `POST /payment-accounts`: get-or-create of valid accounts (201, then 200
//! with the same id, banks from the server's list) and 422 naming the
//! field for single-fault ones (an unlisted bank and a foreign branch on
//! every run).

use std::sync::Arc;

use proptest::prelude::*;
use rafiki_rules::strategies;
use serde_json::{Value, json};

use super::payouts::bank_faults;
use super::rejection::{self, Fault, judge_case};
use super::{CheckInfo, INVALID_PAYMENT_ACCOUNT_REJECTED, VALID_PAYMENT_ACCOUNT_ACCEPTED};
use crate::http::{Exchange, Probe};
use crate::json::At;
use crate::property::{CaseFailure, CaseResult, Json, property_cases, run_property};
use crate::runner::{Ctx, fixture_payout};

pub const CHECKS: &[&CheckInfo] = &[
    &VALID_PAYMENT_ACCOUNT_ACCEPTED,
    &INVALID_PAYMENT_ACCOUNT_REJECTED,
];

pub async fn run(ctx: Arc<Ctx>) {
    // Two independent chains, so that a slow network costs one wait, not two.
    let accepted = async {
        if ctx.is_selected(&VALID_PAYMENT_ACCOUNT_ACCEPTED) {
            if !ctx.banks.has_country("KE") {
                ctx.recorder.skip(
                    &VALID_PAYMENT_ACCOUNT_ACCEPTED,
                    "bank-account cases: GET /banks lists no bank for KE",
                );
            }
            let banks = ctx.banks.clone();
            let strategy = strategies::valid_payment_account(ctx.table.clone())
                .prop_filter_map("a bank the server lists", move |mut body| {
                    banks.assign(&mut body, "").then_some(Json(body))
                });
            let cases = property_cases(&ctx, &VALID_PAYMENT_ACCOUNT_ACCEPTED, strategy);
            run_property(&ctx, cases, get_or_create_is_idempotent).await;
        }
    };
    let rejected = async {
        if ctx.is_selected(&INVALID_PAYMENT_ACCOUNT_REJECTED) {
            let mut bank_account = fixture_payout(2)["payment_account"].clone();
            bank_account["type"] = json!("BANK_ACCOUNT");
            bank_account["bank_account"] = json!({"bank_id": "bnk-unset", "number": "0123456789"});
            bank_account
                .as_object_mut()
                .map(|a| a.remove("mobile_money"));
            for (body, path, rule) in bank_faults(&ctx, bank_account, "bank_account") {
                let exchange = ctx.send(post(body.clone())).await;
                let verdict = rejection::judge(&exchange, &path, rule, true);
                ctx.recorder.verdict(
                    &INVALID_PAYMENT_ACCOUNT_REJECTED,
                    verdict,
                    &exchange,
                    Some(body.to_string()),
                );
            }
            let banks = ctx.banks.clone();
            let strategy = strategies::payment_account_with_one_fault(ctx.table.clone())
                .prop_filter_map("a bank the server lists", move |case| {
                    Fault::with_listed_bank(&banks, "", case.body, case.path, case.rule)
                });
            let cases = property_cases(&ctx, &INVALID_PAYMENT_ACCOUNT_REJECTED, strategy);
            run_property(&ctx, cases, |ctx, fault| async move {
                let exchange = ctx.send(post(fault.body.clone())).await;
                judge_case(&ctx, &INVALID_PAYMENT_ACCOUNT_REJECTED, exchange, &fault)
            })
            .await;
        }
    };
    futures::join!(accepted, rejected);
}

fn post(body: impl Into<Arc<Value>>) -> Probe {
    Probe::post("get_or_create_payment_account", "/payment-accounts", body)
}

async fn get_or_create_is_idempotent(ctx: Arc<Ctx>, Json(body): Json) -> CaseResult {
    let probe = post(body);
    let first = ctx.send(probe.clone()).await;
    if !matches!(first.status(), 200 | 201) {
        return Err(CaseFailure::new(
            "201 (or 200 if it already existed)",
            first,
        ));
    }
    let id_of = |exchange: &Exchange| {
        exchange
            .json()
            .and_then(|j| j.at("/data/id"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    // Without an id there is no "same account" to compare.
    let Some(id) = id_of(&first) else {
        return Err(CaseFailure::new(
            "201 (or 200) with the account, its id (data.id) included",
            first,
        ));
    };
    let again = ctx.send(probe).await;
    if again.status() == 200 && id_of(&again).as_deref() == Some(id.as_str()) {
        Ok(())
    } else {
        Err(CaseFailure::new(
            format!("200 with the same account {id} when posted again"),
            again,
        ))
    }
}
