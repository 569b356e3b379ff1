//! [`DataParallel::fit`]: [`Sequential::fit`]'s loop with every global batch shared by the
//! processes.

use super::{shard, DataParallel};
use crate::data::{Batches, Dataset};
use crate::losses::Loss;
use crate::model::{
    epoch_line, split_fraction, EpochLog, FitConfig, FitError, History, Sequential, Validation,
    Verbosity,
};
use crate::optim::Optimizer;
use crate::{Error, Result};
use mpi::traits::Communicator;
use std::time::Instant;

impl<C: Communicator> DataParallel<C> {
    /// Trains `model` on `data` as [`Sequential::fit`] does, with every process of the
    /// communicator taking a [`shard`] of each global batch of `config.batch_size` rows.
    /// Collective: every process calls it with the same model, data, loss, optimizer and
    /// config.
    ///
    /// Before the first epoch it checks that every process has the same data set (row count,
    /// widths and a checksum of up to 1,024 rows spread over it) and model (parameter and
    /// buffer shapes), then gives every process rank 0's parameters and buffers
    /// ([`broadcast_model`](DataParallel::broadcast_model)). Every epoch visits the same
    /// batches as one process would (the same shuffled order on every process, from
    /// `config`'s seed); before every validation and at the end, every process takes rank 0's
    /// buffers ([`broadcast_buffers`](DataParallel::broadcast_buffers)), and validation is
    /// shared ([`evaluate`](DataParallel::evaluate)). With
    /// [`Verbosity::Epochs`], rank 0 alone prints one line per epoch.
    ///
    /// Supported settings: epochs, batch size, order, validation (data or fraction),
    /// validation batch size, schedule, verbosity, `drop_last`. Training checkpoints and
    /// callbacks are not supported yet.
    ///
    /// # Errors
    /// As [`Sequential::fit`]; [`Error::InvalidConfig`] for a training checkpoint, or for a
    /// batch (the last one, say) with fewer rows than processes times the rows each layer needs
    /// in training; [`Error::Distributed`] naming the first process whose data or model is not
    /// rank 0's, or whose step failed.
    pub fn fit(
        &mut self,
        model: &mut Sequential,
        data: &dyn Dataset,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
        config: &FitConfig<'_>,
    ) -> std::result::Result<History, FitError> {
        let mut history = History::default();
        match self.train_epochs(model, data, loss, optimizer, config, &mut history) {
            Ok(()) => Ok(history),
            Err(error) => Err(FitError {
                error,
                history: Box::new(history),
            }),
        }
    }

    fn train_epochs(
        &mut self,
        model: &mut Sequential,
        data: &dyn Dataset,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
        config: &FitConfig<'_>,
        history: &mut History,
    ) -> Result<()> {
        if config.checkpoint.is_some() {
            return Err(Error::config(
                "checkpoint",
                "a path",
                "none: distributed training does not write training checkpoints yet",
            ));
        }
        if config.epochs == 0 {
            return Err(Error::config("epochs", 0, "at least 1"));
        }
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
        let started = Instant::now();
        for epoch in 0..config.epochs {
            let epoch_started = Instant::now();
            if let Some(schedule) = config.schedule {
                optimizer.set_learning_rate(schedule.learning_rate(base_lr, epoch))?;
            }
            batches.next_epoch();
            let mut sum = 0.0f64;
            for rows in batches.iter() {
                let part = &rows[shard(rows.len(), self.rank, self.size)];
                // A read error here leaves the other processes waiting in the next collective
                // call (MPI then ends the job): reads are not yet among the step's shared flags.
                self.load_shard(train, part)?;
                let (inputs, targets) = (
                    std::mem::replace(&mut self.batch_inputs, ndarray::Array2::zeros((0, 0))),
                    std::mem::replace(&mut self.batch_targets, ndarray::Array2::zeros((0, 0))),
                );
                let result = self.step_shard(
                    model,
                    inputs.view(),
                    targets.view(),
                    rows.len(),
                    loss,
                    optimizer,
                );
                self.batch_inputs = inputs;
                self.batch_targets = targets;
                sum += f64::from(result?);
            }
            let average_loss = (sum / batches.len() as f64) as f32;
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
                // The training metric is not tallied across processes yet.
                accuracy: None,
                regression: None,
                validation_loss: evaluation.as_ref().map(|e| e.loss),
                validation_accuracy: evaluation.as_ref().and_then(|e| e.accuracy),
                validation_regression: evaluation.as_ref().and_then(|e| e.regression),
                learning_rate: optimizer.learning_rate(),
                duration: epoch_started.elapsed(),
            };
            history.record(&log);
            history.training_time = started.elapsed();
            if config.verbosity == Verbosity::Epochs && self.is_root() {
                println!("{}", epoch_line(&log, config.epochs));
            }
        }
        self.broadcast_buffers(model)?;
        history.training_time = started.elapsed();
        Ok(())
    }

    /// Copies the rows `rows` of `data` into the shard buffers.
    fn load_shard(&mut self, data: &dyn Dataset, rows: &[usize]) -> Result<()> {
        let (inputs, targets) = (
            (rows.len(), data.input_width()),
            (rows.len(), data.target_width()),
        );
        if self.batch_inputs.dim() != inputs {
            self.batch_inputs = ndarray::Array2::zeros(inputs);
        }
        if self.batch_targets.dim() != targets {
            self.batch_targets = ndarray::Array2::zeros(targets);
        }
        data.fill_batch(
            rows,
            self.batch_inputs.view_mut(),
            self.batch_targets.view_mut(),
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
    let mut inputs = ndarray::Array2::zeros((picked.len(), data.input_width()));
    let mut targets = ndarray::Array2::zeros((picked.len(), data.target_width()));
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
