//! [`RowIndex`]: where each row of a streamed table is in its file, in about 2.1 bytes a row,
//! and [`Classes`]: each row's class in one byte (two past 256 classes).
//!
//! A full `u64` offset every [`BLOCK`] rows, and each row's extent (the bytes from where it
//! starts to where the next record of its file starts) in a `u16`. Row `r`'s offset is its
//! block's offset plus the extents of the rows before it in the block (a prefix sum of at most
//! 63 numbers), as an `Lines` entry gives a row's line from the last jump before it. Two side
//! tables, sorted by row, keep what the scheme cannot say, 16 bytes an entry:
//! - `anchors`: rows that do not start where the row before them ends (the first row of every
//!   file after the first, a row after rows dropped for missing cells), with their offsets;
//! - `long`: rows whose extent does not fit in a `u16` (longer than 65,535 bytes), with it.
//!
//! Cost: 2 bytes a row, plus 8 / 64 = 0.125 for the block offsets, plus 16 bytes per file, per
//! row after dropped rows and per row longer than 65,535 bytes: 2.125 bytes a row for a table
//! without them, 42.5 MB for 20,000,000 rows (the index of one `u64` a row took 160 MB). The
//! classes add 1 byte a row (20 MB), 2 past 256 classes.

use crate::{Error, Result};

/// Rows per full offset.
const BLOCK: usize = 64;

/// The rows of a table's files: where each starts and how far it reaches (documented in the
/// module).
#[derive(Debug, Default)]
pub(crate) struct RowIndex {
    /// The offset of rows `0, BLOCK, 2 BLOCK, ...` in their files.
    block_offsets: Vec<u64>,
    /// Every row's extent; 0 when it is in `long`.
    extents: Vec<u16>,
    /// `(row, extent)` of the rows whose extent is 0 or above `u16::MAX`, rows increasing.
    long: Vec<(usize, u64)>,
    /// `(row, offset)` of the rows, not first in their block, that do not start where the row
    /// before them ends, rows increasing.
    anchors: Vec<(usize, u64)>,
    /// The offset of the last row pushed, while its extent is not known yet.
    open: Option<u64>,
    /// Where the last row of the current file ends (`None` at the start of a file).
    last_end: Option<u64>,
}

impl RowIndex {
    /// Adds the next row, starting at `offset` in the current file; its extent is set by the
    /// next [`close`](RowIndex::close).
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the index cannot grow.
    pub(crate) fn push(&mut self, offset: u64) -> Result<()> {
        let row = self.extents.len();
        let room = |_: std::collections::TryReserveError| -> Error {
            crate::allocation::too_large("the row index", row as u128, 2)
        };
        self.extents.try_reserve(1).map_err(room)?;
        if row.is_multiple_of(BLOCK) {
            self.block_offsets.try_reserve(1).map_err(room)?;
            self.block_offsets.push(offset);
        } else if self.last_end != Some(offset) {
            self.anchors.try_reserve(1).map_err(room)?;
            self.anchors.push((row, offset));
        }
        self.extents.push(0);
        self.open = Some(offset);
        Ok(())
    }

    /// The last row pushed, if its extent is not set yet, ends at `end` (where the next record
    /// of its file starts, or the file's end).
    pub(crate) fn close(&mut self, end: u64) -> Result<()> {
        let Some(start) = self.open.take() else {
            return Ok(());
        };
        let row = self.extents.len() - 1;
        let extent = end.saturating_sub(start);
        match u16::try_from(extent) {
            Ok(short) if short > 0 => self.extents[row] = short,
            _ => {
                self.long.try_reserve(1).map_err(|_| {
                    crate::allocation::too_large("the row index", self.long.len() as u128, 16)
                })?;
                self.long.push((row, extent));
            }
        }
        self.last_end = Some(end);
        Ok(())
    }

    /// Ends the current file at `end`: the next row pushed starts another file.
    pub(crate) fn end_file(&mut self, end: u64) -> Result<()> {
        self.close(end)?;
        self.last_end = None;
        Ok(())
    }

    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        self.extents.len()
    }

    /// The bytes the index takes.
    pub(crate) fn bytes(&self) -> usize {
        self.block_offsets.capacity() * 8
            + self.extents.capacity() * 2
            + (self.long.capacity() + self.anchors.capacity()) * 16
    }

    /// Gives the room not used back.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.block_offsets.shrink_to_fit();
        self.extents.shrink_to_fit();
        self.long.shrink_to_fit();
        self.anchors.shrink_to_fit();
    }

    /// The extent of row `row` (below [`len`](RowIndex::len)).
    pub(crate) fn extent(&self, row: usize) -> u64 {
        match self.extents[row] {
            0 => match self.long.binary_search_by_key(&row, |&(r, _)| r) {
                Ok(k) => self.long[k].1,
                Err(_) => 0,
            },
            short => u64::from(short),
        }
    }

    /// Where row `row` (below [`len`](RowIndex::len)) starts in its file.
    pub(crate) fn offset(&self, row: usize) -> u64 {
        let block = row / BLOCK;
        let (mut from, mut offset) = (block * BLOCK, self.block_offsets[block]);
        let k = self.anchors.partition_point(|&(r, _)| r <= row);
        if k > 0 && self.anchors[k - 1].0 > from {
            (from, offset) = self.anchors[k - 1];
        }
        let extents = &self.extents[from..row];
        if extents.contains(&0) {
            (from..row).map(|r| self.extent(r)).sum::<u64>() + offset
        } else {
            extents.iter().map(|&e| u64::from(e)).sum::<u64>() + offset
        }
    }
}

