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
//! - dropout: every process draws its own masks (rank 0 those of a lone process: on 1 process
//!   the run is the lone one's, to the bit), and the run is bit-identical run to run;
//! - a model or data set that differs on one process, and a step that fails on one process,
//!   are errors on every process naming it, with no model changed; so is an evaluation that
//!   fails on one process (a data set of another width) or whose data set has another row
//!   count there;
//! - training checkpoints: a run interrupted in the middle of an epoch (a read error on the
//!   last process, after the checkpoint of the epoch before) and started again by the same call
//!   ends bit-identical to a run never interrupted (parameters, buffers, every process's dropout
//!   generator, history with the training accuracy); the read error stopped every process; a
//!   checkpoint is refused, with `WorldSizeMismatch` naming both sizes, by a run on another
//!   number of processes (one process resuming a 2-process file, 2 processes resuming a
//!   1-process file);
//! - the training metric of `EpochLog` counts every process's rows: with a learning rate of 0
//!   (a model that does not change) it is the evaluation's of the whole training data
//!   (accuracy exactly; MSE, MAE and R^2 within 1e-6, merged from every process's sums);
//! - callbacks run on rank 0 and decide for all: early stopping stops every process after the
//!   same epoch, and its best weights reach every process.
//!
//! The interruption is simulated inside the job here: a read error is deterministic, goes
//! through the same path (the run ends mid-epoch, the checkpoint of the last finished epoch on
//! disk), and checks item by item that nothing of the interrupted epoch reaches the file. A
//! real crash (`kill -9` of one process, which makes `mpirun` abort the job) is `.ci/mpi`'s
//! part, from outside the job: it resumes the `mlp_distributed` example's run and compares its
//! saved model with an uninterrupted run's.
#![cfg(feature = "mpi")]

mod common;
#[path = "common/models.rs"]
mod models;

