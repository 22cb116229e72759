//! The client's pre-validation agrees with the server: for payouts the
//! rules crate generates (valid ones and ones with exactly one fault), the
//! verdict of a validating client (accepted or refused) is the mock's 202 or
//! 422 for the same request sent unchecked, on every case; and when the
//! client refuses without sending, the mock refuses too, naming the same
//! properties with the same reasons.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use rafiki_client::{Error, RafikiClient, RetryPolicy, types};
use rafiki_mock::{Config, WalletSeed};
use rafiki_rules::{ComplianceTable, strategies};
use serde_json::{Value, json};

const KEY: &str = "sk_test_client_validation";
const CASES: u32 = 256;

/// What one call of `create_payout` came to.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Accepted,
    /// A 422, with its `errors.fields`, and whether the client gave it.
    Refused {
        fields: HashMap<String, Vec<String>>,
        locally: bool,
    },
}

async fn verdict(client: &RafikiClient, request: &types::PayoutCreateRequest) -> Verdict {
    match client.create_payout(request, None).await {
        Ok(_) => Verdict::Accepted,
        Err(e) => match &e.error {
            Error::Validation(response) => Verdict::Refused {
                fields: response.fields().cloned().unwrap_or_default(),
                locally: response.refused_locally,
            },
            other => panic!("neither 202 nor 422 for {request:?}: {other}"),
        },
    }
}

/// Rules-generated payouts to an inline account (a `payment_account_id`
/// would name an account the mock does not have): valid, or with one fault.
/// Only the fault may be wrong, so what the rules invent and only the server
/// knows is made real: the bank is one the mock lists, and `wallet_id` is
/// left out (the mock picks the wallet) unless it is the fault.
fn payouts(table: Arc<ComplianceTable>, banks: Vec<types::Bank>) -> impl Strategy<Value = Value> {
    let valid = strategies::valid_payout(table.clone()).prop_map(|case| (case.body, None));
    let faulty =
        strategies::payout_with_one_fault(table).prop_map(|case| (case.body, Some(case.path)));
    prop_oneof![valid, faulty]
        .prop_filter("an inline payment account", |(body, _)| {
            body.get("payment_account").is_some() && body.get("payment_account_id").is_none()
        })
        .prop_map(move |(mut body, fault)| {
            let fault = fault.unwrap_or_default();
            if fault != "wallet_id" {
                body.as_object_mut().unwrap().remove("wallet_id");
            }
            if !fault.contains("bank_account") {
                list_bank(&mut body, &banks);
            }
            body
        })
}

/// Points an inline bank account to the first bank the server lists in its
/// country (and that bank's first branch, if it has any).
fn list_bank(body: &mut Value, banks: &[types::Bank]) {
    let account = &mut body["payment_account"];
    let country = account["country"].as_str().unwrap_or_default().to_owned();
    let Some(details) = account
        .get_mut("bank_account")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let Some(bank) = banks.iter().find(|b| b.country.as_str() == country) else {
        return;
    };
    details.insert("bank_id".into(), json!(bank.id));
    match bank.branches.first() {
        Some(branch) => details.insert("branch_id".into(), json!(branch.id)),
        None => details.remove("branch_id"),
    };
}

#[test]
fn the_clients_verdict_is_the_mocks_on_every_generated_payout() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let table = Arc::new(ComplianceTable::builtin().clone());
    // A wallet in every currency the table serves, never short.
    let wallets: Vec<WalletSeed> = table
        .countries()
        .flat_map(|country| country.currencies())
        .map(|currency| WalletSeed {
            currency: currency.to_owned(),
            balance: "1000000000000.00".parse().unwrap(),
        })
        .collect();
    let mock = runtime
        .block_on(rafiki_mock::spawn(Config::with_keys([KEY], &wallets)))
        .unwrap();
    let build = |validate: bool| {
        RafikiClient::builder(mock.base_url(), KEY)
            .retry_policy(RetryPolicy::none())
            .validate_requests(validate)
            .build()
            .unwrap()
    };
    let (checking, unchecked) = (build(true), build(false));
    let banks = runtime.block_on(checking.list_banks()).unwrap();

    let tally: RefCell<HashMap<&str, u32>> = RefCell::default();
    let count = |outcome| *tally.borrow_mut().entry(outcome).or_default() += 1;
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let result = runner.run(&payouts(table, banks), |body| {
        // Some faults (a number for a string, an unknown enum value) cannot
        // be put into the generated types at all: the type system refuses them.
        let Ok(request) = serde_json::from_value::<types::PayoutCreateRequest>(body) else {
            count("not expressible in the typed request");
            return Ok(());
        };
        let (client, server) = runtime.block_on(async {
            (
                verdict(&checking, &request).await,
                verdict(&unchecked, &request).await,
            )
        });
        match (&client, &server) {
            (Verdict::Accepted, Verdict::Accepted) => {
                count("accepted by both");
            }
            (
                Verdict::Refused {
                    fields: mine,
                    locally: true,
                },
                Verdict::Refused { fields: theirs, .. },
            ) => {
                count("refused by the client, unsent");
                for (path, reasons) in mine {
                    prop_assert_eq!(
                        theirs.get(path),
                        Some(reasons),
                        "the client refused {} but the mock's 422 says {:?}",
                        path,
                        theirs
                    );
                }
            }
            (Verdict::Refused { locally: false, .. }, Verdict::Refused { .. }) => {
                // Only our stricter reading, or the server's state, refuses it.
                count("sent, refused by the mock");
            }
            _ => prop_assert!(
                false,
                "the client says {:?}, the mock says {:?} for {:?}",
                client,
                server,
                request
            ),
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let tally = tally.into_inner();
    println!("{tally:#?}");
    for outcome in [
        "accepted by both",
        "refused by the client, unsent",
        "sent, refused by the mock",
    ] {
        assert!(
            tally.get(outcome).copied().unwrap_or(0) >= 5,
            "too few cases were {outcome}: {tally:?}"
        );
    }
}
