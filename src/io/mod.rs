//! The crate's files: models saved for PyTorch and for reloading, training checkpoints that
//! resume a run bit for bit, and ONNX exports.
//!
//! | file | written by | read by | module |
//! | --- | --- | --- | --- |
//! | a model (safetensors, PyTorch's `state_dict` names) | [`Sequential::save`](crate::Sequential::save), [`save_weights`](crate::Sequential::save_weights) | [`Sequential::load`](crate::Sequential::load), [`load_with`](crate::Sequential::load_with), [`load_weights`](crate::Sequential::load_weights), PyTorch | [`checkpoint`] |
//! | a training checkpoint (safetensors) | [`FitConfig::checkpoint`](crate::FitConfig::checkpoint) | [`Sequential::fit`](crate::Sequential::fit), [`TrainingCheckpoint::read`] | [`training_checkpoint`] |
//! | ONNX (feature `onnx`) | [`Sequential::save_onnx`](crate::Sequential::save_onnx) | onnxruntime, tract, ... | [`onnx`] |
//!
//! Every file is written atomically (a temporary file beside the target, synced, renamed over
//! it) and read with limits (regular files only, at most [`MAX_CHECKPOINT_BYTES`]), with errors
//! that name the file. This module depends on the model; the model never depends on it: the
//! training loop backs up through a hook that [`FitConfig::checkpoint`](crate::FitConfig::checkpoint)
//! plugs this module's format into.

pub(crate) mod atomic_write;
pub mod checkpoint;
mod checksum;
pub(crate) mod file_limits;
mod header;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod training_checkpoint;

pub use header::{FORMAT, MAX_CHECKPOINT_BYTES, TRAINING_FORMAT};
pub use training_checkpoint::TrainingCheckpoint;
