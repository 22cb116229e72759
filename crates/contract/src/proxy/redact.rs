//! Keeping API keys out of everything the proxy prints or writes: the keys
//! the application sent are remembered (in memory only) so that a server
//! that echoes one back cannot leak it into a finding or the record.

use hyper::header::{AUTHORIZATION, HeaderMap};

/// How many distinct keys are remembered (an application uses a few).
const KEYS_REMEMBERED: usize = 64;
/// Shorter values are not keys; replacing them would garble text.
const SHORTEST_KEY: usize = 8;
/// What a key is shown as (the variable a reproduction reads it from).
pub const SHOWN_AS: &str = "$RAFIKI_API_KEY";

/// The keys seen so far.
#[derive(Default)]
pub struct Secrets {
    keys: Vec<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} keys, redacted)", self.keys.len())
    }
}

impl Secrets {
    /// Remembers the key in `headers`' `Authorization`, if any.
    pub fn learn(&mut self, headers: &HeaderMap) {
        let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return;
        };
        let key = value.strip_prefix("Bearer ").unwrap_or(value).trim();
        if key.len() >= SHORTEST_KEY
            && self.keys.len() < KEYS_REMEMBERED
            && !self.keys.iter().any(|k| k == key)
        {
            self.keys.push(key.to_string());
        }
    }

    /// `text` with every remembered key replaced by [`SHOWN_AS`].
    pub fn scrub(&self, text: &str) -> String {
        self.keys
            .iter()
            .filter(|key| text.contains(key.as_str()))
            .fold(text.to_string(), |text, key| {
                text.replace(key.as_str(), SHOWN_AS)
            })
    }
}

/// An `Authorization` value as it may be shown: its scheme only.
pub fn authorization_shown(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} <redacted>"),
        None => "<redacted>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn an_echoed_key_is_scrubbed() {
        let mut secrets = Secrets::default();
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer sk_test_secret_1"),
        );
        secrets.learn(&headers);
        secrets.learn(&headers);
        assert_eq!(
            secrets.scrub(r#"{"message":"bad key sk_test_secret_1"}"#),
            r#"{"message":"bad key $RAFIKI_API_KEY"}"#
        );
        assert!(!format!("{secrets:?}").contains("sk_test"));
        assert_eq!(
            authorization_shown("Bearer sk_test_secret_1"),
            "Bearer <redacted>"
        );
        assert_eq!(authorization_shown("sk_test_secret_1"), "<redacted>");
    }
}
