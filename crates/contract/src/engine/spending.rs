//! The run's money. Against a real sandbox every accepted payout leaves a
//! finite wallet, so the run says before its first payout what it expects
//! to spend, never spends past its cap (`--max-spend`, or what the wallet
//! holds when that is less), and the report gives what it spent.
//!
//! A create counts when a server keeping to the documented contract may
//! accept it: its amount is within the limits the compliance data gives
//! its currency (an amount above the maximum is refused, so it spends
//! nothing), and it has a key and a content type (without either, it gets
//! a documented 401 or 400). It is held before it is sent, and a create
//! that does not fit under the cap is not sent at all: its checks skip
//! it, saying why. It
//! is spent once answered 202 with a payout id not seen before (a replay
//! or a reused key pays nothing twice); any other answer frees the hold.
//! Payouts that later fail are still counted: what is spent is an upper
//! bound of what left the wallet.
//!
//! A create the documented contract refuses (the overdraw a sequence sends
//! to see the 402: above the available its wallet showed just before; a
//! payout breaking a documented rule, to see the 422) is held against
//! `--max-spend` only, not against the wallet: a conforming server refuses
//! it, so the wallet cannot pay it, and without this those refusals would
//! not be tried once a finite wallet is spent. Accepted all the same, it
//! is counted.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::engine::RunConfig;
use crate::http::{Exchange, KeySlot, Probe, decimal_at, wallet_in};
use crate::report::Spent;
use rafiki_rules::ComplianceTable;
use rust_decimal::Decimal;

/// What the run spends, against its cap.
#[derive(Debug)]
pub struct Spending {
    /// Per currency, the lowest minimum and highest maximum any
    /// destination accepts: what a conforming server may accept at all.
    limits: Vec<(String, Decimal, Decimal)>,
    /// The most the run may spend (`None`: no cap).
    cap: Option<Decimal>,
    /// `--max-spend`, the cap of a create above its wallet's available.
    max_spend: Option<Decimal>,
    /// Why the cap is what it is (`--max-spend`, a short wallet).
    cap_reason: String,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Creates on their way that may be accepted.
    held: Decimal,
    /// Accepted payouts' amounts.
    spent: Decimal,
    /// Ids of the payouts counted in `spent`.
    paid: HashSet<String>,
    /// Creates not sent because they did not fit under the cap.
    skipped: u64,
}

impl Spending {
    /// No cap yet; amounts count when `table` lets some destination accept them.
    pub fn new(table: &ComplianceTable) -> Self {
        let mut limits: Vec<(String, Decimal, Decimal)> = Vec::new();
        for rules in table.countries() {
            for limit in &rules.limits {
                let (min, max) = (
                    limit.min.unwrap_or_default(),
                    limit.max.unwrap_or(Decimal::MAX),
                );
                match limits.iter_mut().find(|(c, ..)| *c == limit.currency) {
                    Some((_, low, high)) => (*low, *high) = ((*low).min(min), (*high).max(max)),
                    None => limits.push((limit.currency.clone(), min, max)),
                }
            }
        }
        Spending {
            limits,
            cap: None,
            max_spend: None,
            cap_reason: String::new(),
            state: Mutex::default(),
        }
    }

    /// Caps the run's spending at `cap`, for `reason`.
    pub fn cap_at(&mut self, cap: Decimal, reason: String) {
        self.cap = Some(cap);
        self.cap_reason = reason;
    }

