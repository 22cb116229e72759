//! Our OpenAPI contract of the Rafiki payouts API (`spec/openapi.yaml`),
//! embedded in the binary and made usable from Rust.
//!
//! - [`Spec::embedded`] parses the committed spec; [`Spec::from_yaml`] any other.
//! - [`Spec::check`] is the self-check `cargo xtask` runs before generating
//!   code: unique `operationId`s, every `$ref` resolvable, every example
//!   valid against its schema. It fails with the path of the first problem.
//! - [`Spec::validator`] compiles one component schema with `jsonschema`,
//!   and [`Spec::response_schema`] says which schema an operation's answer
//!   must match, so the contract suite can check any server's bodies.
//!
//! - [`Spec::documented`] is the same spec with our stricter patterns
//!   swapped for what the provider documents (`x-documented-pattern`), so
//!   the suite can tell a broken contract from a broken opinion of ours.
//!
//! OpenAPI 3.0 schemas are (for the features this spec uses) JSON Schema,
//! so a schema is compiled as the whole spec document with a root
//! `{"$ref": "#/components/schemas/Name"}` added.

mod examples;

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

pub use examples::ExampleSite;

/// The spec as committed in `spec/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../../spec/openapi.yaml");

/// The same spec as JSON, converted when the crate was built (`build.rs`).
const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The extension that holds the pattern the provider documents where our
/// `pattern` is stricter.
pub const DOCUMENTED_PATTERN: &str = "x-documented-pattern";

/// A problem found in the spec, always naming where it is.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("spec is not valid YAML/OpenAPI 3.0: {0}")]
    Parse(String),
    #[error("{path}: {message}")]
    At { path: String, message: String },
}

impl SpecError {
    fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError::At {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A parsed spec: the typed `openapiv3` view and the raw JSON view.
#[derive(Debug, Clone)]
pub struct Spec {
    openapi: openapiv3::OpenAPI,
    json: Value,
    /// Known to meet the JSON Schema meta-schema (the committed spec, which
    /// a test holds to it, and what is derived from it): not checked again
    /// by every [`Spec::compiler`].
    meets_meta_schema: bool,
}

impl Spec {
    /// The committed spec (panics only if the committed file is broken,
    /// which `cargo test -p rafiki-spec` catches first).
    pub fn embedded() -> Self {
        let json = serde_json::from_str(OPENAPI_JSON).expect("build.rs wrote JSON");
        Spec {
            meets_meta_schema: true,
            ..Self::from_json(json).expect("spec/openapi.yaml must parse")
        }
    }

    /// Parses an OpenAPI 3.0.x document from YAML (or JSON, a subset).
    pub fn from_yaml(text: &str) -> Result<Self, SpecError> {
        let json: Value =
            serde_yaml::from_str(text).map_err(|e| SpecError::Parse(e.to_string()))?;
        Self::from_json(json)
    }

    /// An OpenAPI 3.0.x document, parsed.
    fn from_json(json: Value) -> Result<Self, SpecError> {
        match json.get("openapi").and_then(Value::as_str) {
            Some(v) if v.starts_with("3.0.") => {}
            Some(v) => {
                return Err(SpecError::at(
                    "openapi",
                    format!("version {v} is not 3.0.x"),
                ));
            }
            None => return Err(SpecError::at("openapi", "missing version field")),
        }
        // Read from the JSON in place, not from a copy of it.
        let openapi =
            openapiv3::OpenAPI::deserialize(&json).map_err(|e| SpecError::Parse(e.to_string()))?;
        Ok(Spec {
            openapi,
            json,
            meets_meta_schema: false,
        })
    }

    /// The typed view, as the code generator wants it.
    pub fn openapi(&self) -> &openapiv3::OpenAPI {
        &self.openapi
    }

    /// The raw JSON view.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Runs every self-check; the first problem found is returned.
    pub fn check(&self) -> Result<(), SpecError> {
        self.check_operation_ids()?;
        self.check_refs()?;
        examples::check_all(self)
    }

    /// Every operation has an `operationId`, and no two share one.
    pub fn check_operation_ids(&self) -> Result<(), SpecError> {
        let mut seen = BTreeSet::new();
        for (path, method, op) in self.operations() {
            let at = format!("paths.{path}.{method}.operationId");
            let id = op
                .operation_id
                .as_deref()
                .ok_or_else(|| SpecError::at(&at, "missing"))?;
            if !seen.insert(id.to_string()) {
                return Err(SpecError::at(
                    at,
                    format!("`{id}` is used by another operation"),
                ));
            }
        }
        Ok(())
    }

    /// Every local `$ref` points at something that exists.
    pub fn check_refs(&self) -> Result<(), SpecError> {
        fn walk(spec: &Value, node: &Value, path: &str) -> Result<(), SpecError> {
            match node {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let pointer = target.strip_prefix('#').ok_or_else(|| {
                            SpecError::at(path, format!("only local refs are allowed: {target}"))
                        })?;
                        if spec.pointer(pointer).is_none() {
                            return Err(SpecError::at(path, format!("dangling $ref {target}")));
                        }
                    }
                    map.iter()
                        .try_for_each(|(k, v)| walk(spec, v, &join(path, k)))
                }
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .try_for_each(|(i, v)| walk(spec, v, &format!("{path}[{i}]"))),
                _ => Ok(()),
            }
        }
        walk(&self.json, &self.json, "")
    }

