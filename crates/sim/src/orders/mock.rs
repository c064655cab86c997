//! The nine `MOCK*` debug orders (spec saas-v2 §6, license-kit §6.3).
//!
//! `MOCKPERIODYEARNEW` is byte for byte the mock response captured in public demo code (spec
//! saas-v2 §7.1). The other eight are not published; they reuse its product, buyer and creation
//! time and vary what their names say (charging mode, order type, period) [INFERRED].

use serde_json::Value;

use super::spec::{LineSpec, OrderSpec, OrderType, ProductSpec};

const PRODUCT_ID: &str = "OFFI846204237451911168";
const CREATE_TIME: &str = "20241121090846";

fn product(sku: &str, edition: &str, mode: &str) -> ProductSpec {
    ProductSpec::new(
        PRODUCT_ID,
        sku,
        &format!("MOCK测试商品,测试规格,{edition},{mode}"),
    )
}

fn basic_period() -> ProductSpec {
    product("0a4d1578-5295-46a7-92d4-7c803dccc51d", "基础版", "包周期").linear(50)
}

fn mock_line(line: LineSpec, products: Vec<ProductSpec>) -> LineSpec {
    line.products(products)
        .extend_param("emailDomainName", "test.xxxx.com")
        .extend_param("ip", "127.0.0.1")
}

fn mock(order_id: &str, order_type: OrderType, line: LineSpec) -> Value {
    let spec = OrderSpec::new(order_type)
        .id(order_id)
        .created_at(CREATE_TIME)
        .line(line);
    spec.build(order_id).0
}

pub(super) fn orders() -> Vec<Value> {
    let monthly = || LineSpec::period("month", 1, "20241221235959");
    let mut trial = mock_line(
        LineSpec::period("day", 7, "20241128235959"),
        vec![basic_period()],
    );
    trial.currency_after_discount = "0".to_owned();
    vec![
        mock(
            "MOCKPERIODYEARNEW",
            OrderType::New,
            mock_line(
                LineSpec::period("year", 1, "20251121235959"),
                vec![basic_period()],
            ),
        ),
        mock(
            "MOCKONETIMENEW",
            OrderType::New,
            mock_line(
                LineSpec::one_time(),
                vec![product(
                    "5f0c3e1a-7b7e-4a39-9d3e-0d6a2b8c1e01",
                    "基础版",
                    "按次",
                )],
            ),
        ),
        mock(
            "MOCKONDEMAND",
            OrderType::New,
            mock_line(
                LineSpec::on_demand(Vec::new()),
                vec![product(
                    "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e02",
                    "基础版",
                    "按需",
                )],
            ),
        ),
        mock(
            "MOCKONDEMANDPKG",
            OrderType::New,
            mock_line(
                LineSpec::on_demand_pkg("year", 1, "20251121235959"),
                vec![product(
                    "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b03",
                    "基础版",
                    "按需套餐包",
                )],
            ),
        ),
        mock("MOCKPERIODDAYTRIAL", OrderType::Trial, trial),
        mock(
            "MOCKMONTYTRIALTOFORMAL",
            OrderType::TrialToFormal,
            mock_line(monthly(), vec![basic_period()]),
        ),
        mock(
            "MOCKMONTYUNSUBSCRIBE",
            OrderType::Unsubscribe,
            mock_line(monthly(), vec![basic_period()]),
        ),
        mock(
            "MOCKMONTYRENEW",
            OrderType::Renew,
            mock_line(
                LineSpec::period("month", 1, "20250121235959"),
                vec![basic_period()],
            ),
        ),
        mock(
            "MOCKMONTYCHANGE",
            OrderType::Change,
            mock_line(
                monthly(),
                vec![
                    product("b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d04", "专业版", "包周期").linear(100),
                ],
            ),
        ),
    ]
}
