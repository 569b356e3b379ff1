//! [`CrossEntropy`]: `L = -1/rows sum_i sum_c t_ic ln p_ic`, the tutorial's `compute_loss`.
//!
//! On its own it takes probabilities and back-propagates `-t / (p rows)`. After a
//! [`Softmax`](crate::layers::Softmax) layer, a [`Sequential`](crate::Sequential) uses the fused
//! form instead ([`SoftmaxLoss`]): the loss from the logits `z` through
//! `ln p_c = z_c - logsumexp(z)`, and the gradient on the logits `(p - t) / rows`, the tutorial's
//! `dL/dZ = (Y_hat - Y) / n`. Both stay finite and exact when the softmax saturates: logits
//! `[1000, 0, -1000]` with target class 2 give a loss of exactly 2000 and the gradient
//! `[1, 0, -1] / rows`, where the unfused form would give `ln 0 = -inf` and `0 / 0 = NaN`.
//!
//! ```
//! use feedforward::losses::{CrossEntropy, Loss};
//! use ndarray::array;
//!
//! let logits = array![[1000.0f32, 0.0, -1000.0]];
//! let target = array![[0.0f32, 0.0, 1.0]];
//! let fused = CrossEntropy.with_softmax().unwrap();
//! assert_eq!(fused.loss_from_logits(logits.view(), target.view()).unwrap(), 2000.0);
//! ```

use super::{check_shapes, Loss, SoftmaxLoss};
use crate::Result;
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, Axis, Zip};

/// Categorical cross-entropy averaged over the rows of the batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct CrossEntropy;

impl Loss for CrossEntropy {
    fn name(&self) -> &str {
        "CrossEntropy"
    }

    fn loss(&self, output: ArrayView2<'_, f32>, target: ArrayView2<'_, f32>) -> Result<f32> {
        check_shapes("CrossEntropy", &output, &target, None)?;
        let mut sum = 0.0f64;
        Zip::from(&output).and(&target).for_each(|&p, &t| {
            if t != 0.0 {
                sum -= t as f64 * (p as f64).ln();
            }
        });
        Ok((sum / output.nrows() as f64) as f32)
    }

    fn loss_and_gradient(
        &self,
        output: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
        mut grad: ArrayViewMut2<'_, f32>,
    ) -> Result<f32> {
        check_shapes("CrossEntropy", &output, &target, Some(&grad))?;
        let rows = output.nrows() as f32;
        let mut sum = 0.0f64;
        Zip::from(&mut grad)
            .and(&output)
            .and(&target)
            .for_each(|g, &p, &t| {
                if t != 0.0 {
                    sum -= t as f64 * (p as f64).ln();
                    *g = -t / (p * rows);
                } else {
                    *g = 0.0;
                }
            });
        Ok((sum / output.nrows() as f64) as f32)
    }

    fn with_softmax(&self) -> Option<&dyn SoftmaxLoss> {
        Some(self)
    }
}

impl SoftmaxLoss for CrossEntropy {
    fn loss_from_logits(
        &self,
        logits: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
    ) -> Result<f32> {
        check_shapes("CrossEntropy", &logits, &target, None)?;
        let sum: f64 = Zip::from(logits.axis_iter(Axis(0)))
            .and(target.axis_iter(Axis(0)))
            .fold(0.0, |acc, z, t| acc + row_loss(z, t));
        Ok((sum / logits.nrows() as f64) as f32)
    }

    fn loss_and_logit_gradient(
        &self,
        logits: ArrayView2<'_, f32>,
        probabilities: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
        mut grad: ArrayViewMut2<'_, f32>,
    ) -> Result<f32> {
        check_shapes("CrossEntropy", &logits, &target, Some(&grad))?;
        check_shapes("CrossEntropy", &probabilities, &target, None)?;
        let inv_rows = 1.0 / logits.nrows() as f32;
        Zip::from(&mut grad)
            .and(&probabilities)
            .and(&target)
            .for_each(|g, &p, &t| *g = (p - t) * inv_rows);
        self.loss_from_logits(logits, target)
    }
}

/// `sum_c t_c (logsumexp(z) - z_c)` for one row, computed without overflow.
fn row_loss(z: ArrayView1<'_, f32>, t: ArrayView1<'_, f32>) -> f64 {
    let max = z.fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
    let sum_exp: f64 = z.iter().map(|&v| (v as f64 - max).exp()).sum();
    let log_sum_exp = max + sum_exp.ln();
    z.iter()
        .zip(t.iter())
        .filter(|(_, &t)| t != 0.0)
        .map(|(&z, &t)| t as f64 * (log_sum_exp - z as f64))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_loss;
    use crate::layers::{Layer, Softmax};
    use ndarray::{array, Array2};

    #[test]
    fn matches_the_tutorial_compute_loss() {
        // -np.sum(t * np.log(p)) / p.shape[0]
        let p = array![[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]];
        let t = array![[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
        let expected = -((0.7f64).ln() + (0.8f64).ln()) / 2.0;
        let l = CrossEntropy.loss(p.view(), t.view()).unwrap();
        assert!((l as f64 - expected).abs() < 1e-7);
        let mut g = Array2::zeros((2, 3));
        CrossEntropy
            .loss_and_gradient(p.view(), t.view(), g.view_mut())
            .unwrap();
        assert!((g[[0, 0]] - (-1.0 / (0.7 * 2.0))).abs() < 1e-6);
        assert_eq!(g[[0, 1]], 0.0);
    }

    #[test]
    fn saturated_softmax_gives_finite_loss_and_exact_gradient() {
        let z = array![[1000.0, 0.0, -1000.0]];
        let mut p = Array2::zeros((1, 3));
        Softmax.forward(z.view(), p.view_mut()).unwrap();
        for class in 0..3 {
            let mut t = Array2::zeros((1, 3));
            t[[0, class]] = 1.0;
            let mut g = Array2::from_elem((1, 3), f32::NAN);
            let l = CrossEntropy
                .loss_and_logit_gradient(z.view(), p.view(), t.view(), g.view_mut())
                .unwrap();
            assert_eq!(l, [0.0, 1000.0, 2000.0][class]);
            assert_eq!(g, &p - &t, "class {class}");
        }
    }

    #[test]
    fn fused_gradient_is_probabilities_minus_targets_over_rows() {
        let z = array![[2.0, 1.0, 0.1], [0.5, -0.5, 3.0]];
        let t = array![[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let mut p = Array2::zeros((2, 3));
        Softmax.forward(z.view(), p.view_mut()).unwrap();
        let mut g = Array2::zeros((2, 3));
        let fused = CrossEntropy
            .loss_and_logit_gradient(z.view(), p.view(), t.view(), g.view_mut())
            .unwrap();
        assert_eq!(g, (&p - &t) / 2.0);
        let plain = CrossEntropy.loss(p.view(), t.view()).unwrap();
        assert!((fused - plain).abs() < 1e-6);
    }

    #[test]
    fn gradients_pass_finite_differences() {
        let p = array![[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]];
        let t = array![[0.0, 1.0, 0.0], [0.3, 0.0, 0.7]];
        let report = check_loss(&CrossEntropy, p.view(), t.view()).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }
}
