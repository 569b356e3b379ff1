//! [`BatchNorm1d`]: batch normalisation, `Y = (X - mean) / sqrt(var + eps) * gamma + beta`,
//! per feature (column).
//!
//! As PyTorch's `nn.BatchNorm1d(features)` (eps `1e-5`, momentum `0.1`, affine, tracking
//! running statistics):
//! - in **training** mode, `mean` and `var` are the batch's, per column, with the biased
//!   variance (divided by `n`); the running statistics are then updated with the unbiased one:
//!   `running_mean <- (1 - momentum) running_mean + momentum mean` and
//!   `running_var <- (1 - momentum) running_var + momentum var n / (n - 1)`. A batch needs at
//!   least two rows.
//! - in **evaluation** mode, `mean` and `var` are the running statistics (which start at 0 and 1),
//!   so each sample's output depends on that sample only.
//!
//! Gradients, for `G = dLoss/dY` and `X_hat = (X - mean) / sqrt(var + eps)`: `dgamma = sum of the
//! rows of G * X_hat`, `dbeta = sum of the rows of G`, and in training mode, where the
//! statistics depend on the whole batch,
//! `dX = gamma / sqrt(var + eps) * (G - mean_rows(G) - X_hat * mean_rows(G * X_hat))`
//! (in evaluation mode only the first term).
//!
//! The running statistics are buffers, not parameters: optimizers do not see them and
//! [`Layer::parameters`] does not list them, so a checkpoint must save
//! [`running_mean`](BatchNorm1d::running_mean) and [`running_var`](BatchNorm1d::running_var) as
//! well and restore them with [`set_running_stats`](BatchNorm1d::set_running_stats).
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::ndarray::array;
//!
//! let mut bn = BatchNorm1d::new(1)?;
//! let mut y = feedforward::ndarray::Array2::zeros((2, 1));
//! bn.forward(array![[1.0f32], [3.0]].view(), y.view_mut())?; // mean 2, variance 1
//! assert!((y[[0, 0]] + 1.0).abs() < 1e-5 && (y[[1, 0]] - 1.0).abs() < 1e-5);
//! // running mean 0.9 * 0 + 0.1 * 2; running variance 0.9 * 1 + 0.1 * 2 (unbiased)
//! assert_eq!(bn.running_mean()[[0, 0]], 0.2);
//! assert_eq!(bn.running_var()[[0, 0]], 1.1);
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::affine::Affine;
use super::feature_statistics::FeatureStatistics;
use super::identity::same_shape;
use super::{expect_width, fixed_input_width, Layer, Parameter};
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// Per-feature batch normalisation with learnable `weight` (gamma) and `bias` (beta), both
/// `(1, features)`, and running statistics for evaluation.
#[derive(Clone, Debug)]
pub struct BatchNorm1d {
    /// Gamma and beta, with their gradients.
    affine: Affine,
    /// The running mean and variance, PyTorch's `running_mean` and `running_var`.
    running: FeatureStatistics,
    /// The running statistics before the last training-mode forward pass, put back by
    /// `end_step(false)` while `pending` is set.
    previous: (Array2<f32>, Array2<f32>),
    /// Whether a training-mode forward pass changed the running statistics since the last
    /// `end_step`.
    pending: bool,
    momentum: f32,
    eps: f32,
    training: bool,
    /// Statistics of the last forward pass and scratch sums, one per feature.
    features: Vec<FeatureStats>,
    /// Rows of the last forward pass.
    rows: usize,
    /// Whether the last forward pass normalised with the batch's statistics (training mode).
    batch_stats: bool,
    /// Consecutive values of a row that belong to one feature: 1, or a
    /// [`BatchNorm2d`](super::BatchNorm2d)'s `height width` (a row holds each channel's plane).
    spatial: usize,
    /// The layer's name in messages: `BatchNorm1d`, or `BatchNorm2d` for the layer that wraps it.
    name: &'static str,
}

/// What one feature's forward and backward passes need.
#[derive(Clone, Copy, Debug, Default)]
struct FeatureStats {
    /// The mean used by the last forward pass.
    mean: f32,
    /// `1 / sqrt(var + eps)` used by the last forward pass.
    inv_std: f32,
    /// Sum of the column (forward), of `G` (backward).
    sum: f64,
    /// Sum of squared deviations (forward), of `G * X_hat` (backward).
    sum2: f64,
}

