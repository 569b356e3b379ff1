//! Checkpoints: a [`Sequential`] saved to and loaded from a [safetensors] file that PyTorch
//! reads.
//!
//! - [`Sequential::save`] writes the parameters, the buffers (batch-norm running statistics)
//!   and the architecture; [`Sequential::load`] rebuilds the whole model from the file alone.
//!   Every built-in layer can be saved this way (see [`LayerSpec`]).
//! - A layer written outside the crate is saved by `save` when its [`Layer::spec`](crate::Layer::spec)
//!   is a [`LayerSpec::Custom`]; [`Sequential::load_with`] rebuilds it through a
//!   [`LayerRegistry`] (see [`registry`](crate::layers::registry)).
//! - [`Sequential::save_weights`] writes the tensors only, for any model (custom layers
//!   included); [`Sequential::load_weights`] reads tensors into a model built in code, from our
//!   files or from any safetensors file with the right names, such as a PyTorch `state_dict`
//!   saved with `safetensors.torch.save_file`.
//!
//! ```
//! use feedforward::prelude::*;
//!
//! let mut rng = RandomState::new(0);
//! let mut model = Sequential::builder(4)
//!     .push(Dense::new(4, 3, Init::HeNormal, &mut rng)?)
//!     .push(Relu)
//!     .push(Dense::new(3, 2, Init::XavierNormal, &mut rng)?)
//!     .push(Softmax)
//!     .build()?;
//! let dir = std::env::temp_dir().join(format!("feedforward-doc-checkpoint-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("model.safetensors");
//! model.save(&path)?;
//!
//! let mut loaded = Sequential::load(&path)?; // no need to restate the architecture
//! let x = rng.rand(5, 4)?;
//! assert_eq!(loaded.predict(x.view())?, model.predict(x.view())?); // bit for bit
//! # Ok::<(), feedforward::Error>(())
//! ```
//!
//! # The file, relative to PyTorch
//! One tensor per parameter or buffer, named as PyTorch's `nn.Sequential` names its
//! `state_dict()` entries (`"{layer index}.{name}"`), `F32`, little-endian, row-major, in the
//! shapes PyTorch's modules have:
//!
//! | layer | tensors | shape in the file | PyTorch module |
//! | --- | --- | --- | --- |
//! | [`Dense`](crate::layers::Dense) `in -> out` | `N.weight` | `[out, in]`: `W^T`, as `nn.Linear` stores it (our `Dense::weight()` shows `W`, `(in, out)`) | `nn.Linear(in, out)` |
//! | | `N.bias` | `[out]` (our `(1, out)`) | |
//! | [`BatchNorm1d`](crate::layers::BatchNorm1d) | `N.weight`, `N.bias`, `N.running_mean`, `N.running_var` | `[features]` | `nn.BatchNorm1d(features, eps, momentum)` |
//! | | `N.num_batches_tracked` | `[]`, `I64`, always 0 | |
//! | [`LayerNorm`](crate::layers::LayerNorm) | `N.weight`, `N.bias` | `[features]` | `nn.LayerNorm(features, eps)` |
//! | [`Normalization`](crate::layers::Normalization) | `N.mean`, `N.variance` (buffers) | `[features]` | none (Keras's `Normalization`; in PyTorch, `(x - mean) / sqrt(variance).clamp(min=1e-7)`) |
//! | [`Conv2d`](crate::layers::Conv2d) | `N.weight` | `[out, in / groups, kh, kw]` (our `(out, (in / groups) kh kw)`, the same values) | `nn.Conv2d(in, out, (kh, kw), ...)` |
//! | | `N.bias` (with a bias) | `[out]` | |
//! | [`BatchNorm2d`](crate::layers::BatchNorm2d) | as `BatchNorm1d` | `[channels]` | `nn.BatchNorm2d(channels, eps, momentum)` |
//! | a layer outside the crate | `N.{name}` | its `(rows, cols)`, as it is | |
//!
//! Layers without tensors (activations, softmax, dropout) take their index and write nothing,
//! as in PyTorch: `nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))` and our
//! `Dense(4, 3), Relu, Dense(3, 2)` both have `0.weight`, `0.bias`, `2.weight`, `2.bias`, and
//! `load_state_dict(strict=True)` accepts our file. `num_batches_tracked` is written only so
//! that strict loading passes on a batch-norm layer: feedforward does not count batches (PyTorch
//! uses the count only when `momentum=None`, and ours always has a momentum), and ignores it
//! when loading. PyTorch's `nn.Softmax` takes a `dim`: ours is `dim=1` (`dim=-1`).
//!
//! # Metadata
//! The header's `__metadata__` (strings, as safetensors requires):
//! - `format`: `feedforward`; `format_version`: `2` ([`FORMAT_VERSION`]). A file of a newer
//!   version is refused with [`CheckpointProblem::UnsupportedVersion`]; files of version `1`
//!   still load (see the checksum below).
//! - `input_width`: the model's input width, in decimal.
//! - `input_shape` (models of images only): `[channels, height, width]` of an input sample,
//!   JSON; without it the input is a row of `input_width` features.
//! - `architecture` (files from [`save`](Sequential::save) only): the layers' [`LayerSpec`]s
//!   as a JSON array, e.g. `[{"kind":"Dense","inputs":784,"outputs":10},{"kind":"Softmax"}]`.
//! - `sha256`: lower-case hex SHA-256 of, in order: the other metadata entries (sorted by key,
//!   each `key NUL value NUL`); the tensor table (sorted by name, each
//!   `name NUL dtype NUL shape NUL begin NUL end NUL`, the dtype as the header spells it, the
//!   shape's sizes joined by commas, begin and end the `data_offsets`); and the whole data
//!   section. Damage anywhere (the tensors, the metadata, or the table saying where each tensor
//!   is: swapping the offsets of two tensors of one shape) is detected when the file is read;
//!   PyTorch ignores it. Version 1 files (written before the table was covered) are checked
//!   as they were written: metadata and data only.
//!
//! The header is written in a canonical order, so the same model always gives the same bytes.
//!
//! # Nothing lost
//! Saving writes a uniquely named temporary file in the target's folder, flushes it to disk
//! (`sync_all`), renames it over the target and then syncs the folder (on Unix): a crash, a full
//! disk or any error leaves either the previous file or the new one, never a mix, and the
//! temporary file is removed on failure. Loading reads and checks the whole file (structure,
//! version, checksum, every tensor's name, dtype, shape and values) before changing anything:
//! it fails with a typed [`Error`] naming the file, never panics, and never leaves a model
//! partly loaded. Tensors holding NaN or infinities are refused both ways: a model that diverged
//! is not worth saving, and one loaded that way could only predict NaN.
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

