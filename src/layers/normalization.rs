//! [`Normalization`]: standardises raw features with statistics learned from the training data,
//! as Keras's `keras.layers.Normalization`.
//!
//! [`adapt`](Normalization::adapt) computes each feature's (column's) mean and population
//! variance over the training rows (`np.mean` and `np.var`, as Keras's `adapt`); the layer then
//! maps every row `x` to `y = (x - mean) / max(sqrt(variance), 1e-7)`, `1e-7` being Keras's
//! `backend.epsilon()` ([`Normalization::EPSILON`]). A feature that does not vary in the training data
//! (variance 0) is thus divided by `1e-7`: its training values become 0, as in Keras (where
//! scikit-learn's `StandardScaler` would divide by 1 instead), and a different value later gives
//! a large output. With [`inverted`](Normalization::inverted) (Keras's `invert=True`) the layer
//! undoes the standardisation: `y = mean + x * max(sqrt(variance), 1e-7)`.
//!
//! The mean and the variance are buffers, not parameters: optimizers leave them alone, and
//! [`Sequential::save`](crate::Sequential::save) writes them (`N.mean`, `N.variance`, shape
//! `[features]`), so a saved model takes raw features.
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::ndarray::array;
//!
//! // keras.layers.Normalization(axis=-1).adapt([[0, 7, 4], [2, 9, 6], [0, 7, 4], [2, 9, 6]])
//! let train = array![[0.0f32, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]];
//! let mut norm = Normalization::adapted(train.view())?;
//! assert_eq!(norm.mean(), array![[1.0f32, 8.0, 5.0]]);
//! assert_eq!(norm.variance(), array![[1.0f32, 1.0, 1.0]]);
//! let mut y = feedforward::ndarray::Array2::zeros((1, 3));
//! norm.forward(array![[0.0f32, 7.0, 4.0]].view(), y.view_mut())?;
//! assert_eq!(y, array![[-1.0f32, -1.0, -1.0]]); // as Keras's documentation shows
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::feature_statistics::FeatureStatistics;
use super::identity::same_shape;
use super::{expect_width, fixed_input_width, Inference, Layer, LayerSpec};
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};

/// Per-feature standardisation with a mean and a variance learned by
/// [`adapt`](Normalization::adapt), both `(1, features)` buffers.
#[derive(Clone, Debug)]
pub struct Normalization {
    /// Keras's `mean` and `variance`.
    stats: FeatureStatistics,
    /// `max(sqrt(variance), EPSILON)`, per feature.
    std: Array2<f32>,
    invert: bool,
}

impl Normalization {
    /// The floor of the standard deviation: Keras's `backend.epsilon()`.
    pub const EPSILON: f32 = 1e-7;

    /// A layer over `features` columns with mean 0 and variance 1 (it passes its input through
    /// until [`adapt`](Normalization::adapt)ed, as Keras's layer built without `adapt`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `features` is zero, [`Error::TooLarge`] when the
    /// statistics cannot be allocated.
    pub fn new(features: usize) -> Result<Self> {
        if features == 0 {
            return Err(Error::config(
                "Normalization features",
                features,
                "at least 1: the width of the layer's input",
            ));
        }
        let filled =
            |value| crate::allocation::filled("Normalization statistics", 1, features, value);
        Ok(Normalization {
            stats: FeatureStatistics::new("Normalization", features, ["mean", "variance"])?,
            std: filled(1.0)?,
            invert: false,
        })
    }

    /// A layer adapted to `data`, `(rows, features)`: see [`adapt`](Normalization::adapt).
    ///
    /// # Errors
    /// As [`adapt`](Normalization::adapt), and [`Error::InvalidConfig`] for zero columns.
    pub fn adapted(data: ArrayView2<'_, f32>) -> Result<Self> {
        let mut layer = Normalization::new(data.ncols())?;
        layer.adapt(data)?;
        Ok(layer)
    }

    /// A layer with the given `mean` and `variance`, both `(1, features)` (Keras's `mean=` and
    /// `variance=` arguments).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless both are `(1, features)` with `features >= 1`;
    /// [`Error::InvalidConfig`] for a mean that is not finite or a variance that is negative
    /// or not finite.
    pub fn with_stats(mean: ArrayView2<'_, f32>, variance: ArrayView2<'_, f32>) -> Result<Self> {
        let mut layer = Normalization::new(mean.ncols().max(1))?;
        layer.set_stats(mean, variance)?;
        Ok(layer)
    }

