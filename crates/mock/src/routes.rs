//! The seven operations of the API under `/v1`, as thin handlers: extract,
//! check with `rafiki-rules` (bank accounts also against the banks GET
//! /banks lists), call the store, render. [`handler`] gives each
//! [`Operation`] its handler.

use std::borrow::Cow;

use axum::extract::State;
use axum::http::header::HOST;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use rafiki_rules::idempotency;
use rafiki_rules::listing::{DateRange, paging_limit};
use rafiki_rules::wire::{Cursors, Data, Page, PageMeta, Paging, PaymentAccount, Payout};
use rafiki_rules::{
    Rule, Violations, check_bank_account, check_payout_bank_account, validate_payment_account,
    validate_payout_create,
};
use serde::Serialize;

use crate::amounts;
use crate::cursor::{self, ListKind, SortKey};
use crate::errors::{ApiError, json};
use crate::extract::{Authed, JsonBody, Params, PathId};
use crate::operation::Operation;
use crate::server::AppState;
use crate::store::{Account, Begin, PageOf, PageQuery, PayoutView, StoredResponse};

/// The handler of `operation`, under the operation's method.
pub(crate) fn handler(operation: Operation) -> MethodRouter<AppState> {
    let method = MethodFilter::try_from(operation.method())
        .expect("the API's methods are ones a router filters on");
    match operation {
        Operation::ListBanks => on(method, list_banks),
        Operation::ListWallets => on(method, list_wallets),
        Operation::ListPaymentAccounts => on(method, list::<PaymentAccount>),
        Operation::GetOrCreatePaymentAccount => on(method, create_payment_account),
        Operation::ListPayouts => on(method, list::<Payout>),
        Operation::CreatePayout => on(method, create_payout),
        Operation::GetPayout => on(method, get_payout),
    }
}

/// `GET /banks`.
pub async fn list_banks(_: Authed) -> Response {
    json(
        StatusCode::OK,
        &Data {
            data: crate::banks::all(),
        },
    )
}

/// `GET /wallets`.
pub async fn list_wallets(Authed(cell): Authed) -> Response {
    json(
        StatusCode::OK,
        &Data {
            data: cell.lock().wallets(),
        },
    )
}

/// `GET /payouts/{id}`.
pub async fn get_payout(Authed(cell): Authed, PathId(id): PathId) -> Result<Response, ApiError> {
    let account = cell.lock();
    let payout = account.payout(&id).ok_or(ApiError::NotFound)?;
    Ok(json(StatusCode::OK, &Data { data: payout }))
}

/// `POST /payment-accounts`: 200 when the account exists, 201 when created.
pub async fn create_payment_account(
    State(app): State<AppState>,
    Authed(cell): Authed,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request = with_bank_check(
        validate_payment_account(&body, app.store.compliance()),
        check_bank_account(&body, "", crate::banks::all()),
        &app,
    )?;
    let now = app.store.now();
    let mut account = cell.lock();
    let (created, is_new) = account.get_or_create_account(request, now);
    let status = if is_new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, &Data { data: created }))
}

