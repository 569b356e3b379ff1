//! [`LayerNorm`]: layer normalisation, `Y = (X - mean) / sqrt(var + eps) * gamma + beta`, per
//! sample (row).
//!
//! As PyTorch's `nn.LayerNorm(features)` (eps `1e-5`, element-wise affine): each row is
//! normalised with its own mean and biased variance (divided by the number of features), then
//! scaled by `gamma` and shifted by `beta`, both `(1, features)`. Unlike
//! [`BatchNorm1d`](super::BatchNorm1d) nothing depends on the rest of the batch, so training and
//! evaluation behave the same and there are no running statistics.
//!
//! Gradients, for `G = dLoss/dY`, `X_hat = (X - mean) / sqrt(var + eps)` and
//! `H = G * gamma`: `dgamma = sum of the rows of G * X_hat`, `dbeta = sum of the rows of G`, and,
//! row by row, `dX = (H - mean(H) - X_hat * mean(H * X_hat)) / sqrt(var + eps)`.
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::ndarray::array;
//!
//! let mut ln = LayerNorm::new(2)?;
//! let mut y = feedforward::ndarray::Array2::zeros((1, 2));
//! ln.forward(array![[1.0f32, 3.0]].view(), y.view_mut())?; // mean 2, variance 1
//! assert!((y[[0, 0]] + 1.0).abs() < 1e-5 && (y[[0, 1]] - 1.0).abs() < 1e-5);
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::affine::Affine;
use super::identity::same_shape;
use super::{expect_width, fixed_input_width, Layer, Parameter};
use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2};

/// Per-sample normalisation over the features, with learnable `weight` (gamma) and `bias`
/// (beta), both `(1, features)`.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    /// Gamma and beta, with their gradients.
    affine: Affine,
    eps: f32,
    /// `(mean, 1 / sqrt(var + eps))` of each row of the last forward pass; keeps its capacity.
    rows: Vec<(f32, f32)>,
    /// Per-feature sums of `G * X_hat` and `G` during backward.
    sums: Vec<(f64, f64)>,
}

impl LayerNorm {
    /// Layer normalisation over `features` columns: gamma 1, beta 0, eps `1e-5` (PyTorch's
    /// defaults).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `features` is zero.
    pub fn new(features: usize) -> Result<Self> {
        if features == 0 {
            return Err(Error::config(
                "LayerNorm features",
                features,
                "at least 1: the width of the layer's input",
            ));
        }
        Ok(LayerNorm {
            affine: Affine::new("LayerNorm", features)?,
            eps: 1e-5,
            rows: Vec::new(),
            sums: crate::allocation::filled_vec("LayerNorm sums", features, (0.0, 0.0))?,
        })
    }

    /// Sets the constant added to the variance before its square root.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless finite and positive.
    pub fn with_eps(mut self, eps: f32) -> Result<Self> {
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::config(
                "LayerNorm eps",
                eps,
                "a finite number above 0, typically 1e-5",
            ));
        }
        self.eps = eps;
        Ok(self)
    }

    /// Number of features (columns) normalised together.
    pub fn num_features(&self) -> usize {
        self.sums.len()
    }

    /// Gamma, `(1, features)`.
    pub fn weight(&self) -> ArrayView2<'_, f32> {
        self.affine.weight.view()
    }

    /// Beta, `(1, features)`.
    pub fn bias(&self) -> ArrayView2<'_, f32> {
        self.affine.bias.view()
    }
}

