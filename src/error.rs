//! The crate's single error type and its `Result` alias.
//!
//! Everything a user can get wrong (shapes, empty data, a model that does not chain, a diverging
//! training run, a corrupt file, an unreachable mirror) comes back as an [`Error`] whose message
//! says what happened and, where it can, what to change. Nothing in the public API panics on user
//! input.

use std::path::PathBuf;

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `feedforward`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An array did not have the shape an operation needs.
    #[error("shape mismatch in {context}: expected {expected}, got {actual}")]
    ShapeMismatch {
        /// Where the mismatch was found (a layer, a loss, a data set).
        context: String,
        /// The shape that was expected, in words such as `(_, 784)`.
        expected: String,
        /// The shape that was received.
        actual: String,
    },

    /// Two layers of a model do not fit together.
    #[error(
        "layer {index} ({layer}) cannot take an input of width {input_width}: {reason}; \
         change that layer or the one before it"
    )]
    LayerMismatch {
        /// Zero-based position of the layer in the model.
        index: usize,
        /// The layer's name.
        layer: String,
        /// The width the previous layer (or the model's input) produces.
        input_width: usize,
        /// What the layer expected instead.
        reason: String,
    },

    /// A data set, a batch or a model had nothing in it.
    #[error("empty {what}: {hint}")]
    Empty {
        /// What was empty (`training inputs`, `model`, ...).
        what: String,
        /// What to do about it.
        hint: String,
    },

    /// Inputs and targets disagree on the number of rows (samples).
    #[error("{inputs} input rows but {targets} target rows: give one target row per input row")]
    RowCountMismatch {
        /// Rows in the inputs.
        inputs: usize,
        /// Rows in the targets.
        targets: usize,
    },

    /// The loss became NaN or infinite: training diverged. The parameters were not updated by
    /// the step that produced it.
    #[error(
        "the loss became {value} at training step {step}: training diverged; \
         lower the learning rate (it is {learning_rate}) or normalise the inputs"
    )]
    NonFiniteLoss {
        /// The non-finite value.
        value: f32,
        /// Zero-based count of training steps the model had taken before this one.
        step: usize,
        /// The optimizer's learning rate at that moment.
        learning_rate: f32,
    },

    /// A hyper-parameter or option is outside its valid range.
    #[error("invalid {name} = {value}: {expected}")]
    InvalidConfig {
        /// The parameter's name (`learning_rate`, `batch_size`, ...).
        name: &'static str,
        /// The value received, formatted.
        value: String,
        /// The valid range, in words.
        expected: String,
    },

    /// A label is outside the number of classes.
    #[error("label {label} at row {row} is out of range: expected a class below {classes}")]
    LabelOutOfRange {
        /// The offending label.
        label: usize,
        /// Its row.
        row: usize,
        /// The number of classes.
        classes: usize,
    },

    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, `renaming`, ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A file's content is not what its format requires (bad magic, truncated, wrong size, ...).
    #[error("{path}: {reason}")]
    CorruptFile {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A data set's files are not on disk and could not be obtained.
    #[error("{what} is missing from {dir}: {missing}. {hint}")]
    MissingData {
        /// The data set (`MNIST`).
        what: String,
        /// Folder that was searched.
        dir: PathBuf,
        /// Names of the missing files, comma-separated.
        missing: String,
        /// How to provide them.
        hint: String,
    },

    /// A download failed on every mirror.
    #[error("could not download {file}: {reason}")]
    Download {
        /// The file that was being fetched.
        file: String,
        /// What went wrong on each mirror tried.
        reason: String,
    },
}

impl Error {
    /// Builds an [`Error::ShapeMismatch`] from anything printable.
    pub fn shape(
        context: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Error::ShapeMismatch {
            context: context.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// Builds an [`Error::InvalidConfig`].
    pub fn config(name: &'static str, value: impl ToString, expected: impl Into<String>) -> Self {
        Error::InvalidConfig {
            name,
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::CorruptFile`] for `path`.
    pub fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::CorruptFile {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
