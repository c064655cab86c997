//! `orderNotify` (license-kit §7): KooGallery tells every product type about an order; koogate
//! fetches the order, keeps it and tells the vendor. Idempotent on (orderId, orderLineId).

use serde_json::json;

use super::new_instance::order_record;
use super::success;
use crate::domain::Gateway;
use crate::domain::events::{self, kind};
use crate::domain::replies::{Answer, Failure};
use crate::store::{Commit, CommitOutcome};
use koogate_protocol::messages::produce::OrderNotify;

pub async fn run(gw: &Gateway, req: &OrderNotify, test: bool) -> Result<Answer, Failure> {
    let (order_id, line_id) = (req.order_id.as_str(), req.order_line_id.as_str());
    let key = format!("orderNotify:{order_id}:{line_id}");
    if let Some(stored) = gw.store.find_response(&key).await? {
        return Ok(Answer::replayed(stored.body));
    }
    let order = gw
        .marketplace
        .query_order(order_id, Some(line_id))
        .await
        .map_err(|e| Failure::Internal(format!("order query: {e}")))?;
    let now = gw.clock.now();
    let record = order_record(&order, order_id, line_id, now);
    let data = json!({
        "orderId": order_id, "orderLineId": line_id, "orderType": record.order_type, "order": events::raw_order(&order.raw),
    });
    let event = events::event(
        kind::ORDER_NOTIFIED,
        &format!("order:{order_id}"),
        None,
        test,
        data,
        now,
    );
    let answer = success(gw);
    let commit = Commit {
        response: Some((key, answer.body.clone())),
        order: Some(record),
        events: vec![event],
        now,
        ..Commit::default()
    };
    match gw.store.commit(commit).await? {
        CommitOutcome::Replayed(stored) => Ok(Answer::replayed(stored.body)),
        _ => {
            gw.wake_outbox();
            Ok(answer)
        }
    }
}
