-- Several replicas on one database, and metering that survives a restore. SQLite dialect.
-- Keep in step with ../postgres/0004_replicas.sql: same tables, columns and meaning.

-- One row per background job that must run on one replica at a time (metering, nonce pruning,
-- ...): the replica named `holder` may run it until `expires_at_ms`, and keeps it by renewing
-- before then. A crashed holder simply stops renewing; the row is taken over once it expires.
CREATE TABLE scheduler_leases (
    name          TEXT    NOT NULL PRIMARY KEY,
    holder        TEXT    NOT NULL,
    expires_at_ms INTEGER NOT NULL
);

-- When KooGallery released the instance: usage after it is refused. updated_at_ms cannot tell,
-- since any later write of the row moves it. Rows released before this migration get their
-- last update, the best record there is of the release.
ALTER TABLE instances ADD COLUMN released_at_ms INTEGER;
UPDATE instances SET released_at_ms = updated_at_ms WHERE status = 'released';
