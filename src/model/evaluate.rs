//! [`Sequential::evaluate`]: the loss over a data set and the metrics of the model's task, in an
//! [`Evaluation`].
//!
//! The task ([`Task`]) comes from the last layer, or else from the loss: a softmax (or
//! cross-entropy on logits) classifies, with the accuracy of the argmax and a confusion matrix;
//! a sigmoid (or binary cross-entropy on logits) answers yes or no per output, thresholded at 0.5
//! on probabilities or 0 on logits, with the accuracy over all outputs and per output; anything
//! else regresses, with scikit-learn's MSE, RMSE, MAE and R^2.

use super::Sequential;
use crate::data::{Batches, Dataset, Order};
use crate::layers::OutputKind;
use crate::losses::Loss;
use crate::metrics::{
    predicted_class, BinaryCounts, ConfusionMatrix, RegressionAccumulator, RegressionMetrics, Task,
};
use crate::{Error, Result};
use ndarray::{ArrayView2, Axis};
use std::fmt;

/// What [`Sequential::evaluate`] returns: the loss and the metrics of the model's task.
///
/// Its `Display` prints one line in Keras' style, whatever the task:
/// `loss: 0.0712 - accuracy: 0.9737` for a classifier,
/// `loss: 2900.1235 - mse: 2900.1235 - rmse: 53.8528 - mae: 42.7941 - r2: 0.4526` for a regression.
///
/// ```
/// use feedforward::prelude::*;
/// use feedforward::metrics::Task;
/// use feedforward::ndarray::array;
///
/// // y = 2x + 1, predicted by a perceptron that is off by 0.5
/// let mut model = Sequential::builder(1)
///     .push(Dense::from_parameters(array![[2.0f32]], array![[1.5f32]])?)
///     .build()?;
/// let x = array![[0.0f32], [1.0], [2.0], [3.0]];
/// let data = InMemory::new(x.clone(), x.mapv(|v| 2.0 * v + 1.0))?;
/// let evaluation = model.evaluate(&data, &Mse, 32)?;
/// assert_eq!(evaluation.task, Task::Regression);
/// let regression = evaluation.regression.unwrap();
/// assert_eq!((regression.mse, regression.mae), (0.25, 0.5));
/// assert_eq!(regression.r2, 0.95); // 1 - 1.0 / 20.0
/// assert_eq!(
///     evaluation.to_string(),
///     "loss: 0.2500 - mse: 0.2500 - rmse: 0.5000 - mae: 0.5000 - r2: 0.9500"
/// );
/// # Ok::<(), feedforward::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss per sample over the data set.
    pub loss: f32,
    /// What the model predicts, which decides the metrics below.
    pub task: Task,
    /// Classification accuracy: for [`Task::Classification`], the fraction of samples whose
    /// predicted class (argmax) is right, when the data set has classes; for [`Task::Binary`],
    /// the fraction of right yes/no answers over all outputs, when every target is 0 or 1.
    /// A row with a NaN output is never right.
    pub accuracy: Option<f32>,
    /// Actual against predicted classes: for [`Task::Classification`] when the data set has classes,
    /// and for a [`Task::Binary`] model with one output (classes 0 and 1) when every target is
    /// 0 or 1. Rows with a NaN output are left out.
    pub confusion: Option<ConfusionMatrix>,
    /// For [`Task::Binary`], the accuracy of each output (multi-label); empty otherwise.
    pub output_accuracies: Vec<f32>,
    /// For [`Task::Regression`], MSE, RMSE, MAE and R^2 as scikit-learn computes them.
    pub regression: Option<RegressionMetrics>,
}

impl fmt::Display for Evaluation {
    /// `loss: 0.0712 - accuracy: 0.9737`, or `loss: ... - mse: ... - rmse: ... - mae: ... - r2: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loss: {:.4}", self.loss)?;
        if let Some(accuracy) = self.accuracy {
            write!(f, " - accuracy: {accuracy:.4}")?;
        }
        if let Some(regression) = &self.regression {
            write!(f, " - {regression}")?;
        }
        Ok(())
    }
}

