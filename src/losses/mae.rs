//! [`Mae`]: the mean absolute error, `L = mean(abs(y - t))` over every element, PyTorch's
//! `nn.L1Loss()` (reduction `'mean'`) and Keras' `MeanAbsoluteError`.
//!
//! The gradient is `dL/dy = sign(y - t) / n`, with `n` the number of elements and
//! `sign(0) = 0` as in PyTorch. Less sensitive to outliers than [`Mse`](super::Mse): every
//! error pulls with the same force.
//!
//! ```
//! use feedforward::losses::{Loss, Mae};
//! use feedforward::ndarray::array;
//!
//! let loss = Mae.loss(array![[1.0f32], [5.0]].view(), array![[2.0f32], [2.0]].view())?;
//! assert_eq!(loss, 2.0); // mean(1, 3)
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::elementwise_loss;

/// Mean absolute error (L1 loss) over every element of the batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mae;

elementwise_loss!(Mae, "Mae", _loss => |d| d.abs(), |d| sign(d));

/// `-1`, `0` or `1`, as `torch.sign` (`f32::signum` gives 1 for +0).
fn sign(d: f32) -> f32 {
    if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use crate::gradcheck::check_loss;
    use crate::losses::{Loss, Mae};
    use ndarray::{array, Array2};

    #[test]
    fn value_and_gradient_match_pytorch() {
        // nn.L1Loss()(y, t), its gradient sign(y - t) / 6, torch.sign(0) = 0
        // (computed from the definition with numpy in scripts/loss_references.py)
        let y = array![[0.5f32, -1.0, 2.0], [3.0, 0.25, -0.75]];
        let t = array![[1.0f32, -1.5, 2.0], [1.0, 0.0, 0.5]];
        let mut g = Array2::zeros((2, 3));
        let l = Mae
            .loss_and_gradient(y.view(), t.view(), g.view_mut())
            .unwrap();
        assert_eq!(l, 0.75);
        assert_eq!(Mae.loss(y.view(), t.view()).unwrap(), l);
        let s = 1.0 / 6.0;
        assert_eq!(g, array![[-s, s, 0.0], [s, s, -s]]);
    }

    #[test]
    fn gradient_passes_finite_differences() {
        // away from the kink at y = t
        let y = array![[0.3, -1.2, 0.7], [2.0, 0.1, -0.4]];
        let t = array![[0.0, -1.0, 1.0], [1.5, 0.0, 0.0]];
        let report = check_loss(&Mae, y.view(), t.view()).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }
}
