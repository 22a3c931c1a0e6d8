DROP INDEX lakery_manifests_replaces;
ALTER TABLE lakery_manifests DROP COLUMN replaces;
