//! [`Batches`]: the order in which a training loop visits the rows, batch by batch.
//!
//! In order (the tutorial's `for i in range(0, n, batch_size)`), reshuffled at every epoch by a
//! seeded numpy-compatible generator as `rng.permutation(n)` would, or shuffled within windows
//! of a bounded size ([`Order::ShuffleBuffer`], for data read from disk). The last batch holds
//! the remaining rows and may be smaller, unless [`drop_last`](Batches::drop_last) leaves
//! those rows out of the epoch (PyTorch's `DataLoader(drop_last=True)`).

use super::shuffle_buffer::Windows;
use crate::random::RandomState;
use crate::{Error, Result};

/// How rows are ordered across epochs.
///
/// | order | memory held | rows mixed | matches the in-memory table's `Shuffled` run |
/// | --- | --- | --- | --- |
/// | [`InOrder`](Order::InOrder) | one batch's indices | none | yes |
/// | [`Shuffled`](Order::Shuffled) | 4 bytes a row (8 past 2^32 rows) | all | yes |
/// | [`ShuffleBuffer`](Order::ShuffleBuffer) | 8 bytes a block + 8 a window row | within a window | no |
///
/// Marked `#[non_exhaustive]`: a `match` on it outside this crate needs a `_` arm, so that
/// another order can be added without breaking it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Order {
    /// Rows `0, 1, 2, ...` every epoch, as the tutorial does.
    #[default]
    InOrder,
    /// A fresh permutation every epoch, drawn from a generator seeded once with `seed`
    /// (`np.random.RandomState(seed).permutation(n)`, then the next permutation, ...): every
    /// row can follow every other. Memory: the permutation, 4 bytes a row (20,000,000 rows:
    /// 80 MB); read from disk (`csv::CsvStream`), one read per row.
    Shuffled {
        /// Seed of the generator.
        seed: u32,
    },
    /// A shuffle in bounded memory, for data read from disk, in the spirit of `tf.data`'s
    /// `Dataset.shuffle(buffer_size, seed)` and Hugging Face's
    /// `IterableDataset.shuffle(seed, buffer_size)` (which shuffles the shards' order, then
    /// rows within a buffer), defined on row numbers so that it is reproducible and works on
    /// every [`Dataset`](crate::data::Dataset). Every epoch, from a generator seeded once
    /// with `seed`:
    /// 1. the rows are cut into contiguous blocks of `block_size` rows (the last may be
    ///    shorter), and the blocks put in a random order (`rng.permutation(blocks)`);
    /// 2. the rows, laid block after block in that order, are cut into windows of
    ///    `buffer_size` rows (the last may be shorter; when `block_size` divides
    ///    `buffer_size` and the rows, a window is `buffer_size / block_size` whole blocks);
    /// 3. each window's rows are shuffled (`rng.shuffle(window)`) when the epoch reaches it.
    ///
    /// Batches are cut from that sequence as from a permutation: a batch may straddle two
    /// windows, and the batches, their count and [`drop_last`](Batches::drop_last) are those
    /// of the other orders. `scripts/shuffle_buffer_order.py` writes the same order with numpy.
    ///
    /// **Cost and quality.** Memory: the blocks' order, 8 bytes a block, and one window, 8
    /// bytes a row (20,000,000 rows in blocks of 1,024 with a 65,536-row buffer: 156 KB +
    /// 512 KB), never an order of all the rows. Read from disk, a window is `buffer_size /
    /// block_size` large reads (one per block) instead of one read per row:
    /// [`Prefetch`](crate::data::Prefetch) reads a whole window at once. Mixing: a batch
    /// holds rows of the window's blocks only, about `buffer_size / block_size` places of the
    /// data (64 by default); rows of one block stay in the same window. Data sorted by class
    /// or date is mixed at the scale of blocks, not rows: prefer [`Shuffled`](Order::Shuffled)
    /// when its memory and reads are affordable. The order matches no `Shuffled` run, but a
    /// data set in memory given the same `ShuffleBuffer` order trains to the same bits as the
    /// stream.
    ShuffleBuffer {
        /// Seed of the generator.
        seed: u32,
        /// Rows of a window (`tf.data`'s `buffer_size`).
        buffer_size: usize,
        /// Rows of a block: rows of the data set kept together, read in one piece.
        block_size: usize,
    },
}

