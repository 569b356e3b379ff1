//! [`Sequential::fit`]: the tutorial's training loop, grown up.
//!
//! Per epoch: set the learning rate from the schedule, take the batches (in order or
//! reshuffled), run a training step on each, average the batch losses (the tutorial's
//! `np.mean(losses)`), then evaluate the validation data if there is any and let the callbacks
//! decide whether to go on. Everything is reported through [`Progress`] events and returned as a
//! [`History`].

use super::backup::{resume_history, Backup, RunState, Setup};
use super::callbacks::{report, Callback, Control, EpochPrinter, ProgressFn};
use super::evaluate::Tally;
use super::{EpochLog, History, Progress, Sequential};
use crate::data::{Batches, Dataset, Order, Subset};
use crate::losses::Loss;
use crate::optim::{Optimizer, Schedule};
use crate::{Error, Result};
use std::time::{Duration, Instant};

/// Where validation data comes from.
#[derive(Clone, Copy, Default)]
pub enum Validation<'a> {
    /// No validation.
    #[default]
    None,
    /// A separate data set, evaluated after every epoch.
    Data(&'a dyn Dataset),
    /// The last `fraction` of the training rows (as Keras' `validation_split`: the rows are set
    /// aside before any shuffling), held out from training: of `n` rows, the last
    /// `n - floor(n (1 - fraction))`, rounded as Keras rounds them (7, 28 and 331 of 100, 90 and
    /// 1,000 rows for 0.07, 0.3 and 0.33).
    Fraction(f64),
}

impl Validation<'_> {
    /// How many of `rows` training rows this validation holds out: for
    /// [`Fraction(f)`](Validation::Fraction) the last `rows - floor(rows (1 - f))`, as Keras's
    /// `train_validation_split` rounds them; 0 for the others.
    ///
    /// ```
    /// use feedforward::model::Validation;
    /// assert_eq!(Validation::Fraction(0.33).held_out(1_000), 331);
    /// assert_eq!(Validation::None.held_out(1_000), 0);
    /// ```
    pub fn held_out(&self, rows: usize) -> usize {
        match *self {
            Validation::Fraction(f) => {
                rows.saturating_sub((rows as f64 * (1.0 - f)).floor() as usize)
            }
            Validation::None | Validation::Data(_) => 0,
        }
    }
}

/// The first rows of `data` to train on and the last ones held out for a
/// [`Validation::Fraction`] of `fraction` (before any shuffling, as Keras's
/// `validation_split`), shared by [`Sequential::fit`] and the distributed loop.
///
/// # Errors
/// [`Error::InvalidConfig`] when the fraction leaves no row to one side.
pub(crate) fn split_fraction(
    data: &dyn Dataset,
    fraction: f64,
) -> Result<(Subset<'_>, Subset<'_>)> {
    let n = data.len();
    let n_val = Validation::Fraction(fraction).held_out(n);
    if !(fraction > 0.0 && fraction < 1.0) || n_val == 0 || n_val >= n {
        return Err(Error::config(
            "validation fraction",
            fraction,
            format!("a fraction leaving rows for both training and validation among {n}"),
        ));
    }
    Ok((
        Subset::range(data, 0..n - n_val)?,
        Subset::range(data, n - n_val..n)?,
    ))
}

impl std::fmt::Debug for Validation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Validation::None => write!(f, "None"),
            Validation::Data(d) => write!(f, "Data({} rows)", d.len()),
            Validation::Fraction(x) => write!(f, "Fraction({x})"),
        }
    }
}

/// How [`Sequential::fit`] trains: epochs, batches, order, validation and learning-rate schedule.
///
/// ```
/// use feedforward::FitConfig;
/// use feedforward::model::Validation;
/// let config = FitConfig::new(10).batch_size(32).shuffle(0).validation(Validation::Fraction(0.1));
/// assert_eq!(config.batch_size, Some(32));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct FitConfig<'a> {
    /// Passes over the data.
    pub epochs: usize,
    /// Rows per batch; `None` trains on the whole data set at once (full batch).
    pub batch_size: Option<usize>,
    /// Row order: in order (default, as the tutorial), reshuffled every epoch with a seed
    /// ([`shuffle`](FitConfig::shuffle)), or shuffled within windows in bounded memory
    /// ([`shuffle_buffer`](FitConfig::shuffle_buffer)).
    pub order: Order,
    /// Validation data evaluated after every epoch (none by default).
    pub validation: Validation<'a>,
    /// Rows per batch when evaluating the validation data (default 1,000).
    pub validation_batch_size: usize,
    /// Learning rate per epoch, from the optimizer's initial one (constant by default).
    pub schedule: Option<&'a dyn Schedule>,
    /// What [`Sequential::fit`] prints while it trains (nothing by default).
    pub verbosity: Verbosity,
    /// The training checkpoint to resume from when it exists, and to write (none by default):
    /// set by [`checkpoint`](FitConfig::checkpoint).
    pub checkpoint: Option<Backup<'a>>,
    /// Epochs between two training checkpoints (1: after every epoch).
    pub checkpoint_every: usize,
    /// Leave out the rows of a last, partial batch every epoch (PyTorch's
    /// `DataLoader(drop_last=True)`); `false` by default.
    pub drop_last: bool,
}

