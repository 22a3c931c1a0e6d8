-- The manifest a rewrite to the current version replaced, if any. Unique: a manifest is
-- replaced at most once, which is what lets an interrupted rewrite resume safely.
ALTER TABLE lakery_manifests
    ADD COLUMN replaces CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
    ADD UNIQUE INDEX lakery_manifests_replaces (replaces);
