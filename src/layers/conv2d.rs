//! [`Conv2d`]: a 2-D convolution over images, as PyTorch's `nn.Conv2d`.
//!
//! For output channel `o` of group `g = o / (out / groups)` at position `(y, x)`:
//! `Y[o][y][x] = b[o] + sum_{c, ky, kx} W[o][c][ky][kx] X[g C_g + c][y sh + ky dh - pt][x sw + kx dw - pl]`
//! with `C_g = in / groups` input channels per group and zeros in the padding (PyTorch's
//! definition, a cross-correlation). The weights are PyTorch's `(out, in / groups, kh, kw)`,
//! stored row-major as a `(out, (in / groups) kh kw)` matrix, so that `Conv2d.weight` carries
//! over from and to PyTorch as it is; the bias is `(1, out)`.
//!
//! # Shapes
//! - input: `(batch, C_in, H, W)` as rows of `C_in H W` values, channels first
//! - output: `(batch, C_out, H_out, W_out)`, with (PyTorch's `nn.Conv2d` documentation)
//!   `H_out = floor((H + pad_top + pad_bottom - dh (kh - 1) - 1) / sh) + 1` and `W_out` alike.
//!
//! The layer learns `H` and `W` when the model is built ([`Layer::build`], from
//! [`Sequential::builder_image`](crate::Sequential::builder_image)); its patches
//! (`conv2d/im2col.rs`) go through the matrix products of [`Dense`](super::Dense)
//! (`conv2d/products.rs`).
//!
//! ```
//! use feedforward::layers::{Conv2d, Padding, Shape};
//! use feedforward::prelude::*;
//!
//! let mut rng = RandomState::new(0);
//! // nn.Conv2d(1, 6, 5, padding=2), PyTorch's default initialisation
//! let mut conv = Conv2d::config(1, 6, 5).padding(2).build(&mut rng)?;
//! assert_eq!(conv.build(Shape::image(1, 28, 28)?)?, Shape::image(6, 28, 28)?);
//! assert_eq!(conv.weight().dim(), (6, 25)); // (6, 1, 5, 5) in PyTorch
//! // nn.Conv2d(16, 16, 3, padding='same', groups=16, bias=False): depthwise
//! let mut depthwise = Conv2d::config(16, 16, 3)
//!     .padding(Padding::Same)
//!     .groups(16)
//!     .bias(false)
//!     .build(&mut rng)?;
//! assert_eq!(depthwise.build(Shape::image(16, 7, 7)?)?, Shape::image(16, 7, 7)?);
//! assert_eq!(depthwise.parameters().len(), 1);
//! # Ok::<(), feedforward::Error>(())
//! ```

pub(super) mod config;
mod im2col;
mod products;

use super::window::{Geometry, Window};
use super::{Layer, LayerSpec, Pair, Parameter, Shape};
use crate::init::Init;
use crate::random::RandomState;
use crate::{Error, Result};
pub use config::{Conv2dConfig, Padding};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

impl Conv2dConfig {
    /// The layer, with PyTorch's default initialisation: weights and bias uniform in
    /// `[-1 / sqrt(fan_in), 1 / sqrt(fan_in)]` (`kaiming_uniform_(a=sqrt(5))` and the bias rule
    /// of `nn.Conv2d.reset_parameters`), drawn from `rng` (weights first, row-major in
    /// PyTorch's order, then the bias).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero channel count, kernel, stride, dilation or groups,
    /// groups that do not divide the channels, [`Padding::Same`] with a stride other than 1;
    /// [`Error::TooLarge`] when the weights cannot be allocated.
    pub fn build(&self, rng: &mut RandomState) -> Result<Conv2d> {
        self.check()?;
        let bound = 1.0 / (self.fan_in() as f64).sqrt();
        let mut draw = |rows: usize, cols: usize, what: &str| -> Result<Array2<f32>> {
            let mut values = crate::allocation::filled(what, rows, cols, 0.0f32)?;
            values
                .iter_mut()
                .for_each(|v| *v = rng.uniform(-bound, bound) as f32);
            Ok(values)
        };
        let weight = draw(self.out_channels, self.fan_in(), "Conv2d weights")?;
        let bias = if self.bias {
            draw(1, self.out_channels, "Conv2d bias")?
        } else {
            Array2::zeros((1, self.out_channels))
        };
        Conv2d::from_parts(*self, weight, bias)
    }

