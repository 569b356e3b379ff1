//! [`Inference`]: a layer's forward pass in evaluation mode through a shared reference, which
//! lets [`Sequential::predict`](crate::Sequential::predict) run parts of a batch through the
//! whole model on several threads at once.

use crate::Result;
use ndarray::{ArrayView2, ArrayViewMut2};

/// A layer's forward pass in evaluation mode through a shared reference (`&self`), so that
/// several threads run it at once on different rows of a batch.
///
/// [`Sequential::predict`](crate::Sequential::predict) and
/// [`predict_classes`](crate::Sequential::predict_classes) cut a batch worth several threads
/// into one contiguous part of rows per thread and run each part through every layer on its
/// thread, when every layer of the model offers this pass ([`Layer::inference`](super::Layer::inference)); otherwise
/// each layer runs the whole batch with [`Layer::forward`](super::Layer::forward), splitting its own work, and the
/// threads meet after every layer. The parts run what a layer does alone (the activations, the
/// small last layer, the checks of the outputs) on every thread instead of one, and meet once,
/// as onnxruntime's and PyTorch's inference split a batch.
///
/// A part must give every row the bits that [`Layer::forward`](super::Layer::forward) gives it over the whole batch
/// in evaluation mode: results never depend on the number of threads. A layer whose arithmetic
/// depends on the number of rows (the [`Dense`](super::Dense) kernels choose their layout by
/// it) chooses by `batch_rows`, the rows of the whole batch, not by the part's.
///
/// ```
/// use feedforward::layers::{Inference, Layer, Relu};
/// use feedforward::ndarray::{array, Array2};
///
/// let relu = Relu;
/// let pass = relu.inference().expect("ReLU offers the shared pass");
/// let mut y = Array2::zeros((1, 2));
/// pass.infer(array![[-1.0f32, 2.0]].view(), y.view_mut(), 4)?; // 1 row of a batch of 4
/// assert_eq!(y, array![[0.0, 2.0]]);
/// # Ok::<(), feedforward::Error>(())
/// ```
pub trait Inference: Sync {
    /// Computes the evaluation-mode output of `input`, a part of a batch of `batch_rows`
    /// rows, writing every element of `output`, without changing the layer.
    ///
    /// # Shapes
    /// - `input`: `(rows, in)`, `rows <= batch_rows`
    /// - `output`: `(rows, output_width(in))`
    ///
    /// # Errors
    /// As [`Layer::forward`](super::Layer::forward): [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for views
    /// of the wrong shape.
    fn infer(
        &self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
        batch_rows: usize,
    ) -> Result<()>;
}
