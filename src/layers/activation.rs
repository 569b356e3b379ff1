//! Element-wise activations: [`Relu`], [`Sigmoid`], [`Tanh`].
//!
//! The tutorial's section 1 explains why they matter: without a non-linearity between them, any
//! stack of [`Dense`](super::Dense) layers collapses into a single linear map. Each applies `f`
//! to every element and back-propagates `dX = G * f'(X)`, where `f'` is written in terms of the
//! input `x` or the output `y`, whichever is cheaper.
//!
//! | layer | `f(x)` | `f'` |
//! | --- | --- | --- |
//! | [`Relu`] | `max(x, 0)` | `1 if x > 0 else 0` |
//! | [`Sigmoid`] | `1 / (1 + exp(-x))` | `y (1 - y)` |
//! | [`Tanh`] | `tanh(x)` | `1 - y^2` |

use super::identity::same_shape;
use super::Layer;
use crate::Result;
use ndarray::{ArrayView2, ArrayViewMut2, Zip};

/// Writes `f(x)` into `output` for every element of `input`.
fn map_forward(
    name: &str,
    input: ArrayView2<'_, f32>,
    mut output: ArrayViewMut2<'_, f32>,
    f: impl Fn(f32) -> f32,
) -> Result<()> {
    same_shape(name, &input, &output.view())?;
    output.zip_mut_with(&input, |y, &x| *y = f(x));
    Ok(())
}

/// Writes `G * f'(x, y)` into `grad_input` when it is wanted.
fn map_backward(
    name: &str,
    input: ArrayView2<'_, f32>,
    output: ArrayView2<'_, f32>,
    grad_output: ArrayView2<'_, f32>,
    grad_input: Option<ArrayViewMut2<'_, f32>>,
    derivative: impl Fn(f32, f32) -> f32,
) -> Result<()> {
    let Some(grad_input) = grad_input else {
        return Ok(());
    };
    same_shape(name, &input, &output)?;
    same_shape(name, &input, &grad_output)?;
    same_shape(name, &input, &grad_input.view())?;
    Zip::from(grad_input)
        .and(&input)
        .and(&output)
        .and(&grad_output)
        .for_each(|dx, &x, &y, &g| *dx = g * derivative(x, y));
    Ok(())
}

/// Implements [`Layer`] for a parameter-free element-wise activation.
macro_rules! elementwise_layer {
    ($ty:ident, $name:literal, |$x:ident| $f:expr, |$dx:ident, $dy:ident| $df:expr) => {
        impl Layer for $ty {
            fn name(&self) -> &str {
                $name
            }

            fn output_width(&self, input_width: usize) -> Result<usize> {
                Ok(input_width)
            }

            fn forward(
                &mut self,
                input: ArrayView2<'_, f32>,
                output: ArrayViewMut2<'_, f32>,
            ) -> Result<()> {
                map_forward($name, input, output, |$x: f32| $f)
            }

            fn backward(
                &mut self,
                input: ArrayView2<'_, f32>,
                output: ArrayView2<'_, f32>,
                grad_output: ArrayView2<'_, f32>,
                grad_input: Option<ArrayViewMut2<'_, f32>>,
            ) -> Result<()> {
                map_backward(
                    $name,
                    input,
                    output,
                    grad_output,
                    grad_input,
                    |$dx: f32, $dy: f32| $df,
                )
            }
        }
    };
}

/// Rectified linear unit, `max(x, 0)`: the default hidden activation of modern networks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu;
elementwise_layer!(Relu, "Relu", |x| x.max(0.0), |x, _y| if x > 0.0 {
    1.0
} else {
    0.0
});

/// Logistic sigmoid, `1 / (1 + exp(-x))`, squashing to `(0, 1)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigmoid;
elementwise_layer!(Sigmoid, "Sigmoid", |x| 1.0 / (1.0 + (-x).exp()), |_x, y| y
    * (1.0 - y));

/// Hyperbolic tangent, squashing to `(-1, 1)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tanh;
elementwise_layer!(Tanh, "Tanh", |x| x.tanh(), |_x, y| 1.0 - y * y);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use ndarray::{array, Array2};

    fn apply(layer: &mut dyn Layer, x: ndarray::Array2<f32>) -> Array2<f32> {
        let mut y = Array2::zeros(x.dim());
        layer.forward(x.view(), y.view_mut()).unwrap();
        y
    }

    #[test]
    fn values() {
        let x = array![[-2.0, 0.0, 3.0]];
        assert_eq!(apply(&mut Relu, x.clone()), array![[0.0, 0.0, 3.0]]);
        let s = apply(&mut Sigmoid, x.clone());
        assert!((s[[0, 0]] - 0.119_202_92).abs() < 1e-7 && s[[0, 1]] == 0.5);
        let t = apply(&mut Tanh, x);
        assert!((t[[0, 2]] as f64 - 0.995_054_753_686_730_4).abs() < 1e-7);
        // saturation stays finite
        let s = apply(&mut Sigmoid, array![[-1000.0, 1000.0]]);
        assert_eq!(s, array![[0.0, 1.0]]);
    }

    #[test]
    fn gradients_pass_finite_differences() {
        // seeds chosen so that no input of Relu sits within the finite-difference step of 0
        for (layer, seed) in [
            (&mut Relu as &mut dyn Layer, 21),
            (&mut Sigmoid, 22),
            (&mut Tanh, 23),
        ] {
            let report = check_layer(layer, 4, 6, seed).unwrap();
            assert!(report.max_relative_error < 1e-2, "{report}");
        }
    }
}
