//! Payment accounts in a sequence: which of the sequence's accounts are
//! known to exist (and their ids) from the payouts that named them, and
//! the get-or-create judge (`valid_payment_account_accepted`): 201, or 200
//! when the account already existed, with the same id every time; an
//! answer without an id fails, never matching another one without.

use super::requests::account_body;
use super::sequence::{Sequence, StepResult, fail, id_at};
use crate::checks::VALID_PAYMENT_ACCOUNT_ACCEPTED;
use crate::http::{Exchange, Probe};

impl Sequence<'_> {
    /// Notes that payment account `account` exists (with its id, when an
    /// accepted payout named it) or may exist (a refused payout may or may
    /// not have created its inline account).
    pub(super) fn note_account(&mut self, account: u8, exchange: &Exchange) {
        match id_at(exchange, "/data/payment_account_id") {
            Some(id) => {
                self.accounts.insert(account, Some(id.to_string()));
            }
            None => {
                self.accounts.entry(account).or_insert(None);
            }
        }
    }

    pub(super) async fn get_or_create_account(&mut self, account: u8) -> StepResult {
        let body = account_body(self.tag, account);
        let exchange = self
            .send(Probe::post(
                "get_or_create_payment_account",
                "/payment-accounts",
                body,
            ))
            .await;
        let id = id_at(&exchange, "/data/id").map(str::to_string);
        let got_account = matches!(exchange.status(), 200 | 201);
        if got_account && id.is_none() {
            // Without one, a later post could not be told to find the same account.
            return fail(
                &VALID_PAYMENT_ACCOUNT_ACCEPTED,
                format!("{} with the account's `id` in `data`", exchange.status()),
                &exchange,
            );
        }
        // A first post may find the account already there (an earlier run
        // against the same server may have used the same number).
        let ok = match self.accounts.get(&account) {
            None | Some(None) => got_account,
            Some(Some(known)) => exchange.status() == 200 && id.as_deref() == Some(known),
        };
        if !ok {
            let expected = match self.accounts.get(&account) {
                Some(Some(known)) => format!("200 with the existing account {known}"),
                _ => "201 (or 200 if it already existed)".to_string(),
            };
            return fail(&VALID_PAYMENT_ACCOUNT_ACCEPTED, expected, &exchange);
        }
        self.accounts.insert(account, id);
        self.pass(&VALID_PAYMENT_ACCOUNT_ACCEPTED);
        Ok(())
    }
}
