//! The processes of a data-parallel run in a training checkpoint (`distributed`, feature `mpi`):
//! the world size, and the own state of every process but rank 0 (whose state is the file's
//! model and generators).
//!
//! In the file, for every rank `r` from 1:
//! - `rank.{r}.generator.layer.{index}.key` (`U32`, 624 words): the Mersenne Twister of each
//!   layer that draws numbers (dropout), with its position and cached normal in the `ranks`
//!   metadata entry;
//! - `rank.{r}.{index}.{buffer}` (`F32`, as the model's buffers): the batch-norm running
//!   statistics, which each process updates from its own shards while training;
//!
//! and in the metadata, `world_size` (the number of processes) and `ranks` (JSON: per rank, the
//! generators' positions and the buffers' names). A file written by one process has none of
//! these (format version 2) and counts as a world of 1; a file with them is format version 3,
//! which older versions of feedforward refuse by its number rather than misread.

use super::tensors::{from_json, key_tensor, read_f32, read_generator, to_json};
use super::*;
use crate::model::backup::{Processes, RankState};

/// The prefix of the tensors of the processes other than rank 0.
pub(super) const RANK: &str = "rank.";
const KEY_WORLD_SIZE: &str = "world_size";
const KEY_RANKS: &str = "ranks";

/// The format version of a file that holds the state of several processes.
pub(super) const PROCESSES_VERSION: u32 = 3;

/// One rank's entry of the `ranks` metadata entry.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RankMeta {
    rank: usize,
    generators: BTreeMap<usize, GeneratorMeta>,
    /// `(layer index, buffer name)`, in model order.
    buffers: Vec<(usize, String)>,
}

/// The own state of a process other than rank 0, as read from a file.
#[derive(Debug)]
pub(super) struct SavedRank {
    generators: BTreeMap<usize, GeneratorState>,
    buffers: Vec<(usize, String, Array2<f32>)>,
}

/// Adds the processes of `processes` (on rank 0, with the others' states) to a file being
/// written; returns the format version the file takes.
pub(super) fn write_processes(
    path: &Path,
    processes: Option<&Processes>,
    tensors: &mut Vec<(String, Tensor)>,
    metadata: &mut HashMap<String, String>,
    non_finite: &mut Vec<String>,
) -> Result<u32> {
    let Some(processes) = processes.filter(|p| p.size > 1) else {
        return Ok(TRAINING_FORMAT_VERSION - 1);
    };
    if processes.others.len() + 1 != processes.size {
        return Err(checkpoint_error(
            path,
            CheckpointProblem::Malformed(format!(
                "the states of {} processes for a world of {}: written by rank 0 alone, with \
                 the others' states gathered",
                processes.others.len() + 1,
                processes.size
            )),
        ));
    }
    let mut ranks = Vec::with_capacity(processes.others.len());
    for (rank, state) in (1..).zip(&processes.others) {
        let mut meta = RankMeta {
            rank,
            generators: BTreeMap::new(),
            buffers: Vec::with_capacity(state.buffers.len()),
        };
        for (index, generator) in &state.generators {
            tensors.push((
                format!("{RANK}{rank}.{GENERATOR}layer.{index}.key"),
                key_tensor(&generator.key),
            ));
            meta.generators.insert(
                *index,
                GeneratorMeta {
                    pos: generator.pos,
                    gauss: generator.gauss,
                },
            );
        }
        for (index, name, value) in &state.buffers {
            let full = format!("{RANK}{rank}.{index}.{name}");
            if value.iter().any(|v| !v.is_finite()) {
                non_finite.push(full.clone());
            }
            let (rows, cols) = value.dim();
            tensors.push((
                full,
                Tensor {
                    dtype: Dtype::F32,
                    shape: vec![rows, cols],
                    data: value.iter().flat_map(|v| v.to_le_bytes()).collect(),
                },
            ));
            meta.buffers.push((*index, name.to_string()));
        }
        ranks.push(meta);
    }
    metadata.insert(KEY_WORLD_SIZE.to_string(), processes.size.to_string());
    metadata.insert(KEY_RANKS.to_string(), to_json(path, &ranks)?);
    Ok(PROCESSES_VERSION)
}

