//! [`DataParallel`]: one model trained by every process of an MPI communicator.

use super::shard;
use crate::losses::Loss;
use crate::model::{Sequential, Snapshot};
use crate::optim::Optimizer;
use crate::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use ndarray::{Array2, ArrayView2};

/// Data-parallel training over the processes of an MPI communicator (see the
/// [module documentation](super) for the algorithm and its guarantees).
///
/// Every process builds the same model and calls the same methods in the same order; each call
/// is collective (every process takes part, or the others wait).
pub struct DataParallel<C: Communicator> {
    pub(super) comm: C,
    pub(super) rank: usize,
    pub(super) size: usize,
    /// What this process sends to the all-reduce: its weighted gradients, then its weighted
    /// loss, then one failure flag per process.
    send: Vec<f32>,
    /// What the all-reduce returns: the sums of `send` over the processes.
    received: Vec<f32>,
    /// The shard of a batch copied out of a data set by `fit`.
    pub(super) batch_inputs: Array2<f32>,
    pub(super) batch_targets: Array2<f32>,
}

impl<C: Communicator> std::fmt::Debug for DataParallel<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataParallel")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .finish()
    }
}

impl<C: Communicator> DataParallel<C> {
    /// Data-parallel training over `comm`'s processes (`universe.world()` for all of them).
    pub fn new(comm: C) -> Self {
        let rank = usize::try_from(comm.rank()).expect("MPI ranks are never negative");
        let size = usize::try_from(comm.size()).expect("MPI sizes are never negative");
        DataParallel {
            comm,
            rank,
            size,
            send: Vec::new(),
            received: Vec::new(),
            batch_inputs: Array2::zeros((0, 0)),
            batch_targets: Array2::zeros((0, 0)),
        }
    }

    /// This process's rank, from 0.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes (MPI's world size).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this process is rank 0, the one that prints and writes files.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// The communicator.
    pub fn communicator(&self) -> &C {
        &self.comm
    }

    /// Gives every process rank 0's parameters and buffers (batch-norm running statistics), as
    /// PyTorch's `DistributedDataParallel` does when it wraps a model. Collective.
    ///
    /// # Errors
    /// [`Error::Distributed`] naming the first process whose model has other parameters or
    /// buffers (names or shapes) than rank 0's; nothing changed anywhere.
    pub fn broadcast_model(&self, model: &mut Sequential) -> Result<()> {
        self.check_same("model (parameter and buffer names and shapes)", || {
            structure(model)
        })?;
        let snapshot = model.snapshot();
        let mut flat = flatten(snapshot.parameters(), snapshot.buffers());
        self.comm.process_at_rank(0).broadcast_into(&mut flat[..]);
        if !self.is_root() {
            model.restore(&unflatten(&snapshot, &flat))?;
        }
        Ok(())
    }

    /// Gives this process its own stream in every layer generator (the masks of
    /// [`Dropout`](crate::layers::Dropout)): rank 0's generators stay as they are, so a
    /// 1-process job draws what a lone process draws, and on rank `r > 0` each is replaced by
    /// [`RandomState::for_process`](crate::random::RandomState::for_process)`(r)` of itself
    /// (numpy's `RandomState` seeded with its state words and `r`). Without it, processes
    /// built alike would draw the same masks for different rows: PyTorch users seed every
    /// process with `seed + rank` for this. [`fit`](DataParallel::fit) calls it when it
    /// starts (before resuming, whose checkpoint then restores every process's own
    /// generators); a loop of your own over [`train_step`](DataParallel::train_step) calls it
    /// once, after [`broadcast_model`](DataParallel::broadcast_model). Not collective.
    pub fn derive_generators(&self, model: &mut Sequential) {
        if self.rank == 0 {
            return;
        }
        for layer in model.layers.iter_mut() {
            if let Some(rng) = layer.generator_mut() {
                *rng = rng.for_process(self.rank);
            }
        }
    }

