//! The lifecycle scheduler: a background task that settles PENDING payouts
//! once their processing delay has passed (SENT with a receipt, or FAILED
//! with the sandbox context of `rafiki_rules::sandbox`), applying the
//! wallet effect; with autonomous support it also cancels or reverses the
//! payouts [`crate::support::plan`] picks. It sleeps until the earliest due
//! time, and is woken when a payout lands in an empty queue.
//!
//! With a [`crate::clock::ManualClock`] no task runs: tests call
//! [`crate::MockHandle::advance`] / [`crate::MockHandle::run_due`], which
//! settle due payouts synchronously and deterministically.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

/// The longest sleep when nothing is queued (a wake-up arrives anyway).
const IDLE: Duration = Duration::from_secs(3600);

/// Runs until `shutdown` flips to true or its sender is dropped.
pub(crate) async fn run(store: Arc<Store>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let (moved, next) = store.run_due();
        if moved > 0 {
            tracing::debug!(moved, "scheduler settled payouts");
        }
        let wait = next.map_or(IDLE, |due| {
            (due - store.now()).to_std().unwrap_or(Duration::ZERO)
        });
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = store.wake.notified() => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}
