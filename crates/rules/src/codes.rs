//! Reference code lists: ISO 3166-1 alpha-2 country codes and the ISO 4217
//! codes of currencies in circulation. The data comes from the
//! `rust_iso3166` and `rust_iso4217` crates, whose maintainers regenerate it
//! from the ISO lists (so a new or withdrawn code arrives with a dependency
//! update, not a hand edit); this module only decides which of their codes
//! count, and offers each list sorted. Codes are matched exactly: upper case,
//! no surrounding spaces.
//!
//! Why these two crates: both are small (their one dependency is `phf`),
//! released in 2026, current (`XCG`, `ZWG`, `SLE`, `VED`), and their country
//! list is exactly the 249 assigned codes. The others looked at fall short:
//! `celes` 3 also accepts the user-assigned `XK` and needs Rust 1.97;
//! `isocountry` (last release 2020) and `iso4217` (2018, no `VES`, `STN`,
//! `MRU`, ...) are unmaintained; `iso_country` is a Rust 2015 crate that
//! parses `""` as a country; `iso_currency` keeps withdrawn codes (`HRK`,
//! `CUC`) among the valid ones; `rusty-money` is a money library whose ISO
//! table mixes current and historic codes with no way to tell them apart.

use std::sync::LazyLock;

/// ISO 4217 codes that `rust_iso4217` lists as active (List One) but that
/// no one is paid in, so a payout in them is refused like any non-currency:
/// precious metals (`XAG`, `XAU`, `XPD`, `XPT`), the European bond-market
/// units (`XBA` to `XBD`), the IMF's special drawing right (`XDR`), the
/// SUCRE (`XSU`), the African Development Bank's unit of account (`XUA`),
/// and the codes for testing (`XTS`) and "no currency" (`XXX`). Fund codes
/// (`BOV`, `CHE`, `USN`, ..., List Two) and withdrawn codes (List Three)
/// need no entry: the crate keeps them out of its active list.
const NOT_CIRCULATING: &[&str] = &[
    "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX",
];

static COUNTRY_CODES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| sorted(rust_iso3166::ALL_ALPHA2.iter().copied()));

static CURRENCY_CODES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    sorted(
        rust_iso4217::ALL_ACTIVE_CODE
            .iter()
            .copied()
            .filter(|code| !NOT_CIRCULATING.contains(code)),
    )
});

fn sorted(codes: impl Iterator<Item = &'static str>) -> Vec<&'static str> {
    let mut codes: Vec<_> = codes.collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// Every officially assigned ISO 3166-1 alpha-2 code (249), sorted.
/// User-assigned and reserved codes (`XK`, `EU`, `UK`, ...) are not included.
pub fn country_codes() -> &'static [&'static str] {
    &COUNTRY_CODES
}

/// The ISO 4217 codes of currencies in circulation, sorted: the active
/// codes of `rust_iso4217` less the units and test codes no one is paid in
/// (`XAU`, `XDR`, `XTS`, `XXX`, ...).
pub fn currency_codes() -> &'static [&'static str] {
    &CURRENCY_CODES
}

/// Whether `code` is an assigned ISO 3166-1 alpha-2 code (exact, upper case).
pub fn is_country_code(code: &str) -> bool {
    country_codes().binary_search(&code).is_ok()
}

/// Whether `code` is a circulating ISO 4217 currency code (exact, upper case).
pub fn is_currency_code(code: &str) -> bool {
    currency_codes().binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_sorted_unique_upper(table: &[&str], len: usize) {
        assert!(
            table.windows(2).all(|w| w[0] < w[1]),
            "table must be sorted and unique"
        );
        assert!(
            table
                .iter()
                .all(|c| c.len() == len && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn countries_are_the_249_assigned_codes() {
        assert_sorted_unique_upper(country_codes(), 2);
        assert_eq!(country_codes().len(), 249);
        for code in ["KE", "UG", "GB", "US", "SK", "AX", "ZW", "SS", "CW", "BQ"] {
            assert!(is_country_code(code), "{code}");
        }
        // User-assigned (XK, XX), reserved (UK, EU), lower case, alpha-3.
        for code in ["XX", "XK", "UK", "EU", "ke", "Ke", "KEN", " KE", ""] {
            assert!(!is_country_code(code), "{code:?}");
        }
    }

    #[test]
    fn currencies_are_the_circulating_codes() {
        assert_sorted_unique_upper(currency_codes(), 3);
        for code in ["KES", "UGX", "USD", "EUR", "GBP", "NGN", "TZS", "RWF"] {
            assert!(is_currency_code(code), "{code}");
        }
        // Successors of recently replaced currencies.
        for code in ["XCG", "ZWG", "SLE", "VED"] {
            assert!(is_currency_code(code), "{code}");
        }
        // Not codes, lower case, a country code; fund codes; withdrawn codes.
        for code in [
            "KSH", "kes", "Kes", "", "US", "BOV", "CHE", "CLF", "USN", "XAD", "ANG", "HRK", "CUC",
            "ZWL",
        ] {
            assert!(!is_currency_code(code), "{code:?}");
        }
        for code in NOT_CIRCULATING {
            assert!(!is_currency_code(code), "{code}");
        }
    }

    #[test]
    fn every_exclusion_is_an_active_code() {
        // An exclusion the crate no longer lists as active is dead weight:
        // drop it here.
        for code in NOT_CIRCULATING {
            assert!(rust_iso4217::ALL_ACTIVE_CODE.contains(code), "{code}");
        }
    }
}
