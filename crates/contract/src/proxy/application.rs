//! The application's side: what an integrator's code sends, judged per
//! request (a valid body, an idempotency key, amounts as strings, a
//! `Bearer` key, a path below the API's base) and across requests (the
//! same payout under a new key, list walks stopped early, polling faster
//! than the floor).
//!
//! Every finding says what the application sent, as it sent it (the
//! request line, and values quoted from the body's own bytes: `2500.00`
//! stays `2500.00`), and what the documented contract expects instead. A
//! mistake the application makes again (the same field, the same list,
//! polling again) is counted but told once: a job that sends every amount
//! as a number gets one line, not a thousand. Each duplicate payout is
//! told: each is money. State is kept per account (API key) and bounded:
//! beyond [`TRACKED`] entries of a kind, new ones are not followed (and so
//! never judged wrongly).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rafiki_rules::documented::{is_documented, value_at};
use rafiki_rules::idempotency::{HEADER as IDEMPOTENCY_HEADER, MAX_KEY_LEN};
use rafiki_rules::wire::{AccountType, Bank, ErrorCode};
use rafiki_rules::{
    ComplianceTable, Destination, Rule, Violation, check_bank_account, check_payout_bank_account,
    validate_payment_account, validate_payout_create,
};
use rust_decimal::Decimal;
use serde_json::Value;
use serde_json::value::RawValue;

use super::judge::{Account, Timing};
use super::{
    APP_AMOUNTS_AS_STRINGS, APP_AUTHORIZATION, APP_BASE_URL, APP_IDEMPOTENCY_KEY,
    APP_PAGES_COMPLETE, APP_POLLING_FLOOR, APP_REQUEST_VALID, APP_RETRY_SAME_KEY,
};
use crate::catalogue::CheckInfo;
use crate::http::{Exchange, decimal_at};
use crate::report::Recorder;

/// The most payouts, walks, polled payouts and accounts followed at once.
const TRACKED: usize = 10_000;

/// How far the proxy's clock and the server's may differ when a list
/// read is taken to show that an attempt made no payout
/// ([`ApplicationChecks::reconcile`]).
const CLOCK_MARGIN: TimeDelta = TimeDelta::seconds(60);

/// What the application has sent so far.
pub struct ApplicationChecks {
    table: &'static ComplianceTable,
    /// The table with what one documented reading also requires (the
    /// Kenya table's date of birth for every sender): a request only it
    /// refuses warns, as a server of that reading would refuse it.
    every_reading: ComplianceTable,
    /// The banks the server listed to the application (`GET /banks`): a
    /// bank account at one with branches and no `branch_id` warns, as
    /// one reading of the provider's document requires the branch.
    banks: Vec<Bank>,
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
    /// under another key may create a second one); false once the payout
    /// it made is seen FAILED, CANCELLED or REVERSED.
    may_have_gone_through: bool,
    /// The payout a 2xx answer named: the application knew it was made.
    accepted: Option<String>,
    /// A list read since showed no such payout made
    /// ([`ApplicationChecks::reconcile`]): the application looked.
    looked_for: bool,
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

/// One request to an operation of the API, as the application sent it,
/// and what came of it.
pub struct Sent<'a> {
    pub exchange: &'a Exchange,
    /// The body's bytes as sent: values are quoted from them, never
    /// re-serialised (a float written `2500.00` would come back `2500.0`).
    pub body: &'a [u8],
    pub authorization: Authorization,
    pub account: Account,
    pub timing: Timing,
    /// False when the upstream could not be reached.
    pub reached_server: bool,
}

/// How a request's `Authorization` header was written; never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// `Bearer <key>` (the scheme in any case, as RFC 9110 allows).
    Bearer,
    /// No header, or an empty one.
    Missing,
    /// `Bearer` and nothing after it.
    BearerWithoutKey,
    /// A value without a scheme: the key alone, as the provider's
    /// generated samples send it.
    WithoutScheme,
    /// Another scheme (`Basic`, `Token`), named.
    OtherScheme(String),
}

