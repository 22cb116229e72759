//! Legal variations: behaviours the real API may show (its documentation
//! allows them) that the default mock does not. A client, or a contract
//! suite, that works against the default mock only may still break on
//! them; running it against each [`Variant`] too finds that out.
//!
//! ```
//! use rafiki_mock::{Config, Variant};
//!
//! for variant in Variant::ALL {
//!     let config = Config::default().variant(variant);
//!     assert!(config.validate().is_ok(), "{variant}");
//! }
//! ```

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, OtherBody, UpperBound};

/// One legal variation of the API's behaviour, applied to a [`Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// `leading_zero_amounts`: amounts such as `"0140"` are accepted (as
    /// 140) and echoed back as sent ([`Config::lenient_amounts`]).
    LeadingZeroAmounts,
    /// `slow_settlement`: payouts stay PENDING for 2 seconds
    /// ([`Config::processing_delay`]).
    SlowSettlement,
    /// `autonomous_support`: no control API, and support cancels or
    /// reverses some payouts on its own ([`Config::control_api`] off,
    /// [`Config::autonomous_support`] on).
    AutonomousSupport,
    /// `page_size_7`: lists without `paging_limit` answer 7 items per page
    /// ([`Config::default_page_size`]).
    PageSize7,
    /// `key_reuse_refused`: a used idempotency key sent with another body
    /// gets 409 IDEMPOTENCY_KEY_ALREADY_USED, as API.md reads it, instead
    /// of the stored answer ([`Config::other_body_with_used_key`]).
    KeyReuseRefused,
    /// `created_at_to_exclusive`: `created_at_to` lists only payouts
    /// created before it (a date: before 23:59:59 UTC of that day), the provider's
    /// "created before" read strictly ([`Config::created_at_to`]).
    CreatedAtToExclusive,
    /// `recipient_outages`: one valid payout in eight gets 503, its
    /// recipient's bank or operator being down ([`Config::recipient_outages`]).
    RecipientOutages,
    /// `branches_unchecked`: a bank account's `bank_id` must be a listed
    /// bank, but any well-formed `branch_id` is accepted with it
    /// ([`Config::check_branches`] off).
    BranchesUnchecked,
    /// `rate_limited`: each API key may send [`RATE_LIMITED_PER_SECOND`]
    /// requests a second (a burst of as many); past that, 429
    /// RATE_LIMITED with `Retry-After` ([`Config::rate_limit_per_key`]).
    RateLimited,
    /// `dob_for_every_sender`: every sender to a country whose table lists
    /// `required_fields_in_one_reading` needs them, a BUSINESS sender's
    /// `individual.dob` in Kenya too: the unconditional row of the
    /// provider's Kenya table ([`rafiki_rules::ComplianceTable::every_reading_required`]).
    DobForEverySender,
    /// `branch_required`: a bank account at a bank that has branches needs
    /// its `branch_id` ([`Config::branch_required`]).
    BranchRequired,
}

/// The limit [`Variant::RateLimited`] sets, per second and per key: low
/// enough that a client sending as fast as it can meets it within a
/// second.
pub const RATE_LIMITED_PER_SECOND: NonZeroU32 = NonZeroU32::new(10).expect("not zero");

impl Variant {
    /// Every variant, in a stable order.
    pub const ALL: [Variant; 11] = [
        Variant::LeadingZeroAmounts,
        Variant::SlowSettlement,
        Variant::AutonomousSupport,
        Variant::PageSize7,
        Variant::KeyReuseRefused,
        Variant::CreatedAtToExclusive,
        Variant::RecipientOutages,
        Variant::BranchesUnchecked,
        Variant::RateLimited,
        Variant::DobForEverySender,
        Variant::BranchRequired,
    ];

