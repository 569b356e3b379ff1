//! Training checkpoints: everything a training run needs to continue bit for bit after a
//! crash, in one safetensors file (Keras' `BackupAndRestore`, with the optimizer, the
//! generators and the callbacks included).
//!
//! [`FitConfig::checkpoint`](crate::FitConfig::checkpoint) makes [`Sequential::fit`] write one
//! after every epoch (or every `n`, [`FitConfig::checkpoint_every`](crate::FitConfig::checkpoint_every))
//! and resume from it when the file exists at the start of `fit`: the finished epochs are
//! skipped and the run ends with the parameters, to the bit, and the [`History`] of a run that
//! was never interrupted. [`TrainingCheckpoint::read`] opens one to look inside.
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::io::TrainingCheckpoint;
//! use feedforward::ndarray::array;
//!
//! let data = InMemory::new(array![[0.0f32], [1.0], [2.0]], array![[1.0f32], [3.0], [5.0]])?;
//! let build = || -> feedforward::Result<Sequential> {
//!     Sequential::builder(1)
//!         .push(Dense::from_parameters(array![[0.5]], array![[0.0]])?)
//!         .push(Identity)
//!         .build()
//! };
//! let dir = std::env::temp_dir().join(format!("feedforward-doc-training_checkpoint-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("run.ckpt");
//! // Three epochs, interrupted: the checkpoint holds them.
//! let mut model = build()?;
//! let mut sgd = Sgd::new(0.1)?.with_momentum(0.9)?;
//! model.fit(&data, &HalfMse, &mut sgd, &FitConfig::new(3).checkpoint(&path))?;
//! assert_eq!(TrainingCheckpoint::read(&path)?.epochs_done(), 3);
//! // A new process: a new model and optimizer, the same call with 8 epochs resumes at epoch 4.
//! let mut resumed = build()?;
//! let mut sgd = Sgd::new(0.1)?.with_momentum(0.9)?;
//! let history = resumed.fit(&data, &HalfMse, &mut sgd, &FitConfig::new(8).checkpoint(&path))?;
//! assert_eq!(history.epoch_losses.len(), 8);
//! // The same as eight epochs in one go.
//! let mut straight = build()?;
//! let mut sgd = Sgd::new(0.1)?.with_momentum(0.9)?;
//! straight.fit(&data, &HalfMse, &mut sgd, &FitConfig::new(8))?;
//! assert_eq!(resumed.parameters(), straight.parameters());
//! # Ok::<(), feedforward::Error>(())
//! ```
//!
//! # The file
//! A safetensors file. Its tensors:
//! - the model's, named and laid out as [`Sequential::save`] writes them (`0.weight`, `0.bias`,
//!   ..., so PyTorch's `load_state_dict` takes them after dropping the other entries);
//! - `optimizer.{index}.{buffer}`: the optimizer's buffers ([`OptimizerState`], PyTorch's
//!   names: `optimizer.0.momentum_buffer`, `optimizer.0.exp_avg`), `F32`, 1-D;
//! - `generator.shuffle.key` and `generator.layer.{index}.key`: the 624 words (`U32`) of the
//!   Mersenne Twister behind shuffling and behind each layer that draws numbers (dropout);
//! - `history.loss`, `history.val_loss`, `history.val_accuracy`, `history.learning_rate`,
//!   `history.val_regression` (`[epochs, 4]`: MSE, RMSE, MAE, R^2; `F64`, `F32` in version 1)
//!   (the others `F32`) and
//!   `history.epoch_time_ns` (`U64`): the [`History`] of the finished epochs, NaN
//!   included, bit for bit;
//! - `callback.{position}.{name}`: callbacks' tensors ([`CallbackState`]), such as the weights
//!   of early stopping's best epoch, `F32`, as `(rows, cols)`.
//!
//! Its metadata: `format` = `feedforward-training`, `format_version` = `2`
//! ([`TRAINING_FORMAT_VERSION`]; a newer one is refused, version 1 is read), `input_width` (with
//! `input_shape` for a model of images) and `architecture` as in [`Sequential::save`] (the architecture only when every layer is built
//! in), and JSON entries `training` (epochs done, the optimizer's initial learning rate, batch
//! size, shuffling seed, training and validation rows, the loss as
//! [`Loss::description`](crate::Loss::description) gives it (since version 2), the model's
//! step count, where a callback
//! stopped training, the training time), `optimizer` (kind, hyper-parameters, step count),
//! `generators` (each generator's position and cached normal) and `callbacks` (kind and values
//! by position). Last, `sha256`: the SHA-256 of the whole file (header, tensor table, metadata
//! and data) computed with this value set to 64 zeros, so that any changed byte is detected.
//!
//! The schedules ([`Schedule`](crate::optim::Schedule)) are closed forms of the initial
//! learning rate and the epoch: their position is the number of finished epochs, with the
//! initial learning rate in `training`.
//!
//! # What must match to resume
//! The model (architecture and tensor shapes), the optimizer (kind and every hyper-parameter
//! but the learning rate, which is restored; the initial learning rate must be the run's), the
//! loss (with its settings: `Huber(delta=1)` is not `Huber(delta=2)`; a version-1 file does not
//! record it, and resumes under any loss), the batch size, the shuffling seed, the number of
//! training and validation rows, and the
//! callbacks with a state (by position among the callbacks given to
//! [`fit_with_callbacks`](Sequential::fit_with_callbacks)). Anything else is refused with a
//! typed [`Error::Checkpoint`] naming what differs
//! ([`ModelMismatch`](CheckpointProblem::ModelMismatch),
//! [`OptimizerMismatch`](CheckpointProblem::OptimizerMismatch),
//! [`TrainingMismatch`](CheckpointProblem::TrainingMismatch),
//! [`CallbackMismatch`](CheckpointProblem::CallbackMismatch)), as is a damaged file
//! ([`Malformed`](CheckpointProblem::Malformed),
//! [`ChecksumMismatch`](CheckpointProblem::ChecksumMismatch)) or a newer one
//! ([`UnsupportedVersion`](CheckpointProblem::UnsupportedVersion)); nothing is resumed then.
//! The number of epochs may differ: a run of 10 epochs can go on to 20 (with a schedule whose
//! length is the number of epochs, that is another run from the checkpoint on).
//!
//! # Wall-clock times
//! The epochs' times ([`History::epoch_times`]) are restored as they were measured, and
//! [`History::training_time`] adds the time of the calls that trained: they are the only
//! values of a resumed run that differ from an uninterrupted one.

