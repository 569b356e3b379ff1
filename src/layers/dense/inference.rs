//! [`Dense`]'s forward pass through `&self` ([`Dense::forward_part`]), which both
//! [`Layer::forward`](crate::layers::Layer::forward) and [`Inference`] (a part of a batch on one
//! of several threads) run.

use super::{check_rows, kernels, row_major, standard, write_row_major, Dense};
use crate::layers::{expect_width, Inference};
use crate::Result;
use kernels::Isa;
use ndarray::{ArrayView2, ArrayViewMut2};
use std::cell::RefCell;

thread_local! {
    /// The kernels' workspace for the parts a thread runs (the forward pass's column-major
    /// result when the outputs are at least twice the batch's rows, or the outputs' parts on
    /// several threads): grows to one part's outputs once per thread and is reused.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's workspace, or a fresh one when the thread's is in use (a part
/// started while this thread waits in another part's split: rayon lends waiting threads).
fn with_scratch<R>(f: impl FnOnce(&mut Vec<f32>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Vec::new()),
    })
}

impl Dense {
    /// The forward pass `Y = X.W + b` of `input`, a part of a batch of `batch_rows` rows, into
    /// `output`, through the given workspaces: a row-major copy of `input` and of `output` when
    /// they are not in standard layout, and the kernels' `scratch`. The kernels are chosen for
    /// the whole batch, so that each row gets the bits it gets in a pass over the batch.
    /// [`Layer::forward`](crate::layers::Layer::forward) runs it with `batch_rows` the rows of
    /// `input` and the layer's own workspaces, [`Inference::infer`] with fresh ones.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for views of the wrong shape.
    pub(super) fn forward_part(
        &self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
        batch_rows: usize,
        input_copy: &mut Vec<f32>,
        output_copy: &mut Vec<f32>,
        scratch: &mut Vec<f32>,
    ) -> Result<()> {
        expect_width("Dense input", &input, self.inputs())?;
        check_rows(&input, &output.view(), self.outputs())?;
        let (m, k, n) = (input.nrows(), self.inputs(), self.outputs());
        let x = row_major(&input, input_copy);
        let (wt, b) = (standard(&self.weight_t), standard(&self.bias));
        let threads = crate::parallel::threads_for(m * k * n);
        let isa = Isa::detect();
        let batch_rows = batch_rows.max(m);
        let packed =
            kernels::uses_packed_weights(isa, batch_rows, k, n).then(|| self.packed.get(wt, k, n));
        write_row_major(&mut output, output_copy, |y| {
            kernels::forward_part(
                isa, x, wt, packed, b, y, m, batch_rows, k, n, threads, scratch,
            )
        });
        Ok(())
    }
}

impl Inference for Dense {
    /// [`Layer::forward`](crate::layers::Layer::forward) on a part of a batch of `batch_rows`
    /// rows, the kernels chosen for the whole batch so that each row gets the same bits.
    fn infer(
        &self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
        batch_rows: usize,
    ) -> Result<()> {
        let (mut input_copy, mut output_copy) = (Vec::new(), Vec::new());
        with_scratch(|scratch| {
            self.forward_part(
                input,
                output,
                batch_rows,
                &mut input_copy,
                &mut output_copy,
                scratch,
            )
        })
    }
}
