//! [`EarlyStopping`]: stop when the monitored loss stops improving, as Keras's callback of that
//! name (`patience`, `min_delta`, `restore_best_weights`).

use super::{Callback, CallbackState, Control};
use crate::model::{EpochLog, History, Sequential, Snapshot};
use crate::{Error, Result};

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

    /// Kind `"EarlyStopping"`: the settings (`patience`, `min_delta`, `monitor`,
    /// `restore_best_weights`), the counters (`best_epoch`, `best_loss`, `waited`) and the
    /// best epoch's weights as tensors `best_weights.{k}`, one per parameter in model order.
    fn state(&self) -> Result<Option<CallbackState>> {
        let mut state = CallbackState {
            kind: EARLY_STOPPING.to_string(),
            ..CallbackState::default()
        };
        for (name, value) in self.settings() {
            state.set(name, value);
        }
        if let Some((epoch, loss)) = self.best {
            state.set("best_epoch", epoch);
            state.set("best_loss", loss);
        }
        state.set("waited", self.waited);
        if let Some(weights) = &self.best_weights {
            state.tensors =
                weights
                    .parameters()
                    .iter()
                    .enumerate()
                    .map(|(k, w)| (format!("{BEST_WEIGHTS}.{k}"), w.clone()))
                    .chain(weights.buffers().iter().map(|(layer, name, b)| {
                        (format!("{BEST_BUFFERS}.{layer}.{name}"), b.clone())
                    }))
                    .collect();
        }
        Ok(Some(state))
    }

    fn load_state(&mut self, state: &CallbackState, model: &Sequential) -> Result<()> {
        let fail = |reason: String| Error::state_mismatch(EARLY_STOPPING, reason);
        if state.kind != EARLY_STOPPING {
            return Err(fail(format!(
                "the state is that of {}, not of {EARLY_STOPPING}",
                state.kind
            )));
        }
        for (name, value) in self.settings() {
            let saved: String = state.value(name)?;
            if saved != value {
                return Err(fail(format!(
                    "{name} is {saved} in the state but {value} in this callback"
                )));
            }
        }
        let best = match state.values.contains_key("best_epoch") {
            true => Some((state.value("best_epoch")?, state.value("best_loss")?)),
            false => None,
        };
        let waited: usize = state.value("waited")?;
        let weights = if state.tensors.is_empty() {
            None
        } else {
            let mut weights = Vec::with_capacity(state.tensors.len());
            let mut buffers = Vec::new();
            for (k, (name, value)) in state.tensors.iter().enumerate() {
                if *name == format!("{BEST_WEIGHTS}.{k}") {
                    weights.push(value.clone());
                    continue;
                }
                // `best_buffers.{layer}.{name}`, named as the model's own buffers.
                let found = name
                    .strip_prefix(&format!("{BEST_BUFFERS}."))
                    .and_then(|rest| rest.split_once('.'))
                    .and_then(|(layer, local)| {
                        let layer: usize = layer.parse().ok()?;
                        let names = model.layers().get(layer)?.buffers();
                        let (local, _) = names.into_iter().find(|(n, _)| *n == local)?;
                        Some((layer, local))
                    });
                match found {
                    Some((layer, local)) => buffers.push((layer, local, value.clone())),
                    None => return Err(fail(format!("unexpected tensor {name}"))),
                }
            }
            let snapshot = Snapshot::from_parts(weights, buffers);
            let shapes: Vec<_> = model.parameters().iter().map(|(_, p)| p.dim()).collect();
            let saved: Vec<_> = snapshot.parameters().iter().map(|w| w.dim()).collect();
            if shapes != saved {
                return Err(fail(format!(
                    "the best weights have shapes {saved:?}, the model's parameters {shapes:?}"
                )));
            }
            Some(snapshot)
        };
        if weights.is_some() != (self.restore_best && best.is_some()) {
            return Err(fail(
                "the best weights are missing or unexpected for restore_best_weights".to_string(),
            ));
        }
        self.best = best;
        self.waited = waited;
        self.best_weights = weights;
        Ok(())
    }
}

/// The kind of [`EarlyStopping`]'s state, and the name of its snapshot tensors.
const EARLY_STOPPING: &str = "EarlyStopping";
/// The prefix of the best epoch's buffers in the state (`best_buffers.{layer}.{name}`).
const BEST_BUFFERS: &str = "best_buffers";
const BEST_WEIGHTS: &str = "best_weights";

impl EarlyStopping {
    /// The settings a saved state must share, as text.
    fn settings(&self) -> [(&'static str, String); 4] {
        [
            ("patience", self.patience.to_string()),
            ("min_delta", self.min_delta.to_string()),
            (
                "monitor",
                match self.monitor {
                    Monitor::ValidationLoss => "ValidationLoss",
                    Monitor::TrainingLoss => "TrainingLoss",
                }
                .to_string(),
            ),
            ("restore_best_weights", self.restore_best.to_string()),
        ]
    }
}