impl Order {
    /// The shuffle buffer's usual size: 65,536 rows.
    ///
    /// Why: a window of the issue's 23-wide table (20 features, 3 one-hot classes) is 6 MB of
    /// `f32` values, and [`Prefetch`](crate::data::Prefetch) holds about two (the window read,
    /// and the batches prepared from the previous one): 12 MB, which keeps a stream of
    /// 20,000,000 rows (a 62 MB index) within 100 MB. In blocks of 1,024 rows (176 KB reads of
    /// a 172-byte row), a window is 64 reads from 64 random places of the data: few reads an
    /// epoch (about 2,000 for 2,000,000 rows, against one a row for
    /// [`Shuffled`](Order::Shuffled)), and a batch of 256 rows draws from 64 places.
    pub const DEFAULT_BUFFER_SIZE: usize = 65_536;

    /// A [`ShuffleBuffer`](Order::ShuffleBuffer) order of windows of `buffer_size` rows
    /// shuffled with `seed`, in blocks of `buffer_size / 64` rows, at least 1 and at most
    /// 1,024 (a window then mixes at least 64 blocks when it holds 64 rows or more; 1,024
    /// rows of a 172-byte row are 176 KB, a read large enough that its cost is the bytes).
    ///
    /// ```
    /// use feedforward::data::Order;
    /// let order = Order::shuffle_buffer(0, Order::DEFAULT_BUFFER_SIZE);
    /// assert_eq!(order, Order::ShuffleBuffer { seed: 0, buffer_size: 65_536, block_size: 1_024 });
    /// assert_eq!(Order::shuffle_buffer(0, 4_096), Order::ShuffleBuffer { seed: 0, buffer_size: 4_096, block_size: 64 });
    /// ```
    pub fn shuffle_buffer(seed: u32, buffer_size: usize) -> Order {
        Order::ShuffleBuffer {
            seed,
            buffer_size,
            block_size: (buffer_size / 64).clamp(1, 1_024),
        }
    }

    /// The generator's seed; `None` in order.
    pub fn seed(&self) -> Option<u32> {
        match *self {
            Order::InOrder => None,
            Order::Shuffled { seed } | Order::ShuffleBuffer { seed, .. } => Some(seed),
        }
    }
}

/// Where an epoch's rows come from.
#[derive(Clone, Debug)]
enum Rows {
    /// `0, 1, 2, ...`: nothing held.
    InOrder,
    /// A permutation of all the rows, stored narrow when every row number fits 32 bits.
    Narrow(Vec<u32>),
    /// A permutation of more than 2^32 rows.
    Wide(Vec<usize>),
    /// A shuffle buffer's windows.
    Windows(Windows),
}

/// Row indices of a data set cut into batches, reshuffled per epoch when asked to.
///
/// [`next_epoch`](Batches::next_epoch) starts an epoch, [`next_batch`](Batches::next_batch)
/// gives its batches one after the other, as a PyTorch `DataLoader` is iterated once an epoch.
///
/// ```
/// use feedforward::data::{Batches, Order};
/// let mut batches = Batches::new(5, 2, Order::InOrder).unwrap();
/// batches.next_epoch();
/// let mut seen = Vec::new();
/// while let Some(rows) = batches.next_batch() {
///     seen.push(rows.to_vec());
/// }
/// assert_eq!(seen, vec![vec![0, 1], vec![2, 3], vec![4]]);
/// ```
#[derive(Clone, Debug)]
pub struct Batches {
    rows: Rows,
    /// Rows of the data set.
    len: usize,
    batch_size: usize,
    order: Order,
    rng: Option<RandomState>,
    /// Rows used per epoch: all, or a whole number of batches with `drop_last`.
    used: usize,
    /// The position in the epoch of the next batch's first row (`used`: the epoch is over).
    next: usize,
    /// The batch last handed out.
    batch: Vec<usize>,
}

