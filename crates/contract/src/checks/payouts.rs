//! Payout requests: the documented edges first (limits, sender fields,
//! banks, a recipient by `payment_account_id`, a named `wallet_id`), then
//! generated valid ones accepted and single-fault ones refused with the
//! broken field named; the idempotency header required, created payouts
//! retrievable and listed (their sender as sent, their wallet one in the
//! amount's currency), unknown ids 404.

use std::sync::Arc;

use proptest::prelude::*;
use rafiki_rules::documented::is_documented_refusal;
use rafiki_rules::edges::EdgeExpect;
use rafiki_rules::lifecycle::check_history;
use rafiki_rules::wire::{AccountType, ErrorCode, Payout};
use rafiki_rules::{Rule, strategies};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::control;
use super::rejection::{self, Fault, judge_case};
use super::{
    CheckInfo, IDEMPOTENCY_KEY_REQUIRED, INVALID_PAYOUT_REJECTED, PAYOUT_RETRIEVABLE,
    UNKNOWN_PAYOUT_NOT_FOUND, VALID_PAYOUT_ACCEPTED,
};
use crate::engine::{CaseResult, Json, case_result, property_cases, run_property};
use crate::engine::{Ctx, fixture_payout};
use crate::http::{Exchange, Probe, decimal_at, least_available, wallet_in};
use crate::report::Verdict;

pub const CHECKS: &[&CheckInfo] = &[
    &VALID_PAYOUT_ACCEPTED,
    &INVALID_PAYOUT_REJECTED,
    &IDEMPOTENCY_KEY_REQUIRED,
    &PAYOUT_RETRIEVABLE,
    &UNKNOWN_PAYOUT_NOT_FOUND,
];

pub async fn run(ctx: Arc<Ctx>) {
    // Three independent chains, so that a slow network costs one wait, not three.
    let accepted = async {
        if ctx.is_selected(&VALID_PAYOUT_ACCEPTED) || ctx.is_selected(&INVALID_PAYOUT_REJECTED) {
            documented_edges(&ctx).await;
            if !ctx.banks.has_country("KE") {
                ctx.recorder.skip(
                    &VALID_PAYOUT_ACCEPTED,
                    "bank-account cases: GET /banks lists no bank for KE",
                );
            }
        }
        if ctx.is_selected(&VALID_PAYOUT_ACCEPTED) {
            let cases = property_cases(&ctx, &VALID_PAYOUT_ACCEPTED, valid_bodies(&ctx));
            control::cover(&ctx, cases.generate().0.iter().map(|Json(body)| body)).await;
            run_property(&ctx, cases, valid_payout_is_accepted).await;
        }
    };
    let rejected = async {
        if ctx.is_selected(&INVALID_PAYOUT_REJECTED) {
            let strategy = fault_cases(&ctx);
            let cases = property_cases(&ctx, &INVALID_PAYOUT_REJECTED, strategy);
            run_property(&ctx, cases, |ctx, fault| async move {
                // Refused as documented, it spends nothing: a spent wallet
                // does not hold it back (`engine::spending`).
                let probe = Probe::create_payout(fault.body.clone());
                let exchange = match fault.documented {
                    true => ctx.send_to_be_refused(probe).await,
                    false => ctx.send(probe).await,
                };
                judge_case(&ctx, &INVALID_PAYOUT_REJECTED, exchange, &fault)
            })
            .await;
        }
    };
    let reads = async {
        if ctx.is_selected(&IDEMPOTENCY_KEY_REQUIRED) {
            idempotency_key_required(&ctx).await;
        }
        if ctx.is_selected(&PAYOUT_RETRIEVABLE) {
            payout_retrievable(&ctx).await;
        }
        if ctx.is_selected(&UNKNOWN_PAYOUT_NOT_FOUND) {
            // Well-formed ids no server made, and ids no payout can have:
            // 404 is the one error the operation documents for either.
            let made_up = (0..3).map(|_| format!("pyt-{}", uuid::Uuid::new_v4().simple()));
            for id in made_up.chain(["abc".to_string(), "pac-1".to_string()]) {
                let exchange = ctx
                    .send(Probe::get("get_payout", format!("/payouts/{id}")))
                    .await;
                ctx.recorder.expect(
                    &UNKNOWN_PAYOUT_NOT_FOUND,
                    exchange.is_error(ErrorCode::NotFound),
                    || "HTTP 404 NOT_FOUND".into(),
                    &exchange,
                );
            }
        }
    };
    futures::join!(accepted, rejected, reads);
}

