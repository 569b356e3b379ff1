//! Weight initialisers: the tutorial's `randn x 0.01`, Xavier/Glorot and He.
//!
//! Every initialiser draws from the numpy-compatible [`RandomState`], in row-major order and in
//! `f64` before rounding to `f32`, so that `Init::Normal { std: 0.01 }` with seed `s` gives exactly
//! the weights of `np.random.seed(s); np.random.randn(fan_in, fan_out) * 0.01`.
//!
//! | initialiser | distribution | use with |
//! | --- | --- | --- |
//! | [`Init::Normal`] | `N(0, std^2)` | the tutorial (`std = 0.01`) |
//! | [`Init::XavierUniform`] | `U(-a, a)`, `a = sqrt(6 / (in + out))` | tanh, sigmoid, softmax |
//! | [`Init::XavierNormal`] | `N(0, 2 / (in + out))` | tanh, sigmoid, softmax |
//! | [`Init::HeNormal`] | `N(0, 2 / in)` | ReLU |
//! | [`Init::HeUniform`] | `U(-a, a)`, `a = sqrt(6 / in)` | ReLU |
//! | [`Init::Zeros`] | `0` | biases, tests |
//!
//! [`Init::sample_from`] draws the same distributions from any generator of the `rand`
//! ecosystem (re-exported as [`feedforward::rand`](crate::rand)) through `rand_distr`, for a
//! user who does not need numpy's stream:
//!
//! ```
//! use feedforward::init::Init;
//! use feedforward::rand::{rngs::StdRng, SeedableRng};
//!
//! let mut rng = StdRng::seed_from_u64(7);
//! let w = Init::HeNormal.sample_from(784, 128, &mut rng)?;
//! assert_eq!(w.dim(), (784, 128));
//! # Ok::<(), feedforward::Error>(())
//! ```

use crate::random::RandomState;
use crate::{Error, Result};
use ndarray::Array2;
use ndarray_rand::rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// How to draw a weight matrix of shape `(fan_in, fan_out)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Normal with mean 0 and standard deviation `std`; the tutorial uses `std = 0.01`.
    Normal {
        /// Standard deviation.
        std: f64,
    },
    /// Glorot & Bengio (2010), uniform.
    XavierUniform,
    /// Glorot & Bengio (2010), normal.
    XavierNormal,
    /// He et al. (2015), normal: the default for ReLU networks.
    HeNormal,
    /// He et al. (2015), uniform.
    HeUniform,
    /// All zeros.
    Zeros,
}

impl Init {
    /// The tutorial's initialiser: `np.random.randn(in, out) * 0.01`.
    pub const TUTORIAL: Init = Init::Normal { std: 0.01 };

    /// Draws a `(fan_in, fan_out)` matrix.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a standard deviation that is negative or not finite, or so
    /// large that a weight is infinite in `f32`; [`Error::TooLarge`] when the matrix cannot be
    /// allocated.
    pub fn sample(
        &self,
        fan_in: usize,
        fan_out: usize,
        rng: &mut RandomState,
    ) -> Result<Array2<f32>> {
        self.sample_with_fans(fan_in, fan_out, fan_in, fan_out, rng)
    }

    /// Draws a `(rows, cols)` matrix whose spread is set by `fan_in` and `fan_out`, which a
    /// convolution's weights count apart from their shape (`fan_in = (in / groups) kh kw`,
    /// `fan_out = out kh kw`, as PyTorch's `_calculate_fan_in_and_fan_out` and Keras's
    /// `compute_fans`).
    pub(crate) fn sample_with_fans(
        &self,
        rows: usize,
        cols: usize,
        fan_in: usize,
        fan_out: usize,
        rng: &mut RandomState,
    ) -> Result<Array2<f32>> {
        self.check()?;
        let mut weights = crate::allocation::filled("initial weights", rows, cols, 0.0f32)?;
        match self.spread(fan_in, fan_out) {
            Spread::Normal(std) => weights
                .iter_mut()
                .for_each(|w| *w = (rng.standard_normal() * std) as f32),
            Spread::Uniform(limit) => weights
                .iter_mut()
                .for_each(|w| *w = rng.uniform(-limit, limit) as f32),
            Spread::Zero => {}
        }
        self.finite(weights)
    }

    /// Draws a `(fan_in, fan_out)` matrix from any `rand` generator (a `StdRng`, a
    /// `ChaCha8Rng`, ...) through `rand_distr`'s `Normal` and `Uniform`, with the spreads of
    /// [`sample`](Init::sample): the same distributions, not numpy's numbers.
    ///
    /// # Errors
    /// As [`sample`](Init::sample).
    pub fn sample_from<R: Rng + ?Sized>(
        &self,
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) -> Result<Array2<f32>> {
        self.check()?;
        let mut weights = crate::allocation::filled("initial weights", fan_in, fan_out, 0.0f32)?;
        let bad = |e: &dyn std::fmt::Display| {
            Error::config("initial weights", format!("{self:?}"), e.to_string())
        };
        match self.spread(fan_in, fan_out) {
            Spread::Normal(std) => {
                let normal = Normal::new(0.0f64, std).map_err(|e| bad(&e))?;
                weights
                    .iter_mut()
                    .for_each(|w| *w = normal.sample(rng) as f32);
            }
            Spread::Uniform(limit) if limit > 0.0 => {
                let uniform = Uniform::new(-limit, limit).map_err(|e| bad(&e))?;
                weights
                    .iter_mut()
                    .for_each(|w| *w = uniform.sample(rng) as f32);
            }
            Spread::Uniform(_) | Spread::Zero => {}
        }
        self.finite(weights)
    }

