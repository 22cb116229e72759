//! The legal variations of `rafiki_mock::Config` (and [`Variant`]): each
//! changes one behaviour the real API may show, and leaves the rest as the
//! default mock has it.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{DELAY, Env, KEY, OTHER_KEY, dec, error_fields, payout_json, start, start_configured};
use futures::future::join_all;
use rafiki_mock::support::{self, SupportPlan};
use rafiki_mock::{Config, StartError, Variant, legal_variants};
use rafiki_rules::ComplianceTable;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// A payout body of `amount` to a number that the sandbox sends.
fn payout(amount: &str) -> Value {
    payout_json("+254712345678", amount)
}

// ---- lenient amounts ------------------------------------------------------

#[tokio::test]
async fn by_default_leading_zero_amounts_are_refused() {
    let env = start().await;
    for amount in ["0140", "00140.50"] {
        let (status, body) = env.post_payout(&payout(amount), amount).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error_fields(&body), ["amount.value"]);
    }
}

#[tokio::test]
async fn lenient_amounts_are_read_as_numbers_and_echoed_as_sent_everywhere() {
    let env = start_configured("10000000.00", |c| c.lenient_amounts = true).await;
    let mut ids = BTreeMap::new();
    for amount in ["0140", "00140.50", "140.00", "0.50e"] {
        let (status, body) = env.post_payout(&payout(amount), amount).await;
        if amount == "0.50e" {
            assert_eq!(status, 422, "still a format fault: {body}");
            let reason = body["errors"]["fields"]["amount.value"][0].as_str();
            assert!(reason.unwrap().contains("0.50e"), "{body}");
            continue;
        }
        assert_eq!(status, 202, "{amount}: {body}");
        assert_eq!(body["data"]["amount"]["value"], amount, "the 202");
        ids.insert(amount, body["data"]["id"].as_str().unwrap().to_owned());
        // A retry replays the same answer.
        assert_eq!(
            env.post_payout(&payout(amount), amount).await,
            (status, body)
        );
    }
    // The reservation is the number, exactly.
    assert_eq!(env.wallet().await.available, dec("9999579.50"));
    for (amount, id) in &ids {
        let (status, body) = env.get_v1(&format!("/payouts/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["amount"]["value"], *amount, "GET {id}");
    }
    let (_, list) = env.get_v1("/payouts").await;
    let listed: BTreeMap<&str, &str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap(),
                p["amount"]["value"].as_str().unwrap(),
            )
        })
        .collect();
    for (amount, id) in &ids {
        assert_eq!(listed[id.as_str()], *amount, "list");
    }
    // The control API's answer shows the payout as sent too.
    // Sent raw: the typed client would read the amount as a number.
    let transition = format!("/_sandbox/payouts/{}/transition", ids["0140"]);
    let (status, cancelled) = env
        .call(Method::POST, &transition, Some(json!({"to": "CANCELLED"})))
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["data"]["amount"]["value"], "0140");

    env.mock.advance(DELAY);
    let (_, sent) = env.get_v1(&format!("/payouts/{}", ids["00140.50"])).await;
    assert_eq!(
        (
            sent["data"]["state"]["code"].as_str(),
            sent["data"]["amount"]["value"].as_str()
        ),
        (Some("SENT"), Some("00140.50"))
    );
    assert_eq!(
        env.balances().await,
        (dec("9999719.50"), dec("9999719.50")),
        "140.50 + 140.00 left the wallet, the cancelled 140 came back"
    );
}

#[tokio::test]
async fn lenient_amounts_meet_the_limits_as_the_numbers_they_spell() {
    let env = start_configured("10000000.00", |c| c.lenient_amounts = true).await;
    for (amount, status, rule_text) in [
        ("0139.99", 422, "at least"),
        ("0500000.01", 422, "at most"),
        ("000", 422, "greater than zero"),
        ("0500000", 202, ""),
    ] {
        let (got, body) = env.post_payout(&payout(amount), amount).await;
        assert_eq!(got, status, "{amount}: {body}");
        if status == 422 {
            assert_eq!(error_fields(&body), ["amount.value"], "{amount}");
            let reason = body["errors"]["fields"]["amount.value"][0]
                .as_str()
                .unwrap();
            assert!(reason.contains(rule_text), "{amount}: {reason}");
        }
    }
}

