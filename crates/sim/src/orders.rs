//! The simulator's order book: what KooGallery's 查询订单 (order query) open API answers from.
//!
//! Seeded with the nine `MOCK*` debug orders of spec saas-v2 §6 (line ID = order ID +
//! `-000001`); tests and scenarios add their own with [`OrderBook::place_order`] (or
//! [`OrderBook::place_raw`] for deliberately odd shapes). Bodies are built with `serde_json`, on
//! purpose independently of the protocol crate's types, so that the simulator checks the
//! gateway's parser instead of agreeing with it by construction.
//!
//! Answers follow spec saas-v2 §7.1: `{"resultCode":"MKT.0000","resultMsg":"Success",
//! "orderInfo":{...}}`. `resultMsg` is `Success` with a capital S, as in the captured mock
//! response (public demo code, `QueryOrderTest.java`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::RngExt;
use serde_json::{Value, json};

mod mock;
mod spec;

pub use spec::{BuyerSpec, ChargingMode, LineSpec, OrderSpec, OrderType, ProductSpec};

/// Success.
pub const CODE_SUCCESS: &str = "MKT.0000";
/// `orderId` absent, empty or longer than 64 characters ("input check failed", spec saas-v2 §5).
pub const CODE_INPUT_CHECK_FAILED: &str = "MKT.0100";
/// The order (or the requested line of it) does not exist.
///
/// The spec does not say what the real API answers for an unknown order; the MKT family has no
/// "order not found" code (`MKT.9001` is "Instance ID not found", a usage-push code), so the
/// simulator answers `MKT.0101` "Invalid parameter", the family's code for a well-formed but
/// unacceptable parameter [INFERRED]. Always with HTTP 200: business errors of the open APIs come
/// back as HTTP 200 with a non-success code (spec license-kit §6.7).
pub const CODE_INVALID_PARAMETER: &str = "MKT.0101";

/// The longest `orderId` / `orderLineId` the API accepts (spec license-kit §6.3: M, 64).
const MAX_ID_LEN: usize = 64;

/// A shared, thread-safe order book. Clones share the same orders.
#[derive(Debug, Clone, Default)]
pub struct OrderBook {
    orders: Arc<Mutex<BTreeMap<String, Value>>>,
}

/// The IDs of an order placed with [`OrderBook::place_order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    pub order_id: String,
    /// One per line, in the order given: `{orderId}-000001`, `{orderId}-000002`, …
    pub order_line_ids: Vec<String>,
}

/// Why [`OrderBook::place_raw`] refused a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    #[error("orderInfo must be a JSON object with a non-empty string `orderId`")]
    MissingOrderId,
    #[error("an order with id `{0}` already exists")]
    Duplicate(String),
}

