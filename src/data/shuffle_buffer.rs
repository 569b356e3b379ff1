//! The windowed shuffle behind [`Order::ShuffleBuffer`](super::Order::ShuffleBuffer): a
//! shuffled order of the rows in bounded memory, for data read from disk.
//!
//! In the spirit of `tf.data`'s `Dataset.shuffle(buffer_size)` and Hugging Face's
//! `IterableDataset.shuffle(seed, buffer_size)` (which shuffles the order of the shards, then
//! the rows in a buffer), defined on row numbers so that it is reproducible and serves every
//! data set. Each epoch, with a numpy-compatible generator `rng` (`np.random.RandomState`):
//!
//! ```python
//! blocks = rng.permutation(ceil(n / block_size))          # the blocks' order
//! rows = np.concatenate([np.arange(b * block_size, min(b * block_size + block_size, n))
//!                        for b in blocks])                # their rows, block after block
//! for start in range(0, used, buffer_size):               # a window of buffer_size rows
//!     window = rows[start:start + buffer_size].copy()
//!     rng.shuffle(window)                                 # drawn when the window is reached
//!     yield from window
//! ```
//!
//! (`used` is the number of rows an epoch trains on: all, or whole batches with `drop_last`;
//! `scripts/shuffle_buffer_order.py` is this definition, and prints the order a test checks.)
//! Only the blocks' order (`n / block_size` numbers) and one window are held: never an order
//! of all the rows.

use crate::allocation::filled_vec;
use crate::random::RandomState;
use crate::{Error, Result};

/// The rows of the block order cut into windows, one window held at a time.
#[derive(Clone, Debug)]
pub(crate) struct Windows {
    /// Rows of the data set.
    len: usize,
    /// Rows of a window.
    buffer_size: usize,
    /// Rows of a block (the last block of the data set may be shorter).
    block_size: usize,
    /// This epoch's order of the blocks.
    blocks: Vec<usize>,
    /// The first row of the block order not yet put in a window: a position in `blocks` and
    /// a row within that block.
    next_block: usize,
    next_offset: usize,
    /// The current window's rows, shuffled.
    window: Vec<usize>,
    /// The position in the epoch of `window[0]`.
    start: usize,
    /// Windows drawn since the schedule was made (across epochs).
    serial: u64,
}

impl Windows {
    /// The windows of `buffer_size` rows over `len` rows in blocks of `block_size`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a buffer or block size of 0; [`Error::TooLarge`] when the
    /// block order or the window cannot be allocated.
    pub(crate) fn new(len: usize, buffer_size: usize, block_size: usize) -> Result<Windows> {
        if buffer_size == 0 {
            return Err(Error::config(
                "shuffle buffer_size",
                0,
                "at least 1 row (65,536 is the usual choice: Order::DEFAULT_BUFFER_SIZE)",
            ));
        }
        if block_size == 0 {
            return Err(Error::config(
                "shuffle block_size",
                0,
                "at least 1 row (Order::shuffle_buffer derives it from the buffer size)",
            ));
        }
        let mut blocks = filled_vec("shuffle buffer's block order", len.div_ceil(block_size), 0)?;
        for (i, b) in blocks.iter_mut().enumerate() {
            *b = i;
        }
        let mut window = Vec::new();
        let held = buffer_size.min(len);
        window.try_reserve_exact(held).map_err(|_| {
            crate::allocation::too_large("shuffle buffer", held as u128, size_of::<usize>())
        })?;
        Ok(Windows {
            len,
            buffer_size,
            block_size,
            blocks,
            next_block: 0,
            next_offset: 0,
            window,
            start: 0,
            serial: 0,
        })
    }

    /// Starts an epoch: draws the blocks' order (`rng.permutation(blocks)`).
    pub(crate) fn start_epoch(&mut self, rng: &mut RandomState) {
        for (i, b) in self.blocks.iter_mut().enumerate() {
            *b = i;
        }
        rng.shuffle(&mut self.blocks);
        self.next_block = 0;
        self.next_offset = 0;
        self.window.clear();
        self.start = 0;
    }

