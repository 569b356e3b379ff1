//! [`Table`]: an encoded table, a [`Dataset`] with its encoding and where its rows came from.

use super::encoding::Encoded;
use super::TableEncoding;
use crate::data::{Dataset, InMemory};
use crate::task::Task;
use crate::Result;
use ndarray::{ArrayView2, ArrayViewMut2};

/// A table read by [`CsvReader::read`](super::CsvReader::read) or
/// [`TableEncoding::read`]: encoded inputs and targets (an [`InMemory`] data set), the class
/// index of every row for classification, the line each row was read from, and the encoding.
///
/// As a [`Dataset`] it goes straight to [`fit`](crate::Sequential::fit) and
/// [`evaluate`](crate::Sequential::evaluate), which report accuracy and a confusion matrix for
/// classification ([`class_of`](Dataset::class_of) gives the row's class).
#[derive(Clone, Debug)]
pub struct Table {
    data: InMemory,
    labels: Option<Vec<usize>>,
    lines: Vec<u64>,
    dropped_rows: usize,
    encoding: TableEncoding,
}

impl Table {
    /// The table of `encoded` rows, with the encoding that made them.
    pub(super) fn new(encoded: Encoded, encoding: TableEncoding) -> Table {
        let Encoded {
            data,
            labels,
            lines,
            dropped_rows,
        } = encoded;
        Table {
            data,
            labels,
            lines,
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
        self.labels.as_deref()
    }

    /// The line of the file each row was read from (the header is line 1).
    pub fn lines(&self) -> &[u64] {
        &self.lines
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
        Ok(Table {
            data,
            labels: self
                .labels
                .as_ref()
                .map(|labels| indices.iter().map(|&i| labels[i]).collect()),
            lines: indices.iter().map(|&i| self.lines[i]).collect(),
            dropped_rows: self.dropped_rows,
            encoding: self.encoding.clone(),
        })
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
    ) {
        self.data.fill_batch(rows, inputs, targets);
    }

    fn class_of(&self, row: usize) -> Option<usize> {
        self.labels
            .as_ref()
            .and_then(|labels| labels.get(row).copied())
    }
}
