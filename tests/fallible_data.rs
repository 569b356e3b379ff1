//! Reads that can fail: a data set whose `fill_batch` returns an error in the middle of an
//! epoch stops `fit` with that error (naming the file and the row) and the epochs completed
//! before it, as other errors during training do.

use feedforward::data::{Dataset, InMemory};
use feedforward::ndarray::{Array2, ArrayViewMut2};
use feedforward::prelude::*;
use feedforward::{Error, FitError};
use std::cell::Cell;
use std::path::PathBuf;

/// An in-memory data set that fails when it is asked for row `bad_row` the `fail_on`-th time
/// (counting from 1), as a data set read from disk fails when a part of its file is damaged.
struct FailingAt {
    data: InMemory,
    bad_row: usize,
    fail_on: usize,
    seen: Cell<usize>,
}

impl Dataset for FailingAt {
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
    ) -> feedforward::Result<()> {
        if rows.contains(&self.bad_row) {
            self.seen.set(self.seen.get() + 1);
            if self.seen.get() == self.fail_on {
                return Err(Error::DataRead {
                    file: Some(PathBuf::from("rows.bin")),
                    row: self.bad_row,
                    reason: "unexpected end of file".into(),
                });
            }
        }
        self.data.fill_batch(rows, inputs, targets)
    }
}

fn data(fail_on: usize) -> FailingAt {
    // y = 2x + 1 on 40 rows.
    let x = Array2::from_shape_fn((40, 1), |(i, _)| i as f32 / 40.0);
    let y = x.mapv(|v| 2.0 * v + 1.0);
    FailingAt {
        data: InMemory::new(x, y).unwrap(),
        bad_row: 25,
        fail_on,
        seen: Cell::new(0),
    }
}

fn model() -> Sequential {
    let mut rng = RandomState::new(0);
    Sequential::builder(1)
        .push(Dense::new(1, 1, Init::XavierNormal, &mut rng).unwrap())
        .build()
        .unwrap()
}

#[test]
fn a_read_error_in_the_middle_of_an_epoch_stops_fit_with_the_epochs_done() {
    // Batches of 8 in order: row 25 is in the fourth batch of each epoch; the read fails on
    // its third time, in the middle of the third epoch.
    let mut failing = model();
    let config = FitConfig::new(5).batch_size(8);
    let FitError { error, history } = failing
        .fit(&data(3), &HalfMse, &mut Sgd::new(0.1).unwrap(), &config)
        .unwrap_err();
    assert_eq!(history.epoch_losses.len(), 2, "{history:?}");
    let message = error.to_string();
    match error {
        Error::DataRead { file, row, .. } => {
            assert_eq!(file, Some(PathBuf::from("rows.bin")));
            assert_eq!(row, 25);
        }
        other => panic!("expected Error::DataRead, got {other:?}"),
    }
    assert!(
        message.contains("rows.bin, row 25 of the data set: unexpected end of file"),
        "{message}"
    );

    // The two epochs done are those of a run that never fails.
    let mut clean = model();
    let done = clean
        .fit(
            &data(usize::MAX),
            &HalfMse,
            &mut Sgd::new(0.1).unwrap(),
            &FitConfig::new(2).batch_size(8),
        )
        .unwrap();
    assert_eq!(done.epoch_losses, history.epoch_losses);
}

#[test]
fn a_read_error_during_evaluate_is_returned() {
    let mut m = model();
    let err = m.evaluate(&data(1), &HalfMse, 16).unwrap_err();
    assert!(matches!(err, Error::DataRead { row: 25, .. }), "{err:?}");
}
