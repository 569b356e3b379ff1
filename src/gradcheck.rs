//! Finite-difference gradient checks, public so that anyone writing a layer or a loss can test
//! its backward pass in a few lines.
//!
//! For a layer, the check draws an input `X` and a fixed random projection `R`, and compares the
//! gradients that `backward` reports for the scalar `L = sum(forward(X) * R)` (grad_output = `R`)
//! with central differences `(L(v + h) - L(v - h)) / 2h` for every input element and every
//! parameter element. For a loss, it compares `loss_and_gradient` with central differences of
//! `loss`, and, for each fused form the loss has (after a softmax, after a sigmoid), the logit
//! gradient too.
//!
//! Relative errors are `|analytic - numeric| / max(|analytic|, |numeric|, 1e-2)`: the floor keeps
//! near-zero gradients from turning `f32` rounding noise into huge ratios. Correct `f32` layers
//! score about `1e-4`; a wrong formula scores near 1.
//!
//! # The step
//! No single step suits every layer: a central difference is exact only while the function is
//! close to a parabola over `[v - h, v + h]`, and a layer that normalises a row (`LayerNorm`) is
//! far from one once `h` exceeds the row's spread (rows `[1, 1.001, 0.999, 1]` have a standard
//! deviation of 7e-4; a step of 1e-2 gave a relative error of 0.93 for a correct gradient,
//! tesseract-core#706), while in `f32` a tiny step drowns the difference in rounding. So the
//! layer checks compare at several steps, `h = 1e-2, 1e-3, 1e-4, 1e-5` in turn, and keep, for
//! each derivative, the numeric value closest to the analytic one, stopping at the first step
//! that agrees within `1e-3` (the first one, for smooth layers at inputs of order 1: no extra
//! cost). The difference is divided by the distance between the two points as `f32` holds them
//! (`v + h` and `v - h` rounded), not by `2h`. A correct gradient agrees at some step; a wrong
//! one (a factor, a missing term) disagrees at every step, by about as much at each, and is
//! reported. The step that gave each number is not reported: the smallest error is.
//!
//! # Kinks
//! Layers check what they compute where it is differentiable; at a kink (ReLU at 0, two values
//! of a max-pooling window that tie or nearly tie) the central difference straddles two slopes
//! and averages them, which no backward pass reports. The layer checks treat kinks as such: at
//! each element and step they also form the one-sided differences `(L(v + h) - L(v)) / h` and
//! `(L(v) - L(v - h)) / h`, and where these two disagree by more than 1% a kink lies within
//! `h` of the element; the analytic derivative is then compared with whichever of the three
//! differences is closest to it. A kink on one side leaves the other side's difference equal to
//! the derivative at the element, so a correct backward pass passes, and a wrong one (off by a
//! factor, a missing term) is still caught on the smooth elements and on both sides of a kink.
//! Inputs are not redrawn: [`check_layer`] draws them away from 0, but a
//! [`MaxPool2d`](crate::layers::MaxPool2d) window of random values holds values closer than
//! `h` often.
//!
//! ```
//! use feedforward::gradcheck::check_layer;
//! use feedforward::layers::Tanh;
//!
//! let report = check_layer(&mut Tanh, 3, 4, 0).unwrap();
//! assert!(report.max_relative_error < 1e-2, "{report}");
//! ```

use crate::allocation::filled;
use crate::layers::{Layer, OutputKind, Sigmoid, Softmax};
use crate::losses::Loss;
use crate::random::RandomState;
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2};
use std::fmt;

/// Half-width of the central difference of the loss checks, relative to 1 (values of order 1).
const STEP: f32 = 1e-2;
/// Half-widths of the central differences of the layer checks, tried in turn (see the
/// [module](self)'s notes on the step).
const STEPS: [f32; 4] = [1e-2, 1e-3, 1e-4, 1e-5];
/// A relative error below which no smaller step is tried.
const AGREES: f64 = 1e-3;
/// Floor of the relative error's denominator.
const FLOOR: f64 = 1e-2;
/// Relative disagreement of the one-sided differences above which a kink lies within the step.
const KINK: f64 = 0.01;

