//! [`CrossEntropy`](struct@CrossEntropy): `L = -1/rows sum_i sum_c t_ic ln p_ic`, the tutorial's `compute_loss`, with
//! PyTorch's `label_smoothing` and a logits form.
//!
//! The plain loss, [`CrossEntropy`](struct@CrossEntropy) (the constant, equal to `CrossEntropy::new()`), takes
//! probabilities: a model ending in a [`Softmax`](crate::layers::Softmax). The model then uses its
//! fused form ([`FusedLoss`]): the loss from the logits `z` through
//! `ln p_c = z_c - logsumexp(z)`, and the gradient on the logits
//! `(p sum_c(t_c) - t) / rows`, which is the tutorial's `dL/dZ = (Y_hat - Y) / n` when each target
//! row sums to 1, and stays right for soft, multi-hot or all-zero target rows. Both stay finite
//! and exact when the softmax saturates: logits `[1000, 0, -1000]` with target class 2 give a
//! loss of exactly 2000 and the gradient `[1, 0, -1] / rows`, where the unfused form would give
//! `ln 0 = -inf` and `0 / 0 = NaN`.
//!
//! [`CrossEntropy::from_logits`] is the same computation on a model that ends without a softmax,
//! as PyTorch's `nn.CrossEntropyLoss` and Keras' `from_logits=True`.
//!
//! With label smoothing `eps` over `C` classes, each target becomes
//! `t' = t (1 - eps) + eps / C` (PyTorch's `label_smoothing`, for class and probability targets
//! alike) and the loss is the cross-entropy against `t'`.
//!
//! Targets must lie in `[0, 1]`; rows need not sum to 1.
//!
//! In training the fused loss needs no exponential: with `m` the largest logit, at class `a`,
//! the softmax gives `p_a = exp(0) / S = 1 / S` where `S = sum_c exp(z_c - m)`, so
//! `logsumexp(z) = m + ln S = m - ln p_a` and `-ln p_c = (m - z_c) - ln p_a`: one logarithm of a
//! probability of at least `1 / classes` per row, never of a vanishing `p_c`.
//!
//! ```
//! use feedforward::losses::{CrossEntropy, FusedLoss, Loss};
//! use feedforward::layers::OutputKind;
//! use feedforward::ndarray::array;
//!
//! let logits = array![[1000.0f32, 0.0, -1000.0]];
//! let target = array![[0.0f32, 0.0, 1.0]];
//! let fused = CrossEntropy.fused(OutputKind::SoftmaxProbabilities).unwrap();
//! assert_eq!(fused.loss_from_logits(logits.view(), target.view())?, 2000.0);
//! assert_eq!(CrossEntropy::from_logits().loss(logits.view(), target.view())?, 2000.0);
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::two_forms::{self, TwoForms};
use super::{
    check_probability_targets, check_shapes, standard, with_standard_slice, FusedLoss, Loss,
    ModelOutput,
};
use crate::layers::{softmax_row, OutputKind};
use crate::metrics::Task;
use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2, Zip};

/// Categorical cross-entropy averaged over the rows of the batch, on probabilities (after a
/// [`Softmax`](crate::layers::Softmax)) or on logits ([`CrossEntropy::from_logits`]).
///
/// `CrossEntropy` is also a constant holding `CrossEntropy::new()`, so that the plain loss reads
/// `&CrossEntropy`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossEntropy {
    from_logits: bool,
    label_smoothing: f32,
}

/// The plain cross-entropy on probabilities, `CrossEntropy::new()`: `&CrossEntropy` is the loss
/// of a model ending in a [`Softmax`](crate::layers::Softmax).
#[allow(non_upper_case_globals)]
pub const CrossEntropy: CrossEntropy = CrossEntropy::new();

