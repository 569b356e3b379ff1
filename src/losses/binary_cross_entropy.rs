//! [`BinaryCrossEntropy`](struct@BinaryCrossEntropy): `L = -mean(w t ln p + (1 - t) ln(1 - p))` over every element, for
//! outputs that each answer yes or no: binary classification with one output column, multi-label
//! classification with several.
//!
//! - [`BinaryCrossEntropy`](struct@BinaryCrossEntropy) (the constant, `BinaryCrossEntropy::default()`) takes probabilities,
//!   a model ending in a [`Sigmoid`](crate::layers::Sigmoid): PyTorch's `nn.BCELoss()`, whose
//!   logarithms are clamped at -100 (so a wrong certain answer costs 100, not infinity) and
//!   whose gradient divides by `max(p (1 - p), 1e-12)`.
//! - After a `Sigmoid`, a [`Sequential`](crate::Sequential) uses the fused form
//!   ([`FusedLoss`]): the loss from the logits `z`, with `ln p = -softplus(-z)` and
//!   `ln(1 - p) = -softplus(z)`, and the gradient on the logits
//!   `(p (1 - t + w t) - w t) / n`, which is `(p - t) / n` without a positive weight. Logits of
//!   +-1000 give exact, finite losses (1000 or 0 per element) and gradients.
//! - [`BinaryCrossEntropy::from_logits`] runs the same fused code on a model that ends without
//!   the sigmoid: PyTorch's `nn.BCEWithLogitsLoss()`, Keras' `from_logits=True`.
//! - [`BinaryCrossEntropy::pos_weight`] weighs the positive term of each output column by `w`, as
//!   `BCEWithLogitsLoss(pos_weight=w)`: `w > 1` favours recall on a rare positive class
//!   (PyTorch suggests `negatives / positives`).
//!
//! `n` is the number of elements (rows times outputs). Targets must lie in `[0, 1]`.
//!
//! ```
//! use feedforward::losses::{BinaryCrossEntropy, Loss};
//! use feedforward::ndarray::array;
//!
//! let p = array![[0.9f32], [0.2]];
//! let t = array![[1.0f32], [0.0]];
//! let loss = BinaryCrossEntropy.loss(p.view(), t.view())?;
//! assert!((loss - -(0.9f32.ln() + 0.8f32.ln()) / 2.0).abs() < 1e-7);
//! // on logits: a saturated, right answer costs nothing
//! let z = array![[1000.0f32], [-1000.0]];
//! assert_eq!(BinaryCrossEntropy::from_logits().loss(z.view(), t.view())?, 0.0);
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::two_forms::{self, TwoForms};
use super::{
    check_probability_targets, check_shapes, standard, with_standard_slice, FusedLoss, Loss,
    ModelOutput,
};
use crate::layers::{sigmoid, OutputKind};
use crate::metrics::Task;
use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2};

/// Binary cross-entropy averaged over every element, on probabilities (after a
/// [`Sigmoid`](crate::layers::Sigmoid)) or on logits ([`BinaryCrossEntropy::from_logits`]),
/// with an optional weight of the positive class per output column.
///
/// `BinaryCrossEntropy` is also a constant holding `BinaryCrossEntropy::new()`, so that the plain
/// loss reads `&BinaryCrossEntropy`.
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryCrossEntropy {
    from_logits: bool,
    /// Empty for none, one value for every column, or one per column.
    pos_weight: Vec<f32>,
}

/// The plain binary cross-entropy on probabilities, `BinaryCrossEntropy::new()`:
/// `&BinaryCrossEntropy` is the loss of a model ending in a [`Sigmoid`](crate::layers::Sigmoid).
#[allow(non_upper_case_globals)]
pub const BinaryCrossEntropy: BinaryCrossEntropy = BinaryCrossEntropy::new();

/// PyTorch's `BCELoss` clamps each logarithm at -100.
const LOG_FLOOR: f64 = -100.0;
/// PyTorch's `BCELoss` backward divides by `max(p (1 - p), EPSILON)`.
const EPSILON: f32 = 1e-12;

