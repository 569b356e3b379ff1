//! Nothing non-finite slips in (issue 10, part 1): a training step either leaves every
//! parameter, buffer and optimizer state finite, or returns an error and changes nothing, bit
//! for bit; a NaN epoch never counts as the best one. Nothing non-finite comes out (issue 22,
//! part 1): `predict`, `predict_classes`, `evaluate` and training refuse a NaN or infinite input
//! naming its row and column, and an output that overflows is an error naming the row and the
//! layer, never `Ok` holding NaN or infinity; the regression metrics stay finite in f64.

use feedforward::data::InMemory;
use feedforward::model::{Callback, EarlyStopping, EpochLog, Monitor, Validation};
use feedforward::prelude::*;
use feedforward::{Error, Sequential};
use ndarray::{array, Array2};
use std::time::Duration;

/// Every parameter and buffer, as bits, to compare bit for bit.
fn state(model: &Sequential) -> Vec<(String, Vec<u32>)> {
    model
        .parameters()
        .into_iter()
        .chain(model.buffers())
        .map(|(name, v)| (name, v.iter().map(|x| x.to_bits()).collect()))
        .collect()
}

fn all_finite(model: &Sequential) -> bool {
    model
        .parameters()
        .into_iter()
        .chain(model.buffers())
        .all(|(_, v)| v.iter().all(|x| x.is_finite()))
}

fn perceptron() -> Sequential {
    Sequential::builder(1)
        .push(Dense::from_parameters(array![[0.5f32]], array![[0.0f32]]).unwrap())
        .push(Identity)
        .build()
        .unwrap()
}

#[test]
fn an_update_that_overflows_is_an_error_and_changes_nothing() {
    let data = InMemory::new(array![[1.0f32], [2.0]], array![[3.0f32], [5.0]]).unwrap();
    let optimizers: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Sgd::new(3e38).unwrap()),
        Box::new(Adam::new(3e38).unwrap()),
        Box::new(AdamW::new(3e38).unwrap()),
        Box::new(Sgd::new(3e38).unwrap().with_momentum(0.9).unwrap()),
    ];
    for mut optimizer in optimizers {
        let mut model = perceptron();
        let before = state(&model);
        let failure = model
            .fit(&data, &HalfMse, optimizer.as_mut(), &FitConfig::new(1))
            .unwrap_err();
        match &failure.error {
            Error::NonFiniteUpdate {
                what,
                step,
                learning_rate,
            } => {
                assert!(what.contains("0.weight"), "{what}");
                assert_eq!((*step, *learning_rate), (0, 3e38));
            }
            other => panic!("expected NonFiniteUpdate, got {other:?}"),
        }
        assert!(failure.error.to_string().contains("undone"), "{}", failure);
        assert_eq!(state(&model), before, "the model changed");
        assert_eq!(model.steps(), 0);
        assert!(failure.history.epoch_losses.is_empty());
        // predict gives the untouched model's answer: 0.5 * 1 + 0
        assert_eq!(model.predict(array![[1.0f32]].view()).unwrap()[[0, 0]], 0.5);
    }
}

#[test]
fn adam_state_is_untouched_by_a_failed_step() {
    // Two good steps, then one that overflows; then the same good steps on a copy must agree.
    let x = array![[1.0f32], [2.0]];
    let y = array![[3.0f32], [5.0]];
    let mut model = perceptron();
    let mut adam = Adam::new(0.1).unwrap();
    let mut twin = perceptron();
    let mut twin_adam = Adam::new(0.1).unwrap();
    for _ in 0..2 {
        model
            .train_step(x.view(), y.view(), &HalfMse, &mut adam)
            .unwrap();
        twin.train_step(x.view(), y.view(), &HalfMse, &mut twin_adam)
            .unwrap();
    }
    let before = state(&model);
    // A NaN target is refused (the loss checks its targets); a huge learning rate overflows.
    let err = model
        .train_step(
            x.view(),
            array![[f32::NAN], [5.0]].view(),
            &HalfMse,
            &mut adam,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteLoss { .. } | Error::InvalidTarget { .. }
        ),
        "{err}"
    );
    adam.set_learning_rate(3e38).unwrap();
    let err = model
        .train_step(x.view(), y.view(), &HalfMse, &mut adam)
        .unwrap_err();
    assert!(matches!(err, Error::NonFiniteUpdate { .. }), "{err}");
    assert_eq!(state(&model), before);
    assert_eq!(adam.steps(), 2);
    adam.set_learning_rate(0.1).unwrap();
    model
        .train_step(x.view(), y.view(), &HalfMse, &mut adam)
        .unwrap();
    twin.train_step(x.view(), y.view(), &HalfMse, &mut twin_adam)
        .unwrap();
    assert_eq!(state(&model), state(&twin), "the moments were disturbed");
}

