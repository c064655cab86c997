-- License codes (授权码, license-kit §2.2): what KooGallery last told koogate about each code.
-- SQLite dialect. Keep in step with ../postgres/0007_license_codes.sql: same columns and meaning.
--
-- A row is created by the first refreshLicenseCode, updateLicenseCodeStatus or
-- releaseLicenseCode naming the code, in the same transaction as the call's stored answer and
-- its license_code.changed event. status is 'alive', 'frozen' or 'released' (released is
-- terminal); version counts the writes and keys status changes. activated_at_ms,
-- last_checked_at_ms and last_answer (KooGallery's last activate/query answer, JSON) are kept by
-- the license service that calls the open API for the vendor's software.
CREATE TABLE license_codes (
    code               TEXT    NOT NULL PRIMARY KEY,
    instance_id        TEXT,
    order_id           TEXT,
    order_line_id      TEXT,
    product_id         TEXT,
    status             TEXT    NOT NULL,
    expire_time_ms     INTEGER,
    activated_at_ms    INTEGER,
    last_checked_at_ms INTEGER,
    last_answer        TEXT,
    version            INTEGER  NOT NULL,
    created_at_ms      INTEGER  NOT NULL,
    updated_at_ms      INTEGER  NOT NULL
);
CREATE INDEX license_codes_instance ON license_codes (instance_id, code);
