//! The paged lists: walking `next`, `paging_limit` and cursor validation,
//! and the inclusive date filters of `GET /payouts`.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};

use super::{
    BAD_CURSOR_REJECTED, BAD_DATE_REJECTED, CheckInfo, DATE_FILTER_BOUNDARIES, PAGINATION_WALK,
    PAGING_LIMIT_BOUNDS,
};
use crate::engine::Ctx;
use crate::http::{Exchange, Probe};
use crate::report::Verdict;

pub const CHECKS: &[&CheckInfo] = &[
    &PAGINATION_WALK,
    &PAGING_LIMIT_BOUNDS,
    &BAD_CURSOR_REJECTED,
    &DATE_FILTER_BOUNDARIES,
    &BAD_DATE_REJECTED,
];

const LISTS: &[(&str, &str)] = &[
    ("list_payouts", "/payouts"),
    ("list_payment_accounts", "/payment-accounts"),
];

/// A date-time without an offset (not RFC 3339, yet one reading of the
/// provider's page accepts it).
const NO_OFFSET: &str = "2026-01-01T10:00:00";

pub async fn run(ctx: Arc<Ctx>) {
    // First, while the other suites have made few payouts yet: its walks
    // read every payout created after the fixture one, 50 a page.
    if ctx.is_selected(&DATE_FILTER_BOUNDARIES) {
        date_filter_boundaries(&ctx).await;
    }
    if ctx.is_selected(&PAGINATION_WALK) {
        pagination_walk(&ctx).await;
    }
    if ctx.is_selected(&PAGING_LIMIT_BOUNDS) {
        paging_limit_bounds(&ctx).await;
    }
    if ctx.is_selected(&BAD_CURSOR_REJECTED) {
        for (operation, path) in LISTS {
            for cursor in ["!!!", "not a cursor", "@@@@@@@@"] {
                let exchange = ctx
                    .send(Probe::get(operation, *path).query("paging_after", cursor))
                    .await;
                ctx.recorder.expect(
                    &BAD_CURSOR_REJECTED,
                    exchange.status() == 422,
                    || format!("422 for `?paging_after={cursor}`"),
                    &exchange,
                );
            }
        }
    }
    if ctx.is_selected(&BAD_DATE_REJECTED) {
        for parameter in ["created_at_from", "created_at_to"] {
            for bad in [
                "2026-13-01",
                "2026-02-30",
                "yesterday",
                "2026-01-01T25:00:00Z",
                "01/02/2026",
                NO_OFFSET,
            ] {
                let exchange = ctx
                    .send(Probe::get("list_payouts", "/payouts").query(parameter, bad))
                    .await;
                let expected = format!("422 for `?{parameter}={bad}`");
                // RFC 3339 needs the offset, but the provider's page asks
                // for a string "including time and/or offset information":
                // one reading takes a time without one (as UTC).
                let verdict = match (exchange.status(), bad) {
                    (422, _) => Verdict::Pass,
                    (_, NO_OFFSET) => Verdict::Warn(format!(
                        "{expected}: RFC 3339 requires the offset, though the provider's \
                         page asks for \"time and/or offset\""
                    )),
                    _ => Verdict::Fail(expected),
                };
                ctx.recorder
                    .verdict(&BAD_DATE_REJECTED, verdict, &exchange, None);
            }
        }
    }
}

/// What walking a list from a first request saw.
#[derive(Debug, Default)]
pub struct Walk {
    /// Item ids in the order served.
    pub ids: Vec<String>,
    /// `created_at` of each item, in the same order.
    pub created: Vec<Option<DateTime<FixedOffset>>>,
    /// Page-level problems: (what was expected, the page).
    pub problems: Vec<(String, Exchange)>,
    /// The last page fetched.
    pub last: Option<Exchange>,
    pub pages: usize,
    /// Whether the walk reached the last page (false: it stopped at its
    /// page bound with `next` still given, or once settled).
    pub complete: bool,
    /// Whether it stopped early because what it was for was settled
    /// ([`walk_until`]).
    pub settled: bool,
}

/// Follows `next` from `first` for at most `max_pages` pages; a page
/// that is not a 200 with a `data` list ends the walk with that exchange
/// as the error (a page without one is not an empty page).
pub async fn walk(ctx: &Ctx, first: Probe, max_pages: usize) -> Result<Walk, Exchange> {
    walk_until(ctx, first, max_pages, |_| false).await
}

