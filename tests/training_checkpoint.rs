//! Training checkpoints: a run interrupted after any epoch and resumed in a new model and
//! optimizer ends bit for bit where an uninterrupted run ends (parameters, buffers, History),
//! with shuffling, dropout, momentum, Adam, schedules and early stopping in play; damaged,
//! newer and foreign checkpoints are refused with typed errors and nothing is resumed.

use feedforward::data::{InMemory, Order};
use feedforward::error::CheckpointProblem;
use feedforward::io::TrainingCheckpoint;
use feedforward::layers::Parameter;
use feedforward::model::{Callback, EarlyStopping, Monitor, Validation};
use feedforward::optim::OptimizerState;
use feedforward::prelude::*;
use feedforward::{Error, FitError, History, Progress};
use ndarray::{Array2, Axis};
use std::path::Path;

/// Three classes from four features: which of three directions a point is closest to.
fn problem(rows: usize, seed: u32) -> InMemory {
    let mut rng = RandomState::new(seed);
    let x = rng.randn(rows, 4).unwrap();
    let labels: Vec<usize> = x
        .axis_iter(Axis(0))
        .map(|r| {
            let scores = [r[0] + r[1], r[2] - r[0], r[3] - r[1]];
            (0..3)
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
                .unwrap()
        })
        .collect();
    InMemory::classification(x, &labels, 3).unwrap()
}

