//! Admission of TCP connections, before a single byte is read: a cap on open connections in
//! all, and a smaller cap per peer address, so that the last `reserve` connections can only go
//! to other peers. One client holding hundreds of half-open connections (a slow-header attack)
//! therefore cannot take the slots KooGallery's calls need, and koogate never runs out of file
//! descriptors, which would stop `accept` for everyone.
//!
//! A refused connection is closed at once: leaving it in the kernel's backlog would keep it
//! waiting for a slot the attacker is holding.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Refusals are logged at most once per this many seconds (with the count since the last line),
/// so a flood cannot fill the log.
const LOG_EVERY_SECS: u64 = 10;

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_peer: HashMap<IpAddr, usize>,
    refused_since_log: u64,
}

#[derive(Debug)]
struct Inner {
    max_total: usize,
    max_per_peer: usize,
    counts: Mutex<Counts>,
    /// Seconds after `started` of the last refusal line, plus one (0: none yet).
    last_log_secs: AtomicU64,
    started: Instant,
}

/// Shared by every listener of one server; cheap to clone.
#[derive(Debug, Clone)]
pub struct ConnectionGate {
    inner: Arc<Inner>,
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every slot is taken.
    Full,
    /// This peer already holds all the slots one peer may hold.
    PeerFull,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::PeerFull => "peer_full",
        }
    }
}

/// An admitted connection's slot; dropping it (when the connection ends) frees the slot.
#[derive(Debug)]
pub struct Permit {
    inner: Arc<Inner>,
    peer: IpAddr,
}

impl ConnectionGate {
    /// At most `max_total` connections, of which one peer may hold all but `reserve`.
    pub fn new(max_total: usize, reserve: usize) -> Self {
        let max_total = max_total.max(1);
        let max_per_peer = max_total.saturating_sub(reserve).max(1);
        Self {
            inner: Arc::new(Inner {
                max_total,
                max_per_peer,
                counts: Mutex::new(Counts::default()),
                last_log_secs: AtomicU64::new(0),
                started: Instant::now(),
            }),
        }
    }

    pub fn max_total(&self) -> usize {
        self.inner.max_total
    }

    pub fn max_per_peer(&self) -> usize {
        self.inner.max_per_peer
    }

    /// Takes a slot for a connection from `peer`, or says why there is none.
    pub fn admit(&self, peer: IpAddr) -> Result<Permit, Refusal> {
        let refusal = {
            let mut counts = self.lock();
            let held = counts.per_peer.get(&peer).copied().unwrap_or(0);
            if counts.total >= self.inner.max_total {
                Some(Refusal::Full)
            } else if held >= self.inner.max_per_peer {
                Some(Refusal::PeerFull)
            } else {
                counts.total += 1;
                counts.per_peer.insert(peer, held + 1);
                metrics::gauge!("koogate_connections_open").set(counts.total as f64);
                None
            }
        };
        match refusal {
            None => Ok(Permit {
                inner: self.inner.clone(),
                peer,
            }),
            Some(refusal) => {
                self.note_refusal(peer, refusal);
                Err(refusal)
            }
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // The counts stay consistent even if a holder panicked: every update is one step.
        self.inner
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn note_refusal(&self, peer: IpAddr, refusal: Refusal) {
        metrics::counter!("koogate_connections_refused_total", "reason" => refusal.label())
            .increment(1);
        let refused = {
            let mut counts = self.lock();
            counts.refused_since_log += 1;
            counts.refused_since_log
        };
        let now = self.inner.started.elapsed().as_secs() + 1;
        let last = self.inner.last_log_secs.load(Ordering::Relaxed);
        if (last == 0 || now - last >= LOG_EVERY_SECS)
            && self
                .inner
                .last_log_secs
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.lock().refused_since_log = 0;
            tracing::warn!(
                %peer,
                reason = refusal.label(),
                refused,
                max_connections = self.inner.max_total,
                max_per_peer = self.inner.max_per_peer,
                "refusing connections: connection limit reached (count since the last such line)"
            );
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let gate = ConnectionGate {
            inner: self.inner.clone(),
        };
        let mut counts = gate.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(held) = counts.per_peer.get_mut(&self.peer) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                counts.per_peer.remove(&self.peer);
            }
        }
        metrics::gauge!("koogate_connections_open").set(counts.total as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn one_peer_cannot_take_the_reserve() {
        let gate = ConnectionGate::new(4, 1);
        let held: Vec<_> = (0..3).map(|_| gate.admit(ip(2)).unwrap()).collect();
        assert_eq!(gate.admit(ip(2)).unwrap_err(), Refusal::PeerFull);
        let other = gate.admit(ip(1)).unwrap();
        assert_eq!(gate.admit(ip(3)).unwrap_err(), Refusal::Full);
        assert_eq!(gate.open(), 4);
        drop(other);
        drop(held);
        assert_eq!(gate.open(), 0);
        // Every slot is free again, for anyone.
        let again: Vec<_> = (0..3).map(|_| gate.admit(ip(2)).unwrap()).collect();
        assert_eq!(again.len(), 3);
    }

    #[test]
    fn reserve_never_leaves_a_peer_without_a_slot() {
        let gate = ConnectionGate::new(2, 10);
        assert_eq!(gate.max_per_peer(), 1);
        let _one = gate.admit(ip(1)).unwrap();
        assert_eq!(gate.admit(ip(1)).unwrap_err(), Refusal::PeerFull);
    }
}