impl BatchNorm1d {
    /// Batch normalisation over `features` columns: gamma 1, beta 0, running mean 0, running
    /// variance 1, momentum 0.1, eps `1e-5`, in training mode (PyTorch's defaults).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `features` is zero.
    pub fn new(features: usize) -> Result<Self> {
        if features == 0 {
            return Err(Error::config(
                "BatchNorm1d features",
                features,
                "at least 1: the width of the layer's input",
            ));
        }
        let row =
            |value: f32| crate::allocation::filled("BatchNorm1d statistics", 1, features, value);
        Ok(BatchNorm1d {
            affine: Affine::new("BatchNorm1d", features)?,
            running: FeatureStatistics::new(
                "BatchNorm1d",
                features,
                ["running_mean", "running_var"],
            )?,
            previous: (row(0.0)?, row(1.0)?),
            pending: false,
            momentum: 0.1,
            eps: 1e-5,
            training: true,
            features: crate::allocation::filled_vec(
                "BatchNorm1d statistics",
                features,
                FeatureStats::default(),
            )?,
            rows: 0,
            batch_stats: false,
            spatial: 1,
            name: "BatchNorm1d",
        })
    }

    /// Sets the weight of the newest batch in the running statistics (PyTorch's `momentum`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] outside `[0, 1]`.
    pub fn with_momentum(mut self, momentum: f32) -> Result<Self> {
        if !(0.0..=1.0).contains(&momentum) {
            return Err(Error::config(
                "BatchNorm1d momentum",
                momentum,
                "a number in [0, 1], typically 0.1",
            ));
        }
        self.momentum = momentum;
        Ok(self)
    }

    /// Sets the constant added to the variance before its square root.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless finite and positive.
    pub fn with_eps(mut self, eps: f32) -> Result<Self> {
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::config(
                "BatchNorm1d eps",
                eps,
                "a finite number above 0, typically 1e-5",
            ));
        }
        self.eps = eps;
        Ok(self)
    }

    /// Number of features (columns) normalised.
    pub fn num_features(&self) -> usize {
        self.features.len()
    }

    /// Normalises each feature over `spatial` consecutive values of a row as well as over the
    /// rows (a [`BatchNorm2d`](super::BatchNorm2d)'s channel planes, PyTorch's `(N, C, L)`
    /// input of `BatchNorm1d`), named `name` in messages.
    pub(super) fn set_spatial(&mut self, spatial: usize, name: &'static str) {
        self.spatial = spatial.max(1);
        self.name = name;
    }

    /// Values of a row: features times their spatial extent.
    fn width(&self) -> usize {
        self.features.len() * self.spatial
    }

    /// Gamma, `(1, features)`.
    pub fn weight(&self) -> ArrayView2<'_, f32> {
        self.affine.weight.view()
    }

    /// Beta, `(1, features)`.
    pub fn bias(&self) -> ArrayView2<'_, f32> {
        self.affine.bias.view()
    }

    /// The running mean, `(1, features)`, used in evaluation mode. A buffer, not a parameter:
    /// checkpoints must save it (see [`set_running_stats`](BatchNorm1d::set_running_stats)).
    pub fn running_mean(&self) -> ArrayView2<'_, f32> {
        self.running.mean.view()
    }

    /// The running (unbiased) variance, `(1, features)`, used in evaluation mode. A buffer, not
    /// a parameter: checkpoints must save it.
    pub fn running_var(&self) -> ArrayView2<'_, f32> {
        self.running.variance.view()
    }

    /// Restores running statistics, for instance from a checkpoint.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless both are `(1, features)`; [`Error::InvalidConfig`] when a
    /// mean is not finite or a variance is negative or not finite.
    pub fn set_running_stats(
        &mut self,
        mean: ArrayView2<'_, f32>,
        var: ArrayView2<'_, f32>,
    ) -> Result<()> {
        self.running.set(self.name, mean, var)
    }
}

