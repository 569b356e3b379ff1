//! The model tracks the shape of one sample from layer to layer: images in PyTorch's
//! `(channels, height, width)` order, flat rows, and the errors at build that name the layer
//! and both shapes.

use feedforward::data::mnist::LabeledImages;
use feedforward::layers::{Flatten, Shape};
use feedforward::ndarray::{ArrayView2, ArrayViewMut2};
use feedforward::prelude::*;
use feedforward::Error;

/// A user's layer written before shapes existed: only `output_width`, keeping the width.
struct Double;

impl Layer for Double {
    fn name(&self) -> &str {
        "Double"
    }
    fn output_width(&self, input_width: usize) -> feedforward::Result<usize> {
        Ok(input_width)
    }
    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        output.zip_mut_with(&input, |y, &x| *y = 2.0 * x);
        Ok(())
    }
    fn backward(
        &mut self,
        _input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> feedforward::Result<()> {
        if let Some(mut gi) = grad_input {
            gi.zip_mut_with(&grad_output, |g, &go| *g = 2.0 * go);
        }
        Ok(())
    }
}

/// A user's layer that keeps the first half of the features.
struct FirstHalf;

impl Layer for FirstHalf {
    fn name(&self) -> &str {
        "FirstHalf"
    }
    fn output_width(&self, input_width: usize) -> feedforward::Result<usize> {
        Ok(input_width / 2)
    }
    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        let half = output.ncols();
        output.assign(&input.slice(feedforward::ndarray::s![.., ..half]));
        Ok(())
    }
    fn backward(
        &mut self,
        _input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> feedforward::Result<()> {
        if let Some(mut gi) = grad_input {
            gi.fill(0.0);
            let half = grad_output.ncols();
            gi.slice_mut(feedforward::ndarray::s![.., ..half])
                .assign(&grad_output);
        }
        Ok(())
    }
}

#[test]
fn element_wise_layers_keep_the_image_and_flatten_makes_it_a_row() {
    let mut model = Sequential::builder_image(2, 3, 4)
        .push(Relu)
        .push(Dropout::new(0.1, 0).unwrap())
        .push(Double)
        .push(Flatten)
        .dense(5, Init::XavierUniform)
        .push(Softmax)
        .build()
        .unwrap();
    let image = Shape::image(2, 3, 4).unwrap();
    assert_eq!(model.input_shape(), image);
    assert_eq!(model.input_width(), 24);
    assert_eq!(
        model.output_shapes(),
        &[
            image,
            image,
            image,
            Shape::flat(24),
            Shape::flat(5),
            Shape::flat(5)
        ]
    );
    // It trains as any model: rows of 24 values.
    let mut rng = RandomState::new(1);
    let x = rng.rand(4, 24).unwrap();
    let y = feedforward::data::one_hot(&[0, 1, 2, 3], 5).unwrap();
    let mut sgd = Sgd::new(0.1).unwrap();
    let first = model
        .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
        .unwrap();
    for _ in 0..20 {
        model
            .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
            .unwrap();
    }
    let last = model
        .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
        .unwrap();
    assert!(last < first, "{first} -> {last}");
}

#[test]
fn a_layer_that_changes_the_width_gives_a_flat_row() {
    let model = Sequential::builder_image(2, 2, 2)
        .push(FirstHalf)
        .build()
        .unwrap();
    assert_eq!(model.output_shapes(), &[Shape::flat(4)]);
}

#[test]
fn dense_after_an_image_asks_for_flatten_naming_the_layer_and_both_shapes() {
    let mut rng = RandomState::new(0);
    let err = Sequential::builder_image(1, 28, 28)
        .push(Relu)
        .push(Dense::new(784, 10, Init::Zeros, &mut rng).unwrap())
        .build()
        .unwrap_err();
    match &err {
        Error::LayerMismatch {
            index,
            layer,
            input_width,
            input_shape,
            ..
        } => {
            assert_eq!(
                (*index, layer.as_str(), *input_width, input_shape.as_str()),
                (1, "Dense", 784, "(1, 28, 28)")
            );
        }
        other => panic!("expected LayerMismatch, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("layer 1 (Dense)")
            && message.contains("(1, 28, 28)")
            && message.contains("Flatten"),
        "{message}"
    );
    // The builder's `dense` says the same, from `build`.
    let err = Sequential::builder_image(1, 28, 28)
        .dense(10, Init::Zeros)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("Flatten"), "{err}");
}

#[test]
fn flat_models_are_unchanged() {
    let model = Sequential::builder(30)
        .dense(8, Init::HeNormal)
        .push(Relu)
        .dense(2, Init::XavierNormal)
        .build()
        .unwrap();
    assert_eq!(model.input_shape(), Shape::flat(30));
    assert_eq!(
        model.output_shapes(),
        &[Shape::flat(8), Shape::flat(8), Shape::flat(2)]
    );
    let err = Sequential::builder(30)
        .dense(8, Init::HeNormal)
        .push(Dense::new(9, 2, Init::Zeros, &mut RandomState::new(0)).unwrap())
        .build()
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("layer 1 (Dense)") && message.contains("(8)") && message.contains('9'),
        "{message}"
    );
}

#[test]
fn impossible_input_shapes_are_errors_at_build() {
    for (c, h, w) in [(0, 28, 28), (1, 0, 28), (1, 28, 0)] {
        let err = Sequential::builder_image(c, h, w)
            .push(Relu)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    }
    let err = Sequential::builder_image(usize::MAX, 2, 2)
        .push(Relu)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
}

#[test]
fn mnist_images_carry_their_shape() {
    let images = LabeledImages::new(vec![0; 3 * 784], vec![1, 2, 3], 28, 28).unwrap();
    assert_eq!(images.shape(), Shape::image(1, 28, 28).unwrap());
    let model = Sequential::builder_shaped(images.shape())
        .push(Flatten)
        .dense(10, Init::Zeros)
        .build()
        .unwrap();
    assert_eq!(model.input_width(), images.image_len());
    assert!(matches!(
        LabeledImages::new(Vec::new(), Vec::new(), usize::MAX, 2),
        Err(Error::TooLarge { .. })
    ));
}
