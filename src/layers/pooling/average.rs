//! [`AvgPool2d`]: the mean of each window of each channel, as PyTorch's `nn.AvgPool2d`, with
//! its `count_include_pad` (see the [module documentation](super) for the window and the
//! shapes).

use super::{checked, per_sample, pooled_width, pooling_geometry, PoolConfig};
use crate::layers::window::{Geometry, Window};
use crate::layers::{Layer, LayerSpec, Pair, Shape};
use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2};

/// Visits each window of a channel: `visit(output position, places in the window, divisor)`,
/// the places in the padding left out; the divisor is the kernel's size with
/// `count_include_pad` (PyTorch's default), else the places' count.
fn windows(
    geometry: &Geometry,
    count_include_pad: bool,
    mut visit: impl FnMut(usize, &mut dyn Iterator<Item = usize>, f32),
) {
    let Window {
        kernel: (kh, kw),
        stride: (sh, sw),
        pad_before: (ph, pw),
        ..
    } = geometry.window;
    let (h, w) = (geometry.height, geometry.width);
    for oy in 0..geometry.out_height {
        // The window's rows and columns inside the input.
        let rows = (oy * sh).saturating_sub(ph)..(oy * sh + kh).saturating_sub(ph).min(h);
        for ox in 0..geometry.out_width {
            let cols = (ox * sw).saturating_sub(pw)..(ox * sw + kw).saturating_sub(pw).min(w);
            let divisor = if count_include_pad {
                (kh * kw) as f32
            } else {
                (rows.len() * cols.len()) as f32
            };
            let mut places = rows
                .clone()
                .flat_map(|iy| cols.clone().map(move |ix| iy * w + ix));
            visit(oy * geometry.out_width + ox, &mut places, divisor);
        }
    }
}

/// The mean of each window of each channel (PyTorch's `nn.AvgPool2d`).
#[derive(Clone, Debug)]
pub struct AvgPool2d {
    config: PoolConfig,
    count_include_pad: bool,
    window: Window,
    geometry: Option<Geometry>,
}

impl AvgPool2d {
    /// A window of `kernel` (one number or `(height, width)`) that moves by its own size, no
    /// padding: `nn.AvgPool2d(kernel)`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero kernel.
    pub fn new(kernel: impl Pair) -> Result<Self> {
        Self::from_config(PoolConfig::new(kernel), true)
    }

    /// The pooling with these settings; `count_include_pad` as PyTorch's (whether padded zeros
    /// count in the mean's divisor; `true` in PyTorch and in [`new`](AvgPool2d::new)).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero kernel or stride, a dilation other than 1 (PyTorch's
    /// average pooling has none) or a padding of more than half the window (PyTorch's rule).
    pub fn from_config(config: PoolConfig, count_include_pad: bool) -> Result<Self> {
        if config.dilation != (1, 1) {
            return Err(Error::config(
                "AvgPool2d dilation",
                format!("{:?}", config.dilation),
                "(1, 1): average pooling has no dilation",
            ));
        }
        Ok(AvgPool2d {
            window: config.window("AvgPool2d")?,
            config,
            count_include_pad,
            geometry: None,
        })
    }

    /// Sets the stride (PyTorch's `stride`; the kernel by default).
    ///
    /// # Errors
    /// As [`from_config`](AvgPool2d::from_config).
    pub fn stride(self, stride: impl Pair) -> Result<Self> {
        let config = PoolConfig {
            stride: stride.pair(),
            ..self.config
        };
        Self::from_config(config, self.count_include_pad)
    }

    /// Sets the zeros added on each side (PyTorch's `padding`).
    ///
    /// # Errors
    /// As [`from_config`](AvgPool2d::from_config).
    pub fn padding(self, padding: impl Pair) -> Result<Self> {
        let config = PoolConfig {
            padding: padding.pair(),
            ..self.config
        };
        Self::from_config(config, self.count_include_pad)
    }

    /// Sets whether the padded zeros count in the divisor (PyTorch's `count_include_pad`).
    pub fn count_include_pad(mut self, include: bool) -> Self {
        self.count_include_pad = include;
        self
    }

    /// The settings.
    pub fn settings(&self) -> (&PoolConfig, bool) {
        (&self.config, self.count_include_pad)
    }
}

impl Layer for AvgPool2d {
    fn name(&self) -> &str {
        "AvgPool2d"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        pooled_width("AvgPool2d", self.geometry, input_width)
    }

    fn build(&mut self, input: Shape) -> Result<Shape> {
        let g = pooling_geometry("AvgPool2d", self.window, input)?;
        self.geometry = Some(g);
        Ok(g.output_shape())
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let g = checked("AvgPool2d", self.geometry, &input, "output", output.dim())?;
        let (plane, positions, include) =
            (g.height * g.width, g.positions(), self.count_include_pad);
        per_sample(input, None, output, &|_, x, _, y| {
            for (x, y) in x.chunks_exact(plane).zip(y.chunks_exact_mut(positions)) {
                windows(&g, include, |position, places, divisor| {
                    y[position] = places.map(|place| x[place]).sum::<f32>() / divisor;
                });
            }
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
        let g = checked(
            "AvgPool2d",
            self.geometry,
            &input,
            "output gradient",
            grad_output.dim(),
        )?;
        let Some(grad_input) = grad_input else {
            return Ok(());
        };
        crate::layers::expect_dim("AvgPool2d input gradient", input.dim(), grad_input.dim())?;
        let (plane, positions, include) =
            (g.height * g.width, g.positions(), self.count_include_pad);
        per_sample(grad_output, None, grad_input, &|_, go, _, dx| {
            dx.fill(0.0);
            for (go, dx) in go.chunks_exact(positions).zip(dx.chunks_exact_mut(plane)) {
                windows(&g, include, |position, places, divisor| {
                    let share = go[position] / divisor;
                    places.for_each(|place| dx[place] += share);
                });
            }
        });
        Ok(())
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::AvgPool2d {
            config: self.config,
            count_include_pad: self.count_include_pad,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::pooling::run;
    use ndarray::array;

    #[test]
    fn average_pooling_counts_the_padding_as_pytorch() {
        // torch.nn.AvgPool2d(2, stride=2, padding=1)(torch.arange(1., 10).view(1, 1, 3, 3))
        // == [[0.25, 1.25], [2.75, 7]]; count_include_pad=False: [[1, 2.5], [5.5, 7]]
        let x = array![[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]];
        let shape = Shape::image(1, 3, 3).unwrap();
        let mut pool = AvgPool2d::new(2).unwrap().padding(1).unwrap();
        assert_eq!(run(&mut pool, shape, &x), array![[0.25, 1.25, 2.75, 7.0]]);
        let mut pool = pool.count_include_pad(false);
        assert_eq!(run(&mut pool, shape, &x), array![[1.0, 2.5, 5.5, 7.0]]);
    }
}
