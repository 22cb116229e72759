//! `content_type_required`: every operation with a body refuses one sent
//! without a `Content-Type` with 400, before looking at it (the body itself
//! is valid, so a 422 or a 2xx means the header was not required). The
//! provider documents only the missing header; that a *non-JSON* type is
//! refused the same way is our reading, so that case only warns.

use std::sync::Arc;

use super::{CONTENT_TYPE_REQUIRED, CheckInfo};
use crate::engine::{Ctx, valid_body};
use crate::http::Probe;
use crate::report::Verdict;

pub const CHECKS: &[&CheckInfo] = &[&CONTENT_TYPE_REQUIRED];

pub async fn run(ctx: Arc<Ctx>) {
    for operation in ctx.operations.iter().filter(|o| o.has_body) {
        for body_type in [None, Some("text/plain")] {
            let probe = Probe {
                body_type,
                ..operation.probe("none", valid_body)
            };
            let exchange = ctx.send(probe).await;
            let verdict = match (exchange.status() == 400, body_type) {
                (true, _) => Verdict::Pass,
                (false, None) => Verdict::Fail(format!(
                    "HTTP 400 for {} sent without a Content-Type",
                    operation.id
                )),
                (false, Some(other)) => {
                    Verdict::Warn(format!("HTTP 400 for {} sent as {other}", operation.id))
                }
            };
            ctx.recorder
                .verdict(&CONTENT_TYPE_REQUIRED, verdict, &exchange, None);
        }
    }
}
