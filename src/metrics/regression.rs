//! Regression metrics, as scikit-learn defines them: [`mean_squared_error`],
//! [`root_mean_squared_error`], [`mean_absolute_error`], [`r2_score`], and all four at once in
//! [`RegressionMetrics`].
//!
//! With several output columns each metric is computed per column and averaged with equal weights
//! (scikit-learn's `multioutput='uniform_average'`). For MSE and MAE that is the mean over every
//! element; RMSE is the mean of the per-column RMSEs (as `sklearn.metrics.root_mean_squared_error`,
//! not the square root of the MSE), and R^2 the mean of the per-column R^2.
//!
//! R^2 of a column is `1 - SS_res / SS_tot` with `SS_res = sum (t - y)^2` and
//! `SS_tot = sum (t - mean(t))^2`: 1 for perfect predictions, 0 for always predicting the mean,
//! negative for worse. A constant target column (`SS_tot = 0`) scores 1 when predicted exactly and
//! 0 otherwise, as scikit-learn's `force_finite=True`; so does a single row.
//!
//! Arguments come in scikit-learn's order, the truth first: `(y_true, y_pred)`, as every metric
//! of the crate takes them ([`accuracy`](super::accuracy), [`binary_accuracy`](super::binary_accuracy)).
//!
//! ```
//! use feedforward::metrics::{r2_score, RegressionMetrics};
//! use feedforward::ndarray::array;
//!
//! // sklearn.metrics.r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) = 0.9486081370449679
//! let y_true = array![[3.0f32], [-0.5], [2.0], [7.0]];
//! let y_pred = array![[2.5f32], [0.0], [2.0], [8.0]];
//! assert!((r2_score(y_true.view(), y_pred.view())? - 0.948_608_1).abs() < 1e-6);
//! let all = RegressionMetrics::compute(y_true.view(), y_pred.view())?;
//! assert_eq!(all.mse, 0.375);
//! assert_eq!(all.mae, 0.5);
//! println!("{all}"); // mse: 0.3750 - rmse: 0.6124 - mae: 0.5000 - r2: 0.9486
//! # Ok::<(), feedforward::Error>(())
//! ```

use crate::losses::check_shapes;
use crate::Result;
use ndarray::ArrayView2;
use std::fmt;

/// The four regression metrics of a set of predictions, as scikit-learn computes them, in
/// `f64` as scikit-learn does: errors of `f32` values square to numbers far beyond `f32`'s range
/// (predictions 3e38 and -3e38 against targets -3e38 and 3e38: an MSE of 3.6e77, finite in
/// `f64`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegressionMetrics {
    /// Mean squared error, `mean((y - t)^2)`.
    pub mse: f64,
    /// Root mean squared error, the mean over output columns of `sqrt(mean((y - t)^2))`.
    pub rmse: f64,
    /// Mean absolute error, `mean(abs(y - t))`.
    pub mae: f64,
    /// Coefficient of determination R^2, the mean over output columns.
    pub r2: f64,
}

impl RegressionMetrics {
    /// The four metrics of `predictions` against the true `targets`, both `(rows, outputs)`, in
    /// scikit-learn's argument order `(y_true, y_pred)`.
    ///
    /// # Errors
    /// [`Error::Empty`](crate::Error::Empty) for no rows, a shape error when the shapes differ.
    pub fn compute(targets: ArrayView2<'_, f32>, predictions: ArrayView2<'_, f32>) -> Result<Self> {
        check_shapes("regression metrics", &predictions, &targets, None)?;
        let mut accumulator = RegressionAccumulator::new(predictions.ncols());
        accumulator.add(predictions, targets);
        Ok(accumulator.finish())
    }
}

impl fmt::Display for RegressionMetrics {
    /// `mse: 0.3750 - rmse: 0.6124 - mae: 0.5000 - r2: 0.9486`, as Keras prints its metrics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mse: {:.4} - rmse: {:.4} - mae: {:.4} - r2: {:.4}",
            self.mse, self.rmse, self.mae, self.r2
        )
    }
}

