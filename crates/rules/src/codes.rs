//! Reference code lists: ISO 3166-1 alpha-2 country codes and ISO 4217
//! currency codes, as sorted constant tables searched by binary search.

/// Every officially assigned ISO 3166-1 alpha-2 code (249 entries), sorted.
/// User-assigned and reserved codes (`XK`, `EU`, `UK`, ...) are not included.
pub const COUNTRY_CODES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// ISO 4217 codes of currencies in circulation, sorted. Fund codes (`BOV`,
/// `CHE`, `USN`, ...), precious metals (`XAU`, ...), `XDR`, `XSU`, `XUA` and the
/// testing / no-currency codes (`XTS`, `XXX`) are left out: nobody pays a
/// mobile wallet in them. Codes in a transition period are listed with their
/// successor (`ANG`/`XCG`, `SLL`/`SLE`, `ZWL`/`ZWG`, `VES`/`VED`).
pub const CURRENCY_CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
    "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU",
    "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR",
    "ZMW", "ZWG", "ZWL",
];

/// Whether `code` is an assigned ISO 3166-1 alpha-2 code (exact, upper case).
pub fn is_country_code(code: &str) -> bool {
    COUNTRY_CODES.binary_search(&code).is_ok()
}

/// Whether `code` is a circulating ISO 4217 currency code (exact, upper case).
pub fn is_currency_code(code: &str) -> bool {
    CURRENCY_CODES.binary_search(&code).is_ok()
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
    fn country_table_is_sorted_and_complete() {
        assert_sorted_unique_upper(COUNTRY_CODES, 2);
        assert_eq!(COUNTRY_CODES.len(), 249);
        for code in ["KE", "UG", "GB", "US", "SK", "AX", "ZW"] {
            assert!(is_country_code(code), "{code}");
        }
        for code in ["XX", "UK", "EU", "ke", "KEN", ""] {
            assert!(!is_country_code(code), "{code}");
        }
    }

    #[test]
    fn currency_table_is_sorted() {
        assert_sorted_unique_upper(CURRENCY_CODES, 3);
        for code in ["KES", "UGX", "USD", "EUR", "GBP", "NGN"] {
            assert!(is_currency_code(code), "{code}");
        }
        for code in ["KSH", "kes", "XXX", "XTS", "", "US"] {
            assert!(!is_currency_code(code), "{code}");
        }
    }
}
