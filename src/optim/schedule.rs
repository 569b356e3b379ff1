//! Learning-rate schedules: the [`Schedule`] trait, [`Constant`], [`StepDecay`], [`Cosine`] and
//! [`Warmup`].
//!
//! A schedule maps the optimizer's initial learning rate `base_lr` and a zero-based epoch `e` to
//! the learning rate for that epoch; the training loop sets it with
//! [`Optimizer::set_learning_rate`](super::Optimizer::set_learning_rate) before the epoch. The
//! formulas are PyTorch's closed forms. Nothing stops counting steps instead of epochs: `e` is
//! whatever unit the caller advances.
//!
//! | schedule | learning rate at `e` | PyTorch |
//! | --- | --- | --- |
//! | [`Constant`] | `base_lr` | none |
//! | [`StepDecay`] | `base_lr * gamma^floor(e / step_size)` | `StepLR` |
//! | [`Cosine`] | `min_lr + (base_lr - min_lr) (1 + cos(pi e / t_max)) / 2` | `CosineAnnealingLR` |
//! | [`Warmup`] | `base_lr (e + 1) / epochs` for `e < epochs`, then `then` at `e - epochs` | none |
//!
//! ```
//! use feedforward::optim::{Cosine, Schedule, StepDecay, Warmup};
//!
//! let step = StepDecay::new(2, 0.5)?;
//! let lrs: Vec<f32> = (0..5).map(|e| step.learning_rate(0.1, e)).collect();
//! assert_eq!(lrs, [0.1, 0.1, 0.05, 0.05, 0.025]);
//!
//! // four epochs of warm-up (0.025, 0.05, 0.075, 0.1), then cosine annealing over ten
//! let schedule = Warmup::new(4, Cosine::new(10, 0.0)?)?;
//! assert_eq!(schedule.learning_rate(0.1, 0), 0.025);
//! assert_eq!(schedule.learning_rate(0.1, 4), 0.1);
//! # Ok::<(), feedforward::Error>(())
//! ```

use crate::{Error, Result};
use std::fmt::Debug;

/// A learning rate as a function of the epoch.
///
/// Implement it for your own schedules; the learning rate returned must be finite and `>= 0`
/// (0 is legitimate) for every epoch the training runs. [`Sequential::fit`](crate::Sequential::fit)
/// checks every epoch's rate, and [`check`](Schedule::check), before the first epoch, so that a
/// bad schedule fails before any training rather than in the middle of it.
pub trait Schedule: Debug + Send + Sync {
    /// The learning rate for the zero-based `epoch`, given the optimizer's initial learning rate.
    fn learning_rate(&self, base_lr: f32, epoch: usize) -> f32;

    /// Checks that the schedule makes sense for the initial learning rate `base_lr` (a
    /// [`Cosine`] whose minimum is above it does not). The default accepts every rate.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] saying what to change.
    fn check(&self, base_lr: f32) -> Result<()> {
        let _ = base_lr;
        Ok(())
    }
}

/// The learning rate stays `base_lr`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Constant;

impl Schedule for Constant {
    fn learning_rate(&self, base_lr: f32, _epoch: usize) -> f32 {
        base_lr
    }
}

/// Multiplies the learning rate by `gamma` every `step_size` epochs: `base_lr *
/// gamma^floor(e / step_size)` (PyTorch's `StepLR`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecay {
    step_size: usize,
    gamma: f32,
}

impl StepDecay {
    /// Decay by `gamma` every `step_size` epochs (`StepLR(step_size, gamma)`; PyTorch's default
    /// gamma is 0.1).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `step_size` is zero or `gamma` is not finite and positive.
    pub fn new(step_size: usize, gamma: f32) -> Result<Self> {
        if step_size == 0 {
            return Err(Error::config("step_size", step_size, "at least 1 epoch"));
        }
        if !(gamma.is_finite() && gamma > 0.0) {
            return Err(Error::config(
                "gamma",
                gamma,
                "a finite number above 0, typically 0.1 to 0.5",
            ));
        }
        Ok(StepDecay { step_size, gamma })
    }

    /// Epochs between two decays.
    pub fn step_size(&self) -> usize {
        self.step_size
    }

    /// The factor applied at each decay.
    pub fn gamma(&self) -> f32 {
        self.gamma
    }
}