/// As [`walk`], but it also stops after a page once `settled` says the
/// walk so far answers what it was for.
pub async fn walk_until(
    ctx: &Ctx,
    first: Probe,
    max_pages: usize,
    settled: impl Fn(&Walk) -> bool,
) -> Result<Walk, Exchange> {
    let limit: Option<usize> = first
        .query
        .iter()
        .find(|(k, _)| k == "paging_limit")
        .and_then(|(_, v)| v.parse().ok());
    let window = window_of(&first.query);
    let filters = query_text(&window_filters(&first.query));
    let mut walk = Walk::default();
    let mut probe = first;
    loop {
        let exchange = ctx.send(probe.clone()).await;
        if exchange.status() != 200 {
            return Err(exchange);
        }
        // Read in place: a page (up to 50 items) is not copied.
        let Some(items) = exchange.json().and_then(|body| body["data"].as_array()) else {
            return Err(exchange);
        };
        for item in items {
            let id = item["id"].as_str().unwrap_or_default().to_string();
            let created = item["created_at"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
            // `next` keeps the filters the first page was asked with.
            // A time shown in whole seconds may stand for any instant of
            // that second: a second of slack either way for it.
            let slack = match created.map(|at| at.timestamp_subsec_nanos()) {
                Some(0) => Duration::seconds(1),
                _ => Duration::zero(),
            };
            if let (Some(at), Some((from, to))) = (created, &window)
                && (from.is_some_and(|from| at < from - slack)
                    || to.is_some_and(|to| at > to + slack))
            {
                walk.problems.push((
                    format!("every item within the first page's filters ({filters}); {id} was created {at}"),
                    exchange.clone(),
                ));
            }
            walk.ids.push(id);
            walk.created.push(created);
        }
        if let Some(limit) = limit.filter(|l| items.len() > *l) {
            walk.problems.push((
                format!(
                    "at most paging_limit={limit} items per page, got {}",
                    items.len()
                ),
                exchange.clone(),
            ));
        }
        let after = exchange.next_cursor();
        let next = exchange.next_page();
        if let Some(problem) = link_problem(after, next.as_deref()) {
            walk.problems.push((problem, exchange.clone()));
        }
        walk.pages += 1;
        walk.last = Some(exchange);
        if next.is_some() && settled(&walk) {
            walk.settled = true;
            break;
        }
        match next {
            Some(next) if walk.pages < max_pages => {
                probe = Probe {
                    target: next,
                    query: Vec::new(),
                    ..probe
                }
            }
            Some(_) => break,
            None => {
                walk.complete = true;
                break;
            }
        }
    }
    Ok(walk)
}

/// A list's date filters: from, to.
type Window = (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>);

/// The date filters of a list query as instants (an upper bound taken as
/// inclusive, its more lenient reading); `None` without a filter. A date
/// is the whole day.
fn window_of(query: &[(String, String)]) -> Option<Window> {
    let bound = |name: &str, day_end: bool| {
        let (_, text) = query.iter().find(|(k, _)| k == name)?;
        Some(match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) if day_end => day
                .succ_opt()?
                .and_hms_opt(0, 0, 0)?
                .and_utc()
                .fixed_offset(),
            Ok(day) => day.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset(),
            Err(_) => DateTime::parse_from_rfc3339(text).ok()?,
        })
    };
    let window = (
        bound("created_at_from", false),
        bound("created_at_to", true),
    );
    (window.0.is_some() || window.1.is_some()).then_some(window)
}

/// The date filters among a query's parameters.
fn window_filters(query: &[(String, String)]) -> Vec<(&str, String)> {
    query
        .iter()
        .filter(|(k, _)| k.starts_with("created_at_"))
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect()
}

/// A list query as a person writes it: `?created_at_from=2026-12-04&...`.
/// Values are shown as they are, not percent-encoded (an offset's `+`
/// included): the curl reproduction carries the exact URL.
fn query_text(query: &[(&str, String)]) -> String {
    let pairs: Vec<String> = query
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    format!("?{}", pairs.join("&"))
}

