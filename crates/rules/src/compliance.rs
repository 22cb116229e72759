//! Compliance rules as data: `spec/compliance.yaml` parsed with serde,
//! checked at load, and queried by the validators.
//!
//! Per destination country the table holds the accepted currencies with
//! their amount limits (optionally per account type), the mobile money
//! operators, and which sender fields are required (always, when the sender
//! is an INDIVIDUAL, and inside an identity document). Postal code formats
//! are keyed by the *address* country, independent of the destination.
//! Adding a country or changing a limit is an edit of the YAML only.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::codes::{is_country_code, is_currency_code};
use crate::format::parse_amount;
use crate::macros::{WireEnum, wire_enum};
use crate::wire::AccountType;

/// The YAML shipped with the crate (the project's `spec/compliance.yaml`).
pub const BUILTIN_YAML: &str = include_str!("../../../spec/compliance.yaml");

wire_enum! {
    /// A property of `sender`, written as its path below `sender`.
    pub enum SenderField {
        Type = "type",
        Name = "name",
        Address = "address",
        AddressLine1 = "address.line_1",
        AddressLine2 = "address.line_2",
        AddressLine3 = "address.line_3",
        AddressCity = "address.city",
        AddressPostalCode = "address.postal_code",
        AddressCountry = "address.country",
        Individual = "individual",
        IndividualDob = "individual.dob",
        IdentityDocument = "individual.identity_document",
    }
}

wire_enum! {
    /// A property of `sender.individual.identity_document`.
    pub enum DocumentField {
        Type = "type",
        Country = "country",
        Number = "number",
        IssuedOn = "issued_on",
        ExpiresOn = "expires_on",
    }
}

/// Why a compliance table was refused at load.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    #[error("compliance YAML does not match the expected shape: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("compliance entry `{entry}`: {reason}")]
    Invalid { entry: String, reason: String },
    #[error("compliance entry `{entry}`: invalid postal code regex: {source}")]
    PostalCodePattern {
        entry: String,
        #[source]
        source: Box<regex_automata::meta::BuildError>,
    },
}

fn invalid(entry: impl Into<String>, reason: impl Into<String>) -> ComplianceError {
    ComplianceError::Invalid {
        entry: entry.into(),
        reason: reason.into(),
    }
}

// ---- the YAML shape -------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableYaml {
    #[serde(default)]
    postal_codes: BTreeMap<String, String>,
    countries: BTreeMap<String, CountryYaml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountryYaml {
    name: String,
    limits: Vec<LimitYaml>,
    #[serde(default)]
    mobile_money_operators: Vec<String>,
    #[serde(default)]
    mobile_number_shape: Option<String>,
    #[serde(default)]
    sender: SenderRules,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitYaml {
    currency: String,
    #[serde(default)]
    min: Option<String>,
    #[serde(default)]
    max: Option<String>,
    #[serde(default)]
    account_types: Option<Vec<AccountType>>,
}

// ---- the checked table ----------------------------------------------------

/// Which sender properties a destination country requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderRules {
    /// Whether `sender` itself must be given.
    #[serde(default)]
    pub required: bool,
    /// Required whenever a sender is given.
    #[serde(default)]
    pub required_fields: Vec<SenderField>,
    /// Also required when `sender.type` is INDIVIDUAL.
    #[serde(default)]
    pub required_fields_if_individual: Vec<SenderField>,
    /// Required of every sender by one documented reading, not by the one
    /// validation follows (the provider's table contradicts itself:
    /// `docs/contract.md`, "Compliance"). A request the suite calls valid
    /// carries them, and no verdict rests on their absence; the mock's
    /// `dob_for_every_sender` variant requires them
    /// ([`ComplianceTable::every_reading_required`]).
    #[serde(default)]
    pub required_fields_in_one_reading: Vec<SenderField>,
    /// Required inside `sender.individual.identity_document` when one is given.
    #[serde(default)]
    pub required_fields_in_identity_document: Vec<DocumentField>,
}

/// Amount bounds (both inclusive) for one currency and some account types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountLimit {
    pub currency: String,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    /// The account types this entry covers (every type when the YAML omits it).
    pub account_types: Vec<AccountType>,
}

/// Everything the table says about one destination country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryRules {
    pub code: String,
    pub name: String,
    pub limits: Vec<AmountLimit>,
    pub mobile_money_operators: Vec<String>,
    /// The shape of the country's own mobile numbers, `#` for any digit
    /// (`+2547########`): the numbers valid requests of the suite use for
    /// MOBILE_MONEY accounts there, since a server may refuse another
    /// country's number. Not a rule: validation accepts any E.164 number.
    pub mobile_number_shape: Option<String>,
    pub sender: SenderRules,
}

