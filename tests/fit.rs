//! `fit` grown up: validation data or fraction, learning-rate schedules, callbacks and early
//! stopping that restores the best weights, snapshots.

use feedforward::data::{InMemory, Subset};
use feedforward::model::{Callback, Control, EarlyStopping, EpochLog, Monitor, Validation};
use feedforward::optim::StepDecay;
use feedforward::prelude::*;
use feedforward::{Error, Progress};
use ndarray::{Array2, Axis};

/// A small two-class problem: is x0 + x1 > 0?
fn problem(rows: usize, seed: u32) -> InMemory {
    let mut rng = RandomState::new(seed);
    let x = rng.randn(rows, 2).unwrap();
    let labels: Vec<usize> = x
        .axis_iter(Axis(0))
        .map(|r| usize::from(r[0] + r[1] > 0.0))
        .collect();
    InMemory::classification(x, &labels, 2).unwrap()
}

fn model(seed: u32) -> Sequential {
    let mut rng = RandomState::new(seed);
    Sequential::builder(2)
        .push(Dense::new(2, 8, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(8, 2, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

#[test]
fn a_validation_fraction_holds_out_the_last_rows() {
    let data = problem(100, 1);
    let mut m = model(2);
    let mut sgd = Sgd::new(0.5).unwrap();
    let mut batches = 0;
    let config = FitConfig::new(4)
        .batch_size(10)
        .validation(Validation::Fraction(0.2));
    let history = m
        .fit_with_progress(&data, &CrossEntropy, &mut sgd, &config, &mut |p| {
            if let Progress::EpochStart { batches: b, .. } = p {
                batches = *b;
            }
        })
        .unwrap();
    // 80 training rows in batches of 10
    assert_eq!(batches, 8);
    assert_eq!(history.validation_losses.len(), 4);
    assert_eq!(history.validation_accuracies.len(), 4);
    // the validation loss is the loss on rows 80..100, as evaluate computes it
    let tail = Subset::new(&data, (80..100).collect()).unwrap();
    let direct = m.evaluate(&tail, &CrossEntropy, 7).unwrap();
    assert_eq!(history.validation_losses[3], direct.loss);
    assert_eq!(history.validation_accuracies[3], direct.accuracy.unwrap());
    for bad in [0.0, 1.0, 1.5, f64::NAN] {
        let config = FitConfig::new(1).validation(Validation::Fraction(bad));
        assert!(matches!(
            m.fit(&data, &CrossEntropy, &mut sgd, &config)
                .map_err(|e| e.error),
            Err(Error::InvalidConfig { .. })
        ));
    }
}

#[test]
fn a_validation_fraction_rounds_as_keras() {
    // keras/src/trainers/data_adapters/array_slicing.py, train_validation_split:
    // split_at = int(math.floor(n * (1.0 - validation_split))); validation = rows[split_at:]
    for (n, fraction, held_out) in [(100, 0.07, 7), (90, 0.3, 28), (1000, 0.33, 331)] {
        let data = problem(n, 6);
        let mut m = model(2);
        let mut sgd = Sgd::new(0.1).unwrap();
        let mut batches = 0;
        let config = FitConfig::new(1)
            .batch_size(1)
            .validation(Validation::Fraction(fraction));
        let history = m
            .fit_with_progress(&data, &CrossEntropy, &mut sgd, &config, &mut |p| {
                if let Progress::EpochStart { batches: b, .. } = p {
                    batches = *b;
                }
            })
            .unwrap();
        assert_eq!(batches, n - held_out, "{n} rows, fraction {fraction}");
        let tail = Subset::new(&data, (n - held_out..n).collect()).unwrap();
        let direct = m.evaluate(&tail, &CrossEntropy, 1000).unwrap();
        assert_eq!(history.validation_losses[0], direct.loss);
    }
}

#[test]
fn validation_data_is_evaluated_every_epoch() {
    let (train, valid) = (problem(64, 3), problem(40, 4));
    let mut m = model(5);
    let mut sgd = Sgd::new(0.5).unwrap();
    let config = FitConfig::new(30)
        .batch_size(16)
        .shuffle(0)
        .validation(Validation::Data(&valid));
    let history = m.fit(&train, &CrossEntropy, &mut sgd, &config).unwrap();
    assert_eq!(history.validation_losses.len(), 30);
    assert!(history.validation_losses[29] < history.validation_losses[0]);
    assert!(*history.validation_accuracies.last().unwrap() > 0.9);
    assert_eq!(history.epoch_times.len(), 30);
    assert!(history.stopped_at.is_none());
    let wrong = InMemory::new(Array2::zeros((4, 3)), Array2::zeros((4, 2))).unwrap();
    let config = FitConfig::new(1).validation(Validation::Data(&wrong));
    assert!(matches!(
        m.fit(&train, &CrossEntropy, &mut sgd, &config)
            .map_err(|e| e.error),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn a_schedule_sets_the_learning_rate_of_every_epoch() {
    let data = problem(32, 6);
    let mut m = model(7);
    let mut sgd = Sgd::new(0.4).unwrap();
    let schedule = StepDecay::new(2, 0.5).unwrap();
    let config = FitConfig::new(5).batch_size(8).schedule(&schedule);
    let history = m.fit(&data, &CrossEntropy, &mut sgd, &config).unwrap();
    assert_eq!(history.learning_rates, [0.4, 0.4, 0.2, 0.2, 0.1]);
}

/// Records the epochs it sees and stops after `stop_after` of them.
struct StopAfter {
    stop_after: usize,
    seen: Vec<usize>,
    ended: bool,
}

impl Callback for StopAfter {
    fn on_epoch_end(&mut self, _: &mut Sequential, log: &EpochLog) -> feedforward::Result<Control> {
        self.seen.push(log.epoch);
        Ok(if self.seen.len() >= self.stop_after {
            Control::Stop
        } else {
            Control::Continue
        })
    }
    fn on_train_end(
        &mut self,
        _: &mut Sequential,
        _: &feedforward::History,
    ) -> feedforward::Result<()> {
        self.ended = true;
        Ok(())
    }
}

#[test]
fn a_callback_can_stop_training() {
    let data = problem(32, 8);
    let mut m = model(9);
    let mut sgd = Sgd::new(0.1).unwrap();
    let mut stopper = StopAfter {
        stop_after: 3,
        seen: vec![],
        ended: false,
    };
    let history = m
        .fit_with_callbacks(
            &data,
            &CrossEntropy,
            &mut sgd,
            &FitConfig::new(100).batch_size(8),
            &mut [&mut stopper],
        )
        .unwrap();
    assert_eq!(stopper.seen, [0, 1, 2]);
    assert!(stopper.ended);
    assert_eq!(history.epoch_losses.len(), 3);
    assert_eq!(history.stopped_at, Some(2));
}

#[test]
fn early_stopping_waits_for_patience_and_restores_the_best_weights() {
    // A learning rate far too high makes the training loss bounce: early stopping must stop
    // `patience` epochs after the best one and put its weights back.
    let data = problem(64, 10);
    let mut m = model(11);
    let mut sgd = Sgd::new(0.5).unwrap().with_momentum(0.9).unwrap();
    let mut stopper = EarlyStopping::new(2)
        .unwrap()
        .monitor(Monitor::TrainingLoss)
        .restore_best_weights(true);
    let mut snapshots = vec![];
    struct Keep<'a>(&'a mut Vec<feedforward::model::Snapshot>);
    impl Callback for Keep<'_> {
        fn on_epoch_end(
            &mut self,
            m: &mut Sequential,
            _: &EpochLog,
        ) -> feedforward::Result<Control> {
            self.0.push(m.snapshot());
            Ok(Control::Continue)
        }
    }
    let history = m
        .fit_with_callbacks(
            &data,
            &CrossEntropy,
            &mut sgd,
            &FitConfig::new(200).batch_size(64),
            &mut [&mut Keep(&mut snapshots), &mut stopper],
        )
        .unwrap();
    let best = stopper.best_epoch().unwrap();
    let losses = &history.epoch_losses;
    let stopped = history.stopped_at.expect("a bouncing loss stops early");
    assert_eq!(stopped, best + 2, "losses {losses:?}");
    let min = losses.iter().cloned().fold(f32::INFINITY, f32::min);
    assert_eq!(losses[best], min);
    assert_eq!(stopper.best_loss(), Some(min));
    // the model now holds the weights it had at the end of the best epoch
    assert_eq!(m.snapshot(), snapshots[best]);
    assert_ne!(snapshots[best], snapshots[stopped]);
    assert!(EarlyStopping::new(0).is_err());
    assert!(EarlyStopping::new(1).unwrap().min_delta(-1.0).is_err());
}

#[test]
fn a_snapshot_only_restores_into_the_same_architecture() {
    let small = model(1);
    let mut other = Sequential::builder(2)
        .push(Dense::new(2, 3, Init::HeNormal, &mut RandomState::new(0)).unwrap())
        .build()
        .unwrap();
    let before = other.snapshot();
    assert!(matches!(
        other.restore(&small.snapshot()),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(other.snapshot(), before);
}
