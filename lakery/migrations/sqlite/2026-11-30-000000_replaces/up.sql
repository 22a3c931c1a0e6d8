-- The manifest a rewrite to the current version replaced, if any. Unique: a manifest is
-- replaced at most once, which is what lets an interrupted rewrite resume safely.
ALTER TABLE lakery_manifests ADD COLUMN replaces TEXT;
CREATE UNIQUE INDEX lakery_manifests_replaces ON lakery_manifests (replaces);