// ---- slow settlement ------------------------------------------------------

#[tokio::test]
async fn a_delay_of_several_seconds_keeps_payouts_pending_until_it_has_passed() {
    let delay = Duration::from_secs(5);
    let env = start_configured("10000000.00", |c| c.processing_delay = delay).await;
    let created = env.create("+254712345678", "1000.00").await;
    for _ in 0..4 {
        assert_eq!(env.mock.advance(Duration::from_secs(1)), 0);
    }
    assert_eq!(env.mock.advance(Duration::from_millis(999)), 0);
    let (_, pending) = env
        .get_v1(&format!("/payouts/{}", created.id.as_str()))
        .await;
    assert_eq!(pending["data"]["state"]["code"], "PENDING");
    assert_eq!(env.mock.advance(Duration::from_millis(1)), 1);
    let (_, sent) = env
        .get_v1(&format!("/payouts/{}", created.id.as_str()))
        .await;
    assert_eq!(sent["data"]["state"]["code"], "SENT");
}

#[tokio::test]
async fn the_slow_settlement_variant_waits_two_seconds() {
    let env = start_configured("10000000.00", |c| Variant::SlowSettlement.apply(c)).await;
    env.create("+254712345678", "1000.00").await;
    assert_eq!(env.mock.advance(Duration::from_millis(1999)), 0);
    assert_eq!(env.mock.advance(Duration::from_millis(1)), 1);
}

// ---- no control API -------------------------------------------------------

#[tokio::test]
async fn without_the_control_api_every_sandbox_route_is_an_unknown_route() {
    let env = start_configured("10000000.00", |c| c.control_api = false).await;
    let (status, unknown) = env.call(Method::GET, "/no/such/route", None).await;
    assert_eq!(status, 404);
    assert_eq!(unknown["code"], "NOT_FOUND");
    let wallet = env.wallet().await;
    let created = env.create("+254712345678", "1000.00").await;
    let requests = [
        (Method::GET, "/_sandbox/health".to_owned(), None),
        (Method::POST, "/_sandbox/reset".to_owned(), None),
        (
            Method::POST,
            format!("/_sandbox/payouts/{}/transition", created.id.as_str()),
            Some(json!({"to": "CANCELLED"})),
        ),
        (
            Method::POST,
            format!("/_sandbox/wallets/{}/fund", wallet.id.as_str()),
            Some(json!({"amount": "1.00"})),
        ),
        (Method::GET, "/_sandbox/debug/panic".to_owned(), None),
    ];
    for (method, path, body) in requests {
        let (status, answer) = env.call(method.clone(), &path, body).await;
        assert_eq!(
            (status, &answer["code"]),
            (404, &unknown["code"]),
            "{method} {path}"
        );
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("--no-control-api"),
            "{method} {path}: {answer}"
        );
    }
    let (status, _) = env
        .get_v1(&format!("/payouts/{}", created.id.as_str()))
        .await;
    assert_eq!(status, 200, "the API itself is served");
    assert_eq!(
        env.balances().await,
        (dec("10000000.00"), dec("9999000.00"))
    );
}

// ---- autonomous support ---------------------------------------------------

/// `(balance, available)` the model predicts from the payouts' states.
fn model(start: Decimal, payouts: &[(Decimal, String)]) -> (Decimal, Decimal) {
    let sum = |states: &[&str]| -> Decimal {
        payouts
            .iter()
            .filter(|(_, state)| states.contains(&state.as_str()))
            .map(|(amount, _)| *amount)
            .sum()
    };
    (start - sum(&["SENT"]), start - sum(&["PENDING", "SENT"]))
}

