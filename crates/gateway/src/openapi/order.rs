//! 查询订单: `GET …/global/v1/order/query?orderId=&orderLineId=` (spec saas-v2 §7.1).

use koogate_protocol::messages::order::{OrderInfo, QueryOrderResponse};
use reqwest::Method;

use super::client::{Answer, Call, encode_component, http_error};
use super::error::{OpenApiError, clean_message};
use super::{ORDER_QUERY_PATH, OpenApiClient};

/// The longest `orderId` / `orderLineId` the API accepts (license-kit §6.3).
const MAX_ID_CHARS: usize = 64;

/// An order as the marketplace returned it.
#[derive(Debug, Clone)]
pub struct FetchedOrder {
    /// The response body exactly as received, for the exchange log.
    pub raw_body: String,
    /// `orderInfo`, parsed.
    pub order: OrderInfo,
    /// `host[:port]` that answered (the fallback host when the primary failed).
    pub served_by: String,
}

impl OpenApiClient {
    /// Fetches an order; with `order_line_id`, asks for that line. Falls back to the next host
    /// only when a host cannot answer (see the module docs).
    #[tracing::instrument(skip_all, fields(order_id = %order_id))]
    pub async fn query_order(
        &self,
        order_id: &str,
        order_line_id: Option<&str>,
    ) -> Result<FetchedOrder, OpenApiError> {
        let result = self.query_order_once(order_id, order_line_id).await;
        count("order_query", &result);
        result
    }

    async fn query_order_once(
        &self,
        order_id: &str,
        order_line_id: Option<&str>,
    ) -> Result<FetchedOrder, OpenApiError> {
        check_id("orderId", order_id)?;
        let mut path = format!("{ORDER_QUERY_PATH}?orderId={}", encode_component(order_id));
        if let Some(line_id) = order_line_id {
            check_id("orderLineId", line_id)?;
            path.push_str(&format!("&orderLineId={}", encode_component(line_id)));
        }
        let answer = self
            .send(Call {
                method: Method::GET,
                path_and_query: &path,
                content_type: "application/json",
                extra_headers: &[],
                body: Vec::new(),
            })
            .await?;
        read_order(answer)
    }
}

fn check_id(name: &str, id: &str) -> Result<(), OpenApiError> {
    if id.trim().is_empty() || id.chars().count() > MAX_ID_CHARS {
        return Err(OpenApiError::Invalid(format!(
            "{name} must be 1 to {MAX_ID_CHARS} characters"
        )));
    }
    Ok(())
}

fn read_order(answer: Answer) -> Result<FetchedOrder, OpenApiError> {
    if !(200..300).contains(&answer.status) {
        return Err(http_error(&answer));
    }
    let response: QueryOrderResponse = serde_json::from_str(&answer.body)
        .map_err(|e| OpenApiError::Decode(format!("order query answer: {e}")))?;
    if !response.is_success() {
        return Err(OpenApiError::Business {
            code: response.result_code,
            message: clean_message(response.result_msg.as_deref().unwrap_or_default()),
        });
    }
    let order = response
        .order_info
        .ok_or_else(|| OpenApiError::Decode("successful order query without orderInfo".into()))?;
    Ok(FetchedOrder {
        raw_body: answer.body,
        order,
        served_by: answer.host,
    })
}

/// `koogate_openapi_requests_total{api, outcome}`.
pub(super) fn count<T>(api: &'static str, result: &Result<T, OpenApiError>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(error) => error.outcome(),
    };
    metrics::counter!("koogate_openapi_requests_total", "api" => api, "outcome" => outcome)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            host: "mkt.example".into(),
            status,
            body: body.into(),
        }
    }

    #[test]
    fn business_error_keeps_code_and_message() {
        let err = read_order(answer(
            200,
            r#"{"resultCode":"MKT.0101","resultMsg":"Invalid parameter"}"#,
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "open API refused the request: MKT.0101: Invalid parameter"
        );
    }

    #[test]
    fn unreadable_answers_are_decode_errors() {
        assert!(matches!(
            read_order(answer(200, "<html>")),
            Err(OpenApiError::Decode(_))
        ));
        let no_info = r#"{"resultCode":"MKT.0000","resultMsg":"Success"}"#;
        assert!(matches!(
            read_order(answer(200, no_info)),
            Err(OpenApiError::Decode(_))
        ));
        assert!(matches!(
            read_order(answer(403, "")),
            Err(OpenApiError::Http { status: 403, .. })
        ));
    }

    #[test]
    fn ids_are_bounded() {
        assert!(check_id("orderId", "").is_err());
        assert!(check_id("orderId", &"x".repeat(65)).is_err());
        assert!(check_id("orderId", "MOCKPERIODYEARNEW").is_ok());
    }
}