impl Batches {
    /// Batches of `batch_size` over `len` rows.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero batch size, or a zero buffer or block size of
    /// [`Order::ShuffleBuffer`]; [`Error::Empty`] for zero rows; [`Error::TooLarge`] when the
    /// order cannot be allocated.
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
        let rows = match order {
            Order::InOrder => Rows::InOrder,
            Order::Shuffled { .. } => match u32::try_from(len - 1) {
                Ok(_) => Rows::Narrow(identity(len)?),
                Err(_) => Rows::Wide(identity(len)?),
            },
            Order::ShuffleBuffer {
                buffer_size,
                block_size,
                ..
            } => Rows::Windows(Windows::new(len, buffer_size, block_size)?),
        };
        let mut batch = Vec::new();
        batch.try_reserve_exact(batch_size.min(len)).map_err(|_| {
            crate::allocation::too_large("batch indices", batch_size as u128, size_of::<usize>())
        })?;
        Ok(Batches {
            rows,
            len,
            batch_size,
            order,
            rng: order.seed().map(RandomState::new),
            used: len,
            next: len,
            batch,
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
    /// assert_eq!(batches.next_batch(), Some(&[0, 1][..]));
    /// assert_eq!(batches.next_batch(), Some(&[2, 3][..]));
    /// assert_eq!(batches.next_batch(), None);
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when there are fewer rows than one batch: nothing would be left.
    pub fn drop_last(mut self, drop_last: bool) -> Result<Self> {
        let len = self.len;
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
        self.next = self.next.min(self.used);
        Ok(self)
    }

    /// The size of the smallest batch of an epoch (the last one).
    pub fn smallest(&self) -> usize {
        match self.used % self.batch_size {
            0 => self.batch_size.min(self.used),
            rest => rest,
        }
    }

    /// Starts the next epoch (the first one too): reshuffles when the order is shuffled, and
    /// rewinds [`next_batch`](Batches::next_batch) to the epoch's first batch.
    pub fn next_epoch(&mut self) {
        match (&mut self.rows, &mut self.rng) {
            (Rows::Narrow(rows), Some(rng)) => {
                for (i, r) in rows.iter_mut().enumerate() {
                    // Below len <= 2^32: checked in `new`.
                    *r = i as u32;
                }
                rng.shuffle(rows);
            }
            (Rows::Wide(rows), Some(rng)) => {
                for (i, r) in rows.iter_mut().enumerate() {
                    *r = i;
                }
                rng.shuffle(rows);
            }
            (Rows::Windows(windows), Some(rng)) => windows.start_epoch(rng),
            _ => {}
        }
        self.next = 0;
    }

    /// The next batch of the epoch (row indices), `None` once the epoch is over (and before
    /// the first [`next_epoch`](Batches::next_epoch)). The slice lives until the next call:
    /// copy it to keep it.
    pub fn next_batch(&mut self) -> Option<&[usize]> {
        if self.next >= self.used {
            return None;
        }
        let end = self.used.min(self.next + self.batch_size);
        self.batch.clear();
        match (&mut self.rows, &mut self.rng) {
            (Rows::Narrow(rows), _) => self
                .batch
                .extend(rows[self.next..end].iter().map(|&r| r as usize)),
            (Rows::Wide(rows), _) => self.batch.extend_from_slice(&rows[self.next..end]),
            (Rows::Windows(windows), Some(rng)) => {
                windows.extend(self.next..end, rng, &mut self.batch)
            }
            (Rows::InOrder | Rows::Windows(_), _) => self.batch.extend(self.next..end),
        }
        self.next = end;
        Some(&self.batch)
    }

    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        self.used.div_ceil(self.batch_size)
    }

    /// Always `false`: there is at least one batch.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The bytes held for the order: the permutation of [`Order::Shuffled`] (4 bytes a row, 8
    /// past 2^32 rows), the blocks' order and the window of [`Order::ShuffleBuffer`] (8 bytes a
    /// block and 8 a window row), and one batch's indices (8 bytes a row of a batch).
    pub fn memory_bytes(&self) -> usize {
        let rows = match &self.rows {
            Rows::InOrder => 0,
            Rows::Narrow(rows) => rows.capacity() * size_of::<u32>(),
            Rows::Wide(rows) => rows.capacity() * size_of::<usize>(),
            Rows::Windows(windows) => windows.bytes(),
        };
        rows + self.batch.capacity() * size_of::<usize>()
    }

    /// For [`Order::ShuffleBuffer`]: the current window's rows (shuffled) and its number
    /// (windows are numbered from 1 as they are drawn, across epochs), for
    /// [`Prefetch`](super::Prefetch) to read a whole window at once. `None` for other orders.
    pub(crate) fn window(&self) -> Option<(u64, &[usize])> {
        match &self.rows {
            Rows::Windows(windows) => Some(windows.current()),
            _ => None,
        }
    }

    /// For [`Order::ShuffleBuffer`]: the rows of a window (`None` for other orders).
    pub(crate) fn buffer_size(&self) -> Option<usize> {
        match &self.rows {
            Rows::Windows(windows) => Some(windows.buffer_size().min(self.len)),
            _ => None,
        }
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

/// `0, 1, ..., len - 1`, as `T` (which holds `len - 1`: checked by the caller).
fn identity<T: TryFrom<usize> + Clone + Default>(len: usize) -> Result<Vec<T>> {
    let mut rows = crate::allocation::filled_vec("row indices", len, T::default())?;
    for (i, row) in rows.iter_mut().enumerate() {
        *row = T::try_from(i).unwrap_or_default();
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every batch of the next epoch.
    fn epoch(b: &mut Batches) -> Vec<Vec<usize>> {
        b.next_epoch();
        let mut batches = Vec::new();
        while let Some(rows) = b.next_batch() {
            batches.push(rows.to_vec());
        }
        batches
    }

    #[test]
    fn shuffled_epochs_are_numpy_permutations() {
        let mut b = Batches::new(10, 4, Order::Shuffled { seed: 42 }).unwrap();
        let first: Vec<usize> = epoch(&mut b).concat();
        assert_eq!(first, vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
        let mut rng = RandomState::new(42);
        rng.permutation(10).unwrap();
        let second: Vec<usize> = epoch(&mut b).concat();
        assert_eq!(second, rng.permutation(10).unwrap());
        assert_eq!(b.len(), 3);
        assert_eq!(b.memory_bytes(), 10 * 4 + 4 * 8);
    }

    #[test]
    fn no_batch_before_the_first_epoch_nor_after_its_end() {
        let mut b = Batches::new(3, 2, Order::InOrder).unwrap();
        assert_eq!(b.next_batch(), None);
        assert_eq!(epoch(&mut b), [vec![0, 1], vec![2]]);
        assert_eq!(b.next_batch(), None);
        assert_eq!(b.memory_bytes(), 2 * 8);
    }

    #[test]
    fn drop_last_leaves_out_the_partial_batch() {
        for order in [Order::Shuffled { seed: 1 }, Order::shuffle_buffer(1, 8)] {
            let mut b = Batches::new(33, 32, order)
                .unwrap()
                .drop_last(true)
                .unwrap();
            assert_eq!((b.len(), b.smallest()), (1, 32));
            let batches = epoch(&mut b);
            assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [32]);
        }
        let b = Batches::new(33, 32, Order::InOrder).unwrap();
        assert_eq!((b.len(), b.smallest()), (2, 1));
        assert_eq!(Batches::new(5, 8, Order::InOrder).unwrap().smallest(), 5);
        assert!(matches!(
            Batches::new(5, 8, Order::InOrder).unwrap().drop_last(true),
            Err(Error::InvalidConfig { .. })
        ));
    }

    #[test]
    fn a_shuffle_buffer_permutes_the_rows_differently_each_epoch_and_again_for_its_seed() {
        // Batches of 5 straddle windows of 8 rows; blocks of 3 straddle windows too.
        let order = Order::ShuffleBuffer {
            seed: 3,
            buffer_size: 8,
            block_size: 3,
        };
        let mut b = Batches::new(23, 5, order).unwrap();
        let mut again = Batches::new(23, 5, order).unwrap();
        let mut previous = Vec::new();
        for _ in 0..3 {
            let batches = epoch(&mut b);
            assert_eq!(
                batches.iter().map(Vec::len).collect::<Vec<_>>(),
                [5, 5, 5, 5, 3]
            );
            let rows = batches.concat();
            let mut sorted = rows.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..23).collect::<Vec<_>>());
            assert_ne!(rows, previous);
            assert_eq!(epoch(&mut again).concat(), rows);
            previous = rows;
        }
        let other = Order::ShuffleBuffer {
            seed: 4,
            buffer_size: 8,
            block_size: 3,
        };
        let mut b = Batches::new(23, 5, other).unwrap();
        assert_ne!(epoch(&mut b).concat(), previous);
    }

    #[test]
    fn a_shuffle_buffer_is_the_numpy_definition() {
        // scripts/shuffle_buffer_order.py 23 3 8 5 0 2: 23 rows in blocks of 3, windows of 8,
        // seed 5, two epochs, no row dropped.
        let order = Order::ShuffleBuffer {
            seed: 5,
            buffer_size: 8,
            block_size: 3,
        };
        let mut b = Batches::new(23, 4, order).unwrap();
        assert_eq!(epoch(&mut b).concat(), NUMPY_EPOCH_1);
        assert_eq!(epoch(&mut b).concat(), NUMPY_EPOCH_2);
        // With drop_last in batches of 8 (16 rows of 23), the third window is never drawn.
        let mut dropped = Batches::new(23, 8, order).unwrap().drop_last(true).unwrap();
        assert_eq!(epoch(&mut dropped).concat(), NUMPY_EPOCH_1[..16]);
        assert_eq!(epoch(&mut dropped).concat(), NUMPY_DROPPED_EPOCH_2);
    }

    /// `python3 scripts/shuffle_buffer_order.py 23 3 8 5 0 2` (numpy 2.4).
    const NUMPY_EPOCH_1: [usize; 23] = [
        12, 22, 8, 6, 21, 7, 13, 14, 5, 15, 16, 0, 3, 2, 4, 1, 11, 17, 10, 19, 9, 18, 20,
    ];
    const NUMPY_EPOCH_2: [usize; 23] = [
        10, 1, 0, 2, 9, 12, 14, 13, 7, 11, 16, 21, 17, 15, 6, 8, 22, 19, 4, 18, 5, 3, 20,
    ];
    /// `python3 scripts/shuffle_buffer_order.py 23 3 8 5 16 2`, the second line.
    const NUMPY_DROPPED_EPOCH_2: [usize; 16] =
        [22, 21, 0, 20, 18, 19, 1, 2, 16, 6, 12, 7, 13, 15, 17, 8];

    #[test]
    fn a_shuffle_buffer_holds_its_blocks_and_one_window_whatever_the_rows() {
        let order = Order::shuffle_buffer(0, 4_096);
        let mut small = Batches::new(100_000, 256, order).unwrap();
        let mut large = Batches::new(10_000_000, 256, order).unwrap();
        for b in [&mut small, &mut large] {
            b.next_epoch();
            for _ in 0..20 {
                assert_eq!(b.next_batch().map(<[usize]>::len), Some(256));
            }
        }
        // 64-row blocks: 8 bytes a block, a window of 4,096 rows and a batch of 256.
        let held = |rows: usize| (rows.div_ceil(64) + 4_096 + 256) * 8;
        assert_eq!(small.memory_bytes(), held(100_000));
        assert_eq!(large.memory_bytes(), held(10_000_000));
        assert!(large.memory_bytes() < 10_000_000 / 4);
    }

    #[test]
    fn rejects_zero_sizes_and_empty_data() {
        assert!(matches!(
            Batches::new(3, 0, Order::InOrder),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            Batches::new(0, 3, Order::InOrder),
            Err(Error::Empty { .. })
        ));
        assert!(matches!(
            Batches::new(3, 2, Order::shuffle_buffer(0, 0)),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