/// `|analytic - numeric| / max(|analytic|, |numeric|, FLOOR)`.
fn relative_error(analytic: f64, numeric: f64) -> f64 {
    (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(FLOOR)
}

/// The finite difference of `objective` around `value` closest to `analytic`: at each of the
/// [`STEPS`] in turn, the central difference and, where the one-sided differences disagree by
/// more than [`KINK`] (a kink within the step, see the [module](self)'s notes), the one-sided
/// ones too; stopping at the first step that [`AGREES`]. `center` is the objective at `value`;
/// `objective(v)` evaluates it with the element set to `v` (the caller puts the original value
/// back). Each difference is divided by the distance between the points as `f32` holds them.
fn numeric_derivative(
    value: f32,
    analytic: f64,
    center: f64,
    mut objective: impl FnMut(f32) -> Result<f64>,
) -> Result<f64> {
    let mut best: Option<(f64, f64)> = None;
    for step in STEPS {
        let (up, down) = (value + step, value - step);
        let (above, below) = (up as f64 - value as f64, value as f64 - down as f64);
        if above == 0.0 || below == 0.0 {
            continue;
        }
        let (plus, minus) = (objective(up)?, objective(down)?);
        let central = (plus - minus) / (above + below);
        let (right, left) = ((plus - center) / above, (center - minus) / below);
        let kink = (right - left).abs() > KINK * right.abs().max(left.abs()).max(FLOOR);
        let candidates = [Some(central), kink.then_some(left), kink.then_some(right)];
        for numeric in candidates.into_iter().flatten() {
            let error = relative_error(analytic, numeric);
            let better = match best {
                None => true,
                Some((best_error, _)) => {
                    error < best_error || (best_error.is_nan() && !error.is_nan())
                }
            };
            if better {
                best = Some((error, numeric));
            }
        }
        if best.is_some_and(|(error, _)| error < AGREES) {
            break;
        }
    }
    Ok(best.map_or(f64::NAN, |(_, numeric)| numeric))
}

/// The outcome of a gradient check.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckReport {
    /// The largest relative error found.
    pub max_relative_error: f64,
    /// Where it was found, e.g. `"weight[2, 1]"` or `"input[0, 3]"`.
    pub worst: String,
    /// The analytic derivative at that place.
    pub analytic: f64,
    /// The numeric derivative at that place.
    pub numeric: f64,
    /// How many derivatives were compared.
    pub checked: usize,
}

impl fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max relative error {:.3e} at {} (analytic {:.6e}, numeric {:.6e}) over {} derivatives",
            self.max_relative_error, self.worst, self.analytic, self.numeric, self.checked
        )
    }
}

impl GradCheckReport {
    fn new() -> Self {
        GradCheckReport {
            max_relative_error: 0.0,
            worst: String::from("nothing"),
            analytic: 0.0,
            numeric: 0.0,
            checked: 0,
        }
    }

    fn record(&mut self, place: impl FnOnce() -> String, analytic: f64, numeric: f64) {
        self.checked += 1;
        let error = relative_error(analytic, numeric);
        // NaN compares false: treat it as the worst possible error.
        if error.is_nan() || error > self.max_relative_error {
            self.max_relative_error = if error.is_nan() { f64::INFINITY } else { error };
            self.worst = place();
            self.analytic = analytic;
            self.numeric = numeric;
        }
    }
}