/// Mean squared error of `predictions` against `targets` (scikit-learn's `mean_squared_error`).
///
/// # Errors
/// As [`RegressionMetrics::compute`].
pub fn mean_squared_error(
    targets: ArrayView2<'_, f32>,
    predictions: ArrayView2<'_, f32>,
) -> Result<f64> {
    Ok(RegressionMetrics::compute(targets, predictions)?.mse)
}

/// Root mean squared error, averaged over output columns (scikit-learn's
/// `root_mean_squared_error`).
///
/// # Errors
/// As [`RegressionMetrics::compute`].
pub fn root_mean_squared_error(
    targets: ArrayView2<'_, f32>,
    predictions: ArrayView2<'_, f32>,
) -> Result<f64> {
    Ok(RegressionMetrics::compute(targets, predictions)?.rmse)
}

/// Mean absolute error (scikit-learn's `mean_absolute_error`).
///
/// # Errors
/// As [`RegressionMetrics::compute`].
pub fn mean_absolute_error(
    targets: ArrayView2<'_, f32>,
    predictions: ArrayView2<'_, f32>,
) -> Result<f64> {
    Ok(RegressionMetrics::compute(targets, predictions)?.mae)
}

/// R^2 of `predictions` against the true `targets`, averaged over output columns:
/// scikit-learn's `r2_score(y_true, y_pred)`, in its argument order.
///
/// # Errors
/// As [`RegressionMetrics::compute`].
pub fn r2_score(targets: ArrayView2<'_, f32>, predictions: ArrayView2<'_, f32>) -> Result<f64> {
    Ok(RegressionMetrics::compute(targets, predictions)?.r2)
}

/// Sums for the regression metrics, fed batch by batch (by
/// [`Sequential::evaluate`](crate::Sequential::evaluate)), in `f64`. The target variance uses
/// Welford's update, so that R^2 stays accurate for targets far from 0.
#[derive(Clone, Debug)]
pub(crate) struct RegressionAccumulator {
    rows: u64,
    /// Per output column: running mean of the targets, sum of squared deviations, sum of squared
    /// errors, sum of absolute errors.
    columns: Vec<[f64; 4]>,
}

impl RegressionAccumulator {
    pub(crate) fn new(outputs: usize) -> Self {
        RegressionAccumulator {
            rows: 0,
            columns: vec![[0.0; 4]; outputs],
        }
    }

    /// Adds the rows of a batch; the caller checked that the shapes agree.
    pub(crate) fn add(&mut self, predictions: ArrayView2<'_, f32>, targets: ArrayView2<'_, f32>) {
        for (y, t) in predictions.outer_iter().zip(targets.outer_iter()) {
            self.rows += 1;
            let n = self.rows as f64;
            for ((sums, &y), &t) in self.columns.iter_mut().zip(&y).zip(&t) {
                let [mean, m2, sse, sae] = sums;
                let (y, t) = (y as f64, t as f64);
                let delta = t - *mean;
                *mean += delta / n;
                *m2 += delta * (t - *mean);
                *sse += (y - t) * (y - t);
                *sae += (y - t).abs();
            }
        }
    }

    /// Forgets the rows added, keeping the buffers (a new epoch).
    pub(crate) fn reset(&mut self) {
        self.rows = 0;
        self.columns.fill([0.0; 4]);
    }