use super::atomic_write::write_atomically;
use super::checksum::{canonical_with_checksum, model_checksum, model_checksum_v1, tensor_table};
use super::header::{
    checkpoint_error, input_shape, insert_input_shape, malformed, read, serialize, Tensor,
    KEY_ARCHITECTURE, KEY_FORMAT, KEY_INPUT_WIDTH, KEY_SHA256, KEY_VERSION, TRAINING_FORMAT,
};
pub use super::header::{FORMAT, MAX_CHECKPOINT_BYTES};
use crate::error::CheckpointProblem;
use crate::layers::{LayerRegistry, LayerSpec};
use crate::model::Sequential;
#[cfg(doc)]
use crate::Error;
use crate::Result;
use ndarray::{Array2, ArrayView2};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The checkpoint format version this library writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 2;

/// The buffer that marks a PyTorch-style batch normalisation, which has `num_batches_tracked`.
const RUNNING_MEAN: &str = "running_mean";
const NUM_BATCHES_TRACKED: &str = "num_batches_tracked";

impl Sequential {
    /// Saves the model (architecture, parameters and buffers) to `path` as a safetensors file
    /// that [`load`](Sequential::load) rebuilds and PyTorch reads (see the
    /// [module documentation](self) for the layout). The file is replaced atomically: on any
    /// error the previous file at `path`, if any, is left as it was.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] with [`CheckpointProblem::CustomLayer`] when a layer is not built
    /// in and has no spec (give it a [`LayerSpec::Custom`], or use
    /// [`save_weights`](Sequential::save_weights)) or
    /// [`CheckpointProblem::NonFinite`] when a parameter is NaN or infinite; [`Error::Io`] when
    /// the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let specs = self
            .layers
            .iter()
            .enumerate()
            .map(|(index, layer)| {
                layer.spec().ok_or_else(|| {
                    checkpoint_error(
                        path,
                        CheckpointProblem::CustomLayer {
                            index,
                            layer: layer.name().to_string(),
                        },
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.write_checkpoint(path, Some(&specs))
    }

    /// Saves the parameters and buffers only, without the architecture, for any model
    /// (custom layers included); read them back with [`load_weights`](Sequential::load_weights)
    /// into a model built in code. Same layout and same atomic replacement as
    /// [`save`](Sequential::save).
    ///
    /// # Errors
    /// As [`save`](Sequential::save), without [`CheckpointProblem::CustomLayer`].
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        self.write_checkpoint(path.as_ref(), None)
    }

    /// Loads a model written by [`save`](Sequential::save): rebuilds its layers from the
    /// architecture in the file and fills in their parameters and buffers. The layers start in
    /// training mode, as new ones do ([`predict`](Sequential::predict) and
    /// [`evaluate`](Sequential::evaluate) switch to evaluation mode).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read or is not a regular file (a device, a FIFO:
    /// refused before reading, so that loading never blocks or reads without end);
    /// [`Error::Checkpoint`] naming the file, with
    /// [`CheckpointProblem::Malformed`] (truncated, damaged, not safetensors, larger than
    /// [`MAX_CHECKPOINT_BYTES`]),
    /// [`ChecksumMismatch`](CheckpointProblem::ChecksumMismatch),
    /// [`NotFeedforward`](CheckpointProblem::NotFeedforward) (a safetensors file without our
    /// metadata: use [`load_weights`](Sequential::load_weights)),
    /// [`UnsupportedVersion`](CheckpointProblem::UnsupportedVersion),
    /// [`Architecture`](CheckpointProblem::Architecture) or
    /// [`TensorMismatch`](CheckpointProblem::TensorMismatch).
    pub fn load(path: impl AsRef<Path>) -> Result<Sequential> {
        Sequential::load_building(path.as_ref(), &LayerSpec::build)
    }

    /// [`load`](Sequential::load) for models with custom layers: rebuilds every layer from the
    /// architecture in the file, the custom kinds through `registry` (see [`LayerRegistry`]),
    /// then reads the parameters and buffers.
    ///
    /// # Errors
    /// As [`load`](Sequential::load); a custom kind missing from the registry, or a building
    /// function's error, is a [`CheckpointProblem::Architecture`] naming it.
    pub fn load_with(path: impl AsRef<Path>, registry: &LayerRegistry) -> Result<Sequential> {
        Sequential::load_building(path.as_ref(), &|spec| registry.build(spec))
    }

    /// [`load`](Sequential::load), building each layer from its spec with `build`.
    pub(crate) fn load_building(
        path: &Path,
        build: &dyn Fn(&LayerSpec) -> Result<Box<dyn crate::Layer>>,
    ) -> Result<Sequential> {
        let bytes = read(path)?;
        let file = Checkpoint::parse(path, &bytes)?;
        let fail = |problem| checkpoint_error(path, problem);
        if !file.ours {
            let format = file.metadata.get(KEY_FORMAT).map(String::as_str);
            let what = if file.metadata.is_empty() {
                "it has no metadata".to_string()
            } else if format == Some(TRAINING_FORMAT) {
                "a training checkpoint: TrainingCheckpoint::read(path)?.model() rebuilds its \
                 model"
                    .to_string()
            } else {
                format!("its metadata has no {KEY_FORMAT} = {FORMAT}")
            };
            return Err(fail(CheckpointProblem::NotFeedforward(what)));
        }
        let architecture = file.metadata.get(KEY_ARCHITECTURE).ok_or_else(|| {
            fail(CheckpointProblem::Architecture(
                "the file holds weights only (written by save_weights): build the model in \
                 code and read them with load_weights"
                    .to_string(),
            ))
        })?;
        let specs: Vec<LayerSpec> = serde_json::from_str(architecture).map_err(|e| {
            fail(CheckpointProblem::Architecture(format!(
                "unreadable {KEY_ARCHITECTURE} metadata: {e}"
            )))
        })?;
        let input_width = file
            .metadata
            .get(KEY_INPUT_WIDTH)
            .and_then(|w| w.parse::<usize>().ok())
            .ok_or_else(|| {
                fail(CheckpointProblem::Architecture(format!(
                    "the {KEY_INPUT_WIDTH} metadata is missing or not a whole number"
                )))
            })?;
        let shape = input_shape(&file.metadata, input_width)
            .map_err(|e| fail(CheckpointProblem::Architecture(e)))?;
        // Building allocates the layers' parameters: first check that the file holds that many
        // values, so that a damaged width cannot ask for terabytes.
        let needed = specs
            .iter()
            .map(values_needed)
            .fold(0u128, u128::saturating_add);
        let held = (file
            .tensors
            .iter()
            .map(|(_, t)| t.data().len())
            .sum::<usize>()
            / 4) as u128;
        if needed > held {
            return Err(fail(CheckpointProblem::Architecture(format!(
                "the layers need {needed} values but the file holds {held}"
            ))));
        }
        let mut model = specs
            .iter()
            .map(build)
            .collect::<Result<Vec<_>>>()
            .and_then(|layers| Sequential::with_input_shape(shape, layers))
            .map_err(|e| fail(CheckpointProblem::Architecture(e.to_string())))?;
        model.read_tensors(path, &file)?;
        Ok(model)
    }

    /// Loads parameters and buffers from the safetensors file at `path` into this model, by
    /// name (`0.weight`, `0.bias`, `1.running_mean`, ...; see the [module documentation](self)):
    /// a file from [`save`](Sequential::save) or [`save_weights`](Sequential::save_weights), or
    /// any safetensors file with PyTorch's `nn.Sequential` names and layouts (`F32`). The
    /// architecture recorded in the file, if any, is not compared with the model: the tensors'
    /// names and shapes must fit.
    ///
    /// Either every tensor is loaded, or nothing changes.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Checkpoint`] naming the file, with
    /// [`CheckpointProblem::TensorMismatch`] listing every missing, unexpected and invalid
    /// (shape, dtype, NaN) tensor by name, or [`Malformed`](CheckpointProblem::Malformed),
    /// [`ChecksumMismatch`](CheckpointProblem::ChecksumMismatch) and
    /// [`UnsupportedVersion`](CheckpointProblem::UnsupportedVersion) as
    /// [`load`](Sequential::load).
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = read(path)?;
        let file = Checkpoint::parse(path, &bytes)?;
        self.read_tensors(path, &file)
    }

    /// Every tensor slot of the model, parameters then buffers, layer by layer.
    fn slots(&self, path: &Path) -> Result<Vec<Slot>> {
        let mut slots = Vec::new();
        let mut names = BTreeSet::new();
        for (index, layer) in self.layers.iter().enumerate() {
            let spec = layer.spec();
            let tensors = layer
                .parameters()
                .into_iter()
                .map(|(name, value)| (name, value, false))
                .chain(
                    layer
                        .buffers()
                        .into_iter()
                        .map(|(name, value)| (name, value, true)),
                );
            for (local, value, buffer) in tensors {
                let name = format!("{index}.{local}");
                if !names.insert(name.clone()) {
                    return Err(checkpoint_error(
                        path,
                        CheckpointProblem::Architecture(format!(
                            "layer {index} ({}) has two tensors named {local}",
                            layer.name()
                        )),
                    ));
                }
                slots.push(Slot {
                    layer: index,
                    local,
                    name,
                    buffer,
                    dim: value.dim(),
                    layout: Layout::of(spec.as_ref(), local, value.dim()),
                });
            }
        }
        Ok(slots)
    }

    /// Whether layer `index` is a batch normalisation, whose PyTorch counterpart has a
    /// `num_batches_tracked` tensor.
    fn tracks_batches(&self, index: usize) -> bool {
        self.layers
            .get(index)
            .is_some_and(|l| l.buffers().iter().any(|(name, _)| *name == RUNNING_MEAN))
    }

    /// Writes the checkpoint: with the architecture when `specs` is given.
    fn write_checkpoint(&self, path: &Path, specs: Option<&[LayerSpec]>) -> Result<()> {
        let fail = |problem| checkpoint_error(path, problem);
        let tensors = self.encode_tensors(path)?;
        let mut metadata = HashMap::new();
        metadata.insert(KEY_FORMAT.to_string(), FORMAT.to_string());
        metadata.insert(KEY_VERSION.to_string(), FORMAT_VERSION.to_string());
        metadata.insert(KEY_INPUT_WIDTH.to_string(), self.input_width().to_string());
        insert_input_shape(&mut metadata, self.input_shape());
        if let Some(specs) = specs {
            let json = serde_json::to_string(specs).map_err(|e| {
                fail(CheckpointProblem::Architecture(format!(
                    "cannot write it as JSON: {e}"
                )))
            })?;
            metadata.insert(KEY_ARCHITECTURE.to_string(), json);
        }
        let bytes = serialize(path, &tensors, metadata, canonical_with_checksum)?;
        // What we write must read back.
        Checkpoint::parse(path, &bytes)?;
        write_atomically(path, &bytes)
    }

    /// The model's tensors as [`save`](Sequential::save) writes them (names, layouts,
    /// `num_batches_tracked`), for the file at `path`; training checkpoints share it.
    ///
    /// # Errors
    /// [`CheckpointProblem::NonFinite`] naming every parameter or buffer holding NaN or
    /// infinite values; [`CheckpointProblem::Architecture`] for two tensors of one name.
    pub(crate) fn encode_tensors(&self, path: &Path) -> Result<Vec<(String, Tensor)>> {
        let fail = |problem| checkpoint_error(path, problem);
        let slots = self.slots(path)?;
        let mut tensors = Vec::with_capacity(slots.len());
        let mut non_finite = Vec::new();
        for slot in &slots {
            let layer = &self.layers[slot.layer];
            let values = if slot.buffer {
                layer.buffers()
            } else {
                layer.parameters()
            };
            let Some((_, value)) = values.into_iter().find(|(name, _)| *name == slot.local) else {
                continue; // cannot happen: the slot was read from the same list
            };
            if value.iter().any(|v| !v.is_finite()) {
                non_finite.push(slot.name.clone());
            }
            tensors.push((slot.name.clone(), Tensor::encode(slot.layout, value)));
        }
        if !non_finite.is_empty() {
            return Err(fail(CheckpointProblem::NonFinite(non_finite)));
        }
        for index in 0..self.layers.len() {
            if self.tracks_batches(index) {
                tensors.push((
                    format!("{index}.{NUM_BATCHES_TRACKED}"),
                    Tensor {
                        dtype: Dtype::I64,
                        shape: Vec::new(),
                        data: 0i64.to_le_bytes().to_vec(),
                    },
                ));
            }
        }
        Ok(tensors)
    }

    /// Checks every tensor of `file` against the model, then loads them all, or nothing.
    fn read_tensors(&mut self, path: &Path, file: &Checkpoint<'_>) -> Result<()> {
        self.read_tensors_from(path, &file.tensors, &|_| false)
    }

    /// [`read_tensors`](Sequential::read_tensors) from the tensors of any safetensors file,
    /// passing over the names for which `skip` holds (the optimizer's tensors of a training
    /// checkpoint, say).
    pub(crate) fn read_tensors_from(
        &mut self,
        path: &Path,
        tensors: &SafeTensors<'_>,
        skip: &dyn Fn(&str) -> bool,
    ) -> Result<()> {
        let slots = self.slots(path)?;
        let (mut missing, mut invalid) = (Vec::new(), Vec::new());
        let mut values = Vec::with_capacity(slots.len());
        for slot in &slots {
            match tensors.tensor(&slot.name) {
                Err(_) => missing.push(slot.name.clone()),
                Ok(view) => match slot.decode(&view) {
                    Ok(value) => values.push(value),
                    Err(reason) => invalid.push(format!("{}: {reason}", slot.name)),
                },
            }
        }
        let known: BTreeSet<&str> = slots.iter().map(|s| s.name.as_str()).collect();
        let mut unexpected: Vec<String> = tensors
            .names()
            .into_iter()
            .filter(|name| !known.contains(name) && !self.ignored(name) && !skip(name))
            .map(str::to_string)
            .collect();
        unexpected.sort();
        if !(missing.is_empty() && unexpected.is_empty() && invalid.is_empty()) {
            return Err(checkpoint_error(
                path,
                CheckpointProblem::TensorMismatch {
                    missing,
                    unexpected,
                    invalid,
                },
            ));
        }
        let previous = self.current_values(&slots);
        let invalid = self.assign(&slots, &values);
        if !invalid.is_empty() {
            // A buffer refused its value (a negative variance): put everything back.
            self.assign(&slots, &previous);
            return Err(checkpoint_error(
                path,
                CheckpointProblem::TensorMismatch {
                    missing: Vec::new(),
                    unexpected: Vec::new(),
                    invalid,
                },
            ));
        }
        Ok(())
    }

    /// Whether the file's tensor `name` is one we read past: a batch normalisation's
    /// `num_batches_tracked`.
    fn ignored(&self, name: &str) -> bool {
        let Some((index, local)) = name.split_once('.') else {
            return false;
        };
        local == NUM_BATCHES_TRACKED
            && index
                .parse::<usize>()
                .is_ok_and(|i| i.to_string() == index && self.tracks_batches(i))
    }

    /// Copies of the values in `slots`, in the same order.
    fn current_values(&self, slots: &[Slot]) -> Vec<Array2<f32>> {
        slots
            .iter()
            .map(|slot| {
                let layer = &self.layers[slot.layer];
                let values = if slot.buffer {
                    layer.buffers()
                } else {
                    layer.parameters()
                };
                values
                    .into_iter()
                    .find(|(name, _)| *name == slot.local)
                    .map(|(_, v)| v.to_owned())
                    .unwrap_or_else(|| Array2::zeros(slot.dim))
            })
            .collect()
    }

    /// Writes `values` (one per slot, in the model's shapes) into the layers; returns the
    /// `name: reason` of each value a layer refused.
    fn assign(&mut self, slots: &[Slot], values: &[Array2<f32>]) -> Vec<String> {
        let mut refused = Vec::new();
        for (index, layer) in self.layers.iter_mut().enumerate() {
            let mine = || {
                slots
                    .iter()
                    .zip(values)
                    .filter(move |(slot, _)| slot.layer == index)
            };
            layer.visit_parameters_mut(&mut |mut parameter| {
                let found = mine().find(|(s, _)| !s.buffer && s.local == parameter.name);
                if let Some((slot, value)) = found {
                    if parameter.value.dim() == value.dim() {
                        parameter.value.assign(value);
                    } else {
                        refused.push(format!(
                            "{}: the layer's parameter is {:?}, not {:?} as it lists it",
                            slot.name,
                            parameter.value.dim(),
                            value.dim()
                        ));
                    }
                }
            });
            for (slot, value) in mine().filter(|(s, _)| s.buffer) {
                if let Err(e) = layer.set_buffer(slot.local, value.view()) {
                    refused.push(format!("{}: {e}", slot.name));
                }
            }
        }
        refused
    }
}

/// How many `f32` values a layer built from `spec` holds in its parameters and buffers.
fn values_needed(spec: &LayerSpec) -> u128 {
    match *spec {
        LayerSpec::Dense { inputs, outputs } => (inputs as u128 + 1) * outputs as u128,
        LayerSpec::BatchNorm1d { features, .. } | LayerSpec::BatchNorm2d { features, .. } => {
            4 * features as u128
        }
        LayerSpec::Conv2d(config) => {
            (config.fan_in() as u128 + u128::from(config.bias)) * config.out_channels as u128
        }
        LayerSpec::LayerNorm { features, .. } | LayerSpec::Normalization { features, .. } => {
            2 * features as u128
        }
        _ => 0,
    }
}

/// How a `(rows, cols)` tensor of ours is laid out in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// A `(1, n)` row, stored as the 1-D `[n]` (biases, gammas, betas, running statistics).
    Vector,
    /// Stored transposed, `[cols, rows]`: a [`Dense`](crate::layers::Dense) weight `W`,
    /// `(in, out)`, is stored as `W^T`, `[out, in]`, as `nn.Linear` keeps it.
    Transposed,
    /// Stored as it is, `[rows, cols]` (layers from outside the crate).
    AsIs,
    /// A [`Conv2d`](crate::layers::Conv2d) weight, `(out, (in / groups) kh kw)`, stored as
    /// PyTorch's `[out, in / groups, kh, kw]`: the same values in the same order.
    Kernel(usize, usize, usize),
}

impl Layout {
    /// The layout of tensor `name`, of shape `dim`, of a layer with `spec`.
    fn of(spec: Option<&LayerSpec>, name: &str, dim: (usize, usize)) -> Layout {
        match (spec, name) {
            (Some(LayerSpec::Dense { .. }), "weight") => Layout::Transposed,
            (Some(LayerSpec::Conv2d(config)), "weight") => Layout::Kernel(
                config.in_channels / config.groups.max(1),
                config.kernel.0,
                config.kernel.1,
            ),
            (
                Some(
                    LayerSpec::Dense { .. }
                    | LayerSpec::Conv2d(_)
                    | LayerSpec::BatchNorm1d { .. }
                    | LayerSpec::BatchNorm2d { .. }
                    | LayerSpec::LayerNorm { .. }
                    | LayerSpec::Normalization { .. },
                ),
                _,
            ) if dim.0 == 1 => Layout::Vector,
            _ => Layout::AsIs,
        }
    }

