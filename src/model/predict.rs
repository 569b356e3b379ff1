//! [`Sequential::predict`] and [`Sequential::predict_classes`] (scikit-learn's `predict` and
//! `predict_proba` together): the model's answers for any number of rows, in bounded memory.
//!
//! The rows go through the layers in chunks of [`Sequential::prediction_chunk_rows`] rows,
//! chosen so that the activations of one chunk (every layer's output) take at most
//! [`PREDICT_CHUNK_BYTES`] (16 MiB), and as much again for the layers' own workspace: the
//! working memory stays some tens of MB whatever the number of rows, and only the returned
//! matrix grows with them. (10,000,000 rows through `Dense(1, 1000) -> Relu -> Dense(1000, 1)` in
//! one pass would need 80 GB of activations.) A batch that fits in one chunk (1,000 rows of
//! MNIST through the tutorial's MLP) runs in a single pass, as before.
//!
//! Chunks give the same results as one pass within `f32` rounding: each row's output depends
//! on that row alone, but the dense kernels choose their summation order by the number of rows
//! of a product (a packed GEMM from 64 rows on, blocked kernels below), so the last, shorter
//! chunk may round differently (`tests/predict_memory.rs` measures it: at most 8.2e-8 on
//! softmax probabilities through 64 -> 256 -> 64, about one unit in the last place, and only in
//! a last chunk of fewer than 64 rows). The chunks are fixed by the model and the row count,
//! never by timing or threads, so the same call gives the same bits every time. Measured with
//! a counting allocator, 300,000 rows through `Dense(1, 1000) -> Relu -> Dense(1000, 2) ->
//! Softmax` peak at 10.6 MB (one pass: 2.4 GB).
//!
//! Threads: a chunk worth several threads is cut into one part of rows per thread, each run
//! through every layer on its thread (`predict_in_parts.rs`), when every layer offers the pass
//! through a shared reference ([`Layer::inference`](crate::layers::Layer::inference)): the
//! activations, the small last layer and the checks then run on every thread instead of one,
//! and the threads meet once per chunk instead of after every layer. A model with a layer that
//! does not offer it (a convolution, a layer of the user's) runs layer by layer, each layer
//! splitting its own work. Both give the same bits, on any number of threads.
//!
//! Every chunk's inputs are checked before the layers run ([`Error::NonFiniteInput`]) and its
//! outputs after ([`Error::NonFiniteOutput`]): `Ok` never holds a NaN or an infinity.

use super::Sequential;
use crate::layers::OutputKind;
use crate::metrics::argmax;
use crate::{Error, Result};
use ndarray::{s, Array2, ArrayView2, Axis};

/// The bytes of activations (the outputs of every layer) that one chunk of
/// [`Sequential::predict`] holds at most, unless a single row needs more: 16 MiB. The layers'
/// workspace for a chunk is counted as much again when choosing the chunk's rows.
pub const PREDICT_CHUNK_BYTES: usize = 16 << 20;

/// What [`Sequential::predict_classes`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassPredictions {
    /// The predicted class of every row: the most probable one (the first on ties, as
    /// `np.argmax`).
    pub classes: Vec<usize>,
    /// The probability of every class, `(rows, classes)`; each row sums to 1.
    pub probabilities: Array2<f32>,
}