impl Layer for BatchNorm1d {
    fn name(&self) -> &str {
        "BatchNorm1d"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        fixed_input_width(self.name, self.width(), input_width, input_width)
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let (name, spatial) = (self.name, self.spatial);
        expect_width(name, &input, self.width())?;
        same_shape(name, &input, &output.view())?;
        // Values per feature: the rows times each feature's spatial extent.
        let n = input.nrows() * spatial;
        let eps = self.eps as f64;
        if self.training {
            if n < 2 {
                return Err(Error::shape(
                    format!("{name} in training mode"),
                    "at least 2 values per feature (batch statistics need more than one)",
                    format!("{:?}", input.dim()),
                ));
            }
            for f in &mut self.features {
                (f.sum, f.sum2) = (0.0, 0.0);
            }
            for row in input.rows() {
                for (j, &x) in row.iter().enumerate() {
                    self.features[j / spatial].sum += x as f64;
                }
            }
            for f in &mut self.features {
                f.sum /= n as f64; // now the mean
            }
            // Two passes: the variance from deviations, not from sum(x^2) - n mean^2.
            for row in input.rows() {
                for (j, &x) in row.iter().enumerate() {
                    let f = &mut self.features[j / spatial];
                    let d = x as f64 - f.sum;
                    f.sum2 += d * d;
                }
            }
            self.previous.0.assign(&self.running.mean);
            self.previous.1.assign(&self.running.variance);
            self.pending = true;
            let m = self.momentum as f64;
            for ((f, rm), rv) in self
                .features
                .iter_mut()
                .zip(self.running.mean.iter_mut())
                .zip(self.running.variance.iter_mut())
            {
                let (mean, var) = (f.sum, f.sum2 / n as f64);
                f.mean = mean as f32;
                f.inv_std = (1.0 / (var + eps).sqrt()) as f32;
                *rm = ((1.0 - m) * *rm as f64 + m * mean) as f32;
                *rv = ((1.0 - m) * *rv as f64 + m * var * n as f64 / (n - 1) as f64) as f32;
            }
        } else {
            for ((f, &rm), &rv) in self
                .features
                .iter_mut()
                .zip(self.running.mean.iter())
                .zip(self.running.variance.iter())
            {
                f.mean = rm;
                f.inv_std = (1.0 / (rv as f64 + eps).sqrt()) as f32;
            }
        }
        self.rows = input.nrows();
        self.batch_stats = self.training;
        for (mut y_row, x_row) in output.rows_mut().into_iter().zip(input.rows()) {
            for (j, (y, &x)) in y_row.iter_mut().zip(x_row).enumerate() {
                let (f, gamma, beta) = (
                    &self.features[j / spatial],
                    self.affine.weight[[0, j / spatial]],
                    self.affine.bias[[0, j / spatial]],
                );
                *y = (x - f.mean) * f.inv_std * gamma + beta;
            }
        }
        Ok(())
    }

