//! Poolings over images: [`MaxPool2d`] and [`AvgPool2d`] (PyTorch's `nn.MaxPool2d`,
//! `nn.AvgPool2d`) and [`GlobalAvgPool2d`] (Keras's `GlobalAveragePooling2D`, PyTorch's
//! `nn.AdaptiveAvgPool2d(1)` followed by a flatten).
//!
//! Each channel is pooled on its own, window by window, with the window of PyTorch's
//! arguments: `kernel_size`, `stride` (default: the kernel), `padding` (default 0) and, for the
//! maximum, `dilation` (default 1); floor mode (`ceil_mode=False`, the default).
//!
//! # Shapes
//! - input: `(batch, C, H, W)` as rows of `C H W` values, channels first
//! - [`MaxPool2d`], [`AvgPool2d`] output: `(batch, C, H_out, W_out)` with (PyTorch's
//!   documentation) `H_out = floor((H + 2 padding - dilation (kernel - 1) - 1) / stride) + 1`
//!   and `W_out` alike
//! - [`GlobalAvgPool2d`] output: `(batch, C)`, a flat row, each channel's mean
//!
//! Gradients: the maximum sends each output's gradient to the first largest value of its window
//! (row by row, as PyTorch; a NaN counts as the largest, so it propagates); the average spreads
//! it evenly over the window, `1 / divisor` to each place.
//!
//! ```
//! use feedforward::layers::{AvgPool2d, GlobalAvgPool2d, MaxPool2d, Shape};
//! use feedforward::prelude::*;
//!
//! let image = Shape::image(6, 28, 28)?;
//! assert_eq!(MaxPool2d::new(2)?.build(image)?, Shape::image(6, 14, 14)?);
//! assert_eq!(
//!     AvgPool2d::new(3)?.stride(2)?.padding(1)?.build(image)?,
//!     Shape::image(6, 14, 14)?
//! );
//! assert_eq!(GlobalAvgPool2d::new().build(image)?, Shape::flat(6));
//! # Ok::<(), feedforward::Error>(())
//! ```

pub(super) mod config;

