//! `auth_required`: no operation of the spec answers without a valid key.

use std::sync::Arc;

use rafiki_rules::wire::ErrorCode;

use super::{AUTH_REQUIRED, CheckInfo};
use crate::http::KeySlot;
use crate::runner::Ctx;

pub const CHECKS: &[&CheckInfo] = &[&AUTH_REQUIRED];

/// Every operation of the spec, each sent keyless and with a wrong key.
pub async fn run(ctx: Arc<Ctx>) {
    let payout_id = match &ctx.fixtures {
        Ok(f) => f.payouts[0]["id"]
            .as_str()
            .unwrap_or("pyt-contract0")
            .to_string(),
        Err(_) => "pyt-contract0".to_string(),
    };
    let wrong = KeySlot::Literal(format!(
        "Bearer sk_contract_wrong_{}",
        uuid::Uuid::new_v4().simple()
    ));
    for operation in &ctx.operations {
        for key in [KeySlot::None, wrong.clone()] {
            let exchange = ctx.send(operation.probe(&payout_id).key(key)).await;
            ctx.recorder.expect(
                &AUTH_REQUIRED,
                exchange.is_error(ErrorCode::Unauthorized),
                || "HTTP 401 UNAUTHORIZED".into(),
                &exchange,
            );
        }
    }
}
