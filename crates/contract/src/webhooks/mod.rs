//! `rafiki-contract webhooks`: holds an application's webhook receiver to
//! the webhook contract. It sends the receiver `payout.state-updated`
//! events ([`event`]), signed as the provider signs them or broken in one
//! way each ([`delivery`]), and judges its answers: a genuine event is
//! acknowledged (2xx), a forged or stale one refused (ours: a warning), a
//! duplicate acknowledged. Given the page where the application shows a
//! payout ([`view`], `--observe`), it also judges what the events did
//! there: a forged or stale event changed nothing, refused or not, a
//! duplicate counted once, a late event did not take the payout back.
//!
//! Like the proxy, it records into the suite's [`Report`] (terminal,
//! JUnit, JSON) with checks of its own, and needs no engine: a dozen
//! requests, one after the other, except the copies sent at once.

mod delivery;
mod event;
mod view;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use rafiki_rules::lifecycle::StateCode;
use rafiki_rules::webhooks::SignedText;

use crate::catalogue::{CheckInfo, check_list};
use crate::coverage::Coverage;
use crate::http::{Client, Exchange};
use crate::report::{Recorder, Report};
use delivery::{Delivery, MARGIN_SECS, Signer};
use event::{Event, TestPayout};
use view::{Shown, View};

check_list! { WEBHOOK_CHECKS;
    WEBHOOK_SIGNED_ACCEPTED = "webhook_signed_accepted": "a correctly signed event is acknowledged with a 2xx within --timeout",
        basis: "the provider's webhooks page: the receiver acknowledges an event with a 2xx, and an event not acknowledged is sent again; what the v1 digest is made over is not documented: ours is HMAC-SHA256 in hex over \"<t>.<raw body>\", and a first event refused that way is sent again signed over the raw body alone and over \"<t><raw body>\": a reading the receiver acknowledges is used from then on and the refusal only warns; refused every way, it fails (and the refusal checks are skipped: refusing shows nothing). No answer within --timeout warns (the provider names no time), as does a refused late event (that events come in any order is ours)";
    WEBHOOK_TAMPERED_REFUSED = "webhook_tampered_refused": "an event whose body was changed after signing is refused (not 2xx)",
        basis: "ours, so it warns: the provider's webhooks page makes the signature what guarantees that an event is genuine and comes from the provider, but names no answer for a forgery; a receiver may acknowledge one and drop it, so whether it was taken is webhook_refused_no_effect's to judge (with --observe); judged only where a genuine event is acknowledged";
    WEBHOOK_WRONG_KEY_REFUSED = "webhook_wrong_key_refused": "an event signed with another key is refused (not 2xx)",
        basis: "as webhook_tampered_refused: the provider signs with the signing key it made for the receiver's configuration; an event signed with any other key is not from it";
    WEBHOOK_SIGNATURE_MISSING_REFUSED = "webhook_signature_missing_refused": "an event without X-Rafiki-Webhook-Signature, or with a malformed one, is refused (not 2xx)",
        basis: "as webhook_tampered_refused: every event carries the documented X-Rafiki-Webhook-Signature (t=<unix seconds>, v1=<hex digest>); one without it, or with a timestamp and no digest, cannot be shown genuine";
    WEBHOOK_UNTIMELY_REFUSED = "webhook_untimely_refused": "an event whose signature's timestamp is further than --tolerance from now, old or ahead, is refused (not 2xx)",
        basis: "ours, so it warns: the signed timestamp is there to stop a captured event being replayed, but the provider names no tolerance; we hold the receiver to --tolerance (default 300 s) and send timestamps 60 s past it either way, clear of clock skew";
    WEBHOOK_DUPLICATE_ACKNOWLEDGED = "webhook_duplicate_acknowledged": "an event delivered again, and in copies at once, is acknowledged every time",
        basis: "ours, so it warns: the provider sends an event again until it is acknowledged, so one whose acknowledgement was lost comes again; that every delivery carries the event's id, so that refusing a seen id refuses the event for ever, is our reading (docs/contract.md, \"Webhooks\"; fidelity U-19)";
    WEBHOOK_REFUSED_NO_EFFECT = "webhook_refused_no_effect": "an event the receiver should refuse (forged, untimely) changes nothing in its view of the payout (404, or another state), refused or not",
        basis: "needs --observe; the signature guarantees that an event is genuine (the provider's webhooks page): a forged event (changed, another key, unsigned, malformed) that shows in the view fails, whether the receiver refused or acknowledged it; a stale or future one refused and shown only warns (the tolerance is ours; one acknowledged is webhook_untimely_refused's)";
    WEBHOOK_DUPLICATE_ONE_EFFECT = "webhook_duplicate_one_effect": "an event delivered several times is applied once (the view's count of applied events is 1)",
        basis: "ours, so it warns: needs --observe and a count of the events applied to the payout at --effects-pointer (default /events_applied) in the view (skipped without one); an event comes again until it is acknowledged, and that each delivery carries its id, by which a receiver applies it once, is our reading (fidelity U-19)";
    WEBHOOK_STALE_STATE_IGNORED = "webhook_stale_state_ignored": "a late event with an earlier state (PENDING after SENT) leaves the view at the later state",
        basis: "ours, so it warns: needs --observe; the documented lifecycle never goes back (PENDING to SENT, FAILED or CANCELLED; SENT to REVERSED), but that events may come in any order, and that PENDING sends one, are our reading (fidelity U-19); a receiver keeps the furthest state, and a view taken back to PENDING warns";
}