/// `POST /payouts`: idempotency first, then validation, then the store.
pub async fn create_payout(
    State(app): State<AppState>,
    Authed(cell): Authed,
    headers: HeaderMap,
    body: Result<JsonBody, ApiError>,
) -> Result<Response, ApiError> {
    let raw_key = headers
        .get(idempotency::HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let key = idempotency::validate_key(raw_key.as_deref());
    let (key, body) = match (key, body) {
        (Ok(key), Ok(JsonBody(body))) => (key, body),
        (key, body) => return Err(merge(key.err().map(ApiError::from), body.err())),
    };
    let now = app.store.now();
    let flight = match cell.begin(key, &body, now, app.other_body) {
        Begin::Proceed(flight) => flight,
        Begin::Replay(response) => return Ok(response.into_response()),
        Begin::Refuse(error) => return Err(error),
    };
    // The key was claimed for the body as sent; lenient amounts validate
    // the normalised body and keep the text as sent for the answers.
    let (checked, amount_text) = if app.lenient_amounts {
        amounts::normalise(&body)
    } else {
        (Cow::Borrowed(&body), None)
    };
    let validated = with_bank_check(
        validate_payout_create(&checked, app.store.compliance(), cell.as_ref()),
        check_payout_bank_account(&checked, crate::banks::all()),
        &app,
    );
    let accept = app.store.accept(now, amount_text);
    let mut wake = false;
    let outage = app.recipient_outages && crate::support::is_outage(key);
    let response = flight.finish(|account| {
        let created = validated.map_err(ApiError::from).and_then(|request| {
            match account.recipient_type(&request).filter(|_| outage) {
                Some(kind) => Err(ApiError::RecipientUnavailable(kind)),
                None => account.create_payout(request, accept),
            }
        });
        match created {
            Ok((payout, was_idle)) => {
                wake = was_idle;
                StoredResponse::json(StatusCode::ACCEPTED, &Data { data: payout })
            }
            // Not stored: a retry with the key is decided afresh.
            Err(error @ (ApiError::Internal(_) | ApiError::RecipientUnavailable(_))) => Err(error),
            Err(error) => Ok(StoredResponse::error(&error)),
        }
    })?;
    if wake {
        app.store.wake.notify_one();
    }
    Ok(response.into_response())
}

/// The validator's verdict with the bank list's violations added: one 422
/// naming every fault. `rafiki-rules` judges the bank and its branch
/// together, and a missing branch at a bank with branches; this server
/// drops the branch verdicts its configuration does not hold
/// ([`crate::Config::check_branches`], [`crate::Config::branch_required`]).
fn with_bank_check<T>(
    validated: Result<T, Violations>,
    banks: Violations,
    app: &AppState,
) -> Result<T, Violations> {
    let (request, mut violations) = match validated {
        Ok(request) => (Some(request), Violations::new()),
        Err(violations) => (None, violations),
    };
    banks
        .into_iter()
        .filter(|v| match v.rule {
            Rule::UnknownBranch => app.check_branches,
            Rule::BranchRequired => app.branch_required,
            _ => true,
        })
        .for_each(|v| violations.push(v));
    match request {
        Some(request) => violations.into_result(request),
        None => Err(violations),
    }
}

/// Both problems of a request in one answer: 413 wins, two 422s merge.
fn merge(first: Option<ApiError>, second: Option<ApiError>) -> ApiError {
    match (first, second) {
        (Some(ApiError::Validation(a)), Some(ApiError::Validation(b))) => {
            let mut all = Violations::new();
            a.into_iter().chain(b).for_each(|v| all.push(v));
            ApiError::Validation(all)
        }
        (Some(ApiError::Validation(_)), Some(other)) | (Some(other), _) | (None, Some(other)) => {
            other
        }
        (None, None) => ApiError::Internal("merge of no errors".into()),
    }
}

/// A resource listed in pages: `GET /payouts` and `GET /payment-accounts`.
pub(crate) trait Listed: 'static {
    /// Which cursors it accepts.
    const KIND: ListKind;
    /// Its path under `/v1` (for `next`).
    const PATH: &'static str;
    /// Whether `created_at_from` / `created_at_to` apply.
    const DATE_FILTERS: bool;
    /// How one item is shown.
    type Item<'a>: Serialize;
    /// One page of the account's items.
    fn page(account: &Account, query: PageQuery) -> PageOf<Self::Item<'_>>;
}

impl Listed for Payout {
    const KIND: ListKind = ListKind::Payouts;
    const PATH: &'static str = "payouts";
    const DATE_FILTERS: bool = true;
    type Item<'a> = PayoutView<'a>;
    fn page(account: &Account, query: PageQuery) -> PageOf<PayoutView<'_>> {
        account.payout_page(query)
    }
}

impl Listed for PaymentAccount {
    const KIND: ListKind = ListKind::PaymentAccounts;
    const PATH: &'static str = "payment-accounts";
    const DATE_FILTERS: bool = false;
    type Item<'a> = &'a PaymentAccount;
    fn page(account: &Account, query: PageQuery) -> PageOf<&PaymentAccount> {
        account.payment_account_page(query)
    }
}

/// `GET /payouts` and `GET /payment-accounts`.
pub(crate) async fn list<T: Listed>(
    State(app): State<AppState>,
    Authed(cell): Authed,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, ApiError> {
    let list = ListRequest::parse(&params, T::KIND, T::DATE_FILTERS, &app)?;
    let account = cell.lock();
    Ok(list.render(&app, &headers, T::PATH, T::page(&account, list.query)))
}

/// The checked list parameters, and the raw ones `next` repeats.
struct ListRequest<'p> {
    kind: ListKind,
    query: PageQuery,
    limit: u32,
    dates: Vec<(&'static str, &'p str)>,
}