/// Counts of the task being evaluated, batch by batch: by `evaluate`, and by `fit` on the
/// outputs of its training steps.
pub(super) enum Tally {
    MultiClass {
        /// Rows with a NaN or infinite output count in its `unpredicted`, as wrong.
        confusion: Option<ConfusionMatrix>,
    },
    Binary {
        counts: BinaryCounts,
        /// `None` once a target other than 0 or 1 is seen.
        confusion: Option<Option<ConfusionMatrix>>,
        threshold: f32,
    },
    Regression(RegressionAccumulator),
}

impl Sequential {
    /// Mean loss over `data` and the metrics of the model's task (see [`Evaluation`]); forward
    /// passes only, in evaluation mode, `batch_size` rows at a time.
    ///
    /// # Errors
    /// As [`Sequential::fit`] for the data, the batch size and the pairing of loss and model
    /// ([`Error::LossMismatch`]); [`Error::InvalidTarget`] (with the data set's row) for targets
    /// the loss cannot take; [`Error::NonFiniteInput`] for a NaN or infinite input and
    /// [`Error::NonFiniteOutput`] for outputs that overflow (with the data set's row): such a
    /// row has no prediction to score. [`Error::NonFiniteLoss`] is not raised: a loss that
    /// overflows `f32` on finite outputs (an MSE of errors beyond 1.8e19) is reported as it is.
    pub fn evaluate(
        &mut self,
        data: &dyn Dataset,
        loss: &dyn Loss,
        batch_size: usize,
    ) -> Result<Evaluation> {
        self.check_dataset(data)?;
        self.check_loss(loss)?;
        let mut batches = Batches::new(data.len(), batch_size, Order::InOrder)?;
        batches.next_epoch();
        self.set_training(false);
        let task = self.task(loss);
        let mut tally = Tally::new(self, data, loss)?;
        let mut sum = 0.0f64;
        let last = self.layers.len() - 1;
        while let Some(rows) = batches.next_batch() {
            self.load_batch(data, rows)?;
            let (inputs, targets) = (
                std::mem::take(&mut self.batch_inputs),
                std::mem::take(&mut self.batch_targets),
            );
            let result = self
                .with_threads(rows.len(), |model| {
                    model.forward(inputs.view(), 0)?;
                    model.check_finite_outputs(0)
                })
                .and_then(|()| match self.fused_loss(loss) {
                    Some(fused) => {
                        fused.loss_from_logits(self.logits(inputs.view()), targets.view())
                    }
                    None => loss.loss(self.activations[last].view(), targets.view()),
                })
                .map_err(|e| data_row(e, rows));
            if result.is_ok() {
                tally.add(data, rows, self.activations[last].view(), targets.view());
            }
            self.batch_inputs = inputs;
            self.batch_targets = targets;
            sum += result? as f64 * rows.len() as f64;
        }
        Ok(tally.finish(task, (sum / data.len() as f64) as f32))
    }
}

/// An error raised on a batch that names a row ([`Error::InvalidTarget`],
/// [`Error::NonFiniteInput`], [`Error::NonFiniteOutput`]), with its row renumbered as the data
/// set's.
pub(super) fn data_row(error: Error, rows: &[usize]) -> Error {
    let renumber = |row: usize| rows.get(row).copied().unwrap_or(row);
    match error {
        Error::NonFiniteInput { row, column, value } => Error::NonFiniteInput {
            row: renumber(row),
            column,
            value,
        },
        Error::NonFiniteOutput {
            row,
            layer,
            name,
            value,
        } => Error::NonFiniteOutput {
            row: renumber(row),
            layer,
            name,
            value,
        },
        Error::InvalidTarget {
            loss,
            row,
            column,
            value,
            expected,
        } => Error::InvalidTarget {
            loss,
            row: renumber(row),
            column,
            value,
            expected,
        },
        other => other,
    }
}

impl Tally {
    /// Empty counts for `model`'s task on `data` (scored with `loss`).
    pub(super) fn new(model: &Sequential, data: &dyn Dataset, loss: &dyn Loss) -> Result<Tally> {
        let task = model.task(loss);
        let width = model.output_width();
        Ok(match task {
            Task::Classification => Tally::MultiClass {
                confusion: match data.class_of(0) {
                    Some(_) => Some(ConfusionMatrix::new(width)?),
                    None => None,
                },
            },
            Task::Binary => {
                let threshold = match model.output_kind() {
                    OutputKind::SigmoidProbabilities => 0.5,
                    _ => 0.0,
                };
                Tally::Binary {
                    counts: BinaryCounts::new(width, threshold),
                    confusion: Some(if width == 1 {
                        Some(ConfusionMatrix::new(2)?)
                    } else {
                        None
                    }),
                    threshold,
                }
            }
            Task::Regression => Tally::Regression(RegressionAccumulator::new(width)),
        })
    }