/// The documented edges, on every run before anything random: from the
/// compliance data, every country and payment method at its amount limits
/// (min − 0.01, min, max, max + 0.01) and each required sender field
/// absent; then a bank the server does not list, and a branch that is not
/// the bank's.
async fn documented_edges(ctx: &Ctx) {
    for edge in rafiki_rules::edges::payout_edges(&ctx.table) {
        let mut body = edge.body;
        if !ctx.banks.assign(&mut body, "/payment_account") {
            continue; // no listed bank for the country: skipped above
        }
        let exchange = ctx.create_payout(body.clone()).await;
        let input = Some(edge.name);
        match edge.expect {
            EdgeExpect::Accepted if ctx.is_selected(&VALID_PAYOUT_ACCEPTED) => {
                let verdict = acceptance(ctx, &body, &exchange).await;
                ctx.recorder
                    .verdict(&VALID_PAYOUT_ACCEPTED, verdict, &exchange, input);
            }
            EdgeExpect::Rejected { path, rule } if ctx.is_selected(&INVALID_PAYOUT_REJECTED) => {
                let verdict =
                    rejection::judge(&exchange, &path, rule, is_documented_refusal(rule, None));
                ctx.recorder
                    .verdict(&INVALID_PAYOUT_REJECTED, verdict, &exchange, input);
            }
            _ => {}
        }
    }
    if ctx.is_selected(&VALID_PAYOUT_ACCEPTED) {
        pay_by_account_id(ctx).await;
        pay_from_named_wallet(ctx).await;
    }
    if ctx.is_selected(&INVALID_PAYOUT_REJECTED) {
        rules_hold_by_account_id(ctx).await;
        for (body, path, rule) in
            bank_faults(ctx, fixture_bank_payout(), "payment_account.bank_account")
        {
            let exchange = ctx.create_payout(body.clone()).await;
            let verdict =
                rejection::judge(&exchange, &path, rule, is_documented_refusal(rule, None));
            ctx.recorder.verdict(
                &INVALID_PAYOUT_REJECTED,
                verdict,
                &exchange,
                Some(body.to_string()),
            );
        }
    }
}

/// The compliance rules hold for a payout that names its recipient by id
/// as for one that gives it inline: the account's country and type set
/// them. Kenya's amount limits and its required sender, paid to the Kenyan
/// mobile-money account the first fixture payout created.
async fn rules_hold_by_account_id(ctx: &Ctx) {
    let Some(account) = ctx
        .fixtures
        .as_ref()
        .ok()
        .and_then(|f| f.first_account_id())
    else {
        return; // pay_by_account_id says why
    };
    let limit = ctx
        .table
        .country("KE")
        .and_then(|ke| ke.limit_for("KES", AccountType::MobileMoney));
    let cent = Decimal::new(1, 2);
    let mut cases: Vec<(Option<Decimal>, &str, Rule)> = Vec::new();
    if let Some(limit) = limit {
        cases.extend(
            limit
                .min
                .map(|min| (Some(min - cent), "amount.value", Rule::AmountBelowMin)),
        );
        cases.extend(
            limit
                .max
                .map(|max| (Some(max + cent), "amount.value", Rule::AmountAboveMax)),
        );
    }
    cases.push((None, "sender", Rule::Required));
    for (amount, path, rule) in cases {
        let mut body = without(fixture_payout(4), "payment_account");
        body["payment_account_id"] = json!(account);
        match amount {
            Some(amount) => body["amount"]["value"] = json!(amount.to_string()),
            None => body = without(body, "sender"),
        }
        let exchange = ctx
            .send_to_be_refused(Probe::create_payout(body.clone()))
            .await;
        let verdict = rejection::judge(&exchange, path, rule, is_documented_refusal(rule, None));
        let input = format!("by payment_account_id {account}: {body}");
        ctx.recorder
            .verdict(&INVALID_PAYOUT_REJECTED, verdict, &exchange, Some(input));
    }
}

