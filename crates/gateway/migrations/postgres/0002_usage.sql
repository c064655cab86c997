-- Metering: usage reports and the windows they are summed into. PostgreSQL dialect.
-- Keep in step with ../sqlite/0002_usage.sql: same tables, columns and meaning.
--
-- relate_pkg_instance is '' when the usage is not deducted from a package: it is part of a
-- window's identity, and NULLs never compare equal in a UNIQUE key.
--
-- A window is identified by all of (instance, start, end, package). A change of the configured
-- window size can make two windows share a start; keyed by start alone, the second could never
-- be closed and its events would be stuck.

-- A closed window: the sum of its events, pushed to KooGallery under metering_sn.
CREATE TABLE usage_windows (
    id                  BIGSERIAL NOT NULL PRIMARY KEY,
    instance_id         TEXT      NOT NULL,
    window_start_ms     BIGINT    NOT NULL,
    window_end_ms       BIGINT    NOT NULL,
    relate_pkg_instance TEXT      NOT NULL DEFAULT '',
    value_e4            BIGINT    NOT NULL,
    metering_sn         TEXT      NOT NULL UNIQUE,
    status              TEXT      NOT NULL CHECK (status IN ('pending', 'pushed', 'rejected')),
    attempts            BIGINT    NOT NULL DEFAULT 0,
    last_error          TEXT,
    result_code         TEXT,
    next_attempt_at_ms  BIGINT    NOT NULL,
    closed_at_ms        BIGINT    NOT NULL,
    pushed_at_ms        BIGINT,
    UNIQUE (instance_id, window_start_ms, window_end_ms, relate_pkg_instance)
);
-- The push worker's scan; pushed and rejected windows leave it.
CREATE INDEX usage_windows_due ON usage_windows (next_attempt_at_ms) WHERE status = 'pending';

-- One usage report, once per vendor event_id. window_id is NULL until its window closes.
CREATE TABLE usage_events (
    id                  BIGSERIAL NOT NULL PRIMARY KEY,
    event_id            TEXT      NOT NULL UNIQUE,
    instance_id         TEXT      NOT NULL,
    value_e4            BIGINT    NOT NULL,
    occurred_at_ms      BIGINT    NOT NULL,
    window_start_ms     BIGINT    NOT NULL,
    window_end_ms       BIGINT    NOT NULL,
    relate_pkg_instance TEXT      NOT NULL DEFAULT '',
    window_id           BIGINT    REFERENCES usage_windows (id),
    received_at_ms      BIGINT    NOT NULL
);
-- Finding ended groups, and summing one group when it closes: both look at unassigned events
-- only, a set no larger than the open windows whatever the history.
CREATE INDEX usage_events_open_end ON usage_events (window_end_ms) WHERE window_id IS NULL;
CREATE INDEX usage_events_open_group
    ON usage_events (instance_id, window_start_ms, window_end_ms, relate_pkg_instance)
    WHERE window_id IS NULL;
-- Cumulative totals can be read from the index alone.
CREATE INDEX usage_events_instance ON usage_events (instance_id, occurred_at_ms, value_e4);
-- A package instance's used amount for queryInstance: the usage deducted from it.
CREATE INDEX usage_events_package ON usage_events (relate_pkg_instance, occurred_at_ms, value_e4)
    WHERE relate_pkg_instance <> '';
