DROP TABLE lakery_contents;
DROP TABLE lakery_manifests;
