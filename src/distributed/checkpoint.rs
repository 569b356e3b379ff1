//! Training checkpoints of a data-parallel run ([`FitConfig::checkpoint`](crate::FitConfig::checkpoint)
//! given to [`DataParallel::fit`]).
//!
//! What differs from process to process is each one's own state: the generators of the layers
//! that draw numbers (dropout) and the buffers (batch-norm running statistics, rank-local while
//! training). Everything else (parameters, optimizer, shuffling generator, history, step count)
//! is the same everywhere, so rank 0's stands for all.
//!
//! **One file, gathered by rank 0**, rather than one file per process: at every checkpoint the
//! processes send their own state to rank 0 (one gather of a few kilobytes: 628 words per
//! dropout layer, the batch-norm statistics), which writes a single
//! [`TrainingCheckpoint`](crate::io::TrainingCheckpoint) with every process's state in it
//! (format version 3, see `io::training_checkpoint`), atomically (a temporary file renamed over
//! the old one). So the checkpoint of epoch `k` is committed for all the processes by one
//! rename: a process killed at any moment leaves either the whole old checkpoint or the whole
//! new one, never the files of some processes at epoch `k` and others at `k - 1`, which files per
//! process could not promise without a second protocol. The file records the world size; a run
//! on another number of processes is refused with
//! [`CheckpointProblem::WorldSizeMismatch`](crate::error::CheckpointProblem::WorldSizeMismatch).
//! To resume, rank 0 reads the file and broadcasts its bytes: the processes need no shared
//! folder, and every one checks the same bytes, then takes its own state from them.

use super::DataParallel;
use crate::model::backup::{Processes, RankState, RunState};
use crate::model::{Backup, History, Sequential};
use crate::random::GeneratorState;
use crate::{Error, Result};
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use std::path::Path;

/// Words of a Mersenne Twister key.
const KEY_WORDS: usize = 624;
/// Words of a generator: its key, its position, whether a normal is cached, the normal's bits.
const GENERATOR_WORDS: usize = KEY_WORDS + 4;
/// Bytes broadcast at once (MPI counts are `i32`).
const CHUNK: usize = 1 << 30;

impl<C: Communicator> DataParallel<C> {
    /// `result` when every process succeeded; otherwise this process's own error, or on the
    /// processes that succeeded an [`Error::Distributed`] naming the first that failed at
    /// `what`. Collective (one gather of a byte per process).
    pub(super) fn agree<T>(&self, result: Result<T>, what: &str) -> Result<T> {
        let mine = u8::from(result.is_err());
        let mut all = vec![0u8; self.size];
        self.comm.all_gather_into(&mine, &mut all[..]);
        match (result, all.iter().position(|&f| f != 0)) {
            (Err(error), _) => Err(error),
            (Ok(_), Some(rank)) => Err(Error::Distributed {
                rank,
                problem: format!("{what} failed there (its own error says why)"),
            }),
            (Ok(value), None) => Ok(value),
        }
    }

    /// Before the first epoch: rank 0 checks that the checkpoint can be written (its folder,
    /// the optimizer's and callbacks' states), and every process learns the outcome.
    pub(super) fn prepare_checkpoint(
        &self,
        backup: Backup<'_>,
        run: &RunState<'_, '_>,
    ) -> Result<()> {
        let result = match self.is_root() {
            true => backup.store.prepare(backup.path, run),
            false => Ok(()),
        };
        self.agree(result, "preparing the training checkpoint")
    }

    /// Resumes `run` from the checkpoint at `path` when rank 0 finds one: rank 0 reads it and
    /// broadcasts its bytes, every process checks them and takes its own state
    /// (`run.processes` says which). `None` when there is no checkpoint.
    pub(super) fn restore_checkpoint(
        &self,
        path: &Path,
        run: &mut RunState<'_, '_>,
    ) -> Result<Option<History>> {
        let root = self.comm.process_at_rank(0);
        // [status (0: no file, 1: a file, 2: rank 0 could not read it), length]
        let mut header = [0u64; 2];
        let mut read = None;
        if self.is_root() {
            match crate::io::training_checkpoint::read_bytes(path) {
                Ok(None) => {}
                Ok(Some(bytes)) => {
                    header = [1, bytes.len() as u64];
                    read = Some(Ok(bytes));
                }
                Err(error) => {
                    header[0] = 2;
                    read = Some(Err(error));
                }
            }
        }
        root.broadcast_into(&mut header[..]);
        let mut bytes = match (header[0], read) {
            (0, _) => return Ok(None),
            (2, Some(Err(error))) => return Err(error),
            (2, _) => {
                return Err(Error::Distributed {
                    rank: 0,
                    problem: format!(
                        "reading the training checkpoint {} failed there (its own error says \
                         why)",
                        path.display()
                    ),
                })
            }
            (_, Some(Ok(bytes))) => bytes,
            _ => vec![0u8; header[1] as usize],
        };
        for chunk in bytes.chunks_mut(CHUNK) {
            root.broadcast_into(chunk);
        }
        let resumed = crate::io::training_checkpoint::resume_from_bytes(path, bytes, run);
        self.agree(resumed, "resuming from the training checkpoint")
            .map(Some)
    }

