//! [`train_test_split`]: the rows scikit-learn's `train_test_split` selects.
//!
//! scikit-learn's `train_test_split(X, y, test_size=f, random_state=s)` draws
//! `perm = np.random.RandomState(s).permutation(n)`, takes the first `ceil(f n)` rows as the test
//! set and the rest as the training set, in permutation order. With the numpy-compatible
//! [`RandomState`] this module picks exactly the same rows, so the tutorial's 56,000/14,000 MNIST
//! split is reproduced row for row.

use crate::random::RandomState;
use crate::{Error, Result};

/// Row indices of a training set and a test set, in the order scikit-learn returns them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Rows of the training set.
    pub train: Vec<usize>,
    /// Rows of the test set.
    pub test: Vec<usize>,
}

/// Splits `n` rows into training and test rows, `ceil(test_fraction * n)` of them for testing.
///
/// ```
/// let split = feedforward::data::train_test_split(10, 0.2, 42).unwrap();
/// // np.random.RandomState(42).permutation(10) = [8, 1, 5, 0, 7, 2, 9, 4, 3, 6]
/// assert_eq!(split.test, vec![8, 1]);
/// assert_eq!(split.train, vec![5, 0, 7, 2, 9, 4, 3, 6]);
/// ```
///
/// # Errors
/// [`Error::InvalidConfig`] unless `0 < test_fraction < 1` and both sets get at least one row.
pub fn train_test_split(n: usize, test_fraction: f64, seed: u32) -> Result<Split> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::config(
            "test_fraction",
            test_fraction,
            "a fraction strictly between 0 and 1, such as 0.2",
        ));
    }
    let n_test = (test_fraction * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(Error::config(
            "test_fraction",
            test_fraction,
            format!("a fraction that leaves both sets non-empty with {n} rows"),
        ));
    }
    let mut permutation = RandomState::new(seed).permutation(n);
    let train = permutation.split_off(n_test);
    Ok(Split {
        train,
        test: permutation,
    })
}