use super::window::{Geometry, Window};
use super::{Layer, LayerSpec, Pair, Shape};
use crate::{Error, Result};
pub use config::PoolConfig;
use ndarray::{ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

/// The shapes of the last build of a pooling, or an error saying it was never built.
fn built(layer: &str, geometry: Option<Geometry>) -> Result<Geometry> {
    geometry.ok_or_else(|| {
        Error::shape(
            layer,
            "the input's height and width: put the layer in a model started with \
             Sequential::builder_image, or call Layer::build with a Shape::image first",
            "a layer that was never built",
        )
    })
}

/// Runs `f` on each sample's row of `x` and of `y` (and of `z`), on rayon's threads in fixed
/// contiguous parts when the batch is large ([`parts`](crate::parallel::parts)): each sample
/// is computed alone, so the threads never change a result. `x` and `z` in another layout than
/// row-major are read through a row-major copy, and `y` is written through one, so that every
/// caller works on contiguous rows; the usual row-major matrices are used in place, and the
/// parts are split without allocating.
fn per_sample(
    x: ArrayView2<'_, f32>,
    z: Option<ArrayView2<'_, f32>>,
    mut y: ArrayViewMut2<'_, f32>,
    f: &(impl Fn(&[f32], Option<&[f32]>, &mut [f32]) + Sync),
) {
    let given = z;
    let (x, z) = (
        x.as_standard_layout(),
        given.as_ref().map(|z| z.as_standard_layout()),
    );
    if !y.is_standard_layout() {
        let mut staged = ndarray::Array2::zeros(y.raw_dim());
        per_sample(x.view(), z.as_ref().map(|z| z.view()), staged.view_mut(), f);
        y.assign(&staged);
        return;
    }
    let (rows, x_width, y_width) = (x.nrows(), x.ncols(), y.ncols());
    let z_width = z.as_ref().map_or(0, |z| z.ncols());
    let (Some(xs), Some(ys)) = (x.as_slice(), y.as_slice_mut()) else {
        unreachable!("standard-layout matrices are contiguous");
    };
    let zs = z.as_ref().and_then(|z| z.as_slice());
    if rows == 0 || x_width == 0 || y_width == 0 {
        return;
    }
    // Rows from `first` on: x's and y's rows, and z's rows at the same places.
    let run = |first: usize, xs: &[f32], ys: &mut [f32]| {
        for (i, (x, y)) in xs
            .chunks_exact(x_width)
            .zip(ys.chunks_exact_mut(y_width))
            .enumerate()
        {
            let z = zs.map(|zs| &zs[(first + i) * z_width..(first + i + 1) * z_width]);
            f(x, z, y)
        }
    };
    let parts = crate::parallel::parts(xs.len().max(ys.len()));
    if parts <= 1 || rows < 2 {
        return run(0, xs, ys);
    }
    let part = rows.div_ceil(parts).max(1);
    xs.par_chunks(part * x_width)
        .zip(ys.par_chunks_mut(part * y_width))
        .enumerate()
        .for_each(|(i, (x, y))| run(i * part, x, y));
}

/// The place of the largest value in each window of one sample's channel `plane`
/// (`height width` values), in output order, given to `visit(output position, input place)`;
/// the first largest, row by row, and a NaN counts as the largest.
fn argmax(geometry: &Geometry, plane: &[f32], mut visit: impl FnMut(usize, usize)) {
    let Window {
        kernel: (kh, kw),
        stride: (sh, sw),
        dilation: (dh, dw),
        pad_before: (ph, pw),
        ..
    } = geometry.window;
    let (h, w) = (geometry.height, geometry.width);
    for oy in 0..geometry.out_height {
        for ox in 0..geometry.out_width {
            let mut best: Option<(usize, f32)> = None;
            for ky in 0..kh {
                let Some(iy) = (oy * sh + ky * dh).checked_sub(ph).filter(|&i| i < h) else {
                    continue;
                };
                for kx in 0..kw {
                    let Some(ix) = (ox * sw + kx * dw).checked_sub(pw).filter(|&i| i < w) else {
                        continue;
                    };
                    let place = iy * w + ix;
                    let value = plane[place];
                    let better = match best {
                        None => true,
                        Some((_, top)) => value > top || (value.is_nan() && !top.is_nan()),
                    };
                    if better {
                        best = Some((place, value));
                    }
                }
            }
            let (place, _) = best.expect("a padding of at most half the window leaves a value");
            visit(oy * geometry.out_width + ox, place);
        }
    }
}

/// The largest value of each window of each channel (PyTorch's `nn.MaxPool2d`).
#[derive(Clone, Debug)]
pub struct MaxPool2d {
    config: PoolConfig,
    window: Window,
    geometry: Option<Geometry>,
}

impl MaxPool2d {
    /// A window of `kernel` (one number or `(height, width)`) that moves by its own size, no
    /// padding, no dilation: `nn.MaxPool2d(kernel)`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero kernel.
    pub fn new(kernel: impl Pair) -> Result<Self> {
        Self::from_config(PoolConfig::new(kernel))
    }

    /// The pooling with these settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero kernel, stride or dilation, or a padding of more than
    /// half the window's extent (PyTorch's rule).
    pub fn from_config(config: PoolConfig) -> Result<Self> {
        Ok(MaxPool2d {
            window: config.window("MaxPool2d")?,
            config,
            geometry: None,
        })
    }

    /// Sets the stride (PyTorch's `stride`; the kernel by default).
    ///
    /// # Errors
    /// As [`from_config`](MaxPool2d::from_config).
    pub fn stride(self, stride: impl Pair) -> Result<Self> {
        Self::from_config(PoolConfig {
            stride: stride.pair(),
            ..self.config
        })
    }

    /// Sets the padding on each side (PyTorch's `padding`; padded places never win).
    ///
    /// # Errors
    /// As [`from_config`](MaxPool2d::from_config).
    pub fn padding(self, padding: impl Pair) -> Result<Self> {
        Self::from_config(PoolConfig {
            padding: padding.pair(),
            ..self.config
        })
    }

    /// Sets the dilation (PyTorch's `dilation`).
    ///
    /// # Errors
    /// As [`from_config`](MaxPool2d::from_config).
    pub fn dilation(self, dilation: impl Pair) -> Result<Self> {
        Self::from_config(PoolConfig {
            dilation: dilation.pair(),
            ..self.config
        })
    }

    /// The settings.
    pub fn settings(&self) -> &PoolConfig {
        &self.config
    }
}

impl Layer for MaxPool2d {
    fn name(&self) -> &str {
        "MaxPool2d"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        let g = built("MaxPool2d", self.geometry)?;
        super::fixed_input_width("MaxPool2d", g.input_len(), input_width, g.output_len())
    }

    fn build(&mut self, input: Shape) -> Result<Shape> {
        let channels = input.channels().unwrap_or(1);
        let g = Geometry::build("MaxPool2d", self.window, input, None, channels, channels)?;
        self.geometry = Some(g);
        Ok(g.output_shape())
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let g = built("MaxPool2d", self.geometry)?;
        super::expect_width("MaxPool2d input", &input, g.input_len())?;
        super::expect_dim(
            "MaxPool2d output",
            (input.nrows(), g.output_len()),
            output.dim(),
        )?;
        let (plane, positions) = (g.height * g.width, g.positions());
        per_sample(input, None, output, &|x, _, y| {
            for (x, y) in x.chunks_exact(plane).zip(y.chunks_exact_mut(positions)) {
                argmax(&g, x, |position, place| y[position] = x[place]);
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
        let g = built("MaxPool2d", self.geometry)?;
        super::expect_width("MaxPool2d input", &input, g.input_len())?;
        super::expect_dim(
            "MaxPool2d output gradient",
            (input.nrows(), g.output_len()),
            grad_output.dim(),
        )?;
        let Some(grad_input) = grad_input else {
            return Ok(());
        };
        super::expect_dim("MaxPool2d input gradient", input.dim(), grad_input.dim())?;
        let (plane, positions) = (g.height * g.width, g.positions());
        per_sample(input, Some(grad_output), grad_input, &|x, go, dx| {
            let go = go.expect("the output gradient is given");
            dx.fill(0.0);
            for ((x, go), dx) in x
                .chunks_exact(plane)
                .zip(go.chunks_exact(positions))
                .zip(dx.chunks_exact_mut(plane))
            {
                argmax(&g, x, |position, place| dx[place] += go[position]);
            }
        });
        Ok(())
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::MaxPool2d(self.config))
    }
}

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
        let g = built("AvgPool2d", self.geometry)?;
        super::fixed_input_width("AvgPool2d", g.input_len(), input_width, g.output_len())
    }

    fn build(&mut self, input: Shape) -> Result<Shape> {
        let channels = input.channels().unwrap_or(1);
        let g = Geometry::build("AvgPool2d", self.window, input, None, channels, channels)?;
        self.geometry = Some(g);
        Ok(g.output_shape())
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let g = built("AvgPool2d", self.geometry)?;
        super::expect_width("AvgPool2d input", &input, g.input_len())?;
        super::expect_dim(
            "AvgPool2d output",
            (input.nrows(), g.output_len()),
            output.dim(),
        )?;
        let (plane, positions, include) =
            (g.height * g.width, g.positions(), self.count_include_pad);
        per_sample(input, None, output, &|x, _, y| {
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
        let g = built("AvgPool2d", self.geometry)?;
        super::expect_width("AvgPool2d input", &input, g.input_len())?;
        super::expect_dim(
            "AvgPool2d output gradient",
            (input.nrows(), g.output_len()),
            grad_output.dim(),
        )?;
        let Some(grad_input) = grad_input else {
            return Ok(());
        };
        super::expect_dim("AvgPool2d input gradient", input.dim(), grad_input.dim())?;
        let (plane, positions, include) =
            (g.height * g.width, g.positions(), self.count_include_pad);
        per_sample(grad_output, None, grad_input, &|go, _, dx| {
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

/// The mean of each channel, a flat row of `C` values (Keras's `GlobalAveragePooling2D`,
/// PyTorch's `nn.AdaptiveAvgPool2d(1)` then `nn.Flatten()`).
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalAvgPool2d {
    /// `(channels, height times width)` of the last build.
    plane: Option<(usize, usize)>,
}

impl GlobalAvgPool2d {
    /// The pooling; it learns the channels and their size when built.
    pub fn new() -> Self {
        GlobalAvgPool2d { plane: None }
    }

    fn plane(&self) -> Result<(usize, usize)> {
        self.plane.ok_or_else(|| {
            Error::shape(
                "GlobalAvgPool2d",
                "the input's channels: put the layer in a model started with \
                 Sequential::builder_image, or call Layer::build with a Shape::image first",
                "a layer that was never built",
            )
        })
    }
}

impl Layer for GlobalAvgPool2d {
    fn name(&self) -> &str {
        "GlobalAvgPool2d"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        let (c, plane) = self.plane()?;
        super::fixed_input_width("GlobalAvgPool2d", c * plane, input_width, c)
    }

    /// A flat row of the image's channels.
    fn build(&mut self, input: Shape) -> Result<Shape> {
        let Some((c, h, w)) = input.chw() else {
            return Err(Error::shape(
                "GlobalAvgPool2d",
                "an image: start the model with Sequential::builder_image",
                format!("a flat row {input}"),
            ));
        };
        self.plane = Some((c, h * w));
        Ok(Shape::flat(c))
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let (c, plane) = self.plane()?;
        super::expect_width("GlobalAvgPool2d input", &input, c * plane)?;
        super::expect_dim("GlobalAvgPool2d output", (input.nrows(), c), output.dim())?;
        for (x, mut y) in input.rows().into_iter().zip(output.rows_mut()) {
            for (channel, y) in y.iter_mut().enumerate() {
                let values = x.slice(ndarray::s![channel * plane..(channel + 1) * plane]);
                *y = values.sum() / plane as f32;
            }
        }
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        let (c, plane) = self.plane()?;
        super::expect_width("GlobalAvgPool2d input", &input, c * plane)?;
        super::expect_dim(
            "GlobalAvgPool2d output gradient",
            (input.nrows(), c),
            grad_output.dim(),
        )?;
        let Some(mut grad_input) = grad_input else {
            return Ok(());
        };
        super::expect_dim(
            "GlobalAvgPool2d input gradient",
            input.dim(),
            grad_input.dim(),
        )?;
        for (go, mut dx) in grad_output.rows().into_iter().zip(grad_input.rows_mut()) {
            for (channel, &g) in go.iter().enumerate() {
                dx.slice_mut(ndarray::s![channel * plane..(channel + 1) * plane])
                    .fill(g / plane as f32);
            }
        }
        Ok(())
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::GlobalAvgPool2d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use ndarray::{array, Array2};

    /// A batch large enough to split over threads, written into a row-major output, a
    /// column-major one (written through a row-major copy), and on one thread: the same bits.
    #[test]
    fn layouts_and_threads_give_the_same_bits() {
        let shape = Shape::image(4, 32, 32).unwrap();
        let x = Array2::from_shape_fn((160, shape.size()), |(r, c)| {
            ((r * 7919 + c * 104_729) % 1_000) as f32 / 500.0 - 1.0
        });
        let mut pool = AvgPool2d::new(2).unwrap();
        let row_major = run(&mut pool, shape, &x);
        let mut column_major = Array2::zeros(ndarray::ShapeBuilder::f(row_major.dim()));
        pool.forward(x.view(), column_major.view_mut()).unwrap();
        assert_eq!(row_major, column_major);
        let single = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| run(&mut pool, shape, &x));
        assert_eq!(row_major, single);
        assert_eq!(
            row_major[[3, 5]],
            (0..4)
                .map(|k| x[[3, 10 + (k / 2) * 32 + k % 2]])
                .sum::<f32>()
                / 4.0
        );
    }

    fn run(layer: &mut dyn Layer, shape: Shape, x: &Array2<f32>) -> Array2<f32> {
        let out = layer.build(shape).unwrap();
        let mut y = Array2::zeros((x.nrows(), out.size()));
        layer.forward(x.view(), y.view_mut()).unwrap();
        y
    }

    #[test]
    fn max_pooling_takes_the_first_largest_and_lets_nan_through() {
        // torch.nn.MaxPool2d(2)(torch.tensor([[[[1., 5, 2, 2], [3, 4, 2, 1], [0, -1, nan, 1], [-2, -3, 1, 1]]]]))
        // == [[5, 2], [0, nan]]
        let x = array![[
            1.0,
            5.0,
            2.0,
            2.0,
            3.0,
            4.0,
            2.0,
            1.0,
            0.0,
            -1.0,
            f32::NAN,
            1.0,
            -2.0,
            -3.0,
            1.0,
            1.0
        ]];
        let mut pool = MaxPool2d::new(2).unwrap();
        let y = run(&mut pool, Shape::image(1, 4, 4).unwrap(), &x);
        assert_eq!(y.slice(ndarray::s![0, ..3]), array![5.0, 2.0, 0.0]);
        assert!(y[[0, 3]].is_nan());
        // The tie 2, 2 at the top right: the gradient goes to the first.
        let mut dx = Array2::zeros((1, 16));
        pool.backward(
            x.view(),
            y.view(),
            array![[1.0, 10.0, 100.0, 1000.0]].view(),
            Some(dx.view_mut()),
        )
        .unwrap();
        let mut want = [0.0f32; 16];
        (want[1], want[2], want[8], want[10]) = (1.0, 10.0, 100.0, 1000.0);
        assert_eq!(dx.as_slice().unwrap(), &want);
    }

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

    #[test]
    fn global_average_pooling_gives_each_channels_mean() {
        let x = array![[1.0, 2.0, 3.0, 6.0, 0.0, 0.0, 0.0, 4.0]];
        let mut pool = GlobalAvgPool2d::new();
        assert_eq!(
            run(&mut pool, Shape::image(2, 2, 2).unwrap(), &x),
            array![[3.0, 1.0]]
        );
        let report = check_layer(&mut pool, 3, 8, 1).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }

    #[test]
    fn impossible_windows_are_errors_at_construction_or_build() {
        assert!(matches!(
            MaxPool2d::new(0),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            MaxPool2d::new(2).unwrap().stride(0),
            Err(Error::InvalidConfig { .. })
        ));
        // PyTorch: pad should be at most half of effective kernel size.
        assert!(MaxPool2d::new(2).unwrap().padding(2).is_err());
        assert!(MaxPool2d::new(3)
            .unwrap()
            .dilation(2)
            .unwrap()
            .padding(2)
            .is_ok());
        assert!(AvgPool2d::from_config(
            PoolConfig {
                dilation: (2, 2),
                ..PoolConfig::new(2)
            },
            true
        )
        .is_err());
        // A window larger than the image, and a flat input.
        let mut pool = MaxPool2d::new(5).unwrap();
        assert!(matches!(
            pool.build(Shape::image(1, 4, 9).unwrap()),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(pool
            .build(Shape::flat(100))
            .unwrap_err()
            .to_string()
            .contains("builder_image"));
        assert!(GlobalAvgPool2d::new().build(Shape::flat(3)).is_err());
        // Used before it was built.
        let mut y = Array2::zeros((1, 1));
        assert!(MaxPool2d::new(2)
            .unwrap()
            .forward(Array2::zeros((1, 4)).view(), y.view_mut())
            .is_err());
    }
}
