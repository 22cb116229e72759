//! The code progenitor generates from our specs: `client.rs` and
//! `httpmock.rs` from `spec/openapi.yaml`, `sandbox.rs` from
//! `spec/sandbox.yaml`.
//!
//! Never edit them by hand: change the spec and run `cargo xtask codegen`.
//! `cargo xtask codegen --check` (and the test `generated_code_is_fresh` in
//! the xtask crate) fail when they are stale.

#![allow(clippy::all, missing_docs, unused_imports, dead_code, rustdoc::all)]

// Left as prettyplease printed it: `cargo fmt` must not touch generated
// files, or `cargo xtask codegen --check` would call them stale.
#[rustfmt::skip]
mod client;

pub use client::*;

/// progenitor's typed `httpmock` helpers: `MockServerExt` adds one method
/// per operation to `httpmock::MockServer`. Behind the `httpmock` feature.
#[cfg(feature = "httpmock")]
#[rustfmt::skip]
pub mod httpmock;

/// The client of the sandbox control API, from `spec/sandbox.yaml` (feature
/// `sandbox`; used through [`crate::sandbox`]).
#[cfg(feature = "sandbox")]
#[rustfmt::skip]
pub mod sandbox;
