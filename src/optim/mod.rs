//! Optimizers: the [`Optimizer`] trait, [`Sgd`], [`Adam`] and [`AdamW`]; learning-rate
//! [schedules](schedule).
//!
//! After each backward pass the model walks over every parameter, in a fixed order, and hands it
//! with its gradient to [`Optimizer::update`] together with its position in that order, so that
//! an optimizer with state (momentum, Adam's moments) can keep one buffer per parameter. State is
//! created on the first step; later steps allocate nothing.

mod adam;
pub mod schedule;
mod sgd;

pub use adam::{Adam, AdamW};
pub use schedule::{Constant, Cosine, Schedule, StepDecay, Warmup};
pub use sgd::Sgd;

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
