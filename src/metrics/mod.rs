//! Metrics: how good a model's predictions are, for each kind of task.
//!
//! | task | metrics | file |
//! | --- | --- | --- |
//! | multi-class ([`Task::MultiClass`]) | [`accuracy`] of the argmax, [`ConfusionMatrix`] with precision and recall | `classification.rs` |
//! | binary and multi-label ([`Task::Binary`]) | [`binary_accuracy`] at a threshold, per output with [`binary_accuracy_per_output`] | `binary.rs` |
//! | regression ([`Task::Regression`]) | [`mean_squared_error`], [`root_mean_squared_error`], [`mean_absolute_error`], [`r2_score`], all four in [`RegressionMetrics`] | `regression.rs` |
//!
//! [`Sequential::evaluate`](crate::Sequential::evaluate) picks the metrics of the model's task and
//! returns them in an [`Evaluation`](crate::Evaluation).

mod binary;
mod classification;
mod regression;

pub(crate) use binary::BinaryCounts;
pub use binary::{binary_accuracy, binary_accuracy_per_output};
pub use classification::{accuracy, argmax, predicted_class, ConfusionMatrix};
pub(crate) use regression::RegressionAccumulator;
pub use regression::{
    mean_absolute_error, mean_squared_error, r2_score, root_mean_squared_error, RegressionMetrics,
};

/// What a model predicts, which decides the metrics that
/// [`Sequential::evaluate`](crate::Sequential::evaluate) reports.
///
/// The last layer decides when it can: a [`Softmax`](crate::layers::Softmax) makes a
/// multi-class classifier, a [`Sigmoid`](crate::layers::Sigmoid) a binary or multi-label one.
/// Otherwise the loss does ([`Loss::task`](crate::Loss::task)): cross-entropy on logits
/// classifies, the other losses regress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Task {
    /// One class per sample, the largest output: accuracy of the argmax, confusion matrix.
    MultiClass,
    /// A yes/no answer per output (one output: binary; several: multi-label), each output
    /// thresholded at 0.5 on probabilities or 0 on logits.
    Binary,
    /// Real-valued outputs: MSE, RMSE, MAE and R^2.
    Regression,
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::MultiClass => "multi-class classification",
            Task::Binary => "binary classification",
            Task::Regression => "regression",
        })
    }
}
