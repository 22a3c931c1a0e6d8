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
    -- Checked at commit: a batch's INSERTs are pipelined, and one whose statement is
    -- prepared first can reach the server after a later one.
    manifest_id uuid NOT NULL
        REFERENCES lakery_manifests (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
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
)
-- Rows of up to 8 KB (a typical JSON body in the database storage) are kept as they
-- are; by default PostgreSQL tries to compress every row above 2 KB, which cost a third
-- of the server's time in batch saves.
WITH (toast_tuple_target = 8160);

-- Manifest tags, one row each, indexed for queries by tag. A copy of each manifest's
-- `tags`, kept by lakery and deleted with its manifest, so it carries no foreign key:
-- checking one costs a lookup and a row lock on the manifest for every tag row.
CREATE TABLE lakery_tags (
    manifest_id uuid NOT NULL,
    tag_key text NOT NULL,
    tag_value text NOT NULL,
    PRIMARY KEY (manifest_id, tag_key)
);
CREATE INDEX lakery_tags_lookup ON lakery_tags (tag_key, tag_value, manifest_id);