/// A model with every kind of state: dense weights, batch-norm running statistics, dropout.
fn model(seed: u32) -> Sequential {
    let mut rng = RandomState::new(seed);
    Sequential::builder(4)
        .push(Dense::new(4, 16, Init::HeNormal, &mut rng).unwrap())
        .push(BatchNorm1d::new(16).unwrap())
        .push(Relu)
        .push(Dropout::new(0.2, seed + 7).unwrap())
        .push(Dense::new(16, 3, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

/// Every parameter and buffer, by name.
fn tensors(model: &Sequential) -> Vec<(String, Array2<f32>)> {
    let mut all: Vec<(String, Array2<f32>)> = model
        .parameters()
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect();
    for (index, layer) in model.layers().iter().enumerate() {
        for (name, value) in layer.buffers() {
            all.push((format!("{index}.{name}"), value.to_owned()));
        }
    }
    all
}

/// Bit patterns, so that NaN compares and -0.0 differs from 0.0.
fn bits(tensors: &[(String, Array2<f32>)]) -> Vec<(String, Vec<u32>)> {
    tensors
        .iter()
        .map(|(n, v)| (n.clone(), v.iter().map(|x| x.to_bits()).collect()))
        .collect()
}

/// The History without its wall-clock times.
fn without_times(history: &History) -> History {
    History {
        epoch_times: Vec::new(),
        training_time: Default::default(),
        ..history.clone()
    }
}

/// One training setup, run straight or in pieces.
struct Run<'a> {
    data: &'a InMemory,
    epochs: usize,
    optimizer: &'a dyn Fn() -> Box<dyn Optimizer>,
    schedule: Option<&'a dyn Schedule>,
    stopper: &'a dyn Fn() -> EarlyStopping,
    /// The row order.
    order: Order,
}

impl Run<'_> {
    /// Trains `epochs` epochs (of the run's) in a new process, as it were: a new model built
    /// with `init_seed`, a new optimizer and a new early stopping; resumes from `checkpoint`
    /// when it exists.
    fn fit(
        &self,
        epochs: usize,
        init_seed: u32,
        checkpoint: Option<&Path>,
    ) -> (Sequential, History, EarlyStopping, Box<dyn Optimizer>) {
        let mut m = model(init_seed);
        let mut optimizer = (self.optimizer)();
        let mut stopper = (self.stopper)();
        let mut config = FitConfig::new(epochs)
            .batch_size(16)
            .validation(Validation::Fraction(0.25));
        config.order = self.order;
        if let Some(schedule) = self.schedule {
            config = config.schedule(schedule);
        }
        if let Some(path) = checkpoint {
            config = config.checkpoint(path);
        }
        let history = m
            .fit_with_callbacks(
                self.data,
                &CrossEntropy,
                optimizer.as_mut(),
                &config,
                &mut [&mut stopper],
            )
            .unwrap();
        (m, history, stopper, optimizer)
    }

    /// Checks that stopping after `k` epochs and resuming in new objects ends where the
    /// straight run does.
    fn check_resumes_bit_for_bit(&self, ks: impl IntoIterator<Item = usize>) {
        let (straight, history, stopper, optimizer) = self.fit(self.epochs, 1, None);
        let dir = tempfile::tempdir().unwrap();
        for k in ks {
            let path = dir.path().join(format!("after-{k}.ckpt"));
            let (_, first, _, _) = self.fit(k, 1, Some(&path));
            assert_eq!(first.epoch_losses.len(), k);
            assert_eq!(TrainingCheckpoint::read(&path).unwrap().epochs_done(), k);
            // Everything dropped; a model initialised differently proves the weights come from
            // the checkpoint.
            let (resumed, resumed_history, resumed_stopper, resumed_optimizer) =
                self.fit(self.epochs, 99, Some(&path));
            assert_eq!(
                bits(&tensors(&resumed)),
                bits(&tensors(&straight)),
                "k = {k}"
            );
            assert_eq!(
                without_times(&resumed_history),
                without_times(&history),
                "k = {k}"
            );
            assert_eq!(resumed_history.epoch_times.len(), history.epoch_times.len());
            assert_eq!(resumed_stopper.best_epoch(), stopper.best_epoch());
            assert_eq!(
                resumed_optimizer.state().unwrap(),
                optimizer.state().unwrap(),
                "k = {k}"
            );
            assert_eq!(resumed.steps(), straight.steps());
        }
    }
}

#[test]
fn sgd_with_nesterov_momentum_and_weight_decay_resumes_bit_for_bit_after_any_epoch() {
    let data = problem(120, 1);
    let make = || -> Box<dyn Optimizer> {
        Box::new(
            Sgd::new(0.1)
                .unwrap()
                .with_momentum(0.9)
                .unwrap()
                .with_nesterov(true)
                .with_weight_decay(5e-3)
                .unwrap(),
        )
    };
    let run = Run {
        data: &data,
        epochs: 6,
        optimizer: &make,
        schedule: None,
        // Never stops within 6 epochs here, but keeps the best weights to restore.
        stopper: &|| EarlyStopping::new(10).unwrap().restore_best_weights(true),
        order: Order::Shuffled { seed: 3 },
    };
    run.check_resumes_bit_for_bit(1..6);
}

#[test]
fn adamw_with_a_cosine_schedule_shuffling_and_dropout_resumes_bit_for_bit() {
    let data = problem(150, 2);
    let make = || -> Box<dyn Optimizer> { Box::new(AdamW::new(0.01).unwrap()) };
    let cosine = Cosine::new(7, 1e-4).unwrap();
    let run = Run {
        data: &data,
        epochs: 7,
        optimizer: &make,
        schedule: Some(&cosine),
        stopper: &|| EarlyStopping::new(10).unwrap().restore_best_weights(true),
        order: Order::Shuffled { seed: 3 },
    };
    run.check_resumes_bit_for_bit([1, 4, 6]);
}

#[test]
fn a_shuffle_buffer_resumes_bit_for_bit() {
    let data = problem(150, 4);
    let make = || -> Box<dyn Optimizer> { Box::new(Adam::new(0.01).unwrap()) };
    let run = Run {
        data: &data,
        epochs: 4,
        optimizer: &make,
        schedule: None,
        stopper: &|| EarlyStopping::new(10).unwrap(),
        // 112 training rows: windows of 24 rows (blocks of 5), batches of 16 across them.
        order: Order::ShuffleBuffer {
            seed: 3,
            buffer_size: 24,
            block_size: 5,
        },
    };
    run.check_resumes_bit_for_bit([1, 3]);
}

#[test]
fn a_run_stopped_early_resumes_to_the_same_restored_weights_and_trains_no_further() {
    let data = problem(120, 4);
    let make = || -> Box<dyn Optimizer> { Box::new(Sgd::new(0.3).unwrap()) };
    // Patience 1 on the training loss with a large min_delta: stops after a few epochs.
    let stopper = || {
        EarlyStopping::new(1)
            .unwrap()
            .monitor(Monitor::TrainingLoss)
            .min_delta(0.05)
            .unwrap()
            .restore_best_weights(true)
    };
    let run = Run {
        data: &data,
        epochs: 30,
        optimizer: &make,
        schedule: None,
        stopper: &stopper,
        order: Order::Shuffled { seed: 3 },
    };
    let (straight, history, _, _) = run.fit(30, 1, None);
    let stopped = history.stopped_at.expect("early stopping stops this run");
    assert!(stopped < 29);
    // Interrupted before the stop, resumed through it, then resumed once more: nothing to do.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    run.fit(stopped, 1, Some(&path));
    let (resumed, resumed_history, _, _) = run.fit(30, 5, Some(&path));
    assert_eq!(bits(&tensors(&resumed)), bits(&tensors(&straight)));
    assert_eq!(without_times(&resumed_history), without_times(&history));
    let file = TrainingCheckpoint::read(&path).unwrap();
    assert_eq!(file.stopped_at(), Some(stopped));
    let (again, again_history, _, _) = run.fit(30, 6, Some(&path));
    assert_eq!(bits(&tensors(&again)), bits(&tensors(&straight)));
    assert_eq!(without_times(&again_history), without_times(&history));
}

#[test]
fn the_checkpoint_holds_the_run_and_rebuilds_the_model() {
    let data = problem(80, 5);
    let make = || -> Box<dyn Optimizer> { Box::new(Adam::new(0.01).unwrap()) };
    let run = Run {
        data: &data,
        epochs: 3,
        optimizer: &make,
        schedule: None,
        stopper: &|| EarlyStopping::new(5).unwrap(),
        order: Order::Shuffled { seed: 3 },
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let (trained, history, _, optimizer) = run.fit(3, 1, Some(&path));
    let file = TrainingCheckpoint::read(&path).unwrap();
    assert_eq!(file.epochs_done(), 3);
    assert_eq!(without_times(file.history()), without_times(&history));
    assert_eq!(file.history().epoch_times, history.epoch_times);
    assert_eq!(file.optimizer_state(), &optimizer.state().unwrap());
    // 60 training rows in batches of 16: 4 steps an epoch.
    assert_eq!(file.optimizer_state().steps, 12);
    let rebuilt = file.model().unwrap();
    assert_eq!(bits(&tensors(&rebuilt)), bits(&tensors(&trained)));
    // A model file is not a training checkpoint, and the other way round.
    let model_path = dir.path().join("model.safetensors");
    trained.save(&model_path).unwrap();
    assert!(matches!(
        TrainingCheckpoint::read(&model_path),
        Err(Error::Checkpoint {
            problem: CheckpointProblem::NotTrainingCheckpoint(_),
            ..
        })
    ));
    let error = Sequential::load(&path).unwrap_err();
    assert!(
        matches!(&error, Error::Checkpoint { problem: CheckpointProblem::NotFeedforward(m), .. } if m.contains("TrainingCheckpoint::read")),
        "{error}"
    );
}

/// A quick run writing a checkpoint to `path`: (model, optimizer) builders for resuming.
fn short_run(path: &Path) -> InMemory {
    let data = problem(64, 7);
    let mut m = model(1);
    let mut sgd = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
    let config = FitConfig::new(2).batch_size(16).shuffle(0).checkpoint(path);
    m.fit(&data, &CrossEntropy, &mut sgd, &config).unwrap();
    data
}

/// Resumes from `path` with a new model and SGD; asserts that the error is refused before
/// anything was trained or changed, and returns it.
fn refused(path: &Path, data: &InMemory) -> Error {
    let mut m = model(1);
    let before = bits(&tensors(&m));
    let mut sgd = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
    let optimizer_before = sgd.state().unwrap();
    let file_before = std::fs::read(path).unwrap();
    let config = FitConfig::new(4).batch_size(16).shuffle(0).checkpoint(path);
    let FitError { error, history } = m.fit(data, &CrossEntropy, &mut sgd, &config).unwrap_err();
    assert!(history.epoch_losses.is_empty(), "{error}");
    assert_eq!(bits(&tensors(&m)), before, "{error}");
    assert_eq!(sgd.state().unwrap(), optimizer_before, "{error}");
    assert_eq!(std::fs::read(path).unwrap(), file_before, "{error}");
    error
}

fn problem_of(error: &Error) -> &CheckpointProblem {
    match error {
        Error::Checkpoint { problem, .. } => problem,
        other => panic!("not a checkpoint error: {other}"),
    }
}

#[test]
fn a_checkpoint_cut_short_is_refused_and_nothing_is_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let data = short_run(&path);
    let whole = std::fs::read(&path).unwrap();
    for len in [0, 5, 8, 100, whole.len() / 2, whole.len() - 1] {
        std::fs::write(&path, &whole[..len]).unwrap();
        let error = refused(&path, &data);
        assert!(
            matches!(problem_of(&error), CheckpointProblem::Malformed(_)),
            "{len} bytes: {error}"
        );
    }
}

#[test]
fn a_flipped_bit_anywhere_is_refused_and_nothing_is_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let data = short_run(&path);
    let whole = std::fs::read(&path).unwrap();
    let header_end = 8 + u64::from_le_bytes(whole[..8].try_into().unwrap()) as usize;
    // Every byte of the header (the tensor table and the metadata), every 97th of the data.
    let positions = (0..header_end).chain((header_end..whole.len()).step_by(97));
    let mut checked = 0;
    for position in positions {
        let mut damaged = whole.clone();
        damaged[position] ^= 1 << (position % 8);
        let damaged_path = dir.path().join("damaged.ckpt");
        std::fs::write(&damaged_path, &damaged).unwrap();
        let error = TrainingCheckpoint::read(&damaged_path)
            .map(|_| ())
            .expect_err(&format!("a flipped bit at byte {position} went unnoticed"));
        assert!(
            matches!(
                problem_of(&error),
                CheckpointProblem::Malformed(_)
                    | CheckpointProblem::ChecksumMismatch
                    | CheckpointProblem::UnsupportedVersion { .. }
                    | CheckpointProblem::NotTrainingCheckpoint(_)
            ),
            "byte {position}: {error}"
        );
        checked += 1;
    }
    assert!(checked > 1000);
    // In the data: the checksum. Through fit: nothing resumed.
    let mut damaged = whole.clone();
    damaged[whole.len() - 3] ^= 0x10;
    std::fs::write(&path, &damaged).unwrap();
    let error = refused(&path, &data);
    assert_eq!(problem_of(&error), &CheckpointProblem::ChecksumMismatch);
}

