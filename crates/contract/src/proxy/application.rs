//! The application's side: what an integrator's code sends, judged per
//! request (a valid body, an idempotency key, amounts as strings) and
//! across requests (the same payout under a new key, list walks stopped
//! early, polling faster than the floor).
//!
//! Every finding names the request that shows it (`POST /v1/payouts`) and
//! the field or the earlier request involved. A mistake the application
//! makes again (the same field, the same list, polling again) is counted
//! but told once: a job that sends every amount as a number gets one line,
//! not a thousand. Each duplicate payout is told: each is money. State is kept per account
//! (API key) and bounded: beyond [`TRACKED`] entries of a kind, new ones
//! are not followed (and so never judged wrongly).

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use rafiki_rules::documented::{is_documented, value_at};
use rafiki_rules::wire::{AccountType, ErrorCode};
use rafiki_rules::{
    ComplianceTable, Destination, Violation, validate_payment_account, validate_payout_create,
};
use rust_decimal::Decimal;
use serde_json::Value;

use super::judge::{Account, Timing};
use super::{
    APP_AMOUNTS_AS_STRINGS, APP_IDEMPOTENCY_KEY, APP_PAGES_COMPLETE, APP_POLLING_FLOOR,
    APP_REQUEST_VALID, APP_RETRY_SAME_KEY,
};
use crate::catalogue::CheckInfo;
use crate::http::Exchange;
use crate::report::Recorder;

/// The most payouts, walks, polled payouts and accounts followed at once.
const TRACKED: usize = 10_000;

/// What the application has sent so far.
pub struct ApplicationChecks {
    table: &'static ComplianceTable,
    retry_window: Duration,
    poll_floor: Duration,
    /// Where each payment account seen in an answer sends money (for the
    /// amount limits of a payout to a `payment_account_id`).
    destinations: HashMap<String, Destination>,
    /// Payouts sent within the retry window, oldest first.
    attempts: VecDeque<Attempt>,
    /// List walks waiting for their next page, by the cursor that page needs.
    walks: HashMap<(Account, String), Walk>,
    /// Payouts being read, by account and id.
    polls: HashMap<(Account, String), Poll>,
    /// The mistakes told so far, by check and cause.
    told: HashSet<(&'static str, String)>,
}

/// One `POST /payouts`.
struct Attempt {
    account: Account,
    timing: Timing,
    key: String,
    body: Value,
    /// A digest of `body`, compared first (most bodies differ).
    fingerprint: u64,
    /// Whether a payout may have been created (so that sending it again
    /// under another key may create a second one).
    may_have_gone_through: bool,
    /// What the application got, in words.
    outcome: String,
}

/// A list read page after page.
struct Walk {
    operation: &'static str,
    /// The query without the paging parameters.
    filters: String,
    /// Read with a date filter, or paged at all: the application wants it all.
    wants_all: bool,
    pages: u32,
    /// The last page read, while it has a next cursor.
    last: Option<Exchange>,
}

/// The last read of one payout.
struct Poll {
    timing: Timing,
    pending: bool,
    reported: bool,
}

impl ApplicationChecks {
    pub fn new(
        table: &'static ComplianceTable,
        retry_window: Duration,
        poll_floor: Duration,
    ) -> Self {
        ApplicationChecks {
            table,
            retry_window,
            poll_floor,
            destinations: HashMap::new(),
            attempts: VecDeque::new(),
            walks: HashMap::new(),
            polls: HashMap::new(),
            told: HashSet::new(),
        }
    }

    /// Judges one exchange of the operation `exchange.probe.operation`;
    /// `reached_server` is false when the upstream could not be reached.
    pub fn judge(
        &mut self,
        exchange: &Exchange,
        account: Account,
        timing: Timing,
        reached_server: bool,
        recorder: &Recorder,
    ) {
        match exchange.probe.operation.unwrap_or_default() {
            "create_payout" => {
                self.idempotency_key(exchange, recorder);
                let Some(body) = self.body(exchange, recorder) else {
                    return;
                };
                self.amounts_as_strings(exchange, body, recorder);
                self.request_valid(exchange, body, recorder);
                self.retry_same_key(exchange, body, account, timing, reached_server, recorder);
            }
            "get_or_create_payment_account" => {
                if let Some(body) = self.body(exchange, recorder) {
                    self.request_valid(exchange, body, recorder);
                }
                if let Some(account) = exchange.json().and_then(|j| j.get("data")) {
                    self.learn_destination(account);
                }
            }
            operation @ ("list_payouts" | "list_payment_accounts") => {
                if operation == "list_payment_accounts" {
                    let accounts = exchange.json().and_then(|j| j.get("data"));
                    for account in accounts.and_then(Value::as_array).into_iter().flatten() {
                        self.learn_destination(account);
                    }
                }
                self.walk(exchange, operation, account, recorder);
            }
            "get_payout" => self.poll(exchange, account, timing, recorder),
            _ => {}
        }
    }

