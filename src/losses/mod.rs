//! Losses: the [`Loss`] trait, [`HalfMse`] and [`CrossEntropy`].
//!
//! A loss turns the model's output and the targets into one number and the first gradient,
//! dLoss/dOutput, from which back-propagation starts. Losses are used as trait objects
//! (`Box<dyn Loss>` or `&dyn Loss`), so a model can be trained with a loss chosen at run time.
//!
//! | loss | value | gradient |
//! | --- | --- | --- |
//! | [`HalfMse`] | `1/2 mean((y - t)^2)` over all `n` elements | `(y - t) / n` |
//! | [`CrossEntropy`] | `-1/rows sum(t ln p)` | `-t / (p rows)`; after a softmax, on the logits: `(p - t) / rows` |

mod cross_entropy;
mod half_mse;

pub use cross_entropy::CrossEntropy;
pub use half_mse::HalfMse;

use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2};

/// A differentiable measure of how far outputs are from targets.
pub trait Loss: Send + Sync {
    /// A short name for messages (`"HalfMse"`).
    fn name(&self) -> &str;

    /// The loss of `output` against `target` (same shape).
    fn loss(&self, output: ArrayView2<'_, f32>, target: ArrayView2<'_, f32>) -> Result<f32>;

    /// The loss, and dLoss/dOutput written into `grad` (same shape as `output`).
    fn loss_and_gradient(
        &self,
        output: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
        grad: ArrayViewMut2<'_, f32>,
    ) -> Result<f32>;

    /// This loss's fused form when the output is the softmax of logits, if it has one. A model
    /// whose last layer is a [`Softmax`](crate::layers::Softmax) uses it instead of
    /// back-propagating through the softmax.
    fn with_softmax(&self) -> Option<&dyn SoftmaxLoss> {
        None
    }
}

/// A loss computed on the logits `z` of a softmax output `p = softmax(z)`: stable where the
/// composition of the two is not (a saturated softmax has `p = 0` exactly, and `ln 0 = -inf`).
pub trait SoftmaxLoss {
    /// The loss of `softmax(logits)` against `target`.
    fn loss_from_logits(
        &self,
        logits: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
    ) -> Result<f32>;

    /// The loss, and dLoss/dLogits written into `grad`. `probabilities` is `softmax(logits)`,
    /// already computed by the forward pass.
    fn loss_and_logit_gradient(
        &self,
        logits: ArrayView2<'_, f32>,
        probabilities: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
        grad: ArrayViewMut2<'_, f32>,
    ) -> Result<f32>;
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
