//! Linear regression with one perceptron: sections 1 to 3 of the tutorial.
//!
//! `cargo run --release --example linear_regression [-- --out DIR]`
//!
//! A perceptron with one input computes `z = w.x + b`, so it can approximate a linear function.
//! It learns `f(x) = 2x + 1` from two points by gradient descent on the cost `C = MSE / 2`:
//!
//! - 1.1 creating the perceptron: a random weight and bias (`np.random.randn()`);
//! - 1.2, 1.3 its output, `activation(w.x + b)` with the identity: `Dense` 1 -> 1, then `Identity`;
//! - 1.4 the untrained perceptron against `2x + 1` (figure 6);
//! - 2 the cost, `C = 1/2 mean((y - y_hat)^2)`: `HalfMse` (figures 7 and 8);
//! - 3 gradient descent, `w <- w - lr * dC/dw`: `Sgd` (figures 9 and 10: lr too small, too large);
//! - 3.3 epochs: 1001 passes over the whole data set, no batches (3.4), through `Sequential::fit`.
//!
//! Stdout is the tutorial's trace, digit for digit: the cost every 100 epochs, then the learned
//! weight and bias. The figures are written as SVG files in `--out`.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use feedforward::layers::Parameter;
use feedforward::plot::{self, Chart, Colour, Figure, Heatmap, LegendPosition, Mark, Series};
use feedforward::prelude::*;
use feedforward::{Progress, Result};
use ndarray::{array, Array2};
use std::ops::Range;

/// The tutorial's seed: `np.random.seed(42)`.
const SEED: u32 = 42;
/// The tutorial's learning rate.
const LEARNING_RATE: f32 = 0.1;
/// `num_epochs = 1001`.
const EPOCHS: usize = 1001;
/// `if epoch % 100 == 0: print(...)`.
const PRINT_EVERY: usize = 100;
/// Learning rates for figures 9 and 10, and how many steps each figure shows.
const SMALL_LEARNING_RATE: f32 = 0.05;
const LARGE_LEARNING_RATE: f32 = 4.0;
const FIGURE_STEPS: usize = 12;

const DEFAULT_OUT: &str = "target/figures/linear_regression";
const USAGE: &str = "\
Linear regression with one perceptron (sections 1 to 3 of the tutorial).

Usage: linear_regression [--out DIR]

Options:
  -o, --out DIR   where to write the SVG figures [default: target/figures/linear_regression]
  -h, --help      print this help
";

fn main() -> ExitCode {
    let out = match parse_args(lexopt::Parser::from_env()) {
        Ok(Some(out)) => out,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("linear_regression: {e}\nTry 'linear_regression --help'.");
            return ExitCode::from(2);
        }
    };
    match run(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("linear_regression: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The output directory, or `None` for `--help`.
fn parse_args(mut parser: lexopt::Parser) -> std::result::Result<Option<PathBuf>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut out = PathBuf::from(DEFAULT_OUT);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('o') | Long("out") => {
                out = parser.value()?.into();
                if out.as_os_str().is_empty() {
                    return Err("--out needs a directory".into());
                }
            }
            Short('h') | Long("help") => return Ok(None),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some(out))
}

