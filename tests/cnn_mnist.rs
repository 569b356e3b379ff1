//! LeNet-5 learns MNIST: a few thousand real images, two epochs, the test accuracy of a
//! convolutional network (the files are the repository's `data/mnist`, as in the other MNIST
//! tests; never downloaded here).

mod common;
#[path = "common/models.rs"]
mod models;

use feedforward::data::mnist::Mnist;
use feedforward::data::Subset;
use feedforward::layers::Shape;
use feedforward::prelude::*;

#[test]
fn lenet5_learns_mnist_from_6000_images() {
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    assert_eq!(data.train.shape(), Shape::image(1, 28, 28).unwrap());
    let train = Subset::new(&data.train, (0..6_000).collect()).unwrap();
    let test = Subset::new(&data.test, (0..2_000).collect()).unwrap();
    let mut model = models::lenet5(0);
    assert_eq!(model.input_shape(), data.train.shape());
    let mut sgd = Sgd::new(0.05).unwrap().with_momentum(0.9).unwrap();
    let config = FitConfig::new(2).batch_size(64).shuffle(1);
    let history = model.fit(&train, &CrossEntropy, &mut sgd, &config).unwrap();
    assert!(
        history.epoch_losses[1] < history.epoch_losses[0],
        "{:?}",
        history.epoch_losses
    );
    let evaluation = model.evaluate(&test, &CrossEntropy, 500).unwrap();
    let accuracy = evaluation.confusion.unwrap().accuracy();
    // Measured: 0.9500 (seed 0, this test's settings).
    assert!(accuracy >= 0.94, "test accuracy {accuracy}");
}
