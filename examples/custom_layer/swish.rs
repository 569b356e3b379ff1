//! Swish with a learned slope, `y = x * sigmoid(beta * x)` (Ramachandran et al., 2017): a layer
//! written outside the crate, as a user writes one. `main.rs` checks, trains, saves and loads
//! it; the crate's tests reuse this file (`#[path]`) wherever they need a user's layer.

use feedforward::layers::{LayerSpec, Parameter};
use feedforward::ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};
use feedforward::serde_json::Value;
use feedforward::Layer;

/// Swish: `y = x * s(beta x)` with `s` the logistic sigmoid and `beta` learned.
pub struct Swish {
    beta: Array2<f32>,
    beta_grad: Array2<f32>,
}

impl Swish {
    /// A Swish whose slope starts at `beta`.
    pub fn new(beta: f32) -> Self {
        Swish {
            beta: Array2::from_elem((1, 1), beta),
            beta_grad: Array2::zeros((1, 1)),
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Layer for Swish {
    fn name(&self) -> &str {
        "Swish"
    }

    fn output_width(&self, input_width: usize) -> feedforward::Result<usize> {
        Ok(input_width) // element-wise: any width
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        let beta = self.beta[[0, 0]];
        output.zip_mut_with(&input, |y, &x| *y = x * sigmoid(beta * x));
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> feedforward::Result<()> {
        let beta = self.beta[[0, 0]];
        // dy/dbeta = x^2 s (1 - s); dy/dx = s + beta x s (1 - s)
        let mut d_beta = 0.0f32;
        Zip::from(&input).and(&grad_output).for_each(|&x, &g| {
            let s = sigmoid(beta * x);
            d_beta += g * x * x * s * (1.0 - s);
        });
        self.beta_grad[[0, 0]] = d_beta;
        if let Some(grad_input) = grad_input {
            Zip::from(grad_input)
                .and(&input)
                .and(&grad_output)
                .for_each(|dx, &x, &g| {
                    let s = sigmoid(beta * x);
                    *dx = g * (s + beta * x * s * (1.0 - s));
                });
        }
        Ok(())
    }

    fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        visit(Parameter {
            name: "beta",
            value: self.beta.view_mut(),
            grad: self.beta_grad.view_mut(),
        });
    }

    fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        vec![("beta", self.beta.view())]
    }

    /// The kind's name, and no settings (`beta` is a parameter: the checkpoint holds it).
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::custom("Swish", Value::Null))
    }
}
