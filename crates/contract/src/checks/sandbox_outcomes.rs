//! `sandbox_outcomes`: the sandbox's documented test values (mobile numbers
//! ending 000100 to 000106, bank account 0390195016650) end FAILED with
//! their context. Only sandboxes promise this, so the check runs against
//! the provider's sandbox host or a server with the mock's control API,
//! and is skipped elsewhere.

use std::sync::Arc;
use std::time::Instant;

use rafiki_rules::lifecycle::StateCode;
use rafiki_rules::sandbox::{FAILING_BANK_ACCOUNT_NUMBERS, FAILING_MOBILE_SUFFIXES};
use serde_json::{Value, json};

use super::{CheckInfo, SANDBOX_OUTCOMES};
use crate::http::Probe;
use crate::runner::{Ctx, fixture_payout};

pub const CHECKS: &[&CheckInfo] = &[&SANDBOX_OUTCOMES];

const SANDBOX_HOST: &str = "rest.sandbox.rafiki-api.com";

pub async fn run(ctx: Arc<Ctx>) {
    let on_sandbox = url::Url::parse(ctx.client.base_url()).is_ok_and(|u| u.host_str() == Some(SANDBOX_HOST));
    if !on_sandbox && !ctx.control_api {
        ctx.recorder.skip(&SANDBOX_OUTCOMES, "not a sandbox: the test values are a sandbox feature");
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
    if let Some(account) = bank_account(&ctx, FAILING_BANK_ACCOUNT_NUMBERS[0]).await {
        cases.push((account, StateCode::Failed, None));
    }
    for (account, code, context) in cases {
        let mut body = fixture_payout(3);
        body["payment_account"] = account;
        let created = ctx.send(Probe::create_payout(body)).await;
        let Some(id) = created.json().and_then(|j| j.pointer("/data/id")).and_then(Value::as_str).map(str::to_string) else {
            ctx.recorder.fail(&SANDBOX_OUTCOMES, "202 for a sandbox test value", Some(&created), None);
            continue;
        };
        let deadline = Instant::now() + ctx.poll_deadline;
        loop {
            let exchange = ctx.send(Probe::get("get_payout", format!("/payouts/{id}"))).await;
            let state = exchange.json().and_then(|j| j.pointer("/data/state")).cloned().unwrap_or(Value::Null);
            let now = state["code"].as_str().unwrap_or("PENDING");
            if now != "PENDING" {
                let got_context = state["context"].as_str().map(str::to_string);
                ctx.recorder.expect(
                    &SANDBOX_OUTCOMES,
                    now == code.to_string() && got_context == context,
                    || format!("{code} with context {context:?}"),
                    &exchange,
                );
                break;
            }
            if Instant::now() >= deadline {
                ctx.recorder.skip(&SANDBOX_OUTCOMES, format!("payout {id} still PENDING after {:?}", ctx.poll_deadline));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

/// A bank account with `number` at the first listed bank (and branch).
async fn bank_account(ctx: &Ctx, number: &str) -> Option<Value> {
    let banks = ctx.send(Probe::get("list_banks", "/banks")).await;
    let bank = banks.json()?["data"].as_array()?.iter().find(|b| b["country"] == "KE")?.clone();
    let mut details = json!({"bank_id": bank["id"], "number": number});
    if let Some(branch) = bank["branches"].as_array().and_then(|b| b.first()) {
        details["branch_id"] = branch["id"].clone();
    }
    Some(json!({
        "type": "BANK_ACCOUNT", "country": "KE",
        "holder": {"type": "BUSINESS", "name": "Sandbox Test Value"},
        "bank_account": details
    }))
}
