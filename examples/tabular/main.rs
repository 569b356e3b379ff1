//! Your own table, from a CSV file to a trained, saved model.
//!
//! `cargo run --release --example tabular -- --csv PATH --target COLUMN [--task classification|regression]
//!  [--test-size 0.2] [--seed 42] [--stratify] [--drop-missing] [--epochs N] [--save PATH]`
//!
//! Data larger than memory (see `large.rs`): `--stream` reads the CSV file(s) a batch at a
//! time (`--csv` repeated for a table in several files), `--npy X.npy --labels Y.npy` trains
//! on arrays saved by `np.save`, memory-mapped.
//!
//! For instance, with the tables in `data/` (scikit-learn's, see data/README.md):
//!
//! ```text
//! cargo run --release --example tabular -- --csv data/breast_cancer.csv --target target --stratify
//! cargo run --release --example tabular -- --csv data/iris.csv --target species --stratify
//! cargo run --release --example tabular -- --csv data/diabetes.csv --target target
//! ```
//!
//! What it does, as a scikit-learn or Keras user would by hand:
//! 1. reads the CSV file with `data::csv`: numbers as numbers, text one-hot, the target's
//!    classes in sorted order; the task (classification or regression) is guessed from the
//!    target column unless `--task` says it, and printed;
//! 2. splits the rows as scikit-learn's `train_test_split` does (`--stratify`: class
//!    proportions kept in both parts), the same rows for the same seed;
//! 3. builds an MLP whose first layer, `Normalization`, standardises the numeric features with
//!    the training rows' mean and variance (so the saved model takes raw features): hidden
//!    ReLU layers (`--hidden 32`, optionally each followed by `Dropout`), then `Softmax` for
//!    classification, or, for regression, an inverted `Normalization` that turns standardised
//!    outputs into the target's units;
//! 4. trains it with Adam and scikit-learn's L2 penalty (`alpha`, as `MLPClassifier` and
//!    `MLPRegressor` define it), choosing the penalty among `--alpha 0,1,3,10,30` and the
//!    number of epochs by 5-fold cross-validation on the training rows, as scikit-learn's
//!    `GridSearchCV` would (each fold early-stopped on its validation loss; the folds'
//!    validation curves averaged epoch by epoch, as `xgboost.cv` does, give the epoch count;
//!    the penalty with the best mean validation accuracy, or MSE for regression, at that
//!    epoch wins, a tie going to the larger penalty); then trains the network on *all* the
//!    training rows with that penalty for that many epochs (`GridSearchCV`'s refit), so that,
//!    like scikit-learn's models, the final model learns from every training row;
//! 5. prints the test metrics: `Accuracy on test set: ...` and each class's precision, recall
//!    and F1, or `R^2 on test set: ...` with MSE, RMSE and MAE;
//! 6. writes the learning curves as SVG (`--out DIR`) and, with `--save PATH`, the model
//!    (safetensors) and the table's encoding (`PATH` with extension `.encoding.json`), then
//!    reloads the model and checks that it predicts the same.

use feedforward::data::csv::{FeatureKind, Missing, Table, Task};
use feedforward::ndarray::Array2;
use feedforward::prelude::*;
use plotters::prelude::*;
use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod large;

const USAGE: &str = "\
Trains a neural network on a CSV table and scores it on a held-out part.

Usage: tabular --csv PATH --target COLUMN [OPTIONS]