    /// What can only be judged once the traffic has ended: list walks left
    /// before their last page (one walk per list and query counts; told
    /// once per list and filter names).
    pub fn finish(&mut self, recorder: &Recorder) {
        let mut open: Vec<Walk> = std::mem::take(&mut self.walks)
            .into_values()
            .filter(|w| w.wants_all)
            .collect();
        open.sort_by(|a, b| (a.operation, &a.filters).cmp(&(b.operation, &b.filters)));
        open.dedup_by(|a, b| (a.operation, &a.filters) == (b.operation, &b.filters));
        for walk in open {
            let Some(last) = walk.last.as_ref() else {
                continue;
            };
            let names: Vec<&str> = walk
                .filters
                .split('&')
                .map(|f| f.split('=').next().unwrap_or(f))
                .collect();
            let cause = format!("{} {}", walk.operation, names.join("&"));
            let expected = format!(
                "{} read {} page(s) and stopped: the last one has a next cursor, never requested, so later items were missed (read to the page without one; a `next` link that points past the proxy is not seen here)",
                request_line(last),
                walk.pages
            );
            self.finding(&APP_PAGES_COMPLETE, cause, false, expected, last, recorder);
        }
    }

    /// The request's JSON body; a body that is not JSON is a finding.
    fn body<'e>(&mut self, exchange: &'e Exchange, recorder: &Recorder) -> Option<&'e Value> {
        let body = exchange.probe.body.as_deref();
        if body.is_none() {
            let cause = format!("{} not JSON", exchange.probe.operation.unwrap_or_default());
            let expected = format!("{}: a JSON body", request_line(exchange));
            self.finding(
                &APP_REQUEST_VALID,
                cause,
                false,
                expected,
                exchange,
                recorder,
            );
        }
        body
    }

    /// The compliance rules and the documented shape, as the server checks
    /// them (what only it can know is left to it).
    fn request_valid(&mut self, exchange: &Exchange, body: &Value, recorder: &Recorder) {
        let found = match exchange.probe.operation {
            Some("create_payout") => {
                validate_payout_create(body, self.table, &self.destinations).map(|_| ())
            }
            _ => validate_payment_account(body, self.table).map(|_| ()),
        }
        .err()
        .unwrap_or_default();
        let (mut documented, mut ours) = (Vec::new(), Vec::new());
        for violation in &found {
            if violation.rule.depends_on_server_state() || is_amount_number(violation, body) {
                continue;
            }
            match is_documented(violation, body) {
                true => documented.push(violation),
                false => ours.push(violation),
            }
        }
        let line = request_line(exchange);
        let (violations, warning, expected) = match (documented.is_empty(), ours.is_empty()) {
            (false, _) => (
                documented,
                false,
                "a request the documented contract accepts; the server refuses it at",
            ),
            (true, false) => (ours, true, "refused by our stricter rules at"),
            (true, true) => return recorder.pass(&APP_REQUEST_VALID),
        };
        // The same fields broken the same way are the same mistake.
        let cause: Vec<String> = violations
            .iter()
            .map(|v| format!("{} {:?}", v.path, v.rule))
            .collect();
        let named: Vec<String> = violations.into_iter().map(named).collect();
        let expected = format!("{line}: {expected} {}", named.join("; "));
        self.finding(
            &APP_REQUEST_VALID,
            cause.join(","),
            warning,
            expected,
            exchange,
            recorder,
        );
    }

    /// The same payout sent again under a new key, after an attempt that
    /// may have gone through.
    fn retry_same_key(
        &mut self,
        exchange: &Exchange,
        body: &Value,
        account: Account,
        timing: Timing,
        reached_server: bool,
        recorder: &Recorder,
    ) {
        let Some(key) = exchange.probe.idempotency_key.clone() else {
            return;
        };
        let window = self.retry_window;
        while self
            .attempts
            .front()
            .is_some_and(|a| timing.started.saturating_duration_since(a.timing.finished) > window)
        {
            self.attempts.pop_front();
        }
        let fingerprint = fingerprint(body);
        let earlier = self.attempts.iter().find(|a| {
            a.fingerprint == fingerprint
                && a.account == account
                && a.may_have_gone_through
                && a.key != key
                && a.timing.before(&timing)
                && a.body == *body
        });
        match earlier {
            Some(first) => recorder.fail(
                &APP_RETRY_SAME_KEY,
                format!(
                    "{}: the payout first sent under X-Idempotency-Key `{}` ({}, {:.1} s before) was sent again under a new key `{key}`: if the first went through, this makes a second payout; retry with the first key",
                    request_line(exchange),
                    first.key,
                    first.outcome,
                    timing
                        .started
                        .saturating_duration_since(first.timing.finished)
                        .as_secs_f64()
                ),
                Some(exchange),
                None,
            ),
            None => recorder.pass(&APP_RETRY_SAME_KEY),
        }
        if self.attempts.len() < TRACKED {
            let (may_have_gone_through, outcome) = went_through(exchange, reached_server);
            self.attempts.push_back(Attempt {
                account,
                timing,
                key,
                body: body.clone(),
                fingerprint,
                may_have_gone_through,
                outcome,
            });
        }
    }

    /// Follows list walks by their cursors.
    fn walk(
        &mut self,
        exchange: &Exchange,
        operation: &'static str,
        account: Account,
        recorder: &Recorder,
    ) {
        if exchange.status() != 200 {
            return;
        }
        let query = query_of(&exchange.url);
        let after = query
            .iter()
            .find(|(name, _)| name == "paging_after")
            .map(|(_, v)| v.clone());
        let filters: Vec<String> = query
            .iter()
            .filter(|(name, _)| name != "paging_after" && name != "paging_limit")
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let wants_all = filters.iter().any(|f| f.starts_with("created_at_"));
        let mut walk = match after.as_ref() {
            Some(cursor) => self
                .walks
                .remove(&(account, cursor.clone()))
                .map(|mut walk| {
                    walk.pages += 1;
                    walk
                }),
            None => None,
        }
        .unwrap_or_else(|| Walk {
            operation,
            filters: filters.join("&"),
            // A walk resumed from a cursor is a walk too.
            wants_all: wants_all || after.is_some(),
            pages: 1,
            last: None,
        });
        walk.wants_all |= after.is_some();
        match exchange.json().and_then(next_cursor) {
            Some(next) if Some(&next) != after.as_ref() && self.walks.len() < TRACKED => {
                // Only a page with a next cursor is kept: it is the evidence.
                walk.last = Some(exchange.clone());
                self.walks.insert((account, next), walk);
            }
            Some(_) => {}
            None if walk.wants_all => recorder.pass(&APP_PAGES_COMPLETE),
            None => {}
        }
    }

    /// Reads of one payout while it is PENDING, no faster than the floor.
    fn poll(&mut self, exchange: &Exchange, account: Account, timing: Timing, recorder: &Recorder) {
        if exchange.status() != 200 {
            return;
        }
        let Some(id) = exchange
            .json()
            .and_then(|j| j.pointer("/data/id"))
            .and_then(Value::as_str)
        else {
            return;
        };
        let pending = exchange.payout_state() == Some("PENDING");
        let key = (account, id.to_string());
        let Some(last) = self.polls.get_mut(&key) else {
            if pending && self.polls.len() < TRACKED {
                let reported = false;
                self.polls.insert(
                    key,
                    Poll {
                        timing,
                        pending,
                        reported,
                    },
                );
            }
            return;
        };
        let gap = timing
            .started
            .saturating_duration_since(last.timing.started);
        let too_soon = last.pending && gap < self.poll_floor && !last.reported;
        if last.pending && gap >= self.poll_floor {
            recorder.pass(&APP_POLLING_FLOOR);
        }
        last.reported |= too_soon;
        last.timing = timing;
        last.pending = pending;
        if !pending {
            self.polls.remove(&key);
        }
        if too_soon {
            let expected = format!(
                "{}: payout {id} was read again {} ms after the previous read while PENDING (floor {} ms): wait longer between polls, backing off",
                request_line(exchange),
                gap.as_millis(),
                self.poll_floor.as_millis()
            );
            // Polling too fast is one habit, however many payouts it reads.
            self.finding(
                &APP_POLLING_FLOOR,
                account.to_string(),
                false,
                expected,
                exchange,
                recorder,
            );
        }
    }

    /// `POST /payouts` without a usable key.
    fn idempotency_key(&mut self, exchange: &Exchange, recorder: &Recorder) {
        let key = exchange.probe.idempotency_key.as_deref();
        let Err(violation) = rafiki_rules::idempotency::validate_key(key) else {
            return recorder.pass(&APP_IDEMPOTENCY_KEY);
        };
        let expected = format!(
            "{}: a usable {} ({}): the server refuses the payout, and no retry of it can be safe",
            request_line(exchange),
            rafiki_rules::idempotency::HEADER,
            violation.message
        );
        let cause = format!("{:?}", violation.rule);
        self.finding(
            &APP_IDEMPOTENCY_KEY,
            cause,
            false,
            expected,
            exchange,
            recorder,
        );
    }

    /// `amount.value` as a JSON number.
    fn amounts_as_strings(&mut self, exchange: &Exchange, body: &Value, recorder: &Recorder) {
        match value_at(body, "amount.value") {
            Some(Value::Number(number)) => {
                let as_text = number
                    .to_string()
                    .parse::<Decimal>()
                    .map(|d| format!(" (\"{:.2}\")", d.round_dp(2)))
                    .unwrap_or_default();
                let expected = format!(
                    "{}: amount.value sent as the JSON number {number}; the API takes a decimal string{as_text}",
                    request_line(exchange)
                );
                let cause = "amount.value".to_string();
                self.finding(
                    &APP_AMOUNTS_AS_STRINGS,
                    cause,
                    false,
                    expected,
                    exchange,
                    recorder,
                );
            }
            Some(_) => recorder.pass(&APP_AMOUNTS_AS_STRINGS),
            None => {}
        }
    }

    /// Records a finding of `check`, told in full the first time its
    /// `cause` is met, only counted after that.
    fn finding(
        &mut self,
        check: &'static CheckInfo,
        cause: String,
        warning: bool,
        expected: String,
        exchange: &Exchange,
        recorder: &Recorder,
    ) {
        let first = self.told.len() >= TRACKED || self.told.insert((check.name, cause));
        match (first, warning) {
            (true, false) => recorder.fail(check, expected, Some(exchange), None),
            (true, true) => recorder.warn(check, expected, Some(exchange), None),
            (false, warning) => recorder.again(check, warning),
        }
    }

    /// Remembers where a payment account in an answer sends money.
    fn learn_destination(&mut self, account: &Value) {
        let (Some(id), Some(country), Some(kind)) = (
            account.get("id").and_then(Value::as_str),
            account.get("country").and_then(Value::as_str),
            account.get("type").cloned(),
        ) else {
            return;
        };
        let Ok(account_type) = serde_json::from_value::<AccountType>(kind) else {
            return;
        };
        if self.destinations.len() < TRACKED || self.destinations.contains_key(id) {
            let country = country.to_string();
            let destination = Destination {
                country,
                account_type,
            };
            self.destinations.insert(id.to_string(), destination);
        }
    }
}

