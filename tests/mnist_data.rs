//! The MNIST loader on the real files: sizes, label counts, the tutorial's pixel table, content
//! hashes and the `Dataset` implementation.
//!
//! The files are found through `MNIST_DIR`, else the repository's `data/mnist`; when neither
//! holds them the tests fail (they are never skipped).

mod common;
use common::mnist_dir;

use std::sync::OnceLock;

use feedforward::data::download::{content_sha256, MNIST_FILES};
use feedforward::data::mnist::{self, find_file, LabeledImages, Mnist};
use feedforward::data::Dataset;
use feedforward::Error;
use ndarray::{s, Array2};

/// MNIST, loaded once for all the tests of this file.
fn mnist() -> &'static Mnist {
    static DATA: OnceLock<Mnist> = OnceLock::new();
    DATA.get_or_init(|| Mnist::load(&mnist_dir()).expect("load the real MNIST files"))
}

/// The tutorial's table (section 4): rows 5-24, columns 7-21 of the first training image.
const TUTORIAL_TABLE: [[u8; 15]; 20] = [
    [0, 0, 0, 0, 0, 3, 18, 18, 18, 126, 136, 175, 26, 166, 255],
    [
        0, 30, 36, 94, 154, 170, 253, 253, 253, 253, 253, 225, 172, 253, 242,
    ],
    [
        49, 238, 253, 253, 253, 253, 253, 253, 253, 253, 251, 93, 82, 82, 56,
    ],
    [
        18, 219, 253, 253, 253, 253, 253, 198, 182, 247, 241, 0, 0, 0, 0,
    ],
    [0, 80, 156, 107, 253, 253, 205, 11, 0, 43, 154, 0, 0, 0, 0],
    [0, 0, 14, 1, 154, 253, 90, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 139, 253, 190, 2, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 11, 190, 253, 70, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 35, 241, 225, 160, 108, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 81, 240, 253, 253, 119, 25, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 45, 186, 253, 253, 150, 27, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 16, 93, 252, 253, 187, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 249, 253, 249, 64, 0],
    [0, 0, 0, 0, 0, 0, 0, 46, 130, 183, 253, 253, 207, 2, 0],
    [0, 0, 0, 0, 0, 39, 148, 229, 253, 253, 253, 250, 182, 0, 0],
    [0, 0, 0, 24, 114, 221, 253, 253, 253, 253, 201, 78, 0, 0, 0],
    [0, 23, 66, 213, 253, 253, 253, 253, 198, 81, 2, 0, 0, 0, 0],
    [171, 219, 253, 253, 253, 253, 195, 80, 9, 0, 0, 0, 0, 0, 0],
    [253, 253, 253, 253, 244, 133, 11, 0, 0, 0, 0, 0, 0, 0, 0],
    [253, 212, 135, 132, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
];

#[test]
fn sizes_are_60000_and_10000_images_of_28x28() {
    let m = mnist();
    assert_eq!(m.train.len(), 60_000);
    assert_eq!(m.test.len(), 10_000);
    for set in [&m.train, &m.test] {
        assert_eq!((set.image_rows(), set.image_cols()), (28, 28));
        assert_eq!(set.image(0).len(), 784);
        assert_eq!(set.classes(), 10);
        assert_eq!(set.input_width(), 784);
        assert_eq!(set.target_width(), 10);
        assert_eq!(Dataset::len(set), set.len());
    }
}

#[test]
fn label_counts_match_the_readme() {
    let m = mnist();
    assert_eq!(
        m.train.label_counts(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        m.test.label_counts(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
fn first_training_image_is_the_tutorials_five() {
    let m = mnist();
    assert_eq!(m.train.label(0), 5);
    assert_eq!(m.train.class_of(0), Some(5));
    let table = m.train.pixel_table(0, 5..25, 7..22).unwrap();
    let expected = Array2::from_shape_fn((20, 15), |(r, c)| TUTORIAL_TABLE[r][c]);
    assert_eq!(table, expected);
    // The table is a window of image(0), row-major 28x28.
    assert_eq!(m.train.image(0)[5 * 28 + 7 + 14], 255);
    let err = m.train.pixel_table(0, 5..29, 7..22).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
}

#[test]
fn decompressed_content_hashes_match_the_readme() {
    let dir = mnist_dir();
    for f in MNIST_FILES {
        let name = f.name.trim_end_matches(".gz");
        let path = find_file(&dir, name).expect("file present");
        assert_eq!(
            content_sha256(&path).unwrap(),
            f.sha256,
            "{}",
            path.display()
        );
    }
    assert_eq!(
        MNIST_FILES.map(|f| f.sha256),
        [
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ]
    );
}

#[test]
fn fill_batch_gives_pixels_over_255_and_one_hot_labels() {
    let m = mnist();
    let rows = [0usize, 1];
    let mut inputs = Array2::<f32>::from_elem((2, 784), f32::NAN);
    let mut targets = Array2::<f32>::from_elem((2, 10), f32::NAN);
    m.train
        .fill_batch(&rows, inputs.view_mut(), targets.view_mut())
        .unwrap();
    for (r, &row) in rows.iter().enumerate() {
        for (j, &x) in m.train.image(row).iter().enumerate() {
            assert_eq!(inputs[[r, j]], x as f32 / 255.0);
        }
        for c in 0..10 {
            let want = if c == usize::from(m.train.label(row)) {
                1.0
            } else {
                0.0
            };
            assert_eq!(targets[[r, c]], want);
        }
    }
    assert_eq!(m.train.label(1), 0);
    assert_eq!(inputs[[0, 5 * 28 + 7 + 14]], 1.0);

    // Non-contiguous views (every other row of a larger buffer, transposed) give the same values.
    let mut big = Array2::<f32>::zeros((4, 784));
    let mut big_t = Array2::<f32>::zeros((10, 4));
    m.train
        .fill_batch(
            &rows,
            big.slice_mut(s![..;2, ..]),
            big_t.slice_mut(s![.., ..;2]).reversed_axes(),
        )
        .unwrap();
    assert_eq!(big.slice(s![..;2, ..]), inputs);
    assert_eq!(big_t.slice(s![.., ..;2]).t(), targets);
    let mut fortran = Array2::<f32>::zeros((784, 2));
    let mut fortran_t = Array2::<f32>::zeros((10, 2));
    m.train
        .fill_batch(
            &rows,
            fortran.view_mut().reversed_axes(),
            fortran_t.view_mut().reversed_axes(),
        )
        .unwrap();
    assert_eq!(fortran.t(), inputs);
    assert_eq!(fortran_t.t(), targets);
}

#[test]
fn all_is_train_then_test_and_select_picks_rows() {
    let m = mnist().clone();
    let first_test = m.test.image(0).to_vec();
    let last_test_label = m.test.label(9_999);
    let all = m.all().unwrap();
    assert_eq!(all.len(), 70_000);
    assert_eq!(all.label(0), 5);
    assert_eq!(all.image(60_000), first_test.as_slice());
    assert_eq!(all.label(69_999), last_test_label);
    assert_eq!(all.pixels().len(), 70_000 * 784);

    let picked = all.select(&[60_000, 0, 0]).unwrap();
    assert_eq!(picked.len(), 3);
    assert_eq!(picked.image(0), first_test.as_slice());
    assert_eq!(picked.label(1), 5);
    assert_eq!(picked.classes(), 10);
    let err = all.select(&[1, 70_000]).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");

    let again = mnist().train.concat(&mnist().test).unwrap();
    assert_eq!(again, all);
}

#[test]
fn in_memory_construction_checks_sizes() {
    let set = LabeledImages::new(vec![0, 255, 51, 102], vec![1, 3], 1, 2).unwrap();
    assert_eq!(set.classes(), 4);
    assert_eq!(set.label_counts(), [0, 1, 0, 1]);
    let err = LabeledImages::new(vec![0; 5], vec![1, 3], 1, 2).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err:?}");
    let other = LabeledImages::new(vec![0; 4], vec![1], 2, 2).unwrap();
    let err = set.concat(&other).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err:?}");
    let set = set.with_classes(10).unwrap();
    assert_eq!(set.target_width(), 10);
}

#[test]
fn load_or_download_with_a_given_folder_never_downloads() {
    let tmp = tempfile::tempdir().unwrap();
    let mut events = 0;
    let err = mnist::load_or_download(Some(tmp.path()), &mut |_| events += 1).unwrap_err();
    assert!(matches!(err, Error::MissingData { .. }), "{err:?}");
    assert_eq!(events, 0);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);

    let m = mnist::load_or_download(Some(&mnist_dir()), &mut |_| events += 1).unwrap();
    assert_eq!(m.train.len(), 60_000);
    assert_eq!(events, 0);
}
