//! Runs reconciliation passes on an interval, like the metering worker.

use std::sync::Arc;
use std::time::Duration;

use super::pass::reconcile_once;
use crate::domain::Gateway;

#[derive(Debug, Clone)]
pub struct ReconcileWorker {
    gateway: Arc<Gateway>,
}

impl ReconcileWorker {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self { gateway }
    }

    /// Runs a pass every `interval` until `stop` resolves. A pass that fails or panics is logged
    /// and the next one runs as usual.
    pub async fn run(self, interval: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let gateway = self.gateway.clone();
            match tokio::spawn(async move { reconcile_once(&gateway).await }).await {
                Ok(Ok(_report)) => {}
                Ok(Err(err)) => tracing::warn!(error = %err, "reconciliation pass ended early"),
                Err(err) => tracing::error!(error = %err, "reconciliation pass failed"),
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}
