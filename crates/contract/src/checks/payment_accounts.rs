//! `POST /payment-accounts`: get-or-create of valid accounts (201, then 200
//! with the same id) and 422 naming the field for single-fault ones.

use std::sync::Arc;

use proptest::prelude::*;
use rafiki_rules::strategies;

use super::payouts::{Fault, blocking, judge_rejection};
use super::{CheckInfo, INVALID_PAYMENT_ACCOUNT_REJECTED, VALID_PAYMENT_ACCOUNT_ACCEPTED};
use crate::generate::{CaseFailure, CaseResult, Json, run_property};
use crate::http::Probe;
use crate::runner::Ctx;

pub const CHECKS: &[&CheckInfo] = &[&VALID_PAYMENT_ACCOUNT_ACCEPTED, &INVALID_PAYMENT_ACCOUNT_REJECTED];

pub async fn run(ctx: Arc<Ctx>) {
    if ctx.is_selected(&VALID_PAYMENT_ACCOUNT_ACCEPTED) {
        let ctx = ctx.clone();
        blocking(move || {
            let strategy = strategies::valid_payment_account(ctx.table.clone()).prop_map(Json);
            run_property(&ctx, &VALID_PAYMENT_ACCOUNT_ACCEPTED, strategy, get_or_create_is_idempotent)
        })
        .await;
    }
    if ctx.is_selected(&INVALID_PAYMENT_ACCOUNT_REJECTED) {
        let ctx = ctx.clone();
        blocking(move || {
            let strategy = strategies::payment_account_with_one_fault(ctx.table.clone()).prop_map(Fault::from);
            run_property(&ctx, &INVALID_PAYMENT_ACCOUNT_REJECTED, strategy, |ctx, fault| {
                let exchange = ctx.send_blocking(Probe::post("get_or_create_payment_account", "/payment-accounts", fault.body.clone()));
                judge_rejection(exchange, &fault.path, fault.rule)
            })
        })
        .await;
    }
}

fn get_or_create_is_idempotent(ctx: &Ctx, Json(body): &Json) -> CaseResult {
    let probe = Probe::post("get_or_create_payment_account", "/payment-accounts", body.clone());
    let first = ctx.send_blocking(probe.clone());
    if !matches!(first.status(), 200 | 201) {
        return Err(CaseFailure::new("201 (or 200 if it already existed)", first));
    }
    let id = first.json().and_then(|j| j.pointer("/data/id")).cloned();
    let again = ctx.send_blocking(probe);
    let same = again.json().and_then(|j| j.pointer("/data/id")).cloned() == id;
    if again.status() == 200 && same {
        Ok(())
    } else {
        Err(CaseFailure::new(format!("200 with the same account {id:?} when posted again"), again))
    }
}
