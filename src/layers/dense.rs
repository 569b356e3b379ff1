//! [`Dense`]: the fully connected layer, `Y = X.W + b`.
//!
//! Exactly the tutorial's `np.dot(X, weights) + biases`: weights are `(in, out)`, the bias is a
//! `(1, out)` row added to every sample. Gradients, for `G = dLoss/dY`:
//! `dW = X^T.G`, `db = sum of G's rows`, `dX = G.W^T`.
//!
//! The layer stores `W` transposed, `(out, in)` row-major as PyTorch's `nn.Linear` does, so that
//! the forward pass and both gradients read their operands along contiguous rows of 784 pixels
//! (see the `kernels` module). [`Dense::weight`] and [`Layer::parameters`] still show `W` as
//! `(in, out)`: a transposed view of that storage, column-major in memory.
//!
//! With plain SGD and weights of 1 MB or more, the layer takes the training step itself
//! ([`Layer::backward_and_step`]): each block of `dW` is applied to the weights as it is
//! computed, and a copy of the weights written in the same sweep undoes the step when
//! [`Layer::end_step`] says it failed. Smaller weights, which stay in the cache, are stepped by
//! the optimizer (faster there, measured); the bits are the same either way.
//!
//! On processors with AVX-512, a layer of 64 inputs and 64 outputs or more and 1 MB of weights
//! or less runs its forward pass over a batch of 32 rows or more from a copy of its weights packed into panels of 32 outputs, made
//! on the first such pass and kept until the weights change (a step, its undo, or anything that
//! visits the parameters mutably): a prediction then reads the weights as they are packed
//! instead of packing them on every call. The layer's memory grows by that copy (at most 1 MB,
//! kept and reused from change to change).
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::ndarray::array;
//!
//! let mut dense = Dense::from_parameters(array![[2.0f32], [3.0]], array![[1.0f32]]).unwrap();
//! let mut y = feedforward::ndarray::Array2::zeros((1, 1));
//! dense.forward(array![[1.0f32, 1.0]].view(), y.view_mut()).unwrap();
//! assert_eq!(y[[0, 0]], 6.0); // 1*2 + 1*3 + 1
//! assert_eq!(dense.weight(), array![[2.0f32], [3.0]]);
//! ```

mod inference;
pub(super) mod kernels;

use super::{
    expect_width, fixed_input_width, flat_input, FusedStep, Inference, Layer, Parameter, Shape,
};
use crate::init::Init;
use crate::random::RandomState;
use crate::{Error, Result};
use kernels::Isa;
use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2};

/// A fully connected layer: `Y = X.W + b`, weights `(in, out)`, bias `(1, out)`.
#[derive(Clone, Debug)]
pub struct Dense {
    /// `W^T`, `(out, in)`, standard layout, 64-byte aligned: row `j` holds the weights of
    /// output `j`.
    weight_t: Array2<f32>,
    /// `b`, `(1, out)`, standard layout.
    bias: Array2<f32>,
    /// `dW^T`, `(out, in)`, standard layout, 64-byte aligned.
    weight_t_grad: Array2<f32>,
    /// `db`, `(1, out)`, standard layout.
    bias_grad: Array2<f32>,
    /// Row-major copies of operands given in another layout (never used by a `Sequential`,
    /// whose buffers are row-major), and the workspace of the products on several threads;
    /// they keep their capacity.
    staging: Staging,
    /// Training mode (the default) or evaluation mode; the products run the same way in both.
    training: bool,
    /// The parameters before a [`Layer::backward_and_step`], until [`Layer::end_step`].
    undo: Undo,
    /// `weight_t` packed for the forward kernel of large batches on AVX-512
    /// (`kernels::uses_packed_weights`), kept between calls; invalidated by every method that
    /// can change the weights.
    packed: kernels::PackedCache,
}

/// The copy that undoes a step taken by [`Layer::backward_and_step`]: `weight_t` and `bias`
/// as they were before it (allocated on the first such step, then reused), and whether a step
/// waits for its [`Layer::end_step`]. A clone starts empty: the copy means something only
/// between a step and its end.
#[derive(Debug, Default)]
struct Undo {
    /// `(out, in)` like `weight_t`, 64-byte aligned (written with streaming stores).
    weight_t: Option<Array2<f32>>,
    bias: Vec<f32>,
    stepped: bool,
}

impl Clone for Undo {
    fn clone(&self) -> Self {
        Undo::default()
    }
}

