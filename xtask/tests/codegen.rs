//! The committed client is what the spec generates, and a spec change
//! that is not regenerated is caught by `codegen --check`.

use std::fs;
use std::path::Path;

use xtask::codegen::{self, CLIENT_FILE, FIX_COMMAND, HTTPMOCK_FILE};

#[test]
fn generated_code_is_fresh() {
    let root = xtask::workspace_root();
    let files = codegen::generate_from(&root.join("spec/openapi.yaml")).unwrap();
    let stale = codegen::stale_files(&root, &files);
    assert!(
        stale.is_empty(),
        "{stale:?} are stale: run `{FIX_COMMAND}` and commit the result"
    );
}

/// Copies the spec and the committed output into a scratch workspace.
fn scratch_copy(root: &Path, scratch: &Path) {
    for file in ["spec/openapi.yaml", CLIENT_FILE, HTTPMOCK_FILE] {
        let to = scratch.join(file);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(root.join(file), to).unwrap();
    }
}

#[test]
fn a_spec_edit_makes_check_fail_until_codegen_runs() {
    let root = xtask::workspace_root();
    let scratch = tempfile::tempdir().unwrap();
    scratch_copy(&root, scratch.path());
    codegen::run(scratch.path(), true).expect("a faithful copy is fresh");

    // Add a field to the payout.
    let spec_path = scratch.path().join("spec/openapi.yaml");
    let spec = fs::read_to_string(&spec_path).unwrap();
    let anchor = "        receipt:\n";
    assert!(spec.contains(anchor));
    let edited = spec.replacen(
        anchor,
        "        reference_note:\n          type: string\n        receipt:\n",
        1,
    );
    fs::write(&spec_path, edited).unwrap();

    let before = fs::read_to_string(scratch.path().join(CLIENT_FILE)).unwrap();
    let error = codegen::run(scratch.path(), true).unwrap_err().to_string();
    assert!(
        error.contains(CLIENT_FILE) && error.contains(FIX_COMMAND),
        "{error}"
    );
    assert_eq!(
        fs::read_to_string(scratch.path().join(CLIENT_FILE)).unwrap(),
        before,
        "--check writes nothing"
    );

    codegen::run(scratch.path(), false).unwrap();
    let after = fs::read_to_string(scratch.path().join(CLIENT_FILE)).unwrap();
    assert!(
        after.contains("pub reference_note:"),
        "the new field is generated"
    );
    codegen::run(scratch.path(), true).expect("fresh again after regeneration");
}

#[test]
fn a_broken_example_stops_codegen_with_its_path() {
    let root = xtask::workspace_root();
    let scratch = tempfile::tempdir().unwrap();
    scratch_copy(&root, scratch.path());
    let spec_path = scratch.path().join("spec/openapi.yaml");
    let spec = fs::read_to_string(&spec_path).unwrap();
    fs::write(
        &spec_path,
        spec.replacen("      example: 20\n", "      example: 51\n", 1),
    )
    .unwrap();
    let error = format!("{:#}", codegen::run(scratch.path(), true).unwrap_err());
    assert!(
        error.contains("/components/parameters/PagingLimit/example"),
        "{error}"
    );
}
