//! MNIST (and any labelled image set in the same four-file IDX layout), kept as bytes.
//!
//! [`Mnist::load`] reads the four standard files (`train-images-idx3-ubyte`,
//! `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each raw or
//! with `.gz`) and checks that they fit together. Pixels stay `u8` (55 MB for all 70,000 images)
//! and become `f32 / 255.0` only when a batch is filled, so the whole set is never copied to
//! `f32`. [`MnistLookup`] finds the files: in a folder the user names, in `MNIST_DIR`, in a copy
//! beside the program, or in a cache folder that it fills from public mirrors (see
//! [`crate::data::download`]); [`load_or_download`] is its usual form.

mod files;
mod labeled_images;
mod lookup;

pub use files::{
    find_file, missing_files, Mnist, FILE_NAMES, MNIST_DIR_VAR, TEST_IMAGES, TEST_LABELS,
    TRAIN_IMAGES, TRAIN_LABELS,
};
pub use labeled_images::LabeledImages;
pub use lookup::{
    default_cache_dir, download_mnist, load_or_download, MnistLocation, MnistLookup, MnistSource,
};
