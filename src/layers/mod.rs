//! Layers: the [`Layer`] trait and the layers the crate ships.
//!
//! A layer maps a batch (one row per sample) forward and a gradient backward. The model owns the
//! activations and hands each layer its input, its output and the gradients to read or write,
//! so a layer only keeps what is its own: parameters, their gradients and private caches. That
//! makes a new layer a few dozen lines (see `examples/custom_layer/`) and the training step
//! allocation-free once warm.
//!
//! | layer | formula | parameters |
//! | --- | --- | --- |
//! | [`Dense`] | `Y = X.W + b` | `weight (in x out)`, `bias (1 x out)` |
//! | [`Identity`] | `Y = X` | none |
//! | [`Softmax`] | `Y_ij = exp(X_ij) / sum_k exp(X_ik)` | none |
//! | [`Relu`], [`LeakyRelu`], [`Elu`], [`Gelu`], [`GeluTanh`], [`Sigmoid`], [`Tanh`] | element-wise | none |
//! | [`Dropout`] | `Y = X * M / (1 - p)` in training, `Y = X` in evaluation | none |
//! | [`BatchNorm1d`] | `Y = (X - mean) / sqrt(var + eps) * gamma + beta`, per column | `weight`, `bias` `(1 x features)`; running mean and variance (buffers) |
//! | [`LayerNorm`] | `Y = (X - mean) / sqrt(var + eps) * gamma + beta`, per row | `weight`, `bias` `(1 x features)` |
//! | [`Normalization`] | `Y = (X - mean) / max(sqrt(var), 1e-7)`, per column, statistics from [`adapt`](Normalization::adapt) | none; `mean` and `variance` (buffers) |
//! | [`Conv2d`] | `Y[o] = b[o] + sum_c W[o][c] * X[c]` (cross-correlation), per image | `weight (out x (in / groups) kh kw)`, `bias (1 x out)` |
//! | [`MaxPool2d`], [`AvgPool2d`] | maximum, mean of each window of each channel | none |
//! | [`GlobalAvgPool2d`] | mean of each channel, a flat row | none |
//! | [`BatchNorm2d`] | [`BatchNorm1d`]'s formula per channel | `weight`, `bias` `(1 x channels)`; running mean and variance (buffers) |
//! | [`Flatten`] | `Y = X`, an image becomes a flat row | none |
//!
//! An image is a row of `channels x height x width` values in PyTorch's order; the model knows
//! each sample's [`Shape`] ([`Layer::build`],
//! [`Sequential::builder_image`](crate::Sequential::builder_image)).

mod activation;
mod affine;
mod batch_norm;
mod batch_norm2d;
mod conv2d;
mod dense;
mod dropout;
mod feature_statistics;
mod flatten;
mod from_spec;
mod identity;
mod inference;
mod layer;
mod layer_norm;
mod normalization;
mod pooling;
pub mod registry;
mod shape;
mod softmax;
mod spec;
mod window;

pub(crate) use activation::sigmoid;
pub use activation::{Elu, Gelu, GeluTanh, LeakyRelu, Relu, Sigmoid, Tanh};
pub use batch_norm::BatchNorm1d;
pub use batch_norm2d::BatchNorm2d;
pub use conv2d::{Conv2d, Conv2dConfig, Padding};
pub(crate) use dense::kernels::Isa;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use identity::Identity;
pub use inference::Inference;
pub(crate) use layer::{expect_dim, expect_width, fixed_input_width, flat_input};
pub use layer::{FusedStep, Layer, OutputKind, Parameter};
pub use layer_norm::LayerNorm;
pub use normalization::Normalization;
pub use pooling::{AvgPool2d, GlobalAvgPool2d, MaxPool2d, PoolConfig};
pub use registry::LayerRegistry;
pub use shape::{Pair, Shape};
pub(crate) use softmax::softmax_row;
pub use softmax::Softmax;
pub use spec::LayerSpec;
