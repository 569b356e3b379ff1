//! [`train_test_split`]: the rows scikit-learn's `train_test_split` selects.
//!
//! scikit-learn's `train_test_split(X, y, test_size=f, random_state=s)` draws
//! `perm = np.random.RandomState(s).permutation(n)`, takes the first `ceil(f n)` rows as the test
//! set and the rest as the training set, in permutation order. With the numpy-compatible
//! [`RandomState`] this module picks exactly the same rows, so the tutorial's 56,000/14,000 MNIST
//! split is reproduced row for row.
//!
//! [`stratified_train_test_split`] is `train_test_split(..., stratify=y, random_state=s)`: each
//! class keeps its proportion in both parts, and the rows are again exactly scikit-learn's
//! (its `StratifiedShuffleSplit`, drawn from the same numpy-compatible generator).

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
    let mut permutation = RandomState::new(seed).permutation(n)?;
    let train = permutation.split_off(n_test);
    Ok(Split {
        train,
        test: permutation,
    })
}

/// Splits rows labelled `labels` (class indices) into training and test rows so that every
/// class keeps its proportion in both parts, `ceil(test_fraction * n)` rows for testing: the
/// rows that scikit-learn's `train_test_split(X, y, test_size=test_fraction,
/// random_state=seed, stratify=y)` selects, in the same order.
///
/// The algorithm is scikit-learn's `StratifiedShuffleSplit` (version 1.x): the training and
/// test counts per class are the "approximate mode" of a multivariate hypergeometric draw
/// (each class's exact share rounded down, the rows left over given to the classes with the
/// largest remainders, ties drawn at random), then each class's rows are permuted and dealt
/// out, and each part is permuted.
///
/// ```
/// use feedforward::data::stratified_train_test_split;
/// let labels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
/// let split = stratified_train_test_split(&labels, 0.5, 0)?;
/// // sklearn: train_test_split(np.arange(10), test_size=0.5, random_state=0, stratify=labels)
/// assert_eq!(split.train, [2, 1, 9, 6, 5]);
/// assert_eq!(split.test, [7, 3, 8, 4, 0]);
/// # Ok::<(), feedforward::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidConfig`] as [`train_test_split`], and as scikit-learn when a class has a
/// single row or when a part would get fewer rows than there are classes.
pub fn stratified_train_test_split(
    labels: &[usize],
    test_fraction: f64,
    seed: u32,
) -> Result<Split> {
    let n = labels.len();
    // The same checks, and the same sizes, as the plain split.
    let sizes = train_test_split(n, test_fraction, seed)?;
    let (n_test, n_train) = (sizes.test.len(), sizes.train.len());
    // np.unique(y, return_inverse=True): the classes present, in increasing order.
    let mut present: Vec<usize> = labels.to_vec();
    present.sort_unstable();
    present.dedup();
    let index_of = |label: usize| present.binary_search(&label).expect("label is present");
    let mut counts = vec![0usize; present.len()];
    for &label in labels {
        counts[index_of(label)] += 1;
    }
    if let Some(c) = counts.iter().position(|&c| c < 2) {
        return Err(Error::config(
            "stratify labels",
            format!("class {} with a single row", present[c]),
            "at least two rows in every class, so that each part can have one",
        ));
    }
    for (part, size) in [("training", n_train), ("test", n_test)] {
        if size < present.len() {
            return Err(Error::config(
                "test_fraction",
                test_fraction,
                format!(
                    "a fraction giving the {part} part ({size} rows) at least one row per class                      ({} classes)",
                    present.len()
                ),
            ));
        }
    }
    // np.argsort(y_indices, kind="mergesort") split per class: each class's rows in order.
    let mut class_rows: Vec<Vec<usize>> = counts.iter().map(|&c| Vec::with_capacity(c)).collect();
    for (row, &label) in labels.iter().enumerate() {
        class_rows[index_of(label)].push(row);
    }
    let mut rng = RandomState::new(seed);
    let train_counts = approximate_mode(&counts, n_train, &mut rng)?;
    let remaining: Vec<usize> = counts
        .iter()
        .zip(&train_counts)
        .map(|(c, t)| c - t)
        .collect();
    let test_counts = approximate_mode(&remaining, n_test, &mut rng)?;
    let (mut train, mut test) = (Vec::with_capacity(n_train), Vec::with_capacity(n_test));
    for (class, rows) in class_rows.iter().enumerate() {
        let permuted: Vec<usize> = rng
            .permutation(rows.len())?
            .into_iter()
            .map(|i| rows[i])
            .collect();
        let (n_i, t_i) = (train_counts[class], test_counts[class]);
        train.extend_from_slice(&permuted[..n_i]);
        test.extend_from_slice(&permuted[n_i..n_i + t_i]);
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok(Split { train, test })
}

/// scikit-learn's `_approximate_mode(class_counts, n_draws, rng)`: `n_draws` spread over the
/// classes in proportion to `counts`, each share rounded down, the draws left over given to
/// the classes with the largest fractional remainders (largest first; among equal remainders,
/// `rng.choice(inds, size, replace=False)`, which is `rng.permutation(len(inds))[:size]`).
fn approximate_mode(counts: &[usize], n_draws: usize, rng: &mut RandomState) -> Result<Vec<usize>> {
    let total: usize = counts.iter().sum();
    // continuous = class_counts / class_counts.sum() * n_draws, in float64 as numpy computes it
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut floored: Vec<usize> = continuous.iter().map(|c| c.floor() as usize).collect();
    let mut need = n_draws - floored.iter().sum::<usize>();
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, &f)| c - f as f64)
            .collect();
        // np.sort(np.unique(remainder))[::-1]
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for value in values {
            let inds: Vec<usize> = (0..remainder.len())
                .filter(|&i| remainder[i] == value)
                .collect();
            let add_now = inds.len().min(need);
            for pick in &rng.permutation(inds.len())?[..add_now] {
                floored[inds[*pick]] += 1;
            }
            need -= add_now;
            if need == 0 {
                break;
            }
        }
    }
    Ok(floored)
}
