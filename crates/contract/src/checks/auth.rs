//! `auth_required`: no operation of the spec answers without a valid key,
//! and a valid key without its `Bearer ` scheme is refused too.

use std::sync::Arc;

use rafiki_rules::wire::ErrorCode;

use super::{AUTH_REQUIRED, CheckInfo};
use crate::engine::{Ctx, valid_body};
use crate::http::KeySlot;

pub const CHECKS: &[&CheckInfo] = &[&AUTH_REQUIRED];

/// Every operation of the spec, each sent keyless and with a wrong key
/// (401 UNAUTHORIZED, or a failure), then with the real key but no `Bearer `
/// scheme, as the provider's generated examples send it: the provider
/// documents only `Bearer <key>`, but no page says how a bare key is
/// answered, so anything but 401 warns (`docs/contract.md#authentication`).
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
            let exchange = ctx
                .send(operation.probe(&payout_id, valid_body).key(key))
                .await;
            ctx.recorder.expect(
                &AUTH_REQUIRED,
                exchange.is_error(ErrorCode::Unauthorized),
                || "HTTP 401 UNAUTHORIZED".into(),
                &exchange,
            );
        }
        let bare = ctx
            .send(
                operation
                    .probe(&payout_id, valid_body)
                    .key(KeySlot::PrimaryWithoutScheme),
            )
            .await;
        if bare.status() == 401 {
            ctx.recorder.pass(&AUTH_REQUIRED);
        } else {
            ctx.recorder.warn(
                &AUTH_REQUIRED,
                "HTTP 401 for the key without `Bearer ` (the documented form is `Authorization: Bearer <key>`); a client that works here breaks against the provider",
                Some(&bare),
                None,
            );
        }
    }
}
