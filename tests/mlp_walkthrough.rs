//! The `mlp` example seen from outside: one epoch of the multi-layer perceptron on the real MNIST
//! files (the summary table, the validated epoch line, the test accuracy, the timings, each
//! digit's precision and recall), `--quiet`, `--help`, and the errors it reports.
//!
//! The files are found through `MNIST_DIR`, else the repository's `data/mnist`; when neither
//! holds them the tests fail (they are never skipped). The full run (98% on the test file in
//! under 30 s) is measured in the README, not here: one epoch keeps this file to a few seconds.

mod common;
use common::mnist_dir;

use std::process::{Command, Output};

/// Runs the example with `args` and returns what it did.
fn run_example(args: &[&str]) -> Output {
    Command::new(common::example_binary("mlp"))
        .args(args)
        .env_remove("MNIST_DIR")
        .output()
        .expect("run the mlp example")
}

/// Runs the example on the real MNIST files with `args`; panics unless it succeeds.
fn train(args: &[&str]) -> String {
    let data_dir = mnist_dir();
    let mut all = vec![
        "--data-dir",
        data_dir.to_str().expect("a UTF-8 data folder"),
    ];
    all.extend_from_slice(args);
    let output = run_example(&all);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

/// The number after `label` in `line`, up to the next comma, space or parenthesis.
fn number_after(line: &str, label: &str) -> f32 {
    let (_, rest) = line
        .split_once(label)
        .unwrap_or_else(|| panic!("no {label:?} in {line:?}"));
    let end = rest.find([',', ' ', '(']).unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?} in {line:?}"))
}

#[test]
fn one_epoch_prints_the_summary_the_epoch_the_accuracy_and_the_timings() {
    let stdout = train(&["--epochs", "1"]);

    // model.summary(): the three dense layers and the total of 784-256-128-10.
    for row in [
        "Layer (type)",
        "0 (Dense)",
        "(batch, 256)",
        "200,960",
        "1 (Relu)",
        "2 (Dense)",
        "(batch, 128)",
        "32,896",
        "4 (Dense)",
        "(batch, 10)",
        "1,290",
        "5 (Softmax)",
        "Total params: 235,146",
    ] {
        assert!(stdout.contains(row), "no {row:?} in the summary:\n{stdout}");
    }

    // Epoch 1/1, loss 0.2275, validation loss 0.0973, validation accuracy 0.9707 (0.65 s)
    let epoch = stdout
        .lines()
        .find(|l| l.starts_with("Epoch 1/1, "))
        .unwrap_or_else(|| panic!("no epoch line in:\n{stdout}"));
    let loss = number_after(epoch, "Epoch 1/1, loss ");
    let validation_loss = number_after(epoch, "validation loss ");
    let validation_accuracy = number_after(epoch, "validation accuracy ");
    assert!(loss > 0.05 && loss < 0.5, "{epoch}");
    assert!(validation_loss > 0.0 && validation_loss < 0.2, "{epoch}");
    assert!(validation_accuracy >= 0.95, "{epoch}");
    assert!(epoch.ends_with(" s)"), "no epoch time in {epoch:?}");

    let accuracy = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Accuracy on test set: "))
        .unwrap_or_else(|| panic!("no accuracy line in:\n{stdout}"));
    assert_eq!(accuracy.len(), 6, "four decimals: {accuracy:?}");
    let accuracy: f64 = accuracy.parse().expect("an accuracy");
    assert!(accuracy >= 0.95, "test accuracy {accuracy} after one epoch");

    // 54,000 images: the last 10% of the 60,000 are the validation data.
    let training = stdout
        .lines()
        .find(|l| l.contains("train") && l.contains(" s"))
        .unwrap_or_else(|| panic!("no training time in:\n{stdout}"));
    assert!(
        training.starts_with("Training time: ")
            && training.ends_with("(1 epoch on 54000 training images)"),
        "{training}"
    );
    assert!(stdout.contains("Time per epoch: "), "{stdout}");

    // Precision and recall of each digit, between 0 and 1.
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "class  precision  recall")
        .skip(1)
        .take_while(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(table.len(), 10, "ten classes in:\n{stdout}");
    for (class, row) in table.iter().enumerate() {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[0], class.to_string(), "{row}");
        for cell in &cells[1..] {
            let rate: f64 = cell.parse().expect("a rate");
            assert!((0.8..=1.0).contains(&rate), "{row}");
        }
    }
}

#[test]
fn quiet_leaves_out_the_summary_and_the_class_table() {
    let stdout = train(&["--quiet", "--epochs", "1", "--batch-size", "500"]);
    assert!(!stdout.contains("Total params"), "{stdout}");
    assert!(!stdout.contains("precision"), "{stdout}");
    assert!(stdout.contains("Epoch 1/1, loss "), "{stdout}");
    assert!(stdout.contains("Accuracy on test set: 0."), "{stdout}");
}

#[test]
fn help_lists_the_options() {
    let output = run_example(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--data-dir",
        "--epochs",
        "--batch-size",
        "--lr",
        "--seed",
        "--quiet",
        "--save",
        "--checkpoint",
        "--train-rows",
        "--help",
    ] {
        assert!(stdout.contains(option), "{option} missing from:\n{stdout}");
    }
}

#[test]
fn bad_options_are_usage_errors() {
    for (args, expected) in [
        (&["--batch-size", "0"][..], "--batch-size"),
        (&["--epochs", "none"][..], "--epochs"),
        (&["--epochs"][..], "--epochs"),
        (&["--lr", "-1"][..], "--lr"),
        (&["--lr", "inf"][..], "--lr"),
        (&["--seed", "-3"][..], "--seed"),
        (&["--train-rows", "1"][..], "--train-rows"),
        (&["--checkpoint"][..], "--checkpoint"),
        (&["--frobnicate"][..], "frobnicate"),
        (&["--out"][..], "--out"),
        (&["stray"][..], "stray"),
    ] {
        let output = run_example(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed to stdout");
    }
}

#[test]
fn missing_files_are_explained() {
    let output = run_example(&["--data-dir", "/nonexistent", "--quiet"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("train-images-idx3-ubyte"), "{stderr}");
    assert!(stderr.contains("/nonexistent"), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