impl CountryRules {
    /// The limit entry for paying `currency` into an account of `account_type`.
    /// `None` means that currency is not accepted for that account type.
    pub fn limit_for(&self, currency: &str, account_type: AccountType) -> Option<&AmountLimit> {
        self.limits
            .iter()
            .find(|l| l.currency == currency && l.account_types.contains(&account_type))
    }

    /// Currencies accepted for some account type, in table order.
    pub fn currencies(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for limit in &self.limits {
            if !out.contains(&limit.currency.as_str()) {
                out.push(&limit.currency);
            }
        }
        out
    }

    pub fn allows_operator(&self, operator: &str) -> bool {
        self.mobile_money_operators.iter().any(|o| o == operator)
    }
}

/// A postal code format: the YAML regex, anchored to match the whole code.
#[derive(Debug, Clone)]
pub struct PostalCodeFormat {
    pub pattern: String,
    regex: Regex,
}

impl PostalCodeFormat {
    pub fn matches(&self, postal_code: &str) -> bool {
        self.regex.is_match(postal_code)
    }
}

/// The checked compliance table.
#[derive(Debug, Clone)]
pub struct ComplianceTable {
    countries: BTreeMap<String, CountryRules>,
    postal_codes: BTreeMap<String, PostalCodeFormat>,
}

impl Default for ComplianceTable {
    /// The built-in table (see [`ComplianceTable::builtin`]).
    fn default() -> Self {
        Self::builtin().clone()
    }
}

impl ComplianceTable {
    /// The table from `spec/compliance.yaml`, embedded at build time, parsed once.
    ///
    /// # Panics
    /// If the embedded YAML is invalid; the crate's tests load it, so a
    /// release with a broken table cannot pass them.
    pub fn builtin() -> &'static ComplianceTable {
        static TABLE: OnceLock<ComplianceTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            ComplianceTable::from_yaml_str(BUILTIN_YAML)
                .unwrap_or_else(|e| panic!("spec/compliance.yaml is invalid: {e}"))
        })
    }

    /// Parses and checks a table. Unknown keys, unknown country or currency
    /// codes, malformed or inverted limits, overlapping limit entries, blank
    /// or duplicate operators and bad regexes are refused with an error
    /// naming the entry.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, ComplianceError> {
        let raw: TableYaml = serde_yaml::from_str(yaml)?;
        let mut postal_codes = BTreeMap::new();
        for (country, pattern) in raw.postal_codes {
            let entry = format!("postal_codes.{country}");
            if !is_country_code(&country) {
                return Err(invalid(entry, "not an ISO 3166-1 alpha-2 country code"));
            }
            // Postal codes are ASCII: `(?i)[A-Z]` is not to match the
            // Kelvin sign. And no DFA of any kind: building one costs more
            // than a table's whole life of matching short postal codes
            // (every contract run starts by loading the table); the PikeVM
            // and the bounded backtracker do.
            let regex = Regex::builder()
                .syntax(syntax::Config::new().unicode(false))
                .configure(Regex::config().dfa(false).onepass(false).hybrid(false))
                .build(&format!("^(?:{pattern})$"))
                .map_err(|source| ComplianceError::PostalCodePattern {
                    entry: entry.clone(),
                    source: Box::new(source),
                })?;
            postal_codes.insert(country, PostalCodeFormat { pattern, regex });
        }
        let mut countries = BTreeMap::new();
        for (code, country) in raw.countries {
            let rules = check_country(&code, country)?;
            countries.insert(code, rules);
        }
        if countries.is_empty() {
            return Err(invalid("countries", "must list at least one country"));
        }
        Ok(Self {
            countries,
            postal_codes,
        })
    }

    /// Rules of destination country `code`, if it is served.
    pub fn country(&self, code: &str) -> Option<&CountryRules> {
        self.countries.get(code)
    }

    /// Every served destination country, by code.
    pub fn countries(&self) -> impl Iterator<Item = &CountryRules> {
        self.countries.values()
    }

    /// The postal code format of address country `code`, if it is checked.
    pub fn postal_code_format(&self, code: &str) -> Option<&PostalCodeFormat> {
        self.postal_codes.get(code)
    }

    /// Address countries whose postal codes are format-checked.
    pub fn postal_code_countries(&self) -> impl Iterator<Item = &str> {
        self.postal_codes.keys().map(String::as_str)
    }

    /// The same table read the other way where the documentation allows
    /// two readings: each country's `required_fields_in_one_reading` are
    /// required of every sender.
    pub fn every_reading_required(&self) -> ComplianceTable {
        let mut table = self.clone();
        for country in table.countries.values_mut() {
            let sender = &mut country.sender;
            for field in std::mem::take(&mut sender.required_fields_in_one_reading) {
                if !sender.required_fields.contains(&field) {
                    sender.required_fields.push(field);
                }
            }
        }
        table
    }
}

