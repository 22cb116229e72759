//! The events a receiver is sent: `payout.state-updated` for payouts of
//! this run only (fresh `pyt-` ids, so nothing an earlier run left in the
//! application counts), each payout as `GET /payouts/{id}` shows it.

use chrono::{DateTime, TimeDelta, Utc};
use rafiki_rules::lifecycle::StateCode;
use rafiki_rules::webhooks::PAYOUT_STATE_UPDATED;
use rafiki_rules::wire::{Money, PartyType, Payout, PayoutState, Sender, WebhookEvent};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// A fresh id of the API's shape: `prefix` (`pyt-`, `wbh-`) and then
/// letters and digits.
pub(super) fn fresh_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// A payout of this run, whose events tell of its states.
pub(super) struct TestPayout {
    pub id: String,
    payment_account_id: String,
    wallet_id: String,
    created_at: DateTime<Utc>,
}

/// One event: its id, the payout and state it tells of, and its body.
#[derive(Clone)]
pub(super) struct Event {
    pub id: String,
    pub payout_id: String,
    pub state: StateCode,
    pub body: Value,
}

impl TestPayout {
    /// A payout created two minutes before `now`, so that every event of
    /// it, late ones included, comes after its creation.
    pub(super) fn fresh(now: DateTime<Utc>) -> Self {
        TestPayout {
            id: fresh_id("pyt-"),
            payment_account_id: fresh_id("pac-"),
            wallet_id: fresh_id("wlt-"),
            created_at: whole_second(now - TimeDelta::minutes(2)),
        }
    }

    /// The event telling that the payout is in `state`, sent at `at`.
    pub(super) fn event(&self, state: StateCode, at: DateTime<Utc>) -> Event {
        let payout = Payout {
            id: self.id.clone(),
            amount: Money {
                value: Decimal::new(150_000, 2),
                currency: "KES".into(),
            },
            payment_account_id: self.payment_account_id.clone(),
            wallet_id: self.wallet_id.clone(),
            sender: Some(Sender {
                kind: Some(PartyType::Business),
                name: Some("Duka Payroll Ltd".into()),
                ..Sender::default()
            }),
            state: PayoutState::new(state, None),
            created_at: self.created_at,
            // Only a payout that reached its recipient has a receipt.
            receipt: (state == StateCode::Sent).then(|| format!("RCPT{}", &self.id[4..14])),
        };
        let id = fresh_id("wbh-");
        let event = WebhookEvent {
            id: id.clone(),
            type_name: PAYOUT_STATE_UPDATED.into(),
            data: payout,
            created_at: whole_second(at),
        };
        let body = serde_json::to_value(event).expect("an event serializes");
        Event {
            id,
            payout_id: self.id.clone(),
            state,
            body,
        }
    }
}

impl Event {
    /// The same event with its amount multiplied by a hundred: what a
    /// forger would change.
    pub(super) fn tampered(&self) -> Value {
        let mut body = self.body.clone();
        body["data"]["amount"]["value"] = json!("150000.00");
        body
    }

    /// The event in words, for reports.
    pub(super) fn describe(&self) -> String {
        format!(
            "{PAYOUT_STATE_UPDATED} {} telling that {} is {}",
            self.id, self.payout_id, self.state
        )
    }
}

fn whole_second(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).expect("a time of this era")
}
