//! `cargo run --example tabular`: any CSV table, from the file to a trained, saved model.
#![cfg(all(feature = "csv", feature = "npy"))]

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn tabular(args: &[&str]) -> Output {
    Command::new(common::example_binary("tabular"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the example runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The number after `prefix` on its line.
fn headline(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn breast_cancer_is_guessed_as_classification_trained_scored_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("cancer.safetensors");
    let out = dir.path().join("figures");
    let output = tabular(&[
        "--csv",
        "data/breast_cancer.csv",
        "--target",
        "target",
        "--stratify",
        "--seed",
        "2",
        "--quiet",
        "--save",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains(
            "569 rows, 30 feature columns (30 numeric, 0 text one-hot encoded) -> 30 inputs"
        ),
        "{text}"
    );
    assert!(
        text.contains("Task: classification (guessed from column \"target\""),
        "{text}"
    );
    assert!(text.contains("455 training rows"), "{text}");
    // scikit-learn's LogisticRegression and MLPClassifier score 0.9825 on this split
    // (scripts/compare_sklearn.py); issue #12 asks for within 0.01 of the better one.
    let accuracy = headline(&text, "Accuracy on test set:");
    assert!(accuracy >= 0.9825 - 0.01, "{accuracy}");
    assert!(
        text.contains("Chosen by cross-validation: alpha "),
        "{text}"
    );
    assert!(
        text.contains("Refit: trained on all 455 training rows"),
        "{text}"
    );
    assert!(
        text.contains("precision  recall  f1-score  support"),
        "{text}"
    );
    assert!(text.contains("predicts the same, bit for bit"), "{text}");
    assert!(out.join("learning_curves.svg").exists());
    let encoding =
        feedforward::data::csv::TableEncoding::load(dir.path().join("cancer.encoding.json"))
            .unwrap();
    assert_eq!(encoding.input_width(), 30);
    let mut loaded = feedforward::Sequential::load(&model).unwrap();
    assert_eq!(loaded.layers()[0].name(), "Normalization");
    let rows = encoding
        .read_inputs(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/breast_cancer.csv"))
        .unwrap();
    let predicted = loaded.predict_classes(rows.view()).unwrap();
    assert_eq!(predicted.classes.len(), 569);
}

#[test]
fn diabetes_is_guessed_as_regression_and_reports_r2_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let output = tabular(&[
        "--csv",
        "data/diabetes.csv",
        "--target",
        "target",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("Task: regression (guessed from column \"target\""),
        "{text}"
    );
    // LinearRegression scores 0.4526 on this split (seed 42); issue #12 asks for within 0.03.
    let r2 = headline(&text, "R^2 on test set:");
    assert!(r2 >= 0.4526 - 0.03, "{r2}");
    assert!(
        text.contains("MSE ") && text.contains("RMSE ") && text.contains("MAE "),
        "{text}"
    );
}

#[test]
fn a_table_with_text_a_missing_cell_and_a_quoted_comma_trains_without_code_changes() {
    // 300 rows: a numeric feature, a text feature with a quoted comma, a text target; one
    // cell is missing.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fruit.csv");
    let mut csv = String::from("weight,origin,colour,fruit\n");
    for i in 0..300 {
        let weight = 100 + (i * 37) % 150;
        let origin = ["\"Seville, Spain\"", "Brazil", "Italy"][i % 3];
        let (colour, fruit) = if i % 2 == 0 {
            ("orange", "orange")
        } else {
            ("yellow", "lemon")
        };
        let weight = if i == 17 {
            String::new()
        } else {
            weight.to_string()
        };
        csv.push_str(&format!("{weight},{origin},{colour},{fruit}\n"));
    }
    std::fs::write(&path, csv).unwrap();
    let path = path.to_str().unwrap();
    let args = [
        "--csv",
        path,
        "--target",
        "fruit",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ];
    let output = tabular(&args);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("fruit.csv, line 19, column \"weight\": an empty cell"),
        "{error}"
    );
    let output = tabular(&[&args[..], &["--drop-missing", "--stratify"]].concat());
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("299 rows (1 dropped for missing cells), 3 feature columns (1 numeric, 2 text one-hot encoded) -> 6 inputs"), "{text}");
    assert!(text.contains("2 classes: lemon, orange"), "{text}");
    assert_eq!(headline(&text, "Accuracy on test set:"), 1.0);
}

#[test]
fn bad_options_print_the_usage() {
    for args in [
        &["--target", "y"][..],
        &["--csv", "data/iris.csv"],
        &[
            "--csv",
            "data/iris.csv",
            "--target",
            "species",
            "--task",
            "ranking",
        ],
        &[
            "--csv",
            "data/iris.csv",
            "--target",
            "species",
            "--test-size",
            "1.5",
        ],
        &["--csv", "data/iris.csv", "--target", "species", "--cv", "1"],
        &[
            "--csv",
            "data/iris.csv",
            "--target",
            "species",
            "--alpha",
            "1,-3",
        ],
    ] {
        let output = tabular(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("Usage: tabular"));
    }
    let output = tabular(&[
        "--csv",
        "data/diabetes.csv",
        "--target",
        "target",
        "--stratify",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--stratify"));
}

#[test]
fn stream_and_npy_train_through_the_bounded_memory_paths_to_the_same_numbers() {
    // iris streamed: 150 rows, the last 30 held out, every training batch prefetched.
    let output = tabular(&[
        "--csv",
        "data/iris.csv",
        "--target",
        "species",
        "--stream",
        "--epochs",
        "3",
        "-q",
    ]);
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("Streaming 150 rows from 1 file(s)"), "{text}");
    // 120 training rows in batches of 32: 4 a epoch, 3 epochs.
    assert!(
        text.contains("(12 batches prefetched, 3 read directly)"),
        "{text}"
    );
    let accuracy = headline(&text, "Validation accuracy:");
    assert!((0.0..=1.0).contains(&accuracy), "{text}");

    // The numpy fixtures, memory-mapped, and the same rows as a CSV file, streamed: the same
    // validation loss to the last printed digit.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("fixture.csv");
    let mut table = String::from("a,b,c,label\n");
    for (i, label) in [0, 2, 1, 2, 0, 1].iter().enumerate() {
        let x = |j: usize| (3 * i + j) as f32 / 8.0 - 1.0;
        table.push_str(&format!("{},{},{},{label}\n", x(0), x(1), x(2)));
    }
    std::fs::write(&csv, table).unwrap();
    let common = [
        "--epochs",
        "4",
        "--batch-size",
        "2",
        "--test-size",
        "0.34",
        "-q",
    ];
    let npy = tabular(
        &[
            &[
                "--npy",
                "tests/fixtures/npy/x_f32.npy",
                "--labels",
                "tests/fixtures/npy/y_i64.npy",
            ][..],
            &common,
        ]
        .concat(),
    );
    let npy_text = stdout(&npy);
    assert!(
        npy.status.success(),
        "{npy_text}\n{}",
        String::from_utf8_lossy(&npy.stderr)
    );
    assert!(
        npy_text.contains("Memory-mapped 6 rows of shape [3]"),
        "{npy_text}"
    );
    let csv_path = csv.to_str().unwrap();
    let streamed = tabular(
        &[
            &[
                "--csv",
                csv_path,
                "--target",
                "label",
                "--task",
                "classification",
                "--stream",
            ][..],
            &common,
        ]
        .concat(),
    );
    let streamed_text = stdout(&streamed);
    assert!(streamed.status.success(), "{streamed_text}");
    assert_eq!(
        headline(&npy_text, "Validation loss:"),
        headline(&streamed_text, "Validation loss:")
    );
}
