//! Nothing NaN or infinite in, nothing NaN or infinite out: the checks of
//! [`Sequential::predict`], [`predict_classes`](Sequential::predict_classes),
//! [`evaluate`](Sequential::evaluate) and every training step.
//!
//! A NaN feature must be refused before the layers run, because a layer may hide it: ReLU maps
//! NaN to 0 (as PyTorch's does, pytorch/pytorch#7999), and the model would then answer
//! something plausible. An output is checked after the last layer; when one is not finite, the
//! activations (still in the model's buffers) are searched for the first layer whose output went
//! non-finite for that row, which is the layer the error names.
//!
//! The check is one pass over the values without a branch per element: the largest magnitude
//! (the bits of `|x|`, as an integer) is NaN's or infinity's exactly when some value is not
//! finite, an integer maximum that compilers vectorise (16 values per AVX-512 instruction).
//! Large inputs are checked in parts on rayon's threads ([`parallel::any_part`]). Only when the
//! pass finds something is the matrix searched again for the first offending element.
//!
//! Where the inputs are checked: before the first layer, unless that layer
//! [propagates](crate::layers::Layer::propagates_non_finite) every NaN and infinity of a row to
//! the row's output ([`Dense`](crate::layers::Dense) does) and its output is narrower than its
//! input. Then its output is checked instead, and the inputs are searched only when it holds a
//! NaN or an infinity: the same errors, for a pass over 128 values a row instead of 784 in the
//! tutorial's MLP (at 1,000 rows, 0.5 MB read instead of 3.1 MB that the product then reads
//! again). An output that is not finite for a finite input (an overflow) is left to the check
//! of the model's last output, as before.

use super::Sequential;
use crate::layers::Isa;
use crate::parallel;
use crate::{Error, Result};
use ndarray::ArrayView2;

/// The bits of `f32::INFINITY`: an `|x|` whose bits are at least these is infinite or NaN.
const INFINITY_BITS: u32 = 0x7f80_0000;

/// Whether every value is finite, in one branch-free pass that compilers vectorise (compiled
/// for this processor's vectors, [`Isa::vectorize`]: x86-64's baseline, SSE2, has no unsigned
/// 32-bit maximum, and the pass ran at 14 GB/s from the cache on AVX-512 before).
pub(crate) fn all_finite(values: &[f32]) -> bool {
    Isa::detect().vectorize(
        #[inline(always)]
        || {
            values
                .iter()
                .fold(0u32, |largest, v| largest.max(v.to_bits() & 0x7fff_ffff))
        },
    ) < INFINITY_BITS
}

/// The first element of `view` (in row-major order) that is NaN or infinite, as
/// `(row, column, value)`; `None` when every element is finite.
pub(crate) fn first_non_finite(view: ArrayView2<'_, f32>) -> Option<(usize, usize, f32)> {
    if all_finite_matrix(view) {
        return None;
    }
    view.indexed_iter()
        .find(|(_, v)| !v.is_finite())
        .map(|((row, column), &value)| (row, column, value))
}

/// Whether every value of `view` is finite, in the pass of [`all_finite`] (on rayon's threads
/// for large matrices).
pub(crate) fn all_finite_matrix(view: ArrayView2<'_, f32>) -> bool {
    match view.as_slice() {
        Some(values) => {
            !parallel::any_part(values, values.len(), &|part: &[f32]| !all_finite(part))
        }
        None => view
            .rows()
            .into_iter()
            .all(|row| row.iter().all(|v| v.is_finite())),
    }
}

impl Sequential {
    /// Whether [`forward`](Sequential::forward) checks the inputs through the first layer's
    /// output (see the module's documentation): the first layer propagates non-finite values
    /// and its output is narrower than its input.
    pub(super) fn checks_inputs_after_first_layer(&self) -> bool {
        self.layers[0].propagates_non_finite() && self.widths[1] < self.widths[0]
    }

    /// [`Error::NonFiniteInput`] for the first NaN or infinite value of `inputs` (rows
    /// numbered from `first_row`).
    pub(super) fn check_finite_inputs(inputs: ArrayView2<'_, f32>, first_row: usize) -> Result<()> {
        match first_non_finite(inputs) {
            None => Ok(()),
            Some((row, column, value)) => Err(Error::NonFiniteInput {
                row: first_row + row,
                column,
                value,
            }),
        }
    }

    /// [`Error::NonFiniteOutput`] when the output of the last forward pass holds a NaN or an
    /// infinity, naming its row (numbered from `first_row`) and the first layer whose output
    /// is not finite for that row.
    pub(super) fn check_finite_outputs(&self, first_row: usize) -> Result<()> {
        check_finite_outputs_of(
            self.layers.len(),
            |layer| self.layers[layer].name(),
            |layer| self.activations[layer].view(),
            first_row,
        )
    }
}

/// [`Sequential::check_finite_outputs`] for `layers` layers whose names `name` and outputs
/// `outputs` give (layer `i`'s for `i`, rows numbered from `first_row`): the last layer's
/// output is checked.
pub(super) fn check_finite_outputs_of<'a, 'n>(
    layers: usize,
    name: impl Fn(usize) -> &'n str,
    outputs: impl Fn(usize) -> ArrayView2<'a, f32>,
    first_row: usize,
) -> Result<()> {
    let last = layers - 1;
    let Some((row, _, value)) = first_non_finite(outputs(last)) else {
        return Ok(());
    };
    let (layer, value) = (0..=last)
        .find_map(|index| {
            outputs(index)
                .row(row)
                .iter()
                .find(|v| !v.is_finite())
                .map(|&v| (index, v))
        })
        .unwrap_or((last, value));
    Err(Error::NonFiniteOutput {
        row: first_row + row,
        layer,
        name: name(layer).to_string(),
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_pass_finds_every_kind_of_non_finite_value() {
        for bad in [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for position in [0, 1, 16, 37, 63] {
                let mut values = vec![1.0f32; 64];
                values[position] = bad;
                assert!(!all_finite(&values));
                assert!(!all_finite(&values[position..]));
                assert!(all_finite(&values[..position]));
            }
        }
        assert!(all_finite(&[
            f32::MAX,
            f32::MIN,
            -0.0,
            f32::MIN_POSITIVE,
            1e-45
        ]));
        assert!(all_finite(&[]));
    }

    #[test]
    fn the_first_offending_element_is_named_in_any_layout() {
        let x = array![[1.0f32, 2.0], [3.0, f32::NAN], [f32::INFINITY, 0.0]];
        let found = first_non_finite(x.view()).unwrap();
        assert_eq!((found.0, found.1), (1, 1));
        assert!(found.2.is_nan());
        // transposed: column-major memory, the search still goes row by row
        assert_eq!(
            first_non_finite(x.t()).map(|(r, c, _)| (r, c)),
            Some((0, 2))
        );
        assert_eq!(first_non_finite(array![[1.0f32, 2.0]].view()), None);
    }
}
