//! The Normalization layer in a model: adapted on training data, saved with its statistics, so
//! that a saved model takes raw features.

use feedforward::prelude::*;
use ndarray::{array, Axis};

#[test]
fn a_saved_model_with_normalization_takes_raw_features() {
    // Features on very different scales: thousands, units, thousandths.
    let mut rng = RandomState::new(3);
    let x = rng.randn(300, 3).unwrap();
    let x = ndarray::Array2::from_shape_fn((300, 3), |(i, j)| {
        [
            2000.0 + 500.0 * x[[i, j]],
            3.0 + x[[i, j]],
            0.001 * x[[i, j]],
        ][j]
    });
    let labels: Vec<usize> = x
        .axis_iter(Axis(0))
        .map(|r| usize::from((r[0] - 2000.0) / 500.0 + (r[2] / 0.001) > 0.0))
        .collect();
    let data = InMemory::classification(x.clone(), &labels, 2).unwrap();
    let norm = Normalization::adapted(x.view()).unwrap();
    let mut model = Sequential::builder(3)
        .seed(5)
        .push(norm)
        .dense(8, Init::HeNormal)
        .push(Relu)
        .dense(2, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap();
    let mut adam = Adam::new(0.01).unwrap();
    model
        .fit(
            &data,
            &CrossEntropy,
            &mut adam,
            &FitConfig::new(30).batch_size(32),
        )
        .unwrap();
    let accuracy = model
        .evaluate(&data, &CrossEntropy, 100)
        .unwrap()
        .accuracy
        .unwrap();
    assert!(accuracy > 0.95, "{accuracy}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    model.save(&path).unwrap();
    let mut loaded = Sequential::load(&path).unwrap();
    assert_eq!(loaded.layers()[0].name(), "Normalization");
    assert_eq!(loaded.layers()[0].buffers(), model.layers()[0].buffers());
    assert_eq!(
        loaded.predict(x.view()).unwrap(),
        model.predict(x.view()).unwrap()
    );
    // The file holds the statistics as 1-D tensors named as buffers.
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for name in ["0.mean", "0.variance"] {
        assert_eq!(file.tensor(name).unwrap().shape(), [3], "{name}");
    }
}

#[test]
fn keras_documentation_examples() {
    // keras.layers.Normalization(mean=3., variance=2.) on [[1], [2], [3]]
    // -> [[-1.4142135], [-0.70710677], [0.]]
    let mut layer =
        Normalization::with_stats(array![[3.0f32]].view(), array![[2.0f32]].view()).unwrap();
    let mut y = ndarray::Array2::zeros((3, 1));
    layer
        .forward(array![[1.0f32], [2.0], [3.0]].view(), y.view_mut())
        .unwrap();
    use std::f32::consts::{FRAC_1_SQRT_2, SQRT_2};
    assert_eq!(y, array![[-SQRT_2], [-FRAC_1_SQRT_2], [0.0]]);
    // Inverted, adapted on [[0, 7, 4], [2, 9, 6], [0, 7, 4], [2, 9, 6]], on [[1, 2, 3]]
    // -> [[2., 10., 8.]]
    let adapt = array![
        [0.0f32, 7.0, 4.0],
        [2.0, 9.0, 6.0],
        [0.0, 7.0, 4.0],
        [2.0, 9.0, 6.0]
    ];
    let mut layer = Normalization::adapted(adapt.view()).unwrap().inverted();
    let mut y = ndarray::Array2::zeros((1, 3));
    layer
        .forward(array![[1.0f32, 2.0, 3.0]].view(), y.view_mut())
        .unwrap();
    assert_eq!(y, array![[2.0f32, 10.0, 8.0]]);
}