impl Authorization {
    /// Reads a header value. A first word is taken for a scheme only when
    /// it looks like one (letters and `-`, as `Basic`, `ApiKey`): so the
    /// start of a key is never shown as a scheme.
    pub fn of(value: Option<&str>) -> Self {
        let value = value.map(str::trim).unwrap_or_default();
        let looks_like_scheme = |word: &str| {
            (1..=20).contains(&word.len())
                && word.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
        };
        match value.split_once(' ') {
            _ if value.is_empty() => Authorization::Missing,
            None if value.eq_ignore_ascii_case("bearer") => Authorization::BearerWithoutKey,
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("bearer") => Authorization::Bearer,
            Some((scheme, _)) if looks_like_scheme(scheme) => {
                Authorization::OtherScheme(scheme.to_string())
            }
            _ => Authorization::WithoutScheme,
        }
    }

    /// What the application sent, in words; `None` for `Bearer <key>`.
    fn mistake(&self) -> Option<String> {
        match self {
            Authorization::Bearer => None,
            Authorization::Missing => Some("no Authorization header".into()),
            Authorization::BearerWithoutKey => {
                Some("an Authorization header of `Bearer` with no key after it".into())
            }
            Authorization::WithoutScheme => Some(
                "an Authorization header without the `Bearer ` scheme (the key alone, it seems)"
                    .into(),
            ),
            Authorization::OtherScheme(scheme) => Some(format!(
                "an Authorization header with the `{scheme}` scheme instead of `Bearer`"
            )),
        }
    }
}

impl ApplicationChecks {
    pub fn new(
        table: &'static ComplianceTable,
        retry_window: Duration,
        poll_floor: Duration,
    ) -> Self {
        ApplicationChecks {
            table,
            every_reading: table.every_reading_required(),
            banks: Vec::new(),
            retry_window,
            poll_floor,
            destinations: HashMap::new(),
            attempts: VecDeque::new(),
            walks: HashMap::new(),
            polls: HashMap::new(),
            told: HashSet::new(),
        }
    }

    /// Judges one request to the operation `sent.exchange.probe.operation`.
    pub fn judge(&mut self, sent: &Sent, recorder: &Recorder) {
        // It reached an operation: its path is below the API's base.
        recorder.pass(&APP_BASE_URL);
        self.authorization(sent, recorder);
        let exchange = sent.exchange;
        match exchange.probe.operation.unwrap_or_default() {
            "create_payout" => {
                self.idempotency_key(exchange, recorder);
                let Some(body) = self.body(sent, recorder) else {
                    return;
                };
                self.amounts_as_strings(sent, body, recorder);
                self.request_valid(sent, body, recorder);
                self.retry_same_key(sent, body, recorder);
            }
            "get_or_create_payment_account" => {
                if let Some(body) = self.body(sent, recorder) {
                    self.request_valid(sent, body, recorder);
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
                if operation == "list_payouts" {
                    self.reconcile(exchange, sent.account, sent.timing);
                }
                self.walk(exchange, operation, sent.account, recorder);
            }
            "get_payout" => self.poll(exchange, sent.account, sent.timing, recorder),
            "list_banks" => {
                let listed = exchange.json().and_then(|j| j.get("data")).cloned();
                if let Some(Ok(banks)) = listed.map(serde_json::from_value::<Vec<Bank>>) {
                    self.banks = banks;
                }
            }
            _ => {}
        }
    }

    /// A request to a path outside the API's base path (`base_path`) that
    /// would be an operation below it (`exchange` names that operation):
    /// the application's base URL lacks the base path. `proxy_url` is the
    /// base URL the application should use.
    pub fn outside_base(
        &mut self,
        exchange: &Exchange,
        base_path: &str,
        proxy_url: &str,
        recorder: &Recorder,
    ) {
        let sent = format!(
            "{} went outside the API's base path {base_path}",
            request_line(exchange)
        );
        let expected = format!(
            "{} {base_path}{}, below the API's base URL: the application's base URL lacks {base_path} (set it to {proxy_url})",
            exchange.probe.method, exchange.probe.target
        );
        // One base URL set wrong, however many requests it sends.
        let cause = String::new();
        self.finding(
            &APP_BASE_URL,
            cause,
            false,
            Said { expected, sent },
            Some(exchange),
            recorder,
        );
    }

    /// What can only be judged once the traffic has ended: list walks left
    /// before their last page (one walk per list and query counts; told
    /// once per list and filter names). A list left after its first page
    /// without a date filter is not judged (the application may want only
    /// the newest items): each is counted as skipped, saying so.
    pub fn finish(&mut self, recorder: &Recorder) {
        let (mut open, first_pages): (Vec<Walk>, Vec<Walk>) = std::mem::take(&mut self.walks)
            .into_values()
            .partition(|w| w.wants_all);
        for walk in &first_pages {
            if let Some(first) = walk.last.as_ref() {
                recorder.skip(
                    &APP_PAGES_COMPLETE,
                    format!(
                        "{} was left after its first page, without a date filter: whether the application wanted the rest is not known (a list read with a date filter, or paged at all, is judged)",
                        request_line(first)
                    ),
                );
            }
        }
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
            let pages = match walk.pages {
                1 => "1 page".to_string(),
                n => format!("{n} pages"),
            };
            let said = Said {
                sent: format!(
                    "{} read {pages} of the list and stopped: the last page read has a next cursor, never requested",
                    request_line(last)
                ),
                expected: "the list read to its last page, the one without a next cursor: the items after the pages read are missed (a `next` link that points past the proxy is not seen here)".into(),
            };
            // Ours: the pages let a client read "as necessary".
            self.finding(&APP_PAGES_COMPLETE, cause, true, said, Some(last), recorder);
        }
    }

