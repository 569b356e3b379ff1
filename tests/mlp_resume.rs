//! `mlp --checkpoint` survives a crash: a run killed with SIGKILL during epoch 4 and started
//! again with the same command ends with a model whose tensors equal, to the bit, those of a
//! run never interrupted (shuffling, Nesterov momentum, weight decay, a cosine schedule and
//! early stopping that restores the best epoch all in play).
//!
//! Kept to a few seconds with `--train-rows 6000` (5,400 training and 600 validation images).

mod common;
use common::mnist_dir;

use feedforward::io::TrainingCheckpoint;
use feedforward::Sequential;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The command of every run: only the output paths differ.
fn mlp(checkpoint: Option<&Path>, save: &Path) -> Command {
    let mut command = Command::new(common::example_binary("mlp"));
    command
        .arg("--data-dir")
        .arg(mnist_dir())
        .args(["--epochs", "6", "--train-rows", "6000", "--quiet", "--save"])
        .arg(save)
        .env_remove("MNIST_DIR");
    if let Some(path) = checkpoint {
        command.arg("--checkpoint").arg(path);
    }
    command
}

/// Runs `command` to the end; panics unless it succeeds; returns its standard output.
fn run(mut command: Command) -> String {
    let output = command.output().expect("run the mlp example");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every tensor of a saved model, as bit patterns.
fn tensors(path: &Path) -> Vec<(String, Vec<u32>)> {
    let model = Sequential::load(path).expect("a saved model");
    model
        .parameters()
        .into_iter()
        .map(|(name, value)| (name, value.iter().map(|v| v.to_bits()).collect()))
        .collect()
}

#[test]
fn a_run_killed_during_epoch_4_and_run_again_ends_as_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let straight = dir.path().join("straight.safetensors");
    let stdout = run(mlp(None, &straight));
    assert!(stdout.contains("Epoch 6/6"), "{stdout}");

    // The same command with a checkpoint, killed once epoch 3's checkpoint is on disk.
    let checkpoint = dir.path().join("c.st");
    let resumed = dir.path().join("a.safetensors");
    let mut child = mlp(Some(&checkpoint), &resumed)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the mlp example");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("the run ended before epoch 3: {seen:#?}"))
            .expect("a line of output");
        let third = line.starts_with("Epoch 3/6");
        seen.push(line);
        if third {
            break;
        }
    }
    assert!(
        seen[0].starts_with("No checkpoint at ") && seen[0].contains("starting afresh"),
        "{seen:#?}"
    );
    // The line is printed before the checkpoint is written: wait for the file of epoch 3.
    let waiting = Instant::now();
    while TrainingCheckpoint::read(&checkpoint)
        .map(|c| c.epochs_done())
        .ok()
        != Some(3)
    {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "no checkpoint of epoch 3 in {}",
            checkpoint.display()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before it was killed"
    );
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success());
    drop(lines);
    // Killed during epoch 4: its checkpoint was never written.
    assert_eq!(
        TrainingCheckpoint::read(&checkpoint).unwrap().epochs_done(),
        3,
        "the run got past epoch 4 before it was killed"
    );
    assert!(!resumed.exists());

    // Run again, same command: resumes at epoch 4 and ends where the straight run ended.
    let stdout = run(mlp(Some(&checkpoint), &resumed));
    assert!(
        stdout.contains("Resuming from the checkpoint at epoch 4/6 (3 epochs finished)"),
        "{stdout}"
    );
    assert!(!stdout.contains("Epoch 3/6"), "{stdout}");
    for epoch in 4..=6 {
        assert!(stdout.contains(&format!("Epoch {epoch}/6, ")), "{stdout}");
    }
    assert_eq!(tensors(&resumed), tensors(&straight));
    // The files themselves are written canonically: the same bytes.
    assert_eq!(
        std::fs::read(&resumed).unwrap(),
        std::fs::read(&straight).unwrap()
    );
    // A third time: nothing left to train, the same model again.
    let again = dir.path().join("again.safetensors");
    let stdout = run(mlp(Some(&checkpoint), &again));
    assert!(stdout.contains("finished all 6 epochs"), "{stdout}");
    assert_eq!(tensors(&again), tensors(&straight));
}