impl CrossEntropy {
    /// Cross-entropy on probabilities: the model must end in a
    /// [`Softmax`](crate::layers::Softmax) (Keras' `CategoricalCrossentropy()`).
    pub const fn new() -> Self {
        CrossEntropy {
            from_logits: false,
            label_smoothing: 0.0,
        }
    }

    /// Cross-entropy on raw outputs (logits), for a model that ends without a softmax: PyTorch's
    /// `nn.CrossEntropyLoss`, Keras' `CategoricalCrossentropy(from_logits=True)`. The softmax
    /// is applied inside the loss, by the same code as the fused form.
    pub const fn from_logits() -> Self {
        CrossEntropy {
            from_logits: true,
            label_smoothing: 0.0,
        }
    }

    /// The same loss with PyTorch's `label_smoothing = epsilon`: targets become
    /// `t (1 - epsilon) + epsilon / classes`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `0 <= epsilon <= 1` (PyTorch's range).
    pub fn label_smoothing(self, epsilon: f32) -> Result<Self> {
        if !(0.0..=1.0).contains(&epsilon) {
            return Err(Error::config(
                "label_smoothing",
                epsilon,
                "a value in [0, 1], typically 0.1",
            ));
        }
        Ok(CrossEntropy {
            label_smoothing: epsilon,
            ..self
        })
    }

    /// Whether the loss takes logits (see [`CrossEntropy::from_logits`]).
    pub fn is_from_logits(&self) -> bool {
        self.from_logits
    }

    /// The label smoothing, 0 without.
    pub fn smoothing(&self) -> f32 {
        self.label_smoothing
    }

    /// How the loss was built, for messages: `CrossEntropy::from_logits()`.
    fn describe(&self) -> String {
        let base = if self.from_logits {
            "CrossEntropy::from_logits()"
        } else {
            "CrossEntropy"
        };
        if self.label_smoothing > 0.0 {
            format!("{base} with label_smoothing {}", self.label_smoothing)
        } else {
            base.to_string()
        }
    }

    /// The smoothed target `t (1 - eps) + eps / classes` of each row, through `row`.
    fn smoothed(&self, classes: usize) -> Smoothing {
        Smoothing {
            keep: 1.0 - self.label_smoothing,
            add: self.label_smoothing / classes as f32,
        }
    }

    /// The pairing rules of both forms.
    fn check_pairing(&self, output: &ModelOutput<'_>) -> Result<()> {
        let fits = matches!(
            (output.kind, self.from_logits),
            (OutputKind::SoftmaxProbabilities, false) | (OutputKind::Plain, true)
        );
        if fits && output.width > 1 {
            // the common case, checked at every train_step: no allocation
            return Ok(());
        }
        let loss = self.describe();
        if output.width == 1 {
            return Err(output.mismatch(
                loss,
                "cross-entropy over a single column is always 0 (the softmax of one value is 1), \
                 so nothing is learned",
                "for two classes in one column use BinaryCrossEntropy after a Sigmoid \
                 (or BinaryCrossEntropy::from_logits() without it), or give the model one \
                 output per class",
            ));
        }
        match (output.kind, self.from_logits) {
            (OutputKind::SoftmaxProbabilities, false) | (OutputKind::Plain, true) => Ok(()),
            (OutputKind::Plain, false) => Err(output.mismatch(
                loss,
                "it expects probabilities, but the outputs are raw numbers (they may be negative \
                 and rows do not sum to 1)",
                "end the model with a Softmax layer, or use CrossEntropy::from_logits() to \
                 train on the raw outputs (as PyTorch's nn.CrossEntropyLoss)",
            )),
            (OutputKind::SoftmaxProbabilities, true) => Err(output.mismatch(
                loss,
                "it applies a softmax to the outputs, which already went through one",
                "remove the final Softmax layer, or use CrossEntropy (on probabilities) instead \
                 of CrossEntropy::from_logits()",
            )),
            (OutputKind::SigmoidProbabilities, _) => Err(output.mismatch(
                loss,
                "sigmoid outputs are independent yes/no probabilities, not one class per sample",
                "use BinaryCrossEntropy for independent yes/no outputs (binary or multi-label), \
                 or end the model with Softmax instead of Sigmoid for one class per sample",
            )),
        }
    }
}

