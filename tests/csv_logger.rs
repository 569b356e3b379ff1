//! `CsvLogger`: Keras' `CSVLogger`, one row per epoch, appending on a resumed run, and a path
//! that cannot be written found before the first epoch.

use std::path::Path;

use feedforward::model::{Callback, Control, CsvLogger, EpochLog};
use feedforward::prelude::*;
use feedforward::{Error, FitError, History};

/// 64 rows of 4 features in 3 classes.
fn data() -> InMemory {
    let mut rng = RandomState::new(5);
    let x = rng.rand(64, 4).unwrap();
    let labels: Vec<usize> = (0..64).map(|i| (i * 7 % 3) as usize).collect();
    InMemory::new(x, one_hot(&labels, 3).unwrap()).unwrap()
}

fn model() -> Sequential {
    let mut rng = RandomState::new(1);
    Sequential::builder(4)
        .push(Dense::new(4, 8, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(8, 3, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

/// Fails at the end of epoch `at`, after the callbacks before it ran: a crash after the log's
/// row was written and before the training checkpoint was.
struct CrashAt(usize);

impl Callback for CrashAt {
    fn on_epoch_end(&mut self, _: &mut Sequential, log: &EpochLog) -> feedforward::Result<Control> {
        if log.epoch == self.0 {
            return Err(Error::config("crash", log.epoch, "a test crash"));
        }
        Ok(Control::Continue)
    }
}

/// Trains `epochs` with a `CsvLogger` at `log` (and the extra callbacks), validating on a
/// quarter of the rows, shuffled, resuming from `checkpoint` when given.
fn fit(
    epochs: usize,
    log: &Path,
    checkpoint: Option<&Path>,
    extra: Option<&mut dyn Callback>,
) -> Result<History, FitError> {
    let data = data();
    let mut m = model();
    let mut sgd = Sgd::new(0.2).unwrap().with_momentum(0.9).unwrap();
    let mut config = FitConfig::new(epochs)
        .batch_size(16)
        .shuffle(2)
        .validation(Validation::Fraction(0.25));
    if let Some(path) = checkpoint {
        config = config.checkpoint(path);
    }
    let mut logger = CsvLogger::new(log);
    let mut callbacks: Vec<&mut dyn Callback> = vec![&mut logger];
    if let Some(extra) = extra {
        callbacks.push(&mut *extra);
    }
    m.fit_with_callbacks(&data, &CrossEntropy, &mut sgd, &config, &mut callbacks)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The column `name` of a CSV text, parsed.
fn column(text: &str, name: &str) -> Vec<f32> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    lines
        .map(|l| l.split(',').nth(at).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn one_row_per_epoch_with_every_metric() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let history = fit(3, &path, None, None).unwrap();
    let text = read(&path);
    let header = text.lines().next().unwrap();
    let names: Vec<&str> = header.split(',').collect();
    for name in ["epoch", "loss", "val_loss", "val_accuracy", "learning_rate"] {
        assert!(names.contains(&name), "no {name} in {header}");
    }
    assert_eq!(names[0], "epoch");
    assert_eq!(text.lines().count(), 4, "{text}");
    assert_eq!(column(&text, "epoch"), [0.0, 1.0, 2.0]);
    // The numbers are History's, to the bit (f32 written in its shortest exact form).
    assert_eq!(column(&text, "loss"), history.epoch_losses);
    assert_eq!(column(&text, "val_loss"), history.validation_losses);
    assert_eq!(column(&text, "val_accuracy"), history.validation_accuracies);
    assert_eq!(column(&text, "learning_rate"), [0.2; 3]);
}

#[test]
fn a_new_run_replaces_the_file_unless_appending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    fit(2, &path, None, None).unwrap();
    fit(1, &path, None, None).unwrap();
    assert_eq!(
        read(&path).lines().count(),
        2,
        "replaced: a header and one row"
    );

    let data = data();
    let mut m = model();
    let mut logger = CsvLogger::new(&path).append(true);
    m.fit_with_callbacks(
        &data,
        &CrossEntropy,
        &mut Sgd::new(0.2).unwrap(),
        &FitConfig::new(2).validation(Validation::Fraction(0.25)),
        &mut [&mut logger],
    )
    .unwrap();
    let text = read(&path);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert_eq!(column(&text, "epoch"), [0.0, 0.0, 1.0]);
}

#[test]
fn a_resumed_run_ends_with_the_log_of_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let straight = dir.path().join("straight.csv");
    fit(5, &straight, None, None).unwrap();
    let expected = read(&straight);

    // Stopped after 2 epochs, then resumed to 5: the rows are appended.
    let log = dir.path().join("resumed.csv");
    let checkpoint = dir.path().join("run.ckpt");
    fit(2, &log, Some(&checkpoint), None).unwrap();
    assert_eq!(read(&log).lines().count(), 3);
    fit(5, &log, Some(&checkpoint), None).unwrap();
    assert_eq!(read(&log), expected);

    // A crash after epoch 3's row was written but before its checkpoint: the resumed run
    // trains epoch 3 again and the log holds it once.
    let log = dir.path().join("crashed.csv");
    let checkpoint = dir.path().join("crashed.ckpt");
    let error = fit(5, &log, Some(&checkpoint), Some(&mut CrashAt(3))).unwrap_err();
    assert_eq!(error.history.epoch_losses.len(), 4);
    assert_eq!(read(&log).lines().count(), 5, "rows 0 to 3");
    fit(5, &log, Some(&checkpoint), None).unwrap();
    assert_eq!(read(&log), expected);
}

#[test]
fn a_path_that_cannot_be_written_fails_before_the_first_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no such folder").join("log.csv");
    for path in [missing.as_path(), dir.path()] {
        let error = fit(3, path, None, None).unwrap_err();
        assert!(matches!(error.error, Error::Io { .. }), "{}", error.error);
        assert!(
            error.history.epoch_losses.is_empty(),
            "trained before failing"
        );
    }
    assert!(!missing.exists());
}