Options:
      --csv PATH          the table: a header row, then one row per sample
      --target COLUMN     the column to predict (repeat it for multi-output regression)
      --task TASK         classification or regression [default: guessed from the target]
      --test-size F       fraction of the rows held out for testing [default: 0.2]
      --seed N            seed of the split, the weights and the shuffling [default: 42]
      --stratify          keep the class proportions in both parts (classification)
      --drop-missing      drop rows with an empty or NA cell instead of failing
      --epochs N          most epochs (early stopping usually ends sooner) [default: 1000]
      --patience N        epochs without a better validation loss before a fold stops
                          [default: 100]
      --hidden LIST       widths of the hidden layers, such as 64,32 [default: 32]
      --dropout P         dropout after each hidden layer, 0 for none [default: 0]
      --batch-size N      rows per batch [default: 32]
      --lr X              Adam's learning rate [default: 0.001]
      --alpha LIST        L2 penalties to try, scikit-learn's MLP's alpha (0.5 alpha ||W||^2
                          / rows added to the mean loss) [default: 0,1,3,10,30]
      --cv K              folds of the cross-validation that chooses alpha and the number
                          of epochs; the model is then trained on all the training rows
                          [default: 5]
      --save PATH         save the model (and PATH.encoding.json, the table's encoding)
  -o, --out DIR           where to write learning_curves.svg [default: target/figures/tabular]
  -q, --quiet             no line per epoch
      --stream            data larger than memory: read the CSV file(s) a batch at a time
                          (repeat --csv for a table in several files), holding out the last
                          --test-size rows for validation; no cross-validation [epochs: 10]
      --npy PATH          train on features saved by np.save (float32/float64), memory-mapped,
                          as --stream does
      --labels PATH       with --npy: integer class labels or float targets (np.save)
      --shuffle-buffer ROWS
                          with --stream or --npy: shuffle within windows of ROWS rows
                          (blocks of rows in a random order, then rows within a window:
                          bounded memory, a few large reads; 65536 is usual) instead of an
                          exact shuffle of every row
  -h, --help              print this help";

/// The command line.
struct Options {
    csv: PathBuf,
    targets: Vec<String>,
    task: Option<Task>,
    test_size: f64,
    seed: u32,
    stratify: bool,
    drop_missing: bool,
    epochs: usize,
    patience: usize,
    hidden: Vec<usize>,
    batch_size: usize,
    learning_rate: f32,
    alphas: Vec<f32>,
    dropout: f32,
    folds: usize,
    save: Option<PathBuf>,
    out: PathBuf,
    quiet: bool,
    /// Every --csv given (a table in several files, with --stream).
    csv_files: Vec<PathBuf>,
    stream: bool,
    npy: Option<PathBuf>,
    labels: Option<PathBuf>,
    /// With --stream or --npy: the rows of a shuffle buffer (an exact shuffle without).
    shuffle_buffer: Option<usize>,
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(options)) => match run(&options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Reads the command line; `Ok(None)` for `--help`.
fn parse_args() -> Result<Option<Options>, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut options = Options {
        csv: PathBuf::new(),
        targets: Vec::new(),
        task: None,
        test_size: 0.2,
        seed: 42,
        stratify: false,
        drop_missing: false,
        epochs: 1000,
        patience: 100,
        hidden: vec![32],
        batch_size: 32,
        learning_rate: 1e-3,
        alphas: vec![0.0, 1.0, 3.0, 10.0, 30.0],
        dropout: 0.0,
        folds: 5,
        save: None,
        out: PathBuf::from("target/figures/tabular"),
        quiet: false,
        csv_files: Vec::new(),
        stream: false,
        npy: None,
        labels: None,
        shuffle_buffer: None,
    };
    fn text(parser: &mut lexopt::Parser, name: &str) -> Result<String, String> {
        let value = parser.value().map_err(|e| format!("{name}: {e}"))?;
        value
            .into_string()
            .map_err(|_| format!("{name}: not valid UTF-8"))
    }
    fn number<T: std::str::FromStr>(
        parser: &mut lexopt::Parser,
        name: &str,
        what: &str,
    ) -> Result<T, String> {
        let value = text(parser, name)?;
        value
            .parse()
            .map_err(|_| format!("{name} {value:?}: expected {what}"))
    }
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("csv") => options
                .csv_files
                .push(PathBuf::from(text(&mut parser, "--csv")?)),
            Long("stream") => options.stream = true,
            Long("npy") => options.npy = Some(PathBuf::from(text(&mut parser, "--npy")?)),
            Long("labels") => options.labels = Some(PathBuf::from(text(&mut parser, "--labels")?)),
            Long("shuffle-buffer") => {
                options.shuffle_buffer =
                    Some(number(&mut parser, "--shuffle-buffer", "a number of rows")?)
            }
            Long("target") => options.targets.push(text(&mut parser, "--target")?),
            Long("task") => {
                options.task = Some(match text(&mut parser, "--task")?.as_str() {
                    "classification" => Task::Classification,
                    "regression" => Task::Regression,
                    other => {
                        return Err(format!(
                            "--task {other:?}: expected classification or regression"
                        ))
                    }
                })
            }
            Long("test-size") => {
                options.test_size = number(&mut parser, "--test-size", "a fraction such as 0.2")?;
                if !(options.test_size > 0.0 && options.test_size < 1.0) {
                    return Err("--test-size: expected a fraction between 0 and 1".into());
                }
            }
            Long("seed") => options.seed = number(&mut parser, "--seed", "a whole number")?,
            Long("stratify") => options.stratify = true,
            Long("drop-missing") => options.drop_missing = true,
            Long("epochs") => options.epochs = number(&mut parser, "--epochs", "a count")?,
            Long("patience") => options.patience = number(&mut parser, "--patience", "a count")?,
            Long("batch-size") => {
                options.batch_size = number(&mut parser, "--batch-size", "a count")?
            }
            Long("lr") => {
                options.learning_rate = number(&mut parser, "--lr", "a number such as 0.001")?
            }
            Long("alpha") => {
                let list = text(&mut parser, "--alpha")?;
                options.alphas = list
                    .split(',')
                    .filter(|a| !a.trim().is_empty())
                    .map(|a| {
                        a.trim()
                            .parse()
                            .ok()
                            .filter(|&a: &f32| a.is_finite() && a >= 0.0)
                    })
                    .collect::<Option<_>>()
                    .filter(|alphas: &Vec<f32>| !alphas.is_empty())
                    .ok_or(format!(
                        "--alpha {list:?}: expected penalties >= 0 such as 0,1,10"
                    ))?;
            }
            Long("dropout") => {
                options.dropout = number(&mut parser, "--dropout", "a probability in [0, 1)")?;
                if !(0.0..1.0).contains(&options.dropout) {
                    return Err("--dropout: expected a probability in [0, 1)".into());
                }
            }
            Long("cv") => {
                options.folds = number(&mut parser, "--cv", "a number of folds such as 5")?;
                if options.folds < 2 {
                    return Err("--cv: expected at least 2 folds".into());
                }
            }
            Long("hidden") => {
                let list = text(&mut parser, "--hidden")?;
                options.hidden = list
                    .split(',')
                    .filter(|w| !w.trim().is_empty())
                    .map(|w| w.trim().parse().ok().filter(|&w: &usize| w > 0))
                    .collect::<Option<_>>()
                    .ok_or(format!("--hidden {list:?}: expected widths such as 64,32"))?;
            }
            Long("save") => options.save = Some(PathBuf::from(text(&mut parser, "--save")?)),
            Short('o') | Long("out") => options.out = PathBuf::from(text(&mut parser, "--out")?),
            Short('q') | Long("quiet") => options.quiet = true,
            other => return Err(other.unexpected().to_string()),
        }
    }
    if options.epochs == 0 || options.batch_size == 0 {
        return Err("--epochs and --batch-size must be at least 1".into());
    }
    if options.npy.is_some() {
        if options.labels.is_none() {
            return Err("--npy PATH needs --labels PATH".into());
        }
        return Ok(Some(options));
    }
    options.csv = options
        .csv_files
        .first()
        .cloned()
        .ok_or("--csv PATH is required")?;
    if options.csv_files.len() > 1 && !options.stream {
        return Err("several --csv files are read with --stream".into());
    }
    if options.targets.is_empty() {
        return Err("--target COLUMN is required".into());
    }
    if options.shuffle_buffer.is_some() && !options.stream {
        return Err("--shuffle-buffer is for --stream and --npy".into());
    }
    if options.epochs == 0 || options.patience == 0 || options.batch_size == 0 {
        return Err("--epochs, --patience and --batch-size must be at least 1".into());
    }
    Ok(Some(options))
}

