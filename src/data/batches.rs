//! [`Batches`]: the order in which a training loop visits the rows, batch by batch.
//!
//! In order (the tutorial's `for i in range(0, n, batch_size)`) or reshuffled at every epoch by a
//! seeded numpy-compatible generator, as `rng.permutation(n)` would. The last batch holds the
//! remaining rows and may be smaller.

use crate::random::RandomState;
use crate::{Error, Result};

/// How rows are ordered across epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Order {
    /// Rows `0, 1, 2, ...` every epoch, as the tutorial does.
    #[default]
    InOrder,
    /// A fresh permutation every epoch, drawn from a generator seeded once with `seed`.
    Shuffled {
        /// Seed of the generator.
        seed: u32,
    },
}

/// Row indices of a data set cut into batches, reshuffled per epoch when asked to.
///
/// ```
/// use feedforward::data::{Batches, Order};
/// let mut batches = Batches::new(5, 2, Order::InOrder).unwrap();
/// batches.next_epoch();
/// let seen: Vec<&[usize]> = batches.iter().collect();
/// assert_eq!(seen, vec![&[0, 1][..], &[2, 3], &[4]]);
/// ```
#[derive(Clone, Debug)]
pub struct Batches {
    rows: Vec<usize>,
    batch_size: usize,
    order: Order,
    rng: Option<RandomState>,
}

impl Batches {
    /// Batches of `batch_size` over `len` rows.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero batch size; [`Error::Empty`] for zero rows.
    pub fn new(len: usize, batch_size: usize, order: Order) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::config(
                "batch_size",
                0,
                "at least 1 (the tutorial uses 32)",
            ));
        }
        if len == 0 {
            return Err(Error::Empty {
                what: "data set".into(),
                hint: "give at least one row to train on".into(),
            });
        }
        let rng = match order {
            Order::InOrder => None,
            Order::Shuffled { seed } => Some(RandomState::new(seed)),
        };
        Ok(Batches {
            rows: (0..len).collect(),
            batch_size,
            order,
            rng,
        })
    }

    /// Prepares the next epoch: reshuffles when the order is shuffled.
    pub fn next_epoch(&mut self) {
        if let Some(rng) = &mut self.rng {
            for (i, r) in self.rows.iter_mut().enumerate() {
                *r = i;
            }
            rng.shuffle(&mut self.rows);
        }
    }

    /// The batches of the current epoch, each a slice of row indices.
    pub fn iter(&self) -> std::slice::Chunks<'_, usize> {
        self.rows.chunks(self.batch_size)
    }

    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        self.rows.len().div_ceil(self.batch_size)
    }

    /// Always `false`: there is at least one batch.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The generator behind the shuffling (`None` in order): its state is what a training
    /// checkpoint saves, so that a resumed run draws the same permutations.
    pub fn generator(&self) -> Option<&RandomState> {
        self.rng.as_ref()
    }

    /// The generator behind the shuffling, to restore its state (`None` in order).
    pub fn generator_mut(&mut self) -> Option<&mut RandomState> {
        self.rng.as_mut()
    }

    /// The ordering in use.
    pub fn order(&self) -> Order {
        self.order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffled_epochs_are_numpy_permutations() {
        let mut b = Batches::new(10, 4, Order::Shuffled { seed: 42 }).unwrap();
        b.next_epoch();
        let first: Vec<usize> = b.iter().flatten().copied().collect();
        assert_eq!(first, vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
        let mut rng = RandomState::new(42);
        rng.permutation(10);
        b.next_epoch();
        let second: Vec<usize> = b.iter().flatten().copied().collect();
        assert_eq!(second, rng.permutation(10));
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn rejects_zero_batch_size_and_empty_data() {
        assert!(matches!(
            Batches::new(3, 0, Order::InOrder),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            Batches::new(0, 3, Order::InOrder),
            Err(Error::Empty { .. })
        ));
    }
}
