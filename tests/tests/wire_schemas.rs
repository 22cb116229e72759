//! rafiki-rules' hand-written wire types hold to the spec: each type's
//! JSON Schema (derived by schemars, as the type serialises: that is what
//! the mock writes) is compared with the component of `spec/openapi.yaml`
//! it mirrors: property names, required set, JSON types and enum values,
//! recursively ([`rafiki_e2e::schema_diff`]). Where a wire type is
//! deliberately looser or stricter than the spec, [`PAIRINGS`] says so and
//! why; an exception that no longer matches anything fails too.

use std::collections::{BTreeMap, BTreeSet};

use rafiki_e2e::schema_diff::{Comparison, Difference, Kind};
use rafiki_rules::wire::{
    AccountType, Address, Bank, BankAccount, Branch, Cursors, Data, DocumentType, ErrorBody,
    ErrorDetails, Holder, IdentityDocument, Individual, MobileMoney, Money, Page, PageMeta, Paging,
    PartyType, PaymentAccount, PaymentAccountRequest, Payout, PayoutCreateRequest, PayoutState,
    Sender, StateCode, Wallet, WebhookEvent,
};
use rafiki_spec::Spec;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// A wire type's schema: its root document, and the name other types'
/// schemas use for it (`#/$defs/{name}`).
struct WireSchema {
    name: String,
    root: Value,
}

/// The schema of `T` as it serialises (a `Decimal` is a string).
fn wire<T: JsonSchema>() -> WireSchema {
    let generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    WireSchema {
        name: T::schema_name().into_owned(),
        root: generator.into_root_schema_for::<T>().to_value(),
    }
}

/// A wire type and the spec component it mirrors.
struct Pairing {
    component: &'static str,
    wire: fn() -> WireSchema,
    /// Deliberate differences (a path and a kind), each with its reason.
    exceptions: &'static [Exception],
}

struct Exception {
    path: &'static str,
    kind: Kind,
    why: &'static str,
}

impl Exception {
    fn explains(&self, difference: &Difference) -> bool {
        self.path == difference.path && self.kind == difference.kind
    }
}

/// Where the spec's components are, as its `$ref`s write it.
const COMPONENTS: &str = "#/components/schemas/";

/// The sender's fields are all optional in the wire types: which are
/// required depends on the destination country (the compliance table), and
/// the rules report a missing one as a 422 naming it.
const BY_COMPLIANCE: &str = "required per country by spec/compliance.yaml, checked by the rules";

