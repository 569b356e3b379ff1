//! [`CsvStream`]: a table in CSV files read a batch at a time (documented on the type).

use super::learn::learn_encoding;
use super::lines::Lines;
use super::pass::no_rows;
use super::source::{self, from_csv, Header};
use super::{CsvReader, TableEncoding};
use crate::data::Dataset;
use crate::task::Task;
use crate::{Error, Result};
use ::csv::{Position, StringRecord};
use ndarray::ArrayViewMut2;
use std::fs::File;
use std::path::Path;
use std::sync::Mutex;

/// One file of a stream: its header, and a reader that seeks to rows.
struct StreamFile {
    header: Header,
    reader: Mutex<(::csv::Reader<File>, StringRecord)>,
}

/// [`CsvStream`]: a table in one or several CSV files, read from disk a batch at a time, as a
/// [`Dataset`]: memory is an index of the rows, not the table.
///
/// Opening a stream reads the files once (twice when the encoding is learned): the first pass
/// learns the [`TableEncoding`] as [`CsvReader::read`] does, without keeping a row; the second
/// encodes every row (so that a malformed row, a missing cell or an unknown category is
/// reported when the stream is opened, naming the file, the line and the column, not in the
/// middle of training) and keeps where each kept row starts in its file. A batch then seeks
/// to each of its rows and encodes it with the same code as the in-memory table: the same rows
/// give the same bits.
///
/// # Shuffling: an index of row offsets
/// Rows are found through their byte offsets, 8 bytes a row (16 MB for 2,000,000 rows, 160 MB
/// for 20,000,000; 2 more for classification, the row's class, which accuracy needs), plus
/// the lines of the rows kept as the places their numbering jumps. So
/// the order is exact: [`Order::Shuffled`](crate::data::Order::Shuffled) draws the same
/// permutation of the same rows as it does for the in-memory table, and a model trained on
/// the stream is the model trained on [`CsvReader::read`]'s table, bit for bit. A shuffle
/// buffer (`tf.data`'s `shuffle(buffer_size)`) would need no index, but mixes rows only within
/// the buffer: rows sorted by date or class would stay nearly sorted, and the order would
/// match no in-memory run. The price of the index is a seek per row in a shuffled epoch
/// (one read of 16 KiB from the page cache, or from disk); an epoch in order reads the files
/// sequentially. [`Prefetch`](crate::data::Prefetch) reads the next batches on a background
/// thread while the model trains.
///
/// ```
/// use feedforward::data::csv::CsvReader;
/// use feedforward::data::Dataset;
///
/// let dir = std::env::temp_dir().join(format!("feedforward-doc-stream-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let (a, b) = (dir.join("part-0.csv"), dir.join("part-1.csv"));
/// std::fs::write(&a, "size,colour,label\n1.5,red,cat\n2.0,blue,dog\n").unwrap();
/// std::fs::write(&b, "size,colour,label\n0.5,red,cat\n").unwrap();
/// let stream = CsvReader::new().target("label").stream(&[&a, &b])?;
/// assert_eq!((stream.len(), stream.input_width(), stream.target_width()), (3, 3, 2));
/// let mut x = feedforward::ndarray::Array2::zeros((2, 3));
/// let mut y = feedforward::ndarray::Array2::zeros((2, 2));
/// stream.fill_batch(&[2, 1], x.view_mut(), y.view_mut())?;
/// assert_eq!(x.row(0).to_vec(), [0.5, 0.0, 1.0]); // size, colour=blue, colour=red
/// assert_eq!(y.row(1).to_vec(), [0.0, 1.0]); // dog
/// # Ok::<(), feedforward::Error>(())
/// ```
///
/// Opened by [`CsvReader::stream`] or [`TableEncoding::stream`].
pub struct CsvStream {
    encoding: TableEncoding,
    files: Vec<StreamFile>,
    /// The first row of every file, and the number of rows last.
    starts: Vec<usize>,
    /// Where every kept row starts in its file.
    offsets: Vec<u64>,
    /// The line every kept row starts on.
    lines: Lines,
    /// The class of every kept row, for classification (with at most 65,536 classes).
    classes: Option<Vec<u16>>,
    dropped_rows: usize,
}