impl Schedule for StepDecay {
    fn learning_rate(&self, base_lr: f32, epoch: usize) -> f32 {
        let decays = i32::try_from(epoch / self.step_size).unwrap_or(i32::MAX);
        (base_lr as f64 * (self.gamma as f64).powi(decays)) as f32
    }
}

/// Cosine annealing from `base_lr` at epoch 0 to `min_lr` at epoch `t_max`:
/// `min_lr + (base_lr - min_lr) (1 + cos(pi e / t_max)) / 2` (the closed form of PyTorch's
/// `CosineAnnealingLR(t_max, eta_min)`). Like that closed form it is periodic: past `t_max` the
/// learning rate rises again, reaching `base_lr` at `2 t_max`; set `t_max` to the number of
/// epochs trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cosine {
    t_max: usize,
    min_lr: f32,
}

impl Cosine {
    /// Anneal over `t_max` epochs down to `min_lr` (PyTorch's default `eta_min` is 0; the
    /// learning rate only reaches it at epoch `t_max`, after the last of `t_max` epochs).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `t_max` is zero or `min_lr` is negative or not finite.
    pub fn new(t_max: usize, min_lr: f32) -> Result<Self> {
        if t_max == 0 {
            return Err(Error::config("t_max", t_max, "at least 1 epoch"));
        }
        if !(min_lr.is_finite() && min_lr >= 0.0) {
            return Err(Error::config(
                "min_lr",
                min_lr,
                "a finite number >= 0, below the initial learning rate",
            ));
        }
        Ok(Cosine { t_max, min_lr })
    }

    /// Epochs of the half cosine.
    pub fn t_max(&self) -> usize {
        self.t_max
    }

    /// The learning rate at epoch `t_max`.
    pub fn min_lr(&self) -> f32 {
        self.min_lr
    }
}

impl Schedule for Cosine {
    fn learning_rate(&self, base_lr: f32, epoch: usize) -> f32 {
        let (base, min) = (base_lr as f64, self.min_lr as f64);
        let phase = std::f64::consts::PI * epoch as f64 / self.t_max as f64;
        // Never below the minimum by a rounding error: at t_max with min_lr = 0 the cosine term
        // is 1e-17 or -1e-17, and the rate is exactly 0, as PyTorch's.
        (min + (base - min) * (1.0 + phase.cos()) / 2.0).max(min.min(base)) as f32
    }

    /// Refuses a minimum above the initial learning rate (the rate would rise, not anneal).
    fn check(&self, base_lr: f32) -> Result<()> {
        if self.min_lr > base_lr {
            return Err(Error::config(
                "min_lr",
                self.min_lr,
                format!("at most the initial learning rate, {base_lr}: cosine annealing decreases"),
            ));
        }
        Ok(())
    }
}

/// Linear warm-up for `epochs` epochs, then another schedule.
///
/// For `e < epochs` the learning rate is `base_lr (e + 1) / epochs`: it starts at
/// `base_lr / epochs` and reaches `base_lr` at epoch `epochs - 1`. From epoch `epochs` on it is
/// `then.learning_rate(base_lr, e - epochs)`: the following schedule starts from its own epoch 0
/// (as PyTorch's `SequentialLR` does after a milestone).
#[derive(Debug)]
pub struct Warmup {
    epochs: usize,
    then: Box<dyn Schedule>,
}

impl Warmup {
    /// Warm up linearly over `epochs` epochs, then follow `then`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `epochs` is zero.
    pub fn new(epochs: usize, then: impl Schedule + 'static) -> Result<Self> {
        if epochs == 0 {
            return Err(Error::config(
                "warm-up epochs",
                epochs,
                "at least 1 (use the following schedule alone for no warm-up)",
            ));
        }
        Ok(Warmup {
            epochs,
            then: Box::new(then),
        })
    }

    /// Epochs of warm-up.
    pub fn epochs(&self) -> usize {
        self.epochs
    }
}

impl Schedule for Warmup {
    fn learning_rate(&self, base_lr: f32, epoch: usize) -> f32 {
        if epoch < self.epochs {
            (base_lr as f64 * (epoch + 1) as f64 / self.epochs as f64) as f32
        } else {
            self.then.learning_rate(base_lr, epoch - self.epochs)
        }
    }

