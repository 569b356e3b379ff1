//! Binary and multi-label accuracy: each output thresholded, as Keras' `BinaryAccuracy`.
//!
//! An output `y` predicts "yes" when `y > threshold`: 0.5 on probabilities (after a
//! [`Sigmoid`](crate::layers::Sigmoid)), 0 on logits. A prediction is right when it matches a
//! target of 1 (yes) or 0 (no); a NaN output is never right. [`binary_accuracy`] averages over
//! every element (Keras' `binary_accuracy` over a multi-label batch),
//! [`binary_accuracy_per_output`] gives one accuracy per output column.
//!
//! ```
//! use feedforward::metrics::{binary_accuracy, binary_accuracy_per_output};
//! use feedforward::ndarray::array;
//!
//! let p = array![[0.9f32, 0.2], [0.4, 0.7], [0.6, 0.1]];
//! let t = array![[1.0f32, 0.0], [1.0, 1.0], [0.0, 0.0]];
//! assert_eq!(binary_accuracy(t.view(), p.view(), 0.5)?, 4.0 / 6.0);
//! assert_eq!(binary_accuracy_per_output(t.view(), p.view(), 0.5)?, vec![1.0 / 3.0, 1.0]);
//! # Ok::<(), feedforward::Error>(())
//! ```

use crate::losses::check_shapes;
use crate::{Error, Result};
use ndarray::ArrayView2;

/// Fraction of elements of `outputs` whose thresholded answer equals the 0/1 target, in
/// scikit-learn's argument order `(y_true, y_pred)`.
///
/// # Errors
/// [`Error::Empty`] for no rows, a shape error when the shapes differ, and
/// [`Error::InvalidTarget`] for a target other than 0 or 1.
pub fn binary_accuracy(
    targets: ArrayView2<'_, f32>,
    outputs: ArrayView2<'_, f32>,
    threshold: f32,
) -> Result<f32> {
    let counts = counts(outputs, targets, threshold)?;
    Ok(counts.overall())
}

/// Accuracy of each output column separately (multi-label classification).
///
/// # Errors
/// As [`binary_accuracy`].
pub fn binary_accuracy_per_output(
    targets: ArrayView2<'_, f32>,
    outputs: ArrayView2<'_, f32>,
    threshold: f32,
) -> Result<Vec<f32>> {
    let counts = counts(outputs, targets, threshold)?;
    Ok(counts.per_output())
}

fn counts(
    outputs: ArrayView2<'_, f32>,
    targets: ArrayView2<'_, f32>,
    threshold: f32,
) -> Result<BinaryCounts> {
    check_shapes("binary accuracy", &outputs, &targets, None)?;
    if let Some(((row, column), &value)) =
        targets.indexed_iter().find(|(_, &t)| t != 0.0 && t != 1.0)
    {
        return Err(Error::InvalidTarget {
            loss: "binary accuracy".into(),
            row,
            column,
            value,
            expected: "0 or 1".into(),
        });
    }
    let mut counts = BinaryCounts::new(outputs.ncols(), threshold);
    counts.add(outputs, targets);
    Ok(counts)
}

/// Right answers per output column, fed batch by batch (by
/// [`Sequential::evaluate`](crate::Sequential::evaluate)).
#[derive(Clone, Debug)]
pub(crate) struct BinaryCounts {
    threshold: f32,
    rows: u64,
    correct: Vec<u64>,
}

impl BinaryCounts {
    /// Forgets the rows counted, keeping the buffers (a new epoch).
    pub(crate) fn reset(&mut self) {
        self.rows = 0;
        self.correct.fill(0);
    }

    pub(crate) fn new(outputs: usize, threshold: f32) -> Self {
        BinaryCounts {
            threshold,
            rows: 0,
            correct: vec![0; outputs],
        }
    }

    /// Adds a batch whose targets are all 0 or 1 (checked by the caller).
    pub(crate) fn add(&mut self, outputs: ArrayView2<'_, f32>, targets: ArrayView2<'_, f32>) {
        for (y, t) in outputs.outer_iter().zip(targets.outer_iter()) {
            self.rows += 1;
            for ((correct, &y), &t) in self.correct.iter_mut().zip(&y).zip(&t) {
                // NaN > threshold is false and NaN <= threshold too: never right
                let right = if t == 1.0 {
                    y > self.threshold
                } else {
                    y <= self.threshold
                };
                *correct += u64::from(right);
            }
        }
    }

    pub(crate) fn per_output(&self) -> Vec<f32> {
        let rows = self.rows.max(1) as f64;
        self.correct
            .iter()
            .map(|&c| (c as f64 / rows) as f32)
            .collect()
    }

    /// The counts as numbers, for data-parallel training to add up the processes' counts:
    /// the rows, then the right answers of each output.
    #[cfg(feature = "mpi")]
    pub(crate) fn parts(&self) -> impl Iterator<Item = f64> + '_ {
        std::iter::once(self.rows as f64).chain(self.correct.iter().map(|&c| c as f64))
    }

    /// Adds counts laid out by [`parts`](BinaryCounts::parts) (exact below 2^53).
    #[cfg(feature = "mpi")]
    pub(crate) fn add_parts(&mut self, parts: &[f64]) {
        self.rows += parts[0] as u64;
        for (c, &p) in self.correct.iter_mut().zip(&parts[1..]) {
            *c += p as u64;
        }
    }

    pub(crate) fn overall(&self) -> f32 {
        let total = (self.rows * self.correct.len() as u64).max(1) as f64;
        (self.correct.iter().sum::<u64>() as f64 / total) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn logits_threshold_at_zero_and_nan_is_never_right() {
        let z = array![[2.0f32], [-1.0], [f32::NAN], [f32::NAN], [0.0]];
        let t = array![[1.0f32], [0.0], [1.0], [0.0], [1.0]];
        assert_eq!(binary_accuracy(t.view(), z.view(), 0.0).unwrap(), 0.4);
    }

    #[test]
    fn soft_targets_are_an_error() {
        let p = array![[0.9f32]];
        assert!(matches!(
            binary_accuracy(array![[0.7f32]].view(), p.view(), 0.5),
            Err(Error::InvalidTarget { .. })
        ));
    }
}