/// Every wire type and its component. Its order is the spec's.
const PAIRINGS: &[Pairing] = &[
    Pairing {
        component: "Money",
        wire: wire::<Money>,
        exceptions: &[],
    },
    Pairing {
        component: "PaymentAccountType",
        wire: wire::<AccountType>,
        exceptions: &[],
    },
    Pairing {
        component: "PartyType",
        wire: wire::<PartyType>,
        exceptions: &[],
    },
    Pairing {
        component: "IdentityDocumentType",
        wire: wire::<DocumentType>,
        exceptions: &[],
    },
    Pairing {
        component: "PayoutStateCode",
        wire: wire::<StateCode>,
        exceptions: &[],
    },
    Pairing {
        component: "Branch",
        wire: wire::<Branch>,
        exceptions: &[],
    },
    Pairing {
        component: "Bank",
        wire: wire::<Bank>,
        exceptions: &[],
    },
    Pairing {
        component: "BankList",
        wire: wire::<Data<Vec<Bank>>>,
        exceptions: &[],
    },
    Pairing {
        component: "Wallet",
        wire: wire::<Wallet>,
        exceptions: &[],
    },
    Pairing {
        component: "WalletList",
        wire: wire::<Data<Vec<Wallet>>>,
        exceptions: &[],
    },
    Pairing {
        component: "Holder",
        wire: wire::<Holder>,
        exceptions: &[],
    },
    Pairing {
        component: "MobileMoneyDetails",
        wire: wire::<MobileMoney>,
        exceptions: &[Exception {
            path: "MobileMoneyDetails.operator",
            kind: Kind::EnumValues,
            why: "looser: which operators a country allows is data (spec/compliance.yaml), \
                  so the wire type holds any name and the rules refuse unknown ones with a 422",
        }],
    },
    Pairing {
        component: "BankAccountDetails",
        wire: wire::<BankAccount>,
        exceptions: &[],
    },
    Pairing {
        component: "PaymentAccountRequest",
        wire: wire::<PaymentAccountRequest>,
        exceptions: &[],
    },
    Pairing {
        component: "PaymentAccount",
        wire: wire::<PaymentAccount>,
        exceptions: &[],
    },
    Pairing {
        component: "PaymentAccountEnvelope",
        wire: wire::<Data<PaymentAccount>>,
        exceptions: &[],
    },
    Pairing {
        component: "PaymentAccountPage",
        wire: wire::<Page<PaymentAccount>>,
        exceptions: &[],
    },
    Pairing {
        component: "Address",
        wire: wire::<Address>,
        exceptions: &[
            Exception {
                path: "Address.line_1",
                kind: Kind::RequiredOnlyBySpec,
                why: BY_COMPLIANCE,
            },
            Exception {
                path: "Address.city",
                kind: Kind::RequiredOnlyBySpec,
                why: BY_COMPLIANCE,
            },
            Exception {
                path: "Address.postal_code",
                kind: Kind::RequiredOnlyBySpec,
                why: BY_COMPLIANCE,
            },
            Exception {
                path: "Address.country",
                kind: Kind::RequiredOnlyBySpec,
                why: BY_COMPLIANCE,
            },
        ],
    },
    Pairing {
        component: "IdentityDocument",
        wire: wire::<IdentityDocument>,
        exceptions: &[
            Exception {
                path: "IdentityDocument.type",
                kind: Kind::RequiredOnlyBySpec,
                why: BY_COMPLIANCE,
            },
            Exception {
                path: "IdentityDocument.country",
                kind: Kind::RequiredOnlyBySpec,
                why: BY_COMPLIANCE,
            },
            Exception {
                path: "IdentityDocument.number",
                kind: Kind::RequiredOnlyBySpec,
                why: BY_COMPLIANCE,
            },
            Exception {
                path: "IdentityDocument.expires_on",
                kind: Kind::RequiredOnlyBySpec,
                why: BY_COMPLIANCE,
            },
        ],
    },
    Pairing {
        component: "Individual",
        wire: wire::<Individual>,
        exceptions: &[],
    },
    Pairing {
        component: "Sender",
        wire: wire::<Sender>,
        exceptions: &[
            Exception {
                path: "Sender.type",
                kind: Kind::RequiredOnlyBySpec,
                why: BY_COMPLIANCE,
            },
            Exception {
                path: "Sender.name",
                kind: Kind::RequiredOnlyBySpec,
                why: BY_COMPLIANCE,
            },
        ],
    },
    Pairing {
        component: "PayoutCreateRequest",
        wire: wire::<PayoutCreateRequest>,
        exceptions: &[],
    },
    Pairing {
        component: "PayoutState",
        wire: wire::<PayoutState>,
        exceptions: &[],
    },
    Pairing {
        component: "Payout",
        wire: wire::<Payout>,
        exceptions: &[],
    },
    Pairing {
        component: "PayoutEnvelope",
        wire: wire::<Data<Payout>>,
        exceptions: &[],
    },
    Pairing {
        component: "PayoutPage",
        wire: wire::<Page<Payout>>,
        exceptions: &[],
    },
    Pairing {
        component: "WebhookEvent",
        wire: wire::<WebhookEvent<serde_json::Map<String, Value>>>,
        exceptions: &[],
    },
    Pairing {
        component: "PayoutStateUpdatedEvent",
        wire: wire::<WebhookEvent<Payout>>,
        exceptions: &[Exception {
            path: "PayoutStateUpdatedEvent.type",
            kind: Kind::EnumValues,
            why: "looser: one envelope type serves every event, so `type` is text; the \
                  mock writes `payout.state-updated` (rafiki_rules::webhooks) with a payout",
        }],
    },
    Pairing {
        component: "PageMeta",
        wire: wire::<PageMeta>,
        exceptions: &[],
    },
    Pairing {
        component: "Paging",
        wire: wire::<Paging>,
        exceptions: &[Exception {
            path: "Paging.cursors",
            kind: Kind::RequiredOnlyByWire,
            why: "stricter, within the spec: the mock always writes `cursors` (`{}` on the \
                  last page), which the spec allows; nothing reads a Paging back",
        }],
    },
    Pairing {
        component: "PagingCursors",
        wire: wire::<Cursors>,
        exceptions: &[],
    },
    Pairing {
        component: "Error",
        wire: wire::<ErrorBody>,
        exceptions: &[Exception {
            path: "Error.code",
            kind: Kind::EnumValues,
            why: "stricter: the mock writes only the codes it knows; nothing reads an \
                  ErrorBody back (the suite and the client read `code` as text, so a new \
                  code still decodes, as the spec wants)",
        }],
    },
    Pairing {
        component: "ValidationErrors",
        wire: wire::<ErrorDetails>,
        exceptions: &[Exception {
            path: "ValidationErrors.fields",
            kind: Kind::RequiredOnlyByWire,
            why: "stricter, within the spec: the mock sends `errors` on a 422 only, always \
                  naming the properties; other servers may send `errors: {}` on any error, \
                  which the wire type reads too (`#[serde(default)]`)",
        }],
    },
];

/// What comparing every pairing with `spec` found.
struct Findings {
    /// Differences no exception explains.
    unexplained: Vec<Difference>,
    /// Exceptions that matched nothing: `path (kind): why`.
    unused_exceptions: Vec<String>,
    /// Every component the comparisons met, paired or reached by `$ref`.
    components_met: BTreeSet<String>,
}

