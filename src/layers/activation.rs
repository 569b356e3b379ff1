//! Element-wise activations: [`Relu`], [`LeakyRelu`], [`Elu`], [`Gelu`], [`GeluTanh`],
//! [`Sigmoid`], [`Tanh`].
//!
//! The tutorial's section 1 explains why they matter: without a non-linearity between them, any
//! stack of [`Dense`](super::Dense) layers collapses into a single linear map. Each applies `f`
//! to every element and back-propagates `dX = G * f'(X)`, where `f'` is written in terms of the
//! input `x` or the output `y`, whichever is cheaper. They follow PyTorch's definitions (`nn.ReLU`,
//! `nn.LeakyReLU`, `nn.ELU`, `nn.GELU()`, `nn.GELU(approximate='tanh')`, ...), derivatives at the
//! kinks included.
//!
//! | layer | `f(x)` | `f'` |
//! | --- | --- | --- |
//! | [`Relu`] | `max(x, 0)` | `1 if x > 0 else 0` |
//! | [`LeakyRelu`] | `x if x > 0 else slope x` | `1 if x > 0 else slope` |
//! | [`Elu`] | `x if x > 0 else alpha (exp(x) - 1)` | `1 if x > 0 else alpha exp(x)` |
//! | [`Gelu`] | `x Phi(x)`, `Phi(x) = (1 + erf(x / sqrt 2)) / 2` | `Phi(x) + x phi(x)` |
//! | [`GeluTanh`] | `x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2` | by the chain rule |
//! | [`Sigmoid`] | `1 / (1 + exp(-x))` | `y (1 - y)` |
//! | [`Tanh`] | `tanh(x)` | `1 - y^2` |
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::ndarray::array;
//!
//! let mut y = feedforward::ndarray::Array2::zeros((1, 3));
//! LeakyRelu::new(0.1)?.forward(array![[-2.0f32, 0.0, 3.0]].view(), y.view_mut())?;
//! assert_eq!(y, array![[-0.2, 0.0, 3.0]]);
//! Gelu.forward(array![[-1.0f32, 0.0, 1.0]].view(), y.view_mut())?;
//! assert!((y[[0, 2]] - 0.841_344_75).abs() < 1e-6); // 1 * Phi(1)
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::identity::same_shape;
use super::{Inference, Layer, LayerSpec, OutputKind};
use crate::parallel;
use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2, Zip};

/// The part of each buffer of a backward pass: `dx`, `x`, `y`, `g`.
type Parts4<'a> = (&'a mut [f32], (&'a [f32], (&'a [f32], &'a [f32])));

/// Writes `f(x)` into `output` for every element of `input`.
fn map_forward(
    name: &str,
    input: ArrayView2<'_, f32>,
    mut output: ArrayViewMut2<'_, f32>,
    f: impl Fn(f32) -> f32 + Sync,
) -> Result<()> {
    same_shape(name, &input, &output.view())?;
    let len = input.len();
    if parallel::parts(len) > 1 {
        if let (Some(x), Some(y)) = (input.as_slice(), output.as_slice_mut()) {
            // Large and row-major: contiguous parts on several threads.
            parallel::any_part((y, x), len, &|(y, x): (&mut [f32], &[f32])| {
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = f(x);
                }
                false
            });
            return Ok(());
        }
    }
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
    derivative: impl Fn(f32, f32) -> f32 + Sync,
) -> Result<()> {
    let Some(mut grad_input) = grad_input else {
        return Ok(());
    };
    same_shape(name, &input, &output)?;
    same_shape(name, &input, &grad_output)?;
    same_shape(name, &input, &grad_input.view())?;
    let len = input.len();
    if parallel::parts(len) > 1 {
        if let (Some(dx), Some(x), Some(y), Some(g)) = (
            grad_input.as_slice_mut(),
            input.as_slice(),
            output.as_slice(),
            grad_output.as_slice(),
        ) {
            // Large and row-major: contiguous parts on several threads.
            let buffers = (dx, (x, (y, g)));
            parallel::any_part(buffers, len, &|(dx, (x, (y, g))): Parts4<'_>| {
                for (((dx, &x), &y), &g) in dx.iter_mut().zip(x).zip(y).zip(g) {
                    *dx = g * derivative(x, y);
                }
                false
            });
            return Ok(());
        }
    }
    Zip::from(grad_input)
        .and(&input)
        .and(&output)
        .and(&grad_output)
        .for_each(|dx, &x, &y, &g| *dx = g * derivative(x, y));
    Ok(())
}

