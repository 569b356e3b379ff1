//! Tables from CSV files: a header row, a target column chosen by name, every other column a
//! feature, encoded as scikit-learn's transformers would.
//!
//! [`CsvReader::read`] reads a file into a [`Table`], a [`Dataset`](crate::data::Dataset) that
//! [`fit`](crate::Sequential::fit) and [`evaluate`](crate::Sequential::evaluate) take, and
//! learns a [`TableEncoding`] from it that reads other files (a test set) or new rows the same
//! way, as a scikit-learn transformer fitted on the training data and applied to the test data:
//!
//! | column | encoded as | as scikit-learn's |
//! | --- | --- | --- |
//! | a feature whose cells are all numbers | one `f32` column | (passed through) |
//! | a feature with text (or declared [`categorical`](CsvReader::categorical)) | one 0/1 column per category, categories sorted | `OneHotEncoder()` |
//! | the target, for classification | one-hot over the classes, sorted (text by code point, numbers by value); [`Table::labels`] gives the class indices | `LabelEncoder()` |
//! | the target(s), for regression | one `f32` column each (several for multi-output regression) | (passed through) |
//!
//! Empty cells and pandas' missing-value markers (`NA`, `N/A`, `NaN`, `null`, ...: see
//! [`MISSING_MARKERS`]) are an [`Error::Table`] naming the file, the line and the column, or,
//! with [`Missing::DropRows`], drop their rows and are counted ([`Table::dropped_rows`]).
//! Fields are trimmed of surrounding spaces; quoted fields may hold the delimiter, quotes (as
//! `""`) and line breaks (RFC 4180, through the `csv` crate).
//!
//! The task is [`Task::Classification`] or [`Task::Regression`], given with
//! [`task`](CsvReader::task) or guessed from the target column as AutoGluon's
//! `infer_problem_type` does: text, or exactly two distinct values, is classification; numbers
//! are classification when they are all whole, have at most 1,000 distinct values and at most
//! 10% of the rows have a distinct value (5% above 1,000 rows); anything else is regression.
//!
//! ```
//! use feedforward::data::csv::{CsvReader, Task};
//! use feedforward::data::Dataset;
//!
//! let dir = std::env::temp_dir().join(format!("feedforward-doc-csv-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let train = dir.join("train.csv");
//! std::fs::write(&train, "size,colour,label\n1.5,red,cat\n2.0,\"blue, dark\",dog\n0.5,red,cat\n").unwrap();
//! let table = CsvReader::new().target("label").read(&train)?;
//! assert_eq!(table.task(), Task::Classification);
//! assert_eq!(table.encoding().input_names(), ["size", "colour=blue, dark", "colour=red"]);
//! assert_eq!(table.encoding().classes(), Some(&["cat".to_string(), "dog".to_string()][..]));
//! assert_eq!(table.inputs().row(1).to_vec(), [2.0, 1.0, 0.0]);
//! assert_eq!(table.labels(), Some(&[0, 1, 0][..]));
//!
//! // The same encoding reads a test file, and rows given in memory (features only).
//! let test = dir.join("test.csv");
//! std::fs::write(&test, "label,colour,size\ndog,red,3.0\n").unwrap();
//! let test = table.encoding().read(&test)?;
//! assert_eq!(test.inputs().row(0).to_vec(), [3.0, 0.0, 1.0]);
//! let x = table.encoding().encode_inputs(&[["0.7", "blue, dark"]])?;
//! assert_eq!(x.row(0).to_vec(), [0.7, 1.0, 0.0]);
//! # Ok::<(), feedforward::Error>(())
//! ```

mod encoding;
mod table;

pub use encoding::{Feature, FeatureKind, TableEncoding, Target};
pub use table::Table;

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// The cells read as missing values: pandas' default `na_values` of `read_csv` (compared after
/// trimming surrounding spaces; the empty cell is the first).
pub const MISSING_MARKERS: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// Whether `cell` is a missing value (one of [`MISSING_MARKERS`], surrounding spaces ignored).
pub fn is_missing(cell: &str) -> bool {
    MISSING_MARKERS.contains(&cell.trim())
}

/// What to do with a row that has a missing cell in a column that is used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Missing {
    /// Fail with an [`Error::Table`] naming the file, the line and the column (the default).
    #[default]
    Error,
    /// Leave the row out and count it ([`Table::dropped_rows`]), as pandas' `dropna()`.
    DropRows,
}

/// What is learned from the target column(s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// One target column holding class labels (text or numbers).
    Classification,
    /// One or more target columns holding numbers.
    Regression,
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        })
    }
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

/// Reads a CSV file into a [`Table`]; the settings are chained before [`read`](CsvReader::read).
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
    targets: Vec<String>,
    task: Option<Task>,
    missing: Missing,
    unknown: UnknownCategory,
    delimiter: u8,
    categorical: Vec<String>,
    ignored: Vec<String>,
}

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

    /// Reads the file at `path`, learns its [`TableEncoding`] and encodes it.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Table`] naming the file, the line
    /// and the column for a malformed row, a missing cell (with [`Missing::Error`]), an
    /// unknown column name, a regression target that is not a number, or a target with a
    /// single class; [`Error::InvalidConfig`] when no target is given or a column is both a
    /// target and ignored; [`Error::Empty`] when no row (or no feature column) is left.
    pub fn read(&self, path: impl AsRef<Path>) -> Result<Table> {
        let raw = RawTable::read(path.as_ref(), self.delimiter)?;
        let encoding = TableEncoding::fit(&raw, self)?;
        encoding.encode(&raw, true)
    }
}

