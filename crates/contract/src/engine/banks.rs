//! The server's own banks: a valid BANK_ACCOUNT request must name a bank
//! (and a branch of that bank) that the server lists in `GET /banks`, so
//! generated bank accounts get their ids from that list, never invented.
//! With no bank listed for a country, its bank-account cases are skipped
//! with the reason.

use serde_json::{Value, json};

/// One listed bank: its id, country and branch ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBank {
    pub id: String,
    pub country: String,
    pub branches: Vec<String>,
}

/// What `GET /banks` listed (empty when it could not be read).
#[derive(Debug, Clone, Default)]
pub struct Banks {
    listed: Vec<ListedBank>,
}

impl Banks {
    /// Reads a `GET /banks` body (`{data: [Bank]}`); entries without an id
    /// are ignored.
    pub fn from_body(body: Option<&Value>) -> Self {
        let listed = body
            .and_then(|b| b.get("data"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|bank| {
                Some(ListedBank {
                    id: bank.get("id")?.as_str()?.to_string(),
                    country: bank
                        .get("country")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    branches: bank
                        .get("branches")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|b| b.get("id")?.as_str().map(str::to_string))
                        .collect(),
                })
            })
            .collect();
        Banks { listed }
    }

    /// The banks listed for `country`.
    pub fn in_country<'a>(&'a self, country: &'a str) -> impl Iterator<Item = &'a ListedBank> + 'a {
        self.listed.iter().filter(move |b| b.country == country)
    }

    pub fn has_country(&self, country: &str) -> bool {
        self.in_country(country).next().is_some()
    }

    /// Points the bank account at `pointer` in `body` (e.g.
    /// `/payment_account`) to a listed bank of the account's country, and to
    /// one of that bank's branches or none; the choice is stable, taken from
    /// the (invented) bank id the body had. A body without a bank account is
    /// left alone; `false` when the country has no listed bank.
    pub fn assign(&self, body: &mut Value, pointer: &str) -> bool {
        let invented = body
            .pointer(&format!("{pointer}/bank_account/bank_id"))
            .and_then(Value::as_str);
        let pick = invented.map_or(0, |id| id.bytes().map(usize::from).sum());
        self.assign_choice(body, pointer, pick)
    }

    /// [`Banks::assign`] with the `pick`-th choice.
    fn assign_choice(&self, body: &mut Value, pointer: &str, pick: usize) -> bool {
        let Some(account) = body.pointer_mut(pointer) else {
            return true;
        };
        let Some(country) = account
            .get("country")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return true;
        };
        let Some(details) = account
            .get_mut("bank_account")
            .and_then(Value::as_object_mut)
        else {
            return true;
        };
        let banks: Vec<&ListedBank> = self.in_country(&country).collect();
        let Some(bank) = banks.get(pick % banks.len().max(1)) else {
            return false;
        };
        details.insert("bank_id".into(), json!(bank.id));
        // One of the bank's branches when it has any: the provider's v1
        // document requires `branch_id` when a bank has several branches
        // (`docs/contract.md#banks`), so a valid body never
        // leaves it out there; a bank without branches gets none.
        if bank.branches.is_empty() {
            details.remove("branch_id");
        } else {
            let branch = &bank.branches[(pick / banks.len()) % bank.branches.len()];
            details.insert("branch_id".into(), json!(branch));
        }
        true
    }

    /// A well-formed bank id that no listed bank has.
    pub fn unlisted_bank_id(&self) -> String {
        (0..)
            .map(|n| format!("bnk-ContractUnlisted{n}"))
            .find(|id| self.listed.iter().all(|b| &b.id != id))
            .expect("a free id")
    }

    /// A listed bank and a branch that is not one of its own (another
    /// bank's, or a well-formed unlisted one), for `country`.
    pub fn foreign_branch(&self, country: &str) -> Option<(String, String)> {
        let bank = self.in_country(country).next()?;
        let other = self
            .listed
            .iter()
            .filter(|b| b.id != bank.id)
            .flat_map(|b| b.branches.iter())
            .find(|br| !bank.branches.contains(br));
        let branch = other.cloned().unwrap_or_else(|| {
            (0..)
                .map(|n| format!("brn-ContractUnlisted{n}"))
                .find(|id| !bank.branches.contains(id))
                .expect("a free id")
        });
        Some((bank.id.clone(), branch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn banks() -> Banks {
        Banks::from_body(Some(&json!({"data": [
            {"id": "bnk-a", "name": "A", "country": "KE", "branches": [{"id": "brn-a1", "name": "x"}]},
            {"id": "bnk-b", "name": "B", "country": "KE"},
            {"id": "bnk-u", "name": "U", "country": "UG", "branches": [{"id": "brn-u1", "name": "y"}]}
        ]})))
    }

    #[test]
    fn bank_accounts_get_listed_banks_and_their_own_branches() {
        let banks = banks();
        for pick in 0..12 {
            let mut body = json!({"payment_account": {"type": "BANK_ACCOUNT", "country": "KE",
                "bank_account": {"bank_id": "bnk-invented", "branch_id": "brn-invented", "number": "1"}}});
            assert!(banks.assign_choice(&mut body, "/payment_account", pick));
            let details = &body["payment_account"]["bank_account"];
            let bank = banks
                .in_country("KE")
                .find(|b| details["bank_id"] == b.id.as_str())
                .expect("a listed KE bank");
            if let Some(branch) = details.get("branch_id").and_then(Value::as_str) {
                assert!(bank.branches.iter().any(|b| b == branch), "{details}");
            }
        }
        let mut foreign = json!({"type": "BANK_ACCOUNT", "country": "NG", "bank_account": {"bank_id": "bnk-x", "number": "1"}});
        assert!(!banks.assign(&mut foreign, ""), "no NG bank listed");
        let mut mobile = json!({"type": "MOBILE_MONEY", "country": "NG"});
        assert!(banks.assign(&mut mobile, ""), "nothing to assign");
    }

    #[test]
    fn unlisted_ids_are_unlisted() {
        let banks = banks();
        assert!(
            banks
                .listed
                .iter()
                .all(|b| b.id != banks.unlisted_bank_id())
        );
        let (bank, branch) = banks.foreign_branch("KE").unwrap();
        assert_eq!(bank, "bnk-a");
        assert_eq!(branch, "brn-u1");
        assert!(Banks::default().foreign_branch("KE").is_none());
    }
}
