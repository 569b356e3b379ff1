//! Using a saved model: classify your own images of digits, or score the model on MNIST.
//!
//! ```sh
//! cargo run --release --example mnist -- --save mnist.safetensors
//! cargo run --release --example predict -- --model mnist.safetensors digit.png other.pgm
//! cargo run --release --example predict -- --model mnist.safetensors --evaluate data/mnist
//! cargo run --release --example predict -- --model mnist.safetensors --evaluate data/mnist \
//!     --probabilities probabilities.csv
//! ```
//!
//! `Sequential::load` rebuilds the model from the file alone: its layers, their settings and
//! their weights. Each image (PNG or PGM, any size, colour or grey) is turned into what MNIST's
//! images are, as MNIST itself was made:
//! 0. an image with transparency (a digit drawn in the alpha channel, as drawing apps export
//!    it) is composited over a background that contrasts with its strokes: white under dark
//!    strokes, black under light ones;
//! 1. grey levels, inverted if the image is light on average, so the digit is white on black;
//! 2. cropped to the digit (the pixels brighter than a quarter of the brightest);
//! 3. scaled so that its longer side is 20 pixels, keeping its proportions;
//! 4. placed in a 28x28 black square with its centre of mass in the middle;
//! 5. pixels divided by 255, one row of 784 values.
//!
//! An image that is already 28x28 skips steps 2 to 4 (it is taken to be an MNIST digit). The
//! example then prints the three most likely classes with their probabilities.
//!
//! `--probabilities FILE` (with `--evaluate`) writes the probabilities of every test image, one
//! line per image in the file's order, the classes' values separated by commas, each printed
//! exactly (the shortest decimal that reads back as the same `f32`): `scripts/check_onnx.py`
//! compares an ONNX export of the model with them.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use feedforward::data::mnist::{self, LabeledImages};
use feedforward::data::Dataset;
use feedforward::layers::OutputKind;
use feedforward::prelude::*;
use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage};
use ndarray::{Array2, ArrayView1};

/// MNIST's image side, the size of the box the digit is scaled into, and how many classes to
/// print.
const SIDE: u32 = 28;
const DIGIT_BOX: u32 = 20;
const TOP: usize = 3;

const USAGE: &str = "\
Classifies images with a model saved by Sequential::save (e.g. by the mnist example's --save).

Usage: cargo run --release --example predict -- --model PATH [--evaluate DIR [--probabilities FILE]] [IMAGE...]

Arguments:
  IMAGE...          PNG or PGM images of one digit each, any size; they are converted to
                    28x28 grey, white digit on black, as MNIST's

Options:
  --model PATH      the saved model (.safetensors), required
  --evaluate DIR    also print the accuracy on the MNIST test set in DIR
                    (t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, raw or .gz)
  --probabilities FILE
                    with --evaluate: write the class probabilities of every test image to
                    FILE, one line per image, comma-separated, each value exact
  -h, --help        print this help
";

