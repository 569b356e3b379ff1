//! The models and synthetic data that the allocation test and the benchmarks share, so that
//! both measure the same networks. `benches/training.rs` includes this file by path.

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
    let mut rng = RandomState::new(0);
    Sequential::builder(784)
        .push(Dense::new(784, 256, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(256, 128, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(128, 10, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

/// `rows` random 28 x 28 images with labels 0 to 9 in turn: the MNIST examples' data set type,
/// which converts bytes to `f32` batch by batch.
pub fn synthetic_images(rows: usize, seed: u32) -> LabeledImages {
    let mut rng = RandomState::new(seed);
    let pixels = rng.rand(rows, 28 * 28).mapv(|v| (v * 256.0) as u8);
    let labels = (0..rows).map(|i| (i % 10) as u8).collect();
    LabeledImages::new(pixels.into_raw_vec_and_offset().0, labels, 28, 28)
        .and_then(|images| images.with_classes(10))
        .expect("valid images")
}
