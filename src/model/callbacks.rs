//! Callbacks of [`Sequential::fit_with_callbacks`]: code that runs between epochs and may stop
//! training, such as [`EarlyStopping`].

use super::fit::{EpochLog, History, Progress};
use super::{Sequential, Snapshot};
use crate::{Error, Result};

/// Whether training goes on after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Train the next epoch.
    Continue,
    /// Stop after this epoch.
    Stop,
}

/// Hooks into the training loop. Every method has a default that does nothing.
pub trait Callback {
    /// Called once when a fit begins, after its settings are checked and before the first
    /// epoch: a callback that keeps state from epoch to epoch resets it here, so that one
    /// object serves several fits (as Keras' `on_train_begin`).
    ///
    /// # Errors
    /// Whatever the callback fails with; training does not start.
    fn on_train_begin(&mut self, model: &mut Sequential) -> Result<()> {
        let _ = model;
        Ok(())
    }

    /// Called with every progress event (epoch start, each batch, epoch end).
    fn on_progress(&mut self, progress: &Progress) {
        let _ = progress;
    }

    /// Called after each epoch (and its validation) with the model; may stop training.
    ///
    /// # Errors
    /// Whatever the callback fails with; training stops with that error.
    fn on_epoch_end(&mut self, model: &mut Sequential, log: &EpochLog) -> Result<Control> {
        let _ = (model, log);
        Ok(Control::Continue)
    }

    /// Called once when training ends, normally or stopped by a callback.
    ///
    /// # Errors
    /// Whatever the callback fails with.
    fn on_train_end(&mut self, model: &mut Sequential, history: &History) -> Result<()> {
        let _ = (model, history);
        Ok(())
    }
}

/// Which number early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Monitor {
    /// The validation loss (the training loss when there is no validation data).
    #[default]
    ValidationLoss,
    /// The training loss.
    TrainingLoss,
}

/// Stops training when the monitored loss has not improved by `min_delta` for `patience`
/// epochs, and optionally puts back the weights (parameters and buffers) of the best epoch
/// (Keras' `EarlyStopping` with `restore_best_weights=True`).
///
/// A NaN or infinite loss is never an improvement, so a diverged epoch is never the best one.
/// The state (best epoch, epochs waited, saved weights) is reset when a fit begins, so one
/// `EarlyStopping` can serve several fits, as in Keras.
///
/// ```
/// use feedforward::model::EarlyStopping;
/// let stopper = EarlyStopping::new(3)?.min_delta(1e-4)?.restore_best_weights(true);
/// assert_eq!(stopper.best_epoch(), None);
/// # Ok::<(), feedforward::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    patience: usize,
    min_delta: f32,
    monitor: Monitor,
    restore_best: bool,
    best: Option<(usize, f32)>,
    waited: usize,
    best_weights: Option<Snapshot>,
}

impl EarlyStopping {
    /// Stops after `patience` epochs without improvement.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a patience of 0.
    pub fn new(patience: usize) -> Result<Self> {
        if patience == 0 {
            return Err(Error::config("patience", 0, "at least 1 epoch"));
        }
        Ok(EarlyStopping {
            patience,
            min_delta: 0.0,
            monitor: Monitor::default(),
            restore_best: false,
            best: None,
            waited: 0,
            best_weights: None,
        })
    }

    /// Counts only improvements larger than `min_delta >= 0`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when negative or not finite.
    pub fn min_delta(mut self, min_delta: f32) -> Result<Self> {
        if !(min_delta.is_finite() && min_delta >= 0.0) {
            return Err(Error::config(
                "min_delta",
                min_delta,
                "a finite number >= 0",
            ));
        }
        self.min_delta = min_delta;
        Ok(self)
    }

    /// Watches `monitor` instead of the validation loss.
    pub fn monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// When training ends, puts back the weights of the best epoch.
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best = restore;
        self
    }

    /// The best epoch so far (zero-based), if any.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best.map(|(epoch, _)| epoch)
    }

    /// The best monitored loss so far, if any.
    pub fn best_loss(&self) -> Option<f32> {
        self.best.map(|(_, loss)| loss)
    }
}

impl Callback for EarlyStopping {
    /// Forgets the previous fit's best epoch, patience count and saved weights.
    fn on_train_begin(&mut self, _model: &mut Sequential) -> Result<()> {
        self.best = None;
        self.waited = 0;
        self.best_weights = None;
        Ok(())
    }

    fn on_epoch_end(&mut self, model: &mut Sequential, log: &EpochLog) -> Result<Control> {
        let value = match self.monitor {
            Monitor::ValidationLoss => log.validation_loss.unwrap_or(log.loss),
            Monitor::TrainingLoss => log.loss,
        };
        let improved = value.is_finite()
            && match self.best {
                None => true,
                Some((_, best)) => value < best - self.min_delta,
            };
        if improved {
            self.best = Some((log.epoch, value));
            self.waited = 0;
            if self.restore_best {
                self.best_weights = Some(model.snapshot());
            }
            return Ok(Control::Continue);
        }
        self.waited += 1;
        Ok(if self.waited >= self.patience {
            Control::Stop
        } else {
            Control::Continue
        })
    }

    fn on_train_end(&mut self, model: &mut Sequential, _history: &History) -> Result<()> {
        if let Some(weights) = self.best_weights.take() {
            model.restore(&weights)?;
        }
        Ok(())
    }
}
