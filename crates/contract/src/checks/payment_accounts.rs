//! `POST /payment-accounts`: get-or-create of valid accounts (201, then 200
//! with the same id, the account sent, banks from the server's list; on
//! every run, the account a fixture payout named inline is found with its
//! id, and listed) and 422
//! naming the field for single-fault ones (an unlisted bank and a foreign
//! branch on every run).

use std::sync::Arc;

use proptest::prelude::*;
use rafiki_rules::documented::is_documented_refusal;
use rafiki_rules::strategies;
use serde_json::{Value, json};

use super::listing::{Walk, walk_until};
use super::payouts::{bank_faults, instant};
use super::rejection::{self, Fault, judge_case};
use super::{CheckInfo, INVALID_PAYMENT_ACCOUNT_REJECTED, VALID_PAYMENT_ACCOUNT_ACCEPTED};
use crate::engine::{CaseFailure, CaseResult, Json, property_cases, run_property};
use crate::engine::{Ctx, fixture_payout};
use crate::http::{Exchange, Probe};

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
            inline_account_found(&ctx).await;
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
                let verdict =
                    rejection::judge(&exchange, &path, rule, is_documented_refusal(rule, None));
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

/// The account the first fixture payout named inline, posted on its own:
/// the same account, so 200 with the id the payout answered with.
/// docs/contract.md#payouts: an inline `payment_account` is "got or created
/// as by POST /payment-accounts"; docs/contract.md#payment-accounts: one that
/// exists is returned with 200. The body is the fixture's very account, so
/// which fields make two accounts the same (ours) does not matter.
async fn inline_account_found(ctx: &Ctx) {
    let Some(fixtures) = ctx.fixtures_or_skip(&[&VALID_PAYMENT_ACCOUNT_ACCEPTED]) else {
        return;
    };
    let Some(known) = fixtures.first_account_id() else {
        let why = "the inline account posted on its own: the first fixture payout came without its payment_account_id";
        return ctx.recorder.skip(&VALID_PAYMENT_ACCOUNT_ACCEPTED, why);
    };
    // Created, it is one of "all your payment accounts", newest first:
    // looked for before it is posted on its own, which could list it.
    let list = Probe::get("list_payment_accounts", "/payment-accounts").query("paging_limit", "50");
    let found = |walk: &Walk| walk.ids.iter().any(|id| id == known);
    match walk_until(ctx, list, LISTED_PAGES, found).await {
        Ok(walk) if found(&walk) => ctx.recorder.pass(&VALID_PAYMENT_ACCOUNT_ACCEPTED),
        Ok(walk) if walk.complete => {
            let last = walk.last.expect("a walk has a page");
            let expected = format!(
                "GET /payment-accounts to list {known}, the account a payout created inline (the list is of all the account's payment accounts)"
            );
            ctx.recorder
                .fail(&VALID_PAYMENT_ACCOUNT_ACCEPTED, expected, Some(&last), None);
        }
        Ok(_) => ctx.recorder.skip(
            &VALID_PAYMENT_ACCOUNT_ACCEPTED,
            format!(
                "{known} listed: not within the first {LISTED_PAGES} pages of GET /payment-accounts"
            ),
        ),
        // A page that is no list is pagination_walk's to judge.
        Err(_) => {}
    }
    let account = fixture_payout(0)["payment_account"].clone();
    let exchange = ctx.send(post(account.clone())).await;
    ctx.recorder.expect(
        &VALID_PAYMENT_ACCOUNT_ACCEPTED,
        exchange.status() == 200 && exchange.data_id() == Some(known),
        || {
            format!(
                "200 with the existing account {known}: a payout's inline account is got or created as by POST /payment-accounts"
            )
        },
        &exchange,
    );
    // The same number but for its country code: another recipient, which
    // the server may refuse (not a Kenyan number) but never answer with
    // the account it has.
    let mut other = account;
    let number = other["mobile_money"]["number"].as_str().unwrap_or_default();
    other["mobile_money"]["number"] = json!(number.replacen("+254", "+255", 1));
    let exchange = ctx.send(post(other.clone())).await;
    if exchange.status() == 200 || exchange.status() == 201 {
        let answered = exchange.json().and_then(|j| j.get("data"));
        match another_account(&other, answered) {
            Some(differs) => ctx.recorder.fail(
                &VALID_PAYMENT_ACCOUNT_ACCEPTED,
                format!("the account sent, or a refusal; the one answered has {differs}"),
                Some(&exchange),
                None,
            ),
            None => ctx.recorder.pass(&VALID_PAYMENT_ACCOUNT_ACCEPTED),
        }
    }
}

/// The most pages of GET /payment-accounts read to find one account.
const LISTED_PAGES: usize = 10;

/// What makes the answered account another than the one `sent`: the
/// first of its type, country and recipient details (number, operator,
/// bank, branch) that differs, as sent. An account that exists comes
/// back as it was stored, so its holder may differ; what is not sent, or
/// not answered, is not compared, nor is a number answered masked (with
/// `*`, `X` or `•` in it).
fn another_account(sent: &Value, answered: Option<&Value>) -> Option<String> {
    let answered = answered?;
    let fields = [
        "/type",
        "/country",
        "/mobile_money/number",
        "/mobile_money/operator",
        "/bank_account/bank_id",
        "/bank_account/branch_id",
        "/bank_account/number",
    ];
    fields.into_iter().find_map(|pointer| {
        let sent = sent.pointer(pointer).filter(|v| !v.is_null())?;
        let got = answered.pointer(pointer).filter(|v| !v.is_null())?;
        let masked = pointer.ends_with("/number")
            && got
                .as_str()
                .is_some_and(|n| n.contains(['*', 'X', 'x', '•']));
        (got != sent && !masked).then(|| format!("{got} at {pointer}, sent {sent}"))
    })
}

async fn get_or_create_is_idempotent(ctx: Arc<Ctx>, Json(body): Json) -> CaseResult {
    let probe = post(body.clone());
    let first = ctx.send(probe.clone()).await;
    if !matches!(first.status(), 200 | 201) {
        return Err(CaseFailure::new(
            "201 (or 200 if it already existed)",
            first,
        ));
    }
    // Without an id there is no "same account" to compare.
    let Some(id) = first.data_id().map(str::to_string) else {
        return Err(CaseFailure::new(
            "201 (or 200) with the account, its id (data.id) included",
            first,
        ));
    };
    if let Some(differs) = another_account(&body, first.json().and_then(|j| j.get("data"))) {
        return Err(CaseFailure::new(
            format!("201 (or 200) with the account sent; the one answered has {differs}"),
            first,
        ));
    }
    let again = ctx.send(probe).await;
    // The same account: its created_at too (a server that stamps it again
    // moves the account in the list being walked).
    let created_at =
        |exchange: &Exchange| instant(exchange.json().and_then(|j| j.pointer("/data/created_at")));
    let restamped = matches!(
        (created_at(&first), created_at(&again)),
        (Some(before), Some(after)) if before != after
    );
    if restamped {
        Err(CaseFailure::new(
            format!("200 with the same account {id}, created_at as first answered"),
            again,
        ))
    } else if again.status() == 200 && again.data_id() == Some(id.as_str()) {
        Ok(())
    } else {
        Err(CaseFailure::new(
            format!("200 with the same account {id} when posted again"),
            again,
        ))
    }
}
