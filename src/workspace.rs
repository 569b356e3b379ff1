//! [`Buffer`]: a reusable 2-D `f32` matrix that keeps its allocation between batches.
//!
//! The model owns one buffer per activation and two for gradients. Each training step reshapes
//! them to the batch at hand; since a `Vec` never gives back capacity, a warm training step
//! allocates nothing, even when the last batch of an epoch is smaller.

use crate::Result;
use ndarray::{ArrayView2, ArrayViewMut2};

/// A row-major `rows x cols` matrix backed by a `Vec<f32>` that only ever grows.
#[derive(Clone, Debug, Default)]
pub(crate) struct Buffer {
    data: Vec<f32>,
    rows: usize,
    cols: usize,
}

impl Buffer {
    /// Reshapes to `rows x cols`, reusing the allocation when it is large enough. The contents
    /// are unspecified: every user overwrites them.
    pub(crate) fn reshape(&mut self, rows: usize, cols: usize) {
        let len = rows * cols;
        if self.data.len() < len {
            self.data.resize(len, 0.0);
        }
        self.rows = rows;
        self.cols = cols;
    }

    /// As [`reshape`](Buffer::reshape), but a size that cannot be allocated is
    /// [`Error::TooLarge`](crate::Error::TooLarge) naming `what` (nothing changed) instead of
    /// an abort: for buffers whose size comes from the user's row count.
    pub(crate) fn try_reshape(&mut self, what: &str, rows: usize, cols: usize) -> Result<()> {
        let too_large = || crate::allocation::too_large(what, rows as u128 * cols as u128, 4);
        let len = rows
            .checked_mul(cols)
            .filter(|&len| len <= isize::MAX as usize / 4)
            .ok_or_else(too_large)?;
        if self.data.len() < len {
            self.data
                .try_reserve_exact(len - self.data.len())
                .map_err(|_| too_large())?;
        }
        self.reshape(rows, cols);
        Ok(())
    }

    /// The matrix, read-only.
    pub(crate) fn view(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.rows, self.cols), &self.data[..self.rows * self.cols])
            .expect("buffer length covers its shape")
    }

    /// The matrix, writable.
    pub(crate) fn view_mut(&mut self) -> ArrayViewMut2<'_, f32> {
        let len = self.rows * self.cols;
        ArrayViewMut2::from_shape((self.rows, self.cols), &mut self.data[..len])
            .expect("buffer length covers its shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_keeps_capacity() {
        let mut b = Buffer::default();
        b.reshape(32, 10);
        let cap = b.data.capacity();
        b.reshape(16, 10);
        assert_eq!(b.view().dim(), (16, 10));
        b.reshape(32, 10);
        assert_eq!(b.data.capacity(), cap);
        assert_eq!(b.view_mut().dim(), (32, 10));
    }
}
