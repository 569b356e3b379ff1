//! The models and synthetic data that the tests and the benchmarks share, so that the
//! allocation test and the benchmarks measure the same networks, and the tests of every on-disk
//! format check the same model of every layer kind. `benches/training.rs` includes this file by
//! path.
// Each includer uses only some of them.
#![allow(dead_code)]

use feedforward::data::mnist::LabeledImages;
use feedforward::prelude::*;

/// The tutorial's model: 784 -> 10, softmax.
pub fn softmax_model() -> Sequential {
    let mut rng = RandomState::new(0);
    Sequential::builder(784)
        .push(Dense::new(784, 10, Init::TUTORIAL, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

/// A multi-layer perceptron: 784 -> 256 -> 128 -> 10, ReLU, softmax.
pub fn mlp_model() -> Sequential {
    relu_perceptron(&[784, 256, 128, 10], 0)
}

/// A perceptron through `widths` (inputs first, classes last): `Dense` layers (He normal)
/// each followed by a ReLU, the last one (Xavier normal) by a softmax, drawn from a generator
/// seeded with `seed`.
pub fn relu_perceptron(widths: &[usize], seed: u32) -> Sequential {
    let mut rng = RandomState::new(seed);
    let mut builder = Sequential::builder(widths[0]);
    let last = widths.len() - 2;
    for (i, pair) in widths.windows(2).enumerate() {
        let init = if i == last {
            Init::XavierNormal
        } else {
            Init::HeNormal
        };
        builder = builder.push(Dense::new(pair[0], pair[1], init, &mut rng).unwrap());
        builder = if i == last {
            builder.push(Softmax)
        } else {
            builder.push(Relu)
        };
    }
    builder.build().unwrap()
}

/// `rows` random 28 x 28 images with labels 0 to 9 in turn: the MNIST examples' data set type,
/// which converts bytes to `f32` batch by batch.
pub fn synthetic_images(rows: usize, seed: u32) -> LabeledImages {
    let mut rng = RandomState::new(seed);
    let pixels = rng.rand(rows, 28 * 28).unwrap().mapv(|v| (v * 256.0) as u8);
    let labels = (0..rows).map(|i| (i % 10) as u8).collect();
    LabeledImages::new(pixels.into_raw_vec_and_offset().0, labels, 28, 28)
        .and_then(|images| images.with_classes(10))
        .expect("valid images")
}

/// A model with every built-in layer kind, trained for a few steps so that every parameter and
/// the batch-norm running statistics are away from their initial values.
pub fn every_kind_model(width: usize, seed: u32) -> Sequential {
    let mut rng = RandomState::new(seed);
    let mut model = Sequential::builder(6)
        .push(Dense::new(6, width, Init::HeNormal, &mut rng).unwrap())
        .push(
            BatchNorm1d::new(width)
                .unwrap()
                .with_momentum(0.2)
                .unwrap()
                .with_eps(1e-3)
                .unwrap(),
        )
        .push(Relu)
        .push(Dense::new(width, width, Init::HeNormal, &mut rng).unwrap())
        .push(LayerNorm::new(width).unwrap().with_eps(1e-4).unwrap())
        .push(LeakyRelu::new(0.1).unwrap())
        .push(Dropout::new(0.3, 7).unwrap())
        .push(Elu::new(0.5).unwrap())
        .push(Gelu)
        .push(Dense::new(width, width, Init::XavierNormal, &mut rng).unwrap())
        .push(GeluTanh)
        .push(Sigmoid)
        .push(Tanh)
        .push(Identity)
        .push(Dense::new(width, 3, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    let x = rng.randn(16, 6).unwrap();
    let y =
        feedforward::data::one_hot(&[0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1, 2, 1, 1, 0, 2], 3).unwrap();
    let mut adam = Adam::new(0.01).unwrap();
    for _ in 0..5 {
        model
            .train_step(x.view(), y.view(), &CrossEntropy, &mut adam)
            .unwrap();
    }
    model
}
