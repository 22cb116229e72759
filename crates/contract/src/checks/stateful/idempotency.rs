//! The idempotency judges: a create resent with its key and body gets the
//! first answer again (`idempotency_replay`), its key with another body
//! gets the first answer too, or API.md's 409
//! `IDEMPOTENCY_KEY_ALREADY_USED` (both documented), never a second payout
//! (`idempotency_key_reuse`), and
//! identical creates sent at once with one key make at most one payout
//! (`idempotency_concurrent`).

use std::sync::Arc;

use rafiki_rules::wire::ErrorCode;
use rust_decimal::Decimal;
use serde_json::json;

use super::requests::{amount_text, payout_body, resend};
use super::sequence::{Sequence, StepResult, Tracked, fail, id_at};
use crate::checks::{CheckInfo, IDEMPOTENCY_CONCURRENT, IDEMPOTENCY_KEY_REUSE, IDEMPOTENCY_REPLAY};
use crate::engine::Ctx;
use crate::http::{Exchange, KeySlot, Probe};

/// The most pages [`no_hidden_payouts`] walks (50 payouts each).
const HIDDEN_PAYOUT_PAGES: usize = 20;

/// Whether a create's first answer is one a repeat can be held to: 202 or
/// 402. After a 503 outage nothing was stored, so a repeat may go either way.
fn judged_first(original: &Tracked) -> bool {
    matches!(original.status, 202 | 402)
}

/// Whether `exchange` is `original`'s first answer again: 202 with the same
/// (present) payout id in the state that answer gave (the stored answer,
/// not the payout as it is now), or the same 402. `Err` says what was
/// expected.
fn first_answer_again(original: &Tracked, exchange: &Exchange) -> Result<(), String> {
    let id = id_at(exchange, "/data/id");
    let stored_state = original.history.first().map(|p| p.state.code.as_str());
    let same = match original.id.as_deref() {
        Some(original_id) => {
            exchange.status() == 202
                && id == Some(original_id)
                && (stored_state.is_none() || exchange.payout_state() == stored_state)
        }
        None => {
            exchange.status() == original.status
                && exchange.is_error(ErrorCode::WalletInsufficientBalance)
        }
    };
    if same {
        return Ok(());
    }
    Err(match (original.id.as_deref(), exchange.status(), id) {
        (Some(original_id), 202, None) => {
            format!(
                "the first answer again (202 with {original_id}), got a 202 without a payout id"
            )
        }
        (Some(original_id), 202, Some(replayed)) if replayed == original_id => format!(
            "the first answer again (202 with {original_id} {}): the provider's idempotency page \
             gives back the stored answer, not the payout as it is now",
            stored_state.unwrap_or("as first answered")
        ),
        (Some(original_id), _, _) => format!("the first answer again (202 with {original_id})"),
        (None, _, _) => format!("the first answer again (HTTP {})", original.status),
    })
}

