//! # feedforward
//!
//! Feed-forward neural networks on the CPU, grown from the tutorial *Les bases de
//! l'apprentissage profond*: a perceptron that learns `f(x) = 2x + 1`, then a softmax classifier
//! on MNIST. A batch is an [`ndarray`] matrix with one row per sample (`f32`); a [`Layer`] maps
//! it forward and a gradient backward; a [`Loss`] turns the output into a number and the first
//! gradient; an [`Optimizer`] updates the parameters; a [`Sequential`] chains layers and runs
//! the tutorial's training loop.
//!
//! ## The tour: the tutorial's perceptron in a few lines
//! ```
//! use feedforward::prelude::*;
//! use feedforward::ndarray::array;
//!
//! // np.random.seed(42); X = np.random.rand(2, 1); y = 2 * X + 1
//! let mut rng = RandomState::new(42);
//! let x = rng.rand(2, 1)?;
//! let y = x.mapv(|v| 2.0 * v + 1.0);
//! // w = np.random.randn(); b = np.random.randn()
//! let w = rng.standard_normal() as f32;
//! let b = rng.standard_normal() as f32;
//!
//! let mut model = Sequential::builder(1)
//!     .push(Dense::from_parameters(array![[w]], array![[b]])?)
//!     .push(Identity)
//!     .build()?;
//! let data = InMemory::new(x, y)?;
//! let mut sgd = Sgd::new(0.1)?;
//! let history = model.fit(&data, &HalfMse, &mut sgd, &FitConfig::new(1001))?;
//! assert_eq!(format!("{:.4}", history.epoch_losses[0]), "0.1455"); // Époque 0, Perte : 0.1455
//! let params = model.parameters();
//! assert_eq!(format!("{:.4}", params[0].1[[0, 0]]), "1.9961"); // Poids: 1.9961
//! # Ok::<(), feedforward::Error>(())
//! ```
//!
//! ## Where things are
//! - [`layers`]: the [`Layer`] trait, [`Dense`](layers::Dense), [`Softmax`](layers::Softmax),
//!   activations, [`Dropout`](layers::Dropout), [`BatchNorm1d`](layers::BatchNorm1d),
//!   images ([`Conv2d`](layers::Conv2d), [`MaxPool2d`](layers::MaxPool2d),
//!   [`AvgPool2d`](layers::AvgPool2d), [`GlobalAvgPool2d`](layers::GlobalAvgPool2d),
//!   [`BatchNorm2d`](layers::BatchNorm2d), [`Flatten`](layers::Flatten), each sample's
//!   [`Shape`](layers::Shape) tracked by the model),
//!   [`LayerNorm`](layers::LayerNorm), [`Normalization`](layers::Normalization) (inputs
//!   standardised with statistics learned from the training data); [`losses`]:
//!   [`CrossEntropy`](struct@losses::CrossEntropy),
//!   [`BinaryCrossEntropy`](struct@losses::BinaryCrossEntropy), [`Mse`](losses::Mse),
//!   [`Mae`](losses::Mae), [`Huber`](losses::Huber), [`HalfMse`](losses::HalfMse); [`optim`]: [`Sgd`](optim::Sgd),
//!   [`Adam`](optim::Adam), [`AdamW`](optim::AdamW), learning-rate schedules; [`init`]: weight
//!   initialisers.
//! - [`model`]: [`Sequential`], its training loop ([`fit`](Sequential::fit), with validation,
//!   schedules and callbacks such as [`EarlyStopping`](model::EarlyStopping)), evaluation and
//!   [`summary`](Sequential::summary).
//! - [`io`]: the files. [`io::checkpoint`]: [`save`](Sequential::save) and [`load`](Sequential::load) a model
//!   as a safetensors file that PyTorch reads; [`LayerSpec`](layers::LayerSpec) records the
//!   architecture, and a [`LayerRegistry`](model::LayerRegistry) rebuilds your own layers
//!   ([`load_with`](Sequential::load_with)). [`io::training_checkpoint`]: training that
//!   survives a crash ([`FitConfig::checkpoint`]), resumed bit for bit.
//! - [`io::onnx`] (feature `onnx`, on by default): [`save_onnx`](Sequential::save_onnx)
//!   exports a model to ONNX, for onnxruntime, tract, browsers and phones.
//! - [`data`]: the [`Dataset`](data::Dataset) trait, in-memory data, MNIST, tables from CSV
//!   files ([`data::csv`], feature `csv`, on by default), splits (plain or stratified, as
//!   scikit-learn's) and batches.
//! - [`metrics`]: accuracy, confusion matrix, precision and recall; binary and multi-label
//!   accuracy; MSE, RMSE, MAE and R^2 as scikit-learn computes them.
//! - [`plot`] (feature `plot`, on by default): a [`History`] as loss and metric curves and a
//!   confusion matrix as a heat map, written as SVG files; [`Chart`](plot::Chart) for your own.
//! - [`random`]: a numpy-compatible generator, so the tutorial's numbers are reproducible.
//! - [`gradcheck`]: finite-difference checks for anyone writing a layer.
//!
//! ## Writing a layer
//! Implement [`Layer`] for your type. The model hands every call the views it needs, so a layer
//! only stores its own parameters and their gradients:
//! 1. [`name`](Layer::name) and [`output_width`](Layer::output_width), which the model calls once
//!    when it is built to check the chain of widths;
//! 2. [`forward`](Layer::forward): read the input, write every element of the output;
//! 3. [`backward`](Layer::backward): from dLoss/dOutput, store your parameters' gradients and,
//!    when `grad_input` is `Some`, write dLoss/dInput;
//! 4. if the layer has parameters, [`visit_parameters_mut`](Layer::visit_parameters_mut) (for
//!    optimizers) and [`parameters`](Layer::parameters) (for summaries and snapshots); if it
//!    behaves differently while training, [`set_training`](Layer::set_training).
//!
//! Then test it in a few lines with [`gradcheck::check_layer`], which compares your backward pass
//! with finite differences for every input and parameter element. The [`Layer`] docs show a
//! complete parameter-free layer; `examples/custom_layer/` walks through one with a trainable
//! parameter (Swish with a learned slope), checks it, and trains a model with it.
//!
//! ## Threads
//! Large products (16 M multiply-adds or more: a batch of 32 through 1024 x 1024 weights) and
//! element-wise passes over 512 K elements or more run on rayon's global pool, one thread per
//! core. Choose how many with [`set_num_threads`]`(Some(n))` in the program (PyTorch's
//! `torch.set_num_threads`; it takes precedence), with `RAYON_NUM_THREADS=n` in the
//! environment, or by calling the model inside your own pool's
//! [`install`](https://docs.rs/rayon/latest/rayon/struct.ThreadPool.html#method.install);
//! [`num_threads`] tells how many it uses. The work is split in fixed parts and never along a sum, so the results are
//! bit-identical on any number of threads. While such a step (or forward pass) runs, the pool's
//! other threads wait for work spinning rather than sleeping, as OpenMP's do between parallel
//! regions, and smaller passes split too; `OMP_WAIT_POLICY=passive` turns that off. The small
//! models (the tutorial's, 784-256-128-10 at a batch of 32) stay on the calling thread.
#![warn(missing_docs)]