use super::atomic_write::write_atomically;
pub use super::header::TRAINING_FORMAT;
use super::header::{
    checkpoint_error, read, serialize, Tensor, KEY_ARCHITECTURE, KEY_FORMAT, KEY_INPUT_WIDTH,
    KEY_SHA256, KEY_VERSION,
};
use crate::error::CheckpointProblem;
use crate::layers::LayerSpec;
use crate::model::backup::{Backup, RunState, Setup, TrainingBackup};
use crate::model::{Callback, CallbackState, FitConfig, History, Sequential};
use crate::optim::{Optimizer, OptimizerBuffer, OptimizerState};
use crate::random::{GeneratorState, RandomState};
use crate::{Error, Result};
use ndarray::Array2;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod backup_and_restore;
mod file;
mod processes;
mod resume;
mod tensors;

#[cfg(feature = "mpi")]
pub(crate) use processes::{read_bytes, resume_from_bytes};

/// The newest training-checkpoint format version this library reads and writes: 3 for a file
/// of a data-parallel run on several processes (`distributed`, feature `mpi`), which holds
/// every process's own state; a file of one process is written as version 2, all it needs.
pub const TRAINING_FORMAT_VERSION: u32 = 3;

const KEY_TRAINING: &str = "training";
const KEY_OPTIMIZER: &str = "optimizer";
const KEY_GENERATORS: &str = "generators";
const KEY_CALLBACKS: &str = "callbacks";

/// The prefixes of the tensors that are not the model's.
const OPTIMIZER: &str = "optimizer.";
const GENERATOR: &str = "generator.";
const HISTORY: &str = "history.";
const CALLBACK: &str = "callback.";

/// Words of a Mersenne Twister key.
const KEY_WORDS: usize = 624;

/// The `training` metadata entry.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Training {
    epochs_done: usize,
    setup: Setup,
    model_steps: usize,
    stopped_at: Option<usize>,
    training_time_ns: u64,
}

/// The `optimizer` metadata entry (the buffers are tensors).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptimizerMeta {
    kind: String,
    hyper_parameters: BTreeMap<String, f32>,
    steps: u64,
}

/// A generator's position and cached normal (its key is a tensor).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GeneratorMeta {
    pos: usize,
    gauss: Option<f64>,
}

/// The `generators` metadata entry.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GeneratorsMeta {
    shuffle: Option<GeneratorMeta>,
    layers: BTreeMap<usize, GeneratorMeta>,
}

/// One entry of the `callbacks` metadata entry (the tensors are tensors).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackMeta {
    position: usize,
    kind: String,
    values: BTreeMap<String, String>,
    tensors: Vec<String>,
}

