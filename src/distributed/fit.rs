//! [`DataParallel::fit`]: [`Sequential::fit`]'s loop with every global batch shared by the
//! processes.

use super::{shard, DataParallel};
use crate::data::{Batches, Dataset};
use crate::losses::Loss;
use crate::model::backup::{resume_history, Processes, RunState, Setup};
use crate::model::callbacks::report;
use crate::model::{
    check_schedule, split_fraction, Callback, Control, EpochLog, FitConfig, FitError, History,
    Progress, Sequential, Validation, Verbosity,
};
use crate::optim::Optimizer;
use crate::{Error, Result};
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use ndarray::{s, Array2};
use std::time::{Duration, Instant};

impl<C: Communicator> DataParallel<C> {
    /// Trains `model` on `data` as [`Sequential::fit`] does, with every process of the
    /// communicator taking a [`shard`] of each global batch of `config.batch_size` rows.
    /// Collective: every process calls it with the same model, data, loss, optimizer and
    /// config. [`fit_with_callbacks`](DataParallel::fit_with_callbacks) also runs callbacks.
    ///
    /// Before the first epoch it checks that every process has the same data set (row count,
    /// widths and a checksum of up to 1,024 rows spread over it) and model (parameter and
    /// buffer shapes), then gives every process rank 0's parameters and buffers
    /// ([`broadcast_model`](DataParallel::broadcast_model)), and every process but rank 0 its
    /// own dropout stream ([`derive_generators`](DataParallel::derive_generators)). Every epoch visits the same
    /// batches as one process would (the same shuffled order on every process, from
    /// `config`'s seed); before every validation and at the end, every process takes rank 0's
    /// buffers ([`broadcast_buffers`](DataParallel::broadcast_buffers)), and validation is
    /// shared ([`evaluate`](DataParallel::evaluate)). With [`Verbosity::Epochs`] or
    /// [`Verbosity::ProgressBar`], rank 0 alone prints.
    ///
    /// Every setting of [`FitConfig`] is supported. With
    /// [`FitConfig::checkpoint`](FitConfig::checkpoint), rank 0 writes one training checkpoint
    /// holding every process's own state (dropout generators, batch-norm statistics) and the
    /// world size; the same `mpirun` command resumes from it, bit for bit, on as many processes
    /// (see [`distributed`](super)'s "Training checkpoints"). Name a path on rank 0's machine:
    /// the other processes never open it.
    ///
    /// # Errors
    /// As [`Sequential::fit`]; [`Error::InvalidConfig`] for a batch (the last one, say) with
    /// fewer rows than processes times the rows each layer needs in training;
    /// [`Error::Distributed`] naming the first process whose data or model is not rank 0's, or
    /// whose step (reading its shard, or computing its gradients) failed, on every process but
    /// that one, which returns its own error ([`Error::DataRead`], say);
    /// [`Error::Checkpoint`] with
    /// [`WorldSizeMismatch`](crate::error::CheckpointProblem::WorldSizeMismatch) when the
    /// checkpoint was written by another number of processes.
    pub fn fit(
        &mut self,
        model: &mut Sequential,
        data: &dyn Dataset,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
        config: &FitConfig<'_>,
    ) -> std::result::Result<History, FitError> {
        self.fit_with_callbacks(model, data, loss, optimizer, config, &mut [])
    }