/// What the command line asks for.
struct Options {
    model: PathBuf,
    evaluate: Option<PathBuf>,
    probabilities: Option<PathBuf>,
    images: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let options = match parse_args(lexopt::Parser::from_env()) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("predict: {e}\nTry 'predict --help'.");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("predict: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The options, or `None` for `--help`.
fn parse_args(mut parser: lexopt::Parser) -> Result<Option<Options>, lexopt::Error> {
    use lexopt::prelude::*;
    let (mut model, mut evaluate, mut probabilities, mut images) = (None, None, None, Vec::new());
    while let Some(arg) = parser.next()? {
        match arg {
            Long("model") => model = Some(PathBuf::from(parser.value()?)),
            Long("evaluate") => evaluate = Some(PathBuf::from(parser.value()?)),
            Long("probabilities") => probabilities = Some(PathBuf::from(parser.value()?)),
            Short('h') | Long("help") => return Ok(None),
            Value(image) => images.push(PathBuf::from(image)),
            _ => return Err(arg.unexpected()),
        }
    }
    let model = model.ok_or("--model PATH is required: the file written by Sequential::save")?;
    if evaluate.is_none() && images.is_empty() {
        return Err("nothing to do: give images to classify, or --evaluate DIR".into());
    }
    if probabilities.is_some() && evaluate.is_none() {
        return Err(
            "--probabilities FILE writes the test set's probabilities: add --evaluate DIR".into(),
        );
    }
    Ok(Some(Options {
        model,
        evaluate,
        probabilities,
        images,
    }))
}

fn run(options: &Options) -> Result<(), Box<dyn Error>> {
    let mut model = Sequential::load(&options.model)?;
    let inputs = (SIDE * SIDE) as usize;
    if model.input_width() != inputs {
        return Err(format!(
            "{} takes {} inputs per sample, but images become {SIDE}x{SIDE} = {inputs} pixels",
            options.model.display(),
            model.input_width()
        )
        .into());
    }
    let softmax_last = model
        .layers()
        .last()
        .is_some_and(|l| l.output_kind() == OutputKind::SoftmaxProbabilities);

    if !options.images.is_empty() {
        let mut batch = Array2::zeros((options.images.len(), inputs));
        for (path, mut row) in options.images.iter().zip(batch.rows_mut()) {
            let pixels = mnist_pixels(path)?;
            for (x, &p) in row.iter_mut().zip(pixels.as_raw()) {
                *x = f32::from(p) / 255.0;
            }
        }
        let outputs = model.predict(batch.view())?;
        for (path, out) in options.images.iter().zip(outputs.rows()) {
            let probabilities = if softmax_last {
                out.to_vec()
            } else {
                softmax(out)
            };
            let mut classes: Vec<(usize, f32)> = probabilities.into_iter().enumerate().collect();
            classes.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let top: Vec<String> = classes
                .iter()
                .take(TOP)
                .map(|(class, p)| format!("{class} ({p:.4})"))
                .collect();
            println!("{}: {}", path.display(), top.join(", "));
        }
    }

    if let Some(dir) = &options.evaluate {
        // Only the two test files are needed, raw or .gz.
        let find = |name: &str| {
            mnist::find_file(dir, name).ok_or_else(|| {
                format!(
                    "{} has no {name} (or {name}.gz): --evaluate needs the MNIST test files",
                    dir.display()
                )
            })
        };
        let (images, labels) = (find(mnist::TEST_IMAGES)?, find(mnist::TEST_LABELS)?);
        let test = LabeledImages::from_files(&images, &labels, Some(model.output_width()))?;
        let evaluation = model.evaluate(&test, &CrossEntropy, 1000)?;
        let accuracy = evaluation
            .accuracy
            .ok_or("the MNIST test set has no labels")?;
        println!("Accuracy on test set: {accuracy:.4}");
        if let Some(path) = &options.probabilities {
            write_probabilities(&mut model, &test, softmax_last, path)?;
            println!(
                "Probabilities of the {} test images written to {}",
                test.len(),
                path.display()
            );
        }
    }
    Ok(())
}

/// Writes the class probabilities of every image of `test` to `path`: one line per image,
/// comma-separated, each value the shortest decimal that reads back as the same `f32`.
fn write_probabilities(
    model: &mut Sequential,
    test: &LabeledImages,
    softmax_last: bool,
    path: &Path,
) -> Result<(), Box<dyn Error>> {
    const BATCH: usize = 1000;
    let mut text = String::new();
    let (width, classes) = (test.input_width(), test.target_width());
    for start in (0..test.len()).step_by(BATCH) {
        let rows: Vec<usize> = (start..(start + BATCH).min(test.len())).collect();
        let mut inputs = Array2::zeros((rows.len(), width));
        let mut targets = Array2::zeros((rows.len(), classes));
        test.fill_batch(&rows, inputs.view_mut(), targets.view_mut())?;
        for out in model.predict(inputs.view())?.rows() {
            let probabilities = if softmax_last {
                out.to_vec()
            } else {
                softmax(out)
            };
            let line: Vec<String> = probabilities.iter().map(f32::to_string).collect();
            text += &line.join(",");
            text.push('\n');
        }
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// Row-wise softmax, for a model whose last layer gives scores rather than probabilities.
fn softmax(scores: ArrayView1<'_, f32>) -> Vec<f32> {
    let max = scores.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let exp: Vec<f32> = scores.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// The grey levels of `image`; an image with transparency is composited over a background
/// that contrasts with its strokes (white under dark strokes, black under light ones), so that
/// a digit drawn in the alpha channel over transparent pixels is not lost.
fn grey_levels(image: &DynamicImage) -> GrayImage {
    if !image.color().has_alpha() {
        return image.to_luma8();
    }
    let with_alpha = image.to_luma_alpha8();
    // The strokes' mean grey level, each pixel weighted by its opacity.
    let (mut ink, mut opacity) = (0.0f64, 0.0f64);
    for p in with_alpha.pixels() {
        let (l, a) = (f64::from(p.0[0]), f64::from(p.0[1]) / 255.0);
        ink += l * a;
        opacity += a;
    }
    let background = if opacity > 0.0 && ink / opacity > 127.5 {
        0.0
    } else {
        255.0
    };
    GrayImage::from_fn(with_alpha.width(), with_alpha.height(), |x, y| {
        let p = with_alpha.get_pixel(x, y).0;
        let (l, a) = (f64::from(p[0]), f64::from(p[1]) / 255.0);
        image::Luma([(l * a + background * (1.0 - a)).round() as u8])
    })
}

/// The image at `path` as MNIST would have it: 28x28, white digit on black.
fn mnist_pixels(path: &Path) -> Result<GrayImage, Box<dyn Error>> {
    let image = image::open(path)
        .map_err(|e| format!("cannot read {} as a PNG or PGM image: {e}", path.display()))?;
    if image.width() == 0 || image.height() == 0 {
        return Err(format!(
            "{} is empty ({}x{} pixels): there is no digit to classify",
            path.display(),
            image.width(),
            image.height()
        )
        .into());
    }
    let mut grey = grey_levels(&image);
    let (width, height) = grey.dimensions();
    let mean = grey.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / f64::from(width * height);
    if mean > 127.5 {
        imageops::invert(&mut grey);
    }
    if (width, height) == (SIDE, SIDE) {
        return Ok(grey);
    }
    // Crop to the digit: the pixels brighter than a quarter of the brightest.
    let brightest = grey.pixels().map(|p| p.0[0]).max().unwrap_or(0);
    let threshold = brightest / 4;
    let (mut x0, mut y0, mut x1, mut y1) = (width, height, 0, 0);
    for (x, y, p) in grey.enumerate_pixels() {
        if brightest > 0 && p.0[0] > threshold {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    if x0 > x1 {
        // A blank image: keep it whole.
        (x0, y0, x1, y1) = (0, 0, width - 1, height - 1);
    }
    let digit = imageops::crop_imm(&grey, x0, y0, x1 - x0 + 1, y1 - y0 + 1).to_image();
    // Scale the longer side to 20 pixels, keeping the proportions.
    let (w, h) = digit.dimensions();
    let scale = f64::from(DIGIT_BOX) / f64::from(w.max(h));
    let (w, h) = (
        ((f64::from(w) * scale).round() as u32).clamp(1, DIGIT_BOX),
        ((f64::from(h) * scale).round() as u32).clamp(1, DIGIT_BOX),
    );
    let digit = imageops::resize(&digit, w, h, FilterType::Triangle);
    // Centre of mass to the middle of the 28x28 square, staying inside it.
    let (mut mass, mut cx, mut cy) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y, p) in digit.enumerate_pixels() {
        let m = f64::from(p.0[0]);
        (mass, cx, cy) = (mass + m, cx + m * f64::from(x), cy + m * f64::from(y));
    }
    let (cx, cy) = if mass > 0.0 {
        (cx / mass, cy / mass)
    } else {
        (f64::from(w) / 2.0, f64::from(h) / 2.0)
    };
    let place = |centre: f64, size: u32| -> i64 {
        let at = (f64::from(SIDE) / 2.0 - centre).round() as i64;
        at.clamp(0, i64::from(SIDE - size))
    };
    let mut square = GrayImage::new(SIDE, SIDE);
    imageops::overlay(&mut square, &digit, place(cx, w), place(cy, h));
    Ok(square)
}
