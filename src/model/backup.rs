//! The hook through which [`Sequential::fit`](super::Sequential::fit) backs up a run and resumes
//! it after a crash (Keras's `BackupAndRestore`), without knowing the file format.
//!
//! The loop hands a [`TrainingBackup`] everything a resumed run needs, as a [`RunState`]: the
//! model, the optimizer, the batch order's generator, the callbacks, the history and the
//! run's [`Setup`]. The training-checkpoint format (`crate::io::training_checkpoint`)
//! implements it, and [`FitConfig::checkpoint`](super::FitConfig::checkpoint), defined there,
//! plugs it in: the formats depend on the model, never the reverse.

use super::callbacks::Callback;
use super::{History, Sequential};
use crate::data::{Batches, Order};
use crate::losses::Loss;
use crate::optim::Optimizer;
use crate::random::GeneratorState;
use crate::Result;
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The settings a run must share with the backup it resumes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Setup {
    /// The optimizer's learning rate when `fit` started (the schedules' base).
    pub base_learning_rate: f32,
    /// Rows per batch.
    pub batch_size: usize,
    /// The shuffling seed, `None` in order.
    pub shuffle_seed: Option<u32>,
    /// For [`Order::ShuffleBuffer`]: `[buffer_size, block_size]` (absent for the other orders,
    /// so that their checkpoints are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_buffer: Option<[usize; 2]>,
    /// Rows trained on per epoch.
    pub training_rows: usize,
    /// Rows of validation data (0 without).
    pub validation_rows: usize,
    /// The loss trained with, as [`Loss::description`](crate::Loss::description) gives it;
    /// `None` in a checkpoint written before the loss was recorded (version 1), where it is
    /// unknown.
    #[serde(default)]
    pub loss: Option<String>,
}

impl Setup {
    /// The settings of a run at `base_learning_rate`, in batches of `batch_size` in `order`,
    /// over `training_rows` rows (and `validation_rows` of validation), with `loss`.
    pub(crate) fn new(
        base_learning_rate: f32,
        batch_size: usize,
        order: Order,
        training_rows: usize,
        validation_rows: usize,
        loss: &dyn Loss,
    ) -> Setup {
        Setup {
            base_learning_rate,
            batch_size,
            shuffle_seed: order.seed(),
            shuffle_buffer: match order {
                Order::ShuffleBuffer {
                    buffer_size,
                    block_size,
                    ..
                } => Some([buffer_size, block_size]),
                Order::InOrder | Order::Shuffled { .. } => None,
            },
            training_rows,
            validation_rows,
            loss: Some(loss.description()),
        }
    }
}

/// The state of a run between two epochs: what a backup saves and what a resume restores.
pub(crate) struct RunState<'a, 'b> {
    pub model: &'a mut Sequential,
    pub optimizer: &'a mut dyn Optimizer,
    pub batches: &'a mut Batches,
    pub callbacks: &'a mut [&'b mut dyn Callback],
    pub history: &'a mut History,
    pub setup: &'a Setup,
    /// Epochs of the whole run.
    pub epochs: usize,
    /// The processes of a data-parallel run (`distributed`, feature `mpi`); `None` for one
    /// process.
    pub processes: Option<&'a Processes>,
}

/// The processes of a data-parallel run, as a training checkpoint sees them.
#[derive(Debug, Default)]
pub(crate) struct Processes {
    /// This process's rank, from 0.
    pub rank: usize,
    /// The number of processes (the world size).
    pub size: usize,
    /// When rank 0 saves: the own state of ranks 1, 2, ..., in rank order (empty otherwise).
    pub others: Vec<RankState>,
}

/// What differs from process to process in a data-parallel run: the generators of the layers
/// that draw numbers (dropout) and the buffers (batch-norm running statistics, rank-local
/// while training).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RankState {
    /// By layer index.
    pub generators: Vec<(usize, GeneratorState)>,
    /// As [`Snapshot::buffers`](super::Snapshot): `(layer index, name, value)`.
    pub buffers: Vec<(usize, &'static str, Array2<f32>)>,
}

/// Saves a run's state at the end of epochs and restores it when the run starts again.
pub(crate) trait TrainingBackup: Sync {
    /// Called before the first epoch: fails now, rather than after an epoch of training, when
    /// the backup could not be written.
    fn prepare(&self, path: &Path, run: &RunState<'_, '_>) -> Result<()>;

    /// Restores the run from the backup at `path` when there is one, returning its history
    /// (with the finished epochs); `None` when there is nothing to resume from.
    fn restore(&self, path: &Path, run: &mut RunState<'_, '_>) -> Result<Option<History>>;

    /// Saves the run's state at the end of an epoch.
    fn save(&self, path: &Path, run: &RunState<'_, '_>) -> Result<()>;
}

/// Where and how [`Sequential::fit`](super::Sequential::fit) backs up a run: the value of
/// [`FitConfig::checkpoint`](super::FitConfig::checkpoint), made by the method of that name.
#[derive(Clone, Copy)]
pub struct Backup<'a> {
    pub(crate) path: &'a Path,
    pub(crate) store: &'static dyn TrainingBackup,
}

impl<'a> Backup<'a> {
    /// The file the run is backed up to.
    pub fn path(&self) -> &'a Path {
        self.path
    }
}

impl std::fmt::Debug for Backup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Backup").field(&self.path).finish()
    }
}

/// Takes over the `restored` history of a resumed run: reports [`Progress::Resumed`] to the
/// callbacks and returns the epoch to train next (`epochs` when the saved run had already
/// stopped early) and the training time the earlier runs took.
pub(crate) fn resume_history(
    history: &mut History,
    restored: History,
    epochs: usize,
    callbacks: &mut [&mut dyn Callback],
) -> (usize, std::time::Duration) {
    *history = restored;
    let done = history.epoch_losses.len();
    let stopped = history.stopped_at.is_some();
    super::callbacks::report(
        callbacks,
        &super::Progress::Resumed {
            epoch: done,
            epochs,
            stopped,
        },
    );
    let first_epoch = if stopped { epochs } else { done };
    (first_epoch, history.training_time)
}