fn run(options: &Options) -> Result<(), Box<dyn StdError>> {
    if let (Some(features), Some(targets)) = (&options.npy, &options.labels) {
        return large::run(options, large::Source::Npy { features, targets });
    }
    if options.stream {
        return large::run(options, large::Source::Csv(&options.csv_files));
    }
    // 1. The table.
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
    let table = reader.read(&options.csv)?;
    describe(options, &table);
    let task = table.task();

    // 2. The split, scikit-learn's rows.
    let split = match (options.stratify, table.labels()) {
        (true, Some(labels)) => {
            stratified_train_test_split(labels, options.test_size, options.seed)?
        }
        (true, None) => {
            return Err(
                "--stratify keeps class proportions: it needs a classification target".into(),
            )
        }
        (false, _) => train_test_split(table.len(), options.test_size, options.seed)?,
    };
    let (train, test) = (table.select(&split.train)?, table.select(&split.test)?);
    println!(
        "Split (seed {}{}): {} training rows ({}-fold cross-validated), {} test rows",
        options.seed,
        if options.stratify { ", stratified" } else { "" },
        train.len(),
        options.folds,
        test.len()
    );

    // 3. The model: raw features in, classes or target values out.
    // A table's task is classification (class labels, one-hot) or regression.
    let loss: &dyn Loss = match task {
        Task::Regression => &Mse,
        Task::Classification | Task::Binary => &CrossEntropy,
    };
    println!("{}", build_model(options, &train)?.summary());

    // 4. Training. Cross-validation on the training rows chooses the L2 penalty and the number
    // of epochs (scikit-learn's GridSearchCV); then the network is trained on every training
    // row with them (GridSearchCV's refit).
    let Choice {
        alpha,
        epochs,
        history,
    } = cross_validate(options, &train, loss)?;
    let mut model = build_model(options, &train)?;
    let mut adam = optimizer(options.learning_rate, alpha, &train, train.len())?;
    let config = FitConfig::new(epochs)
        .batch_size(options.batch_size)
        .shuffle(options.seed)
        .verbose(if options.quiet {
            Verbosity::Silent
        } else {
            Verbosity::Epochs
        });
    let refit = model.fit(&train, loss, adam.as_mut(), &config)?;
    println!(
        "Refit: trained on all {} training rows with alpha {alpha} for {epochs} epochs in {:.2} s",
        train.len(),
        refit.training_time.as_secs_f64(),
    );

    // 5. The test metrics.
    let evaluation = model.evaluate(&test, loss, 1000)?;
    match task {
        Task::Classification | Task::Binary => {
            let confusion = evaluation.confusion.as_ref().ok_or("no confusion matrix")?;
            println!("Accuracy on test set: {:.4}", confusion.accuracy());
            let classes = train.encoding().classes().unwrap_or_default();
            print_class_table(classes, confusion)?;
        }
        Task::Regression => {
            let metrics = evaluation.regression.ok_or("no regression metrics")?;
            println!("R^2 on test set: {:.4}", metrics.r2);
            println!(
                "MSE {:.4}, RMSE {:.4}, MAE {:.4} (in the target's units; R^2 averaged over {} output{})",
                metrics.mse,
                metrics.rmse,
                metrics.mae,
                train.target_width(),
                if train.target_width() == 1 { "" } else { "s" }
            );
        }
    }

    // 6. The learning curves, and the saved model.
    std::fs::create_dir_all(&options.out)?;
    let figure = options.out.join("learning_curves.svg");
    learning_curves(&history, &figure)?;
    println!(
        "Learning curves (the first fold, alpha {alpha}): {}",
        figure.display()
    );
    if let Some(path) = &options.save {
        save(&mut model, &table, &test, path)?;
    }
    Ok(())
}

