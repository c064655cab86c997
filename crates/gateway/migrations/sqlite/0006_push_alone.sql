-- A usage window refused inside a batch without KooGallery naming the culprit is pushed on its
-- own from then on. Until now that mark lived as a prefix of last_error; it is a column now.
-- SQLite dialect. Keep in step with ../postgres/0006_push_alone.sql.
ALTER TABLE usage_windows ADD COLUMN push_alone INTEGER NOT NULL DEFAULT 0;
UPDATE usage_windows SET push_alone = 1 WHERE last_error LIKE 'pushed alone from now on:%';
