//! How an event reaches the receiver: signed as the provider signs it
//! (`rafiki_rules::webhooks`, with the documented headers), or broken in
//! one way, each as a [`Probe`] whose reproduction is a shell script that
//! signs again when it is run (a signature is only good near its
//! timestamp) and names the key as `$RAFIKI_WEBHOOK_SIGNING_KEY`. What the
//! digest is made over is ours until the receiver is found to verify
//! another reading of the documented header ([`Signer::adopt`]).

use std::sync::{Arc, OnceLock};

use hyper::Method;
use rafiki_rules::webhooks::{PAYOUT_STATE_UPDATED, SIGNATURE_HEADER, SignedText, TYPE_HEADER};
use serde_json::Value;

use super::event::Event;
use crate::http::{JSON, KeySlot, Probe, body_bytes, shell_quote};

/// The `User-Agent` the provider's deliveries carry.
const USER_AGENT: &str = "Rafiki-Webhooks/1.0";

/// How far past the tolerance a stale or future timestamp is: clear of
/// any clock skew between this machine and the receiver's.
pub(super) const MARGIN_SECS: u64 = 60;

/// One way of delivering an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// As the provider sends it.
    Signed,
    /// Signed, then its body changed.
    Tampered,
    /// Signed with a key that is not the receiver's.
    WrongKey,
    /// Without a signature header.
    Unsigned,
    /// With a signature header of the wrong shape (a timestamp, no digest).
    Malformed,
    /// Signed with a timestamp older than the tolerance.
    Stale,
    /// Signed with a timestamp further ahead than the tolerance.
    Future,
}

impl Delivery {
    /// What was wrong with it, in words, after the event's own description.
    pub(super) fn describe(self, tolerance: u64) -> String {
        let off = tolerance + MARGIN_SECS;
        match self {
            Delivery::Signed => "signed with the signing key".into(),
            Delivery::Tampered => "signed, then its amount changed".into(),
            Delivery::WrongKey => "signed with another key".into(),
            Delivery::Unsigned => format!("without {SIGNATURE_HEADER}"),
            Delivery::Malformed => format!("with {SIGNATURE_HEADER}: t=<now> (no v1 digest)"),
            Delivery::Stale => format!("signed with a timestamp {off} s old"),
            Delivery::Future => format!("signed with a timestamp {off} s ahead"),
        }
    }

    /// A forgery: nothing the provider ever sends, whatever the clock.
    pub(super) fn forged(self) -> bool {
        matches!(
            self,
            Delivery::Tampered | Delivery::WrongKey | Delivery::Unsigned | Delivery::Malformed
        )
    }
}

/// Makes deliveries to one receiver.
pub(super) struct Signer {
    target: String,
    key: String,
    /// Another key, made up for this run (never the receiver's).
    wrong_key: String,
    tolerance: u64,
    /// The receiver's reading of what is signed, once found to be another
    /// than ours.
    adopted: OnceLock<SignedText>,
}

impl Signer {
    pub(super) fn new(target: &str, key: &str, tolerance: u64) -> Self {
        Signer {
            target: target.to_string(),
            key: key.to_string(),
            wrong_key: format!("whsk_not_the_receivers_{}", uuid::Uuid::new_v4().simple()),
            tolerance,
            adopted: OnceLock::new(),
        }
    }

    /// What the digests are made over: ours, or the receiver's once adopted.
    pub(super) fn signed_text(&self) -> SignedText {
        self.adopted
            .get()
            .copied()
            .unwrap_or(SignedText::TimestampDotBody)
    }

    /// Signs over `text` from now on (once; a second call changes nothing).
    pub(super) fn adopt(&self, text: SignedText) {
        let _ = self.adopted.set(text);
    }

    /// `event` delivered as `delivery` says, signed now.
    pub(super) fn probe(&self, event: &Event, delivery: Delivery) -> Probe {
        self.probe_as(event, delivery, self.signed_text())
    }

