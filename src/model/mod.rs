//! [`Sequential`]: layers chained one after the other, and the tutorial's training loop.
//!
//! Building a model checks the chain once: each layer is asked for its output width given the
//! previous one, and a mismatch is an error naming the layer. Training is the tutorial's loop,
//! per batch: forward, loss, backward, optimizer step; per epoch: the average of the batch
//! losses. The model owns one activation buffer per layer and two gradient buffers, reused from
//! step to step, so that a warm training step allocates nothing.
//!
//! When the last layer makes probabilities of logits and the loss has a fused form for them
//! (a [`Softmax`](crate::layers::Softmax) with [`CrossEntropy`](struct@crate::losses::CrossEntropy),
//! a [`Sigmoid`](crate::layers::Sigmoid) with
//! [`BinaryCrossEntropy`](struct@crate::losses::BinaryCrossEntropy)), the model computes the loss
//! from the logits and starts back-propagation at the logits ([`FusedLoss`]), which is exact even
//! when the probabilities saturate. Before training or evaluating, the model asks the loss whether
//! it fits the last layer ([`Loss::check_output`]), so that a wrong pairing is an error naming the
//! fix instead of a model that trains to nothing.
//!
//! ```
//! use feedforward::prelude::*;
//!
//! let mut rng = RandomState::new(0);
//! let mut model = Sequential::builder(4)
//!     .push(Dense::new(4, 8, Init::HeNormal, &mut rng)?)
//!     .push(Relu)
//!     .push(Dense::new(8, 3, Init::XavierNormal, &mut rng)?)
//!     .push(Softmax)
//!     .build()?;
//! let x = rng.rand(5, 4)?;
//! let y = feedforward::data::one_hot(&[0, 1, 2, 1, 0], 3)?;
//! let mut sgd = Sgd::new(0.1)?;
//! let first = model.train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)?;
//! for _ in 0..50 {
//!     model.train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)?;
//! }
//! assert!(model.train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)? < first);
//! # Ok::<(), feedforward::Error>(())
//! ```

pub(crate) mod backup;
pub(crate) mod callbacks;
mod evaluate;
mod finite;
mod fit;
mod history;
mod pending_step;
mod predict;
mod predict_in_parts;
#[cfg(feature = "mpi")]
mod shared_tally;
mod step;
mod summary;

pub use crate::layers::LayerRegistry;
pub use backup::Backup;
/// The printer of `Verbosity::Epochs`, also `distributed`'s loop's.
#[cfg(feature = "mpi")]
pub(crate) use callbacks::EpochPrinter;
#[cfg(feature = "indicatif")]
pub use callbacks::ProgressBar;
pub use callbacks::{Callback, CallbackState, Control, CsvLogger, EarlyStopping, Monitor};
pub use evaluate::Evaluation;
#[cfg(feature = "mpi")]
pub(crate) use fit::{check_schedule, split_fraction};
pub use fit::{FitConfig, FitError, Validation, Verbosity};
pub use history::{EpochLog, History, Progress};
pub use pending_step::PendingStep;
pub use predict::{ClassPredictions, PREDICT_CHUNK_BYTES};
#[cfg(feature = "mpi")]
pub(crate) use shared_tally::SharedTally;
pub use summary::{LayerSummary, Summary};

use crate::data::Dataset;
use crate::init::Init;
use crate::layers::{Dense, Layer, LayerSpec, OutputKind, Shape};
use crate::losses::{FusedLoss, Loss, ModelOutput};
use crate::metrics::Task;
use crate::optim::Optimizer;
use crate::parallel;
use crate::random::RandomState;
use crate::workspace::Buffer;
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2};

/// A feed-forward model: layers applied in order.
pub struct Sequential {
    pub(crate) layers: Vec<Box<dyn Layer>>,
    /// `widths[0]` is the input width, `widths[i + 1]` the output width of layer `i`.
    widths: Vec<usize>,
    /// The shapes of one sample that `widths` count: `shapes[0]` the input's, `shapes[i + 1]`
    /// layer `i`'s output.
    shapes: Vec<Shape>,
    /// Output of each layer for the last forward pass.
    activations: Vec<Buffer>,
    /// Which layers took this step's update within their backward pass
    /// ([`Layer::backward_and_step`]), one flag per layer.
    stepped: Vec<bool>,
    /// Ping-pong buffers for dLoss/dActivation during backward.
    gradients: [Buffer; 2],
    /// A batch copied out of a data set by `fit` and `evaluate`.
    batch_inputs: Buffer,
    batch_targets: Buffer,
    /// The output of a [`predict`](Sequential::predict) that went in several chunks.
    predictions: Buffer,
    training: Option<bool>,
    pub(crate) steps: usize,
    /// Elements of the largest parameter (kept: `Layer::parameters` allocates), which with
    /// `widths` decides whether a batch's step splits over threads
    /// ([`Sequential::with_threads`]).
    largest_parameter: usize,
    /// The multiply-adds of one sample's forward pass through every layer
    /// ([`Layer::multiply_adds`]), which with `largest_parameter` decides whether a batch's
    /// step splits over threads.
    sample_work: usize,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.layers.iter().map(|l| l.name()).collect();
        f.debug_struct("Sequential")
            .field("layers", &names)
            .field("shapes", &self.shapes)
            .finish()
    }
}

