//! One-hot encoding of class labels, the tutorial's `OneHotEncoder`.

use crate::{Error, Result};
use ndarray::Array2;

/// Encodes `labels` as rows of `classes` columns with a single 1 at the label's column.
///
/// ```
/// use feedforward::data::one_hot;
/// assert_eq!(one_hot(&[2, 0], 3).unwrap(), feedforward::ndarray::array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]);
/// ```
///
/// # Errors
/// [`Error::Empty`] for no labels or no classes, [`Error::LabelOutOfRange`] for a label
/// `>= classes`, [`Error::TooLarge`] when the matrix cannot be allocated.
pub fn one_hot(labels: &[usize], classes: usize) -> Result<Array2<f32>> {
    if labels.is_empty() || classes == 0 {
        return Err(Error::Empty {
            what: "one-hot input".into(),
            hint: "give at least one label and one class".into(),
        });
    }
    if let Some((row, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
        return Err(Error::LabelOutOfRange {
            label,
            row,
            classes,
        });
    }
    let mut encoded: Array2<f32> =
        crate::allocation::filled("one-hot targets", labels.len(), classes, 0.0)?;
    for (row, &label) in labels.iter().enumerate() {
        encoded[[row, label]] = 1.0;
    }
    Ok(encoded)
}