/// `next` and `cursors.after` must come together and name the same cursor.
fn link_problem(after: Option<&str>, next: Option<&str>) -> Option<String> {
    match (after, next) {
        (None, None) => None,
        (Some(after), Some(next)) => {
            let in_next = url::Url::parse(next).ok().and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "paging_after")
                    .map(|(_, v)| v.into_owned())
            });
            match in_next {
                Some(cursor) if cursor == after => None,
                Some(cursor) => Some(format!(
                    "`next` to carry paging_after={after} (cursors.after), it carries {cursor}"
                )),
                None => Some(format!(
                    "`next` to be a full URL with paging_after, got `{next}`"
                )),
            }
        }
        (Some(_), None) => Some("`next` whenever cursors.after is given".into()),
        (None, Some(_)) => Some("cursors.after whenever `next` is given".into()),
    }
}

/// What a walk got wrong about order and uniqueness, one line each.
fn order_problems(walk: &Walk) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for id in &walk.ids {
        if !seen.insert(id) {
            problems.push(format!("each item once; {id} came twice"));
        }
    }
    for (i, pair) in walk.created.windows(2).enumerate() {
        if let [Some(a), Some(b)] = pair
            && b > a
        {
            problems.push(format!(
                "newest first; {} ({b}) after {} ({a})",
                walk.ids[i + 1],
                walk.ids[i]
            ));
        }
    }
    problems
}

/// Records what a walk found: each problem fails. Without one, it passes
/// only as a whole walk: to the last page (a walk cut at its page bound,
/// `bound`, proves nothing about the rest) and over two pages at least.
fn record_walk(ctx: &Ctx, walk: &Walk, must_contain: &[String], bound: usize) {
    let last = walk.last.as_ref().expect("a walk has a page");
    let mut problems = order_problems(walk);
    if walk.complete {
        for id in must_contain.iter().filter(|id| !walk.ids.contains(id)) {
            problems.push(format!("every item; {id} was never served"));
        }
    }
    for problem in &problems {
        ctx.recorder
            .fail(&PAGINATION_WALK, problem.clone(), Some(last), None);
    }
    for (problem, page) in &walk.problems {
        ctx.recorder
            .fail(&PAGINATION_WALK, problem.clone(), Some(page), None);
    }
    if !problems.is_empty() || !walk.problems.is_empty() {
        return;
    }
    let list = last.probe.operation.unwrap_or("list");
    if !walk.complete {
        ctx.recorder.skip(
            &PAGINATION_WALK,
            format!("{list}: more than {bound} pages, the walk was cut"),
        );
    } else if walk.pages < 2 {
        ctx.recorder.skip(
            &PAGINATION_WALK,
            format!("{list}: fewer than two pages to walk"),
        );
    } else {
        ctx.recorder.pass(&PAGINATION_WALK);
    }
}

async fn pagination_walk(ctx: &Ctx) {
    if let Some(fixtures) = ctx.fixtures_or_skip(&[&PAGINATION_WALK]) {
        // The window leaves the first fixture out, older than the rest: a
        // `next` that dropped the window's filters would bring it in.
        let ids: Vec<String> = fixtures
            .payouts
            .iter()
            .skip(1)
            .filter_map(|p| p["id"].as_str().map(str::to_string))
            .collect();
        let first = fixtures
            .window_from(Probe::get("list_payouts", "/payouts"), 1)
            .query("paging_limit", "2");
        match walk(ctx, first, 200).await {
            Ok(walk) => record_walk(ctx, &walk, &ids, 200),
            Err(page) => ctx.recorder.fail(
                &PAGINATION_WALK,
                "every page answers 200 with a `data` list",
                Some(&page),
                None,
            ),
        }
    }
    // Five a page: the walk runs while the other suites start, when a new
    // server lists only the fixtures' few accounts, and it must span two
    // pages. Every account is listed (no filter narrows them) and each run
    // adds a few hundred, so the walk is bounded (PAYMENT_ACCOUNT_PAGES):
    // unbounded, it grew with the server's history, to 240 pages one
    // after another after a few runs against one mock.
    let first = Probe::get("list_payment_accounts", "/payment-accounts").query("paging_limit", "5");
    match walk(ctx, first, PAYMENT_ACCOUNT_PAGES).await {
        Ok(walk) => record_walk(ctx, &walk, &[], PAYMENT_ACCOUNT_PAGES),
        Err(page) => ctx.recorder.fail(
            &PAGINATION_WALK,
            "every page answers 200 with a `data` list",
            Some(&page),
            None,
        ),
    }
}