use feedforward::data::mnist::LabeledImages;
use feedforward::data::Dataset;
use feedforward::distributed::{checksum, mpi, shard, DataParallel};
use feedforward::model::Sequential;
use feedforward::model::{Callback, EarlyStopping, Monitor};
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
        an_evaluation_failing_on_one_process_fails_everywhere(&mut trainer, &test);
        say("ok: an evaluation failing on one process fails on all, naming it");
    }
    each_process_draws_its_own_dropout_masks(&mut trainer, &train);
    say("ok: every process draws its own dropout masks, rank 0 a lone process's; two runs bit-identical");
    let dir = shared_temp_dir(&trainer);
    an_interrupted_run_resumes_bit_identically(&mut trainer, &train, &dir);
    say("ok: a run interrupted mid-epoch (a read error on one process, which stopped all) resumes from its checkpoint bit-identical to an uninterrupted one");
    if trainer.size() > 1 {
        another_world_size_is_refused(&mut trainer, &train, &dir);
        say("ok: a checkpoint of another number of processes is refused with WorldSizeMismatch");
    }
    the_training_metric_counts_every_process(&mut trainer, &train);
    say("ok: the training accuracy and regression metrics count every process's rows");
    early_stopping_decides_for_every_process(&mut trainer, &train);
    say("ok: early stopping on rank 0 stops every process, its best weights reach all");
    if trainer.is_root() {
        std::fs::remove_dir_all(&dir).unwrap();
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
    while let Some(rows) = batches.next_batch() {
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

/// The mlp model with dropout, batches of 64 (equal shards on 2 processes, which drew the same
/// masks for different rows before each process had its own stream).
fn each_process_draws_its_own_dropout_masks<C: Communicator>(
    trainer: &mut DataParallel<C>,
    train: &LabeledImages,
) {
    let dropout_model = || {
        Sequential::builder(784)
            .seed(2)
            .dense(64, Init::HeNormal)
            .push(Relu)
            .push(Dropout::new(0.5, 11).unwrap())
            .dense(10, Init::XavierNormal)
            .push(Softmax)
            .build()
            .unwrap()
    };
    let generator = |model: &Sequential| model.layers()[2].generator().unwrap().clone();
    // The words behind the masks each process draws first (a row's unit is kept when its
    // word is at least p x 2^32): rank 0's are the model's own, every process's differ.
    let mut model = dropout_model();
    let own = generator(&model);
    trainer.derive_generators(&mut model);
    let words = |mut rng: RandomState| (0..256).map(|_| rng.next_u32()).collect::<Vec<_>>();
    let mine = words(generator(&model));
    if trainer.is_root() {
        assert_eq!(mine, words(own));
    }
    let hash = mine
        .iter()
        .fold(0u64, |h, &w| h.wrapping_mul(31).wrapping_add(u64::from(w)));
    let all = gather(trainer, hash);
    for (rank, h) in all.iter().enumerate() {
        assert_eq!(
            all.iter().filter(|&o| o == h).count(),
            1,
            "rank {rank} draws another process's masks: {all:x?}"
        );
    }

    // Trained twice: the same bits; each process's generator moved on from its own stream.
    let data = train.select(&(0..1024).collect::<Vec<_>>()).unwrap();
    let mut first = dropout_model();
    let history = trainer
        .fit(&mut first, &data, &CrossEntropy, &mut sgd(), &config())
        .unwrap();
    let mut second = dropout_model();
    let again = trainer
        .fit(&mut second, &data, &CrossEntropy, &mut sgd(), &config())
        .unwrap();
    assert_eq!(first.snapshot(), second.snapshot(), "two runs differ");
    assert_eq!(generator(&first).state(), generator(&second).state());
    assert_eq!(
        history.epoch_losses[0].to_bits(),
        again.epoch_losses[0].to_bits()
    );
    trainer.check_in_sync(&first).unwrap();
    let state_hash = generator(&first)
        .state()
        .key
        .iter()
        .fold(0u64, |h, &w| h.wrapping_mul(31).wrapping_add(u64::from(w)));
    let states = gather(trainer, state_hash);
    assert!(
        states
            .iter()
            .enumerate()
            .all(|(r, s)| states[..r].iter().all(|o| o != s)),
        "two processes' dropout generators ended alike: {states:x?}"
    );
    if trainer.size() == 1 {
        let mut alone = dropout_model();
        alone
            .fit(&data, &CrossEntropy, &mut sgd(), &config())
            .unwrap();
        assert_eq!(alone.snapshot(), first.snapshot());
        assert_eq!(generator(&alone).state(), generator(&first).state());
    }
}

/// A data set one pixel narrower, then one row shorter, on the last process: every process
/// returns an error (the last its own), none is left waiting; then a good evaluation works.
fn an_evaluation_failing_on_one_process_fails_everywhere<C: Communicator>(
    trainer: &mut DataParallel<C>,
    test: &LabeledImages,
) {
    let last = trainer.size() - 1;
    let mut model = models::mlp_model();
    trainer.broadcast_model(&mut model).unwrap();
    let width = if trainer.rank() == last { 783 } else { 784 };
    let x = RandomState::new(3).rand(100, width).unwrap();
    let labels: Vec<usize> = (0..100).map(|i| i % 10).collect();
    let narrow = InMemory::new(x, one_hot(&labels, 10).unwrap()).unwrap();
    let error = trainer
        .evaluate(&mut model, &narrow, &CrossEntropy, 32)
        .unwrap_err();
    if trainer.rank() == last {
        assert!(matches!(error, Error::ShapeMismatch { .. }), "{error}");
    } else {
        assert!(
            matches!(error, Error::Distributed { rank, .. } if rank == last),
            "{error}"
        );
    }

    let rows = if trainer.rank() == last { 99 } else { 100 };
    let short = test.select(&(0..rows).collect::<Vec<_>>()).unwrap();
    let error = trainer
        .evaluate(&mut model, &short, &CrossEntropy, 32)
        .unwrap_err();
    assert!(
        matches!(error, Error::Distributed { rank, .. } if rank == last),
        "{error}"
    );

    let good = test.select(&(0..100).collect::<Vec<_>>()).unwrap();
    let shared = trainer
        .evaluate(&mut model, &good, &CrossEntropy, 32)
        .unwrap();
    let alone = model.evaluate(&good, &CrossEntropy, 32).unwrap();
    assert_eq!(shared.confusion, alone.confusion);
}

fn gather<C: Communicator>(trainer: &DataParallel<C>, value: u64) -> Vec<u64> {
    let mut all = vec![0u64; trainer.size()];
    trainer.communicator().all_gather_into(&value, &mut all[..]);
    all
}

/// A folder named after rank 0's process id, made by rank 0 (the only process that writes).
fn shared_temp_dir<C: Communicator>(trainer: &DataParallel<C>) -> std::path::PathBuf {
    use mpi::traits::Root;
    let mut pid = std::process::id();
    trainer
        .communicator()
        .process_at_rank(0)
        .broadcast_into(&mut pid);
    let dir = std::env::temp_dir().join(format!("feedforward-distributed-{pid}"));
    if trainer.is_root() {
        std::fs::create_dir_all(&dir).unwrap();
    }
    dir
}

/// A data set that fails on one process at its `fail_at`-th read (counting from 1).
struct FailingRead<'a> {
    data: &'a LabeledImages,
    fail_at: Option<usize>,
    reads: std::cell::Cell<usize>,
}

impl Dataset for FailingRead<'_> {
    fn len(&self) -> usize {
        self.data.len()
    }
    fn input_width(&self) -> usize {
        self.data.input_width()
    }
    fn target_width(&self) -> usize {
        self.data.target_width()
    }
    fn fill_batch(
        &self,
        rows: &[usize],
        inputs: feedforward::ndarray::ArrayViewMut2<'_, f32>,
        targets: feedforward::ndarray::ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        self.reads.set(self.reads.get() + 1);
        if Some(self.reads.get()) == self.fail_at {
            return Err(Error::DataRead {
                file: None,
                row: rows[0],
                reason: "a simulated read error".into(),
            });
        }
        self.data.fill_batch(rows, inputs, targets)
    }
    fn class_of(&self, row: usize) -> Option<usize> {
        self.data.class_of(row)
    }
}

