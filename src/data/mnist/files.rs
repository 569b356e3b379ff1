//! The four MNIST files: their names, finding them in a folder, and [`Mnist::load`], which
//! reads them and checks that they fit together.

use std::path::{Path, PathBuf};

use super::LabeledImages;
use crate::data::download;
use crate::{Error, Result};

/// File name (without `.gz`) of the 60,000 training images.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// File name (without `.gz`) of the 60,000 training labels.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// File name (without `.gz`) of the 10,000 test images.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// File name (without `.gz`) of the 10,000 test labels.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";
/// The four standard MNIST file names (without `.gz`), in the order train images, train labels,
/// test images, test labels.
pub const FILE_NAMES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// The environment variable naming a folder that holds the MNIST files.
pub const MNIST_DIR_VAR: &str = "MNIST_DIR";

/// The MNIST training and test sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// The 60,000 training images.
    pub train: LabeledImages,
    /// The 10,000 test images.
    pub test: LabeledImages,
}

/// The path of `name` in `dir`, raw or with `.gz` (raw preferred), if either exists.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let raw = dir.join(name);
    if raw.is_file() {
        return Some(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    gz.is_file().then_some(gz)
}

/// The standard MNIST files (names without `.gz`) found in `dir` neither raw nor gzipped.
pub fn missing_files(dir: &Path) -> Vec<&'static str> {
    FILE_NAMES
        .iter()
        .copied()
        .filter(|name| find_file(dir, name).is_none())
        .collect()
}

/// The [`Error::MissingData`] for `missing` files in `dir`.
pub(crate) fn missing_error(dir: &Path, missing: &[&str], hint: String) -> Error {
    Error::MissingData {
        what: "MNIST".to_string(),
        dir: dir.to_path_buf(),
        missing: missing
            .iter()
            .map(|m| format!("{m}[.gz]"))
            .collect::<Vec<_>>()
            .join(", "),
        hint,
    }
}

/// The hint given when files are missing from a folder the user chose.
pub(crate) fn user_folder_hint() -> String {
    format!(
        "Put the four MNIST files there (raw or .gz, e.g. from {}), point to another folder with \
         `--data-dir DIR` or the `{MNIST_DIR_VAR}` environment variable, or give no folder to let \
         the library download them into its cache",
        download::MNIST_MIRRORS
            .first()
            .copied()
            .unwrap_or("a public mirror")
    )
}

impl Mnist {
    /// Reads the four standard MNIST files from `dir`, each raw or `.gz`.
    ///
    /// Checks that images are 3-d and labels 1-d, that each labels file has one label per
    /// image, and that training and test images have the same size. Both sets get the same class
    /// count: the largest label of either plus one (10 for MNIST), so any labelled image set in
    /// this layout loads. Missing files give one [`Error::MissingData`] listing all of them.
    pub fn load(dir: &Path) -> Result<Mnist> {
        Self::load_impl(dir, None)
    }

    /// Like [`load`](Self::load), but every label must be below `classes`, which becomes the
    /// class count of both sets ([`Error::CorruptFile`] naming the labels file otherwise).
    pub fn load_with_classes(dir: &Path, classes: usize) -> Result<Mnist> {
        Self::load_impl(dir, Some(classes))
    }

    fn load_impl(dir: &Path, classes: Option<usize>) -> Result<Mnist> {
        let missing = missing_files(dir);
        if !missing.is_empty() {
            return Err(missing_error(dir, &missing, user_folder_hint()));
        }
        let path = |name: &str| find_file(dir, name).unwrap_or_else(|| dir.join(name));
        let train_images = path(TRAIN_IMAGES);
        let test_images = path(TEST_IMAGES);
        let mut train = LabeledImages::from_files(&train_images, &path(TRAIN_LABELS), classes)?;
        let mut test = LabeledImages::from_files(&test_images, &path(TEST_LABELS), classes)?;
        if (train.rows, train.cols) != (test.rows, test.cols) {
            return Err(Error::corrupt(
                &test_images,
                format!(
                    "the test images are {}x{} pixels but the training images in {} are {}x{}: \
                     both sets must have images of the same size",
                    test.rows,
                    test.cols,
                    train_images.display(),
                    train.rows,
                    train.cols
                ),
            ));
        }
        let classes = train.classes.max(test.classes);
        train.classes = classes;
        test.classes = classes;
        Ok(Mnist { train, test })
    }

    /// All images, the training set followed by the test set: the 70,000 rows, in the order of
    /// scikit-learn's `fetch_openml("mnist_784")` used by the tutorial.
    pub fn all(self) -> Result<LabeledImages> {
        let Mnist { mut train, test } = self;
        if (train.rows, train.cols) != (test.rows, test.cols) {
            return train.concat(&test);
        }
        train.images.extend_from_slice(&test.images);
        train.labels.extend_from_slice(&test.labels);
        train.classes = train.classes.max(test.classes);
        Ok(train)
    }
}
