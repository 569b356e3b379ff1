//! A scale and a shift per feature (`gamma` and `beta`, PyTorch's `weight` and `bias`,
//! `(1, features)` each) with their gradients: the learned part of
//! [`BatchNorm1d`](super::BatchNorm1d) (and [`BatchNorm2d`](super::BatchNorm2d)) and of
//! [`LayerNorm`](super::LayerNorm), `y = x_hat * gamma + beta` (Ioffe & Szegedy 2015, Ba et
//! al. 2016).

use super::Parameter;
use crate::Result;
use ndarray::{Array2, ArrayView2};

/// `gamma` and `beta` per feature, with their gradients.
#[derive(Clone, Debug)]
pub(crate) struct Affine {
    /// Gamma, `(1, features)`.
    pub(crate) weight: Array2<f32>,
    /// Beta, `(1, features)`.
    pub(crate) bias: Array2<f32>,
    /// dLoss/dGamma of the last backward pass.
    pub(crate) weight_grad: Array2<f32>,
    /// dLoss/dBeta of the last backward pass.
    pub(crate) bias_grad: Array2<f32>,
}

impl Affine {
    /// Gamma 1 and beta 0 for `features` features (PyTorch's initial values); `layer` names the
    /// layer in an allocation error.
    pub(crate) fn new(layer: &str, features: usize) -> Result<Self> {
        let row = |value: f32| {
            crate::allocation::filled(&format!("{layer} parameters"), 1, features, value)
        };
        Ok(Affine {
            weight: row(1.0)?,
            bias: row(0.0)?,
            weight_grad: row(0.0)?,
            bias_grad: row(0.0)?,
        })
    }

    /// Hands `weight` and `bias` with their gradients to `visit`, in that order
    /// ([`Layer::visit_parameters_mut`](super::Layer::visit_parameters_mut)).
    pub(crate) fn visit(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        visit(Parameter {
            name: "weight",
            value: self.weight.view_mut(),
            grad: self.weight_grad.view_mut(),
        });
        visit(Parameter {
            name: "bias",
            value: self.bias.view_mut(),
            grad: self.bias_grad.view_mut(),
        });
    }

    /// `weight` and `bias`, named ([`Layer::parameters`](super::Layer::parameters)).
    pub(crate) fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        vec![("weight", self.weight.view()), ("bias", self.bias.view())]
    }
}