impl CsvReader {
    /// Opens the table in the files at `paths` (one file, or the parts of one table, each with
    /// the same header) as a stream: learns its encoding in a first pass over every file as
    /// [`read`](CsvReader::read) does, keeping no row, then indexes the rows (see
    /// [`CsvStream`]).
    ///
    /// # Errors
    /// As [`read`](CsvReader::read), for any file, and an [`Error::Table`] for a file whose
    /// header is not the first file's.
    pub fn stream<P: AsRef<Path>>(&self, paths: &[P]) -> Result<CsvStream> {
        let paths: Vec<&Path> = paths.iter().map(AsRef::as_ref).collect();
        let encoding = learn_encoding(self, &paths)?;
        CsvStream::index(encoding, &paths)
    }
}

impl TableEncoding {
    /// Opens the table in the files at `paths` as a stream encoded with this encoding (learned
    /// from a training file, or [`load`](TableEncoding::load)ed): one pass indexes the rows.
    ///
    /// # Errors
    /// As [`read`](TableEncoding::read), for any file.
    pub fn stream<P: AsRef<Path>>(&self, paths: &[P]) -> Result<CsvStream> {
        let paths: Vec<&Path> = paths.iter().map(AsRef::as_ref).collect();
        CsvStream::index(self.clone(), &paths)
    }
}

impl CsvStream {
    /// Encodes every row of the files at `paths` with `encoding`, keeping where each kept row
    /// starts.
    fn index(encoding: TableEncoding, paths: &[&Path]) -> Result<CsvStream> {
        if paths.is_empty() {
            return Err(Error::Empty {
                what: "list of CSV files".into(),
                hint: "give at least one file".into(),
            });
        }
        let mut files = Vec::with_capacity(paths.len());
        let mut starts = vec![0];
        let mut offsets: Vec<u64> = Vec::new();
        let mut lines = Lines::default();
        let mut rows_read = 0;
        let classify = encoding.task() == Task::Classification
            && encoding.target_width() <= usize::from(u16::MAX) + 1;
        let mut classes: Vec<u16> = Vec::new();
        let delimiter = encoding.delimiter();
        for &path in paths {
            let (header, mut records) = source::open(path, delimiter)?;
            let mut pass = encoding.pass(&header, true, encoding.missing())?;
            records.for_each(|line, record| {
                pass.row(line, record)?;
                if pass.rows() > offsets.len() - starts[starts.len() - 1] {
                    offsets.try_reserve(1).map_err(|_| {
                        crate::allocation::too_large("the row index", offsets.len() as u128, 8)
                    })?;
                    offsets.push(record.position().map_or(0, |p| p.byte()));
                    lines.push(line);
                    if classify {
                        let one_hot = ndarray::ArrayView1::from(&pass.targets[..]);
                        classes.push(crate::metrics::argmax(one_hot) as u16);
                    }
                }
                pass.clear_rows();
                Ok(())
            })?;
            rows_read += pass.rows_read;
            drop(pass);
            starts.push(offsets.len());
            let reader = source::open_for_seeking(path, delimiter)?;
            files.push(StreamFile {
                header,
                reader: Mutex::new((reader, StringRecord::new())),
            });
        }
        if offsets.is_empty() {
            return Err(no_rows(&files[0].header, rows_read));
        }
        offsets.shrink_to_fit();
        classes.shrink_to_fit();
        Ok(CsvStream {
            classes: classify.then_some(classes),
            dropped_rows: rows_read - offsets.len(),
            encoding,
            files,
            starts,
            offsets,
            lines,
        })
    }

    /// The encoding the rows are read with.
    pub fn encoding(&self) -> &TableEncoding {
        &self.encoding
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        self.encoding.task()
    }

    /// How many rows of the files were left out for missing cells
    /// ([`Missing::DropRows`](super::Missing::DropRows)).
    pub fn dropped_rows(&self) -> usize {
        self.dropped_rows
    }

    /// The files, in the order their rows are numbered.
    pub fn files(&self) -> Vec<&Path> {
        self.files
            .iter()
            .filter_map(|f| f.header.file.as_deref())
            .collect()
    }

    /// The file and the line row `row` was read from (the header is line 1).
    pub fn location(&self, row: usize) -> Option<(&Path, u64)> {
        if row >= self.offsets.len() {
            return None;
        }
        let file = &self.files[self.file_of(row)];
        Some((file.header.file.as_deref()?, self.lines.get(row)))
    }

