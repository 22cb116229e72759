//! What a run checks and how: the target server, keys, selection and pace.

use std::path::PathBuf;
use std::time::Duration;

use rafiki_spec::Spec;

use crate::catalogue::{self as checks, CheckInfo, DEFAULT_MAX_EXAMPLES};

/// Hosts where payouts move real money.
const PRODUCTION_HOSTS: &[&str] = &["rest.prod.rafiki-api.com"];

/// A run's settings (the CLI's options, or a test's).
#[derive(Clone)]
pub struct RunConfig {
    /// The server's base URL, including `/v1`.
    pub base_url: String,
    pub api_key: String,
    /// A second account's key, for the tenant-isolation check.
    pub api_key_2: Option<String>,
    /// Only these checks (all when empty).
    pub checks: Vec<String>,
    pub exclude_checks: Vec<String>,
    /// Generated cases per property check.
    pub max_examples: u32,
    /// Requests in flight at once, so connections at most (suites and
    /// sequence lanes run concurrently and share them).
    pub workers: usize,
    /// Requests per second at most.
    pub rate_limit: Option<u32>,
    pub request_timeout: Duration,
    /// How long to poll a payout for its outcome before giving up on it
    /// (a payout still PENDING then is not a failure).
    pub poll_deadline: Duration,
    /// Replays a run; random when `None`.
    pub seed: Option<u64>,
    /// Allow a production host (payouts there move real money).
    pub allow_production: bool,
    /// Warnings (verdicts that rest only on our stricter spec) fail the run.
    pub strict: bool,
    /// The whole run's bound: checks still running then are reported as
    /// not finished, with what they had seen.
    pub max_duration: Duration,
    /// Stop at the first failure: nothing more is sent, and the checks
    /// still running are reported as not finished.
    pub fail_fast: bool,
    /// Whether to use the documented sandbox test values (failing numbers).
    pub sandbox_values: SandboxValues,
    /// The most the run may spend on payouts (in the payouts' currency);
    /// creates past it are not sent and their checks skip them.
    pub max_spend: Option<rust_decimal::Decimal>,
    /// The OpenAPI document to judge answers by; `None` is the spec built
    /// into this binary (`spec/openapi.yaml`).
    pub spec: Option<PathBuf>,
}

/// Whether the run uses the sandbox test values (numbers whose payouts FAIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum SandboxValues {
    /// Try one test value at the start; use them if the server honours it
    /// (never on a production host).
    #[default]
    Auto,
    /// Assume the server honours them.
    On,
    /// Never send them.
    Off,
}

/// The default bound of a run: ample for a remote sandbox (hundreds of ms
/// per request), and still inside a CI job's usual five-minute patience.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(240);

impl std::fmt::Debug for RunConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("api_key_2", &self.api_key_2.as_ref().map(|_| "<redacted>"))
            .field("checks", &self.checks)
            .field("exclude_checks", &self.exclude_checks)
            .field("max_examples", &self.max_examples)
            .field("workers", &self.workers)
            .field("seed", &self.seed)
            .field("strict", &self.strict)
            .field("max_duration", &self.max_duration)
            .field("fail_fast", &self.fail_fast)
            .field("sandbox_values", &self.sandbox_values)
            .field("max_spend", &self.max_spend)
            .field("spec", &self.spec)
            .finish()
    }
}

