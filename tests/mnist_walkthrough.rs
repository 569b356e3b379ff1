//! The tutorial's MNIST walkthrough (section 4) on the real files: the 56,000/14,000 split, the
//! 20-epoch run against the numpy trace, a short run, and the `mnist` example seen from outside.
//!
//! The files are found through `MNIST_DIR`, else the repository's `data/mnist`; when neither
//! holds them the tests fail (they are never skipped). The loader itself (counts, the pixel
//! table, bad files) is tested in `mnist_data.rs`.

mod common;
use common::mnist_dir;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use feedforward::data::mnist::{self, LabeledImages, Mnist};
use feedforward::data::{train_test_split, Split};
use feedforward::prelude::*;
use feedforward::{Evaluation, History};

/// The tutorial's data: the split of the 70,000 images, and both sides selected.
struct Walkthrough {
    split: Split,
    train: LabeledImages,
    test: LabeledImages,
}

/// Loaded once for all the tests of this file, with the calls the example makes.
fn walkthrough() -> &'static Walkthrough {
    static DATA: OnceLock<Walkthrough> = OnceLock::new();
    DATA.get_or_init(|| {
        // fetch_openml("mnist_784"): the training file then the test file.
        let all = Mnist::load(&mnist_dir())
            .and_then(Mnist::all)
            .expect("load the real MNIST files");
        // train_test_split(X, y, test_size=0.2, random_state=42)
        let split = train_test_split(all.len(), 0.2, 42).expect("split");
        Walkthrough {
            train: all.select(&split.train).expect("select the training rows"),
            test: all.select(&split.test).expect("select the test rows"),
            split,
        }
    })
}

