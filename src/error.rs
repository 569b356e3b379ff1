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
        "layer {index} ({layer}) cannot take an input of shape {input_shape}: {reason}; \
         change that layer or the one before it"
    )]
    LayerMismatch {
        /// Zero-based position of the layer in the model.
        index: usize,
        /// The layer's name.
        layer: String,
        /// The width the previous layer (or the model's input) produces.
        input_width: usize,
        /// The shape of one sample that the previous layer (or the model's input) produces, as
        /// [`Shape`](crate::layers::Shape) prints it: `(6, 28, 28)` for an image, `(784)` for a
        /// row of features.
        input_shape: String,
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

    /// A training step would have made a parameter, a layer's buffer or the optimizer's state
    /// NaN or infinite (an update that overflows, a NaN gradient, a batch whose statistics
    /// overflow). Nothing was changed: parameters, buffers and optimizer state are exactly as
    /// before the step.
    #[error(
        "training step {step} would make {what} NaN or infinite, so it was undone: lower the \
         learning rate (it is {learning_rate}) or normalise the inputs"
    )]
    NonFiniteUpdate {
        /// What would have become non-finite: `parameter 0.weight (or its optimizer state)`,
        /// `buffer 1.running_var`.
        what: String,
        /// Zero-based count of training steps the model had taken before this one.
        step: usize,
        /// The optimizer's learning rate at that moment.
        learning_rate: f32,
    },

    /// An input value is NaN or infinite. A model cannot predict from such a value, and a layer
    /// may hide it (ReLU maps NaN to 0, as PyTorch's does) behind a plausible answer, so
    /// [`Sequential::predict`](crate::Sequential::predict), `predict_classes`, `evaluate` and
    /// every training step refuse it before any layer runs. Nothing was changed.
    #[error(
        "input row {row}, column {column} is {value}: a model can neither predict from nor learn \
         from NaN or infinite features; remove the row or replace the value (impute it) first"
    )]
    NonFiniteInput {
        /// Zero-based row: of the data set for `fit` and `evaluate`, of the matrix given to
        /// `predict`, `predict_classes` and `train_step`.
        row: usize,
        /// Zero-based column (feature).
        column: usize,
        /// The offending value.
        value: f32,
    },

    /// From finite inputs, a layer's output became NaN or infinite (its values overflowed
    /// `f32`, as a `Dense` layer's product of large weights and inputs can, or it had no finite
    /// answer): nothing is returned rather than a NaN or an infinity.
    #[error(
        "the output of layer {layer} ({name}) for input row {row} is {value}: the values \
         overflowed f32; scale the inputs (or normalise them), or check that layer's parameters"
    )]
    NonFiniteOutput {
        /// Zero-based row: of the data set for `evaluate`, of the matrix given to `predict`
        /// and `predict_classes`.
        row: usize,
        /// Zero-based position of the first layer whose output is not finite for that row.
        layer: usize,
        /// That layer's name.
        name: String,
        /// The first non-finite value of its output for that row.
        value: f32,
    },

    /// A size asked for (a layer's width, a number of classes or of rows) needs more memory than
    /// can be allocated. Nothing was allocated.
    #[error(
        "{what} would need {elements} values ({bytes} bytes), more than can be allocated: \
         check the sizes"
    )]
    TooLarge {
        /// What was being made (`Dense weights`, `one-hot targets`, ...).
        what: String,
        /// The number of values it would hold (`u64::MAX` when even that is too small).
        elements: u64,
        /// The bytes it would take (`u64::MAX` when even that is too small).
        bytes: u64,
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

    /// A loss does not fit the model's last layer: cross-entropy on raw outputs or on one column,
    /// binary cross-entropy after a softmax, a logits loss after the activation it applies
    /// itself. Found when training or evaluation starts, before anything changes; the message
    /// says what to change.
    #[error("{loss} does not fit a model whose output is {output}: {problem}; {fix}")]
    LossMismatch {
        /// The loss, as configured (`"CrossEntropy"`, `"BinaryCrossEntropy::from_logits()"`).
        loss: String,
        /// The model's output: its last layer and width (`"Sigmoid, 1 column"`).
        output: String,
        /// What goes wrong with this pairing.
        problem: String,
        /// What to change.
        fix: String,
    },

    /// A target value that the loss cannot take: a cross-entropy target outside `[0, 1]`, or a
    /// NaN or infinite target for any loss.
    #[error("{loss} target at row {row}, column {column} is {value}: expected {expected}")]
    InvalidTarget {
        /// The loss's name.
        loss: String,
        /// Zero-based row within the batch given to the loss.
        row: usize,
        /// Zero-based column.
        column: usize,
        /// The offending value.
        value: f32,
        /// What the loss accepts, in words.
        expected: String,
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

    /// A table (a CSV file, or rows given in memory) has a header, a row or a cell that cannot
    /// be read as asked: a missing value, text where numbers are expected, a category or class
    /// the encoding has not seen, a column that is not there.
    #[error("{}: {reason}", table_location(.file.as_deref(), *.line, .column.as_deref()))]
    Table {
        /// The file, or `None` for rows given in memory.
        file: Option<PathBuf>,
        /// In a file, the line (1-based; the header is line 1); for rows in memory, the
        /// zero-based row.
        line: Option<u64>,
        /// The column's name.
        column: Option<String>,
        /// What is wrong, and what to do about it.
        reason: String,
    },

    /// A model could not be saved to, or loaded from, a checkpoint file (safetensors). Neither
    /// the file on disk nor the model was changed.
    #[error("{path}: {problem}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        problem: CheckpointProblem,
    },

    /// An optimizer or callback cannot export its state, so training with it cannot be
    /// checkpointed (see [`Optimizer::state`](crate::Optimizer::state)).
    #[error(
        "{component} cannot export its state, so a training checkpoint cannot hold it: {hint}"
    )]
    StateNotExported {
        /// The optimizer or callback (`"MyOptimizer"`).
        component: String,
        /// How to make it exportable.
        hint: String,
    },

    /// A state given to an optimizer or callback is not its own: another kind, other
    /// hyper-parameters or damaged buffers. Nothing was changed.
    #[error("cannot load this state into {component}: {reason}")]
    StateMismatch {
        /// The optimizer or callback the state was given to.
        component: String,
        /// What differs.
        reason: String,
    },

    /// A figure could not be drawn (`feedforward::plot`, feature `plot`); the message is
    /// plotters'. Nothing was written.
    #[error("cannot draw the figure: {0}")]
    Plot(String),

    /// A model could not be exported to ONNX (`Sequential::save_onnx`, feature `onnx`).
    /// Nothing was written.
    #[error("cannot export the model to ONNX: {0}")]
    OnnxExport(OnnxProblem),

    /// A data set could not give a row of a batch: an I/O or parse error in a data set read
    /// from disk as training goes (see [`Dataset::fill_batch`](crate::data::Dataset::fill_batch)).
    /// During [`fit`](crate::Sequential::fit) it comes inside a
    /// [`FitError`](crate::FitError) with the epochs completed before it.
    #[error("{}row {row} of the data set: {reason}", .file.as_ref().map(|f| format!("{}, ", f.display())).unwrap_or_default())]
    DataRead {
        /// The file the row is read from, if the data set has one.
        file: Option<PathBuf>,
        /// The row (an index into the data set).
        row: usize,
        /// What went wrong.
        reason: String,
    },

    /// A `.npy` file that [`NpyDataset`](crate::data::npy::NpyDataset) cannot train on (feature
    /// `npy`): not an array `np.save` writes, a dtype it does not take, a truncated file, or
    /// arrays whose shapes do not go together. Nothing was read.
    #[error("{}: {problem}", .path.display())]
    Npy {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        problem: NpyProblem,
    },

    /// Data-parallel training (`distributed`, feature `mpi`) found a process that does not
    /// agree with the others (another model, other data, parameters that drifted apart) or
    /// that failed in a step the others took; every process returns this error, naming the
    /// first process (rank) concerned.
    #[error("distributed training, process {rank}: {problem}")]
    Distributed {
        /// The rank of the process concerned (0 is the one that prints and writes).
        rank: usize,
        /// What is wrong, and what to do about it.
        problem: String,
    },
}

