//! Where a table's rows come from: a CSV file read record by record into one reused
//! [`StringRecord`](::csv::StringRecord) (no allocation per row or per cell), or rows given in
//! memory; and the [`Header`] that names the columns in error messages.

use crate::io::file_limits::open_regular;
use crate::quote::{list, quote};
use crate::{Error, Result};
use ::csv::StringRecord;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

/// How many records the parsing thread hands over at a time.
const BATCH: usize = 1024;

/// The column names of a table and where it came from, for finding columns and for errors.
pub(crate) struct Header {
    /// The file, or `None` for rows given in memory.
    pub(crate) file: Option<PathBuf>,
    /// The column names.
    pub(crate) names: Vec<String>,
}

impl Header {
    /// An [`Error::Table`] at `line` (the header's line 1 for a file when `None`) and column
    /// `column` (an index into the names).
    pub(crate) fn error(
        &self,
        line: Option<u64>,
        column: Option<usize>,
        reason: impl Into<String>,
    ) -> Error {
        Error::Table {
            file: self.file.clone(),
            line: line.or(self.file.as_ref().map(|_| 1)),
            column: column.map(|c| self.names[c].clone()),
            reason: reason.into(),
        }
    }

    /// The index of the column named `name`, or an error listing the columns there are.
    pub(crate) fn column(&self, name: &str, role: &str) -> Result<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| Error::Table {
                file: self.file.clone(),
                line: self.file.as_ref().map(|_| 1),
                column: Some(name.to_string()),
                reason: format!(
                    "no such column for the {role}; the columns are: {}",
                    list(&self.names)
                ),
            })
    }
}

/// The records of a CSV file opened by [`open`], after its header.
pub(crate) struct Records {
    path: PathBuf,
    reader: ::csv::Reader<std::fs::File>,
}

/// The `csv` crate's buffer: large enough that a read asks the system for many rows at once.
const BUFFER_BYTES: usize = 1 << 20;

/// Opens `path` (a regular file only: a FIFO or a device is refused before it is opened)
/// and reads its header row: names trimmed, an empty name called `Unnamed: i` as pandas
/// does, duplicates refused.
pub(crate) fn open(path: &Path, delimiter: u8) -> Result<(Header, Records)> {
    let (file, _) = open_regular(path)?;
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(::csv::Trim::Headers)
        .buffer_capacity(BUFFER_BYTES)
        .from_reader(file);
    let names = reader
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
    let header = Header {
        file: Some(path.to_path_buf()),
        names,
    };
    if header.names.is_empty() {
        return Err(header.error(
            None,
            None,
            "the file is empty: a CSV table starts with a header row naming its columns",
        ));
    }
    for (i, name) in header.names.iter().enumerate() {
        if let Some(j) = header.names[..i].iter().position(|n| n == name) {
            return Err(header.error(
                Some(1),
                Some(i),
                format!(
                    "columns {} and {} of the header have the same name: rename one",
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    let path = path.to_path_buf();
    Ok((header, Records { path, reader }))
}

impl Records {
    /// Where the records read so far end in the file: its length once
    /// [`for_each`](Records::for_each) has read them all.
    pub(crate) fn end(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The file, for reads at given places.
    pub(crate) fn into_file(self) -> std::fs::File {
        self.reader.into_inner()
    }

    /// Calls `row(line, record)` for every record after the header, in order, with the line
    /// the record starts on; the record's cells are not trimmed yet. Stops at the first error.
    ///
    /// The records are parsed on a second thread, [`BATCH`] at a time, while `row` types the
    /// previous ones on this one (a two-stage pipeline: parsing a record and parsing its
    /// numbers take about as long). Three batches of reused records go round; nothing is
    /// allocated per row.
    pub(crate) fn for_each(
        &mut self,
        mut row: impl FnMut(u64, &StringRecord) -> Result<()>,
    ) -> Result<()> {
        type Batch = (Vec<StringRecord>, usize, Option<::csv::Error>);
        let (full_tx, full_rx) = sync_channel::<Batch>(2);
        let (empty_tx, empty_rx) = sync_channel::<Vec<StringRecord>>(3);
        for _ in 0..3 {
            empty_tx
                .send(vec![StringRecord::new(); BATCH])
                .expect("the channel has room for three batches");
        }
        let (reader, path) = (&mut self.reader, &self.path);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                while let Ok(mut batch) = empty_rx.recv() {
                    let (mut n, mut error, mut end) = (0, None, false);
                    while n < BATCH {
                        match reader.read_record(&mut batch[n]) {
                            Ok(true) => n += 1,
                            Ok(false) => {
                                end = true;
                                break;
                            }
                            Err(e) => {
                                error = Some(e);
                                break;
                            }
                        }
                    }
                    let last = end || error.is_some();
                    // A send fails when the reading side stopped at an error of its own.
                    if full_tx.send((batch, n, error)).is_err() || last {
                        return;
                    }
                }
            });
            let mut result = Ok(());
            'batches: for (batch, n, error) in full_rx.iter() {
                for record in &batch[..n] {
                    let line = record.position().map_or(0, |p| p.line());
                    if let Err(e) = row(line, record) {
                        result = Err(e);
                        break 'batches;
                    }
                }
                if let Some(e) = error {
                    result = Err(from_csv(path, e));
                    break;
                }
                // Fails only once the parsing thread has finished.
                let _ = empty_tx.send(batch);
            }
            // Unblocks the parsing thread wherever it waits, so that the scope can join it.
            drop(full_rx);
            drop(empty_tx);
            result
        })
    }
}

/// Rows given in memory, under the column names `names`, each checked to be as long as the
/// header, as records (line `i` is row `i`).
pub(crate) fn records_in_memory<R, S>(names: &[String], rows: &[R]) -> Result<Vec<StringRecord>>
where
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    let header = Header {
        file: None,
        names: names.to_vec(),
    };
    let mut records = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        if row.len() != names.len() {
            return Err(header.error(
                Some(i as u64),
                None,
                format!(
                    "{} values, expected {}: one per input column ({})",
                    row.len(),
                    names.len(),
                    list(names)
                ),
            ));
        }
        records.push(row.iter().map(|c| c.as_ref()).collect());
    }
    Ok(records)
}

/// The [`Error`] for a `csv` crate error while reading `path`.
pub(crate) fn from_csv(path: &Path, error: ::csv::Error) -> Error {
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
        _ => table(None, quote(&message)),
    }
}