/// Batch normalisation and dropout (whose state differs from process to process), batches of
/// 63 rows (shards of unequal size on 2 processes), no validation (the running statistics stay
/// each process's own until the end).
fn own_state_model() -> Sequential {
    Sequential::builder(784)
        .seed(6)
        .dense(32, Init::HeNormal)
        .push(BatchNorm1d::new(32).unwrap())
        .push(Relu)
        .push(Dropout::new(0.3, 11).unwrap())
        .dense(10, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap()
}

const EPOCHS: usize = 3;

fn resumable_config(path: &std::path::Path) -> FitConfig<'_> {
    FitConfig::new(EPOCHS)
        .batch_size(63)
        .shuffle(8)
        .checkpoint(path)
}

fn dropout_state(model: &Sequential) -> feedforward::random::GeneratorState {
    model.layers()[3].generator().unwrap().state()
}

fn an_interrupted_run_resumes_bit_identically<C: Communicator>(
    trainer: &mut DataParallel<C>,
    train: &LabeledImages,
    dir: &std::path::Path,
) {
    let data = train.select(&(0..1000).collect::<Vec<_>>()).unwrap();
    let path = dir.join("resume.ckpt");
    let mut straight = own_state_model();
    let config = FitConfig::new(EPOCHS).batch_size(63).shuffle(8);
    let history = trainer
        .fit(&mut straight, &data, &CrossEntropy, &mut sgd(), &config)
        .unwrap();
    assert!(history.accuracies.iter().all(|a| (0.0..=1.0).contains(a)));
    assert_eq!(
        history.accuracies.len(),
        EPOCHS,
        "the training accuracy, summed over processes"
    );

    // Interrupted in the second epoch: a read error on the last process at its 3rd batch of
    // epoch 2 (read 1 is the start's data check, then 16 batches an epoch).
    let last = trainer.size() - 1;
    let failing = FailingRead {
        data: &data,
        fail_at: (trainer.rank() == last).then_some(1 + 16 + 3),
        reads: std::cell::Cell::new(0),
    };
    let mut interrupted = own_state_model();
    let error = trainer
        .fit(
            &mut interrupted,
            &failing,
            &CrossEntropy,
            &mut sgd(),
            &resumable_config(&path),
        )
        .unwrap_err();
    assert_eq!(error.history.epoch_losses.len(), 1, "{}", error.error);
    if trainer.rank() == last {
        assert!(
            matches!(error.error, Error::DataRead { .. }),
            "{}",
            error.error
        );
    } else {
        assert!(
            matches!(error.error, Error::Distributed { rank, .. } if rank == last),
            "{}",
            error.error
        );
    }
    if trainer.is_root() {
        let file = feedforward::io::TrainingCheckpoint::read(&path).unwrap();
        assert_eq!(file.epochs_done(), 1);
        assert_eq!(file.world_size(), trainer.size());
    }

    // The same call, in a new process: a new model and optimizer.
    let mut resumed = own_state_model();
    let resumed_history = trainer
        .fit(
            &mut resumed,
            &data,
            &CrossEntropy,
            &mut sgd(),
            &resumable_config(&path),
        )
        .unwrap();
    assert_eq!(
        resumed.snapshot(),
        straight.snapshot(),
        "resumed != uninterrupted"
    );
    assert_eq!(dropout_state(&resumed), dropout_state(&straight));
    assert_eq!(resumed.steps(), straight.steps());
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&resumed_history.epoch_losses),
        bits(&history.epoch_losses)
    );
    assert_eq!(bits(&resumed_history.accuracies), bits(&history.accuracies));
    trainer.check_in_sync(&resumed).unwrap();
}

