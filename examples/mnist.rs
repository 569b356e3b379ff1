//! The tutorial's section 4: a softmax classifier that reads handwritten digits (MNIST).
//!
//! `cargo run --release --example mnist` (add `-- --help` for the options)
//!
//! The network is the tutorial's: 784 inputs (one per pixel), 10 outputs (one per digit), no
//! hidden layer. Each output is a weighted sum of the pixels, `Z = X.W + b`, turned into
//! probabilities by a softmax and trained with the cross-entropy loss by plain gradient descent,
//! 32 images at a time, for 20 passes over the 56,000 training images. The walkthrough follows
//! the tutorial's sections:
//! - 4.1.1 data: all 70,000 images, pixels scaled to [0, 1], an 80/20 split (seed 42);
//! - 4.1.2 softmax and 4.1.3 cross-entropy: the model's last layer and its loss;
//! - 4.1.4 backpropagation: `fit`'s loop, forward, loss, gradient, update;
//! - 4.1.5 results: the loss per epoch, the test accuracy, the confusion matrix and figures.
//!
//! With the default `--seed 0` the initial weights are those of `np.random.seed(0)` followed by
//! `np.random.randn(784, 10) * 0.01`, so the printed losses follow the tutorial's numpy run.
//!
//! `--data-dir DIR` takes any data set stored in the four MNIST files (Fashion-MNIST, for
//! instance): the input width and the number of classes come from the files.

#[path = "support/mod.rs"]
mod support;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use feedforward::data::mnist::LabeledImages;
use feedforward::data::train_test_split;
use feedforward::metrics::ConfusionMatrix;
use feedforward::plot::{self, Chart, ColourMap, Figure, Heatmap};
use feedforward::prelude::*;
use feedforward::History;
use ndarray::Array2;
use support::{class_rates, Failure, TrainingOptions};

const USAGE: &str = "\
Trains the tutorial's softmax classifier on MNIST (section 4) and evaluates it.

Usage: cargo run --release --example mnist -- [OPTIONS]