/// The network for `train`'s rows: `Normalization` adapted to them, the hidden ReLU layers
/// (each followed by `Dropout` when asked), then `Softmax` for classification or an inverted
/// `Normalization` adapted to their targets for regression. The initial weights come from
/// `--seed` (the builder and each `Dropout` are seeded with it), the same for every fold and
/// for the final fit.
fn build_model(options: &Options, train: &Table) -> feedforward::Result<Sequential> {
    let mut builder = Sequential::builder(train.input_width())
        .seed(options.seed)
        .push(input_normalization(train)?);
    for (i, &width) in options.hidden.iter().enumerate() {
        builder = builder.dense(width, Init::HeNormal).push(Relu);
        if options.dropout > 0.0 {
            builder = builder.push(Dropout::new(options.dropout, options.seed + i as u32)?);
        }
    }
    let outputs = train.target_width();
    match train.task() {
        Task::Classification | Task::Binary => {
            builder.dense(outputs, Init::XavierNormal).push(Softmax)
        }
        Task::Regression => builder
            .dense(outputs, Init::XavierNormal)
            .push(Normalization::adapted(train.targets())?.inverted()),
    }
    .build()
}

/// What cross-validation chose.
struct Choice {
    /// The L2 penalty.
    alpha: f32,
    /// The number of epochs: up to the lowest mean validation loss over the folds.
    epochs: usize,
    /// The first fold's history with that penalty, for the learning curves.
    history: History,
}