/// Why a `.npy` file cannot be trained on, in [`Error::Npy`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NpyProblem {
    /// Not a `.npy` file, or a header that cannot be read (the reason from `ndarray-npy`).
    #[error("not a .npy file as np.save writes: {0}")]
    NotNpy(String),
    /// An element type the array cannot have here (`found` is numpy's descriptor, `'<i8'`).
    #[error("dtype {found}, expected {expected}: convert it with arr.astype(...) before np.save")]
    Dtype {
        /// The descriptor in the file.
        found: String,
        /// What the array may hold.
        expected: String,
    },
    /// Big-endian data on a little-endian machine (or the other way round).
    #[error("the data is not in this machine's byte order: save it with arr.astype(arr.dtype.newbyteorder('='))")]
    ByteOrder,
    /// The file ends before the data its header announces.
    #[error("truncated: {missing} bytes of the data announced by the header are missing")]
    Truncated {
        /// How many bytes are missing.
        missing: usize,
    },
    /// Bytes after the data the header announces.
    #[error("{0} bytes after the end of the array: not a file np.save wrote")]
    ExtraBytes(usize),
    /// A shape the array cannot have here (no rows, no columns, too many axes).
    #[error("shape {shape:?}, expected {expected}")]
    Shape {
        /// The shape in the header.
        shape: Vec<usize>,
        /// What the array may look like.
        expected: String,
    },
    /// Features and labels (or targets) with different numbers of rows.
    #[error("{inputs} rows of features but {targets} rows of labels or targets")]
    RowCountMismatch {
        /// Rows of the features.
        inputs: usize,
        /// Rows of the labels or targets.
        targets: usize,
    },
    /// A class label below zero, or not below the number of classes given.
    #[error("label {label} at row {row}: expected a class from 0 to {}", .classes - 1)]
    Label {
        /// The label.
        label: i64,
        /// Its row.
        row: usize,
        /// The number of classes.
        classes: usize,
    },
}

