//! [`Mse`]: the mean squared error, `L = mean((y - t)^2)` over every element, PyTorch's
//! `nn.MSELoss()` (reduction `'mean'`) and Keras' `MeanSquaredError`.
//!
//! The gradient is `dL/dy = 2 (y - t) / n`, with `n` the number of elements. The tutorial's
//! [`HalfMse`](super::HalfMse) is half of it.
//!
//! ```
//! use feedforward::losses::{Loss, Mse};
//! use feedforward::ndarray::array;
//!
//! let loss = Mse.loss(array![[1.0f32], [3.0]].view(), array![[2.0f32], [2.0]].view())?;
//! assert_eq!(loss, 1.0); // mean(1, 1)
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::elementwise_loss;

/// Mean squared error over every element of the batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mse;

elementwise_loss!(Mse, "Mse", _loss => |d| d * d, |d| 2.0 * d);

#[cfg(test)]
mod tests {
    use crate::gradcheck::check_loss;
    use crate::losses::{Loss, Mse};
    use crate::Error;
    use ndarray::{array, Array2};

    #[test]
    fn value_and_gradient_match_pytorch() {
        // y = torch.tensor([[0.5, -1.0, 2.0], [3.0, 0.25, -0.75]], requires_grad=True)
        // t = torch.tensor([[1.0, -1.5, 2.0], [1.0, 0.0, 0.5]])
        // l = nn.MSELoss()(y, t); l.backward()
        // (computed from the definition with numpy in scripts/loss_references.py)
        let y = array![[0.5f32, -1.0, 2.0], [3.0, 0.25, -0.75]];
        let t = array![[1.0f32, -1.5, 2.0], [1.0, 0.0, 0.5]];
        let mut g = Array2::zeros((2, 3));
        let l = Mse
            .loss_and_gradient(y.view(), t.view(), g.view_mut())
            .unwrap();
        approx::assert_abs_diff_eq!(l, 1.020_833_3, epsilon = 1e-6);
        assert_eq!(Mse.loss(y.view(), t.view()).unwrap(), l);
        let want = array![
            [-0.166_666_67f32, 0.166_666_67, 0.0],
            [0.666_666_7, 0.083_333_336, -0.416_666_66]
        ];
        for (g, w) in g.iter().zip(&want) {
            approx::assert_abs_diff_eq!(g, w, epsilon = 1e-7);
        }
    }

    #[test]
    fn gradient_passes_finite_differences() {
        let y = array![[0.3, -1.2, 0.7], [2.0, 0.1, -0.4]];
        let t = array![[0.0, -1.0, 1.0], [1.5, 0.0, 0.0]];
        let report = check_loss(&Mse, y.view(), t.view()).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }

    #[test]
    fn a_nan_target_is_an_error_not_a_nan_loss() {
        let y = Array2::<f32>::zeros((2, 1));
        let t = array![[1.0f32], [f32::NAN]];
        assert!(matches!(
            Mse.loss(y.view(), t.view()),
            Err(Error::InvalidTarget {
                row: 1,
                column: 0,
                ..
            })
        ));
    }
}
