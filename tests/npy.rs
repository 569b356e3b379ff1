//! `.npy` files as a data set (feature `npy`): what `np.save` writes (the files of
//! tests/fixtures/npy/, written by scripts/npy_fixtures.py with numpy) and what ndarray-npy
//! writes, memory-mapped; every refusal a typed error; training on it gives the bits training
//! on the same values in memory gives.
#![cfg(feature = "npy")]

mod common;
#[path = "common/models.rs"]
mod models;

use feedforward::data::npy::{NpyDataset, NpyProblem};
use feedforward::data::{Dataset, InMemory};
use feedforward::ndarray::{Array1, Array2, Array4};
use feedforward::prelude::*;
use feedforward::{Error, FitError};
use models::relu_perceptron;
use ndarray_npy::WriteNpyExt;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    common::repository_dir()
        .join("tests/fixtures/npy")
        .join(name)
}

/// The features of the fixtures: x[i, j] = (3 i + j) / 8 - 1.
fn expected_x(i: usize, j: usize) -> f32 {
    (3 * i + j) as f32 / 8.0 - 1.0
}

const LABELS: [usize; 6] = [0, 2, 1, 2, 0, 1];

/// Every row of `data`, in order.
fn all_rows(data: &dyn Dataset) -> (Array2<f32>, Array2<f32>) {
    let n = data.len();
    let mut x = Array2::from_elem((n, data.input_width()), f32::NAN);
    let mut y = Array2::from_elem((n, data.target_width()), f32::NAN);
    let rows: Vec<usize> = (0..n).collect();
    data.fill_batch(&rows, x.view_mut(), y.view_mut()).unwrap();
    (x, y)
}

fn npy_error(result: feedforward::Result<NpyDataset>) -> (PathBuf, NpyProblem) {
    match result {
        Err(Error::Npy { path, problem }) => (path, problem),
        other => panic!("expected Error::Npy, got {other:?}"),
    }
}

#[test]
fn numpy_features_and_integer_labels_become_rows_and_one_hot_targets() {
    for features in ["x_f32.npy", "x_f64_fortran.npy"] {
        for labels in ["y_i64.npy", "y_u8_column.npy"] {
            let data = NpyDataset::open(fixture(features), fixture(labels)).unwrap();
            assert_eq!((data.len(), data.input_width()), (6, 3), "{features}");
            assert_eq!((data.target_width(), data.classes()), (3, Some(3)));
            assert_eq!(data.sample_shape(), [3]);
            let (x, y) = all_rows(&data);
            for i in 0..6 {
                for j in 0..3 {
                    assert_eq!(x[[i, j]], expected_x(i, j), "{features} [{i}, {j}]");
                    let hot = if j == LABELS[i] { 1.0 } else { 0.0 };
                    assert_eq!(y[[i, j]], hot, "{labels} [{i}, {j}]");
                }
                assert_eq!(data.class_of(i), Some(LABELS[i]));
            }
            // Rows in any order, and again: the same rows.
            let mut x2 = Array2::zeros((3, 3));
            let mut y2 = Array2::zeros((3, 3));
            data.fill_batch(&[5, 0, 5], x2.view_mut(), y2.view_mut())
                .unwrap();
            assert_eq!(x2.row(0), x.row(5));
            assert_eq!(x2.row(1), x.row(0));
            assert_eq!(y2.row(2), y.row(5));
        }
    }
}

#[test]
fn images_keep_their_shape_and_rows_are_flattened_in_c_order() {
    let data = NpyDataset::open(fixture("x_images.npy"), fixture("y_i64.npy")).unwrap();
    assert_eq!(data.sample_shape(), [1, 2, 2]);
    assert_eq!(data.input_width(), 4);
    let (x, _) = all_rows(&data);
    // np.arange(24).reshape(6, 1, 2, 2) / 4
    for i in 0..6 {
        for k in 0..4 {
            assert_eq!(x[[i, k]], (4 * i + k) as f32 / 4.0);
        }
    }
    let one = NpyDataset::open(fixture("x_one_column.npy"), fixture("y_i64.npy")).unwrap();
    assert_eq!((one.input_width(), one.sample_shape()), (1, &[][..]));
    let (x, _) = all_rows(&one);
    assert_eq!(
        x.column(0).to_vec(),
        (0..6).map(|i| expected_x(i, 0)).collect::<Vec<_>>()
    );
}