/// Copies of one event sent at once.
const COPIES: usize = 4;

/// When a genuine event is delivered, as far as judging its answer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// The session's first: refused, it was tried signed every way.
    First,
    /// Any other, in order.
    OnTime,
    /// Older than an event already delivered for its payout.
    Late,
}

/// How `rafiki-contract webhooks` runs. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct WebhookConfig {
    /// The receiver's URL, where events are POSTed.
    pub target: String,
    /// The key the receiver verifies signatures with.
    pub signing_key: String,
    /// Where the application shows a payout as JSON: a URL with `{id}`
    /// (`http://127.0.0.1:3000/payouts/{id}`); `None` skips the effect checks.
    pub observe: Option<String>,
    /// JSON pointer to the state code in the view.
    pub state_pointer: String,
    /// JSON pointer to the view's count of events applied to the payout.
    pub effects_pointer: String,
    /// How far a signature's timestamp may be from the receiver's clock.
    pub tolerance: Duration,
    /// How long the receiver (and the view) has to answer a request.
    pub timeout: Duration,
    /// How long an acknowledged event may take to show in the view.
    pub settle: Duration,
    /// Warnings count as failures.
    pub strict: bool,
}

impl WebhookConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_SETTLE: Duration = Duration::from_secs(10);
    pub const DEFAULT_STATE_POINTER: &str = "/state/code";
    pub const DEFAULT_EFFECTS_POINTER: &str = "/events_applied";

    /// Checks the receiver at `target`, verifying with `signing_key`; no
    /// view, the defaults otherwise.
    pub fn new(target: impl Into<String>, signing_key: impl Into<String>) -> Self {
        WebhookConfig {
            target: target.into(),
            signing_key: signing_key.into(),
            observe: None,
            state_pointer: Self::DEFAULT_STATE_POINTER.into(),
            effects_pointer: Self::DEFAULT_EFFECTS_POINTER.into(),
            tolerance: Duration::from_secs(rafiki_rules::webhooks::DEFAULT_TOLERANCE_SECS),
            timeout: Self::DEFAULT_TIMEOUT,
            settle: Self::DEFAULT_SETTLE,
            strict: false,
        }
    }

    /// The view, once every option reads right; else what to write instead.
    fn checked(&self) -> Result<Option<View>, WebhookError> {
        let usage = |text: String| Err(WebhookError::Usage(text));
        if !is_http_url(&self.target) {
            return usage(format!(
                "--target {} is not an http or https URL (e.g. http://127.0.0.1:3000/webhooks)",
                self.target
            ));
        }
        if self.signing_key.is_empty() {
            return usage(
                "no signing key: pass --signing-key or set RAFIKI_WEBHOOK_SIGNING_KEY".into(),
            );
        }
        if self.timeout.is_zero() {
            return usage("--timeout must be more than 0 s".into());
        }
        for (option, pointer) in [
            ("--state-pointer", &self.state_pointer),
            ("--effects-pointer", &self.effects_pointer),
        ] {
            if !pointer.starts_with('/') {
                return usage(format!(
                    "{option} {pointer} is not a JSON pointer: it starts with / (e.g. {})",
                    match option {
                        "--state-pointer" => Self::DEFAULT_STATE_POINTER,
                        _ => Self::DEFAULT_EFFECTS_POINTER,
                    }
                ));
            }
        }
        let Some(template) = &self.observe else {
            return Ok(None);
        };
        if !template.contains("{id}") || !is_http_url(&template.replace("{id}", "pyt-1")) {
            return usage(format!(
                "--observe {template} is not a URL with {{id}} where the payout's id goes \
                 (e.g. http://127.0.0.1:3000/payouts/{{id}})"
            ));
        }
        Ok(Some(View {
            template: template.clone(),
            state_pointer: self.state_pointer.clone(),
            effects_pointer: self.effects_pointer.clone(),
        }))
    }
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("target", &self.target)
            .field("signing_key", &"<redacted>")
            .field("observe", &self.observe)
            .field("state_pointer", &self.state_pointer)
            .field("effects_pointer", &self.effects_pointer)
            .field("tolerance", &self.tolerance)
            .field("timeout", &self.timeout)
            .field("settle", &self.settle)
            .field("strict", &self.strict)
            .finish()
    }
}