/// `(amount, state)` of each payout, as GET answers them now.
async fn states(env: &common::Env, ids: &[String]) -> Vec<(Decimal, String)> {
    let mut out = Vec::new();
    for id in ids {
        let (_, body) = env.get_v1(&format!("/payouts/{id}")).await;
        out.push((
            dec(body["data"]["amount"]["value"].as_str().unwrap()),
            body["data"]["state"]["code"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

#[tokio::test]
async fn autonomous_support_cancels_and_reverses_some_payouts_with_their_wallet_effects() {
    let start_balance = dec("10000000.00");
    let env = start_configured("10000000.00", |c| Variant::AutonomousSupport.apply(c)).await;
    let mut created = Vec::new();
    for i in 0..60 {
        // Every tenth goes to a sandbox number that always fails.
        let number = if i % 10 == 9 {
            "+254700000100"
        } else {
            "+254712345678"
        };
        let amount = format!("{}.{:02}", 150 + i * 7, i);
        created.push((env.create(number, &amount).await, number));
    }
    let ids: Vec<String> = created.iter().map(|(p, _)| p.id.to_string()).collect();
    let all_pending = states(&env, &ids).await;
    assert!(all_pending.iter().all(|(_, s)| s == "PENDING"));
    assert_eq!(env.balances().await, model(start_balance, &all_pending));

    // Due: settled, or cancelled by support.
    assert_eq!(env.mock.advance(DELAY), 60);
    let settled = states(&env, &ids).await;
    assert_eq!(env.balances().await, model(start_balance, &settled));
    // One delay later: support reverses what it planned to.
    let reversals = env.mock.advance(DELAY);
    let done = states(&env, &ids).await;
    assert_eq!(env.balances().await, model(start_balance, &done));
    assert_eq!(env.mock.advance(DELAY * 10), 0, "nothing else happens");

    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    for (((payout, number), (_, mid)), (_, end)) in created.iter().zip(&settled).zip(&done) {
        let plan = support::plan(payout.id.as_str());
        let expected = match (*number, plan) {
            ("+254700000100", _) => ("FAILED", "FAILED"),
            (_, SupportPlan::Cancel) => ("CANCELLED", "CANCELLED"),
            (_, SupportPlan::Reverse) => ("SENT", "REVERSED"),
            (_, SupportPlan::LeaveAlone) => ("SENT", "SENT"),
        };
        assert_eq!(
            (mid.as_str(), end.as_str()),
            expected,
            "{} {plan:?}",
            payout.id.as_str()
        );
        *tally.entry(end.as_str()).or_default() += 1;
    }
    assert_eq!(tally.get("REVERSED").copied().unwrap_or(0), reversals);
    for state in ["CANCELLED", "REVERSED", "SENT", "FAILED"] {
        assert!(
            tally.get(state).is_some_and(|n| *n > 0),
            "some {state}: {tally:?}"
        );
    }
    // The control API is off in this variant.
    let (status, _) = env.call(Method::GET, "/_sandbox/health", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn autonomous_support_is_off_by_default() {
    let env = start().await;
    for _ in 0..12 {
        env.create("+254712345678", "150.00").await;
    }
    env.mock.advance(DELAY);
    assert_eq!(env.mock.advance(DELAY), 0, "no reversals");
    let (_, list) = env.get_v1("/payouts?paging_limit=50").await;
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"]["code"] == "SENT")
    );
    assert_eq!(env.balances().await, (dec("9998200.00"), dec("9998200.00")));
}

// ---- default page size ----------------------------------------------------

#[tokio::test]
async fn lists_without_paging_limit_use_the_default_page_size() {
    let env = start_configured("10000000.00", |c| c.default_page_size = 7).await;
    for i in 0..10 {
        env.create(&format!("+2547123456{i:02}"), "150.00").await;
    }
    for path in ["/payouts", "/payment-accounts"] {
        let (status, first) = env.get_v1(path).await;
        assert_eq!(status, 200);
        assert_eq!(first["data"].as_array().unwrap().len(), 7, "{path}");
        let next = first["meta"]["paging"]["next"].as_str().unwrap();
        assert!(next.contains("paging_limit=7"), "{next}");
        let response = env.http.get(next).bearer_auth(KEY).send().await.unwrap();
        let second: Value = response.json().await.unwrap();
        assert_eq!(second["data"].as_array().unwrap().len(), 3, "{path}");
        assert!(second["meta"]["paging"].get("next").is_none());
        let (_, explicit) = env.get_v1(&format!("{path}?paging_limit=3")).await;
        assert_eq!(
            explicit["data"].as_array().unwrap().len(),
            3,
            "an explicit limit wins"
        );
    }
    let (status, _) = env.get_v1("/payouts?paging_limit=51").await;
    assert_eq!(status, 422, "the bounds of paging_limit are unchanged");
}

#[tokio::test]
async fn the_default_page_size_is_ten_and_must_stay_within_one_to_fifty() {
    let env = start().await;
    for i in 0..12 {
        env.create(&format!("+2547123456{i:02}"), "150.00").await;
    }
    let (_, page) = env.get_v1("/payouts").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 10);
    for size in [0, 51] {
        let config = Config {
            default_page_size: size,
            ..Config::default()
        };
        let error = rafiki_mock::spawn(config).await.err().expect("refused");
        assert!(matches!(error, StartError::Config(_)), "{error}");
        assert!(error.to_string().contains("page size"), "{error}");
    }
}

// ---- compliance table -----------------------------------------------------

/// KE with a higher maximum than the built-in table's 500000.
const WIDER_KE: &str = r#"
countries:
  KE:
    name: Kenya
    limits:
      - {currency: KES, min: "140", max: "600000"}
    mobile_money_operators: [SAFARICOM, AIRTEL]
    sender:
      required: true
      required_fields: [type, name]
"#;

#[tokio::test]
async fn the_mock_validates_with_the_configured_compliance_table() {
    let builtin = start().await;
    let (status, body) = builtin.post_payout(&payout("550000.00"), "big").await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["amount.value".to_owned()])
    );

    let table = Arc::new(ComplianceTable::from_yaml_str(WIDER_KE).unwrap());
    let wider = start_configured("10000000.00", |c| c.compliance = table).await;
    let (status, body) = wider.post_payout(&payout("550000.00"), "big").await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = wider.post_payout(&payout("600000.01"), "too-big").await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["amount.value".to_owned()])
    );
    assert!(
        body["errors"]["fields"]["amount.value"][0]
            .as_str()
            .unwrap()
            .contains("600000")
    );
    // The table's sender rules apply too: no address needed here.
    let mut no_address = payout("1000.00");
    no_address["sender"]
        .as_object_mut()
        .unwrap()
        .remove("address");
    let (status, body) = wider.post_payout(&no_address, "no-address").await;
    assert_eq!(status, 202, "{body}");
}

// ---- a date of birth for every sender -------------------------------------

#[tokio::test]
async fn dob_for_every_sender_refuses_a_business_sender_without_one() {
    let default = start().await;
    let (status, body) = default.post_payout(&payout("1000.00"), "business").await;
    assert_eq!(status, 202, "the default reading: {body}");

    let strict = start_configured("10000000.00", |c| {
        Variant::DobForEverySender.apply(c);
    })
    .await;
    let (status, body) = strict.post_payout(&payout("1000.00"), "business").await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["sender.individual.dob".to_owned()]),
        "{body}"
    );
    let mut with_dob = payout("1000.00");
    with_dob["sender"]["individual"] = json!({"dob": "1980-02-29"});
    let (status, body) = strict.post_payout(&with_dob, "business-dob").await;
    assert_eq!(status, 202, "{body}");
    // An individual needs one in either reading.
    let mut individual = payout("1000.00");
    individual["sender"]["type"] = json!("INDIVIDUAL");
    for env in [&default, &strict] {
        let (status, body) = env.post_payout(&individual, "individual").await;
        assert_eq!(
            (status, error_fields(&body)),
            (422, vec!["sender.individual.dob".to_owned()])
        );
    }
}

