//! [`WindowBuffer`]: a shuffle buffer's window of rows read at once, for
//! [`Prefetch`](super::Prefetch) under [`Order::ShuffleBuffer`](super::Order::ShuffleBuffer).
//!
//! A window's rows are read sorted by row number, in a few calls of the data set's
//! [`fill_batch`](Dataset::fill_batch) of about 1 MB of values each: for a
//! `CsvStream`, whose windows are runs of contiguous rows (blocks),
//! a handful of large positioned reads instead of one read per row. Batches are then gathered
//! from the window's values. A row's values do not depend on the other rows of a
//! `fill_batch` call (true of every data set of this crate, and asked of any other), so the
//! batches hold the bits a direct read gives.

use super::Dataset;
use crate::Result;
use ndarray::{s, Array2, ArrayView1, ArrayViewMut1, ArrayViewMut2, Axis};
use rayon::prelude::*;

/// Values per `fill_batch` call when a window is read: at most 1 MB of `f32` (the rows of a
/// call rounded down to a power of two).
const READ_VALUES: usize = 1 << 18;

/// The window of a shuffle buffer held in memory: its rows sorted, and their values.
pub(crate) struct WindowBuffer {
    /// The window's rows, sorted by row number.
    rows: Vec<usize>,
    /// Row `i` holds the inputs of `rows[i]`.
    inputs: Array2<f32>,
    /// Row `i` holds the targets of `rows[i]`.
    targets: Array2<f32>,
    /// The number of the window held (0: none yet).
    serial: u64,
    /// The window could not be read: its batches are read directly, each failing where a
    /// direct read fails.
    failed: bool,
    /// Positions in a batch of rows not found in the window held.
    missing: Vec<usize>,
}

impl WindowBuffer {
    /// Room for a window of `rows` rows of `input_width` inputs and `target_width` targets.
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) when it cannot be allocated.
    pub(crate) fn new(rows: usize, input_width: usize, target_width: usize) -> Result<Self> {
        let mut sorted = Vec::new();
        sorted.try_reserve_exact(rows).map_err(|_| {
            crate::allocation::too_large("shuffle buffer's rows", rows as u128, size_of::<usize>())
        })?;
        Ok(WindowBuffer {
            rows: sorted,
            inputs: crate::allocation::filled("shuffle buffer's inputs", rows, input_width, 0.0)?,
            targets: crate::allocation::filled(
                "shuffle buffer's targets",
                rows,
                target_width,
                0.0,
            )?,
            serial: 0,
            failed: false,
            missing: Vec::new(),
        })
    }

    /// Fills the batch `rows` into `inputs` and `targets` from the window held, reading the
    /// schedule's current `window` (its number and rows) first when some rows are not in it
    /// (a batch straddling two windows takes its first rows from the window held, then the
    /// others from the next). A row in neither (a batch over more than two windows, a window
    /// that could not be read) makes the whole batch a direct read.
    ///
    /// # Errors
    /// As the data set's [`fill_batch`](Dataset::fill_batch), for a direct read.
    pub(crate) fn fill(
        &mut self,
        data: &(dyn Dataset + Sync),
        window: (u64, &[usize]),
        rows: &[usize],
        mut inputs: ArrayViewMut2<'_, f32>,
        mut targets: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        self.missing.clear();
        for (at, &row) in rows.iter().enumerate() {
            match self.position(row) {
                Some(i) => self.copy(i, at, &mut inputs, &mut targets),
                None => self.missing.push(at),
            }
        }
        if self.missing.is_empty() {
            return Ok(());
        }
        if window.0 != self.serial && window.1.len() <= self.inputs.nrows() {
            self.read(data, window);
        }
        for m in 0..self.missing.len() {
            let at = self.missing[m];
            match self.position(rows[at]) {
                Some(i) => self.copy(i, at, &mut inputs, &mut targets),
                None => return data.fill_batch(rows, inputs, targets),
            }
        }
        Ok(())
    }

    /// Where `row`'s values are in the window held.
    fn position(&self, row: usize) -> Option<usize> {
        match self.failed {
            true => None,
            false => self.rows.binary_search(&row).ok(),
        }
    }

    /// Copies the window's row `i` to row `at` of a batch.
    fn copy(
        &self,
        i: usize,
        at: usize,
        inputs: &mut ArrayViewMut2<'_, f32>,
        targets: &mut ArrayViewMut2<'_, f32>,
    ) {
        copy_row(inputs.row_mut(at), self.inputs.row(i));
        copy_row(targets.row_mut(at), self.targets.row(i));
    }

    /// Reads the window `(serial, rows)`, its rows sorted, about 1 MB of values a call, the
    /// calls on rayon's threads (the pool of [`set_num_threads`](crate::set_num_threads) when
    /// one is set): parsing a CSV window is the prefetching thread's work, and the core that
    /// trains is idle while it waits for the window (`scripts/compare_csv.sh`'s streamed epoch
    /// with a shuffle buffer, see the commit introducing this).
    fn read(&mut self, data: &(dyn Dataset + Sync), (serial, rows): (u64, &[usize])) {
        self.serial = serial;
        self.rows.clear();
        self.rows.extend_from_slice(rows);
        self.rows.sort_unstable();
        let width = (self.inputs.ncols() + self.targets.ncols()).max(1);
        // A power of two, so that the calls end where blocks of a power of two rows end.
        let step = (READ_VALUES / width).max(1);
        let step = 1 << step.ilog2();
        let len = self.rows.len();
        let (mut inputs, mut targets) = (
            self.inputs.slice_mut(s![..len, ..]),
            self.targets.slice_mut(s![..len, ..]),
        );
        let calls: Vec<_> = self
            .rows
            .chunks(step)
            .zip(inputs.axis_chunks_iter_mut(Axis(0), step))
            .zip(targets.axis_chunks_iter_mut(Axis(0), step))
            .collect();
        let read = || {
            calls
                .into_par_iter()
                .any(|((rows, inputs), targets)| data.fill_batch(rows, inputs, targets).is_err())
        };
        self.failed = match crate::threads::pool() {
            Some(pool) => pool.install(read),
            None => read(),
        };
    }
}

/// `to = from`, as one slice copy when both rows are contiguous.
fn copy_row(mut to: ArrayViewMut1<'_, f32>, from: ArrayView1<'_, f32>) {
    match (to.as_slice_mut(), from.as_slice()) {
        (Some(to), Some(from)) => to.copy_from_slice(from),
        _ => to.assign(&from),
    }
}