#[test]
fn a_checkpoint_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let data = short_run(&path);
    let whole = std::fs::read(&path).unwrap();
    let needle = b"\"format_version\":\"2\"";
    let at = whole
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the version entry");
    let mut newer = whole.clone();
    // Version 3 is that of a file of several processes (feature mpi): 4 is newer.
    newer[at + needle.len() - 2] = b'4';
    std::fs::write(&path, &newer).unwrap();
    let error = refused(&path, &data);
    assert!(
        matches!(
            problem_of(&error),
            CheckpointProblem::UnsupportedVersion { found, supported: 3 } if found == "4"
        ),
        "{error}"
    );
    assert!(error.to_string().contains("upgrade feedforward"), "{error}");
}

#[test]
fn another_model_optimizer_setup_or_callback_is_a_typed_error_saying_which() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let data = short_run(&path);
    let base = || {
        FitConfig::new(4)
            .batch_size(16)
            .shuffle(0)
            .checkpoint(&path)
    };
    let sgd = || Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
    let fit_error = |m: &mut Sequential, opt: &mut dyn Optimizer, config: &FitConfig<'_>| {
        m.fit(&data, &CrossEntropy, opt, config).unwrap_err().error
    };

    // Another architecture: a wider hidden layer.
    let mut rng = RandomState::new(0);
    let mut wider = Sequential::builder(4)
        .push(Dense::new(4, 32, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(32, 3, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    let error = fit_error(&mut wider, &mut sgd(), &base());
    assert!(
        matches!(problem_of(&error), CheckpointProblem::ModelMismatch(m) if m.contains("layers")),
        "{error}"
    );

    // Another optimizer, and the same with another momentum.
    let error = fit_error(&mut model(1), &mut Adam::new(0.1).unwrap(), &base());
    assert!(
        matches!(problem_of(&error), CheckpointProblem::OptimizerMismatch(m) if m.contains("Sgd")),
        "{error}"
    );
    let mut other = Sgd::new(0.1).unwrap().with_momentum(0.5).unwrap();
    let error = fit_error(&mut model(1), &mut other, &base());
    assert!(
        matches!(problem_of(&error), CheckpointProblem::OptimizerMismatch(m) if m.contains("momentum")),
        "{error}"
    );
    // Another initial learning rate, batch size or shuffling.
    let mut faster = Sgd::new(0.2).unwrap().with_momentum(0.9).unwrap();
    let error = fit_error(&mut model(1), &mut faster, &base());
    assert!(
        matches!(problem_of(&error), CheckpointProblem::TrainingMismatch(m) if m.contains("learning rate")),
        "{error}"
    );
    let error = fit_error(&mut model(1), &mut sgd(), &base().batch_size(8));
    assert!(
        matches!(problem_of(&error), CheckpointProblem::TrainingMismatch(m) if m.contains("batch size")),
        "{error}"
    );
    let error = fit_error(&mut model(1), &mut sgd(), &base().shuffle(1));
    assert!(
        matches!(problem_of(&error), CheckpointProblem::TrainingMismatch(m) if m.contains("seed")),
        "{error}"
    );
    let error = fit_error(&mut model(1), &mut sgd(), &base().shuffle_buffer(0, 64));
    assert!(
        matches!(problem_of(&error), CheckpointProblem::TrainingMismatch(m)
            if m.contains("seed 0 in a buffer of 64 rows (blocks of 1)")),
        "{error}"
    );
    // A callback with a state the checkpoint does not hold.
    let mut stopper = EarlyStopping::new(3).unwrap();
    let error = model(1)
        .fit_with_callbacks(
            &data,
            &CrossEntropy,
            &mut sgd(),
            &base(),
            &mut [&mut stopper],
        )
        .unwrap_err()
        .error;
    assert!(
        matches!(problem_of(&error), CheckpointProblem::CallbackMismatch(m) if m.contains("EarlyStopping")),
        "{error}"
    );
    // And the right ones still resume.
    let history = model(1)
        .fit(&data, &CrossEntropy, &mut sgd(), &base())
        .unwrap();
    assert_eq!(history.epoch_losses.len(), 4);
}

#[test]
fn fit_says_it_resumed_and_from_which_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let data = short_run(&path);
    let mut events = Vec::new();
    let config = FitConfig::new(5)
        .batch_size(16)
        .shuffle(0)
        .checkpoint(&path);
    let mut sgd = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
    let history = model(1)
        .fit_with_progress(&data, &CrossEntropy, &mut sgd, &config, &mut |p| {
            if !matches!(p, Progress::Batch { .. }) {
                events.push(*p)
            }
        })
        .unwrap();
    assert_eq!(history.epoch_losses.len(), 5);
    assert_eq!(
        events[0],
        Progress::Resumed {
            epoch: 2,
            epochs: 5,
            stopped: false
        }
    );
    assert!(matches!(events[1], Progress::EpochStart { epoch: 2, .. }));
    // Asking for fewer epochs than the checkpoint holds (5 now) is refused.
    let mut sgd = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
    let fewer = FitConfig::new(3)
        .batch_size(16)
        .shuffle(0)
        .checkpoint(&path);
    let error = model(1)
        .fit(&data, &CrossEntropy, &mut sgd, &fewer)
        .unwrap_err()
        .error;
    assert!(
        matches!(problem_of(&error), CheckpointProblem::TrainingMismatch(_)),
        "{error}"
    );
}

/// An optimizer from outside the crate that does not export its state (it keeps the previous
/// values in an `UndoBuffer` to revert a step, as the Optimizer contract asks).
#[derive(Default)]
struct Plain(feedforward::optim::UndoBuffer);

impl Optimizer for Plain {
    fn learning_rate(&self) -> f32 {
        0.1
    }
    fn set_learning_rate(&mut self, _: f32) -> feedforward::Result<()> {
        Ok(())
    }
    fn update(&mut self, index: usize, mut parameter: Parameter<'_>) -> bool {
        self.0.save(index, parameter.value.view());
        parameter
            .value
            .zip_mut_with(&parameter.grad, |w, &g| *w -= 0.1 * g);
        parameter.value.iter().all(|w| w.is_finite())
    }
    fn revert(&mut self, index: usize, parameter: Parameter<'_>) {
        self.0.restore(index, parameter.value);
    }
}

#[test]
fn an_optimizer_without_state_export_trains_but_cannot_be_checkpointed() {
    let data = problem(40, 9);
    let mut m = model(1);
    assert!(m
        .fit(
            &data,
            &CrossEntropy,
            &mut Plain::default(),
            &FitConfig::new(2)
        )
        .is_ok());
    assert!(matches!(
        Plain::default().state(),
        Err(Error::StateNotExported { .. })
    ));
    assert!(matches!(
        Plain::default().load_state(&OptimizerState::default()),
        Err(Error::StateNotExported { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let error = m
        .fit(
            &data,
            &CrossEntropy,
            &mut Plain::default(),
            &FitConfig::new(2).checkpoint(&path),
        )
        .unwrap_err();
    // Refused before the first epoch, and no file written.
    assert!(
        matches!(error.error, Error::StateNotExported { .. }),
        "{error}"
    );
    assert!(error.history.epoch_losses.is_empty());
    assert!(!path.exists());
    // So is a checkpoint in a folder that does not exist.
    let nowhere = dir.path().join("no/such/folder/run.ckpt");
    let error = m
        .fit(
            &data,
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
            &FitConfig::new(2).checkpoint(&nowhere),
        )
        .unwrap_err();
    assert!(matches!(error.error, Error::Io { .. }), "{error}");
    assert!(error.history.epoch_losses.is_empty());
}

/// A callback with a state of its own: counts epochs.
#[derive(Default)]
struct Counter(usize);

impl Callback for Counter {
    fn on_epoch_end(
        &mut self,
        _: &mut Sequential,
        _: &feedforward::model::EpochLog,
    ) -> feedforward::Result<feedforward::model::Control> {
        self.0 += 1;
        Ok(feedforward::model::Control::Continue)
    }
    fn state(&self) -> feedforward::Result<Option<feedforward::model::CallbackState>> {
        let mut state = feedforward::model::CallbackState {
            kind: "Counter".into(),
            ..Default::default()
        };
        state.set("epochs", self.0);
        Ok(Some(state))
    }
    fn load_state(
        &mut self,
        state: &feedforward::model::CallbackState,
        _: &Sequential,
    ) -> feedforward::Result<()> {
        self.0 = state.value("epochs")?;
        Ok(())
    }
}

#[test]
fn a_callback_of_ones_own_carries_its_state_across_a_resume() {
    let data = problem(48, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let config = |epochs| {
        FitConfig::new(epochs)
            .batch_size(16)
            .checkpoint(&path)
            .checkpoint_every(2)
    };
    let mut counter = Counter::default();
    model(1)
        .fit_with_callbacks(
            &data,
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
            &config(3),
            &mut [&mut counter],
        )
        .unwrap();
    // Written after epoch 2 and after the last one (3).
    assert_eq!(TrainingCheckpoint::read(&path).unwrap().epochs_done(), 3);
    let mut resumed = Counter::default();
    model(1)
        .fit_with_callbacks(
            &data,
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
            &config(5),
            &mut [&mut resumed],
        )
        .unwrap();
    assert_eq!(resumed.0, 5);
    let error = model(1)
        .fit(
            &data,
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
            &FitConfig::new(1).checkpoint_every(0),
        )
        .unwrap_err();
    assert!(matches!(error.error, Error::InvalidConfig { .. }));
}

#[test]
fn a_regression_resumes_with_its_validation_metrics() {
    // y = x0 - 2 x1 + noise-free, 2 -> 8 -> 1 with Adam and shuffling.
    let mut rng = RandomState::new(11);
    let x = rng.randn(90, 2).unwrap();
    let y = x
        .map_axis(Axis(1), |r| r[0] - 2.0 * r[1])
        .insert_axis(Axis(1));
    let data = InMemory::new(x, y).unwrap();
    let build = || {
        let mut rng = RandomState::new(5);
        Sequential::builder(2)
            .push(Dense::new(2, 8, Init::HeNormal, &mut rng).unwrap())
            .push(Tanh)
            .push(Dense::new(8, 1, Init::XavierNormal, &mut rng).unwrap())
            .push(Identity)
            .build()
            .unwrap()
    };
    fn config(epochs: usize, path: Option<&Path>) -> FitConfig<'_> {
        let config = FitConfig::new(epochs)
            .batch_size(10)
            .shuffle(2)
            .validation(Validation::Fraction(0.2));
        match path {
            Some(path) => config.checkpoint(path),
            None => config,
        }
    }
    let mut straight = build();
    let history = straight
        .fit(
            &data,
            &feedforward::losses::Mse,
            &mut Adam::new(0.01).unwrap(),
            &config(5, None),
        )
        .unwrap();
    assert_eq!(history.validation_regression.len(), 5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    build()
        .fit(
            &data,
            &feedforward::losses::Mse,
            &mut Adam::new(0.01).unwrap(),
            &config(2, Some(&path)),
        )
        .unwrap();
    let mut resumed = build();
    let resumed_history = resumed
        .fit(
            &data,
            &feedforward::losses::Mse,
            &mut Adam::new(0.01).unwrap(),
            &config(5, Some(&path)),
        )
        .unwrap();
    assert_eq!(without_times(&resumed_history), without_times(&history));
    assert_eq!(bits(&tensors(&resumed)), bits(&tensors(&straight)));
}

#[test]
fn a_checkpoint_written_with_another_loss_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let data = short_run(&path); // CrossEntropy
    let config = FitConfig::new(4)
        .batch_size(16)
        .shuffle(0)
        .checkpoint(&path);
    let mut sgd = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
    let error = model(1)
        .fit(&data, &Mse, &mut sgd, &config)
        .unwrap_err()
        .error;
    assert!(
        matches!(problem_of(&error), CheckpointProblem::TrainingMismatch(m)
            if m.contains("the loss is CrossEntropy in the checkpoint but Mse in this run")),
        "{error}"
    );
    // The same loss with another setting is another loss.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let regression =
        InMemory::new(problem(32, 3).inputs().to_owned(), Array2::zeros((32, 3))).unwrap();
    let config = FitConfig::new(2).batch_size(16).checkpoint(&path);
    let fit = |loss: &dyn Loss, epochs: usize| {
        let config = FitConfig { epochs, ..config };
        model(1).fit(&regression, loss, &mut Sgd::new(0.1).unwrap(), &config)
    };
    fit(&Huber::new(1.0).unwrap(), 2).unwrap();
    let error = fit(&Huber::new(2.0).unwrap(), 3).unwrap_err().error;
    assert!(
        error
            .to_string()
            .contains("Huber(delta=1) in the checkpoint but Huber(delta=2)"),
        "{error}"
    );
    assert_eq!(
        fit(&Huber::new(1.0).unwrap(), 3)
            .unwrap()
            .epoch_losses
            .len(),
        3
    );
}

/// The checkpoint at `path` as version 1 wrote it: no loss in its setup, the regression
/// metrics (none here) in F32, its checksum recomputed.
fn as_version_1(path: &Path) {
    use sha2::{Digest, Sha256};
    let mut bytes = std::fs::read(path).unwrap();
    let mut replace = |from: &[u8], to: &[u8]| {
        assert_eq!(from.len(), to.len());
        let at = bytes
            .windows(from.len())
            .position(|w| w == from)
            .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(from)));
        bytes[at..at + from.len()].copy_from_slice(to);
        at
    };
    replace(b"\"format_version\":\"2\"", b"\"format_version\":\"1\"");
    let loss = b",\\\"loss\\\":\\\"CrossEntropy\\\"";
    replace(loss, &vec![b' '; loss.len()]);
    replace(b"\"dtype\":\"F64\"", b"\"dtype\":\"F32\"");
    let key = b"\"sha256\":\"";
    let at = bytes.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    bytes[at..at + 64].copy_from_slice(&[b'0'; 64]);
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    bytes[at..at + 64].copy_from_slice(digest.as_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_version_1_checkpoint_which_does_not_know_its_loss_resumes_under_any() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let data = short_run(&path);
    as_version_1(&path);
    assert_eq!(TrainingCheckpoint::read(&path).unwrap().epochs_done(), 2);
    let config = FitConfig::new(3)
        .batch_size(16)
        .shuffle(0)
        .checkpoint(&path);
    let mut sgd = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
    let history = model(1).fit(&data, &Mse, &mut sgd, &config).unwrap();
    assert_eq!(history.epoch_losses.len(), 3);
    // Written again as version 2, with the loss: now Mse is recorded.
    let mut sgd = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
    let config = FitConfig::new(4)
        .batch_size(16)
        .shuffle(0)
        .checkpoint(&path);
    let error = model(1)
        .fit(&data, &CrossEntropy, &mut sgd, &config)
        .unwrap_err()
        .error;
    assert!(
        error.to_string().contains("Mse in the checkpoint"),
        "{error}"
    );
}

/// A folder this process cannot write to: a read-only one made here, or, for a process that
/// writes anywhere (root), `/sys`; `None` when there is none.
fn unwritable_folder(dir: &Path) -> Option<std::path::PathBuf> {
    let folder = dir.join("read-only");
    std::fs::create_dir(&folder).unwrap();
    let mut permissions = std::fs::metadata(&folder).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&folder, permissions).unwrap();
    [folder, Path::new("/sys").to_path_buf()]
        .into_iter()
        .find(|f| f.is_dir() && std::fs::write(f.join(".probe"), b"").is_err())
}

#[test]
fn a_checkpoint_in_a_read_only_folder_fails_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let folder = unwritable_folder(dir.path()).expect("a folder this process cannot write");
    let path = folder.join("run.ckpt");
    let data = problem(64, 7);
    let mut m = model(1);
    let before = bits(&tensors(&m));
    let mut epochs = 0;
    let config = FitConfig::new(2).batch_size(16).checkpoint(&path);
    let failure = m
        .fit_with_progress(
            &data,
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
            &config,
            &mut |p| {
                if let Progress::EpochStart { .. } = p {
                    epochs += 1;
                }
            },
        )
        .unwrap_err();
    assert_eq!(epochs, 0, "{}", failure.error);
    assert_eq!(m.steps(), 0);
    assert_eq!(bits(&tensors(&m)), before);
    assert!(
        matches!(failure.error, Error::Io { .. }),
        "{}",
        failure.error
    );
    assert!(
        failure.error.to_string().contains("temporary file"),
        "{}",
        failure.error
    );
    assert!(!path.exists());
}
