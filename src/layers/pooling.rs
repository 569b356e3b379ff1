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

//!
//! One file per pooling: `pooling/max.rs`, `pooling/average.rs`, `pooling/global.rs`; this one
//! holds what they share (the never-built error, the per-sample loop over threads).

mod average;
pub(super) mod config;
mod global;
mod max;
mod max_2x2;

use super::window::{Geometry, Window};
use super::Shape;
use crate::{Error, Result};
pub use average::AvgPool2d;
pub use config::PoolConfig;
pub use global::GlobalAvgPool2d;
pub use max::MaxPool2d;
use ndarray::{ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

/// The shapes of the last build of a pooling, or an error saying it was never built.
pub(super) fn built(layer: &str, geometry: Option<Geometry>) -> Result<Geometry> {
    geometry.ok_or_else(|| {
        Error::shape(
            layer,
            "the input's height and width: put the layer in a model started with \
             Sequential::builder_image, or call Layer::build with a Shape::image first",
            "a layer that was never built",
        )
    })
}

/// The geometry of pooling `layer` with `window` on images of shape `input`: each channel
/// pooled on its own (one group per channel), as many channels out as in.
///
/// # Errors
/// As [`Geometry::build`].
pub(super) fn pooling_geometry(layer: &str, window: Window, input: Shape) -> Result<Geometry> {
    let channels = input.channels().unwrap_or(1);
    Geometry::build(layer, window, input, None, channels, channels)
}

/// [`Layer::output_width`](crate::layers::Layer::output_width) of pooling `layer`: the built
/// output's width, for an input of the built width only.
///
/// # Errors
/// [`Error::ShapeMismatch`] for a layer never built or an input of another width.
pub(super) fn pooled_width(
    layer: &str,
    geometry: Option<Geometry>,
    input_width: usize,
) -> Result<usize> {
    let g = built(layer, geometry)?;
    crate::layers::fixed_input_width(layer, g.input_len(), input_width, g.output_len())
}

/// The geometry of the last build of `layer`, once `input` has its width and `other` (`what`:
/// the output or the output gradient) one row of the output's width per input row.
///
/// # Errors
/// [`Error::ShapeMismatch`] for a layer never built or a matrix of another shape.
pub(super) fn checked(
    layer: &str,
    geometry: Option<Geometry>,
    input: &ArrayView2<'_, f32>,
    what: &str,
    other: (usize, usize),
) -> Result<Geometry> {
    let g = built(layer, geometry)?;
    // The names are written only for an error: a training step allocates nothing.
    if input.ncols() != g.input_len() {
        crate::layers::expect_width(&format!("{layer} input"), input, g.input_len())?;
    }
    let expected = (input.nrows(), g.output_len());
    if other != expected {
        crate::layers::expect_dim(&format!("{layer} {what}"), expected, other)?;
    }
    Ok(g)
}

/// Runs `f` on each sample's row of `x` and of `y` (and of `z`), given the row's index, on rayon's threads in fixed
/// contiguous parts when the batch is large ([`parts`](crate::parallel::parts)): each sample
/// is computed alone, so the threads never change a result. `x` and `z` in another layout than
/// row-major are read through a row-major copy, and `y` is written through one, so that every
/// caller works on contiguous rows; the usual row-major matrices are used in place, and the
/// parts are split without allocating.
pub(super) fn per_sample(
    x: ArrayView2<'_, f32>,
    z: Option<ArrayView2<'_, f32>>,
    mut y: ArrayViewMut2<'_, f32>,
    f: &(impl Fn(usize, &[f32], Option<&[f32]>, &mut [f32]) + Sync),
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
            f(first + i, x, z, y)
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

/// The output of `layer` built for `shape`, on the rows of `x` (the poolings' tests).
#[cfg(test)]
pub(super) fn run(
    layer: &mut dyn super::Layer,
    shape: super::Shape,
    x: &ndarray::Array2<f32>,
) -> ndarray::Array2<f32> {
    let out = layer.build(shape).unwrap();
    let mut y = ndarray::Array2::zeros((x.nrows(), out.size()));
    layer.forward(x.view(), y.view_mut()).unwrap();
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Layer, Shape};
    use ndarray::Array2;

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
