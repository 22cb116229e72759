//! `auth_required`: no operation answers without a valid key.

use std::sync::Arc;

use super::{AUTH_REQUIRED, CheckInfo};
use crate::http::{KeySlot, Probe};
use crate::runner::{Ctx, fixture_payout};

pub const CHECKS: &[&CheckInfo] = &[&AUTH_REQUIRED];

/// One probe per operation, each sent keyless and with a wrong key.
pub async fn run(ctx: Arc<Ctx>) {
    let payout_id = match &ctx.fixtures {
        Ok(f) => f.payouts[0]["id"]
            .as_str()
            .unwrap_or("pyt-contract0")
            .to_string(),
        Err(_) => "pyt-contract0".to_string(),
    };
    let account = fixture_payout(0)["payment_account"].clone();
    let probes = [
        Probe::get("list_banks", "/banks"),
        Probe::get("list_wallets", "/wallets"),
        Probe::get("list_payment_accounts", "/payment-accounts"),
        Probe::post(
            "get_or_create_payment_account",
            "/payment-accounts",
            account,
        ),
        Probe::get("list_payouts", "/payouts"),
        Probe::get("get_payout", format!("/payouts/{payout_id}")),
        Probe::create_payout(fixture_payout(0)),
    ];
    let wrong = KeySlot::Literal(format!(
        "Bearer sk_contract_wrong_{}",
        uuid::Uuid::new_v4().simple()
    ));
    for probe in probes {
        for key in [KeySlot::None, wrong.clone()] {
            let exchange = ctx.send(probe.clone().key(key)).await;
            ctx.recorder.expect(
                &AUTH_REQUIRED,
                exchange.status() == 401 && exchange.error_code() == Some("UNAUTHORIZED"),
                || "HTTP 401 UNAUTHORIZED".into(),
                &exchange,
            );
        }
    }
}
