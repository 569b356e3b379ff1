//! [`Conv2dConfig`] and [`Padding`]: a convolution's settings as plain data, checked into the
//! layer's window. Apart from `conv2d.rs` so that [`LayerSpec`](crate::layers::LayerSpec)
//! can hold them without importing the layer.

use crate::layers::window::Window;
use crate::layers::Pair;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The zeros around a convolution's input, as PyTorch's `padding` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Padding {
    /// `(rows, columns)` of zeros on each side: rows above and below, columns left and right
    /// (`padding=(ph, pw)`; `Explicit(0, 0)` is PyTorch's and Keras's `'valid'`).
    Explicit(usize, usize),
    /// PyTorch's `padding='same'` (and Keras's for a stride of 1): the output has the input's
    /// height and width. Along each axis `dilation (kernel - 1)` zeros in total, half of them
    /// (rounded down) before, the rest after. Needs a stride of 1, as in PyTorch.
    Same,
}

impl Default for Padding {
    fn default() -> Self {
        Padding::Explicit(0, 0)
    }
}

impl From<usize> for Padding {
    fn from(padding: usize) -> Self {
        Padding::Explicit(padding, padding)
    }
}

impl From<(usize, usize)> for Padding {
    fn from((rows, columns): (usize, usize)) -> Self {
        Padding::Explicit(rows, columns)
    }
}

/// A [`Conv2d`](crate::layers::Conv2d)'s settings, with PyTorch's defaults: stride 1, no padding, dilation 1, one
/// group, a bias. Made by [`Conv2d::config`](crate::layers::Conv2d::config); [`build`](Conv2dConfig::build) checks them and
/// draws the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2dConfig {
    /// Channels of the input.
    pub in_channels: usize,
    /// Channels of the output (filters).
    pub out_channels: usize,
    /// `(height, width)` of the kernel.
    pub kernel: (usize, usize),
    /// `(rows, columns)` the window moves by.
    pub stride: (usize, usize),
    /// Zeros around the input.
    pub padding: Padding,
    /// `(rows, columns)` between the kernel's taps (1: adjacent).
    pub dilation: (usize, usize),
    /// Input and output channels split into this many groups, each convolved apart
    /// (`groups = in_channels`: depthwise).
    pub groups: usize,
    /// Whether the layer adds a learned bias.
    pub bias: bool,
}

impl Conv2dConfig {
    /// Sets the stride, one number for both axes or `(rows, columns)`.
    pub fn stride(mut self, stride: impl Pair) -> Self {
        self.stride = stride.pair();
        self
    }

    /// Sets the padding: a number for both axes, `(rows, columns)` or [`Padding::Same`].
    pub fn padding(mut self, padding: impl Into<Padding>) -> Self {
        self.padding = padding.into();
        self
    }

    /// Sets the dilation, one number for both axes or `(rows, columns)`.
    pub fn dilation(mut self, dilation: impl Pair) -> Self {
        self.dilation = dilation.pair();
        self
    }

    /// Sets the number of groups (PyTorch's `groups`).
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// With or without a bias (PyTorch's `bias=False`).
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// Inputs of one output value, `(in / groups) kh kw`: the weights' `fan_in`.
    pub fn fan_in(&self) -> usize {
        self.in_channels / self.groups.max(1) * self.kernel.0 * self.kernel.1
    }

    /// The zeros added around the input, `((top, left), (bottom, right))`: the explicit padding
    /// on both sides, or for [`Padding::Same`] `dilation (kernel - 1)` zeros along each axis,
    /// half of them (rounded down) before and the rest after, as PyTorch's `padding='same'`
    /// (and ONNX's `pads` `[top, left, bottom, right]` once reordered).
    ///
    /// ```
    /// use feedforward::layers::{Conv2d, Padding};
    /// let same = Conv2d::config(1, 1, (3, 4)).padding(Padding::Same);
    /// assert_eq!(same.pads(), ((1, 1), (1, 2)));
    /// assert_eq!(Conv2d::config(1, 1, 3).padding((2, 0)).pads(), ((2, 0), (2, 0)));
    /// ```
    pub fn pads(&self) -> ((usize, usize), (usize, usize)) {
        match self.padding {
            Padding::Explicit(rows, columns) => ((rows, columns), (rows, columns)),
            Padding::Same => {
                let total = |k: usize, d: usize| (k.saturating_sub(1)).saturating_mul(d);
                let (th, tw) = (
                    total(self.kernel.0, self.dilation.0),
                    total(self.kernel.1, self.dilation.1),
                );
                ((th / 2, tw / 2), (th - th / 2, tw - tw / 2))
            }
        }
    }

    /// Checks the settings and returns the layer's window.
    pub(crate) fn check(&self) -> Result<Window> {
        let Conv2dConfig {
            in_channels,
            out_channels,
            groups,
            ..
        } = *self;
        if in_channels == 0 || out_channels == 0 {
            return Err(Error::config(
                "Conv2d channels",
                format!("{in_channels} -> {out_channels}"),
                "at least 1 input and 1 output channel",
            ));
        }
        if groups == 0 || in_channels % groups != 0 || out_channels % groups != 0 {
            return Err(Error::config(
                "Conv2d groups",
                format!("{groups} for {in_channels} -> {out_channels} channels"),
                "a number of groups of at least 1 that divides both the input and the output \
                 channels",
            ));
        }
        if self.padding == Padding::Same && self.stride != (1, 1) {
            return Err(Error::config(
                "Conv2d padding",
                format!("Same with stride {:?}", self.stride),
                "a stride of 1 with Padding::Same (as PyTorch's padding='same'); give \
                 the padding in numbers for a strided convolution",
            ));
        }
        let (pad_before, pad_after) = self.pads();
        let window = Window::new(
            "Conv2d",
            self.kernel,
            self.stride,
            self.dilation,
            pad_before,
            pad_after,
        )?;
        // The weights must be countable and allocatable.
        let len = out_channels
            .checked_mul(self.fan_in())
            .filter(|&n| n <= isize::MAX as usize / 4);
        if len.is_none() {
            return Err(crate::allocation::too_large(
                "Conv2d weights",
                out_channels as u128
                    * (in_channels / groups) as u128
                    * self.kernel.0 as u128
                    * self.kernel.1 as u128,
                4,
            ));
        }
        Ok(window)
    }
}