// ---- the list of variants -------------------------------------------------

#[test]
fn the_variants_are_listed_by_name() {
    let names: Vec<&str> = legal_variants().into_iter().map(|(name, _)| name).collect();
    for wanted in [
        "leading_zero_amounts",
        "slow_settlement",
        "autonomous_support",
        "page_size_7",
        "key_reuse_refused",
        "created_at_to_exclusive",
        "recipient_outages",
        "branches_unchecked",
        "rate_limited",
        "dob_for_every_sender",
        "branch_required",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
    let defaults = Config::default();
    assert!(defaults.control_api && !defaults.lenient_amounts && !defaults.autonomous_support);
    assert_eq!(defaults.default_page_size, 10);
}

#[tokio::test]
async fn every_variant_serves_the_api() {
    for (name, apply) in legal_variants() {
        let env = start_configured("10000000.00", apply).await;
        // A key that meets no outage (recipient_outages).
        let key = (0..)
            .map(|i| format!("{name}-{i}"))
            .find(|key| !support::is_outage(key))
            .unwrap();
        // A sender with a date of birth: valid in every reading.
        let mut body = payout("150.00");
        body["sender"]["individual"] = json!({"dob": "1980-02-29"});
        let (status, body) = env.post_payout(&body, &key).await;
        assert_eq!(status, 202, "{name}: {body}");
        let (status, list) = env.get_v1("/payouts").await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(list["data"].as_array().unwrap().len(), 1, "{name}");
        env.mock.shutdown().await;
    }
}

// ---- recipient outages ----------------------------------------------------

#[tokio::test]
async fn an_outage_is_a_503_for_the_recipients_type_that_creates_nothing() {
    let env = start_configured("10000000.00", |c| c.recipient_outages = true).await;
    let body = payout("140.00");
    let (down, up): (Vec<String>, Vec<String>) = (0..64)
        .map(|i| format!("outage-key-{i}"))
        .partition(|key| support::is_outage(key));
    assert!(!down.is_empty() && !up.is_empty(), "one key in eight");
    for _ in 0..2 {
        // A retry with the same key meets the same outage: nothing stored.
        let (status, error) = env.post_payout(&body, &down[0]).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (503, Some("PAYOUT_MOBILE_MONEY_TEMPORARILY_UNAVAILABLE")),
            "{error}"
        );
    }
    assert_eq!(
        env.mock.store().counts(KEY),
        Some((0, 0)),
        "nothing created"
    );
    assert_eq!(env.wallet().await.available, dec("10000000.00"));
    let (status, _) = env.post_payout(&body, &up[0]).await;
    assert_eq!(status, 202);
    // An invalid payout is a 422 whatever its key: validation comes first.
    let (status, _) = env.post_payout(&payout("1.00"), &down[0]).await;
    assert_eq!(status, 422);
}

