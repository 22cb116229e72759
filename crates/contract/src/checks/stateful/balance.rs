//! The money judges: a create's answer against the available read just
//! before it (`insufficient_balance`: above it must be 402, within it
//! 202, unless a payout was released or settled meanwhile) and a wallet
//! read against the money model of [`super::money`] (`wallet_accounting`).
//! When an answer shows more money than predicted, every payout is re-read
//! first (support may have cancelled or reversed one) before any failure.
//! Over a whole lane, money must be conserved ([`conserved`]).

use rafiki_rules::lifecycle::StateCode;
use rust_decimal::Decimal;

use super::money::{Funds, WalletRead};
use super::requests::get_payout;
use super::sequence::{Sequence, StepResult, Tracked, fail};
use crate::checks::{INSUFFICIENT_BALANCE, WALLET_ACCOUNTING};
use crate::engine::Ctx;
use crate::http::{Exchange, KeySlot, Probe};

impl Sequence<'_> {
    /// Judges a create's answer (`accepted`: 202, else 402) by what the
    /// provider documents: `available` is what can be spent now. A payout
    /// above the available read just before must be refused, unless some
    /// payout was released meanwhile (FAILED, CANCELLED, REVERSED); one
    /// within it must be accepted, unless the wallet no longer covers it
    /// after (a server that takes money at SENT may have settled one).
    pub(super) async fn judge_funds(
        &mut self,
        amount: Decimal,
        funds: &Funds,
        accepted: bool,
        exchange: &Exchange,
    ) -> StepResult {
        // With several wallets in the currency, which one pays is the
        // server's choice: nothing to judge a 202 or a 402 against.
        if funds.shared {
            return Ok(());
        }
        let available = funds.available;
        if accepted && amount > available {
            // Only a release (FAILED, CANCELLED, REVERSED) can free money; SENT never does.
            let after = self.refresh_all().await?;
            let released = funds.states.iter().zip(&after).any(|(before, now)| {
                before != now
                    && matches!(
                        now,
                        Some(StateCode::Failed | StateCode::Cancelled | StateCode::Reversed)
                    )
            });
            if !released && !self.ledger_moved().await {
                return fail(
                    &INSUFFICIENT_BALANCE,
                    format!("402: {amount} is more than the {available} available"),
                    exchange,
                );
            }
            // A payout released meanwhile freed the money: the 202 is as
            // documented, and which came first is the server's timing.
        } else if !accepted && amount <= available {
            let currency = self
                .baseline
                .as_ref()
                .expect("funds come with a baseline")
                .currency
                .clone();
            let after = self.wallet(&currency).await.ok().map(|w| w.available);
            if after.is_some_and(|after| amount <= after) {
                return fail(
                    &INSUFFICIENT_BALANCE,
                    format!("202: {amount} is within the {available} available"),
                    exchange,
                );
            }
            // The wallet no longer covers it (a payout settled meanwhile,
            // or it could not be read again): the 402 may be as documented.
        }
        self.pass(&INSUFFICIENT_BALANCE);
        Ok(())
    }

    /// Reads the wallet between two rounds of reads of this sequence's
    /// payouts still PENDING; when none moved in between, the amounts must
    /// be the model's, after crediting reversals (support's doing, looked
    /// for only when the wallet shows otherwise: this sequence's SENT
    /// payouts are read again, earlier sequences' credited). A read during
    /// which something moved is retried, a few times. Only a negative
    /// `available` breaks a documented promise; the rest is our model of
    /// the wallet, so a mismatch warns.
    pub(super) async fn read_wallet(&mut self) -> StepResult {
        const ATTEMPTS: usize = 4;
        let currency = self
            .baseline
            .as_ref()
            .expect("only called with a baseline")
            .currency
            .clone();
        for _ in 0..ATTEMPTS {
            let before = self.refresh_pending().await?;
            let WalletRead {
                exchange,
                available,
                balance,
                ..
            } = match self.wallet(&currency).await {
                Ok(read) => read,
                Err(answer) => {
                    return fail(&WALLET_ACCOUNTING, format!("a {currency} wallet"), &answer);
                }
            };
            if available < Decimal::ZERO {
                return fail(
                    &WALLET_ACCOUNTING,
                    format!("available never below zero, got {available}"),
                    &exchange,
                );
            }
            if self.refresh_pending().await? != before {
                continue; // something settled meanwhile: read again
            }
            let mut want = self.expected_money(Decimal::ZERO);
            if want != (available, balance) {
                // Support may have reversed a SENT payout: this sequence's
                // (read again here) or an earlier one's (credited).
                self.refresh_all().await?;
                let credit = self.ledger_credit().await;
                want = self.expected_money(credit);
            }
            if want == (available, balance) && available <= balance {
                self.pass(&WALLET_ACCOUNTING);
            } else {
                let expected = format!(
                    "available {} and balance {} (our wallet model: reserve, settle, release), got {available} and {balance}",
                    want.0, want.1
                );
                self.ctx
                    .recorder
                    .warn(&WALLET_ACCOUNTING, expected, Some(&exchange), None);
            }
            return Ok(());
        }
        Ok(()) // states kept moving: no exact expectation this time
    }
}

