//! `cargo xtask`: the project's automation (alias in `.cargo/config.toml`).
//!
//! - `cargo xtask codegen`          regenerate the clients from spec/openapi.yaml and spec/sandbox.yaml
//! - `cargo xtask codegen --check`  fail if a committed generated file is stale (CI)
//! - `cargo xtask spec`             only self-check the specs

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
    /// Generate the typed clients (and httpmock helpers) from spec/openapi.yaml and spec/sandbox.yaml.
    Codegen {
        /// Write nothing; fail if the committed files are not what the spec generates.
        #[arg(long)]
        check: bool,
    },
    /// Check the specs: parse, unique operationIds, refs resolve, examples valid.
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
            for source in xtask::codegen::SOURCES {
                let spec = xtask::codegen::read_checked(&root, source.spec)?;
                println!(
                    "spec: {} is valid ({} examples checked)",
                    source.spec,
                    spec.example_sites().len()
                );
            }
            Ok(())
        }
    }
}