/// What [`Sequential::fit`] prints on standard output while it trains, as Keras' `verbose`
/// argument of `Model.fit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Nothing (Keras' `verbose=0`); the default, so that a library call stays quiet.
    #[default]
    Silent,
    /// One line per epoch (Keras' `verbose=2`): `Epoch 3/10 - loss: 0.2871 - accuracy: 0.9190 -
    /// val_loss: 0.2702 - val_accuracy: 0.9213 - lr: 0.1 - 0.42s`.
    Epochs,
    /// Keras' `verbose=1`: on a terminal, a bar per epoch with the batch count, the running
    /// loss (and accuracy, for a classifier), the samples per second and the time left,
    /// replaced by the epoch's line when it ends; when standard output is not a terminal, the
    /// lines of [`Verbosity::Epochs`] alone. See [`ProgressBar`](super::ProgressBar) (feature
    /// `indicatif`, on by default; without it, the lines alone).
    ProgressBar,
}

impl<'a> FitConfig<'a> {
    /// `epochs` passes, full batch, rows in order, no validation, constant learning rate.
    pub fn new(epochs: usize) -> Self {
        FitConfig {
            epochs,
            batch_size: None,
            order: Order::InOrder,
            validation: Validation::None,
            validation_batch_size: 1000,
            schedule: None,
            verbosity: Verbosity::Silent,
            checkpoint: None,
            checkpoint_every: 1,
            drop_last: false,
        }
    }

    /// Leaves out, every epoch, the rows that would make a last batch smaller than the others
    /// (PyTorch's `DataLoader(drop_last=True)`): for a layer that cannot take a batch of one row
    /// ([`BatchNorm1d`](crate::layers::BatchNorm1d)), or for batches of equal weight.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Batches of `batch_size` rows (the tutorial uses 32).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = Some(batch_size);
        self
    }

    /// Reshuffles the rows at every epoch with a generator seeded by `seed`
    /// ([`Order::Shuffled`]: a permutation of all the rows).
    pub fn shuffle(mut self, seed: u32) -> Self {
        self.order = Order::Shuffled { seed };
        self
    }

    /// Shuffles the rows within windows of `buffer_size` rows, in bounded memory, for data
    /// read from disk ([`Order::shuffle_buffer`]: `tf.data`'s `shuffle(buffer_size, seed)`,
    /// over blocks of rows in a random order; [`Order::DEFAULT_BUFFER_SIZE`] is 65,536).
    ///
    /// ```
    /// use feedforward::data::Order;
    /// use feedforward::FitConfig;
    /// let config = FitConfig::new(5).batch_size(256).shuffle_buffer(0, Order::DEFAULT_BUFFER_SIZE);
    /// assert_eq!(config.order, Order::shuffle_buffer(0, 65_536));
    /// ```
    pub fn shuffle_buffer(mut self, seed: u32, buffer_size: usize) -> Self {
        self.order = Order::shuffle_buffer(seed, buffer_size);
        self
    }

    /// Evaluates validation data after every epoch.
    pub fn validation(mut self, validation: Validation<'a>) -> Self {
        self.validation = validation;
        self
    }

    /// Sets the learning rate of every epoch from `schedule`.
    pub fn schedule(mut self, schedule: &'a dyn Schedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// Prints one line per epoch (`Verbosity::Epochs`) or nothing (`Verbosity::Silent`, the
    /// default) while [`Sequential::fit`] trains.
    pub fn verbose(mut self, verbosity: Verbosity) -> Self {
        self.verbosity = verbosity;
        self
    }

    /// Writes the training checkpoint every `epochs` epochs instead of after each one (it is
    /// also written after the last epoch and when a callback stops training). A crash then
    /// loses up to `epochs - 1` epochs, which the resumed run trains again, to the same result.
    pub fn checkpoint_every(mut self, epochs: usize) -> Self {
        self.checkpoint_every = epochs;
        self
    }

    /// Checks every setting, so that a bad one fails before any training.
    pub(crate) fn check(&self) -> Result<()> {
        if self.checkpoint_every == 0 {
            return Err(Error::config("checkpoint_every", 0, "at least 1 epoch"));
        }
        if self.epochs == 0 {
            return Err(Error::config("epochs", 0, "at least 1"));
        }
        if self.batch_size == Some(0) {
            return Err(Error::config(
                "batch_size",
                0,
                "at least 1 (the tutorial uses 32)",
            ));
        }
        if self.validation_batch_size == 0 {
            return Err(Error::config("validation_batch_size", 0, "at least 1"));
        }
        if let Validation::Fraction(f) = self.validation {
            if !(f > 0.0 && f < 1.0) {
                return Err(Error::config(
                    "validation fraction",
                    f,
                    "a fraction strictly between 0 and 1, such as 0.1",
                ));
            }
        }
        Ok(())
    }
}

