//! Training checkpoints: everything a training run needs to continue bit for bit after a
//! crash, in one safetensors file (Keras' `BackupAndRestore`, with the optimizer, the
//! generators and the callbacks included).
//!
//! [`FitConfig::checkpoint`](super::FitConfig::checkpoint) makes [`Sequential::fit`] write one
//! after every epoch (or every `n`, [`FitConfig::checkpoint_every`](super::FitConfig::checkpoint_every))
//! and resume from it when the file exists at the start of `fit`: the finished epochs are
//! skipped and the run ends with the parameters, to the bit, and the [`History`] of a run that
//! was never interrupted. [`TrainingCheckpoint::read`] opens one to look inside.
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::model::TrainingCheckpoint;
//! use ndarray::array;
//!
//! let data = InMemory::new(array![[0.0f32], [1.0], [2.0]], array![[1.0f32], [3.0], [5.0]])?;
//! let build = || -> feedforward::Result<Sequential> {
//!     Sequential::builder(1)
//!         .push(Dense::from_parameters(array![[0.5]], array![[0.0]])?)
//!         .push(Identity)
//!         .build()
//! };
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("run.ckpt");
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
//! - `history.loss`, `history.val_loss`, `history.val_accuracy`, `history.learning_rate`
//!   (`F32`) and `history.epoch_time_ns` (`U64`): the [`History`] of the finished epochs, NaN
//!   included, bit for bit;
//! - `callback.{position}.{name}`: callbacks' tensors ([`CallbackState`]), such as the weights
//!   of early stopping's best epoch, `F32`, as `(rows, cols)`.
//!
//! Its metadata: `format` = `feedforward-training`, `format_version` = `1`
//! ([`TRAINING_FORMAT_VERSION`]; a newer one is refused), `input_width` and `architecture` as
//! in [`Sequential::save`] (the architecture only when every layer is built in), and JSON
//! entries `training` (epochs done, the optimizer's initial learning rate, batch size,
//! shuffling seed, training and validation rows, the model's step count, where a callback
//! stopped training, the training time), `optimizer` (kind, hyper-parameters, step count),
//! `generators` (each generator's position and cached normal) and `callbacks` (kind and values
//! by position). Last, `sha256`: the SHA-256 of the whole file (header, tensor table, metadata
//! and data) computed with this value set to 64 zeros, so that any changed byte is detected.
//!
//! # What must match to resume
//! The model (architecture and tensor shapes), the optimizer (kind and every hyper-parameter
//! but the learning rate, which is restored; the initial learning rate must be the run's), the
//! batch size, the shuffling seed, the number of training and validation rows, and the
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

use super::callbacks::{Callback, CallbackState};
use super::checkpoint::{checkpoint_error, read, Tensor};
use super::fit::History;
use super::Sequential;
use crate::atomic_write::write_atomically;
use crate::data::Batches;
use crate::error::CheckpointProblem;
use crate::layers::LayerSpec;
use crate::optim::{Optimizer, OptimizerBuffer, OptimizerState};
use crate::random::{GeneratorState, RandomState};
use crate::{Error, Result};
use ndarray::Array2;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The value of the `format` metadata entry of training checkpoints.
pub const TRAINING_FORMAT: &str = "feedforward-training";

/// The training-checkpoint format version this library writes, and the newest it reads.
pub const TRAINING_FORMAT_VERSION: u32 = 1;

const KEY_FORMAT: &str = "format";
const KEY_VERSION: &str = "format_version";
const KEY_INPUT_WIDTH: &str = "input_width";
const KEY_ARCHITECTURE: &str = "architecture";
const KEY_TRAINING: &str = "training";
const KEY_OPTIMIZER: &str = "optimizer";
const KEY_GENERATORS: &str = "generators";
const KEY_CALLBACKS: &str = "callbacks";
const KEY_SHA256: &str = "sha256";

/// The prefixes of the tensors that are not the model's.
const OPTIMIZER: &str = "optimizer.";
const GENERATOR: &str = "generator.";
const HISTORY: &str = "history.";
const CALLBACK: &str = "callback.";

/// Words of a Mersenne Twister key.
const KEY_WORDS: usize = 624;

