//! [`HalfMse`]: the tutorial's cost, `C = MSE / 2 = 1/(2n) sum (t - y)^2`.
//!
//! Halving the mean squared error makes its gradient free of the factor 2:
//! `dC/dy = (y - t) / n`, with `n` the number of elements (the tutorial's `1/len(X)` for a single
//! output). With one output per sample this is exactly the tutorial's `criterion`.
//!
//! ```
//! use feedforward::losses::{HalfMse, Loss};
//! use feedforward::ndarray::array;
//!
//! let loss = HalfMse.loss(array![[1.0f32], [3.0]].view(), array![[2.0f32], [2.0]].view()).unwrap();
//! assert_eq!(loss, 0.5); // 1/2 * mean(1, 1)
//! ```

use super::elementwise_loss;

/// Half the mean squared error, over every element of the batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct HalfMse;

elementwise_loss!(HalfMse, "HalfMse", _loss => |d| 0.5 * d * d, |d| d);

#[cfg(test)]
mod tests {
    use crate::gradcheck::check_loss;
    use crate::losses::{HalfMse, Loss};
    use crate::Error;
    use ndarray::{array, Array2};

    #[test]
    fn value_and_gradient_match_the_tutorial() {
        // criterion(y, p) = 1/2 * np.mean((y - p)**2); dp = (p - y) / len
        let y = array![[1.0, 2.0], [3.0, 5.0]];
        let t = array![[1.5, 2.0], [2.0, 5.0]];
        let mut g = Array2::zeros((2, 2));
        let l = HalfMse
            .loss_and_gradient(y.view(), t.view(), g.view_mut())
            .unwrap();
        assert_eq!(l, 0.5 * (0.25 + 1.0) / 4.0);
        assert_eq!(g, array![[-0.125, 0.0], [0.25, 0.0]]);
        assert_eq!(HalfMse.loss(y.view(), t.view()).unwrap(), l);
    }

    #[test]
    fn gradient_passes_finite_differences() {
        let y = array![[0.3, -1.2, 0.7], [2.0, 0.1, -0.4]];
        let t = array![[0.0, -1.0, 1.0], [1.5, 0.0, 0.0]];
        let report = check_loss(&HalfMse, y.view(), t.view()).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }

    #[test]
    fn rejects_mismatched_shapes() {
        let y = Array2::<f32>::zeros((2, 1));
        assert!(matches!(
            HalfMse.loss(y.view(), Array2::zeros((3, 1)).view()),
            Err(Error::RowCountMismatch {
                inputs: 2,
                targets: 3
            })
        ));
        assert!(matches!(
            HalfMse.loss(y.view(), Array2::zeros((2, 2)).view()),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            HalfMse.loss(Array2::zeros((0, 1)).view(), Array2::zeros((0, 1)).view()),
            Err(Error::Empty { .. })
        ));
    }
}
