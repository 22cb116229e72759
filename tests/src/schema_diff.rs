//! Compares two JSON Schemas by shape: a Rust type's schema (from
//! schemars) against an OpenAPI component, so hand-written wire types and
//! the spec cannot drift apart unnoticed.
//!
//! What is compared, recursively through `$ref`s (each side resolved in
//! its own document), array items and map values: the property names, the
//! required set, the JSON type of each property, and enum values. Formats,
//! patterns, lengths and descriptions are not. Every difference carries
//! its path (`Payout.state.code`, `BankList.data[]`, `ValidationErrors.fields.*`).
//!
//! Two notations are read as one: a lone `allOf: [S]` is `S` (OpenAPI's way
//! to describe a `$ref`), and `anyOf: [S, {type: null}]` or a `null` in
//! `type` is a nullable `S` (schemars' way to write `Option<T>`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

/// What differs at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A property the spec describes and the wire type lacks.
    MissingFromWire,
    /// A property the wire type has and the spec lacks.
    MissingFromSpec,
    /// Required by the spec, optional in the wire type.
    RequiredOnlyBySpec,
    /// Always present in the wire type, optional in the spec.
    RequiredOnlyByWire,
    /// The JSON types differ (the comparison stops there).
    Type,
    /// The wire type always writes the property and may write it as
    /// `null`, which the spec does not allow.
    NullOnlyInWire,
    /// The enum values differ, or only one side is an enum.
    EnumValues,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::MissingFromWire => "in the spec, not in the wire type",
            Kind::MissingFromSpec => "in the wire type, not in the spec",
            Kind::RequiredOnlyBySpec => "required by the spec, optional in the wire type",
            Kind::RequiredOnlyByWire => "always in the wire type, optional in the spec",
            Kind::Type => "JSON types differ",
            Kind::NullOnlyInWire => "the wire type may write null, the spec does not allow it",
            Kind::EnumValues => "enum values differ",
        }
    }
}

/// One difference, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    pub path: String,
    pub kind: Kind,
    /// The two sides, for a human.
    pub detail: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind.describe())?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

/// The two documents and what a comparison found.
#[derive(Debug)]
pub struct Comparison<'a> {
    wire_root: &'a Value,
    spec_root: &'a Value,
    /// Spec `$ref` to the wire `$ref` of the type that mirrors it: where
    /// both sides point at such a pair, the walk stops (the pair is
    /// compared on its own, so its differences are reported once).
    compared_apart: &'a BTreeMap<String, String>,
    pub differences: Vec<Difference>,
    /// Every spec `$ref` the walk met.
    pub spec_refs: BTreeSet<String>,
}

/// A schema with `$ref`s, lone `allOf`s and nullability peeled off.
#[derive(Debug)]
struct Resolved<'a> {
    schema: &'a Value,
    /// The `$ref` that led here (the last one followed), if any.
    reference: Option<&'a str>,
    /// JSON types without `null` (empty: any).
    types: BTreeSet<String>,
    nullable: bool,
    enum_values: Option<BTreeSet<String>>,
}

impl<'a> Comparison<'a> {
    /// A comparison of schemas in `wire_root` (a schemars root schema,
    /// `$ref`s like `#/$defs/Name`) with schemas in `spec_root` (an
    /// OpenAPI document, `$ref`s like `#/components/schemas/Name`).
    pub fn new(
        wire_root: &'a Value,
        spec_root: &'a Value,
        compared_apart: &'a BTreeMap<String, String>,
    ) -> Self {
        Comparison {
            wire_root,
            spec_root,
            compared_apart,
            differences: Vec::new(),
            spec_refs: BTreeSet::new(),
        }
    }

    /// Compares `wire` (inside the wire root) with `spec` (inside the spec
    /// root), naming differences from `path`.
    pub fn compare(&mut self, path: &str, wire: &'a Value, spec: &'a Value) {
        let wire = resolve(self.wire_root, wire, &mut BTreeSet::new());
        let spec = resolve(self.spec_root, spec, &mut self.spec_refs);
        self.compare_resolved(path, &wire, &spec);
    }