fn run(out: &Path) -> std::result::Result<(), Box<dyn Error>> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    // 1.4 The data: np.random.seed(42); X = np.random.rand(2, 1); y = 2 * X + 1.
    let mut rng = RandomState::new(SEED);
    let x = rng.rand(2, 1)?;
    let y = x.mapv(|x| 2.0 * x + 1.0);

    // 1.1 Creating the perceptron: its parameters start random, w = np.random.randn() and
    // b = np.random.randn(). Drawn after X, as in section 3.3, they are w = 0.6477 and
    // b = 1.5230 (section 1.1 drew them right after seeding: 0.4967 and -0.1383).
    let start = (rng.standard_normal() as f32, rng.standard_normal() as f32);

    // 1.2, 1.3 Its output is activation(w * x + b), with the identity as activation.
    let mut model = perceptron(start)?;

    // 1.4 Before training, the perceptron is far from 2x + 1 (figure 6). A line is drawn
    // through two points: the model's outputs at x = 0 and x = 1.
    let ends = array![[0.0f32], [1.0]];
    let untrained_line = model.predict(ends.view())?.to_owned();

    // 2 The cost: C = MSE / 2 = 1/2 mean((y - y_hat)^2), the library's `HalfMse`.
    // 3 Gradient descent: w <- w - lr * dC/dw and b <- b - lr * dC/db, what `Sgd` does.
    // 3.3 Epochs: one epoch is one pass over the data; with two points and no batches (3.4),
    // an epoch is one gradient step. The cost printed is the one before the epoch's step.
    let data = InMemory::new(x.clone(), y.clone())?;
    let mut sgd = Sgd::new(LEARNING_RATE)?;
    let history = model.fit_with_progress(
        &data,
        &HalfMse,
        &mut sgd,
        &FitConfig::new(EPOCHS),
        &mut |progress| {
            if let Progress::EpochEnd {
                epoch,
                average_loss,
                ..
            } = *progress
            {
                if epoch % PRINT_EVERY == 0 {
                    println!("Époque {epoch}, Perte : {average_loss:.4}");
                }
            }
        },
    )?;
    let learned = weight_and_bias(&model)?;
    println!("Poids: {:.4}, Biais: {:.4}", learned.0, learned.1);
    let learned_line = model.predict(ends.view())?.to_owned();

    // The same descent again, one `train_step` at a time, to draw its path over the cost
    // surface (figure 7).
    let path = descent(&data, start, &mut Sgd::new(LEARNING_RATE)?, EPOCHS)?;

    // 3.2 The learning rate: too small, the descent needs many steps (figure 9); too large, every
    // step overshoots the minimum and the cost grows (figure 10). As in the tutorial's figures,
    // only the weight moves: the bias stays at its learned value, so each step stays on the
    // curve C(w). Along w the cost's curvature is mean(x^2) = 0.52, so steps diverge for
    // lr > 2 / 0.52 = 3.8 (with w and b both trained, already for lr > 1.37).
    let frozen = (start.0, learned.1);
    let slow = descent(
        &data,
        frozen,
        &mut WeightOnly::sgd(SMALL_LEARNING_RATE)?,
        FIGURE_STEPS,
    )?;
    let fast = descent(
        &data,
        frozen,
        &mut WeightOnly::sgd(LARGE_LEARNING_RATE)?,
        FIGURE_STEPS,
    )?;

    // The figures, drawn by the library's `plot` module (feature `plot`, on by default).
    let surface = Surface { x: &x, y: &y };
    let figures: [(&str, Figure); 6] = [
        // 1.4, figure 6: the data and the untrained perceptron.
        (
            "fig06_untrained_perceptron.svg",
            data_and_line(
                "Approximation de la fonction linéaire avec un Perceptron",
                ["Vraie fonction : 2x + 1", "Perceptron"],
                (&x, &y),
                (&ends, &untrained_line),
            )
            .into(),
        ),
        // 2, figure 7: the cost over (w, b) as colour bands, with the training run's path.
        (
            "fig07_cost_surface.svg",
            surface.over_w_and_b(&path)?.into(),
        ),
        // 2, figure 8: the cost against the weight, the bias at its learned value.
        ("fig08_cost_vs_weight.svg", surface.over_w(learned)?.into()),
        // 3.2, figures 9 and 10: a too-small and a too-large learning rate, side by side.
        (
            "fig09_10_learning_rates.svg",
            Figure::new()
                .title("Taux d'apprentissage trop faible, trop élevé")
                .chart(surface.steps(
                    &slow,
                    learned.0,
                    "Figure 9 : taux faible",
                    SMALL_LEARNING_RATE,
                )?)
                .chart(surface.steps(
                    &fast,
                    learned.0,
                    "Figure 10 : taux élevé",
                    LARGE_LEARNING_RATE,
                )?),
        ),
        // 3.3: plt.plot(losses), the loss of every epoch as `History` recorded it.
        (
            "fig_loss_per_epoch.svg",
            plot::loss_chart(&history)
                .title("Perte au fil des époques")
                .labels("Époque", "Perte")
                .with_size(800, 600)
                .into(),
        ),
        // The tutorial's last figure: the data and the learned line.
        (
            "fig_learned_regression.svg",
            data_and_line(
                "Régression linéaire avec Perceptron",
                ["Données réelles", "Régression linéaire apprise"],
                (&x, &y),
                (&ends, &learned_line),
            )
            .into(),
        ),
    ];
    let mut written = Vec::new();
    for (name, figure) in figures {
        let path = out.join(name);
        figure.save_svg(&path)?;
        written.push(path);
    }
    println!("Figures written to {}:", out.display());
    for path in written {
        println!("  {}", path.display());
    }
    Ok(())
}

/// The tutorial's perceptron: one input, one output, weight `w`, bias `b`, identity activation.
fn perceptron((w, b): (f32, f32)) -> Result<Sequential> {
    Sequential::builder(1)
        .push(Dense::from_parameters(array![[w]], array![[b]])?)
        .push(Identity)
        .build()
}