    /// `(path, method, operation)` for every operation, in spec order.
    pub fn operations(&self) -> impl Iterator<Item = (&str, &str, &openapiv3::Operation)> {
        self.openapi.paths.iter().flat_map(|(path, item)| {
            let item = item.as_item().expect("path items are inline in our spec");
            item.iter()
                .map(move |(method, op)| (path.as_str(), method, op))
        })
    }

    /// The spec as documented by the provider: every schema with an
    /// `x-documented-pattern` has its (stricter) `pattern` replaced by it,
    /// in both the JSON and the typed view.
    pub fn documented(&self) -> Spec {
        fn relax(node: &mut Value) {
            match node {
                Value::Object(map) => {
                    if let Some(documented) = map.get(DOCUMENTED_PATTERN).cloned() {
                        map.insert("pattern".into(), documented);
                    }
                    map.values_mut().for_each(relax);
                }
                Value::Array(items) => items.iter_mut().for_each(relax),
                _ => {}
            }
        }
        let mut json = self.json.clone();
        relax(&mut json);
        // The typed view is read again from the relaxed JSON, so that both
        // views (and a client generated from it) say the same.
        let openapi = serde_json::from_value(json.clone())
            .expect("replacing one pattern string by another keeps a parsed spec parseable");
        Spec {
            openapi,
            json,
            // A pattern is a string either way.
            meets_meta_schema: self.meets_meta_schema,
        }
    }

    /// The inclusive `(minimum, maximum)` of the integer query parameter
    /// `name` (e.g. `paging_limit`), from `components/parameters`.
    pub fn parameter_bounds(&self, name: &str) -> Option<(i64, i64)> {
        let parameters = self.json.pointer("/components/parameters")?.as_object()?;
        let schema = parameters
            .values()
            .find(|p| p["name"] == name)?
            .get("schema")?;
        Some((
            schema.get("minimum")?.as_i64()?,
            schema.get("maximum")?.as_i64()?,
        ))
    }

    /// Compiles a validator for any JSON pointer into the spec that holds
    /// a schema (e.g. `/components/schemas/Payout`). To compile several,
    /// [`Spec::compiler`] prepares the spec once for all of them.
    pub fn validator_at(&self, pointer: &str) -> Result<jsonschema::Validator, SpecError> {
        self.compiler()?.validator_at(pointer)
    }

