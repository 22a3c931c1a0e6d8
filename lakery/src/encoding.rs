//! Compression of a content's bytes, after its serializer and before its storage.

use std::io::Write;

use bytes::Bytes;

/// How large a content may be once its compression is undone, unless
/// [`RegistryBuilder::max_decoded_size`](crate::RegistryBuilder::max_decoded_size) says
/// otherwise: 1 GiB.
pub const DEFAULT_MAX_DECODED_SIZE: u64 = 1 << 30;

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

    /// `data`, decompressed, however large that is; an error if it is not whole and
    /// well-formed. For data from elsewhere, [`decode_up_to`](Encoding::decode_up_to)
    /// bounds what it may become, as a load does.
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
        reader
            .take((limit as u64).saturating_add(1))
            .read_to_end(&mut out)?;
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

/// The most a [`Decompressor`] hands out at once for zstd. gzip's inflater cannot stop
/// mid-input, so it is fed [`GZIP_SLICE`] bytes at a time, which deflate's ratio of at
/// most 1032 to 1 keeps under about 4 MiB.
#[cfg(feature = "zstd")]
const PIECE: usize = 256 << 10;
#[cfg(feature = "gzip")]
const GZIP_SLICE: usize = 4 << 10;

/// Undoes an encoding chunk by chunk in bounded memory: each compressed chunk is
/// [`feed`](Decompressor::feed)-ed in and its output taken in pieces, so a few kilobytes
/// that claim gigabytes never become gigabytes at once.
pub(crate) struct Decompressor {
    state: Inflating,
    input: Bytes,
    at: usize,
    /// zstd's hint after the last step: 0 once a frame is complete.
    #[cfg_attr(not(feature = "zstd"), allow(dead_code))]
    frame_left: usize,
}

enum Inflating {
    #[cfg(feature = "zstd")]
    Zstd(Box<zstd::stream::raw::Decoder<'static>>),
    #[cfg(feature = "gzip")]
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
}

impl Decompressor {
    // Without either feature there is no encoding, and so nothing after the match.
    #[cfg_attr(
        not(any(feature = "zstd", feature = "gzip")),
        allow(unreachable_code, unused_variables)
    )]
    pub(crate) fn new(encoding: Encoding) -> std::io::Result<Self> {
        let state = match encoding {
            #[cfg(feature = "zstd")]
            Encoding::Zstd => Inflating::Zstd(Box::new(zstd::stream::raw::Decoder::new()?)),
            #[cfg(feature = "gzip")]
            Encoding::Gzip => Inflating::Gzip(Box::new(flate2::write::GzDecoder::new(Vec::new()))),
        };
        Ok(Decompressor {
            state,
            input: Bytes::new(),
            at: 0,
            frame_left: 1,
        })
    }

    /// Hands in the next compressed chunk; take every [`piece`](Decompressor::piece) of
    /// the one before first.
    pub(crate) fn feed(&mut self, chunk: Bytes) {
        debug_assert!(
            self.at >= self.input.len(),
            "the last chunk was not used up"
        );
        self.input = chunk;
        self.at = 0;
    }

    /// The next piece of output from what was fed, or `None` once it is used up.
    #[cfg_attr(
        not(any(feature = "zstd", feature = "gzip")),
        allow(unreachable_code, unused_variables)
    )]
    pub(crate) fn piece(&mut self) -> std::io::Result<Option<Bytes>> {
        loop {
            let rest = &self.input[self.at.min(self.input.len())..];
            let out: Vec<u8> = match self.state {
                #[cfg(feature = "zstd")]
                Inflating::Zstd(ref mut decoder) => {
                    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
                    let mut out = Vec::with_capacity(PIECE);
                    let mut input = InBuffer::around(rest);
                    let mut output = OutBuffer::around(&mut out);
                    let hint = decoder.run(&mut input, &mut output)?;
                    let (read, written) = (input.pos(), output.pos());
                    self.at += read;
                    // Output that filled the buffer may have more behind it, even once
                    // the input is used up: done only when a step does nothing. Such a
                    // step's hint is about a next frame, so it is not kept.
                    if written == 0 && read == 0 {
                        return Ok(None);
                    }
                    self.frame_left = hint;
                    out
                }
                #[cfg(feature = "gzip")]
                Inflating::Gzip(ref mut decoder) => {
                    if rest.is_empty() {
                        return Ok(None);
                    }
                    let slice = &rest[..rest.len().min(GZIP_SLICE)];
                    decoder.write_all(slice)?;
                    self.at += slice.len();
                    std::mem::take(decoder.get_mut())
                }
            };
            if !out.is_empty() {
                return Ok(Some(out.into()));
            }
        }
    }

    /// The end of the input: what is left, and an error if the data was cut short.
    #[cfg_attr(
        not(any(feature = "zstd", feature = "gzip")),
        allow(unreachable_code, unused_variables)
    )]
    pub(crate) fn finish(self) -> std::io::Result<Bytes> {
        match self.state {
            #[cfg(feature = "zstd")]
            Inflating::Zstd(_) => {
                if self.frame_left != 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the zstd frame is cut short",
                    ));
                }
                Ok(Bytes::new())
            }
            #[cfg(feature = "gzip")]
            Inflating::Gzip(decoder) => decoder.finish().map(Bytes::from),
        }
    }
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decompressor")
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
