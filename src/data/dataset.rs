//! The [`Dataset`] trait: what the training loop needs from a data set, and nothing more.
//!
//! A data set is a list of samples, each an input row and a target row. The training loop asks
//! for batches by row index and the data set writes them into buffers the loop owns, so a data set
//! may keep its samples in any form (bytes for MNIST, `f32` for an in-memory matrix) and convert
//! them only when a batch is needed.

use ndarray::ArrayViewMut2;

/// A source of `(input, target)` rows for training and evaluation.
///
/// Implementors write rows; they never allocate per batch. See [`crate::data::InMemory`] for the
/// simplest implementation and [`crate::data::mnist::LabeledImages`] for one that converts bytes.
pub trait Dataset {
    /// Number of samples.
    fn len(&self) -> usize;

    /// `true` when the data set has no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Width of one input row (784 for MNIST).
    fn input_width(&self) -> usize;

    /// Width of one target row (10 for one-hot MNIST labels).
    fn target_width(&self) -> usize;

    /// Writes the samples at `rows` into `inputs` and `targets`, row `i` of each for `rows[i]`.
    ///
    /// The caller guarantees that `inputs` is `(rows.len(), input_width())`, `targets` is
    /// `(rows.len(), target_width())` and every index is below `len()`.
    ///
    /// # Errors
    /// A data set read from disk as training goes returns its read errors: an
    /// [`Error::DataRead`](crate::Error::DataRead) naming the file and the row (or an
    /// [`Error::Io`](crate::Error::Io)). [`fit`](crate::Sequential::fit) stops on it and
    /// returns it with the epochs completed before it; a data set in memory returns `Ok(())`.
    fn fill_batch(
        &self,
        rows: &[usize],
        inputs: ArrayViewMut2<'_, f32>,
        targets: ArrayViewMut2<'_, f32>,
    ) -> crate::Result<()>;

    /// The class of sample `row` when targets are class labels (one-hot), for accuracy and
    /// confusion matrices. `None` when the data set has no notion of class.
    fn class_of(&self, row: usize) -> Option<usize> {
        let _ = row;
        None
    }
}