/// The world size of a file (1 without the entry) and the states of its ranks from 1.
pub(super) fn read_processes(
    tensors: &SafeTensors<'_>,
    metadata: &HashMap<String, String>,
) -> std::result::Result<(usize, Vec<SavedRank>), String> {
    let Some(size) = metadata.get(KEY_WORLD_SIZE) else {
        return Ok((1, Vec::new()));
    };
    let size: usize = size
        .parse()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("{KEY_WORLD_SIZE} = {size:?} is not a number of processes"))?;
    let ranks: Vec<RankMeta> = from_json(
        metadata
            .get(KEY_RANKS)
            .ok_or_else(|| format!("no {KEY_RANKS} metadata"))?,
        KEY_RANKS,
    )?;
    if ranks.len() + 1 != size || ranks.iter().zip(1..).any(|(meta, r)| meta.rank != r) {
        return Err(format!(
            "{KEY_RANKS} does not list the ranks 1 to {} of a world of {size}",
            size - 1
        ));
    }
    let mut saved = Vec::with_capacity(ranks.len());
    for meta in ranks {
        let rank = meta.rank;
        let mut generators = BTreeMap::new();
        for (index, generator) in &meta.generators {
            let name = format!("{RANK}{rank}.{GENERATOR}layer.{index}.key");
            generators.insert(*index, read_generator(tensors, &name, generator)?);
        }
        let mut buffers = Vec::with_capacity(meta.buffers.len());
        for (index, name) in meta.buffers {
            let full = format!("{RANK}{rank}.{index}.{name}");
            let (shape, values) = read_f32(tensors, &full, Some(2))?;
            let value = Array2::from_shape_vec((shape[0], shape[1]), values)
                .map_err(|e| format!("{full}: {e}"))?;
            buffers.push((index, name, value));
        }
        saved.push(SavedRank {
            generators,
            buffers,
        });
    }
    Ok((size, saved))
}

impl TrainingCheckpoint {
    /// The number of processes of the run that wrote the checkpoint: 1 for [`Sequential::fit`],
    /// the world size for data-parallel training (`distributed`, feature `mpi`).
    pub fn world_size(&self) -> usize {
        self.world_size
    }

    /// Checks that a run on `processes` (`None`: one process) may resume from this file: the
    /// same number of processes.
    pub(super) fn check_world_size(&self, processes: Option<&Processes>) -> Result<()> {
        let current = processes.map_or(1, |p| p.size);
        if current != self.world_size {
            return Err(self.error(CheckpointProblem::WorldSizeMismatch {
                saved: self.world_size,
                current,
            }));
        }
        Ok(())
    }

    /// The own state of process `rank` (from 1), fitted to `model`'s buffers, or a
    /// [`CheckpointProblem::ModelMismatch`] saying what does not fit.
    pub(super) fn rank_state(&self, rank: usize, model: &Sequential) -> Result<RankState> {
        let fail = |reason: String| self.error(CheckpointProblem::ModelMismatch(reason));
        let saved = rank
            .checked_sub(1)
            .and_then(|i| self.ranks.get(i))
            .ok_or_else(|| fail(format!("the checkpoint has no state of process {rank}")))?;
        let snapshot = model.snapshot();
        let like = snapshot.buffers();
        let names = |buffers: &mut dyn Iterator<Item = (usize, &str)>| -> Vec<String> {
            buffers.map(|(i, n)| format!("{i}.{n}")).collect()
        };
        let (now, then) = (
            names(&mut like.iter().map(|(i, n, _)| (*i, *n))),
            names(&mut saved.buffers.iter().map(|(i, n, _)| (*i, n.as_str()))),
        );
        if now != then {
            return Err(fail(format!(
                "process {rank}'s buffers are {then:?} in the checkpoint, {now:?} in this model"
            )));
        }
        let mut buffers = Vec::with_capacity(like.len());
        for ((index, name, value), (_, _, saved)) in like.iter().zip(&saved.buffers) {
            if value.dim() != saved.dim() {
                return Err(fail(format!(
                    "process {rank}'s buffer {index}.{name} is {:?} in the checkpoint, {:?} in \
                     this model",
                    saved.dim(),
                    value.dim()
                )));
            }
            buffers.push((*index, *name, saved.clone()));
        }
        let with_generator: Vec<usize> = model
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.generator().is_some())
            .map(|(i, _)| i)
            .collect();
        let generators: Vec<usize> = saved.generators.keys().copied().collect();
        if with_generator != generators {
            return Err(fail(format!(
                "the layers drawing random numbers are {generators:?} for process {rank} in the \
                 checkpoint, {with_generator:?} in this model"
            )));
        }
        Ok(RankState {
            generators: saved
                .generators
                .iter()
                .map(|(i, g)| (*i, g.clone()))
                .collect(),
            buffers,
        })
    }
}

/// Puts a process's own state into `model`: its layers' generators and its buffers.
///
/// # Errors
/// A layer's error when it refuses a buffer (checked before: [`TrainingCheckpoint::rank_state`]
/// fits the state to the model).
pub(super) fn load_rank_state(model: &mut Sequential, state: &RankState) -> Result<()> {
    let snapshot = model.snapshot();
    let parameters = snapshot.parameters().to_vec();
    model.restore(&crate::model::Snapshot::from_parts(
        parameters,
        state.buffers.clone(),
    ))?;
    for (index, generator) in &state.generators {
        if let Some(rng) = model.layers[*index].generator_mut() {
            *rng = RandomState::from_state(generator)?;
        }
    }
    Ok(())
}

/// The bytes of the training checkpoint at `path`, `None` when there is none: what rank 0 reads
/// and sends to every process when a data-parallel run starts.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, as [`TrainingCheckpoint::read`].
#[cfg(feature = "mpi")]
pub(crate) fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>> {
    let exists = path
        .try_exists()
        .map_err(|e| Error::io("looking for", path, e))?;
    if !exists {
        return Ok(None);
    }
    read(path).map(Some)
}

