//! The deliveries journal: every attempt to deliver an event, per account
//! (`GET /_sandbox/webhooks/deliveries`), bounded like the request journal
//! (the same [`Ring`] and capacity). An attempt is recorded when it has
//! its answer (or its error).

use chrono::{DateTime, Utc};
use rafiki_rules::Violations;
use serde::Serialize;

use super::faults::Applied;
use crate::extract::Params;
use crate::journal::{Ring, RingPage, parse_limit};

/// One account's attempts.
#[derive(Debug)]
pub(crate) struct DeliveryJournal {
    entries: Ring<AttemptEntry>,
}

/// One attempt.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AttemptEntry {
    pub seq: u64,
    pub event_id: String,
    pub event_type: &'static str,
    pub payout_id: String,
    pub endpoint_id: String,
    pub url: String,
    /// From 1; a duplicate's copy has the number of the attempt it copies.
    pub attempt: u32,
    /// The second send of a `duplicate` fault.
    pub copy: bool,
    /// When it was sent (the mock's clock).
    pub sent_at: DateTime<Utc>,
    /// The status answered, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why there was no answer (connection refused, timed out...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub outcome: AttemptOutcome,
    /// When the next attempt is due, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub faults: Vec<EntryFault>,
}

/// What became of an attempt, written as [`AttemptOutcome::as_str`] in
/// the journal and the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "&'static str")]
pub(crate) enum AttemptOutcome {
    /// Answered 2xx: the delivery is done.
    Delivered,
    /// Failed; the next attempt is at `next_attempt_at`.
    RetryScheduled,
    /// The last attempt failed: the event is not sent again.
    GivenUp,
    /// Failed and not retried: a duplicate's copy, or the endpoint was
    /// deleted meanwhile.
    Failed,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::RetryScheduled => "retry_scheduled",
            AttemptOutcome::GivenUp => "given_up",
            AttemptOutcome::Failed => "failed",
        }
    }
}

impl From<AttemptOutcome> for &'static str {
    fn from(outcome: AttemptOutcome) -> Self {
        outcome.as_str()
    }
}

/// A fault applied to the attempt.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EntryFault {
    /// The rule's index in the webhook fault plan.
    rule: usize,
    /// The fault, in the flag grammar (`delay:2000ms`).
    fault: String,
}

impl EntryFault {
    pub fn of(applied: &[Applied]) -> Vec<EntryFault> {
        applied
            .iter()
            .map(|a| EntryFault {
                rule: a.rule,
                fault: a.fault.to_string(),
            })
            .collect()
    }
}

impl DeliveryJournal {
    pub fn new(capacity: usize) -> Self {
        DeliveryJournal {
            entries: Ring::new(capacity),
        }
    }

    /// Records `entry`, numbered.
    pub fn record(&mut self, mut entry: AttemptEntry) {
        self.entries.push(|seq| {
            entry.seq = seq;
            entry
        });
    }

    /// Forgets every entry (numbering goes on).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The entries `filter` selects, oldest first.
    pub fn page(&self, filter: &DeliveryFilter) -> RingPage<'_, AttemptEntry> {
        self.entries.page(|e| filter.selects(e), filter.limit)
    }
}

/// The query of `GET /_sandbox/webhooks/deliveries`; every filter given
/// must hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeliveryFilter {
    event_id: Option<String>,
    payout_id: Option<String>,
    endpoint_id: Option<String>,
    /// Only the latest `limit` of those selected.
    limit: Option<usize>,
}

impl DeliveryFilter {
    /// Reads the query; a bad value is a violation at its name.
    pub fn parse(params: &Params) -> Result<DeliveryFilter, Violations> {
        let mut violations = Violations::new();
        let mut get = |name: &str| {
            params.one(name).unwrap_or_else(|v| {
                violations.push(v);
                None
            })
        };
        let event_id = get("event_id").map(str::to_owned);
        let payout_id = get("payout_id").map(str::to_owned);
        let endpoint_id = get("endpoint_id").map(str::to_owned);
        let limit = get("limit");
        let limit = parse_limit(limit, &mut violations);
        violations.into_result(DeliveryFilter {
            event_id,
            payout_id,
            endpoint_id,
            limit,
        })
    }

    fn selects(&self, entry: &AttemptEntry) -> bool {
        let holds =
            |wanted: &Option<String>, value: &str| wanted.as_ref().is_none_or(|w| w == value);
        holds(&self.event_id, &entry.event_id)
            && holds(&self.payout_id, &entry.payout_id)
            && holds(&self.endpoint_id, &entry.endpoint_id)
    }
}
