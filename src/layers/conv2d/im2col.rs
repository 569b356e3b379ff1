//! The patches of a convolution: [`Geometry`] (an input image, the window, the output) and the
//! two copies between an image and its patch matrix, `im2col` and its adjoint `col2im_add`.
//!
//! For output position `p = (oy, ox)` and group `g`, column `p` of the patch matrix holds the
//! `K = (channels / groups) kh kw` input values the window covers, in the order of the weights
//! of one output channel, PyTorch's `(in / groups, kh, kw)`:
//! `cols[(c kh + ky) kw + kx][p] = x[g C_g + c][oy sh + ky dh - pad_top][ox sw + kx dw - pad_left]`,
//! zero where that falls in the padding. A convolution is then one matrix product,
//! `Y (out, P) = W (out, K) . cols (K, P)`, whose rows are the output's channels in PyTorch's
//! `(C, H, W)` order (Caffe's im2col, Jia 2014; Chellapilla et al. 2006). With this layout,
//! and a horizontal stride of 1, each output row of a tap is one contiguous copy of an input
//! line: `im2col` runs at the speed of `memcpy`, where the transposed layout (one row per
//! position) copied `kw` values at a time.

use crate::layers::window::{Geometry, Window};

impl Geometry {
    /// The input coordinate that tap `k` of the window at output coordinate `o` reads along an
    /// axis, or `None` in the padding.
    #[inline]
    fn source(
        o: usize,
        k: usize,
        stride: usize,
        dilation: usize,
        pad: usize,
        size: usize,
    ) -> Option<usize> {
        (o * stride + k * dilation)
            .checked_sub(pad)
            .filter(|&i| i < size)
    }

    /// The output coordinates `lo..hi` along an axis whose tap `k` reads inside the input
    /// (`0 <= o stride + k dilation - pad < size`); the others read the padding.
    #[inline]
    fn inside(
        out: usize,
        k: usize,
        stride: usize,
        dilation: usize,
        pad: usize,
        size: usize,
    ) -> std::ops::Range<usize> {
        let offset = k * dilation;
        // o stride >= pad - offset, and o stride < size + pad - offset.
        let lo = pad.saturating_sub(offset).div_ceil(stride);
        let hi = match (size + pad).checked_sub(offset) {
            Some(end) if end > 0 => (end - 1) / stride + 1,
            _ => 0,
        };
        lo.min(out)..hi.min(out).max(lo.min(out))
    }