// ---- created_at_to exclusive ----------------------------------------------

/// The ids `GET /payouts?{query}` lists.
async fn listed_ids(env: &Env, query: &str) -> Vec<String> {
    let (status, page) = env.get_v1(&format!("/payouts?{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn created_at_to_exclusive_leaves_out_a_payout_created_at_the_instant() {
    for exclusive in [false, true] {
        let env = start_configured("10000000.00", |c| {
            if exclusive {
                Variant::CreatedAtToExclusive.apply(c);
            }
        })
        .await;
        let mut ids = Vec::new();
        for t in ["2026-01-31T11:59:59.999Z", "2026-01-31T12:00:00Z"] {
            env.clock.set(t.parse().unwrap());
            ids.push(env.create("+254712345678", "150.00").await.id.to_string());
        }
        // The payout created at the bound is listed only when it is inclusive.
        let expected = if exclusive { &ids[..1] } else { &ids[..] };
        let mut listed = listed_ids(&env, "created_at_to=2026-01-31T12:00:00Z").await;
        listed.reverse(); // lists are newest first
        assert_eq!(listed, expected, "exclusive: {exclusive}");
    }
}

// ---- branches unchecked ---------------------------------------------------

/// A KE bank account at `bank_id`, branch `branch_id`.
fn bank_account(bank_id: &str, branch_id: &str, number: &str) -> Value {
    json!({
        "type": "BANK_ACCOUNT", "country": "KE",
        "holder": {"type": "BUSINESS", "name": "Duka Ltd"},
        "bank_account": {"bank_id": bank_id, "branch_id": branch_id, "number": number}
    })
}

/// Two banks GET /banks lists with branches: the first's id and a branch
/// of the second.
async fn bank_and_foreign_branch(env: &Env) -> (String, String) {
    let (status, body) = env.get_v1("/banks").await;
    assert_eq!(status, 200, "{body}");
    let with_branches: Vec<&Value> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|bank| bank["branches"].as_array().is_some_and(|b| !b.is_empty()))
        .collect();
    assert!(with_branches.len() >= 2, "two banks with branches: {body}");
    (
        with_branches[0]["id"].as_str().unwrap().to_owned(),
        with_branches[1]["branches"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[tokio::test]
async fn branches_unchecked_accepts_another_banks_branch_but_not_an_unlisted_bank() {
    let env = start_configured("10000000.00", |c| Variant::BranchesUnchecked.apply(c)).await;
    let (bank, foreign_branch) = bank_and_foreign_branch(&env).await;
    let (status, body) = env
        .call(
            Method::POST,
            "/v1/payment-accounts",
            Some(bank_account(&bank, &foreign_branch, "0123456789")),
        )
        .await;
    assert_eq!(status, 201, "standalone: {body}");
    assert_eq!(body["data"]["bank_account"]["branch_id"], *foreign_branch);
    let mut inline = payout("1000.00");
    inline["payment_account"] = bank_account(&bank, &foreign_branch, "9876543210");
    let (status, body) = env.post_payout(&inline, "foreign-branch").await;
    assert_eq!(status, 202, "inline: {body}");

    // The bank is still checked, and the branch id's format.
    let unlisted_bank = "bnk-2WLXz9ZzZ9zZ9zZ9zZ9zZ9zZ9zZ";
    let (status, body) = env
        .call(
            Method::POST,
            "/v1/payment-accounts",
            Some(bank_account(unlisted_bank, &foreign_branch, "0123456789")),
        )
        .await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["bank_account.bank_id".to_owned()])
    );
    inline["payment_account"] = bank_account(unlisted_bank, &foreign_branch, "9876543210");
    let (status, body) = env.post_payout(&inline, "unlisted-bank").await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["payment_account.bank_account.bank_id".to_owned()])
    );
    let (status, body) = env
        .call(
            Method::POST,
            "/v1/payment-accounts",
            Some(bank_account(&bank, "branch-1", "0123456789")),
        )
        .await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["bank_account.branch_id".to_owned()])
    );
    assert_eq!(env.mock.store().counts(KEY), Some((1, 2)));
}

