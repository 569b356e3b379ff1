//! Tables streamed from CSV files ([`CsvStream`]): the rows, the encoding and the trained model
//! are those of the table read in memory, bit for bit, with or without prefetching; a file
//! that changes under a running fit stops it with an error naming the file and the row.
#![cfg(feature = "csv")]

mod common;
#[path = "common/models.rs"]
mod models;

use feedforward::data::csv::{CsvReader, CsvStream, Missing, Table};
use feedforward::data::{Batches, Dataset, Order, Prefetch};
use feedforward::model::{Callback, Control, Validation};
use feedforward::ndarray::Array2;
use feedforward::prelude::*;
use feedforward::{Error, FitError};
use models::relu_perceptron;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const HEADER: &str = "size,colour,weight,label";

/// Row `i` of the generated table: two numbers, a colour among three, a label among three
/// (its own function of the row, so that a model has something to learn); row 17 has a
/// missing weight (dropped with Missing::DropRows).
fn row(i: usize) -> String {
    let colour = ["red", "green", "blue"][(i * 7) % 3];
    let label = ["cat", "dog", "emu"][(i * 5 + i / 7) % 3];
    let weight = if i == 17 {
        String::new()
    } else {
        format!("{:.3}", ((i * 37) % 101) as f64 / 25.0 - 2.0)
    };
    format!(
        "{:.2},{colour},{weight},{label}",
        (i % 13) as f64 * 0.5 - 3.0
    )
}

/// Writes rows `range` to `path`, after the header.
fn write_table(path: &Path, range: std::ops::Range<usize>) {
    let mut text = format!("{HEADER}\n");
    for i in range {
        text.push_str(&row(i));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn reader() -> CsvReader {
    CsvReader::new().target("label").missing(Missing::DropRows)
}

/// The table in one file, and the same rows in two files.
fn files(dir: &Path) -> (PathBuf, [PathBuf; 2]) {
    let whole = dir.join("whole.csv");
    write_table(&whole, 0..240);
    let parts = [dir.join("part-0.csv"), dir.join("part-1.csv")];
    write_table(&parts[0], 0..100);
    write_table(&parts[1], 100..240);
    (whole, parts)
}

fn all_rows(data: &dyn Dataset, rows: &[usize]) -> (Array2<f32>, Array2<f32>) {
    let mut x = Array2::from_elem((rows.len(), data.input_width()), f32::NAN);
    let mut y = Array2::from_elem((rows.len(), data.target_width()), f32::NAN);
    data.fill_batch(rows, x.view_mut(), y.view_mut()).unwrap();
    (x, y)
}

fn config() -> FitConfig<'static> {
    FitConfig::new(3)
        .batch_size(16)
        .shuffle(5)
        .validation(Validation::Fraction(0.2))
}

/// A model's parameters, and its history's losses and accuracies.
type Trained = (Vec<Array2<f32>>, Vec<f32>, Vec<f32>, Vec<f32>);

/// Trains a fresh model on `data` with [`config`].
fn train(data: &dyn Dataset) -> Trained {
    train_with(data, &config())
}

/// Trains a fresh model on `data` with `config`.
fn train_with(data: &dyn Dataset, config: &FitConfig<'_>) -> Trained {
    let mut model = relu_perceptron(&[5, 8, 3], 3);
    let history = model
        .fit(data, &CrossEntropy, &mut Adam::new(0.01).unwrap(), config)
        .unwrap();
    let parameters = model
        .parameters()
        .into_iter()
        .map(|(_, p)| p.to_owned())
        .collect();
    (
        parameters,
        history.epoch_losses,
        history.accuracies,
        history.validation_accuracies,
    )
}

#[test]
fn a_stream_of_two_files_reads_the_rows_of_the_table_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, parts) = files(dir.path());
    let table: Table = reader().read(&whole).unwrap();
    let stream: CsvStream = reader().stream(&parts).unwrap();
    assert_eq!(stream.encoding(), table.encoding());
    assert_eq!((stream.len(), stream.dropped_rows()), (239, 1));
    assert_eq!(stream.len(), table.len());
    // Every row, in a shuffled order that crosses the files and comes back to rows read before.
    let rows: Vec<usize> = (0..239).map(|i| (i * 101) % 239).collect();
    let (x, y) = all_rows(&stream, &rows);
    let (tx, ty) = all_rows(&table, &rows);
    assert_eq!((x, y), (tx, ty));
    for r in [0, 16, 17, 99, 100, 238] {
        assert_eq!(stream.class_of(r), table.class_of(r), "row {r}");
    }
    // Where row 99 (the 100th kept row, past the dropped one) came from.
    assert_eq!(stream.location(99), Some((parts[1].as_path(), 2)));
    assert_eq!(stream.location(16), Some((parts[0].as_path(), 18)));
    assert_eq!(stream.location(17), Some((parts[0].as_path(), 20)));
    // About 2.1 bytes a row for the offsets, 1 for the class, 16 a file and a jump.
    assert!(
        (239 * 3..239 * 4).contains(&stream.index_bytes()),
        "{}",
        stream.index_bytes()
    );
}

