//! The in-memory CSV read against `pandas.read_csv`: generates the tables of issue 24 and
//! reads one, printing the time and the size of what was read. `scripts/compare_csv.sh` runs
//! it beside pandas under `/usr/bin/time -v` (peak RSS) and prints the medians side by side.
//!
//! ```text
//! cargo run --release --example csv_benchmark -- generate numeric table.csv 2000000
//! cargo run --release --example csv_benchmark -- generate small table.csv 2000000
//! cargo run --release --example csv_benchmark -- read table.csv target
//! cargo run --release --example csv_benchmark -- epoch-memory table.csv target
//! cargo run --release --example csv_benchmark -- epoch-stream table.csv target
//! cargo run --release --example csv_benchmark -- epoch-stream-window table.csv target [ROWS]
//! cargo run --release --example csv_benchmark -- epoch-memory-window table.csv target [ROWS]
//! cargo run --release --example csv_benchmark -- to-npy table.csv target x.npy y.npy
//! cargo run --release --example csv_benchmark -- epoch-npy x.npy y.npy
//! cargo run --release --example csv_benchmark -- epoch-npy-window x.npy y.npy [ROWS]
//! ```
//!
//! The `epoch-*` commands train one epoch of a `inputs-64-classes` MLP (batch 256, shuffled,
//! seed 0) on the table read in memory, streamed from the file (with prefetching), or
//! memory-mapped from `.npy` files written by `to-npy`; the `-window` ones in a shuffle buffer
//! of `ROWS` rows (`Order::shuffle_buffer`, default `Order::DEFAULT_BUFFER_SIZE`, 65,536)
//! instead of an exact shuffle. Each prints a line
//! `epoch_seconds=S anon_peak_mb=M`: the epoch's time and the largest anonymous resident
//! memory (`RssAnon` of /proc/self/status, sampled every 5 ms: a memory map's file pages are
//! the page cache's, not counted there).
//!
//! - `numeric`: 20 features drawn from a normal distribution (5 decimals) and a 3-class
//!   integer target `target`, about 172 bytes a row (2,000,000 rows: 344 MB);
//! - `small`: the columns `a,b,target` holding `i % 10, i % 7, i % 2` (2,000,000 rows: 11 MB).

use feedforward::data::csv::CsvReader;
use feedforward::data::npy::NpyDataset;
use feedforward::data::{Dataset, Order, Prefetch};
use feedforward::ndarray::Array1;
use feedforward::prelude::*;
use feedforward::random::RandomState;
use ndarray_npy::WriteNpyExt;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", kind, path, rows] => generate(kind, path, rows.parse()?),
        ["read", path, target] => read(path, target),
        ["epoch-memory", path, target] => {
            let sampler = AnonSampler::start();
            let table = CsvReader::new().target(*target).read(path)?;
            epoch(table, sampler, config())
        }
        ["epoch-stream", path, target] => {
            let sampler = AnonSampler::start();
            let stream = CsvReader::new().target(*target).stream(&[path])?;
            epoch(stream, sampler, config())
        }
        ["epoch-memory-window", path, target, buffer @ ..] if buffer.len() <= 1 => {
            let config = windowed(buffer.first().copied())?;
            let sampler = AnonSampler::start();
            let table = CsvReader::new().target(*target).read(path)?;
            epoch(table, sampler, config)
        }
        ["epoch-stream-window", path, target, buffer @ ..] if buffer.len() <= 1 => {
            let config = windowed(buffer.first().copied())?;
            let sampler = AnonSampler::start();
            let stream = CsvReader::new().target(*target).stream(&[path])?;
            epoch(stream, sampler, config)
        }
        ["to-npy", path, target, x, y] => to_npy(path, target, x, y),
        ["epoch-npy", x, y] => {
            let sampler = AnonSampler::start();
            epoch(NpyDataset::open(x, y)?, sampler, config())
        }
        ["epoch-npy-window", x, y, buffer @ ..] if buffer.len() <= 1 => {
            let config = windowed(buffer.first().copied())?;
            let sampler = AnonSampler::start();
            epoch(NpyDataset::open(x, y)?, sampler, config)
        }
        _ => Err(
            "usage: csv_benchmark generate numeric|small PATH ROWS | read PATH TARGET | \
                  epoch-memory|epoch-stream PATH TARGET | \
                  epoch-memory-window|epoch-stream-window PATH TARGET [BUFFER_ROWS] | \
                  to-npy PATH TARGET X.npy Y.npy | epoch-npy X.npy Y.npy | \
                  epoch-npy-window X.npy Y.npy [BUFFER_ROWS]"
                .into(),
        ),
    }
}