/// A payout to an existing payment account of the account's own, named
/// by its id (the one the first fixture payout created inline): accepted
/// like any valid payout, and paid to that account. docs/contract.md#payouts:
/// the recipient is "exactly one of `payment_account_id` (`pac-...`) and
/// `payment_account`".
async fn pay_by_account_id(ctx: &Ctx) {
    let Some(fixtures) = ctx.fixtures_or_skip(&[&VALID_PAYOUT_ACCEPTED]) else {
        return;
    };
    let Some(account) = fixtures.first_account_id() else {
        let why = "a payout by payment_account_id: the first fixture payout came without one";
        return ctx.recorder.skip(&VALID_PAYOUT_ACCEPTED, why);
    };
    let mut body = without(fixture_payout(8), "payment_account");
    body["payment_account_id"] = json!(account);
    pay_as_named(ctx, body, "payment_account_id", account).await;
}

/// A payout that names the wallet to pay from (the account's wallet in
/// the amount's currency, as GET /wallets lists it): accepted, and paid
/// from that wallet. docs/contract.md#payouts: "`wallet_id` (optional): the
/// wallet to pay from".
async fn pay_from_named_wallet(ctx: &Ctx) {
    let mut body = fixture_payout(8);
    let currency = body["amount"]["currency"].as_str().unwrap_or_default();
    let wallets = ctx.send(Probe::get("list_wallets", "/wallets")).await;
    if wallets.status() != 200 {
        let why = format!(
            "a payout from a named wallet: GET /wallets answered {}",
            wallets.summary()
        );
        return ctx.recorder.skip(&VALID_PAYOUT_ACCEPTED, why);
    }
    let Some(wallet) = wallet_in(&wallets, currency).and_then(|w| w["id"].as_str()) else {
        return ctx.recorder.fail(
            &VALID_PAYOUT_ACCEPTED,
            format!(
                "GET /wallets answers 200 listing the {currency} wallet (with its id) that pays {currency} payouts"
            ),
            Some(&wallets),
            None,
        );
    };
    body["wallet_id"] = json!(wallet);
    pay_as_named(ctx, body, "wallet_id", wallet).await;
}

/// Sends `body`, which names its `field` (`sent`), and judges it: accepted
/// like any valid payout, and a 202 names the `field` sent.
async fn pay_as_named(ctx: &Ctx, body: Value, field: &str, sent: &str) {
    let exchange = ctx.create_payout(body.clone()).await;
    let verdict = acceptance(ctx, &body, &exchange).await;
    let verdict = naming(verdict, &exchange, field, sent);
    ctx.recorder.verdict(
        &VALID_PAYOUT_ACCEPTED,
        verdict,
        &exchange,
        Some(body.to_string()),
    );
}

/// `verdict` on a payout whose request chose its `field` (`sent`): a 202
/// that names another one (or none) in `data` fails, since the answer is
/// the payout made as asked (docs/contract.md#payouts).
fn naming(verdict: Verdict, exchange: &Exchange, field: &str, sent: &str) -> Verdict {
    if !matches!(verdict, Verdict::Pass) || exchange.status() != 202 {
        return verdict;
    }
    let answered = exchange
        .json()
        .and_then(|j| j.pointer(&format!("/data/{field}")));
    if answered.and_then(Value::as_str) == Some(sent) {
        return Verdict::Pass;
    }
    let answered = answered.map_or("none".to_string(), Value::to_string);
    Verdict::Fail(format!(
        "202 with data.{field} \"{sent}\", the {field} sent (answered {answered})"
    ))
}

