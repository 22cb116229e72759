//! `cargo xtask codegen [--check]`: specs in, formatted Rust clients out.
//!
//! Each [`Source`] is one spec and the files made from it: the API's client
//! (with progenitor's typed `httpmock` helpers) from `spec/openapi.yaml`,
//! and the sandbox control client from `spec/sandbox.yaml`. Steps per
//! source: parse and self-check the spec ([`rafiki_spec::Spec::check`]),
//! generate with progenitor, format with prettyplease, prepend a
//! do-not-edit header naming the spec, then either write the files or
//! (with `--check`) compare them with what is committed and fail naming
//! each stale file, its spec and the command that fixes it.

use std::path::Path;

use anyhow::{Context, Result, bail};
use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle, TypeImpl};
use rafiki_spec::Spec;

/// The command that regenerates the clients, quoted in every error.
pub const FIX_COMMAND: &str = "cargo xtask codegen";

/// Where the generated files live, relative to the workspace root.
pub const CLIENT_FILE: &str = "crates/client/src/generated/client.rs";
pub const HTTPMOCK_FILE: &str = "crates/client/src/generated/httpmock.rs";
pub const SANDBOX_FILE: &str = "crates/client/src/generated/sandbox.rs";

/// The specs, relative to the workspace root.
pub const API_SPEC: &str = "spec/openapi.yaml";
pub const SANDBOX_SPEC: &str = "spec/sandbox.yaml";

/// One spec and the files generated from it.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// The spec, relative to the workspace root.
    pub spec: &'static str,
    /// The client, and what it is (for its header).
    pub client: Output,
    /// progenitor's typed httpmock helpers, when wanted.
    pub httpmock: Option<Httpmock>,
}

/// A generated file and what it is, for its do-not-edit header.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub path: &'static str,
    pub what: &'static str,
}

/// Where the httpmock helpers go and the Rust path of the client they mock.
#[derive(Debug, Clone, Copy)]
pub struct Httpmock {
    pub output: Output,
    pub client_module: &'static str,
}

/// Every spec the generator reads: what `codegen` writes and `--check` checks.
pub const SOURCES: &[Source] = &[
    Source {
        spec: API_SPEC,
        client: Output {
            path: CLIENT_FILE,
            what: "the typed client",
        },
        httpmock: Some(Httpmock {
            output: Output {
                path: HTTPMOCK_FILE,
                what: "typed httpmock helpers",
            },
            client_module: "crate::generated",
        }),
    },
    Source {
        spec: SANDBOX_SPEC,
        client: Output {
            path: SANDBOX_FILE,
            what: "the typed client of the sandbox control API",
        },
        httpmock: None,
    },
];

/// One file the generator produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the workspace root.
    pub path: &'static str,
    /// The spec it is generated from, relative to the workspace root.
    pub spec: &'static str,
    pub contents: String,
}

/// Generates every file of every [`SOURCES`] entry, reading the specs
/// under `root`.
pub fn generate_all(root: &Path) -> Result<Vec<GeneratedFile>> {
    let mut files = Vec::new();
    for source in SOURCES {
        files.extend(generate_from(root, source)?);
    }
    Ok(files)
}

/// Reads `source`'s spec under `root`, checks it, and generates its files.
pub fn generate_from(root: &Path, source: &Source) -> Result<Vec<GeneratedFile>> {
    generate(&read_checked(root, source.spec)?, source)
}

/// Reads the spec at `spec` (relative to `root`) and runs its self-check.
pub fn read_checked(root: &Path, spec: &str) -> Result<Spec> {
    let path = root.join(spec);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let parsed = Spec::from_yaml(&text).with_context(|| format!("parsing {spec}"))?;
    parsed
        .check()
        .with_context(|| format!("{spec} failed its self-check"))?;
    Ok(parsed)
}

/// The progenitor settings every client shares.
fn settings() -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_derive("PartialEq")
        // Money is exact: every decimal string becomes a rust_decimal::Decimal
        // (which serialises back to a string).
        .with_replacement(
            "DecimalString",
            "::rust_decimal::Decimal",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );
    settings
}

/// Generates `source`'s client (and its httpmock helpers) from a checked spec.
///
/// The client is generated from the spec's documented reading
/// ([`Spec::documented`]): where our spec is stricter than the provider's
/// documents (an id's alphabet after its prefix, the spelling of an error
/// code), the client's types accept what the documented contract allows,
/// so that it can read every answer a conforming server may send, and
/// build every request such a server must take.
fn generate(spec: &Spec, source: &Source) -> Result<Vec<GeneratedFile>> {
    let spec = &spec.documented();
    let settings = settings();
    let mut generator = Generator::new(&settings);
    let client = generator
        .generate_tokens(spec.openapi())
        .with_context(|| format!("progenitor: client from {}", source.spec))?;
    let mut files = vec![render(client, source.spec, source.client)?];
    if let Some(httpmock) = source.httpmock {
        let mock = generator
            .httpmock(spec.openapi(), httpmock.client_module)
            .with_context(|| format!("progenitor: httpmock helpers from {}", source.spec))?;
        files.push(render(mock, source.spec, httpmock.output)?);
    }
    Ok(files)
}

fn render(
    tokens: proc_macro2::TokenStream,
    spec: &'static str,
    output: Output,
) -> Result<GeneratedFile> {
    let Output { path, what } = output;
    let file: syn::File =
        syn::parse2(tokens).with_context(|| format!("parsing generated {what}"))?;
    let contents = format!(
        "// @generated by `{FIX_COMMAND}` from {spec}: {what}.\n\
         // DO NOT EDIT. Change the spec and run `{FIX_COMMAND}` instead.\n\n{}",
        prettyplease::unparse(&file)
    );
    Ok(GeneratedFile {
        path,
        spec,
        contents,
    })
}

/// Files whose committed contents differ from `files`.
pub fn stale_files<'f>(root: &Path, files: &'f [GeneratedFile]) -> Vec<&'f GeneratedFile> {
    files
        .iter()
        .filter(|f| std::fs::read_to_string(root.join(f.path)).ok().as_deref() != Some(&f.contents))
        .collect()
}

/// What `--check` says about stale files: each with its spec, then the fix.
pub fn stale_message(stale: &[&GeneratedFile]) -> String {
    let each: Vec<String> = stale
        .iter()
        .map(|f| {
            format!(
                "{} is stale: it does not match what {} generates",
                f.path, f.spec
            )
        })
        .collect();
    format!(
        "{}. Run `{FIX_COMMAND}` and commit the result.",
        each.join("; ")
    )
}

/// The `codegen` command: write the files, or with `check` only compare.
pub fn run(root: &Path, check: bool) -> Result<()> {
    let files = generate_all(root)?;
    let stale = stale_files(root, &files);
    if check {
        if !stale.is_empty() {
            bail!("{}", stale_message(&stale));
        }
        println!("codegen: {} generated file(s) up to date", files.len());
        return Ok(());
    }
    for file in &stale {
        let path = root.join(file.path);
        std::fs::create_dir_all(path.parent().expect("generated files are in a folder"))?;
        std::fs::write(&path, &file.contents)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("codegen: wrote {} (from {})", file.path, file.spec);
    }
    if stale.is_empty() {
        println!(
            "codegen: {} generated file(s) already up to date",
            files.len()
        );
    }
    Ok(())
}
