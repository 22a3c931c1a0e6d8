//! Compression of a content's bytes, after its serializer and before its storage.

use std::io::Write;

use bytes::Bytes;

/// A compression applied to a content's bytes after its serializer, chosen per field
/// with `#[content(encoding = "zstd")]`. It is recorded with the content (as its
/// `encoding`, an HTTP content-coding name) and undone on load whatever the field's
/// attribute says then, so a field can start or stop compressing without a migration.
/// The hash and size recorded are those of the stored, compressed bytes, so `verify`
/// and `sha256sum` check what is in the storage.
///
/// Each is behind a cargo feature of the same name, both on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// Zstandard at level 3: fast both ways, a good ratio (`zstd`).
    #[cfg(feature = "zstd")]
    Zstd,
    /// gzip at the default level, which every tool opens (`gzip`).
    #[cfg(feature = "gzip")]
    Gzip,
}

impl Encoding {
    /// Every encoding this build of lakery has.
    pub const ALL: &'static [Encoding] = &[
        #[cfg(feature = "zstd")]
        Encoding::Zstd,
        #[cfg(feature = "gzip")]
        Encoding::Gzip,
    ];

    /// The name recorded with a content: `zstd` or `gzip`.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "zstd")]
            Encoding::Zstd => "zstd",
            #[cfg(feature = "gzip")]
            Encoding::Gzip => "gzip",
        }
    }

    /// The encoding a content records, if this build has it.
    pub fn from_name(name: &str) -> Option<Encoding> {
        Encoding::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// `data`, compressed, as a save stores it.
    pub fn encode(self, data: &[u8]) -> std::io::Result<Bytes> {
        let mut coder = self.encoder()?;
        let mut out = coder.push(data)?.to_vec();
        out.extend_from_slice(&coder.finish()?);
        Ok(out.into())
    }

    /// `data`, decompressed, as a load undoes it; an error if it is not whole and
    /// well-formed.
    pub fn decode(self, data: &[u8]) -> std::io::Result<Bytes> {
        let mut coder = self.decoder()?;
        let mut out = coder.push(data)?.to_vec();
        out.extend_from_slice(&coder.finish()?);
        Ok(out.into())
    }

    /// At most `limit` bytes of `data` decompressed, and whether there was more: for
    /// looking at the start of a content without trusting its size (a few kilobytes of
    /// zstd can claim gigabytes). An error if the part read is not valid.
    // Without either feature there is no encoding, and so nothing after the match.
    #[cfg_attr(
        not(any(feature = "zstd", feature = "gzip")),
        allow(unreachable_code, unused_variables)
    )]
    pub fn decode_up_to(self, data: &[u8], limit: usize) -> std::io::Result<(Bytes, bool)> {
        use std::io::Read;
        let reader: Box<dyn Read + '_> = match self {
            #[cfg(feature = "zstd")]
            Encoding::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(data)?),
            #[cfg(feature = "gzip")]
            Encoding::Gzip => Box::new(flate2::read::GzDecoder::new(data)),
        };
        let mut out = Vec::new();
        reader.take(limit as u64 + 1).read_to_end(&mut out)?;
        let more = out.len() > limit;
        out.truncate(limit);
        Ok((out.into(), more))
    }

    /// A compressor of a stream's chunks.
    // Without either feature there is no encoding, and so nothing after the match.
    #[cfg_attr(not(any(feature = "zstd", feature = "gzip")), allow(unreachable_code))]
    pub(crate) fn encoder(self) -> std::io::Result<StreamCoder> {
        Ok(StreamCoder(match self {
            #[cfg(feature = "zstd")]
            Encoding::Zstd => Box::new(zstd::stream::write::Encoder::new(Vec::new(), 3)?),
            #[cfg(feature = "gzip")]
            Encoding::Gzip => Box::new(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::default(),
            )),
        }))
    }

    /// A decompressor of a stream's chunks.
    // Without either feature there is no encoding, and so nothing after the match.
    #[cfg_attr(not(any(feature = "zstd", feature = "gzip")), allow(unreachable_code))]
    pub(crate) fn decoder(self) -> std::io::Result<StreamCoder> {
        Ok(StreamCoder(match self {
            #[cfg(feature = "zstd")]
            Encoding::Zstd => Box::new(zstd::stream::write::Decoder::new(Vec::new())?),
            #[cfg(feature = "gzip")]
            Encoding::Gzip => Box::new(flate2::write::GzDecoder::new(Vec::new())),
        }))
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Compresses or decompresses a stream chunk by chunk: each chunk in gives the bytes
/// ready so far, and the end gives the rest.
pub(crate) struct StreamCoder(Box<dyn Coder>);

impl StreamCoder {
    pub(crate) fn push(&mut self, chunk: &[u8]) -> std::io::Result<Bytes> {
        self.0.write_all(chunk)?;
        Ok(std::mem::take(self.0.output()).into())
    }

    pub(crate) fn finish(self) -> std::io::Result<Bytes> {
        self.0.end().map(Bytes::from)
    }
}

impl std::fmt::Debug for StreamCoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamCoder")
    }
}

/// A writer into a `Vec<u8>`, whose output so far can be taken and whose end flushes
/// the rest.
trait Coder: Write + Send {
    fn output(&mut self) -> &mut Vec<u8>;
    fn end(self: Box<Self>) -> std::io::Result<Vec<u8>>;
}

#[cfg(feature = "zstd")]
impl Coder for zstd::stream::write::Encoder<'static, Vec<u8>> {
    fn output(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
    fn end(self: Box<Self>) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

/// zstd's `finish` fails on a frame cut short.
#[cfg(feature = "zstd")]
impl Coder for zstd::stream::write::Decoder<'static, Vec<u8>> {
    fn output(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
    fn end(self: Box<Self>) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

#[cfg(feature = "gzip")]
impl Coder for flate2::write::GzEncoder<Vec<u8>> {
    fn output(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
    fn end(self: Box<Self>) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

#[cfg(feature = "gzip")]
impl Coder for flate2::write::GzDecoder<Vec<u8>> {
    fn output(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
    fn end(self: Box<Self>) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small compressed content claiming much more is read only up to the limit.
    #[test]
    fn decode_up_to_stops_at_the_limit() {
        let data = vec![7u8; 8 << 20];
        for encoding in Encoding::ALL {
            let packed = encoding.encode(&data).unwrap();
            assert!(packed.len() < 64 << 10, "{encoding:?} compresses zeros");
            let (head, more) = encoding.decode_up_to(&packed, 1000).unwrap();
            assert_eq!((head.len(), more), (1000, true), "{encoding:?}");
            assert!(head.iter().all(|&b| b == 7));
            let (all, more) = encoding.decode_up_to(&packed, data.len()).unwrap();
            assert_eq!((all.len(), more), (data.len(), false), "{encoding:?}");
            assert!(encoding.decode_up_to(b"not compressed", 10).is_err());
        }
    }
}
