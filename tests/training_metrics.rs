//! `History` holds the task's training metric of each epoch (accuracy for a classifier, MAE and
//! R^2 for a regression), computed on the outputs of the training steps themselves: with a
//! learning rate of 0 the model does not change, so it equals what `evaluate` reports on the
//! same rows.

use feedforward::model::Validation;
use feedforward::prelude::*;
use feedforward::Progress;

/// 90 rows of 5 features, 3 classes.
fn classes() -> InMemory {
    let mut rng = RandomState::new(11);
    let x = rng.rand(90, 5).unwrap();
    let labels: Vec<usize> = x
        .rows()
        .into_iter()
        .map(|r| ((r[0] + r[1] * 2.0) * 1.5) as usize % 3)
        .collect();
    InMemory::new(x, one_hot(&labels, 3).unwrap()).unwrap()
}

fn classifier(seed: u32) -> Sequential {
    let mut rng = RandomState::new(seed);
    Sequential::builder(5)
        .push(Dense::new(5, 16, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(16, 3, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

#[test]
fn the_training_accuracy_is_evaluates_at_learning_rate_0() {
    let data = classes();
    for seed in [0, 1, 2] {
        let mut model = classifier(seed);
        let config = FitConfig::new(2).batch_size(16);
        let history = model
            .fit(&data, &CrossEntropy, &mut Sgd::new(0.0).unwrap(), &config)
            .unwrap();
        let evaluation = model.evaluate(&data, &CrossEntropy, 16).unwrap();
        let accuracy = evaluation.accuracy.unwrap();
        assert_eq!(history.accuracies, [accuracy, accuracy], "seed {seed}");
        assert!(history.regression.is_empty());
    }
}

#[test]
fn the_training_accuracy_covers_the_training_rows_only() {
    // Validation::Fraction holds out the last 30 rows: the training accuracy is that of the
    // first 60, the validation accuracy that of the last 30.
    let data = classes();
    let mut model = classifier(4);
    let config = FitConfig::new(1)
        .batch_size(10)
        .shuffle(8)
        .validation(Validation::Fraction(1.0 / 3.0));
    let history = model
        .fit(&data, &CrossEntropy, &mut Sgd::new(0.0).unwrap(), &config)
        .unwrap();
    let rows = |range: std::ops::Range<usize>| {
        let x = data
            .inputs()
            .slice(feedforward::ndarray::s![range.clone(), ..])
            .to_owned();
        let y = data
            .targets()
            .slice(feedforward::ndarray::s![range, ..])
            .to_owned();
        InMemory::new(x, y).unwrap()
    };
    let train = model.evaluate(&rows(0..60), &CrossEntropy, 10).unwrap();
    let held_out = model.evaluate(&rows(60..90), &CrossEntropy, 10).unwrap();
    assert_eq!(history.accuracies, [train.accuracy.unwrap()]);
    assert_eq!(history.validation_accuracies, [held_out.accuracy.unwrap()]);
}

#[test]
fn the_training_mae_and_r2_are_evaluates_at_learning_rate_0() {
    let mut rng = RandomState::new(3);
    let x = rng.rand(50, 3).unwrap();
    let y = x
        .map_axis(feedforward::ndarray::Axis(1), |r| {
            r[0] - 2.0 * r[1] + 0.5 * r[2]
        })
        .insert_axis(feedforward::ndarray::Axis(1));
    let data = InMemory::new(x, y).unwrap();
    let mut model = Sequential::builder(3)
        .push(Dense::new(3, 1, Init::XavierNormal, &mut rng).unwrap())
        .build()
        .unwrap();
    let history = model
        .fit(
            &data,
            &Mse,
            &mut Sgd::new(0.0).unwrap(),
            &FitConfig::new(3).batch_size(8),
        )
        .unwrap();
    let evaluation = model.evaluate(&data, &Mse, 8).unwrap();
    let expected = evaluation.regression.unwrap();
    assert_eq!(history.regression, [expected; 3]);
    assert!(history.accuracies.is_empty());
}

#[test]
fn the_running_accuracy_reaches_the_epochs() {
    // The progress of every batch carries the running accuracy; after the last batch it is
    // the epoch's.
    let data = classes();
    let mut model = classifier(5);
    let mut last = Vec::new();
    let history = model
        .fit_with_progress(
            &data,
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
            &FitConfig::new(2).batch_size(32),
            &mut |p| {
                if let Progress::Batch {
                    batch,
                    batches,
                    running_accuracy,
                    rows,
                    ..
                } = *p
                {
                    if batch + 1 == batches {
                        assert_eq!(rows, 90);
                        last.push(running_accuracy.unwrap());
                    }
                }
            },
        )
        .unwrap();
    assert_eq!(last, history.accuracies);
}
