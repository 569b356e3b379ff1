//! `--stream` and `--npy`: training on data larger than memory, read from disk a batch at a
//! time while the model trains (the next batches prepared on a background thread).
//!
//! No cross-validation here (each fold would read the data again): the last `--test-size` of
//! the rows are held out as validation data, as Keras' `validation_split` does, and the
//! network (the same MLP as the in-memory path) trains for `--epochs` epochs with a progress
//! line. `Normalization` is adapted to the first 10,000 rows.

use feedforward::data::csv::{CsvReader, Missing, Task};
use feedforward::data::npy::NpyDataset;
use feedforward::data::{Dataset, Prefetch};
use feedforward::model::Validation;
use feedforward::ndarray::Array2;
use feedforward::prelude::*;
use std::error::Error as StdError;
use std::path::Path;
use std::time::Instant;

use super::Options;

/// Rows that `Normalization` is adapted to.
const ADAPT_ROWS: usize = 10_000;

/// Where the rows come from.
pub enum Source<'a> {
    /// CSV files, streamed.
    Csv(&'a [std::path::PathBuf]),
    /// Features and labels (or targets) saved by `np.save`, memory-mapped.
    Npy {
        features: &'a Path,
        targets: &'a Path,
    },
}

/// Trains on `source` in bounded memory and prints the validation metrics.
pub fn run(options: &Options, source: Source<'_>) -> Result<(), Box<dyn StdError>> {
    let start = Instant::now();
    let epochs = if options.epochs == 1000 {
        10
    } else {
        options.epochs
    };
    let config = FitConfig::new(epochs).batch_size(options.batch_size);
    let config = match options.shuffle_buffer {
        Some(rows) => config.shuffle_buffer(options.seed, rows),
        None => config.shuffle(options.seed),
    };
    let config = config
        .validation(Validation::Fraction(options.test_size))
        .verbose(if options.quiet {
            Verbosity::Silent
        } else {
            Verbosity::ProgressBar
        });
    match source {
        Source::Csv(files) => {
            let mut reader = CsvReader::new();
            for target in &options.targets {
                reader = reader.target(target);
            }
            if let Some(task) = options.task {
                reader = reader.task(task);
            }
            if options.drop_missing {
                reader = reader.missing(Missing::DropRows);
            }
            let stream = reader.stream(files)?;
            println!(
                "Streaming {} rows from {} file(s) (encoding learned and rows indexed in {:.1} s; \
                 index {:.1} MB): {} inputs, {} outputs, {:?}",
                stream.len(),
                files.len(),
                start.elapsed().as_secs_f64(),
                stream.index_bytes() as f64 / 1e6,
                stream.input_width(),
                stream.target_width(),
                stream.task()
            );
            let task = stream.task();
            train(options, Prefetch::new(stream, &config, 2)?, task, &config)
        }
        Source::Npy { features, targets } => {
            let data = NpyDataset::open(features, targets)?;
            let task = match data.classes() {
                Some(_) => Task::Classification,
                None => Task::Regression,
            };
            println!(
                "Memory-mapped {} rows of shape {:?} from {}: {} outputs, {task:?}",
                data.len(),
                data.sample_shape(),
                features.display(),
                data.target_width(),
            );
            train(options, Prefetch::new(data, &config, 2)?, task, &config)
        }
    }
}

/// Builds the MLP, trains it on `data` and prints the validation metrics.
fn train<D: Dataset + Send + Sync + 'static>(
    options: &Options,
    data: Prefetch<D>,
    task: Task,
    config: &FitConfig<'_>,
) -> Result<(), Box<dyn StdError>> {
    // The first rows, to adapt the input normalization (and the output one for regression).
    let n = data.len().min(ADAPT_ROWS);
    let rows: Vec<usize> = (0..n).collect();
    let mut x = Array2::zeros((n, data.input_width()));
    let mut y = Array2::zeros((n, data.target_width()));
    data.get_ref()
        .fill_batch(&rows, x.view_mut(), y.view_mut())?;
    let mut builder = Sequential::builder(data.input_width())
        .seed(options.seed)
        .push(Normalization::adapted(x.view())?);
    for &width in &options.hidden {
        builder = builder.dense(width, Init::HeNormal).push(Relu);
    }
    let outputs = data.target_width();
    let (mut model, loss): (Sequential, &dyn Loss) = match task {
        Task::Classification | Task::Binary => (
            builder
                .dense(outputs, Init::XavierNormal)
                .push(Softmax)
                .build()?,
            &CrossEntropy,
        ),
        Task::Regression => (
            builder
                .dense(outputs, Init::XavierNormal)
                .push(Normalization::adapted(y.view())?.inverted())
                .build()?,
            &Mse,
        ),
    };
    println!("{}", model.summary());
    let mut adam = Adam::new(options.learning_rate)?;
    let history = model.fit(&data, loss, &mut adam, config)?;
    let (prefetched, direct) = data.counts();
    println!(
        "Trained {} epochs in {:.2} s ({prefetched} batches prefetched, {direct} read directly)",
        history.epoch_losses.len(),
        history.training_time.as_secs_f64(),
    );
    if let Some(accuracy) = history.validation_accuracies.last() {
        println!("Validation accuracy: {accuracy:.4}");
    }
    if let Some(loss) = history.validation_losses.last() {
        println!("Validation loss: {loss:.4}");
    }
    Ok(())
}
