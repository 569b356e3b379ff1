//! Losses seen from a user's side: every wrong pairing of loss and last layer is a typed error
//! naming the fix, the fused losses train exactly, and `evaluate` reports the task's metrics.
//! The cases are those of issue 11, as a Keras or PyTorch user would write them.

use feedforward::data::one_hot;
use feedforward::losses::{BinaryCrossEntropy, CrossEntropy};
use feedforward::metrics::Task;
use feedforward::model::Validation;
use feedforward::prelude::*;
use feedforward::Error;
use ndarray::{array, Array2, Axis};

fn model(input: usize, output: usize, last: Option<Box<dyn Layer>>, seed: u32) -> Sequential {
    let mut rng = RandomState::new(seed);
    let mut builder = Sequential::builder(input)
        .push(Dense::new(input, 8, Init::HeNormal, &mut rng).unwrap())
        .push(Tanh)
        .push(Dense::new(8, output, Init::XavierNormal, &mut rng).unwrap());
    if let Some(last) = last {
        builder = builder.push_boxed(last);
    }
    builder.build().unwrap()
}

/// The error of one training step and of `evaluate` and `fit`, which must be the same
/// `LossMismatch`; returns its message.
fn mismatch(model: &mut Sequential, loss: &dyn Loss, targets: Array2<f32>) -> String {
    let x = Array2::from_elem((targets.nrows(), model.input_width()), 0.5f32);
    let before = model.snapshot();
    let mut sgd = Sgd::new(0.1).unwrap();
    let step = model
        .train_step(x.view(), targets.view(), loss, &mut sgd)
        .unwrap_err();
    assert!(matches!(step, Error::LossMismatch { .. }), "{step}");
    let data = InMemory::new(x, targets).unwrap();
    let eval = model.evaluate(&data, loss, 8).unwrap_err();
    assert_eq!(eval.to_string(), step.to_string());
    let fit = model
        .fit(&data, loss, &mut sgd, &FitConfig::new(3))
        .unwrap_err();
    assert_eq!(fit.error.to_string(), step.to_string());
    assert!(fit.history.epoch_losses.is_empty());
    assert_eq!(model.snapshot(), before, "nothing trained");
    step.to_string()
}

#[test]
fn binary_the_keras_way_with_cross_entropy_says_use_binary_cross_entropy() {
    // Dense(.., 1) -> Sigmoid with CrossEntropy and 0/1 targets in one column.
    let mut m = model(3, 1, Some(Box::new(Sigmoid)), 0);
    let message = mismatch(&mut m, &CrossEntropy, array![[0.0f32], [1.0]]);
    assert!(message.contains("Sigmoid, 1 column"), "{message}");
    assert!(message.contains("BinaryCrossEntropy"), "{message}");
    // the same on logits, and a 1-wide softmax
    let mut m = model(3, 1, None, 0);
    let message = mismatch(
        &mut m,
        &CrossEntropy::from_logits(),
        array![[0.0f32], [1.0]],
    );
    assert!(message.contains("BinaryCrossEntropy"), "{message}");
    let mut m = model(3, 1, Some(Box::new(Softmax)), 0);
    let message = mismatch(&mut m, &CrossEntropy, array![[0.0f32], [1.0]]);
    assert!(message.contains("always 0"), "{message}");
}

#[test]
fn cross_entropy_on_raw_outputs_says_add_a_softmax_or_use_from_logits() {
    let targets = one_hot(&[0, 2], 3).unwrap();
    let mut m = model(3, 3, None, 1);
    let message = mismatch(&mut m, &CrossEntropy, targets.clone());
    assert!(message.contains("Softmax"), "{message}");
    assert!(message.contains("CrossEntropy::from_logits()"), "{message}");
    let mut m = model(3, 3, Some(Box::new(Identity)), 1);
    mismatch(&mut m, &CrossEntropy, targets.clone());
    // a softmax twice: the PyTorch bug of nn.Softmax before nn.CrossEntropyLoss
    let mut m = model(3, 3, Some(Box::new(Softmax)), 1);
    let message = mismatch(&mut m, &CrossEntropy::from_logits(), targets.clone());
    assert!(message.contains("remove the final Softmax"), "{message}");
    // several sigmoids with cross-entropy
    let mut m = model(3, 3, Some(Box::new(Sigmoid)), 1);
    let message = mismatch(&mut m, &CrossEntropy, targets);
    assert!(message.contains("BinaryCrossEntropy"), "{message}");
}

