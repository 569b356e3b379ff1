//! [`Table`]: an encoded table, a [`Dataset`] with its encoding and where its rows came from.

use super::encoding::Encoded;
use super::lines::Lines;
use super::TableEncoding;
use crate::data::{Dataset, InMemory};
use crate::task::Task;
use crate::Result;
use ndarray::{ArrayView2, ArrayViewMut2};
use std::sync::OnceLock;

/// A table read by [`CsvReader::read`](super::CsvReader::read) or
/// [`TableEncoding::read`]: encoded inputs and targets (an [`InMemory`] data set), the class
/// index of every row for classification, the line each row was read from, and the encoding.
///
/// As a [`Dataset`] it goes straight to [`fit`](crate::Sequential::fit) and
/// [`evaluate`](crate::Sequential::evaluate), which report accuracy and a confusion matrix for
/// classification ([`class_of`](Dataset::class_of) gives the row's class).
///
/// The class indices and the lines are worked out when first asked for (from the one-hot
/// targets, and from where the line numbering jumps), so that a table holds its two `f32`
/// matrices and little else.
#[derive(Clone, Debug)]
pub struct Table {
    data: InMemory,
    labels: OnceLock<Vec<usize>>,
    lines: Lines,
    all_lines: OnceLock<Vec<u64>>,
    dropped_rows: usize,
    encoding: TableEncoding,
}

impl Table {
    /// The table of `encoded` rows, with the encoding that made them.
    pub(super) fn new(encoded: Encoded, encoding: TableEncoding) -> Table {
        let Encoded {
            data,
            lines,
            dropped_rows,
        } = encoded;
        Table {
            data,
            labels: OnceLock::new(),
            lines,
            all_lines: OnceLock::new(),
            dropped_rows,
            encoding,
        }
    }

    /// The encoded inputs, `(rows, encoding().input_width())`.
    pub fn inputs(&self) -> ArrayView2<'_, f32> {
        self.data.inputs()
    }

    /// The encoded targets, `(rows, encoding().target_width())`: one-hot over the classes for
    /// classification, the target values for regression.
    pub fn targets(&self) -> ArrayView2<'_, f32> {
        self.data.targets()
    }

    /// The class index of every row (into [`TableEncoding::classes`]), for classification.
    pub fn labels(&self) -> Option<&[usize]> {
        if self.task() != Task::Classification {
            return None;
        }
        let labels = self
            .labels
            .get_or_init(|| (0..self.len()).filter_map(|r| self.class_of(r)).collect());
        Some(labels)
    }

    /// The line of the file each row was read from (the header is line 1).
    pub fn lines(&self) -> &[u64] {
        self.all_lines.get_or_init(|| self.lines.to_vec())
    }

    /// How many rows of the file were left out for missing cells
    /// ([`Missing::DropRows`](super::Missing::DropRows)).
    pub fn dropped_rows(&self) -> usize {
        self.dropped_rows
    }

    /// The encoding, to read a test file or new rows the same way.
    pub fn encoding(&self) -> &TableEncoding {
        &self.encoding
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        self.encoding.task()
    }

    /// The inputs and targets as an [`InMemory`] data set.
    pub fn data(&self) -> &InMemory {
        &self.data
    }

    /// The rows at `indices`, in that order, as a table of their own (a training or a test
    /// part; see [`train_test_split`](crate::data::train_test_split) and
    /// [`stratified_train_test_split`](crate::data::stratified_train_test_split)).
    ///
    /// # Errors
    /// [`Error::Empty`](crate::Error::Empty) for no indices;
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for an index out of range.
    pub fn select(&self, indices: &[usize]) -> Result<Table> {
        let data = self.data.select(indices)?;
        let mut lines = Lines::default();
        for &i in indices {
            lines.push(self.lines.get(i));
        }
        let encoded = Encoded {
            data,
            lines,
            dropped_rows: self.dropped_rows,
        };
        Ok(Table::new(encoded, self.encoding.clone()))
    }
}

impl Dataset for Table {
    fn len(&self) -> usize {
        self.data.len()
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
    ) -> Result<()> {
        self.data.fill_batch(rows, inputs, targets)
    }

    fn class_of(&self, row: usize) -> Option<usize> {
        match self.task() {
            // The targets are one-hot: the class is where the 1 is.
            Task::Classification if row < self.len() => {
                Some(crate::metrics::argmax(self.data.targets().row(row)))
            }
            _ => None,
        }
    }
}
