//! Callbacks of [`Sequential::fit_with_callbacks`]: code that runs between epochs and may stop
//! training, such as [`EarlyStopping`].

mod csv_logger;
mod early_stopping;
mod epoch_printer;
#[cfg(feature = "indicatif")]
mod progress_bar;
mod progress_fn;

pub use csv_logger::CsvLogger;
pub use early_stopping::{EarlyStopping, Monitor};
pub(crate) use epoch_printer::EpochPrinter;
#[cfg(feature = "indicatif")]
pub use progress_bar::ProgressBar;
pub(crate) use progress_fn::ProgressFn;

use super::{EpochLog, History, Progress, Sequential};
use crate::{Error, Result};
use ndarray::Array2;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

/// Hands `progress` to every callback, in order.
pub(crate) fn report(callbacks: &mut [&mut dyn Callback], progress: &Progress) {
    for callback in callbacks.iter_mut() {
        callback.on_progress(progress);
    }
}

/// Whether training goes on after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Train the next epoch.
    Continue,
    /// Stop after this epoch.
    Stop,
}

/// What a callback carries from one epoch to the next, for a training checkpoint: see
/// [`Callback::state`].
///
/// In the checkpoint file the values go into the metadata and the tensors are `F32`
/// safetensors tensors, `callback.{position}.{name}`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CallbackState {
    /// The callback's kind (`"EarlyStopping"`), checked when the state is loaded back.
    pub kind: String,
    /// Settings and counters by name, as text (`f32` written with `{}` reads back bit for bit).
    pub values: BTreeMap<String, String>,
    /// Tensors by name (the best epoch's weights of early stopping).
    pub tensors: Vec<(String, Array2<f32>)>,
}

impl CallbackState {
    /// The value `name`, parsed, or an [`Error::StateMismatch`] saying what is wrong.
    pub fn value<T: FromStr>(&self, name: &str) -> Result<T> {
        let text = self
            .values
            .get(name)
            .ok_or_else(|| Error::state_mismatch(&self.kind, format!("the state has no {name}")))?;
        text.parse()
            .map_err(|_| Error::state_mismatch(&self.kind, format!("unreadable {name} = {text:?}")))
    }

    /// Sets the value `name` to `value` written with `{}`.
    pub fn set(&mut self, name: &str, value: impl Display) {
        self.values.insert(name.to_string(), value.to_string());
    }
}

/// Hooks into the training loop. Every method has a default that does nothing.
///
/// A callback that carries state from epoch to epoch (as [`EarlyStopping`] does) exports it
/// with [`state`](Callback::state) and takes it back with [`load_state`](Callback::load_state),
/// so that a run resumed from a training checkpoint (see
/// [`FitConfig::checkpoint`](super::FitConfig::checkpoint)) makes the same decisions as an
/// uninterrupted one. The defaults say "no state", right for callbacks that only report.
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

    /// The state to save in a training checkpoint, `None` for a callback without state (the
    /// default). Called after [`on_epoch_end`](Callback::on_epoch_end) at every checkpoint.
    ///
    /// # Errors
    /// Whatever keeps the state from being exported; training stops with that error.
    fn state(&self) -> Result<Option<CallbackState>> {
        Ok(None)
    }

    /// Takes back a state from [`state`](Callback::state) when a run resumes, before the first
    /// epoch it trains; `model` is the model being trained, already restored. Either everything
    /// is loaded or nothing changes.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] when the state is not this callback's (the default refuses
    /// every state: a callback that exports one must take it back).
    fn load_state(&mut self, state: &CallbackState, model: &Sequential) -> Result<()> {
        let _ = model;
        Err(Error::state_mismatch(
            "this callback",
            format!(
                "it has no state, but the checkpoint holds one of kind {}",
                state.kind
            ),
        ))
    }
}