    fn check(&self, base_lr: f32) -> Result<()> {
        self.then.check(base_lr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(schedule: &dyn Schedule, base_lr: f32, epochs: usize) -> Vec<f32> {
        (0..epochs)
            .map(|e| schedule.learning_rate(base_lr, e))
            .collect()
    }

    fn assert_close(got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            approx::assert_abs_diff_eq!(*g as f64, w, epsilon = 1e-7);
        }
    }

    #[test]
    fn constant_and_step_decay() {
        assert_eq!(rates(&Constant, 0.1, 3), [0.1, 0.1, 0.1]);
        // torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5), lr 0.1
        let step = StepDecay::new(2, 0.5).unwrap();
        assert_eq!(rates(&step, 0.1, 5), [0.1, 0.1, 0.05, 0.05, 0.025]);
        let step = StepDecay::new(3, 0.1).unwrap();
        assert_close(&rates(&step, 1.0, 7), &[1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01]);
        assert_eq!((step.step_size(), step.gamma()), (3, 0.1));
    }

    #[test]
    fn cosine_follows_the_closed_form() {
        // [0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
        let cosine = Cosine::new(10, 0.001).unwrap();
        let want = [
            0.1,
            0.09757729755661011,
            0.0905463412215599,
            0.07959536998847742,
            0.0657963412215599,
            0.0505,
            0.03520365877844011,
            0.021404630011522586,
            0.010453658778440109,
            0.0034227024433899004,
            0.001,
        ];
        assert_close(&rates(&cosine, 0.1, 11), &want);
        // halfway: (base + min) / 2; then back up, periodic like PyTorch's closed form
        assert_close(&[cosine.learning_rate(0.1, 5)], &[(0.1 + 0.001) / 2.0]);
        assert_close(&[cosine.learning_rate(0.1, 20)], &[0.1]);
        assert_eq!((cosine.t_max(), cosine.min_lr()), (10, 0.001));
    }

    #[test]
    fn cosine_to_zero_is_pytorchs_cosine_annealing_lr() {
        // PyTorch's CosineAnnealingLR(T_max=5, eta_min=0) from lr 0.5, as the issue quotes it:
        // 0.5, 0.4523, 0.3273, 0.1727, 0.0477, 0.0, 0.0477, ... (it goes on, periodic); the
        // closed form in full precision:
        // [0.5 * (1 + math.cos(math.pi * t / 5)) / 2 for t in range(11)]
        let want = [
            0.5,
            0.45225424859373686,
            0.32725424859373686,
            0.17274575140626316,
            0.047745751406263165,
            0.0,
            0.04774575140626311,
            0.1727457514062631,
            0.3272542485937368,
            0.45225424859373686,
            0.5,
        ];
        let got = rates(&Cosine::new(5, 0.0).unwrap(), 0.5, 11);
        assert_close(&got, &want);
        assert_eq!(got[5], 0.0);
        assert!(got.iter().all(|lr| *lr >= 0.0));
        assert!(Cosine::new(5, 0.0).unwrap().check(0.5).is_ok());
        assert!(matches!(
            Cosine::new(10, 5.0).unwrap().check(0.1),
            Err(Error::InvalidConfig { .. })
        ));
        let warm = Warmup::new(2, Cosine::new(10, 5.0).unwrap()).unwrap();
        assert!(warm.check(0.1).is_err());
    }

    #[test]
    fn warmup_ramps_linearly_then_hands_over() {
        let schedule = Warmup::new(4, StepDecay::new(2, 0.5).unwrap()).unwrap();
        assert_close(
            &rates(&schedule, 0.1, 8),
            &[0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.05, 0.05],
        );
        assert_eq!(schedule.epochs(), 4);
        // nested: a warm-up of a warm-up is still a schedule
        let nested = Warmup::new(1, Warmup::new(2, Constant).unwrap()).unwrap();
        assert_close(&rates(&nested, 1.0, 4), &[1.0, 0.5, 1.0, 1.0]);
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(matches!(
            StepDecay::new(0, 0.5),
            Err(Error::InvalidConfig { .. })
        ));
        for gamma in [0.0, -0.5, f32::NAN, f32::INFINITY] {
            assert!(StepDecay::new(1, gamma).is_err());
        }
        assert!(Cosine::new(0, 0.0).is_err());
        for min_lr in [-1e-3, f32::NAN, f32::INFINITY] {
            assert!(Cosine::new(10, min_lr).is_err());
        }
        assert!(Warmup::new(0, Constant).is_err());
    }
}
