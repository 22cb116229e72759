//! End-to-end tests live in `tests/tests/`; this library holds what they
//! share that is worth testing on its own.

pub mod schema_diff;
