//! Which rows of a global batch each process trains on.
//!
//! A global batch of `B` rows is cut into `N` contiguous shards in rank order, as PyTorch's
//! `DistributedSampler` deals rows out (there by stride; contiguous here, so that the shards of
//! rank 0, 1, ... laid end to end are the batch the single process would take): the first
//! `B mod N` ranks take `ceil(B / N)` rows, the others `floor(B / N)`.

use std::ops::Range;

/// The positions, within a batch of `rows` rows, of the shard of process `rank` among `size`.
///
/// ```
/// use feedforward::distributed::shard;
/// assert_eq!(shard(10, 0, 4), 0..3);
/// assert_eq!(shard(10, 1, 4), 3..6);
/// assert_eq!(shard(10, 2, 4), 6..8);
/// assert_eq!(shard(10, 3, 4), 8..10);
/// ```
///
/// # Panics
/// When `size` is 0 or `rank >= size` (a communicator never gives those).
pub fn shard(rows: usize, rank: usize, size: usize) -> Range<usize> {
    assert!(rank < size, "rank {rank} of a world of {size} processes");
    let (base, extra) = (rows / size, rows % size);
    let start = rank * base + rank.min(extra);
    let len = base + usize::from(rank < extra);
    start..start + len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_batch_in_rank_order_and_differ_by_at_most_one_row() {
        for rows in 0..40 {
            for size in 1..9 {
                let shards: Vec<Range<usize>> = (0..size).map(|r| shard(rows, r, size)).collect();
                assert_eq!(shards[0].start, 0);
                assert_eq!(shards[size - 1].end, rows);
                for pair in shards.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                    assert!(pair[0].len() == pair[1].len() || pair[0].len() == pair[1].len() + 1);
                }
            }
        }
    }
}