#[test]
fn float_targets_are_regression_values() {
    let data = NpyDataset::open(fixture("x_f32.npy"), fixture("y_regression.npy")).unwrap();
    assert_eq!((data.target_width(), data.classes()), (2, None));
    assert_eq!(data.class_of(0), None);
    let (_, y) = all_rows(&data);
    for i in 0..6 {
        assert_eq!(y[[i, 0]], expected_x(i, 0) * 2.0);
        assert_eq!(y[[i, 1]], expected_x(i, 1) + 1.0);
    }
}

#[test]
fn with_classes_widens_the_one_hot_targets_and_checks_the_labels() {
    let data = NpyDataset::open(fixture("x_f32.npy"), fixture("y_i64.npy")).unwrap();
    let data = data.with_classes(5).unwrap();
    assert_eq!(data.target_width(), 5);
    let (_, y) = all_rows(&data);
    assert_eq!(y.row(1).to_vec(), [0.0, 0.0, 1.0, 0.0, 0.0]);
    let data = NpyDataset::open(fixture("x_f32.npy"), fixture("y_i64.npy")).unwrap();
    let (_, problem) = npy_error(data.with_classes(2));
    assert_eq!(
        problem,
        NpyProblem::Label {
            label: 2,
            row: 1,
            classes: 2
        }
    );
    let data = NpyDataset::open(fixture("x_f32.npy"), fixture("y_regression.npy")).unwrap();
    assert!(matches!(
        data.with_classes(3),
        Err(Error::InvalidConfig { .. })
    ));
}

#[test]
fn files_it_cannot_train_on_are_typed_errors_naming_the_file() {
    let open = |x: &str, y: &str| NpyDataset::open(fixture(x), fixture(y));
    let (path, problem) = npy_error(open("x_int32.npy", "y_i64.npy"));
    assert_eq!(path, fixture("x_int32.npy"));
    assert_eq!(
        problem,
        NpyProblem::Dtype {
            found: "int32".into(),
            expected: "float32 or float64".into()
        }
    );
    let (_, problem) = npy_error(open("x_strings.npy", "y_i64.npy"));
    assert!(
        matches!(&problem, NpyProblem::Dtype { found, .. } if found.contains("U1")),
        "{problem:?}"
    );
    let (_, problem) = npy_error(open("x_big_endian.npy", "y_i64.npy"));
    assert_eq!(problem, NpyProblem::ByteOrder);
    let (path, problem) = npy_error(open("x_truncated.npy", "y_i64.npy"));
    assert_eq!(
        (path, problem),
        (
            fixture("x_truncated.npy"),
            NpyProblem::Truncated { missing: 5 }
        )
    );
    let (path, problem) = npy_error(open("x_f32.npy", "y_five_rows.npy"));
    assert_eq!(
        (path, problem),
        (
            fixture("y_five_rows.npy"),
            NpyProblem::RowCountMismatch {
                inputs: 6,
                targets: 5
            }
        )
    );
    let (_, problem) = npy_error(open("x_f32.npy", "y_negative.npy"));
    assert!(
        matches!(
            problem,
            NpyProblem::Label {
                label: -1,
                row: 2,
                ..
            }
        ),
        "{problem:?}"
    );
    let (_, problem) = npy_error(open("x_f32.npy", "y_two_columns.npy"));
    assert!(matches!(problem, NpyProblem::Shape { .. }), "{problem:?}");
    let (_, problem) = npy_error(open("x_scalar.npy", "y_i64.npy"));
    assert!(matches!(problem, NpyProblem::Shape { .. }), "{problem:?}");
    // Not a .npy file at all (a CSV fixture), and one with bytes after the data.
    let (_, problem) = npy_error(NpyDataset::open(
        common::repository_dir().join("tests/fixtures/pets.csv"),
        fixture("y_i64.npy"),
    ));
    assert!(matches!(problem, NpyProblem::NotNpy(_)), "{problem:?}");
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("extra.npy");
    let mut bytes = std::fs::read(fixture("x_f32.npy")).unwrap();
    bytes.extend_from_slice(&[0; 3]);
    std::fs::write(&extra, bytes).unwrap();
    let (_, problem) = npy_error(NpyDataset::open(&extra, fixture("y_i64.npy")));
    assert_eq!(problem, NpyProblem::ExtraBytes(3));
    // The message names the file and says what to do.
    let message = open("x_int32.npy", "y_i64.npy").unwrap_err().to_string();
    assert!(
        message.contains("x_int32.npy") && message.contains("astype"),
        "{message}"
    );
}

