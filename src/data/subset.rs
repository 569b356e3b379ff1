//! [`Subset`]: some rows of another data set, without copying them.
//!
//! Used to hold out a validation fraction of a training set; the rows stay where they are and
//! batches are read through an index map.

use super::Dataset;
use crate::{Error, Result};
use ndarray::ArrayViewMut2;
use std::cell::RefCell;

/// Which rows of the data set a subset holds.
enum Rows {
    /// Any rows, listed (8 bytes a row).
    List(Vec<usize>),
    /// The rows `start..end`: nothing held.
    Range(std::ops::Range<usize>),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Rows::List(rows) => rows.len(),
            Rows::Range(range) => range.len(),
        }
    }

    /// The data set's row for the subset's row `r`.
    fn get(&self, r: usize) -> usize {
        match self {
            Rows::List(rows) => rows[r],
            Rows::Range(range) => range.start + r,
        }
    }
}

/// The rows `rows` of `data`, in that order, as a data set of its own.
pub struct Subset<'a> {
    data: &'a dyn Dataset,
    rows: Rows,
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
            rows: Rows::List(rows),
            mapped: RefCell::new(Vec::new()),
        })
    }

    /// A view of the contiguous rows `rows` of `data`, holding no list of them (what a
    /// validation fraction holds out of 20,000,000 rows would otherwise take 160 MB).
    ///
    /// ```
    /// use feedforward::data::{Dataset, InMemory, Subset};
    /// let data = InMemory::new(feedforward::ndarray::array![[1.0f32], [2.0], [3.0]], feedforward::ndarray::array![[0.0f32], [1.0], [0.0]])?;
    /// let tail = Subset::range(&data, 1..3)?;
    /// assert_eq!((tail.len(), tail.class_of(0)), (2, None));
    /// let (mut x, mut y) = (feedforward::ndarray::Array2::zeros((1, 1)), feedforward::ndarray::Array2::zeros((1, 1)));
    /// tail.fill_batch(&[1], x.view_mut(), y.view_mut())?;
    /// assert_eq!((x[[0, 0]], y[[0, 0]]), (3.0, 0.0));
    /// assert!(Subset::range(&data, 2..4).is_err());
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Empty`] for no rows, [`Error::InvalidConfig`] for rows out of range.
    pub fn range(data: &'a dyn Dataset, rows: std::ops::Range<usize>) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::Empty {
                what: "subset".into(),
                hint: "select at least one row".into(),
            });
        }
        if rows.end > data.len() {
            return Err(Error::config(
                "row index",
                rows.end - 1,
                format!("an index below {}", data.len()),
            ));
        }
        Ok(Subset {
            data,
            rows: Rows::Range(rows),
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
        mapped.extend(rows.iter().map(|&r| self.rows.get(r)));
        self.data.fill_batch(&mapped, inputs, targets)
    }

    fn class_of(&self, row: usize) -> Option<usize> {
        self.data.class_of(self.rows.get(row))
    }
}