/// Checks `layer` on a random `(rows, input_width)` input drawn with `seed`.
///
/// Input elements are drawn from `±[0.1, 1]`, away from 0, so that kinks at 0 (ReLU) are not
/// straddled by the finite difference (other kinks are treated as the module documentation
/// says). A layer that needs its input's image shape ([`Conv2d`](crate::layers::Conv2d), the
/// poolings, [`BatchNorm2d`](crate::layers::BatchNorm2d)) is built first with
/// [`Layer::build`], as a model would:
///
/// ```
/// use feedforward::gradcheck::check_layer;
/// use feedforward::layers::{MaxPool2d, Shape};
/// use feedforward::prelude::*;
///
/// let mut pool = MaxPool2d::new(2)?;
/// pool.build(Shape::image(3, 4, 6)?)?;
/// let report = check_layer(&mut pool, 5, 72, 0)?;
/// assert!(report.max_relative_error < 1e-2, "{report}");
/// # Ok::<(), feedforward::Error>(())
/// ```
///
/// # Errors
/// Whatever the layer's `output_width`, `forward` or `backward` return;
/// [`Error::TooLarge`] when the input (or the layer's output for it) cannot be allocated.
pub fn check_layer(
    layer: &mut dyn Layer,
    rows: usize,
    input_width: usize,
    seed: u32,
) -> Result<GradCheckReport> {
    let mut rng = RandomState::new(seed);
    let mut input = filled("gradient-check input", rows, input_width, 0.0f32)?;
    input.mapv_inplace(|_| {
        let magnitude = rng.uniform(0.1, 1.0) as f32;
        if rng.next_f64() < 0.5 {
            -magnitude
        } else {
            magnitude
        }
    });
    check_layer_at(layer, input.view(), seed)
}

/// Checks `layer` at the given input, with a random projection drawn with `seed`, in evaluation
/// mode.
///
/// # Errors
/// Whatever the layer's `output_width`, `forward` or `backward` return, or
/// [`Error::Empty`] for an empty input.
pub fn check_layer_at(
    layer: &mut dyn Layer,
    input: ArrayView2<'_, f32>,
    seed: u32,
) -> Result<GradCheckReport> {
    check_layer_in_mode(layer, input, seed, false)
}

/// Checks `layer` at the given input, with a random projection drawn with `seed`, in training
/// mode (`training = true`) or evaluation mode, and leaves the layer in that mode.
///
/// [`check_layer`] and [`check_layer_at`] check evaluation mode; use this for layers whose
/// training behaviour differs, such as [`BatchNorm1d`](crate::layers::BatchNorm1d), whose
/// training-mode gradient flows through the batch statistics. The layer's forward pass must be
/// deterministic in the mode checked: [`Dropout`](crate::layers::Dropout) draws a new mask on
/// every training-mode pass, so test its training gradient against its mask instead.
///
/// ```
/// use feedforward::gradcheck::check_layer_in_mode;
/// use feedforward::layers::BatchNorm1d;
/// use feedforward::random::RandomState;
///
/// let mut bn = BatchNorm1d::new(3)?;
/// let input = RandomState::new(0).randn(4, 3)?;
/// let report = check_layer_in_mode(&mut bn, input.view(), 1, true)?;
/// assert!(report.max_relative_error < 1e-2, "{report}");
/// # Ok::<(), feedforward::Error>(())
/// ```
///
/// # Errors
/// Whatever the layer's `output_width`, `forward` or `backward` return, or
/// [`Error::Empty`] for an empty input.
pub fn check_layer_in_mode(
    layer: &mut dyn Layer,
    input: ArrayView2<'_, f32>,
    seed: u32,
    training: bool,
) -> Result<GradCheckReport> {
    if input.is_empty() {
        return Err(Error::Empty {
            what: "gradient-check input".into(),
            hint: "give at least one row and one column".into(),
        });
    }
    let out_width = layer.output_width(input.ncols())?;
    let mut output = filled("gradient-check output", input.nrows(), out_width, 0.0f32)?;
    let mut rng = RandomState::new(seed.wrapping_add(1));
    let projection = rng.randn(input.nrows(), out_width)?;
    layer.set_training(training);

    // Analytic gradients.
    layer.forward(input, output.view_mut())?;
    let mut grad_input = filled(
        "gradient-check input gradient",
        input.nrows(),
        input.ncols(),
        0.0f32,
    )?;
    layer.backward(
        input,
        output.view(),
        projection.view(),
        Some(grad_input.view_mut()),
    )?;
    let mut param_grads: Vec<(&'static str, Array2<f32>)> = Vec::new();
    layer.visit_parameters_mut(&mut |p| param_grads.push((p.name, p.grad.to_owned())));

    let mut objective = |layer: &mut dyn Layer, x: ArrayView2<'_, f32>| -> Result<f64> {
        layer.forward(x, output.view_mut())?;
        Ok(output
            .iter()
            .zip(projection.iter())
            .map(|(&y, &r)| y as f64 * r as f64)
            .sum())
    };

    let mut report = GradCheckReport::new();
    let mut x = input.to_owned();
    let center = objective(layer, x.view())?;
    for i in 0..x.nrows() {
        for j in 0..x.ncols() {
            let original = x[[i, j]];
            let analytic = grad_input[[i, j]] as f64;
            let numeric = numeric_derivative(original, analytic, center, |v| {
                x[[i, j]] = v;
                objective(layer, x.view())
            });
            x[[i, j]] = original;
            report.record(|| format!("input[{i}, {j}]"), analytic, numeric?);
        }
    }

    for (index, (name, grad)) in param_grads.iter().enumerate() {
        for (flat, &analytic) in grad.iter().enumerate() {
            // Sets the element to `value`, returning the one it held.
            let set = |layer: &mut dyn Layer, value: f32| {
                let (mut k, mut previous) = (0, value);
                layer.visit_parameters_mut(&mut |mut p| {
                    if k == index {
                        if let Some(v) = p.value.iter_mut().nth(flat) {
                            previous = std::mem::replace(v, value);
                        }
                    }
                    k += 1;
                });
                previous
            };
            let original = set(layer, 0.0);
            set(layer, original);
            let numeric = numeric_derivative(original, analytic as f64, center, |v| {
                set(layer, v);
                objective(layer, x.view())
            });
            set(layer, original);
            let (r, c) = (flat / grad.ncols(), flat % grad.ncols());
            report.record(|| format!("{name}[{r}, {c}]"), analytic as f64, numeric?);
        }
    }
    Ok(report)
}