#[test]
fn a_folder_or_a_fifo_is_refused_before_it_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let err = NpyDataset::open(dir.path(), fixture("y_i64.npy")).unwrap_err();
    assert!(
        matches!(&err, Error::Io { .. }) && err.to_string().contains("not a regular file"),
        "{err}"
    );
    #[cfg(unix)]
    {
        let fifo = dir.path().join("fifo.npy");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // Would block forever if it were opened.
            let err = NpyDataset::open(fixture("x_f32.npy"), &fifo).unwrap_err();
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
    }
    assert!(matches!(
        NpyDataset::open(dir.path().join("missing.npy"), fixture("y_i64.npy")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn a_nan_feature_stops_fit_at_its_row_as_in_memory_data_does() {
    let data = NpyDataset::open(fixture("x_nan.npy"), fixture("y_i64.npy")).unwrap();
    let mut model = relu_perceptron(&[3, 4, 3], 0);
    let config = FitConfig::new(2).batch_size(2);
    let FitError { error, history } = model
        .fit(&data, &CrossEntropy, &mut Sgd::new(0.1).unwrap(), &config)
        .unwrap_err();
    assert!(history.epoch_losses.is_empty());
    match error {
        Error::NonFiniteInput { row, column, value } => {
            assert_eq!((row, column), (4, 1));
            assert!(value.is_nan());
        }
        other => panic!("expected NonFiniteInput, got {other:?}"),
    }
}

/// The model's parameters, copied.
fn owned(model: &Sequential) -> Vec<(String, Array2<f32>)> {
    model
        .parameters()
        .into_iter()
        .map(|(name, values)| (name, values.to_owned()))
        .collect()
}

/// Writes `array` where `np.save` would, with ndarray-npy.
fn write(path: &Path, array: &impl WriteNpyExt) {
    array
        .write_npy(std::fs::File::create(path).unwrap())
        .unwrap();
}

#[test]
fn training_on_npy_files_gives_the_parameters_training_in_memory_gives() {
    // 300 rows of 4 features in float64 (converted to f32 as InMemory's are), 3 classes.
    let n = 300;
    let x64 = Array2::from_shape_fn((n, 4), |(i, j)| {
        ((i * 7 + j * 13) % 17) as f64 / 17.0 - 0.5 + j as f64 * 0.1
    });
    let labels: Vec<usize> = (0..n).map(|i| (i * 7 % 17) % 3).collect();
    let dir = tempfile::tempdir().unwrap();
    let (xp, yp) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
    write(&xp, &x64);
    write(&yp, &Array1::from_iter(labels.iter().map(|&l| l as i64)));
    let npy = NpyDataset::open(&xp, &yp).unwrap();
    let memory = InMemory::classification(x64.mapv(|v| v as f32), &labels, 3).unwrap();

    let train = |data: &dyn Dataset| {
        let mut model = relu_perceptron(&[4, 8, 3], 7);
        let config = FitConfig::new(3)
            .batch_size(32)
            .shuffle(11)
            .validation(feedforward::model::Validation::Fraction(0.2));
        let history = model
            .fit(data, &CrossEntropy, &mut Adam::new(0.01).unwrap(), &config)
            .unwrap();
        (owned(&model), history.epoch_losses)
    };
    let (from_npy, npy_losses) = train(&npy);
    let (from_memory, memory_losses) = train(&memory);
    assert_eq!(npy_losses, memory_losses);
    assert_eq!(from_npy, from_memory);
    // Not a test that cannot fail: training moved the parameters.
    assert_ne!(from_npy, owned(&relu_perceptron(&[4, 8, 3], 7)));
}

#[test]
fn float32_images_written_by_the_crate_train_as_their_flattened_rows() {
    let images = Array4::from_shape_fn((20, 1, 3, 3), |(i, _, h, w)| {
        ((i + h * 3 + w) % 5) as f32 / 4.0
    });
    let labels = Array1::from_iter((0..20).map(|i| (i % 2) as u8));
    let dir = tempfile::tempdir().unwrap();
    let (xp, yp) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
    write(&xp, &images);
    write(&yp, &labels);
    let data = NpyDataset::open(&xp, &yp).unwrap();
    assert_eq!(
        (data.sample_shape(), data.classes()),
        (&[1, 3, 3][..], Some(2))
    );
    let (x, _) = all_rows(&data);
    let flat = images.into_shape_with_order((20, 9)).unwrap();
    assert_eq!(x, flat);
}