#[derive(Clone, Debug, Default)]
struct Staging {
    input: Vec<f32>,
    grad_output: Vec<f32>,
    output: Vec<f32>,
    /// The workspace of the forward pass and the input gradient of a batch of fewer than 64
    /// rows on several threads (see `kernels::forward`, `kernels::input_grad`); grows to one
    /// batch of outputs or inputs once.
    parts: Vec<f32>,
}

impl Dense {
    /// A layer from `inputs` to `outputs` with weights drawn by `init` and a zero bias (the
    /// tutorial's `initialize_parameters`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when either width is zero or `init` is invalid (see
    /// [`Init::sample`]); [`Error::TooLarge`] when the weights cannot be allocated.
    pub fn new(inputs: usize, outputs: usize, init: Init, rng: &mut RandomState) -> Result<Self> {
        if inputs == 0 || outputs == 0 {
            return Err(Error::config(
                "Dense widths",
                format!("{inputs} -> {outputs}"),
                "both widths must be at least 1",
            ));
        }
        Self::from_parameters(
            init.sample(inputs, outputs, rng)?,
            crate::allocation::filled("Dense bias", 1, outputs, 0.0)?,
        )
    }

    /// A layer with the given weights `(in, out)` and bias `(1, out)`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the bias is not `(1, out)`; [`Error::InvalidConfig`] when a
    /// dimension is zero or a value is NaN or infinite; [`Error::TooLarge`] when the layer's
    /// copies cannot be allocated.
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
        for (what, values) in [("Dense weight", &weight), ("Dense bias", &bias)] {
            if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                return Err(Error::config(
                    what,
                    bad,
                    "finite values: a layer with NaN or infinite parameters can only predict NaN",
                ));
            }
        }
        let mut weight_t = aligned_zeros(outputs, inputs)?;
        weight_t.assign(&weight.t());
        Ok(Dense {
            weight_t,
            bias: bias.as_standard_layout().into_owned(),
            weight_t_grad: aligned_zeros(outputs, inputs)?,
            bias_grad: Array2::zeros((1, outputs)),
            staging: Staging::default(),
            training: true,
            undo: Undo::default(),
            packed: kernels::PackedCache::default(),
        })
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.weight_t.ncols()
    }

    /// Number of output features.
    pub fn outputs(&self) -> usize {
        self.weight_t.nrows()
    }

    /// The weights, `(in, out)`. The view is the transpose of the `(out, in)` row-major
    /// storage, so it is column-major: `.t()` gives the `(out, in)` matrix in standard layout
    /// (PyTorch's `nn.Linear.weight`), `.as_standard_layout()` a row-major `(in, out)` copy.
    pub fn weight(&self) -> ArrayView2<'_, f32> {
        self.weight_t.t()
    }

    /// The bias, `(1, out)`.
    pub fn bias(&self) -> ArrayView2<'_, f32> {
        self.bias.view()
    }

    /// dLoss/dW from the last backward pass, `(in, out)`, column-major like
    /// [`weight`](Dense::weight).
    pub fn weight_grad(&self) -> ArrayView2<'_, f32> {
        self.weight_t_grad.t()
    }

    /// dLoss/db from the last backward pass.
    pub fn bias_grad(&self) -> ArrayView2<'_, f32> {
        self.bias_grad.view()
    }
}