/// A digest of a JSON body: equal bodies have equal digests (objects'
/// keys are kept sorted, so their order does not matter).
fn fingerprint(body: &Value) -> u64 {
    let mut digest = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut digest);
    digest.finish()
}

/// Whether `violation` is `amount.value` being a number (reported by
/// [`amounts_as_strings`], not twice).
fn is_amount_number(violation: &Violation, body: &Value) -> bool {
    violation.path == "amount.value" && value_at(body, "amount.value").is_some_and(Value::is_number)
}

/// Whether a payout may have been created by an attempt, and what the
/// application got, in words.
fn went_through(exchange: &Exchange, reached_server: bool) -> (bool, String) {
    match exchange.status() {
        0 if reached_server => (true, "no answer".into()),
        0 => (false, "the upstream was unreachable".into()),
        status @ 200..=299 => (true, format!("accepted with {status}")),
        status @ 500.. => (true, format!("answered {status}")),
        409 if exchange.is_error(ErrorCode::IdempotencyRace) => {
            (true, "answered 409 IDEMPOTENCY_RACE".into())
        }
        status => (false, format!("answered {status}")),
    }
}

/// `path: message (RULE)`, as the server's 422 would name it.
fn named(violation: &Violation) -> String {
    let rule = serde_json::to_value(violation.rule)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!("`{}` ({rule}: {})", violation.path, violation.message)
}

/// `METHOD /path?query` of the request.
fn request_line(exchange: &Exchange) -> String {
    format!("{} {}", exchange.probe.method, exchange.probe.target)
}

/// The decoded query pairs of `url`.
fn query_of(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// A page's next cursor: `cursors.after`, or `paging_after` of `next`.
fn next_cursor(page: &Value) -> Option<String> {
    let paging = page.pointer("/meta/paging")?;
    if let Some(after) = paging.pointer("/cursors/after").and_then(Value::as_str) {
        return Some(after.to_string());
    }
    let next = paging.get("next").and_then(Value::as_str)?;
    query_of(next)
        .into_iter()
        .find(|(name, _)| name == "paging_after")
        .map(|(_, value)| value)
}
