//! `.npy` both ways with NumPy itself: NumPy loads the blob lakery stored for an
//! `ndarray` field, and lakery loads what `numpy.save` wrote, in other dtypes, byte
//! orders and memory orders. Needs Python with NumPy: `eval "$(.ci/python)"` sets
//! `LAKERY_TEST_PYTHON`; without it the test says it skipped (with `CI=true` it fails).

mod common;

use common::TestDb;
use lakery::serializer::ndarray::{array, Array1, Array2, Array3, ArrayD};
use lakery::serializer::{Npy, Serializer, Stored};
use lakery::{FileStorage, Registry, Storable};

#[derive(Storable, Debug)]
#[storable(class_id = "8f0b6f0e-6c31-4e5e-a7c9-2d4e9b1c7a55")]
struct Fit {
    model: String,
    #[content(serializer = Npy, storage = "files")]
    weights: Array2<f64>,
    #[content(serializer = Npy, storage = "files")]
    counts: Array3<i32>,
    #[content(serializer = Npy, storage = "files")]
    mask: Array1<bool>,
}

#[tokio::test(flavor = "multi_thread")]
async fn numpy_loads_what_lakery_stored() {
    let Some(python) = common::python() else {
        return;
    };
    let t = TestDb::sqlite().await;
    let registry = Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storable::<Fit>()
        .build()
        .unwrap();
    let fit = Fit {
        model: "ridge".into(),
        weights: array![[0.5, -1.25, 1e-300], [f64::MAX, 3.0, -0.0]],
        // Stored in Fortran order: NumPy must still see the logical layout.
        counts: Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (100 * i + 10 * j + k) as i32)
            .reversed_axes()
            .as_standard_layout()
            .reversed_axes()
            .to_owned(),
        mask: array![true, false, true, true],
    };
    let record = lakery::save_one(&fit, &registry, &t.db).await.unwrap();
    let contents = t.db.contents(record.id).await.unwrap();
    let path = |key: &str| {
        let row = contents.iter().find(|c| c.key == key).unwrap();
        assert_eq!(row.content_type, "application/x-npy");
        common::stored_file(&t.path("files"), &row.hash)
    };
    let printed = common::run_python(
        &python,
        "import sys, numpy as np\n\
         w, c, m = (np.load(p, allow_pickle=False) for p in sys.argv[1:4])\n\
         print(w.dtype, w.shape, repr(w.tolist()))\n\
         print(c.dtype, c.shape, int(c[1, 2, 3]), int(c[0, 1, 2]), c.flags['F_CONTIGUOUS'])\n\
         print(m.dtype, m.tolist())",
        &[&path("weights"), &path("counts"), &path("mask")],
    );
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines[0],
        "float64 (2, 3) [[0.5, -1.25, 1e-300], [1.7976931348623157e+308, 3.0, -0.0]]"
    );
    assert_eq!(lines[1], "int32 (2, 3, 4) 123 12 True");
    assert_eq!(lines[2], "bool [True, False, True, True]");

    let loaded: Fit = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(loaded.weights, fit.weights);
    assert_eq!(loaded.counts, fit.counts);
    assert_eq!(loaded.mask, fit.mask);
}

#[test]
fn lakery_reads_what_numpy_saved() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    common::run_python(
        &python,
        "import sys, numpy as np, os\n\
         d = sys.argv[1]\n\
         np.save(os.path.join(d, 'f32.npy'), np.arange(12, dtype='<f4').reshape(3, 4) / 4)\n\
         np.save(os.path.join(d, 'big.npy'), np.array([[1.5, -2.0], [3.25, 1e10]], dtype='>f8'))\n\
         np.save(os.path.join(d, 'fortran.npy'), np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)))\n\
         np.save(os.path.join(d, 'u8.npy'), np.array([0, 7, 255], dtype=np.uint8))\n\
         np.save(os.path.join(d, 'scalar.npy'), np.float64(2.5))",
        &[dir.path()],
    );
    let stored = Stored {
        serializer_name: "lakery.npy@v1",
        serializer_config: None,
        content_type: "application/x-npy",
        max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
    };
    let read = |name: &str| bytes::Bytes::from(std::fs::read(dir.path().join(name)).unwrap());

    let f32s: Array2<f32> = Npy.deserialize(read("f32.npy"), &stored).unwrap();
    assert_eq!(f32s.shape(), &[3, 4]);
    assert_eq!(f32s[[2, 3]], 2.75);
    let big: Array2<f64> = Npy.deserialize(read("big.npy"), &stored).unwrap();
    assert_eq!(big, array![[1.5, -2.0], [3.25, 1e10]]);
    let fortran: Array2<i64> = Npy.deserialize(read("fortran.npy"), &stored).unwrap();
    assert_eq!(fortran, array![[0, 1, 2], [3, 4, 5]]);
    let bytes: Array1<u8> = Npy.deserialize(read("u8.npy"), &stored).unwrap();
    assert_eq!(bytes, array![0, 7, 255]);
    let scalar: ArrayD<f64> = Npy.deserialize(read("scalar.npy"), &stored).unwrap();
    assert_eq!((scalar.ndim(), scalar.sum()), (0, 2.5));
    // The wrong element type is an error, not a conversion.
    let error = Serializer::<Array2<f64>>::deserialize(&Npy, read("f32.npy"), &stored)
        .unwrap_err()
        .to_string();
    assert!(error.contains("<f4"), "{error}");
}
