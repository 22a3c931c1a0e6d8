-- MySQL and MariaDB. Ids are UUIDs of version 7 as CHAR(36) in a binary collation, so
-- their order is creation order; times are DATETIME(6) in UTC; JSON is LONGTEXT.
CREATE TABLE lakery_manifests (
    id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    class_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    class_version INTEGER NOT NULL,
    tags LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    created_at DATETIME(6) NOT NULL,
    INDEX lakery_manifests_class (class_id, class_version, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE lakery_contents (
    manifest_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    content_key VARCHAR(255) NOT NULL,
    content_type VARCHAR(1024) NOT NULL,
    encoding VARCHAR(255),
    hash VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    hash_algorithm VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    size BIGINT NOT NULL,
    serializer_name VARCHAR(255) NOT NULL,
    serializer_config LONGTEXT,
    storage_name VARCHAR(255) NOT NULL,
    storage_config LONGTEXT NOT NULL,
    data LONGBLOB,
    tags LONGTEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (manifest_id, content_key),
    FOREIGN KEY (manifest_id) REFERENCES lakery_manifests (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Tag keys and values are up to 1024 bytes: VARBINARY keeps them exact (compared byte
-- for byte) and short enough for InnoDB's 3072-byte index keys. The table is a copy of
-- each manifest's `tags`, kept by lakery and deleted with its manifest, so it carries no
-- foreign key.
CREATE TABLE lakery_tags (
    manifest_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    tag_key VARBINARY(1024) NOT NULL,
    tag_value VARBINARY(1024) NOT NULL,
    PRIMARY KEY (manifest_id, tag_key),
    INDEX lakery_tags_lookup (tag_key, tag_value, manifest_id)
) ENGINE = InnoDB;
