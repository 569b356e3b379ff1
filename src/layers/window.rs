//! [`Window`]: a 2-D window sliding over an image (kernel, stride, padding, dilation), shared by
//! [`Conv2d`](super::Conv2d) and the poolings, and the output size it leaves.
//!
//! Output size, from PyTorch's documentation of `nn.Conv2d` and `nn.MaxPool2d` (floor mode):
//! `out = floor((in + pad_before + pad_after - dilation (kernel - 1) - 1) / stride) + 1`,
//! written here for the padding on each side (PyTorch's `padding=p` pads `p` on both sides;
//! `padding='same'` may pad one more after than before).

use super::Shape;
use crate::{Error, Result};

/// A window's settings along both spatial axes, `(height, width)` pairs, checked when made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) kernel: (usize, usize),
    pub(crate) stride: (usize, usize),
    pub(crate) dilation: (usize, usize),
    /// Zeros (or, for pooling, ignored places) before the first row and column.
    pub(crate) pad_before: (usize, usize),
    /// Zeros after the last row and column.
    pub(crate) pad_after: (usize, usize),
}

impl Window {
    /// A window of `kernel` moved by `stride`, its taps `dilation` apart, with `pad_before`
    /// and `pad_after` zeros on each axis; `layer` names it in errors.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a kernel, stride or dilation is 0.
    pub(crate) fn new(
        layer: &'static str,
        kernel: (usize, usize),
        stride: (usize, usize),
        dilation: (usize, usize),
        pad_before: (usize, usize),
        pad_after: (usize, usize),
    ) -> Result<Window> {
        for (name, (h, w)) in [
            ("kernel size", kernel),
            ("stride", stride),
            ("dilation", dilation),
        ] {
            if h == 0 || w == 0 {
                return Err(Error::config(
                    layer,
                    format!("{name} ({h}, {w})"),
                    format!("a {name} of at least 1 along both axes"),
                ));
            }
        }
        // The extent must be countable: dilation (kernel - 1) + 1.
        for (k, d) in [(kernel.0, dilation.0), (kernel.1, dilation.1)] {
            if (k - 1).checked_mul(d).is_none() {
                return Err(Error::config(
                    layer,
                    format!("kernel size {k} with dilation {d}"),
                    "a window whose extent dilation * (kernel - 1) + 1 can be counted",
                ));
            }
        }
        Ok(Window {
            kernel,
            stride,
            dilation,
            pad_before,
            pad_after,
        })
    }

    /// The rows and columns the window spans, `dilation (kernel - 1) + 1` on each axis.
    pub(crate) fn extent(&self) -> (usize, usize) {
        (
            self.dilation.0 * (self.kernel.0 - 1) + 1,
            self.dilation.1 * (self.kernel.1 - 1) + 1,
        )
    }

    /// The output's `(height, width)` for an input of `(height, width)`, by the formula of the
    /// module documentation; `layer` names it in errors.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the window, at its extent, is larger than the padded input
    /// (no output at all) or a padded size cannot be counted.
    pub(crate) fn output(&self, layer: &str, input: (usize, usize)) -> Result<(usize, usize)> {
        let axis = |size: usize, before: usize, after: usize, extent: usize, stride: usize| {
            let padded = size.checked_add(before)?.checked_add(after)?;
            padded.checked_sub(extent).map(|room| room / stride + 1)
        };
        let (eh, ew) = self.extent();
        let height = axis(
            input.0,
            self.pad_before.0,
            self.pad_after.0,
            eh,
            self.stride.0,
        );
        let width = axis(
            input.1,
            self.pad_before.1,
            self.pad_after.1,
            ew,
            self.stride.1,
        );
        match (height, width) {
            (Some(h), Some(w)) => Ok((h, w)),
            _ => Err(Error::shape(
                layer,
                format!(
                    "an input of at least {eh} x {ew} once padded (the window's extent, \
                     dilation * (kernel - 1) + 1), here padded by {:?} before and {:?} after",
                    self.pad_before, self.pad_after
                ),
                format!("{} x {}", input.0, input.1),
            )),
        }
    }
}

/// The shapes of one windowed operation (a convolution, a pooling): input
/// `(channels, height, width)`, the window, the groups and the output
/// `(out_channels, out_height, out_width)`. A pooling has one group per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) channels: usize,
    pub(crate) height: usize,
    pub(crate) width: usize,
    pub(crate) window: Window,
    pub(crate) groups: usize,
    pub(crate) out_channels: usize,
    pub(crate) out_height: usize,
    pub(crate) out_width: usize,
}