impl Sequence<'_> {
    /// Resends a create with its key and body: the first answer again
    /// (the same payout, by a present id, or the same 402), and nothing new.
    pub(super) async fn replay(&mut self, payout: usize) -> StepResult {
        let Some(&position) = self.index.get(payout) else {
            return Ok(());
        };
        let original = self.payouts[position].clone();
        if !judged_first(&original) {
            return Ok(());
        }
        let exchange = self
            .send(resend(
                original.body.clone(),
                original.idempotency_key.clone(),
            ))
            .await;
        if let Err(expected) = first_answer_again(&original, &exchange) {
            return fail(&IDEMPOTENCY_REPLAY, expected, &exchange);
        }
        self.pass(&IDEMPOTENCY_REPLAY);
        Ok(())
    }

    /// Resends a create's key with another amount. The provider's page
    /// keys the stored answer by URL and key, so the first answer comes
    /// back; API.md answers 409 IDEMPOTENCY_KEY_ALREADY_USED. Two
    /// documented sources, two behaviours: both pass, silently
    /// (`docs/contract.md#idempotency`); anything else, above all a second
    /// payout, fails.
    pub(super) async fn reuse_key(&mut self, payout: usize, cents: u32) -> StepResult {
        let Some(&position) = self.index.get(payout) else {
            return Ok(());
        };
        let original = self.payouts[position].clone();
        if !judged_first(&original) {
            return Ok(());
        }
        let mut body = serde_json::Value::clone(&original.body);
        let mut changed = cents;
        if Decimal::new(i64::from(changed), 2) == original.amount {
            changed += 1;
        }
        body["amount"]["value"] = json!(amount_text(changed));
        let exchange = self
            .send(resend(body, original.idempotency_key.clone()))
            .await;
        let refused = exchange.is_error(ErrorCode::IdempotencyKeyAlreadyUsed);
        if let (false, Err(first)) = (refused, first_answer_again(&original, &exchange)) {
            return fail(
                &IDEMPOTENCY_KEY_REUSE,
                format!(
                    "for a used key with another body, {first} (or 409 IDEMPOTENCY_KEY_ALREADY_USED), never a second payout"
                ),
                &exchange,
            );
        }
        self.pass(&IDEMPOTENCY_KEY_REUSE);
        Ok(())
    }

    /// `copies` identical creates with one key, sent at once: one outcome
    /// (one payout, or 402), the others 409 `IDEMPOTENCY_RACE` at most;
    /// every 202 must name its payout, or "one payout" could not be told.
    /// The outcome is then judged against the funds like any create.
    pub(super) async fn concurrent(&mut self, cents: u32, account: u8, copies: u8) -> StepResult {
        let body = Arc::new(payout_body(self.tag, cents, account));
        let amount = Decimal::new(i64::from(cents), 2);
        let funds = self.funds_before().await?;
        let probe = Probe {
            key: self.key.clone(),
            ..Probe::create_payout(body.clone())
        };
        let key = probe
            .idempotency_key
            .clone()
            .expect("create_payout sets a key");
        // At most `--workers` copies: all of them in flight together.
        let probes = vec![probe; usize::from(copies)];
        let answers: Vec<Exchange> = self.ctx.send_together(probes).await;
        for answer in &answers {
            self.note_sent(answer);
        }
        for answer in &answers {
            self.note_account(account, answer);
        }
        let accepted_answers = answers.iter().filter(|e| e.status() == 202);
        if let Some(without) = accepted_answers
            .clone()
            .find(|e| id_at(e, "/data/id").is_none())
        {
            return fail(
                &IDEMPOTENCY_CONCURRENT,
                "every 202 with its payout's id, to tell one payout from several",
                without,
            );
        }
        let mut ids: Vec<&str> = accepted_answers
            .filter_map(|e| id_at(e, "/data/id"))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let short = answers.iter().any(|e| e.status() == 402);
        let decided = answers.iter().any(|e| matches!(e.status(), 202 | 402));
        let outage = answers.iter().any(Exchange::is_recipient_unavailable);
        let stray = answers.iter().find(|e| match e.status() {
            202 | 402 => false,
            409 => !e.is_error(ErrorCode::IdempotencyRace),
            _ => !e.is_recipient_unavailable(),
        });
        if let Some(stray) = stray {
            return fail(
                &IDEMPOTENCY_CONCURRENT,
                "202 (one payout), 402, or 409 IDEMPOTENCY_RACE",
                stray,
            );
        }
        if !decided && outage {
            // The recipient's bank or operator was down: nothing created,
            // but the model still counts the create.
            self.track(Tracked::new(key, body, amount, 503));
            return Ok(());
        }
        if ids.len() > 1 || (ids.len() == 1 && short) || !decided {
            let last = answers.last().expect("at least one copy");
            let mut got = match ids.as_slice() {
                [] => "no payout".to_string(),
                [id] => format!("payout {id}"),
                ids => format!("{} payouts ({})", ids.len(), ids.join(", ")),
            };
            if short {
                got.push_str(" and a 402");
            } else if !decided {
                got.push_str(" and no 402");
            }
            return fail(
                &IDEMPOTENCY_CONCURRENT,
                format!(
                    "one outcome (one payout, or a 402) for {} requests with key {key}, got {got}",
                    answers.len()
                ),
                last,
            );
        }
        self.pass(&IDEMPOTENCY_CONCURRENT);
        let accepted = answers.iter().find(|e| e.status() == 202);
        if let Some(funds) = &funds {
            let answer = accepted.unwrap_or_else(|| answers.last().expect("at least one copy"));
            self.judge_funds(amount, funds, accepted.is_some(), answer)
                .await?;
        }
        let status = if accepted.is_some() { 202 } else { 402 };
        let mut tracked = Tracked::new(key, body, amount, status);
        if let Some(accepted) = accepted {
            let snapshot = self.snapshot(accepted)?;
            tracked.id = Some(snapshot.id.clone());
            tracked.history.push(snapshot);
        }
        self.track(tracked);
        Ok(())
    }

    /// Adds a concurrent step's create to the payouts and the model index.
    fn track(&mut self, tracked: Tracked) {
        self.payouts.push(tracked);
        self.index.push(self.payouts.len() - 1);
    }
}

