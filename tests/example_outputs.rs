//! The MNIST examples lose no work and replace no good model (issue 10): every output path is
//! checked before training, the model is saved before the optional figures, and a diverged run
//! says so, exits non-zero and saves nothing.

mod common;

use std::process::{Command, Output};

fn run(example: &str, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(common::example_binary(example))
        .args(args)
        .output()
        .expect("the example runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bad_output_paths_are_refused_before_training() {
    let mnist = common::mnist_dir();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-regular-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let model = dir.path().join("m.safetensors");
    // --out names a regular file: refused before any epoch, and nothing saved.
    let output = run(
        "mnist",
        &[
            "--epochs".as_ref(),
            "1".as_ref(),
            "--quiet".as_ref(),
            "--data-dir".as_ref(),
            mnist.as_os_str(),
            "--out".as_ref(),
            file.as_os_str(),
            "--save".as_ref(),
            model.as_os_str(),
        ],
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(!stdout.contains("Epoch"), "it trained first:\n{stdout}");
    assert!(stderr.contains("a-regular-file"), "{stderr}");
    assert!(!model.exists());
    // --save in a folder that does not exist, for both examples.
    let nowhere = dir.path().join("no/such/folder/m.safetensors");
    for example in ["mnist", "mlp"] {
        let output = run(
            example,
            &[
                "--epochs".as_ref(),
                "1".as_ref(),
                "--quiet".as_ref(),
                "--data-dir".as_ref(),
                mnist.as_os_str(),
                "--save".as_ref(),
                nowhere.as_os_str(),
            ],
        );
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        assert_eq!(
            output.status.code(),
            Some(1),
            "{example}: {stdout}\n{stderr}"
        );
        assert!(
            !stdout.contains("Epoch"),
            "{example} trained first:\n{stdout}"
        );
        assert!(stderr.contains("--save"), "{example}: {stderr}");
    }
}

#[test]
fn a_diverged_run_is_reported_and_does_not_replace_a_good_model() {
    let mnist = common::mnist_dir();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("good.safetensors");
    let good = b"a good model saved earlier".to_vec();
    std::fs::write(&model, &good).unwrap();
    let output = run(
        "mnist",
        &[
            "--epochs".as_ref(),
            "2".as_ref(),
            "--lr".as_ref(),
            "1e30".as_ref(),
            "--quiet".as_ref(),
            "--data-dir".as_ref(),
            mnist.as_os_str(),
            "--out".as_ref(),
            dir.path().join("figures").as_os_str(),
            "--save".as_ref(),
            model.as_os_str(),
        ],
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("diverged") || stderr.contains("NaN or infinite"),
        "{stderr}"
    );
    assert!(!stdout.contains("Model saved"), "{stdout}");
    assert_eq!(
        std::fs::read(&model).unwrap(),
        good,
        "the good model was replaced"
    );
}
