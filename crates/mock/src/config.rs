//! Server configuration: the accounts (one per API key) with the wallets
//! each is seeded with, the processing delay of the lifecycle scheduler,
//! the body size limit, the clock, the public base URL used in `next`
//! links, the compliance table, the legal variations of the API's
//! behaviour the mock can show (see [`crate::variants`]), the faults it
//! injects on purpose (see [`crate::faults`]), the size of its request
//! journal (see [`crate::journal`]), its rate limit per API key, and the
//! webhook endpoints each account starts with and the faults of their
//! deliveries (see [`crate::webhooks`]).
//!
//! Defaults (what `Config::default()` and the binary without flags give):
//! one API key [`DEFAULT_API_KEY`] with one KES wallet holding
//! [`DEFAULT_BALANCE`], a processing delay of [`DEFAULT_DELAY`], a body
//! limit of [`DEFAULT_BODY_LIMIT`] bytes, the system clock, the built-in
//! compliance table, the control API on, none of the variations (branches
//! checked, no rate limit), no faults, a journal of
//! [`DEFAULT_JOURNAL_CAPACITY`] requests per account, and no webhook
//! endpoints.

use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rafiki_rules::ComplianceTable;
use rafiki_rules::codes::is_currency_code;
use rafiki_rules::format::parse_amount;
pub use rafiki_rules::idempotency::OtherBody;
pub use rafiki_rules::listing::UpperBound;
use rafiki_rules::listing::{DEFAULT_PAGING_LIMIT, MAX_PAGING_LIMIT, MIN_PAGING_LIMIT};
use rust_decimal::Decimal;

use crate::clock::{Clock, ManualClock, SystemClock};
use crate::faults::FaultPlan;
pub use crate::journal::DEFAULT_JOURNAL_CAPACITY;
use crate::webhooks::{MAX_ENDPOINTS, WebhookEndpoint, WebhookFaultPlan};

/// The API key of the default account (for local use only).
pub const DEFAULT_API_KEY: &str = "sk_test_rafiki_mock";
/// Balance of the default KES wallet.
pub const DEFAULT_BALANCE: &str = "10000000.00";
/// Time from acceptance (PENDING) to the outcome (SENT or FAILED).
pub const DEFAULT_DELAY: Duration = Duration::from_millis(300);
/// Largest accepted request body.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// A wallet an account starts with (and gets back on reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletSeed {
    /// ISO 4217 code.
    pub currency: String,
    /// Starting `balance` (and `available`).
    pub balance: Decimal,
}

impl WalletSeed {
    /// The default wallet: KES with [`DEFAULT_BALANCE`].
    pub fn default_kes() -> Self {
        WalletSeed {
            currency: "KES".into(),
            balance: DEFAULT_BALANCE.parse().expect("constant decimal"),
        }
    }
}

/// Why a wallet seed did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("`{0}` is not CURRENCY:AMOUNT (e.g. KES:10000000.00)")]
    Shape(String),
    #[error("`{0}` is not an ISO 4217 currency code")]
    Currency(String),
    #[error("`{text}` is not an amount: {why}")]
    Amount { text: String, why: String },
}

impl FromStr for WalletSeed {
    type Err = SeedError;

    /// `CURRENCY:AMOUNT`, e.g. `KES:10000000.00`.
    fn from_str(text: &str) -> Result<Self, SeedError> {
        let (currency, amount) = text
            .split_once(':')
            .ok_or_else(|| SeedError::Shape(text.to_owned()))?;
        if !is_currency_code(currency) {
            return Err(SeedError::Currency(currency.to_owned()));
        }
        let balance = parse_amount(amount).map_err(|why| SeedError::Amount {
            text: amount.to_owned(),
            why: why.to_string(),
        })?;
        Ok(WalletSeed {
            currency: currency.to_owned(),
            balance,
        })
    }
}

/// One account: its API key, its starting wallets and the webhook
/// endpoints it starts with.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountConfig {
    pub api_key: String,
    pub wallets: Vec<WalletSeed>,
    /// Where the account's payout events are delivered (at most
    /// [`MAX_ENDPOINTS`]; the control API adds and deletes more).
    pub webhooks: Vec<WebhookEndpoint>,
}

