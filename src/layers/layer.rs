//! The [`Layer`] trait, what a layer shows optimizers ([`Parameter`]) and what its output
//! means ([`OutputKind`]).

#[cfg(doc)]
use super::{BatchNorm1d, Dense, Dropout, Sigmoid, Softmax};
use super::{Inference, LayerSpec, Shape};
use crate::Result;
use ndarray::{ArrayView2, ArrayViewMut2};

/// One trainable parameter of a layer with its gradient, as optimizers see it.
///
/// Both matrices have the same shape and the same memory layout, contiguous but not necessarily
/// row-major ([`Dense`] shows its weights, stored `(out, in)`, as an `(in, out)` transposed
/// view), so an optimizer may work on both `as_slice_memory_order_mut()` element for element.
/// An optimizer that keeps state per element (momentum) indexes it in that memory order, which
/// stays the same from step to step.
#[derive(Debug)]
pub struct Parameter<'a> {
    /// The parameter's name within its layer (`"weight"`, `"bias"`), as PyTorch names it.
    pub name: &'static str,
    /// The values, updated in place by the optimizer.
    pub value: ArrayViewMut2<'a, f32>,
    /// dLoss/dValue from the last backward pass.
    pub grad: ArrayViewMut2<'a, f32>,
}

/// What a layer's output means, so that a model can pair it with a loss that has a fused,
/// numerically stable gradient (softmax followed by cross-entropy, sigmoid followed by binary
/// cross-entropy), check that the loss fits ([`Loss::check_output`](crate::Loss::check_output))
/// and report the metrics of the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputKind {
    /// Any other output: raw numbers (regression values, or logits).
    Plain,
    /// Row-wise softmax probabilities of the layer's input (the logits): one class per sample.
    SoftmaxProbabilities,
    /// Element-wise sigmoid probabilities of the layer's input (the logits): an independent
    /// yes/no probability per output.
    SigmoidProbabilities,
}

/// What [`Layer::backward_and_step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FusedStep {
    /// The backward pass only: the optimizer updates the layer's parameters.
    NotTaken,
    /// The backward pass and the step of every parameter of the layer.
    Taken {
        /// The first parameter, in [`visit_parameters_mut`](Layer::visit_parameters_mut)'s
        /// order, with a NaN or infinite new value (the step must then be undone by
        /// [`end_step`](Layer::end_step)`(false)`); `None` when every new value is finite.
        non_finite: Option<&'static str>,
    },
}

/// A differentiable map from a batch of rows to a batch of rows.
///
/// The model calls [`forward`](Layer::forward) with an output matrix already shaped
/// `(rows, output_width(input_width))`, and [`backward`](Layer::backward) with the same input and
/// output plus dLoss/dOutput. Implement the parameter methods only when the layer has parameters.
///
/// # Example: a layer that doubles its input
/// ```
/// use feedforward::prelude::*;
/// use feedforward::ndarray::{ArrayView2, ArrayViewMut2};
///
/// struct Double;
///
/// impl Layer for Double {
///     fn name(&self) -> &str { "Double" }
///     fn output_width(&self, input_width: usize) -> feedforward::Result<usize> { Ok(input_width) }
///     fn forward(&mut self, input: ArrayView2<f32>, mut output: ArrayViewMut2<f32>) -> feedforward::Result<()> {
///         output.zip_mut_with(&input, |y, &x| *y = 2.0 * x);
///         Ok(())
///     }
///     fn backward(
///         &mut self,
///         _input: ArrayView2<f32>,
///         _output: ArrayView2<f32>,
///         grad_output: ArrayView2<f32>,
///         grad_input: Option<ArrayViewMut2<f32>>,
///     ) -> feedforward::Result<()> {
///         if let Some(mut gi) = grad_input {
///             gi.zip_mut_with(&grad_output, |g, &go| *g = 2.0 * go);
///         }
///         Ok(())
///     }
/// }
///
/// let report = feedforward::gradcheck::check_layer(&mut Double, 3, 4, 7).unwrap();
/// assert!(report.max_relative_error < 1e-2);
/// ```
pub trait Layer: Send {
    /// A short name for messages and summaries (`"Dense"`, `"Softmax"`).
    fn name(&self) -> &str;