    /// Caps the run's spending at `--max-spend`, which also caps creates
    /// above their wallet's available.
    pub fn cap_at_max_spend(&mut self, max: Decimal) {
        self.cap_at(max, format!("--max-spend {max}"));
        self.max_spend = Some(max);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a create may spend: its amount, when a conforming server may
    /// accept it. Without a key, or with one that is no key, it gets the
    /// documented 401 (docs/contract.md, "Authentication"); without a
    /// `Content-Type`, the documented 400 ("Transport"): whatever the
    /// wallet holds, those are tried.
    fn amount_of(&self, probe: &Probe) -> Option<Decimal> {
        if probe.operation != Some("create_payout")
            || matches!(
                probe.key,
                KeySlot::None | KeySlot::Literal(_) | KeySlot::PrimaryExtended
            )
            || probe.body_type.is_none()
        {
            return None;
        }
        let amount = &probe.body.as_deref()?["amount"];
        let value: Decimal = amount["value"].as_str()?.parse().ok()?;
        let currency = amount["currency"].as_str()?;
        self.limits
            .iter()
            .any(|(c, min, max)| c == currency && *min <= value && value <= *max)
            .then_some(value)
    }

    /// Holds what `probe` may spend; `Err` says why it must not be sent.
    pub fn hold(&self, probe: &Probe) -> Result<Option<Decimal>, String> {
        self.hold_under(probe, self.cap, &self.cap_reason)
    }

    /// [`Spending::hold`] for a create the documented contract refuses:
    /// under `--max-spend` only (see the module docs).
    pub fn hold_to_be_refused(&self, probe: &Probe) -> Result<Option<Decimal>, String> {
        self.hold_under(probe, self.max_spend, "--max-spend")
    }

    fn hold_under(
        &self,
        probe: &Probe,
        cap: Option<Decimal>,
        reason: &str,
    ) -> Result<Option<Decimal>, String> {
        let Some(amount) = self.amount_of(probe) else {
            return Ok(None);
        };
        let mut state = self.state();
        if let Some(cap) = cap
            && state.spent + state.held + amount > cap
        {
            state.skipped += 1;
            return Err(format!(
                "not sent: a payout of {amount} would take the run past {cap} ({reason}; {} spent so far)",
                state.spent
            ));
        }
        state.held += amount;
        Ok(Some(amount))
    }

    /// Holds what `probes`, sent together, may spend: all of them (copies
    /// sent together are one case), or none and why.
    pub fn hold_all(&self, probes: &[Probe]) -> Result<Vec<Option<Decimal>>, String> {
        let mut held = Vec::with_capacity(probes.len());
        for probe in probes {
            match self.hold(probe) {
                Ok(amount) => held.push(amount),
                Err(why) => {
                    let mut state = self.state();
                    state.held -= held.into_iter().flatten().sum::<Decimal>();
                    return Err(why);
                }
            }
        }
        Ok(held)
    }

    /// Counts a held create as spent when it made a new payout; frees it
    /// otherwise.
    pub fn settle(&self, held: Option<Decimal>, exchange: &Exchange) {
        let Some(amount) = held else {
            return;
        };
        let mut state = self.state();
        state.held -= amount;
        let new_payout = (exchange.status() == 202)
            .then(|| exchange.data_id().map(str::to_string))
            .flatten();
        if let Some(id) = new_payout
            && state.paid.insert(id)
        {
            state.spent += amount;
        }
    }

    /// What was spent, for the report.
    pub fn spent(&self, planned: Decimal, available: Option<Decimal>, currency: &str) -> Spent {
        let state = self.state();
        Spent {
            currency: currency.to_string(),
            available_at_start: available.map(|a| a.to_string()),
            planned: planned.to_string(),
            cap: self.cap.map(|c| c.to_string()),
            spent: state.spent.to_string(),
            payouts: state.paid.len() as u64,
            skipped: state.skipped,
        }
    }
}

/// The currency the run's payouts are in (the fixtures', the sequences').
pub(super) const SPENDING_CURRENCY: &str = "KES";

/// What the run expects to spend and what the wallet holds.
pub(super) struct MoneyPlan {
    pub(super) planned: Decimal,
    pub(super) available: Option<Decimal>,
    cap: Option<Decimal>,
}

impl MoneyPlan {
    /// The one line the run says of its money before its first payout.
    pub(super) fn line(&self) -> String {
        let c = SPENDING_CURRENCY;
        let planned = self.planned;
        match (self.available, self.cap) {
            (Some(available), _) if available < planned => format!(
                "the {c} wallet holds {available} {c} available; this run needs up to {planned} {c}: payouts past {} {c} are not sent and their checks skipped",
                self.cap.unwrap_or(available)
            ),
            (available, cap) => format!(
                "this run expects to spend up to {planned} {c}{}{}",
                available.map(|a| format!(" of the {a} {c} available")).unwrap_or_default(),
                cap.filter(|cap| *cap < planned)
                    .map(|cap| format!("; --max-spend caps it at {cap} {c}: payouts past it are not sent and their checks skipped"))
                    .unwrap_or_default(),
            ),
        }
    }
}

/// Reads the wallet (the preflight's `GET /wallets`), works out what the
/// run expects to spend and caps `spending` at `--max-spend` or at what
/// the wallet holds, whichever is less.
pub(super) fn plan_spending(
    spending: &mut Spending,
    config: &RunConfig,
    wallets: &Exchange,
) -> MoneyPlan {
    let available = wallet_in(wallets, SPENDING_CURRENCY).and_then(|w| decimal_at(w, "/available"));
    let planned = expected_spend(config);
    let mut cap = config.max_spend;
    if let Some(max) = config.max_spend {
        spending.cap_at_max_spend(max);
    }
    if let Some(available) = available
        && available < planned
        && cap.is_none_or(|cap| available < cap)
    {
        cap = Some(available);
        spending.cap_at(
            available,
            format!("the {SPENDING_CURRENCY} wallet held {available} available at the start"),
        );
    }
    MoneyPlan {
        planned,
        available,
        cap,
    }
}

/// An upper estimate of what a run spends: the documented edges pay the
/// destination's exact minimum and maximum once; everything else pays
/// near the minimum (the fixtures, the generated valid payouts, the
/// sequences' creates).
fn expected_spend(config: &RunConfig) -> Decimal {
    let Some(limit) = ComplianceTable::builtin().country("KE").and_then(|ke| {
        ke.limit_for(
            SPENDING_CURRENCY,
            rafiki_rules::wire::AccountType::MobileMoney,
        )
    }) else {
        return Decimal::ZERO;
    };
    let (min, max) = (
        limit.min.unwrap_or(Decimal::ONE),
        limit.max.unwrap_or_default(),
    );
    let minimums = FIXED_MINIMUMS + config.max_examples.max(1) * MINIMUMS_PER_EXAMPLE;
    (min + max + Decimal::from(minimums) * min).round_dp(2)
}

/// What the payouts near the minimum cost, in minimums: some whatever the
/// examples (the fixtures, the sandbox values, the documented edges' own
/// creates), and some per generated example. A run makes about 50 payouts
/// with 10 examples and 180 with 100, most within 10.00 of the minimum
/// (`docs/performance.md`); these leave room for the rarer larger ones.
const FIXED_MINIMUMS: u32 = 40;
const MINIMUMS_PER_EXAMPLE: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(value: &str) -> Probe {
        Probe::create_payout(json!({"amount": {"value": value, "currency": "KES"}}))
    }

