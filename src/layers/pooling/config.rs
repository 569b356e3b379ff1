//! [`PoolConfig`]: a pooling window's settings as plain data. Apart from `pooling.rs` so that
//! [`LayerSpec`](crate::layers::LayerSpec) can hold them without importing the layers.

use crate::layers::window::Window;
use crate::layers::Pair;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// A pooling window's settings, as PyTorch's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// `(height, width)` of the window.
    pub kernel: (usize, usize),
    /// `(rows, columns)` the window moves by.
    pub stride: (usize, usize),
    /// `(rows, columns)` added on each side: ignored by the maximum, zeros for the average.
    pub padding: (usize, usize),
    /// `(rows, columns)` between the window's taps (the maximum only; 1 for the average).
    pub dilation: (usize, usize),
}

impl PoolConfig {
    /// The window, checked as PyTorch checks it.
    pub(crate) fn window(&self, layer: &'static str) -> Result<Window> {
        let window = Window::new(
            layer,
            self.kernel,
            self.stride,
            self.dilation,
            self.padding,
            self.padding,
        )?;
        // PyTorch: "pad should be at most half of effective kernel size".
        let (eh, ew) = window.extent();
        if self.padding.0 > eh / 2 || self.padding.1 > ew / 2 {
            return Err(Error::config(
                layer,
                format!("padding {:?} with a window of {eh} x {ew}", self.padding),
                "a padding of at most half the window along each axis (as PyTorch)",
            ));
        }
        Ok(window)
    }

    /// A window of `kernel` that moves by its own size, no padding, no dilation (PyTorch's
    /// defaults).
    pub fn new(kernel: impl Pair) -> PoolConfig {
        let kernel = kernel.pair();
        PoolConfig {
            kernel,
            stride: kernel,
            padding: (0, 0),
            dilation: (1, 1),
        }
    }
}
