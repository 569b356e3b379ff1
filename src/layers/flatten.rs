//! [`Flatten`]: an image becomes a flat row of features, as PyTorch's `nn.Flatten()` and
//! Keras's `Flatten`.
//!
//! A batch's row already holds the image in PyTorch's `(channels, height, width)` order, so the
//! values do not move: the output is the input, and only the shape the model tracks changes
//! (`(C, H, W)` -> `(C * H * W)`), which is what a [`Dense`](super::Dense) after it needs. The
//! features come in `torch.flatten(x, 1)`'s order, so a `Dense` layer's weights carry over to
//! and from PyTorch as they are. (Keras, whose images are `(H, W, C)`, flattens in another
//! order.)
//!
//! # Shapes
//! - input: `(batch, C, H, W)` as rows of `C * H * W` values (or any flat row)
//! - output: `(batch, C * H * W)`, the same values
//!
//! ```
//! use feedforward::layers::{Flatten, Shape};
//! use feedforward::prelude::*;
//!
//! assert_eq!(Flatten.build(Shape::image(16, 5, 5)?)?, Shape::flat(400));
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::identity::copy_through;
use super::{Inference, Layer, LayerSpec, Shape};
use crate::Result;
use ndarray::{ArrayView2, ArrayViewMut2};

/// Flattens an image to a row of features; the values stay where they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl Layer for Flatten {
    fn name(&self) -> &str {
        "Flatten"
    }

    fn inference(&self) -> Option<&dyn Inference> {
        Some(self)
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        Ok(input_width)
    }

    /// A flat row of `input.size()` features.
    fn build(&mut self, input: Shape) -> Result<Shape> {
        Ok(Shape::flat(input.size()))
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        copy_through("Flatten", input, output)
    }

    fn backward(
        &mut self,
        _input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        match grad_input {
            Some(grad_input) => copy_through("Flatten gradient", grad_output, grad_input),
            None => Ok(()),
        }
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Flatten)
    }
}

impl Inference for Flatten {
    /// `Y = X`: the same values, a flat row.
    fn infer(
        &self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
        _batch_rows: usize,
    ) -> Result<()> {
        copy_through("Flatten", input, output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;

    #[test]
    fn values_pass_through_and_the_shape_becomes_flat() {
        let mut flatten = Flatten;
        let image = Shape::image(2, 3, 4).unwrap();
        assert_eq!(flatten.build(image).unwrap(), Shape::flat(24));
        assert_eq!(flatten.build(Shape::flat(5)).unwrap(), Shape::flat(5));
        let report = check_layer(&mut flatten, 2, 24, 3).unwrap();
        assert!(report.max_relative_error < 1e-3, "{report}");
    }
}