    /// [`fit`](DataParallel::fit) with callbacks, as
    /// [`Sequential::fit_with_callbacks`]. Collective.
    ///
    /// The callbacks are rank 0's: they run on rank 0 alone, as Horovod advises (only rank 0
    /// logs and decides), and the other processes' `callbacks` are not called (pass the same
    /// list everywhere, or an empty one: MPI's "significant only at root"). So a
    /// [`CsvLogger`](crate::model::CsvLogger) writes one file, from rank 0. What they decide
    /// reaches every process: a stop asked by [`EarlyStopping`](crate::model::EarlyStopping)
    /// ends the run on all of them after the same epoch, and when a callback changed rank 0's
    /// model (early stopping restoring its best epoch's weights) every process takes rank 0's
    /// parameters and buffers. The [`EpochLog`] they see is the same on every process: losses
    /// and the training metric (accuracy, or regression metrics) over the whole global batches,
    /// validation over the whole validation data. The running values of the batch
    /// [`Progress`] events are the global batches' losses and rank 0's own running accuracy.
    ///
    /// # Errors
    /// As [`fit`](DataParallel::fit); a callback's error on rank 0, and
    /// [`Error::Distributed`] naming rank 0 on the others.
    pub fn fit_with_callbacks(
        &mut self,
        model: &mut Sequential,
        data: &dyn Dataset,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
        config: &FitConfig<'_>,
        callbacks: &mut [&mut dyn Callback],
    ) -> std::result::Result<History, FitError> {
        let mut history = History::default();
        let mut printer = crate::model::EpochPrinter {
            epochs: config.epochs,
        };
        #[cfg(feature = "indicatif")]
        let mut bar = crate::model::ProgressBar::new();
        let shown: Option<&mut dyn Callback> = match (self.is_root(), config.verbosity) {
            (false, _) | (_, Verbosity::Silent) => None,
            (true, Verbosity::Epochs) => Some(&mut printer),
            #[cfg(feature = "indicatif")]
            (true, Verbosity::ProgressBar) => Some(&mut bar),
            #[cfg(not(feature = "indicatif"))]
            (true, Verbosity::ProgressBar) => Some(&mut printer),
        };
        let mut all: Vec<&mut dyn Callback> = Vec::with_capacity(callbacks.len() + 1);
        if self.is_root() {
            for callback in callbacks.iter_mut() {
                let callback: &mut dyn Callback = &mut **callback;
                all.push(callback);
            }
        }
        // The printer last, as in `Sequential::fit`; not a position the checkpoint records
        // (it has no state).
        all.extend(shown);
        let result =
            self.train_epochs(model, data, loss, optimizer, config, &mut all, &mut history);
        match result {
            Ok(()) => Ok(history),
            Err(error) => Err(FitError {
                error,
                history: Box::new(history),
            }),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn train_epochs(
        &mut self,
        model: &mut Sequential,
        data: &dyn Dataset,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
        config: &FitConfig<'_>,
        callbacks: &mut [&mut dyn Callback],
        history: &mut History,
    ) -> Result<()> {
        config.check()?;
        if data.is_empty() {
            return Err(Error::Empty {
                what: "data set".into(),
                hint: "give at least one row".into(),
            });
        }
        self.check_same_value("data set (its row count)", data.len() as u64)?;
        self.check_same_value(
            "data set (its checksum over up to 1,024 rows)",
            data_checksum(data)?,
        )?;
        self.broadcast_model(model)?;
        self.derive_generators(model);
        let (train_part, held_out);
        let (train, validation): (&dyn Dataset, Option<&dyn Dataset>) = match config.validation {
            Validation::None => (data, None),
            Validation::Data(v) => (data, Some(v)),
            Validation::Fraction(f) => {
                (train_part, held_out) = split_fraction(data, f)?;
                (&train_part, Some(&held_out))
            }
        };
        let batch_size = config.batch_size.unwrap_or(train.len());
        let mut batches =
            Batches::new(train.len(), batch_size, config.order)?.drop_last(config.drop_last)?;
        let needed = self.size
            * model
                .layers()
                .iter()
                .map(|l| l.min_training_rows())
                .max()
                .unwrap_or(1);
        if batches.smallest() < needed {
            return Err(Error::config(
                "batch_size",
                batch_size,
                format!(
                    "batches of at least {needed} rows ({} processes, each needing {} rows in \
                     training); with {} training rows the smallest batch has {}: use \
                     FitConfig::drop_last(true) or another batch size",
                    self.size,
                    needed / self.size,
                    train.len(),
                    batches.smallest()
                ),
            ));
        }
        let base_lr = optimizer.learning_rate();
        if let Some(schedule) = config.schedule {
            check_schedule(schedule, base_lr, config.epochs)?;
        }
        let began = callbacks
            .iter_mut()
            .try_for_each(|callback| callback.on_train_begin(model));
        self.agree(began, "a callback's on_train_begin")?;
        let setup = Setup::new(
            base_lr,
            batch_size,
            config.order,
            train.len(),
            validation.map_or(0, |v| v.len()),
            loss,
        );
        let processes = Processes {
            rank: self.rank,
            size: self.size,
            others: Vec::new(),
        };
        let mut first_epoch = 0;
        let mut time_before = Duration::ZERO;
        if let Some(backup) = config.checkpoint {
            let mut run = RunState {
                model: &mut *model,
                optimizer: &mut *optimizer,
                batches: &mut batches,
                callbacks: &mut *callbacks,
                history: &mut *history,
                setup: &setup,
                epochs: config.epochs,
                processes: Some(&processes),
            };
            self.prepare_checkpoint(backup, &run)?;
            if let Some(restored) = self.restore_checkpoint(backup.path, &mut run)? {
                (first_epoch, time_before) =
                    resume_history(history, restored, config.epochs, callbacks);
            }
        }
        let started = Instant::now();
        let mut tally = crate::model::SharedTally::new(model, train, loss)?;
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
            let mut sum = 0.0f64;
            let mut seen = 0;
            tally.reset();
            let mut batch = 0;
            while let Some(rows) = batches.next_batch() {
                let part = &rows[shard(rows.len(), self.rank, self.size)];
                // A read error joins the step's failure flags: every process stops with it.
                let read = self.load_shard(train, part);
                let (inputs, targets) = (
                    std::mem::replace(&mut self.batch_inputs, Array2::zeros((0, 0))),
                    std::mem::replace(&mut self.batch_targets, Array2::zeros((0, 0))),
                );
                let n = part.len();
                let shard_views =
                    read.map(|()| (inputs.slice(s![..n, ..]), targets.slice(s![..n, ..])));
                let result = self.step_shard(model, shard_views, rows.len(), loss, optimizer);
                if result.is_ok() {
                    tally.add(model, train, part, targets.slice(s![..n, ..]));
                }
                self.batch_inputs = inputs;
                self.batch_targets = targets;
                let value = result?;
                sum += f64::from(value);
                seen += rows.len();
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
            let average_loss = (sum / count as f64) as f32;
            // The training metric over every process's rows: one small all-gather.
            let (accuracy, regression) = self.shared_metrics(&tally);
            let evaluation = match validation {
                Some(v) => {
                    self.broadcast_buffers(model)?;
                    Some(self.evaluate(model, v, loss, config.validation_batch_size)?)
                }
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
            let stop = self.callbacks_decide(model, |model| {
                let mut stop = false;
                for callback in callbacks.iter_mut() {
                    stop |= callback.on_epoch_end(model, &log)? == Control::Stop;
                }
                Ok(stop)
            })?;
            if stop {
                history.stopped_at = Some(epoch);
            }
            if let Some(backup) = config.checkpoint {
                let done = epoch + 1;
                if stop || done % config.checkpoint_every == 0 || done == config.epochs {
                    history.training_time = time_before + started.elapsed();
                    let run = RunState {
                        model: &mut *model,
                        optimizer: &mut *optimizer,
                        batches: &mut batches,
                        callbacks: &mut *callbacks,
                        history: &mut *history,
                        setup: &setup,
                        epochs: config.epochs,
                        processes: Some(&processes),
                    };
                    self.save_checkpoint(backup, run)?;
                }
            }
            if stop {
                break;
            }
        }
        self.broadcast_buffers(model)?;
        history.training_time = time_before + started.elapsed();
        let finished = &*history;
        self.callbacks_decide(model, |model| {
            for callback in callbacks.iter_mut() {
                callback.on_train_end(model, finished)?;
            }
            Ok(false)
        })?;
        Ok(())
    }

    /// Runs rank 0's callbacks (`run`, which says whether to stop) and tells every process
    /// the outcome: whether to stop, and rank 0's model when the callbacks changed it (early
    /// stopping's best weights); a callback's error on rank 0 is an error everywhere.
    /// Collective: one broadcast of a byte, and the model's when it changed.
    fn callbacks_decide(
        &self,
        model: &mut Sequential,
        run: impl FnOnce(&mut Sequential) -> Result<bool>,
    ) -> Result<bool> {
        const STOP: u8 = 1;
        const CHANGED: u8 = 2;
        const FAILED: u8 = 4;
        let mut outcome = 0u8;
        let mut failure = None;
        if self.is_root() {
            let before = super::checksum(model);
            match run(model) {
                Ok(stop) => {
                    outcome |= if stop { STOP } else { 0 };
                }
                Err(error) => {
                    outcome |= FAILED;
                    failure = Some(error);
                }
            }
            if super::checksum(model) != before {
                outcome |= CHANGED;
            }
        }
        self.comm.process_at_rank(0).broadcast_into(&mut outcome);
        if outcome & CHANGED != 0 {
            self.broadcast_model(model)?;
        }
        if outcome & FAILED != 0 {
            return Err(failure.unwrap_or_else(|| Error::Distributed {
                rank: 0,
                problem: "a callback failed there (its own error says why)".into(),
            }));
        }
        Ok(outcome & STOP != 0)
    }

    /// The training metric of the epoch over every process's rows: each process's counts
    /// gathered by all (one all-gather of a few numbers), merged in rank order.
    fn shared_metrics(
        &self,
        tally: &crate::model::SharedTally,
    ) -> (Option<f32>, Option<crate::metrics::RegressionMetrics>) {
        let parts = tally.parts();
        let mut all = vec![0.0f64; parts.len() * self.size];
        self.comm.all_gather_into(&parts[..], &mut all[..]);
        tally.merged_metrics(&all, self.size)
    }

    /// Copies the rows `rows` of `data` into the first rows of the shard buffers, which grow
    /// to the largest shard and keep their size (a smaller last batch reallocates nothing).
    fn load_shard(&mut self, data: &dyn Dataset, rows: &[usize]) -> Result<()> {
        let n = rows.len();
        for (buffer, width) in [
            (&mut self.batch_inputs, data.input_width()),
            (&mut self.batch_targets, data.target_width()),
        ] {
            if buffer.nrows() < n || buffer.ncols() != width {
                *buffer = Array2::zeros((n.max(buffer.nrows()), width));
            }
        }
        data.fill_batch(
            rows,
            self.batch_inputs.slice_mut(s![..n, ..]),
            self.batch_targets.slice_mut(s![..n, ..]),
        )
    }
}

/// A hash of the sizes and of up to 1,024 rows (inputs and targets) spread evenly over `data`.
fn data_checksum(data: &dyn Dataset) -> Result<u64> {
    let n = data.len();
    let picked: Vec<usize> = if n <= 1024 {
        (0..n).collect()
    } else {
        (0..1024).map(|i| i * (n - 1) / 1023).collect()
    };
    let mut inputs = Array2::zeros((picked.len(), data.input_width()));
    let mut targets = Array2::zeros((picked.len(), data.target_width()));
    data.fill_batch(&picked, inputs.view_mut(), targets.view_mut())?;
    let mut model_free = super::data_parallel::Fnv::default();
    model_free.bytes(&(n as u64).to_le_bytes());
    model_free.bytes(&(data.input_width() as u64).to_le_bytes());
    model_free.bytes(&(data.target_width() as u64).to_le_bytes());
    for v in inputs.iter().chain(targets.iter()) {
        model_free.bytes(&v.to_bits().to_le_bytes());
    }
    Ok(model_free.0)
}