/// Collects layers for a [`Sequential`]; [`build`](SequentialBuilder::build) checks the chain.
///
/// [`dense`](SequentialBuilder::dense) adds a [`Dense`] layer given only its output width, as
/// Keras's `Dense(units)`: the input width is the output width of the layers before it, and
/// the weights are drawn from the builder's generator, seeded with 0 unless
/// [`seed`](SequentialBuilder::seed) or [`rng`](SequentialBuilder::rng) says otherwise.
///
/// ```
/// use feedforward::prelude::*;
///
/// let model = Sequential::builder(30)
///     .seed(42)
///     .dense(64, Init::HeNormal) // Dense::new(30, 64, ...)
///     .push(Relu)
///     .dense(2, Init::XavierNormal) // Dense::new(64, 2, ...)
///     .push(Softmax)
///     .build()?;
/// assert_eq!(model.parameter_count(), 30 * 64 + 64 + 64 * 2 + 2);
/// # Ok::<(), feedforward::Error>(())
/// ```
pub struct SequentialBuilder {
    input: Shape,
    pub(crate) layers: Vec<Box<dyn Layer>>,
    rng: RandomState,
    /// The first error of a [`dense`](SequentialBuilder::dense) call, returned by `build`.
    error: Option<Error>,
}

impl SequentialBuilder {
    /// Appends a layer.
    pub fn push(mut self, layer: impl Layer + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a boxed layer (a layer chosen at run time).
    pub fn push_boxed(mut self, layer: Box<dyn Layer>) -> Self {
        self.layers.push(layer);
        self
    }

    /// Draws the weights of the following [`dense`](SequentialBuilder::dense) layers from a
    /// numpy-compatible generator seeded with `seed` (0 when not called).
    pub fn seed(mut self, seed: u32) -> Self {
        self.rng = RandomState::new(seed);
        self
    }

    /// Draws the weights of the following [`dense`](SequentialBuilder::dense) layers from
    /// `rng`.
    pub fn rng(mut self, rng: RandomState) -> Self {
        self.rng = rng;
        self
    }

    /// Appends a [`Dense`] layer to `outputs` features whose input width is the output width
    /// of the layers so far, with weights drawn by `init` (`Dense::new(width, outputs, init,
    /// rng)`) and a zero bias.
    ///
    /// An error (a zero width, layers so far that do not chain) is returned by
    /// [`build`](SequentialBuilder::build).
    pub fn dense(mut self, outputs: usize, init: Init) -> Self {
        if self.error.is_none() {
            let layer = self
                .current_shape()
                .and_then(|input| Dense::new(input.size(), outputs, init, &mut self.rng));
            match layer {
                Ok(layer) => self.layers.push(Box::new(layer)),
                Err(e) => self.error = Some(e),
            }
        }
        self
    }

    /// Builds the model, checking that every layer accepts its predecessor's output.
    ///
    /// # Errors
    /// As [`Sequential::new`], and the first error of a [`dense`](SequentialBuilder::dense)
    /// call.
    pub fn build(self) -> Result<Sequential> {
        match self.error {
            Some(error) => Err(error),
            None => Sequential::with_input_shape(self.input, self.layers),
        }
    }

    /// The output shape of the layers so far (the input's without layers).
    fn current_shape(&mut self) -> Result<Shape> {
        let shapes = build_layers(self.input, &mut self.layers)?;
        Ok(*shapes.last().expect("the input's shape comes first"))
    }
}

/// Builds `layers` in order for samples of shape `input` ([`Layer::build`]): the input's shape
/// and every layer's output shape, or [`Error::LayerMismatch`] naming the first layer that
/// cannot take its predecessor's output.
fn build_layers(input: Shape, layers: &mut [Box<dyn Layer>]) -> Result<Vec<Shape>> {
    let mut shapes = Vec::with_capacity(layers.len() + 1);
    shapes.push(input);
    for (index, layer) in layers.iter_mut().enumerate() {
        let input = *shapes.last().expect("shapes starts non-empty");
        let output = layer.build(input).map_err(|e| Error::LayerMismatch {
            index,
            layer: layer.name().to_string(),
            input_width: input.size(),
            input_shape: input.to_string(),
            reason: e.to_string(),
        })?;
        shapes.push(output);
    }
    Ok(shapes)
}

/// A copy of a model's parameters and buffers (batch-norm running statistics), from
/// [`Sequential::snapshot`].
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    parameters: Vec<Array2<f32>>,
    /// `(layer index, buffer name, value)`.
    buffers: Vec<(usize, &'static str, Array2<f32>)>,
}

impl Snapshot {
    /// A snapshot from its parts (training checkpoints read them back).
    pub(crate) fn from_parts(
        parameters: Vec<Array2<f32>>,
        buffers: Vec<(usize, &'static str, Array2<f32>)>,
    ) -> Self {
        Snapshot {
            parameters,
            buffers,
        }
    }

    /// The parameters, in model order.
    pub(crate) fn parameters(&self) -> &[Array2<f32>] {
        &self.parameters
    }

    /// The buffers, as `(layer index, buffer name, value)`.
    pub(crate) fn buffers(&self) -> &[(usize, &'static str, Array2<f32>)] {
        &self.buffers
    }
}

impl Sequential {
    /// A model taking rows of `input_width` features through `layers` in order.
    ///
    /// # Errors
    /// [`Error::Empty`] without layers or with a zero input width; [`Error::LayerMismatch`]
    /// naming the first layer that cannot take its predecessor's output.
    pub fn new(input_width: usize, layers: Vec<Box<dyn Layer>>) -> Result<Self> {
        Sequential::with_input_shape(Shape::flat(input_width), layers)
    }

    /// A model taking samples of shape `input` (an image's row holds it in PyTorch's
    /// `(channels, height, width)` order) through `layers` in order. Each layer is built
    /// ([`Layer::build`]) with its predecessor's output shape.
    ///
    /// # Errors
    /// As [`Sequential::new`]; [`Error::LayerMismatch`] names the layer, the input shape it was
    /// given and what it expected (a [`Dense`] after an image says to add a
    /// [`Flatten`](crate::layers::Flatten)).
    pub fn with_input_shape(input: Shape, mut layers: Vec<Box<dyn Layer>>) -> Result<Self> {
        if layers.is_empty() {
            return Err(Error::Empty {
                what: "model".into(),
                hint: "add at least one layer".into(),
            });
        }
        if input.size() == 0 {
            return Err(Error::Empty {
                what: "model input".into(),
                hint: "the input width must be at least 1".into(),
            });
        }
        let shapes = build_layers(input, &mut layers)?;
        let widths = shapes.iter().map(Shape::size).collect();
        let largest_parameter = layers
            .iter()
            .flat_map(|layer| layer.parameters())
            .map(|(_, value)| value.len())
            .max()
            .unwrap_or(0);
        let sample_work = layers
            .iter()
            .map(|layer| layer.multiply_adds())
            .fold(0usize, usize::saturating_add);
        Ok(Sequential {
            sample_work,
            activations: vec![Buffer::default(); layers.len()],
            stepped: vec![false; layers.len()],
            layers,
            widths,
            shapes,
            largest_parameter,
            gradients: Default::default(),
            batch_inputs: Buffer::default(),
            batch_targets: Buffer::default(),
            predictions: Buffer::default(),
            training: None,
            steps: 0,
        })
    }

    /// A model of fresh layers built from `specs` (see [`LayerSpec::build`]), for rows of
    /// `input_width` features.
    ///
    /// # Errors
    /// A layer's [`Error::InvalidConfig`] for settings out of range, and the errors of
    /// [`Sequential::new`].
    pub fn from_specs(input_width: usize, specs: &[LayerSpec]) -> Result<Sequential> {
        Sequential::from_specs_shaped(Shape::flat(input_width), specs)
    }

    /// A model of fresh layers built from `specs`, for samples of shape `input` (an image for
    /// convolutional layers).
    ///
    /// # Errors
    /// As [`Sequential::from_specs`] and [`Sequential::with_input_shape`].
    pub fn from_specs_shaped(input: Shape, specs: &[LayerSpec]) -> Result<Sequential> {
        let layers = specs.iter().map(LayerSpec::build).collect::<Result<_>>()?;
        Sequential::with_input_shape(input, layers)
    }

    /// Starts a model for rows of `input_width` features; add layers, then `build`.
    pub fn builder(input_width: usize) -> SequentialBuilder {
        Sequential::builder_shaped(Shape::flat(input_width))
    }

    /// Starts a model for images of `channels` planes of `height` by `width` values, each
    /// sample's row in PyTorch's `(channels, height, width)` order (MNIST:
    /// `builder_image(1, 28, 28)`, see [`LabeledImages::shape`](crate::data::mnist::LabeledImages::shape)).
    /// A dimension of 0, or a size that cannot be allocated, is an error of
    /// [`build`](SequentialBuilder::build).
    ///
    /// ```
    /// use feedforward::prelude::*;
    ///
    /// let mut rng = RandomState::new(0);
    /// let model = Sequential::builder_image(1, 28, 28)
    ///     .push(Conv2d::config(1, 6, 5).padding(2).build(&mut rng)?)
    ///     .push(Relu)
    ///     .push(MaxPool2d::new(2)?)
    ///     .push(Flatten)
    ///     .dense(10, Init::XavierUniform)
    ///     .push(Softmax)
    ///     .build()?;
    /// assert_eq!(model.output_shapes()[2], Shape::image(6, 14, 14)?);
    /// assert_eq!(model.output_shapes()[3], Shape::flat(6 * 14 * 14));
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    pub fn builder_image(channels: usize, height: usize, width: usize) -> SequentialBuilder {
        match Shape::image(channels, height, width) {
            Ok(shape) => Sequential::builder_shaped(shape),
            Err(error) => SequentialBuilder {
                error: Some(error),
                ..Sequential::builder_shaped(Shape::flat(1))
            },
        }
    }

    /// Starts a model for samples of shape `input`; add layers, then `build`.
    pub fn builder_shaped(input: Shape) -> SequentialBuilder {
        SequentialBuilder {
            input,
            layers: Vec::new(),
            rng: RandomState::new(0),
            error: None,
        }
    }

    /// Width of the input rows.
    pub fn input_width(&self) -> usize {
        self.widths[0]
    }

    /// Width of the output rows.
    pub fn output_width(&self) -> usize {
        self.widths[self.layers.len()]
    }

    /// The shape of one input sample (its row holds [`input_width`](Sequential::input_width)
    /// values).
    pub fn input_shape(&self) -> Shape {
        self.shapes[0]
    }

    /// The shape of each layer's output for one sample, in order (what the
    /// [`summary`](Sequential::summary) prints).
    pub fn output_shapes(&self) -> &[Shape] {
        &self.shapes[1..]
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// Training steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Every parameter, named as PyTorch's `nn.Sequential` names them (`"0.weight"`, `"0.bias"`).
    pub fn parameters(&self) -> Vec<(String, ArrayView2<'_, f32>)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, layer)| {
                layer
                    .parameters()
                    .into_iter()
                    .map(move |(name, value)| (format!("{i}.{name}"), value))
            })
            .collect()
    }

    /// Number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| l.parameters())
            .map(|(_, p)| p.len())
            .sum()
    }

