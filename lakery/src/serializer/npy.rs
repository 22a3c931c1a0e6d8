//! ndarray arrays as NumPy `.npy` files.

use bytes::Bytes;
use ndarray::{ArrayBase, DataOwned, Dimension};
use ndarray_npy::{ReadNpyExt, ReadableElement, WritableElement, WriteNpyExt};

use super::{Serializer, SerializerError, Stored};

/// An `ndarray` array as a NumPy `.npy` file (`application/x-npy`), named
/// `lakery.npy@v1`: what `numpy.save` writes and `numpy.load` reads, so a Python user
/// can open the stored blob directly. Behind the `ndarray` feature.
///
/// For arrays of any dimension (`Array1`, `Array2`, `ArrayD`, ...) of `bool`, the
/// integers, `f32` and `f64`, through the `ndarray-npy` crate; C and Fortran order and
/// either byte order read back, as NumPy writes them. A stored array of another element
/// type or dimension is an error that says so.
///
/// Use the `ndarray` that lakery re-exports (`lakery::serializer::ndarray`), or the same
/// version (0.17).
#[derive(Debug, Clone, Copy, Default)]
pub struct Npy;

impl<A, S, D> Serializer<ArrayBase<S, D>> for Npy
where
    A: WritableElement + ReadableElement,
    S: DataOwned<Elem = A>,
    D: Dimension,
{
    fn name(&self) -> &str {
        "lakery.npy@v1"
    }
    fn content_type(&self) -> &str {
        "application/x-npy"
    }
    fn serialize(&self, value: &ArrayBase<S, D>) -> Result<Bytes, SerializerError> {
        let mut out = Vec::with_capacity(128 + value.len() * std::mem::size_of::<A>());
        value.write_npy(&mut out)?;
        Ok(out.into())
    }
    fn deserialize(
        &self,
        bytes: Bytes,
        _: &Stored<'_>,
    ) -> Result<ArrayBase<S, D>, SerializerError> {
        check_length(&bytes)?;
        Ok(ArrayBase::read_npy(&bytes[..])?)
    }
}

/// Refuses a file whose header claims more elements than its data has bytes, before
/// `ndarray-npy` allocates room for them all: what it allocates then stays within a few
/// times the file's size. (Whether the data is exactly as long as the element type
/// needs is `ndarray-npy`'s check.)
fn check_length(bytes: &[u8]) -> Result<(), SerializerError> {
    // `ndarray-npy` allocates the header's claimed length (up to 4 GiB) before reading.
    if let Some((_, end)) = header_span(bytes) {
        if end > bytes.len() {
            return Err(format!(
                "the .npy header claims to end at byte {end}, and the file holds {} bytes",
                bytes.len()
            )
            .into());
        }
    }
    let Some((header, data)) = split_header(bytes) else {
        // Not an .npy header: `ndarray-npy` says what is wrong with it.
        return Ok(());
    };
    let Some(shape) = shape_of(header) else {
        return Ok(());
    };
    let claimed = shape
        .iter()
        .try_fold(1usize, |n, dim| n.checked_mul(*dim))
        .ok_or("the .npy header's shape overflows")?;
    if claimed > data {
        return Err(format!(
            "the .npy header's shape {shape:?} has {claimed} elements, and the file holds \
             {data} bytes of data"
        )
        .into());
    }
    Ok(())
}

/// Where the header's text starts and ends, as its length field says (the end may lie
/// past the file's).
fn header_span(bytes: &[u8]) -> Option<(usize, usize)> {
    let rest = bytes.strip_prefix(b"\x93NUMPY")?;
    let (length, start): (usize, usize) = match rest.first()? {
        1 => (
            usize::from(u16::from_le_bytes([*rest.get(2)?, *rest.get(3)?])),
            10,
        ),
        2 | 3 => {
            let length = u32::from_le_bytes(rest.get(2..6)?.try_into().ok()?);
            (usize::try_from(length).ok()?, 12)
        }
        _ => return None,
    };
    Some((start, start.checked_add(length)?))
}

/// The header's text and the length of the data after it.
fn split_header(bytes: &[u8]) -> Option<(&str, usize)> {
    let (start, end) = header_span(bytes)?;
    let header = std::str::from_utf8(bytes.get(start..end)?).ok()?;
    Some((header, bytes.len() - end))
}

