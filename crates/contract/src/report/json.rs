//! The report as JSON (`--json`), and its published JSON Schema.

use super::Report;

impl Report {
    /// The JSON report (`--json`).
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }

    /// The JSON Schema (draft 2020-12) of [`Report::json`], pretty-printed
    /// with a final newline: what `report.schema.json` holds.
    pub fn json_schema() -> String {
        let generator = schemars::generate::SchemaSettings::draft2020_12()
            .for_serialize()
            .into_generator();
        let schema = generator.into_root_schema_for::<Report>();
        let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
        text.push('\n');
        text
    }
}
