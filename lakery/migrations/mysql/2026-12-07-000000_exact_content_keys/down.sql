ALTER TABLE lakery_contents MODIFY content_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;
