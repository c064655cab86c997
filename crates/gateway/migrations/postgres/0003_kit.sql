-- The 联营 Kit directory (license-kit §4.4–4.8): tenants, apps, users and departments as
-- KooGallery syncs them. PostgreSQL dialect.
-- Keep in step with ../sqlite/0003_kit.sql: same tables, columns and meaning.
--
-- One table for all four kinds, keyed by where a record sits. Parts a kind does not use are ''
-- rather than NULL: they are part of the primary key, and NULLs never compare equal there.
-- instance_id is '' for records the seller's 应用凭证 set-up synced without an order (§4.4).
--
-- Deletes only set deleted and keep data: the vendor can still read what was there, and a
-- repeated delete is recognisably no change (§4.9). A later add revives the row.
--
-- The key columns use the "C" collation so listings come back in byte order, as on SQLite,
-- whatever the database's default collation, and the primary key index serves that order.
CREATE TABLE kit_records (
    kind          TEXT    COLLATE "C" NOT NULL CHECK (kind IN ('tenant', 'app', 'user', 'org')),
    instance_id   TEXT    COLLATE "C" NOT NULL DEFAULT '',
    tenant_id     TEXT    COLLATE "C" NOT NULL,
    app_id        TEXT    COLLATE "C" NOT NULL DEFAULT '',
    -- userName for users, orgCode for departments.
    item          TEXT    COLLATE "C" NOT NULL DEFAULT '',
    -- The record as JSON; compared verbatim to decide whether an upsert changes anything.
    data          TEXT    NOT NULL,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (kind, instance_id, tenant_id, app_id, item)
);
-- The vendor API lists a tenant's records without naming the instance.
CREATE INDEX kit_records_tenant ON kit_records (kind, tenant_id, app_id, item);
