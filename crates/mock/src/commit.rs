//! When a change is on disk: the gate between the state file's writer
//! (`crate::durable`) and everything that must not act before it, i.e.
//! every answer (an answer may show a change) and every webhook delivery
//! (an event tells of one).
//!
//! Changes are numbered in the order they were queued for the writer
//! (tickets, from 1); the writer publishes the highest ticket it has
//! committed and synced. An answer about an account waits until that
//! reaches the account's highest ticket ([`LastTicket`]) when the answer
//! was ready: whatever state it read, the changes behind it are on disk
//! first, and another account's writes do not hold it up. Without a state
//! file there is no gate.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// Why nothing more is acknowledged: the state file could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the state file could not be written ({0}); restart rafiki-mock to recover")]
pub struct WriteFailed(pub String);

/// The writer's progress (see the module docs).
pub(crate) struct CommitGate {
    /// The highest ticket handed out.
    queued: AtomicU64,
    /// The highest ticket on disk (mirrors `progress`, read without a lock).
    committed: AtomicU64,
    progress: watch::Sender<Progress>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Progress {
    Committed(u64),
    Failed(WriteFailed),
}

impl Default for CommitGate {
    fn default() -> Self {
        CommitGate {
            queued: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            progress: watch::Sender::new(Progress::Committed(0)),
        }
    }
}

impl CommitGate {
    /// Hands out the next ticket. Called under the writer's queue lock, so
    /// tickets follow the queue's order.
    pub fn next_ticket(&self) -> u64 {
        self.queued.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The writer has every change up to `ticket` on disk.
    pub fn committed(&self, ticket: u64) {
        self.committed.store(ticket, Ordering::Release);
        self.progress.send_if_modified(|progress| match progress {
            Progress::Committed(at) if *at < ticket => {
                *at = ticket;
                true
            }
            _ => false,
        });
    }

    /// The writer failed: no ticket after the committed ones will be.
    pub fn failed(&self, why: String) {
        self.progress
            .send_replace(Progress::Failed(WriteFailed(why)));
    }

    /// Waits until every change queued so far is on disk.
    pub async fn settled(&self) -> Result<(), WriteFailed> {
        self.settled_through(self.queued.load(Ordering::Acquire))
            .await
    }

    /// Waits until every change up to `ticket` is on disk.
    pub async fn settled_through(&self, ticket: u64) -> Result<(), WriteFailed> {
        if self.committed.load(Ordering::Acquire) >= ticket {
            return Ok(());
        }
        let mut progress = self.progress.subscribe();
        let reached = progress
            .wait_for(|p| {
                matches!(p, Progress::Committed(at) if *at >= ticket)
                    || matches!(p, Progress::Failed(_))
            })
            .await;
        match reached.as_deref() {
            Ok(Progress::Committed(_)) => Ok(()),
            Ok(Progress::Failed(why)) => Err(why.clone()),
            // The sender lives as long as the gate.
            Err(_) => Err(WriteFailed("the state file's writer is gone".into())),
        }
    }
}

/// The highest ticket of one account's changes: raised by the account's
/// sink as it queues them, read by whatever answers about the account.
#[derive(Debug, Default)]
pub(crate) struct LastTicket(AtomicU64);

impl LastTicket {
    /// A change of the account was queued under `ticket`.
    pub fn raise(&self, ticket: u64) {
        self.0.fetch_max(ticket, Ordering::AcqRel);
    }

    /// The highest ticket queued for the account so far (0: none).
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_wait_for_what_was_queued_before_them() {
        let gate = std::sync::Arc::new(CommitGate::default());
        assert_eq!(gate.settled().await, Ok(()));
        let (first, second) = (gate.next_ticket(), gate.next_ticket());
        assert_eq!((first, second), (1, 2));
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.settled().await }
        });
        gate.committed(first);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "ticket 2 is not on disk yet");
        gate.committed(second);
        assert_eq!(waiting.await.unwrap(), Ok(()));
        gate.next_ticket();
        gate.failed("disk full".into());
        assert_eq!(gate.settled().await, Err(WriteFailed("disk full".into())));
    }

    #[tokio::test]
    async fn an_account_waits_for_its_own_changes_only() {
        let gate = std::sync::Arc::new(CommitGate::default());
        let (busy, quiet) = (LastTicket::default(), LastTicket::default());
        quiet.raise(gate.next_ticket());
        gate.committed(1);
        busy.raise(gate.next_ticket());
        assert_eq!(busy.get(), 2);
        // The quiet account's answer does not wait for the busy one's write.
        assert_eq!(gate.settled_through(quiet.get()).await, Ok(()));
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.settled_through(2).await }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "the busy account's ticket is not on disk"
        );
        gate.committed(2);
        assert_eq!(waiting.await.unwrap(), Ok(()));
    }
}