impl Geometry {
    /// Output positions per channel, `out_height out_width`.
    pub(crate) fn positions(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Input channels per group.
    pub(crate) fn group_channels(&self) -> usize {
        self.channels / self.groups
    }

    /// Output channels per group.
    pub(crate) fn group_outputs(&self) -> usize {
        self.out_channels / self.groups
    }

    /// Values in one patch (one row of the patch matrix), `(channels / groups) kh kw`.
    pub(crate) fn patch_len(&self) -> usize {
        self.group_channels() * self.window.kernel.0 * self.window.kernel.1
    }

    /// Values in one input sample, `channels height width`.
    pub(crate) fn input_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Values in one output sample, `out_channels out_height out_width`.
    pub(crate) fn output_len(&self) -> usize {
        self.out_channels * self.positions()
    }

    /// The geometry of `layer` with `window` on samples of shape `input`: an image of
    /// `channels` channels when given, split in `groups` groups, into `out_channels` channels.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for a flat input or one of other channels, or a window larger
    /// than the padded input; [`Error::TooLarge`] for an output that cannot be counted.
    pub(crate) fn build(
        layer: &str,
        window: Window,
        input: Shape,
        channels: Option<usize>,
        groups: usize,
        out_channels: usize,
    ) -> Result<Geometry> {
        let expected = || match channels {
            Some(c) => format!("an image of {c} channels"),
            None => "an image".to_string(),
        };
        let Some((c, height, width)) = input.chw() else {
            return Err(Error::shape(
                layer,
                format!(
                    "{}: start the model with Sequential::builder_image",
                    expected()
                ),
                format!("a flat row {input}"),
            ));
        };
        if channels.is_some_and(|expected| expected != c) {
            return Err(Error::shape(layer, expected(), format!("{input}")));
        }
        let (out_height, out_width) = window.output(layer, (height, width))?;
        Shape::image(out_channels, out_height, out_width)?;
        Ok(Geometry {
            channels: c,
            height,
            width,
            window,
            groups,
            out_channels,
            out_height,
            out_width,
        })
    }

    /// The output's shape, `(out_channels, out_height, out_width)`.
    pub(crate) fn output_shape(&self) -> Shape {
        Shape::image(self.out_channels, self.out_height, self.out_width)
            .expect("Geometry::build checked the output's size")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_pytorchs_formula() {
        // torch.nn.Conv2d(1, 1, 5, padding=2)(torch.zeros(1, 1, 28, 28)).shape == (1, 1, 28, 28)
        let w = Window::new("t", (5, 5), (1, 1), (1, 1), (2, 2), (2, 2)).unwrap();
        assert_eq!(w.output("t", (28, 28)).unwrap(), (28, 28));
        // nn.MaxPool2d(2) on 28 x 28: 14 x 14; on 27 x 27: 13 x 13 (floor)
        let pool = Window::new("t", (2, 2), (2, 2), (1, 1), (0, 0), (0, 0)).unwrap();
        assert_eq!(pool.output("t", (28, 27)).unwrap(), (14, 13));
        // nn.Conv2d(1, 1, 3, stride=2, padding=1, dilation=2) on 10 x 7: 4 x 3
        let w = Window::new("t", (3, 3), (2, 2), (2, 2), (1, 1), (1, 1)).unwrap();
        assert_eq!(w.extent(), (5, 5));
        assert_eq!(w.output("t", (10, 7)).unwrap(), (4, 3));
    }

    #[test]
    fn impossible_windows_are_errors() {
        for (k, s, d) in [
            ((0, 1), (1, 1), (1, 1)),
            ((1, 1), (1, 0), (1, 1)),
            ((2, 2), (1, 1), (0, 1)),
        ] {
            assert!(matches!(
                Window::new("t", k, s, d, (0, 0), (0, 0)),
                Err(Error::InvalidConfig { .. })
            ));
        }
        assert!(Window::new("t", (usize::MAX, 1), (1, 1), (2, 1), (0, 0), (0, 0)).is_err());
        let w = Window::new("t", (5, 5), (1, 1), (1, 1), (0, 0), (0, 0)).unwrap();
        let err = w.output("Conv2d", (4, 9)).unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
        let w = Window::new("t", (1, 1), (1, 1), (1, 1), (usize::MAX, 0), (1, 0)).unwrap();
        assert!(w.output("t", (1, 1)).is_err());
    }
}