    /// Undoes the standardisation instead (Keras's `invert=True`): `y = mean + x * std`, to
    /// turn standardised predictions back into the units of the data.
    pub fn inverted(mut self) -> Self {
        self.invert = true;
        self
    }

    /// Learns each column's mean and population variance (divided by the number of rows, as
    /// `np.var` and Keras's `adapt`) from `data`, `(rows, features)`, computed in `f64`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `data` does not have the layer's number of columns;
    /// [`Error::Empty`] without rows; [`Error::InvalidConfig`] naming the row and column of a
    /// NaN or infinite value (nothing is changed then).
    pub fn adapt(&mut self, data: ArrayView2<'_, f32>) -> Result<()> {
        expect_width("Normalization adapt data", &data, self.num_features())?;
        let rows = data.nrows();
        if rows == 0 {
            return Err(Error::Empty {
                what: "Normalization adapt data".into(),
                hint: "give the training rows to learn the mean and variance from".into(),
            });
        }
        if let Some(((row, column), value)) = data.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::config(
                "Normalization adapt data",
                value,
                format!("finite numbers (row {row}, column {column} is not)"),
            ));
        }
        let features = self.num_features();
        let mut mean = vec![0.0f64; features];
        for row in data.rows() {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += x as f64;
            }
        }
        for m in &mut mean {
            *m /= rows as f64;
        }
        // Two passes: the variance from deviations, not from sum(x^2) - n mean^2.
        let mut variance = vec![0.0f64; features];
        for row in data.rows() {
            for ((v, &m), &x) in variance.iter_mut().zip(&mean).zip(row) {
                let d = x as f64 - m;
                *v += d * d;
            }
        }
        let mean = Array2::from_shape_fn((1, features), |(_, j)| mean[j] as f32);
        let variance =
            Array2::from_shape_fn((1, features), |(_, j)| (variance[j] / rows as f64) as f32);
        self.set_stats(mean.view(), variance.view())
    }

    /// Number of features (columns) normalised.
    pub fn num_features(&self) -> usize {
        self.stats.features()
    }

    /// The mean, `(1, features)`.
    pub fn mean(&self) -> ArrayView2<'_, f32> {
        self.stats.mean.view()
    }

    /// The variance, `(1, features)`.
    pub fn variance(&self) -> ArrayView2<'_, f32> {
        self.stats.variance.view()
    }

    /// Whether the layer undoes the standardisation ([`inverted`](Normalization::inverted)).
    pub fn is_inverted(&self) -> bool {
        self.invert
    }

    /// Sets the mean and the variance, checked.
    fn set_stats(
        &mut self,
        mean: ArrayView2<'_, f32>,
        variance: ArrayView2<'_, f32>,
    ) -> Result<()> {
        self.stats.set("Normalization", mean, variance)?;
        Zip::from(&mut self.std)
            .and(&self.stats.variance)
            .for_each(|s, &v| *s = v.sqrt().max(Self::EPSILON));
        Ok(())
    }
}

impl Layer for Normalization {
    fn name(&self) -> &str {
        "Normalization"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        fixed_input_width(
            "Normalization",
            self.num_features(),
            input_width,
            input_width,
        )
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        self.infer(input, output, 0)
    }

    fn inference(&self) -> Option<&dyn Inference> {
        Some(self)
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        expect_width("Normalization input", &input, self.num_features())?;
        same_shape("Normalization output gradient", &input, &grad_output)?;
        if let Some(mut grad_input) = grad_input {
            same_shape("Normalization input gradient", &input, &grad_input.view())?;
            let std = self.std.row(0);
            for (mut gi, go) in grad_input.rows_mut().into_iter().zip(grad_output.rows()) {
                let values = Zip::from(&mut gi).and(&go).and(&std);
                if self.invert {
                    values.for_each(|gi, &go, &s| *gi = go * s);
                } else {
                    values.for_each(|gi, &go, &s| *gi = go / s);
                }
            }
        }
        Ok(())
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Normalization {
            features: self.num_features(),
            invert: self.invert,
        })
    }

    /// `mean` and `variance`, `(1, features)`.
    fn buffers(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        self.stats.buffers()
    }

    /// Sets `mean` or `variance`, checked as by [`Normalization::with_stats`].
    fn set_buffer(&mut self, name: &str, value: ArrayView2<'_, f32>) -> Result<()> {
        let (mean, variance) = self.stats.replacing("Normalization", name, value)?;
        self.set_stats(mean.view(), variance.view())
    }
}