/// Why a model could not be exported to ONNX, in [`Error::OnnxExport`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OnnxProblem {
    /// A layer has no ONNX form: a layer written outside the crate cannot say which ONNX
    /// operators compute it.
    #[error("layer {index} ({layer}) has no ONNX form: {reason}")]
    UnsupportedLayer {
        /// Zero-based position of the layer in the model.
        index: usize,
        /// The layer's name.
        layer: String,
        /// Why, in words.
        reason: String,
    },
    /// Parameters or buffers that are NaN or infinite (named `"0.weight"`, ...): such a model
    /// cannot predict anything.
    #[error(
        "{} hold NaN or infinite values (the training diverged)",
        .0.join(", ")
    )]
    NonFinite(Vec<String>),
    /// The model does not fit in one ONNX file: protobuf messages are limited to 2 GiB.
    #[error(
        "the model needs {bytes} bytes, but an ONNX file (one protobuf message) holds at most \
         2 GiB"
    )]
    TooLarge {
        /// The size the file would have.
        bytes: usize,
    },
}

/// Why a checkpoint could not be saved or loaded, in [`Error::Checkpoint`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointProblem {
    /// Not a readable safetensors file: truncated, damaged, or of another format altogether.
    #[error(
        "not a readable safetensors file ({0}): it is truncated, damaged, or of another format"
    )]
    Malformed(String),
    /// The tensors or the metadata differ from what was written: the file was damaged after
    /// it was saved.
    #[error(
        "the content does not match the SHA-256 checksum written with it: the file was damaged \
         after it was saved"
    )]
    ChecksumMismatch,
    /// A valid safetensors file, but not a feedforward checkpoint (no `format = feedforward`
    /// metadata), so it does not say how to rebuild the model.
    #[error(
        "a safetensors file, but not a feedforward checkpoint ({0}): build the model in code and \
         read the tensors with load_weights"
    )]
    NotFeedforward(String),
    /// Written by a newer version of feedforward, in a format this one does not know.
    #[error(
        "checkpoint format version {found}, but this version of feedforward reads versions up \
         to {supported}: upgrade feedforward"
    )]
    UnsupportedVersion {
        /// The `format_version` found in the file.
        found: String,
        /// The newest version this library reads.
        supported: u32,
    },
    /// The architecture recorded in the file is missing, unreadable, or does not make a model.
    #[error("cannot rebuild the model: {0}")]
    Architecture(String),
    /// The file's tensors do not fit the model: every offending name is listed.
    #[error("{}", tensor_mismatch(.missing, .unexpected, .invalid))]
    TensorMismatch {
        /// Tensors the model needs that the file lacks.
        missing: Vec<String>,
        /// Tensors in the file that the model has no place for.
        unexpected: Vec<String>,
        /// Tensors present but unusable, as `name: reason` (shape, dtype, NaN, ...).
        invalid: Vec<String>,
    },
    /// A layer that is not built in and gives no [`LayerSpec`](crate::layers::LayerSpec)
    /// cannot have its architecture saved.
    #[error(
        "layer {index} ({layer}) is not a built-in layer and its `spec` gives none, so `save` \
         cannot record how to rebuild it: return LayerSpec::custom from its spec and load with \
         Sequential::load_with and a LayerRegistry, or save the weights with save_weights and \
         load them with load_weights into a model built in code"
    )]
    CustomLayer {
        /// Zero-based position of the layer in the model.
        index: usize,
        /// The layer's name.
        layer: String,
    },
    /// A file that is not a training checkpoint where one is expected (see
    /// [`TrainingCheckpoint`](crate::io::TrainingCheckpoint)).
    #[error("not a feedforward training checkpoint ({0})")]
    NotTrainingCheckpoint(String),
    /// A training checkpoint of another model: other layers, or tensors of other shapes.
    #[error("the checkpoint was written for another model: {0}; nothing was resumed")]
    ModelMismatch(String),
    /// A training checkpoint of another optimizer: another kind or other hyper-parameters.
    #[error("the checkpoint was written with another optimizer: {0}; nothing was resumed")]
    OptimizerMismatch(String),
    /// A training checkpoint of another training setup: loss, batch size, shuffling, data
    /// rows, validation, initial learning rate.
    #[error("the checkpoint was written by another training setup: {0}; nothing was resumed")]
    TrainingMismatch(String),
    /// A training checkpoint whose callbacks' states do not fit the callbacks given.
    #[error("the checkpoint's callbacks do not fit the callbacks given: {0}; nothing was resumed")]
    CallbackMismatch(String),
    /// Parameters that are NaN or infinite: nothing is written, such a model cannot predict.
    #[error(
        "{} hold NaN or infinite values (the training diverged): nothing was written",
        .0.join(", ")
    )]
    NonFinite(Vec<String>),
    /// A training checkpoint written by a run on another number of processes (data-parallel
    /// training, feature `mpi`; a single-process run counts as one): the file holds the own
    /// state of every process (dropout generators, batch-norm running statistics), so the run
    /// resumes only on as many processes.
    #[error(
        "the checkpoint was written by a run on {saved} process(es), but this run has \
         {current}: resume it on {saved} (mpirun -np {saved}); nothing was resumed"
    )]
    WorldSizeMismatch {
        /// The number of processes recorded in the checkpoint.
        saved: usize,
        /// The number of processes of this run.
        current: usize,
    },
}