impl Default for CrossEntropy {
    /// [`CrossEntropy::new`]: on probabilities, without label smoothing.
    fn default() -> Self {
        CrossEntropy::new()
    }
}

/// Label smoothing of one target value: `t keep + add`, which is `t` exactly without smoothing
/// (`keep = 1`, `add = 0`).
#[derive(Clone, Copy)]
struct Smoothing {
    keep: f32,
    add: f32,
}

impl Smoothing {
    #[inline]
    fn apply(self, t: f32) -> f32 {
        t * self.keep + self.add
    }
}

impl Loss for CrossEntropy {
    fn name(&self) -> &str {
        "CrossEntropy"
    }

    fn description(&self) -> String {
        self.describe()
    }

    fn loss(&self, output: ArrayView2<'_, f32>, target: ArrayView2<'_, f32>) -> Result<f32> {
        two_forms::loss(self, output, target)
    }

    fn loss_and_gradient(
        &self,
        output: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
        grad: ArrayViewMut2<'_, f32>,
    ) -> Result<f32> {
        two_forms::loss_and_gradient(self, output, target, grad)
    }

    fn fused(&self, kind: OutputKind) -> Option<&dyn FusedLoss> {
        two_forms::fused(self, kind)
    }

    fn check_output(&self, output: &ModelOutput<'_>) -> Result<()> {
        self.check_pairing(output)
    }

    fn task(&self) -> Task {
        Task::Classification
    }
}

impl FusedLoss for CrossEntropy {
    fn loss_from_logits(
        &self,
        logits: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
    ) -> Result<f32> {
        check_shapes("CrossEntropy", &logits, &target, None)?;
        check_probability_targets("CrossEntropy", &target)?;
        // Copies only when a view is not in standard layout.
        let (z, t) = (logits.as_standard_layout(), target.as_standard_layout());
        let (z, t) = (standard(&z), standard(&t));
        let classes = logits.ncols();
        let smoothing = self.smoothed(classes);
        let sum: f64 = z
            .chunks_exact(classes)
            .zip(t.chunks_exact(classes))
            .map(|(z, t)| row_loss(z, t, smoothing))
            .sum();
        Ok((sum / logits.nrows() as f64) as f32)
    }

    fn loss_and_logit_gradient(
        &self,
        logits: ArrayView2<'_, f32>,
        probabilities: Option<ArrayView2<'_, f32>>,
        target: ArrayView2<'_, f32>,
        grad: ArrayViewMut2<'_, f32>,
    ) -> Result<f32> {
        check_shapes("CrossEntropy", &logits, &target, Some(&grad))?;
        if let Some(p) = &probabilities {
            check_shapes("CrossEntropy", p, &target, None)?;
        }
        // check_probability_targets("CrossEntropy", &target)?;
        let inv_rows = 1.0 / logits.nrows() as f32;
        let classes = logits.ncols();
        let smoothing = self.smoothed(classes);
        // Copies only when a view is not in standard layout (never for a model's buffers).
        let z = logits.as_standard_layout();
        let t = target.as_standard_layout();
        let p = probabilities.as_ref().map(|p| p.as_standard_layout());
        let (z, t) = (standard(&z), standard(&t));
        let p = p.as_ref().map(standard);
        let (sum, valid) = with_standard_slice(grad, |g| {
            let mut valid = true;
            if let Some(p) = p {
                // The tutorial's `(p - t) / rows` for every row at once; rows whose targets do not
                // sum to 1, or smoothed ones, are rewritten below.
                for ((g, &p), &t) in g.iter_mut().zip(p).zip(t) {
                    valid &= in_unit_interval(t);
                    *g = (p - t) * inv_rows;
                }
            }
            let mut sum = 0.0f64;
            for (row, (g, (z, t))) in g
                .chunks_exact_mut(classes)
                .zip(z.chunks_exact(classes).zip(t.chunks_exact(classes)))
                .enumerate()
            {
                let p = p.map(|p| &p[row * classes..(row + 1) * classes]);
                let result = row_loss_and_gradient(z, p, t, smoothing, inv_rows, g);
                sum += result.value;
                valid &= result.valid;
            }
            (sum, valid)
        });
        if !valid {
            // the targets were checked on the way; find the first bad one for the message
            check_probability_targets("CrossEntropy", &target)?;
        }
        Ok((sum / logits.nrows() as f64) as f32)
    }
}

