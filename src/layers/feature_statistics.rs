//! A mean and a variance per feature, `(1, features)` each: the running statistics of
//! [`BatchNorm1d`](super::BatchNorm1d) (and so of [`BatchNorm2d`](super::BatchNorm2d)) and the
//! statistics of [`Normalization`](super::Normalization). One place for what restoring them
//! checks (the layer's width, finite means, finite variances of at least 0) and for setting one
//! of them by its name from a file while keeping the other.

use crate::{Error, Result};
use ndarray::{Array2, ArrayView2};

/// A mean and a variance per feature, with the names a checkpoint gives them.
#[derive(Clone, Debug)]
pub(crate) struct FeatureStatistics {
    /// The mean of each feature, `(1, features)`.
    pub(crate) mean: Array2<f32>,
    /// The variance of each feature, `(1, features)`, at least 0.
    pub(crate) variance: Array2<f32>,
    /// The names of the mean and of the variance in model files: PyTorch's `running_mean` and
    /// `running_var`, or Keras's `mean` and `variance`.
    names: [&'static str; 2],
}

impl FeatureStatistics {
    /// Mean 0 and variance 1 for `features` features (PyTorch's and Keras's initial values),
    /// named `names` (mean, variance); `layer` names the layer in an allocation error.
    pub(crate) fn new(layer: &str, features: usize, names: [&'static str; 2]) -> Result<Self> {
        let row = |value: f32| {
            crate::allocation::filled(&format!("{layer} statistics"), 1, features, value)
        };
        Ok(FeatureStatistics {
            mean: row(0.0)?,
            variance: row(1.0)?,
            names,
        })
    }

    /// The number of features.
    pub(crate) fn features(&self) -> usize {
        self.mean.ncols()
    }

    /// Sets both, after checking them (nothing changes on an error); `layer` names the layer in
    /// the messages.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless both are `(1, features)`; [`Error::InvalidConfig`] when a
    /// mean is not finite or a variance is negative or not finite.
    pub(crate) fn set(
        &mut self,
        layer: &str,
        mean: ArrayView2<'_, f32>,
        variance: ArrayView2<'_, f32>,
    ) -> Result<()> {
        let shape = (1, self.features());
        for (name, stats) in self.names.iter().zip([&mean, &variance]) {
            if stats.dim() != shape {
                return Err(Error::shape(
                    format!("{layer} {name}"),
                    format!("{shape:?}"),
                    format!("{:?}", stats.dim()),
                ));
            }
        }
        if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
            return Err(Error::config(
                self.names[0],
                m,
                format!("finite numbers (the {layer}'s mean)"),
            ));
        }
        if let Some(v) = variance.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(Error::config(
                self.names[1],
                v,
                format!("finite numbers >= 0 (the {layer}'s variance)"),
            ));
        }
        self.mean.assign(&mean);
        self.variance.assign(&variance);
        Ok(())
    }

    /// The new mean and variance when the buffer called `name` becomes `value` and the other
    /// stays, for [`set`](FeatureStatistics::set) (or a layer's own setter) to check and apply.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `name` is neither of the two names.
    pub(crate) fn replacing(
        &self,
        layer: &str,
        name: &str,
        value: ArrayView2<'_, f32>,
    ) -> Result<(Array2<f32>, Array2<f32>)> {
        match name {
            n if n == self.names[0] => Ok((value.to_owned(), self.variance.clone())),
            n if n == self.names[1] => Ok((self.mean.clone(), value.to_owned())),
            _ => Err(Error::config(
                "buffer name",
                format!("{name:?}"),
                format!(
                    "{} or {} (a {layer}'s buffers)",
                    self.names[0], self.names[1]
                ),
            )),
        }
    }

    /// Both, named, for a checkpoint ([`Layer::buffers`](super::Layer::buffers)).
    pub(crate) fn buffers(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        vec![
            (self.names[0], self.mean.view()),
            (self.names[1], self.variance.view()),
        ]
    }

    /// Whether every mean and variance is finite.
    pub(crate) fn all_finite(&self) -> bool {
        self.mean
            .iter()
            .chain(&self.variance)
            .all(|v| v.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn bad_statistics_change_nothing_and_name_the_buffer() {
        let mut stats = FeatureStatistics::new("Layer", 2, ["mean", "variance"]).unwrap();
        stats
            .set(
                "Layer",
                array![[1.0f32, 2.0]].view(),
                array![[0.5f32, 0.0]].view(),
            )
            .unwrap();
        for (mean, variance, named) in [
            (array![[1.0f32]], array![[1.0f32, 1.0]], "Layer mean"),
            (
                array![[f32::NAN, 1.0]],
                array![[1.0f32, 1.0]],
                "Layer's mean",
            ),
            (
                array![[1.0f32, 1.0]],
                array![[-1.0f32, 1.0]],
                "Layer's variance",
            ),
            (
                array![[1.0f32, 1.0]],
                array![[1.0f32, f32::INFINITY]],
                "Layer's variance",
            ),
        ] {
            let err = stats
                .set("Layer", mean.view(), variance.view())
                .unwrap_err();
            assert!(err.to_string().contains(named), "{err}");
        }
        assert_eq!(stats.mean, array![[1.0f32, 2.0]]);
        assert_eq!(stats.variance, array![[0.5f32, 0.0]]);
        let (mean, variance) = stats
            .replacing("Layer", "variance", array![[3.0f32, 4.0]].view())
            .unwrap();
        assert_eq!(
            (mean, variance),
            (array![[1.0f32, 2.0]], array![[3.0f32, 4.0]])
        );
        assert!(stats
            .replacing("Layer", "running_var", array![[3.0f32, 4.0]].view())
            .is_err());
    }
}
