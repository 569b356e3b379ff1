//! Custom layers in checkpoints: a [`LayerRegistry`] says how to rebuild each layer kind
//! written outside the crate, so that [`Sequential::load_with`](crate::Sequential::load_with) rebuilds the whole model from
//! the file alone (Keras's `custom_objects` with `get_config` / `from_config`).
//!
//! A layer of yours takes part in three steps:
//! 1. its [`Layer::spec`] returns [`LayerSpec::Custom`] with a name for its kind and its
//!    settings as JSON (`LayerSpec::custom("Swish", json!({"beta": 1.0}))`), so that
//!    [`save`](crate::Sequential::save) records it in the file's architecture;
//! 2. its parameters and buffers are saved as any layer's (`N.{name}`, in their own shapes);
//! 3. the program that loads the file registers a function that builds a fresh layer of that
//!    kind from those settings, and calls [`Sequential::load_with`](crate::Sequential::load_with); the parameters and buffers
//!    are then read into it.
//!
//! ```
//! use feedforward::layers::{LayerSpec, Parameter};
//! use feedforward::model::LayerRegistry;
//! use feedforward::prelude::*;
//! use feedforward::serde_json::json;
//! use feedforward::ndarray::{ArrayView2, ArrayViewMut2};
//!
//! /// y = scale * x, with a fixed scale.
//! struct Scale(f32);
//!
//! impl Layer for Scale {
//!     fn name(&self) -> &str { "Scale" }
//!     fn output_width(&self, width: usize) -> feedforward::Result<usize> { Ok(width) }
//!     fn forward(&mut self, x: ArrayView2<f32>, mut y: ArrayViewMut2<f32>) -> feedforward::Result<()> {
//!         y.zip_mut_with(&x, |y, &x| *y = self.0 * x);
//!         Ok(())
//!     }
//!     fn backward(&mut self, _: ArrayView2<f32>, _: ArrayView2<f32>, g: ArrayView2<f32>,
//!                 gi: Option<ArrayViewMut2<f32>>) -> feedforward::Result<()> {
//!         if let Some(mut gi) = gi { gi.zip_mut_with(&g, |gi, &g| *gi = self.0 * g); }
//!         Ok(())
//!     }
//!     fn spec(&self) -> Option<LayerSpec> {
//!         Some(LayerSpec::custom("Scale", json!({ "scale": self.0 })))
//!     }
//! }
//!
//! let mut rng = RandomState::new(0);
//! let mut model = Sequential::builder(3)
//!     .push(Dense::new(3, 2, Init::HeNormal, &mut rng)?)
//!     .push(Scale(0.5))
//!     .build()?;
//! let dir = std::env::temp_dir().join(format!("feedforward-doc-registry-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("model.safetensors");
//! model.save(&path)?;
//!
//! let registry = LayerRegistry::new().register("Scale", |config| {
//!     let scale = config["scale"].as_f64().ok_or_else(|| {
//!         feedforward::Error::config("Scale config", config, "{\"scale\": a number}")
//!     })?;
//!     Ok(Scale(scale as f32))
//! });
//! let mut loaded = Sequential::load_with(&path, &registry)?;
//! let x = rng.rand(4, 3)?;
//! assert_eq!(loaded.predict(x.view())?, model.predict(x.view())?);
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::{Layer, LayerSpec};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;

/// Builds a layer of a registered kind from its settings.
type Builder = dyn Fn(&serde_json::Value) -> Result<Box<dyn Layer>> + Send + Sync;

/// How to rebuild layer kinds written outside the crate, by the name their
/// [`LayerSpec::Custom`] gives; built-in kinds need no registration.
#[derive(Default)]
pub struct LayerRegistry {
    builders: BTreeMap<String, Box<Builder>>,
}

impl fmt::Debug for LayerRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.builders.keys()).finish()
    }
}

impl LayerRegistry {
    /// A registry that knows the built-in layers only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers how to build a layer of kind `name` from the settings its spec recorded
    /// (`config` of [`LayerSpec::Custom`]). The layer is built fresh; the checkpoint's
    /// parameters and buffers are then read into it. A second registration of a name replaces
    /// the first.
    pub fn register<L, F>(mut self, name: impl Into<String>, build: F) -> Self
    where
        L: Layer + 'static,
        F: Fn(&serde_json::Value) -> Result<L> + Send + Sync + 'static,
    {
        self.builders.insert(
            name.into(),
            Box::new(move |config| Ok(Box::new(build(config)?) as Box<dyn Layer>)),
        );
        self
    }

    /// Whether a layer kind is registered under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.builders.contains_key(name)
    }

    /// A fresh layer for `spec`: built-in kinds as [`LayerSpec::build`] builds them, custom
    /// ones by their registered function.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a custom kind that is not registered (naming the kinds
    /// that are), and whatever the building function returns.
    pub fn build(&self, spec: &LayerSpec) -> Result<Box<dyn Layer>> {
        let LayerSpec::Custom { name, config } = spec else {
            return spec.build();
        };
        let build = self.builders.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.builders.keys().map(String::as_str).collect();
            Error::config(
                "custom layer kind",
                format!("{name:?}"),
                format!(
                    "a kind registered with LayerRegistry::register (registered: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            )
        })?;
        build(config)
    }
}