/// Compares every pairing of [`PAIRINGS`] with its component in `spec`.
fn compare_all(spec: &Value) -> Findings {
    let wires: Vec<WireSchema> = PAIRINGS.iter().map(|p| (p.wire)()).collect();
    // A property whose both sides are another pairing is compared there.
    let compared_apart: BTreeMap<String, String> = PAIRINGS
        .iter()
        .zip(&wires)
        .map(|(p, w)| {
            (
                format!("{COMPONENTS}{}", p.component),
                format!("#/$defs/{}", w.name),
            )
        })
        .collect();
    let mut findings = Findings {
        unexplained: Vec::new(),
        unused_exceptions: Vec::new(),
        components_met: BTreeSet::new(),
    };
    for (pairing, wire) in PAIRINGS.iter().zip(&wires) {
        let component = spec["components"]["schemas"]
            .get(pairing.component)
            .unwrap_or_else(|| panic!("no component {} in the spec", pairing.component));
        let mut comparison = Comparison::new(&wire.root, spec, &compared_apart);
        comparison.compare(pairing.component, &wire.root, component);
        for exception in pairing.exceptions {
            if !comparison.differences.iter().any(|d| exception.explains(d)) {
                findings.unused_exceptions.push(format!(
                    "{} ({:?}): {}",
                    exception.path, exception.kind, exception.why
                ));
            }
        }
        findings.unexplained.extend(
            comparison
                .differences
                .into_iter()
                .filter(|d| !pairing.exceptions.iter().any(|e| e.explains(d))),
        );
        findings.components_met.insert(pairing.component.to_owned());
        findings.components_met.extend(
            comparison
                .spec_refs
                .iter()
                .filter_map(|r| r.strip_prefix(COMPONENTS))
                .map(str::to_owned),
        );
    }
    findings
}

fn spec_json() -> Value {
    Spec::embedded().json().clone()
}

#[test]
fn every_wire_type_matches_its_component_but_for_the_listed_exceptions() {
    let findings = compare_all(&spec_json());
    let unexplained: Vec<String> = findings.unexplained.iter().map(|d| d.to_string()).collect();
    assert!(
        unexplained.is_empty(),
        "wire types and spec/openapi.yaml differ:\n  {}\nfix the drift, or add a commented exception to PAIRINGS",
        unexplained.join("\n  ")
    );
    assert!(
        findings.unused_exceptions.is_empty(),
        "exceptions that no longer match a difference (remove them): {:?}",
        findings.unused_exceptions
    );
}

/// The components a document refers to, by where the `$ref` sits.
#[derive(Default)]
struct Uses {
    in_bodies: BTreeSet<String>,
    /// Under a `parameters` key: query and path parameters.
    in_parameters: BTreeSet<String>,
}

fn collect_uses(value: &Value, under_parameters: bool, uses: &mut Uses) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let target = child.as_str().filter(|_| key == "$ref");
                if let Some(name) = target.and_then(|r| r.strip_prefix(COMPONENTS)) {
                    match under_parameters {
                        true => uses.in_parameters.insert(name.to_owned()),
                        false => uses.in_bodies.insert(name.to_owned()),
                    };
                }
                collect_uses(child, under_parameters || key == "parameters", uses);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_uses(item, under_parameters, uses)),
        _ => {}
    }
}

/// Every component but those only query and path parameters use (e.g.
/// `DateOrDateTime`): no wire type carries those.
fn body_components(spec: &Value) -> BTreeSet<String> {
    let mut uses = Uses::default();
    collect_uses(spec, false, &mut uses);
    spec["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|name| uses.in_bodies.contains(*name) || !uses.in_parameters.contains(*name))
        .cloned()
        .collect()
}

#[test]
fn every_body_component_of_the_spec_is_paired_or_reached() {
    let spec = spec_json();
    let all = body_components(&spec);
    assert!(
        all.contains("Payout") && !all.contains("DateOrDateTime"),
        "{all:?}"
    );
    let met = compare_all(&spec).components_met;
    let missed: Vec<&String> = all.difference(&met).collect();
    assert!(
        missed.is_empty(),
        "components no wire type mirrors (add a pairing): {missed:?}"
    );
}

/// The comparison can fail: a spec where the payout's `receipt` is renamed
/// and the state enum has one more value is reported at both places.
#[test]
fn a_renamed_property_and_a_new_enum_value_are_reported_with_their_paths() {
    let mut spec = spec_json();
    let schemas = &mut spec["components"]["schemas"];
    let payout = schemas["Payout"]["properties"].as_object_mut().unwrap();
    let receipt = payout.remove("receipt").unwrap();
    payout.insert("reference".into(), receipt);
    schemas["PayoutStateCode"]["enum"]
        .as_array_mut()
        .unwrap()
        .push("ON_HOLD".into());

    let found: Vec<(String, Kind)> = compare_all(&spec)
        .unexplained
        .into_iter()
        .map(|d| (d.path, d.kind))
        .collect();
    assert_eq!(
        found,
        [
            ("PayoutStateCode".to_owned(), Kind::EnumValues),
            ("Payout.receipt".to_owned(), Kind::MissingFromSpec),
            ("Payout.reference".to_owned(), Kind::MissingFromWire),
        ],
        "each change once, at its own path"
    );
}
