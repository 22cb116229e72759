//! The request journal: what each account sent to the API under `/v1`, so
//! that an integrator's test can assert what its application sent (as
//! WireMock's request journal does), through `GET /_sandbox/requests`.
//!
//! - One journal per account (requests with no or an unknown key are not
//!   recorded); never `/_sandbox` requests.
//! - Each entry: a sequence number (per account, from 1, arrival order),
//!   when it arrived (the mock's clock), the operation (absent for a path
//!   or method the API does not have), method, path, query string, the
//!   `X-Idempotency-Key` (not a secret), the content type, the body as text
//!   (its first [`BODY_CAP`] bytes; invalid UTF-8 replaced), the status
//!   answered, the outcome and the faults injected. The API key is never
//!   stored: the journal is the key's own.
//! - Bounded: a ring of `Config::journal_capacity` entries (default
//!   [`DEFAULT_JOURNAL_CAPACITY`]); the oldest are dropped, and the answer
//!   says how many.

use std::collections::VecDeque;

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use http_body_util::BodyExt;
use rafiki_rules::idempotency;
use rafiki_rules::{Rule, Violations};
use serde::Serialize;

use crate::extract::Params;
use crate::faults::Injected;
use crate::operation::Operation;

/// Entries kept per account by default.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 1_000;
/// The most body bytes an entry keeps.
pub const BODY_CAP: usize = 4 * 1024;

/// One account's journal.
#[derive(Debug)]
pub(crate) struct Journal {
    entries: Ring<Entry>,
}

/// A bounded log numbered from 1, oldest first: past its capacity the
/// oldest entries are dropped and counted. The request journal and the
/// webhook deliveries' journal ([`crate::webhooks`]) are both one.
#[derive(Debug)]
pub(crate) struct Ring<T> {
    capacity: usize,
    /// The sequence number of the next entry.
    next_seq: u64,
    /// Entries pushed out by the bound.
    dropped: u64,
    /// Oldest first; sequence numbers consecutive.
    entries: VecDeque<T>,
}

impl<T> Ring<T> {
    pub fn new(capacity: usize) -> Self {
        Ring {
            capacity,
            next_seq: 1,
            dropped: 0,
            entries: VecDeque::with_capacity(capacity.min(DEFAULT_JOURNAL_CAPACITY)),
        }
    }

    /// Records the entry `make` builds from its sequence number; drops the
    /// oldest beyond the capacity. Answers the sequence number.
    pub fn push(&mut self, make: impl FnOnce(u64) -> T) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.push_back(make(seq));
        while self.entries.len() > self.capacity {
            self.entries.pop_front();
            self.dropped += 1;
        }
        seq
    }

    /// Entry `seq`, if it is still kept.
    pub fn get_mut(&mut self, seq: u64) -> Option<&mut T> {
        let first = self.next_seq - self.entries.len() as u64;
        let index = seq.checked_sub(first)?;
        self.entries.get_mut(usize::try_from(index).ok()?)
    }

    /// Forgets every entry (numbering goes on).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The latest `limit` (all without one) of the entries `selects`
    /// keeps, oldest first, with the counts.
    pub fn page(&self, selects: impl Fn(&T) -> bool, limit: Option<usize>) -> RingPage<'_, T> {
        let matching: Vec<&T> = self.entries.iter().filter(|e| selects(e)).collect();
        let matched = matching.len();
        let skip = limit.map_or(0, |limit| matched.saturating_sub(limit));
        RingPage {
            data: matching.into_iter().skip(skip).collect(),
            meta: RingMeta {
                capacity: self.capacity,
                total: self.next_seq - 1,
                dropped: self.dropped,
                matched,
            },
        }
    }
}

/// The `limit` query parameter of a ring's page (both journals take it):
/// a whole number of at least 1, else a violation at `limit`.
pub(crate) fn parse_limit(text: Option<&str>, violations: &mut Violations) -> Option<usize> {
    let text = text?;
    let limit = text.parse::<usize>().ok().filter(|l| *l >= 1);
    if limit.is_none() {
        violations.add(
            "limit",
            Rule::WrongType,
            "must be a whole number of at least 1",
        );
    }
    limit
}

/// One request.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Entry {
    seq: u64,
    received_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<&'static str>,
    method: String,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    body_truncated: bool,
    /// The status answered; for a dropped connection, the status of the
    /// answer the client never got; absent until answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    outcome: Outcome,
    faults: Vec<EntryFault>,
}

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// An answer was written.
    Answered,
    /// Handled, then the connection was closed before any byte of the
    /// answer (a drop-after-handling fault).
    ConnectionDropped,
    /// No answer (yet): still being handled, or the client went away first.
    Unanswered,
}

/// A fault injected on the request.
#[derive(Debug, Clone, Serialize)]
struct EntryFault {
    /// The rule's index in the plan.
    rule: usize,
    /// The fault, in the flag grammar (`503+retry-after=1`).
    fault: String,
}

/// The first bytes of a request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Captured {
    /// As text; `None` for an empty body.
    pub text: Option<String>,
    /// More bytes followed.
    pub truncated: bool,
}

