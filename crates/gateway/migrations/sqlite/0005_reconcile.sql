-- Reconciliation with KooGallery's order query: what the scheduled pass found. SQLite dialect.
-- Keep in step with ../postgres/0005_reconcile.sql: same tables, columns and meaning.
--
-- One row per (instance, kind): a finding seen again refreshes its row; one that stops being
-- true is resolved (resolved_at_ms set) and reopened in place if it comes back. detail is JSON.
CREATE TABLE reconcile_findings (
    instance_id    TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    detail         TEXT    NOT NULL,
    first_seen_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    healed_at_ms   INTEGER,
    resolved_at_ms INTEGER,
    PRIMARY KEY (instance_id, kind)
);
-- The end of a pass resolves open findings it did not see again.
CREATE INDEX reconcile_findings_open ON reconcile_findings (last_seen_ms) WHERE resolved_at_ms IS NULL;
-- The pass walks instances not released yet, in id order.
CREATE INDEX instances_unreleased ON instances (instance_id) WHERE status <> 'released';