impl Sequential {
    /// Trains for `config.epochs` passes over `data` and returns each epoch's results; prints
    /// one line per epoch with `config.verbose(Verbosity::Epochs)`.
    ///
    /// [`fit_with_progress`](Sequential::fit_with_progress) also reports every batch to a
    /// closure, [`fit_with_callbacks`](Sequential::fit_with_callbacks) runs callbacks such as
    /// [`EarlyStopping`](super::EarlyStopping).
    ///
    /// # Errors
    /// A [`FitError`] holding the [`Error`] and the [`History`] of the epochs completed before
    /// it: [`Error::InvalidConfig`] for a bad setting, [`Error::Empty`] for an empty data set,
    /// [`Error::ShapeMismatch`] when the data's widths do not fit the model,
    /// [`Error::LossMismatch`] (before any training) when the loss does not fit the model's last
    /// layer, [`Error::InvalidTarget`] (with the data set's row) for targets the loss cannot
    /// take, [`Error::NonFiniteInput`] (with the data set's row and the column) at the step
    /// that meets a NaN or infinite input, and [`Error::NonFiniteLoss`] when training diverges. `?` turns it into an [`Error`].
    pub fn fit(
        &mut self,
        data: &dyn Dataset,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
        config: &FitConfig<'_>,
    ) -> std::result::Result<History, FitError> {
        self.fit_with_callbacks(data, loss, optimizer, config, &mut [])
    }

    /// [`fit`](Sequential::fit), calling `progress` at the start and end of every epoch and
    /// after every batch (for a progress bar, say).
    ///
    /// # Errors
    /// As [`fit`](Sequential::fit).
    pub fn fit_with_progress(
        &mut self,
        data: &dyn Dataset,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
        config: &FitConfig<'_>,
        progress: &mut dyn FnMut(&Progress),
    ) -> std::result::Result<History, FitError> {
        self.fit_with_callbacks(
            data,
            loss,
            optimizer,
            config,
            &mut [&mut ProgressFn(progress)],
        )
    }

    /// [`fit`](Sequential::fit) with callbacks that may stop training early or act on the model
    /// (see [`EarlyStopping`](super::EarlyStopping)). Callbacks are called in order.
    ///
    /// # Errors
    /// As [`fit`](Sequential::fit), and whatever a callback returns.
    pub fn fit_with_callbacks(
        &mut self,
        data: &dyn Dataset,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
        config: &FitConfig<'_>,
        callbacks: &mut [&mut dyn Callback],
    ) -> std::result::Result<History, FitError> {
        let mut history = History::default();
        let mut printer = EpochPrinter {
            epochs: config.epochs,
        };
        #[cfg(feature = "indicatif")]
        let mut bar = super::ProgressBar::new();
        let shown: Option<&mut dyn Callback> = match config.verbosity {
            Verbosity::Silent => None,
            Verbosity::Epochs => Some(&mut printer),
            #[cfg(feature = "indicatif")]
            Verbosity::ProgressBar => Some(&mut bar),
            #[cfg(not(feature = "indicatif"))]
            Verbosity::ProgressBar => Some(&mut printer),
        };
        let result = match shown {
            None => self.train_epochs(data, loss, optimizer, config, callbacks, &mut history),
            Some(shown) => {
                let mut all: Vec<&mut dyn Callback> = Vec::with_capacity(callbacks.len() + 1);
                for callback in callbacks.iter_mut() {
                    let callback: &mut dyn Callback = &mut **callback;
                    all.push(callback);
                }
                all.push(shown);
                self.train_epochs(data, loss, optimizer, config, &mut all, &mut history)
            }
        };
        match result {
            Ok(()) => Ok(history),
            Err(error) => Err(FitError {
                error,
                history: Box::new(history),
            }),
        }
    }