    /// Back-propagates through the statistics of the last forward pass: the batch's (training
    /// mode, the full formula) or the running ones (evaluation mode).
    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        let (name, spatial) = (self.name, self.spatial);
        expect_width(name, &input, self.width())?;
        same_shape(name, &input, &grad_output)?;
        if input.nrows() != self.rows {
            return Err(Error::shape(
                format!("{name} backward"),
                format!("the {} rows of the last forward pass", self.rows),
                format!("{:?}", input.dim()),
            ));
        }
        let n = input.nrows() * spatial;
        for f in &mut self.features {
            (f.sum, f.sum2) = (0.0, 0.0);
        }
        for (g_row, x_row) in grad_output.rows().into_iter().zip(input.rows()) {
            for (j, (&g, &x)) in g_row.iter().zip(x_row).enumerate() {
                let f = &mut self.features[j / spatial];
                f.sum += g as f64;
                f.sum2 += (g * ((x - f.mean) * f.inv_std)) as f64;
            }
        }
        for ((f, dgamma), dbeta) in self
            .features
            .iter()
            .zip(self.affine.weight_grad.iter_mut())
            .zip(self.affine.bias_grad.iter_mut())
        {
            *dgamma = f.sum2 as f32;
            *dbeta = f.sum as f32;
        }
        let Some(mut grad_input) = grad_input else {
            return Ok(());
        };
        same_shape(name, &input, &grad_input.view())?;
        for ((mut dx_row, g_row), x_row) in grad_input
            .rows_mut()
            .into_iter()
            .zip(grad_output.rows())
            .zip(input.rows())
        {
            for (j, ((dx, &g), &x)) in dx_row.iter_mut().zip(g_row).zip(x_row).enumerate() {
                let (f, gamma) = (
                    &self.features[j / spatial],
                    self.affine.weight[[0, j / spatial]],
                );
                let k = gamma * f.inv_std;
                *dx = if self.batch_stats {
                    let x_hat = (x - f.mean) * f.inv_std;
                    let mean_g = (f.sum / n as f64) as f32;
                    let mean_gx = (f.sum2 / n as f64) as f32;
                    k * (g - mean_g - x_hat * mean_gx)
                } else {
                    k * g
                };
            }
        }
        Ok(())
    }

    fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        self.affine.visit(visit);
    }

    fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        self.affine.parameters()
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn spec(&self) -> Option<super::LayerSpec> {
        Some(super::LayerSpec::BatchNorm1d {
            features: self.num_features(),
            momentum: self.momentum,
            eps: self.eps,
        })
    }

    /// Batch statistics need at least 2 values per feature: 2 rows, or 1 when each feature
    /// spans several values of a row.
    fn min_training_rows(&self) -> usize {
        if self.spatial > 1 {
            1
        } else {
            2
        }
    }

    fn buffers_are_finite(&self) -> bool {
        self.running.all_finite()
    }

    /// Puts the running statistics back as they were before the step's forward pass when the
    /// step failed: a batch with NaN, or whose variance overflows, never reaches them.
    fn end_step(&mut self, commit: bool) {
        if self.pending && !commit {
            self.running.mean.assign(&self.previous.0);
            self.running.variance.assign(&self.previous.1);
        }
        self.pending = false;
    }

    /// `running_mean` and `running_var`, `(1, features)`, as PyTorch names them.
    fn buffers(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        self.running.buffers()
    }

    /// Sets `running_mean` or `running_var`, checked as by
    /// [`set_running_stats`](BatchNorm1d::set_running_stats).
    fn set_buffer(&mut self, name: &str, value: ArrayView2<'_, f32>) -> Result<()> {
        let (mean, var) = self.running.replacing(self.name, name, value)?;
        self.set_running_stats(mean.view(), var.view())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_layer, check_layer_in_mode};
    use crate::random::RandomState;
    use ndarray::array;

    fn forward(bn: &mut BatchNorm1d, x: &Array2<f32>) -> Array2<f32> {
        let mut y = Array2::zeros(x.dim());
        bn.forward(x.view(), y.view_mut()).unwrap();
        y
    }

    fn assert_close(got: ArrayView2<'_, f32>, want: &[f64], tolerance: f64) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((*g as f64 - w).abs() <= tolerance, "{got} vs {want:?}");
        }
    }

    /// Gamma and beta away from 1 and 0, so that the gradient checks see them.
    fn with_affine(mut bn: BatchNorm1d, seed: u32) -> BatchNorm1d {
        let mut rng = RandomState::new(seed);
        bn.visit_parameters_mut(&mut |mut p| {
            let values = rng.randn(1, p.value.ncols()).unwrap();
            p.value.assign(&values);
        });
        bn
    }

    #[test]
    fn training_and_evaluation_follow_pytorch() {
        // Python, per column c: mu = mean(c); var = sum((c - mu)**2) / n
        //   (c - mu) / math.sqrt(var + 1e-5); running: 0.1 * mu, 0.9 + 0.1 * var * n / (n - 1)
        let x = array![[1.0f32, 2.0], [3.0, 6.0], [5.0, 10.0]];
        let mut bn = BatchNorm1d::new(2).unwrap();
        let y = forward(&mut bn, &x);
        let want = [
            -1.2247425750014138,
            -1.2247442972928344,
            0.0,
            0.0,
            1.2247425750014138,
            1.2247442972928344,
        ];
        assert_close(y.view(), &want, 1e-6);
        assert_close(bn.running_mean(), &[0.3, 0.6], 1e-7);
        assert_close(bn.running_var(), &[1.3, 2.5], 1e-7);
        // (c - 0.3) / math.sqrt(1.3 + 1e-5), (c - 0.6) / math.sqrt(2.5 + 1e-5)
        bn.set_training(false);
        let y = forward(&mut bn, &x);
        let want = [
            0.6139382522184912,
            0.885435973976969,
            2.368047544271324,
            3.4152530424825955,
            4.122156836324156,
            5.945070110988222,
        ];
        assert_close(y.view(), &want, 1e-6);
        // evaluation mode does not move the running statistics
        assert_close(bn.running_mean(), &[0.3, 0.6], 1e-7);
    }

    #[test]
    fn gamma_and_beta_scale_and_shift() {
        let mut bn = BatchNorm1d::new(1).unwrap();
        bn.visit_parameters_mut(&mut |mut p| {
            p.value.fill(if p.name == "weight" { 2.0 } else { -1.0 })
        });
        let y = forward(&mut bn, &array![[0.0f32], [4.0]]); // mean 2, var 4
        assert_close(y.view(), &[-3.0, 1.0], 1e-5);
        assert_eq!(bn.parameters()[0].0, "weight");
        assert_eq!(bn.parameters()[1].1.dim(), (1, 1));
    }

    #[test]
    fn training_mode_gradients_pass_finite_differences() {
        let mut bn = with_affine(BatchNorm1d::new(3).unwrap(), 5);
        let input = RandomState::new(6).randn(5, 3).unwrap();
        let report = check_layer_in_mode(&mut bn, input.view(), 7, true).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
        assert_eq!(report.checked, 15 + 3 + 3);
    }

    #[test]
    fn evaluation_mode_gradients_pass_finite_differences() {
        let mut bn = with_affine(BatchNorm1d::new(4).unwrap(), 8);
        bn.set_running_stats(
            array![[0.5, -0.5, 0.0, 1.0]].view(),
            array![[2.0, 0.5, 1.0, 3.0]].view(),
        )
        .unwrap();
        let report = check_layer(&mut bn, 3, 4, 9).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }

    #[test]
    fn a_constant_gradient_does_not_reach_the_input_in_training() {
        // Shifting a whole column changes nothing after normalisation.
        let mut bn = with_affine(BatchNorm1d::new(2).unwrap(), 1);
        let x = array![[1.0f32, -1.0], [2.0, 0.5], [4.0, 3.0]];
        let y = forward(&mut bn, &x);
        let g = Array2::from_elem((3, 2), 0.7f32);
        let mut dx = Array2::from_elem((3, 2), f32::NAN);
        bn.backward(x.view(), y.view(), g.view(), Some(dx.view_mut()))
            .unwrap();
        assert!(dx.iter().all(|d| d.abs() < 1e-6), "{dx}");
        // dbeta = column sums of G; dgamma = sum of G * X_hat = 0.7 * sum of X_hat = 0
        let mut grads = vec![];
        bn.visit_parameters_mut(&mut |p| grads.push(p.grad.to_owned()));
        assert_close(grads[1].view(), &[2.1, 2.1], 1e-6);
        assert_close(grads[0].view(), &[0.0, 0.0], 1e-6);
    }

    #[test]
    fn bad_configurations_and_shapes_are_errors() {
        assert!(matches!(
            BatchNorm1d::new(0),
            Err(Error::InvalidConfig { .. })
        ));
        let bn = BatchNorm1d::new(2).unwrap();
        assert!(bn.clone().with_momentum(1.5).is_err());
        assert!(bn.clone().with_eps(0.0).is_err());
        let mut bn = bn.with_momentum(0.5).unwrap().with_eps(1e-3).unwrap();
        assert!(bn.output_width(3).is_err());
        let mut y = Array2::zeros((1, 2));
        // one row cannot give batch statistics in training mode ...
        let one = Array2::ones((1, 2));
        assert!(matches!(
            bn.forward(one.view(), y.view_mut()),
            Err(Error::ShapeMismatch { .. })
        ));
        // ... but is fine in evaluation mode
        bn.set_training(false);
        bn.forward(one.view(), y.view_mut()).unwrap();
        let mut y3 = Array2::zeros((1, 3));
        assert!(bn
            .forward(Array2::ones((1, 3)).view(), y3.view_mut())
            .is_err());
        // backward on another batch size than the last forward pass
        let two = Array2::ones((2, 2));
        let mut dx = Array2::zeros((2, 2));
        let r = bn.backward(two.view(), two.view(), two.view(), Some(dx.view_mut()));
        assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
        assert!(bn
            .set_running_stats(array![[0.0, 0.0]].view(), array![[1.0, -1.0]].view())
            .is_err());
        assert!(bn
            .set_running_stats(array![[0.0]].view(), array![[1.0]].view())
            .is_err());
    }
}
