//! A convolutional network: LeNet-5 reads MNIST digits at 99%.
//!
//! `cargo run --release --example cnn` (add `-- --help` for the options)
//!
//! The next step after the `mlp` example, in every course: convolutions. LeNet-5 (LeCun et al.,
//! 1998, with ReLU and max pooling as it is written today), numbered as `torch.nn.Sequential`
//! numbers it:
//! Conv(1 -> 6, 5x5, padding 2) -> ReLU -> MaxPool 2 -> Conv(6 -> 16, 5x5) -> ReLU -> MaxPool 2
//! -> Flatten -> Dense 120 -> ReLU -> Dense 84 -> ReLU -> Dense 10 -> Softmax.
//! Each image stays a row of 784 pixels; the model knows it as `(1, 28, 28)`
//! (`Sequential::builder_shaped(data.train.shape())`) and each layer's output shape
//! (`model.summary()`).
//! - data: the standard split, the last 10% of the training file held out for validation, as in
//!   the `mlp` example;
//! - training: batches of 64 reshuffled every epoch (seeded); SGD with momentum 0.9 and weight
//!   decay 5e-4, its learning rate annealed along a cosine; early stopping on the validation
//!   loss that puts back the best epoch's weights;
//! - results: the accuracy on the test file and the time per epoch.
//!
//! `--checkpoint PATH` resumes an interrupted run bit for bit, as in the `mlp` example; `--save`
//! writes a file PyTorch's `load_state_dict` reads (`0.weight` is `[6, 1, 5, 5]`); `--onnx`
//! exports the model for onnxruntime and tract, its input `[batch, 1, 28, 28]` as PyTorch's.

#[path = "support/mod.rs"]
mod support;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use feedforward::data::Subset;
use feedforward::layers::{Conv2d, Flatten, MaxPool2d};
use feedforward::model::{Callback, EarlyStopping, Validation};
use feedforward::prelude::*;
use support::{EpochReport, Failure, TrainingOptions};

const USAGE: &str = "\
Trains LeNet-5 (two convolutions, max pooling, three dense layers; SGD with momentum) on MNIST
and evaluates it on the test file.

Usage: cargo run --release --example cnn -- [OPTIONS]

Options:
  --data-dir DIR    folder with the four MNIST files, raw or .gz (default: $MNIST_DIR, else
                    this repository's data/mnist, else the cache folder, downloading the
                    files if needed); any data set of 28 x 28 images in the MNIST file format
                    works, e.g. Fashion-MNIST
  --epochs N        passes over the training images [default: 12]
  --batch-size N    images per gradient step [default: 64]
  --lr X            initial learning rate, annealed along a cosine [default: 0.05]
  --seed N          seed of the initial weights and of the shuffling [default: 0]
  --quiet           print only the epochs, the accuracy and the timings (no summary table,
                    no precision and recall)
  --save PATH       save the trained model to PATH (safetensors, readable by PyTorch)
  --checkpoint PATH write a training checkpoint to PATH after every epoch; when PATH exists,
                    resume from it (the result is the same, to the bit, as a run never
                    interrupted)
  --train-rows N    train on the first N images of the training file only (a quick run; the
                    last 10% of them are the validation data) [default: all]
  --onnx PATH       export the trained model to PATH as ONNX (opset 17, input [batch, 1, 28,
                    28]); python3 scripts/check_onnx.py PATH checks it with onnxruntime
  -h, --help        print this help
";

/// The share of the training file held out for validation.
const VALIDATION_FRACTION: f64 = 0.1;

/// Epochs without a better validation loss before training stops.
const PATIENCE: usize = 3;

/// SGD's momentum and L2 weight decay.
const MOMENTUM: f32 = 0.9;
const WEIGHT_DECAY: f32 = 5e-4;

fn main() -> ExitCode {
    let defaults = TrainingOptions {
        data_dir: None,
        epochs: 12,
        batch_size: 64,
        learning_rate: 0.05,
        seed: 0,
        quiet: false,
    };
    // The example's own options: where to save the trained model, the training checkpoint,
    // and how many training images to use.
    let mut own = Own::default();
    let parsed = support::parse_args(defaults, &mut |name, parser| match name {
        "save" => {
            own.save = Some(support::value(parser, "--save")?.into());
            Ok(true)
        }
        "checkpoint" => {
            own.checkpoint = Some(support::value(parser, "--checkpoint")?.into());
            Ok(true)
        }
        "onnx" => {
            own.onnx = Some(support::value(parser, "--onnx")?.into());
            Ok(true)
        }
        "train-rows" => {
            let raw = support::value(parser, "--train-rows")?;
            let text = raw.to_string_lossy();
            let expected = "a whole number of at least 2";
            own.train_rows = match text.trim().parse::<usize>() {
                Ok(n) if n >= 2 => Some(n),
                _ => {
                    return Err(format!(
                        "invalid --train-rows {text:?}: expected {expected}"
                    ))
                }
            };
            Ok(true)
        }
        _ => Ok(false),
    });
    support::main_with(USAGE, parsed, |options| run(options, &own))
}

