//! The money model (after `rafiki_rules::wallet`): a payout PENDING holds
//! its amount out of `available`, one SENT out of both `available` and
//! `balance`; FAILED and CANCELLED release it, REVERSED credits both back.
//! From a baseline `(A0, B0)` read together with the state of every
//! earlier payout still in flight, the expected wallet is the baseline
//! plus what each payout's effect has changed by since (an earlier payout
//! PENDING then SENT takes its amount out of `balance` only). States are
//! the last ones *observed*. This module holds the model's data (baseline,
//! the funds read before a create) and its reads: the wallet, the baseline
//! with its top-up, earlier SENT payouts read again; the judges that
//! compare answers with it are in [`super::balance`].

use super::requests::get_payout;
use super::sequence::{Sequence, StepFailure, Tracked};
use crate::checks::control::fund;
use crate::http::{Exchange, Probe, decimal_at, least_available, wallet_in};
use rafiki_rules::lifecycle::StateCode;
use rust_decimal::Decimal;

/// How often the baseline is read again when a payout moved during the read.
const BASELINE_ATTEMPTS: usize = 4;

/// What a payout in `state` holds out of `(available, balance)`.
fn held(state: Option<StateCode>, amount: Decimal) -> (Decimal, Decimal) {
    match state {
        Some(StateCode::Pending) => (amount, Decimal::ZERO),
        Some(StateCode::Sent) => (amount, amount),
        _ => (Decimal::ZERO, Decimal::ZERO),
    }
}

/// An earlier sequence's payout as read again: its amount and state now.
pub(super) struct Reread {
    pub(super) amount: Decimal,
    pub(super) state: Option<String>,
}

/// One read of a wallet.
pub(super) struct WalletRead {
    pub(super) exchange: Exchange,
    pub(super) available: Decimal,
    pub(super) balance: Decimal,
    pub(super) id: String,
    /// Whether another wallet holds the same currency: a payout that names
    /// none may then be paid from either.
    pub(super) shared: bool,
}

impl WalletRead {
    /// The wallet in `currency` of a `GET /wallets` answer; `Err` is the
    /// answer when it has no readable wallet in `currency`.
    pub(super) fn of(exchange: Exchange, currency: &str) -> Result<Self, Box<Exchange>> {
        let figures = wallet_in(&exchange, currency).and_then(|wallet| {
            Some((
                decimal_at(wallet, "/available")?,
                decimal_at(wallet, "/balance")?,
                wallet["id"].as_str()?.to_string(),
            ))
        });
        match figures {
            Some((available, balance, id)) => Ok(WalletRead {
                available,
                balance,
                id,
                shared: least_available(&exchange, currency).is_some_and(|(_, count)| count > 1),
                exchange,
            }),
            None => Err(Box::new(exchange)),
        }
    }
}

/// What a create is judged against: the available read just before it,
/// and every payout's state then.
pub(super) struct Funds {
    pub(super) available: Decimal,
    /// Another wallet holds the currency too ([`WalletRead::shared`]).
    pub(super) shared: bool,
    pub(super) states: Vec<Option<StateCode>>,
}

/// The wallet the money model follows.
#[derive(Debug, Clone)]
pub(super) struct Baseline {
    pub(super) currency: String,
    pub(super) available: Decimal,
    pub(super) balance: Decimal,
}

impl Sequence<'_> {
    /// The wallet's available as read just before a create, with every
    /// payout's state as last read (not read again: a payout released
    /// since then only makes the judge more lenient, never wrong); `None`
    /// without an account of our own (or an unreadable wallet).
    pub(super) async fn funds_before(&mut self) -> Result<Option<Funds>, StepFailure> {
        let Some(currency) = self.baseline.as_ref().map(|b| b.currency.clone()) else {
            return Ok(None);
        };
        let states = self.payouts.iter().map(Tracked::state).collect();
        Ok(self.wallet(&currency).await.ok().map(|wallet| Funds {
            available: wallet.available,
            shared: wallet.shared,
            states,
        }))
    }

    /// Whether an earlier sequence's SENT payout is no longer SENT (support
    /// may have reversed it, crediting the wallet) since this one started.
    pub(super) async fn ledger_moved(&mut self) -> bool {
        self.sent_ledger_now()
            .await
            .iter()
            .any(|r| r.state.as_deref() != Some("SENT"))
    }

    /// Money credited back since the baseline by reversals of earlier payouts.
    pub(super) async fn ledger_credit(&mut self) -> Decimal {
        self.sent_ledger_now()
            .await
            .iter()
            .filter(|r| r.state.as_deref() == Some("REVERSED"))
            .map(|r| r.amount)
            .sum()
    }

    /// Earlier sequences' payouts that were SENT when this one started,
    /// read again now.
    pub(super) async fn sent_ledger_now(&mut self) -> Vec<Reread> {
        let sent: Vec<Tracked> = self
            .ledger
            .iter()
            .filter(|e| e.state() == Some(StateCode::Sent))
            .cloned()
            .collect();
        let mut reads = Vec::new();
        for (id, amount) in sent.into_iter().filter_map(|e| Some((e.id?, e.amount))) {
            let exchange = self.send(get_payout(&id)).await;
            reads.push(Reread {
                amount,
                state: exchange.payout_state().map(str::to_string),
            });
        }
        reads
    }

    /// `(available, balance)` the model expects.
    pub(super) fn expected_money(&self, credit: Decimal) -> (Decimal, Decimal) {
        let baseline = self.baseline.as_ref().expect("only called with a baseline");
        let (mut available, mut balance) = (baseline.available + credit, baseline.balance + credit);
        for payout in self.payouts.iter().filter(|p| p.id.is_some()) {
            let (was_available, was_balance) = held(payout.inherited, payout.amount);
            let (now_available, now_balance) = held(payout.state(), payout.amount);
            available += was_available - now_available;
            balance += was_balance - now_balance;
        }
        (available, balance)
    }

    /// Reads the wallet in `currency` from `GET /wallets`.
    /// `Err` is the answer when it has no readable wallet in `currency`.
    pub(super) async fn wallet(&mut self, currency: &str) -> Result<WalletRead, Exchange> {
        let exchange = self.send(Probe::get("list_wallets", "/wallets")).await;
        WalletRead::of(exchange, currency).map_err(|answer| *answer)
    }

    /// Tops the wallet up (control API) when it runs low; the wallet as
    /// read after.
    pub(super) async fn top_up(&mut self) -> Option<WalletRead> {
        let currency = self.amounts.currency.clone();
        let wallet = self.wallet(&currency).await.ok()?;
        if !self.ctx.control_api || wallet.available >= self.amounts.top_up_below {
            return Some(wallet);
        }
        let top_up = fund(self.ctx, &wallet.id, self.amounts.top_up_text());
        if (200..300).contains(&self.send(top_up).await.status()) {
            self.funded += self.amounts.top_up;
        }
        self.wallet(&currency).await.ok()
    }

    /// Reads the baseline (topping the wallet up when it runs low) between
    /// two reads of the earlier payouts still in flight; read again while
    /// one of them moved in between.
    pub(super) async fn read_baseline(&mut self) -> Option<Baseline> {
        for _ in 0..BASELINE_ATTEMPTS {
            let before = self.refresh_pending().await.ok()?;
            let wallet = self.top_up().await?;
            if self.refresh_pending().await.ok()? != before {
                continue;
            }
            for payout in &mut self.payouts {
                payout.inherited = payout.state();
            }
            return Some(Baseline {
                currency: self.amounts.currency.clone(),
                available: wallet.available,
                balance: wallet.balance,
            });
        }
        None
    }
}
