//! What the domain needs from the vendor's hook inside a production call: one signed question,
//! answered within a timeout (`changeInstanceCheck`). Events never come through here; they go
//! through the outbox, whose `HookSink` also implements this trait.

use std::time::Duration;

use async_trait::async_trait;

use crate::outbox::DeliveryFailure;

#[async_trait]
pub trait VendorHook: Send + Sync + std::fmt::Debug {
    /// Posts `payload` with `webhook-id: event_id` and returns the hook's 2xx body.
    async fn ask(
        &self,
        event_id: &str,
        payload: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, DeliveryFailure>;
}
