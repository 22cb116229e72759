//! Bank accounts must name a bank the mock lists in GET /banks, and a
//! branch of *that* bank: standalone (POST /payment-accounts) and inline
//! (POST /payouts). Ids are taken from GET /banks itself.

mod common;

use common::{Env, dec, error_fields, payout_json, start};
use reqwest::Method;
use serde_json::{Value, json};

/// A bank id GET /banks does not list (well formed).
const UNLISTED_BANK: &str = "bnk-2WLXz9ZzZ9zZ9zZ9zZ9zZ9zZ9zZ";
/// A branch id no listed bank has (well formed).
const UNLISTED_BRANCH: &str = "brn-2WLXz9ZzZ9zZ9zZ9zZ9zZ9zZ9zZ";

/// What the test needs from GET /banks.
struct Listed {
    /// A bank with branches, and one of its branches.
    bank: String,
    branch: String,
    /// A branch of another bank.
    foreign_branch: String,
    /// A bank without branches.
    branchless: String,
}

async fn listed(env: &Env) -> Listed {
    let (status, body) = env.get_v1("/banks").await;
    assert_eq!(status, 200, "{body}");
    let banks = body["data"].as_array().unwrap();
    let branches = |bank: &Value| -> Vec<String> {
        bank["branches"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| b["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let with: Vec<&Value> = banks.iter().filter(|b| !branches(b).is_empty()).collect();
    let without = banks.iter().find(|b| branches(b).is_empty()).unwrap();
    assert!(with.len() >= 2, "two banks with branches");
    Listed {
        bank: with[0]["id"].as_str().unwrap().to_owned(),
        branch: branches(with[0])[0].clone(),
        foreign_branch: branches(with[1])[0].clone(),
        branchless: without["id"].as_str().unwrap().to_owned(),
    }
}

/// A KE bank account with `bank_id`, optionally `branch_id`, and `number`.
fn bank_account(bank_id: &str, branch_id: Option<&str>, number: &str) -> Value {
    let mut block = json!({"bank_id": bank_id, "number": number});
    if let Some(branch) = branch_id {
        block["branch_id"] = json!(branch);
    }
    json!({
        "type": "BANK_ACCOUNT", "country": "KE",
        "holder": {"type": "BUSINESS", "name": "Duka Ltd"},
        "bank_account": block
    })
}

/// A payout of 1000.00 KES to `account` inline.
fn payout_to(account: Value) -> Value {
    let mut body = payout_json("+254712345678", "1000.00");
    body["payment_account"] = account;
    body
}

async fn post_account(env: &Env, account: Value) -> (u16, Value) {
    env.call(Method::POST, "/v1/payment-accounts", Some(account))
        .await
}

#[tokio::test]
async fn standalone_accounts_name_the_unknown_bank_or_branch() {
    let env = start().await;
    let banks = listed(&env).await;
    let cases = [
        (UNLISTED_BANK, None, "bank_account.bank_id"),
        // The branch of an unlisted bank is not judged: the bank is the fault.
        (
            UNLISTED_BANK,
            Some(banks.branch.as_str()),
            "bank_account.bank_id",
        ),
        (
            banks.bank.as_str(),
            Some(UNLISTED_BRANCH),
            "bank_account.branch_id",
        ),
        (
            banks.bank.as_str(),
            Some(banks.foreign_branch.as_str()),
            "bank_account.branch_id",
        ),
        (
            banks.branchless.as_str(),
            Some(banks.branch.as_str()),
            "bank_account.branch_id",
        ),
    ];
    for (bank, branch, path) in cases {
        let (status, body) = post_account(&env, bank_account(bank, branch, "0123456789")).await;
        assert_eq!(status, 422, "{bank} {branch:?}: {body}");
        assert_eq!(body["code"], "VALIDATION_FAILED");
        assert_eq!(error_fields(&body), [path], "{bank} {branch:?}");
    }
    assert_eq!(env.mock.store().counts(common::KEY), Some((0, 0)));
}

#[tokio::test]
async fn listed_banks_with_or_without_their_branch_are_accepted_standalone() {
    let env = start().await;
    let banks = listed(&env).await;
    for (i, (bank, branch)) in [
        (banks.bank.as_str(), None),
        (banks.bank.as_str(), Some(banks.branch.as_str())),
        (banks.branchless.as_str(), None),
    ]
    .into_iter()
    .enumerate()
    {
        let account = bank_account(bank, branch, &format!("012345678{i}"));
        let (status, body) = post_account(&env, account.clone()).await;
        assert_eq!(status, 201, "{bank} {branch:?}: {body}");
        assert_eq!(body["data"]["bank_account"], account["bank_account"]);
        let (again, _) = post_account(&env, account).await;
        assert_eq!(again, 200, "get-or-create still finds it");
    }
}

#[tokio::test]
async fn inline_accounts_in_payouts_name_the_unknown_bank_or_branch_and_reserve_nothing() {
    let env = start().await;
    let banks = listed(&env).await;
    let cases = [
        (UNLISTED_BANK, None, "payment_account.bank_account.bank_id"),
        (
            banks.bank.as_str(),
            Some(UNLISTED_BRANCH),
            "payment_account.bank_account.branch_id",
        ),
        (
            banks.bank.as_str(),
            Some(banks.foreign_branch.as_str()),
            "payment_account.bank_account.branch_id",
        ),
    ];
    for (i, (bank, branch, path)) in cases.into_iter().enumerate() {
        let body = payout_to(bank_account(bank, branch, "0123456789"));
        let key = format!("bank-fault-{i}");
        let (status, answer) = env.post_payout(&body, &key).await;
        assert_eq!(status, 422, "{bank} {branch:?}: {answer}");
        assert_eq!(error_fields(&answer), [path], "{bank} {branch:?}");
        // Stored for replay like any other 422.
        assert_eq!(env.post_payout(&body, &key).await, (status, answer));
    }
    assert_eq!(env.mock.store().counts(common::KEY), Some((0, 0)));
    assert_eq!(
        env.balances().await,
        (dec("10000000.00"), dec("10000000.00"))
    );
}

#[tokio::test]
async fn inline_accounts_at_listed_banks_are_paid_and_known_accounts_by_id_too() {
    let env = start().await;
    let banks = listed(&env).await;
    let mut account_ids = Vec::new();
    for (i, branch) in [None, Some(banks.branch.as_str())].into_iter().enumerate() {
        let body = payout_to(bank_account(&banks.bank, branch, "0123456789"));
        let (status, answer) = env.post_payout(&body, &format!("listed-{i}")).await;
        assert_eq!(status, 202, "{branch:?}: {answer}");
        account_ids.push(answer["data"]["payment_account_id"].clone());
    }
    assert_ne!(
        account_ids[0], account_ids[1],
        "the branch is part of the identity"
    );
    let (status, answer) = env.get_v1("/payment-accounts").await;
    assert_eq!(status, 200);
    let stored = answer["data"].as_array().unwrap();
    assert!(
        stored
            .iter()
            .any(|a| a["bank_account"]["branch_id"] == json!(banks.branch))
    );

    // A payout by payment_account_id names an account the mock already knows.
    let mut by_id = payout_json("+254712345678", "1000.00");
    by_id.as_object_mut().unwrap().remove("payment_account");
    by_id["payment_account_id"] = account_ids[1].clone();
    let (status, answer) = env.post_payout(&by_id, "by-id").await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        env.wallet().await.available,
        dec("9997000.00"),
        "three payouts reserved"
    );
}

#[tokio::test]
async fn bank_faults_are_merged_with_the_other_violations() {
    let env = start().await;
    let banks = listed(&env).await;
    let (status, body) = post_account(&env, bank_account(UNLISTED_BANK, None, "01-23")).await;
    assert_eq!(status, 422);
    assert_eq!(
        error_fields(&body),
        ["bank_account.bank_id", "bank_account.number"]
    );

    let mut payout = payout_to(bank_account(
        &banks.bank,
        Some(&banks.foreign_branch),
        "0123456789",
    ));
    payout["amount"]["value"] = json!("1.00");
    let (status, body) = env.post_payout(&payout, "merged").await;
    assert_eq!(status, 422);
    assert_eq!(
        error_fields(&body),
        ["amount.value", "payment_account.bank_account.branch_id"]
    );

    // A malformed id is a format fault only, reported once.
    let (status, body) = post_account(&env, bank_account("bank-1", None, "0123456789")).await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["bank_account.bank_id"]);
    assert_eq!(
        body["errors"]["fields"]["bank_account.bank_id"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_branch_required_variant_refuses_a_bank_with_branches_without_one() {
    let env = common::start_configured("10000000.00", |config| {
        config.branch_required = true;
    })
    .await;
    let banks = listed(&env).await;
    let (status, body) = post_account(&env, bank_account(&banks.bank, None, "0123456789")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["bank_account.branch_id"]);
    let message = body["errors"]["fields"]["bank_account.branch_id"][0]
        .as_str()
        .unwrap();
    assert!(message.contains("GET /banks"), "{message}");
    let inline = payout_to(bank_account(&banks.bank, None, "0123456789"));
    let (status, body) = env.post_payout(&inline, "no-branch").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        error_fields(&body),
        ["payment_account.bank_account.branch_id"]
    );
    // With its branch, and a bank without branches without one: accepted.
    let with_branch = bank_account(&banks.bank, Some(&banks.branch), "0123456789");
    assert_eq!(post_account(&env, with_branch).await.0, 201);
    let branchless = payout_to(bank_account(&banks.branchless, None, "0123456789"));
    assert_eq!(env.post_payout(&branchless, "branchless").await.0, 202);
}