    /// The bytes the index takes: 8 a row (10 for classification: the row's class), and
    /// the lines' jumps.
    pub fn index_bytes(&self) -> usize {
        let classes = self.classes.as_ref().map_or(0, |c| c.capacity() * 2);
        self.offsets.capacity() * 8 + classes + self.lines.jump_count() * 16
    }

    /// The index of the file that holds `row`.
    fn file_of(&self, row: usize) -> usize {
        self.starts.partition_point(|&s| s <= row) - 1
    }

    /// Reads and encodes rows `rows` (`positions[i]` is where row `rows[i]` goes in the
    /// batch) of file `k` into `inputs` and `targets`.
    fn fill_from_file(
        &self,
        k: usize,
        rows: &[usize],
        inputs: &mut ArrayViewMut2<'_, f32>,
        targets: &mut ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        if !rows.iter().any(|&row| self.file_of(row) == k) {
            return Ok(());
        }
        let file = &self.files[k];
        let path = file.header.file.clone().unwrap_or_default();
        let read_error = |row: usize, reason: String| Error::DataRead {
            file: Some(path.clone()),
            row,
            reason,
        };
        let mut pass = self
            .encoding
            .pass(&file.header, true, self.encoding.missing())?;
        let mut guard = file.reader.lock().unwrap_or_else(|e| e.into_inner());
        let (reader, record) = &mut *guard;
        for (i, &row) in rows.iter().enumerate() {
            if self.file_of(row) != k {
                continue;
            }
            let line = self.lines.get(row);
            let mut position = Position::new();
            position
                .set_byte(self.offsets[row])
                .set_line(line)
                .set_record(row as u64);
            let read = reader
                .seek(position)
                .and_then(|_| reader.read_record(record));
            match read {
                Ok(true) => {}
                Ok(false) => {
                    return Err(read_error(
                        row,
                        format!(
                            "line {line}: the file ends before it (it changed since the stream \
                             was opened)"
                        ),
                    ))
                }
                Err(e) => return Err(read_error(row, from_csv(&path, e).to_string())),
            }
            pass.forget_rows();
            pass.row(line, record)
                .map_err(|e| read_error(row, e.to_string()))?;
            if pass.rows() != 1 {
                return Err(read_error(
                    row,
                    format!(
                        "line {line} has a missing cell now (the file changed since the stream \
                         was opened)"
                    ),
                ));
            }
            let width = inputs.ncols();
            for (to, &from) in inputs.row_mut(i).iter_mut().zip(&pass.inputs[..width]) {
                *to = from;
            }
            let width = targets.ncols();
            for (to, &from) in targets.row_mut(i).iter_mut().zip(&pass.targets[..width]) {
                *to = from;
            }
        }
        Ok(())
    }
}

impl Dataset for CsvStream {
    fn len(&self) -> usize {
        self.offsets.len()
    }

    fn input_width(&self) -> usize {
        self.encoding.input_width()
    }

    fn target_width(&self) -> usize {
        self.encoding.target_width()
    }

    /// Reads the rows from their files, each encoded as [`CsvReader::read`] encodes it.
    ///
    /// # Errors
    /// [`Error::DataRead`] naming the file and the row (the message gives the line and the
    /// column) when a row cannot be read or encoded any more: the file changed (or a disk
    /// failed) since the stream was opened.
    fn fill_batch(
        &self,
        rows: &[usize],
        mut inputs: ArrayViewMut2<'_, f32>,
        mut targets: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let (first, last) = match (rows.iter().min(), rows.iter().max()) {
            (Some(&a), Some(&b)) => (self.file_of(a), self.file_of(b)),
            _ => return Ok(()),
        };
        for k in first..=last {
            self.fill_from_file(k, rows, &mut inputs, &mut targets)?;
        }
        Ok(())
    }

    fn class_of(&self, row: usize) -> Option<usize> {
        let class = *self.classes.as_ref()?.get(row)?;
        Some(usize::from(class))
    }
}

impl std::fmt::Debug for CsvStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvStream")
            .field("files", &self.files())
            .field("rows", &self.offsets.len())
            .field("dropped_rows", &self.dropped_rows)
            .field("encoding", &self.encoding)
            .finish()
    }
}
