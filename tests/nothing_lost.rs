//! Errors that would throw work away (issue 10, part 2): a learning rate of 0 is legitimate,
//! bad schedules and batch sizes fail before the first epoch, and an error in the middle of
//! `fit` gives back the epochs done.

use feedforward::data::InMemory;
use feedforward::model::{Callback, Control, EpochLog};
use feedforward::optim::Schedule;
use feedforward::prelude::*;
use feedforward::{Error, Sequential};
use ndarray::{array, Axis};

fn state(model: &Sequential) -> Vec<(String, Vec<u32>)> {
    model
        .parameters()
        .into_iter()
        .chain(model.buffers())
        .map(|(name, v)| (name, v.iter().map(|x| x.to_bits()).collect()))
        .collect()
}

fn problem(rows: usize) -> InMemory {
    let mut rng = RandomState::new(4);
    let x = rng.randn(rows, 2).unwrap();
    let labels: Vec<usize> = x
        .axis_iter(Axis(0))
        .map(|r| usize::from(r[0] > r[1]))
        .collect();
    InMemory::classification(x, &labels, 2).unwrap()
}

fn model(batch_norm: bool) -> Sequential {
    let mut rng = RandomState::new(5);
    let mut builder =
        Sequential::builder(2).push(Dense::new(2, 3, Init::XavierNormal, &mut rng).unwrap());
    if batch_norm {
        builder = builder.push(BatchNorm1d::new(3).unwrap());
    }
    builder
        .push(Dense::new(3, 2, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

#[test]
fn cosine_annealing_to_zero_trains_every_epoch() {
    // Cosine::new(5, 0.0) over 11 epochs: the rate reaches 0 at epoch 5 and rises again, as
    // PyTorch's CosineAnnealingLR: 0.5, 0.4523, 0.3273, 0.1727, 0.0477, 0.0, 0.0477, ...
    let data = problem(40);
    let mut m = model(false);
    let schedule = Cosine::new(5, 0.0).unwrap();
    let config = FitConfig::new(11).batch_size(8).schedule(&schedule);
    let history = m
        .fit(&data, &CrossEntropy, &mut Sgd::new(0.5).unwrap(), &config)
        .unwrap();
    let want = [0.5, 0.4523, 0.3273, 0.1727, 0.0477, 0.0, 0.0477, 0.1727];
    for (got, want) in history.learning_rates.iter().zip(want) {
        approx::assert_abs_diff_eq!(*got, want, epsilon = 1e-4);
    }
    assert_eq!(history.learning_rates.len(), 11);
    assert_eq!(history.learning_rates[5], 0.0);
    // An epoch at rate 0 changes nothing: its loss is the one the next epoch starts from.
    assert!(history.epoch_losses.iter().all(|l| l.is_finite()));
}

#[derive(Debug)]
struct Negative;

impl Schedule for Negative {
    fn learning_rate(&self, base_lr: f32, epoch: usize) -> f32 {
        base_lr - 0.1 * epoch as f32
    }
}

#[test]
fn a_bad_schedule_fails_before_the_first_epoch() {
    let data = problem(40);
    let cosine = Cosine::new(10, 5.0).unwrap(); // a minimum above the initial 0.1
    for schedule in [&cosine as &dyn Schedule, &Negative] {
        let mut m = model(false);
        let before = state(&m);
        let config = FitConfig::new(10).schedule(schedule);
        let failure = m
            .fit(&data, &CrossEntropy, &mut Sgd::new(0.1).unwrap(), &config)
            .unwrap_err();
        assert!(
            matches!(failure.error, Error::InvalidConfig { .. }),
            "{}",
            failure.error
        );
        assert!(failure.history.epoch_losses.is_empty());
        assert_eq!(state(&m), before);
    }
    assert!(Sgd::new(-0.1).is_err() && Sgd::new(f32::NAN).is_err());
}

#[test]
fn a_last_batch_a_layer_cannot_take_is_found_before_training() {
    // 33 rows in batches of 32: a last batch of 1 row, which batch normalisation cannot take.
    let data = problem(33);
    let mut m = model(true);
    let before = state(&m);
    let mut sgd = Sgd::new(0.1).unwrap();
    let failure = m
        .fit(
            &data,
            &CrossEntropy,
            &mut sgd,
            &FitConfig::new(3).batch_size(32),
        )
        .unwrap_err();
    match &failure.error {
        Error::InvalidConfig { name, expected, .. } => {
            assert_eq!(*name, "batch_size");
            assert!(expected.contains("drop_last") && expected.contains("BatchNorm1d"));
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    assert!(failure.history.epoch_losses.is_empty());
    assert_eq!(state(&m), before);
    assert_eq!(m.steps(), 0);
    // PyTorch's drop_last: one batch of 32 per epoch.
    let config = FitConfig::new(3).batch_size(32).shuffle(0).drop_last(true);
    let history = m.fit(&data, &CrossEntropy, &mut sgd, &config).unwrap();
    assert_eq!((history.epoch_losses.len(), m.steps()), (3, 3));
    // A model without batch normalisation takes the single row.
    let mut plain = model(false);
    plain
        .fit(
            &data,
            &CrossEntropy,
            &mut sgd,
            &FitConfig::new(1).batch_size(32),
        )
        .unwrap();
    assert_eq!(plain.steps(), 2);
}

/// Fails at the end of epoch `at`.
struct FailAt(usize);

impl Callback for FailAt {
    fn on_epoch_end(
        &mut self,
        _m: &mut Sequential,
        log: &EpochLog,
    ) -> feedforward::Result<Control> {
        if log.epoch == self.0 {
            Err(Error::config(
                "test callback",
                log.epoch,
                "an epoch other than this one",
            ))
        } else {
            Ok(Control::Continue)
        }
    }
}

#[test]
fn an_error_in_the_middle_of_fit_gives_back_the_epochs_done() {
    let data = problem(40);
    // A callback that fails after the third epoch.
    let mut m = model(false);
    let failure = m
        .fit_with_callbacks(
            &data,
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
            &FitConfig::new(10).batch_size(10),
            &mut [&mut FailAt(2)],
        )
        .unwrap_err();
    assert_eq!(failure.history.epoch_losses.len(), 3);
    assert_eq!(failure.history.learning_rates.len(), 3);
    // An update that overflows in the middle of training: the epochs before it come back, and
    // the model is the one they left.
    let mut m = Sequential::builder(1)
        .push(Dense::from_parameters(array![[0.5f32]], array![[0.0f32]]).unwrap())
        .push(Identity)
        .build()
        .unwrap();
    let x = array![[1.0f32], [3.0], [10.0]];
    let data = InMemory::new(x.clone(), x.mapv(|v| 2.0 * v + 1.0)).unwrap();
    let failure = m
        .fit(
            &data,
            &HalfMse,
            &mut Sgd::new(5.0).unwrap(),
            &FitConfig::new(10_000),
        )
        .unwrap_err();
    let done = failure.history.epoch_losses.len();
    assert!(done > 0);
    assert_eq!(done, m.steps());
    assert!(m
        .parameters()
        .iter()
        .all(|(_, p)| p.iter().all(|v| v.is_finite())));
}
