//! The convolutional networks' speed: trains LeNet-5 or issue 23's small convnet on synthetic
//! 28 x 28 images for a fixed number of samples, then times inference at batch 1 and 1,000,
//! for comparison with the same runs in PyTorch (`scripts/cnn_torch.py`, same options;
//! `scripts/compare_cnn.sh` runs both in turn).
//!
//! ```text
//! cargo run --release --example bench_cnn -- --model lenet5 --samples 60032 --threads 2
//! ```
//!
//! The networks, numbered as `torch.nn.Sequential` numbers them:
//! - `lenet5`: Conv(1 -> 6, 5x5, padding 2) -> ReLU -> MaxPool 2 -> Conv(6 -> 16, 5x5) -> ReLU
//!   -> MaxPool 2 -> Flatten -> Dense 120 -> ReLU -> Dense 84 -> ReLU -> Dense 10 -> Softmax;
//! - `convnet`: Conv(1 -> 32, 3x3) -> ReLU -> MaxPool 2 -> Conv(32 -> 64, 3x3) -> ReLU -> MaxPool
//!   2 -> Flatten -> Dense(1600 -> 10) -> Softmax (Keras's MNIST convnet without dropout).
//!
//! PyTorch's default initialisation for the convolutions, He (Xavier for the last) for the
//! dense layers; cross-entropy, SGD with momentum 0.9 at learning rate 0.01. The data:
//! `--rows` images of values uniform in [0, 1) and labels 0 to 9 in turn, seeded; training
//! walks them in order, batch after batch, until `--samples` samples have been seen (only that
//! loop is timed). Then `predict` on one image, `--single` times (the median printed), and on
//! 1,000 images, 5 times (the median printed).

use std::process::ExitCode;
use std::time::Instant;

#[path = "support/mod.rs"]
mod support;
use support::Command;

use feedforward::layers::{Conv2d, Flatten, MaxPool2d};
use feedforward::prelude::*;
use ndarray::{s, Array2};

const USAGE: &str = "\
Times the training and the inference of a convolutional network on synthetic 28 x 28 images.

Usage: cargo run --release --example bench_cnn -- [OPTIONS]

Options:
  --model NAME    lenet5 or convnet [default: lenet5]
  --batch B       images per training step [default: 64]
  --samples N     samples to train on, a multiple of B [default: 60032]
  --rows R        images in the synthetic data set [default: the smaller of N and 10048]
  --threads T     threads (feedforward::set_num_threads) [default: all cores]
  --single K      predictions of one image to time [default: 200]
  --seed S        seed of the data and the initial weights [default: 0]
  -h, --help      print this help

Prints `train X.XXs`, `predict 1: X.XXXms` (median) and `predict 1000: X.XXXs` (median), and the
mean loss of the last 10% of the steps.
";

struct Options {
    model: String,
    batch: usize,
    samples: usize,
    rows: Option<usize>,
    threads: Option<usize>,
    single: usize,
    seed: u32,
}

fn parse() -> Result<Command<Options>, String> {
    use lexopt::prelude::*;
    let mut o = Options {
        model: "lenet5".into(),
        batch: 64,
        samples: 60_032,
        rows: None,
        threads: None,
        single: 200,
        seed: 0,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Long("model") => {
                o.model = support::value(&mut parser, "--model")?
                    .to_string_lossy()
                    .into_owned();
                if o.model != "lenet5" && o.model != "convnet" {
                    return Err(format!(
                        "invalid --model {:?}: expected lenet5 or convnet",
                        o.model
                    ));
                }
            }
            Long("batch") => o.batch = support::whole(&mut parser, "--batch", 1)?,
            Long("samples") => o.samples = support::whole(&mut parser, "--samples", 1)?,
            Long("rows") => o.rows = Some(support::whole(&mut parser, "--rows", 1)?),
            Long("threads") => o.threads = Some(support::whole(&mut parser, "--threads", 1)?),
            Long("single") => o.single = support::whole(&mut parser, "--single", 1)?,
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

/// The network `name` for 1 x 28 x 28 images, its weights drawn from `rng`.
fn network(name: &str, mut rng: RandomState) -> feedforward::Result<Sequential> {
    let builder = Sequential::builder_image(1, 28, 28);
    let builder = if name == "lenet5" {
        let conv1 = Conv2d::config(1, 6, 5).padding(2).build(&mut rng)?;
        let conv2 = Conv2d::config(6, 16, 5).build(&mut rng)?;
        builder
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
    } else {
        let conv1 = Conv2d::config(1, 32, 3).build(&mut rng)?;
        let conv2 = Conv2d::config(32, 64, 3).build(&mut rng)?;
        builder
            .push(conv1)
            .push(Relu)
            .push(MaxPool2d::new(2)?)
            .push(conv2)
            .push(Relu)
            .push(MaxPool2d::new(2)?)
            .push(Flatten)
            .rng(rng)
    };
    builder.dense(10, Init::XavierNormal).push(Softmax).build()
}

/// The median of `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn run(o: &Options) -> feedforward::Result<()> {
    feedforward::set_num_threads(o.threads)?;
    let b = o.batch;
    // Whole batches only: the data set is cut to a multiple of the batch.
    let rows = o.rows.unwrap_or(o.samples.min(10_048)) / b * b;
    let mut model = network(&o.model, RandomState::new(o.seed))?;
    // At least 1,000 images, for the inference at batch 1,000; training uses the first `rows`.
    let x = RandomState::new(o.seed.wrapping_add(1)).rand(rows.max(1000), 784)?;
    let mut y = Array2::<f32>::zeros((rows, 10));
    for r in 0..rows {
        y[[r, r % 10]] = 1.0;
    }
    let mut sgd = Sgd::new(0.01)?.with_momentum(0.9)?;
    let steps = o.samples / b;
    let tail = (steps / 10).max(1);
    let mut tail_loss = 0.0f64;
    println!(
        "{}, batch {b}, {} samples ({steps} steps) over {rows} synthetic images, {} threads",
        o.model,
        o.samples,
        feedforward::num_threads()
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
        "train {seconds:.2}s  {:.0} samples/s  loss {:.4}",
        o.samples as f64 / seconds,
        tail_loss / tail as f64
    );

    let mut single = Vec::with_capacity(o.single);
    for k in 0..o.single {
        let image = x.slice(s![k % rows..k % rows + 1, ..]);
        let start = Instant::now();
        std::hint::black_box(model.predict(image)?);
        single.push(start.elapsed().as_secs_f64());
    }
    println!("predict 1: {:.3}ms", median(&mut single) * 1e3);
    let mut thousand = Vec::with_capacity(5);
    for _ in 0..5 {
        let start = Instant::now();
        std::hint::black_box(model.predict(x.slice(s![..1000, ..]))?);
        thousand.push(start.elapsed().as_secs_f64());
    }
    println!("predict 1000: {:.3}s", median(&mut thousand));
    Ok(())
}