/// The wallet in `currency` as `key` reads it now, outside a sequence.
pub(super) async fn wallet_now(ctx: &Ctx, key: &KeySlot, currency: &str) -> Option<WalletRead> {
    let exchange = ctx
        .send(Probe::get("list_wallets", "/wallets").key(key.clone()))
        .await;
    WalletRead::of(exchange, currency).ok()
}

/// Money conservation over a lane, on the wallet only its sequences move
/// (the second account's; `funded`: what they added through the control
/// API): from the lane's first wallet read (`start`) to a read once its
/// payouts settled, `available` must have dropped by at least the amounts
/// of its payouts that are SENT (money that reached a recipient left the
/// wallet), `balance` should have too (a warning: one reading of `balance`
/// is money still to settle), and the payouts accepted and not released (PENDING, SENT)
/// must fit in the `available` it started with: a wallet cannot pay out
/// money it never had (`docs/contract.md#wallet-accounting`). Payouts are
/// read again after the wallet, so a reversal meanwhile (a credit) is not
/// counted against the server. When the money leaves is our model, judged
/// by [`Sequence::read_wallet`]; this only needs that it leaves.
pub(super) async fn conserved(
    ctx: &Ctx,
    key: &KeySlot,
    start: &WalletRead,
    funded: Decimal,
    ledger: &[Tracked],
) {
    let Some(currency) = ledger
        .first()
        .and_then(|p| p.body["amount"]["currency"].as_str())
    else {
        return; // the lane paid nothing
    };
    let Some(WalletRead {
        balance,
        available,
        exchange,
        ..
    }) = wallet_now(ctx, key, currency).await
    else {
        return; // an unreadable wallet is judged where it is read
    };
    let outstanding: Vec<&Tracked> = ledger
        .iter()
        .filter(|p| p.id.is_some())
        .filter(|p| matches!(p.state(), Some(StateCode::Pending | StateCode::Sent) | None))
        .collect();
    let reads = outstanding.iter().map(|p| {
        let id = p.id.as_deref().expect("accepted");
        ctx.send(get_payout(id).key(key.clone()))
    });
    let (mut sent, mut held) = (Decimal::ZERO, Decimal::ZERO);
    for (payout, again) in outstanding
        .iter()
        .zip(futures::future::join_all(reads).await)
    {
        if again.unjudged {
            return; // not read again: no exact sum to hold the server to
        }
        match again.payout_state() {
            Some("SENT") => (sent, held) = (sent + payout.amount, held + payout.amount),
            Some("PENDING") => held += payout.amount,
            _ => {}
        }
    }
    let (available_0, balance_0) = (start.available, start.balance);
    // Money that reached a recipient is no longer available, whichever
    // model the server keeps (reserved at acceptance, or taken when sent).
    if available_0 + funded - available < sent {
        let expected = format!(
            "available to drop by at least {sent}, the payouts SENT since it read {available_0} (plus {funded} funded); it reads {available}"
        );
        return ctx
            .recorder
            .fail(&WALLET_ACCOUNTING, expected, Some(&exchange), None);
    }
    // What `balance` holds is read two ways: the provider's schema calls it
    // "the total balance yet to settle", which may be money still to
    // settle rather than money held; only the first reading makes it drop
    // when money leaves, so a balance that does not drop warns.
    if balance_0 + funded - balance < sent {
        let expected = format!(
            "balance to drop by at least {sent}, the payouts SENT since it read {balance_0} (plus {funded} funded), if balance is the money the wallet holds; it reads {balance}"
        );
        return ctx
            .recorder
            .warn(&WALLET_ACCOUNTING, expected, Some(&exchange), None);
    }
    if held > available_0 + funded {
        let expected = format!(
            "payouts accepted and not released ({held}) within the {available_0} available at the start (plus {funded} funded)"
        );
        return ctx
            .recorder
            .fail(&WALLET_ACCOUNTING, expected, Some(&exchange), None);
    }
    ctx.recorder.pass(&WALLET_ACCOUNTING);
}