fn another_world_size_is_refused<C: Communicator>(
    trainer: &mut DataParallel<C>,
    train: &LabeledImages,
    dir: &std::path::Path,
) {
    use feedforward::error::CheckpointProblem;
    let data = train.select(&(0..1000).collect::<Vec<_>>()).unwrap();
    let size = trainer.size();
    let refused = |error: &Error, saved: usize, current: usize| {
        matches!(
            error,
            Error::Checkpoint {
                problem: CheckpointProblem::WorldSizeMismatch { saved: s, current: c },
                ..
            } if *s == saved && *c == current
        )
    };
    // The 2-process (N-process) file of the last check, resumed by one process alone.
    if trainer.is_root() {
        let mut alone = own_state_model();
        let before = alone.snapshot();
        let error = alone
            .fit(
                &data,
                &CrossEntropy,
                &mut sgd(),
                &resumable_config(&dir.join("resume.ckpt")),
            )
            .unwrap_err()
            .error;
        assert!(refused(&error, size, 1), "{error}");
        assert!(
            error.to_string().contains(&format!("{size} process")),
            "{error}"
        );
        assert_eq!(alone.snapshot(), before);
    }
    // A file of one process, resumed by N.
    let single = dir.join("single.ckpt");
    if trainer.is_root() {
        let mut alone = own_state_model();
        let config = FitConfig::new(1)
            .batch_size(63)
            .shuffle(8)
            .checkpoint(&single);
        alone
            .fit(&data, &CrossEntropy, &mut sgd(), &config)
            .unwrap();
    }
    let mut model = own_state_model();
    let error = trainer
        .fit(
            &mut model,
            &data,
            &CrossEntropy,
            &mut sgd(),
            &resumable_config(&single),
        )
        .unwrap_err()
        .error;
    assert!(refused(&error, 1, size), "{error}");
}

fn early_stopping_decides_for_every_process<C: Communicator>(
    trainer: &mut DataParallel<C>,
    train: &LabeledImages,
) {
    let data = train.select(&(0..512).collect::<Vec<_>>()).unwrap();
    let mut model = models::relu_perceptron(&[784, 16, 10], 2);
    // No epoch improves on the first by 10: patience 1 stops after the second epoch (1), and
    // the best weights are the first epoch's, put back on rank 0 and sent to every process.
    let mut optimizer = sgd();
    let mut stopper = EarlyStopping::new(1)
        .unwrap()
        .monitor(Monitor::TrainingLoss)
        .min_delta(10.0)
        .unwrap()
        .restore_best_weights(true);
    let mut callbacks: Vec<&mut dyn Callback> = vec![&mut stopper];
    let config = FitConfig::new(20).batch_size(64).shuffle(1);
    let history = trainer
        .fit_with_callbacks(
            &mut model,
            &data,
            &CrossEntropy,
            &mut optimizer,
            &config,
            &mut callbacks,
        )
        .unwrap();
    let stopped = history.stopped_at.expect("early stopping stopped the run");
    assert_eq!(stopped, 1);
    let all = gather(trainer, stopped as u64);
    assert!(all.iter().all(|&s| s == all[0]), "stopped after {all:?}");
    assert!(history.epoch_losses.len() < 20);
    trainer.check_in_sync(&model).unwrap();
}

fn the_training_metric_counts_every_process<C: Communicator>(
    trainer: &mut DataParallel<C>,
    train: &LabeledImages,
) {
    let data = train.select(&(0..1000).collect::<Vec<_>>()).unwrap();
    let mut model = models::relu_perceptron(&[784, 16, 10], 3);
    let config = FitConfig::new(1).batch_size(63).shuffle(2);
    let frozen = || Sgd::new(0.0).unwrap();
    let history = trainer
        .fit(&mut model, &data, &CrossEntropy, &mut frozen(), &config)
        .unwrap();
    let whole = model.evaluate(&data, &CrossEntropy, 1000).unwrap();
    assert_eq!(history.accuracies, vec![whole.accuracy.unwrap()]);

    let mut rng = RandomState::new(12);
    let x = rng.rand(300, 4).unwrap();
    let y = x.dot(&rng.rand(4, 2).unwrap()).mapv(|v| v + 0.5);
    let data = InMemory::new(x, y).unwrap();
    let mut model = Sequential::builder(4)
        .seed(5)
        .dense(8, Init::HeNormal)
        .push(Relu)
        .dense(2, Init::XavierNormal)
        .build()
        .unwrap();
    let history = trainer
        .fit(&mut model, &data, &Mse, &mut frozen(), &config)
        .unwrap();
    let whole = model
        .evaluate(&data, &Mse, 1000)
        .unwrap()
        .regression
        .unwrap();
    let logged = history.regression[0];
    for (name, a, b) in [
        ("mse", logged.mse, whole.mse),
        ("mae", logged.mae, whole.mae),
        ("r2", logged.r2, whole.r2),
    ] {
        assert!(
            (a - b).abs() <= 1e-6 * b.abs(),
            "{name}: {a} logged, {b} evaluated"
        );
    }
}