/// `sum_c t'_c (logsumexp(z) - z_c)` for one row, computed without overflow.
fn row_loss(z: &[f32], t: &[f32], smoothing: Smoothing) -> f64 {
    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
    let sum_exp: f64 = z.iter().map(|&v| (v as f64 - max).exp()).sum();
    weighted_distances(z, t, smoothing, max + sum_exp.ln())
}

/// `sum_c t'_c (log_sum_exp - z_c)`, skipping zero targets.
fn weighted_distances(z: &[f32], t: &[f32], smoothing: Smoothing, log_sum_exp: f64) -> f64 {
    z.iter()
        .zip(t)
        .map(|(&z, &t)| (z, smoothing.apply(t)))
        .filter(|&(_, t)| t != 0.0)
        .map(|(z, t)| t as f64 * (log_sum_exp - z as f64))
        .sum()
}

/// One row of the fused loss: its value, the gradient `g = (p sum(t') - t') / rows` written
/// into `g`, and (without `p`; the caller checks them otherwise) whether the targets lie in
/// `[0, 1]`.
///
/// `p` is the row's softmax when the forward pass computed it, and `g` then already holds
/// `(p - t) / rows`, the tutorial's gradient, which is exact for a target row summing to 1
/// without smoothing (one-hot rows, the common case) and is rewritten otherwise. Without `p`, the
/// softmax is first written into `g` by the [`Softmax`](crate::layers::Softmax) layer's own code.
/// The value uses `logsumexp(z) = m - ln p_a` where `m = z_a` is the largest logit (see the
/// module's documentation): exact when the softmax saturates (`p_a = 1`), and within a few `f32`
/// roundings of [`row_loss`] otherwise.
fn row_loss_and_gradient(
    z: &[f32],
    p: Option<&[f32]>,
    t: &[f32],
    smoothing: Smoothing,
    inv_rows: f32,
    g: &mut [f32],
) -> RowResult {
    if p.is_none() {
        softmax_row(z, g);
    }
    let (mut a, mut max) = (0, f32::NEG_INFINITY);
    for (c, &v) in z.iter().enumerate() {
        if v > max {
            (a, max) = (c, v);
        }
    }
    let p_max = p.map_or(g[a], |p| p[a]);
    let log_sum_exp = max as f64 - (p_max.ln() as f64);
    // One pass over the targets: the loss, the smoothed targets' sum, and their validity.
    let Smoothing { keep, add } = smoothing;
    let (mut value, mut target_sum, mut valid) = (0.0f64, 0.0f32, true);
    for (&z, &t) in z.iter().zip(t) {
        if p.is_none() {
            valid &= in_unit_interval(t);
        }
        let t = t * keep + add;
        target_sum += t;
        if t != 0.0 {
            value += t as f64 * (log_sum_exp - z as f64);
        }
    }
    match p {
        Some(p) if target_sum != 1.0 || keep != 1.0 => {
            for ((g, &p), &t) in g.iter_mut().zip(p).zip(t) {
                *g = (p * target_sum - (t * keep + add)) * inv_rows;
            }
        }
        Some(_) => {} // `(p - t) / rows` is already there
        None => {
            for (g, &t) in g.iter_mut().zip(t) {
                *g = (*g * target_sum - (t * keep + add)) * inv_rows;
            }
        }
    }
    RowResult { value, valid }
}