/// Implements [`Layer`] for an element-wise activation.
///
/// A parameter-free activation gives `f` and `f'` as closures of `x` (and `y` for `f'`); one
/// with hyper-parameters names a binding to the layer first (`layer => |x| ...`) and reads its
/// fields through it in both closures.
macro_rules! elementwise_layer {
    ($ty:ident, $name:literal, |$x:ident| $f:expr, |$dx:ident, $dy:ident| $df:expr) => {
        elementwise_layer!($ty, $name, _layer => |$x| $f, |$dx, $dy| $df);
    };
    (
        $ty:ident,
        $name:literal,
        $this:ident => |$x:ident| $f:expr,
        |$dx:ident, $dy:ident| $df:expr
    ) => {
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
                let $this = &*self;
                map_forward($name, input, output, |$x: f32| $f)
            }

            fn backward(
                &mut self,
                input: ArrayView2<'_, f32>,
                output: ArrayView2<'_, f32>,
                grad_output: ArrayView2<'_, f32>,
                grad_input: Option<ArrayViewMut2<'_, f32>>,
            ) -> Result<()> {
                let $this = &*self;
                map_backward(
                    $name,
                    input,
                    output,
                    grad_output,
                    grad_input,
                    |$dx: f32, $dy: f32| $df,
                )
            }

            fn spec(&self) -> Option<LayerSpec> {
                Some(ActivationSpec::activation_spec(self))
            }

            fn inference(&self) -> Option<&dyn Inference> {
                Some(self)
            }

            fn output_kind(&self) -> OutputKind {
                ActivationSpec::output_kind(self)
            }
        }

        impl Inference for $ty {
            fn infer(
                &self,
                input: ArrayView2<'_, f32>,
                output: ArrayViewMut2<'_, f32>,
                _batch_rows: usize,
            ) -> Result<()> {
                let $this = self;
                map_forward($name, input, output, |$x: f32| $f)
            }
        }
    };
}

/// The [`LayerSpec`] and [`OutputKind`] of an activation, for the [`Layer::spec`] and
/// [`Layer::output_kind`] that `elementwise_layer!` writes.
trait ActivationSpec {
    fn activation_spec(&self) -> LayerSpec;

    fn output_kind(&self) -> OutputKind {
        OutputKind::Plain
    }
}

impl ActivationSpec for Relu {
    fn activation_spec(&self) -> LayerSpec {
        LayerSpec::Relu
    }
}

impl ActivationSpec for Sigmoid {
    fn activation_spec(&self) -> LayerSpec {
        LayerSpec::Sigmoid
    }

    /// Probabilities of its input, so that a model fuses it with
    /// [`BinaryCrossEntropy`](struct@crate::losses::BinaryCrossEntropy).
    fn output_kind(&self) -> OutputKind {
        OutputKind::SigmoidProbabilities
    }
}

impl ActivationSpec for Tanh {
    fn activation_spec(&self) -> LayerSpec {
        LayerSpec::Tanh
    }
}

impl ActivationSpec for LeakyRelu {
    fn activation_spec(&self) -> LayerSpec {
        LayerSpec::LeakyRelu { slope: self.slope }
    }
}

impl ActivationSpec for Elu {
    fn activation_spec(&self) -> LayerSpec {
        LayerSpec::Elu { alpha: self.alpha }
    }
}

impl ActivationSpec for Gelu {
    fn activation_spec(&self) -> LayerSpec {
        LayerSpec::Gelu
    }
}

impl ActivationSpec for GeluTanh {
    fn activation_spec(&self) -> LayerSpec {
        LayerSpec::GeluTanh
    }
}

/// Rectified linear unit, `max(x, 0)`: the default hidden activation of modern networks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu;
elementwise_layer!(Relu, "Relu", |x| x.max(0.0), |x, _y| if x > 0.0 {
    1.0
} else {
    0.0
});

/// Logistic sigmoid, `1 / (1 + exp(-x))`, squashing to `(0, 1)`. Its output is
/// [`OutputKind::SigmoidProbabilities`]: followed by
/// [`BinaryCrossEntropy`](struct@crate::losses::BinaryCrossEntropy), a model computes the loss and
/// gradient from the logits.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigmoid;
elementwise_layer!(Sigmoid, "Sigmoid", |x| sigmoid(x), |_x, y| y * (1.0 - y));

/// `1 / (1 + exp(-x))`: exactly 0 below about -88 and 1 above about 17, never NaN for finite
/// `x`. The fused binary cross-entropy computes probabilities with it too.
#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Hyperbolic tangent, squashing to `(-1, 1)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tanh;
elementwise_layer!(Tanh, "Tanh", |x| x.tanh(), |_x, y| 1.0 - y * y);