impl fmt::Debug for AccountConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountConfig")
            .field("api_key", &redact_key(&self.api_key))
            .field("wallets", &self.wallets)
            .field("webhooks", &self.webhooks)
            .finish()
    }
}

/// Everything [`crate::spawn`] needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// One entry per API key; every key is its own account.
    pub accounts: Vec<AccountConfig>,
    /// How long a payout stays PENDING before the scheduler settles it.
    pub processing_delay: Duration,
    /// Largest request body in bytes; above it the answer is 413.
    pub body_limit: usize,
    /// Base URL (with `/v1`) written into `next` links; by default it is
    /// built from the request's `Host` header.
    pub public_base_url: Option<String>,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// Test hook: serve `GET /_sandbox/debug/panic`, a handler that panics,
    /// to show panics become a 500 envelope. Off by default (and never
    /// served without [`Config::control_api`]).
    pub panic_route: bool,
    /// The compliance table requests are validated with (amount limits,
    /// currencies, operators, sender fields, postal codes). Default: the
    /// built-in table, [`ComplianceTable::builtin`].
    pub compliance: Arc<ComplianceTable>,
    /// Serve the control API under `/_sandbox` (default `true`). When
    /// `false` every `/_sandbox` route answers 404 like any unknown route.
    pub control_api: bool,
    /// Accept amounts with leading zeros (`"0140"`, `"00140.50"`), read as
    /// the number they spell (limits and wallet arithmetic apply to that
    /// value), and echo the text back exactly as sent wherever the payout
    /// is shown. Default `false`: such amounts are a 422 at `amount.value`.
    pub lenient_amounts: bool,
    /// Support staff act on their own (default `false`): the mock cancels
    /// some payouts while PENDING instead of settling them, and reverses
    /// some SENT payouts one processing delay after they were SENT, chosen
    /// deterministically by the payout id (see [`crate::support`]).
    pub autonomous_support: bool,
    /// How many items a list returns when the request gives no
    /// `paging_limit` (1..=50; default [`DEFAULT_PAGING_LIMIT`]). `next`
    /// links carry the limit used.
    pub default_page_size: u32,
    /// What a used idempotency key sent with another body gets. Default
    /// [`OtherBody::Replay`], the provider's reading: the stored answer.
    /// [`OtherBody::Refuse`] answers 409 IDEMPOTENCY_KEY_ALREADY_USED.
    pub other_body_with_used_key: OtherBody,
    /// How `created_at_to` reads. Default [`UpperBound::Inclusive`]
    /// (a date means up to 23:59:59 of that day);
    /// [`UpperBound::Exclusive`] lists only payouts created before it.
    pub created_at_to: UpperBound,
    /// Recipients' banks and operators are sometimes down (default
    /// `false`): one valid payout in eight, chosen by its idempotency key
    /// (so a retry with the key meets the same outage), gets 503
    /// PAYOUT_BANK_TEMPORARILY_UNAVAILABLE or
    /// PAYOUT_MOBILE_MONEY_TEMPORARILY_UNAVAILABLE; nothing is created or
    /// stored ([`crate::support::is_outage`]).
    pub recipient_outages: bool,
    /// Check that a bank account's `branch_id` is one of its bank's
    /// branches (default `true`). When `false`, any well-formed branch id
    /// is accepted with a listed bank; the bank itself is still checked.
    pub check_branches: bool,
    /// Refuse a bank account without `branch_id` at a bank that has
    /// branches (default `false`): one reading of the provider's v1
    /// document says the branch is required when the bank has several, the
    /// payment-accounts page no longer mentions branches (fidelity U-3).
    pub branch_required: bool,
    /// At most this many requests per second per API key to the API under
    /// `/v1` (default `None`: no limit), as a token bucket of this size
    /// refilled at this rate, on the monotonic clock. A request past it
    /// gets 429 `RATE_LIMITED` with `Retry-After` and is not handled (nor
    /// counted by the fault plan); it is in the journal. Requests with no
    /// or an unknown key are not counted (their 401 touches no account),
    /// nor is the control API.
    pub rate_limit_per_key: Option<NonZeroU32>,
    /// Faults injected on purpose into the API's answers (default: none).
    /// Every account starts with this plan; the control API replaces an
    /// account's plan (`PUT /_sandbox/faults`). See [`crate::faults`].
    pub faults: FaultPlan,
    /// How many requests each account's journal keeps (the oldest are
    /// dropped; default [`DEFAULT_JOURNAL_CAPACITY`]; 0 keeps none); each
    /// account's webhook deliveries journal keeps as many attempts.
    pub journal_capacity: usize,
    /// Faults injected on purpose into webhook deliveries (default: none).
    /// Every account starts with this plan; see [`crate::webhooks`].
    pub webhook_faults: WebhookFaultPlan,
    /// Keep the state in this SQLite file (`--state FILE`; default `None`:
    /// in memory only): every change is on disk before its answer leaves,
    /// and a mock started again on the file goes on where it stopped. See
    /// the README's "A team's long-lived sandbox".
    pub state_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config::with_keys([DEFAULT_API_KEY], &[WalletSeed::default_kes()])
    }
}

