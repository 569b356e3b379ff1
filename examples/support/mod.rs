//! What the examples share: their command-line options and `main` (the MNIST examples' and the
//! benchmarks'), loading MNIST with download progress, the per-epoch report with its progress
//! bar, result tables and errors.
//!
//! Not an example itself (Cargo builds only `examples/*.rs` and `examples/*/main.rs`): each
//! example includes it with `#[path = "support/mod.rs"] mod support;`.
// Each example uses only some of these helpers.
#![allow(dead_code)]

use std::error::Error as StdError;
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use feedforward::data::download::DownloadEvent;
use feedforward::data::mnist::{Mnist, MnistLookup};
use feedforward::metrics::ConfusionMatrix;
use feedforward::model::Callback;
use feedforward::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

// ---------------------------------------------------------------------------------------------
// Command line

/// The training options both examples take.
#[derive(Debug, Clone)]
pub struct TrainingOptions {
    /// `--data-dir DIR`: where the MNIST files are (else `MNIST_DIR`, else the repository's
    /// `data/mnist`, else the cache).
    pub data_dir: Option<PathBuf>,
    /// `--epochs N`
    pub epochs: usize,
    /// `--batch-size N`
    pub batch_size: usize,
    /// `--lr X`
    pub learning_rate: f32,
    /// `--seed N`
    pub seed: u32,
    /// `--quiet`
    pub quiet: bool,
}

/// What the command line asks for.
pub enum Command<T = TrainingOptions> {
    /// Run with these options.
    Run(T),
    /// Print the usage.
    Help,
}

/// Reads the command line into `defaults`: the shared options, `-h`/`--help`, and the
/// example's own long options, which `extra(name, parser)` applies and reports with `Ok(true)`
/// (`Ok(false)`: not one of them). `Err` holds a message for a usage error.
pub fn parse_args(
    defaults: TrainingOptions,
    extra: &mut dyn FnMut(&str, &mut lexopt::Parser) -> Result<bool, String>,
) -> Result<Command, String> {
    use lexopt::prelude::*;
    let mut options = defaults;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let name = match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Long(name) => name.to_string(),
            other => return Err(other.unexpected().to_string()),
        };
        match name.as_str() {
            "data-dir" => options.data_dir = Some(value(&mut parser, "--data-dir")?.into()),
            "epochs" => options.epochs = at_least_one(&mut parser, "--epochs")?,
            "batch-size" => options.batch_size = at_least_one(&mut parser, "--batch-size")?,
            "lr" => options.learning_rate = learning_rate(&mut parser)?,
            "seed" => options.seed = seed(&mut parser)?,
            "quiet" => options.quiet = true,
            _ if extra(&name, &mut parser)? => {}
            _ => return Err(Long(&name).unexpected().to_string()),
        }
    }
    Ok(Command::Run(options))
}

/// An example's `main`: parses the command line, prints `usage` for `--help`, runs `run`, and
/// turns the outcome into the exit code: 0, 1 when `run` fails (the error on stderr), 2 for a
/// usage error (with a pointer to `--help`).
pub fn main_with<T>(
    usage: &str,
    parsed: Result<Command<T>, String>,
    run: impl FnOnce(&T) -> Result<(), Failure>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let options = match parsed {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            print!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\nRun with --help for the options.");
            return ExitCode::from(2);
        }
    };
    warn_if_debug_build();
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// One line on stderr when this example was compiled without optimisations (`cargo run` without
/// `--release`, which also turns debug assertions on): the training loop then runs dozens of
/// times slower (the tutorial's 20 epochs: about a minute instead of about a second).
fn warn_if_debug_build() {
    if cfg!(debug_assertions) {
        let name = std::env::args_os()
            .next()
            .map(PathBuf::from)
            .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "NAME".to_string());
        eprintln!(
            "warning: debug build (no --release), training runs dozens of times slower: use \
             `cargo run --release --example {name}`"
        );
    }
}

/// The value of option `name`.
pub fn value(parser: &mut lexopt::Parser, name: &str) -> Result<std::ffi::OsString, String> {
    parser.value().map_err(|_| format!("{name} needs a value"))
}

