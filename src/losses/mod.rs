//! Losses: the [`Loss`] trait and one loss per file, as PyTorch and Keras define them.
//!
//! A loss turns the model's output and the targets into one number and the first gradient,
//! dLoss/dOutput, from which back-propagation starts. Losses are used as trait objects
//! (`Box<dyn Loss>` or `&dyn Loss`), so a model can be trained with a loss chosen at run time.
//! Every loss is a mean: over the rows for cross-entropy, over all `n` elements otherwise.
//!
//! | loss | value | PyTorch | task |
//! | --- | --- | --- | --- |
//! | [`CrossEntropy`](struct@CrossEntropy) | `-1/rows sum(t ln p)` | `CrossEntropyLoss` (on logits with [`CrossEntropy::from_logits`]) | one class per sample |
//! | [`BinaryCrossEntropy`](struct@BinaryCrossEntropy) | `-mean(t ln p + (1 - t) ln(1 - p))` | `BCELoss` (`BCEWithLogitsLoss` with [`BinaryCrossEntropy::from_logits`]) | yes/no per output (binary, multi-label) |
//! | [`Mse`] | `mean((y - t)^2)` | `MSELoss` | regression |
//! | [`Mae`] | `mean(abs(y - t))` | `L1Loss` | regression |
//! | [`Huber`] | `mean(0.5 d^2 if abs(d) < delta else delta (abs(d) - delta / 2))` | `HuberLoss` | regression |
//! | [`HalfMse`] | `1/2 mean((y - t)^2)` | `MSELoss / 2` | regression (the tutorial's) |
//!
//! ## Fused losses
//! A cross-entropy after the activation that makes probabilities of logits (a
//! [`Softmax`](crate::layers::Softmax) for [`CrossEntropy`](struct@CrossEntropy), a
//! [`Sigmoid`](crate::layers::Sigmoid) for [`BinaryCrossEntropy`](struct@BinaryCrossEntropy)) is computed by the model from
//! the logits, through its [`FusedLoss`] form: the loss by log-sum-exp or softplus, the gradient on
//! the logits directly, exact and finite for logits of any size (a saturated probability is 0 or
//! 1 exactly, where `ln p` and `1 / p` are not finite). The `from_logits` losses run the same
//! code on a model that ends without the activation, as PyTorch's `CrossEntropyLoss` and
//! `BCEWithLogitsLoss` do.
//!
//! ## Checked pairings and targets
//! When training or evaluation starts, the model asks the loss whether it fits its last layer
//! ([`Loss::check_output`]): cross-entropy on raw outputs, on a single column, or
//! binary cross-entropy after a softmax are [`Error::LossMismatch`] errors that say what to
//! change. Cross-entropy targets must lie in `[0, 1]` and every target must be finite
//! ([`Error::InvalidTarget`]).
//!
//! ```
//! use feedforward::prelude::*;
//!
//! let mut rng = RandomState::new(0);
//! // The PyTorch habit: no activation at the end, the loss takes the logits.
//! let mut model = Sequential::builder(4)
//!     .push(Dense::new(4, 3, Init::XavierNormal, &mut rng)?)
//!     .build()?;
//! let x = rng.rand(6, 4)?;
//! let y = feedforward::data::one_hot(&[0, 1, 2, 2, 1, 0], 3)?;
//! let mut sgd = Sgd::new(0.1)?;
//! let err = model.train_step(x.view(), y.view(), &CrossEntropy, &mut sgd).unwrap_err();
//! assert!(err.to_string().contains("CrossEntropy::from_logits()"), "{err}");
//! model.train_step(x.view(), y.view(), &CrossEntropy::from_logits(), &mut sgd)?;
//! # Ok::<(), feedforward::Error>(())
//! ```

mod binary_cross_entropy;
mod cross_entropy;
mod half_mse;
mod huber;
mod mae;
mod mse;
mod two_forms;

pub use binary_cross_entropy::BinaryCrossEntropy;
pub use cross_entropy::CrossEntropy;
pub use half_mse::HalfMse;
pub use huber::Huber;
pub use mae::Mae;
pub use mse::Mse;

use crate::layers::OutputKind;
use crate::metrics::Task;
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// A differentiable measure of how far outputs are from targets.
pub trait Loss: Send + Sync {
    /// A short name for messages (`"HalfMse"`).
    fn name(&self) -> &str;