fn is_http_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

/// Why the receiver was not checked.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// An option that does not read right, and what to write instead.
    #[error("{0}")]
    Usage(String),
    /// No connection to the receiver or to the view.
    #[error("cannot reach {what} at {url}: {reason}")]
    Unreachable {
        what: &'static str,
        url: String,
        reason: String,
    },
}

/// Sends the receiver in `config` its events and judges what it does.
pub async fn check_receiver(config: &WebhookConfig) -> Result<Report, WebhookError> {
    let view = config.checked()?;
    let started = Instant::now();
    let client = Client::without_keys(config.timeout, "--timeout", COPIES);
    let unreachable = |what, url: &str| {
        let url = url.to_string();
        move |reason| WebhookError::Unreachable { what, url, reason }
    };
    client
        .connect_to(&config.target)
        .await
        .map_err(unreachable("the receiver", &config.target))?;
    if let Some(view) = &view {
        let url = view.url("pyt-1");
        client
            .connect_to(&url)
            .await
            .map_err(unreachable("the application's view (--observe)", &url))?;
    }
    let session = Session {
        signer: Signer::new(
            &config.target,
            &config.signing_key,
            config.tolerance.as_secs(),
        ),
        recorder: Recorder::new(0, config.strict, WEBHOOK_CHECKS).observing(),
        client,
        config,
        view,
    };
    session.run().await;
    let mut report = session.recorder.close(
        &[],
        session.client.requests_sent(),
        started.elapsed(),
        Coverage::default(),
    );
    report.base_url = Some(config.target.clone());
    redact(&mut report, &config.signing_key);
    Ok(report)
}

/// One check of a receiver.
struct Session<'c> {
    client: Client,
    signer: Signer,
    recorder: Recorder,
    config: &'c WebhookConfig,
    view: Option<View>,
}

