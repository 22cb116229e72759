//! The application's view of a payout (`--observe`): a page that shows,
//! as JSON, what the application made of the events, its state at
//! `--state-pointer` and, when it counts them, the events it applied to
//! the payout at `--effects-pointer`.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{Client, Exchange, KeySlot, Probe};

/// Where and how to read the view.
pub(super) struct View {
    /// A URL with `{id}` where the payout's id goes.
    pub template: String,
    pub state_pointer: String,
    pub effects_pointer: String,
}

/// What one read of the view showed of a payout.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Shown {
    /// 404: the application does not know the payout.
    Unknown,
    /// 200: the state at the pointer (`None`: nothing there).
    State(Option<String>),
    /// No answer, another status, or a body that is not JSON.
    Unreadable,
}

/// Pause between two reads while waiting for an event to show.
const POLL_EVERY: Duration = Duration::from_millis(50);

impl View {
    /// The view of `payout_id`.
    pub(super) fn url(&self, payout_id: &str) -> String {
        self.template.replace("{id}", payout_id)
    }

    /// One read of the view of `payout_id`.
    pub(super) async fn read(&self, client: &Client, payout_id: &str) -> Exchange {
        let probe = Probe {
            operation: None,
            key: KeySlot::None,
            ..Probe::get("", self.url(payout_id))
        };
        client.send(probe).await
    }

    pub(super) fn shown(&self, read: &Exchange) -> Shown {
        match (read.status(), read.json()) {
            (404, _) => Shown::Unknown,
            (200, Some(json)) => Shown::State(
                json.pointer(&self.state_pointer)
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ),
            _ => Shown::Unreadable,
        }
    }

    /// How many events the view says it applied to the payout, when it
    /// says (a whole number at the effects pointer).
    pub(super) fn effects(&self, read: &Exchange) -> Option<u64> {
        read.json()?.pointer(&self.effects_pointer)?.as_u64()
    }

    /// Reads the view of `payout_id` until it shows `state` or `settle`
    /// has passed (an application may apply an event after it has
    /// acknowledged it); whether it did, and the last read.
    pub(super) async fn until_shown(
        &self,
        client: &Client,
        payout_id: &str,
        state: &str,
        settle: Duration,
    ) -> (bool, Exchange) {
        let deadline = Instant::now() + settle;
        loop {
            let read = self.read(client, payout_id).await;
            let shows = self.shown(&read) == Shown::State(Some(state.to_string()));
            if shows || Instant::now() >= deadline {
                return (shows, read);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}
