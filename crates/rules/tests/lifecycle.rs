//! Polled histories: immutable fields, failure contexts, error messages.

use rafiki_rules::lifecycle::{
    FailureContext, HistoryError, StateCode, check_history, dot, mermaid,
};
use rafiki_rules::wire::{Money, Payout, PayoutState, Sender};
use rust_decimal::Decimal;
use serde_json::json;

fn pending() -> Payout {
    serde_json::from_value(json!({
        "id": "pyt-1",
        "amount": {"value": "150.00", "currency": "KES"},
        "payment_account_id": "pac-1",
        "wallet_id": "wlt-1",
        "sender": {"type": "BUSINESS", "name": "Duka Ltd"},
        "state": {"code": "PENDING"},
        "created_at": "2024-01-02T06:04:05+03:00"
    }))
    .unwrap()
}

fn moved(code: StateCode, context: Option<FailureContext>) -> Payout {
    Payout {
        state: PayoutState::new(code, context),
        ..pending()
    }
}

#[test]
fn a_sent_payout_with_a_receipt_is_fine() {
    let sent = Payout {
        receipt: Some("ref-1".into()),
        ..moved(StateCode::Sent, None)
    };
    assert_eq!(
        check_history(&[pending(), pending(), sent.clone(), sent]),
        Ok(())
    );
    assert_eq!(check_history(&[]), Ok(()));
}

#[test]
fn going_back_or_branching_is_refused() {
    let err = check_history(&[moved(StateCode::Sent, None), pending()]).unwrap_err();
    assert_eq!(
        err,
        HistoryError::IllegalMove {
            index: 1,
            from: StateCode::Sent,
            to: StateCode::Pending
        }
    );
    assert_eq!(
        err.to_string(),
        "snapshot 1: state went from SENT to PENDING, which no sequence of transitions allows"
    );
    let err = check_history(&[
        pending(),
        moved(StateCode::Sent, None),
        moved(StateCode::Failed, None),
    ])
    .unwrap_err();
    assert_eq!(
        err,
        HistoryError::IllegalMove {
            index: 2,
            from: StateCode::Sent,
            to: StateCode::Failed
        }
    );
}

/// An edit of one field of a snapshot.
type Change = fn(&mut Payout);

#[test]
fn every_immutable_field_is_named_when_it_changes() {
    let changes: [(&str, Change); 6] = [
        ("id", |p| p.id = "pyt-2".into()),
        ("amount", |p| {
            p.amount = Money {
                value: Decimal::new(151, 0),
                currency: "KES".into(),
            }
        }),
        ("payment_account_id", |p| {
            p.payment_account_id = "pac-2".into()
        }),
        ("wallet_id", |p| p.wallet_id = "wlt-2".into()),
        ("sender", |p| p.sender = Some(Sender::default())),
        ("created_at", |p| {
            p.created_at = "2024-01-02T03:04:06Z".parse().unwrap()
        }),
    ];
    for (field, change) in changes {
        let mut later = moved(StateCode::Sent, None);
        change(&mut later);
        assert_eq!(
            check_history(&[pending(), later]),
            Err(HistoryError::ImmutableFieldChanged { index: 1, field }),
            "{field}"
        );
    }
}

#[test]
fn equal_instants_and_equal_amounts_are_not_changes() {
    let mut later = moved(StateCode::Sent, None);
    later.created_at = "2024-01-02T03:04:05Z".parse().unwrap();
    later.amount.value = Decimal::new(150, 0);
    assert_eq!(check_history(&[pending(), later]), Ok(()));
}

#[test]
fn failure_contexts() {
    let limit = Some(FailureContext::PaymentAccountDailyLimitReached);
    let other = Some(FailureContext::WalletInsufficientBalance);
    // A context may show up on a later poll...
    assert_eq!(
        check_history(&[
            pending(),
            moved(StateCode::Failed, None),
            moved(StateCode::Failed, limit)
        ]),
        Ok(())
    );
    // ...but not change or vanish once shown.
    assert_eq!(
        check_history(&[
            moved(StateCode::Failed, limit),
            moved(StateCode::Failed, other)
        ]),
        Err(HistoryError::FailureContextChanged { index: 1 })
    );
    assert_eq!(
        check_history(&[
            moved(StateCode::Failed, limit),
            moved(StateCode::Failed, None)
        ]),
        Err(HistoryError::FailureContextChanged { index: 1 })
    );
    // Not flagged on other states (`docs/contract.md#payout-lifecycle`: FAILED only).
    assert_eq!(
        check_history(&[
            moved(StateCode::Pending, other),
            moved(StateCode::Sent, None)
        ]),
        Ok(())
    );
}

#[test]
fn contexts_on_the_wire() {
    let failed: Payout = serde_json::from_value(json!({
        "id": "pyt-1", "amount": {"value": "150", "currency": "KES"}, "payment_account_id": "pac-1",
        "wallet_id": "wlt-1", "state": {"code": "FAILED", "context": "PAYMENT_ACCOUNT_LIMIT_REACHED"},
        "created_at": "2024-01-02T03:04:05Z"
    }))
    .unwrap();
    assert_eq!(
        failed.state.failure_context(),
        Some(FailureContext::PaymentAccountLimitReached)
    );

    // The spec keeps `context` a string so that one added later still reads.
    let mut later = serde_json::to_value(&failed).unwrap();
    later["state"]["context"] = json!("PAYMENT_ACCOUNT_FROZEN");
    let later: Payout = serde_json::from_value(later).unwrap();
    assert_eq!(
        later.state.context.as_deref(),
        Some("PAYMENT_ACCOUNT_FROZEN")
    );
    assert_eq!(later.state.failure_context(), None);
}

#[test]
fn diagrams_are_printable() {
    assert!(mermaid().starts_with("stateDiagram-v2\n"));
    assert!(dot().starts_with("digraph payout_lifecycle {"));
}