fn check_country(code: &str, raw: CountryYaml) -> Result<CountryRules, ComplianceError> {
    let at = |rest: &str| format!("countries.{code}{rest}");
    if !is_country_code(code) {
        return Err(invalid(at(""), "not an ISO 3166-1 alpha-2 country code"));
    }
    if raw.name.trim().is_empty() {
        return Err(invalid(at(".name"), "must not be blank"));
    }
    if raw.limits.is_empty() {
        return Err(invalid(at(".limits"), "must list at least one currency"));
    }
    let mut limits: Vec<AmountLimit> = Vec::new();
    for (i, limit) in raw.limits.into_iter().enumerate() {
        let entry = at(&format!(".limits[{i}]"));
        let checked = check_limit(&entry, limit)?;
        for account_type in &checked.account_types {
            if limits
                .iter()
                .any(|l| l.currency == checked.currency && l.account_types.contains(account_type))
            {
                return Err(invalid(
                    entry,
                    format!("a second limit for {} and {account_type}", checked.currency),
                ));
            }
        }
        limits.push(checked);
    }
    for (i, operator) in raw.mobile_money_operators.iter().enumerate() {
        let entry = at(&format!(".mobile_money_operators[{i}]"));
        if operator.trim().is_empty() {
            return Err(invalid(entry, "operator must not be blank"));
        }
        if raw.mobile_money_operators[..i].contains(operator) {
            return Err(invalid(entry, format!("operator {operator} listed twice")));
        }
    }
    if let Some(shape) = &raw.mobile_number_shape {
        let digits = shape.strip_prefix('+').unwrap_or_default();
        let e164 = (8..=15).contains(&digits.len())
            && !digits.starts_with(['0', '#'])
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'#');
        if !e164 {
            return Err(invalid(
                at(".mobile_number_shape"),
                format!("`{shape}` is not an E.164 number with `#` for digits"),
            ));
        }
    }
    Ok(CountryRules {
        code: code.to_owned(),
        name: raw.name,
        limits,
        mobile_money_operators: raw.mobile_money_operators,
        mobile_number_shape: raw.mobile_number_shape,
        sender: raw.sender,
    })
}

