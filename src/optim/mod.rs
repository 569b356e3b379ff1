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
//! ([`TrainingCheckpoint`](crate::io::TrainingCheckpoint)) use them so that a resumed run
//! continues bit for bit.
//!
//! # A step is all or nothing
//! A training step either leaves every parameter and every element of the optimizer's state
//! finite, or changes nothing at all. The model drives each step as a small transaction:
//! 1. [`begin_step`](Optimizer::begin_step);
//! 2. [`update`](Optimizer::update) for each parameter in turn, which updates it in place and
//!    says whether the new values (and the state kept for it) are all finite; the built-in
//!    optimizers check this inside the loop that computes the update, at no measurable cost;
//! 3. when every update was finite, [`end_step`](Optimizer::end_step)`(true)`; otherwise
//!    [`revert`](Optimizer::revert) for each parameter already updated, which puts back its
//!    values and its state bit for bit, then [`end_step`](Optimizer::end_step)`(false)`, and the
//!    model reports [`Error::NonFiniteUpdate`].
//!
//! With plain SGD ([`Optimizer::plain_step_learning_rate`]) a
//! [`Dense`](crate::layers::Dense) layer takes this step itself, within its backward pass, as
//! each block of its weight gradient is computed (one sweep over the weights instead of three;
//! `docs/bytes_per_step.md` counts the bytes), keeping its own copy to undo it; the model then
//! calls [`update`](Optimizer::update) for the other parameters only, and a failure anywhere
//! undoes both. The values are the same bit for bit.
//!
//! # Writing an optimizer
//! Implement [`learning_rate`](Optimizer::learning_rate),
//! [`set_learning_rate`](Optimizer::set_learning_rate), [`update`](Optimizer::update) and
//! [`revert`](Optimizer::revert). The contract:
//! - `update` returns `true` only if every new value of the parameter, and every element of the
//!   state the optimizer keeps for it, is finite;
//! - until the next [`end_step`](Optimizer::end_step), the optimizer keeps what it needs to
//!   [`revert`](Optimizer::revert) the step: the parameter's previous values (a copy made in the
//!   update loop, see [`UndoBuffer`]) and its previous state (a copy, or new state written to a
//!   second buffer and swapped in by `end_step(true)`, as [`Sgd`] and [`Adam`] do);
//! - `end_step(false)` also undoes what [`begin_step`](Optimizer::begin_step) changed (a step
//!   counter).
//!
//! An optimizer that wraps another forwards all five calls (see `WeightOnly` in
//! `examples/linear_regression.rs`).

mod adam;
pub mod schedule;
mod sgd;
mod state;

pub use adam::{Adam, AdamW};
pub use schedule::{Constant, Cosine, Schedule, StepDecay, Warmup};
pub(crate) use sgd::plain_step;
pub use sgd::Sgd;
pub use state::{OptimizerBuffer, OptimizerState};

use crate::layers::Parameter;
use crate::{Error, Result};

/// Updates parameters from their gradients, one training step at a time, all or nothing (see
/// the [module documentation](self) for the contract).
pub trait Optimizer: Send {
    /// The current learning rate.
    fn learning_rate(&self) -> f32;

    /// Changes the learning rate (for schedules).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `learning_rate` is finite and `>= 0` (0 is legitimate:
    /// cosine annealing ends there).
    fn set_learning_rate(&mut self, learning_rate: f32) -> Result<()>;

    /// `Some(lr)` when every [`update`](Optimizer::update) of this step is exactly
    /// `w <- w - lr g`, element by element, rounded as `w - (lr * g)` in `f32` (a multiply, then a
    /// subtraction; no fused multiply-add), and changes no state of the optimizer but the undo
    /// copy: plain [`Sgd`]. [`Sequential`](crate::Sequential)'s training step
    /// ([`train_step`](crate::Sequential::train_step), [`fit`](crate::Sequential::fit)) then lets
    /// a layer that can ([`Layer::backward_and_step`](crate::layers::Layer::backward_and_step),
    /// [`Dense`](crate::layers::Dense)) take that step on its parameters within its backward
    /// pass, as each block of the gradient is computed, instead of calling `update` for them:
    /// one sweep over the weights instead of three, the same values bit for bit, the step still
    /// all or nothing (the layer keeps its own undo copy). Paths that need the whole gradient
    /// before any weight changes ([`PendingStep`](crate::model::PendingStep), the distributed
    /// wrapper) never do this.
    ///
    /// The default, `None`, is always correct: every parameter goes through `update`. An
    /// optimizer that wraps another must not forward this unless it forwards `update` unchanged.
    fn plain_step_learning_rate(&self) -> Option<f32> {
        None
    }

