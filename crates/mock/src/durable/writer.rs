//! The group-commit writer: one thread owns the connection. Changes are
//! queued (under a small lock of their own, inside the critical section
//! that made them, so each account's changes queue in the order they
//! happened) and numbered by the [`CommitGate`]. The thread takes
//! everything queued at once, writes it in one transaction, commits (the
//! commit syncs the WAL: see `durable::open`), then publishes the last
//! number written. While it syncs, new changes pile up and go together in
//! the next transaction: concurrent creates share a sync, and nothing
//! waits on a timer.
//!
//! A failed write stops acknowledgements for good: every later answer is
//! a 500 saying so (the state in memory may be ahead of the file; a
//! restart reloads what the file holds).

use std::mem;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use rusqlite::Connection;

use super::sql::{self, Item, Queued};
use crate::commit::{CommitGate, LastTicket};
use crate::store::{Change, ChangeSink};
use crate::webhooks::{WebhookChange, WebhookSink};

/// The queue between the accounts and the thread.
pub(super) struct Writer {
    queue: Mutex<Queue>,
    ready: Condvar,
    gate: Arc<CommitGate>,
}

#[derive(Default)]
struct Queue {
    items: Vec<Queued>,
    /// The ticket of the last item queued.
    last: u64,
    stopping: bool,
}

impl Writer {
    /// Starts the thread that owns `conn` and, after it, `keep` (the file's
    /// lock: released only once the connection is closed).
    pub fn start<K: Send + 'static>(
        conn: Connection,
        keep: K,
        gate: Arc<CommitGate>,
    ) -> std::io::Result<(Arc<Writer>, JoinHandle<()>)> {
        let writer = Arc::new(Writer {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            gate,
        });
        let thread = std::thread::Builder::new()
            .name("rafiki-mock-state".into())
            .spawn({
                let writer = writer.clone();
                move || {
                    writer.run(conn);
                    drop(keep);
                }
            })?;
        Ok((writer, thread))
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item`; answers its ticket (`None` once stopping: the gate
    /// has then failed, and nothing waiting on it is acknowledged).
    fn push(&self, account: &Arc<str>, item: Item) -> Option<u64> {
        let mut queue = self.lock();
        if queue.stopping {
            // Made after the file was closed (a handle dropped while
            // requests ran): nothing may acknowledge it.
            self.gate
                .failed("the mock is stopping: its state file is closed".into());
            return None;
        }
        let ticket = self.gate.next_ticket();
        queue.last = ticket;
        queue.items.push(Queued {
            account: account.clone(),
            item,
        });
        drop(queue);
        self.ready.notify_one();
        Some(ticket)
    }

    /// Writes what is queued, then ends the thread (which closes the file).
    pub fn stop(&self) {
        self.lock().stopping = true;
        self.ready.notify_one();
    }

    fn run(&self, mut conn: Connection) {
        let mut failed = false;
        loop {
            let (batch, last, stopping) = {
                let mut queue = self.lock();
                while queue.items.is_empty() && !queue.stopping {
                    queue = self.ready.wait(queue).unwrap_or_else(|e| e.into_inner());
                }
                (mem::take(&mut queue.items), queue.last, queue.stopping)
            };
            if !batch.is_empty() && !failed {
                match write(&mut conn, &batch) {
                    Ok(()) => self.gate.committed(last),
                    Err(error) => {
                        tracing::error!(%error, "could not write the state file; nothing more is acknowledged");
                        self.gate.failed(error.to_string());
                        failed = true;
                    }
                }
            }
            if stopping && self.lock().items.is_empty() {
                break;
            }
        }
        if let Err((_, error)) = conn.close() {
            tracing::error!(%error, "closing the state file");
        }
    }
}

/// One transaction for the whole batch; its commit is the sync.
fn write(conn: &mut Connection, batch: &[Queued]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    sql::apply(&tx, batch)?;
    tx.commit()
}

/// Where one account's changes go: the writer, with the account's name in
/// the file; each change's ticket raises the account's last one.
pub(super) struct AccountSink {
    pub account: Arc<str>,
    pub writer: Arc<Writer>,
    pub last: Arc<LastTicket>,
}

impl AccountSink {
    fn queue(&self, item: Item) {
        if let Some(ticket) = self.writer.push(&self.account, item) {
            self.last.raise(ticket);
        }
    }
}

impl ChangeSink for AccountSink {
    fn push(&self, unit: Vec<Change>) {
        self.queue(Item::Account(unit));
    }
}

impl WebhookSink for AccountSink {
    fn push(&self, change: WebhookChange) {
        self.queue(Item::Webhook(change));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::WriteFailed;

    #[tokio::test]
    async fn a_failed_write_acknowledges_nothing_more() {
        // No schema: every write fails.
        let conn = Connection::open_in_memory().unwrap();
        let gate = Arc::new(CommitGate::default());
        let (writer, thread) = Writer::start(conn, (), gate.clone()).unwrap();
        let sink = AccountSink {
            account: "a".into(),
            writer: writer.clone(),
            last: Arc::default(),
        };
        ChangeSink::push(&sink, vec![Change::Cleared { seq: 0 }]);
        let Err(WriteFailed(why)) = gate.settled().await else {
            panic!("the write was acknowledged");
        };
        assert!(why.contains("no such table"), "{why}");
        writer.stop();
        thread.join().unwrap();
        // After the stop nothing is queued, and nothing acknowledged.
        ChangeSink::push(&sink, vec![Change::Cleared { seq: 1 }]);
        assert!(gate.settled().await.is_err());
    }
}