impl<'p> ListRequest<'p> {
    /// Every bad parameter is reported, each at its own name. Without
    /// `paging_limit` a page holds the app's default page size.
    fn parse(
        params: &'p Params,
        kind: ListKind,
        with_dates: bool,
        app: &AppState,
    ) -> Result<Self, ApiError> {
        let default_limit = app.default_page_size;
        let mut violations = Violations::new();
        let mut get = |name: &str| {
            params.one(name).unwrap_or_else(|v| {
                violations.push(v);
                None
            })
        };
        let raw_limit = get("paging_limit");
        let raw_after = get("paging_after");
        let (raw_from, raw_to) = if with_dates {
            (get("created_at_from"), get("created_at_to"))
        } else {
            (None, None)
        };
        let limit = match raw_limit {
            None => Some(default_limit),
            Some(_) => paging_limit(raw_limit).map_err(|v| violations.push(v)).ok(),
        };
        let after = raw_after.and_then(|raw| {
            let key = cursor::decode(kind, raw);
            if key.is_none() {
                violations.add(
                    "paging_after",
                    Rule::WrongType,
                    "is not a cursor this list handed out",
                );
            }
            key
        });
        let range = DateRange::parse_with(raw_from, raw_to, app.created_at_to)
            .map_err(|v| v.into_iter().for_each(|v| violations.push(v)))
            .ok();
        let (Some(limit), Some(range)) = (limit, range) else {
            return Err(violations.into());
        };
        if !violations.is_empty() {
            return Err(violations.into());
        }
        let at_start = |t: chrono::DateTime<chrono::Utc>| -> SortKey { (t, 0) };
        let below = match (range.before().map(at_start), after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let dates = [("created_at_from", raw_from), ("created_at_to", raw_to)]
            .into_iter()
            .filter_map(|(name, raw)| raw.map(|raw| (name, raw)))
            .collect();
        let query = PageQuery {
            from: range.from().map(at_start),
            below,
            limit: limit as usize,
        };
        Ok(ListRequest {
            kind,
            query,
            limit,
            dates,
        })
    }

    /// The page with its cursor and the full URL of the next page.
    fn render<T: Serialize>(
        &self,
        app: &AppState,
        headers: &HeaderMap,
        path: &str,
        page: PageOf<T>,
    ) -> Response {
        let after = page.after.map(|key| cursor::encode(self.kind, key));
        let next = after.as_ref().map(|after| {
            let mut url = format!(
                "{}/{path}?paging_limit={}&paging_after={after}",
                base_url(app, headers),
                self.limit
            );
            for (name, raw) in &self.dates {
                url.push('&');
                url.push_str(name);
                url.push('=');
                url.push_str(&percent_encode(raw));
            }
            url
        });
        let body = Page {
            data: page.items,
            meta: PageMeta {
                paging: Paging {
                    cursors: Cursors { after },
                    next,
                },
            },
        };
        json(StatusCode::OK, &body)
    }
}

/// The configured public base URL, else `http://<Host>/v1`, else the
/// bound address.
fn base_url(app: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &app.public_base_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).filter(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    });
    match host {
        Some(host) => format!("http://{host}/v1"),
        None => format!("http://{}/v1", app.local_addr),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_values() {
        assert_eq!(
            percent_encode("2026-01-31T08:00:00+03:00"),
            "2026-01-31T08%3A00%3A00%2B03%3A00"
        );
        assert_eq!(percent_encode("2026-01-31"), "2026-01-31");
    }

    #[test]
    fn merges_problems() {
        let key = ApiError::invalid("X-Idempotency-Key", Rule::Required, "missing");
        let body = ApiError::bad_body("bad");
        let ApiError::Validation(both) = merge(Some(key.clone()), Some(body)) else {
            panic!()
        };
        assert_eq!(both.len(), 2);
        let too_large = merge(Some(key), Some(ApiError::PayloadTooLarge { limit: 1 }));
        assert!(matches!(too_large, ApiError::PayloadTooLarge { .. }));
    }
}