fn check_limit(entry: &str, raw: LimitYaml) -> Result<AmountLimit, ComplianceError> {
    if !is_currency_code(&raw.currency) {
        return Err(invalid(
            format!("{entry}.currency"),
            format!("`{}` is not an ISO 4217 currency code", raw.currency),
        ));
    }
    let bound = |name: &str, text: Option<String>| -> Result<Option<Decimal>, ComplianceError> {
        text.map(|t| {
            parse_amount(&t).map_err(|e| invalid(format!("{entry}.{name}"), format!("`{t}` {e}")))
        })
        .transpose()
    };
    let min = bound("min", raw.min)?;
    let max = bound("max", raw.max)?;
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(invalid(entry, format!("min {min} is above max {max}")));
    }
    let account_types = match raw.account_types {
        None => AccountType::ALL.to_vec(),
        Some(types) if types.is_empty() => {
            return Err(invalid(
                format!("{entry}.account_types"),
                "must not be empty (omit it to cover every type)",
            ));
        }
        Some(types) => types,
    };
    Ok(AmountLimit {
        currency: raw.currency,
        min,
        max,
        account_types,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reading_required_adds_the_one_reading_fields_to_every_sender() {
        let table = ComplianceTable::builtin();
        let kenya = &table.country("KE").unwrap().sender;
        assert!(!kenya.required_fields.contains(&SenderField::IndividualDob));
        assert_eq!(
            kenya.required_fields_in_one_reading,
            [SenderField::IndividualDob]
        );
        let strict = table.every_reading_required();
        let kenya = &strict.country("KE").unwrap().sender;
        assert!(kenya.required_fields.contains(&SenderField::IndividualDob));
        assert!(kenya.required_fields_in_one_reading.is_empty());
        // Applying it twice changes nothing more.
        let twice = strict.every_reading_required();
        assert_eq!(
            twice.country("KE").unwrap().sender,
            strict.country("KE").unwrap().sender
        );
    }

    #[test]
    fn builtin_table_has_kenya_as_documented() {
        let table = ComplianceTable::builtin();
        let ke = table.country("KE").expect("KE");
        for account_type in AccountType::ALL {
            let limit = ke.limit_for("KES", *account_type).expect("KES limit");
            assert_eq!(limit.min, Some("140".parse().unwrap()));
            assert_eq!(limit.max, Some("500000".parse().unwrap()));
        }
        assert_eq!(ke.mobile_money_operators, ["SAFARICOM", "AIRTEL"]);
        assert!(ke.sender.required);
        let postal: Vec<_> = table.postal_code_countries().collect();
        assert_eq!(postal, ["GB", "IE", "MT", "NG", "NL", "PT", "SK", "US"]);
    }

    #[test]
    fn builtin_postal_code_formats() {
        let table = ComplianceTable::builtin();
        let cases = [
            ("GB", "SW1A 1AA", "12345"),
            ("US", "94105-1234", "9410"),
            ("PT", "1000-001", "1000001"),
            ("IE", "D02 X285", "D02"),
            ("MT", "VLT 1117", "1117"),
            ("NG", "100001", "1000"),
            ("NL", "1012 AB", "0123 AB"),
            ("SK", "811 01", "8110"),
        ];
        for (country, good, bad) in cases {
            let format = table.postal_code_format(country).unwrap();
            assert!(format.matches(good), "{country} {good}");
            assert!(!format.matches(bad), "{country} {bad}");
        }
    }

    #[test]
    fn postal_codes_are_ascii_whatever_the_case() {
        let gb = ComplianceTable::builtin().postal_code_format("GB").unwrap();
        assert!(gb.matches("sw1a 1aa"));
        // The Kelvin sign folds to `k` in Unicode; no postcode has one.
        assert!(!gb.matches("\u{212A}1 1AA"));
        assert!(gb.matches("K1 1AA"));
    }

    fn load_error(yaml: &str) -> String {
        ComplianceTable::from_yaml_str(yaml)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn refuses_bad_tables_naming_the_entry() {
        let base = "countries:\n  KE:\n    name: Kenya\n    limits:\n      - {currency: KES, min: \"140\", max: \"500000\"}\n";
        assert!(ComplianceTable::from_yaml_str(base).is_ok());
        let unknown_key = format!("{base}    colour: red\n");
        assert!(
            load_error(&unknown_key).contains("colour"),
            "{}",
            load_error(&unknown_key)
        );
        let err = load_error(
            "countries:\n  KE:\n    name: Kenya\n    limits:\n      - {currency: KES, min: \"1e3\"}\n",
        );
        assert!(err.contains("countries.KE.limits[0].min"), "{err}");
        let err = load_error(
            "countries:\n  KE:\n    name: Kenya\n    limits:\n      - {currency: KES, min: \"10\", max: \"5\"}\n",
        );
        assert!(
            err.contains("countries.KE.limits[0]") && err.contains("above"),
            "{err}"
        );
        let err = load_error(
            "countries:\n  KE:\n    name: Kenya\n    limits:\n      - {currency: KSH}\n",
        );
        assert!(err.contains("countries.KE.limits[0].currency"), "{err}");
        let err = load_error(
            "countries:\n  XX:\n    name: Nowhere\n    limits:\n      - {currency: KES}\n",
        );
        assert!(err.contains("countries.XX"), "{err}");
        let err = load_error(&format!("postal_codes:\n  GB: '[A-Z'\n{base}"));
        assert!(err.contains("postal_codes.GB"), "{err}");
        let err = load_error(
            "countries:\n  KE:\n    name: Kenya\n    limits:\n      - {currency: KES}\n      - {currency: KES, account_types: [BANK_ACCOUNT]}\n",
        );
        assert!(
            err.contains("countries.KE.limits[1]") && err.contains("BANK_ACCOUNT"),
            "{err}"
        );
        let err = load_error(&format!(
            "{base}    sender:\n      required_fields: [address.street]\n"
        ));
        assert!(err.contains("address.street"), "{err}");
        let err = load_error(&format!(
            "{base}    mobile_money_operators: [SAFARICOM, SAFARICOM]\n"
        ));
        assert!(err.contains("mobile_money_operators[1]"), "{err}");
        // A bare YAML number is read from its text, exactly like a quoted one.
        let bare = ComplianceTable::from_yaml_str("countries:\n  KE:\n    name: Kenya\n    limits:\n      - {currency: KES, min: 140.50}\n").unwrap();
        assert_eq!(
            bare.country("KE").unwrap().limits[0].min,
            Some("140.50".parse().unwrap())
        );
    }
}