impl Config {
    /// One account per key, each seeded with `wallets`; other fields default.
    pub fn with_keys<K: Into<String>>(
        keys: impl IntoIterator<Item = K>,
        wallets: &[WalletSeed],
    ) -> Self {
        Config {
            accounts: keys
                .into_iter()
                .map(|k| AccountConfig {
                    api_key: k.into(),
                    wallets: wallets.to_vec(),
                    webhooks: Vec::new(),
                })
                .collect(),
            processing_delay: DEFAULT_DELAY,
            body_limit: DEFAULT_BODY_LIMIT,
            public_base_url: None,
            clock: Arc::new(SystemClock),
            panic_route: false,
            compliance: Arc::new(ComplianceTable::builtin().clone()),
            control_api: true,
            lenient_amounts: false,
            autonomous_support: false,
            default_page_size: DEFAULT_PAGING_LIMIT,
            other_body_with_used_key: OtherBody::default(),
            created_at_to: UpperBound::default(),
            recipient_outages: false,
            check_branches: true,
            branch_required: false,
            rate_limit_per_key: None,
            faults: FaultPlan::default(),
            journal_capacity: DEFAULT_JOURNAL_CAPACITY,
            webhook_faults: WebhookFaultPlan::default(),
            state_file: None,
        }
    }

    /// The mock `rafiki-contract run` checks when it is given no server, and
    /// the one the suite's own tests use: two accounts, the first with a
    /// large KES wallet (for the request-level checks), the second with a
    /// modest one so that the money sequences see both acceptances and
    /// 402s; payouts settle after 20 ms.
    pub fn for_contract_suite(keys: [&str; 2]) -> Self {
        let kes = |balance: &str| WalletSeed {
            currency: "KES".into(),
            balance: balance.parse().expect("decimal"),
        };
        let mut config = Config::with_keys([keys[0]], &[kes("1000000000.00")]);
        config.accounts.push(AccountConfig {
            api_key: keys[1].to_string(),
            wallets: vec![kes("20000.00")],
            webhooks: Vec::new(),
        });
        config.processing_delay = Duration::from_millis(20);
        config
    }

    /// Uses `clock` (tests then drive the scheduler with
    /// [`crate::MockHandle::advance`]).
    pub fn manual_clock(mut self, clock: Arc<ManualClock>) -> Self {
        self.clock = clock;
        self
    }

    /// Gives every account the webhook endpoint `endpoint` (what
    /// `--webhook-url` does).
    pub fn with_webhook(mut self, endpoint: WebhookEndpoint) -> Self {
        for account in &mut self.accounts {
            account.webhooks.push(endpoint.clone());
        }
        self
    }

    /// Applies a legal variation of the API's behaviour (see
    /// [`crate::Variant`]).
    pub fn variant(mut self, variant: crate::Variant) -> Self {
        variant.apply(&mut self);
        self
    }

