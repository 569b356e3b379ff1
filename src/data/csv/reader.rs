//! [`CsvReader`]: the settings of reading a CSV file into a [`Table`](super::Table) (target
//! columns, task, missing values, unknown categories, delimiter, categorical and ignored
//! columns), and the choices they take ([`Missing`], [`UnknownCategory`]).
//! [`read`](CsvReader::read) itself is in `read.rs`.

use crate::task::Task;
#[cfg(doc)]
use crate::Error;
use serde::{Deserialize, Serialize};

/// What to do with a row that has a missing cell in a column that is used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Missing {
    /// Fail with an [`Error::Table`] naming the file, the line and the column (the default).
    #[default]
    Error,
    /// Leave the row out and count it ([`Table::dropped_rows`](super::Table::dropped_rows)), as pandas' `dropna()`.
    DropRows,
}

/// What the encoding does with a category of a feature column that the training data did not
/// have, as `handle_unknown` of scikit-learn's `OneHotEncoder`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnknownCategory {
    /// Fail with an [`Error::Table`] naming the cell (scikit-learn's default, `"error"`).
    #[default]
    Error,
    /// Encode it as all zeros (`"ignore"`).
    Ignore,
}

/// Reads a CSV file into a [`Table`](super::Table); the settings are chained before [`read`](CsvReader::read).
///
/// ```
/// use feedforward::data::csv::{CsvReader, Missing, Task};
/// let reader = CsvReader::new()
///     .target("price")
///     .task(Task::Regression)
///     .missing(Missing::DropRows)
///     .categorical("zip_code")
///     .ignore("id");
/// # let _ = reader;
/// ```
#[derive(Clone, Debug)]
pub struct CsvReader {
    pub(super) targets: Vec<String>,
    pub(super) task: Option<Task>,
    pub(super) missing: Missing,
    pub(super) unknown: UnknownCategory,
    pub(super) delimiter: u8,
    pub(super) categorical: Vec<String>,
    pub(super) ignored: Vec<String>,
    pub(super) max_categories: usize,
}

/// The most categories a text feature (or classes a target) may have unless
/// [`CsvReader::max_categories`] says otherwise: each category is an input column of the
/// one-hot encoding, so a column of identifiers (as many values as rows) would make a matrix of
/// rows x rows numbers.
pub const DEFAULT_MAX_CATEGORIES: usize = 1000;

impl Default for CsvReader {
    fn default() -> Self {
        CsvReader::new()
    }
}

impl CsvReader {
    /// A reader with no target yet, comma-separated, failing on missing values and unknown
    /// categories, guessing the task.
    pub fn new() -> Self {
        CsvReader {
            targets: Vec::new(),
            task: None,
            missing: Missing::Error,
            unknown: UnknownCategory::Error,
            delimiter: b',',
            categorical: Vec::new(),
            ignored: Vec::new(),
            max_categories: DEFAULT_MAX_CATEGORIES,
        }
    }

    /// Adds a target column, by its name in the header. Call it several times for
    /// multi-output regression.
    pub fn target(mut self, column: impl Into<String>) -> Self {
        self.targets.push(column.into());
        self
    }

    /// Sets the task instead of guessing it from the target column.
    pub fn task(mut self, task: Task) -> Self {
        self.task = Some(task);
        self
    }

    /// What to do with rows that have a missing cell (see [`Missing`]).
    pub fn missing(mut self, missing: Missing) -> Self {
        self.missing = missing;
        self
    }

    /// What the encoding does, on later files and rows, with a category it has not seen.
    pub fn unknown_categories(mut self, unknown: UnknownCategory) -> Self {
        self.unknown = unknown;
        self
    }

    /// The field delimiter (`b','` by default; `b';'` or `b'\t'` for other files).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// One-hot encodes the feature `column` even if its cells are numbers (codes, postcodes).
    pub fn categorical(mut self, column: impl Into<String>) -> Self {
        self.categorical.push(column.into());
        self
    }

    /// Leaves `column` out of the features (an identifier, say).
    pub fn ignore(mut self, column: impl Into<String>) -> Self {
        self.ignored.push(column.into());
        self
    }

    /// The most categories one text feature may have, and classes the target
    /// ([`DEFAULT_MAX_CATEGORIES`] unless set): a column with more is an [`Error::Table`]
    /// naming it, rather than a one-hot block as wide as the column has values.
    pub fn max_categories(mut self, max: usize) -> Self {
        self.max_categories = max;
        self
    }
}
