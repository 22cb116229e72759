//! The connections a [`Client`](super::Client) keeps open: never more than
//! its cap (`--workers`), counting the idle ones and those in use.
//!
//! A request holds one of the client's permits (as many as the cap) while
//! it holds a connection: it takes an idle connection to its origin, or
//! opens one, and hands it back itself once it has read the whole answer,
//! kept only when still usable. A connection is counted from before it is
//! opened until after it is closed, so open connections ≤ permits held ≤
//! the cap, always. (reqwest, through hyper-util's pool, cannot promise
//! that: it hands HTTP/1 connections back from a spawned task, so a
//! request starting just before could open one more.)

use std::sync::{Mutex, MutexGuard};

use super::connect::{BoxError, Connector, Origin};
use super::connection::Connection;

/// Open connections to any origins, at most `cap` of them.
#[derive(Debug)]
pub(super) struct Pool {
    connector: Connector,
    cap: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Connections open or being opened: the idle ones and those leased.
    open: usize,
    /// Idle connections, the most recently used last.
    idle: Vec<Idle>,
}

#[derive(Debug)]
struct Idle {
    origin: Origin,
    connection: Connection,
}

impl Pool {
    pub(super) fn new(connector: Connector, cap: usize) -> Self {
        Pool {
            connector,
            cap,
            state: Mutex::default(),
        }
    }

    /// A connection to `origin` for one exchange: an idle one that is still
    /// open, else a new one. At the cap, an idle connection to another
    /// origin is closed first; there is one, as the caller holds one of the
    /// client's `cap` permits and no connection yet.
    pub(super) async fn lease(&self, origin: &Origin) -> Result<Lease<'_>, BoxError> {
        loop {
            let mut lease = self.take_or_reserve(origin);
            match &mut lease.connection {
                Some(idle) => {
                    if idle.is_ready().await {
                        return Ok(lease);
                    }
                    // Closed while idle: dropped with the lease; try the next.
                }
                None => {
                    // Boxed: opening (TCP, TLS, a proxy's tunnel) is rare
                    // and its future large, and every exchange's future
                    // would otherwise carry its size.
                    lease.connection = Some(Box::pin(self.connector.open(origin)).await?);
                    return Ok(lease);
                }
            }
        }
    }

    /// The most recently used idle connection to `origin`, or a slot for a
    /// new one (counted as open from now on).
    fn take_or_reserve(&self, origin: &Origin) -> Lease<'_> {
        let mut state = self.state();
        let connection = match state.idle.iter().rposition(|idle| idle.origin == *origin) {
            Some(at) => Some(state.idle.remove(at).connection),
            None => {
                if state.open >= self.cap {
                    debug_assert!(!state.idle.is_empty(), "a lease without a permit");
                    if !state.idle.is_empty() {
                        // The oldest; dropping it closes its socket now,
                        // before the new connection is opened.
                        drop(state.idle.remove(0));
                        state.open -= 1;
                    }
                }
                state.open += 1;
                None
            }
        };
        Lease {
            pool: self,
            origin: origin.clone(),
            reused: connection.is_some(),
            connection,
            counted: true,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays whole across a panic: every change is one step.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection lent to one exchange (`None` while it is being opened).
/// Dropped without [`Lease::give_back`] (a failed or cancelled exchange),
/// the connection is closed and no longer counted.
pub(super) struct Lease<'pool> {
    pool: &'pool Pool,
    origin: Origin,
    connection: Option<Connection>,
    /// Whether the connection served an exchange before (it was idle).
    reused: bool,
    /// Whether the pool still counts the connection as this lease's.
    counted: bool,
}

impl Lease<'_> {
    /// Whether the connection served an exchange before this one.
    pub(super) fn is_reused(&self) -> bool {
        self.reused
    }

    pub(super) fn connection(&mut self) -> &mut Connection {
        self.connection
            .as_mut()
            .expect("a lease is handed out open")
    }

    /// Hands the connection back after a whole answer: idle for the next
    /// request to its origin when still usable, else closed.
    pub(super) fn give_back(mut self) {
        if let Some(mut connection) = self.connection.take()
            && connection.is_reusable()
        {
            let origin = self.origin.clone();
            self.pool.state().idle.push(Idle { origin, connection });
            self.counted = false;
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if self.counted {
            // Closed before it stops counting, so no request can open
            // another while this one is still open.
            drop(self.connection.take());
            self.pool.state().open -= 1;
        }
    }
}
