//! Data-parallel training over MPI (feature `mpi`): `mpirun -np N` of a training program trains
//! one model, each process on a share of every batch.
//!
//! The algorithm is that of PyTorch's `DistributedDataParallel` and Horovod:
//! 1. every process builds the same model; rank 0's initial parameters and buffers are
//!    broadcast to all ([`DataParallel::broadcast_model`]), after a check that every model has
//!    the same parameters and every process the same data (an error naming the first process
//!    that differs, never a silent divergence);
//! 2. every process visits the same global batches in the same order (the shuffling generator
//!    is seeded alike everywhere) and takes its contiguous [`shard`] of each, in rank order;
//! 3. each process computes the mean gradients of its shard ([`Sequential::compute_gradients`]),
//!    weighted by its share of the global batch's rows; all the gradients, the loss and a
//!    failure flag per process go into one buffer, summed by one `MPI_Allreduce` per step
//!    (Horovod's tensor fusion): the sum is the global batch's mean gradient;
//! 4. every process applies the same optimizer step to the same parameters
//!    ([`PendingStep::apply_gradients`](crate::model::PendingStep::apply_gradients)), so the
//!    processes never drift apart; [`DataParallel::check_in_sync`] compares a [`checksum`] of
//!    the parameters across processes to prove it.
//!
//! A step that fails on one process (a read error of its shard, a non-finite loss, a bad
//! target) fails on all: the flag travels with the gradients, no process changes its model, and
//! every process returns an error (its own on that process,
//! [`Error::Distributed`](crate::Error::Distributed) naming it on the others).
//!
//! # Training checkpoints, callbacks, metrics
//! With [`FitConfig::checkpoint`](crate::FitConfig::checkpoint), [`DataParallel::fit`] resumes
//! and backs up a run as [`Sequential::fit`] does, bit for bit: every process sends its own
//! state (dropout generators, batch-norm running statistics) to rank 0, which writes one file
//! with them all and the world size, atomically; the same `mpirun` command resumes from it, and
//! a run on another number of processes is refused
//! ([`CheckpointProblem::WorldSizeMismatch`](crate::error::CheckpointProblem::WorldSizeMismatch)).
//! A process killed mid-epoch leaves the checkpoint of the last finished epoch whole, and MPI
//! ends the job (OpenMPI's `mpirun` kills the other processes and exits nonzero); `.ci/mpi`
//! kills one with `kill -9` and resumes the run to the bits of a run never interrupted.
//! Callbacks ([`DataParallel::fit_with_callbacks`]) run on rank 0, which decides for all:
//! early stopping stops every process after the same epoch. The training accuracy or
//! regression metrics of [`EpochLog`](crate::model::EpochLog) count every process's rows.
//!
//! # Batch normalisation, evaluation, output
//! [`BatchNorm1d`](crate::layers::BatchNorm1d)'s running statistics stay local while training,
//! each process updating them from its own shards, as PyTorch's DDP does by default; rank 0's
//! are broadcast to all ([`DataParallel::broadcast_buffers`]) before every validation and at
//! the end of [`DataParallel::fit`], so that evaluation and the saved model use rank 0's.
//! [`DataParallel::evaluate`] shares a data set among the processes and sums their results.
//! Only rank 0 prints ([`Verbosity::Epochs`](crate::Verbosity::Epochs)); write files on rank 0
//! alone ([`DataParallel::is_root`]). [`Dropout`](crate::layers::Dropout) draws its masks from
//! each process's own generator: rank 0's is the model's, rank `r`'s derived from it and `r`
//! when training starts ([`DataParallel::derive_generators`]), so that no two processes draw
//! the same masks.
//!
//! # Equivalence with one process
//! `N` processes at a global batch of `B` rows compute the same mean gradient as one process
//! at `B` rows, summed in another order: each process sums its shard's rows, the all-reduce
//! sums the processes. The parameters therefore agree within `f32` rounding, not to the bit
//! (after one epoch of the `mlp` example's model on MNIST, batch 64, 2 processes: at most 1.1e-6
//! of a tensor's largest magnitude; `scripts/distributed_equivalence.sh`). Making them bit-identical would need the
//! single-process step to sum its batch shard by shard in the same order, which changes (and
//! slows) the path every single-process user takes; it is not done.
//!
//! What is bit-identical: the same `N`-process run twice (OpenMPI and MPICH choose their
//! all-reduce algorithm from the message size and the number of processes, and each algorithm
//! sums in a fixed order; on 2 processes each sums `a + b`, which IEEE addition makes the same
//! on both); and, on 2 processes, one process computing the two shards' gradients itself with
//! [`Sequential::compute_gradients`] and summing them (tested). With equal shards and a power
//! of two processes the weighting (`1/N`) rounds nothing.
//!
//! # Running it
//! ```text
//! apt-get install -y openmpi-bin libopenmpi-dev libclang-dev
//! cargo build --release --features mpi --example mlp_distributed
//! mpirun -np 2 target/release/examples/mlp_distributed --epochs 1
//! ```
//!
//! ```no_run
//! use feedforward::distributed::DataParallel;
//! use feedforward::prelude::*;
//!
//! let universe = feedforward::distributed::mpi::initialize().expect("MPI initialised once");
//! let mut trainer = DataParallel::new(universe.world());
//! let mut rng = RandomState::new(0);
//! let x = rng.rand(256, 4)?;
//! let y = x.mapv(|v| 2.0 * v + 1.0);
//! let data = InMemory::new(x, y.slice(feedforward::ndarray::s![.., ..1]).to_owned())?;
//! let mut model = Sequential::builder(4).dense(1, Init::XavierNormal).build()?;
//! let mut sgd = Sgd::new(0.1)?;
//! let config = FitConfig::new(5).batch_size(32).shuffle(0).verbose(Verbosity::Epochs);
//! trainer.fit(&mut model, &data, &Mse, &mut sgd, &config)?;
//! if trainer.is_root() {
//!     model.save("model.safetensors")?;
//! }
//! # Ok::<(), feedforward::Error>(())
//! ```

mod checkpoint;
mod data_parallel;
mod evaluate;
mod fit;
mod shard;

pub use data_parallel::{checksum, DataParallel};
pub use shard::shard;

#[cfg(doc)]
use crate::Sequential;

/// The `mpi` crate (rsmpi) this module is built on, for `mpi::initialize()` and communicators.
pub use mpi;