/// Leaky ReLU, `x if x > 0 else slope * x`: a ReLU whose negative side keeps a small gradient,
/// so that units cannot die (PyTorch's `nn.LeakyReLU(negative_slope)`).
#[derive(Clone, Copy, Debug)]
pub struct LeakyRelu {
    slope: f32,
}

impl LeakyRelu {
    /// A leaky ReLU with the given negative slope (PyTorch's default is 0.01, see
    /// [`LeakyRelu::default`]).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `slope` is not finite.
    pub fn new(slope: f32) -> Result<Self> {
        if !slope.is_finite() {
            return Err(Error::config(
                "LeakyRelu slope",
                slope,
                "a finite number, typically 0.01 to 0.3",
            ));
        }
        Ok(LeakyRelu { slope })
    }

    /// The slope of the negative side.
    pub fn slope(&self) -> f32 {
        self.slope
    }
}

impl Default for LeakyRelu {
    /// Slope 0.01, as PyTorch.
    fn default() -> Self {
        LeakyRelu { slope: 0.01 }
    }
}

elementwise_layer!(LeakyRelu, "LeakyRelu", layer => |x| if x > 0.0 {
    x
} else {
    layer.slope * x
}, |x, _y| if x > 0.0 { 1.0 } else { layer.slope });

/// Exponential linear unit, `x if x > 0 else alpha (exp(x) - 1)` (PyTorch's `nn.ELU(alpha)`):
/// smooth for `alpha = 1`, saturating at `-alpha` for very negative inputs.
#[derive(Clone, Copy, Debug)]
pub struct Elu {
    alpha: f32,
}

impl Elu {
    /// An ELU with the given `alpha` (PyTorch's default is 1.0, see [`Elu::default`]).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `alpha` is not finite.
    pub fn new(alpha: f32) -> Result<Self> {
        if !alpha.is_finite() {
            return Err(Error::config(
                "Elu alpha",
                alpha,
                "a finite number, typically 1.0",
            ));
        }
        Ok(Elu { alpha })
    }

    /// The value the negative side saturates at, negated.
    pub fn alpha(&self) -> f32 {
        self.alpha
    }
}

impl Default for Elu {
    /// Alpha 1.0, as PyTorch.
    fn default() -> Self {
        Elu { alpha: 1.0 }
    }
}

elementwise_layer!(Elu, "Elu", layer => |x| if x > 0.0 {
    x
} else {
    layer.alpha * x.exp_m1()
}, |x, _y| if x > 0.0 {
    1.0
} else {
    layer.alpha * x.exp()
});

/// Gaussian error linear unit, exact form: `x Phi(x)`, where `Phi` is the standard normal
/// distribution function, `Phi(x) = (1 + erf(x / sqrt 2)) / 2` (PyTorch's default
/// `nn.GELU()`, `approximate='none'`).
///
/// `erf` is not in `std`: `Phi` is computed in `f64` from `erfc` (a power series below 2.5, a
/// continued fraction above), to a relative error below `1e-10`, far under `f32`'s rounding.
/// [`GeluTanh`] is the cheaper tanh approximation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gelu;
elementwise_layer!(
    Gelu,
    "Gelu",
    |x| (x as f64 * normal_cdf(x as f64)) as f32,
    |x, _y| {
        let x = x as f64;
        (normal_cdf(x) + x * normal_pdf(x)) as f32
    }
);

/// Gaussian error linear unit, tanh approximation:
/// `x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2` (PyTorch's
/// `nn.GELU(approximate='tanh')`, the form of BERT and GPT-2). Within `1e-3` of [`Gelu`].
#[derive(Clone, Copy, Debug, Default)]
pub struct GeluTanh;

/// `sqrt(2 / pi)`.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh approximation.
const GELU_KAPPA: f32 = 0.044_715;

// Computed in f64: in f32, `x^3` overflows for |x| above 7e12, and the derivative's
// `x (1 - t^2) (1 + 3 kappa x^2)` becomes `0 * inf = NaN` where its true value is 0.
elementwise_layer!(
    GeluTanh,
    "GeluTanh",
    |x| gelu_tanh(x as f64).0 as f32,
    |x, _y| gelu_tanh(x as f64).1 as f32
);

/// `GeluTanh` and its derivative at `x`, in f64 (where `x^3` of any f32 is finite).
fn gelu_tanh(x: f64) -> (f64, f64) {
    let (c, k) = (SQRT_2_OVER_PI as f64, GELU_KAPPA as f64);
    let t = (c * (x + k * x * x * x)).tanh();
    let value = 0.5 * x * (1.0 + t);
    let derivative = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * k * x * x);
    (value, derivative)
}