    /// The width of the output for an input of `input_width` columns, or an error saying why
    /// the layer cannot take such an input. Called once when a model is built (through
    /// [`build`](Layer::build)'s default) and by [`gradcheck`](crate::gradcheck).
    fn output_width(&self, input_width: usize) -> Result<usize>;

    /// Keras's `build`: prepares the layer for samples of shape `input` and returns the shape of
    /// its output, or an error saying why the layer cannot take such an input.
    /// [`Sequential`](crate::Sequential) calls it once per layer, in order, when the model is
    /// built, before any forward pass; a layer that needs its input's height and width
    /// ([`Conv2d`](super::Conv2d), the poolings) stores them here, and its
    /// [`output_width`](Layer::output_width) and forward pass then follow the shape of the last
    /// call.
    ///
    /// The default keeps every layer that implements only `output_width` working: the output
    /// has the input's shape when the width does not change (element-wise layers, [`Dropout`]
    /// keep an image an image) and is a flat row of `output_width(input.size())` values
    /// otherwise.
    ///
    /// ```
    /// use feedforward::layers::Shape;
    /// use feedforward::prelude::*;
    ///
    /// let image = Shape::image(6, 28, 28)?;
    /// assert_eq!(Relu.build(image)?, image);
    /// assert!(Dense::new(4704, 10, Init::Zeros, &mut RandomState::new(0))?
    ///     .build(image)
    ///     .unwrap_err()
    ///     .to_string()
    ///     .contains("Flatten"));
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    fn build(&mut self, input: Shape) -> Result<Shape> {
        let width = self.output_width(input.size())?;
        Ok(if width == input.size() {
            input
        } else {
            Shape::flat(width)
        })
    }

    /// Computes the output for `input`, writing every element of `output`.
    ///
    /// # Shapes
    /// - `input`: `(rows, in)`
    /// - `output`: `(rows, output_width(in))`
    fn forward(&mut self, input: ArrayView2<'_, f32>, output: ArrayViewMut2<'_, f32>)
        -> Result<()>;

    /// Back-propagates `grad_output` = dLoss/dOutput: stores the gradients of the layer's
    /// parameters (overwriting the previous ones) and, when `grad_input` is given, writes
    /// dLoss/dInput into it. `input` and `output` are those of the last forward pass.
    ///
    /// `grad_input` is `None` for the first layer of a model, whose input gradient nobody needs.
    ///
    /// # Shapes
    /// - `input`, `grad_input`: `(rows, in)`
    /// - `output`, `grad_output`: `(rows, out)`
    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()>;

    /// [`backward`](Layer::backward), and, when the layer can, the plain gradient step
    /// `p <- p - learning_rate dLoss/dp` of every one of its parameters taken in the same pass
    /// ([`Optimizer::plain_step_learning_rate`](crate::Optimizer::plain_step_learning_rate)):
    /// [`Dense`] applies it to each block of its weight gradient while the block is still in
    /// the registers, one sweep over the weights instead of three. The gradients are stored as
    /// by `backward`, and `grad_input` is computed from the parameters before the step.
    ///
    /// A layer that steps keeps a copy of what it changed, until
    /// [`end_step`](Layer::end_step): `end_step(false)` puts every stepped parameter back bit
    /// for bit (the step is all or nothing), `end_step(true)` keeps the step. Each element must
    /// be rounded as `p - (learning_rate * g)` in `f32`, as [`Sgd`](crate::optim::Sgd) rounds
    /// it, so that a model trains to the same bits whether its layers step or the optimizer
    /// does.
    ///
    /// The default runs `backward` and returns [`FusedStep::NotTaken`]: the optimizer then
    /// updates the parameters, as for every layer when the optimizer is not plain SGD.
    ///
    /// # Errors
    /// As [`backward`](Layer::backward); on an error nothing was stepped.
    fn backward_and_step(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
        learning_rate: f32,
    ) -> Result<FusedStep> {
        let _ = learning_rate;
        self.backward(input, output, grad_output, grad_input)?;
        Ok(FusedStep::NotTaken)
    }

