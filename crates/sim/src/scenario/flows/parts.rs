//! Building blocks of the flows: dates relative to a flow's start, orders shaped like the
//! `MOCK*` debug orders, and the body templates of each activity.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::super::Step;
use crate::orders::{LineSpec, OrderSpec, OrderType, ProductSpec};

/// Dates relative to the flow's start.
pub(super) struct Dates(pub DateTime<Utc>);

impl Dates {
    /// `yyyyMMddHHmmss`, `days` after the start.
    pub(super) fn after(&self, days: i64) -> String {
        (self.0 + Duration::days(days))
            .format("%Y%m%d%H%M%S")
            .to_string()
    }

    pub(super) fn order(&self, order_type: OrderType, line: LineSpec) -> OrderSpec {
        OrderSpec::new(order_type)
            .created_at(&self.after(0))
            .line(line.extend_param("emailDomainName", "test.xxxx.com"))
    }

    pub(super) fn yearly(&self, order_type: OrderType) -> OrderSpec {
        self.order(order_type, LineSpec::period("year", 1, &self.after(365)))
    }

    pub(super) fn monthly(&self, order_type: OrderType, expires_in_days: i64) -> OrderSpec {
        self.order(
            order_type,
            LineSpec::period("month", 1, &self.after(expires_in_days)),
        )
    }

    pub(super) fn trial(&self) -> OrderSpec {
        let mut line = LineSpec::period("day", 7, &self.after(7));
        line.currency_after_discount = "0".to_owned();
        self.order(OrderType::Trial, line)
    }
}

/// `{activity, ...fields, testFlag}`.
pub(super) fn body(activity: &str, fields: Value) -> Value {
    let mut body = json!({"activity": activity, "testFlag": "${testFlag}"});
    if let (Some(out), Value::Object(fields)) = (body.as_object_mut(), fields) {
        out.extend(fields);
    }
    body
}

pub(super) fn new_instance(order: OrderSpec) -> Step {
    Step::new(
        "new purchase",
        body(
            "newInstance",
            json!({
                "businessId": "${businessId}",
                "orderId": "${orderId}",
                "orderLineId": "${orderLineId}",
            }),
        ),
    )
    .accept(&["000000", "000004"])
    .place(order)
}

/// A new purchase, then the buyer looking at it (`queryInstance`, made once).
pub(super) fn purchase(order: OrderSpec) -> Vec<Step> {
    let query = json!({"instanceId": "${instanceId}"});
    vec![
        new_instance(order),
        Step::new("buyer views the instance", body("queryInstance", query)),
    ]
}

/// `instanceId` plus the IDs of the order the step placed.
pub(super) fn with_order() -> Value {
    json!({
        "instanceId": "${instanceId}",
        "orderId": "${orderId}",
        "orderLineId": "${orderLineId}",
    })
}

pub(super) fn refresh(note: &str, scene: &str, expire_time: String) -> Step {
    Step::new(
        note,
        body(
            "refreshInstance",
            json!({
                "instanceId": "${instanceId}",
                "orderId": "${orderId}",
                "orderLineId": "${orderLineId}",
                "scene": scene,
                "expireTime": expire_time,
            }),
        ),
    )
}

pub(super) fn status(note: &str, status: &str) -> Step {
    Step::new(
        note,
        body(
            "updateInstanceStatus",
            json!({"instanceId": "${instanceId}", "status": status}),
        ),
    )
}

pub(super) fn on_demand_line() -> LineSpec {
    LineSpec::on_demand(vec![ProductSpec::new(
        "OFFI000000000000000002",
        "sku-api-calls",
        "SIM测试商品,API调用,按需",
    )])
}

pub(super) fn pro_product() -> ProductSpec {
    ProductSpec::new(
        "OFFI000000000000000001",
        "sku-pro",
        "SIM测试商品,测试规格,专业版",
    )
    .linear(100)
}

/// The target of a change check; its structure is \[UNKNOWN\] (saas-v2 §3.7), so it is shaped
/// like an order's `productInfo` entry \[INFERRED\].
pub(super) fn pro_product_json() -> Value {
    json!({
        "productId": "OFFI000000000000000001",
        "skuCode": "sku-pro",
        "linearValue": 100,
        "productName": "SIM测试商品,测试规格,专业版",
    })
}
