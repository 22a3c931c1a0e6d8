-- One row per saved value. Ids are UUIDs of version 7: their order is creation order.
CREATE TABLE lakery_manifests (
    id uuid PRIMARY KEY,
    class_id uuid NOT NULL,
    class_version integer NOT NULL,
    tags jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX lakery_manifests_class ON lakery_manifests (class_id, class_version, id);

-- One row per content of a saved value.
CREATE TABLE lakery_contents (
    manifest_id uuid NOT NULL REFERENCES lakery_manifests (id) ON DELETE CASCADE,
    content_key text NOT NULL,
    content_type text NOT NULL,
    encoding text,                  -- NULL: the bytes are stored as serialized
    hash text NOT NULL,             -- lowercase hex
    hash_algorithm text NOT NULL,
    size bigint NOT NULL,
    serializer_name text NOT NULL,
    serializer_config jsonb,
    storage_name text NOT NULL,
    storage_config jsonb NOT NULL,
    data bytea,                     -- the bytes, for contents in the database storage
    tags jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (manifest_id, content_key)
);
-- Garbage collection asks which blobs a storage's records still name.
CREATE INDEX lakery_contents_storage ON lakery_contents (storage_name);

-- Manifest tags, one row each, indexed for queries by tag.
CREATE TABLE lakery_tags (
    manifest_id uuid NOT NULL REFERENCES lakery_manifests (id) ON DELETE CASCADE,
    tag_key text NOT NULL,
    tag_value text NOT NULL,
    PRIMARY KEY (manifest_id, tag_key)
);
CREATE INDEX lakery_tags_lookup ON lakery_tags (tag_key, tag_value, manifest_id);
