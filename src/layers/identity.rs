//! [`Identity`]: the tutorial's activation for linear regression, `Y = X`.
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::ndarray::array;
//!
//! let mut y = feedforward::ndarray::Array2::zeros((1, 2));
//! Identity.forward(array![[1.5f32, -2.0]].view(), y.view_mut()).unwrap();
//! assert_eq!(y, array![[1.5, -2.0]]);
//! ```

use super::{Inference, Layer};
use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2};

/// Passes its input through unchanged; its gradient is the identity too.
#[derive(Clone, Copy, Debug, Default)]
pub struct Identity;

impl Layer for Identity {
    fn name(&self) -> &str {
        "Identity"
    }

    fn inference(&self) -> Option<&dyn Inference> {
        Some(self)
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        Ok(input_width)
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        copy_through("Identity", input, output)
    }

    fn backward(
        &mut self,
        _input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        match grad_input {
            Some(grad_input) => copy_through("Identity gradient", grad_output, grad_input),
            None => Ok(()),
        }
    }

    fn spec(&self) -> Option<super::LayerSpec> {
        Some(super::LayerSpec::Identity)
    }
}

/// `output = input`, after [`same_shape`] (`context` names the layer in the error): the
/// forward pass (and gradient) of the layers that pass their values through ([`Identity`],
/// [`Flatten`](super::Flatten), [`Dropout`](super::Dropout) in evaluation mode).
pub(crate) fn copy_through(
    context: &str,
    input: ArrayView2<'_, f32>,
    mut output: ArrayViewMut2<'_, f32>,
) -> Result<()> {
    same_shape(context, &input, &output.view())?;
    output.assign(&input);
    Ok(())
}

/// Checks that two matrices have the same shape, for element-wise layers.
pub(crate) fn same_shape(
    context: &str,
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
) -> Result<()> {
    if a.dim() == b.dim() {
        Ok(())
    } else {
        Err(Error::shape(
            context,
            format!("{:?}", a.dim()),
            format!("{:?}", b.dim()),
        ))
    }
}

impl Inference for Identity {
    /// `Y = X`.
    fn infer(
        &self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
        _batch_rows: usize,
    ) -> Result<()> {
        copy_through("Identity", input, output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;

    #[test]
    fn gradients_pass_finite_differences() {
        let report = check_layer(&mut Identity, 3, 4, 5).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }
}
