//! [`MaxPool2d`]: the largest value of each window of each channel, as PyTorch's
//! `nn.MaxPool2d` (see the [module documentation](super) for the window and the shapes).

use super::max_2x2::{grad_2x2, is_2x2, pool_2x2};
use super::{checked, per_sample, pooled_width, pooling_geometry, PoolConfig};
use crate::layers::dense::kernels::Isa;
use crate::layers::window::{Geometry, Window};
use crate::layers::{Layer, LayerSpec, Pair, Shape};
use crate::Result;
use ndarray::{ArrayView2, ArrayViewMut2};

/// The place of the largest value in each window of one sample's channel `plane`
/// (`height width` values), in output order, given to `visit(output position, input place)`;
/// the first largest, row by row, and a NaN counts as the largest.
#[inline]
fn argmax(geometry: &Geometry, plane: &[f32], visit: impl FnMut(usize, usize)) {
    if geometry.window.pad_before == (0, 0) {
        argmax_inside(geometry, plane, visit)
    } else {
        argmax_padded(geometry, plane, visit)
    }
}

/// Whether `value` wins over the largest so far, `top`: larger, or a NaN over a number.
#[inline(always)]
fn wins(value: f32, top: f32) -> bool {
    value > top || (value.is_nan() && !top.is_nan())
}

/// [`argmax`] for windows without padding, which all lie inside the plane (the output's size
/// is the floor of PyTorch's formula): no place to check.
#[inline]
fn argmax_inside(geometry: &Geometry, plane: &[f32], mut visit: impl FnMut(usize, usize)) {
    let Window {
        kernel: (kh, kw),
        stride: (sh, sw),
        dilation: (dh, dw),
        ..
    } = geometry.window;
    let (w, ow) = (geometry.width, geometry.out_width);
    for oy in 0..geometry.out_height {
        for ox in 0..ow {
            let first = oy * sh * w + ox * sw;
            let (mut place, mut best) = (first, plane[first]);
            for ky in 0..kh {
                let line = first + ky * dh * w;
                for kx in 0..kw {
                    let candidate = line + kx * dw;
                    let value = plane[candidate];
                    if wins(value, best) {
                        (place, best) = (candidate, value);
                    }
                }
            }
            visit(oy * ow + ox, place);
        }
    }
}

/// [`argmax`] for padded windows: places in the padding are skipped.
pub(super) fn argmax_padded(
    geometry: &Geometry,
    plane: &[f32],
    mut visit: impl FnMut(usize, usize),
) {
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
                        Some((_, top)) => wins(value, top),
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
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a zero kernel.
    pub fn new(kernel: impl Pair) -> Result<Self> {
        Self::from_config(PoolConfig::new(kernel))
    }

    /// The pooling with these settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a zero kernel, stride or dilation, or a padding of more than
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
        pooled_width("MaxPool2d", self.geometry, input_width)
    }

    fn build(&mut self, input: Shape) -> Result<Shape> {
        let g = pooling_geometry("MaxPool2d", self.window, input)?;
        self.geometry = Some(g);
        Ok(g.output_shape())
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let g = checked("MaxPool2d", self.geometry, &input, "output", output.dim())?;
        let (plane, positions) = (g.height * g.width, g.positions());
        per_sample(input, None, output, &|_, x, _, y| {
            for (x, y) in x.chunks_exact(plane).zip(y.chunks_exact_mut(positions)) {
                if is_2x2(&g) {
                    Isa::detect().vectorize(
                        #[inline(always)]
                        || pool_2x2(&g, x, y),
                    );
                } else {
                    argmax(&g, x, |position, place| y[position] = x[place]);
                }
            }
        });
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        let g = checked(
            "MaxPool2d",
            self.geometry,
            &input,
            "output gradient",
            grad_output.dim(),
        )?;
        let Some(grad_input) = grad_input else {
            return Ok(());
        };
        crate::layers::expect_dim("MaxPool2d input gradient", input.dim(), grad_input.dim())?;
        crate::layers::expect_dim(
            "MaxPool2d output",
            (input.nrows(), g.output_len()),
            output.dim(),
        )?;
        // The forward pass's output tells the 2 x 2 windows' largest places (see `grad_2x2`).
        let output = output.as_standard_layout();
        let outputs = output
            .as_slice()
            .expect("a standard-layout matrix is contiguous");
        let (plane, positions) = (g.height * g.width, g.positions());
        per_sample(input, Some(grad_output), grad_input, &|row, x, go, dx| {
            let go = go.expect("the output gradient is given");
            let y = &outputs[row * g.output_len()..(row + 1) * g.output_len()];
            for (((x, y), go), dx) in x
                .chunks_exact(plane)
                .zip(y.chunks_exact(positions))
                .zip(go.chunks_exact(positions))
                .zip(dx.chunks_exact_mut(plane))
            {
                if is_2x2(&g) {
                    Isa::detect().vectorize(
                        #[inline(always)]
                        || grad_2x2(&g, x, y, go, dx),
                    );
                } else {
                    dx.fill(0.0);
                    argmax(&g, x, |position, place| dx[place] += go[position]);
                }
            }
        });
        Ok(())
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::MaxPool2d(self.config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::pooling::run;
    use ndarray::{array, Array2};

    #[test]
    fn the_unpadded_paths_choose_the_places_the_general_one_chooses() {
        // Ties, NaNs and infinities in a 7 x 9 plane; every window without padding.
        let plane: Vec<f32> = (0..63)
            .map(|i| match i % 11 {
                3 => f32::NAN,
                7 => f32::INFINITY,
                _ => ((i * 5 % 4) as f32) - 1.0,
            })
            .collect();
        for (kernel, stride, dilation) in [
            ((2, 2), (2, 2), (1, 1)),
            ((3, 3), (2, 2), (1, 1)),
            ((2, 3), (1, 2), (2, 1)),
            ((1, 1), (1, 1), (1, 1)),
        ] {
            let window = Window::new("t", kernel, stride, dilation, (0, 0), (0, 0)).unwrap();
            let g =
                Geometry::build("t", window, Shape::image(1, 7, 9).unwrap(), None, 1, 1).unwrap();
            let (mut fast, mut general) = (vec![], vec![]);
            argmax_inside(&g, &plane, |o, p| fast.push((o, p)));
            argmax_padded(&g, &plane, |o, p| general.push((o, p)));
            assert_eq!(fast, general, "{kernel:?} {stride:?} {dilation:?}");
            assert_eq!(fast.len(), g.positions());
        }
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
}
