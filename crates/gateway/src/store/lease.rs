//! The one statement behind [`super::Store::acquire_lease`], the same text on both backends.
//!
//! An upsert is atomic on both: a free name is inserted, and a taken one is overwritten only when
//! its lease has expired or already belongs to the caller. When neither holds, the `WHERE` of the
//! update refuses the row and nothing comes back, so "did I get it" is "was a row returned". Two
//! replicas racing for an expired lease are serialised on the row; the second sees the first's
//! fresh expiry and is refused.
pub(super) const ACQUIRE_LEASE: &str = "INSERT INTO scheduler_leases (name, holder, expires_at_ms) \
     VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
     SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms \
     WHERE scheduler_leases.expires_at_ms <= $4 OR scheduler_leases.holder = excluded.holder \
     RETURNING holder";

pub(super) const RELEASE_LEASE: &str =
    "DELETE FROM scheduler_leases WHERE name = $1 AND holder = $2";
