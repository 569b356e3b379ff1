//! The kernels of `nn.MaxPool2d(2)`'s window (2 x 2, stride 2, no padding, no dilation), the
//! pooling of nearly every convolutional network: its forward and backward passes without
//! branches, over runs of windows side by side in vector instructions (compiled for AVX-512 or
//! AVX2 through [`Isa::vectorize`](crate::layers::dense::kernels::Isa::vectorize) by the
//! caller). They choose the places [`MaxPool2d`](super::MaxPool2d)'s general window chooses:
//! the first largest value of each window, a NaN counting as the largest.

use crate::layers::window::{Geometry, Window};

/// Whether the window is `nn.MaxPool2d(2)`'s: 2 x 2, stride 2, no padding, no dilation, the
/// pooling of nearly every convolutional network, which [`pool_2x2`] and [`grad_2x2`] compute
/// without branches (a branch per comparison mispredicts on half of them on real data: it
/// took a third of LeNet-5's training step).
pub(super) fn is_2x2(geometry: &Geometry) -> bool {
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
pub(super) fn pool_2x2(geometry: &Geometry, plane: &[f32], out: &mut [f32]) {
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
/// bit for bit the output): the same place as [`argmax`](super::max), with integer comparisons only.
#[inline(always)]
pub(super) fn grad_2x2(
    geometry: &Geometry,
    plane: &[f32],
    out: &[f32],
    grad: &[f32],
    dx: &mut [f32],
) {
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

/// A key whose integer order is [`argmax`](super::max)'s order of values: numbers in their order (`-0`
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::pooling::max::argmax_padded;
    use crate::layers::Shape;

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
}