impl Layer for LayerNorm {
    fn name(&self) -> &str {
        "LayerNorm"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        fixed_input_width("LayerNorm", self.num_features(), input_width, input_width)
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        expect_width("LayerNorm input", &input, self.num_features())?;
        same_shape("LayerNorm output", &input, &output.view())?;
        let width = self.num_features() as f64;
        let eps = self.eps as f64;
        self.rows.clear();
        for (mut y_row, x_row) in output.rows_mut().into_iter().zip(input.rows()) {
            let mean = x_row.iter().map(|&x| x as f64).sum::<f64>() / width;
            let var = x_row
                .iter()
                .map(|&x| (x as f64 - mean) * (x as f64 - mean))
                .sum::<f64>()
                / width;
            let (mean, inv_std) = (mean as f32, (1.0 / (var + eps).sqrt()) as f32);
            self.rows.push((mean, inv_std));
            for ((y, &x), (&gamma, &beta)) in y_row
                .iter_mut()
                .zip(x_row)
                .zip(self.affine.weight.iter().zip(self.affine.bias.iter()))
            {
                *y = (x - mean) * inv_std * gamma + beta;
            }
        }
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        expect_width("LayerNorm input", &input, self.num_features())?;
        same_shape("LayerNorm output gradient", &input, &grad_output)?;
        if input.nrows() != self.rows.len() {
            return Err(Error::shape(
                "LayerNorm backward",
                format!("the {} rows of the last forward pass", self.rows.len()),
                format!("{:?}", input.dim()),
            ));
        }
        self.sums.fill((0.0, 0.0));
        for ((g_row, x_row), &(mean, inv_std)) in grad_output
            .rows()
            .into_iter()
            .zip(input.rows())
            .zip(&self.rows)
        {
            for ((sum, &g), &x) in self.sums.iter_mut().zip(g_row).zip(x_row) {
                sum.0 += (g * ((x - mean) * inv_std)) as f64;
                sum.1 += g as f64;
            }
        }
        for ((&(gx, g), dgamma), dbeta) in self
            .sums
            .iter()
            .zip(self.affine.weight_grad.iter_mut())
            .zip(self.affine.bias_grad.iter_mut())
        {
            *dgamma = gx as f32;
            *dbeta = g as f32;
        }
        let Some(mut grad_input) = grad_input else {
            return Ok(());
        };
        same_shape("LayerNorm input gradient", &input, &grad_input.view())?;
        let width = self.num_features() as f64;
        for (((mut dx_row, g_row), x_row), &(mean, inv_std)) in grad_input
            .rows_mut()
            .into_iter()
            .zip(grad_output.rows())
            .zip(input.rows())
            .zip(&self.rows)
        {
            // mean(H) and mean(H * X_hat) over the row, H = G * gamma
            let (mut sum_h, mut sum_hx) = (0.0f64, 0.0f64);
            for ((&g, &x), &gamma) in g_row.iter().zip(x_row).zip(self.affine.weight.iter()) {
                let h = g * gamma;
                sum_h += h as f64;
                sum_hx += (h * ((x - mean) * inv_std)) as f64;
            }
            let (mean_h, mean_hx) = ((sum_h / width) as f32, (sum_hx / width) as f32);
            for (((dx, &g), &x), &gamma) in dx_row
                .iter_mut()
                .zip(g_row)
                .zip(x_row)
                .zip(self.affine.weight.iter())
            {
                let x_hat = (x - mean) * inv_std;
                *dx = (g * gamma - mean_h - x_hat * mean_hx) * inv_std;
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

    fn spec(&self) -> Option<super::LayerSpec> {
        Some(super::LayerSpec::LayerNorm {
            features: self.num_features(),
            eps: self.eps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_layer, check_layer_in_mode};
    use crate::random::RandomState;
    use ndarray::array;
    use ndarray::Array2;

    fn forward(ln: &mut LayerNorm, x: &Array2<f32>) -> Array2<f32> {
        let mut y = Array2::zeros(x.dim());
        ln.forward(x.view(), y.view_mut()).unwrap();
        y
    }

    #[test]
    fn normalises_each_row_as_pytorch() {
        // Python, per row r: mu = sum(r) / 3; var = sum((c - mu)**2 for c in r) / 3
        //   [(c - mu) / math.sqrt(var + 1e-5) for c in r]
        let mut ln = LayerNorm::new(3).unwrap();
        let y = forward(&mut ln, &array![[1.0f32, 2.0, 3.0], [2.0, 4.0, 8.0]]);
        let want = [
            -1.2247356859083902,
            0.0,
            1.2247356859083902,
            -1.0690441085967413,
            -0.2672610271491854,
            1.3363051357459264,
        ];
        for (g, w) in y.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-6, "{y}");
        }
        // gamma 2, beta 1 on a row of mean 0 and variance 1: y = 2 x + 1 (up to eps)
        ln.visit_parameters_mut(&mut |mut p| {
            p.value.fill(if p.name == "weight" { 2.0 } else { 1.0 })
        });
        let y = forward(&mut ln, &array![[-1.224_744_9f32, 0.0, 1.224_744_9]]);
        for (g, w) in y.iter().zip([-1.449_49, 1.0, 3.449_49]) {
            assert!((g - w).abs() < 1e-4, "{y}");
        }
    }

    #[test]
    fn gradients_pass_finite_differences_in_both_modes() {
        let mut ln = LayerNorm::new(5).unwrap();
        let mut rng = RandomState::new(12);
        ln.visit_parameters_mut(&mut |mut p| p.value.assign(&rng.randn(1, 5).unwrap()));
        let report = check_layer(&mut ln, 3, 5, 13).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
        assert_eq!(report.checked, 15 + 5 + 5);
        let input = RandomState::new(14).randn(4, 5).unwrap();
        let report = check_layer_in_mode(&mut ln, input.view(), 15, true).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }

    #[test]
    fn bad_configurations_and_shapes_are_errors() {
        assert!(matches!(
            LayerNorm::new(0),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(LayerNorm::new(2).unwrap().with_eps(-1.0).is_err());
        let mut ln = LayerNorm::new(2).unwrap().with_eps(1e-3).unwrap();
        assert!(ln.output_width(3).is_err());
        let mut y = Array2::zeros((1, 3));
        assert!(matches!(
            ln.forward(Array2::ones((1, 3)).view(), y.view_mut()),
            Err(Error::ShapeMismatch { .. })
        ));
        forward(&mut ln, &Array2::ones((2, 2)));
        let three = Array2::ones((3, 2));
        let r = ln.backward(three.view(), three.view(), three.view(), None);
        assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
        // a single feature normalises to beta, with a zero input gradient
        let mut one = LayerNorm::new(1).unwrap();
        assert_eq!(forward(&mut one, &array![[5.0f32]]), array![[0.0]]);
    }

    #[test]
    fn a_warm_layer_keeps_its_row_cache() {
        let mut ln = LayerNorm::new(2).unwrap();
        forward(&mut ln, &Array2::ones((16, 2)));
        let before = ln.rows.as_ptr();
        forward(&mut ln, &Array2::ones((3, 2)));
        forward(&mut ln, &Array2::ones((16, 2)));
        assert_eq!(ln.rows.as_ptr(), before);
    }
}