impl Inference for Normalization {
    fn infer(
        &self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
        _batch_rows: usize,
    ) -> Result<()> {
        expect_width("Normalization input", &input, self.num_features())?;
        same_shape("Normalization output", &input, &output.view())?;
        let (mean, std) = (self.stats.mean.row(0), self.std.row(0));
        for (mut y, x) in output.rows_mut().into_iter().zip(input.rows()) {
            let values = Zip::from(&mut y).and(&x).and(&mean).and(&std);
            if self.invert {
                values.for_each(|y, &x, &m, &s| *y = m + x * s);
            } else {
                values.for_each(|y, &x, &m, &s| *y = (x - m) / s);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer_at;
    use crate::random::RandomState;
    use ndarray::array;

    #[test]
    fn adapt_computes_numpy_mean_and_population_variance() {
        // np.mean(x, axis=0) = [2.5, -1.0]; np.var(x, axis=0) = [1.25, 0.0]
        let x = array![[1.0f32, -1.0], [2.0, -1.0], [3.0, -1.0], [4.0, -1.0]];
        let norm = Normalization::adapted(x.view()).unwrap();
        assert_eq!(norm.mean(), array![[2.5f32, -1.0]]);
        assert_eq!(norm.variance(), array![[1.25f32, 0.0]]);
        // A constant feature is divided by Keras's epsilon: 0 on the training values.
        let mut norm = norm;
        let mut y = Array2::zeros((2, 2));
        norm.forward(array![[4.0f32, -1.0], [1.0, -0.5]].view(), y.view_mut())
            .unwrap();
        assert_eq!(y[[0, 0]], 1.5 / 1.25f32.sqrt());
        assert_eq!(y[[0, 1]], 0.0);
        assert_eq!(y[[1, 1]], 0.5 / Normalization::EPSILON);
    }

    #[test]
    fn inverted_undoes_the_standardisation() {
        let mut rng = RandomState::new(4);
        let x = rng.randn(20, 3).unwrap().mapv(|v| 5.0 * v + 3.0);
        let mut norm = Normalization::adapted(x.view()).unwrap();
        let mut back = norm.clone().inverted();
        let (mut z, mut y) = (Array2::zeros((20, 3)), Array2::zeros((20, 3)));
        norm.forward(x.view(), z.view_mut()).unwrap();
        back.forward(z.view(), y.view_mut()).unwrap();
        for (a, b) in x.iter().zip(&y) {
            approx::assert_abs_diff_eq!(a, b, epsilon = 1e-5);
        }
        // The standardised columns have mean 0 and variance 1.
        let again = Normalization::adapted(z.view()).unwrap();
        for (&m, &v) in again.mean().iter().zip(again.variance()) {
            assert!(m.abs() < 1e-6 && (v - 1.0).abs() < 1e-5, "{m} {v}");
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = RandomState::new(1);
        let data = rng.randn(30, 4).unwrap().mapv(|v| 0.5 * v + 0.2);
        let input = rng.randn(5, 4).unwrap();
        for invert in [false, true] {
            let mut norm = Normalization::adapted(data.view()).unwrap();
            if invert {
                norm = norm.inverted();
            }
            let report = check_layer_at(&mut norm, input.view(), 3).unwrap();
            assert!(
                report.max_relative_error < 1e-2,
                "invert {invert}: {report}"
            );
            assert_eq!(report.checked, 20);
        }
    }

    #[test]
    fn bad_data_and_statistics_are_errors() {
        assert!(Normalization::new(0).is_err());
        let mut norm = Normalization::new(2).unwrap();
        assert!(matches!(
            norm.adapt(array![[1.0f32, f32::NAN]].view()),
            Err(Error::InvalidConfig { .. })
        ));
        assert_eq!(norm.mean(), array![[0.0f32, 0.0]], "nothing changed");
        assert!(norm.adapt(array![[1.0f32, 2.0, 3.0]].view()).is_err());
        assert!(norm.adapt(Array2::<f32>::zeros((0, 2)).view()).is_err());
        assert!(
            Normalization::with_stats(array![[0.0f32]].view(), array![[-1.0f32]].view()).is_err()
        );
        assert!(norm
            .set_buffer("variance", array![[1.0f32]].view())
            .is_err());
        assert!(norm
            .set_buffer("scale", array![[1.0f32, 1.0]].view())
            .is_err());
        norm.set_buffer("variance", array![[4.0f32, 0.25]].view())
            .unwrap();
        let mut y = Array2::zeros((1, 2));
        norm.forward(array![[2.0f32, 2.0]].view(), y.view_mut())
            .unwrap();
        assert_eq!(y, array![[1.0f32, 4.0]]);
    }
}