/// A valid KE payout to a bank account (its bank is set by the caller).
fn fixture_bank_payout() -> Value {
    let mut body = fixture_payout(1);
    body["payment_account"] = json!({
        "type": "BANK_ACCOUNT", "country": "KE",
        "holder": {"type": "BUSINESS", "name": "Contract Fixture"},
        "bank_account": {"bank_id": "bnk-unset", "number": "0123456789"}
    });
    body
}

/// `body` (whose bank account is at `path`) with a bank the server does not
/// list, and with a branch that is not its bank's: `(body, path, rule)`.
pub fn bank_faults(ctx: &Ctx, body: Value, path: &str) -> Vec<(Value, String, Rule)> {
    let pointer = format!("/{}", path.replace('.', "/"));
    let mut faults = Vec::new();
    let mut unlisted = body.clone();
    if let Some(details) = unlisted.pointer_mut(&pointer) {
        details["bank_id"] = json!(ctx.banks.unlisted_bank_id());
        faults.push((unlisted, format!("{path}.bank_id"), Rule::UnknownBank));
    }
    if let Some((bank, branch)) = ctx.banks.foreign_branch("KE") {
        let mut foreign = body;
        if let Some(details) = foreign.pointer_mut(&pointer) {
            details["bank_id"] = json!(bank);
            details["branch_id"] = json!(branch);
            faults.push((foreign, format!("{path}.branch_id"), Rule::UnknownBranch));
        }
    }
    faults
}

/// Valid bodies a server with no prior state must accept: the payment
/// account inline (a `payment_account_id` would name nothing there), the
/// wallet chosen by currency, and banks from the server's own list (bank
/// accounts in countries where it lists none are left out).
fn valid_bodies(ctx: &Ctx) -> impl Strategy<Value = Json> + use<> {
    let banks = ctx.banks.clone();
    strategies::valid_inline_payout(ctx.table.clone()).prop_filter_map(
        "a bank the server lists",
        move |case| {
            let mut body = without(case.body, "wallet_id");
            banks
                .assign(&mut body, "/payment_account")
                .then_some(Json(body))
        },
    )
}

fn without(mut body: Value, field: &str) -> Value {
    if let Some(object) = body.as_object_mut() {
        object.remove(field);
    }
    body
}

async fn valid_payout_is_accepted(ctx: Arc<Ctx>, Json(body): Json) -> CaseResult {
    let body = Arc::new(body);
    let exchange = ctx.create_payout(body.clone()).await;
    let verdict = acceptance(&ctx, &body, &exchange).await;
    if verdict == Verdict::Pass && exchange.status() == 202 {
        read_back(&ctx, &body, &exchange).await;
    }
    case_result(&ctx, &VALID_PAYOUT_ACCEPTED, verdict, exchange, || {
        body.to_string()
    })
}

/// The verdict on the answer to a valid payout: 202 with it PENDING and
/// its amount echoed, or 402 when the wallet really is short; a documented
/// outage of the recipient's bank or operator (503) is not judged.
async fn acceptance(ctx: &Ctx, body: &Value, exchange: &Exchange) -> Verdict {
    let amount = decimal_at(body, "/amount/value");
    let currency = body
        .pointer("/amount/currency")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match exchange.status() {
        202 => {
            let data = exchange.json().and_then(|j| j.get("data"));
            let pending =
                data.and_then(|d| d.pointer("/state/code")) == Some(&Value::from("PENDING"));
            let echoed = data.is_some_and(|d| decimal_at(d, "/amount/value") == amount);
            if pending && echoed {
                Verdict::Pass
            } else {
                Verdict::Fail("202 with the payout PENDING and its amount echoed".into())
            }
        }
        402 => {
            // Allowed only if the wallet really is short, as read now.
            let Some(amount) = amount else {
                return Verdict::Fail(
                    "402 only when the wallet is short, for an amount that can be read".into(),
                );
            };
            let available = match covers(ctx, currency, amount).await {
                Ok(Some(available)) => available,
                Ok(None) => return Verdict::Pass,
                Err(verdict) => return verdict,
            };
            // Other checks share the wallet, and a payout they release
            // (FAILED, CANCELLED) may have freed the money after the 402:
            // the same payout is sent again before anything is failed.
            let again = ctx.create_payout(body.clone()).await;
            match (again.status(), covers(ctx, currency, amount).await) {
                (202, _) => Verdict::Warn(format!(
                    "202: the {currency} wallet had {available} available, enough for {amount} (accepted when sent again: money may have been released meanwhile)"
                )),
                (402, Ok(Some(available))) => Verdict::Fail(format!(
                    "202: the {currency} wallet has {available} available, enough for {amount} (refused twice)"
                )),
                (402, Err(unreadable)) => unreadable,
                _ => Verdict::Pass,
            }
        }
        _ if exchange.is_recipient_unavailable() => Verdict::Skip(format!(
            "the recipient's bank or operator was down ({}), also after retries with new keys",
            exchange.summary()
        )),
        _ => Verdict::Fail("202 (or 402 when the wallet is short)".into()),
    }
}