    /// The request's JSON body; a body that is not JSON is a finding.
    fn body<'e>(&mut self, sent: &Sent<'e>, recorder: &Recorder) -> Option<&'e Value> {
        let exchange = sent.exchange;
        let body = exchange.probe.body.as_deref();
        if body.is_none() {
            let cause = format!("{} not JSON", exchange.probe.operation.unwrap_or_default());
            let what = match sent.body.len() {
                0 => "no body".to_string(),
                n => format!("a body of {n} bytes that is not JSON"),
            };
            let said = Said {
                sent: format!("{} sent {what}", request_line(exchange)),
                expected: "a JSON body (Content-Type: application/json)".into(),
            };
            self.finding(
                &APP_REQUEST_VALID,
                cause,
                false,
                said,
                Some(exchange),
                recorder,
            );
        }
        body
    }

    /// The compliance rules and the documented shape, as the server checks
    /// them (what only it can know is left to it).
    fn request_valid(&mut self, sent: &Sent, body: &Value, recorder: &Recorder) {
        let exchange = sent.exchange;
        let validate = |table: &ComplianceTable| match exchange.probe.operation {
            Some("create_payout") => validate_payout_create(body, table, &self.destinations)
                .err()
                .unwrap_or_default(),
            _ => validate_payment_account(body, table)
                .err()
                .unwrap_or_default(),
        };
        let what = match exchange.probe.operation {
            Some("create_payout") => "a payout",
            _ => "a payment account",
        };
        let found = validate(self.table);
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
        // Valid by the reading validation follows, refused by the other
        // (the Kenya table's other row; a bank's branch, by the banks the
        // application was listed).
        let by_one_reading: Vec<Violation> = match (documented.is_empty(), ours.is_empty()) {
            (true, true) => {
                let banks = match exchange.probe.operation {
                    Some("create_payout") => check_payout_bank_account(body, &self.banks),
                    _ => check_bank_account(body, "", &self.banks),
                };
                validate(&self.every_reading)
                    .into_iter()
                    .filter(|v| !found.iter().any(|f| f.path == v.path))
                    .chain(banks.into_iter().filter(|v| v.rule == Rule::BranchRequired))
                    .collect()
            }
            _ => Vec::new(),
        };
        let (violations, warning, reading) = match (documented.is_empty(), ours.is_empty()) {
            (false, _) => (documented, false, "the documented contract"),
            (true, false) => (ours, true, "our stricter reading"),
            (true, true) if !by_one_reading.is_empty() => (
                by_one_reading.iter().collect(),
                true,
                "every reading of the documentation",
            ),
            (true, true) => return recorder.pass(&APP_REQUEST_VALID),
        };
        // The same fields broken the same way are the same mistake.
        let cause: Vec<String> = violations
            .iter()
            .map(|v| format!("{} {}", v.path, rule_name(v)))
            .collect();
        let as_sent: Vec<String> = violations
            .iter()
            .map(|v| match raw_at(sent.body, &v.path) {
                Some(raw) => format!("`{}` {}", v.path, cut(raw)),
                None => format!("no `{}`", v.path),
            })
            .collect();
        let rules: Vec<String> = violations
            .iter()
            .map(|v| format!("`{}`: {}", v.path, v.message))
            .collect();
        let said = Said {
            sent: format!("{} sent {}", request_line(exchange), as_sent.join(", ")),
            expected: format!("{what} {reading} accepts ({})", rules.join("; ")),
        };
        self.finding(
            &APP_REQUEST_VALID,
            cause.join(","),
            warning,
            said,
            Some(exchange),
            recorder,
        );
    }

    /// The same payout sent again under a new key, after an attempt that
    /// may have gone through.
    fn retry_same_key(&mut self, sent: &Sent, body: &Value, recorder: &Recorder) {
        let (exchange, account, timing) = (sent.exchange, sent.account, sent.timing);
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
        let same = |a: &&Attempt| {
            a.fingerprint == fingerprint
                && a.account == account
                && a.timing.before(&timing)
                && a.body == *body
        };
        // Sent before under this very key: a retry as the idempotency page
        // asks, whatever else was sent meanwhile.
        let own_key = self.attempts.iter().filter(same).any(|a| a.key == key);
        let earlier = self
            .attempts
            .iter()
            .filter(same)
            .find(|a| a.may_have_gone_through && a.key != key);
        match earlier {
            Some(first) if !own_key => {
                let expected = format!(
                    "the same payout sent again under its first key `{}`: under a new key, a payout that went through the first time is made twice",
                    first.key
                );
                let sent = format!(
                    "{}: the payout first sent under {IDEMPOTENCY_HEADER} `{}` ({}, {:.1} s before) was sent again under a new key `{key}`",
                    request_line(exchange),
                    first.key,
                    first.outcome,
                    timing
                        .started
                        .saturating_duration_since(first.timing.finished)
                        .as_secs_f64()
                );
                match (&first.accepted, first.looked_for) {
                    // The application knew the first was made: a second
                    // payout of the same may be meant (nothing documented
                    // forbids it), so only our reading calls it a retry.
                    (Some(_), _) => recorder.warn_sent(
                        &APP_RETRY_SAME_KEY,
                        format!("{expected} (if it was meant once)"),
                        sent,
                        Some(exchange),
                    ),
                    // It looked, and the first was not there: likely not
                    // made, but a request whose outcome was unknown may
                    // still complete (a backend slower than its gateway).
                    (None, true) => recorder.warn_sent(
                        &APP_RETRY_SAME_KEY,
                        format!(
                            "{expected}; a list read showed it not made, but a request whose \
                             outcome was unknown may still complete: only its first key can \
                             never pay twice"
                        ),
                        sent,
                        Some(exchange),
                    ),
                    (None, false) => {
                        recorder.fail_sent(&APP_RETRY_SAME_KEY, expected, sent, Some(exchange))
                    }
                }
            }
            _ => recorder.pass(&APP_RETRY_SAME_KEY),
        }
        if self.attempts.len() < TRACKED {
            let (may_have_gone_through, outcome) = went_through(exchange, sent.reached_server);
            let accepted = (200..300)
                .contains(&exchange.status())
                .then(|| exchange.data_id().map(str::to_owned))
                .flatten();
            self.attempts.push_back(Attempt {
                account,
                timing,
                key,
                body: body.clone(),
                fingerprint,
                may_have_gone_through,
                accepted,
                looked_for: false,
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
        match next_cursor(exchange) {
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
        let Some(id) = exchange.data_id() else {
            return;
        };
        let pending = exchange.payout_state() == Some("PENDING");
        self.undone(account, id, exchange.payout_state());
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
            let said = Said {
                sent: format!(
                    "{} read payout {id} again {} ms after the previous read, while it was PENDING",
                    request_line(exchange),
                    gap.as_millis()
                ),
                expected: format!(
                    "at least {} ms between two reads of a PENDING payout (--poll-floor-ms): wait longer between polls, backing off",
                    self.poll_floor.as_millis()
                ),
            };
            // Polling too fast is one habit, however many payouts it reads;
            // the floor is ours (the pages say only to poll at intervals).
            self.finding(
                &APP_POLLING_FLOOR,
                account.to_string(),
                true,
                said,
                Some(exchange),
                recorder,
            );
        }
    }

    /// A first page of the payout list, unfiltered, read after attempts
    /// whose outcome the application could not know (no answer, 5xx, 409
    /// race): an attempt the page reaches back past (an item created
    /// before it, or no next page) and shows no payout of its amount
    /// created since was likely not made, so the application, having
    /// looked, only gets a warning for sending it again under a new key
    /// (the request may still complete: only the first key is sure). The
    /// proxy's and the server's clocks are compared with [`CLOCK_MARGIN`]
    /// either way, so a doubtful page reconciles nothing.
    fn reconcile(&mut self, exchange: &Exchange, account: Account, timing: Timing) {
        let unfiltered = query_of(&exchange.url)
            .iter()
            .all(|(name, _)| name == "paging_limit");
        let Some(page) = exchange
            .json()
            .filter(|_| exchange.status() == 200 && unfiltered)
        else {
            return;
        };
        let Some(items) = page.get("data").and_then(Value::as_array) else {
            return;
        };
        let listed: Vec<(DateTime<Utc>, Option<&Value>)> = items
            .iter()
            .filter_map(|item| {
                let created = item.get("created_at")?.as_str()?;
                let created = DateTime::parse_from_rfc3339(created).ok()?.to_utc();
                Some((created, item.get("amount")))
            })
            .collect();
        if listed.len() != items.len() {
            return;
        }
        let last_page = next_cursor(exchange).is_none();
        for attempt in self.attempts.iter_mut() {
            let unknown = attempt.may_have_gone_through && attempt.accepted.is_none();
            let open = unknown && !attempt.looked_for;
            if attempt.account != account || !open || !attempt.timing.before(&timing) {
                continue;
            }
            let since = DateTime::<Utc>::from(attempt.timing.at) - CLOCK_MARGIN;
            let reaches_back = last_page || listed.iter().any(|(created, _)| *created < since);
            let amount = attempt.body.get("amount");
            let made = listed
                .iter()
                .any(|(created, listed)| *created >= since && same_amount(*listed, amount));
            if reaches_back && !made {
                attempt.looked_for = true;
                attempt.outcome = format!(
                    "{}, then a list read showed no payout of its amount made since",
                    attempt.outcome
                );
            }
        }
    }

    /// A payout read FAILED, CANCELLED or REVERSED: the money did not go
    /// (or came back), so the attempt that made it is one the application
    /// may make again under a new key.
    fn undone(&mut self, account: Account, id: &str, state: Option<&str>) {
        let Some(state @ ("FAILED" | "CANCELLED" | "REVERSED")) = state else {
            return;
        };
        for attempt in self.attempts.iter_mut() {
            if attempt.account == account && attempt.accepted.as_deref() == Some(id) {
                attempt.may_have_gone_through = false;
                attempt.outcome = format!("{}, then {state}", attempt.outcome);
            }
        }
    }

    /// `POST /payouts` without a usable key.
    fn idempotency_key(&mut self, exchange: &Exchange, recorder: &Recorder) {
        let key = exchange.probe.idempotency_key.as_deref();
        let Err(violation) = rafiki_rules::idempotency::validate_key(key) else {
            return recorder.pass(&APP_IDEMPOTENCY_KEY);
        };
        let what = match key {
            None => format!("no {IDEMPOTENCY_HEADER}"),
            Some("") => format!("an empty {IDEMPOTENCY_HEADER}"),
            Some(key) if key.chars().count() > MAX_KEY_LEN => format!(
                "an {IDEMPOTENCY_HEADER} of {} characters",
                key.chars().count()
            ),
            Some(_) => format!("an {IDEMPOTENCY_HEADER} with control characters"),
        };
        let said = Said {
            sent: format!("{} sent {what}", request_line(exchange)),
            expected: format!(
                "a usable {IDEMPOTENCY_HEADER} (1 to {MAX_KEY_LEN} characters, no control characters) on every POST /payouts: the server refuses the payout without one, and no retry of it can be safe"
            ),
        };
        let cause = rule_name(&violation);
        self.finding(
            &APP_IDEMPOTENCY_KEY,
            cause,
            false,
            said,
            Some(exchange),
            recorder,
        );
    }

    /// `amount.value` as a JSON number, quoted as sent.
    fn amounts_as_strings(&mut self, sent: &Sent, body: &Value, recorder: &Recorder) {
        match value_at(body, "amount.value") {
            Some(Value::Number(number)) => {
                let raw = raw_at(sent.body, "amount.value")
                    .map_or_else(|| number.to_string(), str::to_string);
                let as_text = raw
                    .parse::<Decimal>()
                    .or_else(|_| Decimal::from_scientific(&raw))
                    .map(|d| format!(" (\"{:.2}\")", d.round_dp(2)))
                    .unwrap_or_default();
                let said = Said {
                    sent: format!(
                        "{} sent amount.value as the JSON number {raw}",
                        request_line(sent.exchange)
                    ),
                    expected: format!(
                        "amount.value as a decimal string{as_text}: the API refuses a JSON number, and a float can lose cents on the way"
                    ),
                };
                let cause = "amount.value".to_string();
                self.finding(
                    &APP_AMOUNTS_AS_STRINGS,
                    cause,
                    false,
                    said,
                    Some(sent.exchange),
                    recorder,
                );
            }
            Some(_) => recorder.pass(&APP_AMOUNTS_AS_STRINGS),
            None => {}
        }
    }

    /// `Authorization: Bearer <key>` on every request to the API.
    fn authorization(&mut self, sent: &Sent, recorder: &Recorder) {
        let Some(mistake) = sent.authorization.mistake() else {
            return recorder.pass(&APP_AUTHORIZATION);
        };
        let said = Said {
            sent: format!("{} sent {mistake}", request_line(sent.exchange)),
            expected: "`Authorization: Bearer <api key>` on every request: the server answers 401 otherwise (set the `Bearer ` prefix; the provider's generated samples leave it out)".into(),
        };
        let cause = mistake;
        self.finding(
            &APP_AUTHORIZATION,
            cause,
            false,
            said,
            Some(sent.exchange),
            recorder,
        );
    }

    /// Records a finding of `check`, told in full the first time its
    /// `cause` is met, only counted after that.
    fn finding(
        &mut self,
        check: &'static CheckInfo,
        cause: String,
        warning: bool,
        said: Said,
        exchange: Option<&Exchange>,
        recorder: &Recorder,
    ) {
        let first = self.told.len() >= TRACKED || self.told.insert((check.name, cause));
        let Said { expected, sent } = said;
        match (first, warning) {
            (true, false) => recorder.fail_sent(check, expected, sent, exchange),
            (true, true) => recorder.warn_sent(check, expected, sent, exchange),
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

/// A finding in two parts: what the application sent (the report's
/// `actual`) and what the documented contract expects instead.
struct Said {
    sent: String,
    expected: String,
}

/// The rule `violation` broke, by its wire name (`REQUIRED`).
fn rule_name(violation: &Violation) -> String {
    serde_json::to_value(violation.rule)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The raw text of the value at a dotted property path (`amount.value`)
/// of a JSON body, as sent; `None` when some part of the path is absent.
fn raw_at<'b>(body: &'b [u8], path: &str) -> Option<&'b str> {
    let mut node: &'b RawValue = serde_json::from_slice(body).ok()?;
    for key in path.split('.') {
        let object: BTreeMap<String, &'b RawValue> = serde_json::from_str(node.get()).ok()?;
        node = object.get(key)?;
    }
    Some(node.get())
}

/// A value as sent, on one line and cut short. Only the ends of lines are
/// trimmed: a JSON string cannot hold a line break, so no string changes.
fn cut(raw: &str) -> String {
    let flat = raw.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    crate::http::cut(&flat, 80)
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

/// Whether two `amount` objects are the same money (`"150.0"` is
/// `"150.00"`); an amount that cannot be read is taken to be the same.
fn same_amount(listed: Option<&Value>, sent: Option<&Value>) -> bool {
    fn money(amount: Option<&Value>) -> Option<(Decimal, &str)> {
        let amount = amount?;
        Some((decimal_at(amount, "/value")?, amount["currency"].as_str()?))
    }
    match (money(listed), money(sent)) {
        (Some(listed), Some(sent)) => listed == sent,
        _ => true,
    }
}

/// A page's next cursor: `cursors.after`, or `paging_after` of `next`
/// (read as the suite reads them: an empty one is none, a relative `next`
/// is resolved against the page).
fn next_cursor(page: &Exchange) -> Option<String> {
    if let Some(after) = page.next_cursor() {
        return Some(after.to_owned());
    }
    query_of(&page.next_page()?)
        .into_iter()
        .find(|(name, _)| name == "paging_after")
        .map(|(_, value)| value)
}