/// One key never yields two payouts (`docs/contract.md#idempotency`), not
/// even one the answers never name: after the documented edges (`edges`,
/// their create, its replay, its key with another amount, and copies sent
/// together under one key), every payout listed for their recipients since
/// the first was created is one an answer named. A server that replays the
/// stored answer but pays the request again in secret lists one more; it
/// is blamed on the step that paid that recipient that amount.
pub(super) async fn no_hidden_payouts(ctx: &Ctx, key: &KeySlot, edges: &[Tracked]) {
    let first = edges.first().and_then(|p| p.history.first());
    let Some(first) = first else {
        return; // nothing was accepted: nothing can have been paid twice
    };
    let named: Vec<&str> = edges.iter().filter_map(|p| p.id.as_deref()).collect();
    let recipients: Vec<&str> = edges
        .iter()
        .filter_map(|p| p.history.first())
        .map(|p| p.payment_account_id.as_str())
        .collect();
    let mut probe = Probe::get("list_payouts", "/payouts")
        .query("created_at_from", first.created_at.to_rfc3339())
        .query("paging_limit", "50")
        .key(key.clone());
    // Each check with the page that showed its first hidden payout.
    let mut hidden: Vec<(&'static CheckInfo, String, Exchange)> = Vec::new();
    for _ in 0..HIDDEN_PAYOUT_PAGES {
        let page = ctx.send(probe).await;
        let Some(items) = page.json().and_then(|j| j["data"].as_array()) else {
            return; // an unreadable page is judged by the list checks
        };
        for item in items {
            let (Some(id), Some(recipient)) =
                (item["id"].as_str(), item["payment_account_id"].as_str())
            else {
                continue;
            };
            if named.contains(&id) || !recipients.contains(&recipient) {
                continue;
            }
            let amount = item["amount"]["value"]
                .as_str()
                .and_then(|v| v.parse::<Decimal>().ok());
            let check: &'static CheckInfo = if recipient != first.payment_account_id {
                &IDEMPOTENCY_CONCURRENT
            } else if amount == Some(first.amount.value) {
                &IDEMPOTENCY_REPLAY
            } else {
                &IDEMPOTENCY_KEY_REUSE
            };
            if !hidden.iter().any(|(c, ..)| *c == check) {
                hidden.push((check, format!("payout {id} to {recipient}"), page.clone()));
            }
        }
        match page.next_page() {
            Some(next) => probe = Probe::get("list_payouts", next).key(key.clone()),
            None => break,
        }
    }
    for (check, payout, page) in &hidden {
        let expected = format!(
            "no payout but those the answers named ({}); {payout} was made too",
            named.join(", ")
        );
        ctx.recorder.fail(check, expected, Some(page), None);
    }
    if hidden.is_empty() {
        ctx.recorder.pass(&IDEMPOTENCY_REPLAY);
    }
}
