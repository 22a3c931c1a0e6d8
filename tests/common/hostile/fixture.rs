//! The value each case damages, saved next to a bystander that must stay readable, and
//! the damage done to it.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use lakery::serializer::arrow_array::{ArrayRef, Int64Array, RecordBatch};
use lakery::serializer::image::GrayImage;
use lakery::serializer::{ArrowIpc, Json, Parquet, Png, RawBytes};
use lakery::{Backend, Digest, FileStorage, HashAlgorithm, ManifestRecord, Registry, Storable};

use super::bombs;
use super::corpus::{BlobDamage, Damage};
use crate::common::TestDb;

/// What a whole-value load may decode of one content: an eighth of the memory bound.
pub const DECODE_LIMIT: u64 = 16 << 20;

/// One content of each kind a read path treats differently: bytes in the database,
/// raw bytes in files, each encoding, and each format that decompresses.
#[derive(Storable)]
#[storable(class_id = "3f0d6c1e-92b4-4c7a-8e15-6a2d9b0f4c83")]
pub struct Sample {
    #[content(serializer = Json)]
    pub meta: String,
    #[content(serializer = RawBytes, storage = "files")]
    pub data: Bytes,
    #[content(serializer = RawBytes, storage = "files", encoding = "zstd")]
    pub packed: Bytes,
    #[content(serializer = RawBytes, storage = "files", encoding = "gzip")]
    pub gz: Bytes,
    #[content(serializer = Parquet, storage = "files")]
    pub table: RecordBatch,
    #[content(serializer = ArrowIpc, storage = "files")]
    pub ipc: RecordBatch,
    #[content(serializer = Png, storage = "files")]
    pub picture: GrayImage,
}

impl Sample {
    /// A small sample whose every content differs with `seed`, so two samples share no
    /// blob.
    fn new(seed: u8) -> Sample {
        let column: ArrayRef = Arc::new(Int64Array::from(vec![i64::from(seed); 3]));
        let batch = RecordBatch::try_from_iter([("x", column)]).unwrap();
        Sample {
            meta: format!("sample {seed}"),
            data: Bytes::from(vec![seed; 64]),
            packed: Bytes::from(vec![seed; 4096]),
            gz: Bytes::from(vec![seed; 4096]),
            table: batch.clone(),
            ipc: batch,
            picture: GrayImage::from_pixel(4, 4, lakery::serializer::image::Luma([seed])),
        }
    }
}

/// A database holding the sample to damage and a bystander.
pub struct Fixture {
    pub t: TestDb,
    pub registry: Registry,
    pub damaged: ManifestRecord,
    pub bystander: ManifestRecord,
}

impl Fixture {
    /// `None` when `backend`'s server is unreachable outside CI.
    pub async fn new(backend: Backend) -> Option<Fixture> {
        let t = TestDb::new(backend).await?;
        let registry = Registry::builder()
            .storage("files", FileStorage::new(t.path("files")).unwrap())
            .storable::<Sample>()
            .max_decoded_size(DECODE_LIMIT)
            .build()
            .unwrap();
        let bystander = lakery::save_one(&Sample::new(2), &registry, &t.db)
            .tags([("kind", "sample")])
            .await
            .unwrap();
        let damaged = lakery::save_one(&Sample::new(1), &registry, &t.db)
            .tags([("kind", "sample")])
            .await
            .unwrap();
        Some(Fixture {
            t,
            registry,
            damaged,
            bystander,
        })
    }

    pub fn root(&self) -> PathBuf {
        self.t.path("files")
    }

    /// Does `damage` to the damaged sample.
    pub async fn damage(&self, damage: &Damage) {
        let id = self.damaged.id;
        let backend = self.t.backend();
        match damage {
            Damage::Manifest(sql) => {
                let set = sql.on(backend).unwrap();
                self.t
                    .execute(&format!(
                        "UPDATE lakery_manifests SET {set} WHERE id = '{id}'"
                    ))
                    .await;
            }
            Damage::Content { key, sql } => {
                self.update_content(key, sql.on(backend).unwrap()).await
            }
            Damage::Blob { key, how } => self.damage_blob(key, *how).await,
            Damage::Bomb { key, bomb } => self.plant(key, &bombs::make(*bomb)).await,
        }
    }

    async fn update_content(&self, key: &str, set: &str) {
        let id = self.damaged.id;
        self.t
            .execute(&format!(
                "UPDATE lakery_contents SET {set} WHERE manifest_id = '{id}' AND content_key = '{key}'"
            ))
            .await;
    }

    /// The file holding content `key` of `record`.
    async fn blob_path(&self, record: &ManifestRecord, key: &str) -> PathBuf {
        let contents = self.t.db.contents(record.id).await.unwrap();
        let content = contents.iter().find(|c| c.key == key).unwrap();
        self.root()
            .join(content.storage_config["path"].as_str().unwrap())
    }

    async fn damage_blob(&self, key: &str, how: BlobDamage) {
        use std::os::unix::fs::PermissionsExt;

        let path = self.blob_path(&self.damaged, key).await;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let resize = |len: u64| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(len)
                .unwrap()
        };
        match how {
            BlobDamage::Deleted => std::fs::remove_file(&path).unwrap(),
            BlobDamage::Truncated => resize(10),
            // Sparse: a file that claims a gigabyte past its record takes no disk.
            BlobDamage::Extended => resize(1 << 30),
            BlobDamage::SymlinkOutside => {
                std::fs::remove_file(&path).unwrap();
                std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
            }
            BlobDamage::SymlinkInside => {
                let other = self.blob_path(&self.bystander, key).await;
                std::fs::remove_file(&path).unwrap();
                std::os::unix::fs::symlink(other, &path).unwrap();
            }
        }
    }

    /// Puts `bytes` in the file storage as content `key` of the damaged sample, with a
    /// row whose hash and size are theirs: what an attacker who can write both does.
    async fn plant(&self, key: &str, bytes: &[u8]) {
        let contents = self.t.db.contents(self.damaged.id).await.unwrap();
        let content = contents.iter().find(|c| c.key == key).unwrap();
        let algorithm = HashAlgorithm::from_name(&content.hash_algorithm).unwrap();
        let hex = Digest::with(algorithm, bytes).hex();
        let relative = format!("{}/{}", &hex[..2], hex);
        let path = self.root().join(&relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let set = format!(
            "hash = '{hex}', size = {}, storage_config = '{{\"path\": \"{relative}\"}}'",
            bytes.len()
        );
        self.update_content(key, &set).await;
    }
}
