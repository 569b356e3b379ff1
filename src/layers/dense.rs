//! [`Dense`]: the fully connected layer, `Y = X.W + b`.
//!
//! Exactly the tutorial's `np.dot(X, weights) + biases`: weights are `(in, out)`, the bias is a
//! `(1, out)` row added to every sample. Gradients, for `G = dLoss/dY`:
//! `dW = X^T.G`, `db = sum of G's rows`, `dX = G.W^T`.
//!
//! ```
//! use feedforward::prelude::*;
//! use ndarray::array;
//!
//! let mut dense = Dense::from_parameters(array![[2.0f32], [3.0]], array![[1.0f32]]).unwrap();
//! let mut y = ndarray::Array2::zeros((1, 1));
//! dense.forward(array![[1.0f32, 1.0]].view(), y.view_mut()).unwrap();
//! assert_eq!(y[[0, 0]], 6.0); // 1*2 + 1*3 + 1
//! ```

use super::{expect_width, Layer, Parameter};
use crate::init::Init;
use crate::random::RandomState;
use crate::{Error, Result};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};

/// A fully connected layer: `Y = X.W + b`, weights `(in, out)`, bias `(1, out)`.
#[derive(Clone, Debug)]
pub struct Dense {
    weight: Array2<f32>,
    bias: Array2<f32>,
    weight_grad: Array2<f32>,
    bias_grad: Array2<f32>,
}

impl Dense {
    /// A layer from `inputs` to `outputs` with weights drawn by `init` and a zero bias (the
    /// tutorial's `initialize_parameters`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when either width is zero.
    pub fn new(inputs: usize, outputs: usize, init: Init, rng: &mut RandomState) -> Result<Self> {
        if inputs == 0 || outputs == 0 {
            return Err(Error::config(
                "Dense widths",
                format!("{inputs} -> {outputs}"),
                "both widths must be at least 1",
            ));
        }
        Self::from_parameters(
            init.sample(inputs, outputs, rng),
            Array2::zeros((1, outputs)),
        )
    }

    /// A layer with the given weights `(in, out)` and bias `(1, out)`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the bias is not `(1, out)`; [`Error::InvalidConfig`] when a
    /// dimension is zero.
    pub fn from_parameters(weight: Array2<f32>, bias: Array2<f32>) -> Result<Self> {
        let (inputs, outputs) = weight.dim();
        if inputs == 0 || outputs == 0 {
            return Err(Error::config(
                "Dense weight shape",
                format!("{:?}", weight.dim()),
                "both dimensions must be at least 1",
            ));
        }
        if bias.dim() != (1, outputs) {
            return Err(Error::shape(
                "Dense bias",
                format!("(1, {outputs})"),
                format!("{:?}", bias.dim()),
            ));
        }
        Ok(Dense {
            weight_grad: Array2::zeros(weight.raw_dim()),
            bias_grad: Array2::zeros(bias.raw_dim()),
            weight: weight.as_standard_layout().into_owned(),
            bias: bias.as_standard_layout().into_owned(),
        })
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.weight.nrows()
    }

    /// Number of output features.
    pub fn outputs(&self) -> usize {
        self.weight.ncols()
    }

    /// The weights, `(in, out)`.
    pub fn weight(&self) -> ArrayView2<'_, f32> {
        self.weight.view()
    }

    /// The bias, `(1, out)`.
    pub fn bias(&self) -> ArrayView2<'_, f32> {
        self.bias.view()
    }

    /// dLoss/dW from the last backward pass.
    pub fn weight_grad(&self) -> ArrayView2<'_, f32> {
        self.weight_grad.view()
    }

    /// dLoss/db from the last backward pass.
    pub fn bias_grad(&self) -> ArrayView2<'_, f32> {
        self.bias_grad.view()
    }
}

