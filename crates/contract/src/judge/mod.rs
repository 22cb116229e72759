//! Judging every answer, for the run and the proxy alike: its status is
//! documented, its body matches the spec's schema and decodes into the
//! shipped client's types, it is JSON, and an error has its envelope; and,
//! before anything else, whether a server is the API at all (`recognise`).

pub mod client_decodes;
pub mod conformance;
pub mod recognise;
