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
//! In training the fused loss needs no exponential: with `m` the largest logit, at class `a`,
//! the softmax gives `p_a = exp(0) / S = 1 / S` where `S = sum_c exp(z_c - m)`, so
//! `logsumexp(z) = m + ln S = m - ln p_a` and `-ln p_c = (m - z_c) - ln p_a`: one logarithm of a
//! probability of at least `1 / classes` per row, never of a vanishing `p_c`.
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
use ndarray::{ArrayView2, ArrayViewMut2, Zip};

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
        // Copies only when a view is not in standard layout.
        let (z, t) = (logits.as_standard_layout(), target.as_standard_layout());
        let (z, t) = (standard(&z), standard(&t));
        let classes = logits.ncols();
        let sum: f64 = z
            .chunks_exact(classes)
            .zip(t.chunks_exact(classes))
            .map(|(z, t)| row_loss(z, t))
            .sum();
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
        // Copies only when a view is not in standard layout (never for a model's buffers).
        let (z, p, t) = (
            logits.as_standard_layout(),
            probabilities.as_standard_layout(),
            target.as_standard_layout(),
        );
        let (z, p, t) = (standard(&z), standard(&p), standard(&t));
        match grad.as_slice_mut() {
            Some(g) => {
                for ((g, &p), &t) in g.iter_mut().zip(p).zip(t) {
                    *g = (p - t) * inv_rows;
                }
            }
            None => Zip::from(&mut grad)
                .and(&probabilities)
                .and(&target)
                .for_each(|g, &p, &t| *g = (p - t) * inv_rows),
        }
        let classes = logits.ncols();
        let sum: f64 = z
            .chunks_exact(classes)
            .zip(p.chunks_exact(classes))
            .zip(t.chunks_exact(classes))
            .map(|((z, p), t)| row_loss_from_probabilities(z, p, t))
            .sum();
        Ok((sum / logits.nrows() as f64) as f32)
    }
}

/// The elements of an array in standard layout, in order.
fn standard<'a>(a: &'a ndarray::CowArray<'_, f32, ndarray::Ix2>) -> &'a [f32] {
    a.as_slice().expect("standard layout")
}

/// `sum_c t_c (logsumexp(z) - z_c)` for one row, computed without overflow.
fn row_loss(z: &[f32], t: &[f32]) -> f64 {
    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
    let sum_exp: f64 = z.iter().map(|&v| (v as f64 - max).exp()).sum();
    let log_sum_exp = max + sum_exp.ln();
    z.iter()
        .zip(t)
        .filter(|(_, &t)| t != 0.0)
        .map(|(&z, &t)| t as f64 * (log_sum_exp - z as f64))
        .sum()
}

/// [`row_loss`] from the logits `z` and their softmax `p`: `logsumexp(z) = m - ln p_a` where
/// `m = z_a` is the largest logit (see the module's documentation). Exact when the softmax
/// saturates (`p_a = 1`), and within a few `f32` roundings of [`row_loss`] otherwise.
fn row_loss_from_probabilities(z: &[f32], p: &[f32], t: &[f32]) -> f64 {
    let (mut a, mut max) = (0, f32::NEG_INFINITY);
    for (c, &v) in z.iter().enumerate() {
        if v > max {
            (a, max) = (c, v);
        }
    }
    let log_sum_exp = max as f64 - (p[a].ln() as f64);
    z.iter()
        .zip(t)
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
    fn training_loss_from_probabilities_matches_the_logits() {
        // Logits of every scale, soft and one-hot targets: within f32 rounding of the loss
        // computed from the logits alone in f64.
        let mut rng = crate::random::RandomState::new(9);
        for scale in [0.01f32, 1.0, 10.0, 100.0] {
            let z = rng.randn(64, 10).mapv(|v| v * scale);
            let mut p = Array2::zeros((64, 10));
            Softmax.forward(z.view(), p.view_mut()).unwrap();
            let soft = rng.rand(64, 10);
            let soft = &soft
                / &soft
                    .sum_axis(ndarray::Axis(1))
                    .insert_axis(ndarray::Axis(1));
            let hard =
                crate::data::one_hot(&(0..64).map(|i| i * 7 % 10).collect::<Vec<_>>(), 10).unwrap();
            for t in [soft, hard] {
                let mut g = Array2::zeros((64, 10));
                let fused = CrossEntropy
                    .loss_and_logit_gradient(z.view(), p.view(), t.view(), g.view_mut())
                    .unwrap();
                let exact = CrossEntropy.loss_from_logits(z.view(), t.view()).unwrap();
                let tolerance = 1e-6 * (1.0 + exact.abs());
                assert!(
                    (fused - exact).abs() <= tolerance,
                    "{scale}: {fused} vs {exact}"
                );
                assert_eq!(g, (&p - &t) / 64.0);
            }
        }
    }

    #[test]
    fn any_memory_layout_gives_the_same_loss_and_gradient() {
        let z = array![[2.0f32, 1.0, 0.1], [0.5, -0.5, 3.0]];
        let t = array![[0.0f32, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let mut p = Array2::zeros((2, 3));
        Softmax.forward(z.view(), p.view_mut()).unwrap();
        let mut g = Array2::zeros((2, 3));
        let l = CrossEntropy
            .loss_and_logit_gradient(z.view(), p.view(), t.view(), g.view_mut())
            .unwrap();
        // The same matrices stored column-major.
        let (zf, pf, tf) = (
            z.t().as_standard_layout().into_owned(),
            p.t().as_standard_layout().into_owned(),
            t.t().as_standard_layout().into_owned(),
        );
        let mut gf = Array2::zeros((3, 2));
        let lf = CrossEntropy
            .loss_and_logit_gradient(zf.t(), pf.t(), tf.t(), gf.view_mut().reversed_axes())
            .unwrap();
        assert_eq!(l, lf);
        assert_eq!(g, gf.t());
        assert_eq!(
            CrossEntropy.loss_from_logits(z.view(), t.view()).unwrap(),
            CrossEntropy.loss_from_logits(zf.t(), tf.t()).unwrap()
        );
    }

    #[test]
    fn gradients_pass_finite_differences() {
        let p = array![[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]];
        let t = array![[0.0, 1.0, 0.0], [0.3, 0.0, 0.7]];
        let report = check_loss(&CrossEntropy, p.view(), t.view()).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }
}