impl RunConfig {
    /// Defaults for a server at `base_url`.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        RunConfig {
            base_url: base_url.into(),
            api_key: api_key.into(),
            api_key_2: None,
            checks: Vec::new(),
            exclude_checks: Vec::new(),
            max_examples: DEFAULT_MAX_EXAMPLES,
            workers: 4,
            rate_limit: None,
            request_timeout: Duration::from_secs(10),
            poll_deadline: Duration::from_secs(30),
            seed: None,
            allow_production: false,
            strict: false,
            max_duration: DEFAULT_MAX_DURATION,
            fail_fast: false,
            sandbox_values: SandboxValues::Auto,
            max_spend: None,
            spec: None,
        }
    }

    /// The spec the run judges by: the file in [`RunConfig::spec`], read
    /// and self-checked, or the built-in one.
    pub fn spec(&self) -> Result<Spec, ConfigError> {
        let Some(path) = &self.spec else {
            return Ok(Spec::embedded());
        };
        let problem = |e: String| ConfigError::Spec(path.display().to_string(), e);
        let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
        let spec = Spec::from_yaml(&text).map_err(|e| problem(e.to_string()))?;
        spec.check().map_err(|e| problem(e.to_string()))?;
        Ok(spec)
    }

    /// The selected checks, or the unknown name.
    pub fn selected_checks(&self) -> Result<Vec<&'static CheckInfo>, ConfigError> {
        for name in self.checks.iter().chain(&self.exclude_checks) {
            if checks::by_name(name).is_none() {
                return Err(ConfigError::UnknownCheck(
                    name.clone(),
                    nearest_checks(name),
                ));
            }
        }
        Ok(checks::ALL
            .iter()
            .copied()
            .filter(|c| self.checks.is_empty() || self.checks.iter().any(|n| n == c.name))
            .filter(|c| !self.exclude_checks.iter().any(|n| n == c.name))
            .collect())
    }

    /// Whether the target is a host where payouts move real money.
    pub fn is_production(&self) -> bool {
        url::Url::parse(&self.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .is_some_and(|host| PRODUCTION_HOSTS.contains(&host.as_str()))
    }

    /// Refuses a malformed URL, and a production host unless allowed.
    pub fn check_target(&self) -> Result<(), ConfigError> {
        let unusable = |why: String| ConfigError::BaseUrl(self.base_url.clone(), why);
        // `127.0.0.1:8080/v1` fails to parse, `localhost:8080/v1` parses
        // with the scheme `localhost`: both lack `http://`.
        if !self.base_url.contains("://") {
            return Err(unusable(format!(
                "it has no scheme; write it as http://{0} (or https://{0})",
                self.base_url
            )));
        }
        let url = url::Url::parse(&self.base_url).map_err(|e| unusable(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(unusable("the scheme must be http or https".into()));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if self.is_production() && !self.allow_production {
            return Err(ConfigError::Production(host));
        }
        if self.is_production() && self.sandbox_values == SandboxValues::On {
            return Err(ConfigError::SandboxValuesOnProduction(host));
        }
        if self.api_key.trim().is_empty() {
            return Err(ConfigError::NoKey);
        }
        if self.api_key_2.as_deref().map(str::trim) == Some(self.api_key.trim()) {
            return Err(ConfigError::SameKeys);
        }
        Ok(())
    }
}

/// What to suggest for an unknown check name: the known names nearest to
/// it (a typo, a suite's name, part of a name), or how to list them all.
fn nearest_checks(name: &str) -> String {
    let mut near: Vec<(f64, &str)> = checks::ALL
        .iter()
        .map(|c| {
            // A word of the name (`isolation`) counts as near as a typo.
            let score = match c.name.contains(name) && name.len() >= 4 {
                true => 0.9,
                false => strsim::jaro_winkler(name, c.name),
            };
            (score, c.name)
        })
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    near.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let names: Vec<_> = near.iter().take(3).map(|(_, n)| format!("`{n}`")).collect();
    match names.is_empty() {
        true => "`rafiki-contract list-checks` lists every check".to_string(),
        false => format!(
            "did you mean {}? (`rafiki-contract list-checks` lists every check)",
            names.join(" or ")
        ),
    }
}

/// A configuration the run cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown check `{0}`: {1}")]
    UnknownCheck(String, String),
    #[error("--base-url `{0}` is not usable: {1}")]
    BaseUrl(String, String),
    #[error(
        "{0} is production: payouts there move real money; pass --allow-production if you mean it"
    )]
    Production(String),
    #[error("--sandbox-values on: {0} is production, where test values would be real payouts")]
    SandboxValuesOnProduction(String),
    #[error("no API key: pass --api-key or set RAFIKI_API_KEY")]
    NoKey,
    #[error(
        "--api-key-2 is the same key as --api-key: it must be a key of a second account (for tenant_isolation and the money checks); leave it out to skip those"
    )]
    SameKeys,
    #[error("--spec {0}: {1}")]
    Spec(String, String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_is_refused_unless_allowed() {
        let mut config = RunConfig::new("https://rest.prod.rafiki-api.com/v1", "k");
        assert!(matches!(
            config.check_target(),
            Err(ConfigError::Production(_))
        ));
        config.allow_production = true;
        assert!(config.check_target().is_ok());
        assert!(
            RunConfig::new("https://rest.sandbox.rafiki-api.com/v1", "k")
                .check_target()
                .is_ok()
        );
    }

    #[test]
    fn unknown_checks_are_named() {
        let mut config = RunConfig::new("http://127.0.0.1:1/v1", "k");
        config.checks = vec!["no_such_check".into()];
        let error = config.selected_checks().unwrap_err().to_string();
        assert!(
            error.contains("no_such_check") && error.contains("list-checks"),
            "{error}"
        );
        config.checks = vec!["tenant_isolaton".into()];
        let error = config.selected_checks().unwrap_err().to_string();
        assert!(error.contains("did you mean `tenant_isolation`"), "{error}");
        config.checks = vec!["isolation".into()];
        let error = config.selected_checks().unwrap_err().to_string();
        assert!(error.contains("`tenant_isolation`"), "{error}");
    }

    #[test]
    fn a_url_without_a_scheme_is_told_how_to_write_it() {
        for url in ["127.0.0.1:20080/v1", "localhost:8080/v1"] {
            let error = RunConfig::new(url, "k").check_target().unwrap_err();
            assert!(
                error.to_string().contains(&format!("http://{url}")),
                "{error}"
            );
        }
    }

    #[test]
    fn debug_hides_keys() {
        let mut config = RunConfig::new("http://x/v1", "sk_secret_one");
        config.api_key_2 = Some("sk_secret_two".into());
        let text = format!("{config:?}");
        assert!(!text.contains("secret"), "{text}");
    }
}