#[test]
fn training_on_the_stream_gives_the_model_trained_in_memory_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, parts) = files(dir.path());
    let table = reader().read(&whole).unwrap();
    let stream = reader().stream(&parts).unwrap();
    let in_memory = train(&table);
    let streamed = train(&stream);
    assert_eq!(streamed, in_memory);
    assert_eq!((in_memory.2.len(), in_memory.3.len()), (3, 3));
    // Training moved the parameters.
    let untrained: Vec<Array2<f32>> = relu_perceptron(&[5, 8, 3], 3)
        .parameters()
        .into_iter()
        .map(|(_, p)| p.to_owned())
        .collect();
    assert_ne!(streamed.0, untrained);
}

#[test]
fn prefetching_gives_the_same_bits_and_hands_over_the_batches_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let (_, parts) = files(dir.path());
    let without = train(&reader().stream(&parts).unwrap());
    let prefetched = Prefetch::new(reader().stream(&parts).unwrap(), &config(), 2).unwrap();
    let with = train(&prefetched);
    assert_eq!(with, without);
    let (hits, misses) = prefetched.counts();
    // 191 training rows in batches of 16: 12 batches an epoch, 3 epochs, all prefetched; the
    // validation passes are read directly.
    assert_eq!(hits, 36, "{prefetched:?}");
    assert!(misses >= 3, "{prefetched:?}");
    // A schedule that is not fit's (another seed) is read directly, with the same result.
    let other = FitConfig::new(3).batch_size(16).shuffle(6);
    let wrong = Prefetch::new(reader().stream(&parts).unwrap(), &other, 2).unwrap();
    assert_eq!(train(&wrong), without);
    assert_eq!(wrong.counts().0, 0);
}

/// A shuffle buffer whose windows (40 rows) cut blocks (7 rows) and batches (16 rows).
fn windowed() -> FitConfig<'static> {
    config()
        .validation(Validation::Fraction(0.2))
        .batch_size(16)
}

fn windowed_order() -> Order {
    Order::ShuffleBuffer {
        seed: 5,
        buffer_size: 40,
        block_size: 7,
    }
}

#[test]
fn a_shuffle_buffer_trains_stream_table_and_prefetch_to_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, parts) = files(dir.path());
    let table = reader().read(&whole).unwrap();
    for drop_last in [false, true] {
        let mut config = windowed().drop_last(drop_last);
        config.order = windowed_order();
        let in_memory = train_with(&table, &config);
        let streamed = train_with(&reader().stream(&parts).unwrap(), &config);
        assert_eq!(streamed, in_memory, "drop_last {drop_last}");
        let prefetched = Prefetch::new(reader().stream(&parts).unwrap(), &config, 2).unwrap();
        assert_eq!(train_with(&prefetched, &config), in_memory);
        // 191 training rows in batches of 16: 12 batches an epoch (11 with drop_last), all
        // handed over from the windows read; the validation passes are read directly.
        let (hits, misses) = prefetched.counts();
        assert_eq!(hits, if drop_last { 33 } else { 36 }, "{prefetched:?}");
        assert!(misses >= 3, "{prefetched:?}");
        // Another order, another model: the windowed order matches no Shuffled run.
        let shuffled = train_with(&table, &config.shuffle(5));
        assert_ne!(shuffled.0, in_memory.0);
    }
    // A window larger than the data: one window, every row mixed.
    let mut config = windowed();
    config.order = Order::shuffle_buffer(9, 1_000);
    let prefetched = Prefetch::new(reader().stream(&parts).unwrap(), &config, 1).unwrap();
    assert_eq!(
        train_with(&prefetched, &config),
        train_with(&table, &config)
    );
    assert_eq!(prefetched.counts().0, 36);
}

/// A data set that records the rows of its `fill_batch` calls, and cannot read row `bad`
/// (as a damaged part of a file).
struct Watched<D> {
    data: D,
    calls: std::sync::Mutex<Vec<Vec<usize>>>,
    bad: Option<usize>,
}

impl<D> Watched<D> {
    fn new(data: D, bad: Option<usize>) -> Self {
        Watched {
            data,
            calls: Default::default(),
            bad,
        }
    }
}

