//! [`Prefetch`]: a data set's next batches read on a background thread (documented on the type).

use super::window::WindowBuffer;
use super::{Batches, Dataset};
use crate::{Error, FitConfig, Result};
use ndarray::{Array2, ArrayViewMut2};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A batch filled on the background thread.
struct Filled {
    rows: Vec<usize>,
    inputs: Array2<f32>,
    targets: Array2<f32>,
    result: Result<()>,
}

/// The consumer's side of the pipeline.
struct Consumer {
    ready: Receiver<Filled>,
    recycle: SyncSender<Filled>,
    /// The next prepared batch, not asked for yet.
    pending: Option<Filled>,
    /// Batches handed over from the background thread, and read directly.
    hits: usize,
    misses: usize,
}

/// [`Prefetch`]: the next batches of a data set read on a background thread while the model
/// trains on the current one, as PyTorch's `DataLoader(num_workers=1, prefetch_factor=k)` or
/// `tf.data`'s `prefetch(k)`.
///
/// The background thread draws the batches' rows in the order [`fit`](crate::Sequential::fit)
/// will ask for them (the same [`Batches`] schedule, from the same [`FitConfig`]: the same
/// seed gives the same permutations) and fills them with the data set's own
/// [`fill_batch`](Dataset::fill_batch), `depth` batches ahead. When `fit` asks for a batch,
/// the one prepared is handed over if it holds exactly the rows asked for; any other request
/// (a validation pass, an evaluation, a schedule that differs) is read directly. Either way
/// the rows are filled by the same code from the same data, so training gives the same bits
/// with and without prefetching; only the waiting changes.
///
/// Memory: `depth + 1` batches of inputs and targets, reused, and the schedule's own copy of
/// the row order, as `fit`'s: for [`Order::Shuffled`](super::Order::Shuffled) 4 bytes a row
/// (80 MB for 20,000,000 rows: with `fit`'s, the largest part of a streamed epoch's memory at
/// that size).
///
/// # With a shuffle buffer
/// Under [`Order::ShuffleBuffer`](super::Order::ShuffleBuffer) the background thread reads a
/// whole window at once: its rows sorted by row number, in calls of `fill_batch` of about 1 MB
/// of values each (for a `CsvStream`, a few large reads: the window
/// is made of blocks of contiguous rows), into a window buffer reused from window to window;
/// the batches are gathered from it, and up to a window of batches is prepared ahead, so that
/// the next window is read while the model trains on the previous one. The batches hold the
/// bits `fit` reads without prefetching (a row's values do not depend on the other rows
/// read with it). Memory: about two windows of values, `2 × buffer_size × (input_width +
/// target_width) × 4` bytes (12 MB for the default 65,536 rows of 20 inputs and 3 targets),
/// plus the window's rows (16 bytes a row), the blocks' order (8 bytes a block) and, while
/// a window is read, the data set's own buffers for 1 MB of values (a `CsvStream`: the text
/// of those rows).
///
/// ```
/// use feedforward::data::{Dataset, InMemory, Prefetch};
/// use feedforward::ndarray::Array2;
/// use feedforward::FitConfig;
///
/// let x = Array2::from_shape_fn((10, 2), |(i, j)| (i + j) as f32);
/// let data = InMemory::new(x.clone(), x.column(0).to_owned().insert_axis(feedforward::ndarray::Axis(1)))?;
/// let config = FitConfig::new(3).batch_size(4).shuffle(42);
/// let prefetched = Prefetch::new(data, &config, 2)?;
/// assert_eq!(prefetched.len(), 10);
/// // model.fit(&prefetched, &loss, &mut optimizer, &config) reads ahead.
/// # Ok::<(), feedforward::Error>(())
/// ```
///
/// It is a [`Dataset`] itself: give it to `fit` in place of the data set.
pub struct Prefetch<D: Dataset + Send + Sync + 'static> {
    data: Arc<D>,
    consumer: Mutex<Option<Consumer>>,
    worker: Option<JoinHandle<()>>,
}

