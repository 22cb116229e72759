//! Project automation behind `cargo xtask` (see `main.rs` for the commands).
//!
//! The one job that matters to CI is [`codegen`]: the typed client in
//! `crates/client/src/generated/` is a pure function of `spec/openapi.yaml`,
//! and this module both writes it and checks that the committed copy is
//! what the spec produces today.

pub mod codegen;

use std::path::{Path, PathBuf};

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}
