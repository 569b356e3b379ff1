//! Multi-class metrics: [`argmax`], [`accuracy`] and the [`ConfusionMatrix`].

use crate::{Error, Result};
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use std::fmt;

/// Index of the largest value of `row` (the first one on ties, as `np.argmax`); 0 when empty.
pub fn argmax(row: ArrayView1<'_, f32>) -> usize {
    let mut best = 0;
    let mut best_value = f32::NEG_INFINITY;
    for (i, &v) in row.iter().enumerate() {
        if v > best_value {
            best = i;
            best_value = v;
        }
    }
    best
}

/// Fraction of rows of `predictions` whose argmax equals the label, the tutorial's
/// `np.mean(np.argmax(p, axis=1) == labels)`.
///
/// ```
/// use feedforward::metrics::accuracy;
/// let p = ndarray::array![[0.1f32, 0.9], [0.8, 0.2], [0.3, 0.7]];
/// assert_eq!(accuracy(p.view(), &[1, 0, 0]).unwrap(), 2.0 / 3.0);
/// ```
///
/// # Errors
/// [`Error::RowCountMismatch`] when the counts differ, [`Error::Empty`] for no rows.
pub fn accuracy(predictions: ArrayView2<'_, f32>, labels: &[usize]) -> Result<f32> {
    if predictions.nrows() != labels.len() {
        return Err(Error::RowCountMismatch {
            inputs: predictions.nrows(),
            targets: labels.len(),
        });
    }
    if labels.is_empty() {
        return Err(Error::Empty {
            what: "predictions".into(),
            hint: "accuracy needs at least one row".into(),
        });
    }
    let correct = predictions
        .axis_iter(Axis(0))
        .zip(labels)
        .filter(|(row, &label)| argmax(row.view()) == label)
        .count();
    Ok(correct as f32 / labels.len() as f32)
}

/// Counts of (actual class, predicted class) pairs: row = actual, column = predicted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    counts: Array2<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix for `classes` classes.
    pub fn new(classes: usize) -> Self {
        ConfusionMatrix {
            counts: Array2::zeros((classes, classes)),
        }
    }

    /// Counts one sample; pairs outside the matrix are ignored and reported as `false`.
    pub fn add(&mut self, actual: usize, predicted: usize) -> bool {
        match self.counts.get_mut([actual, predicted]) {
            Some(c) => {
                *c += 1;
                true
            }
            None => false,
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.counts.nrows()
    }

    /// The counts, `(actual, predicted)`.
    pub fn counts(&self) -> &Array2<u64> {
        &self.counts
    }

    /// Number of samples counted.
    pub fn total(&self) -> u64 {
        self.counts.sum()
    }

    /// Fraction on the diagonal (0 when empty).
    pub fn accuracy(&self) -> f64 {
        ratio(self.counts.diag().sum(), self.total())
    }

    /// Of the samples predicted as `class`, the fraction that are (0 when none).
    pub fn precision(&self, class: usize) -> f64 {
        ratio(self.counts[[class, class]], self.counts.column(class).sum())
    }

    /// Of the samples of `class`, the fraction predicted as such (0 when none).
    pub fn recall(&self, class: usize) -> f64 {
        ratio(self.counts[[class, class]], self.counts.row(class).sum())
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl fmt::Display for ConfusionMatrix {
    /// A table: one row per actual class, one column per predicted class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .counts
            .iter()
            .max()
            .map_or(1, |m| m.to_string().len())
            .max(3);
        write!(f, "{:>8}", "actual\\")?;
        for c in 0..self.classes() {
            write!(f, " {c:>width$}")?;
        }
        writeln!(f)?;
        for (a, row) in self.counts.axis_iter(Axis(0)).enumerate() {
            write!(f, "{a:>8}")?;
            for n in row {
                write!(f, " {n:>width$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_matrix_counts_and_rates() {
        let mut m = ConfusionMatrix::new(3);
        for (a, p) in [(0, 0), (0, 1), (1, 1), (2, 2), (2, 1)] {
            assert!(m.add(a, p));
        }
        assert!(!m.add(3, 0));
        assert_eq!(m.total(), 5);
        assert_eq!(m.accuracy(), 0.6);
        assert_eq!(m.precision(1), 1.0 / 3.0);
        assert_eq!(m.recall(0), 0.5);
        assert_eq!(m.recall(1), 1.0);
        assert!(m.to_string().contains("actual"));
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(ndarray::array![1.0, 3.0, 3.0].view()), 1);
    }
}