/// `0 <= t <= 1` (false for NaN), without short-circuit so that the training loop vectorises
/// (`(0.0..=1.0).contains` made the fused loss measurably slower).
#[allow(clippy::manual_range_contains)]
#[inline]
fn in_unit_interval(t: f32) -> bool {
    (t >= 0.0) & (t <= 1.0)
}

/// What [`row_loss_and_gradient`] found in a row.
struct RowResult {
    /// The row's loss.
    value: f64,
    /// Whether every target lies in `[0, 1]`.
    valid: bool,
}

impl TwoForms for CrossEntropy {
    fn takes_logits(&self) -> bool {
        self.from_logits
    }

    fn probabilities_kind(&self) -> OutputKind {
        OutputKind::SoftmaxProbabilities
    }

    /// Loss and gradient on probabilities `p` (the unfused form): `-t' / (p rows)`.
    fn probabilities_loss(
        &self,
        output: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
        grad: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<f32> {
        check_shapes("CrossEntropy", &output, &target, grad.as_ref())?;
        check_probability_targets("CrossEntropy", &target)?;
        let rows = output.nrows() as f32;
        let smoothing = self.smoothed(output.ncols());
        let mut sum = 0.0f64;
        let mut term = |p: f32, t: f32| -> f32 {
            let t = smoothing.apply(t);
            if t != 0.0 {
                sum -= t as f64 * (p as f64).ln();
                -t / (p * rows)
            } else {
                0.0
            }
        };
        match grad {
            Some(mut grad) => Zip::from(&mut grad)
                .and(&output)
                .and(&target)
                .for_each(|g, &p, &t| *g = term(p, t)),
            None => Zip::from(&output).and(&target).for_each(|&p, &t| {
                term(p, t);
            }),
        }
        Ok((sum / output.nrows() as f64) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_loss;
    use crate::layers::{Layer, Softmax};
    use ndarray::{array, Array2};

    fn softmax(z: &Array2<f32>) -> Array2<f32> {
        let mut p = Array2::zeros(z.raw_dim());
        Softmax.forward(z.view(), p.view_mut()).unwrap();
        p
    }

    #[test]
    fn matches_the_tutorial_compute_loss() {
        // -np.sum(t * np.log(p)) / p.shape[0]
        let p = array![[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]];
        let t = array![[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
        let expected = -((0.7f64).ln() + (0.8f64).ln()) / 2.0;
        let l = CrossEntropy.loss(p.view(), t.view()).unwrap();
        approx::assert_abs_diff_eq!(l as f64, expected, epsilon = 1e-7);
        let mut g = Array2::zeros((2, 3));
        CrossEntropy
            .loss_and_gradient(p.view(), t.view(), g.view_mut())
            .unwrap();
        assert!((g[[0, 0]] - (-1.0 / (0.7 * 2.0))).abs() < 1e-6);
        assert_eq!(g[[0, 1]], 0.0);
    }

    #[test]
    fn saturated_logits_give_finite_exact_losses_and_gradients() {
        let z = array![[1000.0, 0.0, -1000.0]];
        let p = softmax(&z);
        for class in 0..3 {
            let mut t = Array2::zeros((1, 3));
            t[[0, class]] = 1.0;
            for probabilities in [Some(p.view()), None] {
                let mut g = Array2::from_elem((1, 3), f32::NAN);
                let l = CrossEntropy
                    .loss_and_logit_gradient(z.view(), probabilities, t.view(), g.view_mut())
                    .unwrap();
                assert_eq!(l, [0.0, 1000.0, 2000.0][class]);
                assert_eq!(g, &p - &t, "class {class}");
            }
            let logits = CrossEntropy::from_logits();
            assert_eq!(
                logits.loss(z.view(), t.view()).unwrap(),
                [0.0, 1000.0, 2000.0][class]
            );
        }
    }

    #[test]
    fn fused_gradient_is_right_for_soft_multi_hot_and_zero_targets() {
        // The issue's case: logits [0.2, 0.7, -0.4], target [1, 1, 0]; the gradient of
        // -sum(t ln softmax(z)) is p * sum(t) - t.
        let z = array![[0.2f32, 0.7, -0.4], [0.3, -0.2, 0.5], [1.0, 2.0, 3.0]];
        let t = array![[1.0f32, 1.0, 0.0], [0.0, 0.0, 0.0], [0.2, 0.3, 0.1]];
        let p = softmax(&z);
        let mut g = Array2::zeros((3, 3));
        CrossEntropy
            .loss_and_logit_gradient(z.view(), Some(p.view()), t.view(), g.view_mut())
            .unwrap();
        for r in 0..3 {
            let s: f32 = t.row(r).sum();
            for c in 0..3 {
                let want = (p[[r, c]] * s - t[[r, c]]) / 3.0;
                approx::assert_abs_diff_eq!(g[[r, c]], want, epsilon = 1e-7);
            }
        }
        // an all-zero target row has zero loss and zero gradient
        assert_eq!(g.row(1).to_vec(), vec![0.0; 3]);
        // on probabilities (and their logits for the fused form), then on logits
        let report = check_loss(&CrossEntropy, p.view(), t.view()).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
        let report = check_loss(&CrossEntropy::from_logits(), z.view(), t.view()).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }

    #[test]
    fn training_loss_from_probabilities_matches_the_logits() {
        // Logits of every scale, soft and one-hot targets: within f32 rounding of the loss
        // computed from the logits alone in f64.
        let mut rng = crate::random::RandomState::new(9);
        for scale in [0.01f32, 1.0, 10.0, 100.0] {
            let z = rng.randn(64, 10).unwrap().mapv(|v| v * scale);
            let p = softmax(&z);
            let soft = rng.rand(64, 10).unwrap();
            let soft = &soft
                / &soft
                    .sum_axis(ndarray::Axis(1))
                    .insert_axis(ndarray::Axis(1));
            let hard =
                crate::data::one_hot(&(0..64).map(|i| i * 7 % 10).collect::<Vec<_>>(), 10).unwrap();
            for (t, exact_gradient) in [(soft, false), (hard, true)] {
                let mut g = Array2::zeros((64, 10));
                let fused = CrossEntropy
                    .loss_and_logit_gradient(z.view(), Some(p.view()), t.view(), g.view_mut())
                    .unwrap();
                let exact = CrossEntropy.loss_from_logits(z.view(), t.view()).unwrap();
                let tolerance = 1e-6 * (1.0 + exact.abs());
                assert!(
                    (fused - exact).abs() <= tolerance,
                    "{scale}: {fused} vs {exact}"
                );
                let want = (&p - &t) / 64.0;
                if exact_gradient {
                    assert_eq!(g, want);
                } else {
                    // soft rows sum to 1 within f32 rounding
                    for (g, w) in g.iter().zip(&want) {
                        approx::assert_abs_diff_eq!(g, w, epsilon = 1e-8);
                    }
                }
                // without the probabilities, the same code computes them the layer's way
                let mut g2 = Array2::zeros((64, 10));
                let unfused = CrossEntropy
                    .loss_and_logit_gradient(z.view(), None, t.view(), g2.view_mut())
                    .unwrap();
                assert_eq!((unfused, &g2), (fused, &g));
            }
        }
    }

    #[test]
    fn label_smoothing_matches_pytorch() {
        // import torch; z = torch.tensor([[2.0, 1.0, 0.1], [0.5, -0.5, 3.0]], requires_grad=True)
        // l = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(z, torch.tensor([1, 2]))
        // (computed from PyTorch's definition with numpy in scripts/loss_references.py)
        let z = array![[2.0f32, 1.0, 0.1], [0.5, -0.5, 3.0]];
        let t = array![[0.0f32, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let loss = CrossEntropy::from_logits().label_smoothing(0.1).unwrap();
        let mut g = Array2::zeros((2, 3));
        let l = loss
            .loss_and_gradient(z.view(), t.view(), g.view_mut())
            .unwrap();
        approx::assert_abs_diff_eq!(l as f64, REF_SMOOTH_LOSS, epsilon = 1e-6);
        for (g, w) in g.iter().zip(REF_SMOOTH_GRAD) {
            approx::assert_abs_diff_eq!(*g as f64, w, epsilon = 1e-6);
        }
        // the same on probabilities, fused after a softmax and unfused
        let p = softmax(&z);
        let smoothed = CrossEntropy.label_smoothing(0.1).unwrap();
        assert!((smoothed.loss(p.view(), t.view()).unwrap() as f64 - REF_SMOOTH_LOSS).abs() < 1e-6);
        let fused = smoothed.fused(OutputKind::SoftmaxProbabilities).unwrap();
        let mut g2 = Array2::zeros((2, 3));
        let l2 = fused
            .loss_and_logit_gradient(z.view(), Some(p.view()), t.view(), g2.view_mut())
            .unwrap();
        approx::assert_abs_diff_eq!(l2 as f64, REF_SMOOTH_LOSS, epsilon = 1e-6);
        for (g, w) in g2.iter().zip(REF_SMOOTH_GRAD) {
            approx::assert_abs_diff_eq!(*g as f64, w, epsilon = 1e-6);
        }
        for (loss, output) in [(loss, &z), (smoothed, &p)] {
            let report = check_loss(&loss, output.view(), t.view()).unwrap();
            assert!(report.max_relative_error < 1e-2, "{report}");
        }
        assert!(CrossEntropy.label_smoothing(1.5).is_err());
        assert!(CrossEntropy.label_smoothing(f32::NAN).is_err());
    }

    #[test]
    fn targets_outside_zero_one_are_errors() {
        let z = array![[0.2f32, 0.8]];
        for bad in [-0.5f32, 1.5, f32::NAN] {
            let t = array![[bad, 1.0]];
            for loss in [CrossEntropy, CrossEntropy::from_logits()] {
                let err = loss.loss(z.view(), t.view()).unwrap_err();
                assert!(
                    matches!(
                        err,
                        Error::InvalidTarget {
                            row: 0,
                            column: 0,
                            ..
                        }
                    ),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn any_memory_layout_gives_the_same_loss_and_gradient() {
        let z = array![[2.0f32, 1.0, 0.1], [0.5, -0.5, 3.0]];
        let t = array![[0.0f32, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let p = softmax(&z);
        let mut g = Array2::zeros((2, 3));
        let l = CrossEntropy
            .loss_and_logit_gradient(z.view(), Some(p.view()), t.view(), g.view_mut())
            .unwrap();
        // The same matrices stored column-major.
        let (zf, pf, tf) = (
            z.t().as_standard_layout().into_owned(),
            p.t().as_standard_layout().into_owned(),
            t.t().as_standard_layout().into_owned(),
        );
        let mut gf = Array2::zeros((3, 2));
        let lf = CrossEntropy
            .loss_and_logit_gradient(zf.t(), Some(pf.t()), tf.t(), gf.view_mut().reversed_axes())
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

    /// `scripts/loss_references.py`: PyTorch's `CrossEntropyLoss(label_smoothing=0.1)` on the
    /// logits above, and its gradient.
    const REF_SMOOTH_LOSS: f64 = 0.860_055_4;
    const REF_SMOOTH_GRAD: [f64; 6] = [
        0.312_833_9,
        -0.345_450_18,
        0.032_616_28,
        0.020_232_685,
        -0.003_092_154,
        -0.017_140_532,
    ];
}