    /// Appends to `out` the rows at positions `range` of the epoch, drawing the windows they
    /// fall in. Positions are asked for in increasing order, from 0, each once an epoch.
    pub(crate) fn extend(
        &mut self,
        range: std::ops::Range<usize>,
        rng: &mut RandomState,
        out: &mut Vec<usize>,
    ) {
        let mut pos = range.start;
        while pos < range.end {
            while pos >= self.start + self.window.len() {
                self.draw(rng);
            }
            let end = range.end.min(self.start + self.window.len());
            out.extend_from_slice(&self.window[pos - self.start..end - self.start]);
            pos = end;
        }
    }

    /// Puts the next `buffer_size` rows of the block order (fewer at the end) in the window
    /// and shuffles them (`rng.shuffle(window)`).
    fn draw(&mut self, rng: &mut RandomState) {
        self.start += self.window.len();
        self.window.clear();
        let want = self.buffer_size.min(self.len - self.start);
        assert!(want > 0, "a window past the end of the epoch");
        while self.window.len() < want {
            let first = self.blocks[self.next_block] * self.block_size;
            let block_end = (first + self.block_size).min(self.len);
            let from = first + self.next_offset;
            let to = block_end.min(from + want - self.window.len());
            self.window.extend(from..to);
            if to == block_end {
                self.next_block += 1;
                self.next_offset = 0;
            } else {
                self.next_offset = to - first;
            }
        }
        rng.shuffle(&mut self.window);
        self.serial += 1;
    }

    /// The current window's rows (shuffled), and its number: windows are numbered from 1 in
    /// the order they are drawn, across epochs (0: none drawn yet).
    pub(crate) fn current(&self) -> (u64, &[usize]) {
        (self.serial, &self.window)
    }

    /// Rows of a window.
    pub(crate) fn buffer_size(&self) -> usize {
        self.buffer_size
    }

    /// The bytes held: the block order and the window.
    pub(crate) fn bytes(&self) -> usize {
        (self.blocks.capacity() + self.window.capacity()) * size_of::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole epoch's order, `used` rows.
    fn epoch(windows: &mut Windows, rng: &mut RandomState, used: usize) -> Vec<usize> {
        windows.start_epoch(rng);
        let mut out = Vec::new();
        // In uneven pieces, as batches straddling windows ask for them.
        let mut pos = 0;
        for step in [1, 7, 3, 11].iter().cycle() {
            if pos >= used {
                break;
            }
            let end = (pos + step).min(used);
            windows.extend(pos..end, rng, &mut out);
            pos = end;
        }
        out
    }

    #[test]
    fn every_epoch_is_a_permutation_mixed_within_windows_only() {
        let (len, buffer, block) = (103, 20, 6);
        let mut windows = Windows::new(len, buffer, block).unwrap();
        let mut rng = RandomState::new(7);
        let first = epoch(&mut windows, &mut rng, len);
        let second = epoch(&mut windows, &mut rng, len);
        for order in [&first, &second] {
            let mut sorted = order.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..len).collect::<Vec<_>>());
        }
        assert_ne!(first, second);
        // Each window holds the rows of consecutive blocks of a block order.
        let mut rng = RandomState::new(7);
        let blocks = rng.permutation(len.div_ceil(block)).unwrap();
        let laid: Vec<usize> = blocks
            .iter()
            .flat_map(|&b| b * block..(b * block + block).min(len))
            .collect();
        for (got, want) in first.chunks(buffer).zip(laid.chunks(buffer)) {
            let (mut got, mut want) = (got.to_vec(), want.to_vec());
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want);
        }
        assert_eq!(windows.current().0, 2 * len.div_ceil(buffer) as u64);
    }

    #[test]
    fn rejects_empty_buffers_and_blocks() {
        assert!(matches!(
            Windows::new(10, 0, 1),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            Windows::new(10, 4, 0),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
