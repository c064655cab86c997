-- koogate schema, SQLite dialect. Times are INTEGER epoch milliseconds (UTC); booleans are 0/1.
-- Keep in step with ../postgres/0001_init.sql: same tables, columns and meaning.

-- Request nonces seen inside the replay window; pruned by seen_at_ms.
CREATE TABLE nonces (
    nonce      TEXT    NOT NULL PRIMARY KEY,
    seen_at_ms INTEGER NOT NULL
);
CREATE INDEX nonces_seen_at ON nonces (seen_at_ms);

-- Exact response bytes stored under an idempotency key, replayed on repeats.
CREATE TABLE responses (
    key           TEXT    NOT NULL PRIMARY KEY,
    body          BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE instances (
    instance_id     TEXT    NOT NULL PRIMARY KEY,
    idem_key        TEXT    NOT NULL UNIQUE,
    order_id        TEXT    NOT NULL,
    order_line_id   TEXT    NOT NULL,
    product_id      TEXT,
    sku_code        TEXT,
    charging_mode   TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    trial           INTEGER NOT NULL CHECK (trial IN (0, 1)),
    expire_time_ms  INTEGER,
    app_info_sealed BLOB,
    test_flag       INTEGER NOT NULL CHECK (test_flag IN (0, 1)),
    version         INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX instances_created ON instances (created_at_ms DESC, instance_id DESC);

-- Order-query responses, verbatim.
CREATE TABLE orders (
    order_id      TEXT    NOT NULL,
    order_line_id TEXT    NOT NULL,
    order_type    TEXT    NOT NULL,
    raw           TEXT    NOT NULL,
    fetched_at_ms INTEGER NOT NULL,
    PRIMARY KEY (order_id, order_line_id)
);

-- The webhook outbox. AUTOINCREMENT keeps ids strictly increasing and never reused, because
-- per-ordering-key delivery order is id order.
CREATE TABLE outbox (
    id                 INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    event_id           TEXT    NOT NULL UNIQUE,
    event_type         TEXT    NOT NULL,
    ordering_key       TEXT    NOT NULL,
    payload            TEXT    NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    created_at_ms      INTEGER NOT NULL,
    next_attempt_at_ms INTEGER NOT NULL,
    locked_until_ms    INTEGER,
    delivered_at_ms    INTEGER,
    dead               INTEGER NOT NULL DEFAULT 0 CHECK (dead IN (0, 1)),
    last_error         TEXT
);
-- Claim scans pending rows in id order; the blocking check looks for an earlier pending row of
-- the same key. Both stay small however long the delivered history grows.
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at_ms IS NULL AND dead = 0;
CREATE INDEX outbox_pending_key ON outbox (ordering_key, id) WHERE delivered_at_ms IS NULL AND dead = 0;
-- Per-instance history for the operator view.
CREATE INDEX outbox_key ON outbox (ordering_key, id);
CREATE INDEX outbox_dead ON outbox (id) WHERE dead = 1;