impl Dense {
    /// The backward pass, and with `step = Some(lr)` the plain gradient step of both
    /// parameters (see [`Layer::backward_and_step`]); the input gradient is computed first,
    /// from the weights before the step.
    fn backward_with(
        &mut self,
        input: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
        step: Option<f32>,
    ) -> Result<FusedStep> {
        // A step not ended by `end_step` is kept: its copy is overwritten from here on.
        self.undo.stepped = false;
        if step.is_some() {
            self.packed.invalidate();
        }
        expect_width("Dense input", &input, self.inputs())?;
        check_rows(&input, &grad_output, self.outputs())?;
        if let Some(grad_input) = &grad_input {
            if grad_input.dim() != input.dim() {
                return Err(Error::shape(
                    "Dense input gradient",
                    format!("{:?}", input.dim()),
                    format!("{:?}", grad_input.dim()),
                ));
            }
        }
        let (m, k, n) = (input.nrows(), self.inputs(), self.outputs());
        if step.is_some() && self.undo.weight_t.is_none() {
            self.undo.weight_t = Some(aligned_zeros(n, k)?);
        }
        let isa = Isa::detect();
        let Dense {
            weight_t,
            bias,
            weight_t_grad,
            bias_grad,
            staging,
            undo,
            ..
        } = self;
        let x = row_major(&input, &mut staging.input);
        let g = row_major(&grad_output, &mut staging.grad_output);
        let threads = crate::parallel::threads_for(m * k * n);
        let (output, parts) = (&mut staging.output, &mut staging.parts);
        let wants_input = grad_input.is_some();
        let inputs = |wt: &[f32], threads: usize| {
            if let Some(mut grad_input) = grad_input {
                write_row_major(&mut grad_input, output, |dx| {
                    kernels::input_grad(isa, g, wt, dx, m, k, n, threads, parts)
                });
            }
        };
        let Some(lr) = step else {
            let side_by_side =
                kernels::gradients_side_by_side(m, k, n, threads).filter(|_| wants_input);
            let wt = standard(weight_t);
            let mut weights = |threads: usize| {
                kernels::weight_grad(isa, x, g, standard_mut(weight_t_grad), m, k, n, threads);
                kernels::bias_grad(g, standard_mut(bias_grad), m, n);
            };
            if let Some((for_weights, for_inputs)) = side_by_side {
                rayon::join(|| weights(for_weights), || inputs(wt, for_inputs));
            } else {
                weights(threads);
                inputs(wt, threads);
            }
            return Ok(FusedStep::NotTaken);
        };
        // The input gradient reads the weights before the step.
        inputs(standard(weight_t), threads);
        let saved = undo
            .weight_t
            .as_mut()
            .expect("allocated above when stepping");
        let weight_finite = kernels::weight_grad_step(
            isa,
            x,
            g,
            standard_mut(weight_t_grad),
            standard_mut(weight_t),
            standard_mut(saved),
            lr,
            m,
            k,
            n,
            threads,
        );
        kernels::bias_grad(g, standard_mut(bias_grad), m, n);
        undo.bias.resize(n, 0.0);
        let bias_bad =
            crate::optim::plain_step(standard_mut(bias), standard(bias_grad), &mut undo.bias, lr);
        undo.stepped = true;
        let non_finite = if !weight_finite {
            Some("weight")
        } else if bias_bad {
            Some("bias")
        } else {
            None
        };
        Ok(FusedStep::Taken { non_finite })
    }
}

impl Layer for Dense {
    fn name(&self) -> &str {
        "Dense"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        fixed_input_width("Dense", self.inputs(), input_width, self.outputs())
    }

    /// A flat row of `outputs` features; an image is refused with the advice to add a
    /// [`Flatten`](super::Flatten) before the layer, as Keras and PyTorch users expect.
    fn build(&mut self, input: Shape) -> Result<Shape> {
        flat_input("Dense", input)?;
        self.output_width(input.size()).map(Shape::flat)
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        // The workspaces move out for the call (no allocation) and back whatever it returns.
        let mut staging = std::mem::take(&mut self.staging);
        let rows = input.nrows();
        let result = self.forward_part(
            input,
            output,
            rows,
            &mut staging.input,
            &mut staging.output,
            &mut staging.parts,
        );
        self.staging = staging;
        result
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        self.backward_with(input, grad_output, grad_input, None)
            .map(|_| ())
    }

    /// Takes the step in the sweep of the weight gradient (`kernels::weight_grad_step`) for
    /// weights of 1 MB or more: each block of `dW` is applied to the weights as it leaves the
    /// registers, the weights' undo copy written in the same sweep; the bias steps after its
    /// gradient. Smaller weights are left to the optimizer ([`FusedStep::NotTaken`]).
    fn backward_and_step(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
        learning_rate: f32,
    ) -> Result<FusedStep> {
        // Weights that stay in the cache gain nothing from one sweep: the optimizer steps them.
        let bytes = self.inputs() * self.outputs() * std::mem::size_of::<f32>();
        let step = (bytes >= FUSED_STEP_FROM_BYTES).then_some(learning_rate);
        self.backward_with(input, grad_output, grad_input, step)
    }

    /// Puts the weights and the bias back after a failed step taken by
    /// [`backward_and_step`](Layer::backward_and_step).
    fn end_step(&mut self, commit: bool) {
        if std::mem::take(&mut self.undo.stepped) && !commit {
            self.packed.invalidate();
            if let Some(saved) = &self.undo.weight_t {
                standard_mut(&mut self.weight_t).copy_from_slice(standard(saved));
            }
            standard_mut(&mut self.bias).copy_from_slice(&self.undo.bias);
        }
    }

    fn propagates_non_finite(&self) -> bool {
        true
    }

    fn inference(&self) -> Option<&dyn Inference> {
        Some(self)
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        // Whoever visits may change the weights (an optimizer's step, loading a state).
        self.packed.invalidate();
        // `(in, out)` views of the `(out, in)` storage: value and gradient share one layout.
        visit(Parameter {
            name: "weight",
            value: self.weight_t.view_mut().reversed_axes(),
            grad: self.weight_t_grad.view_mut().reversed_axes(),
        });
        visit(Parameter {
            name: "bias",
            value: self.bias.view_mut(),
            grad: self.bias_grad.view_mut(),
        });
    }

    fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        vec![("weight", self.weight()), ("bias", self.bias.view())]
    }

    fn spec(&self) -> Option<super::LayerSpec> {
        Some(super::LayerSpec::Dense {
            inputs: self.inputs(),
            outputs: self.outputs(),
        })
    }
}

/// Weights of at least this many bytes take a plain SGD step within the weight gradient's sweep
/// ([`Layer::backward_and_step`]); smaller ones, which stay in a core's second-level cache
/// (1 MB on Zen 4 and Zen 5, 2 MB on current Xeons), leave the step to the optimizer. Measured
/// with `scripts/compare_revisions.sh` (AMD EPYC family 26 model 2, idle, medians of 7
/// alternating runs), every layer fused against none: 784-128-128-10 at a batch of 32 1.20 ->
/// 1.27 s, the tutorial's 784-10 0.34 -> 0.35 s (slower: the fused kernel checks and copies
/// block by block what the optimizer does in one vectorised pass), 784-4096-4096-10 1.81 ->
/// 1.65 s (faster: the weights come from memory once less).
const FUSED_STEP_FROM_BYTES: usize = 1 << 20;

/// A `(rows, cols)` matrix of zeros in standard layout whose first element starts a 64-byte
/// cache line. With rows of 784 values (3,136 bytes, 49 cache lines) every row then starts a
/// line, and no AVX-512 load of the weights straddles two lines: the forward pass at
/// 32 x 784 x 10 takes 2.4 us instead of 3.2 us. Only the speed depends on the alignment, never
/// the values (a clone may lose it).
fn aligned_zeros(rows: usize, cols: usize) -> Result<Array2<f32>> {
    const LINE: usize = 64 / std::mem::size_of::<f32>();
    let too_large =
        || crate::allocation::too_large("Dense weights", rows as u128 * cols as u128, 4);
    let len = rows.checked_mul(cols).ok_or_else(too_large)?;
    let data = crate::allocation::filled_vec(
        "Dense weights",
        len.checked_add(LINE - 1).ok_or_else(too_large)?,
        0.0f32,
    )?;
    let start = data.as_ptr().align_offset(64).min(LINE - 1);
    Ok(Array1::from_vec(data)
        .slice_move(s![start..start + len])
        .into_shape_with_order((rows, cols))
        .expect("a contiguous slice of rows * cols values"))
}

/// The elements of an owned matrix that the layer keeps in standard layout.
fn standard(a: &Array2<f32>) -> &[f32] {
    a.as_slice()
        .expect("Dense keeps its matrices in standard layout")
}

/// As [`standard`], writable.
fn standard_mut(a: &mut Array2<f32>) -> &mut [f32] {
    a.as_slice_mut()
        .expect("Dense keeps its matrices in standard layout")
}

/// The elements of `view` in row-major order: its own memory when it is in standard layout,
/// otherwise a copy in `buffer`.
pub(super) fn row_major<'a>(view: &'a ArrayView2<'_, f32>, buffer: &'a mut Vec<f32>) -> &'a [f32] {
    match view.as_slice() {
        Some(slice) => slice,
        None => {
            buffer.clear();
            buffer.extend(view.iter());
            buffer
        }
    }
}

