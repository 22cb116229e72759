//! The mock's control API (`/_sandbox`), where the server has it: topping
//! a wallet up, and moving a payout as support would. Checks use it to
//! spend fewer requests on a drained wallet and to reach states no public
//! operation reaches; without it they do without.

use std::collections::BTreeMap;

use rafiki_rules::lifecycle::StateCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::engine::Ctx;
use crate::http::Probe;
use crate::http::{decimal_at, wallet_in};

/// Adds `amount` to wallet `id`.
pub fn fund(ctx: &Ctx, id: &str, amount: String) -> Probe {
    let url = ctx
        .client
        .control_url(&format!("/_sandbox/wallets/{id}/fund"));
    Probe {
        operation: None,
        ..Probe::post("fund", url, json!({"amount": amount}))
    }
}

/// Moves the payout whose transition URL is `url` to `to`.
pub fn transition(url: String, to: StateCode) -> Probe {
    Probe {
        operation: None,
        ..Probe::post("transition", url, json!({"to": to.to_string()}))
    }
}

/// Tops up the main account's wallets so that each holds at least what
/// `payouts` (request bodies) would spend from it, when the server has the
/// control API: generated payouts then meet a funded wallet, not a run of
/// 402s that each cost two wallet reads and a retry to judge.
pub async fn cover(ctx: &Ctx, payouts: impl IntoIterator<Item = &Value>) {
    if !ctx.control_api {
        return;
    }
    let mut needs: BTreeMap<String, Decimal> = BTreeMap::new();
    for body in payouts {
        if let (Some(currency), Some(amount)) = (
            body.pointer("/amount/currency").and_then(Value::as_str),
            decimal_at(body, "/amount/value"),
        ) {
            *needs.entry(currency.to_string()).or_default() += amount;
        }
    }
    let wallets = ctx.send(Probe::get("list_wallets", "/wallets")).await;
    for (currency, need) in needs {
        let Some(wallet) = wallet_in(&wallets, &currency) else {
            continue;
        };
        if let (Some(id), Some(available)) =
            (wallet["id"].as_str(), decimal_at(wallet, "/available"))
            && need > available
        {
            ctx.send(fund(ctx, id, format!("{:.2}", need - available)))
                .await;
        }
    }
}
