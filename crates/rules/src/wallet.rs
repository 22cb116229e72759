//! Wallet accounting as pure functions over `{balance, available}`.
//!
//! `balance - available` is the money reserved by payouts still in flight.
//! Accepting a payout reserves its amount (`available` drops), SENT settles
//! it (`balance` drops), FAILED and CANCELLED release it (`available` comes
//! back), REVERSED credits both back. Every function refuses a move that
//! would break `0 <= available <= balance`.

use rust_decimal::Decimal;

use crate::lifecycle::{StateCode, can_transition};

/// The two figures of a wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balances {
    /// Total money in the wallet, reservations included.
    pub balance: Decimal,
    /// What can be spent now.
    pub available: Decimal,
}

impl Balances {
    pub fn new(balance: Decimal, available: Decimal) -> Self {
        Self { balance, available }
    }

    /// Money reserved by payouts in flight.
    pub fn reserved(self) -> Decimal {
        self.balance - self.available
    }
}

/// Why an accounting move was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// The 402 WALLET_INSUFFICIENT_BALANCE case.
    #[error("insufficient balance: {requested} requested, {available} available")]
    InsufficientBalance {
        requested: Decimal,
        available: Decimal,
    },
    #[error("amount must be positive, got {0}")]
    NonPositiveAmount(Decimal),
    #[error("{amount} is more than the {reserved} reserved")]
    NotReserved { amount: Decimal, reserved: Decimal },
}

fn positive(amount: Decimal) -> Result<Decimal, WalletError> {
    if amount > Decimal::ZERO {
        Ok(amount)
    } else {
        Err(WalletError::NonPositiveAmount(amount))
    }
}

fn reserved_at_least(wallet: Balances, amount: Decimal) -> Result<(), WalletError> {
    let reserved = wallet.reserved();
    if amount <= reserved {
        Ok(())
    } else {
        Err(WalletError::NotReserved { amount, reserved })
    }
}

/// Accepting a payout: `available -= amount`, refused above `available`.
pub fn reserve(wallet: Balances, amount: Decimal) -> Result<Balances, WalletError> {
    let amount = positive(amount)?;
    if amount > wallet.available {
        return Err(WalletError::InsufficientBalance {
            requested: amount,
            available: wallet.available,
        });
    }
    Ok(Balances {
        available: wallet.available - amount,
        ..wallet
    })
}

/// PENDING -> SENT: the reservation leaves the wallet, `balance -= amount`.
pub fn settle(wallet: Balances, amount: Decimal) -> Result<Balances, WalletError> {
    let amount = positive(amount)?;
    reserved_at_least(wallet, amount)?;
    Ok(Balances {
        balance: wallet.balance - amount,
        ..wallet
    })
}

/// PENDING -> FAILED or CANCELLED: the reservation is lifted, `available += amount`.
pub fn release(wallet: Balances, amount: Decimal) -> Result<Balances, WalletError> {
    let amount = positive(amount)?;
    reserved_at_least(wallet, amount)?;
    Ok(Balances {
        available: wallet.available + amount,
        ..wallet
    })
}

/// SENT -> REVERSED: the money comes back, both figures `+= amount`.
pub fn credit_back(wallet: Balances, amount: Decimal) -> Result<Balances, WalletError> {
    let amount = positive(amount)?;
    Ok(Balances {
        balance: wallet.balance + amount,
        available: wallet.available + amount,
    })
}

/// The accounting move of a lifecycle event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WalletEffect {
    Reserve,
    Settle,
    Release,
    CreditBack,
}

impl WalletEffect {
    pub fn apply(self, wallet: Balances, amount: Decimal) -> Result<Balances, WalletError> {
        match self {
            WalletEffect::Reserve => reserve(wallet, amount),
            WalletEffect::Settle => settle(wallet, amount),
            WalletEffect::Release => release(wallet, amount),
            WalletEffect::CreditBack => credit_back(wallet, amount),
        }
    }
}

/// The move for entering state `to` from `from`; `from = None` is the
/// acceptance of a new payout (into PENDING). `None` for anything the
/// lifecycle does not allow.
pub fn effect_of(from: Option<StateCode>, to: StateCode) -> Option<WalletEffect> {
    match from {
        None => (to == StateCode::Pending).then_some(WalletEffect::Reserve),
        Some(from) if !can_transition(from, to) => None,
        Some(_) => Some(match to {
            StateCode::Sent => WalletEffect::Settle,
            StateCode::Failed | StateCode::Cancelled => WalletEffect::Release,
            StateCode::Reversed => WalletEffect::CreditBack,
            StateCode::Pending => return None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::TRANSITIONS;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_payout_round_trip() {
        let start = Balances::new(d("1000"), d("1000"));
        let reserved = reserve(start, d("300")).unwrap();
        assert_eq!(reserved, Balances::new(d("1000"), d("700")));
        let sent = settle(reserved, d("300")).unwrap();
        assert_eq!(sent, Balances::new(d("700"), d("700")));
        assert_eq!(credit_back(sent, d("300")).unwrap(), start);
        assert_eq!(release(reserved, d("300")).unwrap(), start);
    }

    #[test]
    fn refusals() {
        let w = Balances::new(d("100"), d("50"));
        assert_eq!(
            reserve(w, d("50.01")),
            Err(WalletError::InsufficientBalance {
                requested: d("50.01"),
                available: d("50")
            })
        );
        assert!(reserve(w, d("50")).is_ok());
        assert_eq!(
            reserve(w, d("0")),
            Err(WalletError::NonPositiveAmount(d("0")))
        );
        assert_eq!(
            credit_back(w, d("-1")),
            Err(WalletError::NonPositiveAmount(d("-1")))
        );
        assert!(matches!(
            settle(w, d("60")),
            Err(WalletError::NotReserved { .. })
        ));
    }

    #[test]
    fn every_transition_has_an_effect() {
        assert_eq!(
            effect_of(None, StateCode::Pending),
            Some(WalletEffect::Reserve)
        );
        assert_eq!(effect_of(None, StateCode::Sent), None);
        for t in TRANSITIONS {
            assert!(effect_of(Some(t.from), t.to).is_some(), "{t:?}");
        }
        assert_eq!(effect_of(Some(StateCode::Sent), StateCode::Failed), None);
    }
}
