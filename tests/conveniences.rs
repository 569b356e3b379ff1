//! What a Keras user expects: Dense given only its width, classes and probabilities in one
//! call, everything from the prelude, ndarray re-exported.

use feedforward::prelude::*;

#[test]
fn dense_takes_its_input_width_from_the_layers_before_it() {
    let mut rng = RandomState::new(9);
    let lazy = Sequential::builder(5)
        .rng(rng.clone())
        .dense(4, Init::HeNormal)
        .push(Relu)
        .dense(3, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap();
    // The same weights as Dense::new with the same generator, in the same order.
    let explicit = Sequential::builder(5)
        .push(Dense::new(5, 4, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(4, 3, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    assert_eq!(lazy.parameters(), explicit.parameters());
    // The default generator is seeded with 0, so the same builder gives the same model.
    let a = Sequential::builder(2)
        .dense(3, Init::HeNormal)
        .build()
        .unwrap();
    let b = Sequential::builder(2)
        .seed(0)
        .dense(3, Init::HeNormal)
        .build()
        .unwrap();
    assert_eq!(a.parameters(), b.parameters());
    // Errors come out of build: a zero width, layers that do not chain before a dense one.
    assert!(matches!(
        Sequential::builder(2).dense(0, Init::HeNormal).build(),
        Err(feedforward::Error::InvalidConfig { .. })
    ));
    let err = Sequential::builder(2)
        .push(LayerNorm::new(3).unwrap())
        .dense(4, Init::HeNormal)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, feedforward::Error::LayerMismatch { index: 0, .. }),
        "{err}"
    );
}

#[test]
fn predict_classes_gives_the_argmax_and_the_probabilities() {
    let mut model = Sequential::builder(2)
        .push(
            Dense::from_parameters(
                ndarray::array![[1.0, -1.0], [0.0, 0.0]],
                ndarray::array![[0.0, 0.0]],
            )
            .unwrap(),
        )
        .push(Softmax)
        .build()
        .unwrap();
    let x = ndarray::array![[2.0f32, 0.0], [-1.0, 5.0], [0.0, 0.0]];
    let predicted = model.predict_classes(x.view()).unwrap();
    assert_eq!(predicted.classes, [0, 1, 0]);
    // softmax([2, -2])[0] = 1 / (1 + e^-4)
    assert!((predicted.probabilities[[0, 0]] - 1.0 / (1.0 + (-4.0f32).exp())).abs() < 1e-6);
    assert_eq!(predicted.probabilities[[2, 0]], 0.5);
    // One sigmoid output: classes 0 and 1, probabilities [1 - p, p].
    let mut binary = Sequential::builder(2)
        .push(
            Dense::from_parameters(ndarray::array![[1.0], [-1.0]], ndarray::array![[0.0]]).unwrap(),
        )
        .push(Sigmoid)
        .build()
        .unwrap();
    let predicted = binary.predict_classes(x.view()).unwrap();
    assert_eq!(predicted.classes, [1, 0, 0]);
    let p = 1.0 / (1.0 + (-2.0f32).exp());
    assert_eq!(predicted.probabilities.row(0).to_vec(), [1.0 - p, p]);
    let mut regression = Sequential::builder(2)
        .dense(1, Init::HeNormal)
        .build()
        .unwrap();
    let err = regression.predict_classes(x.view()).unwrap_err();
    assert!(
        err.to_string().contains("end the model with Softmax"),
        "{err}"
    );
}

#[test]
fn the_prelude_and_the_reexported_ndarray_are_enough_for_a_training_script() {
    // No `use ndarray` here: feedforward::ndarray is the version the crate takes.
    use feedforward::ndarray::{array, Array2};
    let x: Array2<f32> = array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let labels = [0, 1, 1, 0];
    let data = InMemory::classification(x.clone(), &labels, 2).unwrap();
    let split: Split = train_test_split(4, 0.5, 0).unwrap();
    assert_eq!(split.test.len(), 2);
    let _: fn(&[usize], f64, u32) -> feedforward::Result<Split> = stratified_train_test_split;
    let mut model = Sequential::builder(2)
        .seed(3)
        .push(Normalization::adapted(x.view()).unwrap())
        .dense(8, Init::HeNormal)
        .push(Tanh)
        .dense(2, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap();
    let mut stopper = EarlyStopping::new(50)
        .unwrap()
        .monitor(Monitor::TrainingLoss);
    let mut adam = Adam::new(0.05).unwrap();
    let config = FitConfig::new(300)
        .validation(Validation::Data(&data))
        .verbose(Verbosity::Silent);
    let history: History = model
        .fit_with_callbacks(
            &data,
            &CrossEntropy,
            &mut adam,
            &config,
            &mut [&mut stopper],
        )
        .unwrap();
    assert!(!history.epoch_losses.is_empty());
    let evaluation: Evaluation = model.evaluate(&data, &CrossEntropy, 4).unwrap();
    assert_eq!(evaluation.accuracy, Some(1.0), "XOR is learned");
    let confusion: &ConfusionMatrix = evaluation.confusion.as_ref().unwrap();
    assert_eq!(confusion.total(), 4);
    let predicted: ClassPredictions = model.predict_classes(x.view()).unwrap();
    assert_eq!(predicted.classes, labels);
    assert_eq!(
        accuracy(&labels, predicted.probabilities.view()).unwrap(),
        1.0
    );
}
