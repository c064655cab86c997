//! Runs reconciliation passes on an interval, like the metering worker, and like it only on the
//! replica that holds the `reconciliation` lease: every pass queries every order, which several
//! replicas should not each do.

use std::sync::Arc;
use std::time::Duration;

use super::pass::reconcile_once;
use crate::domain::Gateway;
use crate::domain::lease::{self, Leases};

#[derive(Debug, Clone)]
pub struct ReconcileWorker {
    gateway: Arc<Gateway>,
    leases: Leases,
}

impl ReconcileWorker {
    pub fn new(gateway: Arc<Gateway>, leases: Leases) -> Self {
        Self { gateway, leases }
    }

    /// Runs a pass every `interval` until `stop` resolves. A pass that fails or panics is logged
    /// and the next one runs as usual.
    pub async fn run(self, interval: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let ttl = lease::lease_ttl(interval);
        loop {
            let (gateway, leases) = (self.gateway.clone(), self.leases.clone());
            let pass = tokio::spawn(async move {
                leases
                    .run_leased(lease::RECONCILIATION, ttl, || reconcile_once(&gateway))
                    .await
            });
            match pass.await {
                // Another replica holds the lease, or this pass went well.
                Ok(None | Some(Ok(_))) => {}
                Ok(Some(Err(err))) => {
                    tracing::warn!(error = %err, "reconciliation pass ended early")
                }
                Err(err) => tracing::error!(error = %err, "reconciliation pass failed"),
            }
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(interval) => {}
            }
        }
        self.leases.release(lease::RECONCILIATION).await;
    }
}