/// The training setup a checkpoint must share with the run that resumes from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Setup {
    /// The optimizer's learning rate when `fit` started (the schedules' base).
    pub base_learning_rate: f32,
    /// Rows per batch.
    pub batch_size: usize,
    /// The shuffling seed, `None` in order.
    pub shuffle_seed: Option<u32>,
    /// Rows trained on per epoch.
    pub training_rows: usize,
    /// Rows of validation data (0 without).
    pub validation_rows: usize,
}

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
/// Write one with [`FitConfig::checkpoint`](super::FitConfig::checkpoint); see the
/// [module documentation](self) for the format.
#[derive(Debug)]
pub struct TrainingCheckpoint {
    path: PathBuf,
    bytes: Vec<u8>,
    input_width: usize,
    architecture: Option<Vec<LayerSpec>>,
    training: Training,
    optimizer: OptimizerState,
    shuffle: Option<GeneratorState>,
    layer_generators: BTreeMap<usize, GeneratorState>,
    callbacks: BTreeMap<usize, CallbackState>,
    history: History,
}

/// What a checkpoint is written from, at the end of an epoch.
pub(super) struct Snapshot<'a, 'b> {
    pub model: &'a Sequential,
    pub optimizer: &'a dyn Optimizer,
    pub batches: &'a Batches,
    pub callbacks: &'a [&'b mut dyn Callback],
    pub history: &'a History,
    pub setup: &'a Setup,
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
        let mut model = Sequential::from_specs(self.input_width, specs)
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

    /// Writes the checkpoint of a run at the end of an epoch, atomically.
    pub(super) fn write(path: &Path, from: &Snapshot<'_, '_>) -> Result<()> {
        let fail = |problem| checkpoint_error(path, problem);
        let model = from.model;
        let mut tensors = model.encode_tensors(path)?;
        let optimizer = from.optimizer.state()?;
        let mut non_finite = Vec::new();
        for OptimizerBuffer {
            parameter,
            name,
            values,
        } in &optimizer.buffers
        {
            let name = format!("{OPTIMIZER}{parameter}.{name}");
            if values.iter().any(|v| !v.is_finite()) {
                non_finite.push(name.clone());
            }
            tensors.push((name, f32_tensor(vec![values.len()], values.iter())));
        }
        if optimizer.hyper_parameters.values().any(|v| !v.is_finite()) {
            non_finite.push("the optimizer's hyper-parameters".to_string());
        }
        let mut generators = GeneratorsMeta::default();
        if let Some(rng) = from.batches.generator() {
            let state = rng.state();
            tensors.push((format!("{GENERATOR}shuffle.key"), key_tensor(&state.key)));
            generators.shuffle = Some(GeneratorMeta {
                pos: state.pos,
                gauss: state.gauss,
            });
        }
        for (index, layer) in model.layers.iter().enumerate() {
            if let Some(rng) = layer.generator() {
                let state = rng.state();
                tensors.push((
                    format!("{GENERATOR}layer.{index}.key"),
                    key_tensor(&state.key),
                ));
                generators.layers.insert(
                    index,
                    GeneratorMeta {
                        pos: state.pos,
                        gauss: state.gauss,
                    },
                );
            }
        }
        let history = from.history;
        let n = history.epoch_losses.len();
        for (name, values) in [
            ("loss", &history.epoch_losses),
            ("val_loss", &history.validation_losses),
            ("val_accuracy", &history.validation_accuracies),
            ("learning_rate", &history.learning_rates),
        ] {
            tensors.push((
                format!("{HISTORY}{name}"),
                f32_tensor(vec![values.len()], values.iter()),
            ));
        }
        let times: Vec<u8> = history
            .epoch_times
            .iter()
            .flat_map(|t| nanos(*t).to_le_bytes())
            .collect();
        tensors.push((
            format!("{HISTORY}epoch_time_ns"),
            Tensor {
                dtype: Dtype::U64,
                shape: vec![history.epoch_times.len()],
                data: times,
            },
        ));
        let mut callbacks = Vec::new();
        for (position, callback) in from.callbacks.iter().enumerate() {
            let Some(state) = callback.state()? else {
                continue;
            };
            let mut names = Vec::with_capacity(state.tensors.len());
            for (name, value) in &state.tensors {
                let full = format!("{CALLBACK}{position}.{name}");
                if value.iter().any(|v| !v.is_finite()) {
                    non_finite.push(full.clone());
                }
                let (rows, cols) = value.dim();
                tensors.push((full, f32_tensor(vec![rows, cols], value.iter())));
                names.push(name.clone());
            }
            callbacks.push(CallbackMeta {
                position,
                kind: state.kind,
                values: state.values,
                tensors: names,
            });
        }
        if !non_finite.is_empty() {
            return Err(fail(CheckpointProblem::NonFinite(non_finite)));
        }
        let training = Training {
            epochs_done: n,
            setup: from.setup.clone(),
            model_steps: model.steps,
            stopped_at: history.stopped_at,
            training_time_ns: nanos(history.training_time),
        };
        let optimizer_meta = OptimizerMeta {
            kind: optimizer.kind,
            hyper_parameters: optimizer.hyper_parameters,
            steps: optimizer.steps,
        };
        let mut metadata = HashMap::new();
        metadata.insert(KEY_FORMAT.to_string(), TRAINING_FORMAT.to_string());
        metadata.insert(KEY_VERSION.to_string(), TRAINING_FORMAT_VERSION.to_string());
        metadata.insert(KEY_INPUT_WIDTH.to_string(), model.input_width().to_string());
        let specs: Option<Vec<LayerSpec>> = model.layers.iter().map(|l| l.spec()).collect();
        if let Some(specs) = specs {
            metadata.insert(KEY_ARCHITECTURE.to_string(), to_json(path, &specs)?);
        }
        metadata.insert(KEY_TRAINING.to_string(), to_json(path, &training)?);
        metadata.insert(KEY_OPTIMIZER.to_string(), to_json(path, &optimizer_meta)?);
        metadata.insert(KEY_GENERATORS.to_string(), to_json(path, &generators)?);
        metadata.insert(KEY_CALLBACKS.to_string(), to_json(path, &callbacks)?);
        metadata.insert(KEY_SHA256.to_string(), "0".repeat(64));
        let bytes =
            safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
                .map_err(|e| {
                    fail(CheckpointProblem::Malformed(format!(
                        "cannot serialise: {e}"
                    )))
                })?;
        let bytes = with_checksum(&bytes).map_err(|e| {
            fail(CheckpointProblem::Malformed(format!(
                "cannot serialise: {e}"
            )))
        })?;
        // What we write must read back.
        Self::parse(path, bytes.clone())?;
        write_atomically(path, &bytes)
    }

    /// Checks and decodes a file's bytes.
    fn parse(path: &Path, bytes: Vec<u8>) -> Result<TrainingCheckpoint> {
        let fail = |problem| checkpoint_error(path, problem);
        let malformed = |reason: String| fail(CheckpointProblem::Malformed(reason));
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| {
            malformed(match e {
                safetensors::SafeTensorError::HeaderTooSmall => {
                    "shorter than the 8-byte header size".to_string()
                }
                other => other.to_string(),
            })
        })?;
        let tensors = SafeTensors::deserialize(&bytes).map_err(|e| malformed(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let format = metadata.get(KEY_FORMAT).map(String::as_str);
        if format != Some(TRAINING_FORMAT) {
            return Err(fail(CheckpointProblem::NotTrainingCheckpoint(
                match format {
                    Some(super::checkpoint::FORMAT) => {
                        "a model saved with Sequential::save: load it with Sequential::load"
                            .to_string()
                    }
                    Some(other) => format!("its format is {other:?}"),
                    None => format!("its metadata has no {KEY_FORMAT} = {TRAINING_FORMAT}"),
                },
            )));
        }
        let found = metadata.get(KEY_VERSION).map(String::as_str);
        match found.and_then(|v| v.parse::<u32>().ok()) {
            Some(version) if (1..=TRAINING_FORMAT_VERSION).contains(&version) => {}
            _ => {
                return Err(fail(CheckpointProblem::UnsupportedVersion {
                    found: found.unwrap_or("(none)").to_string(),
                    supported: TRAINING_FORMAT_VERSION,
                }))
            }
        }
        if !checksum_holds(&bytes) {
            return Err(fail(CheckpointProblem::ChecksumMismatch));
        }
        // From here on the file is as it was written: a failure is a bug or a hand-made file.
        let entry = |key: &str| {
            metadata
                .get(key)
                .ok_or_else(|| malformed(format!("no {key} metadata")))
        };
        let input_width = entry(KEY_INPUT_WIDTH)?
            .parse::<usize>()
            .map_err(|e| malformed(format!("{KEY_INPUT_WIDTH}: {e}")))?;
        let architecture = metadata
            .get(KEY_ARCHITECTURE)
            .map(|a| from_json(a, KEY_ARCHITECTURE))
            .transpose()
            .map_err(malformed)?;
        let training: Training =
            from_json(entry(KEY_TRAINING)?, KEY_TRAINING).map_err(malformed)?;
        let meta: OptimizerMeta =
            from_json(entry(KEY_OPTIMIZER)?, KEY_OPTIMIZER).map_err(malformed)?;
        let generators: GeneratorsMeta =
            from_json(entry(KEY_GENERATORS)?, KEY_GENERATORS).map_err(malformed)?;
        let callback_meta: Vec<CallbackMeta> =
            from_json(entry(KEY_CALLBACKS)?, KEY_CALLBACKS).map_err(malformed)?;

        let mut optimizer = OptimizerState {
            kind: meta.kind,
            hyper_parameters: meta.hyper_parameters,
            steps: meta.steps,
            buffers: Vec::new(),
        };
        let mut names: Vec<&str> = tensors.names().into_iter().collect();
        names.sort_unstable();
        for name in names {
            let Some(rest) = name.strip_prefix(OPTIMIZER) else {
                continue;
            };
            let (index, buffer) = rest
                .split_once('.')
                .and_then(|(i, b)| Some((i.parse::<usize>().ok()?, b)))
                .ok_or_else(|| malformed(format!("unreadable optimizer tensor name {name}")))?;
            optimizer.buffers.push(OptimizerBuffer {
                parameter: index,
                name: buffer.to_string(),
                values: read_f32(&tensors, name, None).map_err(malformed)?.1,
            });
        }
        optimizer
            .buffers
            .sort_by(|a, b| (a.parameter, &a.name).cmp(&(b.parameter, &b.name)));
        let generator = |name: &str, meta: &GeneratorMeta| -> Result<GeneratorState> {
            let view = tensors
                .tensor(name)
                .map_err(|_| malformed(format!("no tensor {name}")))?;
            if view.dtype() != Dtype::U32 || view.shape() != [KEY_WORDS] {
                return Err(malformed(format!("{name} is not {KEY_WORDS} U32 words")));
            }
            let state = GeneratorState {
                key: view
                    .data()
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                pos: meta.pos,
                gauss: meta.gauss,
            };
            RandomState::from_state(&state).map_err(|e| malformed(format!("{name}: {e}")))?;
            Ok(state)
        };
        let shuffle = generators
            .shuffle
            .as_ref()
            .map(|meta| generator(&format!("{GENERATOR}shuffle.key"), meta))
            .transpose()?;
        let mut layer_generators = BTreeMap::new();
        for (index, meta) in &generators.layers {
            let state = generator(&format!("{GENERATOR}layer.{index}.key"), meta)?;
            layer_generators.insert(*index, state);
        }
        let epochs = training.epochs_done;
        let history_values = |name: &str, len: Option<usize>| {
            read_f32(&tensors, &format!("{HISTORY}{name}"), None)
                .map_err(&malformed)
                .and_then(|(_, values)| match len {
                    Some(len) if len != values.len() => {
                        Err(malformed(format!("{HISTORY}{name}: not {len} epochs")))
                    }
                    _ => Ok(values),
                })
        };
        let times = tensors
            .tensor(&format!("{HISTORY}epoch_time_ns"))
            .ok()
            .filter(|t| t.dtype() == Dtype::U64 && t.shape() == [epochs])
            .ok_or_else(|| malformed(format!("{HISTORY}epoch_time_ns: not {epochs} U64")))?;
        let history = History {
            epoch_losses: history_values("loss", Some(epochs))?,
            validation_losses: history_values("val_loss", None)?,
            validation_accuracies: history_values("val_accuracy", None)?,
            learning_rates: history_values("learning_rate", Some(epochs))?,
            epoch_times: times
                .data()
                .chunks_exact(8)
                .map(|b| Duration::from_nanos(u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))))
                .collect(),
            training_time: Duration::from_nanos(training.training_time_ns),
            stopped_at: training.stopped_at,
        };
        let mut callbacks = BTreeMap::new();
        for meta in callback_meta {
            let mut state = CallbackState {
                kind: meta.kind,
                values: meta.values,
                tensors: Vec::with_capacity(meta.tensors.len()),
            };
            for name in meta.tensors {
                let full = format!("{CALLBACK}{}.{name}", meta.position);
                let (shape, values) = read_f32(&tensors, &full, Some(2)).map_err(malformed)?;
                let value = Array2::from_shape_vec((shape[0], shape[1]), values)
                    .map_err(|e| malformed(format!("{full}: {e}")))?;
                state.tensors.push((name, value));
            }
            callbacks.insert(meta.position, state);
        }
        drop(tensors);
        Ok(TrainingCheckpoint {
            path: path.to_path_buf(),
            bytes,
            input_width,
            architecture,
            training,
            optimizer,
            shuffle,
            layer_generators,
            callbacks,
            history,
        })
    }

    /// Puts the run back where the checkpoint left it: the model's tensors, generators and step
    /// count, the optimizer's state, the shuffling generator, the callbacks' states; returns the
    /// [`History`] of the finished epochs. Everything is checked first: on an error nothing was
    /// resumed (a failure past the checks puts the optimizer and callbacks back).
    pub(super) fn resume(
        &self,
        model: &mut Sequential,
        optimizer: &mut dyn Optimizer,
        batches: &mut Batches,
        callbacks: &mut [&mut dyn Callback],
        setup: &Setup,
        epochs: usize,
    ) -> Result<History> {
        let saved = &self.training.setup;
        let differs = |what: &str, saved: String, now: String| {
            self.error(CheckpointProblem::TrainingMismatch(format!(
                "{what} is {saved} in the checkpoint but {now} in this run"
            )))
        };
        if saved.batch_size != setup.batch_size {
            return Err(differs(
                "the batch size",
                saved.batch_size.to_string(),
                setup.batch_size.to_string(),
            ));
        }
        if saved.shuffle_seed != setup.shuffle_seed {
            let show = |s: Option<u32>| {
                s.map_or("in order".to_string(), |s| {
                    format!("shuffled with seed {s}")
                })
            };
            return Err(differs(
                "the row order",
                show(saved.shuffle_seed),
                show(setup.shuffle_seed),
            ));
        }
        if saved.training_rows != setup.training_rows {
            return Err(differs(
                "the number of training rows",
                saved.training_rows.to_string(),
                setup.training_rows.to_string(),
            ));
        }
        if saved.validation_rows != setup.validation_rows {
            return Err(differs(
                "the number of validation rows",
                saved.validation_rows.to_string(),
                setup.validation_rows.to_string(),
            ));
        }
        if saved.base_learning_rate.to_bits() != setup.base_learning_rate.to_bits() {
            return Err(differs(
                "the initial learning rate",
                saved.base_learning_rate.to_string(),
                setup.base_learning_rate.to_string(),
            ));
        }
        if self.training.epochs_done > epochs {
            return Err(differs(
                "the number of finished epochs",
                self.training.epochs_done.to_string(),
                format!("{epochs} epochs asked for"),
            ));
        }
        self.check_model(model)?;
        if self.shuffle.is_some() != batches.generator().is_some() {
            return Err(differs(
                "the shuffling generator",
                "saved".into(),
                "absent".into(),
            ));
        }
        // The callbacks with a state, by position, must be the checkpoint's.
        let mut priors = Vec::with_capacity(callbacks.len());
        for (position, callback) in callbacks.iter().enumerate() {
            let prior = callback.state()?;
            match (&prior, self.callbacks.get(&position)) {
                (Some(now), Some(saved)) if now.kind != saved.kind => {
                    return Err(self.error(CheckpointProblem::CallbackMismatch(format!(
                        "callback {position} is {} but the checkpoint holds the state of {}",
                        now.kind, saved.kind
                    ))))
                }
                (Some(now), None) => {
                    return Err(self.error(CheckpointProblem::CallbackMismatch(format!(
                        "callback {position} ({}) has a state the checkpoint does not hold",
                        now.kind
                    ))))
                }
                (None, Some(saved)) => {
                    return Err(self.error(CheckpointProblem::CallbackMismatch(format!(
                        "the checkpoint holds the state of a {} at position {position}, which \
                         the callbacks given do not have",
                        saved.kind
                    ))))
                }
                _ => {}
            }
            priors.push(prior);
        }
        if let Some(extra) = self.callbacks.keys().find(|&&p| p >= callbacks.len()) {
            return Err(self.error(CheckpointProblem::CallbackMismatch(format!(
                "the checkpoint holds the state of a callback at position {extra}, but only {} \
                 callbacks are given",
                callbacks.len()
            ))));
        }
        // The optimizer's buffers must fit the model's parameters.
        let sizes: Vec<usize> = model.parameters().iter().map(|(_, p)| p.len()).collect();
        for buffer in &self.optimizer.buffers {
            if sizes.get(buffer.parameter) != Some(&buffer.values.len()) {
                return Err(self.error(CheckpointProblem::OptimizerMismatch(format!(
                    "buffer {} of parameter {} holds {} values, the model's parameter {}",
                    buffer.name,
                    buffer.parameter,
                    buffer.values.len(),
                    sizes
                        .get(buffer.parameter)
                        .map_or("does not exist".to_string(), |n| format!("has {n}"))
                ))));
            }
        }
        let prior_optimizer = optimizer.state()?;
        optimizer
            .load_state(&self.optimizer)
            .map_err(|e| self.error(CheckpointProblem::OptimizerMismatch(e.to_string())))?;
        // Puts back the optimizer and the first `loaded` callbacks. Their states were exported
        // just before, so that loading them back cannot fail.
        let undo = |optimizer: &mut dyn Optimizer,
                    callbacks: &mut [&mut dyn Callback],
                    loaded: usize,
                    model: &Sequential| {
            let _ = optimizer.load_state(&prior_optimizer);
            for (callback, prior) in callbacks.iter_mut().zip(&priors).take(loaded) {
                if let Some(prior) = prior {
                    let _ = callback.load_state(prior, model);
                }
            }
        };
        for position in 0..callbacks.len() {
            let Some(saved) = self.callbacks.get(&position) else {
                continue;
            };
            if let Err(e) = callbacks[position].load_state(saved, model) {
                undo(optimizer, callbacks, position, model);
                return Err(self.error(CheckpointProblem::CallbackMismatch(e.to_string())));
            }
        }
        if let Err(e) = self.load_model(model) {
            undo(optimizer, callbacks, callbacks.len(), model);
            return Err(e);
        }
        if let (Some(rng), Some(state)) = (batches.generator_mut(), &self.shuffle) {
            *rng = RandomState::from_state(state)?;
        }
        Ok(self.history.clone())
    }

    /// Checks that `model` is the checkpoint's: input width, architecture, tensor names and
    /// sizes, layers with a generator.
    fn check_model(&self, model: &Sequential) -> Result<()> {
        let fail = |reason: String| self.error(CheckpointProblem::ModelMismatch(reason));
        if model.input_width() != self.input_width {
            return Err(fail(format!(
                "inputs of width {} in the checkpoint, {} in this model",
                self.input_width,
                model.input_width()
            )));
        }
        let specs: Option<Vec<LayerSpec>> = model.layers.iter().map(|l| l.spec()).collect();
        if let (Some(saved), Some(now)) = (&self.architecture, &specs) {
            if saved.len() != now.len() {
                return Err(fail(format!(
                    "{} layers in the checkpoint, {} in this model",
                    saved.len(),
                    now.len()
                )));
            }
            if let Some((index, (a, b))) = saved
                .iter()
                .zip(now)
                .enumerate()
                .find(|(_, (a, b))| !same_layer(a, b))
            {
                return Err(fail(format!(
                    "layer {index} is {a:?} in the checkpoint but {b:?} in this model"
                )));
            }
        }
        let with_generator: Vec<usize> = model
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.generator().is_some())
            .map(|(i, _)| i)
            .collect();
        let saved: Vec<usize> = self.layer_generators.keys().copied().collect();
        if with_generator != saved {
            return Err(fail(format!(
                "the layers drawing random numbers are {saved:?} in the checkpoint, \
                 {with_generator:?} in this model"
            )));
        }
        Ok(())
    }
}