    /// One training step on a batch: forward, loss, backward, optimizer step. Returns the
    /// batch's loss (before the update).
    ///
    /// # Errors
    /// Shape errors for inputs or targets that do not fit the model, [`Error::LossMismatch`]
    /// when the loss does not fit the last layer, [`Error::InvalidTarget`] for targets the loss
    /// cannot take (row numbers within this batch), [`Error::NonFiniteInput`] naming the row
    /// (within this batch) and column of a NaN or infinite input, and
    /// [`Error::NonFiniteLoss`] (without touching the parameters) when the loss is NaN or
    /// infinite; nothing changes on any of them.
    pub fn train_step(
        &mut self,
        inputs: ArrayView2<'_, f32>,
        targets: ArrayView2<'_, f32>,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
    ) -> Result<f32> {
        self.check_inputs(&inputs)?;
        self.check_targets(&inputs, &targets)?;
        self.check_loss(loss)?;
        self.set_training(true);
        self.step(inputs, targets, loss, optimizer)
    }

    /// Every buffer (state saved with the model that is not a trainable parameter, such as
    /// [`BatchNorm1d`](crate::layers::BatchNorm1d)'s running statistics), named as PyTorch's
    /// `state_dict` names them (`"1.running_mean"`).
    pub fn buffers(&self) -> Vec<(String, ArrayView2<'_, f32>)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, layer)| {
                layer
                    .buffers()
                    .into_iter()
                    .map(move |(name, value)| (format!("{i}.{name}"), value))
            })
            .collect()
    }

    /// A copy of every parameter and every buffer (batch-norm running statistics), to
    /// [`restore`](Sequential::restore) later: early stopping keeps the best epoch's this way.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            parameters: self
                .parameters()
                .into_iter()
                .map(|(_, value)| value.to_owned())
                .collect(),
            buffers: self
                .layers
                .iter()
                .enumerate()
                .flat_map(|(i, layer)| {
                    layer
                        .buffers()
                        .into_iter()
                        .map(move |(name, value)| (i, name, value.to_owned()))
                })
                .collect(),
        }
    }

    /// Puts back the parameters and buffers of a [`snapshot`](Sequential::snapshot) of this
    /// model.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] (and nothing changed) when the snapshot comes from a model with
    /// other parameters or buffers; a layer's error (and nothing changed) when it refuses a
    /// buffer's value.
    pub fn restore(&mut self, snapshot: &Snapshot) -> Result<()> {
        let current = self.snapshot();
        let shapes = |s: &Snapshot| {
            let parameters: Vec<(usize, usize)> = s.parameters.iter().map(|p| p.dim()).collect();
            let buffers: Vec<(usize, &str, (usize, usize))> = s
                .buffers
                .iter()
                .map(|(i, n, b)| (*i, *n, b.dim()))
                .collect();
            (parameters, buffers)
        };
        if shapes(&current) != shapes(snapshot) {
            return Err(Error::shape(
                "snapshot",
                format!("parameters and buffers of shapes {:?}", shapes(&current)),
                format!("{:?}", shapes(snapshot)),
            ));
        }
        let result = self.assign_snapshot(snapshot);
        if result.is_err() {
            // Put back what was there; the same values were accepted before.
            let _ = self.assign_snapshot(&current);
        }
        result
    }

    /// Writes a snapshot of matching shapes into the layers.
    fn assign_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        let mut index = 0;
        for layer in &mut self.layers {
            layer.visit_parameters_mut(&mut |mut parameter| {
                parameter.value.assign(&snapshot.parameters[index]);
                index += 1;
            });
        }
        for (layer, name, value) in &snapshot.buffers {
            self.layers[*layer].set_buffer(name, value.view())?;
        }
        Ok(())
    }

    /// Switches every layer between training and evaluation behaviour.
    pub fn set_training(&mut self, training: bool) {
        if self.training != Some(training) {
            for layer in &mut self.layers {
                layer.set_training(training);
            }
            self.training = Some(training);
        }
    }

    /// Runs `f` on the model, with rayon's threads kept awake
    /// ([`parallel::with_threads_awake`]) when a batch of `rows` rows splits any product or
    /// element-wise pass over threads: the whole forward pass's products (`rows` times the sum
    /// of the layers' [`Layer::multiply_adds`]: a step of LeNet-5 at a batch of 64 splits, though
    /// each of its products alone would be too small to wake a sleeping thread), the largest
    /// parameter's update, the widest activation.
    fn with_threads<R: Send>(&mut self, rows: usize, f: impl FnOnce(&mut Self) -> R + Send) -> R {
        let work = rows.saturating_mul(self.largest_parameter.max(self.sample_work));
        let widest = self.widths.iter().copied().max().unwrap_or(0);
        let elements = self.largest_parameter.max(rows.saturating_mul(widest));
        if parallel::splits(work, elements) {
            // On the pool of `set_num_threads` when one is set, else on rayon's global pool.
            match crate::threads::pool() {
                Some(pool) => pool.install(|| parallel::with_threads_awake(|| f(self))),
                None => parallel::with_threads_awake(|| f(self)),
            }
        } else {
            f(self)
        }
    }

    /// What the last layer's output means.
    fn output_kind(&self) -> OutputKind {
        self.layers
            .last()
            .map_or(OutputKind::Plain, |l| l.output_kind())
    }

    /// The fused form of `loss` for the last layer's output, if it has one.
    fn fused_loss<'l>(&self, loss: &'l dyn Loss) -> Option<&'l dyn FusedLoss> {
        loss.fused(self.output_kind())
    }

    /// Checks that `loss` fits the last layer ([`Loss::check_output`]).
    fn check_loss(&self, loss: &dyn Loss) -> Result<()> {
        let last = self.layers.last().map_or("input", |l| l.name());
        loss.check_output(&ModelOutput {
            layer: last,
            kind: self.output_kind(),
            width: self.output_width(),
        })
    }

    /// What the model predicts: the last layer says, or else the loss.
    fn task(&self, loss: &dyn Loss) -> Task {
        match self.output_kind() {
            OutputKind::SoftmaxProbabilities => Task::Classification,
            OutputKind::SigmoidProbabilities => Task::Binary,
            _ => loss.task(),
        }
    }

    /// The input of the last layer: the logits when it is a softmax or a sigmoid.
    fn logits<'a>(&'a self, inputs: ArrayView2<'a, f32>) -> ArrayView2<'a, f32> {
        match self.layers.len() {
            1 => inputs,
            n => self.activations[n - 2].view(),
        }
    }

    /// Runs every layer forward, filling the activation buffers, after refusing a NaN or
    /// infinite input ([`Error::NonFiniteInput`], rows numbered from `first_row`): checked before
    /// the first layer, or after it when it is a narrower [`Layer::propagates_non_finite`] layer
    /// (`finite.rs`).
    fn forward(&mut self, inputs: ArrayView2<'_, f32>, first_row: usize) -> Result<()> {
        let rows = inputs.nrows();
        let check_after_first = self.checks_inputs_after_first_layer();
        if !check_after_first {
            Self::check_finite_inputs(inputs, first_row)?;
        }
        for i in 0..self.layers.len() {
            let (done, rest) = self.activations.split_at_mut(i);
            let output = &mut rest[0];
            output.try_reshape("layer outputs", rows, self.widths[i + 1])?;
            let input = match done.last() {
                Some(previous) => previous.view(),
                None => inputs,
            };
            self.layers[i].forward(input, output.view_mut())?;
            if i == 0 && check_after_first && !finite::all_finite_matrix(self.activations[0].view())
            {
                Self::check_finite_inputs(inputs, first_row)?;
            }
        }
        Ok(())
    }

    /// Copies the rows of a batch out of `data` into the batch buffers.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when a batch that size cannot be allocated; the data set's read
    /// error (see [`Dataset::fill_batch`]).
    fn load_batch(&mut self, data: &dyn Dataset, rows: &[usize]) -> Result<()> {
        self.batch_inputs
            .try_reshape("batch inputs", rows.len(), data.input_width())?;
        self.batch_targets
            .try_reshape("batch targets", rows.len(), data.target_width())?;
        data.fill_batch(
            rows,
            self.batch_inputs.view_mut(),
            self.batch_targets.view_mut(),
        )
    }

    fn check_inputs(&self, inputs: &ArrayView2<'_, f32>) -> Result<()> {
        if inputs.nrows() == 0 {
            return Err(Error::Empty {
                what: "inputs".into(),
                hint: "give at least one row".into(),
            });
        }
        if inputs.ncols() != self.input_width() {
            return Err(Error::shape(
                "model inputs",
                format!("(_, {}): one row per sample", self.input_width()),
                format!("{:?}", inputs.dim()),
            ));
        }
        Ok(())
    }

    fn check_targets(
        &self,
        inputs: &ArrayView2<'_, f32>,
        targets: &ArrayView2<'_, f32>,
    ) -> Result<()> {
        if targets.nrows() != inputs.nrows() {
            return Err(Error::RowCountMismatch {
                inputs: inputs.nrows(),
                targets: targets.nrows(),
            });
        }
        if targets.ncols() != self.output_width() {
            return Err(Error::shape(
                "targets",
                format!("(_, {}) like the model's output", self.output_width()),
                format!("{:?}", targets.dim()),
            ));
        }
        Ok(())
    }

    fn check_dataset(&self, data: &dyn Dataset) -> Result<()> {
        if data.is_empty() {
            return Err(Error::Empty {
                what: "data set".into(),
                hint: "give at least one row".into(),
            });
        }
        if data.input_width() != self.input_width() {
            return Err(Error::shape(
                "data set inputs",
                format!(
                    "{} features per row, the model's input width",
                    self.input_width()
                ),
                data.input_width().to_string(),
            ));
        }
        if data.target_width() != self.output_width() {
            return Err(Error::shape(
                "data set targets",
                format!(
                    "{} values per row, the model's output width",
                    self.output_width()
                ),
                data.target_width().to_string(),
            ));
        }
        Ok(())
    }
}