/// The value of option `name` parsed as a `T`; `expected` says what is valid.
fn number<T: FromStr>(
    parser: &mut lexopt::Parser,
    name: &str,
    expected: &str,
) -> Result<T, String> {
    let raw = value(parser, name)?;
    let text = raw.to_string_lossy();
    text.trim()
        .parse()
        .map_err(|_| format!("invalid {name} {text:?}: expected {expected}"))
}

/// The value of option `name` as a whole number of at least 1.
fn at_least_one(parser: &mut lexopt::Parser, name: &str) -> Result<usize, String> {
    whole(parser, name, 1)
}

/// The value of option `name` as a whole number of at least `min`.
pub fn whole(parser: &mut lexopt::Parser, name: &str, min: usize) -> Result<usize, String> {
    let expected = format!("a whole number of at least {min}");
    match number(parser, name, &expected)? {
        n if n < min => Err(format!("invalid {name} {n}: expected {expected}")),
        n => Ok(n),
    }
}

/// The value of `--seed`: a whole number from 0 to 4294967295.
pub fn seed(parser: &mut lexopt::Parser) -> Result<u32, String> {
    number(parser, "--seed", "a whole number from 0 to 4294967295")
}

/// The value of `--lr`: a finite number above 0.
fn learning_rate(parser: &mut lexopt::Parser) -> Result<f32, String> {
    let expected = "a positive number such as 0.1";
    let lr: f32 = number(parser, "--lr", expected)?;
    if lr.is_finite() && lr > 0.0 {
        Ok(lr)
    } else {
        Err(format!("invalid --lr {lr}: expected {expected}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Data

/// This repository's own copy of MNIST, `data/mnist` beside `Cargo.toml` (absent from the
/// published crate).
pub fn repository_mnist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join("mnist")
}

/// The MNIST training and test files from `data_dir`, else `MNIST_DIR`, else this repository's
/// copy, else the cache folder (downloading what is missing, with progress on stderr).
pub fn load_mnist(data_dir: Option<&Path>) -> feedforward::Result<Mnist> {
    let mut downloads = DownloadReport::new(std::io::stderr().is_terminal());
    MnistLookup::new()
        .data_dir(data_dir)
        .bundled(repository_mnist_dir())
        .load(&mut |event| downloads.on(event))
}

/// Shows download progress on stderr: a bar on a terminal, plain lines otherwise.
///
/// A mirror's failure is told only when another mirror then delivers the file: when none does,
/// the error that ends the example lists every failure, once.
struct DownloadReport {
    draw_bars: bool,
    bar: Option<ProgressBar>,
    /// Mirror failures not yet told: `(file, url, reason)`.
    failed: Vec<(String, String, String)>,
}

impl DownloadReport {
    fn new(draw_bars: bool) -> Self {
        DownloadReport {
            draw_bars,
            bar: None,
            failed: Vec::new(),
        }
    }

    fn on(&mut self, event: DownloadEvent) {
        match event {
            DownloadEvent::Started {
                file,
                url,
                total_bytes,
            } => {
                if self.draw_bars {
                    let bar =
                        ProgressBar::with_draw_target(total_bytes, ProgressDrawTarget::stderr())
                            .with_style(bar_style(
                                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
                            ))
                            .with_message(file);
                    self.bar = Some(bar);
                } else {
                    eprintln!("Downloading {file} from {url}");
                }
            }
            DownloadEvent::Progress { bytes, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(bytes);
                }
            }
            DownloadEvent::Finished { file } => {
                self.clear_bar();
                // This file's failed mirrors; the others' stay for the final error.
                self.failed.retain(|(failed_file, url, reason)| {
                    let told = *failed_file == file;
                    if told {
                        eprintln!("(could not get {file} from {url}: {reason})");
                    }
                    !told
                });
                eprintln!("Downloaded {file}");
            }
            DownloadEvent::MirrorFailed { file, url, reason } => {
                self.clear_bar();
                self.failed.push((file, url, reason));
            }
            _ => {}
        }
    }

    fn clear_bar(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Training progress

/// Prints one line per epoch and, on a terminal, draws a bar with the running loss during the
/// epoch. The line is the tutorial's `Epoch k/n, Average Loss: x`, or, when the epoch was
/// validated, `Epoch k/n, loss x, validation loss y, validation accuracy z (t s)` with the
/// epoch's time, validation included.
///
/// Use it as the progress closure of `fit` (`&mut |p| report.on(p)`) or as a callback of
/// `fit_with_callbacks`.
pub struct EpochReport {
    draw_bars: bool,
    bar: Option<ProgressBar>,
    started: Option<Instant>,
    /// The loss of the very first batch: where training started, to tell a diverged run.
    first_loss: Option<f32>,
}

impl EpochReport {
    /// Batches between two updates of the bar: enough to look live, few enough to cost nothing.
    const BAR_STEP: usize = 25;

    /// A report that draws bars when `draw_bars` (pass whether stdout is a terminal).
    pub fn new(draw_bars: bool) -> Self {
        EpochReport {
            draw_bars,
            bar: None,
            started: None,
            first_loss: None,
        }
    }

    /// The loss of the first batch trained on, if any.
    pub fn first_loss(&self) -> Option<f32> {
        self.first_loss
    }

    /// Takes one progress event.
    pub fn on(&mut self, progress: &Progress) {
        match *progress {
            Progress::Resumed {
                epoch,
                epochs,
                stopped,
            } => {
                if stopped {
                    println!("Training had stopped after epoch {epoch} (from the checkpoint)");
                } else if epoch >= epochs {
                    println!("Training had finished all {epochs} epochs (from the checkpoint)");
                } else {
                    println!(
                        "Resuming from the checkpoint at epoch {}/{epochs} ({} finished)",
                        epoch + 1,
                        plural(epoch, "epoch")
                    );
                }
            }
            Progress::EpochStart {
                epoch,
                epochs,
                batches,
            } => {
                self.started = Some(Instant::now());
                if self.draw_bars {
                    let bar = ProgressBar::with_draw_target(
                        Some(batches as u64),
                        ProgressDrawTarget::stdout(),
                    )
                    .with_style(bar_style(
                        "{prefix} [{bar:30}] {pos}/{len} batches, loss {msg}",
                    ))
                    .with_prefix(format!("Epoch {}/{epochs}", epoch + 1));
                    self.bar = Some(bar);
                }
            }
            Progress::Batch {
                batch,
                batches,
                running_loss,
                loss,
                ..
            } => {
                self.first_loss.get_or_insert(loss);
                if let Some(bar) = &self.bar {
                    if batch % Self::BAR_STEP == 0 || batch + 1 == batches {
                        bar.set_position(batch as u64 + 1);
                        bar.set_message(format!("{running_loss:.4}"));
                    }
                }
            }
            Progress::EpochEnd {
                epoch,
                epochs,
                average_loss,
                validation_loss,
                validation_accuracy,
            } => {
                // Clear the bar first, so that the line is printed on a clean terminal line.
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let head = format!("Epoch {}/{epochs}", epoch + 1);
                match (validation_loss, validation_accuracy) {
                    (Some(loss), Some(accuracy)) => {
                        let time = self.started.map(|s| s.elapsed()).unwrap_or_default();
                        println!(
                            "{head}, loss {average_loss:.4}, validation loss {loss:.4}, \
                             validation accuracy {accuracy:.4} ({:.2} s)",
                            time.as_secs_f64()
                        );
                    }
                    _ => println!("{head}, Average Loss: {average_loss:.4}"),
                }
            }
        }
    }
}

impl Callback for EpochReport {
    fn on_progress(&mut self, progress: &Progress) {
        self.on(progress);
    }
}

/// How training shows its progress: on a terminal the library's progress bar (Keras'
/// `verbose=1`: batches, running loss and accuracy, samples per second, time left), else the
/// plain lines of [`EpochReport`] (the tutorial's trace, stable for scripts and tests).
pub struct Shown {
    report: EpochReport,
    bar: Option<feedforward::model::ProgressBar>,
}

impl Shown {
    /// The bar when `terminal`, else the report's lines.
    pub fn new(terminal: bool) -> Self {
        Shown {
            report: EpochReport::new(false),
            bar: terminal.then(feedforward::model::ProgressBar::new),
        }
    }

    /// The loss of the first batch trained on, if any.
    pub fn first_loss(&self) -> Option<f32> {
        self.report.first_loss
    }
}

impl Callback for Shown {
    fn on_progress(&mut self, progress: &Progress) {
        match &mut self.bar {
            Some(bar) => {
                if let Progress::Batch { loss, .. } = *progress {
                    self.report.first_loss.get_or_insert(loss);
                }
                bar.on_progress(progress);
            }
            None => self.report.on(progress),
        }
    }

    fn on_epoch_end(
        &mut self,
        model: &mut feedforward::Sequential,
        log: &feedforward::model::EpochLog,
    ) -> feedforward::Result<feedforward::model::Control> {
        match &mut self.bar {
            Some(bar) => bar.on_epoch_end(model, log),
            None => Ok(feedforward::model::Control::Continue),
        }
    }

    fn on_train_end(
        &mut self,
        model: &mut feedforward::Sequential,
        history: &feedforward::History,
    ) -> feedforward::Result<()> {
        match &mut self.bar {
            Some(bar) => bar.on_train_end(model, history),
            None => Ok(()),
        }
    }
}

/// A progress-bar style from a template, or indicatif's default if the template were invalid.
fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

// ---------------------------------------------------------------------------------------------
// Results

/// `1 epoch`, `20 epochs`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `Training time: 1.23 s (20 epochs on 56000 training images)`.
pub fn training_time_line(time: Duration, epochs: usize, images: usize) -> String {
    format!(
        "Training time: {:.2} s ({} on {images} training images)",
        time.as_secs_f64(),
        plural(epochs, "epoch"),
    )
}

/// Precision and recall of each class, one line per class.
pub fn class_rates(confusion: &ConfusionMatrix) -> String {
    let mut text = String::from("class  precision  recall");
    for class in 0..confusion.classes() {
        text += &format!(
            "\n{class:>5}  {:>9.4}  {:>6.4}",
            confusion.precision(class).unwrap_or(0.0),
            confusion.recall(class).unwrap_or(0.0)
        );
    }
    text
}

/// What `mlp` and `cnn` print once `fit` with early stopping (`patience` epochs, weights of the
/// best epoch restored) has returned: the epoch it stopped after, when it stopped before
/// `planned_epochs`, and the epoch whose weights were restored, when it is not the last.
pub fn print_early_stopping(
    history: &feedforward::History,
    stopper: &feedforward::model::EarlyStopping,
    planned_epochs: usize,
    patience: usize,
) {
    let epochs = history.epoch_losses.len();
    if let Some(stopped) = history.stopped_at.filter(|&e| e + 1 < planned_epochs) {
        println!(
            "Stopped after epoch {}: no better validation loss for {patience} epochs",
            stopped + 1
        );
    }
    if let (Some(best), Some(loss)) = (stopper.best_epoch(), stopper.best_loss()) {
        if best + 1 < epochs {
            println!(
                "Restored the weights of epoch {}, the best validation loss ({loss:.4})",
                best + 1
            );
        }
    }
}

/// Evaluates `model` on MNIST's test file (which training never saw) and prints what `mlp` and
/// `cnn` print: the accuracy, the training time on `trained_on` images, the time per epoch, the
/// load time and, unless `quiet`, each class's precision and recall. Returns the confusion
/// matrix.
pub fn print_test_results(
    model: &mut feedforward::Sequential,
    test: &impl feedforward::data::Dataset,
    history: &feedforward::History,
    trained_on: usize,
    load_time: Duration,
    quiet: bool,
) -> Result<ConfusionMatrix, Failure> {
    let evaluation = model.evaluate(test, &feedforward::losses::CrossEntropy, 1000)?;
    let confusion = evaluation.confusion.ok_or(Failure::NoClasses)?;
    let epochs = history.epoch_losses.len();
    println!("Accuracy on test set: {:.4}", confusion.accuracy());
    println!(
        "{}",
        training_time_line(history.training_time, epochs, trained_on)
    );
    let per_epoch = history.training_time.as_secs_f64() / epochs as f64;
    println!("Time per epoch: {per_epoch:.2} s (validation included)");
    println!("Load time: {:.2} s", load_time.as_secs_f64());
    if !quiet {
        println!("\n{}", class_rates(&confusion));
    }
    Ok(confusion)
}

// ---------------------------------------------------------------------------------------------
// Outputs, checked before training

/// Checks, before any training, that the folder `dir` can take the figures: creates it if need
/// be and writes (then removes) a probe file in it.
pub fn check_output_dir(dir: &Path) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::Output {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    tempfile::tempfile_in(dir).map(drop).map_err(fail)
}

/// Checks, before any training, that a model can be saved at `path`: not a folder, in a folder
/// that exists and can be written to (a probe file is created there and removed).
pub fn check_save_path(path: &Path) -> Result<(), Failure> {
    let fail = |reason: String| Failure::Save {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_dir() {
        return Err(fail("it is a folder; give a file name".into()));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(fail(format!("the folder {} does not exist", dir.display())));
    }
    tempfile::tempfile_in(dir)
        .map(drop)
        .map_err(|e| fail(format!("cannot write in {}: {e}", dir.display())))
}

/// How many times larger than the first batch's loss the last epoch's may be before the run
/// counts as diverged: two orders of magnitude.
pub const DIVERGENCE_FACTOR: f32 = 100.0;

/// Whether a run diverged: its last epoch's loss is not finite, or is more than
/// [`DIVERGENCE_FACTOR`] times the loss of its first batch (where it started).
pub fn check_divergence(first_loss: Option<f32>, epoch_losses: &[f32]) -> Result<(), Failure> {
    let (Some(first), Some(&last)) = (first_loss, epoch_losses.last()) else {
        return Ok(());
    };
    if !last.is_finite() || last > DIVERGENCE_FACTOR * first.max(f32::MIN_POSITIVE) {
        return Err(Failure::Diverged { first, last });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Export

/// `--onnx PATH`: writes the trained model to `path` as ONNX and says how to run it.
pub fn export_onnx(model: &feedforward::Sequential, path: &Path) -> Result<(), Failure> {
    #[cfg(feature = "onnx")]
    {
        model.save_onnx(path)?;
        println!(
            "ONNX model written to {} (input \"input\" {}, output \"output\" [batch, {}]); \
             scripts/check_onnx.py runs it with onnxruntime",
            path.display(),
            onnx_dims(model.input_shape()),
            model.output_width()
        );
        Ok(())
    }
    #[cfg(not(feature = "onnx"))]
    {
        let _ = model;
        Err(Failure::Library(feedforward::Error::config(
            "--onnx",
            path.display(),
            "a build with the crate's `onnx` feature (on by default)",
        )))
    }
}

/// An ONNX input's dimensions as the file declares them: `[batch, width]` or
/// `[batch, C, H, W]`.
#[cfg(feature = "onnx")]
fn onnx_dims(shape: feedforward::layers::Shape) -> String {
    match shape.chw() {
        Some((c, h, w)) => format!("[batch, {c}, {h}, {w}]"),
        None => format!("[batch, {}]", shape.size()),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why an example stopped.
#[derive(Debug)]
pub enum Failure {
    /// The library refused something (missing or corrupt files, a bad setting, ...); its
    /// message says what to change.
    Library(feedforward::Error),
    /// A figure or the figures folder could not be written.
    Output { path: PathBuf, reason: String },
    /// The model cannot be saved at the `--save` path.
    Save { path: PathBuf, reason: String },
    /// Training diverged: the loss ended far above where it started. Nothing was saved.
    Diverged { first: f32, last: f32 },
    /// The data set has no class labels (cannot happen with MNIST files).
    NoClasses,
}

impl From<feedforward::Error> for Failure {
    fn from(e: feedforward::Error) -> Self {
        Failure::Library(e)
    }
}

impl From<feedforward::FitError> for Failure {
    fn from(e: feedforward::FitError) -> Self {
        Failure::Library(e.error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Library(e) => write!(f, "{e}"),
            Failure::Output { path, reason } => write!(
                f,
                "cannot write {}: {reason}; choose another folder with --out DIR",
                path.display()
            ),
            Failure::Save { path, reason } => write!(
                f,
                "cannot save the model to {}: {reason}; choose another path with --save",
                path.display()
            ),
            Failure::Diverged { first, last } => write!(
                f,
                "training diverged: the loss went from {first:.4} (first batch) to {last:.4e} \
                 (last epoch), more than {DIVERGENCE_FACTOR} times higher; the model was not \
                 saved. Lower the learning rate with --lr"
            ),
            Failure::NoClasses => write!(f, "the test set has no class labels to score"),
        }
    }
}

impl StdError for Failure {}
