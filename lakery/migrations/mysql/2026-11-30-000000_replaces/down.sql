ALTER TABLE lakery_manifests DROP INDEX lakery_manifests_replaces, DROP COLUMN replaces;
