//! [`Shape`]: what one sample is, a row of features or an image, as the model tracks it from
//! layer to layer.
//!
//! A batch is always a matrix, one row per sample. An image's row holds its values in PyTorch's
//! order, channels, then height, then width (`NCHW` without the `N`): the value of channel `c`
//! at `(y, x)` sits at column `(c * height + y) * width + x`. A [`Flatten`](super::Flatten)
//! therefore moves nothing, and a [`Dense`](super::Dense) after it sees the features in the
//! order `torch.flatten(x, 1)` gives them, so that state dicts carry over both ways.
//!
//! ```
//! use feedforward::layers::Shape;
//!
//! let image = Shape::image(1, 28, 28)?;
//! assert_eq!(image.size(), 784);
//! assert_eq!(image.to_string(), "(1, 28, 28)");
//! assert_eq!(format!("{image:#}"), "(batch, 1, 28, 28)");
//! assert_eq!(Shape::flat(10).to_string(), "(10)");
//! assert_eq!(image.chw(), Some((1, 28, 28)));
//! # Ok::<(), feedforward::Error>(())
//! ```

use crate::{Error, Result};
use std::fmt;

/// The shape of one sample: `features` values, or an image of `(channels, height, width)`.
///
/// Made by [`Shape::flat`] and [`Shape::image`]; every shape's [`size`](Shape::size) fits in a
/// `usize`. Displayed as PyTorch prints a tensor's shape without its batch dimension,
/// `(6, 28, 28)` or `(120)`; with `{:#}`, with it, as the model summary prints it:
/// `(batch, 6, 28, 28)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape(Kind);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Flat(usize),
    Image(usize, usize, usize),
}

impl Shape {
    /// A row of `features` values (what every layer before images knew: a width).
    pub const fn flat(features: usize) -> Shape {
        Shape(Kind::Flat(features))
    }

    /// An image of `channels` planes of `height` rows of `width` values, stored in that order.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a dimension is 0; [`Error::TooLarge`] when
    /// `channels * height * width` values cannot be counted, let alone allocated.
    pub fn image(channels: usize, height: usize, width: usize) -> Result<Shape> {
        if channels == 0 || height == 0 || width == 0 {
            return Err(Error::config(
                "image shape",
                format!("({channels}, {height}, {width})"),
                "channels, height and width of at least 1",
            ));
        }
        let elements = channels
            .checked_mul(height)
            .and_then(|n| n.checked_mul(width))
            .filter(|&n| n <= isize::MAX as usize / std::mem::size_of::<f32>());
        match elements {
            Some(_) => Ok(Shape(Kind::Image(channels, height, width))),
            None => Err(crate::allocation::too_large(
                "an image",
                channels as u128 * height as u128 * width as u128,
                std::mem::size_of::<f32>(),
            )),
        }
    }

    /// The values per sample: the row's width in the batch matrix.
    pub fn size(&self) -> usize {
        match self.0 {
            Kind::Flat(features) => features,
            Kind::Image(c, h, w) => c * h * w,
        }
    }

    /// `(channels, height, width)` for an image, `None` for a flat row.
    pub fn chw(&self) -> Option<(usize, usize, usize)> {
        match self.0 {
            Kind::Flat(_) => None,
            Kind::Image(c, h, w) => Some((c, h, w)),
        }
    }

    /// Whether the sample is an image.
    pub fn is_image(&self) -> bool {
        self.chw().is_some()
    }

    /// The image's channels, or `None` for a flat row.
    pub fn channels(&self) -> Option<usize> {
        self.chw().map(|(c, _, _)| c)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let batch = if f.alternate() { "batch, " } else { "" };
        match self.0 {
            Kind::Flat(n) => write!(f, "({batch}{n})"),
            Kind::Image(c, h, w) => write!(f, "({batch}{c}, {h}, {w})"),
        }
    }
}

/// A size given for both spatial dimensions, `(height, width)`, or one number for both, as
/// PyTorch's `kernel_size=5` or `kernel_size=(5, 3)`.
///
/// ```
/// use feedforward::layers::Pair;
/// assert_eq!(5.pair(), (5, 5));
/// assert_eq!((5, 3).pair(), (5, 3));
/// assert_eq!([2, 1].pair(), (2, 1));
/// ```
pub trait Pair {
    /// `(height, width)`.
    fn pair(self) -> (usize, usize);
}

impl Pair for usize {
    fn pair(self) -> (usize, usize) {
        (self, self)
    }
}

impl Pair for (usize, usize) {
    fn pair(self) -> (usize, usize) {
        self
    }
}

impl Pair for [usize; 2] {
    fn pair(self) -> (usize, usize) {
        (self[0], self[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_count_their_values_and_refuse_impossible_sizes() {
        let s = Shape::image(3, 4, 5).unwrap();
        assert_eq!((s.size(), s.channels(), s.is_image()), (60, Some(3), true));
        assert_eq!(Shape::flat(7).chw(), None);
        assert!(matches!(
            Shape::image(0, 4, 4),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            Shape::image(usize::MAX, 2, 1),
            Err(Error::TooLarge { .. })
        ));
        assert!(matches!(
            Shape::image(1 << 30, 1 << 30, 1 << 4),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn shapes_print_as_pytorch_without_and_with_the_batch() {
        let s = Shape::image(6, 14, 14).unwrap();
        assert_eq!(s.to_string(), "(6, 14, 14)");
        assert_eq!(format!("{s:#}"), "(batch, 6, 14, 14)");
        assert_eq!(format!("{:#}", Shape::flat(120)), "(batch, 120)");
    }
}
