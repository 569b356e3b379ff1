//! Optimizers: the [`Optimizer`] trait, [`Sgd`], [`Adam`] and [`AdamW`]; learning-rate
//! [schedules](schedule).
//!
//! After each backward pass the model walks over every parameter, in a fixed order, and hands it
//! with its gradient to [`Optimizer::update`] together with its position in that order, so that
//! an optimizer with state (momentum, Adam's moments) can keep one buffer per parameter. State is
//! created on the first step; later steps allocate nothing.
//!
//! [`Optimizer::state`] exports that state (hyper-parameters, step count, every buffer) as an
//! [`OptimizerState`] and [`Optimizer::load_state`] puts it back: training checkpoints
//! ([`TrainingCheckpoint`](crate::model::TrainingCheckpoint)) use them so that a resumed run
//! continues bit for bit.

mod adam;
pub mod schedule;
mod sgd;
mod state;

pub use adam::{Adam, AdamW};
pub use schedule::{Constant, Cosine, Schedule, StepDecay, Warmup};
pub use sgd::Sgd;
pub use state::{OptimizerBuffer, OptimizerState};

use crate::layers::Parameter;
use crate::{Error, Result};

/// Updates parameters from their gradients.
pub trait Optimizer: Send {
    /// The current learning rate.
    fn learning_rate(&self) -> f32;

    /// Changes the learning rate (for schedules).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `learning_rate` is finite and positive.
    fn set_learning_rate(&mut self, learning_rate: f32) -> Result<()>;

    /// Called once per training step, before the parameters are updated.
    fn begin_step(&mut self) {}

    /// Updates one parameter; `index` is its position among the model's parameters.
    fn update(&mut self, index: usize, parameter: Parameter<'_>);

    /// The optimizer's whole state (kind, hyper-parameters, step count, every buffer), for a
    /// training checkpoint. A state keeps no reference to the optimizer: it is a copy.
    ///
    /// Every optimizer of the crate exports its state. An optimizer written elsewhere keeps the
    /// default, an [`Error::StateNotExported`]: training with it runs as before, but cannot be
    /// checkpointed until it implements this method and [`load_state`](Optimizer::load_state)
    /// (a stateless one returns its kind and hyper-parameters, and accepts them back).
    ///
    /// # Errors
    /// [`Error::StateNotExported`] (the default).
    fn state(&self) -> Result<OptimizerState> {
        Err(Error::StateNotExported {
            component: "this optimizer".to_string(),
            hint: "implement Optimizer::state and Optimizer::load_state for it".to_string(),
        })
    }

    /// Puts back a state exported by [`state`](Optimizer::state) from an optimizer of the same
    /// kind and hyper-parameters: the learning rate, the step count and the buffers are
    /// restored, and the next [`update`](Optimizer::update) continues as the exporting
    /// optimizer's would have. Either everything is loaded or nothing changes.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] (nothing changed) when the state is another kind's, when a
    /// hyper-parameter other than the learning rate differs, or when a buffer is unknown,
    /// incomplete or not finite; [`Error::StateNotExported`] (the default) for an optimizer
    /// that does not implement it.
    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        let _ = state;
        Err(Error::StateNotExported {
            component: "this optimizer".to_string(),
            hint: "implement Optimizer::load_state (and Optimizer::state) for it".to_string(),
        })
    }
}

/// Checks that a learning rate is finite and positive.
pub(crate) fn check_learning_rate(learning_rate: f32) -> Result<f32> {
    if learning_rate.is_finite() && learning_rate > 0.0 {
        Ok(learning_rate)
    } else {
        Err(Error::config(
            "learning_rate",
            learning_rate,
            "a finite number above 0, typically between 0.001 and 0.1",
        ))
    }
}
