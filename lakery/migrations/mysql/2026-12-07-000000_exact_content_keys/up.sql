-- Content keys compared byte for byte. utf8mb4_bin ignores trailing spaces (it pads),
-- so the entries `results.a` and `results.a ` of a `#[content(each)]` map collided in
-- the primary key. VARBINARY(1020) holds the 255 utf8mb4 characters the column held,
-- and keeps the primary key under InnoDB's 3072-byte limit.
ALTER TABLE lakery_contents MODIFY content_key VARBINARY(1020) NOT NULL;
