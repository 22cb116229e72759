//! An account's state as plain rows: what the state file keeps
//! (`crate::durable`) and what a snapshot shows (`crate::snapshot`).
//!
//! - [`AccountImage`]: the whole state of one account, read by
//!   [`Account::image`] and turned back into an account (indexes and the
//!   scheduler's queue rebuilt) by [`Account::from_image`].
//! - [`Change`]: one row written or dropped; with a [`ChangeSink`] the
//!   account tells it of every change inside the critical section that
//!   makes it, so changes reach the sink in the order they happened.
//!   Without one (the in-memory mock) nothing is built.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use rafiki_rules::account_identity;
use rafiki_rules::idempotency::{EntryStatus, StoredEntry};
use rafiki_rules::lifecycle::StateCode;
use rafiki_rules::sandbox::{SandboxOutcome, sandbox_outcome};
use rafiki_rules::wire::{PaymentAccount, Payout, Wallet};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{Account, PayoutRecord, StoredResponse, later};
use crate::cursor::SortKey;
use crate::support::{self, SupportPlan};
use crate::webhooks::{Outbox, WebhookChange};

/// A wallet and the balance a reset gives it back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WalletRow {
    pub wallet: Wallet,
    pub seed_balance: Decimal,
}

/// A payment account and its place in the list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PaymentAccountRow {
    pub account: PaymentAccount,
    pub order: SortKey,
}

/// A payout, its place in the list and, while the scheduler has it
/// queued, when it is due.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PayoutRow {
    pub payout: Payout,
    /// `amount.value` as sent, when lenient amounts kept a text the number
    /// does not reproduce.
    pub amount_text: Option<String>,
    pub order: SortKey,
    pub due: Option<SortKey>,
}

/// A completed idempotent request: its body and the answer replayed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IdempotencyRow {
    pub key: String,
    pub body: Value,
    pub stored_at: DateTime<Utc>,
    pub response: StoredResponse,
}

/// Everything one account holds, in list order (oldest first). Requests
/// still in flight are not part of it: none was answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AccountImage {
    /// The account's sequence (list order keys are below it).
    pub seq: u64,
    pub wallets: Vec<WalletRow>,
    pub payment_accounts: Vec<PaymentAccountRow>,
    pub payouts: Vec<PayoutRow>,
    pub idempotency: Vec<IdempotencyRow>,
}

/// One change of an account's rows.
#[derive(Clone)]
pub(crate) enum Change {
    /// The account's wallets as they now are, in order.
    Wallets(Vec<WalletRow>),
    PaymentAccount(PaymentAccountRow),
    Payout(Box<PayoutRow>),
    Idempotency(IdempotencyRow),
    /// An idempotency record past its retention, forgotten.
    IdempotencyExpired(String),
    /// Wallets, payouts, payment accounts and idempotency records
    /// forgotten (a new account, a reset, an import); `seq` is the
    /// account's sequence, kept. Always followed in its unit by the
    /// account's [`Change::Wallets`].
    Cleared {
        seq: u64,
    },
    /// The webhook deliveries of a payout's change, queued in the same
    /// critical section (saved with it: no event for a change a crash
    /// lost).
    Webhook(WebhookChange),
}

/// Where an account's changes go besides memory: one unit per critical
/// section, to be written whole or not at all.
pub(crate) trait ChangeSink: Send + Sync {
    fn push(&self, unit: Vec<Change>);
}

impl Account {
    /// Keeps a change for the sink, if any (built only when there is
    /// one); the critical section's changes go together when it ends.
    pub(super) fn record(&mut self, change: impl FnOnce(&Account) -> Change) {
        if self.sink.is_some() {
            let change = change(self);
            self.unsaved.push(change);
        }
    }

    /// Hands the critical section's changes to the sink.
    pub(super) fn save(&mut self) {
        if let Some(sink) = &self.sink
            && !self.unsaved.is_empty()
        {
            sink.push(std::mem::take(&mut self.unsaved));
        }
    }

    /// [`Change::Wallets`] of the wallets as they are.
    pub(super) fn wallets_changed(&self) -> Change {
        Change::Wallets(self.wallet_rows())
    }

    /// [`Change::Payout`] of payout `id` as it is.
    pub(super) fn payout_changed(&self, id: &str) -> Option<Change> {
        let record = self.payouts.get(id)?;
        Some(Change::Payout(Box::new(record.row())))
    }

    fn wallet_rows(&self) -> Vec<WalletRow> {
        self.wallets
            .iter()
            .map(|wallet| WalletRow {
                seed_balance: self
                    .seeds
                    .iter()
                    .find(|seed| seed.id == wallet.id)
                    .map_or(wallet.balance, |seed| seed.balance),
                wallet: wallet.clone(),
            })
            .collect()
    }