impl OrderBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// A book holding the nine `MOCK*` debug orders.
    pub fn seeded() -> Self {
        let book = Self::new();
        {
            let mut orders = book.lock();
            for order in mock::orders() {
                if let Some(id) = order_id_of(&order) {
                    orders.insert(id, order);
                }
            }
        }
        book
    }

    /// Adds an order built from `spec`. A spec without an ID gets a fresh one shaped like
    /// KooGallery's (`CS` + yyMMddHHmm + five random characters); a spec whose ID already
    /// exists replaces that order (scenarios use this to change an order under test).
    pub fn place_order(&self, spec: OrderSpec) -> PlacedOrder {
        let mut orders = self.lock();
        let order_id = match &spec.order_id {
            Some(id) => id.clone(),
            None => fresh_order_id(&orders, &spec.create_time),
        };
        let (order_info, order_line_ids) = spec.build(&order_id);
        orders.insert(order_id.clone(), order_info);
        PlacedOrder {
            order_id,
            order_line_ids,
        }
    }

    /// Adds an `orderInfo` exactly as given (for malformed or unusual shapes). It must carry a
    /// string `orderId`; an existing ID is refused.
    pub fn place_raw(&self, order_info: Value) -> Result<String, PlaceError> {
        let order_id = order_id_of(&order_info).ok_or(PlaceError::MissingOrderId)?;
        let mut orders = self.lock();
        if orders.contains_key(&order_id) {
            return Err(PlaceError::Duplicate(order_id));
        }
        orders.insert(order_id.clone(), order_info);
        Ok(order_id)
    }

    /// Removes an order; `true` if it existed.
    pub fn remove(&self, order_id: &str) -> bool {
        self.lock().remove(order_id).is_some()
    }

    /// The stored `orderInfo` of an order.
    pub fn get(&self, order_id: &str) -> Option<Value> {
        self.lock().get(order_id).cloned()
    }

    /// Every order ID, sorted.
    pub fn order_ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// The whole response body of the order query API for these query parameters.
    ///
    /// With `orderLineId`, `orderInfo.orderLine` holds only that line [INFERRED: the spec does not
    /// say whether the real API filters or just checks]; a line that is not part of the order is
    /// answered like an unknown order.
    pub fn query(&self, order_id: Option<&str>, order_line_id: Option<&str>) -> Value {
        let order_id = order_id.map(str::trim).unwrap_or_default();
        let order_line_id = order_line_id.map(str::trim).filter(|id| !id.is_empty());
        if order_id.is_empty()
            || order_id.chars().count() > MAX_ID_LEN
            || order_line_id.is_some_and(|id| id.chars().count() > MAX_ID_LEN)
        {
            return error_body(CODE_INPUT_CHECK_FAILED, "Input parameter check failed");
        }
        let Some(mut order_info) = self.get(order_id) else {
            return error_body(CODE_INVALID_PARAMETER, "Invalid parameter");
        };
        if let Some(line_id) = order_line_id
            && !keep_only_line(&mut order_info, line_id)
        {
            return error_body(CODE_INVALID_PARAMETER, "Invalid parameter");
        }
        json!({ "resultCode": CODE_SUCCESS, "resultMsg": "Success", "orderInfo": order_info })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Value>> {
        // A panic while holding the lock cannot leave the map half-updated (every write is a
        // single insert or remove), so a poisoned lock is safe to keep using.
        self.orders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn error_body(code: &str, message: &str) -> Value {
    json!({ "resultCode": code, "resultMsg": message })
}

fn order_id_of(order_info: &Value) -> Option<String> {
    let id = order_info.get("orderId")?.as_str()?;
    (!id.is_empty()).then(|| id.to_owned())
}

/// Narrows `orderLine` to the line with this ID; `false` if there is none.
fn keep_only_line(order_info: &mut Value, line_id: &str) -> bool {
    let Some(lines) = order_info
        .get_mut("orderLine")
        .and_then(Value::as_array_mut)
    else {
        return false;
    };
    lines.retain(|line| line.get("orderLineId").and_then(Value::as_str) == Some(line_id));
    !lines.is_empty()
}

fn fresh_order_id(orders: &BTreeMap<String, Value>, create_time: &str) -> String {
    let stamp = create_time.get(2..12).unwrap_or("0000000000");
    let mut rng = rand::rng();
    loop {
        let suffix: String = (0..5)
            .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
            .collect();
        let id = format!("CS{stamp}{suffix}");
        if !orders.contains_key(&id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_book_holds_the_nine_mock_orders() {
        let book = OrderBook::seeded();
        assert_eq!(book.order_ids().len(), 9);
        for id in book.order_ids() {
            let body = book.query(Some(&id), Some(&format!("{id}-000001")));
            assert_eq!(body["resultCode"], CODE_SUCCESS, "{id}");
            assert_eq!(
                body["orderInfo"]["orderLine"][0]["orderLineId"],
                format!("{id}-000001")
            );
        }
    }

    #[test]
    fn period_year_new_is_the_captured_mock() {
        let body = OrderBook::seeded().query(Some("MOCKPERIODYEARNEW"), None);
        let expected = r#"{"resultCode":"MKT.0000","resultMsg":"Success","orderInfo":{"orderId":"MOCKPERIODYEARNEW","orderType":"NEW","createTime":"20241121090846","orderLine":[{"orderLineId":"MOCKPERIODYEARNEW-000001","chargingMode":"PERIOD","periodType":"year","periodNumber":1,"expireTime":"20251121235959","productInfo":[{"productId":"OFFI846204237451911168","skuCode":"0a4d1578-5295-46a7-92d4-7c803dccc51d","linearValue":50,"productName":"MOCK测试商品,测试规格,基础版,包周期"}],"extendParams":[{"name":"emailDomainName","value":"test.xxxx.com"},{"name":"ip","value":"127.0.0.1"}],"currency":"100","currencyAfterDiscount":"100"}],"buyerInfo":{"mobilePhone":"18688888888","email":null,"customerId":"459bbbec25d24749b2eb83be37b602a8","customerName":"mock_user_01","customerRealName":"测试用户1","customerType":0,"userId":null,"userName":null},"extendParams":[]}}"#;
        assert_eq!(body.to_string(), expected);
    }

    #[test]
    fn errors_for_missing_unknown_and_foreign_line() {
        let book = OrderBook::seeded();
        assert_eq!(
            book.query(None, None)["resultCode"],
            CODE_INPUT_CHECK_FAILED
        );
        assert_eq!(
            book.query(Some(" "), None)["resultCode"],
            CODE_INPUT_CHECK_FAILED
        );
        assert_eq!(
            book.query(Some(&"X".repeat(65)), None)["resultCode"],
            CODE_INPUT_CHECK_FAILED
        );
        assert_eq!(
            book.query(Some("NOPE"), None)["resultCode"],
            CODE_INVALID_PARAMETER
        );
        let foreign = book.query(Some("MOCKONDEMAND"), Some("MOCKPERIODYEARNEW-000001"));
        assert_eq!(foreign["resultCode"], CODE_INVALID_PARAMETER);
        assert!(foreign.get("orderInfo").is_none());
    }

    #[test]
    fn placed_orders_get_line_ids_and_can_be_filtered() {
        let book = OrderBook::new();
        let spec = OrderSpec::new(OrderType::New)
            .line(LineSpec::on_demand(vec![
                ProductSpec::new("OFFI001", "sku-a", "API calls"),
                ProductSpec::new("OFFI001", "sku-b", "storage"),
            ]))
            .line(LineSpec::one_time());
        let placed = book.place_order(spec);
        assert!(placed.order_id.starts_with("CS"));
        assert_eq!(placed.order_line_ids.len(), 2);
        assert_eq!(
            placed.order_line_ids[1],
            format!("{}-000002", placed.order_id)
        );
        let body = book.query(Some(&placed.order_id), Some(&placed.order_line_ids[0]));
        let lines = body["orderInfo"]["orderLine"].as_array().unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["productInfo"].as_array().unwrap().len(), 2);
        assert_eq!(lines[0]["chargingMode"], "ON_DEMAND");
    }

    #[test]
    fn charging_modes_parse_from_their_wire_text() {
        for mode in [
            ChargingMode::Period,
            ChargingMode::OneTime,
            ChargingMode::OnDemand,
            ChargingMode::OnDemandPkg,
        ] {
            assert_eq!(ChargingMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(ChargingMode::parse("on_demand"), None);
    }

    #[test]
    fn raw_orders_need_an_id_and_must_be_new() {
        let book = OrderBook::seeded();
        assert_eq!(
            book.place_raw(json!({"x": 1})),
            Err(PlaceError::MissingOrderId)
        );
        assert!(matches!(
            book.place_raw(json!({"orderId": "MOCKONDEMAND"})),
            Err(PlaceError::Duplicate(_))
        ));
        assert_eq!(
            book.place_raw(json!({"orderId": "ODD"})),
            Ok("ODD".to_owned())
        );
        assert_eq!(
            book.query(Some("ODD"), None)["orderInfo"],
            json!({"orderId": "ODD"})
        );
    }
}
