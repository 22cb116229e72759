//! `--record FILE`: every exchange as one JSON line, for later inspection:
//! when, the request (method, path and query, headers, body) and what came
//! back (status, headers, body; or that the connection was dropped). The
//! `Authorization` header keeps its scheme only, and any key a body echoes
//! is scrubbed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use hyper::header::{AUTHORIZATION, HeaderMap};
use serde_json::{Map, Value, json};

use super::forward::{Captured, Outcome};
use super::redact::{Secrets, authorization_shown};

/// The open record.
pub struct Recording {
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl Recording {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Recording {
            path: path.to_path_buf(),
            out: Some(BufWriter::new(File::create(path)?)),
        })
    }

    /// Appends exchange number `seq`. A write that fails stops the record
    /// (said once in the log); the proxy goes on.
    pub fn write(&mut self, seq: u64, captured: &Captured, secrets: &Secrets) {
        let Some(out) = self.out.as_mut() else { return };
        let line = line(seq, captured, secrets);
        if let Err(error) = writeln!(out, "{line}") {
            tracing::warn!(path = %self.path.display(), %error, "proxy: the record stopped");
            self.out = None;
        }
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        if let Some(Err(error)) = self.out.as_mut().map(BufWriter::flush) {
            tracing::warn!(path = %self.path.display(), %error, "proxy: the record is incomplete");
        }
    }
}

fn line(seq: u64, captured: &Captured, secrets: &Secrets) -> Value {
    let at: chrono::DateTime<chrono::Utc> = captured.at.into();
    let mut line = json!({
        "seq": seq,
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "elapsed_ms": (captured.finished - captured.started).as_secs_f64() * 1000.0,
        "request": {
            "method": captured.method.as_str(),
            "path": captured.path_and_query,
            "headers": headers(&captured.request_headers, secrets),
            "body": text(&captured.request_body, secrets),
        },
    });
    let (name, value) = match &captured.outcome {
        Outcome::Answered {
            status,
            headers: answer_headers,
            body,
        } => (
            "response",
            json!({
                "status": status.as_u16(),
                "headers": headers(answer_headers, secrets),
                "body": text(body, secrets),
            }),
        ),
        Outcome::Dropped(why) => ("dropped", Value::String(secrets.scrub(why))),
        Outcome::Unreachable(why) => ("unreachable", Value::String(secrets.scrub(why))),
    };
    line[name] = value;
    line
}

/// Headers as `{name: [values]}`, `Authorization` shown by its scheme only.
fn headers(headers: &HeaderMap, secrets: &Secrets) -> Value {
    let mut shown = Map::new();
    for name in headers.keys() {
        let values = headers
            .get_all(name)
            .iter()
            .map(|value| {
                let value = String::from_utf8_lossy(value.as_bytes());
                let value = if name == AUTHORIZATION {
                    authorization_shown(&value)
                } else {
                    secrets.scrub(&value)
                };
                Value::String(value)
            })
            .collect();
        shown.insert(name.as_str().to_string(), Value::Array(values));
    }
    Value::Object(shown)
}

fn text(body: &Bytes, secrets: &Secrets) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    Value::String(secrets.scrub(&String::from_utf8_lossy(body)))
}