    /// Called once per training step, before the parameters are updated (before the backward
    /// pass when layers take the step themselves, see
    /// [`plain_step_learning_rate`](Optimizer::plain_step_learning_rate)).
    fn begin_step(&mut self) {}

    /// Updates one parameter in place; `index` is its position among the model's parameters.
    /// Returns `true` when every new value, and every element of the state kept for this
    /// parameter, is finite; `false` makes the model [`revert`](Optimizer::revert) the step.
    fn update(&mut self, index: usize, parameter: Parameter<'_>) -> bool;

    /// Undoes this step's [`update`](Optimizer::update) of parameter `index`: puts back its
    /// values and the state kept for it exactly as they were before (bit for bit). Called only
    /// for parameters updated since [`begin_step`](Optimizer::begin_step), with the same
    /// parameter (same shape and memory layout).
    fn revert(&mut self, index: usize, parameter: Parameter<'_>);

    /// Ends the step: `commit` keeps every update made since
    /// [`begin_step`](Optimizer::begin_step); otherwise every update has been
    /// [reverted](Optimizer::revert) and the optimizer forgets the step (a step counter goes
    /// back).
    fn end_step(&mut self, commit: bool) {
        let _ = commit;
    }

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

/// Copies of parameter values made during an update, one per parameter index, so that an
/// optimizer can [`revert`](Optimizer::revert) its step. Keeps its allocations from step to
/// step.
///
/// ```
/// use feedforward::layers::Parameter;
/// use feedforward::optim::UndoBuffer;
/// use feedforward::ndarray::array;
///
/// let mut undo = UndoBuffer::default();
/// let mut w = array![[1.0f32, 2.0]];
/// undo.save(0, w.view());
/// w.fill(f32::NAN);
/// undo.restore(0, w.view_mut());
/// assert_eq!(w, array![[1.0, 2.0]]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct UndoBuffer {
    saved: Vec<Vec<f32>>,
}

impl UndoBuffer {
    /// The buffer of parameter `index`, `len` elements long (contents unspecified), for an
    /// update loop that writes each previous value into it as it goes.
    pub fn slot(&mut self, index: usize, len: usize) -> &mut [f32] {
        if self.saved.len() <= index {
            self.saved.resize_with(index + 1, Vec::new);
        }
        let saved = &mut self.saved[index];
        saved.resize(len, 0.0);
        saved
    }

    /// Saves the values of parameter `index`, in logical (row-major) order.
    pub fn save(&mut self, index: usize, value: ndarray::ArrayView2<'_, f32>) {
        let slot = self.slot(index, value.len());
        for (s, &v) in slot.iter_mut().zip(value.iter()) {
            *s = v;
        }
    }

    /// Writes the values saved by [`save`](UndoBuffer::save) for parameter `index` back, in
    /// logical order. Does nothing when nothing of that size was saved.
    pub fn restore(&self, index: usize, mut value: ndarray::ArrayViewMut2<'_, f32>) {
        if let Some(saved) = self.saved.get(index).filter(|s| s.len() == value.len()) {
            for (v, &s) in value.iter_mut().zip(saved.iter()) {
                *v = s;
            }
        }
    }

    /// Writes the buffer of parameter `index`, filled in the parameter's memory order (as
    /// [`slot`](UndoBuffer::slot) is by the built-in optimizers' fast path), back into
    /// `parameter`'s values: in memory order when value and gradient share one, as the update
    /// walked them; in logical order otherwise.
    pub(crate) fn restore_parameter(&self, index: usize, mut parameter: Parameter<'_>) {
        let fast = in_memory_order(&parameter);
        let Some(saved) = self.saved.get(index) else {
            return;
        };
        match (fast, parameter.value.as_slice_memory_order_mut()) {
            (true, Some(w)) if w.len() == saved.len() => w.copy_from_slice(saved),
            _ => self.restore(index, parameter.value),
        }
    }
}

/// Whether an update can walk `parameter`'s value and gradient as two slices in memory order:
/// both contiguous, with the same layout (what layers hand out). Otherwise updates walk them in
/// logical order.
pub(crate) fn in_memory_order(parameter: &Parameter<'_>) -> bool {
    parameter.value.strides() == parameter.grad.strides()
        && parameter.value.as_slice_memory_order().is_some()
        && parameter.grad.as_slice_memory_order().is_some()
}

/// Whether `x` is neither NaN nor infinite, as a branch-free test on the exponent bits (so that
/// the update loops stay vectorised).
#[inline(always)]
pub(crate) fn non_finite(x: f32) -> bool {
    x.to_bits() & 0x7f80_0000 == 0x7f80_0000
}

/// Checks that a learning rate is finite and `>= 0`.
pub(crate) fn check_learning_rate(learning_rate: f32) -> Result<f32> {
    if learning_rate.is_finite() && learning_rate >= 0.0 {
        Ok(learning_rate)
    } else {
        Err(Error::config(
            "learning_rate",
            learning_rate,
            "a finite number >= 0, typically between 0.001 and 0.1",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Every built-in optimizer, in the configurations whose loops differ.
    fn optimizers() -> Vec<(&'static str, Box<dyn Optimizer>)> {
        vec![
            ("sgd", Box::new(Sgd::new(0.1).unwrap())),
            (
                "sgd momentum nesterov decay",
                Box::new(
                    Sgd::new(0.1)
                        .unwrap()
                        .with_momentum(0.9)
                        .unwrap()
                        .with_nesterov(true)
                        .with_weight_decay(0.01)
                        .unwrap(),
                ),
            ),
            ("adam", Box::new(Adam::new(0.01).unwrap())),
            ("adamw", Box::new(AdamW::new(0.01).unwrap())),
        ]
    }

    /// Deterministic values in [-1, 1).
    fn values(rows: usize, cols: usize, seed: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(r, c)| {
            (((r * cols + c) * 7919 + seed * 104_729) % 2003) as f32 / 1001.5 - 1.0
        })
    }

    /// The bits of `w` and of the optimizer's state after three steps (the third with a NaN
    /// gradient in its last element, reverted), in a pool of `threads` threads.
    fn trajectory(opt: &mut dyn Optimizer, threads: usize) -> (Vec<u32>, OptimizerState) {
        // Three parts of the threaded passes and a remainder.
        let (rows, cols) = (1000, 787);
        assert!(rows * cols > 3 * crate::parallel::ELEMENTS_PER_PART);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut w = values(rows, cols, 1);
            for (seed, finite) in [(2, true), (3, true), (4, false)] {
                let mut g = values(rows, cols, seed);
                if !finite {
                    g[[rows - 1, cols - 1]] = f32::NAN;
                }
                let before = w.clone();
                opt.begin_step();
                fn parameter<'a>(w: &'a mut Array2<f32>, g: &'a mut Array2<f32>) -> Parameter<'a> {
                    Parameter {
                        name: "weight",
                        value: w.view_mut(),
                        grad: g.view_mut(),
                    }
                }
                let ok = opt.update(0, parameter(&mut w, &mut g));
                assert_eq!(ok, finite);
                if !ok {
                    opt.revert(0, parameter(&mut w, &mut g));
                    assert!(w
                        .iter()
                        .zip(&before)
                        .all(|(a, b)| a.to_bits() == b.to_bits()));
                }
                opt.end_step(ok);
            }
            let bits = w.iter().map(|v| v.to_bits()).collect();
            (bits, opt.state().unwrap())
        })
    }

    #[test]
    fn large_updates_are_bit_identical_on_any_number_of_threads_and_revert() {
        let alone: Vec<_> = optimizers()
            .into_iter()
            .map(|(_, mut opt)| trajectory(opt.as_mut(), 1))
            .collect();
        for threads in [2, 3, 8] {
            for ((name, mut opt), want) in optimizers().into_iter().zip(&alone) {
                let got = trajectory(opt.as_mut(), threads);
                assert!(got.0 == want.0, "{name}: weights, {threads} threads");
                assert!(got.1 == want.1, "{name}: state, {threads} threads");
            }
        }
    }
}