    /// Calls `visit` on each parameter with its gradient, in a fixed order. Optimizers use it.
    fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        let _ = visit;
    }

    /// The parameters, read-only, named and in the same order as
    /// [`visit_parameters_mut`](Layer::visit_parameters_mut). Summaries and checkpoints use it.
    fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        Vec::new()
    }

    /// Switches between training and evaluation behaviour (dropout, for instance). Most layers
    /// behave the same in both and ignore it.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// What the output means; [`Softmax`] says [`OutputKind::SoftmaxProbabilities`] and
    /// [`Sigmoid`] [`OutputKind::SigmoidProbabilities`], so that a model can fuse them with
    /// cross-entropy and binary cross-entropy.
    fn output_kind(&self) -> OutputKind {
        OutputKind::Plain
    }

    /// Whether a NaN or an infinity anywhere in an input row always makes that row's output
    /// non-finite, whatever the layer's parameters. [`Dense`] says yes: every output sums every
    /// input times a weight, and `NaN * w`, `inf * 0` and `inf * w` are all NaN or infinite, as
    /// is any sum holding one (IEEE 754). When the first layer of a model says yes and its output
    /// is narrower than its input, the model checks that output for NaN and infinities instead
    /// of the input ([`Error::NonFiniteInput`](crate::Error::NonFiniteInput) is still named by
    /// the input's row and column: the input is searched when the output holds one), which
    /// reads less memory. The default, `false`, is always correct.
    fn propagates_non_finite(&self) -> bool {
        false
    }

    /// This layer's forward pass in evaluation mode through a shared reference, when it has
    /// one, so that [`Sequential::predict`](crate::Sequential::predict) can run parts of a
    /// batch through the model on several threads at once (see [`Inference`]). The default,
    /// `None`, is always correct: a model with such a layer predicts layer by layer, each
    /// layer splitting its own work. [`Dense`], [`Identity`](super::Identity),
    /// [`Softmax`](super::Softmax), [`Dropout`](super::Dropout), [`Flatten`](super::Flatten),
    /// [`Normalization`](super::Normalization)
    /// and the element-wise activations return themselves.
    fn inference(&self) -> Option<&dyn Inference> {
        None
    }

    /// The multiply-adds of the forward pass of one sample, which decides with the batch's
    /// size whether a training step or a prediction wakes more threads (see
    /// [`set_num_threads`](crate::set_num_threads)); an estimate is enough. The default, the
    /// number of parameters, is a [`Dense`] layer's count (`inputs outputs`); a layer that
    /// reuses its parameters across a sample says more: a [`Conv2d`](super::Conv2d)'s is
    /// `out_channels H_out W_out (in / groups) kh kw`.
    fn multiply_adds(&self) -> usize {
        self.parameters().iter().map(|(_, value)| value.len()).sum()
    }

    /// The layer's kind and settings, so that a checkpoint can rebuild it
    /// ([`Sequential::save`](crate::Sequential::save)). Every built-in layer has one; a layer
    /// written elsewhere keeps the default `None`, and its model is saved with
    /// [`save_weights`](crate::Sequential::save_weights) instead.
    fn spec(&self) -> Option<LayerSpec> {
        None
    }

    /// State that is not a trainable parameter but must be saved with the model, named as
    /// PyTorch names it ([`BatchNorm1d`]'s `running_mean` and `running_var`). Optimizers do not
    /// see buffers.
    fn buffers(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        Vec::new()
    }

    /// The generator the layer draws from while training ([`Dropout`]'s masks), if it has one.
    /// Training checkpoints save its state and
    /// [`generator_mut`](Layer::generator_mut) puts it back, so that a resumed run draws the
    /// same masks as an uninterrupted one. A layer written elsewhere that draws random numbers
    /// should return its generator from both.
    fn generator(&self) -> Option<&crate::random::RandomState> {
        None
    }

    /// The generator of [`generator`](Layer::generator), to restore its state.
    fn generator_mut(&mut self) -> Option<&mut crate::random::RandomState> {
        None
    }

    /// The fewest rows a batch must have for this layer's training-mode forward pass (2 for
    /// [`BatchNorm1d`], whose batch statistics need more than one sample; 1 by default).
    /// [`Sequential::fit`](crate::Sequential::fit) checks every batch size of an epoch against
    /// it before the first epoch.
    fn min_training_rows(&self) -> usize {
        1
    }

    /// Whether every buffer is finite. [`Sequential`](crate::Sequential) checks it after each
    /// training step's forward pass and rejects a step that would leave a buffer NaN or
    /// infinite. The default reads [`buffers`](Layer::buffers).
    fn buffers_are_finite(&self) -> bool {
        self.buffers()
            .iter()
            .all(|(_, b)| b.iter().all(|v| v.is_finite()))
    }

    /// Ends a training step of a [`Sequential`](crate::Sequential), called on every layer after
    /// the optimizer's update: with `commit`, the buffers keep what the step's forward pass made
    /// of them; without, the step failed (non-finite loss, update or buffer, or any error) and
    /// the layer puts its buffers back exactly as they were before that forward pass, and its
    /// parameters as they were before a [`backward_and_step`](Layer::backward_and_step) that
    /// stepped them. A layer
    /// whose training-mode forward pass changes its buffers (running statistics) must
    /// implement it; the default does nothing.
    fn end_step(&mut self, commit: bool) {
        let _ = commit;
    }

    /// Restores the buffer `name` (one of [`buffers`](Layer::buffers)) from a checkpoint.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a name the layer does not
    /// have (the default for every name), a shape or a value the buffer cannot take.
    fn set_buffer(&mut self, name: &str, value: ArrayView2<'_, f32>) -> Result<()> {
        let _ = value;
        Err(crate::Error::config(
            "buffer name",
            format!("{name:?}"),
            format!("one of the buffers of {}, which has none", self.name()),
        ))
    }
}

