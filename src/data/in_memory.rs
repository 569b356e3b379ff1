//! [`InMemory`]: a data set held as two `f32` matrices, inputs and targets.
//!
//! ```
//! use feedforward::data::{Dataset, InMemory};
//! use feedforward::ndarray::array;
//!
//! // the tutorial's regression data: y = 2x + 1
//! let x = array![[0.1f32], [0.9]];
//! let data = InMemory::new(x.clone(), x.mapv(|v| 2.0 * v + 1.0)).unwrap();
//! assert_eq!((data.len(), data.input_width(), data.target_width()), (2, 1, 1));
//! ```

use super::{one_hot, Dataset};
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};

/// Inputs `(n, in)` and targets `(n, out)` in memory, one row per sample.
#[derive(Clone, Debug)]
pub struct InMemory {
    inputs: Array2<f32>,
    targets: Array2<f32>,
}

impl InMemory {
    /// A data set from matching input and target rows.
    ///
    /// # Errors
    /// [`Error::Empty`] without rows or columns, [`Error::RowCountMismatch`] when the row counts
    /// differ.
    pub fn new(inputs: Array2<f32>, targets: Array2<f32>) -> Result<Self> {
        if inputs.nrows() != targets.nrows() {
            return Err(Error::RowCountMismatch {
                inputs: inputs.nrows(),
                targets: targets.nrows(),
            });
        }
        if inputs.is_empty() || targets.is_empty() {
            return Err(Error::Empty {
                what: "data set".into(),
                hint: "give at least one row, with at least one input and one target column".into(),
            });
        }
        // Matrices already in row-major order are kept, not copied (a copy would double the
        // peak memory of reading a large table).
        let standard = |m: Array2<f32>| match m.is_standard_layout() {
            true => m,
            false => m.as_standard_layout().into_owned(),
        };
        Ok(InMemory {
            inputs: standard(inputs),
            targets: standard(targets),
        })
    }

    /// A classification data set: inputs and class labels, one-hot encoded over `classes`.
    ///
    /// # Errors
    /// As [`InMemory::new`] and [`one_hot`].
    pub fn classification(inputs: Array2<f32>, labels: &[usize], classes: usize) -> Result<Self> {
        Self::new(inputs, one_hot(labels, classes)?)
    }

    /// The inputs.
    pub fn inputs(&self) -> ArrayView2<'_, f32> {
        self.inputs.view()
    }

    /// The targets.
    pub fn targets(&self) -> ArrayView2<'_, f32> {
        self.targets.view()
    }

    /// The rows at `indices`, as a new data set (for a train/test split).
    ///
    /// # Errors
    /// [`Error::Empty`] for no indices; [`Error::InvalidConfig`] for an index out of range.
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::config(
                "row index",
                bad,
                format!("an index below {}", self.len()),
            ));
        }
        Self::new(
            self.inputs.select(Axis(0), indices),
            self.targets.select(Axis(0), indices),
        )
    }
}

impl Dataset for InMemory {
    fn len(&self) -> usize {
        self.inputs.nrows()
    }

    fn input_width(&self) -> usize {
        self.inputs.ncols()
    }

    fn target_width(&self) -> usize {
        self.targets.ncols()
    }

    fn fill_batch(
        &self,
        rows: &[usize],
        mut inputs: ArrayViewMut2<'_, f32>,
        mut targets: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        for (i, &row) in rows.iter().enumerate() {
            inputs.row_mut(i).assign(&self.inputs.row(row));
            targets.row_mut(i).assign(&self.targets.row(row));
        }
        Ok(())
    }

    fn class_of(&self, row: usize) -> Option<usize> {
        if self.targets.ncols() < 2 {
            return None;
        }
        Some(crate::metrics::argmax(self.targets.row(row)))
    }
}