    /// The layer with weights drawn by `init` (Keras's way: `Init::XavierUniform` is its
    /// `glorot_uniform` default, `Init::HeNormal` for ReLU networks), with `fan_in =
    /// (in / groups) kh kw` and `fan_out = out kh kw` (PyTorch's and Keras's fans for a
    /// convolution), and a zero bias.
    ///
    /// # Errors
    /// As [`build`](Conv2dConfig::build), and `init`'s errors.
    pub fn build_with(&self, init: Init, rng: &mut RandomState) -> Result<Conv2d> {
        self.check()?;
        let fan_out = self.out_channels * self.kernel.0 * self.kernel.1;
        let weight = init.sample_with_fans(
            self.out_channels,
            self.fan_in(),
            self.fan_in(),
            fan_out,
            rng,
        )?;
        let bias = crate::allocation::filled("Conv2d bias", 1, self.out_channels, 0.0)?;
        Conv2d::from_parts(*self, weight, bias)
    }

    /// The layer with the given weights, `(out, (in / groups) kh kw)` (PyTorch's
    /// `(out, in / groups, kh, kw)` tensor, row-major), and bias `(1, out)` (ignored, and
    /// must be zeros, without a bias).
    ///
    /// # Errors
    /// As [`build`](Conv2dConfig::build); [`Error::ShapeMismatch`] for weights or a bias of
    /// another shape; [`Error::InvalidConfig`] for a NaN or infinite value, or a nonzero bias
    /// without a bias.
    pub fn with_parameters(&self, weight: Array2<f32>, bias: Array2<f32>) -> Result<Conv2d> {
        self.check()?;
        let expected = [
            (
                "Conv2d weight",
                weight.dim(),
                (self.out_channels, self.fan_in()),
            ),
            ("Conv2d bias", bias.dim(), (1, self.out_channels)),
        ];
        for (what, got, want) in expected {
            if got != want {
                return Err(Error::shape(what, format!("{want:?}"), format!("{got:?}")));
            }
        }
        for (what, values) in [("Conv2d weight", &weight), ("Conv2d bias", &bias)] {
            if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                return Err(Error::config(what, bad, "finite values"));
            }
        }
        if !self.bias && bias.iter().any(|&b| b != 0.0) {
            return Err(Error::config(
                "Conv2d bias",
                "nonzero values",
                "zeros for a convolution without a bias",
            ));
        }
        Conv2d::from_parts(
            *self,
            weight.as_standard_layout().into_owned(),
            bias.as_standard_layout().into_owned(),
        )
    }
}

/// A 2-D convolution (PyTorch's `nn.Conv2d`): weights `(out, (in / groups) kh kw)`, an optional
/// bias `(1, out)`. Made from a [`Conv2dConfig`] ([`Conv2d::config`]).
#[derive(Clone, Debug)]
pub struct Conv2d {
    config: Conv2dConfig,
    window: Window,
    weight: Array2<f32>,
    /// Zeros, never shown or updated, without a bias.
    bias: Array2<f32>,
    weight_grad: Array2<f32>,
    bias_grad: Array2<f32>,
    /// The shapes of the last [`Layer::build`].
    geometry: Option<Geometry>,
    work: products::Work,
    /// Row-major copies of operands given in another layout.
    staging: Staging,
}

#[derive(Clone, Debug, Default)]
struct Staging {
    input: Vec<f32>,
    grad_output: Vec<f32>,
    output: Vec<f32>,
}

impl Conv2d {
    /// The settings of a convolution from `in_channels` to `out_channels` with a `kernel` of
    /// one number or `(height, width)`, and PyTorch's defaults for the rest; change them, then
    /// [`build`](Conv2dConfig::build).
    pub fn config(in_channels: usize, out_channels: usize, kernel: impl Pair) -> Conv2dConfig {
        Conv2dConfig {
            in_channels,
            out_channels,
            kernel: kernel.pair(),
            stride: (1, 1),
            padding: Padding::default(),
            dilation: (1, 1),
            groups: 1,
            bias: true,
        }
    }

    fn from_parts(config: Conv2dConfig, weight: Array2<f32>, bias: Array2<f32>) -> Result<Conv2d> {
        let window = config.check()?;
        Ok(Conv2d {
            weight_grad: crate::allocation::filled(
                "Conv2d weights",
                weight.nrows(),
                weight.ncols(),
                0.0,
            )?,
            bias_grad: Array2::zeros(bias.raw_dim()),
            config,
            window,
            weight,
            bias,
            geometry: None,
            work: products::Work::default(),
            staging: Staging::default(),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &Conv2dConfig {
        &self.config
    }

    /// The weights, `(out, (in / groups) kh kw)`: PyTorch's `(out, in / groups, kh, kw)`.
    pub fn weight(&self) -> ArrayView2<'_, f32> {
        self.weight.view()
    }

    /// The bias, `(1, out)`, or `None` without one.
    pub fn bias(&self) -> Option<ArrayView2<'_, f32>> {
        self.config.bias.then(|| self.bias.view())
    }

    /// dLoss/dW from the last backward pass, shaped as [`weight`](Conv2d::weight).
    pub fn weight_grad(&self) -> ArrayView2<'_, f32> {
        self.weight_grad.view()
    }