    /// The accuracy of the rows counted so far, for a classifier whose data has classes.
    pub(super) fn running_accuracy(&self) -> Option<f32> {
        match self {
            Tally::MultiClass {
                confusion: Some(confusion),
            } if confusion.total() > 0 => Some(confusion.accuracy() as f32),
            Tally::Binary {
                counts,
                confusion: Some(_),
                ..
            } => Some(counts.overall()).filter(|a| a.is_finite()),
            _ => None,
        }
    }

    pub(super) fn add(
        &mut self,
        data: &dyn Dataset,
        rows: &[usize],
        outputs: ArrayView2<'_, f32>,
        targets: ArrayView2<'_, f32>,
    ) {
        match self {
            Tally::MultiClass {
                confusion: Some(confusion),
            } => {
                for (row, out) in rows.iter().zip(outputs.axis_iter(Axis(0))) {
                    if let Some(actual) = data.class_of(*row) {
                        // A row with a NaN or infinite output predicts nothing: it is wrong
                        // (counted in the matrix's `unpredicted`), never class 0.
                        confusion.add_prediction(actual, predicted_class(out));
                    }
                }
            }
            Tally::MultiClass { confusion: None } => {}
            Tally::Binary {
                counts,
                confusion,
                threshold,
            } => {
                if targets.iter().any(|&t| t != 0.0 && t != 1.0) {
                    *confusion = None;
                }
                if let Some(matrix) = confusion {
                    counts.add(outputs, targets);
                    if let Some(matrix) = matrix {
                        for (y, t) in outputs.iter().zip(&targets) {
                            if !y.is_nan() {
                                matrix.add(*t as usize, usize::from(*y > *threshold));
                            }
                        }
                    }
                }
            }
            Tally::Regression(accumulator) => accumulator.add(outputs, targets),
        }
    }

    /// The accuracy (classifiers whose data has classes) and the regression metrics of the rows
    /// counted so far, without giving up the counts.
    pub(super) fn metrics(&self) -> (Option<f32>, Option<RegressionMetrics>) {
        match self {
            Tally::MultiClass { confusion } => {
                (confusion.as_ref().map(|c| c.accuracy() as f32), None)
            }
            Tally::Binary {
                counts, confusion, ..
            } => (confusion.as_ref().map(|_| counts.overall()), None),
            Tally::Regression(accumulator) => (None, Some(accumulator.finish())),
        }
    }

    /// Forgets the rows counted, keeping every buffer, so that the next epoch allocates nothing.
    pub(super) fn reset(&mut self) {
        match self {
            Tally::MultiClass { confusion } => {
                if let Some(confusion) = confusion {
                    confusion.reset();
                }
            }
            Tally::Binary {
                counts, confusion, ..
            } => {
                counts.reset();
                if let Some(Some(matrix)) = confusion {
                    matrix.reset();
                }
            }
            Tally::Regression(accumulator) => accumulator.reset(),
        }
    }

    pub(super) fn finish(self, task: Task, loss: f32) -> Evaluation {
        let mut evaluation = Evaluation {
            loss,
            task,
            accuracy: None,
            confusion: None,
            output_accuracies: Vec::new(),
            regression: None,
        };
        match self {
            Tally::MultiClass { confusion } => {
                evaluation.accuracy = confusion.as_ref().map(|c| c.accuracy() as f32);
                evaluation.confusion = confusion;
            }
            Tally::Binary {
                counts, confusion, ..
            } => {
                if let Some(matrix) = confusion {
                    evaluation.accuracy = Some(counts.overall());
                    evaluation.output_accuracies = counts.per_output();
                    evaluation.confusion = matrix;
                }
            }
            Tally::Regression(accumulator) => evaluation.regression = Some(accumulator.finish()),
        }
        evaluation
    }
}
