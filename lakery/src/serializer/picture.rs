//! Images through the `image` crate, as PNG and JPEG.

use std::io::Cursor;

use bytes::Bytes;
use image::{DynamicImage, GrayImage, ImageFormat, ImageReader, RgbImage, RgbaImage};

use super::{Serializer, SerializerError, Stored};

/// An image as PNG (`image/png`), named `lakery.png@v1`: lossless, so it loads back
/// pixel for pixel. Behind the `image` feature.
///
/// For `image`'s `DynamicImage`, `RgbImage`, `RgbaImage` and `GrayImage`. A stored
/// PNG of another colour type is converted to the field's on load (a `GrayImage` field
/// reads a colour PNG as its luma). Decoding stays within `image`'s default limits
/// (512 MiB), so a hostile file cannot exhaust memory.
///
/// Use the `image` that lakery re-exports (`lakery::serializer::image`), or the same
/// version (0.25).
#[derive(Debug, Clone, Copy, Default)]
pub struct Png;

/// An image as JPEG (`image/jpeg`), named `lakery.jpeg@v1`, at a quality from 1 to 100
/// (90 for `Jpeg`; declare a constant for another: `const DRAFT: Jpeg =
/// Jpeg::quality(60);`). Lossy: for photographs and previews, not for data. JPEG has
/// no alpha channel, so `RgbaImage` is not offered; behind the `image` feature.
#[derive(Debug, Clone, Copy)]
pub struct Jpeg {
    quality: u8,
}

impl Jpeg {
    /// JPEG at `quality`, clamped to 1..=100.
    pub const fn quality(quality: u8) -> Jpeg {
        let quality = if quality == 0 {
            1
        } else if quality > 100 {
            100
        } else {
            quality
        };
        Jpeg { quality }
    }
}

impl Default for Jpeg {
    fn default() -> Self {
        Jpeg::quality(90)
    }
}

/// Decodes `bytes` as `format`, allocating at most what the registry lets a content
/// decode to (`image` checks the dimensions a header claims against it first).
fn decode(
    bytes: &[u8],
    format: ImageFormat,
    stored: &Stored<'_>,
) -> Result<DynamicImage, SerializerError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(stored.max_decoded_size);
    reader.limits(limits);
    Ok(reader.decode()?)
}

/// The image types the serializers handle, and how each comes out of a decoded image.
trait Pixels: Sized {
    fn to_dynamic(&self) -> DynamicImage;
    fn from_dynamic(image: DynamicImage) -> Self;
}

impl Pixels for DynamicImage {
    fn to_dynamic(&self) -> DynamicImage {
        self.clone()
    }
    fn from_dynamic(image: DynamicImage) -> Self {
        image
    }
}

impl Pixels for RgbImage {
    fn to_dynamic(&self) -> DynamicImage {
        DynamicImage::ImageRgb8(self.clone())
    }
    fn from_dynamic(image: DynamicImage) -> Self {
        image.into_rgb8()
    }
}

impl Pixels for RgbaImage {
    fn to_dynamic(&self) -> DynamicImage {
        DynamicImage::ImageRgba8(self.clone())
    }
    fn from_dynamic(image: DynamicImage) -> Self {
        image.into_rgba8()
    }
}

impl Pixels for GrayImage {
    fn to_dynamic(&self) -> DynamicImage {
        DynamicImage::ImageLuma8(self.clone())
    }
    fn from_dynamic(image: DynamicImage) -> Self {
        image.into_luma8()
    }
}

macro_rules! png {
    ($($ty:ty),*) => {$(
        impl Serializer<$ty> for Png {
            fn name(&self) -> &str {
                "lakery.png@v1"
            }
            fn content_type(&self) -> &str {
                "image/png"
            }
            fn serialize(&self, value: &$ty) -> Result<Bytes, SerializerError> {
                let mut out = Cursor::new(Vec::new());
                value.to_dynamic().write_to(&mut out, ImageFormat::Png)?;
                Ok(out.into_inner().into())
            }
            fn deserialize(&self, bytes: Bytes, stored: &Stored<'_>) -> Result<$ty, SerializerError> {
                decode(&bytes, ImageFormat::Png, stored).map(<$ty>::from_dynamic)
            }
        }
    )*};
}

png!(DynamicImage, RgbImage, RgbaImage, GrayImage);