    /// Checks the settings of [`Init::Normal`].
    fn check(&self) -> Result<()> {
        if let Init::Normal { std } = *self {
            if !(std.is_finite() && std >= 0.0) {
                return Err(Error::config(
                    "Init::Normal std",
                    std,
                    "a finite standard deviation >= 0, such as 0.01",
                ));
            }
        }
        Ok(())
    }

    /// The distribution of the weights for `fan_in` inputs and `fan_out` outputs: Glorot &
    /// Bengio (2010) for Xavier, He et al. (2015) for He.
    fn spread(&self, fan_in: usize, fan_out: usize) -> Spread {
        let (fi, fo) = (fan_in as f64, fan_out as f64);
        match *self {
            Init::Normal { std } => Spread::Normal(std),
            Init::XavierUniform => Spread::Uniform((6.0 / (fi + fo)).sqrt()),
            Init::XavierNormal => Spread::Normal((2.0 / (fi + fo)).sqrt()),
            Init::HeNormal => Spread::Normal((2.0 / fi).sqrt()),
            Init::HeUniform => Spread::Uniform((6.0 / fi).sqrt()),
            Init::Zeros => Spread::Zero,
        }
    }

    /// `weights`, or an error when one is not finite in `f32`.
    fn finite(&self, weights: Array2<f32>) -> Result<Array2<f32>> {
        if weights.iter().any(|w| !w.is_finite()) {
            return Err(Error::config(
                "initial weights",
                format!("{self:?}"),
                "an initialiser whose weights are finite in f32 (a standard deviation below \
                 about 1e37)",
            ));
        }
        Ok(weights)
    }
}

/// A weight distribution: normal with a standard deviation, uniform on `(-limit, limit)`, or 0.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Spread {
    Normal(f64),
    Uniform(f64),
    Zero,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tutorial_init_matches_numpy_randn_times_001() {
        // np.random.seed(42); np.random.randn(2, 3) * 0.01
        let w = Init::TUTORIAL
            .sample(2, 3, &mut RandomState::new(42))
            .unwrap();
        let expected = [
            0.4967141530112327,
            -0.13826430117118466,
            0.6476885381006925,
            1.5230298564080254,
            -0.23415337472333597,
            -0.23413695694918055,
        ];
        for (got, want) in w.iter().zip(expected) {
            assert_eq!(*got, (want * 0.01) as f32);
        }
    }

    #[test]
    fn he_and_xavier_have_the_right_spread() {
        let mut rng = RandomState::new(0);
        let he = Init::HeNormal.sample(400, 300, &mut rng).unwrap();
        let var = he.iter().map(|w| (*w as f64).powi(2)).sum::<f64>() / he.len() as f64;
        assert!(
            (var - 2.0 / 400.0).abs() < 0.05 * 2.0 / 400.0,
            "He variance {var}"
        );
        let xu = Init::XavierUniform.sample(400, 300, &mut rng).unwrap();
        let limit = (6.0f64 / 700.0).sqrt() as f32;
        assert!(xu.iter().all(|w| w.abs() <= limit));
        let var = xu.iter().map(|w| (*w as f64).powi(2)).sum::<f64>() / xu.len() as f64;
        assert!(
            (var - 2.0 / 700.0).abs() < 0.05 * 2.0 / 700.0,
            "Xavier variance {var}"
        );
        assert!(Init::Zeros
            .sample(3, 2, &mut rng)
            .unwrap()
            .iter()
            .all(|w| *w == 0.0));
    }

    #[test]
    fn any_rand_generator_draws_the_same_spreads() {
        use ndarray_rand::rand::{rngs::StdRng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(0);
        let he = Init::HeNormal.sample_from(400, 300, &mut rng).unwrap();
        let var = he.iter().map(|w| (*w as f64).powi(2)).sum::<f64>() / he.len() as f64;
        approx::assert_relative_eq!(var, 2.0 / 400.0, max_relative = 0.05);
        let xu = Init::XavierUniform.sample_from(400, 300, &mut rng).unwrap();
        let limit = (6.0f64 / 700.0).sqrt() as f32;
        assert!(xu.iter().all(|w| w.abs() <= limit));
        let var = xu.iter().map(|w| (*w as f64).powi(2)).sum::<f64>() / xu.len() as f64;
        approx::assert_relative_eq!(var, 2.0 / 700.0, max_relative = 0.05);
        let tutorial = Init::TUTORIAL.sample_from(200, 100, &mut rng).unwrap();
        let std = (tutorial.iter().map(|w| (*w as f64).powi(2)).sum::<f64>() / 20_000.0).sqrt();
        approx::assert_relative_eq!(std, 0.01, max_relative = 0.05);
        assert!(Init::Zeros
            .sample_from(3, 2, &mut rng)
            .unwrap()
            .iter()
            .all(|w| *w == 0.0));
        for std in [f64::NAN, -0.1, f64::INFINITY, 1e300] {
            assert!(
                Init::Normal { std }.sample_from(2, 2, &mut rng).is_err(),
                "{std}"
            );
        }
        assert!(matches!(
            Init::HeNormal.sample_from(usize::MAX, 2, &mut rng),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn bad_spreads_and_sizes_are_errors() {
        let mut rng = RandomState::new(0);
        for std in [f64::NAN, -0.1, f64::INFINITY, 1e300] {
            assert!(
                matches!(
                    Init::Normal { std }.sample(2, 2, &mut rng),
                    Err(Error::InvalidConfig { .. })
                ),
                "{std}"
            );
        }
        assert!(matches!(
            Init::HeNormal.sample(usize::MAX, 2, &mut rng),
            Err(Error::TooLarge { .. })
        ));
    }
}
