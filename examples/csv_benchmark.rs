//! The in-memory CSV read against `pandas.read_csv`: generates the tables of issue 24 and
//! reads one, printing the time and the size of what was read. `scripts/compare_csv.sh` runs
//! it beside pandas under `/usr/bin/time -v` (peak RSS) and prints the medians side by side.
//!
//! ```text
//! cargo run --release --example csv_benchmark -- generate numeric table.csv 2000000
//! cargo run --release --example csv_benchmark -- generate small table.csv 2000000
//! cargo run --release --example csv_benchmark -- read table.csv target
//! ```
//!
//! - `numeric`: 20 features drawn from a normal distribution (5 decimals) and a 3-class
//!   integer target `target`, about 172 bytes a row (2,000,000 rows: 344 MB);
//! - `small`: the columns `a,b,target` holding `i % 10, i % 7, i % 2` (2,000,000 rows: 11 MB).

use feedforward::data::csv::CsvReader;
use feedforward::data::Dataset;
use feedforward::random::RandomState;
use std::io::{BufWriter, Write};
use std::time::Instant;

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
        _ => Err("usage: csv_benchmark generate numeric|small PATH ROWS | read PATH TARGET".into()),
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
