//! List parameters: `paging_limit` and the `created_at_from` /
//! `created_at_to` filters of GET /payouts, parsed from raw query values.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};

use crate::format::parse_date;
use crate::violations::{Rule, Violation, Violations};

/// `paging_limit` when the query does not give one.
pub const DEFAULT_PAGING_LIMIT: u32 = 10;
/// Bounds of `paging_limit`, inclusive.
pub const MIN_PAGING_LIMIT: u32 = 1;
pub const MAX_PAGING_LIMIT: u32 = 50;

/// Parses `paging_limit`: absent -> [`DEFAULT_PAGING_LIMIT`]; otherwise a
/// plain decimal integer (ASCII digits only, no sign, no spaces) in 1..=50.
/// Anything else (`""`, `"0"`, `"51"`, `"-1"`, `"1.5"`, `"abc"`) is a 422
/// violation at `paging_limit`.
pub fn paging_limit(raw: Option<&str>) -> Result<u32, Violation> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_PAGING_LIMIT);
    };
    let limit = (!raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse::<u32>().ok())
        .flatten()
        .filter(|n| (MIN_PAGING_LIMIT..=MAX_PAGING_LIMIT).contains(n));
    limit.ok_or_else(|| {
        Violation::new(
            "paging_limit",
            Rule::PagingLimit,
            format!("`{raw}` must be an integer from {MIN_PAGING_LIMIT} to {MAX_PAGING_LIMIT}"),
        )
    })
}

/// How `created_at_to` reads: the sources differ
/// (`docs/contract.md#date-filters`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UpperBound {
    /// API.md: inclusive, and a date means the end of that day (23:59:59).
    #[default]
    Inclusive,
    /// The provider's payout page, read strictly: payouts created
    /// *before* the value; a date stands for 23:59:59 UTC of that day, so
    /// its last second is left out.
    Exclusive,
}

/// Creation-time filter of GET /payouts (inclusive, as [`DateRange::parse`]
/// reads it; see [`DateRange::parse_with`]).
///
/// Internally the upper bound is kept exclusive: `to = 2024-01-31` means
/// "before 2024-02-01T00:00:00Z", so the whole second 23:59:59 (with any
/// fraction) is inside; an RFC 3339 `to` is inclusive to the nanosecond.
/// A range whose `from` is after its `to` is *not* an error: it is empty,
/// and the list answers 200 with no items (`docs/contract.md#date-filters` names no error for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DateRange {
    from: Option<DateTime<Utc>>,
    before: Option<DateTime<Utc>>,
}

impl DateRange {
    /// Parses both raw query values; each bad one is a violation at its own name.
    pub fn parse(
        created_at_from: Option<&str>,
        created_at_to: Option<&str>,
    ) -> Result<DateRange, Violations> {
        Self::parse_with(created_at_from, created_at_to, UpperBound::Inclusive)
    }

    /// As [`DateRange::parse`], with `created_at_to` read as `upper` says.
    pub fn parse_with(
        created_at_from: Option<&str>,
        created_at_to: Option<&str>,
        upper: UpperBound,
    ) -> Result<DateRange, Violations> {
        let mut violations = Violations::new();
        let mut bound = |name: &str, raw: Option<&str>, upper: Option<UpperBound>| {
            raw.and_then(|raw| {
                let parsed = parse_bound(raw, upper);
                if parsed.is_none() {
                    violations.add(
                        name,
                        Rule::DateTimeFormat,
                        format!("`{raw}` must be a date YYYY-MM-DD or an RFC 3339 date-time"),
                    );
                }
                parsed
            })
        };
        let from = bound("created_at_from", created_at_from, None);
        let before = bound("created_at_to", created_at_to, Some(upper));
        violations.into_result(DateRange { from, before })
    }

    /// The inclusive lower bound, if any.
    pub fn from(&self) -> Option<DateTime<Utc>> {
        self.from
    }

    /// The exclusive upper bound, if any.
    pub fn before(&self) -> Option<DateTime<Utc>> {
        self.before
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| from <= at) && self.before.is_none_or(|before| at < before)
    }

    /// Whether no instant can be inside.
    pub fn is_empty(&self) -> bool {
        matches!((self.from, self.before), (Some(from), Some(before)) if from >= before)
    }
}