/// How far the payment accounts are walked, five a page: all of the
/// account's are listed (no filter narrows them down), and a run makes a
/// few hundred. Beyond this the walk is cut, and skipped (the payouts'
/// walk, over the fixtures' window, still judges the check): at most this
/// many requests, however long the server's history.
const PAYMENT_ACCOUNT_PAGES: usize = 20;

/// Every run: the spec's bounds and one beyond each, plus non-integers.
async fn paging_limit_bounds(ctx: &Ctx) {
    let (min, max) = ctx.paging_limit;
    let outside = [(min - 1).to_string(), (max + 1).to_string()];
    let malformed = ["-1", "abc", "1.5", "10000000000000000000000"];
    for (operation, path) in LISTS {
        for bad in outside.iter().map(String::as_str).chain(malformed) {
            let exchange = ctx
                .send(Probe::get(operation, *path).query("paging_limit", bad))
                .await;
            ctx.recorder.expect(
                &PAGING_LIMIT_BOUNDS,
                exchange.status() == 422,
                || format!("422 for `?paging_limit={bad}`"),
                &exchange,
            );
        }
        for good in [min, max].map(|n| usize::try_from(n).unwrap_or(1)) {
            let exchange = ctx
                .send(Probe::get(operation, *path).query("paging_limit", good.to_string()))
                .await;
            let count = exchange
                .json()
                .and_then(|j| j["data"].as_array().map(Vec::len));
            ctx.recorder.expect(
                &PAGING_LIMIT_BOUNDS,
                exchange.status() == 200 && count.is_some_and(|n| n <= good),
                || format!("200 with at most {good} items for paging_limit={good}"),
                &exchange,
            );
        }
    }
}

fn rfc3339(at: DateTime<Utc>, offset_hours: i32) -> String {
    let offset = FixedOffset::east_opt(offset_hours * 3600).expect("offset in range");
    at.with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// How far a date filter's walk goes, 50 a page; beyond it, it is cut.
const DATE_FILTER_PAGES: usize = 40;

/// The walk of `GET /payouts` with `query`, 50 a page, `max_pages` at
/// most, until `settled`.
async fn filtered(
    ctx: &Ctx,
    query: &[(&str, String)],
    max_pages: usize,
    settled: impl Fn(&Walk) -> bool,
) -> Result<Walk, Exchange> {
    let mut probe = Probe::get("list_payouts", "/payouts").query("paging_limit", "50");
    for (name, value) in query {
        probe = probe.query(name, value.clone());
    }
    walk_until(ctx, probe, max_pages, settled).await
}

/// `23:59:59`, the time of day a date `created_at_to` stands for.
fn last_second_of_a_day() -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(23, 59, 59).expect("a time of day")
}

/// Whether a date filter must list the payout. `created_at_to` at the
/// payout's own instant (or, as a date, a payout created in its day's last
/// second) is contested: API.md makes the bound inclusive (a date up to
/// 23:59:59), the provider's payout page says "created before"
/// (`docs/contract.md#date-filters`), so both answers pass there; every
/// other case, a date bound covering the rest of its day included, means
/// the same under both readings.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Included,
    Excluded,
    Either,
}

impl Expect {
    fn allows(self, listed: bool) -> bool {
        match self {
            Expect::Included => listed,
            Expect::Excluded => !listed,
            Expect::Either => true,
        }
    }
}