#[test]
fn a_saturated_gelu_tanh_gives_finite_gradients() {
    // Dense (weight 1e20) -> GeluTanh -> Dense (weight 1e-20) -> Identity, x = 1, t = 0.5:
    // GeluTanh(1e20) = 1e20, whose derivative is exactly 1 (f32 computed 0 * inf = NaN).
    let mut model = Sequential::builder(1)
        .push(Dense::from_parameters(array![[1e20f32]], array![[0.0f32]]).unwrap())
        .push(GeluTanh)
        .push(Dense::from_parameters(array![[1e-20f32]], array![[0.0f32]]).unwrap())
        .push(Identity)
        .build()
        .unwrap();
    let mut sgd = Sgd::new(0.1).unwrap();
    let loss = model
        .train_step(
            array![[1.0f32]].view(),
            array![[0.5f32]].view(),
            &HalfMse,
            &mut sgd,
        )
        .unwrap();
    assert_eq!(loss, 0.125); // (1 - 0.5)^2 / 2
    assert!(all_finite(&model));
    let params = model.parameters();
    // dL/dy = 0.5; d(layer 0 pre-activation) = 0.5 * 1e-20 * 1: weight 1e20 - 0.1 * 5e-21
    assert_eq!(params[0].1[[0, 0]], 1e20);
    assert_eq!(params[1].1[[0, 0]], -0.1 * 5e-21);
    // layer 2: dW = 0.5 * 1e20 = 5e19
    assert_eq!(params[2].1[[0, 0]], 1e-20 - 0.1 * 5e19);
}