    /// The loss as built, with every setting that changes its value
    /// (`"Huber(delta=2)"`, `"CrossEntropy with label_smoothing 0.1"`). A training checkpoint
    /// records it, so that a run is not resumed under another loss. The default is
    /// [`name`](Loss::name): override it when the loss has such settings.
    fn description(&self) -> String {
        self.name().to_string()
    }

    /// The loss of `output` against `target` (same shape).
    fn loss(&self, output: ArrayView2<'_, f32>, target: ArrayView2<'_, f32>) -> Result<f32>;

    /// The loss, and dLoss/dOutput written into `grad` (same shape as `output`).
    fn loss_and_gradient(
        &self,
        output: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
        grad: ArrayViewMut2<'_, f32>,
    ) -> Result<f32>;

    /// This loss's fused form when the model's last layer makes outputs of this `kind` from
    /// logits, if it has one. The model then computes the loss from the last layer's input and
    /// starts back-propagation below that layer. [`CrossEntropy`](struct@CrossEntropy) fuses with
    /// [`OutputKind::SoftmaxProbabilities`], [`BinaryCrossEntropy`](struct@BinaryCrossEntropy) with
    /// [`OutputKind::SigmoidProbabilities`].
    fn fused(&self, kind: OutputKind) -> Option<&dyn FusedLoss> {
        let _ = kind;
        None
    }

    /// Checks that this loss fits a model whose output is `output`, before training or
    /// evaluation starts. The default accepts any output.
    ///
    /// # Errors
    /// [`Error::LossMismatch`] naming the fix.
    fn check_output(&self, output: &ModelOutput<'_>) -> Result<()> {
        let _ = output;
        Ok(())
    }

    /// What a model trained with this loss predicts, when its last layer does not say (a model
    /// ending in a softmax is a classifier, one ending in a sigmoid answers yes or no per output,
    /// whatever the loss). [`Sequential::evaluate`](crate::Sequential::evaluate) reports the
    /// metrics of that task. The default is [`Task::Regression`].
    fn task(&self) -> Task {
        Task::Regression
    }
}

/// A loss computed on the logits `z` of probabilities `p = f(z)` (softmax or sigmoid): stable
/// where the composition of the two is not (a saturated probability is exactly 0 or 1, and
/// `ln 0 = -inf`).
pub trait FusedLoss {
    /// The loss of `f(logits)` against `target`.
    fn loss_from_logits(
        &self,
        logits: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
    ) -> Result<f32>;

    /// The loss, and dLoss/dLogits written into `grad`. `probabilities` is `f(logits)` when the
    /// forward pass already computed it (the model's last layer); with `None`, the loss computes
    /// it the same way.
    fn loss_and_logit_gradient(
        &self,
        logits: ArrayView2<'_, f32>,
        probabilities: Option<ArrayView2<'_, f32>>,
        target: ArrayView2<'_, f32>,
        grad: ArrayViewMut2<'_, f32>,
    ) -> Result<f32>;
}

/// The output of a model, as a loss sees it when [`Loss::check_output`] checks the pairing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelOutput<'a> {
    /// The name of the model's last layer (`"Softmax"`).
    pub layer: &'a str,
    /// What that layer's output means.
    pub kind: OutputKind,
    /// Columns of the output.
    pub width: usize,
}