/// K-fold cross-validation of every `--alpha` on the training rows, as scikit-learn's
/// `GridSearchCV(cv=K)`: contiguous folds of the training rows (which the split has already
/// shuffled: `KFold` without shuffling), each validating a network trained on the other folds
/// (its `Normalization` adapted to them) until its validation loss has not improved for
/// `--patience` epochs. The folds' validation-loss curves are averaged epoch by epoch, over the
/// epochs that every fold trained, and their minimum gives the number of epochs (as
/// `xgboost.cv` chooses the number of boosting rounds). At that epoch each penalty is scored
/// by the folds' mean validation accuracy (classification, `GridSearchCV`'s default score for a
/// classifier) or mean validation MSE (regression, the order of R^2). The best score wins; a
/// tie goes to the larger penalty, the simpler model. A penalty whose training fails (a
/// diverged loss, say) is reported and left out.
fn cross_validate(
    options: &Options,
    train: &Table,
    loss: &dyn Loss,
) -> Result<Choice, Box<dyn StdError>> {
    let n = train.len();
    let folds = options.folds.min(n);
    let config = FitConfig::new(options.epochs)
        .batch_size(options.batch_size)
        .shuffle(options.seed);
    let classification = train.task() == Task::Classification;
    let mut best: Option<(f64, Choice)> = None;
    for &alpha in &options.alphas {
        let mut histories = Vec::new();
        let started = std::time::Instant::now();
        for k in 0..folds {
            let (start, end) = (k * n / folds, (k + 1) * n / folds);
            let fit_rows: Vec<usize> = (0..start).chain(end..n).collect();
            let validation_rows: Vec<usize> = (start..end).collect();
            let (fit_part, validation) =
                (train.select(&fit_rows)?, train.select(&validation_rows)?);
            let mut model = build_model(options, &fit_part)?;
            let mut adam = optimizer(options.learning_rate, alpha, &fit_part, fit_part.len())?;
            let mut stopper = EarlyStopping::new(options.patience)?;
            match model.fit_with_callbacks(
                &fit_part,
                loss,
                adam.as_mut(),
                &config.validation(Validation::Data(&validation)),
                &mut [&mut stopper],
            ) {
                Ok(history) => histories.push(history),
                Err(e) => {
                    println!(
                        "alpha {alpha}: fold {} of {folds} failed: {}",
                        k + 1,
                        e.error
                    );
                    break;
                }
            }
        }
        if histories.len() < folds {
            continue;
        }
        // The folds' validation curves, averaged over the epochs that every fold trained.
        let common = histories
            .iter()
            .map(|h| h.validation_losses.len())
            .min()
            .unwrap_or(0);
        let mean = |curve: fn(&History) -> &[f32], epoch: usize| {
            histories
                .iter()
                .map(|h| curve(h).get(epoch).map_or(f64::NAN, |&v| f64::from(v)))
                .sum::<f64>()
                / folds as f64
        };
        let best_epoch = (0..common)
            .map(|e| (e, mean(|h| &h.validation_losses, e)))
            .filter(|(_, l)| l.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let Some((epoch, validation_loss)) = best_epoch else {
            println!("alpha {alpha}: no finite validation loss");
            continue;
        };
        let score = if classification {
            mean(|h| &h.validation_accuracies, epoch)
        } else {
            -validation_loss
        };
        if !score.is_finite() {
            println!("alpha {alpha}: no validation score");
            continue;
        }
        println!(
            "alpha {alpha}: mean validation loss {validation_loss:.4}{} at epoch {} of {common} ({:.2} s)",
            if classification {
                format!(", accuracy {score:.4}")
            } else {
                String::new()
            },
            epoch + 1,
            started.elapsed().as_secs_f64(),
        );
        let choice = Choice {
            alpha,
            epochs: epoch + 1,
            history: histories.swap_remove(0),
        };
        match &best {
            Some((b, c)) if score < *b || (score == *b && alpha < c.alpha) => {}
            _ => best = Some((score, choice)),
        }
    }
    let (_, choice) = best.ok_or("no L2 penalty could be cross-validated")?;
    println!(
        "Chosen by cross-validation: alpha {}, {} epochs",
        choice.alpha, choice.epochs
    );
    Ok(choice)
}

/// Adam (PyTorch's defaults) for `rows` training rows with scikit-learn's L2 penalty `alpha`
/// (`MLPClassifier`/`MLPRegressor`: `0.5 alpha ||W||^2 / n_samples` added to the mean loss), that
/// is `alpha / rows * w` added to each gradient (PyTorch's `Adam(weight_decay=...)`), on every
/// weight and bias. For regression it is multiplied by the variance of the training targets:
/// the inverted `Normalization` makes the loss (in the target's units squared) that many times
/// the loss on standardised targets, and the penalty should weigh the same against it whatever
/// the units.
fn optimizer(
    learning_rate: f32,
    alpha: f32,
    train: &Table,
    rows: usize,
) -> Result<Box<dyn Optimizer>, Box<dyn StdError>> {
    let scale = match train.task() {
        Task::Classification | Task::Binary => 1.0,
        Task::Regression => Normalization::adapted(train.targets())?
            .variance()
            .mean()
            .unwrap_or(1.0),
    };
    let l2 = alpha / rows.max(1) as f32 * scale;
    Ok(Box::new(Adam::new(learning_rate)?.with_weight_decay(l2)?))
}

/// Prints what was read and what the task is.
fn describe(options: &Options, table: &Table) {
    let encoding = table.encoding();
    let numeric = encoding
        .features()
        .iter()
        .filter(|f| f.kind == FeatureKind::Numeric)
        .count();
    let text = encoding.features().len() - numeric;
    let dropped = match table.dropped_rows() {
        0 => String::new(),
        n => format!(" ({n} dropped for missing cells)"),
    };
    println!(
        "Read {}: {} rows{dropped}, {} feature columns ({numeric} numeric, {text} text one-hot encoded) -> {} inputs",
        options.csv.display(),
        table.len(),
        encoding.features().len(),
        encoding.input_width(),
    );
    let how = match options.task {
        Some(_) => "as asked".to_string(),
        None => format!(
            "guessed from column {:?}; --task classification|regression to change",
            options.targets[0]
        ),
    };
    match encoding.classes() {
        Some(classes) => println!(
            "Task: classification ({how}), {} classes: {}",
            classes.len(),
            preview(classes)
        ),
        None => println!(
            "Task: regression ({how}), target{}: {}",
            if options.targets.len() > 1 { "s" } else { "" },
            encoding.target_names().join(", ")
        ),
    }
}

/// The first names of a list, for printing.
fn preview(names: &[String]) -> String {
    match names.len() {
        0..=10 => names.join(", "),
        n => format!("{}, ... ({} more)", names[..8].join(", "), n - 8),
    }
}

/// The first layer: a `Normalization` adapted to the training rows for the numeric features,
/// leaving the one-hot columns as they are (mean 0, variance 1), as scikit-learn's
/// `StandardScaler` on numbers beside a `OneHotEncoder`.
fn input_normalization(train: &Table) -> feedforward::Result<Normalization> {
    let adapted = Normalization::adapted(train.inputs())?;
    let (mut mean, mut variance) = (adapted.mean().to_owned(), adapted.variance().to_owned());
    let mut column = 0;
    for feature in train.encoding().features() {
        if let FeatureKind::OneHot { categories } = &feature.kind {
            for c in column..column + categories.len() {
                (mean[[0, c]], variance[[0, c]]) = (0.0, 1.0);
            }
        }
        column += feature.width();
    }
    Normalization::with_stats(mean.view(), variance.view())
}

/// Each class's precision, recall, F1 and support, as scikit-learn's
/// `classification_report`.
fn print_class_table(
    classes: &[String],
    confusion: &ConfusionMatrix,
) -> Result<(), Box<dyn StdError>> {
    let width = classes.iter().map(|c| c.len()).max().unwrap_or(5).max(5);
    println!("{:>width$}  precision  recall  f1-score  support", "class");
    for (k, name) in classes.iter().enumerate() {
        let (p, r) = (confusion.precision(k)?, confusion.recall(k)?);
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        let support: u64 = confusion.counts().row(k).sum();
        println!("{name:>width$}  {p:>9.4}  {r:>6.4}  {f1:>8.4}  {support:>7}");
    }
    Ok(())
}

/// Saves the model and the encoding, reloads the model and checks its test predictions.
fn save(
    model: &mut Sequential,
    table: &Table,
    test: &Table,
    path: &Path,
) -> Result<(), Box<dyn StdError>> {
    model.save(path)?;
    let encoding_path = path.with_extension("encoding.json");
    table.encoding().save(&encoding_path)?;
    let mut loaded = Sequential::load(path)?;
    let expected: Array2<f32> = model.predict(test.inputs())?.to_owned();
    let same = loaded.predict(test.inputs())? == expected;
    println!(
        "Saved the model to {} and its table encoding to {}; reloaded, it predicts {}",
        path.display(),
        encoding_path.display(),
        if same {
            "the same, bit for bit"
        } else {
            "DIFFERENTLY"
        }
    );
    if same {
        Ok(())
    } else {
        Err("the reloaded model predicts differently".into())
    }
}

/// Training and validation loss per epoch, and the validation accuracy when there is one.
fn learning_curves(history: &History, path: &Path) -> Result<(), Box<dyn StdError>> {
    let epochs = history.epoch_losses.len();
    let x_max = (epochs.max(2)) as f64;
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = if history.validation_accuracies.is_empty() {
        vec![root.clone()]
    } else {
        root.split_evenly((2, 1))
    };
    let losses: Vec<f32> = history
        .epoch_losses
        .iter()
        .chain(&history.validation_losses)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let (low, high) = losses
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let margin = ((high - low) * 0.05).max(1e-6);
    let mut chart = ChartBuilder::on(&panels[0])
        .caption("Loss per epoch", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(1.0..x_max, (low - margin) as f64..(high + margin) as f64)?;
    chart.configure_mesh().x_desc("epoch").draw()?;
    for (values, colour, label) in [
        (&history.epoch_losses, BLUE, "training"),
        (&history.validation_losses, RED, "validation"),
    ] {
        chart
            .draw_series(LineSeries::new(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| ((i + 1) as f64, v as f64)),
                colour.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    if let Some(panel) = panels.get(1) {
        let mut chart = ChartBuilder::on(panel)
            .caption("Validation accuracy", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(1.0..x_max, 0.0..1.0)?;
        chart.configure_mesh().x_desc("epoch").draw()?;
        chart.draw_series(LineSeries::new(
            history
                .validation_accuracies
                .iter()
                .enumerate()
                .map(|(i, &v)| ((i + 1) as f64, v as f64)),
            GREEN.stroke_width(2),
        ))?;
    }
    root.present()?;
    Ok(())
}