/// The perceptron's weight and bias, read back by name (`"0.weight"`, `"0.bias"`: layer 0).
fn weight_and_bias(model: &Sequential) -> std::result::Result<(f32, f32), Box<dyn Error>> {
    let parameters = model.parameters();
    let scalar = |name: &str| {
        parameters
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, value)| value.first().copied())
            .ok_or_else(|| format!("the model has no parameter {name:?}"))
    };
    Ok((scalar("0.weight")?, scalar("0.bias")?))
}

/// The cost `C(w, b) = 1/2 mean((y - (w x + b))^2)`, computed by the library's `HalfMse`.
fn cost(x: &Array2<f32>, y: &Array2<f32>, (w, b): (f32, f32)) -> Result<f32> {
    HalfMse.loss(x.mapv(|x| w * x + b).view(), y.view())
}

/// `steps` gradient-descent steps from `start` on a fresh perceptron; returns the parameters
/// `(w, b)` before the first step and after each one. A run that diverges stops at its last
/// finite cost.
fn descent(
    data: &InMemory,
    start: (f32, f32),
    optimizer: &mut dyn Optimizer,
    steps: usize,
) -> std::result::Result<Vec<(f32, f32)>, Box<dyn Error>> {
    let mut model = perceptron(start)?;
    let mut path = vec![weight_and_bias(&model)?];
    for _ in 0..steps {
        match model.train_step(data.inputs(), data.targets(), &HalfMse, optimizer) {
            Ok(_) => path.push(weight_and_bias(&model)?),
            Err(feedforward::Error::NonFiniteLoss { .. }) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(path)
}

/// Gradient descent on the weights alone: biases keep their values. An optimizer sees every
/// parameter by name, so it can leave some of them alone.
struct WeightOnly(Sgd);

impl WeightOnly {
    fn sgd(learning_rate: f32) -> Result<Self> {
        Ok(WeightOnly(Sgd::new(learning_rate)?))
    }
}

impl Optimizer for WeightOnly {
    fn learning_rate(&self) -> f32 {
        self.0.learning_rate()
    }

    fn set_learning_rate(&mut self, learning_rate: f32) -> Result<()> {
        self.0.set_learning_rate(learning_rate)
    }

    fn begin_step(&mut self) {
        self.0.begin_step();
    }

    fn update(&mut self, index: usize, parameter: Parameter<'_>) -> bool {
        // A parameter left alone stays as finite as it was.
        parameter.name != "weight" || self.0.update(index, parameter)
    }

    fn revert(&mut self, index: usize, parameter: Parameter<'_>) {
        if parameter.name == "weight" {
            self.0.revert(index, parameter);
        }
    }

    fn end_step(&mut self, commit: bool) {
        self.0.end_step(commit);
    }
}

/// `(x, y)` pairs from two `(n, 1)` columns.
fn pairs(x: &Array2<f32>, y: &Array2<f32>) -> Vec<(f64, f64)> {
    x.iter()
        .zip(y)
        .map(|(&x, &y)| (x as f64, y as f64))
        .collect()
}

/// The tutorial's `plt.scatter(X, y)` and `plt.plot(x, line, color='red')`, with its title,
/// axis labels, legend and grid.
fn data_and_line(
    title: &str,
    [data_label, line_label]: [&str; 2],
    (x, y): (&Array2<f32>, &Array2<f32>),
    (ends, line): (&Array2<f32>, &Array2<f32>),
) -> Chart {
    Chart::new(title)
        .labels("x", "y")
        .legend(LegendPosition::UpperLeft)
        .series(
            Series::line(line_label, pairs(ends, line))
                .colour(Colour::RED)
                .mark(Mark::Line { width: 3 }),
        )
        .series(Series::dots(data_label, pairs(x, y)).colour(Colour::cycle(0)))
}

/// The cost surface C(w, b) of the two data points, and the figures drawn over it.
struct Surface<'d> {
    x: &'d Array2<f32>,
    y: &'d Array2<f32>,
}

impl Surface<'_> {
    /// C at `(w, b)`.
    fn at(&self, p: (f32, f32)) -> Result<f64> {
        Ok(cost(self.x, self.y, p)? as f64)
    }

    /// `(w, C(w, b))` for 201 weights across `range`.
    fn curve(&self, range: Range<f64>, b: f32) -> Result<Vec<(f64, f64)>> {
        (0..=200)
            .map(|i| {
                let w = range.start + (range.end - range.start) * i as f64 / 200.0;
                Ok((w, self.at((w as f32, b))?))
            })
            .collect()
    }

    /// Figure 7: C over w in [-1, 5] and b in [-2, 4] as colour bands on a log scale (as
    /// contour levels), the descent's path from its start to the learned (w, b).
    fn over_w_and_b(&self, path: &[(f32, f32)]) -> Result<Chart> {
        const CELLS: usize = 200;
        let (w0, b0, side) = (-1.0, -2.0, 6.0);
        let step = side / CELLS as f64;
        let mut costs = Array2::zeros((CELLS, CELLS));
        for ((j, i), c) in costs.indexed_iter_mut() {
            let (w, b) = (w0 + (i as f64 + 0.5) * step, b0 + (j as f64 + 0.5) * step);
            *c = self.at((w as f32, b as f32))?;
        }
        let levels = vec![
            1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0,
        ];
        let path: Vec<(f64, f64)> = path.iter().map(|&(w, b)| (w as f64, b as f64)).collect();
        let end = path[path.len() - 1];
        let descent = format!(
            "descente de gradient, lr = {LEARNING_RATE}, {} époques",
            path.len() - 1
        );
        Ok(
            Chart::new("Coût C = MSE / 2 par rapport au poids et au biais")
                .labels("poids w", "biais b")
                .with_size(900, 650)
                .x_range(w0..w0 + side)
                .y_range(b0..b0 + side)
                .legend(LegendPosition::UpperLeft)
                .heatmap(
                    Heatmap::new(costs, w0..w0 + side, b0..b0 + side)
                        .levels(levels)
                        .colour_bar("coût C"),
                )
                .series(
                    Series::line(descent, path.clone())
                        .colour(Colour::RED)
                        .mark(Mark::Line { width: 3 }),
                )
                .series(Series::dots("départ", path[..1].to_vec()).colour(Colour::WHITE))
                .series(
                    Series::dots(
                        format!("appris : w = {:.4}, b = {:.4}", end.0, end.1),
                        [end],
                    )
                    .colour(Colour::BLACK)
                    .mark(Mark::Crosses { size: 9 }),
                ),
        )
    }

    /// Figure 8: C against w, the bias held at its learned value, and the learned weight.
    fn over_w(&self, (w, b): (f32, f32)) -> Result<Chart> {
        Ok(Chart::new("Coût C = MSE / 2 par rapport au poids")
            .labels("poids w", "coût C")
            .legend(LegendPosition::UpperMiddle)
            .series(
                Series::line(format!("C(w), biais b = {b:.4}"), self.curve(-1.0..5.0, b)?)
                    .mark(Mark::Line { width: 3 }),
            )
            .series(
                Series::dots(
                    format!("poids appris w = {w:.4}"),
                    [(w as f64, self.at((w, b))?)],
                )
                .colour(Colour::RED),
            ))
    }

    /// One panel of figures 9 and 10: C(w) around the learned weight `optimum`, and the
    /// successive steps (w, C) joined by lines.
    fn steps(&self, steps: &[(f32, f32)], optimum: f32, title: &str, lr: f32) -> Result<Chart> {
        let (optimum, b) = (optimum as f64, steps[0].1);
        let reach = steps
            .iter()
            .map(|&(w, _)| (w as f64 - optimum).abs())
            .fold(2.0, f64::max)
            * 1.1;
        let range = optimum - reach..optimum + reach;
        let curve = self.curve(range.clone(), b)?;
        let top = curve.iter().map(|p| p.1).fold(0.0, f64::max);
        let points = steps
            .iter()
            .map(|&p| Ok((p.0 as f64, self.at(p)?)))
            .collect::<Result<Vec<_>>>()?;
        let label = format!("{} pas de descente de gradient", points.len() - 1);
        Ok(Chart::new(format!("{title} (lr = {lr})"))
            .labels("poids w", "coût C")
            .with_size(650, 520)
            .x_range(range)
            // room above the curve for the legend
            .y_range(-0.05 * top..top * 1.3)
            .legend(LegendPosition::UpperMiddle)
            .series(Series::line(format!("C(w), biais b = {b:.4}"), curve).colour(Colour::BLUE))
            .series(
                Series::line(label, points.clone())
                    .colour(Colour::RED)
                    .mark(Mark::LineAndDots {
                        width: 2,
                        radius: 5,
                    }),
            )
            .series(Series::dots("départ", points[..1].to_vec()).colour(Colour::BLACK)))
    }
}