    /// [`Signer::probe`], the digest made over `text`.
    pub(super) fn probe_as(&self, event: &Event, delivery: Delivery, text: SignedText) -> Probe {
        let signed = &event.body;
        let sent = match delivery {
            Delivery::Tampered => event.tampered(),
            _ => signed.clone(),
        };
        let reproduction = self.script(delivery, &event.body, &sent, text);
        let t = chrono::Utc::now().timestamp() + self.offset(delivery);
        let key = match delivery {
            Delivery::WrongKey => &self.wrong_key,
            _ => &self.key,
        };
        let signature = match delivery {
            Delivery::Unsigned => None,
            Delivery::Malformed => Some(format!("t={t}")),
            _ => Some(text.header(key, t, &body_bytes(signed))),
        };
        let mut headers = vec![
            ("User-Agent", USER_AGENT.to_string()),
            (TYPE_HEADER, PAYOUT_STATE_UPDATED.to_string()),
        ];
        headers.extend(signature.map(|value| (SIGNATURE_HEADER, value)));
        Probe {
            operation: None,
            method: Method::POST,
            key: KeySlot::None,
            body: Some(Arc::new(sent.clone())),
            body_type: Some(JSON),
            headers,
            reproduction: Some(reproduction),
            ..Probe::get("", self.target.clone())
        }
    }

    /// The shell script that delivers `event` as `delivery` says (what
    /// [`Signer::probe`]'s reproduction is).
    pub(super) fn reproduction(&self, event: &Event, delivery: Delivery) -> String {
        let sent = match delivery {
            Delivery::Tampered => event.tampered(),
            _ => event.body.clone(),
        };
        self.script(delivery, &event.body, &sent, self.signed_text())
    }

    /// Seconds the timestamp is moved from now.
    fn offset(&self, delivery: Delivery) -> i64 {
        let off = i64::try_from(self.tolerance + MARGIN_SECS).unwrap_or(i64::MAX / 2);
        match delivery {
            Delivery::Stale => -off,
            Delivery::Future => off,
            _ => 0,
        }
    }

    /// A shell script that delivers the same way again, signing at the
    /// time it is run (with openssl), the key read from the environment.
    fn script(&self, delivery: Delivery, signed: &Value, sent: &Value, over: SignedText) -> String {
        let text = |json: &Value| String::from_utf8(body_bytes(json)).expect("JSON is UTF-8");
        let mut lines = vec![format!("body={}", shell_quote(&text(sent)))];
        let off = self.tolerance + MARGIN_SECS;
        lines.push(match delivery {
            Delivery::Stale => format!("t=$(($(date +%s) - {off}))"),
            Delivery::Future => format!("t=$(($(date +%s) + {off}))"),
            _ => "t=$(date +%s)".to_string(),
        });
        let signed_variable = match delivery {
            Delivery::Tampered => {
                lines.push(format!("signed={}", shell_quote(&text(signed))));
                "$signed"
            }
            _ => "$body",
        };
        let key = match delivery {
            // Made up for this run: printing it gives nothing away.
            Delivery::WrongKey => shell_quote(&self.wrong_key),
            _ => "\"$RAFIKI_WEBHOOK_SIGNING_KEY\"".to_string(),
        };
        let printed = match over {
            SignedText::TimestampDotBody => format!("'%s.%s' \"$t\" \"{signed_variable}\""),
            SignedText::TimestampBody => format!("'%s%s' \"$t\" \"{signed_variable}\""),
            SignedText::Body => format!("'%s' \"{signed_variable}\""),
        };
        let digest =
            format!("$(printf {printed} | openssl dgst -sha256 -hmac {key} | sed 's/^.*= //')");
        let signature = match delivery {
            Delivery::Unsigned => String::new(),
            Delivery::Malformed => format!(" -H \"{SIGNATURE_HEADER}: t=$t\""),
            _ => format!(" -H \"{SIGNATURE_HEADER}: t=$t, v1={digest}\""),
        };
        lines.push(format!(
            "curl -sS -i -X POST {} -H {} -H {} -H {}{signature} --data-raw \"$body\"",
            shell_quote(&self.target),
            shell_quote(&format!("Content-Type: {JSON}")),
            shell_quote(&format!("User-Agent: {USER_AGENT}")),
            shell_quote(&format!("{TYPE_HEADER}: {PAYOUT_STATE_UPDATED}")),
        ));
        lines.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::event::TestPayout;
    use rafiki_rules::lifecycle::StateCode;

    const KEY: &str = "whsk_test_delivery_key";

    fn event() -> Event {
        TestPayout::fresh(chrono::Utc::now()).event(StateCode::Sent, chrono::Utc::now())
    }

    fn header<'p>(probe: &'p Probe, name: &str) -> Option<&'p str> {
        probe
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The bytes sent and whether the signature holds for them, now.
    fn verdict(probe: &Probe) -> Result<i64, rafiki_rules::webhooks::SignatureError> {
        let sent = body_bytes(probe.body.as_deref().unwrap());
        rafiki_rules::webhooks::verify_signature(
            header(probe, SIGNATURE_HEADER),
            &sent,
            KEY,
            300,
            chrono::Utc::now().timestamp(),
        )
    }