/// The available of the `currency` wallet, read now, when it covers
/// `amount` (`None` when it does not); a failing verdict when the wallet
/// cannot be read. Of several wallets in the currency, the poorest: the
/// server may pay from any.
async fn covers(ctx: &Ctx, currency: &str, amount: Decimal) -> Result<Option<Decimal>, Verdict> {
    let wallets = ctx.send(Probe::get("list_wallets", "/wallets")).await;
    let available = least_available(&wallets, currency).map(|(least, _)| least);
    match available {
        Some(available) => Ok((available >= amount).then_some(available)),
        None => Err(Verdict::Fail(format!(
            "402 only when the {currency} wallet is short, and a wallet to show it ({})",
            wallets.summary()
        ))),
    }
}

fn fault_cases(ctx: &Ctx) -> impl Strategy<Value = Fault> + use<> {
    let banks = ctx.banks.clone();
    // One filter, so that each candidate body is built once.
    strategies::mostly_inline_payout_with_one_fault(ctx.table.clone()).prop_filter_map(
        "a fault judged from the request alone, and a bank the server lists",
        move |case| {
            let judged_alone = !case.rule.depends_on_server_state()
                && (case.body.get("payment_account").is_some()
                    || case.path.starts_with("payment_account"));
            if !judged_alone {
                return None;
            }
            let body = if case.path == "wallet_id" {
                case.body
            } else {
                without(case.body, "wallet_id")
            };
            Fault::with_listed_bank(&banks, "/payment_account", body, case.path, case.rule)
        },
    )
}

async fn idempotency_key_required(ctx: &Ctx) {
    let cases = [
        (None, false),
        (Some("k".repeat(256)), false),
        (Some("k".repeat(255)), true),
    ];
    for (key, accepted) in cases {
        let mut probe = Probe::create_payout(fixture_payout(9));
        probe.idempotency_key = key.clone();
        // Without a usable key it is refused (the key is required, 255
        // characters at most): a spent wallet does not hold it back.
        let exchange = match accepted {
            true => ctx.send(probe).await,
            false => ctx.send_to_be_refused(probe).await,
        };
        let described = key.map_or("no X-Idempotency-Key".to_string(), |k| {
            format!("a {}-character key", k.len())
        });
        if accepted {
            // Accepted as any valid payout is: 202, or 402 when the wallet
            // that may pay it is short.
            let verdict = match acceptance(ctx, &fixture_payout(9), &exchange).await {
                Verdict::Fail(expected) => Verdict::Fail(format!("{expected}, with {described}")),
                other => other,
            };
            ctx.recorder
                .verdict(&IDEMPOTENCY_KEY_REQUIRED, verdict, &exchange, None);
        } else {
            ctx.recorder.expect(
                &IDEMPOTENCY_KEY_REQUIRED,
                exchange.status() == 422,
                || format!("422 with {described}"),
                &exchange,
            );
        }
    }
}

/// The fields of a payout that must read back exactly as created (the
/// payout is read by its `id`, which must be there too).
const STABLE_FIELDS: &[&str] = &[
    "/id",
    "/amount/currency",
    "/payment_account_id",
    "/wallet_id",
];

