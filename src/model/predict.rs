//! [`Sequential::predict_classes`]: the predicted classes and their probabilities in one call
//! (scikit-learn's `predict` and `predict_proba` together).

use super::Sequential;
use crate::layers::OutputKind;
use crate::metrics::argmax;
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2, Axis};

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
    /// The most probable class of every row of `inputs`, `(rows, input_width)`, with the
    /// probabilities of all the classes, in evaluation mode.
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
    /// `[1 - p, p]`); the errors of
    /// [`predict`](Sequential::predict).
    pub fn predict_classes(&mut self, inputs: ArrayView2<'_, f32>) -> Result<ClassPredictions> {
        let last = self.layers.last().expect("a model has at least one layer");
        let (kind, name, width) = (
            last.output_kind(),
            last.name().to_string(),
            self.output_width(),
        );
        let outputs = match kind {
            OutputKind::SoftmaxProbabilities => self.predict(inputs)?.to_owned(),
            // One sigmoid output: the probability of class 1, as scikit-learn's predict_proba
            // gives [1 - p, p].
            OutputKind::SigmoidProbabilities if width == 1 => {
                let p = self.predict(inputs)?;
                let mut both = Array2::zeros((p.nrows(), 2));
                for (mut row, &p) in both.rows_mut().into_iter().zip(p.column(0)) {
                    (row[0], row[1]) = (1.0 - p, p);
                }
                both
            }
            _ => {
                return Err(Error::config(
                    "model output",
                    format!("the output of {name} (the last layer), {width} wide"),
                    "class probabilities: end the model with Softmax, or with Sigmoid on one \
                     output for two classes",
                ))
            }
        };
        let classes = outputs.axis_iter(Axis(0)).map(argmax).collect();
        Ok(ClassPredictions {
            classes,
            probabilities: outputs,
        })
    }
}
