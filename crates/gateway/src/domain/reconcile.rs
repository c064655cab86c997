//! Reconciliation with KooGallery: a scheduled pass compares each instance not released with
//! KooGallery's order query and flags the calls KooGallery never delivered (it stops retrying
//! after 1 to 3 hours, saas-v2 §1.1): a missed expiry, release or renewal, an orphan instance
//! whose order KooGallery does not know, and usage recorded after KooGallery let the instance go.
//!
//! - [`decide`]: the rules, pure;
//! - [`reconcile_once`]: one pass (store, metrics, log, and in `heal` mode the missed call);
//! - [`ReconcileWorker`]: runs passes on an interval.
//!
//! A pass is safe to run on several replicas at once (findings open once, heals are idempotent
//! on the instance's state), but each replica would query every order; `reconcile_once` is kept
//! callable on its own so a lease can wrap it.

mod decide;
mod pass;
mod worker;

pub use decide::{
    FREEZE_PERIOD, Finding, FindingKind, LocalView, MarketView, RETRY_WINDOW, decide,
};
pub use pass::{ReconcileError, ReconcileReport, reconcile_once};
pub use worker::ReconcileWorker;
