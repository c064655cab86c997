//! The instance's life after creation: query it, renew, freeze (twice), unfreeze, upgrade,
//! pre-check a change, and finally release it (twice).

use serde_json::json;

use super::{SUCCESS, debugged, expect_code};
use crate::conform::cases;
use crate::conform::checks::Shape;
use crate::conform::runner::Runner;
use crate::conform::{CHANGE_ORDER_ID, RENEW_ORDER_ID, line_of};
use crate::produce_client::Body;

pub(super) async fn query_instance(r: &mut Runner<'_>, id: &str) {
    let shape = Shape::QueryInstance(id.to_owned());
    let exchange = debugged(
        r,
        cases::QUERY_INSTANCE,
        &Body::query_instance(id),
        &[SUCCESS],
        shape,
    )
    .await;
    let result = match &exchange {
        Err(e) => return r.skip("queryInstance.app-info", &format!("no answer: {e}")),
        Ok(reply) => match reply.parsed.as_ref().ok().and_then(|p| p.info.as_ref()) {
            None => Err("no info[] in the answer".to_owned()),
            Some(info) => match info
                .iter()
                .find(|i| i.instance_id == id)
                .and_then(|i| i.app_info.as_ref())
            {
                Some(app) => Ok(format!("frontEndUrl {}", app.front_end_url)),
                None => Err(
                    "no appInfo: allowed only when credentials reach the buyer by SMS or e-mail"
                        .to_owned(),
                ),
            },
        },
    };
    r.record("queryInstance.app-info", result);
}

pub(super) async fn lifecycle(r: &mut Runner<'_>, id: &str) {
    let expire = r.client.now_ms() + 365 * 24 * 3600 * 1000;
    let expire = koogate_protocol::time::from_epoch_millis(expire)
        .map(koogate_protocol::time::format_compact_millis)
        .unwrap_or_default();
    let (renew, renew_line) = (RENEW_ORDER_ID, line_of(RENEW_ORDER_ID));
    let refresh = Body::refresh_instance(id, renew, &renew_line, "RENEWAL", &expire);
    let _ = debugged(
        r,
        cases::REFRESH_INSTANCE,
        &refresh,
        &[SUCCESS],
        Shape::Plain,
    )
    .await;

    let freeze = Body::update_instance_status(id, "FREEZE");
    let _ = debugged(r, cases::FREEZE, &freeze, &[SUCCESS], Shape::Plain).await;
    r.status("idempotency: FREEZE again");
    let again = r.call(&freeze).await;
    r.record(
        "idempotency.updateInstanceStatus.FREEZE",
        expect_code(&again, &[SUCCESS]),
    );
    let unfreeze = Body::update_instance_status(id, "UNFREEZE");
    let _ = debugged(r, cases::UNFREEZE, &unfreeze, &[SUCCESS], Shape::Plain).await;

    let (change, change_line) = (CHANGE_ORDER_ID, line_of(CHANGE_ORDER_ID));
    let upgrade = Body::upgrade_instance(id, change, &change_line);
    let _ = debugged(
        r,
        cases::UPGRADE_INSTANCE,
        &upgrade,
        &[SUCCESS],
        Shape::Plain,
    )
    .await;
    // The spec does not publish productInfo's structure; the order query's ProductInfo is the guess.
    let product = json!({
        "linearValue": 50,
        "productId": "OFFI846204237451911168",
        "skuCode": "0a4d1578-5295-46a7-92d4-7c803dccc51d",
    });
    let check = Body::change_instance_check(id, product);
    let _ = debugged(
        r,
        cases::CHANGE_INSTANCE_CHECK,
        &check,
        &[SUCCESS],
        Shape::Plain,
    )
    .await;
}

pub(super) async fn release(r: &mut Runner<'_>, id: &str) {
    let body = Body::release_instance(id);
    let _ = debugged(r, cases::RELEASE_INSTANCE, &body, &[SUCCESS], Shape::Plain).await;
    r.status("idempotency: releaseInstance again");
    let again = r.call(&body).await;
    r.record(
        "idempotency.releaseInstance",
        expect_code(&again, &[SUCCESS]),
    );
}
