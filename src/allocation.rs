//! Allocations whose size comes from the user (layer widths, class counts, row counts): a size
//! that cannot be allocated is an [`Error::TooLarge`], never a panic ("capacity overflow") or an
//! abort ("memory allocation failed").
//!
//! The size is checked for overflow first, then the memory is asked for with
//! [`Vec::try_reserve_exact`], which fails cleanly when the allocator refuses. (On a system that
//! overcommits memory, an allocation the allocator grants may still fail later, when it is
//! touched; no library can prevent that.)

use crate::{Error, Result};
use ndarray::Array2;

/// A vector of `len` copies of `value`, or [`Error::TooLarge`] naming `what`.
pub(crate) fn filled_vec<T: Clone>(what: &str, len: usize, value: T) -> Result<Vec<T>> {
    let mut data = Vec::new();
    data.try_reserve_exact(len)
        .map_err(|_| too_large(what, len as u128, std::mem::size_of::<T>()))?;
    data.resize(len, value);
    Ok(data)
}

/// A `(rows, cols)` matrix of `value`, or [`Error::TooLarge`] naming `what` when
/// `rows * cols` elements cannot be allocated.
pub(crate) fn filled<T: Clone>(
    what: &str,
    rows: usize,
    cols: usize,
    value: T,
) -> Result<Array2<T>> {
    let len = rows
        .checked_mul(cols)
        .filter(|&len| {
            len.checked_mul(std::mem::size_of::<T>())
                .is_some_and(|b| b <= isize::MAX as usize)
        })
        .ok_or_else(|| too_large(what, rows as u128 * cols as u128, std::mem::size_of::<T>()))?;
    let data = filled_vec(what, len, value)?;
    Ok(Array2::from_shape_vec((rows, cols), data).expect("rows * cols elements"))
}

/// The error for `elements` values of `size` bytes each.
pub(crate) fn too_large(what: &str, elements: u128, size: usize) -> Error {
    let saturate = |n: u128| u64::try_from(n).unwrap_or(u64::MAX);
    Error::TooLarge {
        what: what.to_string(),
        elements: saturate(elements),
        bytes: saturate(elements.saturating_mul(size as u128)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_that_cannot_be_allocated_are_errors() {
        for (rows, cols) in [(usize::MAX, 2), (1 << 40, 1 << 40), (usize::MAX / 4, 1)] {
            let err = filled("test matrix", rows, cols, 0.0f32).unwrap_err();
            assert!(matches!(err, Error::TooLarge { .. }), "{err}");
            assert!(err.to_string().contains("test matrix"), "{err}");
        }
        assert_eq!(filled("m", 2, 3, 1u8).unwrap().sum(), 6);
    }
}