    /// Checks the accounts (at least one, keys non-empty visible ASCII and
    /// unique, at most [`MAX_ENDPOINTS`] webhook endpoints each) and the
    /// default page size (1..=50).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(MIN_PAGING_LIMIT..=MAX_PAGING_LIMIT).contains(&self.default_page_size) {
            return Err(ConfigError::PageSize(self.default_page_size));
        }
        if self.accounts.is_empty() {
            return Err(ConfigError::NoAccounts);
        }
        for (i, account) in self.accounts.iter().enumerate() {
            let key = &account.api_key;
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::BadKey(redact_key(key)));
            }
            if self.accounts[..i].iter().any(|a| &a.api_key == key) {
                return Err(ConfigError::DuplicateKey(redact_key(key)));
            }
            if account.webhooks.len() > MAX_ENDPOINTS {
                return Err(ConfigError::TooManyWebhooks {
                    account: redact_key(key),
                    count: account.webhooks.len(),
                });
            }
        }
        Ok(())
    }
}

/// A configuration the server refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("no API key configured")]
    NoAccounts,
    #[error("API key {0} must be non-empty visible ASCII (no spaces)")]
    BadKey(String),
    #[error("API key {0} is configured twice")]
    DuplicateKey(String),
    #[error(
        "default page size {0} is outside {MIN_PAGING_LIMIT}..={MAX_PAGING_LIMIT} (the bounds of paging_limit)"
    )]
    PageSize(u32),
    #[error("API key {account} has {count} webhook endpoints; at most {MAX_ENDPOINTS} are allowed")]
    TooManyWebhooks { account: String, count: usize },
}

/// What logs show of an API key: its first three and last three
/// characters for keys of 16 characters or more (`sk_…ock`), nothing of
/// shorter ones.
pub fn redact_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() >= 16 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 3..].iter().collect();
        format!("{head}…{tail}")
    } else {
        "…".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallet_seeds_parse() {
        let seed: WalletSeed = "KES:1500.50".parse().unwrap();
        assert_eq!(
            seed,
            WalletSeed {
                currency: "KES".into(),
                balance: "1500.50".parse().unwrap()
            }
        );
        assert!(matches!(
            "KES".parse::<WalletSeed>(),
            Err(SeedError::Shape(_))
        ));
        assert!(matches!(
            "KSH:1".parse::<WalletSeed>(),
            Err(SeedError::Currency(_))
        ));
        assert!(matches!(
            "KES:-1".parse::<WalletSeed>(),
            Err(SeedError::Amount { .. })
        ));
    }

    #[test]
    fn keys_are_redacted_and_checked() {
        assert_eq!(redact_key(DEFAULT_API_KEY), "sk_…ock");
        assert_eq!(redact_key("short"), "…");
        let config = Config::default();
        assert!(!format!("{config:?}").contains(DEFAULT_API_KEY));
        assert_eq!(config.validate(), Ok(()));
        assert!(matches!(
            Config::with_keys(["a", "a"], &[]).validate(),
            Err(ConfigError::DuplicateKey(_))
        ));
        assert!(matches!(
            Config::with_keys(["a b"], &[]).validate(),
            Err(ConfigError::BadKey(_))
        ));
        assert_eq!(
            Config::with_keys(Vec::<String>::new(), &[]).validate(),
            Err(ConfigError::NoAccounts)
        );
        let endpoint = WebhookEndpoint::new(
            "http://127.0.0.1:3000/webhooks".parse().unwrap(),
            Some("whsk_test_local_key".parse().unwrap()),
        );
        let with_webhooks = (0..MAX_ENDPOINTS).fold(Config::default(), |config, _| {
            config.with_webhook(endpoint.clone())
        });
        assert_eq!(with_webhooks.validate(), Ok(()));
        assert!(!format!("{with_webhooks:?}").contains("whsk_test_local_key"));
        assert!(matches!(
            with_webhooks.with_webhook(endpoint).validate(),
            Err(ConfigError::TooManyWebhooks { count: 6, .. })
        ));
        for (size, ok) in [(0, false), (1, true), (50, true), (51, false)] {
            let config = Config {
                default_page_size: size,
                ..Config::default()
            };
            assert_eq!(config.validate().is_ok(), ok, "{size}");
        }
    }
}
