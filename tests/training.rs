//! The training loop seen from outside: softmax with cross-entropy, fit, evaluate, predict.

use feedforward::data::{one_hot, InMemory, Order};
use feedforward::prelude::*;
use feedforward::Progress;
use ndarray::{array, Array2, Axis};

#[test]
fn saturated_softmax_with_cross_entropy_trains_with_exact_finite_gradients() {
    // Logits [1000, 0, -1000]: p = [1, 0, 0] exactly. For every target class the model's loss
    // must be finite and its step must follow dL/dZ = (p - t) / n: W -= lr * X^T (p - t) / n.
    for class in 0..3 {
        let w0 = array![[1000.0f32, 0.0, -1000.0]];
        let mut model = Sequential::builder(1)
            .push(Dense::from_parameters(w0.clone(), Array2::zeros((1, 3))).unwrap())
            .push(Softmax)
            .build()
            .unwrap();
        let x = array![[1.0f32]];
        let t = one_hot(&[class], 3).unwrap();
        let mut sgd = Sgd::new(0.5).unwrap();
        let loss = model
            .train_step(x.view(), t.view(), &CrossEntropy, &mut sgd)
            .unwrap();
        assert_eq!(loss, [0.0, 1000.0, 2000.0][class]);
        let p = array![[1.0f32, 0.0, 0.0]];
        let expected = &w0 - &((&p - &t) * 0.5);
        let params = model.parameters();
        assert_eq!(params[0].1, expected, "weights for class {class}");
        assert!(params[1].1.iter().all(|b| b.is_finite()));
    }
}

#[test]
fn fit_reports_progress_and_learns_a_separable_problem() {
    let mut rng = RandomState::new(3);
    let x = rng.randn(200, 2).unwrap();
    let labels: Vec<usize> = x
        .axis_iter(Axis(0))
        .map(|r| usize::from(r[0] + r[1] > 0.0))
        .collect();
    let data = InMemory::classification(x, &labels, 2).unwrap();
    let mut model = Sequential::builder(2)
        .push(Dense::new(2, 8, Init::HeNormal, &mut rng).unwrap())
        .push(Tanh)
        .push(Dense::new(8, 2, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    let mut sgd = Sgd::new(0.5).unwrap();
    let mut batches_seen = 0;
    let mut epochs_seen = vec![];
    let config = FitConfig::new(30).batch_size(16).shuffle(1);
    assert_eq!(config.order, Order::Shuffled { seed: 1 });
    let history = model
        .fit_with_progress(&data, &CrossEntropy, &mut sgd, &config, &mut |p| match p {
            Progress::Batch { .. } => batches_seen += 1,
            Progress::EpochEnd { average_loss, .. } => epochs_seen.push(*average_loss),
            Progress::EpochStart { batches, .. } => assert_eq!(*batches, 13),
            Progress::Resumed { .. } => panic!("no checkpoint to resume from"),
        })
        .unwrap();
    assert_eq!(batches_seen, 30 * 13);
    assert_eq!(epochs_seen, history.epoch_losses);
    assert!(history.epoch_losses[29] < 0.5 * history.epoch_losses[0]);
    let eval = model.evaluate(&data, &CrossEntropy, 64).unwrap();
    assert!(eval.accuracy.unwrap() > 0.95, "{eval:?}");
    let confusion = eval.confusion.unwrap();
    assert_eq!(confusion.total(), 200);
    // evaluate's loss is the per-sample mean, identical to the loss of one full forward pass
    let (x, t) = (data.inputs().to_owned(), data.targets().to_owned());
    let p = model.predict(x.view()).unwrap().to_owned();
    let direct = CrossEntropy.loss(p.view(), t.view()).unwrap();
    assert!(
        (direct - eval.loss).abs() < 1e-5,
        "{direct} vs {}",
        eval.loss
    );
}

#[test]
fn training_is_bit_identical_between_runs_with_the_same_seed() {
    let run = || {
        let mut rng = RandomState::new(11);
        let x = rng.rand(64, 4).unwrap();
        let y = x.mapv(|v| v.sin());
        let data = InMemory::new(x, y).unwrap();
        let mut model = Sequential::builder(4)
            .push(Dense::new(4, 6, Init::HeUniform, &mut rng).unwrap())
            .push(Relu)
            .push(Dense::new(6, 4, Init::XavierUniform, &mut rng).unwrap())
            .push(Sigmoid)
            .build()
            .unwrap();
        let mut sgd = Sgd::new(0.3).unwrap().with_momentum(0.9).unwrap();
        let config = FitConfig::new(5).batch_size(10).shuffle(5);
        let history = model.fit(&data, &HalfMse, &mut sgd, &config).unwrap();
        (
            history.epoch_losses,
            model.predict(data.inputs()).unwrap().to_owned(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn parameters_are_named_like_pytorch_sequential() {
    let mut rng = RandomState::new(0);
    let model = Sequential::builder(3)
        .push(Dense::new(3, 4, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(4, 2, Init::HeNormal, &mut rng).unwrap())
        .build()
        .unwrap();
    let names: Vec<String> = model.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert_eq!(model.parameter_count(), 3 * 4 + 4 + 4 * 2 + 2);
    assert_eq!((model.input_width(), model.output_width()), (3, 2));
}