/// The tutorial's model and training (sections 4.1.2 to 4.1.4): `Dense(784, 10)` drawn as
/// `np.random.seed(seed); np.random.randn(784, 10) * 0.01` with a zero bias, softmax,
/// cross-entropy, SGD with lr 0.1, batches of 32 in order. Returns the history and the evaluation
/// on `test`.
fn train(
    train: &LabeledImages,
    test: &LabeledImages,
    epochs: usize,
    seed: u32,
) -> (History, Evaluation) {
    let (inputs, classes) = (train.image_len(), train.classes());
    let mut rng = RandomState::new(seed);
    let mut model = Sequential::builder(inputs)
        .push(Dense::new(inputs, classes, Init::TUTORIAL, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    let mut sgd = Sgd::new(0.1).unwrap();
    let config = FitConfig::new(epochs).batch_size(32);
    let history = model.fit(train, &CrossEntropy, &mut sgd, &config).unwrap();
    let evaluation = model.evaluate(test, &CrossEntropy, 1000).unwrap();
    (history, evaluation)
}

/// The per-epoch losses printed by the tutorial's numpy code on the same data and split.
fn reference_losses() -> Vec<f32> {
    let path = common::reference_file("mnist_trace.txt");
    let trace = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read the numpy trace {}: {e}", path.display()));
    let losses: Vec<f32> = trace
        .lines()
        .filter_map(|line| line.split_once("Average Loss: "))
        .map(|(_, loss)| loss.trim().parse().expect("a loss in the trace"))
        .collect();
    assert_eq!(losses.len(), 20, "20 epochs in {}", path.display());
    losses
}

#[test]
fn the_split_selects_scikit_learns_rows() {
    let data = walkthrough();
    // perm = np.random.RandomState(42).permutation(70000); test = perm[:14000]
    assert_eq!(
        data.split.test[..10],
        [46730, 48393, 41416, 34506, 43725, 11615, 24656, 22411, 936, 56364]
    );
    assert_eq!(
        data.split.train[..10],
        [47339, 67456, 12308, 32557, 664, 21003, 29637, 57937, 23680, 26306]
    );
    assert_eq!(
        (data.split.train.len(), data.split.test.len()),
        (56_000, 14_000)
    );
    assert_eq!((data.train.len(), data.test.len()), (56_000, 14_000));

    // Row i of a side is image split[i] of the 70,000: from the training file below 60,000, from
    // the test file above (67456 is test image 7456).
    let files = Mnist::load(&mnist_dir()).unwrap();
    let label_of = |row: usize| match row.checked_sub(60_000) {
        None => files.train.label(row),
        Some(test_row) => files.test.label(test_row),
    };
    let image_of = |row: usize| match row.checked_sub(60_000) {
        None => files.train.image(row),
        Some(test_row) => files.test.image(test_row),
    };
    for i in [0, 1, 2, 9, 13_999] {
        let row = data.split.test[i];
        assert_eq!(
            data.test.label(i),
            label_of(row),
            "test row {i} = image {row}"
        );
        assert_eq!(
            data.test.image(i),
            image_of(row),
            "test row {i} = image {row}"
        );
    }
    for i in [0, 1, 2, 9, 55_999] {
        let row = data.split.train[i];
        assert_eq!(
            data.train.label(i),
            label_of(row),
            "train row {i} = image {row}"
        );
        assert_eq!(
            data.train.image(i),
            image_of(row),
            "train row {i} = image {row}"
        );
    }
    assert_eq!(data.train.classes(), 10);
    assert_eq!(data.test.classes(), 10);
}

#[test]
fn twenty_epochs_follow_the_numpy_trace() {
    let data = walkthrough();
    let (history, evaluation) = train(&data.train, &data.test, 20, 0);
    let reference = reference_losses();
    for (epoch, (ours, numpy)) in history.epoch_losses.iter().zip(&reference).enumerate() {
        assert!(
            (ours - numpy).abs() <= 0.002,
            "epoch {}: average loss {ours:.4}, numpy printed {numpy:.4}",
            epoch + 1
        );
    }
    let accuracy = evaluation.accuracy.expect("MNIST has classes");
    assert!(
        accuracy >= 0.915,
        "test accuracy {accuracy:.4}, numpy 0.9204"
    );
    let confusion = evaluation.confusion.expect("MNIST has classes");
    assert_eq!(confusion.total(), 14_000);
}

#[test]
fn one_epoch_on_10000_images_reaches_88_percent() {
    let data = walkthrough();
    let first: Vec<usize> = (0..10_000).collect();
    let small = data.train.select(&first).unwrap();
    let (history, evaluation) = train(&small, &data.test, 1, 0);
    assert_eq!(history.epoch_losses.len(), 1);
    let accuracy = evaluation.accuracy.expect("MNIST has classes");
    assert!(
        accuracy >= 0.88,
        "test accuracy {accuracy:.4} after one epoch on 10,000 images"
    );
}

/// Runs the example with `args` and returns what it did.
fn run_example(args: &[&str]) -> Output {
    Command::new(common::example_binary("mnist"))
        .args(args)
        .env_remove("MNIST_DIR")
        .output()
        .expect("run the mnist example")
}

#[test]
fn the_example_trains_one_epoch_and_writes_its_figures() {
    let data_dir = mnist_dir();
    let out = tempfile::tempdir().unwrap();
    let output = run_example(&[
        "--epochs",
        "1",
        "--quiet",
        "--data-dir",
        data_dir.to_str().expect("a UTF-8 data folder"),
        "--out",
        out.path().to_str().expect("a UTF-8 temporary folder"),
        "--save",
        out.path()
            .join("model.safetensors")
            .to_str()
            .expect("a UTF-8 temporary folder"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{stderr}",
        output.status
    );

    let loss: f32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Epoch 1/1, Average Loss: "))
        .unwrap_or_else(|| panic!("no epoch line in:\n{stdout}"))
        .parse()
        .expect("a loss with four decimals");
    assert!(
        (loss - 0.4161).abs() <= 0.002,
        "epoch 1 loss {loss}, numpy 0.4161"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("Accuracy on test set: 0.")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("train") && l.contains(" s")),
        "no training time in:\n{stdout}"
    );
    // --quiet leaves out the pixel table and the confusion matrix.
    assert!(!stdout.contains("actual"), "{stdout}");

    for name in [
        "fig11_first_image.svg",
        "history.svg",
        "confusion_matrix.svg",
    ] {
        let path = out.path().join(name);
        let svg = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("figure {}: {e}", path.display()));
        assert!(
            svg.starts_with("<svg") || svg.starts_with("<?xml"),
            "{name} is not an SVG file"
        );
        assert!(stdout.contains(name), "the output does not name {name}");
    }

    // --save wrote a checkpoint that rebuilds the tutorial's model on its own.
    let model = feedforward::Sequential::load(out.path().join("model.safetensors"))
        .expect("the saved model loads");
    let names: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
    assert_eq!(names, ["Dense", "Softmax"]);
    assert_eq!((model.input_width(), model.output_width()), (784, 10));
    assert!(stdout.contains("Model saved to"), "{stdout}");

    // Built with debug assertions (as by `cargo run` without --release), it says once, on
    // stderr, to use --release; an optimised build without them says nothing.
    assert_eq!(
        stderr
            .matches("cargo run --release --example mnist")
            .count(),
        usize::from(cfg!(debug_assertions)),
        "{stderr}"
    );
}

#[test]
fn the_example_explains_missing_files() {
    let output = run_example(&["--data-dir", "/nonexistent", "--quiet"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("train-images-idx3-ubyte"), "{stderr}");
    assert!(stderr.contains("t10k-labels-idx1-ubyte"), "{stderr}");
    assert!(stderr.contains("/nonexistent"), "{stderr}");
    assert!(
        stderr.contains("--data-dir") && stderr.contains("MNIST_DIR"),
        "{stderr}"
    );
}

#[test]
fn the_example_rejects_bad_options() {
    for (args, expected) in [
        (&["--batch-size", "0"][..], "--batch-size"),
        (&["--epochs", "none"][..], "--epochs"),
        (&["--lr", "-1"][..], "--lr"),
        (&["--frobnicate"][..], "frobnicate"),
    ] {
        let output = run_example(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed to stdout");
    }
}

/// Writes an IDX file: the magic for unsigned bytes, the dimension sizes, then `data`.
fn write_idx(path: &Path, dims: &[u32], data: &[u8]) {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn the_example_takes_any_data_set_in_the_mnist_format() {
    // Three classes of 6x5 images, each lighting its own pair of rows: not 10 classes, not 784
    // pixels, so the example must take both from the files.
    let (rows, cols, classes) = (6usize, 5usize, 3usize);
    let dir = tempfile::tempdir().unwrap();
    let write_set = |images: &str, labels: &str, count: usize| {
        let labels_data: Vec<u8> = (0..count).map(|i| (i % classes) as u8).collect();
        let mut pixels = Vec::with_capacity(count * rows * cols);
        for (i, &label) in labels_data.iter().enumerate() {
            for r in 0..rows {
                for c in 0..cols {
                    let lit = r / 2 == usize::from(label);
                    pixels.push(if lit {
                        200 + ((i + c) % 50) as u8
                    } else {
                        (i % 7) as u8
                    });
                }
            }
        }
        let n = count as u32;
        write_idx(
            &dir.path().join(images),
            &[n, rows as u32, cols as u32],
            &pixels,
        );
        write_idx(&dir.path().join(labels), &[n], &labels_data);
    };
    write_set(mnist::TRAIN_IMAGES, mnist::TRAIN_LABELS, 240);
    write_set(mnist::TEST_IMAGES, mnist::TEST_LABELS, 60);

    let out = tempfile::tempdir().unwrap();
    let output = run_example(&[
        "--epochs",
        "3",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Epoch 3/3, Average Loss: "), "{stdout}");
    // 300 images split 240/60: training on 240 rows.
    assert!(stdout.contains("on 240 training images"), "{stdout}");
    let header = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("actual\\"))
        .unwrap_or_else(|| panic!("no confusion matrix in:\n{stdout}"));
    let columns: Vec<&str> = header.split_whitespace().skip(1).collect();
    assert_eq!(columns, ["0", "1", "2"], "{header}");
    assert!(out.path().join("fig11_first_image.svg").is_file());
}