fn batch_norm_model() -> Sequential {
    let mut rng = RandomState::new(3);
    Sequential::builder(2)
        .push(Dense::new(2, 3, Init::XavierNormal, &mut rng).unwrap())
        .push(BatchNorm1d::new(3).unwrap())
        .push(Dense::new(3, 2, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

#[test]
fn a_batch_that_fails_never_reaches_the_running_statistics() {
    let mut model = batch_norm_model();
    let mut sgd = Sgd::new(0.1).unwrap();
    let good = array![[1.0f32, 2.0], [0.2, 0.5], [0.3, 0.1]];
    let targets = array![[1.0f32, 0.0], [0.0, 1.0], [1.0, 0.0]];
    model
        .train_step(good.view(), targets.view(), &CrossEntropy, &mut sgd)
        .unwrap();
    let before = state(&model);
    let bad = array![[1.0f32, 2.0], [f32::NAN, 0.5], [0.3, 0.1]];
    let err = model
        .train_step(bad.view(), targets.view(), &CrossEntropy, &mut sgd)
        .unwrap_err();
    assert!(
        matches!(err, Error::NonFiniteInput { row: 1, column: 0, value } if value.is_nan()),
        "{err}"
    );
    assert_eq!(state(&model), before);
    let out = model.predict(good.view()).unwrap();
    assert!(out.iter().all(|v| v.is_finite()));

    // A batch whose variance overflows f32: the step is refused, running_var stays 1.
    let mut model = Sequential::builder(1)
        .push(BatchNorm1d::new(1).unwrap())
        .push(Identity)
        .build()
        .unwrap();
    let before = state(&model);
    let x = array![[1e20f32], [2e20], [3e20]];
    let err = model
        .train_step(x.view(), Array2::zeros((3, 1)).view(), &HalfMse, &mut sgd)
        .unwrap_err();
    match &err {
        Error::NonFiniteUpdate { what, .. } => assert!(what.contains("0.running_var"), "{what}"),
        other => panic!("expected NonFiniteUpdate, got {other:?}"),
    }
    assert_eq!(state(&model), before);
}

#[test]
fn nan_inputs_are_refused_by_evaluate_not_counted() {
    // 50 rows of class 0 whose inputs are NaN: an error naming the first, not an accuracy.
    let mut model = Sequential::builder(2)
        .push(
            Dense::from_parameters(array![[1.0f32, 0.0], [0.0, 1.0]], array![[0.0f32, 0.0]])
                .unwrap(),
        )
        .push(Softmax)
        .build()
        .unwrap();
    let data = InMemory::classification(Array2::from_elem((50, 2), f32::NAN), &[0; 50], 2).unwrap();
    let err = model.evaluate(&data, &CrossEntropy, 16).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteInput {
                row: 0,
                column: 0,
                ..
            }
        ),
        "{err}"
    );
}

fn log(epoch: usize, loss: f32) -> EpochLog {
    EpochLog {
        epoch,
        loss,
        accuracy: None,
        regression: None,
        validation_loss: None,
        validation_accuracy: None,
        validation_regression: None,
        learning_rate: 0.1,
        duration: Duration::ZERO,
    }
}

#[test]
fn early_stopping_never_picks_a_nan_epoch() {
    let mut model = perceptron();
    let mut stopper = EarlyStopping::new(5)
        .unwrap()
        .monitor(Monitor::TrainingLoss)
        .restore_best_weights(true);
    stopper.on_train_begin(&mut model).unwrap();
    for (epoch, loss) in [(0, f32::NAN), (1, 2.0), (2, f32::NAN), (3, f32::INFINITY)] {
        stopper.on_epoch_end(&mut model, &log(epoch, loss)).unwrap();
    }
    assert_eq!(
        (stopper.best_epoch(), stopper.best_loss()),
        (Some(1), Some(2.0))
    );
    // Only infinite validation losses (a target so far off that the squared error overflows
    // f32): no best epoch at all, nothing restored.
    let mut stopper = EarlyStopping::new(2).unwrap().restore_best_weights(true);
    let data = InMemory::new(array![[1.0f32], [2.0]], array![[3.0f32], [5.0]]).unwrap();
    let valid = InMemory::new(array![[1.0f32]], array![[3e38f32]]).unwrap();
    let config = FitConfig::new(10).validation(Validation::Data(&valid));
    let history = model
        .fit_with_callbacks(
            &data,
            &HalfMse,
            &mut Sgd::new(0.01).unwrap(),
            &config,
            &mut [&mut stopper],
        )
        .unwrap();
    assert!(history.validation_losses.iter().all(|l| l.is_infinite()));
    // the metrics, in f64, stay finite: an error of 3e38
    assert!(history
        .validation_regression
        .iter()
        .all(|r| r.mae > 2.9e38 && r.mse.is_finite()));
    assert_eq!(stopper.best_epoch(), None);
    assert_eq!(history.stopped_at, Some(1));
}

#[test]
fn one_early_stopping_serves_several_fits() {
    // Keras resets a callback's state when a fit begins: 50, 50, 50 epochs, not 50, 5, 1.
    let data = InMemory::new(array![[1.0f32], [2.0]], array![[3.0f32], [5.0]]).unwrap();
    let mut stopper = EarlyStopping::new(5)
        .unwrap()
        .monitor(Monitor::TrainingLoss);
    for _ in 0..3 {
        let mut model = perceptron();
        let history = model
            .fit_with_callbacks(
                &data,
                &HalfMse,
                &mut Sgd::new(0.05).unwrap(),
                &FitConfig::new(50),
                &mut [&mut stopper],
            )
            .unwrap();
        assert_eq!(history.epoch_losses.len(), 50);
        assert_eq!(history.stopped_at, None);
    }
}

#[test]
fn restoring_the_best_weights_restores_the_running_statistics() {
    let mut rng = RandomState::new(9);
    let x = rng.randn(64, 2).unwrap();
    let labels: Vec<usize> = x
        .rows()
        .into_iter()
        .map(|r| usize::from(r[0] > r[1]))
        .collect();
    let data = InMemory::classification(x.clone(), &labels, 2).unwrap();
    // Validation rows labelled the other way: the better the model, the worse it scores.
    let flipped: Vec<usize> = labels.iter().map(|l| 1 - l).collect();
    let valid =
        InMemory::classification(x.slice(ndarray::s![..16, ..]).to_owned(), &flipped[..16], 2)
            .unwrap();
    let mut model = batch_norm_model();
    let mut stopper = EarlyStopping::new(3).unwrap().restore_best_weights(true);
    let config = FitConfig::new(30)
        .batch_size(16)
        .validation(Validation::Data(&valid));
    let history = model
        .fit_with_callbacks(
            &data,
            &CrossEntropy,
            &mut Sgd::new(0.5).unwrap(),
            &config,
            &mut [&mut stopper],
        )
        .unwrap();
    let best = stopper.best_epoch().unwrap();
    // an earlier epoch than the last was the best: the restore is what is tested
    assert!(best + 1 < history.epoch_losses.len(), "{history:?}");
    let evaluation = model.evaluate(&valid, &CrossEntropy, 1000).unwrap();
    // The restored model (parameters and running statistics) scores the best epoch's loss.
    assert_eq!(evaluation.loss, history.validation_losses[best]);
    assert_eq!(stopper.best_loss(), Some(evaluation.loss));
}

#[test]
fn constructors_refuse_non_finite_values() {
    assert!(matches!(
        Dense::from_parameters(array![[f32::NAN, 1.0]], array![[0.0f32, 0.0]]),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        Dense::new(
            2,
            2,
            Init::Normal { std: f64::NAN },
            &mut RandomState::new(0)
        ),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        Dense::new(usize::MAX, 2, Init::Zeros, &mut RandomState::new(0)),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        feedforward::data::one_hot(&[0], usize::MAX),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        BatchNorm1d::new(usize::MAX),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        LayerNorm::new(usize::MAX),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        Normalization::new(usize::MAX),
        Err(Error::TooLarge { .. })
    ));
    for lr in [-0.1f32, f32::NAN, f32::INFINITY] {
        assert!(Sgd::new(lr).is_err() && Adam::new(lr).is_err() && AdamW::new(lr).is_err());
    }
    for bad in [f32::NAN, f32::INFINITY, -1.0] {
        assert!(Sgd::new(0.1).unwrap().with_momentum(bad).is_err());
        assert!(Sgd::new(0.1).unwrap().with_weight_decay(bad).is_err());
        assert!(Adam::default().with_eps(bad).is_err());
        assert!(Adam::default().with_betas(bad, 0.9).is_err());
        assert!(BatchNorm1d::new(2).unwrap().with_momentum(bad).is_err());
        assert!(BatchNorm1d::new(2).unwrap().with_eps(bad).is_err());
        assert!(LayerNorm::new(2).unwrap().with_eps(bad).is_err());
        assert!(EarlyStopping::new(1).unwrap().min_delta(bad).is_err());
        assert!(Dropout::new(bad, 0).is_err());
    }
    for bad in [f32::NAN, f32::INFINITY] {
        assert!(LeakyRelu::new(bad).is_err() && Elu::new(bad).is_err());
    }
}

/// The model: Dense(2, 16) -> Relu -> Dense(16, 2) -> Softmax.
fn classifier() -> Sequential {
    Sequential::builder(2)
        .seed(4)
        .dense(16, Init::HeNormal)
        .push(Relu)
        .dense(2, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap()
}

fn expect_input(err: Error, row: usize, column: usize) {
    match err {
        Error::NonFiniteInput {
            row: r, column: c, ..
        } => assert_eq!((r, c), (row, column), "row and column"),
        other => panic!("expected NonFiniteInput at ({row}, {column}), got {other:?}"),
    }
}

fn expect_output(err: Error, row: usize, layer: usize, name: &str) {
    let message = err.to_string();
    match err {
        Error::NonFiniteOutput {
            row: r,
            layer: l,
            name: n,
            value,
        } => {
            assert_eq!((r, l, n.as_str()), (row, layer, name), "{message}");
            assert!(!value.is_finite());
            assert!(
                message.contains(&format!("layer {layer} ({name})")),
                "{message}"
            );
        }
        other => panic!("expected NonFiniteOutput, got {other:?}"),
    }
}

#[test]
fn a_nan_feature_hidden_by_relu_is_refused_by_predict_and_predict_classes() {
    let mut model = classifier();
    let x = array![[0.2f32, 0.5], [f32::NAN, 0.5]];
    let err = model.predict(x.view()).unwrap_err();
    assert!(
        err.to_string().contains("input row 1, column 0 is NaN"),
        "{err}"
    );
    expect_input(err, 1, 0);
    expect_input(model.predict_classes(x.view()).unwrap_err(), 1, 0);
    for bad in [f32::INFINITY, f32::NEG_INFINITY] {
        expect_input(
            model.predict(array![[0.0f32, bad]].view()).unwrap_err(),
            0,
            1,
        );
    }
    // The model still answers finite rows.
    let p = model
        .predict_classes(x.slice(ndarray::s![..1, ..]))
        .unwrap();
    assert!(p.probabilities.iter().all(|v| v.is_finite()));
}

#[test]
fn evaluate_refuses_a_nan_feature_with_the_data_sets_row() {
    let mut model = classifier();
    let data =
        InMemory::classification(array![[1.0f32, f32::NAN], [0.0, 1.0]], &[0, 1], 2).unwrap();
    expect_input(model.evaluate(&data, &CrossEntropy, 32).unwrap_err(), 0, 1);
    // in the second batch of one row: the data set's row 2, not the batch's row 0
    let data = InMemory::classification(
        array![[1.0f32, 0.0], [0.0, 1.0], [0.5, f32::INFINITY]],
        &[0, 1, 0],
        2,
    )
    .unwrap();
    expect_input(model.evaluate(&data, &CrossEntropy, 2).unwrap_err(), 2, 1);
}

#[test]
fn every_layer_refuses_non_finite_inputs() {
    for (mut model, x) in [
        (
            Sequential::builder(1).push(Relu).build().unwrap(),
            array![[f32::INFINITY]],
        ),
        (
            Sequential::builder(2).push(Softmax).build().unwrap(),
            array![[f32::NEG_INFINITY, f32::NEG_INFINITY]],
        ),
        (
            Sequential::builder(2).push(Softmax).build().unwrap(),
            array![[f32::INFINITY, 0.0]],
        ),
    ] {
        expect_input(model.predict(x.view()).unwrap_err(), 0, 0);
    }
}

#[test]
fn outputs_that_overflow_name_the_row_and_the_layer() {
    // Dense weights [[2], [2]], bias 0, finite input 3e38: 1.2e39 overflows in layer 0.
    let dense = || Dense::from_parameters(array![[2.0f32], [2.0]], array![[0.0f32]]).unwrap();
    let mut model = Sequential::builder(2).push(dense()).build().unwrap();
    let x = array![[1.0f32, 1.0], [3e38, 3e38]];
    expect_output(model.predict(x.view()).unwrap_err(), 1, 0, "Dense");
    // Behind a Relu and a Softmax (which makes NaN of it), the layer named is still the Dense.
    let mut model = Sequential::builder(2)
        .push(
            Dense::from_parameters(array![[2.0f32, 1.0], [2.0, 1.0]], array![[0.0f32, 0.0]])
                .unwrap(),
        )
        .push(Relu)
        .push(Softmax)
        .build()
        .unwrap();
    expect_output(model.predict(x.view()).unwrap_err(), 1, 0, "Dense");
    expect_output(model.predict_classes(x.view()).unwrap_err(), 1, 0, "Dense");
    // Normalization with a variance of 1e-30: 3e38 / 1e-15 overflows in layer 1.
    let norm =
        Normalization::with_stats(array![[0.0f32]].view(), array![[1e-30f32]].view()).unwrap();
    let mut model = Sequential::builder(1)
        .push(Identity)
        .push(norm)
        .build()
        .unwrap();
    expect_output(
        model.predict(array![[3e38f32]].view()).unwrap_err(),
        0,
        1,
        "Normalization",
    );
    // evaluate: the data set's row
    let mut model = Sequential::builder(2).push(dense()).build().unwrap();
    let data = InMemory::new(
        array![[1.0f32, 1.0], [2.0, 2.0], [3e38, 3e38]],
        array![[4.0f32], [8.0], [0.0]],
    )
    .unwrap();
    expect_output(model.evaluate(&data, &Mse, 2).unwrap_err(), 2, 0, "Dense");
}

#[test]
fn training_names_the_row_and_column_of_a_non_finite_input() {
    let mut rng = RandomState::new(5);
    let mut x = rng.randn(40, 2).unwrap();
    x[[27, 1]] = f32::NAN;
    let labels: Vec<usize> = (0..40).map(|i| i % 2).collect();
    let data = InMemory::classification(x.clone(), &labels, 2).unwrap();
    for config in [
        FitConfig::new(3).batch_size(8),
        FitConfig::new(3).batch_size(8).shuffle(1),
    ] {
        let mut model = classifier();
        let before = state(&model);
        let failure = model
            .fit(&data, &CrossEntropy, &mut Sgd::new(0.1).unwrap(), &config)
            .unwrap_err();
        // the data set's row, at the first step that meets it (no epoch completed)
        assert!(failure.history.epoch_losses.is_empty());
        let steps = model.steps();
        expect_input(failure.error, 27, 1);
        assert!(
            steps < 5,
            "{steps} steps: the row is met in the first epoch"
        );
        if steps == 0 {
            assert_eq!(state(&model), before);
        }
    }
    // train_step: the row within the batch, nothing changed
    let mut model = classifier();
    let before = state(&model);
    let targets = feedforward::data::one_hot(&[0, 1, 0], 2).unwrap();
    let batch = array![[0.1f32, 0.2], [0.3, 0.4], [f32::NEG_INFINITY, 0.0]];
    let err = model
        .train_step(
            batch.view(),
            targets.view(),
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
        )
        .unwrap_err();
    expect_input(err, 2, 0);
    assert_eq!(state(&model), before);
    assert_eq!(model.steps(), 0);
}

#[test]
fn regression_metrics_of_huge_errors_are_finite_as_in_scikit_learn() {
    // scripts/regression_metrics_f64.py: scikit-learn on the f32 values in float64
    let t = array![[-3e38f32], [3e38]];
    let y = array![[3e38f32], [-3e38]];
    let m = RegressionMetrics::compute(t.view(), y.view()).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
    assert!(close(m.mse, 3.600_000_013_194_614e77), "{m:?}");
    assert!(close(m.rmse, 6.000_000_010_995_511_5e38), "{m:?}");
    assert!(close(m.mae, 6.000_000_010_995_511_5e38), "{m:?}");
    assert_eq!(m.r2, -3.0);
}

/// A first Dense layer narrower than its input is checked after it runs (its output holds a
/// NaN or an infinity for every row with one in its input, whatever the weights): the errors
/// must be those of a check of the input itself, for every position and kind of value, with
/// zero weights too (`inf * 0` is NaN), and a step must still change nothing.
#[test]
fn a_narrow_first_dense_layer_names_the_same_row_and_column() {
    let (rows, columns) = (5, 6);
    let mut rng = RandomState::new(11);
    let clean = rng.randn(rows, columns).unwrap();
    let labels: Vec<usize> = (0..rows).map(|i| i % 2).collect();
    let targets = feedforward::data::one_hot(&labels, 2).unwrap();
    for init in [Init::HeNormal, Init::Zeros] {
        // 6 -> 3: narrower, checked after the layer; 6 -> 8: wider, checked before it.
        for width in [3, 8] {
            let mut model = Sequential::builder(columns)
                .seed(2)
                .dense(width, init)
                .push(Relu)
                .dense(2, Init::XavierNormal)
                .push(Softmax)
                .build()
                .unwrap();
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::NAN] {
                for row in 0..rows {
                    for column in 0..columns {
                        let mut x = clean.clone();
                        x[[row, column]] = bad;
                        // a second bad value later in row-major order is not the one named
                        if row + 1 < rows {
                            x[[row + 1, 0]] = f32::NAN;
                        }
                        expect_input(model.predict(x.view()).unwrap_err(), row, column);
                        expect_input(model.predict_classes(x.view()).unwrap_err(), row, column);
                        let data = InMemory::new(x.clone(), targets.clone()).unwrap();
                        expect_input(
                            model.evaluate(&data, &CrossEntropy, 2).unwrap_err(),
                            row,
                            column,
                        );
                        let before = state(&model);
                        let err = model
                            .train_step(
                                x.view(),
                                targets.view(),
                                &CrossEntropy,
                                &mut Sgd::new(0.1).unwrap(),
                            )
                            .unwrap_err();
                        expect_input(err, row, column);
                        assert_eq!(state(&model), before);
                    }
                }
            }
            // and clean rows still go through
            assert!(model
                .predict(clean.view())
                .unwrap()
                .iter()
                .all(|v| v.is_finite()));
        }
    }
}
