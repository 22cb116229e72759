//! The listing judges inside a sequence: walking the pages of the
//! sequence's own creation window lists each of its payouts exactly once
//! (`pagination_walk`), and a window whose `created_at_from` and
//! `created_at_to` bracket one payout's `created_at` lists that payout
//! (`date_filter_boundaries`).

use super::sequence::{Sequence, StepResult, Tracked, fail};
use crate::checks::listing::walk;
use crate::checks::{DATE_FILTER_BOUNDARIES, PAGINATION_WALK};
use crate::engine::just_after;
use crate::http::Probe;

impl Sequence<'_> {
    /// Walks the window from the sequence's first payout to its last, three
    /// to a page: each of them listed exactly once.
    pub(super) async fn walk_list(&mut self) -> StepResult {
        let accepted: Vec<&Tracked> = self.payouts.iter().filter(|p| p.id.is_some()).collect();
        let (Some(first), Some(last)) = (accepted.first(), accepted.last()) else {
            return Ok(());
        };
        let at = |p: &Tracked| {
            p.history[0]
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        };
        let ids: Vec<String> = accepted.iter().filter_map(|p| p.id.clone()).collect();
        // The window of this sequence's payouts: a bounded walk, whatever else the account holds.
        let probe = Probe {
            key: self.key.clone(),
            ..Probe::get("list_payouts", "/payouts")
        }
        .query("created_at_from", at(first))
        .query("created_at_to", just_after(last.history[0].created_at))
        .query("paging_limit", "3");
        match walk(self.ctx, probe, 100).await {
            Ok(seen) if !seen.complete => Ok(()), // too busy a window to judge
            Ok(seen) => {
                let last = seen.last.clone().expect("a walk has a page");
                self.note_sent(&last);
                for id in &ids {
                    let count = seen.ids.iter().filter(|s| *s == id).count();
                    if count != 1 {
                        return fail(
                            &PAGINATION_WALK,
                            format!("payout {id} listed once, it was listed {count} times"),
                            &last,
                        );
                    }
                }
                self.pass(&PAGINATION_WALK);
                Ok(())
            }
            Err(page) => fail(&PAGINATION_WALK, "200 for every page", &page),
        }
    }

    /// Lists from one payout's `created_at` to just after it: the payout
    /// is listed under either reading of `created_at_to` (inclusive in
    /// API.md, "before" on the provider's page).
    pub(super) async fn date_filtered(&mut self, payout: usize) -> StepResult {
        let Some(position) = self.accepted(payout) else {
            return Ok(());
        };
        let tracked = &self.payouts[position];
        let id = tracked.id.clone().expect("accepted");
        let created = tracked.history[0].created_at;
        let at = created.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let to = just_after(created);
        let exchange = self
            .send(
                Probe::get("list_payouts", "/payouts")
                    .query("created_at_from", at.clone())
                    .query("created_at_to", to.clone())
                    .query("paging_limit", "50"),
            )
            .await;
        let listed = exchange
            .json()
            .and_then(|j| j["data"].as_array().cloned())
            .unwrap_or_default();
        if exchange.status() != 200 || !listed.iter().any(|p| p["id"] == id.as_str()) {
            return fail(
                &DATE_FILTER_BOUNDARIES,
                format!("payout {id} listed from created_at_from = {at} to {to}"),
                &exchange,
            );
        }
        self.pass(&DATE_FILTER_BOUNDARIES);
        Ok(())
    }
}