    fn differ(&mut self, path: &str, kind: Kind, detail: impl Into<String>) {
        self.differences.push(Difference {
            path: path.to_owned(),
            kind,
            detail: detail.into(),
        });
    }

    fn compare_resolved(&mut self, path: &str, wire: &Resolved<'a>, spec: &Resolved<'a>) {
        if wire.types != spec.types {
            let detail = format!(
                "wire {}, spec {}",
                types_text(&wire.types),
                types_text(&spec.types)
            );
            return self.differ(path, Kind::Type, detail);
        }
        match (&wire.enum_values, &spec.enum_values) {
            (Some(in_wire), Some(in_spec)) if in_wire != in_spec => {
                let detail = format!(
                    "only in the wire type: {:?}, only in the spec: {:?}",
                    in_wire.difference(in_spec).collect::<Vec<_>>(),
                    in_spec.difference(in_wire).collect::<Vec<_>>()
                );
                self.differ(path, Kind::EnumValues, detail);
            }
            (Some(in_wire), None) => {
                let detail = format!("the wire type allows only {in_wire:?}, the spec any value");
                self.differ(path, Kind::EnumValues, detail);
            }
            (None, Some(in_spec)) => {
                let detail = format!("the spec allows only {in_spec:?}, the wire type any value");
                self.differ(path, Kind::EnumValues, detail);
            }
            _ => {}
        }
        if wire.types.contains("object") {
            self.compare_objects(path, wire.schema, spec.schema);
        }
        if wire.types.contains("array") {
            let (wire_items, spec_items) = (wire.schema.get("items"), spec.schema.get("items"));
            self.compare_children(&format!("{path}[]"), wire_items, spec_items, false);
        }
    }

    fn compare_objects(&mut self, path: &str, wire: &'a Value, spec: &'a Value) {
        let (wire_properties, spec_properties) = (properties(wire), properties(spec));
        let (wire_required, spec_required) = (required(wire), required(spec));
        let names: BTreeSet<&String> = wire_properties
            .into_iter()
            .chain(spec_properties)
            .flat_map(Map::keys)
            .collect();
        for name in names {
            let at = format!("{path}.{name}");
            let in_wire = wire_properties.and_then(|p| p.get(name));
            let in_spec = spec_properties.and_then(|p| p.get(name));
            match (wire_required.contains(name), spec_required.contains(name)) {
                (false, true) => self.differ(&at, Kind::RequiredOnlyBySpec, ""),
                (true, false) => self.differ(&at, Kind::RequiredOnlyByWire, ""),
                _ => {}
            }
            self.compare_children(&at, in_wire, in_spec, wire_required.contains(name));
        }
        let (wire_values, spec_values) = (map_values(wire), map_values(spec));
        self.compare_children(&format!("{path}.*"), wire_values, spec_values, false);
    }

    /// Compares two child schemas, either of which may be absent;
    /// `always_written`: the wire type never omits this child.
    fn compare_children(
        &mut self,
        path: &str,
        wire: Option<&'a Value>,
        spec: Option<&'a Value>,
        always_written: bool,
    ) {
        let (wire, spec) = match (wire, spec) {
            (None, None) => return,
            (Some(_), None) => return self.differ(path, Kind::MissingFromSpec, ""),
            (None, Some(_)) => return self.differ(path, Kind::MissingFromWire, ""),
            (Some(wire), Some(spec)) => (wire, spec),
        };
        let wire = resolve(self.wire_root, wire, &mut BTreeSet::new());
        let spec = resolve(self.spec_root, spec, &mut self.spec_refs);
        if always_written && wire.nullable && !spec.nullable {
            self.differ(path, Kind::NullOnlyInWire, "");
        }
        let mirrored = spec
            .reference
            .and_then(|r| self.compared_apart.get(r))
            .is_some_and(|w| wire.reference == Some(w.as_str()));
        if !mirrored {
            self.compare_resolved(path, &wire, &spec);
        }
    }
}

