//! The run's fixtures: a few small payouts, created one at a time so
//! their order is known, that the read checks look for; and the valid
//! bodies the suites send.

use serde_json::{Value, json};

use super::Ctx;
use crate::http::Probe;

/// Payouts (and their payment accounts) created for the read checks.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// `data` of each 202, oldest first.
    pub payouts: Vec<Value>,
}

impl Fixtures {
    /// The payment account the first fixture payout was paid to (made
    /// inline), as its answer named it.
    pub fn first_account_id(&self) -> Option<&str> {
        self.payouts.first()?["payment_account_id"].as_str()
    }

    /// `probe` filtered to the fixtures' creation window.
    pub fn window(&self, probe: Probe) -> Probe {
        self.window_from(probe, 0)
    }

    /// `probe` filtered to the creation window of the fixtures from the
    /// `first`-th on (older payouts are outside it).
    pub fn window_from(&self, probe: Probe, first: usize) -> Probe {
        let at = |p: Option<&Value>| {
            p.and_then(|p| p["created_at"].as_str())
                .unwrap_or_default()
                .to_string()
        };
        let last = at(self.payouts.last());
        let to = chrono::DateTime::parse_from_rfc3339(&last)
            .map_or(last, |last| just_after(last.to_utc()));
        probe
            .query("created_at_from", at(self.payouts.get(first)))
            .query("created_at_to", to)
    }
}

/// A `created_at_to` that lists a payout created at `at` under either
/// reading of the bound (inclusive in API.md, "created before" on the
/// provider's payout page): a millisecond later, or a second later for a
/// time shown in whole seconds (the server may have kept the fraction it
/// does not show, and filter by it).
pub fn just_after(at: chrono::DateTime<chrono::Utc>) -> String {
    let step = match at.timestamp_subsec_nanos() {
        0 => chrono::TimeDelta::seconds(1),
        _ => chrono::TimeDelta::milliseconds(1),
    };
    (at + step).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Creates a few small payouts, one at a time so their order is known.
pub(super) async fn create_fixtures(ctx: &Ctx) -> Result<Fixtures, String> {
    let mut payouts = Vec::new();
    for i in 0..5 {
        let exchange = ctx.create_payout(fixture_payout(i)).await;
        match (
            exchange.status(),
            exchange.json().and_then(|j| j.get("data")),
        ) {
            (202, Some(data)) => payouts.push(data.clone()),
            _ => return Err(format!("POST /payouts answered {}", exchange.summary())),
        }
    }
    Ok(Fixtures { payouts })
}

/// A valid body for operation `id`: a fixture payout or payment account;
/// `{}` for an operation this suite does not know.
pub fn valid_body(id: &str) -> Value {
    match id {
        "create_payout" => fixture_payout(0),
        "get_or_create_payment_account" => fixture_payout(0)["payment_account"].clone(),
        _ => json!({}),
    }
}

/// A small valid Kenyan payout (not one of the sandbox's failing numbers).
/// Its sender has a date of birth, which one reading of the provider's
/// Kenya table requires of every sender (`docs/contract.md`, "Compliance").
pub fn fixture_payout(i: u32) -> Value {
    json!({
        "amount": {"value": format!("{}.00", 140 + i), "currency": "KES"},
        "payment_account": {
            "type": "MOBILE_MONEY", "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": "Contract Fixture"},
            "mobile_money": {"number": format!("+25471234{:04}", 5670 + i), "operator": "SAFARICOM"}
        },
        "sender": {
            "type": "INDIVIDUAL", "name": "Wanjiru Contract",
            "address": {"line_1": "1 Test Road", "city": "Nairobi", "postal_code": "00100", "country": "KE"},
            "individual": {"dob": "1985-04-12"}
        }
    })
}