/// Checks, for a layer's `output_width`, that a layer built for `expected` input features is
/// given an input of that width, and returns `output_width` when it is.
pub(crate) fn fixed_input_width(
    layer: &str,
    expected: usize,
    input_width: usize,
    output_width: usize,
) -> Result<usize> {
    if input_width == expected {
        Ok(output_width)
    } else {
        Err(crate::Error::shape(
            layer,
            format!("{expected} input features"),
            format!("{input_width}"),
        ))
    }
}

/// Refuses an image input for a layer that works on flat rows only (`Dense`), with the fix that
/// Keras and PyTorch users expect: a `Flatten` before it.
pub(crate) fn flat_input(layer: &str, input: Shape) -> Result<()> {
    if input.is_image() {
        return Err(crate::Error::shape(
            layer,
            "a flat row of features: add a Flatten layer before it",
            format!("an image {input}"),
        ));
    }
    Ok(())
}

/// Checks that `input` has `expected` columns, for a layer's `forward`.
pub(crate) fn expect_width(
    layer: &str,
    input: &ArrayView2<'_, f32>,
    expected: usize,
) -> Result<()> {
    if input.ncols() == expected {
        Ok(())
    } else {
        Err(crate::Error::shape(
            layer,
            format!("(_, {expected})"),
            format!("{:?}", input.dim()),
        ))
    }
}

/// Checks that a matrix is `expected` `(rows, columns)`, for a layer's output or gradient.
pub(crate) fn expect_dim(
    context: &str,
    expected: (usize, usize),
    got: (usize, usize),
) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(crate::Error::shape(
            context,
            format!("{expected:?}"),
            format!("{got:?}"),
        ))
    }
}