impl BinaryCrossEntropy {
    /// Binary cross-entropy on probabilities: the model must end in a
    /// [`Sigmoid`](crate::layers::Sigmoid) (PyTorch's `nn.BCELoss()`).
    pub const fn new() -> Self {
        BinaryCrossEntropy {
            from_logits: false,
            pos_weight: Vec::new(),
        }
    }

    /// Binary cross-entropy on raw outputs (logits), for a model that ends without a sigmoid:
    /// PyTorch's `nn.BCEWithLogitsLoss()`, Keras' `BinaryCrossentropy(from_logits=True)`.
    pub const fn from_logits() -> Self {
        BinaryCrossEntropy {
            from_logits: true,
            pos_weight: Vec::new(),
        }
    }

    /// The same loss with the positive term of output column `j` weighed by `weights[j]` (one
    /// value weighs every column), as PyTorch's `BCEWithLogitsLoss(pos_weight=...)`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for no weights, or a weight that is negative or not finite.
    /// A length other than 1 or the model's output width is an [`Error::LossMismatch`] when
    /// training starts.
    pub fn pos_weight(self, weights: impl Into<Vec<f32>>) -> Result<Self> {
        let weights = weights.into();
        if weights.is_empty() {
            return Err(Error::config(
                "pos_weight",
                "[]",
                "one weight for every output column, or one per column",
            ));
        }
        if let Some(bad) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(Error::config(
                "pos_weight",
                bad,
                "finite weights of 0 or more (PyTorch suggests negatives / positives)",
            ));
        }
        Ok(BinaryCrossEntropy {
            pos_weight: weights,
            ..self
        })
    }

    /// Whether the loss takes logits (see [`BinaryCrossEntropy::from_logits`]).
    pub fn is_from_logits(&self) -> bool {
        self.from_logits
    }

    /// The weights of the positive class, empty without.
    pub fn pos_weights(&self) -> &[f32] {
        &self.pos_weight
    }

    /// How the loss was built, for messages.
    fn describe(&self) -> String {
        let base = if self.from_logits {
            "BinaryCrossEntropy::from_logits()"
        } else {
            "BinaryCrossEntropy"
        };
        if self.pos_weight.is_empty() {
            base.to_string()
        } else {
            format!("{base} with pos_weight {:?}", self.pos_weight)
        }
    }

    /// The positive weight of each column of a `columns`-wide output.
    fn weight_of(&self, columns: usize) -> Result<impl Fn(usize) -> f32 + '_> {
        match self.pos_weight.len() {
            0 | 1 => {}
            n if n == columns => {}
            n => {
                return Err(Error::shape(
                    "BinaryCrossEntropy pos_weight",
                    format!("1 or {columns} weights, one per output column"),
                    n.to_string(),
                ))
            }
        }
        Ok(move |column: usize| match self.pos_weight.len() {
            0 => 1.0,
            1 => self.pos_weight[0],
            _ => self.pos_weight[column],
        })
    }
}

impl Default for BinaryCrossEntropy {
    /// [`BinaryCrossEntropy::new`]: on probabilities, without positive weights.
    fn default() -> Self {
        BinaryCrossEntropy::new()
    }
}