macro_rules! jpeg {
    ($($ty:ty),*) => {$(
        impl Serializer<$ty> for Jpeg {
            fn name(&self) -> &str {
                "lakery.jpeg@v1"
            }
            fn content_type(&self) -> &str {
                "image/jpeg"
            }
            fn config(&self) -> Option<serde_json::Value> {
                Some(serde_json::json!({ "quality": self.quality }))
            }
            fn serialize(&self, value: &$ty) -> Result<Bytes, SerializerError> {
                let mut out = Vec::new();
                let encoder =
                    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, self.quality);
                // JPEG keeps no alpha: a dynamic image is written as its colours.
                let image = value.to_dynamic();
                let image = match image.color().has_alpha() {
                    true => DynamicImage::ImageRgb8(image.into_rgb8()),
                    false => image,
                };
                image.write_with_encoder(encoder)?;
                Ok(out.into())
            }
            fn deserialize(&self, bytes: Bytes, stored: &Stored<'_>) -> Result<$ty, SerializerError> {
                decode(&bytes, ImageFormat::Jpeg, stored).map(<$ty>::from_dynamic)
            }
        }
    )*};
}

jpeg!(DynamicImage, RgbImage, GrayImage);

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> Stored<'static> {
        Stored {
            serializer_name: "",
            serializer_config: None,
            content_type: "",
            max_decoded_size: crate::encoding::DEFAULT_MAX_DECODED_SIZE,
        }
    }

    fn gradient() -> RgbaImage {
        RgbaImage::from_fn(37, 23, |x, y| {
            image::Rgba([
                (x * 7) as u8,
                (y * 11) as u8,
                ((x + y) * 3) as u8,
                (255 - x) as u8,
            ])
        })
    }

    #[test]
    fn png_is_lossless_for_every_image_type() {
        let rgba = gradient();
        let bytes = Png.serialize(&rgba).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        let back: RgbaImage = Png.deserialize(bytes, &stored()).unwrap();
        assert_eq!(back, rgba);

        let rgb = DynamicImage::ImageRgba8(rgba.clone()).into_rgb8();
        let back: RgbImage = Png
            .deserialize(Png.serialize(&rgb).unwrap(), &stored())
            .unwrap();
        assert_eq!(back, rgb);
        let gray = DynamicImage::ImageRgba8(rgba.clone()).into_luma8();
        let back: GrayImage = Png
            .deserialize(Png.serialize(&gray).unwrap(), &stored())
            .unwrap();
        assert_eq!(back, gray);
        let dynamic = DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(3, 2, |x, y| {
            image::Luma([(x * 20_000 + y) as u16])
        }));
        let back: DynamicImage = Png
            .deserialize(Png.serialize(&dynamic).unwrap(), &stored())
            .unwrap();
        assert_eq!(back, dynamic);
        // A colour PNG read into a gray field is its luma.
        let back: GrayImage = Png
            .deserialize(Png.serialize(&rgb).unwrap(), &stored())
            .unwrap();
        assert_eq!(back, gray);
    }

    #[test]
    fn jpeg_keeps_the_size_and_about_the_pixels() {
        let rgb = DynamicImage::ImageRgba8(gradient()).into_rgb8();
        let bytes = Jpeg::default().serialize(&rgb).unwrap();
        assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]));
        let back: RgbImage = Jpeg::default()
            .deserialize(bytes.clone(), &stored())
            .unwrap();
        assert_eq!(back.dimensions(), rgb.dimensions());
        let error: f64 = back
            .as_raw()
            .iter()
            .zip(rgb.as_raw())
            .map(|(a, b)| f64::from(a.abs_diff(*b)))
            .sum::<f64>()
            / rgb.as_raw().len() as f64;
        assert!(error < 4.0, "mean error {error}");
        let draft = Jpeg::quality(10).serialize(&rgb).unwrap();
        assert!(draft.len() < bytes.len());
        assert_eq!(
            Serializer::<RgbImage>::config(&Jpeg::quality(0)).unwrap()["quality"],
            1
        );
        // An image with alpha is written as its colours.
        let dynamic = DynamicImage::ImageRgba8(gradient());
        let back: DynamicImage = Jpeg::default()
            .deserialize(Jpeg::default().serialize(&dynamic).unwrap(), &stored())
            .unwrap();
        assert_eq!((back.width(), back.height()), (37, 23));
    }

    #[test]
    fn bad_images_are_errors() {
        let png = Png.serialize(&gradient()).unwrap();
        // (A PNG cut inside its closing IEND chunk still decodes: the pixels are whole.
        // The content's hash, checked before any decoding, catches such a cut.)
        for cut in [0, 8, 20, png.len() / 2] {
            assert!(
                Serializer::<RgbaImage>::deserialize(&Png, png.slice(..cut), &stored()).is_err()
            );
        }
        let jpeg = Jpeg::default()
            .serialize(&DynamicImage::ImageRgba8(gradient()))
            .unwrap();
        assert!(Serializer::<RgbImage>::deserialize(&Png, jpeg.clone(), &stored()).is_err());
        assert!(Serializer::<RgbImage>::deserialize(&Jpeg::default(), png, &stored()).is_err());
        // A header claiming 100,000 x 100,000 pixels is refused, not allocated.
        let mut huge = Png.serialize(&gradient()).unwrap().to_vec();
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(Serializer::<RgbaImage>::deserialize(&Png, huge.into(), &stored()).is_err());
    }
}
