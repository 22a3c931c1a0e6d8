-- One row per saved value.
CREATE TABLE lakery_manifests (
    id TEXT PRIMARY KEY NOT NULL,          -- UUID v7, hyphenated
    class_id TEXT NOT NULL,                -- UUID of the storable type
    class_version INTEGER NOT NULL,
    tags TEXT NOT NULL,                    -- JSON object of string tags
    created_at TIMESTAMP NOT NULL
) WITHOUT ROWID;
CREATE INDEX lakery_manifests_class ON lakery_manifests (class_id, class_version);

-- One row per content of a saved value.
CREATE TABLE lakery_contents (
    manifest_id TEXT NOT NULL REFERENCES lakery_manifests (id) ON DELETE CASCADE,
    content_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    encoding TEXT,                         -- NULL: the bytes are stored as serialized
    hash TEXT NOT NULL,                    -- lowercase hex
    hash_algorithm TEXT NOT NULL,
    size BIGINT NOT NULL,
    serializer_name TEXT NOT NULL,
    serializer_config TEXT,                -- JSON, or NULL
    storage_name TEXT NOT NULL,
    storage_config TEXT NOT NULL,          -- JSON
    data BLOB,                             -- the bytes, for contents in the database storage
    tags TEXT NOT NULL,                    -- JSON object of the content's own tags
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (manifest_id, content_key)
);