impl Loss for BinaryCrossEntropy {
    fn name(&self) -> &str {
        "BinaryCrossEntropy"
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
        let weights_fit =
            matches!(self.pos_weight.len(), 0 | 1) || self.pos_weight.len() == output.width;
        let kind_fits = two_forms::kind_fits(self, output.kind);
        if weights_fit && kind_fits {
            // the common case, checked at every train_step: no allocation
            return Ok(());
        }
        let loss = self.describe();
        if !matches!(self.pos_weight.len(), 0 | 1) && self.pos_weight.len() != output.width {
            return Err(output.mismatch(
                loss,
                format!(
                    "it has {} positive weights for {} outputs",
                    self.pos_weight.len(),
                    output.width
                ),
                "give one pos_weight per output column, or a single one for all",
            ));
        }
        match (output.kind, self.from_logits) {
            (OutputKind::SigmoidProbabilities, false) | (OutputKind::Plain, true) => Ok(()),
            (OutputKind::SoftmaxProbabilities, _) => Err(output.mismatch(
                loss,
                "softmax outputs compete for one class per sample, they are not independent \
                 yes/no probabilities",
                "use CrossEntropy after a Softmax for one class per sample, or end the model \
                 with Sigmoid instead of Softmax for independent yes/no outputs (multi-label)",
            )),
            (OutputKind::Plain, false) => Err(output.mismatch(
                loss,
                "it expects probabilities, but the outputs are raw numbers",
                "end the model with a Sigmoid layer, or use BinaryCrossEntropy::from_logits() \
                 to train on the raw outputs (as PyTorch's nn.BCEWithLogitsLoss)",
            )),
            (OutputKind::SigmoidProbabilities, true) => Err(output.mismatch(
                loss,
                "it applies a sigmoid to the outputs, which already went through one",
                "remove the final Sigmoid layer, or use BinaryCrossEntropy (on probabilities) \
                 instead of BinaryCrossEntropy::from_logits()",
            )),
        }
    }

    fn task(&self) -> Task {
        Task::Binary
    }
}

/// `ln(1 + exp(x))` without overflow: `max(x, 0) + ln(1 + exp(-|x|))`; exactly `x` for
/// `x >= 1000` and 0 for `x <= -1000` in `f64`.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `w t softplus(-z) + (1 - t) softplus(z)`: one element's loss from its logit.
fn element_loss(z: f32, t: f32, w: f32) -> f64 {
    let z = z as f64;
    (w * t) as f64 * softplus(-z) + (1.0 - t) as f64 * softplus(z)
}

impl FusedLoss for BinaryCrossEntropy {
    fn loss_from_logits(
        &self,
        logits: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
    ) -> Result<f32> {
        check_shapes("BinaryCrossEntropy", &logits, &target, None)?;
        check_probability_targets("BinaryCrossEntropy", &target)?;
        let weight = self.weight_of(logits.ncols())?;
        let sum: f64 = logits
            .indexed_iter()
            .map(|((row, column), &z)| element_loss(z, target[[row, column]], weight(column)))
            .sum();
        Ok((sum / logits.len() as f64) as f32)
    }

    fn loss_and_logit_gradient(
        &self,
        logits: ArrayView2<'_, f32>,
        probabilities: Option<ArrayView2<'_, f32>>,
        target: ArrayView2<'_, f32>,
        grad: ArrayViewMut2<'_, f32>,
    ) -> Result<f32> {
        check_shapes("BinaryCrossEntropy", &logits, &target, Some(&grad))?;
        if let Some(p) = &probabilities {
            check_shapes("BinaryCrossEntropy", p, &target, None)?;
        }
        check_probability_targets("BinaryCrossEntropy", &target)?;
        let columns = logits.ncols();
        let weight = self.weight_of(columns)?;
        let inv_n = 1.0 / logits.len() as f32;
        // Copies only when a view is not in standard layout (never for a model's buffers).
        let z = logits.as_standard_layout();
        let t = target.as_standard_layout();
        let p = probabilities.as_ref().map(|p| p.as_standard_layout());
        let (z, t) = (standard(&z), standard(&t));
        let p = p.as_ref().map(standard);
        let sum = with_standard_slice(grad, |g| {
            let mut sum = 0.0f64;
            for (i, (g, (&z, &t))) in g.iter_mut().zip(z.iter().zip(t)).enumerate() {
                let w = weight(i % columns);
                let p = p.map_or_else(|| sigmoid(z), |p| p[i]);
                sum += element_loss(z, t, w);
                // d/dz of w t softplus(-z) + (1 - t) softplus(z) = p (1 - t + w t) - w t
                *g = (p * (1.0 - t + w * t) - w * t) * inv_n;
            }
            sum
        });
        Ok((sum / logits.len() as f64) as f32)
    }
}

