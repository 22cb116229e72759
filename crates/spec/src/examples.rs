//! Finds every example in the spec and checks it against its schema.
//!
//! An `example` sits either on a schema itself (checked against that
//! schema) or beside a `schema` (parameters, media types: checked against
//! the sibling). Media types may also carry named `examples`, each with a
//! `value`.

use serde_json::Value;

use crate::{Spec, SpecError, escape};

/// One example and the schema it must satisfy, both as JSON pointers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleSite {
    /// Where the example value is.
    pub example: String,
    /// Where the schema it is checked against is.
    pub schema: String,
}

impl Spec {
    /// Every example in the spec, in document order.
    pub fn example_sites(&self) -> Vec<ExampleSite> {
        let mut sites = Vec::new();
        collect(&self.json, "", &mut sites);
        sites
    }
}

fn collect(node: &Value, pointer: &str, sites: &mut Vec<ExampleSite>) {
    match node {
        Value::Object(map) => {
            let schema = if map.contains_key("schema") {
                format!("{pointer}/schema")
            } else {
                pointer.to_string()
            };
            if map.contains_key("example") {
                sites.push(ExampleSite {
                    example: format!("{pointer}/example"),
                    schema: schema.clone(),
                });
            }
            if let Some(Value::Object(named)) = map.get("examples") {
                for name in named.keys() {
                    sites.push(ExampleSite {
                        example: format!("{pointer}/examples/{}/value", escape(name)),
                        schema: schema.clone(),
                    });
                }
            }
            for (key, child) in map {
                // Example values are data, not spec nodes.
                if key != "example" && key != "examples" {
                    collect(child, &format!("{pointer}/{}", escape(key)), sites);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect(child, &format!("{pointer}/{i}"), sites);
            }
        }
        _ => {}
    }
}

/// Checks every example; the first invalid one is the error.
pub(crate) fn check_all(spec: &Spec) -> Result<(), SpecError> {
    for site in spec.example_sites() {
        let value = spec
            .json
            .pointer(&site.example)
            .ok_or_else(|| SpecError::at(&site.example, "named example has no `value`"))?;
        let validator = spec.validator_at(&site.schema)?;
        if let Some(error) = validator.iter_errors(value).next() {
            return Err(SpecError::at(
                &site.example,
                format!(
                    "example does not match its schema ({}): {error} (at {})",
                    site.schema,
                    error.instance_path()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{OPENAPI_YAML, Spec};

    #[test]
    fn finds_schema_parameter_and_media_type_examples() {
        let sites = Spec::embedded().example_sites();
        assert!(sites.len() >= 20, "only {} examples found", sites.len());
        let has = |example: &str, schema: &str| {
            sites
                .iter()
                .any(|s| s.example == example && s.schema == schema)
        };
        assert!(has(
            "/components/schemas/Payout/example",
            "/components/schemas/Payout"
        ));
        assert!(has(
            "/components/parameters/PagingLimit/example",
            "/components/parameters/PagingLimit/schema"
        ));
        assert!(has(
            "/paths/~1payouts/post/requestBody/content/application~1json/example",
            "/paths/~1payouts/post/requestBody/content/application~1json/schema"
        ));
    }

    #[test]
    fn an_invalid_example_is_reported_with_its_path() {
        let broken =
            OPENAPI_YAML.replace("        receipt: QK71ABCDEF\n", "        receipt: \"\"\n");
        assert_ne!(broken, OPENAPI_YAML, "fixture text not found in spec");
        let err = Spec::from_yaml(&broken)
            .unwrap()
            .check()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/components/schemas/Payout/example:"),
            "{err}"
        );
        assert!(err.contains("/receipt"), "{err}");
    }
}
