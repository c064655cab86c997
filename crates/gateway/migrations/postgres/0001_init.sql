-- koogate schema, PostgreSQL dialect. Times are BIGINT epoch milliseconds (UTC).
-- Keep in step with ../sqlite/0001_init.sql: same tables, columns and meaning.

-- Request nonces seen inside the replay window; pruned by seen_at_ms.
CREATE TABLE nonces (
    nonce      TEXT   NOT NULL PRIMARY KEY,
    seen_at_ms BIGINT NOT NULL
);
CREATE INDEX nonces_seen_at ON nonces (seen_at_ms);

-- Exact response bytes stored under an idempotency key, replayed on repeats.
CREATE TABLE responses (
    key           TEXT   NOT NULL PRIMARY KEY,
    body          BYTEA  NOT NULL,
    created_at_ms BIGINT NOT NULL
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
    trial           BOOLEAN NOT NULL,
    expire_time_ms  BIGINT,
    app_info_sealed BYTEA,
    test_flag       BOOLEAN NOT NULL,
    version         BIGINT  NOT NULL,
    created_at_ms   BIGINT  NOT NULL,
    updated_at_ms   BIGINT  NOT NULL
);
CREATE INDEX instances_created ON instances (created_at_ms DESC, instance_id DESC);

-- Order-query responses, verbatim.
CREATE TABLE orders (
    order_id      TEXT   NOT NULL,
    order_line_id TEXT   NOT NULL,
    order_type    TEXT   NOT NULL,
    raw           TEXT   NOT NULL,
    fetched_at_ms BIGINT NOT NULL,
    PRIMARY KEY (order_id, order_line_id)
);

-- The webhook outbox. Per-ordering-key delivery order is id order; enqueuers of one key are
-- serialized by an advisory lock (see store/postgres.rs) so id order is also commit order.
CREATE TABLE outbox (
    id                 BIGSERIAL NOT NULL PRIMARY KEY,
    event_id           TEXT      NOT NULL UNIQUE,
    event_type         TEXT      NOT NULL,
    ordering_key       TEXT      NOT NULL,
    payload            TEXT      NOT NULL,
    attempts           INTEGER   NOT NULL DEFAULT 0,
    created_at_ms      BIGINT    NOT NULL,
    next_attempt_at_ms BIGINT    NOT NULL,
    locked_until_ms    BIGINT,
    delivered_at_ms    BIGINT,
    dead               BOOLEAN   NOT NULL DEFAULT FALSE,
    last_error         TEXT
);
-- Claim scans pending rows in id order; the blocking check looks for an earlier pending row of
-- the same key. Both stay small however long the delivered history grows.
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at_ms IS NULL AND NOT dead;
CREATE INDEX outbox_pending_key ON outbox (ordering_key, id) WHERE delivered_at_ms IS NULL AND NOT dead;
-- Per-instance history for the operator view.
CREATE INDEX outbox_key ON outbox (ordering_key, id);
CREATE INDEX outbox_dead ON outbox (id) WHERE dead;
