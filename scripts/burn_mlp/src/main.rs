//! The speed grid's perceptron in burn: trains 784-H-H-10 (ReLU, cross-entropy on the logits,
//! plain SGD 0.01) on synthetic data with burn's Flex CPU backend under autodiff
//! (`Device::flex().autodiff()`, i.e. `Autodiff<Flex>`), for a side-by-side comparison with
//! `examples/bench_mlp.rs` and `scripts/mnist_torch.py --hidden H --batch B --samples N`.
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/burn-target cargo build --release
//! /tmp/burn-target/release/burn_mlp --hidden 1024 --batch 256 --samples 30720
//! ```
//!
//! The data: R rows (the smaller of N and 59,904, cut to a multiple of B) of 784 values uniform
//! in [0, 1) from a seeded `SmallRng`, labels `r % 10`, built as one tensor before the clock
//! starts. The weights: burn's default `Linear` initialisation (Kaiming uniform with gain
//! 1/sqrt(3), the same scheme as PyTorch's `nn.Linear`), seeded through `Device::seed`. Training
//! walks the rows in order, batch after batch (`narrow` on the data tensor), wrapping around
//! until N samples have been seen; only this loop is timed. Flex executes eagerly, and each
//! step's loss is read back (`into_scalar`) inside the loop, so the timing covers the work.

use std::process::ExitCode;
use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The burn release in Cargo.lock (kept in step by hand).
const BURN_VERSION: &str = "0.22.1";

const USAGE: &str = "\
Times the training of a 784-H-H-10 perceptron (ReLU, softmax + cross-entropy, SGD 0.01) on
synthetic data with burn's Flex CPU backend (Autodiff<Flex>).

Usage: burn_mlp [OPTIONS]

Options:
  --hidden H      width of both hidden layers; 0 trains the tutorial's 784-10 softmax
                  regression instead [default: 128]
  --batch B       rows per training step [default: 32]
  --samples N     samples to train on, a multiple of B [default: 59904]
  --rows R        rows in the synthetic data set [default: the smaller of N and 59904]
  --seed S        seed of the data and the initial weights [default: 0]
  --predict       time inference instead (see below)
  -h, --help      print this help

Prints `train X.XXs`, the samples per second and the mean loss of the last 10% of the steps.

With --predict: classifies --rows N rows (default 1000000, a multiple of B; B defaults to 1000)
of a 10,000-row synthetic data set with an untrained 784-H-10 (ReLU, softmax) on Flex without
autodiff, a batch at a time, like `examples/bench_predict.rs`; prints `predict X.XXs`, the images
per second and the microseconds per call.
burn-flex runs its large matrix products and some reductions on rayon's global pool:
RAYON_NUM_THREADS=1 keeps it on one thread (default: one per core).
";

struct Options {
    predict: bool,
    hidden: usize,
    batch: usize,
    samples: usize,
    rows: Option<usize>,
    seed: u32,
}

fn parse() -> Result<Option<Options>, String> {
    use lexopt::prelude::*;
    let mut o = Options {
        predict: false,
        hidden: 128,
        batch: 32,
        samples: 59_904,
        rows: None,
        seed: 0,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let name = match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("predict") => {
                o.predict = true;
                continue;
            }
            Long(name) => name.to_string(),
            other => return Err(other.unexpected().to_string()),
        };
        let raw = parser
            .value()
            .map_err(|_| format!("--{name} needs a value"))?;
        let text = raw.to_string_lossy().into_owned();
        let whole = |min: usize| -> Result<usize, String> {
            match text.trim().parse::<usize>() {
                Ok(v) if v >= min => Ok(v),
                _ => Err(format!(
                    "invalid --{name} {text:?}: expected a whole number of at least {min}"
                )),
            }
        };
        match name.as_str() {
            "hidden" => o.hidden = whole(0)?,
            "batch" => o.batch = whole(1)?,
            "samples" => o.samples = whole(1)?,
            "rows" => o.rows = Some(whole(1)?),
            "seed" => o.seed = u32::try_from(whole(0)?).map_err(|e| e.to_string())?,
            _ => return Err(format!("unknown option --{name}")),
        }
    }
    if o.predict {
        return Ok(Some(o));
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
    if o.rows.is_none() && o.samples.min(59_904) < o.batch {
        return Err(
            "--batch is larger than the data set (the smaller of --samples and 59904)".into(),
        );
    }
    Ok(Some(o))
}

#[derive(Module, Debug)]
struct Mlp {
    /// The hidden layers (none with `--hidden 0`), each followed by a ReLU.
    hidden: Vec<Linear>,
    out: Linear,
    relu: Relu,
}

impl Mlp {
    /// 784-H-H-10, or the tutorial's 784-10 when `hidden` is 0.
    fn new(hidden: usize, device: &Device) -> Self {
        let (layers, last) = if hidden == 0 {
            (Vec::new(), 784)
        } else {
            (
                vec![
                    LinearConfig::new(784, hidden).init(device),
                    LinearConfig::new(hidden, hidden).init(device),
                ],
                hidden,
            )
        };
        Self {
            hidden: layers,
            out: LinearConfig::new(last, 10).init(device),
            relu: Relu::new(),
        }
    }

