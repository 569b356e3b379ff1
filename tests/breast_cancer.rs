//! Binary classification with `BinaryCrossEntropy` on real data: scikit-learn's breast-cancer
//! table (data/breast_cancer.csv), the issue 11 network `Dense(30, 16) -> Relu -> Dense(16, 1) ->
//! Sigmoid`, against scikit-learn's `LogisticRegression` on the same splits
//! (scripts/breast_cancer_logistic.py prints the reference accuracies).

use feedforward::data::train_test_split;
use feedforward::losses::BinaryCrossEntropy;
use feedforward::metrics::Task;
use feedforward::prelude::*;
use ndarray::{Array2, Axis};
use std::path::Path;

/// `LogisticRegression(max_iter=1000)` test accuracy for `train_test_split(test_size=0.2,
/// random_state=seed)`, seeds 0 to 4, standardised features (scripts/breast_cancer_logistic.py,
/// scikit-learn 1.9.1).
const SKLEARN_LOGISTIC_REGRESSION: [f32; 5] = [
    0.964_912_3,
    0.973_684_2,
    0.973_684_2,
    0.973_684_2,
    0.964_912_3,
];

/// The 30 features and the 0/1 target (1 benign) of every row.
fn breast_cancer() -> (Array2<f32>, Array2<f32>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/breast_cancer.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (committed with the repository)", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    assert_eq!((header.len(), header[30]), (31, "target"));
    let values: Vec<f32> = lines
        .flat_map(|line| line.split(','))
        .map(|cell| cell.parse().expect("a number"))
        .collect();
    let table = Array2::from_shape_vec((values.len() / 31, 31), values).unwrap();
    assert_eq!(table.nrows(), 569);
    let x = table.slice(ndarray::s![.., ..30]).to_owned();
    let y = table.slice(ndarray::s![.., 30..]).to_owned();
    (x, y)
}

/// `(x - mean) / std` with the training rows' mean and population standard deviation, as
/// scikit-learn's `StandardScaler`.
fn standardise(train: &Array2<f32>, test: &Array2<f32>) -> (Array2<f32>, Array2<f32>) {
    let mean = train.mean_axis(Axis(0)).unwrap();
    let std = train
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s > 0.0 { s } else { 1.0 });
    ((train - &mean) / &std, (test - &mean) / &std)
}

/// The standardised training and test sets of `train_test_split(test_size=0.2,
/// random_state=seed)`.
fn split(x: &Array2<f32>, y: &Array2<f32>, seed: u32) -> (InMemory, InMemory) {
    let split = train_test_split(x.nrows(), 0.2, seed).unwrap();
    assert_eq!(split.test.len(), 114);
    let (x_train, x_test) = standardise(
        &x.select(Axis(0), &split.train),
        &x.select(Axis(0), &split.test),
    );
    (
        InMemory::new(x_train, y.select(Axis(0), &split.train)).unwrap(),
        InMemory::new(x_test, y.select(Axis(0), &split.test)).unwrap(),
    )
}

/// Trains `model` on `train` and returns its test accuracy, printed beside scikit-learn's.
fn test_accuracy(
    model: &mut Sequential,
    train: &InMemory,
    test: &InMemory,
    optimizer: &mut dyn Optimizer,
    config: &FitConfig<'_>,
    seed: usize,
) -> f32 {
    model
        .fit(train, &BinaryCrossEntropy, optimizer, config)
        .unwrap();
    let evaluation = model.evaluate(test, &BinaryCrossEntropy, 1000).unwrap();
    assert_eq!(evaluation.task, Task::Binary);
    let accuracy = evaluation.accuracy.unwrap();
    println!(
        "seed {seed}: feedforward {accuracy:.4}, LogisticRegression {:.4} ({evaluation})",
        SKLEARN_LOGISTIC_REGRESSION[seed]
    );
    accuracy
}

#[test]
fn logistic_regression_with_binary_cross_entropy_matches_scikit_learn() {
    // Dense(30, 1) -> Sigmoid is a logistic regression. scikit-learn's minimises
    // sum(BCE) + ||w||^2 / 2 (C = 1): the mean BCE with an L2 penalty of 1 / n_train, which is
    // Adam's (coupled, PyTorch's) weight decay. Full batch until it has converged.
    let (x, y) = breast_cancer();
    for (seed, &reference) in SKLEARN_LOGISTIC_REGRESSION.iter().enumerate() {
        let (train, test) = split(&x, &y, seed as u32);
        let mut rng = RandomState::new(seed as u32);
        let mut model = Sequential::builder(30)
            .push(Dense::new(30, 1, Init::XavierNormal, &mut rng).unwrap())
            .push(Sigmoid)
            .build()
            .unwrap();
        let mut adam = Adam::new(0.01)
            .unwrap()
            .with_weight_decay(1.0 / train.len() as f32)
            .unwrap();
        let accuracy = test_accuracy(
            &mut model,
            &train,
            &test,
            &mut adam,
            &FitConfig::new(2000),
            seed,
        );
        assert!(
            (accuracy - reference).abs() <= 0.01,
            "seed {seed}: test accuracy {accuracy:.4} against LogisticRegression's {reference:.4}"
        );
    }
}

#[test]
fn the_issue_network_classifies_breast_cancer_as_well_as_logistic_regression() {
    // Issue 11's binary network, Dense(.., 16) -> Dense(16, 1) -> Sigmoid, which CrossEntropy
    // trained to 0.79: with BinaryCrossEntropy, as good as LogisticRegression over five splits
    // (one test row is 0.0088; seed to seed a row or two go either way).
    let (x, y) = breast_cancer();
    let mut differences = Vec::new();
    for (seed, &reference) in SKLEARN_LOGISTIC_REGRESSION.iter().enumerate() {
        let (train, test) = split(&x, &y, seed as u32);
        let mut rng = RandomState::new(seed as u32);
        let mut model = Sequential::builder(30)
            .push(Dense::new(30, 16, Init::HeNormal, &mut rng).unwrap())
            .push(Relu)
            .push(Dense::new(16, 1, Init::XavierNormal, &mut rng).unwrap())
            .push(Sigmoid)
            .build()
            .unwrap();
        let mut adam = Adam::new(1e-3).unwrap();
        let config = FitConfig::new(50).batch_size(32).shuffle(seed as u32);
        let accuracy = test_accuracy(&mut model, &train, &test, &mut adam, &config, seed);
        assert!(
            accuracy >= reference - 0.02,
            "seed {seed}: test accuracy {accuracy:.4} against LogisticRegression's {reference:.4}"
        );
        differences.push(accuracy - reference);
    }
    let mean = differences.iter().sum::<f32>() / 5.0;
    println!("mean difference {mean:+.4}");
    assert!(mean >= -0.01, "mean difference {mean:+.4} over seeds 0-4");
}