/// A date gives the day's start, or as an upper bound 23:59:59 of that
/// day (the provider's payout page), kept whole when inclusive (the next
/// day's start); a date-time gives itself, or for an inclusive upper bound
/// itself plus 1 ns. (The upper bound is kept exclusive.)
fn parse_bound(raw: &str, upper: Option<UpperBound>) -> Option<DateTime<Utc>> {
    let inclusive_upper = upper == Some(UpperBound::Inclusive);
    if let Some(date) = parse_date(raw) {
        let start = date.and_time(NaiveTime::MIN).and_utc();
        let last_second = date
            .and_time(NaiveTime::from_hms_opt(23, 59, 59)?)
            .and_utc();
        return match upper {
            None => Some(start),
            Some(UpperBound::Inclusive) => start.checked_add_signed(TimeDelta::days(1)),
            Some(UpperBound::Exclusive) => Some(last_second),
        };
    }
    let at = DateTime::parse_from_rfc3339(raw).ok()?.with_timezone(&Utc);
    if inclusive_upper {
        at.checked_add_signed(TimeDelta::nanoseconds(1))
    } else {
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn limits() {
        assert_eq!(paging_limit(None), Ok(DEFAULT_PAGING_LIMIT));
        assert_eq!(paging_limit(Some("1")), Ok(1));
        assert_eq!(paging_limit(Some("50")), Ok(50));
        for bad in ["0", "51", "-1", "abc", "1.5", "", " 5", "+5", "99999999999"] {
            let v = paging_limit(Some(bad)).unwrap_err();
            assert_eq!(
                (v.path.as_str(), v.rule),
                ("paging_limit", Rule::PagingLimit),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn date_bounds_are_inclusive_days() {
        let range = DateRange::parse(Some("2024-01-01"), Some("2024-01-31")).unwrap();
        assert!(range.contains(at("2024-01-01T00:00:00Z")));
        assert!(!range.contains(at("2023-12-31T23:59:59.999Z")));
        assert!(range.contains(at("2024-01-31T23:59:59Z")));
        assert!(range.contains(at("2024-01-31T23:59:59.999999Z")));
        assert!(!range.contains(at("2024-02-01T00:00:00Z")));
    }

    #[test]
    fn rfc3339_bounds_are_converted_to_utc() {
        let range = DateRange::parse(
            Some("2024-01-01T03:00:00+03:00"),
            Some("2024-01-01T10:00:00-02:00"),
        )
        .unwrap();
        assert_eq!(range.from(), Some(at("2024-01-01T00:00:00Z")));
        assert!(range.contains(at("2024-01-01T12:00:00Z")));
        assert!(!range.contains(at("2024-01-01T12:00:00.000000001Z")));
        assert!(!range.contains(at("2023-12-31T23:59:59Z")));
    }

    #[test]
    fn an_exclusive_upper_bound_leaves_out_its_own_instant_and_its_days_last_second() {
        let exclusive = |to| DateRange::parse_with(None, Some(to), UpperBound::Exclusive).unwrap();
        let range = exclusive("2024-01-01T12:00:00Z");
        assert!(range.contains(at("2024-01-01T11:59:59.999999999Z")));
        assert!(!range.contains(at("2024-01-01T12:00:00Z")));
        // A date is 23:59:59 of its day: the day is in, its last second out.
        let range = exclusive("2024-01-31");
        assert!(range.contains(at("2024-01-31T00:00:00Z")));
        assert!(range.contains(at("2024-01-31T23:59:58.999Z")));
        assert!(!range.contains(at("2024-01-31T23:59:59Z")));
        assert_eq!(
            DateRange::parse_with(None, Some("2024-01-31"), UpperBound::Inclusive),
            DateRange::parse(None, Some("2024-01-31"))
        );
    }

    #[test]
    fn open_and_inverted_ranges() {
        let open = DateRange::parse(None, None).unwrap();
        assert!(open.contains(at("1970-01-01T00:00:00Z")) && !open.is_empty());
        let inverted = DateRange::parse(Some("2024-02-01"), Some("2024-01-01")).unwrap();
        assert!(inverted.is_empty());
        assert!(!inverted.contains(at("2024-01-15T00:00:00Z")));
    }

    #[test]
    fn bad_values_are_reported_at_their_parameter() {
        let v = DateRange::parse(Some("yesterday"), Some("2024-02-30")).unwrap_err();
        assert_eq!(
            v.path_rules(),
            vec![
                ("created_at_from".to_owned(), Rule::DateTimeFormat),
                ("created_at_to".to_owned(), Rule::DateTimeFormat)
            ]
        );
        for bad in ["2024-01-01T00:00:00", "01/02/2024", ""] {
            assert!(DateRange::parse(Some(bad), None).is_err(), "{bad:?}");
        }
    }
}