    /// Gives every process rank 0's buffers (batch-norm running statistics, which each process
    /// updates from its own shards while training). Collective; [`fit`](DataParallel::fit)
    /// calls it before every validation and at the end, so that evaluation and saving see rank
    /// 0's statistics on every process.
    ///
    /// # Errors
    /// A layer's error when it refuses a buffer's value (nothing changed on that process).
    pub fn broadcast_buffers(&self, model: &mut Sequential) -> Result<()> {
        let snapshot = model.snapshot();
        if snapshot.buffers().is_empty() {
            return Ok(());
        }
        let mut flat = flatten(&[], snapshot.buffers());
        self.comm.process_at_rank(0).broadcast_into(&mut flat[..]);
        if !self.is_root() {
            let parameters = snapshot.parameters().to_vec();
            let buffers = unflatten_buffers(snapshot.buffers(), &flat);
            model.restore(&Snapshot::from_parts(parameters, buffers))?;
        }
        Ok(())
    }

    /// Checks that every process holds exactly rank 0's parameters and buffers, comparing
    /// their [`checksum`] (one 8-byte gather). Collective.
    ///
    /// # Errors
    /// [`Error::Distributed`] naming the first process whose model differs from rank 0's.
    pub fn check_in_sync(&self, model: &Sequential) -> Result<()> {
        self.check_same("parameters and buffers (their checksum)", || {
            checksum(model)
        })
    }

    /// One training step on a global batch that every process holds whole (`inputs` and
    /// `targets` the same on every process): each process computes the gradients of its
    /// [`shard`] of the rows, one all-reduce sums them, and every process applies the same
    /// update. Returns the global batch's loss (the mean over its rows). Collective.
    ///
    /// # Errors
    /// As [`Sequential::train_step`] on the process where the step failed, and
    /// [`Error::Distributed`] naming that process on the others; nothing changed on any
    /// process. [`Error::InvalidConfig`] when the batch has fewer rows than there are
    /// processes.
    pub fn train_step(
        &mut self,
        model: &mut Sequential,
        inputs: ArrayView2<'_, f32>,
        targets: ArrayView2<'_, f32>,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
    ) -> Result<f32> {
        let rows = inputs.nrows();
        if rows < self.size {
            return Err(Error::config(
                "batch rows",
                rows,
                format!("at least one per process ({})", self.size),
            ));
        }
        let part = shard(rows, self.rank, self.size);
        let (x, y) = (
            inputs.slice(ndarray::s![part.clone(), ..]),
            targets.slice(ndarray::s![part.clone(), ..]),
        );
        self.step_shard(model, Ok((x, y)), rows, loss, optimizer)
    }

    /// The step on this process's shard of a global batch of `global_rows` rows (or the error
    /// that kept this process from reading it): the shard's mean gradients weighted by
    /// `shard rows / global_rows`, summed over the processes by one all-reduce together with
    /// the weighted losses and one failure flag per process, then the optimizer's update on
    /// every process.
    pub(super) fn step_shard(
        &mut self,
        model: &mut Sequential,
        shard: Result<(ArrayView2<'_, f32>, ArrayView2<'_, f32>)>,
        global_rows: usize,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
    ) -> Result<f32> {
        let count = model.parameter_count();
        let len = count + 1 + self.size;
        self.send.resize(len, 0.0);
        self.received.resize(len, 0.0);
        let (pending, weight) = match shard {
            Ok((inputs, targets)) => (
                model.compute_gradients(inputs, targets, loss, &mut *optimizer),
                // For shards of equal size and a power-of-two number of processes, the weight
                // is an exact power of two: the weighting rounds nothing.
                inputs.nrows() as f32 / global_rows as f32,
            ),
            Err(error) => (Err(error), 0.0),
        };
        let failed = match &pending {
            Ok(_) => None,
            Err(_) => Some(self.rank),
        };
        let mut pending = match pending {
            Ok(mut step) => {
                step.copy_gradients_to(&mut self.send[..count])?;
                if weight != 1.0 {
                    self.send[..count].iter_mut().for_each(|g| *g *= weight);
                }
                self.send[count] = step.loss() * weight;
                self.send[count + 1..].fill(0.0);
                Ok(step)
            }
            Err(error) => {
                self.send.fill(0.0);
                self.send[count + 1 + self.rank] = 1.0;
                Err(error)
            }
        };
        self.comm.all_reduce_into(
            &self.send[..],
            &mut self.received[..],
            SystemOperation::sum(),
        );
        let first_failed = self.received[count + 1..].iter().position(|&f| f != 0.0);
        match (&mut pending, first_failed) {
            (Ok(step), None) => {
                step.copy_gradients_from(&self.received[..count])?;
            }
            (Ok(_), Some(rank)) => {
                return Err(Error::Distributed {
                    rank,
                    problem: "its training step (reading its shard of the batch, or computing \
                              its gradients) failed (its own error says why); no process changed \
                              its model"
                        .into(),
                });
            }
            (Err(_), _) => debug_assert_eq!(failed, Some(self.rank)),
        }
        let global_loss = self.received[count];
        pending?.apply_gradients(optimizer)?;
        Ok(global_loss)
    }

