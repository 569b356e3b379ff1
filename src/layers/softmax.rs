//! [`Softmax`]: row-wise probabilities, `Y_ij = exp(X_ij - m_i) / sum_k exp(X_ik - m_i)`.
//!
//! Subtracting each row's maximum `m_i` (as the tutorial's first `softmax` does) keeps every
//! exponent at or below zero, so logits of any size never overflow. Its backward pass is the
//! Jacobian product `dX = Y * (G - sum(G * Y))` row by row. Followed by
//! [`CrossEntropy`](struct@crate::losses::CrossEntropy) in a [`Sequential`](crate::Sequential), the model
//! skips this product and uses the fused gradient `(Y - T) / n` computed from the logits, which
//! stays exact when the softmax saturates.
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::ndarray::array;
//!
//! let mut p = feedforward::ndarray::Array2::zeros((1, 3));
//! Softmax.forward(array![[2.0f32, 1.0, 0.1]].view(), p.view_mut()).unwrap();
//! // the tutorial prints [0.65900114 0.24243297 0.09856589]
//! assert!((p[[0, 0]] - 0.659_001_1).abs() < 1e-6);
//! ```

use super::identity::same_shape;
use super::{Inference, Layer, OutputKind};
use crate::Result;
use ndarray::{ArrayView2, ArrayViewMut2, Axis, Zip};

/// Row-wise softmax, numerically stable.
#[derive(Clone, Copy, Debug, Default)]
pub struct Softmax;

impl Layer for Softmax {
    fn name(&self) -> &str {
        "Softmax"
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
        softmax_forward(input, output)
    }

    fn backward(
        &mut self,
        _input: ArrayView2<'_, f32>,
        output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        let Some(mut grad_input) = grad_input else {
            return Ok(());
        };
        same_shape("Softmax gradient", &output, &grad_output)?;
        same_shape("Softmax gradient", &output, &grad_input.view())?;
        Zip::from(output.axis_iter(Axis(0)))
            .and(grad_output.axis_iter(Axis(0)))
            .and(grad_input.axis_iter_mut(Axis(0)))
            .for_each(|y, g, mut dx| {
                let dot: f32 = y.iter().zip(g.iter()).map(|(y, g)| y * g).sum();
                Zip::from(&mut dx)
                    .and(&y)
                    .and(&g)
                    .for_each(|dx, &y, &g| *dx = y * (g - dot));
            });
        Ok(())
    }

    fn output_kind(&self) -> OutputKind {
        OutputKind::SoftmaxProbabilities
    }

    fn spec(&self) -> Option<super::LayerSpec> {
        Some(super::LayerSpec::Softmax)
    }
}

/// `y = exp(x - max x) / sum exp(x - max x)` for one row. The entry at the maximum is
/// `exp(0) / sum = 1 / sum` exactly, which the fused cross-entropy uses to get the
/// log-sum-exp back without another exponential.
#[inline]
pub(crate) fn softmax_row(x: &[f32], y: &mut [f32]) {
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0.0f32;
    for (y, &x) in y.iter_mut().zip(x) {
        *y = (x - max).exp();
        sum += *y;
    }
    let inv = 1.0 / sum;
    for y in y.iter_mut() {
        *y *= inv;
    }
}

impl Inference for Softmax {
    fn infer(
        &self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
        _batch_rows: usize,
    ) -> Result<()> {
        softmax_forward(input, output)
    }
}

/// The softmax of every row of `input` into `output` (same shape), as [`Softmax`] computes it.
fn softmax_forward(input: ArrayView2<'_, f32>, mut output: ArrayViewMut2<'_, f32>) -> Result<()> {
    same_shape("Softmax", &input, &output.view())?;
    let width = input.ncols();
    match (input.as_slice(), output.as_slice_mut()) {
        // Rows as contiguous slices: the model's buffers.
        (Some(x), Some(y)) if width > 0 => {
            for (x, y) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)) {
                softmax_row(x, y);
            }
        }
        // Any other layout: the same operations in the same order, element by element.
        _ => Zip::from(input.axis_iter(Axis(0)))
            .and(output.axis_iter_mut(Axis(0)))
            .for_each(|x, mut y| {
                let max = x.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let mut sum = 0.0f32;
                y.zip_mut_with(&x, |y, &x| {
                    *y = (x - max).exp();
                    sum += *y;
                });
                let inv = 1.0 / sum;
                y.mapv_inplace(|v| v * inv);
            }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use ndarray::{array, Array2};

    #[test]
    fn matches_the_tutorial_example() {
        let mut p = Array2::zeros((1, 3));
        Softmax
            .forward(array![[2.0, 1.0, 0.1]].view(), p.view_mut())
            .unwrap();
        for (&got, want) in p.iter().zip([0.659_001_14f64, 0.242_432_97, 0.098_565_89]) {
            let got = got as f64;
            approx::assert_abs_diff_eq!(got, want, epsilon = 1e-6);
        }
    }

    #[test]
    fn huge_logits_do_not_overflow() {
        let mut p = Array2::zeros((2, 3));
        Softmax
            .forward(
                array![[1000.0, 0.0, -1000.0], [-1e30, -1e30, -1e30]].view(),
                p.view_mut(),
            )
            .unwrap();
        assert_eq!(p.row(0).to_vec(), vec![1.0, 0.0, 0.0]);
        for v in p.row(1) {
            approx::assert_abs_diff_eq!(*v, 1.0 / 3.0, epsilon = 1e-6);
        }
    }

    #[test]
    fn gradients_pass_finite_differences() {
        let report = check_layer(&mut Softmax, 4, 5, 3).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }
}