/// Resumes `run` (on the process and world of `run.processes`) from the bytes of the training
/// checkpoint at `path`, as every process of a data-parallel run does with the bytes rank 0
/// read: checked and decoded alike on every process, each then takes its own state.
///
/// # Errors
/// As [`TrainingCheckpoint::read`] and [`Sequential::fit`]'s resume;
/// [`CheckpointProblem::WorldSizeMismatch`] for a file of another number of processes.
#[cfg(feature = "mpi")]
pub(crate) fn resume_from_bytes(
    path: &Path,
    bytes: Vec<u8>,
    run: &mut RunState<'_, '_>,
) -> Result<History> {
    TrainingCheckpoint::parse(path, bytes)?.resume(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Batches, InMemory, Order};
    use crate::prelude::*;

    fn model() -> Sequential {
        Sequential::builder(3)
            .seed(2)
            .dense(4, Init::HeNormal)
            .push(BatchNorm1d::new(4).unwrap())
            .push(Dropout::new(0.5, 7).unwrap())
            .dense(1, Init::XavierNormal)
            .build()
            .unwrap()
    }

    /// Another process's state: other statistics, its generator further on.
    fn other_state(model: &Sequential) -> RankState {
        let snapshot = model.snapshot();
        let mut rng = RandomState::new(99);
        rng.rand(3, 3).unwrap();
        RankState {
            generators: vec![(2, rng.state())],
            buffers: snapshot
                .buffers()
                .iter()
                .map(|(i, n, b)| (*i, *n, b.mapv(|v| v + 0.25)))
                .collect(),
        }
    }

    #[test]
    fn a_file_of_two_processes_gives_each_its_state_and_refuses_one_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.ckpt");
        let mut model = model();
        let mut sgd = Sgd::new(0.1).unwrap();
        let mut batches = Batches::new(8, 4, Order::Shuffled { seed: 1 }).unwrap();
        let mut history = History::default();
        history.record(&crate::model::EpochLog {
            epoch: 0,
            loss: 0.5,
            accuracy: None,
            regression: None,
            validation_loss: None,
            validation_accuracy: None,
            validation_regression: None,
            learning_rate: 0.1,
            duration: Duration::from_millis(3),
        });
        let setup = Setup {
            base_learning_rate: 0.1,
            batch_size: 4,
            shuffle_seed: Some(1),
            shuffle_buffer: None,
            training_rows: 8,
            validation_rows: 0,
            loss: Some(Mse.description()),
        };
        let other = other_state(&model);
        let processes = Processes {
            rank: 0,
            size: 2,
            others: vec![other.clone()],
        };
        let run = RunState {
            model: &mut model,
            optimizer: &mut sgd,
            batches: &mut batches,
            callbacks: &mut [],
            history: &mut history,
            setup: &setup,
            epochs: 3,
            processes: Some(&processes),
        };
        TrainingCheckpoint::write(&path, &run).unwrap();
        let file = TrainingCheckpoint::read(&path).unwrap();
        assert_eq!(file.world_size(), 2);
        assert_eq!(file.rank_state(1, &model).unwrap(), other);
        // Rank 0's state is the file's model.
        assert_eq!(file.model().unwrap().snapshot(), model.snapshot());
        let bytes = std::fs::read(&path).unwrap();
        let needle = b"\"format_version\":\"3\"";
        assert!(bytes.windows(needle.len()).any(|w| w == needle));

        // Process 1 resuming takes its own state.
        let mut one = self::model();
        let mut sgd = Sgd::new(0.1).unwrap();
        let mut batches = Batches::new(8, 4, Order::Shuffled { seed: 1 }).unwrap();
        let rank_1 = Processes {
            rank: 1,
            size: 2,
            others: Vec::new(),
        };
        let mut run = RunState {
            model: &mut one,
            optimizer: &mut sgd,
            batches: &mut batches,
            callbacks: &mut [],
            history: &mut History::default(),
            setup: &setup,
            epochs: 3,
            processes: Some(&rank_1),
        };
        file.resume(&mut run).unwrap();
        assert_eq!(one.snapshot().buffers(), &other.buffers[..]);
        assert_eq!(
            one.layers()[2].generator().unwrap().state(),
            other.generators[0].1
        );
        assert_eq!(one.parameters(), model.parameters());

        // One process (Sequential::fit) refuses it, naming both sizes; nothing changes.
        let data = InMemory::new(
            RandomState::new(3).rand(8, 3).unwrap(),
            RandomState::new(4).rand(8, 1).unwrap(),
        )
        .unwrap();
        let mut alone = self::model();
        let before = alone.snapshot();
        let config = FitConfig::new(3).batch_size(4).shuffle(1).checkpoint(&path);
        let error = alone
            .fit(&data, &Mse, &mut Sgd::new(0.1).unwrap(), &config)
            .unwrap_err()
            .error;
        assert!(
            matches!(
                &error,
                Error::Checkpoint {
                    problem: CheckpointProblem::WorldSizeMismatch {
                        saved: 2,
                        current: 1
                    },
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("2 process"), "{error}");
        assert_eq!(alone.snapshot(), before);
    }
}
