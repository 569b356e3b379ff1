//! [`Huber`]: PyTorch's `nn.HuberLoss(delta)` with reduction `'mean'` (Keras' `Huber`):
//! quadratic for small errors, linear for large ones.
//!
//! For each element, with `d = y - t`:
//! `l = 0.5 d^2` when `|d| <= delta`, else `delta (|d| - 0.5 delta)`; `L = mean(l)` over the `n`
//! elements. The gradient is `dL/dy = clamp(d, -delta, delta) / n`. With `delta = 1` (the
//! default, as PyTorch's) it equals PyTorch's `SmoothL1Loss` with `beta = 1`.
//!
//! ```
//! use feedforward::losses::{Huber, Loss};
//! use feedforward::ndarray::array;
//!
//! let huber = Huber::new(1.0)?;
//! let loss = huber.loss(array![[0.5f32], [3.0]].view(), array![[0.0f32], [0.0]].view())?;
//! assert_eq!(loss, (0.125 + 2.5) / 2.0); // 0.5 * 0.5^2, then 1 * (3 - 0.5)
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::elementwise_loss;
use crate::{Error, Result};

/// Huber loss with threshold `delta`, averaged over every element of the batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    delta: f32,
}

impl Huber {
    /// A Huber loss switching from quadratic to linear at `|y - t| = delta`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `delta` is finite and positive (PyTorch requires
    /// `delta > 0`).
    pub fn new(delta: f32) -> Result<Self> {
        if !(delta.is_finite() && delta > 0.0) {
            return Err(Error::config(
                "Huber delta",
                delta,
                "a finite number above 0 (PyTorch's default is 1.0)",
            ));
        }
        Ok(Huber { delta })
    }

    /// The threshold between the quadratic and the linear part.
    pub fn delta(&self) -> f32 {
        self.delta
    }
}

impl Default for Huber {
    /// `delta = 1`, as PyTorch's `nn.HuberLoss()`.
    fn default() -> Self {
        Huber { delta: 1.0 }
    }
}

elementwise_loss!(Huber, "Huber", huber => |d| {
    let delta = huber.delta as f64;
    if d.abs() <= delta {
        0.5 * d * d
    } else {
        delta * (d.abs() - 0.5 * delta)
    }
}, |d| d.clamp(-huber.delta, huber.delta),
description |huber| format!("Huber(delta={})", huber.delta));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_loss;
    use crate::losses::Loss;
    use ndarray::{array, Array2};

    #[test]
    fn value_and_gradient_match_pytorch() {
        // nn.HuberLoss(delta=0.8)(y, t) and its gradient clamp(y - t, -0.8, 0.8) / 6
        // (computed from the definition with numpy in scripts/loss_references.py)
        let y = array![[0.5f32, -1.0, 2.0], [3.0, 0.25, -0.75]];
        let t = array![[1.0f32, -1.5, 2.0], [1.0, 0.0, 0.5]];
        let huber = Huber::new(0.8).unwrap();
        let mut g = Array2::zeros((2, 3));
        let l = huber
            .loss_and_gradient(y.view(), t.view(), g.view_mut())
            .unwrap();
        approx::assert_abs_diff_eq!(l, 0.373_541_67, epsilon = 1e-6);
        assert_eq!(huber.loss(y.view(), t.view()).unwrap(), l);
        let want = array![
            [-0.083_333_336f32, 0.083_333_336, 0.0],
            [0.133_333_34, 0.041_666_668, -0.133_333_34]
        ];
        for (g, w) in g.iter().zip(&want) {
            approx::assert_abs_diff_eq!(g, w, epsilon = 1e-7);
        }
    }

    #[test]
    fn gradient_passes_finite_differences_on_both_sides_of_delta() {
        let y = array![[0.3, -1.2, 0.7], [2.0, 0.1, -0.4]];
        let t = array![[0.0, -1.0, 1.0], [1.5, 0.0, 0.0]];
        for delta in [0.15, 1.0] {
            let report = check_loss(&Huber::new(delta).unwrap(), y.view(), t.view()).unwrap();
            assert!(report.max_relative_error < 1e-2, "{delta}: {report}");
        }
    }

    #[test]
    fn delta_must_be_positive_and_finite() {
        for delta in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert!(matches!(
                Huber::new(delta),
                Err(Error::InvalidConfig { .. })
            ));
        }
        assert_eq!(Huber::default().delta(), 1.0);
    }
}
