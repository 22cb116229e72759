//! `auth_required`: no operation of the spec answers without a valid key,
//! and a valid key without its `Bearer ` scheme is refused too.

use std::sync::Arc;

use rafiki_rules::wire::ErrorCode;
use serde_json::json;

use super::{AUTH_REQUIRED, CheckInfo};
use crate::engine::{Ctx, valid_body};
use crate::http::{KeySlot, Probe};

pub const CHECKS: &[&CheckInfo] = &[&AUTH_REQUIRED];

/// A well-formed payout id no server has made.
const UNKNOWN_PAYOUT: &str = "pyt-contract0";

/// Every operation of the spec, each sent keyless, with a wrong key, with
/// the real key with a character added (a key that merely begins with a
/// real one is not it) and with `Bearer` and no key: 401 UNAUTHORIZED, or
/// a failure. Keyless, it is also sent as a request the API would refuse
/// otherwise (an unknown payout id, an invalid body), since the key is
/// asked for first. Then with the real key but no `Bearer ` scheme, as the
/// provider's generated examples send it: the provider documents only
/// `Bearer <key>`, but no page says how a bare key is answered, so anything
/// but 401 warns (`docs/contract.md#authentication`).
pub async fn run(ctx: Arc<Ctx>) {
    let payout_id = match &ctx.fixtures {
        Ok(f) => f.payouts[0]["id"]
            .as_str()
            .unwrap_or(UNKNOWN_PAYOUT)
            .to_string(),
        Err(_) => UNKNOWN_PAYOUT.to_string(),
    };
    let wrong = KeySlot::Literal(format!(
        "Bearer sk_contract_wrong_{}",
        uuid::Uuid::new_v4().simple()
    ));
    let no_key = KeySlot::Literal("Bearer".into());
    for operation in &ctx.operations {
        let mut probes: Vec<Probe> = [
            KeySlot::None,
            wrong.clone(),
            KeySlot::PrimaryExtended,
            no_key.clone(),
        ]
        .into_iter()
        .map(|key| operation.probe(&payout_id, valid_body).key(key))
        .collect();
        let refused_otherwise = operation.probe(UNKNOWN_PAYOUT, |_| json!({}));
        if refused_otherwise.body.is_some() || refused_otherwise.target != probes[0].target {
            probes.push(refused_otherwise.key(KeySlot::None));
        }
        for probe in probes {
            let exchange = ctx.send(probe).await;
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