    /// Runs `local` on every process, gathers the values and checks them against rank 0's.
    fn check_same(&self, what: &str, local: impl FnOnce() -> u64) -> Result<()> {
        let mine = local();
        let mut all = vec![0u64; self.size];
        self.comm.all_gather_into(&mine, &mut all[..]);
        match all.iter().position(|&v| v != all[0]) {
            None => Ok(()),
            Some(rank) => Err(Error::Distributed {
                rank,
                problem: format!(
                    "its {what} differs from rank 0's; every process must build the same model \
                     and read the same data"
                ),
            }),
        }
    }

    /// Gathers a value of every process and checks it against rank 0's (data set sizes, say).
    pub(super) fn check_same_value(&self, what: &str, value: u64) -> Result<()> {
        self.check_same(what, || value)
    }
}

/// A 64-bit FNV-1a hash of the bits of every parameter and buffer of `model`, in model order:
/// equal on two processes exactly when (but for a hash collision) their models are equal to the
/// bit. Reads every value once.
pub fn checksum(model: &Sequential) -> u64 {
    let mut hash = Fnv::default();
    for (name, value) in model.parameters().iter().chain(&model.buffers()) {
        hash.bytes(name.as_bytes());
        for v in value.iter() {
            hash.bytes(&v.to_bits().to_le_bytes());
        }
    }
    hash.0
}

/// The names and shapes of `model`'s parameters and buffers, hashed.
fn structure(model: &Sequential) -> u64 {
    let mut hash = Fnv::default();
    for (name, value) in model.parameters().iter().chain(&model.buffers()) {
        hash.bytes(name.as_bytes());
        hash.bytes(&(value.nrows() as u64).to_le_bytes());
        hash.bytes(&(value.ncols() as u64).to_le_bytes());
    }
    hash.0
}

/// FNV-1a, 64 bits (Fowler, Noll, Vo; the offset basis and prime of the reference
/// implementation).
pub(super) struct Fnv(pub(super) u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Parameters then buffers, each in logical order, end to end.
fn flatten(parameters: &[Array2<f32>], buffers: &[(usize, &'static str, Array2<f32>)]) -> Vec<f32> {
    parameters
        .iter()
        .chain(buffers.iter().map(|(_, _, b)| b))
        .flat_map(|a| a.iter().copied())
        .collect()
}

/// A snapshot shaped as `like`, with the values of `flat` (laid out by [`flatten`]).
fn unflatten(like: &Snapshot, flat: &[f32]) -> Snapshot {
    let mut offset = 0;
    let parameters = like
        .parameters()
        .iter()
        .map(|p| take(p.dim(), flat, &mut offset))
        .collect();
    let buffers = unflatten_buffers(like.buffers(), &flat[offset..]);
    Snapshot::from_parts(parameters, buffers)
}

/// Buffers shaped as `like`, with the values of `flat`.
fn unflatten_buffers(
    like: &[(usize, &'static str, Array2<f32>)],
    flat: &[f32],
) -> Vec<(usize, &'static str, Array2<f32>)> {
    let mut offset = 0;
    like.iter()
        .map(|(layer, name, b)| (*layer, *name, take(b.dim(), flat, &mut offset)))
        .collect()
}

fn take(shape: (usize, usize), flat: &[f32], offset: &mut usize) -> Array2<f32> {
    let len = shape.0 * shape.1;
    let values = flat[*offset..*offset + len].to_vec();
    *offset += len;
    Array2::from_shape_vec(shape, values).expect("the length matches the shape")
}
