//! Creating payouts: the create judge (202 with the payout PENDING, or
//! 402 `WALLET_INSUFFICIENT_BALANCE`, each also judged against the funds
//! read before it; a documented 503 outage of the recipient's bank or
//! operator is tracked unjudged; anything else fails
//! `valid_payout_accepted`) and the
//! overdraw step, a payout just above the wallet's available amount.

use std::sync::Arc;

use rafiki_rules::lifecycle::StateCode;
use rafiki_rules::wire::ErrorCode;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

use super::requests::payout_body;
use super::sequence::{Sequence, StepFailure, StepResult, Tracked, fail};
use crate::checks::{INSUFFICIENT_BALANCE, LIFECYCLE_LEGAL, VALID_PAYOUT_ACCEPTED};
use crate::http::Probe;
use crate::http::decimal_at;

impl Sequence<'_> {
    /// Posts a payout to account `account` and judges it against the money
    /// model; returns its position.
    pub(super) async fn create(&mut self, body: Value, account: u8) -> Result<usize, StepFailure> {
        let amount = decimal_at(&body, "/amount/value").expect("our own bodies have amounts");
        let funds = self.funds_before().await?;
        let body = Arc::new(body);
        let probe = Probe::create_payout(body.clone());
        let idempotency_key = probe
            .idempotency_key
            .clone()
            .expect("create_payout sets a key");
        // Above what the wallet showed, a conforming server refuses it: the
        // wallet does not cap it (`engine::spending`), `--max-spend` does.
        let exchange = match &funds {
            Some(funds) if amount > funds.available => self.send_to_be_refused(probe).await,
            _ => self.send(probe).await,
        };
        self.note_account(account, &exchange);
        let mut tracked = Tracked::new(idempotency_key, body, amount, exchange.status());
        match exchange.status() {
            202 => {
                let snapshot = self.snapshot(&exchange)?;
                if snapshot.state.code != StateCode::Pending {
                    return fail(&LIFECYCLE_LEGAL, "202 with the payout PENDING", &exchange);
                }
                if let Some(funds) = &funds {
                    self.judge_funds(amount, funds, true, &exchange).await?;
                }
                tracked.id = Some(snapshot.id.clone());
                tracked.history.push(snapshot);
                self.payouts.push(tracked);
            }
            402 => {
                if !exchange.is_error(ErrorCode::WalletInsufficientBalance) {
                    return fail(
                        &INSUFFICIENT_BALANCE,
                        "402 with code WALLET_INSUFFICIENT_BALANCE",
                        &exchange,
                    );
                }
                match &funds {
                    Some(funds) => self.judge_funds(amount, funds, false, &exchange).await?,
                    // A 402 rests on the wallet: one that cannot be read
                    // cannot excuse it.
                    None if self.baseline.is_some() => {
                        return fail(
                            &INSUFFICIENT_BALANCE,
                            "402 only when GET /wallets, read just before, shows the available short (the wallet could not be read)",
                            &exchange,
                        );
                    }
                    None => {}
                }
                self.payouts.push(tracked);
            }
            // A documented outage: nothing was created, nothing to judge.
            _ if exchange.is_recipient_unavailable() => self.payouts.push(tracked),
            _ => {
                return fail(
                    &VALID_PAYOUT_ACCEPTED,
                    "202 (or 402 when the wallet is short) for a valid payout",
                    &exchange,
                );
            }
        }
        Ok(self.payouts.len() - 1)
    }

    /// A payout of the wallet's available plus a cent (within the
    /// compliance limits), which the create judge expects refused.
    pub(super) async fn overdraw(&mut self) -> StepResult {
        let Some(available) = self.funds_before().await?.map(|f| f.available) else {
            return Ok(());
        };
        let amount = (available + Decimal::new(1, 2)).max(self.amounts.min);
        if amount > self.amounts.max {
            return Ok(());
        }
        let cents = (amount * Decimal::ONE_HUNDRED).to_u32().unwrap_or(u32::MAX);
        let body = payout_body(self.tag, cents, 0);
        self.create(body, 0).await.map(|_| ())
    }
}