    /// Its stable name (as `--variant` takes it).
    pub fn name(self) -> &'static str {
        match self {
            Variant::LeadingZeroAmounts => "leading_zero_amounts",
            Variant::SlowSettlement => "slow_settlement",
            Variant::AutonomousSupport => "autonomous_support",
            Variant::PageSize7 => "page_size_7",
            Variant::KeyReuseRefused => "key_reuse_refused",
            Variant::CreatedAtToExclusive => "created_at_to_exclusive",
            Variant::RecipientOutages => "recipient_outages",
            Variant::BranchesUnchecked => "branches_unchecked",
            Variant::RateLimited => "rate_limited",
            Variant::DobForEverySender => "dob_for_every_sender",
            Variant::BranchRequired => "branch_required",
        }
    }

    /// One line on what a client sees.
    pub fn description(self) -> &'static str {
        match self {
            Variant::LeadingZeroAmounts => {
                "amount values with leading zeros (\"0140\") are accepted as the number they spell and echoed back as sent"
            }
            Variant::SlowSettlement => {
                "payouts stay PENDING for 2 s before they are SENT or FAILED"
            }
            Variant::AutonomousSupport => {
                "no /_sandbox control API; support cancels some PENDING payouts and reverses some SENT ones on its own"
            }
            Variant::PageSize7 => "lists without paging_limit answer pages of 7 items",
            Variant::KeyReuseRefused => {
                "a used idempotency key with another body gets 409 IDEMPOTENCY_KEY_ALREADY_USED instead of the stored answer"
            }
            Variant::CreatedAtToExclusive => {
                "created_at_to lists only payouts created before it (a date: before 23:59:59 UTC of that day)"
            }
            Variant::RecipientOutages => {
                "one valid payout in eight (by its idempotency key) gets 503 PAYOUT_BANK/MOBILE_MONEY_TEMPORARILY_UNAVAILABLE"
            }
            Variant::BranchesUnchecked => {
                "a bank account's bank_id must be a listed bank, but any well-formed branch_id is accepted (a branch of another bank too)"
            }
            Variant::RateLimited => {
                "each API key may send 10 requests per second; past that 429 RATE_LIMITED with Retry-After, not handled"
            }
            Variant::DobForEverySender => {
                "a Kenyan payout's sender needs individual.dob whatever its type (BUSINESS too), as one row of the provider's Kenya table says"
            }
            Variant::BranchRequired => {
                "a bank account at a bank with branches needs its branch_id, as one reading of the provider's v1 document says"
            }
        }
    }

    /// Changes `config` to show this behaviour (other settings are kept).
    pub fn apply(self, config: &mut Config) {
        match self {
            Variant::LeadingZeroAmounts => config.lenient_amounts = true,
            Variant::SlowSettlement => config.processing_delay = Duration::from_secs(2),
            Variant::AutonomousSupport => {
                config.control_api = false;
                config.autonomous_support = true;
            }
            Variant::PageSize7 => config.default_page_size = 7,
            Variant::KeyReuseRefused => config.other_body_with_used_key = OtherBody::Refuse,
            Variant::CreatedAtToExclusive => config.created_at_to = UpperBound::Exclusive,
            Variant::RecipientOutages => config.recipient_outages = true,
            Variant::BranchesUnchecked => config.check_branches = false,
            Variant::RateLimited => config.rate_limit_per_key = Some(RATE_LIMITED_PER_SECOND),
            Variant::DobForEverySender => {
                config.compliance = Arc::new(config.compliance.every_reading_required());
            }
            Variant::BranchRequired => config.branch_required = true,
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
                format!(
                    "unknown variant `{name}`, expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Changes a [`Config`] to show one variation.
pub type ApplyVariant = fn(&mut Config);

/// Every legal variation as `(name, apply)`, for tests in other crates that
/// iterate over them: `for (name, apply) in legal_variants() { let mut
/// config = …; apply(&mut config); … }`.
pub fn legal_variants() -> Vec<(&'static str, ApplyVariant)> {
    Variant::ALL
        .into_iter()
        .map(|variant| {
            let apply: ApplyVariant = match variant {
                Variant::LeadingZeroAmounts => |c| Variant::LeadingZeroAmounts.apply(c),
                Variant::SlowSettlement => |c| Variant::SlowSettlement.apply(c),
                Variant::AutonomousSupport => |c| Variant::AutonomousSupport.apply(c),
                Variant::PageSize7 => |c| Variant::PageSize7.apply(c),
                Variant::KeyReuseRefused => |c| Variant::KeyReuseRefused.apply(c),
                Variant::CreatedAtToExclusive => |c| Variant::CreatedAtToExclusive.apply(c),
                Variant::RecipientOutages => |c| Variant::RecipientOutages.apply(c),
                Variant::BranchesUnchecked => |c| Variant::BranchesUnchecked.apply(c),
                Variant::RateLimited => |c| Variant::RateLimited.apply(c),
                Variant::DobForEverySender => |c| Variant::DobForEverySender.apply(c),
                Variant::BranchRequired => |c| Variant::BranchRequired.apply(c),
            };
            (variant.name(), apply)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_functions_match_the_enum() {
        for variant in Variant::ALL {
            assert_eq!(variant.name().parse::<Variant>(), Ok(variant));
            assert_eq!(variant.to_string(), variant.name());
        }
        assert!(
            "nope"
                .parse::<Variant>()
                .unwrap_err()
                .contains("page_size_7")
        );
        let listed = legal_variants();
        assert_eq!(listed.len(), Variant::ALL.len());
        for ((name, apply), variant) in listed.into_iter().zip(Variant::ALL) {
            assert_eq!(name, variant.name());
            let (mut by_fn, mut by_enum) = (Config::default(), Config::default());
            apply(&mut by_fn);
            variant.apply(&mut by_enum);
            assert_eq!(format!("{by_fn:?}"), format!("{by_enum:?}"), "{name}");
            assert_ne!(
                format!("{by_fn:?}"),
                format!("{:?}", Config::default()),
                "{name}"
            );
        }
    }

    #[test]
    fn the_rate_limited_description_states_its_limit() {
        let said = format!("{RATE_LIMITED_PER_SECOND} requests per second");
        assert!(Variant::RateLimited.description().contains(&said));
    }

    #[test]
    fn each_variant_sets_what_it_says() {
        let with = |v: Variant| Config::default().variant(v);
        assert!(with(Variant::LeadingZeroAmounts).lenient_amounts);
        assert_eq!(
            with(Variant::SlowSettlement).processing_delay,
            Duration::from_secs(2)
        );
        let support = with(Variant::AutonomousSupport);
        assert!(support.autonomous_support && !support.control_api);
        assert_eq!(with(Variant::PageSize7).default_page_size, 7);
        assert_eq!(
            with(Variant::KeyReuseRefused).other_body_with_used_key,
            OtherBody::Refuse
        );
        assert_eq!(
            with(Variant::CreatedAtToExclusive).created_at_to,
            UpperBound::Exclusive
        );
        assert!(with(Variant::RecipientOutages).recipient_outages);
        assert!(Config::default().check_branches);
        assert!(!with(Variant::BranchesUnchecked).check_branches);
        assert!(!Config::default().branch_required);
        assert!(with(Variant::BranchRequired).branch_required);
        assert_eq!(Config::default().rate_limit_per_key, None);
        assert_eq!(
            with(Variant::RateLimited)
                .rate_limit_per_key
                .map(NonZeroU32::get),
            Some(10)
        );
    }
}
