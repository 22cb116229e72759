//! The money model (after `rafiki_rules::wallet`): from a baseline
//! `(available, balance)` read when every earlier payout had settled,
//! `available = A0 − Σ amount of payouts PENDING or SENT` and
//! `balance = B0 − Σ amount of payouts SENT` (FAILED and CANCELLED release,
//! REVERSED credits both back). States are the last ones *observed*. This
//! module holds the model's data (baseline, the ledger of earlier
//! sequences' payouts, the funds read before a create) and its reads: the
//! wallet, the baseline with its top-up, earlier payouts read again; the
//! judges that compare answers with it are in [`super::balance`].

use super::requests::{fund, get_payout};
use super::sequence::{Sequence, StepFailure};
use crate::checks::decimal_at;
use crate::http::{Exchange, Probe};
use rafiki_rules::lifecycle::StateCode;
use rust_decimal::Decimal;

/// A payout of an earlier sequence, settled when this one started.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub(super) id: String,
    pub(super) amount: Decimal,
    pub(super) state: StateCode,
    /// Already waited for once: a later sequence reads it but does not wait.
    pub(super) waited: bool,
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
}

/// What a create is judged against: the available read just before it,
/// and every payout's state then.
pub(super) struct Funds {
    pub(super) available: Decimal,
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
    /// payout's state then; `None` without an account of our own (or an
    /// unreadable wallet).
    pub(super) fn funds_before(&mut self) -> Result<Option<Funds>, StepFailure> {
        let Some(currency) = self.baseline.as_ref().map(|b| b.currency.clone()) else {
            return Ok(None);
        };
        let states = self.refresh_all()?;
        Ok(self.wallet(&currency).map(|wallet| Funds {
            available: wallet.available,
            states,
        }))
    }

    /// Whether an earlier sequence's SENT payout is no longer SENT (support
    /// may have reversed it, crediting the wallet) since this one started.
    pub(super) fn ledger_moved(&mut self) -> bool {
        self.sent_ledger_now()
            .iter()
            .any(|r| r.state.as_deref() != Some("SENT"))
    }

    /// Money credited back since the baseline by reversals of earlier payouts.
    pub(super) fn ledger_credit(&mut self) -> Decimal {
        self.sent_ledger_now()
            .iter()
            .filter(|r| r.state.as_deref() == Some("REVERSED"))
            .map(|r| r.amount)
            .sum()
    }

    /// Earlier sequences' payouts that were SENT when this one started,
    /// read again now.
    pub(super) fn sent_ledger_now(&mut self) -> Vec<Reread> {
        let sent: Vec<LedgerEntry> = self
            .ledger
            .iter()
            .filter(|e| e.state == StateCode::Sent)
            .cloned()
            .collect();
        sent.into_iter()
            .map(|entry| {
                let exchange = self.send(get_payout(&entry.id));
                Reread {
                    amount: entry.amount,
                    state: exchange.payout_state().map(str::to_string),
                }
            })
            .collect()
    }

    /// `(available, balance)` the model expects.
    pub(super) fn expected_money(&self, credit: Decimal) -> (Decimal, Decimal) {
        let baseline = self.baseline.as_ref().expect("only called with a baseline");
        let (mut available, mut balance) = (baseline.available + credit, baseline.balance + credit);
        for payout in self.payouts.iter().filter(|p| p.id.is_some()) {
            match payout.state() {
                Some(StateCode::Pending) => available -= payout.amount,
                Some(StateCode::Sent) => {
                    available -= payout.amount;
                    balance -= payout.amount;
                }
                _ => {}
            }
        }
        (available, balance)
    }

    /// Reads the wallet in `currency` from `GET /wallets`.
    pub(super) fn wallet(&mut self, currency: &str) -> Option<WalletRead> {
        let exchange = self.send(Probe::get("list_wallets", "/wallets"));
        let wallet = exchange.json()?["data"]
            .as_array()?
            .iter()
            .find(|w| w["currency"] == currency)?
            .clone();
        Some(WalletRead {
            available: decimal_at(&wallet, "/available")?,
            balance: decimal_at(&wallet, "/balance")?,
            id: wallet["id"].as_str()?.to_string(),
            exchange,
        })
    }

    /// Reads the baseline, topping the wallet up first (control API) when
    /// it runs low.
    pub(super) fn read_baseline(&mut self) -> Option<Baseline> {
        let currency = self.amounts.currency.clone();
        let mut wallet = self.wallet(&currency)?;
        if self.control && wallet.available < self.amounts.top_up_below {
            let url = self
                .ctx
                .client
                .control_url(&format!("/_sandbox/wallets/{}/fund", wallet.id));
            self.send(fund(url, self.amounts.top_up_text()));
            wallet = self.wallet(&currency)?;
        }
        Some(Baseline {
            currency,
            available: wallet.available,
            balance: wallet.balance,
        })
    }
}
