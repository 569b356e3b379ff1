//! Multi-class metrics: [`argmax`], [`accuracy`] and the [`ConfusionMatrix`].

use crate::{Error, Result};
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use std::fmt;

/// Index of the largest value of `row` (the first one on ties, as `np.argmax`); 0 when empty.
/// NaN values never win, and a row of NaN gives 0: to score predictions, use
/// [`predicted_class`], which refuses a row with a non-finite value.
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

/// The class a model's output row predicts: its [`argmax`], or `None` when the row is empty or
/// holds a NaN or infinite value (a diverged model predicts nothing, and never class 0).
///
/// ```
/// use feedforward::metrics::predicted_class;
/// assert_eq!(predicted_class(feedforward::ndarray::array![0.1f32, 0.7, 0.2].view()), Some(1));
/// assert_eq!(predicted_class(feedforward::ndarray::array![f32::NAN, 0.0].view()), None);
/// ```
pub fn predicted_class(row: ArrayView1<'_, f32>) -> Option<usize> {
    if row.is_empty() || row.iter().any(|v| !v.is_finite()) {
        None
    } else {
        Some(argmax(row))
    }
}

/// Fraction of rows of `predictions` whose argmax equals the label, the tutorial's
/// `np.mean(np.argmax(p, axis=1) == labels)`; a row with a NaN or infinite value counts as
/// wrong (see [`predicted_class`]).
///
/// ```
/// use feedforward::metrics::accuracy;
/// let p = feedforward::ndarray::array![[0.1f32, 0.9], [0.8, 0.2], [0.3, 0.7]];
/// assert_eq!(accuracy(&[1, 0, 0], p.view()).unwrap(), 2.0 / 3.0);
/// ```
///
/// # Errors
/// [`Error::RowCountMismatch`] when the counts differ, [`Error::Empty`] for no rows.
pub fn accuracy(labels: &[usize], predictions: ArrayView2<'_, f32>) -> Result<f32> {
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
        .filter(|(row, &label)| predicted_class(row.view()) == Some(label))
        .count();
    Ok(correct as f32 / labels.len() as f32)
}

/// Counts of (actual class, predicted class) pairs: row = actual, column = predicted; and, per
/// actual class, the samples for which the model predicted nothing (a NaN or infinite output,
/// see [`predicted_class`]), which count as wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    counts: Array2<u64>,
    unpredicted: Vec<u64>,
}

impl ConfusionMatrix {
    /// Forgets every count, keeping the matrix (a new epoch).
    pub(crate) fn reset(&mut self) {
        self.counts.fill(0);
        self.unpredicted.fill(0);
    }

    /// An empty matrix for `classes` classes.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when `classes x classes` counts cannot be allocated.
    pub fn new(classes: usize) -> Result<Self> {
        Ok(ConfusionMatrix {
            counts: crate::allocation::filled("confusion matrix", classes, classes, 0)?,
            unpredicted: crate::allocation::filled_vec("confusion matrix", classes, 0)?,
        })
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

    /// Counts one sample of class `actual` with the prediction of [`predicted_class`]: `None`
    /// (no prediction) counts as wrong. Classes outside the matrix are ignored and reported as
    /// `false`.
    pub fn add_prediction(&mut self, actual: usize, predicted: Option<usize>) -> bool {
        match predicted {
            Some(predicted) => self.add(actual, predicted),
            None => match self.unpredicted.get_mut(actual) {
                Some(c) => {
                    *c += 1;
                    true
                }
                None => false,
            },
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

    /// Per actual class, the samples for which the model predicted nothing (non-finite output).
    pub fn unpredicted(&self) -> &[u64] {
        &self.unpredicted
    }

    /// Number of samples counted, those without a prediction included.
    pub fn total(&self) -> u64 {
        self.counts.sum() + self.unpredicted.iter().sum::<u64>()
    }

    /// Fraction on the diagonal (0 when empty); samples without a prediction are wrong.
    pub fn accuracy(&self) -> f64 {
        ratio(self.counts.diag().sum(), self.total())
    }

    /// Of the samples predicted as `class`, the fraction that are (0 when none).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `class` is not below [`classes`](Self::classes).
    pub fn precision(&self, class: usize) -> Result<f64> {
        self.check_class(class)?;
        Ok(ratio(
            self.counts[[class, class]],
            self.counts.column(class).sum(),
        ))
    }

    /// Of the samples of `class`, the fraction predicted as such (0 when none); those without
    /// a prediction count as missed.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `class` is not below [`classes`](Self::classes).
    pub fn recall(&self, class: usize) -> Result<f64> {
        self.check_class(class)?;
        Ok(ratio(
            self.counts[[class, class]],
            self.counts.row(class).sum() + self.unpredicted[class],
        ))
    }

    fn check_class(&self, class: usize) -> Result<()> {
        if class < self.classes() {
            Ok(())
        } else {
            Err(Error::config(
                "class",
                class,
                format!("a class below {}", self.classes()),
            ))
        }
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
        let unpredicted: u64 = self.unpredicted.iter().sum();
        if unpredicted > 0 {
            writeln!(
                f,
                "{unpredicted} sample(s) without a prediction (NaN or infinite output)"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_matrix_counts_and_rates() {
        let mut m = ConfusionMatrix::new(3).unwrap();
        for (a, p) in [(0, 0), (0, 1), (1, 1), (2, 2), (2, 1)] {
            assert!(m.add(a, p));
        }
        assert!(!m.add(3, 0));
        assert_eq!(m.total(), 5);
        assert_eq!(m.accuracy(), 0.6);
        assert_eq!(m.precision(1).unwrap(), 1.0 / 3.0);
        assert_eq!(m.recall(0).unwrap(), 0.5);
        assert_eq!(m.recall(1).unwrap(), 1.0);
        assert!(m.to_string().contains("actual"));
        // out of range: an error, not a panic
        assert!(matches!(m.precision(3), Err(Error::InvalidConfig { .. })));
        assert!(matches!(m.recall(7), Err(Error::InvalidConfig { .. })));
        assert!(matches!(
            ConfusionMatrix::new(usize::MAX),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn a_sample_without_prediction_is_wrong() {
        let mut m = ConfusionMatrix::new(2).unwrap();
        assert!(m.add_prediction(0, Some(0)));
        assert!(m.add_prediction(0, None));
        assert!(!m.add_prediction(5, None));
        assert_eq!((m.total(), m.accuracy()), (2, 0.5));
        assert_eq!(m.recall(0).unwrap(), 0.5);
        assert_eq!(m.precision(0).unwrap(), 1.0);
        assert_eq!(m.unpredicted(), [1, 0]);
        assert!(m.to_string().contains("1 sample(s) without a prediction"));
        let p = ndarray::array![[f32::NAN, f32::NAN], [0.0, 1.0], [0.4, f32::INFINITY]];
        assert_eq!(accuracy(&[0, 1, 1], p.view()).unwrap(), 1.0 / 3.0);
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(ndarray::array![1.0, 3.0, 3.0].view()), 1);
    }
}
