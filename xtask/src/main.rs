//! `cargo xtask`: the project's automation (alias in `.cargo/config.toml`).
//!
//! - `cargo xtask codegen`          regenerate the client from spec/openapi.yaml
//! - `cargo xtask codegen --check`  fail if the committed client is stale (CI)
//! - `cargo xtask spec`             only self-check the spec

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Project automation for the Rafiki toolkit"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the typed client (and httpmock helpers) from spec/openapi.yaml.
    Codegen {
        /// Write nothing; fail if the committed files are not what the spec generates.
        #[arg(long)]
        check: bool,
    },
    /// Check the spec: parses, unique operationIds, refs resolve, examples valid.
    Spec,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One readable line (with causes), no backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = xtask::workspace_root();
    match cli.command {
        Command::Codegen { check } => xtask::codegen::run(&root, check),
        Command::Spec => {
            let spec_path = root.join("spec/openapi.yaml");
            let spec = rafiki_spec::Spec::from_yaml(&std::fs::read_to_string(&spec_path)?)?;
            spec.check()?;
            println!(
                "spec: {} is valid ({} examples checked)",
                spec_path.display(),
                spec.example_sites().len()
            );
            Ok(())
        }
    }
}
