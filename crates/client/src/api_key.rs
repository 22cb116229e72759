//! The API key, kept out of `Debug`, `Display` and logs.

use std::fmt;

/// A Rafiki API key. Its `Debug` and `Display` print `ApiKey(<redacted>)`,
/// so it can sit in structs that are logged without leaking.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key. Surrounding whitespace (e.g. from an env file) is trimmed.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into().trim().to_string())
    }

    /// Reads the key from an environment variable (e.g. `RAFIKI_API_KEY`).
    pub fn from_env(var: &str) -> Result<Self, std::env::VarError> {
        std::env::var(var).map(ApiKey::new)
    }

    /// The secret itself; only for building the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        ApiKey::new(key)
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        ApiKey::new(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_secret() {
        let key = ApiKey::new(" sk_live_very_secret \n");
        assert_eq!(key.expose(), "sk_live_very_secret");
        assert!(!format!("{key:?} {key} {:#?}", Some(&key)).contains("very_secret"));
    }
}