    /// The loop of [`fit_with_callbacks`](Sequential::fit_with_callbacks), recording each
    /// finished epoch in `history` as it goes, so that the caller keeps them on an error.
    fn train_epochs(
        &mut self,
        data: &dyn Dataset,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
        config: &FitConfig<'_>,
        callbacks: &mut [&mut dyn Callback],
        history: &mut History,
    ) -> Result<()> {
        config.check()?;
        self.check_dataset(data)?;
        self.check_loss(loss)?;
        // Hold out the validation fraction: the last rows, before any shuffling.
        let (train_part, held_out);
        let (train, validation): (&dyn Dataset, Option<&dyn Dataset>) = match config.validation {
            Validation::None => (data, None),
            Validation::Data(v) => {
                self.check_dataset(v)?;
                (data, Some(v))
            }
            Validation::Fraction(f) => {
                (train_part, held_out) = split_fraction(data, f)?;
                (&train_part, Some(&held_out))
            }
        };
        let batch_size = config.batch_size.unwrap_or(train.len());
        let mut batches =
            Batches::new(train.len(), batch_size, config.order)?.drop_last(config.drop_last)?;
        self.check_batch_rows(&batches, train.len(), batch_size)?;
        let base_lr = optimizer.learning_rate();
        if let Some(schedule) = config.schedule {
            check_schedule(schedule, base_lr, config.epochs)?;
        }
        for callback in callbacks.iter_mut() {
            callback.on_train_begin(self)?;
        }
        let setup = Setup::new(
            base_lr,
            batch_size,
            config.order,
            train.len(),
            validation.map_or(0, |v| v.len()),
            loss,
        );
        let mut first_epoch = 0;
        let mut time_before = Duration::ZERO;
        if let Some(backup) = config.checkpoint {
            let mut run = RunState {
                model: self,
                optimizer,
                batches: &mut batches,
                callbacks,
                history,
                setup: &setup,
                epochs: config.epochs,
                processes: None,
            };
            backup.store.prepare(backup.path, &run)?;
            if let Some(restored) = backup.store.restore(backup.path, &mut run)? {
                (first_epoch, time_before) =
                    resume_history(history, restored, config.epochs, callbacks);
            }
        }
        let started = Instant::now();
        // The training metric's counts, kept from epoch to epoch (reset at each start).
        let mut tally = Tally::new(self, train, loss)?;
        for epoch in first_epoch..config.epochs {
            let epoch_started = Instant::now();
            if let Some(schedule) = config.schedule {
                optimizer.set_learning_rate(schedule.learning_rate(base_lr, epoch))?;
            }
            batches.next_epoch();
            let count = batches.len();
            report(
                callbacks,
                &Progress::EpochStart {
                    epoch,
                    epochs: config.epochs,
                    batches: count,
                },
            );
            self.set_training(true);
            let mut sum = 0.0f64;
            // The task's metric, on each step's outputs (before its update): no extra pass.
            tally.reset();
            let last = self.layers.len() - 1;
            let mut seen = 0;
            let mut batch = 0;
            while let Some(rows) = batches.next_batch() {
                self.load_batch(train, rows)?;
                let (inputs, targets) = (
                    std::mem::take(&mut self.batch_inputs),
                    std::mem::take(&mut self.batch_targets),
                );
                let result = self
                    .step(inputs.view(), targets.view(), loss, optimizer)
                    .map_err(|e| super::evaluate::data_row(e, rows));
                self.batch_inputs = inputs;
                self.batch_targets = targets;
                let value = result?;
                sum += value as f64;
                seen += rows.len();
                tally.add(
                    train,
                    rows,
                    self.activations[last].view(),
                    self.batch_targets.view(),
                );
                report(
                    callbacks,
                    &Progress::Batch {
                        epoch,
                        batch,
                        batches: count,
                        loss: value,
                        running_loss: (sum / (batch + 1) as f64) as f32,
                        running_accuracy: tally.running_accuracy(),
                        rows: seen,
                    },
                );
                batch += 1;
            }
            let (accuracy, regression) = tally.metrics();
            let average_loss = (sum / count as f64) as f32;
            let evaluation = match validation {
                Some(v) => Some(self.evaluate(v, loss, config.validation_batch_size)?),
                None => None,
            };
            let log = EpochLog {
                epoch,
                loss: average_loss,
                accuracy,
                regression,
                validation_loss: evaluation.as_ref().map(|e| e.loss),
                validation_accuracy: evaluation.as_ref().and_then(|e| e.accuracy),
                validation_regression: evaluation.as_ref().and_then(|e| e.regression),
                learning_rate: optimizer.learning_rate(),
                duration: epoch_started.elapsed(),
            };
            history.record(&log);
            history.training_time = time_before + started.elapsed();
            report(
                callbacks,
                &Progress::EpochEnd {
                    epoch,
                    epochs: config.epochs,
                    average_loss,
                    validation_loss: log.validation_loss,
                    validation_accuracy: log.validation_accuracy,
                },
            );
            let mut stop = false;
            for callback in callbacks.iter_mut() {
                stop |= callback.on_epoch_end(self, &log)? == Control::Stop;
            }
            if stop {
                history.stopped_at = Some(epoch);
            }
            if let Some(backup) = config.checkpoint {
                let done = epoch + 1;
                if stop || done % config.checkpoint_every == 0 || done == config.epochs {
                    history.training_time = time_before + started.elapsed();
                    let run = RunState {
                        model: self,
                        optimizer,
                        batches: &mut batches,
                        callbacks,
                        history,
                        setup: &setup,
                        epochs: config.epochs,
                        processes: None,
                    };
                    backup.store.save(backup.path, &run)?;
                }
            }
            if stop {
                break;
            }
        }
        history.training_time = time_before + started.elapsed();
        for callback in callbacks.iter_mut() {
            callback.on_train_end(self, history)?;
        }
        Ok(())
    }
}