#[test]
fn binary_cross_entropy_after_softmax_or_on_raw_outputs_names_the_fix() {
    let targets = array![[1.0f32, 0.0], [0.0, 1.0]];
    let mut m = model(3, 2, Some(Box::new(Softmax)), 2);
    let message = mismatch(&mut m, &BinaryCrossEntropy, targets.clone());
    assert!(message.contains("use CrossEntropy"), "{message}");
    assert!(message.contains("Sigmoid instead of Softmax"), "{message}");
    let mut m = model(3, 2, None, 2);
    let message = mismatch(&mut m, &BinaryCrossEntropy, targets.clone());
    assert!(
        message.contains("BinaryCrossEntropy::from_logits()"),
        "{message}"
    );
    let mut m = model(3, 2, Some(Box::new(Sigmoid)), 2);
    let message = mismatch(&mut m, &BinaryCrossEntropy::from_logits(), targets.clone());
    assert!(message.contains("remove the final Sigmoid"), "{message}");
    let weighted = BinaryCrossEntropy.pos_weight([1.0, 2.0, 3.0]).unwrap();
    let message = mismatch(&mut m, &weighted, targets);
    assert!(message.contains("one pos_weight per output"), "{message}");
}

#[test]
fn a_zero_target_row_gives_zero_loss_and_moves_nothing() {
    // The case: the loss was 0 but the weights moved.
    let mut m = Sequential::builder(2)
        .push(
            Dense::from_parameters(array![[0.3f32, -0.2], [0.5, 0.1]], array![[0.0f32, 0.0]])
                .unwrap(),
        )
        .push(Softmax)
        .build()
        .unwrap();
    let before = m.snapshot();
    let mut sgd = Sgd::new(1.0).unwrap();
    let loss = m
        .train_step(
            array![[0.1f32, 0.9]].view(),
            array![[0.0f32, 0.0]].view(),
            &CrossEntropy,
            &mut sgd,
        )
        .unwrap();
    assert_eq!(loss, 0.0);
    assert_eq!(m.snapshot(), before);
}

#[test]
fn targets_outside_zero_one_are_errors_with_the_data_set_row() {
    let mut m = model(2, 2, Some(Box::new(Softmax)), 3);
    let x = Array2::from_elem((5, 2), 0.5f32);
    let mut t = one_hot(&[0, 1, 0, 1, 0], 2).unwrap();
    t[[3, 1]] = -1.0;
    let mut sgd = Sgd::new(0.1).unwrap();
    let before = m.snapshot();
    let err = m
        .train_step(x.view(), t.view(), &CrossEntropy, &mut sgd)
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidTarget { row: 3, column: 1, value, .. } if value == -1.0),
        "{err}"
    );
    assert_eq!(m.snapshot(), before);
    let data = InMemory::new(x, t).unwrap();
    // batches of 2 in order: the bad row is row 1 of the second batch, reported as row 3
    let err = m
        .fit(
            &data,
            &CrossEntropy,
            &mut sgd,
            &FitConfig::new(1).batch_size(2),
        )
        .unwrap_err();
    assert!(
        matches!(err.error, Error::InvalidTarget { row: 3, .. }),
        "{}",
        err.error
    );
    let err = m.evaluate(&data, &CrossEntropy, 2).unwrap_err();
    assert!(matches!(err, Error::InvalidTarget { row: 3, .. }), "{err}");
    assert!(err.to_string().contains("[0, 1]"), "{err}");
}

#[test]
fn saturated_sigmoid_with_binary_cross_entropy_trains_with_exact_finite_gradients() {
    // Logits +-1000 from a single weight: p is exactly 0 or 1. The loss is exact (0 for a right
    // answer, 1000 for a wrong one) and the step follows dL/dz = (p - t) / n.
    for (w, t, loss_value) in [
        (1000.0f32, 1.0f32, 0.0f32),
        (1000.0, 0.0, 1000.0),
        (-1000.0, 0.0, 0.0),
        (-1000.0, 1.0, 1000.0),
    ] {
        for with_sigmoid in [true, false] {
            let mut builder = Sequential::builder(1)
                .push(Dense::from_parameters(array![[w]], array![[0.0f32]]).unwrap());
            let loss = if with_sigmoid {
                builder = builder.push(Sigmoid);
                BinaryCrossEntropy::new()
            } else {
                BinaryCrossEntropy::from_logits()
            };
            let mut m = builder.build().unwrap();
            let mut sgd = Sgd::new(0.5).unwrap();
            let value = m
                .train_step(array![[1.0f32]].view(), array![[t]].view(), &loss, &mut sgd)
                .unwrap();
            assert_eq!(value, loss_value, "w {w} t {t}");
            let p = if w > 0.0 { 1.0 } else { 0.0 };
            let params = m.parameters();
            assert_eq!(params[0].1[[0, 0]], w - 0.5 * (p - t));
            assert_eq!(params[1].1[[0, 0]], -0.5 * (p - t));
        }
    }
}

