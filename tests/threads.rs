//! Training and prediction give the same bits on any number of threads.
//!
//! The model is large enough that its steps split products and element-wise passes over
//! threads and run with rayon's threads kept awake (`parallel::with_threads_awake`): 256 rows
//! through 300 -> 512 -> 512 -> 10 make 67 M multiply-adds in the middle layer's product and
//! 131 K elements per activation. It trains for a few steps (SGD with momentum, which goes
//! through the threaded update with a velocity) and predicts, in pools of 1, 2, 3 and 8
//! threads, from inside the pool and from outside it, and on several threads of the program at
//! once; every run must give the same loss, parameters and predictions, bit for bit.

#[path = "common/models.rs"]
mod models;
use models::{lenet5, relu_perceptron};

use feedforward::prelude::*;
use ndarray::Array2;

/// The losses, the parameters and the predictions of a short training run, as bits.
#[derive(Debug, PartialEq)]
struct Run {
    losses: Vec<u32>,
    parameters: Vec<u32>,
    predictions: Vec<u32>,
}

fn train() -> Run {
    train_model(relu_perceptron(&[300, 512, 512, 10], 8))
}

/// LeNet-5 at a batch of 256: its convolutions split the batch over threads and its step
/// keeps them awake (each convolution's `Layer::multiply_adds` counts its positions).
fn train_lenet5() -> Run {
    train_model(lenet5(8))
}

fn train_model(mut model: Sequential) -> Run {
    let mut rng = RandomState::new(7);
    let (rows, inputs) = (256, model.input_width());
    let x = rng.rand(rows, inputs).unwrap();
    let mut y = Array2::<f32>::zeros((rows, 10));
    for r in 0..rows {
        y[[r, (r * 7) % 10]] = 1.0;
    }
    let mut sgd = Sgd::new(0.05).unwrap().with_momentum(0.9).unwrap();
    let losses = (0..4)
        .map(|_| {
            model
                .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
                .unwrap()
                .to_bits()
        })
        .collect();
    let parameters = model
        .parameters()
        .iter()
        .flat_map(|(_, p)| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        .collect();
    let predictions = model
        .predict(x.view())
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    Run {
        losses,
        parameters,
        predictions,
    }
}

#[test]
fn training_gives_the_same_bits_on_any_number_of_threads() {
    same_bits_on_any_number_of_threads(train);
}

#[test]
fn convolutional_training_gives_the_same_bits_on_any_number_of_threads() {
    same_bits_on_any_number_of_threads(train_lenet5);
}

fn same_bits_on_any_number_of_threads(train: fn() -> Run) {
    let alone = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(train);
    // The run learns: a model that did nothing would pass every comparison below.
    let losses: Vec<f32> = alone.losses.iter().map(|&b| f32::from_bits(b)).collect();
    assert!(losses[3] < losses[0], "{losses:?}");
    for threads in [2, 3, 8] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        assert!(
            pool.install(train) == alone,
            "{threads} threads, inside the pool"
        );
    }
    // From outside any pool: the step moves to a thread of the global pool.
    assert!(train() == alone, "called from outside the pool");
}

#[test]
fn models_trained_on_several_threads_of_a_program_at_once_agree() {
    // One model per thread of the program, all at once: they share rayon's global pool, and
    // only one of them keeps its threads awake at a time; none waits for another for ever.
    let alone = train();
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4).map(|_| scope.spawn(train)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        assert!(*run == alone);
    }
}