/// The RFC 3339 instant `value` holds (a `created_at`), if it holds one.
pub(super) fn instant(value: Option<&Value>) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    value
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
}

fn same_instant(a: Option<&Value>, b: Option<&Value>) -> bool {
    matches!((instant(a), instant(b)), (Some(x), Some(y)) if x == y)
}

/// How `read` differs from `created`, field by field: a field absent from
/// both is a difference too (they are all required), never a match.
fn differences(created: &Value, read: &Value) -> Vec<String> {
    let name = |pointer: &str| pointer[1..].replace('/', ".");
    let mut found = Vec::new();
    for pointer in STABLE_FIELDS {
        match (created.pointer(pointer), read.pointer(pointer)) {
            (None, _) => found.push(format!("{} absent when created", name(pointer))),
            (Some(_), None) => found.push(format!("{} absent", name(pointer))),
            (Some(a), Some(b)) if a != b => {
                found.push(format!("{} {a} became {b}", name(pointer)));
            }
            _ => {}
        }
    }
    match (
        decimal_at(created, "/amount/value"),
        decimal_at(read, "/amount/value"),
    ) {
        (Some(a), Some(b)) if a == b => {}
        (a, b) => {
            let shown =
                |d: Option<rust_decimal::Decimal>| d.map_or("absent".into(), |d| d.to_string());
            found.push(format!("amount.value {} became {}", shown(a), shown(b)));
        }
    }
    if !same_instant(created.get("created_at"), read.get("created_at")) {
        found.push(format!(
            "created_at {} became {}",
            created["created_at"], read["created_at"]
        ));
    }
    found
}

async fn payout_retrievable(ctx: &Ctx) {
    let Some(fixtures) = ctx.fixtures_or_skip(&[&PAYOUT_RETRIEVABLE]) else {
        return;
    };
    let ids: Vec<&str> = fixtures
        .payouts
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    let unnamed = fixtures.payouts.len() - ids.len();
    if unnamed > 0 {
        payout_without_id(ctx, unnamed).await;
    }
    let wallets = Wallets::read(ctx).await;
    // Each fixture as GET showed it, for the list to agree with.
    let mut read_back: Vec<Value> = Vec::new();
    // The fixtures were created in order: the i-th is `fixture_payout(i)`.
    let named = (0u32..)
        .zip(&fixtures.payouts)
        .filter(|(_, p)| p["id"].is_string());
    for (i, created) in named {
        let id = created["id"].as_str().unwrap_or_default();
        let (exchange, data) = read_as_created(ctx, id, created).await;
        let Some(data) = data else {
            continue; // failed: nothing more to read
        };
        sender_as_sent(ctx, &fixture_payout(i), created, &data, &exchange);
        if let Some(wallets) = &wallets {
            wallets.judge_implicit(ctx, created, &exchange);
        }
        read_back.push(data);
    }
    if ids.is_empty() {
        return; // nothing to look for in the list
    }
    // Every fixture appears when listing the fixtures' creation window.
    let first = fixtures
        .window(Probe::get("list_payouts", "/payouts"))
        .query("paging_limit", "50");
    match crate::checks::listing::walk(ctx, first, 40).await {
        Ok(walk) => {
            let missing: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|id| !walk.ids.iter().any(|seen| seen == id))
                .collect();
            let last = walk.last.as_ref().expect("a walk has pages");
            if walk.pages == 1 {
                list_agrees(ctx, &read_back, last);
            }
            if missing.is_empty() {
                // Seen, every one: proven even where the walk was cut.
                ctx.recorder.pass(&PAYOUT_RETRIEVABLE);
            } else if !walk.complete {
                ctx.recorder.skip(
                    &PAYOUT_RETRIEVABLE,
                    "more than 40 pages in the fixtures' window: the walk was cut",
                );
            } else {
                ctx.recorder.fail(
                    &PAYOUT_RETRIEVABLE,
                    format!(
                        "GET /payouts lists every created payout; missing {}",
                        missing.join(", ")
                    ),
                    Some(last),
                    None,
                );
            }
        }
        Err(exchange) => ctx.recorder.fail(
            &PAYOUT_RETRIEVABLE,
            "GET /payouts answers 200 with a `data` list",
            Some(&exchange),
            None,
        ),
    }
}

