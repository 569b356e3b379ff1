//! [`CsvStream`]: a table in CSV files read a batch at a time (documented on the type).

use super::learn::learn_encoding;
use super::lines::Lines;
use super::pass::no_rows;
use super::row_index::{Classes, RowIndex};
use super::source::{self, from_csv, Header};
use super::{CsvReader, TableEncoding};
use crate::data::Dataset;
use crate::task::Task;
use crate::{Error, Result};
use ::csv::StringRecord;
use ndarray::ArrayViewMut2;
use std::fs::File;
use std::path::Path;

/// One file of a stream: its header, and the file open for reads at given places.
struct StreamFile {
    header: Header,
    file: File,
}

/// Rows of a batch in the same file closer than this are read together, the bytes between
/// them with them: reading 4 KiB more from the page cache costs about what another read costs.
const GAP_BYTES: u64 = 4 << 10;

/// A row a batch asks for: in which file, where, and where it goes in the batch.
#[derive(Clone, Copy)]
struct Wanted {
    file: usize,
    offset: u64,
    extent: u64,
    row: usize,
    at: usize,
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
/// # Shuffling: two orders
/// Rows are found through their byte offsets, kept compactly: a full offset every 64 rows and
/// each row's length in 2 bytes, about 2.1 bytes a row (4.3 MB for 2,000,000 rows, 43 MB for
/// 20,000,000; 16 bytes more for each file, each row after dropped rows and each row longer
/// than 65,535 bytes), 1 more for classification (the row's class, which accuracy needs; 2
/// past 256 classes), plus the lines of the rows kept as the places their numbering jumps.
/// Any order of the rows can be read; two shuffled orders are offered:
///
/// - **Exact: [`Order::Shuffled`](crate::data::Order::Shuffled)** (`FitConfig::shuffle`)
///   draws the same permutation of the same rows as it does for the in-memory table, so a
///   model trained on the stream is the model trained on [`CsvReader::read`]'s table, bit
///   for bit. Its price: the permutation, 4 bytes a row, held by `fit` and again by
///   [`Prefetch`](crate::data::Prefetch) (160 MB for 20,000,000 rows, beside the 62 MB
///   index), and a read per row: a batch's rows are sorted by offset, read with positioned
///   reads (rows less than 4 KiB apart in one read) and parsed end to end as one CSV text.
///   Measured at 2,000,000 rows of 20 features: a shuffled epoch 2.6 times the in-memory one,
///   bound by those reads.
/// - **Bounded: [`Order::ShuffleBuffer`](crate::data::Order::ShuffleBuffer)**
///   (`FitConfig::shuffle_buffer`, `tf.data`'s `shuffle(buffer_size)` over blocks of rows in a
///   random order): blocks of contiguous rows (1,024 by default) in a random order, the rows
///   shuffled within windows of `buffer_size` rows (65,536 by default). Its price is in
///   mixing, not memory: the order held is 8 bytes a block and one window (under 1 MB at any
///   size), and `Prefetch` reads a whole window at once, a block in one read (at most 64
///   reads of about 176 KB for a window of the 172-byte rows above, instead of 65,536; blocks
///   next to each other in the file are read together), holding about
///   two windows of values (12 MB at 23 values a row). A batch draws on the window's 64
///   blocks: rows sorted by date or class in the file are mixed at the scale of blocks, and
///   the order matches no in-memory `Shuffled` run (the in-memory table given the same
///   `ShuffleBuffer` order trains to the same bits as the stream).
///
/// Choose `Shuffled` when its memory (8 bytes a row with `Prefetch`) fits and a shuffled
/// epoch may take what a read per row costs, or when neighbouring rows of the file are alike
/// (sorted by class or date); choose `ShuffleBuffer` for tables whose rows' order would not
/// fit in memory (20,000,000 rows of the table above, counted: a 62 MB index, under 1 MB of
/// order and about 12 MB of windows, against 62 + 160 MB with `Shuffled`), or to make an
/// epoch's reads large and few. `tf.data` offers only a buffer and PyTorch's map-style `DataLoader`
/// only the exact order; this stream has both, the exact one by default.
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
    /// Where every kept row is in its file.
    index: RowIndex,
    /// The line every kept row starts on.
    lines: Lines,
    /// The class of every kept row, for classification (with at most 65,536 classes).
    classes: Option<Classes>,
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
    /// is.
    fn index(encoding: TableEncoding, paths: &[&Path]) -> Result<CsvStream> {
        if paths.is_empty() {
            return Err(Error::Empty {
                what: "list of CSV files".into(),
                hint: "give at least one file".into(),
            });
        }
        let mut files = Vec::with_capacity(paths.len());
        let mut starts = vec![0];
        let mut index = RowIndex::default();
        let mut lines = Lines::default();
        let mut rows_read = 0;
        let mut classes = match encoding.task() {
            Task::Classification => Classes::for_count(encoding.target_width()),
            _ => None,
        };
        let delimiter = encoding.delimiter();
        for &path in paths {
            let (header, mut records) = source::open(path, delimiter)?;
            let mut pass = encoding.pass(&header, true, encoding.missing())?;
            let first = index.len();
            records.for_each(|line, record| {
                let offset = record.position().map_or(0, |p| p.byte());
                // The last row kept reaches to this record, kept or dropped.
                index.close(offset)?;
                pass.row(line, record)?;
                if pass.rows() > index.len() - first {
                    index.push(offset)?;
                    lines.push(line);
                    if let Some(classes) = &mut classes {
                        let one_hot = ndarray::ArrayView1::from(&pass.targets[..]);
                        classes.push(crate::metrics::argmax(one_hot))?;
                    }
                }
                pass.clear_rows();
                Ok(())
            })?;
            index.end_file(records.end())?;
            rows_read += pass.rows_read;
            drop(pass);
            starts.push(index.len());
            files.push(StreamFile {
                header,
                file: records.into_file(),
            });
        }
        if index.len() == 0 {
            return Err(no_rows(&files[0].header, rows_read));
        }
        index.shrink_to_fit();
        if let Some(classes) = &mut classes {
            classes.shrink_to_fit();
        }
        Ok(CsvStream {
            classes,
            dropped_rows: rows_read - index.len(),
            encoding,
            files,
            starts,
            index,
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
        if row >= self.index.len() {
            return None;
        }
        let file = &self.files[self.file_of(row)];
        Some((file.header.file.as_deref()?, self.lines.get(row)))
    }

    /// The bytes the index takes: about 2.1 a row (one `u64` offset every 64 rows and a
    /// `u16` length a row, 16 bytes more for each file, each row after dropped rows and each
    /// row longer than 65,535 bytes), 1 more a row for classification (the row's class, 2
    /// past 256 classes), and the lines' jumps.
    pub fn index_bytes(&self) -> usize {
        let classes = self.classes.as_ref().map_or(0, Classes::bytes);
        self.index.bytes() + classes + self.lines.jump_count() * 16
    }

    /// The index of the file that holds `row`.
    fn file_of(&self, row: usize) -> usize {
        self.starts.partition_point(|&s| s <= row) - 1
    }

    /// Reads and encodes the rows `wanted` (of one file, sorted by offset) into their places
    /// in `inputs` and `targets`: rows close together in one read, every row's bytes copied
    /// end to end, then parsed as one CSV text by the same code as the in-memory table.
    fn fill_from_file(
        &self,
        wanted: &[Wanted],
        inputs: &mut ArrayViewMut2<'_, f32>,
        targets: &mut ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let file = &self.files[wanted[0].file];
        let path = file.header.file.clone().unwrap_or_default();
        let read_error = |w: &Wanted, reason: &str| Error::DataRead {
            file: Some(path.clone()),
            row: w.row,
            reason: format!("line {}: {reason}", self.lines.get(w.row)),
        };
        let changed = "(the file changed since the stream was opened)";
        let total: u64 = wanted.iter().map(|w| w.extent).sum();
        let mut text = buffer(total, &wanted[0], &read_error)?;
        let mut scratch = Vec::new();
        let mut g = 0;
        while g < wanted.len() {
            let start = wanted[g].offset;
            let mut end = start + wanted[g].extent;
            let mut h = g + 1;
            while h < wanted.len() && wanted[h].offset <= end.saturating_add(GAP_BYTES) {
                end = end.max(wanted[h].offset + wanted[h].extent);
                h += 1;
            }
            scratch.clear();
            scratch
                .try_reserve_exact((end - start) as usize)
                .map_err(|_| read_error(&wanted[g], "its bytes cannot be held in memory"))?;
            scratch.resize((end - start) as usize, 0);
            if let Err(e) = read_at(&file.file, &mut scratch, start) {
                // The first row the file does not hold any more, for a truncated file.
                let length = file.file.metadata().map_or(0, |m| m.len());
                let w = wanted[g..h]
                    .iter()
                    .find(|w| w.offset + w.extent > length)
                    .unwrap_or(&wanted[g]);
                return Err(match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => {
                        read_error(w, &format!("the file ends before it {changed}"))
                    }
                    _ => read_error(w, &e.to_string()),
                });
            }
            for w in &wanted[g..h] {
                let from = (w.offset - start) as usize;
                text.extend_from_slice(&scratch[from..from + w.extent as usize]);
            }
            g = h;
        }
        let mut pass = self
            .encoding
            .pass(&file.header, true, self.encoding.missing())?;
        let mut reader = ::csv::ReaderBuilder::new()
            .delimiter(self.encoding.delimiter())
            .has_headers(false)
            .flexible(true)
            .from_reader(&text[..]);
        let mut record = StringRecord::new();
        let mut expected = 0;
        for w in wanted {
            let line = self.lines.get(w.row);
            if reader.position().byte() != expected {
                return Err(read_error(w, &format!("the row moved {changed}")));
            }
            match reader.read_record(&mut record) {
                Ok(true) if record.len() == file.header.names.len() => {}
                Ok(true) => {
                    let reason = format!(
                        "{} cells, the header names {} {changed}",
                        record.len(),
                        file.header.names.len()
                    );
                    return Err(read_error(w, &reason));
                }
                Ok(false) => return Err(read_error(w, &format!("the row is gone {changed}"))),
                Err(e) => return Err(read_error(w, &from_csv(&path, e).to_string())),
            }
            expected += w.extent;
            pass.forget_rows();
            pass.row(line, &record).map_err(|e| Error::DataRead {
                file: Some(path.clone()),
                row: w.row,
                reason: e.to_string(),
            })?;
            if pass.rows() != 1 {
                return Err(read_error(w, &format!("a missing cell now {changed}")));
            }
            let width = inputs.ncols();
            for (to, &from) in inputs.row_mut(w.at).iter_mut().zip(&pass.inputs[..width]) {
                *to = from;
            }
            let width = targets.ncols();
            for (to, &from) in targets.row_mut(w.at).iter_mut().zip(&pass.targets[..width]) {
                *to = from;
            }
        }
        // What follows the last row up to the next record is blank lines at most.
        if !matches!(reader.read_record(&mut record), Ok(false)) {
            let last = &wanted[wanted.len() - 1];
            return Err(read_error(last, &format!("the row grew {changed}")));
        }
        Ok(())
    }
}

/// Room for `bytes` bytes of rows, or an error for `w`.
fn buffer(bytes: u64, w: &Wanted, error: &impl Fn(&Wanted, &str) -> Error) -> Result<Vec<u8>> {
    let mut text = Vec::new();
    usize::try_from(bytes)
        .ok()
        .and_then(|n| text.try_reserve_exact(n).ok())
        .ok_or_else(|| error(w, "the batch's rows cannot be held in memory"))?;
    Ok(text)
}

/// Fills `buf` from `file` at `offset`: a positioned read (no seek, no position shared
/// between threads).
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let (mut buf, mut offset) = (buf, offset);
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_read(file, buf, offset) {
                Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Dataset for CsvStream {
    fn len(&self) -> usize {
        self.index.len()
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
        let mut wanted: Vec<Wanted> = rows
            .iter()
            .enumerate()
            .map(|(at, &row)| Wanted {
                file: self.file_of(row),
                offset: self.index.offset(row),
                extent: self.index.extent(row),
                row,
                at,
            })
            .collect();
        wanted.sort_unstable_by_key(|w| (w.file, w.offset, w.at));
        for file in wanted.chunk_by(|a, b| a.file == b.file) {
            self.fill_from_file(file, &mut inputs, &mut targets)?;
        }
        Ok(())
    }

    fn class_of(&self, row: usize) -> Option<usize> {
        self.classes.as_ref()?.get(row)
    }
}

impl std::fmt::Debug for CsvStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvStream")
            .field("files", &self.files())
            .field("rows", &self.index.len())
            .field("dropped_rows", &self.dropped_rows)
            .field("encoding", &self.encoding)
            .finish()
    }
}