    /// The shape in the file of a tensor of ours of shape `dim`.
    fn file_shape(self, (rows, cols): (usize, usize)) -> Vec<usize> {
        match self {
            Layout::Vector => vec![cols],
            Layout::Transposed => vec![cols, rows],
            Layout::AsIs => vec![rows, cols],
            Layout::Kernel(c, kh, kw) => vec![rows, c, kh, kw],
        }
    }
}

/// One tensor of the model: where it lives and how it is stored.
#[derive(Debug)]
struct Slot {
    /// Index of the layer.
    layer: usize,
    /// Name within the layer (`weight`).
    local: &'static str,
    /// Name in the file (`0.weight`).
    name: String,
    /// A buffer rather than a parameter.
    buffer: bool,
    /// Our shape.
    dim: (usize, usize),
    layout: Layout,
}

impl Slot {
    /// The file's tensor as a value of ours, or why it cannot be one.
    fn decode(&self, view: &TensorView<'_>) -> std::result::Result<Array2<f32>, String> {
        let expected = self.layout.file_shape(self.dim);
        if view.dtype() != Dtype::F32 {
            return Err(format!(
                "dtype {:?}, expected F32 (in PyTorch, `.float()` converts)",
                view.dtype()
            ));
        }
        if view.shape() != expected.as_slice() {
            return Err(format!("shape {:?}, expected {expected:?}", view.shape()));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err("holds NaN or infinite values".to_string());
        }
        let (rows, cols) = self.dim;
        let shaped = match self.layout {
            Layout::Transposed => {
                Array2::from_shape_vec((cols, rows), values).map(|a| a.reversed_axes())
            }
            Layout::Vector | Layout::AsIs | Layout::Kernel(..) => {
                Array2::from_shape_vec((rows, cols), values)
            }
        };
        shaped.map_err(|e| format!("cannot be shaped {:?}: {e}", self.dim))
    }
}

impl Tensor {
    /// `value`, laid out as `layout` says, in little-endian bytes.
    fn encode(layout: Layout, value: ArrayView2<'_, f32>) -> Tensor {
        let ordered = match layout {
            Layout::Transposed => value.reversed_axes(),
            Layout::Vector | Layout::AsIs | Layout::Kernel(..) => value,
        };
        Tensor {
            dtype: Dtype::F32,
            shape: layout.file_shape(value.dim()),
            // `iter` walks the view in logical row-major order, whatever its memory layout.
            data: ordered.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

/// A safetensors file read and checked: structure, and for our files version and checksum.
struct Checkpoint<'a> {
    tensors: SafeTensors<'a>,
    metadata: HashMap<String, String>,
    /// Whether the metadata says `format = feedforward`.
    ours: bool,
}

impl<'a> Checkpoint<'a> {
    fn parse(path: &Path, bytes: &'a [u8]) -> Result<Checkpoint<'a>> {
        let fail = |problem| checkpoint_error(path, problem);
        let malformed = |e| fail(malformed(e));
        let (header_len, info) = SafeTensors::read_metadata(bytes).map_err(malformed)?;
        let tensors = SafeTensors::deserialize(bytes).map_err(malformed)?;
        let metadata = info.metadata().clone().unwrap_or_default();
        let ours = metadata.get(KEY_FORMAT).map(String::as_str) == Some(FORMAT);
        if ours {
            let found = metadata.get(KEY_VERSION).map(String::as_str);
            let version = match found.and_then(|v| v.parse::<u32>().ok()) {
                Some(version) if (1..=FORMAT_VERSION).contains(&version) => version,
                _ => {
                    return Err(fail(CheckpointProblem::UnsupportedVersion {
                        found: found.unwrap_or("(none)").to_string(),
                        supported: FORMAT_VERSION,
                    }))
                }
            };
            let data = &bytes[8 + header_len..];
            let expected = match version {
                1 => model_checksum_v1(&metadata, data),
                _ => model_checksum(&metadata, &tensor_table(&info), data),
            };
            if metadata.get(KEY_SHA256) != Some(&expected) {
                return Err(fail(CheckpointProblem::ChecksumMismatch));
            }
        }
        Ok(Checkpoint {
            tensors,
            metadata,
            ours,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Dense, Relu};
    use ndarray::array;

    #[test]
    fn dense_weights_are_stored_as_pytorch_keeps_them() {
        // W (in = 2, out = 3); nn.Linear(2, 3).weight is W^T, [3, 2].
        let dense = Dense::from_parameters(
            array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
            array![[0.5, 0.25, 0.125]],
        )
        .unwrap();
        let model = Sequential::builder(2)
            .push(dense)
            .push(Relu)
            .build()
            .unwrap();
        let slots = model.slots(Path::new("x")).unwrap();
        assert_eq!(slots[0].layout.file_shape(slots[0].dim), [3, 2]);
        assert_eq!(slots[1].layout.file_shape(slots[1].dim), [3]);
        let t = Tensor::encode(slots[0].layout, model.layers[0].parameters()[0].1);
        let values: Vec<f32> = t
            .data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(values, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    #[test]
    fn layouts_follow_the_layer_kind_not_the_shape() {
        let dense = LayerSpec::Dense {
            inputs: 1,
            outputs: 1,
        };
        // The perceptron's (1, 1) weight is still nn.Linear's [out, in] = [1, 1].
        assert_eq!(
            Layout::of(Some(&dense), "weight", (1, 1)).file_shape((1, 1)),
            [1, 1]
        );
        assert_eq!(
            Layout::of(Some(&dense), "bias", (1, 1)).file_shape((1, 1)),
            [1]
        );
        assert_eq!(Layout::of(None, "bias", (1, 4)), Layout::AsIs);
    }
}