/// The options of this example alone.
#[derive(Default)]
struct Own {
    /// `--save PATH`
    save: Option<PathBuf>,
    /// `--checkpoint PATH`
    checkpoint: Option<PathBuf>,
    /// `--onnx PATH`
    onnx: Option<PathBuf>,
    /// `--train-rows N`
    train_rows: Option<usize>,
}

fn run(options: &TrainingOptions, own: &Own) -> Result<(), Failure> {
    // The output is checked before training, so that no training is lost to a bad path.
    for path in [&own.save, &own.onnx].into_iter().flatten() {
        support::check_save_path(path)?;
    }
    // Data: the training and test files as they are; pixels are scaled to [0, 1] batch by batch.
    let started = Instant::now();
    let data = support::load_mnist(options.data_dir.as_deref())?;
    let load_time = started.elapsed();
    let classes = data.train.classes();
    let rows = own
        .train_rows
        .map_or(data.train.len(), |n| n.min(data.train.len()));
    let train = Subset::new(&data.train, (0..rows).collect())?;

    // Model: LeNet-5 on images of the training file's shape, (1, 28, 28) for MNIST;
    // PyTorch's default initialisation for the convolutions, He for the dense layers.
    let mut rng = RandomState::new(options.seed);
    let conv1 = Conv2d::config(1, 6, 5).padding(2).build(&mut rng)?;
    let conv2 = Conv2d::config(6, 16, 5).build(&mut rng)?;
    let mut model = Sequential::builder_shaped(data.train.shape())
        .push(conv1)
        .push(Relu)
        .push(MaxPool2d::new(2)?)
        .push(conv2)
        .push(Relu)
        .push(MaxPool2d::new(2)?)
        .push(Flatten)
        .rng(rng)
        .dense(120, Init::HeNormal)
        .push(Relu)
        .dense(84, Init::HeNormal)
        .push(Relu)
        .dense(classes, Init::XavierNormal)
        .push(Softmax)
        .build()?;
    if !options.quiet {
        println!("{}\n", model.summary());
    }

    // Training: SGD with momentum and weight decay, cosine annealing over the epochs, shuffled
    // batches, early stopping.
    let mut sgd = Sgd::new(options.learning_rate)?
        .with_momentum(MOMENTUM)?
        .with_weight_decay(WEIGHT_DECAY)?;
    let schedule = Cosine::new(options.epochs, 0.0)?;
    let config = FitConfig::new(options.epochs)
        .batch_size(options.batch_size)
        .shuffle(options.seed)
        .validation(Validation::Fraction(VALIDATION_FRACTION))
        .schedule(&schedule);
    let config = match &own.checkpoint {
        Some(path) => {
            if !path.exists() {
                println!(
                    "No checkpoint at {}: starting afresh, writing one after every epoch",
                    path.display()
                );
            }
            config.checkpoint(path)
        }
        None => config,
    };
    let mut stopper = EarlyStopping::new(PATIENCE)?.restore_best_weights(true);
    let mut report = EpochReport::new(!options.quiet && std::io::stdout().is_terminal());
    let history = {
        let callbacks: &mut [&mut dyn Callback] = &mut [&mut report, &mut stopper];
        model.fit_with_callbacks(&train, &CrossEntropy, &mut sgd, &config, callbacks)?
    };
    support::check_divergence(report.first_loss(), &history.epoch_losses)?;
    if let Some(path) = &own.save {
        model.save(path)?;
        println!("Model saved to {}", path.display());
    }
    if let Some(path) = own.onnx.as_deref() {
        support::export_onnx(&model, path)?;
    }
    support::print_early_stopping(&history, &stopper, options.epochs, PATIENCE);

    // Results: the test file, which training never saw.
    let trained_on = rows - Validation::Fraction(VALIDATION_FRACTION).held_out(rows);
    support::print_test_results(
        &mut model,
        &data.test,
        &history,
        trained_on,
        load_time,
        options.quiet,
    )?;
    Ok(())
}