Options:
  --data-dir DIR    folder with the four MNIST files, raw or .gz (default: $MNIST_DIR, else
                    this repository's data/mnist, else the cache folder, downloading the
                    files if needed); any data set in the MNIST file format works, e.g.
                    Fashion-MNIST
  --epochs N        passes over the training set [default: 20]
  --batch-size N    images per gradient step [default: 32]
  --lr X            learning rate [default: 0.1]
  --seed N          seed of the initial weights, as np.random.seed [default: 0]
  --out DIR         folder for the SVG figures [default: target/figures/mnist]
                    (both paths are checked before training; a run whose loss ends more than
                    100 times above its start is reported as diverged, exit 1, nothing saved)
  --save PATH       save the trained model to PATH (safetensors, readable by PyTorch); then
                    cargo run --release --example predict -- --model PATH IMAGE...
  --onnx PATH       export the trained model to PATH as ONNX (opset 17), for onnxruntime,
                    tract, browsers; python3 scripts/check_onnx.py PATH checks it
  --log FILE.csv    write each epoch's loss and accuracy to FILE.csv as training goes
                    (Keras' CSVLogger: epoch,loss,accuracy,learning_rate)
  --quiet           print only the losses, the accuracy and the timings
  -h, --help        print this help
";

fn main() -> ExitCode {
    let defaults = TrainingOptions {
        data_dir: None,
        epochs: 20,
        batch_size: 32,
        learning_rate: 0.1,
        seed: 0,
        quiet: false,
    };
    // The example's own options: where the figures go, where the model goes (safetensors, ONNX).
    let mut out = PathBuf::from("target/figures/mnist");
    let mut save: Option<PathBuf> = None;
    let mut onnx: Option<PathBuf> = None;
    let mut log: Option<PathBuf> = None;
    let parsed = support::parse_args(defaults, &mut |name, parser| match name {
        "out" => {
            out = support::value(parser, "--out")?.into();
            Ok(true)
        }
        "save" => {
            save = Some(support::value(parser, "--save")?.into());
            Ok(true)
        }
        "onnx" => {
            onnx = Some(support::value(parser, "--onnx")?.into());
            Ok(true)
        }
        "log" => {
            log = Some(support::value(parser, "--log")?.into());
            Ok(true)
        }
        _ => Ok(false),
    });
    support::main_with(USAGE, parsed, |options| {
        run(
            options,
            &out,
            save.as_deref(),
            onnx.as_deref(),
            log.as_deref(),
        )
    })
}

/// The walkthrough, section by section.
fn run(
    options: &TrainingOptions,
    out: &Path,
    save: Option<&Path>,
    onnx: Option<&Path>,
    log: Option<&Path>,
) -> Result<(), Failure> {
    // Every output is checked before training, so that no training is lost to a bad path.
    support::check_output_dir(out)?;
    if let Some(path) = save {
        support::check_save_path(path)?;
    }
    if let Some(path) = onnx {
        support::check_save_path(path)?;
    }

    // 4.1.1 Data: load, scale to [0, 1] (the data set does `x / 255` batch by batch), split.
    let started = Instant::now();
    let data = load_data(options)?;
    let load_time = started.elapsed();
    if !options.quiet {
        println!("{}", pixel_table(&data.first)?);
    }

    // 4.1.2 Softmax and 4.1.3 cross-entropy: Z = X.W + b, then softmax, scored by cross-entropy.
    // W is drawn as np.random.randn(inputs, classes) * 0.01 after np.random.seed(seed); b = 0.
    let (inputs, classes) = (data.train.image_len(), data.train.classes());
    let mut rng = RandomState::new(options.seed);
    let mut model = Sequential::builder(inputs)
        .push(Dense::new(inputs, classes, Init::TUTORIAL, &mut rng)?)
        .push(Softmax)
        .build()?;

    // 4.1.4 Backpropagation: fit runs the tutorial's loop over batches taken in order:
    // forward, loss, gradient (Y_hat - Y) / n, then W -= lr * dW and b -= lr * db.
    let mut sgd = Sgd::new(options.learning_rate)?;
    let config = FitConfig::new(options.epochs).batch_size(options.batch_size);
    let mut report = support::Shown::new(!options.quiet && std::io::stdout().is_terminal());
    let started = Instant::now();
    // --log: Keras' CSVLogger, one row per epoch (its path is checked before the first epoch).
    let mut logger = log.map(CsvLogger::new);
    let history = {
        let mut callbacks: Vec<&mut dyn Callback> = vec![&mut report];
        callbacks.extend(logger.as_mut().map(|l| l as &mut dyn Callback));
        model.fit_with_callbacks(
            &data.train,
            &CrossEntropy,
            &mut sgd,
            &config,
            &mut callbacks,
        )?
    };
    let training_time = started.elapsed();
    support::check_divergence(report.first_loss(), &history.epoch_losses)?;

    // The model first, before anything optional can fail.
    if let Some(path) = save {
        model.save(path)?;
        println!("Model saved to {}", path.display());
    }
    if let Some(path) = onnx {
        support::export_onnx(&model, path)?;
    }

    // 4.1.5 Results: accuracy on the 20% of images the model never saw.
    let evaluation = model.evaluate(&data.test, &CrossEntropy, 1000)?;
    let confusion = evaluation.confusion.ok_or(Failure::NoClasses)?;
    println!("Accuracy on test set: {:.4}", confusion.accuracy());
    println!(
        "{}",
        support::training_time_line(training_time, options.epochs, data.train.len())
    );
    println!("Load and split time: {:.2} s", load_time.as_secs_f64());
    if !options.quiet {
        println!("\nConfusion matrix (rows: actual class, columns: predicted class):");
        print!("{confusion}");
        println!("\n{}", class_rates(&confusion));
    }
    let figures = write_figures(out, &data.first, &history, &confusion)?;
    println!("Figures written to {}:", out.display());
    for figure in figures {
        println!("  {}", figure.display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 4.1.1 Data

/// The training and test images of the split, and the first image of the data set.
struct Data {
    train: LabeledImages,
    test: LabeledImages,
    /// The tutorial's `mnist.data.iloc[0]`: the first image of the training file.
    first: LabeledImages,
}

/// Loads the 70,000 images (training file then test file, as `fetch_openml("mnist_784")`) and
/// splits them as `train_test_split(X, y, test_size=0.2, random_state=42)`.
fn load_data(options: &TrainingOptions) -> Result<Data, Failure> {
    let all = support::load_mnist(options.data_dir.as_deref())?.all()?;
    let split = train_test_split(all.len(), 0.2, 42)?;
    Ok(Data {
        train: all.select(&split.train)?,
        test: all.select(&split.test)?,
        first: all.select(&[0])?,
    })
}

/// The tutorial's `print(pd.DataFrame(image_data[5:25, 7:22]))` of the first image of `images`,
/// under a heading, laid out as pandas prints it; the whole image when it is smaller than that.
fn pixel_table(images: &LabeledImages) -> feedforward::Result<String> {
    let (height, width) = (images.image_rows(), images.image_cols());
    let (rows, cols) = if height >= 25 && width >= 22 {
        (5..25, 7..22)
    } else {
        (0..height, 0..width)
    };
    let heading = format!(
        "The first image (label {}), rows {}-{} and columns {}-{}:",
        images.label(0),
        rows.start,
        rows.end - 1,
        cols.start,
        cols.end - 1
    );
    let window = images.pixel_table(0, rows, cols)?;
    Ok(format!("{heading}\n{}", pandas_layout(&window)))
}

/// A table as pandas prints a DataFrame: a header of column numbers, a left-aligned row number,
/// values right-aligned, columns two spaces apart.
fn pandas_layout(table: &Array2<u8>) -> String {
    let index_width = table.nrows().saturating_sub(1).to_string().len();
    let widths: Vec<usize> = table
        .columns()
        .into_iter()
        .enumerate()
        .map(|(c, column)| {
            let widest = column.iter().map(|v| v.to_string().len()).max();
            widest.unwrap_or(0).max(c.to_string().len())
        })
        .collect();
    let mut text = " ".repeat(index_width);
    for (c, width) in widths.iter().enumerate() {
        text += &format!("  {c:>width$}");
    }
    for (r, row) in table.rows().into_iter().enumerate() {
        text += &format!("\n{r:<index_width$}");
        for (value, width) in row.iter().zip(&widths) {
            text += &format!("  {value:>width$}");
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// 4.1.5 Results

/// Writes the three figures into `out` (created if need be) and returns their paths: the first
/// image, the training curves and the confusion matrix, drawn by the library's `plot` module.
fn write_figures(
    out: &Path,
    first: &LabeledImages,
    history: &History,
    confusion: &ConfusionMatrix,
) -> Result<Vec<PathBuf>, Failure> {
    let figures: [(&str, Figure); 3] = [
        ("fig11_first_image.svg", first_image_figure(first).into()),
        ("history.svg", plot::history(history)),
        (
            "confusion_matrix.svg",
            plot::confusion_matrix(confusion)
                .title("Confusion matrix (test set)")
                .into(),
        ),
    ];
    let mut paths = Vec::new();
    for (name, figure) in figures {
        let path = out.join(name);
        figure.save_svg(&path).map_err(|e| Failure::Output {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        paths.push(path);
    }
    Ok(paths)
}

/// The tutorial's figure 11: `plt.imshow(image_data, cmap="gray")`, row 0 at the top.
fn first_image_figure(images: &LabeledImages) -> Chart {
    let (height, width) = (images.image_rows(), images.image_cols());
    let pixels = images.image(0);
    let grid = Array2::from_shape_fn((height, width), |(r, c)| pixels[r * width + c] as f64);
    let (w, h) = (width as f64, height as f64);
    Chart::new("Image MNIST")
        .with_size(420, 440)
        .x_range(-0.5..w - 0.5)
        .y_range(h - 0.5..-0.5)
        .whole_x()
        .whole_y()
        .heatmap(
            Heatmap::new(grid, -0.5..w - 0.5, -0.5..h - 0.5)
                .colour_map(ColourMap::Grey)
                .value_range(0.0, 255.0),
        )
}
