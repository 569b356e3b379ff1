//! [`MaxPool2d`]: the largest value of each window of each channel, as PyTorch's
//! `nn.MaxPool2d` (see the [module documentation](super) for the window and the shapes).

use super::{built, per_sample, PoolConfig};
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

/// Whether the window is `nn.MaxPool2d(2)`'s: 2 x 2, stride 2, no padding, no dilation, the
/// pooling of nearly every convolutional network, which [`pool_2x2`] and [`grad_2x2`] compute
/// without branches (a branch per comparison mispredicts on half of them on real data: it
/// took a third of LeNet-5's training step).
fn is_2x2(geometry: &Geometry) -> bool {
    let Window {
        kernel,
        stride,
        dilation,
        pad_before,
        ..
    } = geometry.window;
    (kernel, stride, dilation, pad_before) == ((2, 2), (2, 2), (1, 1), (0, 0))
}

/// The forward pass of [`is_2x2`] windows over one channel `plane` into `out`.
#[inline(always)]
fn pool_2x2(geometry: &Geometry, plane: &[f32], out: &mut [f32]) {
    let (w, ow) = (geometry.width, geometry.out_width);
    for (oy, out) in out.chunks_exact_mut(ow).enumerate() {
        let top = &plane[2 * oy * w..2 * oy * w + 2 * ow];
        let bottom = &plane[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        match ow {
            8.. => pool_2x2_row::<8>([top, bottom], out),
            4.. => pool_2x2_row::<4>([top, bottom], out),
            _ => pool_2x2_row::<1>([top, bottom], out),
        }
    }
}

/// One row of [`pool_2x2`] in runs of `N` windows (see [`starts`]).
#[inline(always)]
fn pool_2x2_row<const N: usize>(rows: [&[f32]; 2], out: &mut [f32]) {
    for start in starts::<N>(out.len()) {
        let inputs = 2 * start..2 * (start + N);
        pool_2x2_lanes::<N>(
            [&rows[0][inputs.clone()], &rows[1][inputs]],
            &mut out[start..start + N],
        );
    }
}

/// The first window of each run of `N` of a row of `windows` (at least `N`), the last run
/// overlapping its neighbour (a window computed twice gets the same values twice): every
/// window in vector instructions, rows of 14 or 5 windows (LeNet-5's) included.
#[inline(always)]
fn starts<const N: usize>(windows: usize) -> impl Iterator<Item = usize> {
    (0..windows - N).step_by(N).chain([windows - N])
}

/// The values of `N` windows side by side (`rows`: their two input rows, `2 N` values each),
/// in the order top left, top right, bottom left, bottom right, and the masks of their largest
/// places: all ones at each window's first place of largest [`key`], zeros elsewhere. Integer
/// comparisons and masks only, over the `N` lanes.
#[inline(always)]
fn largest_2x2_lanes<const N: usize>(rows: [&[f32]; 2]) -> ([[f32; N]; 4], [[i32; N]; 4]) {
    let (top, bottom) = (&rows[0][..2 * N], &rows[1][..2 * N]);
    let mut values = [[0.0f32; N]; 4];
    for i in 0..N {
        values[0][i] = top[2 * i];
        values[1][i] = top[2 * i + 1];
        values[2][i] = bottom[2 * i];
        values[3][i] = bottom[2 * i + 1];
    }
    let mut keys = [[0i32; N]; 4];
    for (keys, values) in keys.iter_mut().zip(&values) {
        for i in 0..N {
            keys[i] = key(values[i]);
        }
    }
    let mut largest = [0i32; N];
    for i in 0..N {
        largest[i] = keys[0][i].max(keys[1][i]).max(keys[2][i].max(keys[3][i]));
    }
    // All ones in the lanes whose largest place is still to come.
    let mut open = [-1i32; N];
    let mut masks = [[0i32; N]; 4];
    for (masks, keys) in masks.iter_mut().zip(&keys) {
        for i in 0..N {
            masks[i] = open[i] & -((keys[i] == largest[i]) as i32);
            open[i] &= !masks[i];
        }
    }
    (values, masks)
}

/// [`pool_2x2`] for `N` windows side by side into `out`: the value at each largest place.
#[inline(always)]
fn pool_2x2_lanes<const N: usize>(rows: [&[f32]; 2], out: &mut [f32]) {
    let (values, masks) = largest_2x2_lanes::<N>(rows);
    let out = &mut out[..N];
    for i in 0..N {
        let mut bits = 0;
        for place in 0..4 {
            bits |= values[place][i].to_bits() & masks[place][i] as u32;
        }
        out[i] = f32::from_bits(bits);
    }
}

/// The backward pass of [`is_2x2`] windows over one channel: each output gradient of `grad`
/// to its window's largest place in `dx` (whose other places, and those no window covers,
/// are set to zero), found from the forward pass's output `out`: the largest place is the
/// first whose value has the output's bits. Earlier places hold smaller values, or numbers
/// before a NaN, so none of them has those bits (`-0` before `+0` is the chosen one, and
/// bit for bit the output): the same place as [`argmax`], with integer comparisons only.
#[inline(always)]
fn grad_2x2(geometry: &Geometry, plane: &[f32], out: &[f32], grad: &[f32], dx: &mut [f32]) {
    let (w, ow) = (geometry.width, geometry.out_width);
    if geometry.height % 2 == 1 || w % 2 == 1 {
        // A last row or column that no window covers.
        dx.fill(0.0);
    }
    for (oy, (grad, out)) in grad.chunks_exact(ow).zip(out.chunks_exact(ow)).enumerate() {
        let top = &plane[2 * oy * w..2 * oy * w + 2 * ow];
        let bottom = &plane[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        let (dtop, dbottom) = dx[2 * oy * w..(2 * oy + 2) * w].split_at_mut(w);
        let (dtop, dbottom) = (&mut dtop[..2 * ow], &mut dbottom[..2 * ow]);
        match ow {
            8.. => grad_2x2_row::<8>(grad, out, [top, bottom], [dtop, dbottom]),
            4.. => grad_2x2_row::<4>(grad, out, [top, bottom], [dtop, dbottom]),
            _ => grad_2x2_row::<1>(grad, out, [top, bottom], [dtop, dbottom]),
        }
    }
}

/// One row of [`grad_2x2`] in runs of `N` windows (see [`starts`]).
#[inline(always)]
fn grad_2x2_row<const N: usize>(
    grad: &[f32],
    out: &[f32],
    rows: [&[f32]; 2],
    drows: [&mut [f32]; 2],
) {
    let [dtop, dbottom] = drows;
    for start in starts::<N>(grad.len()) {
        let inputs = 2 * start..2 * (start + N);
        grad_2x2_lanes::<N>(
            &grad[start..start + N],
            &out[start..start + N],
            [&rows[0][inputs.clone()], &rows[1][inputs.clone()]],
            [&mut dtop[inputs.clone()], &mut dbottom[inputs]],
        );
    }
}

/// [`grad_2x2`] for `N` windows side by side: `grads` their output gradients, `outs` their
/// outputs, `rows` their two input rows, `drows` the input gradient's rows.
#[inline(always)]
fn grad_2x2_lanes<const N: usize>(
    grads: &[f32],
    outs: &[f32],
    rows: [&[f32]; 2],
    drows: [&mut [f32]; 2],
) {
    let (grads, outs) = (&grads[..N], &outs[..N]);
    let (top, bottom) = (&rows[0][..2 * N], &rows[1][..2 * N]);
    let mut bits = [[0u32; N]; 4];
    for i in 0..N {
        bits[0][i] = top[2 * i].to_bits();
        bits[1][i] = top[2 * i + 1].to_bits();
        bits[2][i] = bottom[2 * i].to_bits();
        bits[3][i] = bottom[2 * i + 1].to_bits();
    }
    // All ones in the lanes whose largest place is still to come.
    let mut open = [u32::MAX; N];
    let mut out = [[0.0f32; N]; 4];
    for (out, bits) in out.iter_mut().zip(&bits) {
        for i in 0..N {
            let here = open[i] & 0u32.wrapping_sub((bits[i] == outs[i].to_bits()) as u32);
            out[i] = f32::from_bits(grads[i].to_bits() & here);
            open[i] &= !here;
        }
    }
    let [dtop, dbottom] = drows;
    let (dtop, dbottom) = (&mut dtop[..2 * N], &mut dbottom[..2 * N]);
    for i in 0..N {
        dtop[2 * i] = out[0][i];
        dtop[2 * i + 1] = out[1][i];
        dbottom[2 * i] = out[2][i];
        dbottom[2 * i + 1] = out[3][i];
    }
}

/// A key whose integer order is [`argmax`]'s order of values: numbers in their order (`-0`
/// and `+0` equal), every NaN above every number and equal to every other NaN. The largest
/// place of a window is then the first of largest key, found with integer comparisons, which
/// the compiler vectorises where it branches on floating-point ones.
#[inline(always)]
fn key(value: f32) -> i32 {
    let bits = value.to_bits() as i32;
    // Negative numbers' magnitudes reversed: the integers then order as the numbers.
    let ordered = bits ^ ((bits >> 31) & i32::MAX);
    let ordered = if value == 0.0 { 0 } else { ordered };
    if value.is_nan() {
        i32::MAX
    } else {
        ordered
    }
}

/// [`argmax`] for padded windows: places in the padding are skipped.
fn argmax_padded(geometry: &Geometry, plane: &[f32], mut visit: impl FnMut(usize, usize)) {
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
        let g = built("MaxPool2d", self.geometry)?;
        crate::layers::fixed_input_width("MaxPool2d", g.input_len(), input_width, g.output_len())
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
        crate::layers::expect_width("MaxPool2d input", &input, g.input_len())?;
        crate::layers::expect_dim(
            "MaxPool2d output",
            (input.nrows(), g.output_len()),
            output.dim(),
        )?;
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
        let g = built("MaxPool2d", self.geometry)?;
        crate::layers::expect_width("MaxPool2d input", &input, g.input_len())?;
        crate::layers::expect_dim(
            "MaxPool2d output gradient",
            (input.nrows(), g.output_len()),
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
    fn the_2x2_kernels_agree_with_the_general_windows() {
        // Rows of 2 windows (one at a time), 4 (runs of 4), 14 (runs of 8, the last one
        // overlapping) and 16; odd sizes (a last row and column no window covers); ties,
        // NaNs, infinities, zeros of both signs.
        for (h, w) in [(5, 5), (7, 9), (5, 29), (4, 32)] {
            let plane: Vec<f32> = (0..h * w)
                .map(|i| match i % 13 {
                    3 | 4 => f32::NAN,
                    7 => f32::NEG_INFINITY,
                    8 => -0.0,
                    9 => 0.0,
                    _ => ((i * 7 % 3) as f32) - 1.0,
                })
                .collect();
            let window = Window::new("t", (2, 2), (2, 2), (1, 1), (0, 0), (0, 0)).unwrap();
            let shape = Shape::image(1, h, w).unwrap();
            let g = Geometry::build("t", window, shape, None, 1, 1).unwrap();
            assert!(is_2x2(&g));
            let grad: Vec<f32> = (0..g.positions()).map(|i| i as f32 + 1.0).collect();
            let (mut out, mut want) = (vec![0.0; g.positions()], vec![0.0; g.positions()]);
            let (mut dx, mut want_dx) = (vec![f32::NAN; h * w], vec![0.0; h * w]);
            pool_2x2(&g, &plane, &mut out);
            grad_2x2(&g, &plane, &out, &grad, &mut dx);
            argmax_padded(&g, &plane, |o, p| {
                want[o] = plane[p];
                want_dx[p] += grad[o];
            });
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&out), bits(&want), "{h} x {w}");
            assert_eq!(dx, want_dx, "{h} x {w}");
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
