//! The requests a sequence sends, built in one place: payment account and
//! payout bodies (the fixture payout's sender, Kenyan mobile money numbers
//! that are the sequence's own, or a sandbox failing number), and the
//! probes for resending a create under its key and reading a payout (the
//! control API's are in `checks::control`). Judging the answers is the
//! other modules' job.

use std::sync::Arc;

use serde_json::{Value, json};

use super::sequence::Sequence;
use crate::engine::fixture_payout;
use crate::http::Probe;

/// The account index of payouts to sandbox test numbers (apart from the
/// sequence's own accounts 0 to 3).
pub(super) const FAILING_ACCOUNT: u8 = u8::MAX;

/// `12345` cents as `"123.45"` (a decimal of scale 2, as reports show it).
pub(super) fn amount_text(cents: u32) -> String {
    rust_decimal::Decimal::new(i64::from(cents), 2).to_string()
}

/// `POST /payouts` with `body` under an idempotency key already used.
pub(super) fn resend(body: impl Into<Arc<Value>>, idempotency_key: String) -> Probe {
    let mut probe = Probe::create_payout(body);
    probe.idempotency_key = Some(idempotency_key);
    probe
}

/// `GET /payouts/{id}`.
pub(super) fn get_payout(id: &str) -> Probe {
    Probe::get("get_payout", format!("/payouts/{id}"))
}

/// Payment account `account` of the sequence tagged `tag` (the tag makes
/// it that sequence's own).
pub(super) fn account_body(tag: u32, account: u8) -> Value {
    // Never ends in the sandbox's failing suffixes (…000100 to …000106).
    let number = format!("+2547{tag:05}{}9{}", account % 10, 9);
    json!({
        "type": "MOBILE_MONEY", "country": "KE",
        "holder": {"type": "INDIVIDUAL", "name": format!("Sequence {tag} Recipient {account}")},
        "mobile_money": {"number": number, "operator": "SAFARICOM"}
    })
}

/// The fixture payout (same sender) with this amount and the sequence's
/// account `account`.
pub(super) fn payout_body(tag: u32, cents: u32, account: u8) -> Value {
    let mut body = fixture_payout(0);
    body["amount"]["value"] = json!(amount_text(cents));
    body["payment_account"] = account_body(tag, account);
    body
}

impl Sequence<'_> {
    /// A payout to sandbox failing number `test_value` (an index into the
    /// failing suffixes) where the server honours them; elsewhere an
    /// ordinary payout to account 0.
    pub(super) fn failing_payout_body(&self, cents: u32, test_value: u8) -> Value {
        let mut body = payout_body(self.tag, cents, 0);
        let suffixes = rafiki_rules::sandbox::FAILING_MOBILE_SUFFIXES;
        if self.ctx.sandbox_values.is_ok() {
            let (suffix, _) = suffixes[usize::from(test_value) % suffixes.len()];
            body["payment_account"]["mobile_money"]["number"] = json!(format!("+254712{suffix}"));
        }
        body
    }
}