    /// Prepares the spec for compiling validators: checked against the
    /// JSON Schema meta-schema and indexed once, then each
    /// [`SchemaCompiler::validator_at`] compiles just a `$ref` into it.
    pub fn compiler(&self) -> Result<SchemaCompiler<'_>, SpecError> {
        // The whole document is one schema resource (its OpenAPI keys are
        // unknown keywords, ignored), so every local `#/components/...` ref
        // inside it resolves.
        if !self.meets_meta_schema {
            jsonschema::meta::validate(&self.json)
                .map_err(|e| SpecError::at("", format!("schema does not compile: {e}")))?;
        }
        let registry = jsonschema::Registry::new()
            .draft(jsonschema::Draft::default())
            .add(
                SPEC_URI,
                jsonschema::Draft::default().create_resource_ref(&self.json),
            )
            .and_then(|builder| builder.prepare())
            .map_err(|e| SpecError::at("", format!("schema does not compile: {e}")))?;
        Ok(SchemaCompiler {
            spec: self,
            registry,
            patterns: jsonschema::PatternCache::new(),
        })
    }

    /// Compiles a validator for a component schema by name.
    pub fn validator(&self, schema_name: &str) -> Result<jsonschema::Validator, SpecError> {
        self.validator_at(&format!("/components/schemas/{schema_name}"))
    }

    /// The JSON pointer of the schema the body of `operation_id`'s answer
    /// with `status` must match; `None` if the status is not documented.
    pub fn response_schema(&self, operation_id: &str, status: u16) -> Option<String> {
        let (path, method, _) = self
            .operations()
            .find(|(_, _, op)| op.operation_id.as_deref() == Some(operation_id))?;
        let response = format!("/paths/{}/{method}/responses/{status}", escape(path));
        let mut node = self.json.pointer(&response)?;
        if let Some(target) = node.get("$ref").and_then(Value::as_str) {
            node = self.json.pointer(target.strip_prefix('#')?)?;
            let pointer = format!(
                "{}/content/application~1json/schema",
                target.strip_prefix('#')?
            );
            return node
                .pointer("/content/application~1json/schema")
                .map(|_| pointer);
        }
        let pointer = format!("{response}/content/application~1json/schema");
        self.json.pointer(&pointer).map(|_| pointer)
    }

    /// The statuses documented for an operation.
    pub fn documented_statuses(&self, operation_id: &str) -> Vec<u16> {
        self.operations()
            .filter(|(_, _, op)| op.operation_id.as_deref() == Some(operation_id))
            .flat_map(|(_, _, op)| op.responses.responses.keys())
            .filter_map(|code| match code {
                openapiv3::StatusCode::Code(c) => Some(*c),
                openapiv3::StatusCode::Range(_) => None,
            })
            .collect()
    }
}

/// Where a [`SchemaCompiler`] files the spec document; refs into it are
/// `SPEC_URI#/pointer`.
const SPEC_URI: &str = "urn:rafiki:openapi";

/// The spec, indexed once for compiling many validators ([`Spec::compiler`]).
pub struct SchemaCompiler<'a> {
    spec: &'a Spec,
    registry: jsonschema::Registry<'a>,
    /// Each `pattern` compiled once for all the validators made here
    /// (schemas share them: ids, currencies, country codes).
    patterns: jsonschema::PatternCache,
}

impl SchemaCompiler<'_> {
    /// Compiles a validator for the schema at `pointer` (e.g.
    /// `/components/schemas/Payout`), with formats checked.
    pub fn validator_at(&self, pointer: &str) -> Result<jsonschema::Validator, SpecError> {
        if self.spec.json.pointer(pointer).is_none() {
            return Err(SpecError::at(pointer, "no schema here"));
        }
        let root = serde_json::json!({"$ref": format!("{SPEC_URI}#{}", fragment(pointer))});
        // The root, only a `$ref`, is compiled as draft 4: checking it
        // against that meta-schema is cheap, while the first check against
        // 2020-12's is a large part of every run's start-up
        // (`docs/performance.md`); the schema it names is read as its
        // resource's draft, 2020-12 (test `schemas_are_read_as_2020_12`).
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .with_registry(&self.registry)
            .with_pattern_cache(self.patterns.clone())
            .build(&root)
            .map_err(|e| SpecError::at(pointer, format!("schema does not compile: {e}")))
    }
}

/// Whether `operation` declares the (inline) header parameter `name` as
/// required; header names compare case-insensitively.
pub fn requires_header(operation: &openapiv3::Operation, name: &str) -> bool {
    operation.parameters.iter().any(|parameter| {
        matches!(
            parameter.as_item(),
            Some(openapiv3::Parameter::Header { parameter_data, .. })
                if parameter_data.required && parameter_data.name.eq_ignore_ascii_case(name)
        )
    })
}