/// Lets `write` fill `view` in row-major order: in place when it is in standard layout,
/// otherwise through `buffer`.
pub(super) fn write_row_major(
    view: &mut ArrayViewMut2<'_, f32>,
    buffer: &mut Vec<f32>,
    write: impl FnOnce(&mut [f32]),
) {
    if let Some(slice) = view.as_slice_mut() {
        write(slice);
        return;
    }
    buffer.clear();
    buffer.resize(view.len(), 0.0);
    write(buffer);
    let rows = ArrayView2::from_shape(view.raw_dim(), buffer.as_slice())
        .expect("the buffer has the view's shape");
    view.assign(&rows);
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
    fn any_memory_layout_gives_the_same_numbers() {
        let mut rng = RandomState::new(3);
        let mut d = Dense::new(19, 7, Init::XavierNormal, &mut rng).unwrap();
        let x = rng.rand(5, 19).unwrap();
        let g = rng.rand(5, 7).unwrap();
        let (mut y, mut gx) = (Array2::zeros((5, 7)), Array2::zeros((5, 19)));
        d.forward(x.view(), y.view_mut()).unwrap();
        d.backward(x.view(), y.view(), g.view(), Some(gx.view_mut()))
            .unwrap();
        let (dw, db) = (d.weight_grad().to_owned(), d.bias_grad().to_owned());
        // The same operands, column-major, and column-major outputs.
        let x_f = x.t().as_standard_layout().into_owned().reversed_axes();
        let g_f = g.t().as_standard_layout().into_owned().reversed_axes();
        let mut y_f = Array2::zeros((7, 5));
        let mut gx_f = Array2::zeros((19, 5));
        d.forward(x_f.view(), y_f.view_mut().reversed_axes())
            .unwrap();
        d.backward(
            x_f.view(),
            y.view(),
            g_f.view(),
            Some(gx_f.view_mut().reversed_axes()),
        )
        .unwrap();
        assert_eq!(y_f.t(), y);
        assert_eq!(gx_f.t(), gx);
        assert_eq!(d.weight_grad(), dw);
        assert_eq!(d.bias_grad(), db);
    }

    #[test]
    fn one_thread_or_several_give_the_same_bits() {
        // 2,200 x 784 x 10 multiply-adds (blocked kernels) and 256 x 400 x 200 (packed): over
        // the threshold for threads; in a pool of one thread, they run alone.
        let bits = |a: &Array2<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for (m, k, n) in [(2_200, 784, 10), (256, 400, 200)] {
            assert!(crate::parallel::threads_for(m * k * n) >= 2.min(rayon::current_num_threads()));
            let run = || {
                let mut rng = RandomState::new(4);
                let mut d = Dense::new(k, n, Init::XavierNormal, &mut rng).unwrap();
                let (x, g) = (rng.rand(m, k).unwrap(), rng.rand(m, n).unwrap());
                let (mut y, mut gx) = (Array2::zeros((m, n)), Array2::zeros((m, k)));
                d.forward(x.view(), y.view_mut()).unwrap();
                d.backward(x.view(), y.view(), g.view(), Some(gx.view_mut()))
                    .unwrap();
                [bits(&y), bits(&gx), bits(&d.weight_grad().to_owned())]
            };
            let alone = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap()
                .install(run);
            for threads in [2, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                assert!(pool.install(run) == alone, "{m}x{k}x{n}, {threads} threads");
            }
        }
    }

    #[test]
    fn weights_start_a_cache_line() {
        for (i, o) in [(1, 1), (3, 2), (784, 10), (17, 5)] {
            let d = Dense::new(i, o, Init::XavierNormal, &mut RandomState::new(5)).unwrap();
            assert_eq!(d.weight_t.as_ptr() as usize % 64, 0);
            assert_eq!(d.weight_t_grad.as_ptr() as usize % 64, 0);
            assert_eq!(d.weight_t.dim(), (o, i));
            assert!(d.weight_t.is_standard_layout());
        }
    }

    #[test]
    fn weights_read_back_as_given() {
        let w = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let mut d = Dense::from_parameters(w.clone(), array![[0.0, 0.0, 0.0]]).unwrap();
        assert_eq!(d.weight(), w);
        assert_eq!(d.parameters()[0].1, w);
        assert_eq!(d.weight_grad().dim(), (2, 3));
        let mut shapes = vec![];
        d.visit_parameters_mut(&mut |p| {
            assert_eq!(p.value.strides(), p.grad.strides());
            shapes.push((p.name, p.value.dim()));
        });
        assert_eq!(shapes, [("weight", (2, 3)), ("bias", (1, 3))]);
        // PyTorch's `nn.Linear.weight`, `(out, in)`, is the standard-layout transpose.
        assert_eq!(
            d.weight().t().as_slice(),
            Some(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0][..])
        );
    }

    #[test]
    fn gradients_pass_finite_differences() {
        let mut d = Dense::new(5, 3, Init::XavierNormal, &mut RandomState::new(1)).unwrap();
        let report = check_layer(&mut d, 4, 5, 11).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }

    #[test]
    fn rejects_non_finite_parameters_and_impossible_sizes() {
        for (w, b) in [
            (array![[f32::NAN, 1.0]], array![[0.0, 0.0]]),
            (array![[1.0, 1.0]], array![[0.0, f32::INFINITY]]),
        ] {
            assert!(matches!(
                Dense::from_parameters(w, b),
                Err(Error::InvalidConfig { .. })
            ));
        }
        for (i, o) in [(usize::MAX, 2), (2, usize::MAX), (1 << 33, 1 << 33)] {
            assert!(matches!(
                Dense::new(i, o, Init::Zeros, &mut RandomState::new(0)),
                Err(Error::TooLarge { .. })
            ));
        }
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
