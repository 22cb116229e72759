//! The payout lifecycle: states, the transition table, checks of polled
//! histories, and diagrams generated from the table.

use std::fmt::Write as _;

use crate::macros::wire_enum;
use crate::wire::Payout;

wire_enum! {
    /// `state.code` of a payout.
    pub enum StateCode {
        Pending = "PENDING",
        Sent = "SENT",
        Failed = "FAILED",
        Cancelled = "CANCELLED",
        Reversed = "REVERSED",
    }
}

wire_enum! {
    /// `state.context` of a FAILED payout: why it failed, when known.
    pub enum FailureContext {
        WalletInsufficientBalance = "WALLET_INSUFFICIENT_BALANCE",
        PaymentAccountInvalidAccountNumber = "PAYMENT_ACCOUNT_INVALID_ACCOUNT_NUMBER",
        PaymentAccountBalanceMaxedOut = "PAYMENT_ACCOUNT_BALANCE_MAXED_OUT",
        PaymentAccountPerTransactionLimitReached = "PAYMENT_ACCOUNT_PER_TRANSACTION_LIMIT_REACHED",
        PaymentAccountDailyLimitReached = "PAYMENT_ACCOUNT_DAILY_LIMIT_REACHED",
        PaymentAccountMonthlyLimitReached = "PAYMENT_ACCOUNT_MONTHLY_LIMIT_REACHED",
        PaymentAccountLimitReached = "PAYMENT_ACCOUNT_LIMIT_REACHED",
    }
}

/// One allowed move, with when it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: StateCode,
    pub to: StateCode,
    pub when: &'static str,
}

/// The state a payout is accepted in (POST answers 202 with it).
pub const INITIAL: StateCode = StateCode::Pending;

/// Every allowed transition; nothing else is allowed.
pub const TRANSITIONS: &[Transition] = &[
    Transition {
        from: StateCode::Pending,
        to: StateCode::Sent,
        when: "processed",
    },
    Transition {
        from: StateCode::Pending,
        to: StateCode::Failed,
        when: "did not reach the recipient",
    },
    Transition {
        from: StateCode::Pending,
        to: StateCode::Cancelled,
        when: "cancelled by support",
    },
    Transition {
        from: StateCode::Sent,
        to: StateCode::Reversed,
        when: "reversed by support",
    },
];

impl StateCode {
    /// No transition leaves it (FAILED, CANCELLED, REVERSED; SENT is not final).
    pub fn is_final(self) -> bool {
        !TRANSITIONS.iter().any(|t| t.from == self)
    }

    /// States reachable in exactly one transition.
    pub fn successors(self) -> impl Iterator<Item = StateCode> {
        TRANSITIONS
            .iter()
            .filter(move |t| t.from == self)
            .map(|t| t.to)
    }
}

/// Whether `from -> to` is one allowed transition.
pub fn can_transition(from: StateCode, to: StateCode) -> bool {
    TRANSITIONS.iter().any(|t| t.from == from && t.to == to)
}

/// Whether `to` can be reached from `from` in one or more transitions
/// (`reachable(s, s)` is false: the graph has no cycles).
pub fn reachable(from: StateCode, to: StateCode) -> bool {
    let mut frontier = vec![from];
    let mut seen = Vec::new();
    while let Some(state) = frontier.pop() {
        for next in state.successors() {
            if next == to {
                return true;
            }
            if !seen.contains(&next) {
                seen.push(next);
                frontier.push(next);
            }
        }
    }
    false
}

/// Why a sequence of polled snapshots is not a possible history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "snapshot {index}: state went from {from} to {to}, which no sequence of transitions allows"
    )]
    IllegalMove {
        index: usize,
        from: StateCode,
        to: StateCode,
    },
    #[error("snapshot {index}: immutable field `{field}` changed")]
    ImmutableFieldChanged { index: usize, field: &'static str },
    #[error("snapshot {index}: the failure context of a FAILED payout changed")]
    FailureContextChanged { index: usize },
}

