//! `content_type_required`: every operation with a body refuses one sent
//! without a `Content-Type` with 400, before looking at it: a valid body
//! (a 422 or a 2xx means the header was not required) and an invalid one
//! (a 422 means the body was judged first; the provider's transport page
//! says such a request is rejected promptly). The provider documents only
//! the missing header; that a *non-JSON* type is refused the same way is
//! our reading, so that case only warns, and so does refusing
//! `application/json; charset=utf-8` (the JSON type with a parameter, which
//! many clients send: no page says whether it is "appropriate").

use std::sync::Arc;

use serde_json::json;

use super::{CONTENT_TYPE_REQUIRED, CheckInfo};
use crate::engine::{Ctx, valid_body};
use crate::http::Probe;
use crate::report::Verdict;

pub const CHECKS: &[&CheckInfo] = &[&CONTENT_TYPE_REQUIRED];

/// The JSON media type with a parameter, as many clients send it.
const JSON_WITH_CHARSET: &str = "application/json; charset=utf-8";

pub async fn run(ctx: Arc<Ctx>) {
    for operation in ctx.operations.iter().filter(|o| o.has_body) {
        let sent = [
            (None, valid_body(operation.id)),
            (None, json!({})),
            (Some("text/plain"), valid_body(operation.id)),
            (Some(JSON_WITH_CHARSET), valid_body(operation.id)),
        ];
        for (body_type, body) in sent {
            let probe = Probe {
                body_type,
                ..operation.probe("none", |_| body)
            };
            let exchange = ctx.send(probe).await;
            let refused = exchange.status() == 400;
            let verdict = match body_type {
                Some(JSON_WITH_CHARSET) if refused || exchange.status() == 415 => {
                    Verdict::Warn(format!(
                        "{} sent as {JSON_WITH_CHARSET} is not refused for its type",
                        operation.id
                    ))
                }
                Some(JSON_WITH_CHARSET) => Verdict::Pass,
                _ if refused => Verdict::Pass,
                None => Verdict::Fail(format!(
                    "HTTP 400 for {} sent without a Content-Type, whatever its body",
                    operation.id
                )),
                Some(other) => {
                    Verdict::Warn(format!("HTTP 400 for {} sent as {other}", operation.id))
                }
            };
            ctx.recorder
                .verdict(&CONTENT_TYPE_REQUIRED, verdict, &exchange, None);
        }
    }
}