    /// Writes the checkpoint at the end of an epoch: every process sends its own state to rank
    /// 0, which writes the file with them all; every process learns the outcome.
    pub(super) fn save_checkpoint(&self, backup: Backup<'_>, run: RunState<'_, '_>) -> Result<()> {
        let words = own_words(run.model);
        let root = self.comm.process_at_rank(0);
        let result = if self.is_root() {
            let mut all = vec![0u32; words.len() * self.size];
            root.gather_into_root(&words[..], &mut all[..]);
            // (A model without generators or buffers sends no words: its states are empty.)
            let len = words.len();
            let others = (1..self.size)
                .map(|rank| rank_state(run.model, &all[rank * len..(rank + 1) * len]))
                .collect();
            let processes = Processes {
                rank: 0,
                size: self.size,
                others,
            };
            let RunState {
                model,
                optimizer,
                batches,
                callbacks,
                history,
                setup,
                epochs,
                processes: _,
            } = run;
            let run = RunState {
                model,
                optimizer,
                batches,
                callbacks,
                history,
                setup,
                epochs,
                processes: Some(&processes),
            };
            backup.store.save(backup.path, &run)
        } else {
            root.gather_into(&words[..]);
            Ok(())
        };
        self.agree(result, "writing the training checkpoint")
    }
}

/// This process's own state as words: every layer generator (in layer order: its 624-word
/// key, its position, 1 when a normal is cached, the normal's bits high then low), then the
/// bits of every buffer (in model order). The same length on every process of the same model.
pub(super) fn own_words(model: &Sequential) -> Vec<u32> {
    let mut words = Vec::new();
    for layer in model.layers() {
        if let Some(rng) = layer.generator() {
            let state = rng.state();
            words.extend_from_slice(&state.key);
            let gauss = state.gauss.map_or(0, f64::to_bits);
            words.extend([
                state.pos as u32,
                u32::from(state.gauss.is_some()),
                (gauss >> 32) as u32,
                gauss as u32,
            ]);
        }
    }
    for (_, value) in model.buffers() {
        words.extend(value.iter().map(|v| v.to_bits()));
    }
    words
}

/// The state of another process from its [`own_words`], shaped as `model`'s (every process
/// has the same model: checked when training starts).
fn rank_state(model: &Sequential, words: &[u32]) -> RankState {
    let mut offset = 0;
    let mut generators = Vec::new();
    for (index, layer) in model.layers().iter().enumerate() {
        if layer.generator().is_some() {
            let part = &words[offset..offset + GENERATOR_WORDS];
            offset += GENERATOR_WORDS;
            let gauss = (u64::from(part[KEY_WORDS + 2]) << 32) | u64::from(part[KEY_WORDS + 3]);
            generators.push((
                index,
                GeneratorState {
                    key: part[..KEY_WORDS].to_vec(),
                    pos: part[KEY_WORDS] as usize,
                    gauss: (part[KEY_WORDS + 1] != 0).then(|| f64::from_bits(gauss)),
                },
            ));
        }
    }
    let snapshot = model.snapshot();
    let buffers = snapshot
        .buffers()
        .iter()
        .map(|(index, name, like)| {
            let len = like.len();
            let values = words[offset..offset + len]
                .iter()
                .map(|&w| f32::from_bits(w))
                .collect();
            offset += len;
            let value = ndarray::Array2::from_shape_vec(like.dim(), values)
                .expect("the length matches the shape");
            (*index, *name, value)
        })
        .collect();
    RankState {
        generators,
        buffers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn own_words_round_trip_through_rank_state() {
        let mut model = Sequential::builder(4)
            .seed(3)
            .dense(6, Init::HeNormal)
            .push(BatchNorm1d::new(6).unwrap())
            .push(Dropout::new(0.5, 9).unwrap())
            .dense(2, Init::XavierNormal)
            .build()
            .unwrap();
        let x = RandomState::new(1).rand(8, 4).unwrap();
        let y = RandomState::new(2).rand(8, 2).unwrap();
        model
            .train_step(x.view(), y.view(), &Mse, &mut Sgd::new(0.1).unwrap())
            .unwrap();
        let state = rank_state(&model, &own_words(&model));
        assert_eq!(state.generators.len(), 1);
        assert_eq!(state.generators[0].0, 2);
        assert_eq!(
            state.generators[0].1,
            model.layers()[2].generator().unwrap().state()
        );
        assert_eq!(&state.buffers[..], model.snapshot().buffers());
    }
}
