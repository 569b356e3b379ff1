//! Data-parallel training over MPI (feature `mpi`), checked from inside the job: run it under
//! `mpirun` (what `.ci/mpi` does), e.g.
//! `mpirun -np 2 target/debug/deps/distributed-<hash>`; plain
//! `cargo test --features mpi --test distributed` runs it as one process (a world of 1).
//!
//! A test harness of its own (`harness = false`): MPI is initialised once per process and its
//! collectives must be called in the same order by every process, so the checks run one after
//! the other on the main thread, never on the test harness's threads. Each process panics on a
//! failed check, which makes `mpirun` end the job with a non-zero status.
//!
//! What is checked, on the `mlp` example's model (784-256-128-10, ReLU, softmax, SGD with
//! Nesterov momentum and weight decay) and the first 4,096 MNIST training images, one epoch of
//! shuffled batches of 64:
//! - after training, every process holds the same parameters (checksums gathered and compared);
//! - the same distributed run twice gives the same parameters to the bit;
//! - against one process training alone at the same global batch: the largest difference of a
//!   parameter, relative to the largest magnitude of its tensor, stays below `TOLERANCE`
//!   (printed; on 1 process the two are bit-identical, and that is asserted);
//! - on 2 processes, one process computing both shards' gradients itself
//!   (`Sequential::compute_gradients`) and summing them gives the distributed parameters to the
//!   bit: the all-reduce adds exactly what it should, in a fixed order;
//! - the shared evaluation equals one process's (accuracy exactly, loss within 1e-6);
//! - batch normalisation: after `fit`, every process has rank 0's running statistics;
//! - a model or data set that differs on one process, and a step that fails on one process,
//!   are errors on every process naming it, with no model changed.
#![cfg(feature = "mpi")]

mod common;
#[path = "common/models.rs"]
mod models;

use feedforward::data::mnist::LabeledImages;
use feedforward::distributed::{checksum, mpi, shard, DataParallel};
use feedforward::model::Sequential;
use feedforward::ndarray::{s, Array2};
use feedforward::prelude::*;
use feedforward::Error;
use mpi::traits::{Communicator, CommunicatorCollectives};

/// The largest relative difference allowed between `N` processes and one, after one epoch
/// (64 steps): measured 0 on 1 process, 6.1e-7 on 2, 5.2e-7 on 3, 4.5e-7 on 4 (printed).
const TOLERANCE: f32 = 1e-5;

const ROWS: usize = 4096;
const BATCH: usize = 64;

fn main() {
    let universe = mpi::initialize().expect("MPI is initialised once");
    let world = universe.world();
    let mut trainer = DataParallel::new(world.duplicate());
    let root = trainer.is_root();
    let say = |line: &str| {
        if root {
            println!("{line}");
        }
    };
    say(&format!(
        "distributed checks on {} processes",
        trainer.size()
    ));
    let (train, test) = mnist();

    let (single, trained) = training_matches_one_process(&mut trainer, &train);
    say(&format!(
        "ok: parameters identical on every process, two runs bit-identical, largest relative \
         difference to one process {single:e} (tolerance {TOLERANCE:e})"
    ));
    if trainer.size() == 2 {
        two_processes_sum_exactly_the_two_shards(&mut trainer, &train, &trained);
        say("ok: 2 processes = one process summing the two shards' gradients, to the bit");
    }
    evaluation_is_shared_exactly(&mut trainer, trained, &test);
    say("ok: shared evaluation = one process's");
    batch_norm_statistics_are_rank_0s_after_fit(&mut trainer, &train);
    say("ok: batch-norm running statistics are rank 0's on every process after fit");
    if trainer.size() > 1 {
        a_different_model_or_data_set_is_named(&mut trainer, &train);
        say("ok: a model or a data set that differs on one process is an error naming it");
        a_step_failing_on_one_process_fails_everywhere(&mut trainer);
        say("ok: a step failing on one process fails on all, no model changed");
    }
    world.barrier();
    say("all distributed checks passed");
}