impl TwoForms for BinaryCrossEntropy {
    fn takes_logits(&self) -> bool {
        self.from_logits
    }

    fn probabilities_kind(&self) -> OutputKind {
        OutputKind::SigmoidProbabilities
    }

    /// Loss and gradient on probabilities (the unfused form, PyTorch's `BCELoss`).
    fn probabilities_loss(
        &self,
        output: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
        grad: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<f32> {
        check_shapes("BinaryCrossEntropy", &output, &target, grad.as_ref())?;
        check_probability_targets("BinaryCrossEntropy", &target)?;
        let weight = self.weight_of(output.ncols())?;
        let inv_n = 1.0 / output.len() as f32;
        let mut sum = 0.0f64;
        let mut grad = grad;
        for ((row, column), &p) in output.indexed_iter() {
            let t = target[[row, column]];
            let w = weight(column);
            let ln_p = (p as f64).ln().max(LOG_FLOOR);
            let ln_q = (1.0 - p as f64).ln().max(LOG_FLOOR);
            sum -= (w * t) as f64 * ln_p + (1.0 - t) as f64 * ln_q;
            if let Some(g) = &mut grad {
                // d/dp of -(w t ln p + (1 - t) ln(1 - p)), over PyTorch's clamped denominator
                let numerator = p * (1.0 - t + w * t) - w * t;
                g[[row, column]] = numerator / (p * (1.0 - p)).max(EPSILON) * inv_n;
            }
        }
        Ok((sum / output.len() as f64) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_loss;
    use crate::layers::{Layer, Sigmoid};
    use ndarray::{array, Array2};

    fn sigmoid_of(z: &Array2<f32>) -> Array2<f32> {
        let mut p = Array2::zeros(z.raw_dim());
        Sigmoid.forward(z.view(), p.view_mut()).unwrap();
        p
    }

    /// Logits and multi-label targets of `scripts/loss_references.py`.
    fn case() -> (Array2<f32>, Array2<f32>) {
        (
            array![[0.8f32, -1.2, 2.5], [-0.3, 0.1, -2.0]],
            array![[1.0f32, 0.0, 1.0], [0.0, 1.0, 0.25]],
        )
    }

    #[test]
    fn values_and_gradients_match_pytorch() {
        let (z, t) = case();
        let p = sigmoid_of(&z);
        for (loss, want_loss, want_grad) in [
            (BinaryCrossEntropy, REF_LOSS, REF_GRAD),
            (
                BinaryCrossEntropy.pos_weight([2.0, 0.5, 3.0]).unwrap(),
                REF_WEIGHTED_LOSS,
                REF_WEIGHTED_GRAD,
            ),
        ] {
            // BCELoss on probabilities: value and gradient on p
            let plain = loss.loss(p.view(), t.view()).unwrap();
            assert!(
                (plain as f64 - want_loss).abs() < 1e-6,
                "{plain} vs {want_loss}"
            );
            // fused, from the probabilities of the forward pass and without them
            let fused = loss.fused(OutputKind::SigmoidProbabilities).unwrap();
            for probabilities in [Some(p.view()), None] {
                let mut g = Array2::zeros((2, 3));
                let l = fused
                    .loss_and_logit_gradient(z.view(), probabilities, t.view(), g.view_mut())
                    .unwrap();
                approx::assert_abs_diff_eq!(l as f64, want_loss, epsilon = 1e-6);
                for (g, w) in g.iter().zip(want_grad) {
                    approx::assert_abs_diff_eq!(*g as f64, w, epsilon = 1e-7);
                }
            }
            // BCEWithLogitsLoss: the same numbers from the logits
            let logits = BinaryCrossEntropy {
                from_logits: true,
                ..loss.clone()
            };
            let mut g = Array2::zeros((2, 3));
            let l = logits
                .loss_and_gradient(z.view(), t.view(), g.view_mut())
                .unwrap();
            approx::assert_abs_diff_eq!(l as f64, want_loss, epsilon = 1e-6);
            for (g, w) in g.iter().zip(want_grad) {
                approx::assert_abs_diff_eq!(*g as f64, w, epsilon = 1e-7);
            }
        }
    }

    #[test]
    fn gradients_pass_finite_differences_fused_and_unfused() {
        let (z, t) = case();
        let p = sigmoid_of(&z);
        let weighted = BinaryCrossEntropy.pos_weight([2.0, 0.5, 3.0]).unwrap();
        for loss in [BinaryCrossEntropy, weighted.clone()] {
            // unfused on probabilities, fused on their logits
            let report = check_loss(&loss, p.view(), t.view()).unwrap();
            assert!(report.max_relative_error < 1e-2, "{report}");
            assert_eq!(report.checked, 6 + 2 * 6 + 1);
        }
        for loss in [
            BinaryCrossEntropy::from_logits(),
            BinaryCrossEntropy {
                from_logits: true,
                ..weighted
            },
        ] {
            let report = check_loss(&loss, z.view(), t.view()).unwrap();
            assert!(report.max_relative_error < 1e-2, "{report}");
        }
    }

    #[test]
    fn saturated_logits_give_finite_exact_losses_and_gradients() {
        let z = array![[1000.0f32, -1000.0, 1000.0, -1000.0]];
        let t = array![[1.0f32, 0.0, 0.0, 1.0]];
        let p = sigmoid_of(&z);
        assert_eq!(p, array![[1.0, 0.0, 1.0, 0.0]]);
        let loss = BinaryCrossEntropy;
        let fused = loss.fused(OutputKind::SigmoidProbabilities).unwrap();
        for probabilities in [Some(p.view()), None] {
            let mut g = Array2::from_elem((1, 4), f32::NAN);
            let l = fused
                .loss_and_logit_gradient(z.view(), probabilities, t.view(), g.view_mut())
                .unwrap();
            // two right answers cost 0, two certain wrong ones 1000 each: mean 500
            assert_eq!(l, 500.0);
            assert_eq!(g, array![[0.0, 0.0, 0.25, -0.25]]);
        }
        assert_eq!(
            BinaryCrossEntropy::from_logits()
                .loss(z.view(), t.view())
                .unwrap(),
            500.0
        );
        // unfused, PyTorch's BCELoss clamps ln 0 at -100
        assert_eq!(BinaryCrossEntropy.loss(p.view(), t.view()).unwrap(), 50.0);
    }

    #[test]
    fn bad_targets_and_weights_are_errors() {
        let z = array![[0.3f32, 0.6]];
        for bad in [-1.0f32, 2.0, f32::NAN] {
            let err = BinaryCrossEntropy
                .loss(z.view(), array![[1.0, bad]].view())
                .unwrap_err();
            assert!(
                matches!(err, Error::InvalidTarget { column: 1, .. }),
                "{err}"
            );
        }
        assert!(BinaryCrossEntropy.pos_weight([-1.0]).is_err());
        assert!(BinaryCrossEntropy.pos_weight(Vec::new()).is_err());
        let three = BinaryCrossEntropy.pos_weight([1.0, 2.0, 3.0]).unwrap();
        assert!(matches!(
            three.loss(z.view(), array![[1.0, 0.0]].view()),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    /// `scripts/loss_references.py`: `BCELoss()(sigmoid(z), t)`, `BCEWithLogitsLoss()(z, t)`
    /// and its gradient on `z`.
    const REF_LOSS: f64 = 0.423_158_8;
    const REF_GRAD: [f64; 6] = [
        -0.051_670_92,
        0.038_579_203,
        -0.012_643_03,
        0.070_926_247,
        -0.079_170_135,
        -0.021_799_513,
    ];
    /// The same with `BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 0.5, 3.0]))`.
    const REF_WEIGHTED_LOSS: f64 = 0.634_849_8;
    const REF_WEIGHTED_GRAD: [f64; 6] = [
        -0.103_341_84,
        0.038_579_203,
        -0.037_929_09,
        0.070_926_247,
        -0.039_585_068,
        -0.095_199_269,
    ];
}
