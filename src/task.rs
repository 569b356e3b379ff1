//! [`Task`]: what a model learns to do, which decides the metrics it is scored with and how a
//! table's target column is encoded.
//!
//! One enum for the whole crate: a [`CsvReader`](crate::data::csv::CsvReader) learns or is told
//! the task of a table's target, and [`Sequential::evaluate`](crate::Sequential::evaluate)
//! reports the task's metrics (scikit-learn's `type_of_target` names the same three kinds:
//! `multiclass`, `binary`/`multilabel-indicator`, `continuous`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a model learns: one class per sample, independent yes/no answers, or numbers.
///
/// A model's task comes from its last layer when that layer says what its outputs mean: a
/// [`Softmax`](crate::layers::Softmax) classifies (one class per sample), a
/// [`Sigmoid`](crate::layers::Sigmoid) answers yes or no per output. Otherwise the loss decides
/// ([`Loss::task`](crate::Loss::task)): cross-entropy on logits classifies, the other losses
/// regress. A table's task is guessed from its target column or given
/// ([`CsvReader::task`](crate::data::csv::CsvReader::task)): classification or regression.
///
/// Serialised (in a saved [`TableEncoding`](crate::data::csv::TableEncoding)) by its variant's
/// name, as before 0.2: `"Classification"`, `"Regression"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// One class per sample (two classes or more), the largest output: accuracy of the argmax
    /// and a confusion matrix. A table's target column of class labels (text or numbers),
    /// one-hot encoded.
    Classification,
    /// A yes/no answer per output (one output: binary; several: multi-label), each output
    /// thresholded at 0.5 on probabilities or 0 on logits.
    Binary,
    /// Real-valued outputs: MSE, RMSE, MAE and R^2. A table's target column(s) of numbers.
    Regression,
}

impl fmt::Display for Task {
    /// `classification`, `binary classification` or `regression`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Binary => "binary classification",
            Task::Regression => "regression",
        })
    }
}