fn mnist() -> (LabeledImages, LabeledImages) {
    let dir = common::mnist_dir();
    let read = |images: &str, labels: &str| {
        LabeledImages::from_files(&dir.join(images), &dir.join(labels), Some(10))
            .expect("the repository's MNIST files")
    };
    let train = read("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
    let test = read("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
    let train = train.select(&(0..ROWS).collect::<Vec<_>>()).unwrap();
    let test = test.select(&(0..1000).collect::<Vec<_>>()).unwrap();
    (train, test)
}

/// The `mlp` example's optimizer.
fn sgd() -> Sgd {
    Sgd::new(0.05)
        .unwrap()
        .with_momentum(0.9)
        .unwrap()
        .with_nesterov(true)
        .with_weight_decay(5e-4)
        .unwrap()
}

fn config() -> FitConfig<'static> {
    FitConfig::new(1).batch_size(BATCH).shuffle(3)
}

/// Trains the mlp model distributed, twice, and alone; returns the largest relative difference
/// and the distributed model.
fn training_matches_one_process<C: Communicator>(
    trainer: &mut DataParallel<C>,
    train: &LabeledImages,
) -> (f32, Sequential) {
    let mut distributed = models::mlp_model();
    let history = trainer
        .fit(
            &mut distributed,
            train,
            &CrossEntropy,
            &mut sgd(),
            &config(),
        )
        .unwrap();
    assert_eq!(history.epoch_losses.len(), 1);
    trainer.check_in_sync(&distributed).unwrap();
    let sums = gather(trainer, checksum(&distributed));
    assert!(sums.iter().all(|&s| s == sums[0]), "checksums {sums:x?}");

    let mut again = models::mlp_model();
    let history_again = trainer
        .fit(&mut again, train, &CrossEntropy, &mut sgd(), &config())
        .unwrap();
    assert_eq!(again.snapshot(), distributed.snapshot(), "two runs differ");
    assert_eq!(
        history_again.epoch_losses[0].to_bits(),
        history.epoch_losses[0].to_bits()
    );

    let mut alone = models::mlp_model();
    let history_alone = alone
        .fit(train, &CrossEntropy, &mut sgd(), &config())
        .unwrap();
    let difference = largest_relative_difference(&distributed, &alone);
    if trainer.size() == 1 {
        assert_eq!(alone.snapshot(), distributed.snapshot());
        assert_eq!(history_alone.epoch_losses, history.epoch_losses);
    }
    assert!(
        difference < TOLERANCE,
        "largest relative difference {difference:e} to one process"
    );
    let loss_gap = (history_alone.epoch_losses[0] - history.epoch_losses[0]).abs();
    assert!(
        loss_gap <= 1e-4 * history_alone.epoch_losses[0],
        "epoch losses {} and {}",
        history.epoch_losses[0],
        history_alone.epoch_losses[0]
    );
    (difference, distributed)
}

/// Per parameter tensor, the largest `|a - b|` over the largest `|b|`; the largest of those.
fn largest_relative_difference(a: &Sequential, b: &Sequential) -> f32 {
    a.parameters()
        .iter()
        .zip(b.parameters())
        .map(|((_, x), (_, y))| {
            let scale = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let gap = x
                .iter()
                .zip(y.iter())
                .fold(0.0f32, |m, (p, q)| m.max((p - q).abs()));
            gap / scale
        })
        .fold(0.0, f32::max)
}

/// One process replays the 2-process run: for every global batch, the two shards' gradients,
/// each weighted by its share of the rows, added as the all-reduce adds them.
fn two_processes_sum_exactly_the_two_shards<C: Communicator>(
    trainer: &mut DataParallel<C>,
    train: &LabeledImages,
    distributed: &Sequential,
) {
    let mut model = models::mlp_model();
    let mut optimizer = sgd();
    let mut batches = feedforward::data::Batches::new(ROWS, BATCH, config().order).unwrap();
    batches.next_epoch();
    let count = model.parameter_count();
    let (mut sum, mut part) = (vec![0.0f32; count], vec![0.0f32; count]);
    let mut x = Array2::zeros((BATCH, 784));
    let mut y = Array2::zeros((BATCH, 10));
    for rows in batches.iter() {
        let (mut x, mut y) = (
            x.slice_mut(s![..rows.len(), ..]),
            y.slice_mut(s![..rows.len(), ..]),
        );
        train.fill_batch(rows, x.view_mut(), y.view_mut()).unwrap();
        for rank in 0..2 {
            let range = shard(rows.len(), rank, 2);
            let weight = range.len() as f32 / rows.len() as f32;
            let mut step = model
                .compute_gradients(
                    x.slice(s![range.clone(), ..]),
                    y.slice(s![range, ..]),
                    &CrossEntropy,
                    &mut optimizer,
                )
                .unwrap();
            step.copy_gradients_to(&mut part).unwrap();
            if rank == 0 {
                sum.iter_mut()
                    .zip(&part)
                    .for_each(|(s, &g)| *s = g * weight);
                step.discard();
            } else {
                sum.iter_mut()
                    .zip(&part)
                    .for_each(|(s, &g)| *s += g * weight);
                step.copy_gradients_from(&sum).unwrap();
                step.apply_gradients(&mut optimizer).unwrap();
            }
        }
    }
    assert_eq!(model.snapshot(), distributed.snapshot());
    let _ = trainer;
}

fn evaluation_is_shared_exactly<C: Communicator>(
    trainer: &mut DataParallel<C>,
    mut model: Sequential,
    test: &LabeledImages,
) {
    let shared = trainer
        .evaluate(&mut model, test, &CrossEntropy, 100)
        .unwrap();
    let alone = model.evaluate(test, &CrossEntropy, 100).unwrap();
    assert_eq!(shared.accuracy, alone.accuracy);
    assert_eq!(shared.confusion, alone.confusion);
    assert!(
        (shared.loss - alone.loss).abs() <= 1e-6 * alone.loss,
        "losses {} and {}",
        shared.loss,
        alone.loss
    );
}

fn batch_norm_statistics_are_rank_0s_after_fit<C: Communicator>(
    trainer: &mut DataParallel<C>,
    train: &LabeledImages,
) {
    let small = train.select(&(0..512).collect::<Vec<_>>()).unwrap();
    let mut model = Sequential::builder(784)
        .seed(4)
        .dense(32, Init::HeNormal)
        .push(BatchNorm1d::new(32).unwrap())
        .push(Relu)
        .dense(10, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap();
    let before = model.buffers()[0].1.to_owned();
    trainer
        .fit(&mut model, &small, &CrossEntropy, &mut sgd(), &config())
        .unwrap();
    assert_ne!(model.buffers()[0].1, before, "the statistics were updated");
    trainer.check_in_sync(&model).unwrap();
}

fn a_different_model_or_data_set_is_named<C: Communicator>(
    trainer: &mut DataParallel<C>,
    train: &LabeledImages,
) {
    let last = trainer.size() - 1;
    let width = if trainer.rank() == last { 33 } else { 32 };
    let mut model = models::relu_perceptron(&[784, width, 10], 0);
    let error = trainer.broadcast_model(&mut model).unwrap_err();
    assert!(
        matches!(error, Error::Distributed { rank, .. } if rank == last),
        "{error}"
    );

    let mut model = models::relu_perceptron(&[784, 32, 10], 0);
    let before = model.snapshot();
    let rows: Vec<usize> = if trainer.rank() == last {
        (1..=256).collect()
    } else {
        (0..256).collect()
    };
    let data = train.select(&rows).unwrap();
    let error = trainer
        .fit(&mut model, &data, &CrossEntropy, &mut sgd(), &config())
        .unwrap_err()
        .error;
    assert!(
        matches!(error, Error::Distributed { rank, .. } if rank == last),
        "{error}"
    );
    assert_eq!(model.snapshot(), before);
}

fn a_step_failing_on_one_process_fails_everywhere<C: Communicator>(trainer: &mut DataParallel<C>) {
    let mut model = models::relu_perceptron(&[4, 8, 3], 1);
    trainer.broadcast_model(&mut model).unwrap();
    let before = model.snapshot();
    let x = RandomState::new(5).rand(8, 4).unwrap();
    let mut y = one_hot(&[0, 1, 2, 0, 1, 2, 0, 1], 3).unwrap();
    // A target out of [0, 1] in the last process's shard.
    let last = trainer.size() - 1;
    let row = shard(8, last, trainer.size()).start;
    y[[row, 0]] = -1.0;
    let error = trainer
        .train_step(&mut model, x.view(), y.view(), &CrossEntropy, &mut sgd())
        .unwrap_err();
    if trainer.rank() == last {
        assert!(matches!(error, Error::InvalidTarget { .. }), "{error}");
    } else {
        assert!(
            matches!(error, Error::Distributed { rank, .. } if rank == last),
            "{error}"
        );
    }
    assert_eq!(model.snapshot(), before);
    assert_eq!(model.steps(), 0);
    // And the next good step goes through everywhere.
    y[[row, 0]] = 1.0;
    trainer
        .train_step(&mut model, x.view(), y.view(), &CrossEntropy, &mut sgd())
        .unwrap();
    trainer.check_in_sync(&model).unwrap();
}

fn gather<C: Communicator>(trainer: &DataParallel<C>, value: u64) -> Vec<u64> {
    let mut all = vec![0u64; trainer.size()];
    trainer.communicator().all_gather_into(&value, &mut all[..]);
    all
}