impl Layer for Dense {
    fn name(&self) -> &str {
        "Dense"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        if input_width == self.inputs() {
            Ok(self.outputs())
        } else {
            Err(Error::shape(
                "Dense",
                format!("{} input features", self.inputs()),
                format!("{input_width}"),
            ))
        }
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        expect_width("Dense input", &input, self.inputs())?;
        check_rows(&input, &output.view(), self.outputs())?;
        // Y = b (broadcast), then Y = X.W + Y: one pass over Y.
        output.assign(&self.bias);
        general_mat_mul(1.0, &input, &self.weight, 1.0, &mut output);
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        expect_width("Dense input", &input, self.inputs())?;
        check_rows(&input, &grad_output, self.outputs())?;
        general_mat_mul(1.0, &input.t(), &grad_output, 0.0, &mut self.weight_grad);
        let mut bias_grad = self.bias_grad.row_mut(0);
        bias_grad.fill(0.0);
        for row in grad_output.axis_iter(Axis(0)) {
            bias_grad += &row;
        }
        if let Some(mut grad_input) = grad_input {
            if grad_input.dim() != input.dim() {
                return Err(Error::shape(
                    "Dense input gradient",
                    format!("{:?}", input.dim()),
                    format!("{:?}", grad_input.dim()),
                ));
            }
            general_mat_mul(1.0, &grad_output, &self.weight.t(), 0.0, &mut grad_input);
        }
        Ok(())
    }

    fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        visit(Parameter {
            name: "weight",
            value: self.weight.view_mut(),
            grad: self.weight_grad.view_mut(),
        });
        visit(Parameter {
            name: "bias",
            value: self.bias.view_mut(),
            grad: self.bias_grad.view_mut(),
        });
    }

    fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        vec![("weight", self.weight.view()), ("bias", self.bias.view())]
    }
}

/// Checks that `other` has the rows of `input` and `width` columns.
fn check_rows(
    input: &ArrayView2<'_, f32>,
    other: &ArrayView2<'_, f32>,
    width: usize,
) -> Result<()> {
    if other.dim() == (input.nrows(), width) {
        Ok(())
    } else {
        Err(Error::shape(
            "Dense output",
            format!("({}, {width})", input.nrows()),
            format!("{:?}", other.dim()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use ndarray::array;

    #[test]
    fn forward_is_x_dot_w_plus_b() {
        let mut d = Dense::from_parameters(
            array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
            array![[0.5, -0.5, 1.0]],
        )
        .unwrap();
        let mut y = Array2::zeros((2, 3));
        d.forward(array![[1.0, 0.0], [1.0, 1.0]].view(), y.view_mut())
            .unwrap();
        assert_eq!(y, array![[1.5, 1.5, 4.0], [5.5, 6.5, 10.0]]);
    }

    #[test]
    fn backward_matches_the_tutorial_formulas() {
        let mut d =
            Dense::from_parameters(array![[1.0, -1.0], [2.0, 0.5]], array![[0.0, 0.0]]).unwrap();
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        let g = array![[0.1, -0.2], [0.3, 0.4]];
        let mut y = Array2::zeros((2, 2));
        d.forward(x.view(), y.view_mut()).unwrap();
        let mut gx = Array2::zeros((2, 2));
        d.backward(x.view(), y.view(), g.view(), Some(gx.view_mut()))
            .unwrap();
        assert_eq!(d.weight_grad(), x.t().dot(&g));
        assert_eq!(d.bias_grad(), array![[0.4, 0.2]]);
        assert_eq!(gx, g.dot(&d.weight().t()));
    }

    #[test]
    fn gradients_pass_finite_differences() {
        let mut d = Dense::new(5, 3, Init::XavierNormal, &mut RandomState::new(1)).unwrap();
        let report = check_layer(&mut d, 4, 5, 11).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(matches!(
            Dense::from_parameters(Array2::zeros((2, 3)), Array2::zeros((1, 2))),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            Dense::new(0, 3, Init::Zeros, &mut RandomState::new(0)),
            Err(Error::InvalidConfig { .. })
        ));
        let mut d = Dense::new(2, 3, Init::Zeros, &mut RandomState::new(0)).unwrap();
        let mut y = Array2::zeros((1, 3));
        assert!(matches!(
            d.forward(Array2::zeros((1, 4)).view(), y.view_mut()),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(d.output_width(4).is_err());
    }
}
