//! Before any check: is this the API, does the key work (`preflight`),
//! does the server have our mock's control API, and does it honour the
//! sandbox test values.

use serde_json::json;

use super::fixtures::fixture_payout;
use super::polling::poll_outcome;
use super::{Ctx, RunError};
use crate::engine::{RunConfig, SandboxValues};
use crate::http::{Client, Exchange, KeySlot, Probe};
use crate::judge::recognise::{self, Recognised};

/// One `GET /wallets`: tells "down", "not this API" and "bad key" apart
/// before any check runs (`judge::recognise`, as the proxy asks it). The
/// answer is judged with the others.
pub(super) async fn preflight(client: &Client) -> Result<Exchange, RunError> {
    let exchange = client
        .send(Probe::get(recognise::OPERATION, recognise::PATH))
        .await;
    let url = exchange.url.clone();
    let answer = exchange
        .answer
        .as_ref()
        .map_err(|reason| RunError::Unreachable {
            url: url.clone(),
            reason: reason.clone(),
        })?;
    let base_url = url.strip_suffix(recognise::PATH).unwrap_or(&url);
    match recognise::recognise(
        base_url,
        "--base-url",
        answer.status,
        answer.json.as_deref(),
    ) {
        Ok(Recognised::Served) => Ok(exchange),
        Ok(Recognised::Unauthorized) => Err(RunError::KeyRefused { url }),
        // The client waits out 429s and gives a request up as unanswered
        // (above); one here was not waited out.
        Ok(Recognised::RateLimited) => Err(RunError::Unreachable {
            url,
            reason: "rate limited (HTTP 429)".into(),
        }),
        Err(why) => Err(RunError::NotThisApi {
            url,
            reason: why.to_string(),
        }),
    }
}

/// With `--api-key-2`: one `GET /wallets` with it. Its key must work, and
/// be another account's: an account may have several keys (the provider's
/// authentication page), and two keys of one account see each other's
/// payouts, so every check that compares two accounts would fail for a
/// reason of the run's own making. Two keys that list a wallet id in
/// common are one account's (ids are the server's, one per wallet). Any
/// other answer is left to the checks. The answer is judged with the others.
pub(super) async fn second_account(
    client: &Client,
    first: &Exchange,
) -> Result<Exchange, RunError> {
    let exchange = client
        .send(Probe::get(recognise::OPERATION, recognise::PATH).key(KeySlot::Secondary))
        .await;
    if exchange.status() == 401 {
        return Err(RunError::SecondKey(format!(
            "{} refused it (HTTP 401)",
            exchange.url
        )));
    }
    let wallet_ids = |answer: &Exchange| -> Vec<String> {
        let wallets = answer.json().and_then(|j| j["data"].as_array());
        wallets
            .into_iter()
            .flatten()
            .filter_map(|w| w["id"].as_str().map(str::to_owned))
            .collect()
    };
    let mine = wallet_ids(first);
    if let Some(shared) = wallet_ids(&exchange)
        .into_iter()
        .find(|id| mine.contains(id))
    {
        return Err(RunError::SecondKey(format!(
            "it lists wallet {shared}, as --api-key does: either the two are keys of one account (an account may have several; give a key of another account, or leave --api-key-2 out), or the server shows one account's wallet to another (a tenancy leak)"
        )));
    }
    Ok(exchange)
}

/// Whether `/_sandbox/health` answers like the mock's control API.
pub(super) async fn has_control_api(client: &Client) -> bool {
    let probe = Probe {
        operation: None,
        ..Probe::get("health", client.control_url("/_sandbox/health"))
    };
    let exchange = client.send(probe).await;
    exchange.status() == 200 && exchange.json().and_then(|j| j.get("status")).is_some()
}

/// Whether the server honours the sandbox test values: as configured, or
/// (auto) by trying one, never on a production host. `Err` says why not.
pub(super) async fn sandbox_values(ctx: &Ctx, config: &RunConfig) -> Result<(), String> {
    match config.sandbox_values {
        SandboxValues::On => return Ok(()),
        SandboxValues::Off => return Err("--sandbox-values off".into()),
        SandboxValues::Auto if config.is_production() => return Err("a production host".into()),
        SandboxValues::Auto => {}
    }
    let (suffix, _) = rafiki_rules::sandbox::FAILING_MOBILE_SUFFIXES[0];
    let mut body = fixture_payout(0);
    body["payment_account"]["mobile_money"]["number"] = json!(format!("+254712{suffix}"));
    let created = ctx.create_payout(body).await;
    let Some(id) = created.data_id() else {
        return Err(format!(
            "a payout to the test number …{suffix} was not accepted ({})",
            created.summary()
        ));
    };
    match poll_outcome(ctx, id).await {
        Ok((state, _)) if state == "FAILED" => Ok(()),
        Ok((state, _)) => Err(format!(
            "a payout to the test number …{suffix} ended {state}, not FAILED"
        )),
        Err(why) => Err(format!("a payout to the test number …{suffix}: {why}")),
    }
}
