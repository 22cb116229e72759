//! The fixed list of Kenyan banks (and branches) GET /banks answers, the
//! same for every account. Ids are constants so that tests and demos can
//! hard-code them.

use std::sync::LazyLock;

use rafiki_rules::wire::{Bank, Branch};

/// `(id, name, [(branch id, branch name)])`.
type BankRow = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const BANKS: &[BankRow] = &[
    (
        "bnk-2WLXb8bP6sS7QRvA6AFGp7NhGs7",
        "Equity Bank Kenya",
        &[
            ("brn-2WLXbB7nQ1kP0aZ3mV5tY8uR4eW", "Nairobi Main"),
            ("brn-2WLXbC9pR2lQ1bA4nW6uZ9vS5fX", "Mombasa Digo Road"),
        ],
    ),
    (
        "bnk-2WLXc3KcB1rT8pHq0sVd6YmNe4F",
        "KCB Bank Kenya",
        &[
            ("brn-2WLXc5MdC2sU9qIr1tWe7ZnOf5G", "Moi Avenue"),
            ("brn-2WLXc6NeD3tV0rJs2uXf8AoPg6H", "Kisumu"),
        ],
    ),
    (
        "bnk-2WLXd7QgF4uW1sKt3vYg9BpQh7J",
        "Co-operative Bank of Kenya",
        &[
            ("brn-2WLXd8RhG5vX2tLu4wZh0CqRi8K", "Co-op House"),
            ("brn-2WLXd9SiH6wY3uMv5xAi1DrSj9L", "Nakuru"),
        ],
    ),
    ("bnk-2WLXe1TjI7xZ4vNw6yBj2EsTk0M", "NCBA Bank Kenya", &[]),
    ("bnk-2WLXe2UkJ8yA5wOx7zCk3FtUl1N", "Absa Bank Kenya", &[]),
];

/// Every bank, in a stable order. Banks without branches omit `branches`.
pub fn all() -> &'static [Bank] {
    static LIST: LazyLock<Vec<Bank>> = LazyLock::new(|| {
        BANKS
            .iter()
            .map(|(id, name, branches)| Bank {
                id: (*id).to_owned(),
                name: (*name).to_owned(),
                country: "KE".to_owned(),
                branches: (!branches.is_empty()).then(|| {
                    branches
                        .iter()
                        .map(|(id, name)| Branch {
                            id: (*id).to_owned(),
                            name: (*name).to_owned(),
                        })
                        .collect()
                }),
            })
            .collect()
    });
    &LIST
}

#[cfg(test)]
mod tests {
    use rafiki_rules::format::{IdKind, is_id};

    #[test]
    fn ids_are_well_formed_and_unique() {
        let banks = super::all();
        let mut ids: Vec<&str> = Vec::new();
        for bank in banks {
            assert!(is_id(IdKind::Bank, &bank.id), "{}", bank.id);
            ids.push(&bank.id);
            for branch in bank.branches.iter().flatten() {
                assert!(is_id(IdKind::Branch, &branch.id), "{}", branch.id);
                ids.push(&branch.id);
            }
        }
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
        assert!(ids.iter().all(|id| id.len() == 4 + crate::ids::ID_LEN));
    }
}
