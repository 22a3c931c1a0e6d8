-- Manifest tags, one row each, indexed for queries by tag. A copy of each manifest's
-- `tags`, kept by lakery and deleted with its manifest, so it carries no foreign key.
CREATE TABLE lakery_tags (
    manifest_id TEXT NOT NULL,
    tag_key TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (manifest_id, tag_key)
) WITHOUT ROWID;
CREATE INDEX lakery_tags_lookup ON lakery_tags (tag_key, tag_value, manifest_id);

-- Manifests saved before this table existed keep their tags queryable.
INSERT INTO lakery_tags (manifest_id, tag_key, tag_value)
SELECT m.id, t.key, t.value FROM lakery_manifests AS m, json_each(m.tags) AS t;
