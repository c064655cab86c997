//! The seller-center debugger's MOCK orders (saas-v2 §6 table, license-kit §6.3). The real
//! order-query API returns mock data for these ids; the simulator serves the same.
//! (`MONTY` is the marketplace's spelling.)

use super::order::{ChargingMode, OrderType};

/// One MOCK order and what it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockOrder {
    /// `orderId`.
    pub order_id: &'static str,
    /// `orderLineId` (always `orderId` + `-000001`).
    pub order_line_id: &'static str,
    /// The `orderType` the mock represents.
    pub order_type: OrderType,
    /// The `chargingMode` the mock represents.
    pub charging_mode: ChargingMode,
    /// `periodType`, for periodic mocks (only `year` is confirmed by a captured response; the
    /// others follow from the ids).
    pub period_type: Option<&'static str>,
    /// The spec table's description.
    pub description: &'static str,
}

macro_rules! mock {
    ($id:literal, $order_type:ident, $mode:ident, $period:expr, $desc:literal) => {
        MockOrder {
            order_id: $id,
            order_line_id: concat!($id, "-000001"),
            order_type: OrderType::$order_type,
            charging_mode: ChargingMode::$mode,
            period_type: $period,
            description: $desc,
        }
    };
}

/// Every MOCK order of the spec, in table order.
pub static MOCK_ORDERS: [MockOrder; 9] = [
    mock!(
        "MOCKPERIODYEARNEW",
        New,
        Period,
        Some("year"),
        "new, periodic (新购-包周期)"
    ),
    mock!(
        "MOCKONETIMENEW",
        New,
        OneTime,
        None,
        "new, per-use (新购-按次)"
    ),
    mock!(
        "MOCKONDEMAND",
        New,
        OnDemand,
        None,
        "new, on-demand (新购-按需)"
    ),
    mock!(
        "MOCKONDEMANDPKG",
        New,
        OnDemandPackage,
        None,
        "new, on-demand package (新购-按需套餐包)"
    ),
    mock!(
        "MOCKPERIODDAYTRIAL",
        Trial,
        Period,
        Some("day"),
        "trial (试用)"
    ),
    mock!(
        "MOCKMONTYTRIALTOFORMAL",
        TrialToFormal,
        Period,
        Some("month"),
        "trial to paid (试用转正)"
    ),
    mock!(
        "MOCKMONTYUNSUBSCRIBE",
        Unsubscribe,
        Period,
        Some("month"),
        "unsubscribe (退订)"
    ),
    mock!(
        "MOCKMONTYRENEW",
        Renew,
        Period,
        Some("month"),
        "renewal (续费)"
    ),
    mock!(
        "MOCKMONTYCHANGE",
        Change,
        Period,
        Some("month"),
        "change / upgrade (变更/升级)"
    ),
];

/// The MOCK order with this `orderId`.
pub fn mock_order(order_id: &str) -> Option<&'static MockOrder> {
    MOCK_ORDERS.iter().find(|m| m.order_id == order_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_line_ids() {
        let m = mock_order("MOCKMONTYRENEW").unwrap();
        assert_eq!(m.order_line_id, "MOCKMONTYRENEW-000001");
        assert_eq!(m.order_type, OrderType::Renew);
        assert!(mock_order("CS2211181819B4LVS").is_none());
        assert!(
            MOCK_ORDERS
                .iter()
                .all(|m| m.order_line_id == format!("{}-000001", m.order_id))
        );
    }
}