async fn date_filter_boundaries(ctx: &Ctx) {
    let Some(fixtures) = ctx.fixtures_or_skip(&[&DATE_FILTER_BOUNDARIES]) else {
        return;
    };
    let payout = &fixtures.payouts[fixtures.payouts.len() / 2];
    let Some(id) = payout["id"].as_str() else {
        ctx.recorder.skip(
            &DATE_FILTER_BOUNDARIES,
            "the fixture payout has no id to look for",
        );
        return;
    };
    let Some(at) = payout["created_at"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    else {
        ctx.recorder.skip(
            &DATE_FILTER_BOUNDARIES,
            "the fixture payout has no RFC 3339 created_at",
        );
        return;
    };
    let at = at.with_timezone(&Utc);
    let second = Duration::seconds(1);
    let day = at.date_naive();
    let date = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let exact = payout["created_at"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    use Expect::{Either, Excluded, Included};
    let cases: Vec<(Vec<(&str, String)>, Expect)> = vec![
        (vec![("created_at_from", exact.clone())], Included),
        (
            vec![
                ("created_at_to", exact.clone()),
                ("created_at_from", rfc3339(at - second, 0)),
            ],
            Either,
        ),
        (
            vec![
                ("created_at_to", rfc3339(at + second, 0)),
                ("created_at_from", rfc3339(at - second, 0)),
            ],
            Included,
        ),
        (vec![("created_at_from", rfc3339(at + second, 0))], Excluded),
        (
            vec![
                ("created_at_to", rfc3339(at - second, 0)),
                ("created_at_from", rfc3339(at - second * 5, 0)),
            ],
            Excluded,
        ),
        (
            vec![
                ("created_at_from", rfc3339(at, 3)),
                ("created_at_to", rfc3339(at + second, -5)),
            ],
            Included,
        ),
        (
            vec![("created_at_from", rfc3339(at + second, -5))],
            Excluded,
        ),
        (
            vec![
                ("created_at_from", date(day)),
                ("created_at_to", rfc3339(at + second, 0)),
            ],
            Included,
        ),
        // A date bound is 23:59:59 UTC of that day under both readings,
        // so the day's payouts are listed; only the last second is
        // contested (inclusive, or "created before").
        (
            vec![
                ("created_at_from", rfc3339(at - second, 0)),
                ("created_at_to", date(day)),
            ],
            match at.time() < last_second_of_a_day() {
                true => Included,
                false => Either,
            },
        ),
        (
            vec![
                ("created_at_from", rfc3339(at - second, 0)),
                ("created_at_to", date(day + chrono::Days::new(1))),
            ],
            Included,
        ),
        (
            vec![("created_at_from", date(day + chrono::Days::new(1)))],
            Excluded,
        ),
        (
            vec![
                ("created_at_from", date(day - chrono::Days::new(1))),
                ("created_at_to", date(day - chrono::Days::new(1))),
            ],
            Excluded,
        ),
    ];
    let at = at.fixed_offset();
    for (query, expect) in cases {
        // Where either answer passes, one page shows the filter is served.
        let max_pages = if matches!(expect, Either) {
            1
        } else {
            DATE_FILTER_PAGES
        };
        // The walk ends once the payout is listed, and where it must not
        // be, once an older payout is: lists are newest first, so it
        // cannot come after that one. Without this, a filter that takes in
        // the server's history (yesterday, all of today) would be walked
        // to its bound on a long-lived server.
        let settled = |walk: &Walk| {
            walk.ids.iter().any(|seen| seen == id)
                || (matches!(expect, Excluded)
                    && walk.created.iter().flatten().any(|created| *created < at))
        };
        let walk = match filtered(ctx, &query, max_pages, settled).await {
            Ok(walk) => walk,
            Err(page) => {
                ctx.recorder.fail(
                    &DATE_FILTER_BOUNDARIES,
                    format!("200 with a `data` list for `{}`", query_text(&query)),
                    Some(&page),
                    None,
                );
                continue;
            }
        };
        let listed = walk.ids.iter().any(|seen| seen == id);
        // Served is proven wherever the walk ended; not served only by a
        // walk to the last page.
        if matches!(expect, Either) {
            ctx.recorder.pass(&DATE_FILTER_BOUNDARIES);
        } else if !listed && !walk.complete && !walk.settled {
            ctx.recorder.skip(
                &DATE_FILTER_BOUNDARIES,
                format!(
                    "`{}`: more than {DATE_FILTER_PAGES} pages, the walk was cut",
                    query_text(&query)
                ),
            );
        } else if expect.allows(listed) {
            ctx.recorder.pass(&DATE_FILTER_BOUNDARIES);
        } else {
            let verb = if listed { "exclude" } else { "include" };
            ctx.recorder.fail(
                &DATE_FILTER_BOUNDARIES,
                format!(
                    "`{}` to {verb} payout {id} created at {exact}",
                    query_text(&query)
                ),
                walk.last.as_ref(),
                Some(query_text(&query)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_and_after_must_agree() {
        assert_eq!(link_problem(None, None), None);
        assert_eq!(
            link_problem(
                Some("YWJj"),
                Some("http://h/v1/payouts?paging_limit=2&paging_after=YWJj")
            ),
            None
        );
        assert!(
            link_problem(Some("YWJj"), Some("http://h/v1/payouts?paging_after=ZGVm")).is_some()
        );
        assert!(link_problem(Some("YWJj"), None).is_some());
        assert!(link_problem(None, Some("http://h/v1/payouts?paging_after=YWJj")).is_some());
    }
}