/// Checks `loss` at `output` against `target`; for each fused form the loss has (see
/// [`Loss::fused`]), also checks its logit gradient, reading `output` as logits: with the
/// probabilities of the forward pass and without them, and checks that the fused value equals
/// the loss of those probabilities.
///
/// ```
/// use feedforward::gradcheck::check_loss;
/// use feedforward::losses::BinaryCrossEntropy;
/// use feedforward::ndarray::array;
///
/// let p = array![[0.3f32, 0.8], [0.6, 0.1]];
/// let t = array![[0.0f32, 1.0], [1.0, 1.0]];
/// let report = check_loss(&BinaryCrossEntropy, p.view(), t.view())?;
/// assert!(report.max_relative_error < 1e-2, "{report}");
/// assert_eq!(report.checked, 4 + 2 * 4 + 1); // unfused, fused twice, the fused value
/// # Ok::<(), feedforward::Error>(())
/// ```
///
/// # Errors
/// Whatever the loss returns for these shapes.
pub fn check_loss(
    loss: &dyn Loss,
    output: ArrayView2<'_, f32>,
    target: ArrayView2<'_, f32>,
) -> Result<GradCheckReport> {
    let mut report = GradCheckReport::new();
    let mut grad = Array2::zeros(output.raw_dim());
    loss.loss_and_gradient(output, target, grad.view_mut())?;
    let mut y = output.to_owned();
    for i in 0..y.nrows() {
        for j in 0..y.ncols() {
            let original = y[[i, j]];
            // Relative step: probabilities near 0 must stay positive for cross-entropy.
            let h = STEP * original.abs().clamp(1e-2, 1.0) * 0.1;
            y[[i, j]] = original + h;
            let plus = loss.loss(y.view(), target)? as f64;
            y[[i, j]] = original - h;
            let minus = loss.loss(y.view(), target)? as f64;
            y[[i, j]] = original;
            let numeric = (plus - minus) / (2.0 * h as f64);
            report.record(|| format!("output[{i}, {j}]"), grad[[i, j]] as f64, numeric);
        }
    }

    let activations: [(OutputKind, &mut dyn Layer); 2] = [
        (OutputKind::SoftmaxProbabilities, &mut Softmax),
        (OutputKind::SigmoidProbabilities, &mut Sigmoid),
    ];
    for (kind, layer) in activations {
        let Some(fused) = loss.fused(kind) else {
            continue;
        };
        let mut probabilities = Array2::zeros(output.raw_dim());
        layer.forward(output, probabilities.view_mut())?;
        for given in [Some(probabilities.view()), None] {
            fused.loss_and_logit_gradient(output, given, target, grad.view_mut())?;
            for i in 0..y.nrows() {
                for j in 0..y.ncols() {
                    let original = y[[i, j]];
                    y[[i, j]] = original + STEP;
                    let plus = fused.loss_from_logits(y.view(), target)? as f64;
                    y[[i, j]] = original - STEP;
                    let minus = fused.loss_from_logits(y.view(), target)? as f64;
                    y[[i, j]] = original;
                    let numeric = (plus - minus) / (2.0 * STEP as f64);
                    let place = if given.is_some() {
                        "logit"
                    } else {
                        "logit (no p)"
                    };
                    report.record(
                        || format!("{place}[{i}, {j}]"),
                        grad[[i, j]] as f64,
                        numeric,
                    );
                }
            }
        }
        // The fused value is the loss of the probabilities.
        let fused_value = fused.loss_from_logits(output, target)? as f64;
        let plain_value = loss.loss(probabilities.view(), target)? as f64;
        report.record(|| "fused loss value".to_string(), fused_value, plain_value);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::Init;
    use crate::layers::{Dense, Parameter};
    use crate::losses::{CrossEntropy, HalfMse};
    use ndarray::ArrayViewMut2;

    /// A dense layer whose backward pass gets the weight gradient wrong by a factor of 3.
    struct WrongDense(Dense);

    impl Layer for WrongDense {
        fn name(&self) -> &str {
            "WrongDense"
        }
        fn output_width(&self, input_width: usize) -> Result<usize> {
            self.0.output_width(input_width)
        }
        fn forward(&mut self, x: ArrayView2<'_, f32>, y: ArrayViewMut2<'_, f32>) -> Result<()> {
            self.0.forward(x, y)
        }
        fn backward(
            &mut self,
            x: ArrayView2<'_, f32>,
            y: ArrayView2<'_, f32>,
            g: ArrayView2<'_, f32>,
            gi: Option<ArrayViewMut2<'_, f32>>,
        ) -> Result<()> {
            self.0.backward(x, y, g, gi)?;
            self.0.visit_parameters_mut(&mut |p: Parameter<'_>| {
                let mut grad = p.grad;
                if p.name == "weight" {
                    grad *= 3.0;
                }
            });
            Ok(())
        }
        fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
            self.0.visit_parameters_mut(visit)
        }
    }

    #[test]
    fn a_wrong_gradient_is_caught_and_located() {
        let dense = Dense::new(3, 2, Init::XavierNormal, &mut RandomState::new(3)).unwrap();
        let good = check_layer(&mut dense.clone(), 2, 3, 9).unwrap();
        assert!(good.max_relative_error < 1e-2, "{good}");
        // 2x3 input + 3x2 weight + 1x2 bias
        assert_eq!(good.checked, 6 + 6 + 2);
        let bad = check_layer(&mut WrongDense(dense), 2, 3, 9).unwrap();
        assert!(bad.max_relative_error > 0.5, "{bad}");
        assert!(bad.worst.starts_with("weight["), "{bad}");
    }

    #[test]
    fn a_loss_check_covers_every_output_and_the_fused_logits() {
        let y = ndarray::array![[0.2f32, 0.8], [0.6, 0.4]];
        let t = ndarray::array![[0.0f32, 1.0], [1.0, 0.0]];
        assert_eq!(check_loss(&HalfMse, y.view(), t.view()).unwrap().checked, 4);
        assert_eq!(
            check_loss(&CrossEntropy, y.view(), t.view())
                .unwrap()
                .checked,
            4 + 2 * 4 + 1
        );
        assert!(check_layer_at(&mut Softmax, Array2::zeros((0, 2)).view(), 0).is_err());
    }
}
