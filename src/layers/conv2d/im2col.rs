//! The patches of a convolution: [`Geometry`] (an input image, the window, the output) and the
//! two copies between an image and its patch matrix, `im2row` and its adjoint `row2im_add`.
//!
//! For output position `p = (oy, ox)` and group `g`, row `p` of the patch matrix holds the
//! `K = (channels / groups) kh kw` input values the window covers, in the order of the weights
//! of one output channel, PyTorch's `(in / groups, kh, kw)`:
//! `patch[p][(c kh + ky) kw + kx] = x[g C_g + c][oy sh + ky dh - pad_top][ox sw + kx dw - pad_left]`,
//! zero where that falls in the padding. A convolution is then a [`Dense`](crate::layers::Dense)
//! product applied to every row: `y[p][o] = b[o] + sum_t patch[p][t] w[o][t]` (Caffe's im2col,
//! Jia 2014, with positions as rows, so that each row is written contiguously).

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

    /// Writes the patch matrix of group `group` of the sample `x` (`input_len` values) into
    /// `patches` (`positions` rows of `patch_len` values, row-major).
    pub(crate) fn im2row(&self, x: &[f32], group: usize, patches: &mut [f32]) {
        let Window {
            kernel: (kh, kw),
            stride: (sh, sw),
            dilation: (dh, dw),
            pad_before: (pt, pl),
            ..
        } = self.window;
        let (h, w) = (self.height, self.width);
        let first = group * self.group_channels();
        let channels = first..first + self.group_channels();
        let mut rows = patches.chunks_exact_mut(self.patch_len());
        for oy in 0..self.out_height {
            for ox in 0..self.out_width {
                let row = rows.next().expect("patches holds positions rows");
                let mut taps = row.iter_mut();
                for c in channels.clone() {
                    let plane = &x[c * h * w..(c + 1) * h * w];
                    for ky in 0..kh {
                        let line = Self::source(oy, ky, sh, dh, pt, h)
                            .map(|iy| &plane[iy * w..(iy + 1) * w]);
                        for kx in 0..kw {
                            let tap = taps.next().expect("a row holds patch_len values");
                            *tap = match (line, Self::source(ox, kx, sw, dw, pl, w)) {
                                (Some(line), Some(ix)) => line[ix],
                                _ => 0.0,
                            };
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of [`im2row`](Self::im2row): adds each value of the patch matrix `patches`
    /// of group `group` to the input place it was read from, in `dx` (`input_len` values);
    /// values that came from the padding are dropped. Places are visited in a fixed order.
    pub(crate) fn row2im_add(&self, patches: &[f32], group: usize, dx: &mut [f32]) {
        let Window {
            kernel: (kh, kw),
            stride: (sh, sw),
            dilation: (dh, dw),
            pad_before: (pt, pl),
            ..
        } = self.window;
        let (h, w) = (self.height, self.width);
        let first = group * self.group_channels();
        let channels = first..first + self.group_channels();
        let mut rows = patches.chunks_exact(self.patch_len());
        for oy in 0..self.out_height {
            for ox in 0..self.out_width {
                let row = rows.next().expect("patches holds positions rows");
                let mut taps = row.iter();
                for c in channels.clone() {
                    let plane = &mut dx[c * h * w..(c + 1) * h * w];
                    for ky in 0..kh {
                        let iy = Self::source(oy, ky, sh, dh, pt, h);
                        for kx in 0..kw {
                            let tap = taps.next().expect("a row holds patch_len values");
                            if let (Some(iy), Some(ix)) = (iy, Self::source(ox, kx, sw, dw, pl, w))
                            {
                                plane[iy * w + ix] += tap;
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
        let mut patches = vec![f32::NAN; 4 * 4];
        g.im2row(&x, 0, &mut patches);
        #[rustfmt::skip]
        assert_eq!(patches, [
            0.0, 0.0, 0.0, 1.0,
            0.0, 0.0, 2.0, 3.0,
            0.0, 4.0, 0.0, 7.0,
            5.0, 6.0, 8.0, 9.0,
        ]);
    }

    #[test]
    fn row2im_is_the_adjoint_of_im2row() {
        // <im2row(x), p> == <x, row2im(p)> for every group, with dilation, stride and padding.
        let window = Window::new("t", (3, 2), (2, 1), (2, 1), (1, 0), (2, 1)).unwrap();
        let g = geometry(window, (4, 7, 5), 2, 2);
        let x: Vec<f32> = (0..g.input_len())
            .map(|i| ((i * 37 % 11) as f32) - 5.0)
            .collect();
        let p: Vec<f32> = (0..g.positions() * g.patch_len())
            .map(|i| ((i * 13 % 7) as f32) - 3.0)
            .collect();
        for group in 0..2 {
            let mut patches = vec![0.0; p.len()];
            g.im2row(&x, group, &mut patches);
            let left: f32 = patches.iter().zip(&p).map(|(a, b)| a * b).sum();
            let mut dx = vec![0.0; x.len()];
            g.row2im_add(&p, group, &mut dx);
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