/// Reads the first [`BODY_CAP`] bytes (and at most one chunk more) of
/// `body` for the journal; answers a body that yields the same bytes (and
/// the same error, if reading failed) to whoever reads it next.
pub(crate) async fn peek_body(mut body: Body) -> (Body, Captured) {
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut read = 0;
    let rest = loop {
        if read > BODY_CAP {
            break Some(body);
        }
        match body.frame().await {
            None => break None,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    read += data.len();
                    chunks.push(data);
                }
            }
            Some(Err(error)) => {
                let failed = futures::stream::once(async move { Err::<Bytes, _>(error) });
                break Some(Body::from_stream(failed));
            }
        }
    };
    let truncated = rest.is_some() || read > BODY_CAP;
    let head: Vec<u8> = chunks
        .iter()
        .flat_map(|c| c.iter().copied())
        .take(BODY_CAP)
        .collect();
    let captured = Captured {
        text: (!head.is_empty()).then(|| text(&head, truncated)),
        truncated,
    };
    let body = match rest {
        None => Body::from(chunks.concat()),
        Some(rest) => {
            let head = futures::stream::iter(chunks.into_iter().map(Ok::<_, axum::Error>));
            Body::from_stream(head.chain(rest.into_data_stream()))
        }
    };
    (body, captured)
}

/// Bytes as text; a cut through a character drops its start.
fn text(bytes: &[u8], cut: bool) -> String {
    let end = match std::str::from_utf8(bytes) {
        Err(error) if cut && error.error_len().is_none() => error.valid_up_to(),
        _ => bytes.len(),
    };
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl Entry {
    /// A request as it arrived: not answered yet.
    pub fn received(
        parts: &Parts,
        operation: Option<Operation>,
        received_at: DateTime<Utc>,
        body: Captured,
        faults: &[Injected],
    ) -> Self {
        let header = |value: Option<&HeaderValue>| {
            value.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        Entry {
            seq: 0,
            received_at,
            operation: operation.map(Operation::id),
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            idempotency_key: header(parts.headers.get(idempotency::HEADER)),
            content_type: header(parts.headers.get(CONTENT_TYPE)),
            body: body.text,
            body_truncated: body.truncated,
            status: None,
            outcome: Outcome::Unanswered,
            faults: faults
                .iter()
                .map(|injected| EntryFault {
                    rule: injected.rule,
                    fault: injected.fault.to_string(),
                })
                .collect(),
        }
    }
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Journal {
            entries: Ring::new(capacity),
        }
    }

    /// Records `entry`, numbered; drops the oldest beyond the capacity.
    /// Answers its sequence number.
    pub fn open(&mut self, mut entry: Entry) -> u64 {
        self.entries.push(|seq| {
            entry.seq = seq;
            entry
        })
    }

    /// Records the answer to entry `seq` (if it is still kept).
    pub fn close(&mut self, seq: u64, status: StatusCode, outcome: Outcome) {
        if let Some(entry) = self.entries.get_mut(seq) {
            debug_assert_eq!(entry.seq, seq);
            entry.status = Some(status.as_u16());
            entry.outcome = outcome;
        }
    }

    /// Forgets every entry (numbering goes on).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The entries `filter` selects, oldest first.
    pub fn page(&self, filter: &Filter) -> RingPage<'_, Entry> {
        self.entries.page(|e| filter.selects(e), filter.limit)
    }
}

/// A journal's answer: `{data, meta}`.
#[derive(Debug, Serialize)]
pub(crate) struct RingPage<'a, T> {
    data: Vec<&'a T>,
    meta: RingMeta,
}

#[derive(Debug, Serialize)]
struct RingMeta {
    /// Entries kept at most.
    capacity: usize,
    /// Entries recorded since the start (the last sequence number).
    total: u64,
    /// Entries pushed out by the bound since the start.
    dropped: u64,
    /// Kept entries the filters select (before `limit`).
    matched: usize,
}

/// The query of `GET /_sandbox/requests`; every filter given must hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// The method, in any case.
    method: Option<String>,
    /// The path, exactly (`/v1/payouts`).
    path: Option<String>,
    /// The path's start (`/v1/payouts/` for every get_payout).
    path_prefix: Option<String>,
    operation: Option<Operation>,
    idempotency_key: Option<String>,
    /// Only entries numbered after this one.
    since: Option<u64>,
    /// Only the latest `limit` of those selected.
    limit: Option<usize>,
}

impl Filter {
    /// Reads the query; a bad value is a violation at its name.
    pub fn parse(params: &Params) -> Result<Filter, Violations> {
        let mut violations = Violations::new();
        let mut get = |name: &str| {
            params.one(name).unwrap_or_else(|v| {
                violations.push(v);
                None
            })
        };
        let method = get("method").map(str::to_owned);
        let path = get("path").map(str::to_owned);
        let path_prefix = get("path_prefix").map(str::to_owned);
        let idempotency_key = get("idempotency_key").map(str::to_owned);
        let (operation, since, limit) = (get("operation"), get("since"), get("limit"));
        let operation = operation.and_then(|text| {
            let operation = text.parse::<Operation>().ok();
            if operation.is_none() {
                violations.add(
                    "operation",
                    Rule::UnknownEnumValue,
                    format!("must be one of {}", crate::operation::ids()),
                );
            }
            operation
        });
        let since = since.and_then(|text| {
            let since = text.parse::<u64>().ok();
            if since.is_none() {
                violations.add(
                    "since",
                    Rule::WrongType,
                    "must be a sequence number (0 or more)",
                );
            }
            since
        });
        let limit = parse_limit(limit, &mut violations);
        violations.into_result(Filter {
            method,
            path,
            path_prefix,
            operation,
            idempotency_key,
            since,
            limit,
        })
    }

    fn selects(&self, entry: &Entry) -> bool {
        self.method
            .as_ref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&entry.method))
            && self.path.as_ref().is_none_or(|p| *p == entry.path)
            && self
                .path_prefix
                .as_ref()
                .is_none_or(|p| entry.path.starts_with(p.as_str()))
            && self
                .operation
                .is_none_or(|op| entry.operation == Some(op.id()))
            && self
                .idempotency_key
                .as_ref()
                .is_none_or(|k| entry.idempotency_key.as_ref() == Some(k))
            && self.since.is_none_or(|since| entry.seq > since)
    }
}