    #[test]
    fn only_the_signed_delivery_verifies_and_each_other_fails_its_own_way() {
        use rafiki_rules::webhooks::SignatureError as E;
        let signer = Signer::new("http://127.0.0.1:1/webhooks", KEY, 300);
        let event = event();
        let of = |delivery| verdict(&signer.probe(&event, delivery));
        assert!(of(Delivery::Signed).is_ok());
        assert_eq!(of(Delivery::Tampered), Err(E::Mismatch));
        assert_eq!(of(Delivery::WrongKey), Err(E::Mismatch));
        assert_eq!(of(Delivery::Unsigned), Err(E::Missing));
        assert!(matches!(of(Delivery::Malformed), Err(E::Malformed(_))));
        assert!(matches!(of(Delivery::Stale), Err(E::TooOld { age, .. }) if age >= 360));
        assert!(matches!(of(Delivery::Future), Err(E::InFuture { ahead, .. }) if ahead >= 360));
        let probe = signer.probe(&event, Delivery::Signed);
        assert_eq!(header(&probe, TYPE_HEADER), Some(PAYOUT_STATE_UPDATED));
        assert_eq!(header(&probe, "User-Agent"), Some(USER_AGENT));
    }

    /// The reproduction, run by a shell with `curl` standing in, sends
    /// the body the probe sent and a signature that verifies (or fails)
    /// as the probe's did; the key comes from the environment.
    #[test]
    fn the_reproduction_signs_again_when_run() {
        if std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_err()
        {
            eprintln!("no openssl here: the reproduction is not run");
            return;
        }
        let signer = Signer::new("http://127.0.0.1:1/webhooks", KEY, 300);
        let event = event();
        for delivery in [
            Delivery::Signed,
            Delivery::Tampered,
            Delivery::WrongKey,
            Delivery::Stale,
        ] {
            let probe = signer.probe(&event, delivery);
            let script = probe.reproduction.clone().unwrap();
            assert!(!script.contains(KEY), "{script}");
            // A stand-in curl prints the signature header, then the body.
            let fake_curl = r#"curl() { for a; do case "$a" in X-Rafiki-Webhook-Signature:*) printf '%s\n' "${a#*: }";; esac; done; printf '%s' "$body"; }"#;
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{fake_curl}; {script}"))
                .env("RAFIKI_WEBHOOK_SIGNING_KEY", KEY)
                .output()
                .unwrap();
            let out = String::from_utf8(out.stdout).unwrap();
            let (signature, body) = out.split_once('\n').unwrap();
            assert_eq!(body.as_bytes(), body_bytes(probe.body.as_deref().unwrap()));
            let again = rafiki_rules::webhooks::verify_signature(
                Some(signature),
                body.as_bytes(),
                KEY,
                300,
                chrono::Utc::now().timestamp(),
            );
            let kind =
                |result: Result<i64, _>| result.map(|_| ()).map_err(|e| std::mem::discriminant(&e));
            assert_eq!(kind(again), kind(verdict(&probe)), "{delivery:?}: {script}");
        }
    }
}