/// A training checkpoint read from a file and checked (structure, version, checksum): what it
/// holds, and what [`Sequential::fit`] resumes from.
///
/// Write one with [`FitConfig::checkpoint`](crate::FitConfig::checkpoint); see the
/// [module documentation](self) for the format.
#[derive(Debug)]
pub struct TrainingCheckpoint {
    path: PathBuf,
    bytes: Vec<u8>,
    /// The model's input shape (`input_width` and `input_shape` in the file).
    input_shape: crate::layers::Shape,
    architecture: Option<Vec<LayerSpec>>,
    training: Training,
    optimizer: OptimizerState,
    shuffle: Option<GeneratorState>,
    layer_generators: BTreeMap<usize, GeneratorState>,
    callbacks: BTreeMap<usize, CallbackState>,
    history: History,
    /// The number of processes of the run that wrote it (1 without `world_size`).
    world_size: usize,
    /// The own state of the processes from rank 1 (empty for one process).
    ranks: Vec<processes::SavedRank>,
}

impl TrainingCheckpoint {
    /// Reads and checks the training checkpoint at `path`: its structure, version and checksum,
    /// and that every part can be decoded. Nothing is loaded into a model yet.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Checkpoint`] naming the file, with
    /// [`CheckpointProblem::Malformed`] (cut short, damaged, not safetensors),
    /// [`ChecksumMismatch`](CheckpointProblem::ChecksumMismatch) (any changed byte),
    /// [`UnsupportedVersion`](CheckpointProblem::UnsupportedVersion) (written by a newer
    /// feedforward) or [`NotTrainingCheckpoint`](CheckpointProblem::NotTrainingCheckpoint).
    pub fn read(path: impl AsRef<Path>) -> Result<TrainingCheckpoint> {
        let path = path.as_ref();
        let bytes = read(path)?;
        Self::parse(path, bytes)
    }

    /// Epochs finished when the checkpoint was written.
    pub fn epochs_done(&self) -> usize {
        self.training.epochs_done
    }

    /// The epoch after which a callback stopped training (zero-based), if one did: a run
    /// resumed from this checkpoint trains no further.
    pub fn stopped_at(&self) -> Option<usize> {
        self.training.stopped_at
    }

    /// The [`History`] of the finished epochs.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The optimizer's state.
    pub fn optimizer_state(&self) -> &OptimizerState {
        &self.optimizer
    }

    /// The model, rebuilt from the architecture in the file with the parameters and buffers
    /// of the last finished epoch (as [`Sequential::load`] does for a saved model).
    ///
    /// # Errors
    /// [`CheckpointProblem::Architecture`] when the file has no architecture (a model with
    /// layers from outside the crate: build it in code and resume through `fit`), or the
    /// errors of [`Sequential::load`].
    pub fn model(&self) -> Result<Sequential> {
        let specs = self.architecture.as_ref().ok_or_else(|| {
            self.error(CheckpointProblem::Architecture(
                "the model has layers from outside the crate, so the file does not record its \
                 architecture: build the model in code"
                    .to_string(),
            ))
        })?;
        let mut model = Sequential::from_specs_shaped(self.input_shape, specs)
            .map_err(|e| self.error(CheckpointProblem::Architecture(e.to_string())))?;
        self.load_model(&mut model)?;
        Ok(model)
    }

    fn error(&self, problem: CheckpointProblem) -> Error {
        checkpoint_error(&self.path, problem)
    }

    /// Loads the model's tensors, generators and step count into `model`: all or nothing.
    fn load_model(&self, model: &mut Sequential) -> Result<()> {
        let tensors = SafeTensors::deserialize(&self.bytes)
            .map_err(|e| self.error(CheckpointProblem::Malformed(e.to_string())))?;
        model
            .read_tensors_from(&self.path, &tensors, &|name| !is_model_tensor(name))
            .map_err(|e| match e {
                Error::Checkpoint {
                    problem: problem @ CheckpointProblem::TensorMismatch { .. },
                    ..
                } => self.error(CheckpointProblem::ModelMismatch(problem.to_string())),
                other => other,
            })?;
        for (index, layer) in model.layers.iter_mut().enumerate() {
            if let (Some(rng), Some(state)) =
                (layer.generator_mut(), self.layer_generators.get(&index))
            {
                // Checked when the file was read: from_state cannot fail here.
                *rng = RandomState::from_state(state)?;
            }
        }
        model.steps = self.training.model_steps;
        Ok(())
    }
}

/// Whether the file's tensor `name` belongs to the model (not the optimizer, a generator, the
/// history or a callback).
fn is_model_tensor(name: &str) -> bool {
    ![OPTIMIZER, GENERATOR, HISTORY, CALLBACK, processes::RANK]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}
