//! Project automation behind `cargo xtask` (see `main.rs` for the commands).
//!
//! The one job that matters to CI is [`codegen`]: the typed clients in
//! `crates/client/src/generated/` are a pure function of `spec/openapi.yaml`
//! and `spec/sandbox.yaml`, and this module both writes them and checks that
//! the committed copies are what the specs produce today.

pub mod codegen;

use std::path::{Path, PathBuf};

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}