mod allocation;
pub mod data;
#[cfg(feature = "mpi")]
pub mod distributed;
pub mod error;
pub mod gradcheck;
pub mod init;
pub mod io;
pub mod layers;
pub mod losses;
pub mod metrics;
pub mod model;
pub mod optim;
mod parallel;
#[cfg(feature = "plot")]
pub mod plot;
mod quote;
pub mod random;
mod task;
mod threads;
mod workspace;

/// The `ndarray` this crate is built on: `feedforward::ndarray::Array2` is the type its API
/// takes and returns, whatever version of `ndarray` a dependent uses itself.
pub use ndarray;
/// The `rand` (0.9) that [`Init::sample_from`](init::Init::sample_from) and
/// [`RandomState`](random::RandomState)'s `RngCore` implementation speak: use its generators
/// (`feedforward::rand::rngs::StdRng`) to draw weights without numpy's stream.
pub use ndarray_rand::rand;
/// The `serde_json` whose `Value` holds a custom layer's settings
/// ([`LayerSpec::custom`](layers::LayerSpec::custom)).
pub use serde_json;

pub use error::{Error, Result};
pub use layers::Layer;
pub use losses::Loss;
pub use model::{Evaluation, FitConfig, FitError, History, Progress, Sequential, Verbosity};
pub use optim::Optimizer;
pub use task::Task;
pub use threads::{num_threads, set_num_threads};

/// Everything a training script needs, in one `use feedforward::prelude::*`: data (in memory,
/// CSV tables, splits), layers, losses, metrics, optimizers and schedules, the model with its
/// training settings and callbacks, and the generator.
///
/// `ndarray` itself is not in the prelude (a glob import of it would clash with a dependent's
/// own `ndarray`); use `feedforward::ndarray` when your `ndarray` version differs.
pub mod prelude {
    #[cfg(feature = "csv")]
    pub use crate::data::csv::{CsvReader, Missing, Table, TableEncoding, Task};
    pub use crate::data::{
        one_hot, stratified_train_test_split, train_test_split, Dataset, InMemory, Split,
    };
    pub use crate::init::Init;
    pub use crate::layers::{
        AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dense, Dropout, Elu, Flatten, Gelu, GeluTanh,
        GlobalAvgPool2d, Identity, Layer, LayerNorm, LeakyRelu, MaxPool2d, Normalization, Padding,
        Relu, Shape, Sigmoid, Softmax, Tanh,
    };
    pub use crate::losses::{BinaryCrossEntropy, CrossEntropy, HalfMse, Huber, Loss, Mae, Mse};
    pub use crate::metrics::{accuracy, r2_score, ConfusionMatrix, RegressionMetrics};
    pub use crate::model::{
        Callback, ClassPredictions, CsvLogger, EarlyStopping, Evaluation, FitConfig, History,
        LayerRegistry, Monitor, Sequential, Validation, Verbosity,
    };
    pub use crate::optim::{
        Adam, AdamW, Constant, Cosine, Optimizer, Schedule, Sgd, StepDecay, Warmup,
    };
    pub use crate::random::RandomState;
}

/// The README's Rust snippets, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
