//! Metrics: how good a model's predictions are, for each kind of task.
//!
//! | task | metrics | file |
//! | --- | --- | --- |
//! | multi-class ([`Task::Classification`]) | [`accuracy`] of the argmax, [`ConfusionMatrix`] with precision and recall | `classification.rs` |
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

pub use crate::task::Task;