impl Sequential {
    /// Checks, before the first epoch, that every layer can take the smallest batch of an
    /// epoch in training mode.
    fn check_batch_rows(&self, batches: &Batches, rows: usize, batch_size: usize) -> Result<()> {
        let smallest = batches.smallest();
        let needy = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, layer)| (i, layer.name(), layer.min_training_rows()))
            .max_by_key(|&(_, _, needed)| needed);
        match needy {
            Some((index, name, needed)) if smallest < needed => Err(Error::config(
                "batch_size",
                batch_size,
                format!(
                    "a batch size whose batches all have at least {needed} rows: with {rows} \
                     training rows the last batch has {smallest}, and layer {index} ({name}) needs \
                     at least {needed} in training; use FitConfig::drop_last(true) or another \
                     batch size"
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Checks a schedule before the first epoch: its own [`Schedule::check`], then the learning
/// rate of every epoch (finite and `>= 0`), so that a bad one fails before any training.
pub(crate) fn check_schedule(schedule: &dyn Schedule, base_lr: f32, epochs: usize) -> Result<()> {
    schedule.check(base_lr)?;
    for epoch in 0..epochs {
        let lr = schedule.learning_rate(base_lr, epoch);
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(Error::config(
                "learning_rate",
                lr,
                format!(
                    "a finite number >= 0 at every epoch; the schedule gives {lr} at epoch \
                     {epoch} (from an initial {base_lr})"
                ),
            ));
        }
    }
    Ok(())
}

/// What [`Sequential::fit`] returns when training stops on an error: the error, and the
/// [`History`] of the epochs completed before it, so that no finished work is lost.
///
/// `?` converts it into the plain [`Error`] (dropping the history) in a function that returns
/// [`crate::Result`].
#[derive(Debug, thiserror::Error)]
#[error("{error} (after {} completed epochs)", history.epoch_losses.len())]
pub struct FitError {
    /// What went wrong.
    #[source]
    pub error: Error,
    /// The epochs completed before the error (boxed, to keep the `Err` variant small).
    pub history: Box<History>,
}

impl From<FitError> for Error {
    fn from(e: FitError) -> Error {
        e.error
    }
}