impl<D: Dataset> Dataset for Watched<D> {
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
        inputs: feedforward::ndarray::ArrayViewMut2<'_, f32>,
        targets: feedforward::ndarray::ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        self.calls.lock().unwrap().push(rows.to_vec());
        match self.bad {
            Some(bad) if rows.contains(&bad) => Err(Error::DataRead {
                file: None,
                row: bad,
                reason: "damaged".into(),
            }),
            _ => self.data.fill_batch(rows, inputs, targets),
        }
    }
    fn class_of(&self, row: usize) -> Option<usize> {
        self.data.class_of(row)
    }
}

#[test]
fn prefetching_a_shuffle_buffer_reads_each_window_once_in_row_order() {
    let dir = tempfile::tempdir().unwrap();
    let (_, parts) = files(dir.path());
    let mut config = FitConfig::new(2).batch_size(16);
    config.order = windowed_order();
    let watched = Watched::new(reader().stream(&parts).unwrap(), None);
    let prefetched = Prefetch::new(watched, &config, 2).unwrap();
    let trained = train_with(&prefetched, &config);
    assert_eq!(
        trained,
        train_with(&reader().stream(&parts).unwrap(), &config)
    );
    assert_eq!(prefetched.counts(), (30, 0));
    // 239 rows, 2 epochs: 6 windows an epoch (5 of 40 rows, one of 39), each read once, in
    // one call, its rows sorted (the background thread may have gone on into a third epoch).
    let mut batches = Batches::new(239, 16, windowed_order()).unwrap();
    let mut windows = Vec::new();
    for _ in 0..2 {
        batches.next_epoch();
        let mut epoch = Vec::new();
        while let Some(rows) = batches.next_batch() {
            epoch.extend_from_slice(rows);
        }
        for window in epoch.chunks(40) {
            let mut window = window.to_vec();
            window.sort_unstable();
            windows.push(window);
        }
    }
    let calls = prefetched.get_ref().calls.lock().unwrap();
    assert!(calls.len() >= 12, "{} calls", calls.len());
    assert_eq!(calls[..12], windows[..]);
}

#[test]
fn a_window_that_cannot_be_read_fails_fit_at_the_batch_a_direct_read_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, _) = files(dir.path());
    let mut config = FitConfig::new(2).batch_size(16);
    config.order = windowed_order();
    // The model after the failed fit: the steps before the failing batch were taken.
    let fail = |data: &dyn Dataset| {
        let mut model = relu_perceptron(&[5, 8, 3], 3);
        let FitError { error, history } = model
            .fit(data, &CrossEntropy, &mut Adam::new(0.01).unwrap(), &config)
            .unwrap_err();
        let parameters: Vec<Array2<f32>> = model
            .parameters()
            .into_iter()
            .map(|(_, p)| p.to_owned())
            .collect();
        (error.to_string(), history.epoch_losses.len(), parameters)
    };
    let broken = || Watched::new(reader().read(&whole).unwrap(), Some(200));
    let direct = fail(&broken());
    assert!(direct.0.contains("row 200") && direct.1 == 0, "{direct:?}");
    let prefetched = Prefetch::new(broken(), &config, 2).unwrap();
    assert_eq!(fail(&prefetched), direct);
    // The window holding row 200 was read directly, batch by batch.
    assert!(prefetched.counts().0 >= 1, "{prefetched:?}");
}

/// Overwrites the `size` cell of `line` of `file` with as many `x`s, after epoch `after`.
struct DamageAfter {
    epoch: usize,
    file: PathBuf,
    line: usize,
}

impl Callback for DamageAfter {
    fn on_epoch_end(
        &mut self,
        _: &mut Sequential,
        log: &feedforward::model::EpochLog,
    ) -> feedforward::Result<Control> {
        if log.epoch + 1 == self.epoch {
            let text = std::fs::read_to_string(&self.file).unwrap();
            let start: usize = text.lines().take(self.line - 1).map(|l| l.len() + 1).sum();
            let size_len = text[start..].find(',').unwrap();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(&self.file)
                .unwrap();
            f.seek(SeekFrom::Start(start as u64)).unwrap();
            f.write_all("x".repeat(size_len).as_bytes()).unwrap();
        }
        Ok(Control::Continue)
    }
}

