//! [`Subset`]: some rows of another data set, without copying them.
//!
//! Used to hold out a validation fraction of a training set; the rows stay where they are and
//! batches are read through an index map.

use super::Dataset;
use crate::{Error, Result};
use ndarray::ArrayViewMut2;
use std::cell::RefCell;

/// The rows `rows` of `data`, in that order, as a data set of its own.
pub struct Subset<'a> {
    data: &'a dyn Dataset,
    rows: Vec<usize>,
    /// Row indices of the batch being read, mapped into `data`; reused from batch to batch.
    mapped: RefCell<Vec<usize>>,
}

impl<'a> Subset<'a> {
    /// A view of `rows` of `data`.
    ///
    /// ```
    /// use feedforward::data::{Dataset, InMemory, Subset};
    /// let data = InMemory::new(feedforward::ndarray::array![[1.0f32], [2.0], [3.0]], feedforward::ndarray::array![[0.0f32], [1.0], [0.0]])?;
    /// let tail = Subset::new(&data, vec![1, 2])?;
    /// assert_eq!(tail.len(), 2);
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Empty`] for no rows, [`Error::InvalidConfig`] for a row out of range.
    pub fn new(data: &'a dyn Dataset, rows: Vec<usize>) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::Empty {
                what: "subset".into(),
                hint: "select at least one row".into(),
            });
        }
        if let Some(&bad) = rows.iter().find(|&&r| r >= data.len()) {
            return Err(Error::config(
                "row index",
                bad,
                format!("an index below {}", data.len()),
            ));
        }
        Ok(Subset {
            data,
            rows,
            mapped: RefCell::new(Vec::new()),
        })
    }
}

impl Dataset for Subset<'_> {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn input_width(&self) -> usize {
        self.data.input_width()
    }

    fn target_width(&self) -> usize {
        self.data.target_width()
    }

    fn fill_batch(
        &self,
        rows: &[usize],
        inputs: ArrayViewMut2<'_, f32>,
        targets: ArrayViewMut2<'_, f32>,
    ) -> crate::Result<()> {
        let mut mapped = self.mapped.borrow_mut();
        mapped.clear();
        mapped.extend(rows.iter().map(|&r| self.rows[r]));
        self.data.fill_batch(&mapped, inputs, targets)
    }

    fn class_of(&self, row: usize) -> Option<usize> {
        self.data.class_of(self.rows[row])
    }
}