/// The standard normal distribution function `Phi(x) = erfc(-x / sqrt 2) / 2`.
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// The standard normal density `phi(x) = exp(-x^2 / 2) / sqrt(2 pi)`.
fn normal_pdf(x: f64) -> f64 {
    // 1 / sqrt(2 pi)
    const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
}

/// The complementary error function `erfc(z) = 1 - erf(z)`, to a relative error below `1e-10`
/// (checked against Python's `math.erfc` over `[-10, 30]`).
///
/// Below 2.5, `1 - erf(z)` with erf's Maclaurin series
/// `erf(z) = 2/sqrt(pi) sum_n (-1)^n z^(2n+1) / (n! (2n+1))` (at most 50 terms); above, the
/// continued fraction `erfc(z) = exp(-z^2)/sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + ...))))`
/// evaluated with the modified Lentz method, which keeps full relative accuracy in the tail.
fn erfc(z: f64) -> f64 {
    const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;
    if z.is_nan() {
        return z;
    }
    if z < 0.0 {
        return 2.0 - erfc(-z);
    }
    if z < 2.5 {
        let z2 = z * z;
        let mut power = z; // (-1)^n z^(2n+1) / n!
        let mut sum = z;
        for n in 1..100 {
            power *= -z2 / n as f64;
            let term = power / (2 * n + 1) as f64;
            sum += term;
            if term.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        return 1.0 - 2.0 * FRAC_1_SQRT_PI * sum;
    }
    if z > 27.0 {
        return 0.0; // below f64's smallest subnormal
    }
    // Modified Lentz for b0 + a1/(b1 + a2/(b2 + ...)) with b = z, a_n = n/2.
    let tiny = 1e-300;
    let (mut f, mut c, mut d) = (z, z, 0.0);
    for n in 1..200 {
        let a = n as f64 * 0.5;
        d = z + a * d;
        d = if d == 0.0 { 1.0 / tiny } else { 1.0 / d };
        c = z + a / c;
        if c == 0.0 {
            c = tiny;
        }
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-z * z).exp() * FRAC_1_SQRT_PI / f
}

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

    /// Asserts `got` is within `tolerance` of `want`, element by element.
    fn assert_close(got: &Array2<f32>, want: &[f64], tolerance: f64) {
        for (g, w) in got.iter().zip(want) {
            assert!((*g as f64 - w).abs() <= tolerance, "{got} vs {want:?}");
        }
    }

    /// dLoss/dX for dLoss/dY = 1 at `x`.
    fn derivative(layer: &mut dyn Layer, x: Array2<f32>) -> Array2<f32> {
        let y = apply(layer, x.clone());
        let mut dx = Array2::zeros(x.dim());
        let ones = Array2::ones(x.dim());
        layer
            .backward(x.view(), y.view(), ones.view(), Some(dx.view_mut()))
            .unwrap();
        dx
    }

    #[test]
    fn leaky_relu_and_elu_values() {
        let x = array![[-2.0, -1.0, 0.0, 3.0]];
        assert_eq!(
            apply(&mut LeakyRelu::default(), x.clone()),
            array![[-0.02, -0.01, 0.0, 3.0]]
        );
        assert_eq!(
            derivative(&mut LeakyRelu::new(0.2).unwrap(), x.clone()),
            array![[0.2, 0.2, 0.2, 1.0]] // PyTorch: slope at x = 0 too
        );
        // math.expm1(-1) = -0.6321205588285577; 0.5 * math.expm1(-2) = -0.43233235838169365
        let y = apply(&mut Elu::default(), x.clone());
        assert_close(
            &y,
            &[-0.8646647167633873, -0.6321205588285577, 0.0, 3.0],
            1e-7,
        );
        let y = apply(&mut Elu::new(0.5).unwrap(), x.clone());
        assert!((y[[0, 0]] as f64 + 0.43233235838169365).abs() < 1e-7);
        // d/dx alpha (exp(x) - 1) = alpha exp(x): exp(-1) = 0.36787944117144233
        let dx = derivative(&mut Elu::default(), x);
        assert_close(
            &dx,
            &[0.1353352832366127, 0.36787944117144233, 1.0, 1.0],
            1e-7,
        );
        assert!(LeakyRelu::new(f32::NAN).is_err());
        assert!(matches!(
            Elu::new(f32::INFINITY),
            Err(Error::InvalidConfig { .. })
        ));
        assert_eq!(
            (LeakyRelu::default().slope(), Elu::default().alpha()),
            (0.01, 1.0)
        );
    }

    #[test]
    fn gelu_values_match_pytorch_definitions() {
        // Python: Phi = lambda x: 0.5 * math.erfc(-x / math.sqrt(2)); x * Phi(x)
        let x = array![[-3.0, -1.0, 0.5, 1.0, 2.0]];
        let y = apply(&mut Gelu, x.clone());
        let want = [
            -0.004049694094890287,
            -0.15865525393145707,
            0.34573123063700656,
            0.8413447460685429,
            1.9544997361036416,
        ];
        assert_close(&y, &want, 2e-7);
        // Phi(x) + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        let dx = derivative(&mut Gelu, x.clone());
        let want = [
            -0.011945647204183927,
            -0.08331547058768629,
            0.8674951246561629,
            1.0833154705876864,
            1.085231801078197,
        ];
        assert_close(&dx, &want, 2e-7);
        // 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
        let y = apply(&mut GeluTanh, x);
        let want = [
            -0.0036373920817729943,
            -0.15880800939172324,
            0.34571400982514394,
            0.8411919906082768,
            1.954597694087775,
        ];
        assert_close(&y, &want, 2e-7);
    }

    #[test]
    fn erfc_matches_python() {
        // math.erfc(z) for z in (0.1, 1, 2.4, 2.6, 5) and math.erfc(-1)
        for (z, want) in [
            (0.1, 0.8875370839817152),
            (1.0, 0.15729920705028513),
            (2.4, 0.0006885138966450789),
            (2.6, 0.00023603441652934908),
            (5.0, 1.5374597944280351e-12),
            (-1.0, 1.842700792949715),
            (0.0, 1.0),
        ] {
            let got = erfc(z);
            assert!(
                (got - want).abs() <= 1e-10 * want,
                "erfc({z}) = {got}, want {want}"
            );
        }
        assert_eq!(erfc(40.0), 0.0);
        assert_eq!(erfc(-40.0), 2.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    #[test]
    fn new_activations_pass_finite_differences() {
        for (layer, seed) in [
            (&mut LeakyRelu::new(0.1).unwrap() as &mut dyn Layer, 31),
            (&mut Elu::default(), 32),
            (&mut Gelu, 33),
            (&mut GeluTanh, 34),
        ] {
            let report = check_layer(layer, 4, 6, seed).unwrap();
            assert!(report.max_relative_error < 1e-2, "{report}");
        }
    }

    #[test]
    fn shape_mismatches_are_errors() {
        let mut y = Array2::zeros((1, 2));
        let r = Gelu.forward(Array2::zeros((1, 3)).view(), y.view_mut());
        assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
        let mut dx = Array2::zeros((2, 3));
        let z = Array2::zeros((1, 3));
        let r = LeakyRelu::default().backward(z.view(), z.view(), z.view(), Some(dx.view_mut()));
        assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
    }

    #[test]
    fn large_tensors_are_bit_identical_on_any_number_of_threads() {
        // Above the threshold of the threaded passes, with a remainder.
        let (rows, cols) = (333, 1601);
        assert!(rows * cols > 2 * crate::parallel::ELEMENTS_PER_PART);
        let x = Array2::from_shape_fn((rows, cols), |(r, c)| {
            ((r * cols + c) * 7919 % 2003) as f32 / 200.0 - 5.0
        });
        let g = x.mapv(|v| (v * 3.0).sin());
        let layers = || -> Vec<Box<dyn Layer>> {
            vec![
                Box::new(Relu),
                Box::new(LeakyRelu::new(0.1).unwrap()),
                Box::new(Elu::new(1.0).unwrap()),
                Box::new(Gelu),
                Box::new(GeluTanh),
                Box::new(Sigmoid),
                Box::new(Tanh),
            ]
        };
        let run = |layer: &mut dyn Layer, threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let y = apply(layer, x.clone());
                let mut dx = Array2::zeros(x.dim());
                layer
                    .backward(x.view(), y.view(), g.view(), Some(dx.view_mut()))
                    .unwrap();
                let bits = |a: &Array2<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                (bits(&y), bits(&dx))
            })
        };
        for (mut alone, mut layer) in layers().into_iter().zip(layers()) {
            // One thread against the element-wise loops on a transposed (not row-major) copy,
            // which never split.
            let want = run(alone.as_mut(), 1);
            let xt = x.t().as_standard_layout().into_owned();
            let yt = apply(alone.as_mut(), xt.reversed_axes());
            assert!(yt.iter().zip(&want.0).all(|(a, &b)| a.to_bits() == b));
            for threads in [2, 3, 8] {
                assert!(
                    run(layer.as_mut(), threads) == want,
                    "{}, {threads} threads",
                    layer.name()
                );
            }
        }
    }
}