    /// Writes the patches of group `group` of the sample `x` (`input_len` values) as the
    /// columns `first .. first + positions` of `cols`, a row-major matrix of `patch_len` rows
    /// of `stride` values: column `p` holds the patch of output position `p` (Caffe's
    /// `im2col` layout, one row per tap, so that each output row's taps are one contiguous
    /// copy of an input line when the horizontal stride is 1).
    pub(crate) fn im2col(
        &self,
        x: &[f32],
        group: usize,
        cols: &mut [f32],
        stride: usize,
        first: usize,
    ) {
        let Window {
            kernel: (kh, kw),
            stride: (sh, sw),
            dilation: (dh, dw),
            pad_before: (pt, pl),
            ..
        } = self.window;
        let (h, w, ow) = (self.height, self.width, self.out_width);
        let first_channel = group * self.group_channels();
        for c in 0..self.group_channels() {
            let plane = &x[(first_channel + c) * h * w..(first_channel + c + 1) * h * w];
            for ky in 0..kh {
                for kx in 0..kw {
                    let tap = (c * kh + ky) * kw + kx;
                    let row =
                        &mut cols[tap * stride + first..tap * stride + first + self.positions()];
                    let columns = Self::inside(ow, kx, sw, dw, pl, w);
                    for (oy, out) in row.chunks_exact_mut(ow).enumerate() {
                        let Some(iy) = Self::source(oy, ky, sh, dh, pt, h) else {
                            out.fill(0.0);
                            continue;
                        };
                        let line = &plane[iy * w..(iy + 1) * w];
                        out[..columns.start].fill(0.0);
                        out[columns.end..].fill(0.0);
                        // The first column's input place: ox sw + kx dw - pl >= 0 there.
                        let from = columns.start * sw + kx * dw - pl;
                        let out = &mut out[columns.clone()];
                        if sw == 1 {
                            out.copy_from_slice(&line[from..from + out.len()]);
                        } else {
                            for (i, value) in out.iter_mut().enumerate() {
                                *value = line[from + i * sw];
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of [`im2col`](Self::im2col): adds each value of the columns
    /// `first .. first + positions` of `cols` (`patch_len` rows of `stride` values) to the
    /// input place it was read from, in `dx` (`input_len` values); values that came from the
    /// padding are dropped. Places are visited in a fixed order.
    pub(crate) fn col2im_add(
        &self,
        cols: &[f32],
        stride: usize,
        first: usize,
        group: usize,
        dx: &mut [f32],
    ) {
        let Window {
            kernel: (kh, kw),
            stride: (sh, sw),
            dilation: (dh, dw),
            pad_before: (pt, pl),
            ..
        } = self.window;
        let (h, w, ow) = (self.height, self.width, self.out_width);
        let first_channel = group * self.group_channels();
        for c in 0..self.group_channels() {
            let plane = &mut dx[(first_channel + c) * h * w..(first_channel + c + 1) * h * w];
            for ky in 0..kh {
                for kx in 0..kw {
                    let tap = (c * kh + ky) * kw + kx;
                    let row = &cols[tap * stride + first..tap * stride + first + self.positions()];
                    let columns = Self::inside(ow, kx, sw, dw, pl, w);
                    if columns.is_empty() {
                        continue;
                    }
                    let from = columns.start * sw + kx * dw - pl;
                    for (oy, values) in row.chunks_exact(ow).enumerate() {
                        let Some(iy) = Self::source(oy, ky, sh, dh, pt, h) else {
                            continue;
                        };
                        let line = &mut plane[iy * w..(iy + 1) * w];
                        let values = &values[columns.clone()];
                        if sw == 1 {
                            for (place, &value) in
                                line[from..from + values.len()].iter_mut().zip(values)
                            {
                                *place += value;
                            }
                        } else {
                            for (i, &value) in values.iter().enumerate() {
                                line[from + i * sw] += value;
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(
        window: Window,
        (c, h, w): (usize, usize, usize),
        groups: usize,
        out: usize,
    ) -> Geometry {
        let (out_height, out_width) = window.output("test", (h, w)).unwrap();
        Geometry {
            channels: c,
            height: h,
            width: w,
            window,
            groups,
            out_channels: out,
            out_height,
            out_width,
        }
    }

    #[test]
    fn patches_read_the_window_and_zeros_in_the_padding() {
        // One 3 x 3 channel 1..9, a 2 x 2 window, padding 1 before, stride 2: 2 x 2 positions.
        let window = Window::new("t", (2, 2), (2, 2), (1, 1), (1, 1), (1, 1)).unwrap();
        let g = geometry(window, (1, 3, 3), 1, 1);
        assert_eq!((g.out_height, g.out_width), (2, 2));
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        // Two columns of 4 positions, the sample in the second: column p is position p's patch.
        let mut cols = vec![f32::NAN; 4 * 8];
        g.im2col(&x, 0, &mut cols, 8, 4);
        let patches: Vec<f32> = (0..4)
            .flat_map(|p| (0..4).map(move |t| (p, t)))
            .map(|(p, t)| cols[t * 8 + 4 + p])
            .collect();
        #[rustfmt::skip]
        assert_eq!(patches, [
            0.0, 0.0, 0.0, 1.0,
            0.0, 0.0, 2.0, 3.0,
            0.0, 4.0, 0.0, 7.0,
            5.0, 6.0, 8.0, 9.0,
        ]);
        // The other columns are left alone.
        assert!(cols
            .chunks_exact(8)
            .all(|row| row[..4].iter().all(|v| v.is_nan())));
    }

    #[test]
    fn strided_and_dilated_patches_match_the_definition() {
        // Every tap against the module's formula, horizontal strides 1 and 2, dilation, padding.
        for (stride, dilation, pad) in [
            ((1, 1), (1, 1), (2, 1)),
            ((2, 3), (2, 1), (1, 2)),
            ((1, 2), (1, 2), (0, 3)),
        ] {
            let window = Window::new("t", (3, 2), stride, dilation, pad, pad).unwrap();
            let g = geometry(window, (2, 7, 6), 1, 1);
            let x: Vec<f32> = (0..g.input_len()).map(|i| i as f32 + 1.0).collect();
            let (p, k) = (g.positions(), g.patch_len());
            let mut cols = vec![f32::NAN; k * p];
            g.im2col(&x, 0, &mut cols, p, 0);
            for oy in 0..g.out_height {
                for ox in 0..g.out_width {
                    for c in 0..2 {
                        for ky in 0..3 {
                            for kx in 0..2 {
                                let iy =
                                    (oy * stride.0 + ky * dilation.0) as isize - pad.0 as isize;
                                let ix =
                                    (ox * stride.1 + kx * dilation.1) as isize - pad.1 as isize;
                                let want = if (0..7).contains(&iy) && (0..6).contains(&ix) {
                                    x[c * 42 + iy as usize * 6 + ix as usize]
                                } else {
                                    0.0
                                };
                                let tap = (c * 3 + ky) * 2 + kx;
                                assert_eq!(cols[tap * p + oy * g.out_width + ox], want);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2row(x), p> == <x, row2im(p)> for every group, with dilation, stride and padding.
        let window = Window::new("t", (3, 2), (2, 1), (2, 1), (1, 0), (2, 1)).unwrap();
        let g = geometry(window, (4, 7, 5), 2, 2);
        let x: Vec<f32> = (0..g.input_len())
            .map(|i| ((i * 37 % 11) as f32) - 5.0)
            .collect();
        let p: Vec<f32> = (0..g.positions() * g.patch_len())
            .map(|i| ((i * 13 % 7) as f32) - 3.0)
            .collect();
        let (positions, k) = (g.positions(), g.patch_len());
        for group in 0..2 {
            // The sample's columns after another sample's: (k, 2 positions), from `positions`.
            let mut cols = vec![0.0; k * 2 * positions];
            g.im2col(&x, group, &mut cols, 2 * positions, positions);
            let mine = |cols: &[f32]| -> Vec<f32> {
                cols.chunks_exact(2 * positions)
                    .flat_map(|row| row[positions..].to_vec())
                    .collect()
            };
            let left: f32 = mine(&cols).iter().zip(&p).map(|(a, b)| a * b).sum();
            let mut spread = vec![f32::NAN; k * 2 * positions];
            for (row, values) in spread
                .chunks_exact_mut(2 * positions)
                .zip(p.chunks_exact(positions))
            {
                row[positions..].copy_from_slice(values);
            }
            let mut dx = vec![0.0; x.len()];
            g.col2im_add(&spread, 2 * positions, positions, group, &mut dx);
            let right: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
            assert_eq!(left, right, "group {group}");
            // Only the group's channels receive anything.
            let plane = g.height * g.width;
            let others = if group == 0 {
                2 * plane..4 * plane
            } else {
                0..2 * plane
            };
            assert!(dx[others].iter().all(|&v| v == 0.0));
        }
    }
}
