//! A prediction's forward pass in parts of the batch, one part per thread, each through every
//! layer ([`Inference`]), when every layer offers that pass.
//!
//! Layer by layer, a forward pass of 1,000 rows through 784-128-10 splits the first product
//! over the two threads and runs the rest on one: the ReLU, the 128 -> 10 product, the softmax
//! and the checks of the outputs, while the other thread waits, and the threads meet after
//! every split. In parts, each thread runs its 500 rows through the whole model and the threads
//! meet once. Measured with `scripts/compare_onnxruntime.sh` (see the commit introducing this
//! file for the figures).
//!
//! The parts give the same bits as the pass layer by layer (each layer's [`Inference`] chooses
//! its arithmetic by the rows of the whole batch), and the same errors: a NaN or infinite input
//! is reported before any output that overflows, the first row first.

use super::finite::{all_finite_matrix, check_finite_outputs_of};
use super::Sequential;
use crate::layers::Inference;
use crate::workspace::Buffer;
use crate::{Error, Result};
use ndarray::{s, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

/// The fewest rows a part takes: below this, the layers' own splits do better.
const MIN_PART_ROWS: usize = 16;

/// The least work (multiply-adds, rows times the largest layer's) of a part: 2 M, about 15 us of
/// one core. A pass in parts meets its threads once, where a pass layer by layer meets them
/// after every product, so a part repays its thread from a quarter of a product's share
/// ([`WORK_PER_THREAD`](crate::parallel::WORK_PER_THREAD), 8 M). Measured with `bench_predict`
/// (AMD EPYC Zen 5, alternating runs of 3, microseconds a call), 8 M against 2 M: 784-128-10
/// at a batch of 64 56 -> 39-47; 784-256-128-10 at 32 91-92 -> 56-65, at 64 118-120 -> 74-77
/// (with 4 M: 89.5-92 and 74-77). Calls in a loop find the other thread still awake; a call
/// after a pause of a millisecond or more wakes it, which costs some tens of microseconds or
/// more on a virtual machine (see `crate::parallel`).
const WORK_PER_PART: usize = 1 << 21;

impl Sequential {
    /// Runs checked `inputs` (rows numbered from `first_row`) through every layer in parts of
    /// rows on rayon's threads, the outputs in the activation buffers as
    /// [`forward`](Sequential::forward) leaves them. `None` when the pass is not worth parts
    /// (one part) or a layer has no [`Inference`]: then nothing has run.
    pub(super) fn forward_in_parts(
        &mut self,
        inputs: ArrayView2<'_, f32>,
        first_row: usize,
    ) -> Option<Result<()>> {
        let rows = inputs.nrows();
        let work = rows.saturating_mul(self.largest_parameter.max(self.sample_work));
        let parts =
            crate::parallel::shares(work, WORK_PER_PART, WORK_PER_PART).min(rows / MIN_PART_ROWS);
        if parts < 2 {
            return None;
        }
        let check_after_first = self.checks_inputs_after_first_layer();
        let Sequential {
            layers,
            activations,
            widths,
            ..
        } = self;
        let pipeline = Pipeline {
            passes: layers
                .iter()
                .map(|layer| layer.inference())
                .collect::<Option<_>>()?,
            names: layers.iter().map(|layer| layer.name()).collect(),
            check_after_first,
        };
        Some(pipeline.run(activations, &widths[1..], inputs, first_row, parts))
    }
}

/// The layers of a model whose every layer offers an [`Inference`], as the threads of
/// [`Sequential::forward_in_parts`] share them.
struct Pipeline<'a> {
    passes: Vec<&'a dyn Inference>,
    /// The layers' names, for the errors.
    names: Vec<&'a str>,
    /// [`Sequential::checks_inputs_after_first_layer`].
    check_after_first: bool,
}

impl Pipeline<'_> {
    /// `inputs` in `parts` parts through the layers, their outputs into `activations`
    /// (`widths` wide), as [`Sequential::forward_in_parts`] describes.
    fn run(
        &self,
        activations: &mut [Buffer],
        widths: &[usize],
        inputs: ArrayView2<'_, f32>,
        first_row: usize,
        parts: usize,
    ) -> Result<()> {
        let Pipeline {
            passes,
            names,
            check_after_first,
        } = self;
        let rows = inputs.nrows();
        for (buffer, &width) in activations.iter_mut().zip(widths) {
            buffer.try_reshape("layer outputs", rows, width)?;
        }
        let start = |part: usize| part * rows / parts;
        // Each layer's output buffer cut into the parts' rows.
        let mut outputs: Vec<Vec<ArrayViewMut2<'_, f32>>> = (0..parts)
            .map(|_| Vec::with_capacity(passes.len()))
            .collect();
        for buffer in activations.iter_mut() {
            let mut rest = buffer.view_mut();
            for (part, views) in outputs.iter_mut().enumerate() {
                let (head, tail) = rest.split_at(Axis(0), start(part + 1) - start(part));
                views.push(head);
                rest = tail;
            }
        }
        let results: Vec<Result<()>> = outputs
            .into_par_iter()
            .enumerate()
            .map(|(part, mut outputs)| {
                let first = start(part);
                let input = inputs.slice(s![first..start(part + 1), ..]);
                let first_row = first_row + first;
                if !*check_after_first {
                    Sequential::check_finite_inputs(input, first_row)?;
                }
                for (layer, pass) in passes.iter().enumerate() {
                    let (done, rest) = outputs.split_at_mut(layer);
                    let layer_input = match done.last() {
                        Some(previous) => previous.view(),
                        None => input,
                    };
                    pass.infer(layer_input, rest[0].view_mut(), rows)?;
                    if layer == 0 && *check_after_first && !all_finite_matrix(rest[0].view()) {
                        Sequential::check_finite_inputs(input, first_row)?;
                    }
                }
                let output = |layer: usize| outputs[layer].view();
                check_finite_outputs_of(names.len(), |layer| names[layer], output, first_row)
            })
            .collect();
        // The error of the pass layer by layer: a non-finite input before anything else (the
        // inputs are checked before the layers after the first run), the first row first
        // (`min_by_key` keeps the first of equals).
        let first = results
            .into_iter()
            .filter_map(Result::err)
            .min_by_key(|error| !matches!(error, Error::NonFiniteInput { .. }));
        first.map_or(Ok(()), Err)
    }
}
