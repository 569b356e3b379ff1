//! The cells of a CSV file as text ([`RawTable`]), before any encoding: read with the `csv`
//! crate (RFC 4180), trimmed, with the line each row came from; and what counts as a missing
//! value or a number.

use super::Missing;
use crate::{Error, Result};
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
    pub(super) fn read(path: &Path, delimiter: u8) -> Result<RawTable> {
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
