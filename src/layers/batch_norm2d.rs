//! [`BatchNorm2d`]: batch normalisation per channel of an image, as PyTorch's
//! `nn.BatchNorm2d(channels)` (eps `1e-5`, momentum `0.1`, affine, tracking running
//! statistics).
//!
//! `Y[n][c][y][x] = (X[n][c][y][x] - mean_c) / sqrt(var_c + eps) * gamma_c + beta_c`, where in
//! training mode `mean_c` and `var_c` (biased) are taken over the batch and the plane, the
//! `N H W` values of channel `c`, and the running statistics are updated with the unbiased
//! variance (`var N H W / (N H W - 1)`); in evaluation mode the running statistics are used.
//! It is [`BatchNorm1d`]'s computation with each feature spanning a channel's plane (the same
//! code: PyTorch's `BatchNorm1d` on `(N, C, L)` inputs), so the formulas, the gradients and the
//! all-or-nothing running statistics are those documented there.
//!
//! # Shapes
//! - input: `(batch, C, H, W)` as rows of `C H W` values, channels first
//! - output: the input's shape
//! - `weight` (gamma), `bias` (beta), buffers `running_mean`, `running_var`: `(1, C)`
//!
//! ```
//! use feedforward::layers::{BatchNorm2d, Shape};
//! use feedforward::ndarray::{array, Array2};
//! use feedforward::prelude::*;
//!
//! let mut bn = BatchNorm2d::new(2)?;
//! assert_eq!(bn.build(Shape::image(2, 1, 2)?)?, Shape::image(2, 1, 2)?);
//! // One sample: channel 0 holds 1 and 3 (mean 2, variance 1), channel 1 holds 5 and 5.
//! let mut y = Array2::zeros((1, 4));
//! bn.forward(array![[1.0f32, 3.0, 5.0, 5.0]].view(), y.view_mut())?;
//! assert!((y[[0, 0]] + 1.0).abs() < 1e-4 && (y[[0, 1]] - 1.0).abs() < 1e-4);
//! assert_eq!(y[[0, 2]], 0.0);
//! // running mean 0.1 * (2, 5); running variance 0.9 + 0.1 * (2, 0) (unbiased, 2 values)
//! assert_eq!(bn.running_mean(), array![[0.2f32, 0.5]]);
//! assert_eq!(bn.running_var(), array![[1.1f32, 0.9]]);
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::{BatchNorm1d, Layer, LayerSpec, Parameter, Shape};
use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2};

/// Per-channel batch normalisation of images with learnable `weight` (gamma) and `bias`
/// (beta), both `(1, channels)`, and running statistics for evaluation.
#[derive(Clone, Debug)]
pub struct BatchNorm2d {
    /// The computation, each feature spanning a channel's plane once built.
    inner: BatchNorm1d,
    built: bool,
}

impl BatchNorm2d {
    /// Batch normalisation over `channels` channels: gamma 1, beta 0, running mean 0, running
    /// variance 1, momentum 0.1, eps `1e-5`, in training mode (PyTorch's defaults).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `channels` is zero.
    pub fn new(channels: usize) -> Result<Self> {
        if channels == 0 {
            return Err(Error::config(
                "BatchNorm2d channels",
                channels,
                "at least 1: the channels of the layer's input",
            ));
        }
        let mut inner = BatchNorm1d::new(channels)?;
        inner.set_spatial(1, "BatchNorm2d");
        Ok(BatchNorm2d {
            inner,
            built: false,
        })
    }

    /// Sets the weight of the newest batch in the running statistics (PyTorch's `momentum`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] outside `[0, 1]`.
    pub fn with_momentum(self, momentum: f32) -> Result<Self> {
        Ok(BatchNorm2d {
            inner: self.inner.with_momentum(momentum)?,
            ..self
        })
    }

    /// Sets the constant added to the variance before its square root.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless finite and positive.
    pub fn with_eps(self, eps: f32) -> Result<Self> {
        Ok(BatchNorm2d {
            inner: self.inner.with_eps(eps)?,
            ..self
        })
    }

    /// Number of channels normalised.
    pub fn num_features(&self) -> usize {
        self.inner.num_features()
    }

    /// Gamma, `(1, channels)`.
    pub fn weight(&self) -> ArrayView2<'_, f32> {
        self.inner.weight()
    }

    /// Beta, `(1, channels)`.
    pub fn bias(&self) -> ArrayView2<'_, f32> {
        self.inner.bias()
    }

    /// The running mean, `(1, channels)` (a buffer).
    pub fn running_mean(&self) -> ArrayView2<'_, f32> {
        self.inner.running_mean()
    }

    /// The running (unbiased) variance, `(1, channels)` (a buffer).
    pub fn running_var(&self) -> ArrayView2<'_, f32> {
        self.inner.running_var()
    }

    /// Restores running statistics, as [`BatchNorm1d::set_running_stats`].
    ///
    /// # Errors
    /// As [`BatchNorm1d::set_running_stats`].
    pub fn set_running_stats(
        &mut self,
        mean: ArrayView2<'_, f32>,
        var: ArrayView2<'_, f32>,
    ) -> Result<()> {
        self.inner.set_running_stats(mean, var)
    }

    /// The momentum and eps, for the spec.
    fn settings(&self) -> (f32, f32) {
        match self.inner.spec() {
            Some(LayerSpec::BatchNorm1d { momentum, eps, .. }) => (momentum, eps),
            _ => unreachable!("BatchNorm1d's spec is BatchNorm1d"),
        }
    }
}

impl Layer for BatchNorm2d {
    fn name(&self) -> &str {
        "BatchNorm2d"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        if !self.built {
            return Err(Error::shape(
                "BatchNorm2d",
                "the input's height and width: put the layer in a model started with \
                 Sequential::builder_image, or call Layer::build with a Shape::image first",
                "a layer that was never built",
            ));
        }
        self.inner.output_width(input_width)
    }

    /// The input's shape, for an image of `channels` channels.
    fn build(&mut self, input: Shape) -> Result<Shape> {
        match input.chw() {
            Some((c, h, w)) if c == self.num_features() => {
                self.inner.set_spatial(h * w, "BatchNorm2d");
                self.built = true;
                Ok(input)
            }
            _ => Err(Error::shape(
                "BatchNorm2d",
                format!(
                    "an image of {} channels (use BatchNorm1d for flat rows)",
                    self.num_features()
                ),
                format!("{input}"),
            )),
        }
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        self.output_width(input.ncols())?;
        self.inner.forward(input, output)
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        self.output_width(input.ncols())?;
        self.inner.backward(input, output, grad_output, grad_input)
    }

    fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        self.inner.visit_parameters_mut(visit)
    }

    fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        self.inner.parameters()
    }

    fn set_training(&mut self, training: bool) {
        self.inner.set_training(training)
    }

    fn spec(&self) -> Option<LayerSpec> {
        let (momentum, eps) = self.settings();
        Some(LayerSpec::BatchNorm2d {
            features: self.num_features(),
            momentum,
            eps,
        })
    }

    fn min_training_rows(&self) -> usize {
        self.inner.min_training_rows()
    }

    fn buffers_are_finite(&self) -> bool {
        self.inner.buffers_are_finite()
    }

    fn end_step(&mut self, commit: bool) {
        self.inner.end_step(commit)
    }

    fn buffers(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        self.inner.buffers()
    }

    fn set_buffer(&mut self, name: &str, value: ArrayView2<'_, f32>) -> Result<()> {
        self.inner.set_buffer(name, value)
    }
}
