//! The record of a training run: [`Progress`] events while it runs, an [`EpochLog`] per epoch
//! for callbacks, and the [`History`] that [`Sequential::fit`](super::Sequential::fit)(super::Sequential::fit) returns.
//!
//! Kept apart from the loop (`fit.rs`) so that callbacks, the loop and the file formats that
//! save a history all depend on this file, and none of them on each other.

use crate::metrics::RegressionMetrics;
use std::time::Duration;

/// What [`Sequential::fit`](super::Sequential::fit) reports while it trains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Progress {
    /// Training resumes from a training checkpoint (see [`FitConfig::checkpoint`](super::FitConfig::checkpoint)), before
    /// anything else is reported.
    Resumed {
        /// Zero-based epoch training resumes at: the number of finished epochs (equal to
        /// `epochs` when there is nothing left to train).
        epoch: usize,
        /// Total number of epochs.
        epochs: usize,
        /// Whether a callback had stopped training, so that nothing is left to train.
        stopped: bool,
    },
    /// An epoch starts (`epoch` counts from 0).
    EpochStart {
        /// Zero-based epoch.
        epoch: usize,
        /// Total number of epochs.
        epochs: usize,
        /// Batches in this epoch.
        batches: usize,
    },
    /// A batch was trained on.
    Batch {
        /// Zero-based epoch.
        epoch: usize,
        /// Zero-based batch within the epoch.
        batch: usize,
        /// Batches in the epoch.
        batches: usize,
        /// This batch's loss.
        loss: f32,
        /// Average batch loss so far in this epoch.
        running_loss: f32,
        /// Accuracy so far in this epoch, for a classifier whose data has classes: on the
        /// outputs of the training steps (each before its update), as Keras' progress bar.
        running_accuracy: Option<f32>,
        /// Rows trained on so far in this epoch, this batch's included.
        rows: usize,
    },
    /// An epoch ended.
    EpochEnd {
        /// Zero-based epoch.
        epoch: usize,
        /// Total number of epochs.
        epochs: usize,
        /// Mean of the epoch's batch losses (the tutorial's `np.mean(losses)`).
        average_loss: f32,
        /// Loss on the validation data, when there is some.
        validation_loss: Option<f32>,
        /// Accuracy on the validation data, when there is some and it has classes.
        validation_accuracy: Option<f32>,
    },
}

/// One epoch's results, as callbacks see them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochLog {
    /// Zero-based epoch.
    pub epoch: usize,
    /// Mean batch loss.
    pub loss: f32,
    /// Training accuracy of a classifier (Keras' `accuracy`): the share of the epoch's
    /// training rows that the training steps' outputs classified right, each output taken
    /// before its step's update (as Keras computes it), so at no extra pass over the data.
    pub accuracy: Option<f32>,
    /// Training MSE, RMSE, MAE and R^2 of a regression, on the training steps' outputs.
    pub regression: Option<RegressionMetrics>,
    /// Validation loss, when there is validation data.
    pub validation_loss: Option<f32>,
    /// Validation accuracy, when there is validation data with classes.
    pub validation_accuracy: Option<f32>,
    /// Validation MSE, RMSE, MAE and R^2, when there is validation data and the model regresses.
    pub validation_regression: Option<RegressionMetrics>,
    /// The learning rate used.
    pub learning_rate: f32,
    /// Wall-clock time of the epoch, validation included.
    pub duration: Duration,
}

/// What [`Sequential::fit`](super::Sequential::fit) returns: one entry per epoch trained.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct History {
    /// Mean batch loss of each epoch.
    pub epoch_losses: Vec<f32>,
    /// Training accuracy of each epoch, for a classifier (Keras' `history["accuracy"]`;
    /// see [`EpochLog::accuracy`]); empty otherwise.
    pub accuracies: Vec<f32>,
    /// Training MSE, RMSE, MAE and R^2 of each epoch, for a regression; empty otherwise.
    pub regression: Vec<RegressionMetrics>,
    /// Validation loss of each epoch (empty without validation data).
    pub validation_losses: Vec<f32>,
    /// Validation accuracy of each epoch (empty without validation data with classes).
    pub validation_accuracies: Vec<f32>,
    /// Validation MSE, RMSE, MAE and R^2 of each epoch (empty without validation data, or
    /// when the model does not regress).
    pub validation_regression: Vec<RegressionMetrics>,
    /// Learning rate of each epoch.
    pub learning_rates: Vec<f32>,
    /// Wall-clock time of each epoch.
    pub epoch_times: Vec<Duration>,
    /// Wall-clock time of the whole call.
    pub training_time: Duration,
    /// The epoch after which a callback stopped training, if one did.
    pub stopped_at: Option<usize>,
}

impl History {
    /// Appends one epoch's results.
    pub(crate) fn record(&mut self, log: &EpochLog) {
        self.epoch_losses.push(log.loss);
        self.accuracies.extend(log.accuracy);
        self.regression.extend(log.regression);
        self.validation_losses.extend(log.validation_loss);
        self.validation_accuracies.extend(log.validation_accuracy);
        self.validation_regression.extend(log.validation_regression);
        self.learning_rates.push(log.learning_rate);
        self.epoch_times.push(log.duration);
    }
}