#[test]
fn a_sigmoid_classifier_is_evaluated_with_binary_accuracy() {
    // Two blobs, labels in one column; BinaryCrossEntropy learns them.
    let mut rng = RandomState::new(5);
    let x = rng.randn(200, 2).unwrap();
    let y = x.map_axis(Axis(1), |r| f32::from(u8::from(r[0] - r[1] > 0.0)));
    let y = y.insert_axis(Axis(1));
    let data = InMemory::new(x, y.clone()).unwrap();
    let mut m = model(2, 1, Some(Box::new(Sigmoid)), 6);
    let mut adam = Adam::new(0.05).unwrap();
    m.fit(
        &data,
        &BinaryCrossEntropy,
        &mut adam,
        &FitConfig::new(60).batch_size(32),
    )
    .unwrap();
    let e = m.evaluate(&data, &BinaryCrossEntropy, 64).unwrap();
    assert_eq!(e.task, Task::Binary);
    let accuracy = e.accuracy.unwrap();
    assert!(accuracy > 0.95, "{e}");
    // the accuracy is that of p > 0.5 against the targets, and the confusion matrix agrees
    let p = m.predict(data.inputs()).unwrap().to_owned();
    let right = p
        .iter()
        .zip(&y)
        .filter(|(p, t)| (**p > 0.5) == (**t == 1.0))
        .count();
    assert_eq!(accuracy, right as f32 / 200.0);
    let confusion = e.confusion.clone().unwrap();
    assert_eq!(confusion.classes(), 2);
    assert_eq!(confusion.total(), 200);
    assert_eq!(e.output_accuracies, vec![accuracy]);
    assert!(e.to_string().starts_with("loss: "), "{e}");
}

#[test]
fn multi_label_outputs_get_one_accuracy_per_output_on_logits_too() {
    // Three independent labels of two inputs; the model ends without a sigmoid.
    let mut rng = RandomState::new(7);
    let x = rng.randn(300, 2).unwrap();
    let mut y = Array2::zeros((300, 3));
    for (i, r) in x.axis_iter(Axis(0)).enumerate() {
        y[[i, 0]] = f32::from(u8::from(r[0] > 0.0));
        y[[i, 1]] = f32::from(u8::from(r[1] > 0.0));
        y[[i, 2]] = f32::from(u8::from(r[0] + r[1] > 0.0));
    }
    let data = InMemory::new(x, y).unwrap();
    let mut m = model(2, 3, None, 8);
    let loss = BinaryCrossEntropy::from_logits();
    let mut adam = Adam::new(0.05).unwrap();
    m.fit(&data, &loss, &mut adam, &FitConfig::new(80).batch_size(32))
        .unwrap();
    let e = m.evaluate(&data, &loss, 100).unwrap();
    assert_eq!(e.task, Task::Binary);
    assert_eq!(e.output_accuracies.len(), 3);
    for a in &e.output_accuracies {
        assert!(*a > 0.93, "{e:?}");
    }
    let mean = e.output_accuracies.iter().sum::<f32>() / 3.0;
    approx::assert_abs_diff_eq!(e.accuracy.unwrap(), mean, epsilon = 1e-6);
    assert!(e.confusion.is_none());
}

#[test]
fn a_regression_is_evaluated_with_mse_rmse_mae_and_r2_in_fit_too() {
    // y = 2 x0 - x1 + 0.5, learnt by a small MLP with Mse; validation metrics in the History.
    let mut rng = RandomState::new(11);
    let x = rng.randn(256, 2).unwrap();
    let y = x
        .map_axis(Axis(1), |r| 2.0 * r[0] - r[1] + 0.5)
        .insert_axis(Axis(1));
    let data = InMemory::new(x, y).unwrap();
    let mut m = model(2, 1, None, 12);
    let mut adam = Adam::new(0.02).unwrap();
    let config = FitConfig::new(60)
        .batch_size(32)
        .validation(Validation::Fraction(0.25));
    let history = m.fit(&data, &Mse, &mut adam, &config).unwrap();
    assert_eq!(history.validation_regression.len(), 60);
    assert!(history.validation_accuracies.is_empty());
    let last = history.validation_regression[59];
    assert_eq!(last.mse as f32, history.validation_losses[59]);
    assert!(last.r2 > 0.98, "{last}");
    for loss in [&Mse as &dyn Loss, &Mae, &Huber::default(), &HalfMse] {
        let e = m.evaluate(&data, loss, 50).unwrap();
        assert_eq!(e.task, Task::Regression);
        assert!(e.accuracy.is_none() && e.confusion.is_none());
        let r = e.regression.unwrap();
        assert!(
            (r.rmse - r.mse.sqrt()).abs() < 1e-5,
            "one output: rmse = sqrt(mse)"
        );
        assert!(r.r2 > 0.98, "{e}");
        assert!(e.to_string().contains(" - r2: "), "{e}");
    }
    let e = m.evaluate(&data, &HalfMse, 50).unwrap();
    assert_eq!(e.loss * 2.0, e.regression.unwrap().mse as f32);
}
