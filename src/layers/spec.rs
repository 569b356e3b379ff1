//! [`LayerSpec`]: a built-in layer's kind and settings, as plain data.
//!
//! A checkpoint records a model's architecture as the list of its layers' specs (JSON, through
//! serde), so that [`Sequential::load`](crate::Sequential::load) rebuilds the model without the
//! user restating it. Each built-in layer reports its spec through [`Layer::spec`]; a layer
//! written outside the crate has none (its weights still travel with
//! [`save_weights`](crate::Sequential::save_weights) and
//! [`load_weights`](crate::Sequential::load_weights)).
//!
//! A spec holds settings, not learned values: [`build`](LayerSpec::build) (in
//! `from_spec.rs`, which depends on every layer while the layers depend only on this file) makes a fresh layer
//! (zero weights for [`Dense`], PyTorch's initial values for the normalisations) that a
//! checkpoint then fills. A [`Dropout`]'s spec keeps the seed it was created with: a rebuilt
//! layer draws its masks from the start of that stream again.
//!
//! ```
//! use feedforward::layers::LayerSpec;
//! use feedforward::prelude::*;
//!
//! let layer = LeakyRelu::new(0.2)?;
//! let spec = layer.spec().unwrap();
//! assert_eq!(spec, LayerSpec::LeakyRelu { slope: 0.2 });
//! assert_eq!(spec.build()?.name(), "LeakyRelu");
//! # Ok::<(), feedforward::Error>(())
//! ```

#[cfg(doc)]
use super::{
    BatchNorm1d, Dense, Dropout, Elu, Gelu, GeluTanh, Identity, Layer, LayerNorm, LeakyRelu,
    Normalization, Relu, Sigmoid, Softmax, Tanh,
};
use serde::{Deserialize, Serialize};

/// The kind of a built-in layer and its settings: everything needed to build it again.
///
/// Serialised (JSON) with the kind in a `"kind"` field and the settings beside it, e.g.
/// `{"kind":"Dense","inputs":784,"outputs":10}` or `{"kind":"Relu"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
#[non_exhaustive]
pub enum LayerSpec {
    /// [`Dense`] from `inputs` to `outputs` features.
    Dense {
        /// Input features.
        inputs: usize,
        /// Output features.
        outputs: usize,
    },
    /// [`Identity`].
    Identity,
    /// [`Softmax`].
    Softmax,
    /// [`Relu`].
    Relu,
    /// [`Sigmoid`].
    Sigmoid,
    /// [`Tanh`].
    Tanh,
    /// [`LeakyRelu`] with its negative slope.
    LeakyRelu {
        /// The slope of the negative side.
        slope: f32,
    },
    /// [`Elu`] with its `alpha`.
    Elu {
        /// The value the negative side saturates at, negated.
        alpha: f32,
    },
    /// [`Gelu`] (exact form).
    Gelu,
    /// [`GeluTanh`] (tanh approximation).
    GeluTanh,
    /// [`Dropout`] with its drop probability and the seed of its masks.
    Dropout {
        /// Probability of zeroing an element in training mode.
        p: f32,
        /// Seed of the layer's mask stream.
        seed: u32,
    },
    /// [`BatchNorm1d`] over `features` columns.
    BatchNorm1d {
        /// Features normalised.
        features: usize,
        /// Weight of the newest batch in the running statistics.
        momentum: f32,
        /// Constant added to the variance.
        eps: f32,
    },
    /// [`LayerNorm`] over `features` columns.
    LayerNorm {
        /// Features normalised together.
        features: usize,
        /// Constant added to the variance.
        eps: f32,
    },
    /// [`Normalization`] over `features` columns (its mean and variance are buffers, in the
    /// checkpoint's tensors).
    Normalization {
        /// Features normalised.
        features: usize,
        /// Whether it undoes the standardisation (Keras's `invert=True`).
        invert: bool,
    },
    /// [`Flatten`](super::Flatten).
    Flatten,
    /// [`Conv2d`](super::Conv2d) with its settings.
    Conv2d(super::conv2d::config::Conv2dConfig),
    /// [`MaxPool2d`](super::MaxPool2d) with its window.
    MaxPool2d(super::pooling::config::PoolConfig),
    /// [`AvgPool2d`](super::AvgPool2d) with its window.
    AvgPool2d {
        /// The window.
        config: super::pooling::config::PoolConfig,
        /// Whether padded zeros count in the divisor.
        count_include_pad: bool,
    },
    /// [`GlobalAvgPool2d`](super::GlobalAvgPool2d).
    GlobalAvgPool2d,
    /// [`BatchNorm2d`](super::BatchNorm2d) over `features` channels.
    BatchNorm2d {
        /// Channels normalised.
        features: usize,
        /// Weight of the newest batch in the running statistics.
        momentum: f32,
        /// Constant added to the variance.
        eps: f32,
    },
    /// A layer written outside the crate: the name its kind is registered under in a
    /// [`LayerRegistry`](crate::model::LayerRegistry) and its settings, as its
    /// [`Layer::spec`] gives them; [`Sequential::load_with`](crate::Sequential::load_with)
    /// rebuilds it (see [`layers::registry`](crate::layers::registry)).
    Custom {
        /// The layer kind's registered name (`"Swish"`).
        name: String,
        /// The layer's settings (`{"beta": 1.0}`), anything JSON holds.
        #[serde(default)]
        config: serde_json::Value,
    },
}