    /// The shapes of the last build, or an error saying the layer has not been built.
    fn geometry(&self) -> Result<Geometry> {
        self.geometry.ok_or_else(|| {
            Error::shape(
                "Conv2d",
                "the input's height and width: put the layer in a model started with \
                 Sequential::builder_image, or call Layer::build with a Shape::image first",
                "a layer that was never built",
            )
        })
    }
}

impl Layer for Conv2d {
    fn name(&self) -> &str {
        "Conv2d"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        let geometry = self.geometry()?;
        super::fixed_input_width(
            "Conv2d",
            geometry.input_len(),
            input_width,
            geometry.output_len(),
        )
    }

    /// `(out, H_out, W_out)` for an image of `in` channels (see the module documentation).
    fn build(&mut self, input: Shape) -> Result<Shape> {
        let geometry = Geometry::build(
            "Conv2d",
            self.window,
            input,
            Some(self.config.in_channels),
            self.config.groups,
            self.config.out_channels,
        )?;
        // One sample's patch matrix must be allocatable (a block holds at least one).
        let patches = geometry.positions() as u128 * geometry.patch_len() as u128;
        if patches > (isize::MAX as u128) / 4 {
            return Err(crate::allocation::too_large("Conv2d patches", patches, 4));
        }
        self.geometry = Some(geometry);
        Ok(geometry.output_shape())
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let geometry = self.geometry()?;
        super::expect_width("Conv2d input", &input, geometry.input_len())?;
        super::expect_dim(
            "Conv2d output",
            (input.nrows(), geometry.output_len()),
            output.dim(),
        )?;
        let Conv2d {
            weight,
            bias,
            work,
            staging,
            ..
        } = self;
        let x = super::dense::row_major(&input, &mut staging.input);
        let (w, b) = (standard(weight), standard(bias));
        super::dense::write_row_major(&mut output, &mut staging.output, |y| {
            products::forward(&geometry, w, b, x, y, work)
        });
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        let geometry = self.geometry()?;
        super::expect_width("Conv2d input", &input, geometry.input_len())?;
        super::expect_dim(
            "Conv2d output gradient",
            (input.nrows(), geometry.output_len()),
            grad_output.dim(),
        )?;
        if let Some(grad_input) = &grad_input {
            super::expect_dim("Conv2d input gradient", input.dim(), grad_input.dim())?;
        }
        let has_bias = self.config.bias;
        let Conv2d {
            weight,
            weight_grad,
            bias_grad,
            work,
            staging,
            ..
        } = self;
        let x = super::dense::row_major(&input, &mut staging.input);
        let g = super::dense::row_major(&grad_output, &mut staging.grad_output);
        let (w, dw) = (standard(weight), standard_mut(weight_grad));
        let db = has_bias.then(|| standard_mut(bias_grad));
        match grad_input {
            Some(mut grad_input) => {
                super::dense::write_row_major(&mut grad_input, &mut staging.output, |dx| {
                    products::backward(&geometry, w, x, g, dw, db, Some(dx), work)
                })
            }
            None => products::backward(&geometry, w, x, g, dw, db, None, work),
        }
        Ok(())
    }

    fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        visit(Parameter {
            name: "weight",
            value: self.weight.view_mut(),
            grad: self.weight_grad.view_mut(),
        });
        if self.config.bias {
            visit(Parameter {
                name: "bias",
                value: self.bias.view_mut(),
                grad: self.bias_grad.view_mut(),
            });
        }
    }

    fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        let mut parameters = vec![("weight", self.weight.view())];
        if self.config.bias {
            parameters.push(("bias", self.bias.view()));
        }
        parameters
    }

    /// `out_channels H_out W_out (in / groups) kh kw` once built, the weights' count before.
    fn multiply_adds(&self) -> usize {
        match self.geometry {
            Some(geometry) => geometry.positions().saturating_mul(self.weight.len()),
            None => self.weight.len(),
        }
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Conv2d(self.config))
    }
}

/// The elements of a matrix the layer keeps in standard layout.
fn standard(a: &Array2<f32>) -> &[f32] {
    a.as_slice()
        .expect("Conv2d keeps its matrices in standard layout")
}

/// As [`standard`], writable.
fn standard_mut(a: &mut Array2<f32>) -> &mut [f32] {
    a.as_slice_mut()
        .expect("Conv2d keeps its matrices in standard layout")
}
