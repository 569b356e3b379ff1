//! [`LayerSpec::build`]: a fresh built-in layer from its spec.
//!
//! Kept apart from `spec.rs` so that the dependencies run one way: every layer names
//! [`LayerSpec`] (its [`Layer::spec`]), and only this file names every layer.

use super::{
    BatchNorm1d, Dense, Dropout, Elu, Flatten, Gelu, GeluTanh, Identity, Layer, LayerNorm,
    LayerSpec, LeakyRelu, Normalization, Relu, Sigmoid, Softmax, Tanh,
};
use crate::random::RandomState;
use crate::Result;

impl LayerSpec {
    /// A fresh layer of this kind with these settings: zero weights and bias for [`Dense`],
    /// gamma 1, beta 0 and running statistics 0 and 1 for the normalisations.
    ///
    /// # Errors
    /// The layer constructor's [`Error::InvalidConfig`](crate::Error::InvalidConfig) when a
    /// setting is out of range (a zero width, a dropout probability of 1, ...), and for a
    /// [`Custom`](LayerSpec::Custom) layer, which only a
    /// [`LayerRegistry`](crate::model::LayerRegistry) builds.
    pub fn build(&self) -> Result<Box<dyn Layer>> {
        Ok(match *self {
            LayerSpec::Dense { inputs, outputs } => {
                if inputs == 0 || outputs == 0 {
                    return Err(crate::Error::config(
                        "Dense widths",
                        format!("{inputs} -> {outputs}"),
                        "both widths must be at least 1",
                    ));
                }
                Box::new(Dense::from_parameters(
                    crate::allocation::filled("Dense weights", inputs, outputs, 0.0)?,
                    crate::allocation::filled("Dense bias", 1, outputs, 0.0)?,
                )?)
            }
            LayerSpec::Identity => Box::new(Identity),
            LayerSpec::Softmax => Box::new(Softmax),
            LayerSpec::Relu => Box::new(Relu),
            LayerSpec::Sigmoid => Box::new(Sigmoid),
            LayerSpec::Tanh => Box::new(Tanh),
            LayerSpec::LeakyRelu { slope } => Box::new(LeakyRelu::new(slope)?),
            LayerSpec::Elu { alpha } => Box::new(Elu::new(alpha)?),
            LayerSpec::Gelu => Box::new(Gelu),
            LayerSpec::GeluTanh => Box::new(GeluTanh),
            LayerSpec::Dropout { p, seed } => Box::new(Dropout::new(p, seed)?),
            LayerSpec::BatchNorm1d {
                features,
                momentum,
                eps,
            } => Box::new(
                BatchNorm1d::new(features)?
                    .with_momentum(momentum)?
                    .with_eps(eps)?,
            ),
            LayerSpec::LayerNorm { features, eps } => {
                Box::new(LayerNorm::new(features)?.with_eps(eps)?)
            }
            LayerSpec::Normalization { features, invert } => {
                let layer = Normalization::new(features)?;
                Box::new(if invert { layer.inverted() } else { layer })
            }
            LayerSpec::Flatten => Box::new(Flatten),
            LayerSpec::MaxPool2d(config) => Box::new(super::MaxPool2d::from_config(config)?),
            LayerSpec::AvgPool2d {
                config,
                count_include_pad,
            } => Box::new(super::AvgPool2d::from_config(config, count_include_pad)?),
            LayerSpec::GlobalAvgPool2d => Box::new(super::GlobalAvgPool2d::new()),
            LayerSpec::BatchNorm2d {
                features,
                momentum,
                eps,
            } => Box::new(
                super::BatchNorm2d::new(features)?
                    .with_momentum(momentum)?
                    .with_eps(eps)?,
            ),
            LayerSpec::Conv2d(config) => {
                Box::new(config.build_with(crate::init::Init::Zeros, &mut RandomState::new(0))?)
            }
            LayerSpec::Custom { ref name, .. } => {
                return Err(crate::Error::config(
                    "layer kind",
                    format!("Custom {name:?}"),
                    "a built-in kind: a custom layer is rebuilt by Sequential::load_with with a \
                     LayerRegistry that registers it",
                ))
            }
        })
    }
}