    /// The whole state, in list order.
    pub(crate) fn image(&self) -> AccountImage {
        AccountImage {
            seq: self.seq,
            wallets: self.wallet_rows(),
            payment_accounts: self
                .account_order
                .iter()
                .filter_map(|(order, id)| {
                    let account = self.payment_accounts.get(id)?.clone();
                    Some(PaymentAccountRow {
                        account,
                        order: *order,
                    })
                })
                .collect(),
            payouts: self
                .payout_order
                .values()
                .filter_map(|id| self.payouts.get(id).map(PayoutRecord::row))
                .collect(),
            idempotency: self
                .idempotency_log
                .iter()
                .filter_map(|(stored_at, key)| {
                    let entry = self.idempotency.get(key)?;
                    match &entry.status {
                        EntryStatus::Completed(response) if entry.stored_at == *stored_at => {
                            Some(IdempotencyRow {
                                key: key.clone(),
                                body: entry.body.clone(),
                                stored_at: entry.stored_at,
                                response: response.clone(),
                            })
                        }
                        _ => None,
                    }
                })
                .collect(),
        }
    }

    /// An account holding `image`: indexes and the scheduler's queue
    /// rebuilt, each payout's sandbox outcome read from its payment
    /// account and, with `autonomous_support`, its support plan from its
    /// id (as when it was created).
    pub(crate) fn from_image(
        image: AccountImage,
        autonomous_support: bool,
        outbox: Arc<Outbox>,
        sink: Option<Arc<dyn ChangeSink>>,
    ) -> Account {
        let seeds = image
            .wallets
            .iter()
            .map(|row| Wallet {
                balance: row.seed_balance,
                available: row.seed_balance,
                ..row.wallet.clone()
            })
            .collect();
        let wallets = image.wallets.into_iter().map(|row| row.wallet).collect();
        let mut account = Account::new(wallets, seeds, outbox, sink);
        let mut seq = image.seq;
        for row in image.payment_accounts {
            seq = seq.max(row.order.1);
            let id = row.account.id.clone();
            if let Some(identity) = account_identity(&row.account.account) {
                account.identities.insert(identity, id.clone());
            }
            account.account_order.insert(row.order, id.clone());
            account.payment_accounts.insert(id, row.account);
        }
        for row in image.payouts {
            seq = seq.max(row.order.1);
            let outcome = account
                .payment_accounts
                .get(&row.payout.payment_account_id)
                .map_or(SandboxOutcome::SENT, |a| sandbox_outcome(&a.account));
            let support = if autonomous_support && outcome.code == StateCode::Sent {
                support::plan(&row.payout.id)
            } else {
                SupportPlan::LeaveAlone
            };
            let id = row.payout.id.clone();
            account.payout_order.insert(row.order, id.clone());
            if let Some(due) = row.due {
                account.pending.insert(due, id.clone());
            }
            account.payouts.insert(
                id,
                PayoutRecord {
                    payout: row.payout,
                    amount_text: row.amount_text,
                    outcome,
                    support,
                    order: row.order,
                    due: row.due,
                },
            );
        }
        let mut idempotency = image.idempotency;
        idempotency.sort_by_key(|row| row.stored_at);
        for row in idempotency {
            account
                .idempotency_log
                .push_back((row.stored_at, row.key.clone()));
            account.idempotency.insert(
                row.key,
                StoredEntry {
                    body: row.body,
                    status: EntryStatus::Completed(row.response),
                    stored_at: row.stored_at,
                },
            );
        }
        account.seq = seq;
        account
    }

    /// Replaces the whole state with `image` (a snapshot import): the
    /// imported wallets also become what a reset restores. The sink gets
    /// every row. Returns whether the scheduler has payouts to settle.
    pub(crate) fn replace(&mut self, image: AccountImage, autonomous_support: bool) -> bool {
        let outbox = self.outbox.clone();
        let sink = self.sink.take();
        // Order keys keep growing across the import, as across a reset.
        let seq = self.seq.max(image.seq);
        *self = Account::from_image(image, autonomous_support, outbox, sink);
        self.seq = self.seq.max(seq);
        self.record(|a| Change::Cleared { seq: a.seq });
        self.record(Account::wallets_changed);
        if self.sink.is_some() {
            let image = self.image();
            for row in image.payment_accounts {
                self.record(|_| Change::PaymentAccount(row));
            }
            for row in image.payouts {
                self.record(|_| Change::Payout(Box::new(row)));
            }
            for row in image.idempotency {
                self.record(|_| Change::Idempotency(row));
            }
        }
        !self.pending.is_empty()
    }
}

impl PayoutRecord {
    fn row(&self) -> PayoutRow {
        PayoutRow {
            payout: self.payout.clone(),
            amount_text: self.amount_text.clone(),
            order: self.order,
            due: self.due,
        }
    }
}

/// Where a PENDING payout without a stored due time falls due: one
/// processing delay after it was created.
pub(crate) fn default_due(created_at: DateTime<Utc>, delay: TimeDelta) -> DateTime<Utc> {
    later(created_at, delay)
}