fn generate(kind: &str, path: &str, rows: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    match kind {
        "numeric" => {
            let features = 20;
            let names: Vec<String> = (0..features).map(|i| format!("f{i}")).collect();
            writeln!(out, "{},target", names.join(","))?;
            let mut rng = RandomState::new(24);
            for _ in 0..rows {
                let mut score = 0.0;
                for j in 0..features {
                    let x = rng.standard_normal();
                    if j < 3 {
                        score += x;
                    }
                    write!(out, "{x:.5},")?;
                }
                let class = if score < -0.8 {
                    0
                } else if score < 0.8 {
                    1
                } else {
                    2
                };
                writeln!(out, "{class}")?;
            }
        }
        "small" => {
            writeln!(out, "a,b,target")?;
            for i in 0..rows {
                writeln!(out, "{},{},{}", i % 10, i % 7, i % 2)?;
            }
        }
        other => return Err(format!("unknown table kind {other:?}: numeric or small").into()),
    }
    out.flush()?;
    Ok(())
}

fn read(path: &str, target: &str) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let table = CsvReader::new().target(target).read(path)?;
    let seconds = start.elapsed().as_secs_f64();
    let decoded = (table.input_width() + table.target_width()) * table.len() * 4;
    println!(
        "feedforward: {} rows, {} inputs, {} targets ({:.1} MB of f32) read in {seconds:.3} s",
        table.len(),
        table.input_width(),
        table.target_width(),
        decoded as f64 / 1e6
    );
    Ok(())
}

/// The configuration of the timed epoch.
fn config() -> FitConfig<'static> {
    FitConfig::new(1).batch_size(256).shuffle(0)
}

/// The timed epoch's configuration in a shuffle buffer of `rows` rows (the default size
/// without).
fn windowed(rows: Option<&str>) -> Result<FitConfig<'static>, Box<dyn std::error::Error>> {
    let rows = match rows {
        Some(rows) => rows.parse()?,
        None => Order::DEFAULT_BUFFER_SIZE,
    };
    Ok(config().shuffle_buffer(0, rows))
}

/// One epoch of an `inputs-64-classes` MLP on `data` (prefetched) with `config`, printed with
/// the peak anonymous memory since `sampler` started.
fn epoch<D: Dataset + Send + Sync + 'static>(
    data: D,
    sampler: AnonSampler,
    config: FitConfig<'static>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut model = Sequential::builder(data.input_width())
        .seed(0)
        .dense(64, Init::HeNormal)
        .push(Relu)
        .dense(data.target_width(), Init::XavierNormal)
        .push(Softmax)
        .build()?;
    let data = Prefetch::new(data, &config, 2)?;
    let history = model.fit(&data, &CrossEntropy, &mut Adam::new(1e-3)?, &config)?;
    println!(
        "epoch_seconds={:.3} anon_peak_mb={:.1} rows={} loss={:.4}",
        history.training_time.as_secs_f64(),
        sampler.stop() as f64 / 1e6,
        data.len(),
        history.epoch_losses[0],
    );
    Ok(())
}

/// Writes the table at `path` as `x` (float32 features) and `y` (int64 class indices).
fn to_npy(path: &str, target: &str, x: &str, y: &str) -> Result<(), Box<dyn std::error::Error>> {
    let table = CsvReader::new().target(target).read(path)?;
    let labels = table
        .labels()
        .ok_or("to-npy writes class labels: a classification target")?;
    table
        .inputs()
        .to_owned()
        .write_npy(BufWriter::new(std::fs::File::create(x)?))?;
    Array1::from_iter(labels.iter().map(|&l| l as i64))
        .write_npy(BufWriter::new(std::fs::File::create(y)?))?;
    Ok(())
}

/// Samples the process's anonymous resident memory (`RssAnon`) on a thread, keeping the
/// largest value.
struct AnonSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl AnonSampler {
    fn start() -> AnonSampler {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (Arc::clone(&peak), Arc::clone(&stop));
        let thread = std::thread::spawn(move || loop {
            p.fetch_max(anon_bytes(), Ordering::Relaxed);
            if s.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        });
        AnonSampler { peak, stop, thread }
    }

    /// The largest anonymous memory seen, in bytes.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed).max(anon_bytes())
    }
}

/// `RssAnon` of /proc/self/status in bytes (0 where there is no such file).
fn anon_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