/// A list `page` read after the payouts `read` (as GET showed them) shows
/// each of them as GET did, or later on its lifecycle: the same fixed
/// fields, and a state the one read can move to (a list item is the
/// payout, not an older copy of it).
fn list_agrees(ctx: &Ctx, read: &[Value], page: &Exchange) {
    let Some(items) = page.json().and_then(|j| j["data"].as_array()) else {
        return;
    };
    let payout = |value: &Value| serde_json::from_value::<Payout>(value.clone()).ok();
    for read in read {
        let listed = items.iter().find(|item| item["id"] == read["id"]);
        let (Some(mut before), Some(after)) = (payout(read), listed.and_then(payout)) else {
            continue; // unlisted, or unreadable: judged elsewhere
        };
        // A list may show less of each payout: a sender it leaves out is
        // not compared.
        if after.sender.is_none() {
            before.sender = None;
        }
        let id = before.id.clone();
        if let Err(error) = check_history(&[before, after]) {
            let expected = format!(
                "GET /payouts to show payout {id} as GET /payouts/{id} did just before, or further on its lifecycle: {error}"
            );
            ctx.recorder
                .fail(&PAYOUT_RETRIEVABLE, expected, Some(page), None);
        }
    }
}

/// A generated payout the server accepted, read back: as created, its
/// sender as sent (every optional part the generator gave it, a bank
/// account's amount, an AIRTEL recipient: what the fixtures never vary).
async fn read_back(ctx: &Ctx, sent: &Value, accepted: &Exchange) {
    let Some(created) = accepted.json().and_then(|j| j.get("data")) else {
        return;
    };
    let Some(id) = accepted.data_id() else {
        return;
    };
    if let (exchange, Some(read)) = read_as_created(ctx, id, created).await {
        sender_as_sent(ctx, sent, created, &read, &exchange);
    }
}

/// Reads payout `id` back and judges it as `created` (its 202's `data`):
/// 200 with the same id, amount, accounts and created_at. The read, and
/// its `data` when it has one.
async fn read_as_created(ctx: &Ctx, id: &str, created: &Value) -> (Exchange, Option<Value>) {
    let exchange = ctx
        .send(Probe::get("get_payout", format!("/payouts/{id}")))
        .await;
    let data = exchange.json().and_then(|j| j.get("data")).cloned();
    let found = data.as_ref().map_or_else(
        || vec!["no payout in `data`".to_string()],
        |d| differences(created, d),
    );
    ctx.recorder.expect(
        &PAYOUT_RETRIEVABLE,
        exchange.status() == 200 && found.is_empty(),
        || {
            format!(
                "200 with payout {id} as created (id, amount, accounts, created_at): {}",
                found.join("; ")
            )
        },
        &exchange,
    );
    (exchange, data)
}

/// Payout `created` (answered to `sent`, and read back as `read` by
/// `exchange`) carries the `sender` as sent, in its 202 and when read:
/// docs/contract.md#payouts, "`sender` (as sent)". Only the properties sent
/// are compared: a null or an added property is ours to allow.
fn sender_as_sent(ctx: &Ctx, sent: &Value, created: &Value, read: &Value, exchange: &Exchange) {
    let id = created["id"].as_str().unwrap_or_default();
    let mut found = Vec::new();
    for (answer, got) in [("the 202", created), ("the read-back", read)] {
        for path in unechoed(&sent["sender"], got.get("sender"), "sender") {
            found.push(format!("{path} in {answer}"));
        }
    }
    ctx.recorder.expect(
        &PAYOUT_RETRIEVABLE,
        found.is_empty(),
        || {
            format!(
                "payout {id} with its sender as sent, in the 202 and when read back: {}",
                found.join("; ")
            )
        },
        exchange,
    );
}