/// Peels `$ref`s (recording each in `refs`), lone `allOf`s and `null`
/// alternatives off `schema`.
fn resolve<'a>(root: &'a Value, schema: &'a Value, refs: &mut BTreeSet<String>) -> Resolved<'a> {
    let mut schema = schema;
    let mut reference = None;
    let mut nullable = schema.get("nullable") == Some(&Value::Bool(true));
    loop {
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            refs.insert(target.to_owned());
            reference = Some(target);
            let pointer = target.strip_prefix('#').unwrap_or(target);
            schema = root
                .pointer(pointer)
                .unwrap_or_else(|| panic!("`$ref` {target} does not resolve"));
        } else if let Some([only]) = schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            schema = only;
        } else if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array)
            && let [first, second] = alternatives.as_slice()
            && (is_null(first) || is_null(second))
        {
            nullable = true;
            schema = if is_null(first) { second } else { first };
        } else {
            break;
        }
        nullable |= schema.get("nullable") == Some(&Value::Bool(true));
    }
    let mut types: BTreeSet<String> = match schema.get("type") {
        Some(Value::String(one)) => [one.clone()].into(),
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    };
    nullable |= types.remove("null");
    let enum_values = enum_values(schema);
    if types.is_empty() && enum_values.as_ref().is_some_and(|v| !v.is_empty()) {
        types.insert("string".to_owned());
    }
    Resolved {
        schema,
        reference,
        types,
        nullable,
        enum_values,
    }
}

fn is_null(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// The values of an `enum`, a `const`, or a `oneOf`/`anyOf` of consts
/// (schemars writes documented enum variants that way), as text.
fn enum_values(schema: &Value) -> Option<BTreeSet<String>> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.iter().map(text).collect());
    }
    if let Some(value) = schema.get("const") {
        return Some([text(value)].into());
    }
    let alternatives = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)?;
    let mut values = BTreeSet::new();
    for alternative in alternatives {
        values.extend(enum_values(alternative)?);
    }
    Some(values)
}

fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

fn required(schema: &Value) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The schema of a map's values (`additionalProperties` as a schema).
fn map_values(schema: &Value) -> Option<&Value> {
    schema
        .get("additionalProperties")
        .filter(|values| values.is_object())
}

fn types_text(types: &BTreeSet<String>) -> String {
    if types.is_empty() {
        "any".to_owned()
    } else {
        types.iter().cloned().collect::<Vec<_>>().join("|")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compare(wire: &Value, spec: &Value) -> Vec<(String, Kind)> {
        let apart = BTreeMap::new();
        let mut comparison = Comparison::new(wire, spec, &apart);
        comparison.compare("Thing", wire, &spec["components"]["schemas"]["Thing"]);
        comparison
            .differences
            .into_iter()
            .map(|d| (d.path, d.kind))
            .collect()
    }

    #[test]
    fn refs_lone_all_ofs_and_nullable_options_read_as_what_they_point_at() {
        let wire = json!({
            "type": "object",
            "properties": {
                "size": {"anyOf": [{"$ref": "#/$defs/Size"}, {"type": "null"}]},
                "name": {"type": ["string", "null"]}
            },
            "$defs": {"Size": {"type": "string", "enum": ["S", "M"]}}
        });
        let spec = json!({"components": {"schemas": {
            "Size": {"type": "string", "enum": ["M", "S"]},
            "Thing": {"type": "object", "properties": {
                "size": {"description": "how big", "allOf": [{"$ref": "#/components/schemas/Size"}]},
                "name": {"type": "string"}
            }}
        }}});
        assert_eq!(compare(&wire, &spec), []);
    }

    #[test]
    fn a_null_always_written_is_a_difference() {
        let wire = json!({"type": "object", "required": ["name"],
            "properties": {"name": {"type": ["string", "null"]}}});
        let spec = json!({"components": {"schemas": {"Thing": {"type": "object",
            "required": ["name"], "properties": {"name": {"type": "string"}}}}}});
        assert_eq!(
            compare(&wire, &spec),
            [("Thing.name".to_owned(), Kind::NullOnlyInWire)]
        );
    }

    #[test]
    fn documented_enum_variants_written_as_consts_are_enum_values() {
        let schema = json!({"oneOf": [
            {"type": "string", "const": "A", "description": "a"},
            {"type": "string", "const": "B"}
        ]});
        let values = enum_values(&schema).unwrap();
        assert_eq!(values, ["A".to_owned(), "B".to_owned()].into());
    }
}
