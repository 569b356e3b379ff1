//! Everything a user can get wrong comes back as a typed error that says what to change.

use feedforward::data::{one_hot, train_test_split, InMemory};
use feedforward::prelude::*;
use feedforward::Error;
use ndarray::{array, Array2};

fn rng() -> RandomState {
    RandomState::new(0)
}

#[test]
fn a_chain_that_does_not_fit_names_the_layer_and_both_widths() {
    let err = Sequential::builder(784)
        .push(Dense::new(784, 10, Init::TUTORIAL, &mut rng()).unwrap())
        .push(Relu)
        .push(Dense::new(12, 3, Init::TUTORIAL, &mut rng()).unwrap())
        .build()
        .unwrap_err();
    match &err {
        Error::LayerMismatch {
            index,
            layer,
            input_width,
            ..
        } => {
            assert_eq!((*index, layer.as_str(), *input_width), (2, "Dense", 10));
        }
        other => panic!("expected LayerMismatch, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("layer 2") && message.contains("10") && message.contains("12"));
}

#[test]
fn an_empty_model_or_zero_input_width_is_refused() {
    assert!(matches!(
        Sequential::new(3, vec![]),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        Sequential::builder(0).push(Relu).build(),
        Err(Error::Empty { .. })
    ));
}

fn small_model() -> Sequential {
    Sequential::builder(2)
        .push(Dense::new(2, 3, Init::XavierNormal, &mut rng()).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

#[test]
fn wrong_shapes_are_errors_not_panics() {
    let mut model = small_model();
    let mut sgd = Sgd::new(0.1).unwrap();
    let x = Array2::<f32>::zeros((4, 5));
    assert!(matches!(
        model.predict(x.view()),
        Err(Error::ShapeMismatch { .. })
    ));
    let x = Array2::<f32>::zeros((4, 2));
    let y = Array2::<f32>::zeros((4, 2));
    assert!(matches!(
        model.train_step(x.view(), y.view(), &CrossEntropy, &mut sgd),
        Err(Error::ShapeMismatch { .. })
    ));
    let y = Array2::<f32>::zeros((5, 3));
    assert!(matches!(
        model.train_step(x.view(), y.view(), &CrossEntropy, &mut sgd),
        Err(Error::RowCountMismatch {
            inputs: 4,
            targets: 5
        })
    ));
    let data = InMemory::new(Array2::zeros((4, 3)), Array2::zeros((4, 3))).unwrap();
    let err = model
        .fit(&data, &CrossEntropy, &mut sgd, &FitConfig::new(1))
        .unwrap_err()
        .error;
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
}

#[test]
fn empty_data_and_mismatched_rows_are_refused() {
    assert!(matches!(
        InMemory::new(Array2::zeros((0, 2)), Array2::zeros((0, 3))),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        InMemory::new(Array2::zeros((3, 2)), Array2::zeros((2, 3))),
        Err(Error::RowCountMismatch {
            inputs: 3,
            targets: 2
        })
    ));
    let mut model = small_model();
    assert!(matches!(
        model.predict(Array2::zeros((0, 2)).view()),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        one_hot(&[0, 3], 3),
        Err(Error::LabelOutOfRange {
            label: 3,
            row: 1,
            classes: 3
        })
    ));
}

#[test]
fn bad_training_configuration_is_refused() {
    let mut model = small_model();
    let mut sgd = Sgd::new(0.1).unwrap();
    let data = InMemory::classification(Array2::zeros((4, 2)), &[0, 1, 2, 0], 3).unwrap();
    for config in [FitConfig::new(0), FitConfig::new(1).batch_size(0)] {
        assert!(matches!(
            model
                .fit(&data, &CrossEntropy, &mut sgd, &config)
                .map_err(|e| e.error),
            Err(Error::InvalidConfig { .. })
        ));
    }
    assert!(matches!(
        model.evaluate(&data, &CrossEntropy, 0),
        Err(Error::InvalidConfig { .. })
    ));
    for fraction in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(matches!(
            train_test_split(10, fraction, 0),
            Err(Error::InvalidConfig { .. })
        ));
    }
    assert!(Sgd::new(-1.0).is_err());
}

#[test]
fn diverging_training_stops_with_a_non_finite_loss_and_leaves_the_weights_finite() {
    // The tutorial's figure 10: with too high a learning rate the loss grows without bound.
    let mut model = Sequential::builder(1)
        .push(Dense::from_parameters(array![[0.5f32]], array![[0.0f32]]).unwrap())
        .push(Identity)
        .build()
        .unwrap();
    let x = array![[1.0f32], [3.0], [10.0]];
    let data = InMemory::new(x.clone(), x.mapv(|v| 2.0 * v + 1.0)).unwrap();
    let mut sgd = Sgd::new(5.0).unwrap();
    let failure = model
        .fit(&data, &HalfMse, &mut sgd, &FitConfig::new(10_000))
        .unwrap_err();
    // The epochs completed before the divergence come back with the error: full batch, so one
    // epoch per step, and the failing step is the model's `steps()`-th.
    let done = failure.history.epoch_losses.len();
    assert_eq!(done, model.steps());
    assert!(done > 0);
    assert!(failure.history.epoch_losses.iter().all(|l| l.is_finite()));
    assert_eq!(failure.history.learning_rates.len(), done);
    assert!(
        failure
            .to_string()
            .contains(&format!("after {done} completed epochs")),
        "{failure}"
    );
    let err = failure.error;
    match &err {
        Error::NonFiniteLoss {
            value,
            learning_rate,
            step,
        } => {
            assert!(!value.is_finite());
            assert_eq!(*learning_rate, 5.0);
            assert_eq!(*step, done);
        }
        other => panic!("expected NonFiniteLoss, got {other:?}"),
    }
    assert!(err.to_string().contains("lower the learning rate"), "{err}");
    for (_, p) in model.parameters() {
        assert!(p.iter().all(|v| v.is_finite()), "weights were corrupted");
    }
}