/// Checks what successive polls of one payout observed. Between two
/// snapshots the state may stay, or move forward along any path of the
/// transition table (polls can miss intermediate states: PENDING then
/// REVERSED is fine via SENT), but never go back or sideways (SENT then
/// FAILED is a branch). `id`, `amount`, `payment_account_id`, `wallet_id`,
/// `sender` and `created_at` must never change; amounts compare as numbers.
///
/// Decisions: a `context` on a state other than FAILED is not flagged
/// (`docs/contract.md#payout-lifecycle` documents one for FAILED only); once a FAILED
/// snapshot shows a context it must not change or disappear, but a context
/// may appear on a later poll. `receipt` may appear at any time, and, once
/// given, does not change while the state stays the same. An empty
/// history is fine; the first snapshot may be in any state.
pub fn check_history(snapshots: &[Payout]) -> Result<(), HistoryError> {
    for (index, pair) in snapshots.windows(2).enumerate() {
        let index = index + 1;
        let (before, after) = (&pair[0], &pair[1]);
        if let Some(field) = changed_immutable_field(before, after) {
            return Err(HistoryError::ImmutableFieldChanged { index, field });
        }
        let (from, to) = (before.state.code, after.state.code);
        if from != to && !reachable(from, to) {
            return Err(HistoryError::IllegalMove { index, from, to });
        }
        if from == StateCode::Failed
            && to == StateCode::Failed
            && before.state.context.is_some()
            && before.state.context != after.state.context
        {
            return Err(HistoryError::FailureContextChanged { index });
        }
    }
    Ok(())
}

fn changed_immutable_field(before: &Payout, after: &Payout) -> Option<&'static str> {
    [
        ("id", before.id == after.id),
        ("amount", before.amount == after.amount),
        (
            "payment_account_id",
            before.payment_account_id == after.payment_account_id,
        ),
        ("wallet_id", before.wallet_id == after.wallet_id),
        ("sender", before.sender == after.sender),
        ("created_at", before.created_at == after.created_at),
        // The bank's or telco's reference for the payout it took: in one
        // state, once given, it is that reference.
        (
            "receipt",
            before.state.code != after.state.code
                || before.receipt.is_none()
                || after.receipt.is_none()
                || before.receipt == after.receipt,
        ),
    ]
    .into_iter()
    .find(|(_, same)| !same)
    .map(|(field, _)| field)
}

/// States in declaration order (for diagrams).
fn states() -> &'static [StateCode] {
    <StateCode as crate::macros::WireEnum>::ALL
}

/// A Mermaid `stateDiagram-v2` generated from [`TRANSITIONS`].
pub fn mermaid() -> String {
    let mut out = String::from("stateDiagram-v2\n");
    let _ = writeln!(out, "    [*] --> {INITIAL}");
    for t in TRANSITIONS {
        let _ = writeln!(out, "    {} --> {}: {}", t.from, t.to, t.when);
    }
    for state in states().iter().filter(|s| s.is_final()) {
        let _ = writeln!(out, "    {state} --> [*]");
    }
    out
}

/// A Graphviz digraph generated from [`TRANSITIONS`]; final states are
/// drawn with a double circle.
pub fn dot() -> String {
    let mut out =
        String::from("digraph payout_lifecycle {\n    rankdir=LR;\n    start [shape=point];\n");
    for state in states() {
        let shape = if state.is_final() {
            "doublecircle"
        } else {
            "circle"
        };
        let _ = writeln!(out, "    {state} [shape={shape}];");
    }
    let _ = writeln!(out, "    start -> {INITIAL};");
    for t in TRANSITIONS {
        let _ = writeln!(out, "    {} -> {} [label=\"{}\"];", t.from, t.to, t.when);
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use StateCode::*;

    #[test]
    fn finality_follows_the_table() {
        assert!(!Pending.is_final());
        assert!(!Sent.is_final());
        assert!(Failed.is_final() && Cancelled.is_final() && Reversed.is_final());
    }

    #[test]
    fn reachability() {
        assert!(reachable(Pending, Reversed));
        assert!(reachable(Sent, Reversed));
        assert!(!reachable(Sent, Failed));
        assert!(!reachable(Pending, Pending));
        assert!(!reachable(Reversed, Sent));
    }

    #[test]
    fn diagrams_show_every_transition() {
        let mermaid = mermaid();
        let dot = dot();
        for t in TRANSITIONS {
            assert!(
                mermaid.contains(&format!("{} --> {}", t.from, t.to)),
                "{mermaid}"
            );
            assert!(dot.contains(&format!("{} -> {}", t.from, t.to)), "{dot}");
        }
        assert!(mermaid.contains("[*] --> PENDING"));
        for s in [Failed, Cancelled, Reversed] {
            assert!(mermaid.contains(&format!("{s} --> [*]")));
            assert!(dot.contains(&format!("{s} [shape=doublecircle]")));
        }
        assert!(!mermaid.contains("SENT --> [*]"));
        let arrows = mermaid
            .lines()
            .filter(|l| l.contains("-->") && !l.contains("[*]"))
            .count();
        assert_eq!(arrows, TRANSITIONS.len());
    }
}