/// Escapes one JSON pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Percent-encodes a JSON pointer for use as a URI fragment (`{id}` and
/// the like are not allowed there as they are).
fn fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for byte in pointer.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Joins a dotted display path.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn committed_spec_passes_its_own_checks() {
        Spec::embedded().check().unwrap();
    }

    /// What lets `Spec::embedded` skip the meta-schema check in `compiler`,
    /// and `Spec::documented` of it too; and the JSON that build.rs made
    /// reads as the YAML does.
    #[test]
    fn committed_spec_meets_the_meta_schema_and_its_json_is_its_yaml() {
        let embedded = Spec::embedded();
        jsonschema::meta::validate(embedded.json()).unwrap();
        jsonschema::meta::validate(embedded.documented().json()).unwrap();
        assert_eq!(
            embedded.json(),
            Spec::from_yaml(OPENAPI_YAML).unwrap().json()
        );
    }

    /// The schemas behind a validator's root `$ref` are read as JSON
    /// Schema 2020-12 (here `dependentRequired`, which draft 4 does not
    /// know), whatever draft its one-keyword root is compiled as.
    #[test]
    fn schemas_are_read_as_2020_12() {
        let spec = Spec::from_yaml(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    Pair:\n      type: object\n      dependentRequired: {a: [b]}\n",
        )
        .unwrap();
        let pair = spec.validator("Pair").unwrap();
        assert!(!pair.is_valid(&json!({"a": 1})));
        assert!(pair.is_valid(&json!({"a": 1, "b": 2})));
    }

    #[test]
    fn only_create_payout_requires_the_idempotency_header() {
        let spec = Spec::embedded();
        let requiring: Vec<_> = spec
            .operations()
            .filter(|(_, _, op)| requires_header(op, "x-idempotency-key"))
            .filter_map(|(_, _, op)| op.operation_id.as_deref())
            .collect();
        assert_eq!(requiring, ["create_payout"]);
    }

    #[test]
    fn seven_operations_with_the_documented_statuses() {
        let spec = Spec::embedded();
        let mut ids: Vec<_> = spec
            .operations()
            .filter_map(|(_, _, o)| o.operation_id.clone())
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            [
                "create_payout",
                "get_or_create_payment_account",
                "get_payout",
                "list_banks",
                "list_payment_accounts",
                "list_payouts",
                "list_wallets"
            ]
        );
        let mut create = spec.documented_statuses("create_payout");
        create.sort();
        assert_eq!(create, [202, 400, 401, 402, 409, 422, 500, 503]);
        let mut get = spec.documented_statuses("get_payout");
        get.sort();
        assert_eq!(get, [200, 401, 404, 500]);
    }

    #[test]
    fn response_schemas_resolve_through_shared_responses() {
        let spec = Spec::embedded();
        let ok = spec.response_schema("create_payout", 202).unwrap();
        let unauthorized = spec.response_schema("create_payout", 401).unwrap();
        assert!(
            ok.starts_with("/paths/~1payouts/post/responses/202"),
            "{ok}"
        );
        assert_eq!(
            unauthorized,
            "/components/responses/Unauthorized/content/application~1json/schema"
        );
        assert!(spec.response_schema("create_payout", 404).is_none());
        let v = spec.validator_at(&unauthorized).unwrap();
        assert!(v.is_valid(&json!({"code": "UNAUTHORIZED", "message": "no"})));
        assert!(!v.is_valid(&json!({"message": "no code"})));
    }

    #[test]
    fn paging_limit_bounds_come_from_the_spec() {
        assert_eq!(
            Spec::embedded().parameter_bounds("paging_limit"),
            Some((1, 50))
        );
        assert_eq!(Spec::embedded().parameter_bounds("no_such_parameter"), None);
    }

    #[test]
    fn the_documented_spec_relaxes_only_our_stricter_patterns() {
        let spec = Spec::embedded();
        let documented = spec.documented();
        let strict = spec.validator("DecimalString").unwrap();
        let relaxed = documented.validator("DecimalString").unwrap();
        assert!(!strict.is_valid(&serde_json::json!("0140")));
        assert!(relaxed.is_valid(&serde_json::json!("0140")));
        assert!(!relaxed.is_valid(&serde_json::json!("1,40")));
        let (strict, relaxed) = (
            spec.validator("PayoutId").unwrap(),
            documented.validator("PayoutId").unwrap(),
        );
        assert!(
            !strict.is_valid(&serde_json::json!("pyt-a_b"))
                && relaxed.is_valid(&serde_json::json!("pyt-a_b"))
        );
        assert!(!relaxed.is_valid(&serde_json::json!("payout-1")));
        // Patterns the provider documents as they are stay.
        assert!(
            !documented
                .validator("CurrencyCode")
                .unwrap()
                .is_valid(&serde_json::json!("kes"))
        );
    }

    #[test]
    fn validators_enforce_patterns_required_fields_and_formats() {
        let spec = Spec::embedded();
        let payout = spec.validator("Payout").unwrap();
        let good = json!({
            "id": "pyt-abc123", "amount": {"value": "140.00", "currency": "KES"},
            "payment_account_id": "pac-x1", "wallet_id": "wlt-y2",
            "state": {"code": "PENDING"}, "created_at": "2026-01-31T09:30:00+03:00"
        });
        assert!(payout.is_valid(&good));
        for (pointer, bad) in [
            ("/id", json!("pac-abc")),
            ("/amount/value", json!(140)),
            ("/amount/value", json!("1e3")),
            ("/state/code", json!("DONE")),
            ("/created_at", json!("yesterday")),
        ] {
            let mut body = good.clone();
            *body.pointer_mut(pointer).unwrap() = bad.clone();
            assert!(
                !payout.is_valid(&body),
                "{pointer} = {bad} should be refused"
            );
        }
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("wallet_id");
        assert!(!payout.is_valid(&missing));
    }

    #[test]
    fn a_broken_schema_fails_to_compile_at_its_pointer() {
        let good = "      type: string\n      pattern: \"^(0|[1-9]";
        let text = OPENAPI_YAML.replacen(good, &good.replace("string", "text"), 1);
        assert_ne!(text, OPENAPI_YAML);
        let spec = Spec::from_yaml(&text).unwrap();
        // Compiled when a validator reaches it, as before: named at its pointer.
        let err = spec.validator("Payout").unwrap_err().to_string();
        assert!(
            err.contains("/components/schemas/Payout: schema does not compile"),
            "{err}"
        );
        assert!(spec.validator("CurrencyCode").is_ok());
    }

    #[test]
    fn duplicate_operation_ids_are_reported_with_their_path() {
        let text = OPENAPI_YAML.replace("operationId: list_wallets", "operationId: list_banks");
        let err = Spec::from_yaml(&text)
            .unwrap()
            .check()
            .unwrap_err()
            .to_string();
        assert!(err.contains("paths./wallets.get.operationId"), "{err}");
    }

    #[test]
    fn openapi_31_is_refused() {
        let text = OPENAPI_YAML.replacen("openapi: 3.0.3", "openapi: 3.1.0", 1);
        assert!(
            Spec::from_yaml(&text)
                .unwrap_err()
                .to_string()
                .contains("3.1.0")
        );
    }

    /// Every (strict, documented) pattern pair of the spec, wherever it is.
    fn pattern_pairs(node: &Value, pairs: &mut Vec<(String, String)>) {
        match node {
            Value::Object(map) => {
                if let (Some(Value::String(strict)), Some(Value::String(documented))) =
                    (map.get("pattern"), map.get(DOCUMENTED_PATTERN))
                {
                    pairs.push((strict.clone(), documented.clone()));
                }
                map.values().for_each(|v| pattern_pairs(v, pairs));
            }
            Value::Array(items) => items.iter().for_each(|v| pattern_pairs(v, pairs)),
            _ => {}
        }
    }

    /// The contract suite validates an answer against our spec first and
    /// skips the documented one when it passes: that is sound only while
    /// our spec narrows the documented one. Relaxing a pattern broadens a
    /// schema unless a combinator turns "matches more" into "fails"
    /// (`oneOf`, `not`), so the spec has none, and every value our pattern
    /// accepts, the documented pattern accepts too.
    #[test]
    fn our_spec_only_narrows_the_documented_one() {
        let spec = Spec::embedded();
        let text = spec.json.to_string();
        for combinator in ["\"oneOf\"", "\"not\"", "\"anyOf\""] {
            assert!(!text.contains(combinator), "the spec uses {combinator}");
        }
        let mut pairs = Vec::new();
        pattern_pairs(&spec.json, &mut pairs);
        assert!(pairs.len() >= 5, "{pairs:?}");
        for (strict, documented) in pairs {
            // A runner per pair: a runner counts its cases across runs.
            let mut runner = proptest::test_runner::TestRunner::deterministic();
            let documented = regex::Regex::new(&documented).unwrap();
            // The generator takes no anchors; ours are all `^...$`.
            let body = strict.trim_start_matches('^').trim_end_matches('$');
            let strings = proptest::string::string_regex(body).unwrap();
            runner
                .run(&strings, |value| {
                    proptest::prop_assert!(
                        documented.is_match(&value),
                        "{value:?} matches {strict} but not {documented}"
                    );
                    Ok(())
                })
                .unwrap();
        }
    }
}
