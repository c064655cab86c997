-- A usage window refused inside a batch without KooGallery naming the culprit is pushed on its
-- own from then on. Until now that mark lived as a prefix of last_error; it is a column now.
-- PostgreSQL dialect. Keep in step with ../sqlite/0006_push_alone.sql.
ALTER TABLE usage_windows ADD COLUMN push_alone BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE usage_windows SET push_alone = TRUE WHERE last_error LIKE 'pushed alone from now on:%';