impl Sequential {
    /// The model's output for `inputs`, `(rows, input_width)`, in evaluation mode: a
    /// `(rows, output_width)` matrix. The view borrows the model's buffer until the next call;
    /// `.to_owned()` keeps it.
    ///
    /// The rows go through the layers [`prediction_chunk_rows`](Sequential::prediction_chunk_rows)
    /// at a time, so that the working memory stays bounded whatever their number (see
    /// [`PREDICT_CHUNK_BYTES`]); only the returned matrix grows
    /// with the rows.
    ///
    /// ```
    /// use feedforward::prelude::*;
    /// use feedforward::ndarray::array;
    ///
    /// let mut model = Sequential::builder(2).dense(1, Init::XavierNormal).push(Relu).build()?;
    /// assert_eq!(model.predict(array![[0.5f32, 1.0], [2.0, -1.0]].view())?.dim(), (2, 1));
    /// // A NaN feature is refused, naming its row and column, instead of vanishing in the ReLU.
    /// let err = model.predict(array![[0.5f32, 1.0], [f32::NAN, 0.5]].view()).unwrap_err();
    /// assert!(matches!(err, feedforward::Error::NonFiniteInput { row: 1, column: 0, .. }));
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `inputs` has the wrong width, [`Error::Empty`] without rows,
    /// [`Error::NonFiniteInput`] for a NaN or infinite input (its row and column),
    /// [`Error::NonFiniteOutput`] when the values overflow (the row, and the first layer whose
    /// output is not finite), [`Error::TooLarge`] when the output matrix cannot be allocated.
    pub fn predict(&mut self, inputs: ArrayView2<'_, f32>) -> Result<ArrayView2<'_, f32>> {
        self.check_inputs(&inputs)?;
        let last = self.layers.len() - 1;
        let rows = inputs.nrows();
        if rows <= self.prediction_chunk_rows() {
            self.predict_chunk(inputs, 0)?;
            return Ok(self.activations[last].view());
        }
        let mut predictions = std::mem::take(&mut self.predictions);
        let result = predictions
            .try_reshape("predictions", rows, self.output_width())
            .and_then(|()| {
                let mut all = predictions.view_mut();
                self.predict_chunks(inputs, |start, outputs| {
                    all.slice_mut(s![start..start + outputs.nrows(), ..])
                        .assign(&outputs);
                })
            });
        self.predictions = predictions;
        result?;
        Ok(self.predictions.view())
    }

    /// The rows [`predict`](Sequential::predict) and
    /// [`predict_classes`](Sequential::predict_classes) run through the layers at once: as many
    /// as keep one chunk's activations within [`PREDICT_CHUNK_BYTES`] with as much again for the
    /// layers' workspace (a multiple of 64 from 64 rows on, so that the products keep their
    /// fast path; 1 when a single row needs more).
    ///
    /// ```
    /// use feedforward::prelude::*;
    ///
    /// let model = Sequential::builder(1).dense(1000, Init::HeNormal).push(Relu).dense(1, Init::Zeros).build()?;
    /// // 16 MiB / (2 x 4 bytes x (1000 + 1000 + 1) values a row) = 1,048 rows, rounded down to 1,024
    /// assert_eq!(model.prediction_chunk_rows(), 1024);
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    pub fn prediction_chunk_rows(&self) -> usize {
        let values_per_row = self.widths[1..]
            .iter()
            .fold(0usize, |sum, &w| sum.saturating_add(w))
            .saturating_mul(2);
        match PREDICT_CHUNK_BYTES / std::mem::size_of::<f32>() / values_per_row.max(1) {
            0 => 1,
            rows if rows >= 64 => rows / 64 * 64,
            rows => rows,
        }
    }

    /// Runs checked `inputs` through the model chunk by chunk, handing each chunk's output to
    /// `sink` with the index of its first row.
    fn predict_chunks(
        &mut self,
        inputs: ArrayView2<'_, f32>,
        mut sink: impl FnMut(usize, ArrayView2<'_, f32>),
    ) -> Result<()> {
        let (rows, chunk) = (inputs.nrows(), self.prediction_chunk_rows());
        let last = self.layers.len() - 1;
        for start in (0..rows).step_by(chunk) {
            let part = inputs.slice(s![start..(start + chunk).min(rows), ..]);
            self.predict_chunk(part, start)?;
            sink(start, self.activations[last].view());
        }
        Ok(())
    }

    /// One chunk forward, in evaluation mode, its inputs and outputs checked (rows numbered
    /// from `first_row`); the output is in the last activation buffer.
    fn predict_chunk(&mut self, part: ArrayView2<'_, f32>, first_row: usize) -> Result<()> {
        self.set_training(false);
        self.with_threads(part.nrows(), |model| {
            if let Some(result) = model.forward_in_parts(part, first_row) {
                return result;
            }
            model.forward(part, first_row)?;
            model.check_finite_outputs(first_row)
        })
    }

    /// The most probable class of every row of `inputs`, `(rows, input_width)`, with the
    /// probabilities of all the classes, in evaluation mode, in chunks as
    /// [`predict`](Sequential::predict).
    ///
    /// ```
    /// use feedforward::prelude::*;
    ///
    /// let mut model = Sequential::builder(4).dense(3, Init::XavierNormal).push(Softmax).build()?;
    /// let x = RandomState::new(1).rand(5, 4)?;
    /// let predicted = model.predict_classes(x.view())?;
    /// assert_eq!(predicted.probabilities.dim(), (5, 3));
    /// assert_eq!(predicted.classes.len(), 5);
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the model does not end with a layer whose outputs are class
    /// probabilities ([`Softmax`](crate::layers::Softmax), or
    /// [`Sigmoid`](crate::layers::Sigmoid) on a single output: classes 0 and 1, probabilities
    /// `[1 - p, p]`); the errors of [`predict`](Sequential::predict).
    pub fn predict_classes(&mut self, inputs: ArrayView2<'_, f32>) -> Result<ClassPredictions> {
        let last = self.layers.last().expect("a model has at least one layer");
        let (kind, name, width) = (
            last.output_kind(),
            last.name().to_string(),
            self.output_width(),
        );
        // One sigmoid output: the probability of class 1, as scikit-learn's predict_proba
        // gives [1 - p, p].
        let sigmoid = match kind {
            OutputKind::SoftmaxProbabilities => false,
            OutputKind::SigmoidProbabilities if width == 1 => true,
            _ => {
                return Err(Error::config(
                    "model output",
                    format!("the output of {name} (the last layer), {width} wide"),
                    "class probabilities: end the model with Softmax, or with Sigmoid on one \
                     output for two classes",
                ))
            }
        };
        self.check_inputs(&inputs)?;
        let classes_width = if sigmoid { 2 } else { width };
        let rows = inputs.nrows();
        let mut probabilities =
            crate::allocation::filled("class probabilities", rows, classes_width, 0.0f32)?;
        let mut classes = crate::allocation::filled_vec("predicted classes", rows, 0usize)?;
        self.predict_chunks(inputs, |start, outputs| {
            let end = start + outputs.nrows();
            let mut part = probabilities.slice_mut(s![start..end, ..]);
            if sigmoid {
                for (mut row, &p) in part.rows_mut().into_iter().zip(outputs.column(0)) {
                    (row[0], row[1]) = (1.0 - p, p);
                }
            } else {
                part.assign(&outputs);
            }
            for (class, row) in classes[start..end].iter_mut().zip(part.axis_iter(Axis(0))) {
                *class = argmax(row);
            }
        })?;
        Ok(ClassPredictions {
            classes,
            probabilities,
        })
    }
}
