//! The speed grid: trains a multi-layer perceptron 784-H-H-10 on synthetic data for a fixed
//! number of samples and prints the training time, for comparison with the same run in PyTorch
//! (`scripts/mnist_torch.py --hidden H --batch B --samples N`; `scripts/compare_grid.sh` runs
//! both in turn).
//!
//! ```text
//! cargo run --release --example bench_mlp -- --hidden 1024 --batch 256 --samples 30720
//! ```
//!
//! The network: Dense 784 -> H, ReLU, Dense H -> H, ReLU, Dense H -> 10, softmax, trained with
//! the cross-entropy loss by plain SGD (learning rate 0.01), He initialisation for the layers
//! before a ReLU and Xavier for the last (`--hidden-layers 1`: 784-H-10, the one hidden layer of
//! the README's all-reduce cost model); `--hidden 0` trains the tutorial's model instead, one
//! Dense 784 -> 10 and softmax (its 20 epochs of 56,000 rows at a batch of 32: `--hidden 0
//! --samples 1120000`). The data: `--rows` images of 784 values drawn
//! uniformly from [0, 1) and labels 0 to 9 in turn, all seeded, kept as `f32` like a PyTorch
//! tensor. Training walks the rows in order, batch after batch (`train_step` on views of the
//! rows, no copy), wrapping around until `--samples` samples have been seen; only this loop is
//! timed.

use std::process::ExitCode;
use std::time::Instant;

#[path = "support/mod.rs"]
mod support;
use support::Command;

use feedforward::prelude::*;
use ndarray::{s, Array2};

const USAGE: &str = "\
Times the training of a 784-H-H-10 perceptron (ReLU, softmax + cross-entropy, SGD 0.01) on
synthetic data.

Usage: cargo run --release --example bench_mlp -- [OPTIONS]

Options:
  --hidden H      width of both hidden layers; 0 trains the tutorial's 784-10 softmax
                  regression instead [default: 128]
  --hidden-layers L
                  1 or 2 hidden layers of width H (784-H-10 or 784-H-H-10) [default: 2]
  --batch B       rows per training step [default: 32]
  --samples N     samples to train on, a multiple of B [default: 59904]
  --rows R        rows in the synthetic data set [default: the smaller of N and 59904]
  --seed S        seed of the data and the initial weights [default: 0]
  -h, --help      print this help

Prints `train X.XXs`, the samples per second, the mean loss of the last 10% of the steps and
the milliseconds per step.
";

struct Options {
    hidden: usize,
    hidden_layers: usize,
    batch: usize,
    samples: usize,
    rows: Option<usize>,
    seed: u32,
}

fn parse() -> Result<Command<Options>, String> {
    use lexopt::prelude::*;
    let mut o = Options {
        hidden: 128,
        hidden_layers: 2,
        batch: 32,
        samples: 59_904,
        rows: None,
        seed: 0,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Long("hidden") => o.hidden = support::whole(&mut parser, "--hidden", 0)?,
            Long("hidden-layers") => {
                o.hidden_layers = support::whole(&mut parser, "--hidden-layers", 1)?;
                if o.hidden_layers > 2 {
                    return Err(format!("--hidden-layers {}: 1 or 2", o.hidden_layers));
                }
            }
            Long("batch") => o.batch = support::whole(&mut parser, "--batch", 1)?,
            Long("samples") => o.samples = support::whole(&mut parser, "--samples", 1)?,
            Long("rows") => o.rows = Some(support::whole(&mut parser, "--rows", 1)?),
            Long("seed") => o.seed = support::seed(&mut parser)?,
            other => return Err(other.unexpected().to_string()),
        }
    }
    if !o.samples.is_multiple_of(o.batch) {
        return Err(format!(
            "--samples {} is not a multiple of --batch {}",
            o.samples, o.batch
        ));
    }
    if o.rows.is_some_and(|rows| rows < o.batch) {
        return Err("--rows must be at least --batch".into());
    }
    Ok(Command::Run(o))
}

fn main() -> ExitCode {
    support::main_with(USAGE, parse(), |options| Ok(run(options)?))
}

fn run(o: &Options) -> feedforward::Result<()> {
    let (h, b) = (o.hidden, o.batch);
    // Whole batches only: the data set is cut to a multiple of the batch.
    let rows = o.rows.unwrap_or(o.samples.min(59_904)) / b * b;
    let mut rng = RandomState::new(o.seed);
    let x = rng.rand(rows, 784)?;
    let mut y = Array2::<f32>::zeros((rows, 10));
    for r in 0..rows {
        y[[r, r % 10]] = 1.0;
    }
    let mut model = if h == 0 {
        // The tutorial's model: one Dense 784 -> 10 (Xavier), softmax.
        Sequential::builder(784)
            .push(Dense::new(784, 10, Init::XavierNormal, &mut rng)?)
            .push(Softmax)
            .build()?
    } else if o.hidden_layers == 1 {
        Sequential::builder(784)
            .push(Dense::new(784, h, Init::HeNormal, &mut rng)?)
            .push(Relu)
            .push(Dense::new(h, 10, Init::XavierNormal, &mut rng)?)
            .push(Softmax)
            .build()?
    } else {
        Sequential::builder(784)
            .push(Dense::new(784, h, Init::HeNormal, &mut rng)?)
            .push(Relu)
            .push(Dense::new(h, h, Init::HeNormal, &mut rng)?)
            .push(Relu)
            .push(Dense::new(h, 10, Init::XavierNormal, &mut rng)?)
            .push(Softmax)
            .build()?
    };
    let mut sgd = Sgd::new(0.01)?;
    let steps = o.samples / b;
    let tail = (steps / 10).max(1);
    let mut tail_loss = 0.0f64;
    let layers = match (h, o.hidden_layers) {
        (0, _) => "784-10".to_string(),
        (_, 1) => format!("784-{h}-10"),
        _ => format!("784-{h}-{h}-10"),
    };
    println!(
        "{layers}, batch {b}, {} samples ({steps} steps) over {rows} synthetic rows",
        o.samples
    );
    let start = Instant::now();
    let mut row = 0;
    for step in 0..steps {
        if row + b > rows {
            row = 0;
        }
        let batch = s![row..row + b, ..];
        let loss = model.train_step(x.slice(batch), y.slice(batch), &CrossEntropy, &mut sgd)?;
        if step >= steps - tail {
            tail_loss += loss as f64;
        }
        row += b;
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "train {seconds:.2}s  {:.0} samples/s  loss {:.4}  {:.3} ms per step",
        o.samples as f64 / seconds,
        tail_loss / tail as f64,
        seconds * 1e3 / steps as f64
    );
    Ok(())
}