/// The dimensions in a header's `'shape': (2, 3)`.
fn shape_of(header: &str) -> Option<Vec<usize>> {
    let after = &header[header.find("'shape'")? + "'shape'".len()..];
    let tuple = after
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('(')?;
    let tuple = &tuple[..tuple.find(')')?];
    tuple
        .split(',')
        .map(str::trim)
        .filter(|dim| !dim.is_empty())
        .map(|dim| dim.trim_end_matches('L').parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1, Array2, ArrayD, IxDyn};

    fn stored() -> Stored<'static> {
        Stored {
            serializer_name: "lakery.npy@v1",
            serializer_config: None,
            content_type: "application/x-npy",
            max_decoded_size: crate::encoding::DEFAULT_MAX_DECODED_SIZE,
        }
    }

    #[test]
    fn arrays_round_trip_in_either_order() {
        let grid: Array2<f64> = array![[1.0, 2.5, -3.0], [f64::MAX, f64::MIN_POSITIVE, 0.0]];
        let bytes = Npy.serialize(&grid).unwrap();
        assert!(bytes.starts_with(b"\x93NUMPY"));
        let back: Array2<f64> = Npy.deserialize(bytes, &stored()).unwrap();
        assert_eq!(back, grid);

        let fortran = grid.t().to_owned();
        let back: Array2<f64> = Npy
            .deserialize(Npy.serialize(&fortran).unwrap(), &stored())
            .unwrap();
        assert_eq!(back, fortran);

        let flags: Array1<bool> = array![true, false, true];
        let back: Array1<bool> = Npy
            .deserialize(Npy.serialize(&flags).unwrap(), &stored())
            .unwrap();
        assert_eq!(back, flags);
        let cube = ArrayD::<i32>::from_shape_fn(IxDyn(&[2, 0, 3]), |_| 1);
        let back: ArrayD<i32> = Npy
            .deserialize(Npy.serialize(&cube).unwrap(), &stored())
            .unwrap();
        assert_eq!(back.shape(), &[2, 0, 3]);
    }

    /// A version 1 `.npy` file: `header` padded to 118 bytes, then `data`.
    fn npy_file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut file = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        file.extend_from_slice(header.as_bytes());
        file.resize(10 + 0x76 - 1, b' ');
        file.push(b'\n');
        file.extend_from_slice(data);
        file
    }

    /// Found by the `deserialize` fuzz target: a version 2 header claiming 4 GiB made
    /// `ndarray-npy` allocate them. Now an error.
    #[test]
    fn a_header_longer_than_the_file_is_an_error_not_an_allocation() {
        let hostile = b"\x93NUMPY\x02\x00\xff\xff\xff\xfa{'descr'";
        let error =
            Serializer::<ArrayD<f64>>::deserialize(&Npy, Bytes::from_static(hostile), &stored())
                .unwrap_err();
        assert!(error.to_string().contains("header claims"), "{error}");
        // The fuzzer's own input, after its first byte (which picked `Npy`).
        let found: &[u8] = &[
            0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x03, 0x00, 0x00, 0x00, 0x02, 0xfb, 0x01, 0x00,
            0x02, 0xfb, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x02, 0xfb, 0x01, 0x00,
            0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0xfb, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x3a, 0x00,
            0x00,
        ];
        assert!(
            Serializer::<ArrayD<f64>>::deserialize(&Npy, Bytes::from_static(found), &stored())
                .is_err()
        );
    }

    #[test]
    fn fixed_earlier_blobs_still_read() {
        let data: Vec<u8> = [1i32, 2, 3, 4]
            .iter()
            .flat_map(|n| n.to_le_bytes())
            .collect();
        // What `numpy.save` writes for `numpy.array([[1, 2], [3, 4]], dtype='<i4')`.
        let numpy = npy_file(
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }",
            &data,
        );
        let back: Array2<i32> = Npy.deserialize(numpy.into(), &stored()).unwrap();
        assert_eq!(back, array![[1, 2], [3, 4]]);
        // What lakery.npy@v1 writes for it.
        let lakery = npy_file(
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2)}",
            &data,
        );
        assert_eq!(&Npy.serialize(&back).unwrap()[..], &lakery[..]);
        // Big-endian and in Fortran order, as NumPy may write them.
        let big: Vec<u8> = [1.5f64, 3.5, 2.5, 4.5]
            .iter()
            .flat_map(|n| n.to_be_bytes())
            .collect();
        let fortran = npy_file(
            "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 2), }",
            &big,
        );
        let back: Array2<f64> = Npy.deserialize(fortran.into(), &stored()).unwrap();
        assert_eq!(back, array![[1.5, 2.5], [3.5, 4.5]]);
    }

    #[test]
    fn bad_files_are_errors_not_panics_or_huge_allocations() {
        let good = Npy.serialize(&array![[1.0f64, 2.0], [3.0, 4.0]]).unwrap();
        // The wrong element type, and the wrong number of dimensions.
        assert!(Serializer::<Array2<i64>>::deserialize(&Npy, good.clone(), &stored()).is_err());
        assert!(Serializer::<Array1<f64>>::deserialize(&Npy, good.clone(), &stored()).is_err());
        // Every truncation.
        for cut in 0..good.len() {
            assert!(
                Serializer::<Array2<f64>>::deserialize(&Npy, good.slice(..cut), &stored()).is_err()
            );
        }
        // Headers that claim far more than the file holds.
        for shape in [
            "(99999999999, 9999999)",
            "(4611686018427387904, 4)",
            "(33,)",
        ] {
            let header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
            let file = npy_file(&header, &[0; 32]);
            let error = Serializer::<ArrayD<f64>>::deserialize(&Npy, file.into(), &stored())
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("bytes of data") || error.contains("overflows"),
                "{shape}: {error}"
            );
        }
        assert!(Serializer::<Array2<f64>>::deserialize(
            &Npy,
            Bytes::from_static(b"not npy"),
            &stored()
        )
        .is_err());
    }
}