/// Whether two layers are the same for resuming: equal specs, but for a dropout's seed, which
/// only says where its generator started (the checkpoint restores where it is).
fn same_layer(a: &LayerSpec, b: &LayerSpec) -> bool {
    match (a, b) {
        (LayerSpec::Dropout { p: p1, .. }, LayerSpec::Dropout { p: p2, .. }) => {
            p1.to_bits() == p2.to_bits()
        }
        _ => a == b,
    }
}

/// Whether the file's tensor `name` belongs to the model (not the optimizer, a generator, the
/// history or a callback).
fn is_model_tensor(name: &str) -> bool {
    ![OPTIMIZER, GENERATOR, HISTORY, CALLBACK]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// A metadata entry written as JSON.
fn to_json(path: &Path, value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| {
        checkpoint_error(
            path,
            CheckpointProblem::Malformed(format!("cannot write JSON: {e}")),
        )
    })
}

/// A metadata entry read as JSON.
fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    key: &str,
) -> std::result::Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("unreadable {key} metadata: {e}"))
}

/// An `F32` tensor of `shape` holding `values`.
fn f32_tensor<'a>(shape: Vec<usize>, values: impl Iterator<Item = &'a f32>) -> Tensor {
    Tensor {
        dtype: Dtype::F32,
        shape,
        data: values.flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// A generator's key as a `U32` tensor.
fn key_tensor(key: &[u32]) -> Tensor {
    Tensor {
        dtype: Dtype::U32,
        shape: vec![key.len()],
        data: key.iter().flat_map(|w| w.to_le_bytes()).collect(),
    }
}

/// The `F32` tensor `name` (of `rank` dimensions when given): its shape and values.
fn read_f32(
    tensors: &SafeTensors<'_>,
    name: &str,
    rank: Option<usize>,
) -> std::result::Result<(Vec<usize>, Vec<f32>), String> {
    let view = tensors
        .tensor(name)
        .map_err(|_| format!("no tensor {name}"))?;
    if view.dtype() != Dtype::F32 || rank.is_some_and(|r| view.shape().len() != r) {
        return Err(format!("{name}: not an F32 tensor of the expected rank"));
    }
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((view.shape().to_vec(), values))
}

/// A duration in nanoseconds, saturating (585 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Where the checksum's 64 hex digits are in a file: after the only `"sha256":"` of the header.
fn checksum_span(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let header_len = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let header = bytes.get(8..8usize.checked_add(header_len)?)?;
    let needle = format!("\"{KEY_SHA256}\":\"");
    let needle = needle.as_bytes();
    let mut found = header
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| 8 + i + needle.len());
    let start = found.next()?;
    if found.next().is_some() || start + 64 > 8 + header_len {
        return None;
    }
    Some(start..start + 64)
}

/// SHA-256 (lower-case hex) of `bytes` with the checksum's digits set to `0`.
fn digest(bytes: &[u8], span: &std::ops::Range<usize>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(&bytes[..span.start]);
    hasher.update([b'0'; 64]);
    hasher.update(&bytes[span.end..]);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the file's checksum is the SHA-256 of the file with it zeroed.
fn checksum_holds(bytes: &[u8]) -> bool {
    checksum_span(bytes).is_some_and(|span| digest(bytes, &span).as_bytes() == &bytes[span])
}

/// Rewrites a serialised file's header in a canonical order (sorted keys, so that the same
/// state gives the same bytes) and fills in the checksum of the whole file.
fn with_checksum(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let header_len = bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or("no header size")?;
    let end = 8usize
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or("header size beyond the end")?;
    // serde_json's maps are sorted (BTreeMap): parsing and writing again sorts every level.
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..end]).map_err(|e| e.to_string())?;
    let mut json = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    // The data must start 8-byte aligned, as the format asks.
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - end);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[end..]);
    let span = checksum_span(&out).ok_or("no single checksum entry")?;
    let sum = digest(&out, &span);
    out[span].copy_from_slice(sum.as_bytes());
    Ok(out)
}