impl ModelOutput<'_> {
    /// `"Sigmoid, 1 column"`, for messages.
    fn describe(&self) -> String {
        let plural = if self.width == 1 { "" } else { "s" };
        format!("{}, {} column{plural}", self.layer, self.width)
    }

    /// An [`Error::LossMismatch`] for `loss` on this output.
    pub(crate) fn mismatch(
        &self,
        loss: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Error {
        Error::LossMismatch {
            loss: loss.into(),
            output: self.describe(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// Checks that output, target (and gradient) agree in shape and are not empty.
pub(crate) fn check_shapes(
    loss: &str,
    output: &ArrayView2<'_, f32>,
    target: &ArrayView2<'_, f32>,
    grad: Option<&ArrayViewMut2<'_, f32>>,
) -> Result<()> {
    if output.is_empty() {
        return Err(Error::Empty {
            what: format!("{loss} input"),
            hint: "a loss needs at least one row and one column".into(),
        });
    }
    if output.nrows() != target.nrows() {
        return Err(Error::RowCountMismatch {
            inputs: output.nrows(),
            targets: target.nrows(),
        });
    }
    if output.dim() != target.dim() {
        return Err(Error::shape(
            format!("{loss} target"),
            format!("{:?} like the model's output", output.dim()),
            format!("{:?}", target.dim()),
        ));
    }
    if let Some(grad) = grad {
        if grad.dim() != output.dim() {
            return Err(Error::shape(
                format!("{loss} gradient"),
                format!("{:?}", output.dim()),
                format!("{:?}", grad.dim()),
            ));
        }
    }
    Ok(())
}

/// Checks that every target is a finite number.
pub(crate) fn check_finite_targets(loss: &str, target: &ArrayView2<'_, f32>) -> Result<()> {
    check_targets(loss, target, |t| t.is_finite(), "a finite number")
}

/// Checks that every target lies in `[0, 1]`, as cross-entropy needs.
pub(crate) fn check_probability_targets(loss: &str, target: &ArrayView2<'_, f32>) -> Result<()> {
    check_targets(
        loss,
        target,
        |t| (0.0..=1.0).contains(&t),
        "a value in [0, 1] (a class indicator or a probability)",
    )
}

/// The first target failing `valid`, as an [`Error::InvalidTarget`].
fn check_targets(
    loss: &str,
    target: &ArrayView2<'_, f32>,
    valid: impl Fn(f32) -> bool,
    expected: &str,
) -> Result<()> {
    if target.iter().all(|&t| valid(t)) {
        return Ok(());
    }
    let ((row, column), &value) = target
        .indexed_iter()
        .find(|(_, &t)| !valid(t))
        .expect("some target is invalid");
    Err(Error::InvalidTarget {
        loss: loss.to_string(),
        row,
        column,
        value,
        expected: expected.to_string(),
    })
}

/// Runs `kernel` on `grad` as one row-major slice, through a temporary copy when `grad` is not
/// in standard layout (never for a model's buffers).
pub(crate) fn with_standard_slice<T>(
    mut grad: ArrayViewMut2<'_, f32>,
    kernel: impl FnOnce(&mut [f32]) -> T,
) -> T {
    if let Some(g) = grad.as_slice_mut() {
        return kernel(g);
    }
    let mut scratch = Array2::zeros(grad.raw_dim());
    let result = kernel(scratch.as_slice_mut().expect("a new array is standard"));
    grad.assign(&scratch);
    result
}

/// The elements of an array in standard layout, in order.
pub(crate) fn standard<'a>(a: &'a ndarray::CowArray<'_, f32, ndarray::Ix2>) -> &'a [f32] {
    a.as_slice().expect("standard layout")
}

/// Implements an element-wise regression loss `mean(f(y - t))` with gradient `f'(y - t) / n`
/// over all `n` elements, with shape and finite-target checks.
macro_rules! elementwise_loss {
    ($ty:ty, $name:expr, $this:ident => |$d:ident| $f:expr, |$gd:ident| $df:expr
     $(, description |$dthis:ident| $description:expr)?) => {
        impl $crate::losses::Loss for $ty {
            fn name(&self) -> &str {
                $name
            }

            $(
                fn description(&self) -> String {
                    let $dthis = self;
                    $description
                }
            )?

            fn loss(
                &self,
                output: ndarray::ArrayView2<'_, f32>,
                target: ndarray::ArrayView2<'_, f32>,
            ) -> $crate::Result<f32> {
                $crate::losses::check_shapes($name, &output, &target, None)?;
                $crate::losses::check_finite_targets($name, &target)?;
                let $this = self;
                let mut sum = 0.0f64;
                ndarray::Zip::from(&output).and(&target).for_each(|&y, &t| {
                    let $d = (y - t) as f64;
                    sum += $f;
                });
                Ok((sum / output.len() as f64) as f32)
            }

            fn loss_and_gradient(
                &self,
                output: ndarray::ArrayView2<'_, f32>,
                target: ndarray::ArrayView2<'_, f32>,
                mut grad: ndarray::ArrayViewMut2<'_, f32>,
            ) -> $crate::Result<f32> {
                $crate::losses::check_shapes($name, &output, &target, Some(&grad))?;
                $crate::losses::check_finite_targets($name, &target)?;
                let $this = self;
                let inv_n = 1.0 / output.len() as f32;
                let mut sum = 0.0f64;
                ndarray::Zip::from(&mut grad)
                    .and(&output)
                    .and(&target)
                    .for_each(|g, &y, &t| {
                        let $d = (y - t) as f64;
                        sum += $f;
                        let $gd = y - t;
                        *g = $df * inv_n;
                    });
                Ok((sum / output.len() as f64) as f32)
            }
        }
    };
}
pub(crate) use elementwise_loss;