impl<D: Dataset + Send + Sync + 'static> Prefetch<D> {
    /// Reads `data`'s batches `depth` ahead, in the order `fit(&prefetch, .., config)` will
    /// ask for them: the rows left after the validation fraction held out, cut in batches of
    /// `config.batch_size`, in `config.order`, reshuffled every epoch.
    ///
    /// # Errors
    /// As [`Batches::new`] and [`Batches::drop_last`] for the configuration;
    /// [`Error::InvalidConfig`] for a depth of 0; [`Error::TooLarge`] when a shuffle buffer's
    /// window cannot be allocated.
    pub fn new(data: D, config: &FitConfig<'_>, depth: usize) -> Result<Prefetch<D>> {
        if depth == 0 {
            return Err(Error::config(
                "prefetch depth",
                0,
                "at least 1 batch prepared ahead (2 is usual)",
            ));
        }
        let rows = data.len() - config.validation.held_out(data.len());
        let batch_size = config.batch_size.unwrap_or(rows);
        let mut batches =
            Batches::new(rows, batch_size, config.order)?.drop_last(config.drop_last)?;
        let (input_width, target_width) = (data.input_width(), data.target_width());
        // A shuffle buffer: a window read at once, and up to a window of batches ahead.
        let mut window = batches
            .buffer_size()
            .map(|rows| WindowBuffer::new(rows, input_width, target_width))
            .transpose()?;
        let ahead = batches
            .buffer_size()
            .map_or(depth, |rows| depth.max(rows.div_ceil(batch_size) + 1));
        let data = Arc::new(data);
        let (ready_tx, ready) = sync_channel::<Filled>(ahead);
        let (recycle, recycle_rx) = sync_channel::<Filled>(ahead + 2);
        let worker_data = Arc::clone(&data);
        let worker = std::thread::Builder::new()
            .name("feedforward-prefetch".into())
            .spawn(move || loop {
                batches.next_epoch();
                while let Some(rows) = batches.next_batch() {
                    let mut batch = recycle_rx.try_recv().unwrap_or_else(|_| Filled {
                        rows: Vec::with_capacity(batch_size),
                        inputs: Array2::zeros((0, input_width)),
                        targets: Array2::zeros((0, target_width)),
                        result: Ok(()),
                    });
                    batch.rows.clear();
                    batch.rows.extend_from_slice(rows);
                    let n = batch.rows.len();
                    if batch.inputs.nrows() != n {
                        batch.inputs = Array2::zeros((n, input_width));
                        batch.targets = Array2::zeros((n, target_width));
                    }
                    let (inputs, targets) = (batch.inputs.view_mut(), batch.targets.view_mut());
                    batch.result = match (&mut window, batches.window()) {
                        (Some(buffer), Some(current)) => {
                            buffer.fill(&*worker_data, current, &batch.rows, inputs, targets)
                        }
                        _ => worker_data.fill_batch(&batch.rows, inputs, targets),
                    };
                    // Fails once the consumer is gone: the thread ends.
                    if ready_tx.send(batch).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io("starting the prefetch thread for", "(prefetch)", e))?;
        Ok(Prefetch {
            data,
            consumer: Mutex::new(Some(Consumer {
                ready,
                recycle,
                pending: None,
                hits: 0,
                misses: 0,
            })),
            worker: Some(worker),
        })
    }

    /// The data set read from.
    pub fn get_ref(&self) -> &D {
        &self.data
    }

    /// How many batches were handed over ready, and how many were read directly (a request
    /// that was not the next batch of the schedule).
    pub fn counts(&self) -> (usize, usize) {
        let consumer = self.consumer.lock().unwrap_or_else(|e| e.into_inner());
        consumer.as_ref().map_or((0, 0), |c| (c.hits, c.misses))
    }
}

impl<D: Dataset + Send + Sync + 'static> Dataset for Prefetch<D> {
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
        mut inputs: ArrayViewMut2<'_, f32>,
        mut targets: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let mut guard = self.consumer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(consumer) = guard.as_mut() {
            if consumer.pending.is_none() {
                // Only fails when the background thread is gone (it panicked): read directly.
                consumer.pending = consumer.ready.recv().ok();
            }
            if consumer.pending.as_ref().is_some_and(|p| p.rows == rows) {
                let mut batch = consumer.pending.take().expect("checked above");
                consumer.hits += 1;
                inputs.assign(&batch.inputs);
                targets.assign(&batch.targets);
                let result = std::mem::replace(&mut batch.result, Ok(()));
                // Full only if the thread stopped taking buffers back: then it is dropped.
                let _ = consumer.recycle.try_send(batch);
                return result;
            }
            consumer.misses += 1;
        }
        drop(guard);
        self.data.fill_batch(rows, inputs, targets)
    }

    fn class_of(&self, row: usize) -> Option<usize> {
        self.data.class_of(row)
    }
}

impl<D: Dataset + Send + Sync + 'static> Drop for Prefetch<D> {
    fn drop(&mut self) {
        // Closing the channels ends the thread at its next send.
        drop(
            self.consumer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl<D: Dataset + Send + Sync + 'static> std::fmt::Debug for Prefetch<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (hits, misses) = self.counts();
        write!(
            f,
            "Prefetch({} rows, {hits} batches prefetched, {misses} read directly)",
            self.data.len()
        )
    }
}
