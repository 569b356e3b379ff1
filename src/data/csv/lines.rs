//! [`Lines`]: the line of the file each row of a table came from, kept as the places where
//! the numbering jumps (a dropped row, a quoted line break) rather than one `u64` per row: a
//! table of ten million rows read without a jump keeps one entry, not 80 MB.

/// The lines of a table's rows, in row order; row `i` is on line `get(i)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Lines {
    /// How many rows.
    len: usize,
    /// `(row, line)` where row `row` is on line `line` and the rows after it on the lines
    /// after it, until the next entry; the rows in increasing order.
    jumps: Vec<(usize, u64)>,
}

impl Lines {
    /// Adds the next row, found on `line`.
    pub(crate) fn push(&mut self, line: u64) {
        if self.len == 0 || self.get(self.len - 1).wrapping_add(1) != line {
            self.jumps.push((self.len, line));
        }
        self.len += 1;
    }

    /// Forgets every row, keeping the room allocated.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.jumps.clear();
    }

    /// How many places the numbering jumps (16 bytes each).
    pub(crate) fn jump_count(&self) -> usize {
        self.jumps.len()
    }

    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The line of row `row` (below [`len`](Lines::len)).
    pub(crate) fn get(&self, row: usize) -> u64 {
        let k = self.jumps.partition_point(|&(r, _)| r <= row) - 1;
        let (start, line) = self.jumps[k];
        line + (row - start) as u64
    }

    /// Every row's line.
    pub(crate) fn to_vec(&self) -> Vec<u64> {
        (0..self.len).map(|r| self.get(r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_kept_as_their_jumps() {
        let given = [2u64, 3, 4, 6, 7, 8, 12, 13, 2, 3];
        let mut lines = Lines::default();
        for &line in &given {
            lines.push(line);
        }
        assert_eq!(lines.to_vec(), given);
        assert_eq!(lines.len(), given.len());
        assert_eq!(lines.jumps.len(), 4);
        let mut run = Lines::default();
        for line in 2..100_002 {
            run.push(line);
        }
        assert_eq!((run.jumps.len(), run.get(99_999)), (1, 100_001));
    }
}