    /// The logits; the softmax is inside the loss.
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = self
            .hidden
            .iter()
            .fold(x, |x, layer| self.relu.forward(layer.forward(x)));
        self.out.forward(x)
    }
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\nRun with --help for the options.");
            return ExitCode::from(2);
        }
    };
    if options.predict {
        return predict(&options);
    }
    run(&options);
    ExitCode::SUCCESS
}

/// Rows of the synthetic data set of `--predict`.
const PREDICT_ROWS: usize = 10_000;

#[derive(Module, Debug)]
struct Classifier {
    fc1: Linear,
    fc2: Linear,
    relu: Relu,
}

/// `--predict`: see the usage text.
fn predict(o: &Options) -> ExitCode {
    let h = o.hidden;
    // --batch and --rows keep the training defaults unless given: inference defaults to 1,000
    // rows per call and 1,000,000 rows.
    let b = if o.batch == 32 { 1000 } else { o.batch };
    let n = o.rows.unwrap_or(1_000_000);
    if h == 0 {
        eprintln!("error: --predict needs --hidden of at least 1");
        return ExitCode::from(2);
    }
    if b > PREDICT_ROWS || !n.is_multiple_of(b) {
        eprintln!("error: --batch must be at most {PREDICT_ROWS} and divide --rows");
        return ExitCode::from(2);
    }
    let device = Device::flex();
    device.seed(u64::from(o.seed));
    let mut rng = SmallRng::seed_from_u64(u64::from(o.seed));
    let pixels: Vec<f32> = (0..PREDICT_ROWS * 784)
        .map(|_| rng.random::<f32>())
        .collect();
    let x = Tensor::<2>::from_data(TensorData::new(pixels, [PREDICT_ROWS, 784]), &device);
    let model = Classifier {
        fc1: LinearConfig::new(784, h).init(&device),
        fc2: LinearConfig::new(h, 10).init(&device),
        relu: Relu::new(),
    };
    let forward = |xb: Tensor<2>| {
        let logits = model.fc2.forward(model.relu.forward(model.fc1.forward(xb)));
        burn::tensor::activation::softmax(logits, 1)
    };
    let calls = n / b;
    println!(
        "784-{h}-10, batch {b}, {n} rows ({calls} calls) over {PREDICT_ROWS} synthetic rows, \
         burn {BURN_VERSION} Flex, {} rayon thread(s)",
        rayon::current_num_threads(),
    );
    // One warm-up call.
    let _ = forward(x.clone().narrow(0, 0, b)).into_data();
    let mut checksum = 0.0f64;
    let start = Instant::now();
    let mut row = 0;
    for _ in 0..calls {
        if row + b > PREDICT_ROWS {
            row = 0;
        }
        let probabilities = forward(x.clone().narrow(0, row, b));
        // Read one probability back on every call, as the other programs do.
        let first: f32 = probabilities.narrow(0, 0, 1).narrow(1, 0, 1).into_scalar();
        checksum += f64::from(first);
        row += b;
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "predict {seconds:.2}s  {:.0} images/s  {:.2} us per call  checksum {checksum:.4}",
        n as f64 / seconds,
        seconds / calls as f64 * 1e6
    );
    ExitCode::SUCCESS
}

fn run(o: &Options) {
    let (h, b) = (o.hidden, o.batch);
    // Whole batches only: the data set is cut to a multiple of the batch.
    let rows = o.rows.unwrap_or(o.samples.min(59_904)) / b * b;
    let device = Device::flex().autodiff();
    device.seed(u64::from(o.seed));

    let mut rng = SmallRng::seed_from_u64(u64::from(o.seed));
    let pixels: Vec<f32> = (0..rows * 784).map(|_| rng.random::<f32>()).collect();
    let labels: Vec<i64> = (0..rows).map(|r| (r % 10) as i64).collect();
    let x = Tensor::<2>::from_data(TensorData::new(pixels, [rows, 784]), &device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [rows]), &device);

    let mut model = Mlp::new(h, &device);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut sgd = SgdConfig::new().init();
    let lr = 0.01;
    let steps = o.samples / b;
    let tail = (steps / 10).max(1);
    let mut tail_loss = 0.0f64;
    let layers = if h == 0 {
        "784-10".to_string()
    } else {
        format!("784-{h}-{h}-10")
    };
    println!(
        "{layers}, batch {b}, {} samples ({steps} steps) over {rows} synthetic rows, \
         burn {BURN_VERSION} Autodiff<Flex>, {} rayon thread(s)",
        o.samples,
        rayon::current_num_threads(),
    );
    let start = Instant::now();
    let mut row = 0;
    for step in 0..steps {
        if row + b > rows {
            row = 0;
        }
        let xb = x.clone().narrow(0, row, b);
        let yb = y.clone().narrow(0, row, b);
        let logits = model.forward(xb);
        let loss = loss_fn.forward(logits, yb);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = sgd.step(lr, model, grads);
        // Read the loss back on every step (bench_mlp returns it from every step too): Flex is
        // eager, and this also makes sure that nothing is left pending when the clock stops.
        let value: f32 = loss.into_scalar();
        if step >= steps - tail {
            tail_loss += f64::from(value);
        }
        row += b;
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "train {seconds:.2}s  {:.0} samples/s  loss {:.4}",
        o.samples as f64 / seconds,
        tail_loss / tail as f64
    );
}