/// The class of every row of a classification table: one byte a row up to 256 classes, two up
/// to 65,536.
#[derive(Debug)]
pub(crate) enum Classes {
    /// Up to 256 classes.
    Byte(Vec<u8>),
    /// Up to 65,536 classes.
    Short(Vec<u16>),
}

impl Classes {
    /// Room for classes below `count`, or `None` past 65,536.
    pub(crate) fn for_count(count: usize) -> Option<Classes> {
        if count <= 256 {
            Some(Classes::Byte(Vec::new()))
        } else if count <= 65_536 {
            Some(Classes::Short(Vec::new()))
        } else {
            None
        }
    }

    /// Adds the next row's class (below the count given to [`for_count`](Classes::for_count)).
    pub(crate) fn push(&mut self, class: usize) -> Result<()> {
        let len = self.len() as u128;
        let full = |_| crate::allocation::too_large("the rows' classes", len, 2);
        match self {
            Classes::Byte(v) => {
                v.try_reserve(1).map_err(full)?;
                v.push(class as u8);
            }
            Classes::Short(v) => {
                v.try_reserve(1).map_err(full)?;
                v.push(class as u16);
            }
        }
        Ok(())
    }

    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        match self {
            Classes::Byte(v) => v.len(),
            Classes::Short(v) => v.len(),
        }
    }

    /// The class of row `row`, if there is such a row.
    pub(crate) fn get(&self, row: usize) -> Option<usize> {
        match self {
            Classes::Byte(v) => v.get(row).map(|&c| usize::from(c)),
            Classes::Short(v) => v.get(row).map(|&c| usize::from(c)),
        }
    }

    /// The bytes the classes take.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Classes::Byte(v) => v.capacity(),
            Classes::Short(v) => v.capacity() * 2,
        }
    }

    /// Gives the room not used back.
    pub(crate) fn shrink_to_fit(&mut self) {
        match self {
            Classes::Byte(v) => v.shrink_to_fit(),
            Classes::Short(v) => v.shrink_to_fit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The index of `files`, each a list of `(offset, extent, kept)` records in file order.
    fn index(files: &[Vec<(u64, u64, bool)>]) -> RowIndex {
        let mut index = RowIndex::default();
        for records in files {
            for &(offset, _, kept) in records {
                index.close(offset).unwrap();
                if kept {
                    index.push(offset).unwrap();
                }
            }
            let end = records.last().map_or(0, |&(o, e, _)| o + e);
            index.end_file(end).unwrap();
        }
        index
    }

    /// Records of the given lengths laid end to end after a header of `start` bytes.
    fn laid_out(start: u64, lengths: &[(u64, bool)]) -> Vec<(u64, u64, bool)> {
        let mut offset = start;
        lengths
            .iter()
            .map(|&(len, kept)| {
                let record = (offset, len, kept);
                offset += len;
                record
            })
            .collect()
    }

    proptest! {
        #[test]
        fn offsets_and_extents_are_those_given(
            files in prop::collection::vec(
                (1u64..200, prop::collection::vec(
                    (prop_oneof![1u64..300, 60_000u64..70_000, Just(1u64 << 33)],
                     prop::bool::weighted(0.9)),
                    0..300,
                )),
                1..4,
            )
        ) {
            let files: Vec<_> = files.iter().map(|(start, l)| laid_out(*start, l)).collect();
            let index = index(&files);
            // The expected rows: each kept record, reaching to the next record of its file.
            let expected: Vec<(u64, u64)> = files
                .iter()
                .flat_map(|records| records.iter().filter(|r| r.2).map(|&(o, e, _)| (o, e)))
                .collect();
            prop_assert_eq!(index.len(), expected.len());
            for (row, &(offset, extent)) in expected.iter().enumerate() {
                prop_assert_eq!((index.offset(row), index.extent(row)), (offset, extent), "row {}", row);
            }
        }
    }

    #[test]
    fn a_table_without_dropped_or_long_rows_takes_about_two_bytes_a_row() {
        let rows = 100_000;
        let lengths: Vec<(u64, bool)> = (0..rows).map(|i| (150 + i % 40, true)).collect();
        let mut index = index(&[laid_out(100, &lengths)]);
        index.shrink_to_fit();
        assert!(index.anchors.is_empty() && index.long.is_empty());
        assert_eq!(
            index.bytes(),
            rows as usize * 2 + rows.div_ceil(64) as usize * 8
        );
        assert_eq!(
            index.offset(70_000),
            100 + (0..70_000).map(|i| 150 + i % 40).sum::<u64>()
        );
    }

    #[test]
    fn classes_take_one_byte_up_to_256_and_two_up_to_65536() {
        let mut small = Classes::for_count(256).unwrap();
        let mut large = Classes::for_count(257).unwrap();
        for c in [0, 255, 7] {
            small.push(c).unwrap();
            large.push(c * 200).unwrap();
        }
        small.shrink_to_fit();
        large.shrink_to_fit();
        assert_eq!((small.bytes(), large.bytes()), (3, 6));
        assert_eq!(
            (small.get(1), large.get(1), small.get(3)),
            (Some(255), Some(51_000), None)
        );
        assert!(Classes::for_count(65_537).is_none());
    }
}
