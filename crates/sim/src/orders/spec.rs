//! What a test or scenario says when it places an order; [`OrderSpec::build`] turns it into the
//! `orderInfo` JSON of spec saas-v2 §7.1.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// `orderInfo.orderType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    New,
    Trial,
    TrialToFormal,
    Unsubscribe,
    Renew,
    Change,
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Trial => "TRIAL",
            Self::TrialToFormal => "TRIAL_TO_FORMAL",
            Self::Unsubscribe => "UNSUBSCRIBE",
            Self::Renew => "RENEW",
            Self::Change => "CHANGE",
        }
    }
}

/// `orderLine[].chargingMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChargingMode {
    Period,
    OneTime,
    OnDemand,
    OnDemandPkg,
}

impl ChargingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Period => "PERIOD",
            Self::OneTime => "ONE_TIME",
            Self::OnDemand => "ON_DEMAND",
            Self::OnDemandPkg => "ON_DEMAND_PKG",
        }
    }

    /// The mode of a `chargingMode` string as the order query answers it; `None` for any other.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Period,
            Self::OneTime,
            Self::OnDemand,
            Self::OnDemandPkg,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == text)
    }
}

/// One `productInfo` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSpec {
    pub product_id: String,
    pub sku_code: String,
    pub product_name: String,
    /// Only for products sold by a linear quantity (users, GB, …).
    pub linear_value: Option<i64>,
}

impl ProductSpec {
    pub fn new(product_id: &str, sku_code: &str, product_name: &str) -> Self {
        Self {
            product_id: product_id.to_owned(),
            sku_code: sku_code.to_owned(),
            product_name: product_name.to_owned(),
            linear_value: None,
        }
    }

    pub fn linear(mut self, value: i64) -> Self {
        self.linear_value = Some(value);
        self
    }

    fn to_json(&self) -> Value {
        let mut product = Map::new();
        product.insert("productId".into(), json!(self.product_id));
        product.insert("skuCode".into(), json!(self.sku_code));
        if let Some(linear) = self.linear_value {
            product.insert("linearValue".into(), json!(linear));
        }
        product.insert("productName".into(), json!(self.product_name));
        Value::Object(product)
    }
}

/// One `orderLine` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSpec {
    pub charging_mode: ChargingMode,
    /// `year`, `month`, `day`, … (spec saas-v2 §7.4).
    pub period_type: Option<String>,
    pub period_number: Option<u32>,
    /// `yyyyMMddHHmmss`.
    pub expire_time: Option<String>,
    pub products: Vec<ProductSpec>,
    pub extend_params: Vec<(String, String)>,
    pub currency: String,
    pub currency_after_discount: String,
}

impl LineSpec {
    /// A line with the default product (`OFFI000000000000000001`, SKU `sku-basic`).
    pub fn new(charging_mode: ChargingMode) -> Self {
        Self {
            charging_mode,
            period_type: None,
            period_number: None,
            expire_time: None,
            products: vec![ProductSpec::new(
                "OFFI000000000000000001",
                "sku-basic",
                "SIM测试商品,测试规格,基础版",
            )],
            extend_params: Vec::new(),
            currency: "100".to_owned(),
            currency_after_discount: "100".to_owned(),
        }
    }

    /// A periodic line: `period_type` `year`/`month`/`day`, ending at `expire_time`.
    pub fn period(period_type: &str, period_number: u32, expire_time: &str) -> Self {
        let mut line = Self::new(ChargingMode::Period);
        line.period_type = Some(period_type.to_owned());
        line.period_number = Some(period_number);
        line.expire_time = Some(expire_time.to_owned());
        line
    }

    pub fn one_time() -> Self {
        Self::new(ChargingMode::OneTime)
    }

    /// An on-demand line; each product becomes its own on-demand instance downstream.
    pub fn on_demand(products: Vec<ProductSpec>) -> Self {
        Self::new(ChargingMode::OnDemand).products(products)
    }

    pub fn on_demand_pkg(period_type: &str, period_number: u32, expire_time: &str) -> Self {
        let mut line = Self::period(period_type, period_number, expire_time);
        line.charging_mode = ChargingMode::OnDemandPkg;
        line
    }

    pub fn products(mut self, products: Vec<ProductSpec>) -> Self {
        self.products = products;
        self
    }

    pub fn extend_param(mut self, name: &str, value: &str) -> Self {
        self.extend_params.push((name.to_owned(), value.to_owned()));
        self
    }

