//! Reading a CSV file into a [`Table`]: [`CsvReader::read`] learns the [`TableEncoding`] of a
//! training file, [`TableEncoding::read`] applies one to another file (a test set).
//!
//! Kept apart so that the dependencies run one way: the settings (`reader.rs`) and the cells
//! (`raw.rs`) know nothing of encodings, the encoding (`encoding.rs`) nothing of tables, the
//! table (`table.rs`) holds an encoding; this file joins them.

use super::{learn, CsvReader, Table, TableEncoding};
use crate::Result;
#[cfg(doc)]
use crate::{data::csv::Missing, data::csv::UnknownCategory, Error};
use std::path::Path;

impl CsvReader {
    /// Reads the file at `path`, learns its [`TableEncoding`] and encodes it.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read or is not a regular file (a device, a FIFO,
    /// a folder: refused before it is opened); [`Error::Table`] naming the file, the line
    /// and the column for a malformed row, a missing cell (with [`Missing::Error`]), an
    /// unknown column name, a regression target that is not a number, a target with a
    /// single class, or a text column with more categories than
    /// [`max_categories`](CsvReader::max_categories) (error messages quote at most 80
    /// characters of a cell); [`Error::InvalidConfig`] when no target is given or a column is both a
    /// target and ignored; [`Error::Empty`] when no row (or no feature column) is left.
    pub fn read(&self, path: impl AsRef<Path>) -> Result<Table> {
        let (encoding, encoded) = learn::read(self, path.as_ref())?;
        Ok(Table::new(encoded, encoding))
    }
}

impl TableEncoding {
    /// Reads another file with the same columns (in any order, extra columns ignored), the
    /// target included, and encodes it with this encoding: a test set, say.
    ///
    /// # Errors
    /// As [`CsvReader::read`], and an [`Error::Table`] for a category or a class that the
    /// training data did not have (categories: unless [`UnknownCategory::Ignore`]), or a
    /// column that is missing.
    pub fn read(&self, path: impl AsRef<Path>) -> Result<Table> {
        let encoded = self.encode_file(path.as_ref())?;
        Ok(Table::new(encoded, self.clone()))
    }
}
