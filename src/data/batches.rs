//! [`Batches`]: the order in which a training loop visits the rows, batch by batch.
//!
//! In order (the tutorial's `for i in range(0, n, batch_size)`) or reshuffled at every epoch by a
//! seeded numpy-compatible generator, as `rng.permutation(n)` would. The last batch holds the
//! remaining rows and may be smaller, unless [`drop_last`](Batches::drop_last) leaves those rows
//! out of the epoch (PyTorch's `DataLoader(drop_last=True)`).

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
    /// Rows used per epoch: all, or a whole number of batches with `drop_last`.
    used: usize,
}

impl Batches {
    /// Batches of `batch_size` over `len` rows.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero batch size; [`Error::Empty`] for zero rows;
    /// [`Error::TooLarge`] when `len` row indices cannot be allocated.
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
        let mut rows = crate::allocation::filled_vec("row indices", len, 0)?;
        for (i, row) in rows.iter_mut().enumerate() {
            *row = i;
        }
        Ok(Batches {
            rows,
            batch_size,
            order,
            rng,
            used: len,
        })
    }

    /// With `drop_last`, every epoch leaves out the rows that would make a last, smaller batch
    /// (`len % batch_size` of them; with shuffling, different rows each epoch), as PyTorch's
    /// `DataLoader(drop_last=True)`.
    ///
    /// ```
    /// use feedforward::data::{Batches, Order};
    /// let mut batches = Batches::new(5, 2, Order::InOrder)?.drop_last(true)?;
    /// batches.next_epoch();
    /// let seen: Vec<&[usize]> = batches.iter().collect();
    /// assert_eq!(seen, vec![&[0, 1][..], &[2, 3]]);
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when there are fewer rows than one batch: nothing would be left.
    pub fn drop_last(mut self, drop_last: bool) -> Result<Self> {
        let len = self.rows.len();
        self.used = if drop_last {
            len - len % self.batch_size
        } else {
            len
        };
        if self.used == 0 {
            return Err(Error::config(
                "batch_size",
                self.batch_size,
                format!("at most the {len} rows when the last partial batch is dropped"),
            ));
        }
        Ok(self)
    }

    /// The size of the smallest batch of an epoch (the last one).
    pub fn smallest(&self) -> usize {
        match self.used % self.batch_size {
            0 => self.batch_size.min(self.used),
            rest => rest,
        }
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
        self.rows[..self.used].chunks(self.batch_size)
    }

    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        self.used.div_ceil(self.batch_size)
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
        rng.permutation(10).unwrap();
        b.next_epoch();
        let second: Vec<usize> = b.iter().flatten().copied().collect();
        assert_eq!(second, rng.permutation(10).unwrap());
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn drop_last_leaves_out_the_partial_batch() {
        let mut b = Batches::new(33, 32, Order::Shuffled { seed: 1 })
            .unwrap()
            .drop_last(true)
            .unwrap();
        b.next_epoch();
        assert_eq!((b.len(), b.smallest()), (1, 32));
        assert_eq!(b.iter().map(<[usize]>::len).collect::<Vec<_>>(), [32]);
        let b = Batches::new(33, 32, Order::InOrder).unwrap();
        assert_eq!((b.len(), b.smallest()), (2, 1));
        assert_eq!(Batches::new(5, 8, Order::InOrder).unwrap().smallest(), 5);
        assert!(matches!(
            Batches::new(5, 8, Order::InOrder).unwrap().drop_last(true),
            Err(Error::InvalidConfig { .. })
        ));
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
