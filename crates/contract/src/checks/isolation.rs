//! `tenant_isolation`: a second API key sees none of the first key's
//! payouts or payment accounts, and cannot pay with them.

use std::sync::Arc;

use serde_json::json;

use super::listing::walk;
use super::{CheckInfo, TENANT_ISOLATION};
use crate::http::{KeySlot, Probe};
use crate::runner::{Ctx, fixture_payout};

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
    let from = fixtures.payouts[0]["created_at"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let lists = [
        (
            Probe::get("list_payouts", "/payouts")
                .query("created_at_from", from)
                .query("paging_limit", "50"),
            &theirs,
        ),
        (
            Probe::get("list_payment_accounts", "/payment-accounts").query("paging_limit", "50"),
            &their_accounts,
        ),
    ];
    for (probe, forbidden) in lists {
        match walk(&ctx, probe.key(KeySlot::Secondary), 20).await {
            Ok(seen) => {
                let leaked: Vec<&String> = seen
                    .ids
                    .iter()
                    .filter(|id| forbidden.contains(id))
                    .collect();
                ctx.recorder.expect(
                    &TENANT_ISOLATION,
                    leaked.is_empty(),
                    || format!("no item of the other account; listed {leaked:?}"),
                    seen.last.as_ref().expect("a walk has a page"),
                );
            }
            Err(page) => ctx.recorder.fail(
                &TENANT_ISOLATION,
                "200 for the second account's own list",
                Some(&page),
                None,
            ),
        }
    }
    // Paying with the other account's payment account must not be accepted.
    if let Some(account) = their_accounts.first() {
        let mut body = fixture_payout(7);
        body.as_object_mut()
            .expect("object")
            .remove("payment_account");
        body["payment_account_id"] = json!(account);
        let exchange = ctx
            .send(Probe::create_payout(body).key(KeySlot::Secondary))
            .await;
        ctx.recorder.expect(
            &TENANT_ISOLATION,
            !(200..300).contains(&exchange.status()),
            || format!("a refusal: {account} belongs to another account"),
            &exchange,
        );
    }
}