    fn to_json(&self, line_id: &str) -> Value {
        let mut line = Map::new();
        line.insert("orderLineId".into(), json!(line_id));
        line.insert("chargingMode".into(), json!(self.charging_mode.as_str()));
        if let Some(period_type) = &self.period_type {
            line.insert("periodType".into(), json!(period_type));
        }
        if let Some(number) = self.period_number {
            line.insert("periodNumber".into(), json!(number));
        }
        if let Some(expire) = &self.expire_time {
            line.insert("expireTime".into(), json!(expire));
        }
        let products: Vec<Value> = self.products.iter().map(ProductSpec::to_json).collect();
        line.insert("productInfo".into(), Value::Array(products));
        line.insert("extendParams".into(), name_values(&self.extend_params));
        line.insert("currency".into(), json!(self.currency));
        line.insert(
            "currencyAfterDiscount".into(),
            json!(self.currency_after_discount),
        );
        Value::Object(line)
    }
}

/// `buyerInfo`. `None` fields are sent as JSON `null`, as the mock response does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyerSpec {
    pub mobile_phone: Option<String>,
    pub email: Option<String>,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_real_name: Option<String>,
    /// 0 individual, 1 enterprise [INFERRED from the mock: `mock_user_01` is 0].
    pub customer_type: i32,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
}

impl Default for BuyerSpec {
    /// The mock buyer of the captured `MOCKPERIODYEARNEW` response.
    fn default() -> Self {
        Self {
            mobile_phone: Some("18688888888".to_owned()),
            email: None,
            customer_id: "459bbbec25d24749b2eb83be37b602a8".to_owned(),
            customer_name: "mock_user_01".to_owned(),
            customer_real_name: Some("测试用户1".to_owned()),
            customer_type: 0,
            user_id: None,
            user_name: None,
        }
    }
}

impl BuyerSpec {
    fn to_json(&self) -> Value {
        json!({
            "mobilePhone": self.mobile_phone,
            "email": self.email,
            "customerId": self.customer_id,
            "customerName": self.customer_name,
            "customerRealName": self.customer_real_name,
            "customerType": self.customer_type,
            "userId": self.user_id,
            "userName": self.user_name,
        })
    }
}

/// An order to place in the [`OrderBook`](super::OrderBook).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSpec {
    /// `None`: the book generates one.
    pub order_id: Option<String>,
    pub order_type: OrderType,
    /// `yyyyMMddHHmmss`, when the order was placed (not when it takes effect).
    pub create_time: String,
    pub lines: Vec<LineSpec>,
    pub buyer: BuyerSpec,
    pub extend_params: Vec<(String, String)>,
}

impl OrderSpec {
    /// An order without lines, placed at `20250101080000` by the mock buyer. Add lines with
    /// [`OrderSpec::line`]; an order placed without any gets one monthly periodic line.
    pub fn new(order_type: OrderType) -> Self {
        Self {
            order_id: None,
            order_type,
            create_time: "20250101080000".to_owned(),
            lines: Vec::new(),
            buyer: BuyerSpec::default(),
            extend_params: Vec::new(),
        }
    }

    pub fn id(mut self, order_id: &str) -> Self {
        self.order_id = Some(order_id.to_owned());
        self
    }

    pub fn created_at(mut self, create_time: &str) -> Self {
        self.create_time = create_time.to_owned();
        self
    }

    pub fn line(mut self, line: LineSpec) -> Self {
        self.lines.push(line);
        self
    }

    pub fn buyer(mut self, buyer: BuyerSpec) -> Self {
        self.buyer = buyer;
        self
    }

    pub fn extend_param(mut self, name: &str, value: &str) -> Self {
        self.extend_params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The `orderInfo` JSON and the line IDs (`{order_id}-000001`, …).
    pub(super) fn build(&self, order_id: &str) -> (Value, Vec<String>) {
        let default_line = [LineSpec::period("month", 1, "20250201235959")];
        let lines: &[LineSpec] = if self.lines.is_empty() {
            &default_line
        } else {
            &self.lines
        };
        let line_ids: Vec<String> = (1..=lines.len())
            .map(|n| format!("{order_id}-{n:06}"))
            .collect();
        let lines_json: Vec<Value> = lines
            .iter()
            .zip(&line_ids)
            .map(|(line, id)| line.to_json(id))
            .collect();
        let order_info = json!({
            "orderId": order_id,
            "orderType": self.order_type.as_str(),
            "createTime": self.create_time,
            "orderLine": lines_json,
            "buyerInfo": self.buyer.to_json(),
            "extendParams": name_values(&self.extend_params),
        });
        (order_info, line_ids)
    }
}

fn name_values(pairs: &[(String, String)]) -> Value {
    pairs
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect()
}