#[test]
fn a_file_changed_under_a_running_fit_stops_it_naming_the_file_and_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let (_, parts) = files(dir.path());
    let stream = reader().stream(&parts).unwrap();
    // Row 150 is on line 53 of the second file; its size becomes text of the same length
    // after the second epoch.
    let (file, line) = stream.location(150).unwrap();
    assert_eq!((file, line), (parts[1].as_path(), 53));
    let mut damage = DamageAfter {
        epoch: 2,
        file: parts[1].clone(),
        line: 53,
    };
    let mut model = relu_perceptron(&[5, 8, 3], 3);
    let config = FitConfig::new(4).batch_size(16).shuffle(1);
    let FitError { error, history } = model
        .fit_with_callbacks(
            &stream,
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
            &config,
            &mut [&mut damage],
        )
        .unwrap_err();
    // The two epochs done are kept.
    assert_eq!(history.epoch_losses.len(), 2);
    let message = error.to_string();
    match error {
        Error::DataRead { file, row, reason } => {
            assert_eq!((file, row), (Some(parts[1].clone()), 150));
            assert!(
                reason.contains("line 53") && reason.contains("size"),
                "{reason}"
            );
        }
        other => panic!("expected Error::DataRead, got {other:?}"),
    }
    assert!(message.contains("part-1.csv"), "{message}");

    // A truncated file: the rows past its end cannot be read.
    let stream = reader().stream(&parts).unwrap();
    let cut = std::fs::OpenOptions::new()
        .write(true)
        .open(&parts[1])
        .unwrap();
    cut.set_len(200).unwrap();
    let mut x = Array2::zeros((1, 5));
    let mut y = Array2::zeros((1, 3));
    let err = stream
        .fill_batch(&[230], x.view_mut(), y.view_mut())
        .unwrap_err();
    assert!(
        matches!(&err, Error::DataRead { row: 230, .. }) && err.to_string().contains("ends"),
        "{err}"
    );
}

#[test]
fn a_given_encoding_streams_a_test_file_as_it_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, _) = files(dir.path());
    let train_table = reader().read(&whole).unwrap();
    let test = dir.path().join("test.csv");
    write_table(&test, 300..340);
    let read = train_table.encoding().read(&test).unwrap();
    let streamed = train_table.encoding().stream(&[&test]).unwrap();
    let rows: Vec<usize> = (0..40).rev().collect();
    assert_eq!(all_rows(&streamed, &rows), all_rows(&read, &rows));
}

#[test]
fn bad_files_are_refused_when_the_stream_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, _) = files(dir.path());
    // A folder is refused before it is opened.
    let err = reader().stream(&[dir.path()]).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    // A second file with other columns.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "size,label\n1,cat\n").unwrap();
    let err = reader().stream(&[&whole, &other]).unwrap_err();
    assert!(
        matches!(&err, Error::Table { file: Some(f), .. } if f == &other),
        "{err:?}"
    );
    // A bad cell anywhere is found when the stream is opened, not in the middle of training.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, format!("{HEADER}\n{}\n1.0,red,zzz,cat\n", row(0))).unwrap();
    let train_table = reader().read(&whole).unwrap();
    let err = train_table.encoding().stream(&[&bad]).unwrap_err();
    assert!(
        matches!(&err, Error::Table { line: Some(3), .. }),
        "{err:?}"
    );
    assert!(matches!(
        reader().stream::<&Path>(&[]),
        Err(Error::Empty { .. })
    ));
}

/// A table written with `\r\n` line ends, blank lines, quoted cells holding line breaks and
/// delimiters, rows longer than 65,535 bytes (a quoted note) and runs of dropped rows: every
/// row, in any order, and in batches of rows next to each other, is read as in memory.
#[test]
fn awkward_layouts_are_streamed_as_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("awkward.csv");
    let mut text = String::from("size,note,label\r\n");
    for i in 0..300usize {
        let note = match i % 7 {
            0 => "\"two\r\nlines, and a comma\"".to_string(),
            1 if i % 49 == 1 => format!("\"{}\"", "x".repeat(70_000 + i)),
            _ => format!("n{}", i % 3),
        };
        // Runs of 1 to 3 rows with a missing size, dropped.
        let size = if i % 11 < 1 + i % 3 && i % 11 != 10 {
            String::new()
        } else {
            format!("{:.1}", i as f64 / 7.0)
        };
        text.push_str(&format!("{size},{note},{}\r\n", ["a", "b"][i % 2]));
        if i % 13 == 0 {
            text.push_str("\r\n\r\n");
        }
    }
    std::fs::write(&path, text).unwrap();
    let reader = || {
        CsvReader::new()
            .target("label")
            .ignore("note")
            .missing(Missing::DropRows)
    };
    let table = reader().read(&path).unwrap();
    let stream = reader().stream(&[&path]).unwrap();
    assert!(stream.dropped_rows() > 30, "{}", stream.dropped_rows());
    assert_eq!(stream.len(), table.len());
    let n = stream.len();
    let shuffled: Vec<usize> = (0..n).map(|i| (i * 89) % n).collect();
    assert_eq!(all_rows(&stream, &shuffled), all_rows(&table, &shuffled));
    for start in (0..n).step_by(40) {
        let rows: Vec<usize> = (start..(start + 40).min(n)).rev().collect();
        assert_eq!(all_rows(&stream, &rows), all_rows(&table, &rows), "{start}");
    }
    // The same row twice in a batch.
    assert_eq!(all_rows(&stream, &[5, 5, 0]), all_rows(&table, &[5, 5, 0]));
}
