//! `content_type_required`: every operation with a body refuses one that
//! is not sent as `application/json` with 400, before looking at it (the
//! body itself is valid, so a 422 or a 2xx means the type was ignored).

use std::sync::Arc;

use super::{CONTENT_TYPE_REQUIRED, CheckInfo};
use crate::runner::Ctx;

pub const CHECKS: &[&CheckInfo] = &[&CONTENT_TYPE_REQUIRED];

/// The content types tried: none at all, and a type that is not JSON.
const NOT_JSON: [Option<&str>; 2] = [None, Some("text/plain")];

pub async fn run(ctx: Arc<Ctx>) {
    for operation in ctx.operations.iter().filter(|o| o.has_body) {
        for body_type in NOT_JSON {
            let probe = crate::http::Probe {
                body_type,
                ..operation.probe("none")
            };
            let exchange = ctx.send(probe).await;
            ctx.recorder.expect(
                &CONTENT_TYPE_REQUIRED,
                exchange.status() == 400,
                || {
                    format!(
                        "HTTP 400 for {} with {}",
                        operation.id,
                        body_type.map_or("no Content-Type".into(), |t| format!("Content-Type {t}"))
                    )
                },
                &exchange,
            );
        }
    }
}