/// Where [`Error::Table`] happened: `data.csv, line 7, column "age"` or `row 3, column "age"`.
fn table_location(
    file: Option<&std::path::Path>,
    line: Option<u64>,
    column: Option<&str>,
) -> String {
    let mut parts = Vec::new();
    match (file, line) {
        (Some(file), Some(line)) => parts.push(format!("{}, line {line}", file.display())),
        (Some(file), None) => parts.push(file.display().to_string()),
        (None, Some(row)) => parts.push(format!("row {row}")),
        (None, None) => parts.push("table".to_string()),
    }
    if let Some(column) = column {
        parts.push(format!("column {}", crate::quote::quote(column)));
    }
    parts.join(", ")
}

/// The message of [`CheckpointProblem::TensorMismatch`].
fn tensor_mismatch(missing: &[String], unexpected: &[String], invalid: &[String]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", missing.join(", ")));
    }
    if !unexpected.is_empty() {
        parts.push(format!("unexpected {}", unexpected.join(", ")));
    }
    if !invalid.is_empty() {
        parts.push(format!("invalid {}", invalid.join("; ")));
    }
    format!(
        "the tensors do not fit the model ({}); nothing was loaded",
        parts.join("; ")
    )
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

    /// Builds an [`Error::StateMismatch`].
    pub(crate) fn state_mismatch(component: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::StateMismatch {
            component: component.into(),
            reason: reason.into(),
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
