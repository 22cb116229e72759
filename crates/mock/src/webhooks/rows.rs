//! An account's webhooks as plain rows, for the state file
//! (`crate::durable`): its endpoints (keys included: deliveries must be
//! signed with the same key after a restart) and the deliveries not yet
//! done. With a [`WebhookSink`] the [`super::Outbox`] tells it of every
//! change of those rows under its lock, in the order they happen.
//!
//! A delivery's row is written when it is queued and dropped when an
//! attempt ends it (delivered, given up, or its endpoint deleted); an
//! attempt in flight keeps its row, so a crash mid-attempt sends it again
//! after the restart: at least once, as the contract says.

use axum::body::Bytes;
use chrono::{DateTime, Utc};

use super::faults::Applied;
use super::{SigningKey, WebhookUrl};

/// Where an endpoint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `--webhook-url` / [`crate::AccountConfig::webhooks`]: kept across a
    /// restart only while the configuration still names its URL.
    Config,
    /// `POST /_sandbox/webhooks`: kept until deleted.
    ControlApi,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::ControlApi => "control_api",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Origin::Config, Origin::ControlApi]
            .into_iter()
            .find(|o| o.as_str() == text)
    }
}

/// An endpoint. No `Debug`: it holds the key.
#[derive(Clone)]
pub(crate) struct EndpointRow {
    pub id: String,
    pub url: WebhookUrl,
    pub key: SigningKey,
    pub origin: Origin,
}

/// One event on its way to one endpoint: the next attempt to make.
#[derive(Debug, Clone)]
pub(crate) struct DeliveryRow {
    pub endpoint_id: String,
    pub event_id: String,
    pub payout_id: String,
    /// The event's bytes, sent as they are in every attempt.
    pub body: Bytes,
    /// The attempt to make, from 1.
    pub attempt: u32,
    /// The faults drawn for the delivery (they act on attempt 1).
    pub faults: Vec<Applied>,
    /// Held back by an `out-of-order` fault.
    pub held: bool,
    /// Due time and order in the endpoint's queue.
    pub due: (DateTime<Utc>, u64),
}

/// One change of an account's webhook rows.
#[derive(Clone)]
pub(crate) enum WebhookChange {
    Endpoint {
        row: EndpointRow,
        position: u64,
    },
    /// An endpoint deleted, with what it had queued.
    EndpointRemoved(String),
    Delivery(DeliveryRow),
    /// A delivery ended (delivered, given up, or failed for good).
    DeliveryDone {
        endpoint_id: String,
        event_id: String,
    },
}

/// Where an account's webhook changes go besides memory.
pub(crate) trait WebhookSink: Send + Sync {
    fn push(&self, change: WebhookChange);
}

/// An account's webhooks as a state file has them.
#[derive(Clone, Default)]
pub(crate) struct WebhookImage {
    /// In the order they were added.
    pub endpoints: Vec<EndpointRow>,
    pub deliveries: Vec<DeliveryRow>,
}