/// A delivery the receiver was meant to refuse, kept to judge its effect.
struct Refusal {
    delivery: Delivery,
    event: Event,
    exchange: Exchange,
}

/// A genuine event, and whether its (first) delivery was acknowledged.
struct Told {
    event: Event,
    acknowledged: bool,
}

/// A SENT event, then a PENDING one of the same payout, a minute older.
struct Overtaken {
    sent: Event,
    late: Event,
    /// Whether the SENT event was acknowledged.
    acknowledged: bool,
}

/// What was delivered, kept to judge its effects.
struct Effects {
    refusals: Vec<Refusal>,
    /// Delivered once, again, and in copies at once.
    duplicated: Told,
    overtaken: Overtaken,
}

fn acknowledged(exchange: &Exchange) -> bool {
    (200..300).contains(&exchange.status())
}

impl Session<'_> {
    async fn run(&self) {
        let now = Utc::now();
        let fresh = || TestPayout::fresh(now);

        // A genuine event first: refusing the others means something only
        // when such an event is acknowledged.
        let genuine_acknowledged = self.deliver_first(&fresh, now).await;

        let mut refusals = Vec::new();
        for (check, delivery) in [
            (&WEBHOOK_TAMPERED_REFUSED, Delivery::Tampered),
            (&WEBHOOK_WRONG_KEY_REFUSED, Delivery::WrongKey),
            (&WEBHOOK_SIGNATURE_MISSING_REFUSED, Delivery::Unsigned),
            (&WEBHOOK_SIGNATURE_MISSING_REFUSED, Delivery::Malformed),
            (&WEBHOOK_UNTIMELY_REFUSED, Delivery::Stale),
            (&WEBHOOK_UNTIMELY_REFUSED, Delivery::Future),
        ] {
            let event = fresh().event(StateCode::Sent, now);
            let exchange = self.client.send(self.signer.probe(&event, delivery)).await;
            self.judge_refusal(check, delivery, &event, &exchange, genuine_acknowledged);
            refusals.push(Refusal {
                delivery,
                event,
                exchange,
            });
        }

        let duplicated = fresh().event(StateCode::Sent, now);
        let first = self.deliver_genuine(&duplicated).await;
        self.deliver_duplicates(&duplicated, first).await;

        // A payout SENT, then an event of its PENDING state, a minute older.
        let payout = fresh();
        let sent = payout.event(StateCode::Sent, now);
        let overtaken = self.deliver_genuine(&sent).await;
        let late = payout.event(StateCode::Pending, now - TimeDelta::minutes(1));
        let exchange = self.deliver(&late).await;
        self.judge_genuine(&late, &exchange, Moment::Late);

        let effects = Effects {
            refusals,
            duplicated: Told {
                event: duplicated,
                acknowledged: first,
            },
            overtaken: Overtaken {
                sent,
                late,
                acknowledged: overtaken,
            },
        };
        match &self.view {
            Some(view) => self.judge_effects(view, effects).await,
            None => {
                for check in [
                    &WEBHOOK_REFUSED_NO_EFFECT,
                    &WEBHOOK_DUPLICATE_ONE_EFFECT,
                    &WEBHOOK_STALE_STATE_IGNORED,
                ] {
                    self.recorder.skip(
                        check,
                        "no --observe: the application's view of a payout is needed to see \
                         what an event did",
                    );
                }
            }
        }
    }

    /// Delivers `event` signed.
    async fn deliver(&self, event: &Event) -> Exchange {
        self.client
            .send(self.signer.probe(event, Delivery::Signed))
            .await
    }

    /// Delivers `event` signed, judging that it is acknowledged; whether it was.
    async fn deliver_genuine(&self, event: &Event) -> bool {
        let exchange = self.deliver(event).await;
        self.judge_genuine(event, &exchange, Moment::OnTime)
    }

    /// The first genuine event, signed as the mock signs. Refused with an
    /// answer, a fresh one is signed over each other reading of the
    /// documented header in turn (the provider does not say what it
    /// signs: fidelity U-18); the first the receiver acknowledges is its
    /// reading, which the session then signs with, and the refusal of ours
    /// only warns. Whether a genuine event was acknowledged.
    async fn deliver_first(&self, fresh: &impl Fn() -> TestPayout, now: DateTime<Utc>) -> bool {
        let event = fresh().event(StateCode::Sent, now);
        let exchange = self.deliver(&event).await;
        if acknowledged(&exchange) || exchange.answer.is_err() {
            return self.judge_genuine(&event, &exchange, Moment::OnTime);
        }
        let ours = self.signer.signed_text();
        for text in SignedText::ALL.into_iter().filter(|t| *t != ours) {
            let other = fresh().event(StateCode::Sent, now);
            let tried = self
                .client
                .send(self.signer.probe_as(&other, Delivery::Signed, text))
                .await;
            if acknowledged(&tried) {
                self.signer.adopt(text);
                let expected = format!(
                    "an event signed as the provider is taken to sign (HMAC-SHA256 over {}) is \
                     acknowledged; the receiver refused it, and acknowledged one signed over {}: \
                     another reading of the documented header, which the checks go on with \
                     (the mock signs over {})",
                    ours.describe(),
                    text.describe(),
                    ours.describe()
                );
                self.recorder.warn(
                    &WEBHOOK_SIGNED_ACCEPTED,
                    expected,
                    Some(&exchange),
                    Some(event.describe()),
                );
                return true;
            }
        }
        self.judge_genuine(&event, &exchange, Moment::First)
    }

    /// Judges a genuine event's answer: a 2xx passes. No answer within
    /// `--timeout` warns (the provider names no time), and so does a
    /// refused late event (that events come late is our reading); any
    /// other refusal, or no answer at all, fails. Whether it was
    /// acknowledged.
    fn judge_genuine(&self, event: &Event, exchange: &Exchange, moment: Moment) -> bool {
        if acknowledged(exchange) {
            self.recorder.pass(&WEBHOOK_SIGNED_ACCEPTED);
            return true;
        }
        let timeout = self.config.timeout.as_secs_f64();
        let mut expected = format!(
            "a correctly signed event is acknowledged with a 2xx within {timeout} s \
             (--timeout); until it is, the provider sends it again ({})",
            event.describe()
        );
        if moment == Moment::First {
            let readings: Vec<&str> = SignedText::ALL.iter().map(|t| t.describe()).collect();
            expected.push_str(&format!(
                "; it was refused signed over each reading of the documented header: {}",
                readings.join(", ")
            ));
        }
        let input = Some(event.describe());
        if exchange.timed_out() {
            let expected =
                format!("{expected}; the provider names no time to answer in, {timeout} s is ours");
            self.recorder
                .warn(&WEBHOOK_SIGNED_ACCEPTED, expected, Some(exchange), input);
        } else if moment == Moment::Late && exchange.answer.is_ok() {
            let expected = format!(
                "{expected}; it comes late (a minute older than the payout's SENT event), and \
                 that events may come in any order is our reading (fidelity U-19)"
            );
            self.recorder
                .warn(&WEBHOOK_SIGNED_ACCEPTED, expected, Some(exchange), input);
        } else {
            self.recorder
                .fail(&WEBHOOK_SIGNED_ACCEPTED, expected, Some(exchange), input);
        }
        false
    }

    /// Judges a delivery the receiver should refuse.
    fn judge_refusal(
        &self,
        check: &'static CheckInfo,
        delivery: Delivery,
        event: &Event,
        exchange: &Exchange,
        genuine_acknowledged: bool,
    ) {
        let tolerance = self.config.tolerance.as_secs();
        if !genuine_acknowledged {
            return self.recorder.skip(
                check,
                "a correctly signed event was not acknowledged either (webhook_signed_accepted), \
                 so a refusal shows nothing",
            );
        }
        if !acknowledged(exchange) {
            return self.recorder.pass(check);
        }
        let input = Some(format!(
            "{}, {}",
            event.describe(),
            delivery.describe(tolerance)
        ));
        let off = tolerance + MARGIN_SECS;
        match delivery {
            Delivery::Stale | Delivery::Future => {
                let when = match delivery {
                    Delivery::Stale => format!("{off} s old"),
                    _ => format!("{off} s ahead"),
                };
                let expected = format!(
                    "an event whose signature's timestamp is {when}, past the tolerance of \
                     {tolerance} s (--tolerance), is refused (not 2xx), so that a captured \
                     event cannot be replayed"
                );
                self.recorder.warn(check, expected, Some(exchange), input);
            }
            _ => {
                let what = match delivery {
                    Delivery::Tampered => "whose body was changed after it was signed",
                    Delivery::WrongKey => "signed with a key that is not the receiver's",
                    Delivery::Unsigned => "without a signature",
                    _ => "with a malformed signature (a timestamp and no v1 digest)",
                };
                // Acknowledging it is not taking it: the provider names no
                // answer for a forgery, and the view (webhook_refused_no_effect)
                // shows whether it was taken.
                let seen = match self.view {
                    Some(_) => "webhook_refused_no_effect judges whether the view took it",
                    None => "whether the application took it is not seen without --observe",
                };
                let expected = format!(
                    "an event {what} is refused (not 2xx): the provider did not sign it, \
                     and anyone can send one ({seen})"
                );
                self.recorder.warn(check, expected, Some(exchange), input);
            }
        }
    }

    /// Delivers `event` again, then in copies at once, judging that each
    /// is acknowledged (it was delivered once before: `first` says
    /// whether that was acknowledged).
    async fn deliver_duplicates(&self, event: &Event, first: bool) {
        let check = &WEBHOOK_DUPLICATE_ACKNOWLEDGED;
        if !first {
            return self.recorder.skip(
                check,
                "its first delivery was not acknowledged (webhook_signed_accepted)",
            );
        }
        let again = self
            .client
            .send(self.signer.probe(event, Delivery::Signed))
            .await;
        match acknowledged(&again) {
            true => self.recorder.pass(check),
            false => self.recorder.warn(
                check,
                "an event delivered again (same id, same body) is acknowledged with a 2xx; \
                 until it is, the provider sends it again",
                Some(&again),
                Some(event.describe()),
            ),
        }
        let probe = self.signer.probe(event, Delivery::Signed);
        let copies = self.client.send_together(vec![probe; COPIES]).await;
        let refused: Vec<&Exchange> = copies.iter().filter(|c| !acknowledged(c)).collect();
        match refused.first() {
            None => self.recorder.pass(check),
            Some(exchange) => self.recorder.warn(
                check,
                format!(
                    "each of {} copies of an event delivered at once is acknowledged with a \
                     2xx; {} were not",
                    copies.len(),
                    refused.len()
                ),
                Some(exchange),
                Some(format!(
                    "{}, sent {} times at once after two deliveries",
                    event.describe(),
                    copies.len()
                )),
            ),
        }
    }

    /// Judges what the events did in the application's view, once the
    /// view shows a last genuine event (so an application that applies
    /// events after acknowledging them has applied the earlier ones).
    async fn judge_effects(&self, view: &View, effects: Effects) {
        let checks = [
            &WEBHOOK_REFUSED_NO_EFFECT,
            &WEBHOOK_DUPLICATE_ONE_EFFECT,
            &WEBHOOK_STALE_STATE_IGNORED,
        ];
        let now = Utc::now();
        let marker = TestPayout::fresh(now).event(StateCode::Sent, now);
        if !self.deliver_genuine(&marker).await {
            for check in checks {
                self.recorder.skip(
                    check,
                    "a correctly signed event was not acknowledged (webhook_signed_accepted), \
                     so the view has nothing to show",
                );
            }
            return;
        }
        let sent = StateCode::Sent.to_string();
        let (shows, read) = view
            .until_shown(&self.client, &marker.payout_id, &sent, self.config.settle)
            .await;
        if !shows {
            let reason = format!(
                "the view ({}) did not show {sent} at {} within {} s of acknowledging the event \
                 of {} (the events name payouts the application never made; one that ignores \
                 unknown payouts shows none): last read {}",
                view.url(&marker.payout_id),
                view.state_pointer,
                self.config.settle.as_secs_f64(),
                marker.payout_id,
                read.summary()
            );
            for check in checks {
                self.recorder.skip(check, reason.clone());
            }
            return;
        }
        for refusal in &effects.refusals {
            self.judge_no_effect(view, refusal).await;
        }
        self.judge_one_effect(view, &effects.duplicated, view.effects(&read))
            .await;
        self.judge_not_overtaken(view, &effects.overtaken).await;
    }

    /// A delivery to refuse, refused or acknowledged: its payout is not
    /// shown in the delivered state.
    async fn judge_no_effect(&self, view: &View, refusal: &Refusal) {
        let check = &WEBHOOK_REFUSED_NO_EFFECT;
        let Refusal {
            delivery,
            event,
            exchange,
        } = refusal;
        // An untimely event acknowledged warns in its refusal check already
        // (the tolerance is ours); a forged one's refusal only warns, and
        // taking it is judged here.
        if acknowledged(exchange) && !delivery.forged() {
            return self.recorder.skip(
                check,
                "the receiver acknowledged an untimely event (webhook_untimely_refused reports it)",
            );
        }
        let read = view.read(&self.client, &event.payout_id).await;
        let state = event.state.to_string();
        match view.shown(&read) {
            Shown::Unknown => self.recorder.pass(check),
            Shown::State(Some(shown)) if shown != state => self.recorder.pass(check),
            Shown::State(Some(_)) => {
                let tolerance = self.config.tolerance.as_secs();
                let answered = match acknowledged(exchange) {
                    true => "acknowledged",
                    false => "refused",
                };
                let expected = format!(
                    "an event the receiver should refuse ({answered} with HTTP {}) changes \
                     nothing: the view of {} is 404 or not {state}",
                    exchange.status(),
                    event.payout_id
                );
                let input = Some(format!(
                    "{}, {}",
                    event.describe(),
                    delivery.describe(tolerance)
                ));
                let read = after(&read, &[self.signer.reproduction(event, *delivery)]);
                match delivery.forged() {
                    true => self.recorder.fail(check, expected, Some(&read), input),
                    false => self.recorder.warn(check, expected, Some(&read), input),
                }
            }
            Shown::State(None) | Shown::Unreadable => self.recorder.skip(
                check,
                format!(
                    "the view of a payout it was never told of answered {}, neither 404 nor a \
                     state at {}",
                    read.summary(),
                    view.state_pointer
                ),
            ),
        }
    }

    /// The duplicated event counts once in the view, which counts what it
    /// applied: `marker_count` is its count for an event delivered once.
    async fn judge_one_effect(&self, view: &View, duplicated: &Told, marker_count: Option<u64>) {
        let Told {
            event,
            acknowledged: first,
        } = duplicated;
        let check = &WEBHOOK_DUPLICATE_ONE_EFFECT;
        let pointer = &view.effects_pointer;
        match marker_count {
            None => {
                return self.recorder.skip(
                    check,
                    format!(
                        "the view has no count of the events applied to a payout at {pointer} \
                         (--effects-pointer)"
                    ),
                );
            }
            Some(1) => {}
            Some(count) => {
                return self.recorder.skip(
                    check,
                    format!(
                        "the view counts {count} events applied at {pointer} for a payout told \
                         of once, so the count is not of the events applied"
                    ),
                );
            }
        }
        if !first {
            return self.recorder.skip(
                check,
                "its first delivery was not acknowledged (webhook_signed_accepted)",
            );
        }
        let read = view.read(&self.client, &event.payout_id).await;
        let once = self.signer.reproduction(event, Delivery::Signed);
        let copies: Vec<String> = (1..=COPIES).map(|copy| copy.to_string()).collect();
        let deliveries = format!(
            "{once}; {once}; for copy in {}; do ({once}) & done; wait",
            copies.join(" ")
        );
        match view.effects(&read) {
            Some(1) => self.recorder.pass(check),
            Some(count) if count > 1 => self.recorder.warn(
                check,
                format!(
                    "an event delivered {} times (once, again, then {COPIES} copies at once) is \
                     applied once: the view counts {count} at {pointer}",
                    2 + COPIES
                ),
                Some(&after(&read, &[deliveries])),
                Some(event.describe()),
            ),
            _ => self.recorder.skip(
                check,
                format!(
                    "the view of {} shows no count of at least 1 at {pointer}, though its event \
                     was acknowledged: {}",
                    event.payout_id,
                    read.summary()
                ),
            ),
        }
    }

    /// A payout told SENT, then PENDING by an older event, stays SENT.
    async fn judge_not_overtaken(&self, view: &View, overtaken: &Overtaken) {
        let Overtaken {
            sent,
            late,
            acknowledged,
        } = overtaken;
        let check = &WEBHOOK_STALE_STATE_IGNORED;
        if !acknowledged {
            return self.recorder.skip(
                check,
                "its SENT event was not acknowledged (webhook_signed_accepted)",
            );
        }
        let read = view.read(&self.client, &sent.payout_id).await;
        let expected = sent.state.to_string();
        match view.shown(&read) {
            Shown::State(Some(shown)) if shown == expected => self.recorder.pass(check),
            Shown::State(Some(shown)) if shown == StateCode::Pending.to_string() => {
                self.recorder.warn(
                    check,
                    format!(
                        "a payout told {expected}, then PENDING by an event a minute older, \
                         stays {expected} (the lifecycle never goes back): the view shows {shown}"
                    ),
                    Some(&after(
                        &read,
                        &[
                            self.signer.reproduction(sent, Delivery::Signed),
                            self.signer.reproduction(late, Delivery::Signed),
                        ],
                    )),
                    Some(format!("{}, then {}", sent.describe(), late.describe())),
                )
            }
            _ => self.recorder.skip(
                check,
                format!(
                    "the view of {} does not show {expected} at {}, though its event was \
                     acknowledged: {}",
                    sent.payout_id,
                    view.state_pointer,
                    read.summary()
                ),
            ),
        }
    }
}

/// `read` (of the view), reproduced: the deliveries `steps` first, then
/// the read itself.
fn after(read: &Exchange, steps: &[String]) -> Exchange {
    let mut read = read.clone();
    let script = format!("{}; {}", steps.join("; "), read.curl());
    read.probe.reproduction = Some(script);
    read
}

/// Takes the signing key out of every text of `report`, should the
/// receiver have echoed it. (A key of a few characters would match
/// ordinary text and could not be told apart from it anyway.)
fn redact(report: &mut Report, key: &str) {
    if key.len() < 6 {
        return;
    }
    let clean = |text: &mut String| {
        if text.contains(key) {
            *text = text.replace(key, "<signing key>");
        }
    };
    for check in &mut report.checks {
        if let Some(reason) = &mut check.skip_reason {
            clean(reason);
        }
        for case in check.failures.iter_mut().chain(check.warnings.iter_mut()) {
            clean(&mut case.expected);
            clean(&mut case.actual);
            for text in [&mut case.input, &mut case.curl].into_iter().flatten() {
                clean(text);
            }
        }
    }
}