/// The cells of a table as text, before any encoding, with where each row came from.
pub(crate) struct RawTable {
    /// The file, or `None` for rows given in memory.
    pub(crate) file: Option<PathBuf>,
    /// The column names.
    pub(crate) header: Vec<String>,
    /// The rows, each as long as the header.
    pub(crate) rows: Vec<::csv::StringRecord>,
    /// The line of each row in the file (or its index for rows in memory).
    pub(crate) lines: Vec<u64>,
}

impl RawTable {
    /// Reads a whole CSV file with a header row.
    fn read(path: &Path, delimiter: u8) -> Result<RawTable> {
        let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
        let mut reader = ::csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .trim(::csv::Trim::All)
            .from_reader(BufReader::new(file));
        let header = reader
            .headers()
            .map_err(|e| from_csv(path, e))?
            .iter()
            .enumerate()
            .map(|(i, name)| match name {
                // As pandas names a column without a header (the index column of `to_csv`).
                "" => format!("Unnamed: {i}"),
                name => name.to_string(),
            })
            .collect::<Vec<_>>();
        if header.is_empty() {
            return Err(Error::Table {
                file: Some(path.to_path_buf()),
                line: None,
                column: None,
                reason: "the file is empty: a CSV table starts with a header row naming its \
                         columns"
                    .to_string(),
            });
        }
        for (i, name) in header.iter().enumerate() {
            if let Some(j) = header[..i].iter().position(|n| n == name) {
                return Err(Error::Table {
                    file: Some(path.to_path_buf()),
                    line: Some(1),
                    column: Some(name.clone()),
                    reason: format!(
                        "columns {} and {} of the header have the same name: rename one",
                        j + 1,
                        i + 1
                    ),
                });
            }
        }
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for record in reader.into_records() {
            let record = record.map_err(|e| from_csv(path, e))?;
            lines.push(record.position().map_or(0, |p| p.line()));
            rows.push(record);
        }
        Ok(RawTable {
            file: Some(path.to_path_buf()),
            header,
            rows,
            lines,
        })
    }

    /// Rows given in memory, under the column names `header`.
    pub(crate) fn from_rows<R, S>(header: Vec<String>, rows: &[R]) -> Result<RawTable>
    where
        R: AsRef<[S]>,
        S: AsRef<str>,
    {
        let mut records = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != header.len() {
                return Err(Error::Table {
                    file: None,
                    line: Some(i as u64),
                    column: None,
                    reason: format!(
                        "{} values, expected {}: one per input column ({})",
                        row.len(),
                        header.len(),
                        header.join(", ")
                    ),
                });
            }
            records.push(row.iter().map(|c| c.as_ref().trim()).collect());
        }
        Ok(RawTable {
            file: None,
            header,
            lines: (0..rows.len() as u64).collect(),
            rows: records,
        })
    }

    /// An [`Error::Table`] at row `row` (an index into `rows`) and column `column` (an index
    /// into the header).
    pub(crate) fn error(
        &self,
        row: Option<usize>,
        column: Option<usize>,
        reason: impl Into<String>,
    ) -> Error {
        Error::Table {
            file: self.file.clone(),
            line: row.map(|r| self.lines[r]).or(self.file.as_ref().map(|_| 1)),
            column: column.map(|c| self.header[c].clone()),
            reason: reason.into(),
        }
    }

    /// The index of the column named `name`, or an error listing the columns there are.
    pub(crate) fn column(&self, name: &str, role: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| Error::Table {
                file: self.file.clone(),
                line: self.file.as_ref().map(|_| 1),
                column: Some(name.to_string()),
                reason: format!(
                    "no such column for the {role}; the columns are: {}",
                    self.header.join(", ")
                ),
            })
    }

    /// The rows to encode: those without a missing cell in `columns`. With [`Missing::Error`]
    /// the first missing cell is an error; with [`Missing::DropRows`] its row is left out.
    pub(crate) fn complete_rows(&self, columns: &[usize], missing: Missing) -> Result<Vec<usize>> {
        let mut kept = Vec::with_capacity(self.rows.len());
        for (r, row) in self.rows.iter().enumerate() {
            match columns.iter().find(|&&c| is_missing(&row[c])) {
                None => kept.push(r),
                Some(&c) if missing == Missing::Error => {
                    let cell = match &row[c] {
                        "" => "an empty cell".to_string(),
                        marker => format!("the missing-value marker {marker:?}"),
                    };
                    return Err(self.error(
                        Some(r),
                        Some(c),
                        format!(
                            "{cell}: fill it in, or drop such rows (Missing::DropRows, \
                             --drop-missing in the tabular example)"
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(kept)
    }
}

/// The [`Error`] for a `csv` crate error while reading `path`.
fn from_csv(path: &Path, error: ::csv::Error) -> Error {
    let table = |line: Option<u64>, reason: String| Error::Table {
        file: Some(path.to_path_buf()),
        line,
        column: None,
        reason,
    };
    let message = error.to_string();
    match error.into_kind() {
        ::csv::ErrorKind::Io(e) => Error::io("reading", path, e),
        ::csv::ErrorKind::Utf8 { pos, err } => table(
            pos.map(|p| p.line()),
            format!(
                "field {} is not valid UTF-8: save the file as UTF-8",
                err.field() + 1
            ),
        ),
        ::csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => table(
            pos.map(|p| p.line()),
            format!(
                "{len} fields where the header has {expected_len}: a field that holds the \
                 delimiter must be quoted"
            ),
        ),
        _ => table(None, message),
    }
}

/// Parses a cell as a number, as the columns of numbers are read (`f64`, then checked).
pub(crate) fn number(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok()
}
