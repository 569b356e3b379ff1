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

/// LeNet-5 as issue 23 gives it, numbered as `torch.nn.Sequential` numbers it: Conv(1->6, 5x5,
/// padding 2) -> ReLU -> MaxPool 2 -> Conv(6->16, 5x5) -> ReLU -> MaxPool 2 -> Flatten ->
/// Dense 120 -> ReLU -> Dense 84 -> ReLU -> Dense 10 -> Softmax, for 1 x 28 x 28 images;
/// PyTorch's default initialisation for the convolutions, He normal for the dense layers.
pub fn lenet5(seed: u32) -> Sequential {
    use feedforward::layers::{Conv2d, Flatten, MaxPool2d};
    let mut rng = RandomState::new(seed);
    Sequential::builder_image(1, 28, 28)
        .push(Conv2d::config(1, 6, 5).padding(2).build(&mut rng).unwrap())
        .push(Relu)
        .push(MaxPool2d::new(2).unwrap())
        .push(Conv2d::config(6, 16, 5).build(&mut rng).unwrap())
        .push(Relu)
        .push(MaxPool2d::new(2).unwrap())
        .push(Flatten)
        .rng(rng)
        .dense(120, Init::HeNormal)
        .push(Relu)
        .dense(84, Init::HeNormal)
        .push(Relu)
        .dense(10, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap()
}

/// A small model of every image layer for `(channels, size, size)` inputs: Conv2d (stride,
/// padding, groups), BatchNorm2d, MaxPool2d, a depthwise Conv2d without bias and with
/// `Padding::Same`, AvgPool2d, GlobalAvgPool2d, Dense, Softmax.
pub fn every_image_layer_model(channels: usize, size: usize, seed: u32) -> Sequential {
    use feedforward::layers::{
        AvgPool2d, BatchNorm2d, Conv2d, GlobalAvgPool2d, MaxPool2d, Padding,
    };
    let mut rng = RandomState::new(seed);
    Sequential::builder_image(channels, size, size)
        .push(
            Conv2d::config(channels, 8, 3)
                .padding(1)
                .build(&mut rng)
                .unwrap(),
        )
        .push(BatchNorm2d::new(8).unwrap())
        .push(Relu)
        .push(MaxPool2d::new(2).unwrap())
        .push(
            Conv2d::config(8, 8, 3)
                .padding(Padding::Same)
                .groups(8)
                .bias(false)
                .build(&mut rng)
                .unwrap(),
        )
        .push(
            Conv2d::config(8, 12, 3)
                .stride(2)
                .padding(1)
                .groups(4)
                .build(&mut rng)
                .unwrap(),
        )
        .push(Relu)
        .push(AvgPool2d::new(2).unwrap().stride(1).unwrap())
        .push(GlobalAvgPool2d::new())
        .rng(rng)
        .dense(10, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap()
}