/// Where `got` differs from `sent`, property by property (JSON equality
/// for each value sent; properties not sent are not looked at). An empty
/// text or `null` sent may come back absent (a server that leaves empty
/// fields out, as the upstream document marks `line_3`), and a document
/// number shown masked (`*`, `X`, `•` in it) is not compared: a server may
/// hide it when it shows it back.
fn unechoed(sent: &Value, got: Option<&Value>, path: &str) -> Vec<String> {
    let masked = path.ends_with("identity_document.number")
        && got
            .and_then(Value::as_str)
            .is_some_and(|n| n.contains(['*', 'X', 'x', '•']));
    let empty = |v: &Value| v.is_null() || v.as_str() == Some("");
    match (sent.as_object(), got) {
        (_, None) if empty(sent) => Vec::new(),
        (None, Some(got)) if empty(sent) && empty(got) => Vec::new(),
        (_, None) => vec![format!("{path} absent")],
        (Some(properties), Some(got)) => properties
            .iter()
            .flat_map(|(name, value)| unechoed(value, got.get(name), &format!("{path}.{name}")))
            .collect(),
        (None, Some(got)) if got == sent || masked => Vec::new(),
        (None, Some(got)) => vec![format!("{path} {sent} was sent, {got} answered")],
    }
}

/// The account's wallets, by GET /wallets, to judge which one paid.
struct Wallets {
    listed: Vec<Value>,
}

impl Wallets {
    /// The wallets, or `None` after skipping that part of
    /// `payout_retrievable` with the answer that does not list them (an
    /// outage is not the promise judged here; the answer's shape is
    /// `response_schema`'s).
    async fn read(ctx: &Ctx) -> Option<Wallets> {
        let exchange = ctx.send(Probe::get("list_wallets", "/wallets")).await;
        let listed = exchange
            .json()
            .and_then(|j| j["data"].as_array())
            .filter(|_| exchange.status() == 200);
        if let Some(listed) = listed {
            return Some(Wallets {
                listed: listed.clone(),
            });
        }
        let why = format!(
            "which wallet paid the fixture payouts: GET /wallets answered {}",
            exchange.summary()
        );
        ctx.recorder.skip(&PAYOUT_RETRIEVABLE, why);
        None
    }

    /// Payout `created` (made without `wallet_id`, read back by
    /// `exchange`) was paid from a wallet whose currency is its amount's:
    /// docs/contract.md#payouts, "without it, the wallet whose currency is
    /// the amount's". Any such wallet will do: which one is first is ours.
    fn judge_implicit(&self, ctx: &Ctx, created: &Value, exchange: &Exchange) {
        let id = created["id"].as_str().unwrap_or_default();
        let currency = created["amount"]["currency"].as_str().unwrap_or_default();
        let fitting: Vec<&str> = self
            .listed
            .iter()
            .filter(|w| w["currency"] == currency)
            .filter_map(|w| w["id"].as_str())
            .collect();
        let wallet = created["wallet_id"].as_str();
        ctx.recorder.expect(
            &PAYOUT_RETRIEVABLE,
            wallet.is_some_and(|w| fitting.contains(&w)),
            || {
                format!(
                    "payout {id}, sent without wallet_id, paid from a {currency} wallet of GET /wallets ({}); its wallet_id is {}",
                    fitting.join(", "),
                    wallet.unwrap_or("absent")
                )
            },
            exchange,
        );
    }
}

/// `unnamed` fixture payouts came without an id, so they cannot be read
/// back: one more payout made like them shows it (its 202 is the
/// reproduction), once per run.
async fn payout_without_id(ctx: &Ctx, unnamed: usize) {
    let exchange = ctx.create_payout(fixture_payout(5)).await;
    let named = exchange.data_id().is_some();
    let expected = format!(
        "202 with the payout's id (data.id), to read it back; {unnamed} fixture payout(s) came without one"
    );
    if exchange.status() == 202 && named {
        // This one has an id: the fixtures' answers are the only evidence.
        ctx.recorder.fail(&PAYOUT_RETRIEVABLE, expected, None, None);
    } else {
        ctx.recorder
            .fail(&PAYOUT_RETRIEVABLE, expected, Some(&exchange), None);
    }
}
