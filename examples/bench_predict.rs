//! Inference speed: runs `predict` of a perceptron 784-H-10 (or 784-H1-H2-...-10) over
//! synthetic rows, a batch at a time, and prints the time per call and the images per second,
//! for comparison with the same run in PyTorch (`scripts/predict_torch.py --hidden H --batch B
//! --rows N`; `scripts/compare_predict.sh` runs both in turn) and in onnxruntime (`--onnx FILE`
//! writes the model that is timed; `scripts/compare_onnxruntime.sh` runs
//! `scripts/predict_onnxruntime.py` on it, with the same synthetic rows).
//!
//! ```text
//! cargo run --release --example bench_predict -- --hidden 128 --batch 1 --rows 100000
//! cargo run --release --example bench_predict -- --hidden 128 --batch 1000 --rows 1000000
//! ```
//!
//! The network: Dense 784 -> H, ReLU (for each hidden width), Dense H -> 10, softmax, He then
//! Xavier initialisation,
//! untrained (the speed of a forward pass does not depend on the values). The data: 10,000
//! images of 784 values drawn uniformly from [0, 1), seeded, kept as `f32`. The calls walk the
//! rows in order, batch after batch (`predict` on views of the rows, no copy), wrapping around
//! until `--rows` rows have been classified; only this loop is timed, after one warm-up call.

use std::process::ExitCode;
use std::time::Instant;

#[path = "support/mod.rs"]
mod support;
use support::Command;

use feedforward::prelude::*;
use ndarray::s;

const USAGE: &str = "\
Times `predict` of a 784-H-10 perceptron (ReLU, softmax) on synthetic data.

Usage: cargo run --release --example bench_predict -- [OPTIONS]

Options:
  --hidden H      width of the hidden layer, or widths separated by commas
                  (256,128) [default: 128]
  --batch B       rows per call [default: 1000]
  --rows N        rows to classify, a multiple of B [default: 1000000]
  --seed S        seed of the data and the weights [default: 0]
  --onnx FILE     also write the model to FILE in ONNX (for onnxruntime)
  -h, --help      print this help

Prints `predict X.XXs`, the images per second and the microseconds per call.
";

struct Options {
    hidden: Vec<usize>,
    onnx: Option<std::path::PathBuf>,
    batch: usize,
    rows: usize,
    seed: u32,
}

fn parse() -> Result<Command<Options>, String> {
    use lexopt::prelude::*;
    let mut o = Options {
        hidden: vec![128],
        onnx: None,
        batch: 1000,
        rows: 1_000_000,
        seed: 0,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Long("hidden") => {
                let value = support::value(&mut parser, "--hidden")?;
                o.hidden = value
                    .to_string_lossy()
                    .split(',')
                    .map(|w| match w.trim().parse::<usize>() {
                        Ok(w) if w >= 1 => Ok(w),
                        _ => Err(format!(
                            "--hidden {w:?}: widths of at least 1, e.g. 256,128"
                        )),
                    })
                    .collect::<Result<_, _>>()?;
            }
            Long("onnx") => o.onnx = Some(support::value(&mut parser, "--onnx")?.into()),
            Long("batch") => o.batch = support::whole(&mut parser, "--batch", 1)?,
            Long("rows") => o.rows = support::whole(&mut parser, "--rows", 1)?,
            Long("seed") => o.seed = support::seed(&mut parser)?,
            other => return Err(other.unexpected().to_string()),
        }
    }
    if !o.rows.is_multiple_of(o.batch) {
        return Err(format!(
            "--rows {} is not a multiple of --batch {}",
            o.rows, o.batch
        ));
    }
    if o.batch > DATA_ROWS {
        return Err(format!("--batch must be at most {DATA_ROWS}"));
    }
    Ok(Command::Run(o))
}

/// Rows of the synthetic data set.
const DATA_ROWS: usize = 10_000;

fn main() -> ExitCode {
    support::main_with(USAGE, parse(), |options| Ok(run(options)?))
}

fn run(o: &Options) -> feedforward::Result<()> {
    let b = o.batch;
    let mut rng = RandomState::new(o.seed);
    let x = rng.rand(DATA_ROWS, 784)?;
    let mut builder = Sequential::builder(784);
    let mut width = 784;
    for &h in &o.hidden {
        builder = builder
            .push(Dense::new(width, h, Init::HeNormal, &mut rng)?)
            .push(Relu);
        width = h;
    }
    let mut model = builder
        .push(Dense::new(width, 10, Init::XavierNormal, &mut rng)?)
        .push(Softmax)
        .build()?;
    if let Some(path) = &o.onnx {
        model.save_onnx(path)?;
    }
    let calls = o.rows / b;
    let widths: Vec<String> = o.hidden.iter().map(|h| h.to_string()).collect();
    println!(
        "784-{}-10, batch {b}, {} rows ({calls} calls) over {DATA_ROWS} synthetic rows",
        widths.join("-"),
        o.rows
    );
    // One warm-up call sizes the model's buffers.
    model.predict(x.slice(s![0..b, ..]))?;
    let mut checksum = 0.0f64;
    let start = Instant::now();
    let mut row = 0;
    for _ in 0..calls {
        if row + b > DATA_ROWS {
            row = 0;
        }
        let probabilities = model.predict(x.slice(s![row..row + b, ..]))?;
        checksum += probabilities[[0, 0]] as f64;
        row += b;
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "predict {seconds:.2}s  {:.0} images/s  {:.2} us per call  checksum {checksum:.4}",
        o.rows as f64 / seconds,
        seconds / calls as f64 * 1e6
    );
    Ok(())
}
