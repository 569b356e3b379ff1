//! [`OptimizerState`]: everything an optimizer carries from one step to the next, exported by
//! [`Optimizer::state`](super::Optimizer::state) and put back by
//! [`Optimizer::load_state`](super::Optimizer::load_state), so that a training run resumed from
//! a checkpoint continues bit for bit.
//!
//! The buffers are named as PyTorch's `optimizer.state_dict()["state"][index]` names them
//! (`momentum_buffer` for SGD, `exp_avg` and `exp_avg_sq` for Adam and AdamW), one set per
//! parameter index in the order [`Sequential`](crate::Sequential) hands parameters to
//! [`Optimizer::update`](super::Optimizer::update); each holds the parameter's elements in the
//! parameter's memory order (see [`Parameter`](crate::layers::Parameter)).

use crate::{Error, Result};
use std::collections::BTreeMap;

/// The most parameter tensors a state may describe (a model has a few per layer).
const MAX_PARAMETERS: usize = 1 << 24;

/// An optimizer's state: kind, hyper-parameters, step count and per-parameter buffers.
///
/// ```
/// use feedforward::optim::{Optimizer, Sgd};
/// let sgd = Sgd::new(0.1)?.with_momentum(0.9)?;
/// let state = sgd.state()?;
/// assert_eq!(state.kind, "Sgd");
/// assert_eq!(state.hyper_parameters["momentum"], 0.9);
/// assert!(state.buffers.is_empty()); // no step taken yet
/// # Ok::<(), feedforward::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct OptimizerState {
    /// The optimizer's kind (`"Sgd"`, `"Adam"`, `"AdamW"`), checked when the state is loaded.
    pub kind: String,
    /// Every hyper-parameter by name, the learning rate included (`"learning_rate"`);
    /// booleans are `0` or `1` (`"nesterov"`).
    pub hyper_parameters: BTreeMap<String, f32>,
    /// Steps counted by the optimizer (Adam's `t`, the exponent of its bias corrections); 0
    /// for an optimizer that does not count them (SGD).
    pub steps: u64,
    /// The per-parameter buffers, ordered by parameter index, then name.
    pub buffers: Vec<OptimizerBuffer>,
}

/// One buffer an optimizer keeps for one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerBuffer {
    /// The parameter's index, as [`Optimizer::update`](super::Optimizer::update) receives it.
    pub parameter: usize,
    /// The buffer's name, as PyTorch names it (`"momentum_buffer"`, `"exp_avg"`,
    /// `"exp_avg_sq"`).
    pub name: String,
    /// One value per element of the parameter, in the parameter's memory order.
    pub values: Vec<f32>,
}

impl OptimizerState {
    /// The hyper-parameter `name`, or an [`Error::StateMismatch`] saying that it is missing.
    pub(crate) fn hyper_parameter(&self, name: &str) -> Result<f32> {
        self.hyper_parameters
            .get(name)
            .copied()
            .ok_or_else(|| Error::state_mismatch(&self.kind, format!("the state has no {name}")))
    }

    /// Checks that the state belongs to an optimizer of `kind` whose hyper-parameters, other
    /// than the learning rate, are `settings`: loading the state of another configuration would
    /// silently change the training.
    pub(crate) fn check_matches(&self, kind: &str, settings: &[(&str, f32)]) -> Result<()> {
        if self.kind != kind {
            return Err(Error::state_mismatch(
                kind,
                format!(
                    "the state is that of {}, not of {kind}: resume with the optimizer it was \
                     saved from",
                    self.kind
                ),
            ));
        }
        for &(name, value) in settings {
            let saved = self.hyper_parameter(name)?;
            if saved.to_bits() != value.to_bits() {
                return Err(Error::state_mismatch(
                    kind,
                    format!("{name} is {saved} in the state but {value} in this optimizer"),
                ));
            }
        }
        let known: Vec<&str> = settings
            .iter()
            .map(|(name, _)| *name)
            .chain(["learning_rate"])
            .collect();
        if let Some(extra) = self
            .hyper_parameters
            .keys()
            .find(|name| !known.contains(&name.as_str()))
        {
            return Err(Error::state_mismatch(
                kind,
                format!("the state has a hyper-parameter {extra} that {kind} does not know"),
            ));
        }
        Ok(())
    }

    /// The buffers grouped by parameter index: for each index from 0, the values of each of
    /// `names` (in that order), or `None` for an index without buffers. Every buffer must be
    /// one of `names` and finite, and an index has all of `names` or none.
    pub(crate) fn buffers_by_parameter(&self, names: &[&str]) -> Result<Vec<Option<Vec<&[f32]>>>> {
        let mut grouped: BTreeMap<usize, BTreeMap<&str, &[f32]>> = BTreeMap::new();
        for buffer in &self.buffers {
            if !names.contains(&buffer.name.as_str()) {
                return Err(Error::state_mismatch(
                    &self.kind,
                    format!(
                        "unknown buffer {} for parameter {} (expected {})",
                        buffer.name,
                        buffer.parameter,
                        names.join(", ")
                    ),
                ));
            }
            if buffer.values.iter().any(|v| !v.is_finite()) {
                return Err(Error::state_mismatch(
                    &self.kind,
                    format!(
                        "buffer {} of parameter {} holds NaN or infinite values",
                        buffer.name, buffer.parameter
                    ),
                ));
            }
            let slot = grouped.entry(buffer.parameter).or_default();
            if slot.insert(&buffer.name, &buffer.values).is_some() {
                return Err(Error::state_mismatch(
                    &self.kind,
                    format!(
                        "two {} buffers for parameter {}",
                        buffer.name, buffer.parameter
                    ),
                ));
            }
        }
        let count = grouped.keys().next_back().map_or(0, |&last| last + 1);
        // A damaged index must not allocate gigabytes of empty slots.
        if count > MAX_PARAMETERS {
            return Err(Error::state_mismatch(
                &self.kind,
                format!("parameter index {} is out of range", count - 1),
            ));
        }
        let mut out = vec![None; count];
        for (index, buffers) in grouped {
            let values: Option<Vec<&[f32]>> =
                names.iter().map(|n| buffers.get(n).copied()).collect();
            let Some(values) = values else {
                return Err(Error::state_mismatch(
                    &self.kind,
                    format!(
                        "parameter {index} lacks one of its buffers ({})",
                        names.join(", ")
                    ),
                ));
            };
            if values.windows(2).any(|w| w[0].len() != w[1].len()) {
                return Err(Error::state_mismatch(
                    &self.kind,
                    format!("the buffers of parameter {index} differ in length"),
                ));
            }
            out[index] = Some(values);
        }
        Ok(out)
    }
}