    /// The sums as numbers, for data-parallel training to merge the processes' sums: the
    /// rows, then per output the running mean, the sum of squared deviations, of squared
    /// errors and of absolute errors.
    #[cfg(feature = "mpi")]
    pub(crate) fn parts(&self) -> impl Iterator<Item = f64> + '_ {
        std::iter::once(self.rows as f64).chain(self.columns.iter().flatten().copied())
    }

    /// Merges the sums of other rows laid out by [`parts`](RegressionAccumulator::parts): the
    /// means and the sums of squared deviations by the pairwise formula of Chan, Golub and
    /// LeVeque ("Updating formulae and a pairwise algorithm for computing sample variances",
    /// 1979): `M2 = M2_a + M2_b + delta^2 n_a n_b / n`.
    #[cfg(feature = "mpi")]
    pub(crate) fn merge_parts(&mut self, parts: &[f64]) {
        let other = parts[0];
        if other == 0.0 {
            return;
        }
        let mine = self.rows as f64;
        let n = mine + other;
        for (sums, theirs) in self.columns.iter_mut().zip(parts[1..].chunks_exact(4)) {
            let delta = theirs[0] - sums[0];
            sums[0] += delta * other / n;
            sums[1] += theirs[1] + delta * delta * mine * other / n;
            sums[2] += theirs[2];
            sums[3] += theirs[3];
        }
        self.rows += other as u64;
    }

    pub(crate) fn finish(&self) -> RegressionMetrics {
        let n = self.rows.max(1) as f64;
        let outputs = self.columns.len().max(1) as f64;
        let (mut mse, mut rmse, mut mae, mut r2) = (0.0, 0.0, 0.0, 0.0);
        for &[_, m2, sse, sae] in &self.columns {
            mse += sse / n;
            rmse += (sse / n).sqrt();
            mae += sae / n;
            r2 += if m2 > 0.0 {
                1.0 - sse / m2
            } else if sse == 0.0 {
                1.0
            } else {
                0.0
            };
        }
        RegressionMetrics {
            mse: mse / outputs,
            rmse: rmse / outputs,
            mae: mae / outputs,
            r2: r2 / outputs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn multi_output_metrics_match_scikit_learn() {
        // from sklearn.metrics import *; t = [[0.5, 1], [-1, 1], [7, -6]]; y = [[0, 2], [-1, 2], [8, -5]]
        // mean_squared_error(t, y) = 0.7083333333333334
        // root_mean_squared_error(t, y) = 0.8227486121839513
        // mean_absolute_error(t, y) = 0.75
        // r2_score(t, y) = 0.9368005266622779
        let t = array![[0.5f32, 1.0], [-1.0, 1.0], [7.0, -6.0]];
        let y = array![[0.0f32, 2.0], [-1.0, 2.0], [8.0, -5.0]];
        let m = RegressionMetrics::compute(t.view(), y.view()).unwrap();
        approx::assert_abs_diff_eq!(m.mse, 0.708_333_3, epsilon = 1e-6);
        approx::assert_abs_diff_eq!(m.rmse, 0.822_748_6, epsilon = 1e-6);
        approx::assert_abs_diff_eq!(m.mae, 0.75, epsilon = 1e-6);
        approx::assert_abs_diff_eq!(m.r2, 0.936_800_5, epsilon = 1e-6);
        assert_eq!(
            m.to_string(),
            "mse: 0.7083 - rmse: 0.8227 - mae: 0.7500 - r2: 0.9368"
        );
    }

    #[test]
    fn batches_add_up_to_the_whole() {
        let mut rng = crate::random::RandomState::new(3);
        let t = rng.randn(50, 3).unwrap().mapv(|v| v * 10.0 + 1000.0);
        let y = &t + &rng.randn(50, 3).unwrap();
        let whole = RegressionMetrics::compute(t.view(), y.view()).unwrap();
        let mut acc = RegressionAccumulator::new(3);
        for start in (0..50).step_by(7) {
            let end = (start + 7).min(50);
            acc.add(
                y.slice(ndarray::s![start..end, ..]),
                t.slice(ndarray::s![start..end, ..]),
            );
        }
        let batched = acc.finish();
        for (a, b) in [
            (whole.mse, batched.mse),
            (whole.rmse, batched.rmse),
            (whole.mae, batched.mae),
            (whole.r2, batched.r2),
        ] {
            assert!(
                (a - b).abs() < 1e-5 * a.abs().max(1.0),
                "{whole:?} {batched:?}"
            );
        }
        // targets far from 0 (around 1000) with a variance of 100: R^2 near 0.99
        assert!(whole.r2 > 0.98 && whole.r2 < 1.0, "{whole:?}");
    }

    #[test]
    fn constant_targets_follow_force_finite() {
        let t = array![[2.0f32], [2.0]];
        assert_eq!(r2_score(t.view(), t.view()).unwrap(), 1.0);
        assert_eq!(
            r2_score(t.view(), array![[1.0f32], [2.0]].view()).unwrap(),
            0.0
        );
        assert!(r2_score(t.view(), array![[1.0f32, 2.0]].view()).is_err());
    }
}