    fn accepted(id: &str) -> Exchange {
        let body = json!({"data": {"id": id}});
        Exchange {
            answer: Ok(crate::http::Answer {
                status: 202,
                content_type: None,
                body: body.to_string().into(),
                json: Some(body.into()),
                retry_after: None,
            }),
            unjudged: false,
            ..Exchange::not_sent(create("1"), "")
        }
    }

    #[test]
    fn a_create_beyond_its_wallets_funds_is_capped_by_max_spend_only() {
        let mut spending = Spending::new(ComplianceTable::builtin());
        spending.cap_at(Decimal::from(3000), "the wallet held 3000".into());
        let overdraw = create("3000.01");
        assert!(spending.hold(&overdraw).is_err());
        let held = spending.hold_to_be_refused(&overdraw).unwrap();
        assert_eq!(held, Some(Decimal::new(300001, 2)));
        // Refused, as a conforming server does: nothing spent.
        spending.settle(held, &Exchange::not_sent(create("1"), "402"));
        // Accepted all the same: counted.
        let held = spending.hold_to_be_refused(&overdraw).unwrap();
        spending.settle(held, &accepted("pyt-over"));
        assert_eq!(spending.state().spent, Decimal::new(300001, 2));

        let mut capped = Spending::new(ComplianceTable::builtin());
        capped.cap_at_max_spend(Decimal::from(1000));
        let why = capped.hold_to_be_refused(&overdraw).unwrap_err();
        assert!(why.contains("past 1000 (--max-spend;"), "{why}");
    }

    #[test]
    fn copies_sent_together_are_held_all_or_none() {
        let mut spending = Spending::new(ComplianceTable::builtin());
        spending.cap_at(Decimal::from(300), "--max-spend 300".into());
        let why = spending
            .hold_all(&[create("140"), create("161")])
            .unwrap_err();
        assert!(why.contains("past 300"), "{why}");
        // The first copy's hold was freed with the refusal.
        let held = spending.hold_all(&[create("150"), create("150")]).unwrap();
        assert_eq!(held, [Some(Decimal::from(150)), Some(Decimal::from(150))]);
    }

    #[test]
    fn holds_what_may_be_accepted_and_counts_each_payout_once() {
        let mut spending = Spending::new(ComplianceTable::builtin());
        spending.cap_at(Decimal::from(300), "--max-spend 300".into());
        // Outside Kenya's limits: refused by any conforming server, free.
        assert_eq!(spending.hold(&create("600000")), Ok(None));
        assert_eq!(spending.hold(&create("abc")), Ok(None));
        // Without a key, or with a made-up one: a 401, free (the 401 is
        // tried however short the wallet).
        assert_eq!(spending.hold(&create("140").key(KeySlot::None)), Ok(None));
        let wrong = KeySlot::Literal("Bearer sk_wrong".into());
        assert_eq!(spending.hold(&create("140").key(wrong)), Ok(None));
        let untyped = Probe {
            body_type: None,
            ..create("140")
        };
        assert_eq!(spending.hold(&untyped), Ok(None));
        let first = spending.hold(&create("140.00")).unwrap();
        assert_eq!(first, Some(Decimal::new(14000, 2)));
        spending.settle(first, &accepted("pyt-1"));
        // The same payout again (a replay) is not paid twice.
        let replay = spending.hold(&create("140.00")).unwrap();
        spending.settle(replay, &accepted("pyt-1"));
        let why = spending.hold(&create("161")).unwrap_err();
        assert!(
            why.contains("past 300 (--max-spend 300; 140.00 spent"),
            "{why}"
        );
        let refused = spending.hold(&create("150")).unwrap();
        spending.settle(refused, &Exchange::not_sent(create("150"), "422"));
        let spent = spending.spent(Decimal::from(290), None, "KES");
        assert_eq!(
            (spent.spent.as_str(), spent.payouts, spent.skipped),
            ("140.00", 1, 1)
        );
    }
}
