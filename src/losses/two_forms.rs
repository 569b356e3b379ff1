//! What [`CrossEntropy`](super::CrossEntropy) and
//! [`BinaryCrossEntropy`](super::BinaryCrossEntropy) share: each computes its loss either on
//! probabilities (after the [`Softmax`](crate::layers::Softmax) or
//! [`Sigmoid`](crate::layers::Sigmoid) that ends the model, fused with it when the model can) or
//! on raw logits (`from_logits()`, as PyTorch's `nn.CrossEntropyLoss` and
//! `nn.BCEWithLogitsLoss`). The choice between the two forms is made here, once.

use super::FusedLoss;
use crate::layers::OutputKind;
use crate::Result;
use ndarray::{ArrayView2, ArrayViewMut2};

/// A loss with a probability form and a logits form.
pub(crate) trait TwoForms: FusedLoss {
    /// Whether the loss takes logits.
    fn takes_logits(&self) -> bool;

    /// The output kind of the activation whose probabilities the loss takes, and with which it
    /// fuses.
    fn probabilities_kind(&self) -> OutputKind;

    /// The loss on probabilities, and with `grad` dLoss/dProbabilities written into it.
    fn probabilities_loss(
        &self,
        output: ArrayView2<'_, f32>,
        target: ArrayView2<'_, f32>,
        grad: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<f32>;
}

/// [`Loss::loss`](super::Loss::loss) of a loss with two forms.
pub(crate) fn loss<L: TwoForms>(
    l: &L,
    output: ArrayView2<'_, f32>,
    target: ArrayView2<'_, f32>,
) -> Result<f32> {
    if l.takes_logits() {
        l.loss_from_logits(output, target)
    } else {
        l.probabilities_loss(output, target, None)
    }
}

/// [`Loss::loss_and_gradient`](super::Loss::loss_and_gradient) of a loss with two forms.
pub(crate) fn loss_and_gradient<L: TwoForms>(
    l: &L,
    output: ArrayView2<'_, f32>,
    target: ArrayView2<'_, f32>,
    grad: ArrayViewMut2<'_, f32>,
) -> Result<f32> {
    if l.takes_logits() {
        l.loss_and_logit_gradient(output, None, target, grad)
    } else {
        l.probabilities_loss(output, target, Some(grad))
    }
}

/// [`Loss::fused`](super::Loss::fused) of a loss with two forms: fused with its activation when
/// it takes probabilities and the model ends with that activation.
pub(crate) fn fused<L: TwoForms>(l: &L, kind: OutputKind) -> Option<&dyn FusedLoss> {
    (kind == l.probabilities_kind() && !l.takes_logits()).then_some(l)
}

/// Whether the model's output `kind` fits the loss's form: its activation's probabilities for
/// the probability form, raw outputs for the logits form.
pub(crate) fn kind_fits<L: TwoForms>(l: &L, kind: OutputKind) -> bool {
    if l.takes_logits() {
        kind == OutputKind::Plain
    } else {
        kind == l.probabilities_kind()
    }
}
