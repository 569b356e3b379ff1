//! The linear-regression walkthrough (tutorial sections 1 to 3) reproduces the tutorial's numbers,
//! through the library and through the `linear_regression` example.
//!
//! The reference is the tutorial's numpy run, `reference/linear_regression_seed_numpy.py`:
//! ```python
//! np.random.seed(42); X = np.random.rand(2, 1); y = 2 * X + 1
//! w = np.random.randn(); b = np.random.randn(); lr = 0.1
//! for epoch in range(1001):  # loss = 1/2 mean((y - (w X + b))^2), then one gradient step
//!     if epoch % 100 == 0: print(f'Époque {epoch}, Perte : {loss:.4f}')
//! print(f'Poids: {w:.4f}, Biais: {b:.4f}')
//! ```
//! whose output is `reference/linear_regression_trace.txt`.

mod common;

use std::process::{Command, Output};

use feedforward::prelude::*;
use feedforward::Progress;
use ndarray::array;

/// The figures the example writes, with a title each must show.
const FIGURES: [(&str, &str); 6] = [
    (
        "fig06_untrained_perceptron.svg",
        "Approximation de la fonction linéaire avec un Perceptron",
    ),
    (
        "fig07_cost_surface.svg",
        "Coût C = MSE / 2 par rapport au poids et au biais",
    ),
    (
        "fig08_cost_vs_weight.svg",
        "Coût C = MSE / 2 par rapport au poids",
    ),
    (
        "fig09_10_learning_rates.svg",
        "Taux d'apprentissage trop faible, trop élevé",
    ),
    ("fig_loss_per_epoch.svg", "Perte au fil des époques"),
    (
        "fig_learned_regression.svg",
        "Régression linéaire avec Perceptron",
    ),
];

/// The reference trace: 11 `Époque N, Perte : L` lines, then `Poids: W, Biais: B`.
fn reference_trace() -> Vec<String> {
    let path = common::reference_file("linear_regression_trace.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the reference trace {} is missing ({e}): it is the tutorial's output",
            path.display()
        )
    });
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 12, "{} should hold 12 lines", path.display());
    lines
}

fn run_example(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(common::example_binary("linear_regression"))
        .args(args)
        .output()
        .expect("the example runs")
}

/// The text as plotters' SVG backend writes it inside `<text>` (XML-escaped).
fn xml_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[test]
fn the_library_reproduces_the_tutorial_trace() {
    // np.random.seed(42); X = np.random.rand(2, 1); y = 2 * X + 1
    let mut rng = RandomState::new(42);
    let x = rng.rand(2, 1).unwrap();
    let y = x.mapv(|v| 2.0 * v + 1.0);
    // w = np.random.randn(); b = np.random.randn()
    let w = rng.standard_normal() as f32;
    let b = rng.standard_normal() as f32;

    let mut model = Sequential::builder(1)
        .push(Dense::from_parameters(array![[w]], array![[b]]).unwrap())
        .push(Identity)
        .build()
        .unwrap();
    let data = InMemory::new(x, y).unwrap();
    let mut sgd = Sgd::new(0.1).unwrap();
    let mut reported = Vec::new();
    let history = model
        .fit_with_progress(
            &data,
            &HalfMse,
            &mut sgd,
            &FitConfig::new(1001),
            &mut |progress| {
                if let Progress::EpochEnd {
                    epoch,
                    average_loss,
                    ..
                } = *progress
                {
                    reported.push((epoch, average_loss));
                }
            },
        )
        .unwrap();
    assert_eq!(history.epoch_losses.len(), 1001);
    assert_eq!(
        reported,
        history
            .epoch_losses
            .iter()
            .copied()
            .enumerate()
            .collect::<Vec<_>>(),
        "the progress callback reports every epoch's loss as History records it"
    );

    let parameters = model.parameters();
    let scalar = |name: &str| {
        let (_, value) = parameters
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no parameter {name}"));
        value[[0, 0]]
    };
    let mut trace: Vec<String> = (0..=1000)
        .step_by(100)
        .map(|epoch| format!("Époque {epoch}, Perte : {:.4}", history.epoch_losses[epoch]))
        .collect();
    trace.push(format!(
        "Poids: {:.4}, Biais: {:.4}",
        scalar("0.weight"),
        scalar("0.bias")
    ));
    assert_eq!(trace, reference_trace());
}

#[test]
fn the_example_prints_the_trace_and_writes_the_figures() {
    let out = tempfile::tempdir().unwrap();
    let figures = out.path().join("figures");
    let output = run_example(&["--out".as_ref(), figures.as_os_str()]);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the example failed ({}):\n{stdout}\n{stderr}",
        output.status
    );

    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 12, "short output:\n{stdout}");
    assert_eq!(lines[..12], reference_trace()[..], "stdout:\n{stdout}");
    assert!(
        lines[12].starts_with("Figures written to"),
        "stdout:\n{stdout}"
    );

    for (name, title) in FIGURES {
        let path = figures.join(name);
        let svg = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()));
        assert!(svg.len() > 2_000, "{name} is nearly empty:\n{svg}");
        let head = svg.trim_start();
        assert!(
            head.starts_with("<svg") || head.starts_with("<?xml"),
            "{name} is not an SVG file: {}",
            &head[..head.len().min(80)]
        );
        assert!(
            svg.contains(&xml_escaped(title)),
            "{name} lacks its title {title:?}"
        );
        assert!(
            stdout.contains(name),
            "stdout does not list {name}:\n{stdout}"
        );
    }
}

#[test]
fn an_unknown_option_is_refused_on_stderr() {
    let output = run_example(&["--bogus".as_ref()]);
    assert!(!output.status.success());
    assert_eq!(output.status.code(), Some(2), "bad arguments exit with 2");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--bogus"), "stderr: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "nothing trained, nothing printed on stdout"
    );
}

#[test]
fn an_output_directory_that_cannot_be_created_is_a_failure() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let output = run_example(&["--out".as_ref(), file.path().as_os_str()]);
    assert_eq!(output.status.code(), Some(1), "failures exit with 1");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot create"), "stderr: {stderr}");
    assert!(output.stdout.is_empty(), "checked before training");
}

#[test]
fn help_describes_the_options() {
    let output = run_example(&["--help".as_ref()]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("--out"), "help: {stdout}");
}