impl LayerSpec {
    /// The spec of a layer written outside the crate: its kind's registered `name` and its
    /// settings (`serde_json::json!({"beta": 1.0})`, or `Value::Null` for none).
    pub fn custom(name: impl Into<String>, config: serde_json::Value) -> LayerSpec {
        LayerSpec::Custom {
            name: name.into(),
            config,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::RandomState;

    fn every_kind() -> Vec<LayerSpec> {
        vec![
            LayerSpec::Dense {
                inputs: 3,
                outputs: 2,
            },
            LayerSpec::Identity,
            LayerSpec::Softmax,
            LayerSpec::Relu,
            LayerSpec::Sigmoid,
            LayerSpec::Tanh,
            LayerSpec::LeakyRelu { slope: 0.2 },
            LayerSpec::Elu { alpha: 0.7 },
            LayerSpec::Gelu,
            LayerSpec::GeluTanh,
            LayerSpec::Dropout { p: 0.3, seed: 9 },
            LayerSpec::BatchNorm1d {
                features: 4,
                momentum: 0.05,
                eps: 1e-3,
            },
            LayerSpec::LayerNorm {
                features: 5,
                eps: 1e-6,
            },
            LayerSpec::Normalization {
                features: 3,
                invert: false,
            },
            LayerSpec::Normalization {
                features: 2,
                invert: true,
            },
            LayerSpec::Flatten,
            LayerSpec::Conv2d(
                super::super::Conv2d::config(4, 6, (3, 2))
                    .stride(2)
                    .padding((1, 0))
                    .dilation((1, 2))
                    .groups(2)
                    .bias(false),
            ),
            LayerSpec::Conv2d(
                super::super::Conv2d::config(3, 3, 5).padding(super::super::Padding::Same),
            ),
            LayerSpec::MaxPool2d(super::super::PoolConfig {
                kernel: (3, 2),
                stride: (2, 1),
                padding: (1, 0),
                dilation: (1, 2),
            }),
            LayerSpec::AvgPool2d {
                config: super::super::PoolConfig {
                    kernel: (2, 2),
                    stride: (1, 1),
                    padding: (1, 1),
                    dilation: (1, 1),
                },
                count_include_pad: false,
            },
            LayerSpec::GlobalAvgPool2d,
            LayerSpec::BatchNorm2d {
                features: 3,
                momentum: 0.2,
                eps: 1e-4,
            },
        ]
    }

    #[test]
    fn every_kind_builds_a_layer_with_the_same_spec() {
        for spec in every_kind() {
            let layer = spec.build().unwrap();
            assert_eq!(layer.spec().as_ref(), Some(&spec), "{}", layer.name());
        }
    }

    #[test]
    fn json_is_readable_and_round_trips() {
        let specs = every_kind();
        let json = serde_json::to_string(&specs).unwrap();
        assert!(json.starts_with(r#"[{"kind":"Dense","inputs":3,"outputs":2},{"kind":"Identity"}"#));
        let back: Vec<LayerSpec> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, specs);
    }

    #[test]
    fn any_f32_setting_round_trips_exactly_through_json() {
        let mut rng = RandomState::new(5);
        for _ in 0..10_000 {
            let slope = f32::from_bits(rng.next_u32());
            if !slope.is_finite() {
                continue;
            }
            let spec = LayerSpec::LeakyRelu { slope };
            let back: LayerSpec =
                serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
            let LayerSpec::LeakyRelu { slope: read } = back else {
                panic!("{back:?}")
            };
            assert_eq!(read.to_bits(), slope.to_bits());
        }
    }

    #[test]
    fn bad_settings_are_errors_not_panics() {
        for spec in [
            LayerSpec::Dense {
                inputs: 0,
                outputs: 2,
            },
            LayerSpec::Dropout { p: 1.0, seed: 0 },
            LayerSpec::BatchNorm1d {
                features: 2,
                momentum: 2.0,
                eps: 1e-5,
            },
            LayerSpec::LayerNorm {
                features: 0,
                eps: 1e-5,
            },
            LayerSpec::LeakyRelu { slope: f32::NAN },
        ] {
            assert!(spec.build().is_err(), "{spec:?}");
        }
        let unknown = r#"{"kind":"Dense","inputs":3,"outputs":2,"extra":1}"#;
        assert!(serde_json::from_str::<LayerSpec>(unknown).is_err());
        assert!(serde_json::from_str::<LayerSpec>(r#"{"kind":"Conv3d"}"#).is_err());
        let custom = LayerSpec::custom("Swish", serde_json::json!({"beta": 1.5}));
        let err = custom.build().err().unwrap().to_string();
        assert!(err.contains("LayerRegistry"), "{err}");
    }

    #[test]
    fn custom_specs_are_json_with_their_settings() {
        let spec = LayerSpec::custom("Swish", serde_json::json!({"beta": 1.5}));
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"Custom","name":"Swish","config":{"beta":1.5}}"#
        );
        assert_eq!(serde_json::from_str::<LayerSpec>(&json).unwrap(), spec);
        let bare: LayerSpec = serde_json::from_str(r#"{"kind":"Custom","name":"Mine"}"#).unwrap();
        assert_eq!(bare, LayerSpec::custom("Mine", serde_json::Value::Null));
    }
}
