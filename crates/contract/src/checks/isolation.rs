//! `tenant_isolation`: a second API key sees none of the first key's
//! payouts or payment accounts, cannot pay with them or from its wallet,
//! and does not share its idempotency keys (docs/contract.md,
//! "Authentication": tenancy).

use std::sync::Arc;

use serde_json::json;

use super::listing::walk;
use super::{CheckInfo, TENANT_ISOLATION};
use crate::engine::{Ctx, fixture_payout};
use crate::http::{Exchange, KeySlot, Probe};

pub const CHECKS: &[&CheckInfo] = &[&TENANT_ISOLATION];

pub async fn run(ctx: Arc<Ctx>) {
    if !ctx.client.has_secondary_key() {
        ctx.recorder.skip(
            &TENANT_ISOLATION,
            "needs a second account's key (--api-key-2)",
        );
        return;
    }
    let Some(fixtures) = ctx.fixtures_or_skip(&[&TENANT_ISOLATION]) else {
        return;
    };
    let theirs: Vec<String> = fixtures
        .payouts
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect();
    let their_accounts: Vec<String> = fixtures
        .payouts
        .iter()
        .filter_map(|p| p["payment_account_id"].as_str().map(str::to_string))
        .collect();

    if theirs.is_empty() {
        ctx.recorder.skip(
            &TENANT_ISOLATION,
            "payouts: the fixture payouts have no ids to look for",
        );
    }
    if their_accounts.is_empty() {
        ctx.recorder.skip(
            &TENANT_ISOLATION,
            "payment accounts: the fixture payouts name none",
        );
    }
    for id in &theirs {
        let exchange = ctx
            .send(Probe::get("get_payout", format!("/payouts/{id}")).key(KeySlot::Secondary))
            .await;
        ctx.recorder.expect(
            &TENANT_ISOLATION,
            exchange.status() == 404,
            || format!("404 for another account's payout {id}"),
            &exchange,
        );
    }
    let mut payouts = Probe::get("list_payouts", "/payouts").query("paging_limit", "50");
    if let Some(from) = fixtures.payouts[0]["created_at"].as_str() {
        payouts = payouts.query("created_at_from", from);
    }
    let lists = [
        (payouts, &theirs),
        (
            Probe::get("list_payment_accounts", "/payment-accounts").query("paging_limit", "50"),
            &their_accounts,
        ),
    ];
    for (probe, forbidden) in lists {
        if forbidden.is_empty() {
            continue; // nothing to look for: skipped above
        }
        let list = probe.target.clone();
        match walk(&ctx, probe.key(KeySlot::Secondary), 20).await {
            Ok(seen) => {
                let leaked: Vec<&String> = seen
                    .ids
                    .iter()
                    .filter(|id| forbidden.contains(id))
                    .collect();
                let unnamed = seen.ids.iter().filter(|id| id.is_empty()).count();
                let last = seen.last.as_ref().expect("a walk has a page");
                if !leaked.is_empty() {
                    ctx.recorder.fail(
                        &TENANT_ISOLATION,
                        format!(
                            "no item of the other account; listed {}",
                            leaked
                                .iter()
                                .map(|id| id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        Some(last),
                        None,
                    );
                } else if !seen.complete {
                    ctx.recorder.skip(
                        &TENANT_ISOLATION,
                        format!("{list}: more than 20 pages, the walk was cut"),
                    );
                } else if unnamed > 0 {
                    ctx.recorder.skip(
                        &TENANT_ISOLATION,
                        format!(
                            "{list}: {unnamed} items without an id, whose they are cannot be told"
                        ),
                    );
                } else {
                    ctx.recorder.pass(&TENANT_ISOLATION);
                }
            }
            Err(page) => ctx.recorder.fail(
                &TENANT_ISOLATION,
                "200 with a `data` list for the second account's own list",
                Some(&page),
                None,
            ),
        }
    }
    // Paying with the other account's payment account, or from its wallet,
    // must be refused.
    if let Some(account) = their_accounts.first() {
        let mut body = fixture_payout(7);
        body.as_object_mut()
            .expect("object")
            .remove("payment_account");
        body["payment_account_id"] = json!(account);
        let exchange = ctx.create_payout_as(body, KeySlot::Secondary).await;
        expect_refusal(&ctx, &exchange, account);
    }
    if let Some(wallet) = fixtures.payouts[0]["wallet_id"].as_str() {
        let mut body = fixture_payout(8);
        body["wallet_id"] = json!(wallet);
        let exchange = ctx.create_payout_as(body, KeySlot::Secondary).await;
        expect_refusal(&ctx, &exchange, wallet);
    }
    one_idempotency_key_in_two_accounts(&ctx).await;
}

/// Both accounts send a payout under one idempotency key: a key belongs
/// to its account (API.md: the scope is the account, the URL and the key),
/// so the second never gets the first's payout back. The second's payout
/// is below Kenya's minimum, so that its own answer is a refusal (other
/// checks judge it) and moves none of its money, which the stateful
/// sequences on that account are counting.
async fn one_idempotency_key_in_two_accounts(ctx: &Ctx) {
    let key = format!("contract-tenancy-{}", uuid::Uuid::new_v4().simple());
    let under_key = |body, slot| Probe {
        idempotency_key: Some(key.clone()),
        ..Probe::create_payout(body).key(slot)
    };
    let first = ctx
        .send(under_key(fixture_payout(9), KeySlot::Primary))
        .await;
    let Some(theirs) = first.data_id().filter(|_| first.status() == 202) else {
        return ctx.recorder.skip(
            &TENANT_ISOLATION,
            format!(
                "one idempotency key in two accounts: the first account's payout was not accepted (HTTP {})",
                first.status()
            ),
        );
    };
    let mut below_minimum = fixture_payout(10);
    below_minimum["amount"]["value"] = json!("1.00");
    let second = ctx
        .send_to_be_refused(under_key(below_minimum, KeySlot::Secondary))
        .await;
    if second.data_id() == Some(theirs) {
        let expected = format!(
            "the second account's own answer under idempotency key `{key}`, never the other account's payout {theirs}: a key belongs to the account that sent it"
        );
        ctx.recorder
            .fail(&TENANT_ISOLATION, expected, Some(&second), None);
    } else {
        ctx.recorder.pass(&TENANT_ISOLATION);
    }
}

/// A create naming `theirs` (the other account's payment account or
/// wallet) must get a 4xx. A 5xx (the server failed) or no answer is no
/// refusal; a 202 paid with what is not the key's (or, for a wallet, from
/// another wallet than the one named, which the create's `wallet_id`
/// forbids).
fn expect_refusal(ctx: &Ctx, exchange: &Exchange, theirs: &str) {
    if exchange.is_recipient_unavailable() {
        let why = format!(
            "a payout naming {theirs}, of another account, met a documented outage of its recipient's bank or operator (503) each time it was sent: neither taken nor refused"
        );
        return ctx.recorder.skip(&TENANT_ISOLATION, why);
    }
    let expected = format!("a 4xx refusal: {theirs} belongs to another account");
    let why = match exchange.status() {
        400..=499 => return ctx.recorder.pass(&TENANT_ISOLATION),
        0 => format!("{expected}; there was no answer"),
        status @ 500..=599 => {
            format!("{expected}; HTTP {status} is the server failing, not refusing")
        }
        status => format!("{expected}; got HTTP {status}"),
    };
    ctx.recorder
        .fail(&TENANT_ISOLATION, why, Some(exchange), None);
}