// ---- rate limited ---------------------------------------------------------

/// What one request got: status, `Retry-After` (whole seconds) and body.
struct Answer {
    key: &'static str,
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

/// `GET /v1{path}` with `key`.
async fn get_as(env: &Env, key: &'static str, path: &str) -> Answer {
    let response = env
        .http
        .get(format!("{}{path}", env.mock.base_url()))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().parse().expect("whole seconds"));
    Answer {
        key,
        status: response.status().as_u16(),
        retry_after,
        body: response.json().await.unwrap(),
    }
}

/// A 429 past the limit: `Retry-After` of at least a second, the envelope.
fn assert_rate_limited(status: u16, retry_after: Option<u64>, body: &Value) {
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    assert_eq!(body["code"], "RATE_LIMITED", "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn rate_limited_keys_are_refused_past_a_burst_each_on_its_own_and_served_after_retry_after() {
    let env = start_configured("10000000.00", |c| Variant::RateLimited.apply(c)).await;
    let unknown = "sk_test_not_an_account_of_the_mock";
    // Sent all at once: whatever the machine's speed, the 30 of a key
    // arrive well within the 2 s it would take to refill 20 tokens.
    let burst = (0..30)
        .flat_map(|_| [KEY, OTHER_KEY, unknown])
        .map(|key| get_as(&env, key, "/wallets"));
    let answers = join_all(burst).await;
    for key in [KEY, OTHER_KEY] {
        let mine: Vec<&Answer> = answers.iter().filter(|a| a.key == key).collect();
        let served = mine.iter().filter(|a| a.status == 200).count();
        let refused: Vec<&&Answer> = mine.iter().filter(|a| a.status != 200).collect();
        assert!(served >= 10, "a full bucket serves 10: {served}");
        assert!(!refused.is_empty(), "a burst of 30 meets the limit");
        for answer in &refused {
            assert_rate_limited(answer.status, answer.retry_after, &answer.body);
        }
    }
    assert!(
        answers
            .iter()
            .filter(|a| a.key == unknown)
            .all(|a| a.status == 401),
        "requests without an account are answered 401, never limited"
    );

    // The control API is not limited, and the journal has every answer.
    let (status, journal) = env.journal("").await;
    assert_eq!(status, 200, "{journal}");
    let entries = journal["data"].as_array().unwrap();
    assert_eq!(entries.len(), 30);
    let limited_in_journal = entries.iter().filter(|e| e["status"] == 429).count();
    let limited_answers = answers
        .iter()
        .filter(|a| a.key == KEY && a.status == 429)
        .count();
    assert_eq!(limited_in_journal, limited_answers);
    assert!(
        entries
            .iter()
            .all(|e| e["faults"] == json!([]) && e["outcome"] == "answered")
    );

    let wait = answers.iter().filter_map(|a| a.retry_after).max().unwrap();
    tokio::time::sleep(Duration::from_secs(wait)).await;
    for key in [KEY, OTHER_KEY] {
        assert_eq!(get_as(&env, key, "/wallets").await.status, 200, "{key}");
    }
}

#[tokio::test]
async fn a_rate_limited_payout_creates_nothing_and_leaves_its_idempotency_key_unused() {
    let env = start_configured("10000000.00", |c| Variant::RateLimited.apply(c)).await;
    let keys: Vec<String> = (0..30).map(|i| format!("burst-{i}")).collect();
    let body = payout("150.00");
    let answers = join_all(keys.iter().map(|key| env.post_payout(&body, key))).await;
    let accepted = answers.iter().filter(|(status, _)| *status == 202).count();
    let limited: Vec<&String> = keys
        .iter()
        .zip(&answers)
        .filter(|(_, (status, _))| *status != 202)
        .map(|(key, _)| key)
        .collect();
    assert!(accepted >= 10 && !limited.is_empty(), "{accepted} accepted");
    for (status, error) in answers.iter().filter(|(status, _)| *status != 202) {
        assert_eq!(
            (*status, error["code"].as_str()),
            (429, Some("RATE_LIMITED"))
        );
    }
    // One payment account: every payout goes to the same recipient.
    assert_eq!(env.mock.store().counts(KEY), Some((accepted, 1)));
    let (_, journal) = env
        .journal(&format!("idempotency_key={}", limited[0]))
        .await;
    assert_eq!(journal["data"][0]["status"], 429, "{journal}");

    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, created) = env.post_payout(&body, limited[0]).await;
    assert_eq!(status, 202, "not a replay of the 429: {created}");
    assert_eq!(env.mock.store().counts(KEY), Some((accepted + 1, 1)));
    let spent = Decimal::from(150 * (accepted + 1));
    assert_eq!(env.wallet().await.available, dec("10000000.00") - spent);
}

#[tokio::test]
async fn created_at_to_exclusive_reads_a_date_as_its_last_second() {
    let env = start_configured("10000000.00", |c| Variant::CreatedAtToExclusive.apply(c)).await;
    let mut ids = Vec::new();
    for t in [
        "2026-01-31T12:00:00Z",
        "2026-01-31T23:59:58.999Z",
        "2026-01-31T23:59:59Z",
        "2026-01-31T23:59:59.500Z",
    ] {
        env.clock.set(t.parse().unwrap());
        ids.push(env.create("+254712345678", "150.00").await.id.to_string());
    }
    // The day is listed up to 23:59:59, which is "before" and left out.
    let mut listed = listed_ids(&env, "created_at_to=2026-01-31").await;
    listed.reverse(); // lists are newest first
    assert_eq!(listed, ids[..2]);
}
