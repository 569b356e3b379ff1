//! The `mlp` example trained by several processes at once, over MPI (feature `mpi`).
//!
//! ```text
//! cargo build --release --features mpi --example mlp_distributed
//! mpirun -np 2 target/release/examples/mlp_distributed --epochs 1 --save m.safetensors
//! ```
//!
//! The same model (784-256-128-10, ReLU, softmax), optimizer (SGD with Nesterov momentum 0.9 and
//! weight decay 5e-4, cosine-annealed) and data (the last 10% of the training images held out
//! for validation) as `mlp`; every batch of `--batch-size` images is shared by the processes
//! ([`DataParallel`]), so `N` processes train the model one process would, within `f32`
//! rounding. Run without `mpirun` (or with `-np 1`), it is the single-process baseline. Only
//! rank 0 prints and writes `--save` and `--checkpoint`. With `--checkpoint PATH`, a job that
//! ends early (a process killed, the machine down) is resumed by the same `mpirun` command, to
//! the same result; on another number of processes it is refused. Not in this example (yet):
//! `mlp`'s early stopping and `--onnx`.

#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use feedforward::data::Subset;
use feedforward::distributed::{mpi, DataParallel};
use feedforward::model::Validation;
use feedforward::prelude::*;
use support::{class_rates, Failure, TrainingOptions};

const USAGE: &str = "\
Trains the mlp example's multi-layer perceptron (784-256-128-10) on MNIST with every batch
shared by the processes of an MPI job, and evaluates it on the test file.

Usage: mpirun -np N target/release/examples/mlp_distributed [OPTIONS]

Options:
  --data-dir DIR    folder with the four MNIST files, raw or .gz (default: $MNIST_DIR, else
                    this repository's data/mnist, else the cache folder, downloading the
                    files if needed)
  --epochs N        passes over the training images [default: 10]
  --batch-size N    images per gradient step, shared by the processes [default: 64]
  --lr X            initial learning rate, annealed along a cosine [default: 0.05]
  --seed N          seed of the initial weights and of the shuffling [default: 0]
  --quiet           no precision and recall table
  --save PATH       rank 0 saves the trained model to PATH (safetensors)
  --checkpoint PATH rank 0 writes a training checkpoint (every process's state) to PATH after
                    every epoch; when PATH exists, the run resumes from it (on as many
                    processes as wrote it)
  --train-rows N    train on the first N images of the training file only (the last 10% of
                    them are the validation data) [default: all]
  -h, --help        print this help
";

/// The share of the training file held out for validation, as in `mlp`.
const VALIDATION_FRACTION: f64 = 0.1;

fn main() -> ExitCode {
    let defaults = TrainingOptions {
        data_dir: None,
        epochs: 10,
        batch_size: 64,
        learning_rate: 0.05,
        seed: 0,
        quiet: false,
    };
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
        "train-rows" => {
            own.train_rows = Some(support::whole(parser, "--train-rows", 2)?);
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
    /// `--train-rows N`
    train_rows: Option<usize>,
    /// `--checkpoint PATH`
    checkpoint: Option<PathBuf>,
}

fn run(options: &TrainingOptions, own: &Own) -> Result<(), Failure> {
    let universe = mpi::initialize().expect("MPI is initialised once");
    let mut trainer = DataParallel::new(universe.world());
    let root = trainer.is_root();
    if let Some(path) = own.save.as_deref().filter(|_| root) {
        support::check_save_path(path)?;
    }
    let data = support::load_mnist(options.data_dir.as_deref())?;
    let (inputs, classes) = (data.train.image_len(), data.train.classes());
    let rows = own
        .train_rows
        .map_or(data.train.len(), |n| n.min(data.train.len()));
    let train = Subset::new(&data.train, (0..rows).collect())?;

    // Every process builds the model; fit starts them all from rank 0's parameters.
    let mut rng = RandomState::new(options.seed);
    let mut model = Sequential::builder(inputs)
        .push(Dense::new(inputs, 256, Init::HeNormal, &mut rng)?)
        .push(Relu)
        .push(Dense::new(256, 128, Init::HeNormal, &mut rng)?)
        .push(Relu)
        .push(Dense::new(128, classes, Init::XavierNormal, &mut rng)?)
        .push(Softmax)
        .build()?;
    if root {
        println!(
            "{} processes, global batches of {} images ({} or so per process)",
            trainer.size(),
            options.batch_size,
            options.batch_size.div_ceil(trainer.size())
        );
    }
    let mut sgd = Sgd::new(options.learning_rate)?
        .with_momentum(0.9)?
        .with_nesterov(true)
        .with_weight_decay(5e-4)?;
    let schedule = Cosine::new(options.epochs, 0.0)?;
    let config = FitConfig::new(options.epochs)
        .batch_size(options.batch_size)
        .shuffle(options.seed)
        .validation(Validation::Fraction(VALIDATION_FRACTION))
        .schedule(&schedule)
        .verbose(Verbosity::Epochs);
    let config = match &own.checkpoint {
        Some(path) => config.checkpoint(path),
        None => config,
    };
    let started = Instant::now();
    let history = trainer.fit(&mut model, &train, &CrossEntropy, &mut sgd, &config)?;
    let training_time = started.elapsed();
    support::check_divergence(history.epoch_losses.first().copied(), &history.epoch_losses)?;
    // Cheap proof that the processes did not drift apart.
    trainer.check_in_sync(&model)?;
    if let Some(path) = own.save.as_deref().filter(|_| root) {
        model.save(path)?;
        println!("Model saved to {}", path.display());
    }

    let evaluation = trainer.evaluate(&mut model, &data.test, &CrossEntropy, 1000)?;
    let confusion = evaluation.confusion.ok_or(Failure::NoClasses)?;
    if root {
        println!("Accuracy on test set: {:.4}", confusion.accuracy());
        println!(
            "Training time: {:.2} s for {} epochs ({} processes)",
            training_time.as_secs_f64(),
            history.epoch_losses.len(),
            trainer.size()
        );
        if !options.quiet {
            println!("\n{}", class_rates(&confusion));
        }
    }
    Ok(())
}
