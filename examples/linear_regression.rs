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
use feedforward::prelude::*;
use feedforward::{Progress, Result};
use ndarray::{array, Array2};

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

    let walkthrough = figures::Walkthrough {
        x,
        y,
        ends,
        untrained_line,
        learned_line,
        learned,
        epoch_losses: history.epoch_losses,
        path,
        slow,
        fast,
    };
    let written = walkthrough.draw_all(out)?;
    println!("Figures written to {}:", out.display());
    for file in written {
        println!("  {}", file.display());
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

/// The figures, drawn with `plotters` as SVG: the tutorial's matplotlib figures 6 to 10, the
/// loss per epoch and the learned regression.
mod figures {
    use super::{cost, LARGE_LEARNING_RATE, LEARNING_RATE, SMALL_LEARNING_RATE};
    use ndarray::Array2;
    use plotters::coord::types::RangedCoordf64;
    use plotters::coord::Shift;
    use plotters::prelude::*;
    use std::error::Error;
    use std::ops::Range;
    use std::path::{Path, PathBuf};

    type Result<T> = std::result::Result<T, Box<dyn Error>>;
    type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
    type Chart<'a, 'b> =
        ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

    const FONT: &str = "sans-serif";
    const SIZE: (u32, u32) = (800, 600);
    /// Cost levels separating the colour bands of figure 7 (a log scale, like contour levels).
    const LEVELS: [f64; 14] = [
        1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0,
    ];

    /// Everything the figures show, computed by the walkthrough.
    pub struct Walkthrough {
        /// The data: inputs `(2, 1)` and targets `2x + 1`.
        pub x: Array2<f32>,
        pub y: Array2<f32>,
        /// `x = 0` and `x = 1`, and the model's outputs there before and after training.
        pub ends: Array2<f32>,
        pub untrained_line: Array2<f32>,
        pub learned_line: Array2<f32>,
        /// The learned `(w, b)`.
        pub learned: (f32, f32),
        pub epoch_losses: Vec<f32>,
        /// `(w, b)` along the training run, then along the too-small and too-large learning rates.
        pub path: Vec<(f32, f32)>,
        pub slow: Vec<(f32, f32)>,
        pub fast: Vec<(f32, f32)>,
    }

    /// Title, axis labels and ranges of a chart.
    struct Axes<'t> {
        title: &'t str,
        x_label: &'t str,
        y_label: &'t str,
        x: Range<f64>,
        y: Range<f64>,
    }

    impl Walkthrough {
        /// Writes every figure into the directory `out`; returns the files written.
        pub fn draw_all(&self, out: &Path) -> Result<Vec<PathBuf>> {
            type Figure = fn(&Walkthrough, &Area<'_>) -> Result<()>;
            let figures: [(&str, (u32, u32), Figure); 6] = [
                ("fig06_untrained_perceptron.svg", SIZE, Self::untrained),
                ("fig07_cost_surface.svg", (900, 650), Self::cost_surface),
                ("fig08_cost_vs_weight.svg", SIZE, Self::cost_vs_weight),
                (
                    "fig09_10_learning_rates.svg",
                    (1300, 560),
                    Self::learning_rates,
                ),
                ("fig_loss_per_epoch.svg", SIZE, Self::loss_per_epoch),
                ("fig_learned_regression.svg", SIZE, Self::learned_regression),
            ];
            let mut written = Vec::new();
            for (name, size, draw) in figures {
                let path = out.join(name);
                {
                    let root = SVGBackend::new(&path, size).into_drawing_area();
                    root.fill(&WHITE)?;
                    draw(self, &root)?;
                    root.present()
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                }
                written.push(path);
            }
            Ok(written)
        }

        /// Figure 6: the data of 2x + 1 and the untrained perceptron.
        fn untrained(&self, root: &Area<'_>) -> Result<()> {
            self.data_and_line(
                root,
                "Approximation de la fonction linéaire avec un Perceptron",
                ("Vraie fonction : 2x + 1", "Perceptron"),
                &self.untrained_line,
            )
        }

        /// The tutorial's last figure: the data and the learned line.
        fn learned_regression(&self, root: &Area<'_>) -> Result<()> {
            self.data_and_line(
                root,
                "Régression linéaire avec Perceptron",
                ("Données réelles", "Régression linéaire apprise"),
                &self.learned_line,
            )
        }

        /// The data points (scatter) and a line through the model's outputs at `ends`.
        fn data_and_line(
            &self,
            root: &Area<'_>,
            title: &str,
            (data_label, line_label): (&str, &str),
            line: &Array2<f32>,
        ) -> Result<()> {
            let data = pairs(&self.x, &self.y);
            let line = pairs(&self.ends, line);
            let all = data.iter().chain(&line);
            let mut chart = chart(
                root,
                &Axes {
                    title,
                    x_label: "x",
                    y_label: "y",
                    x: padded(line.iter().map(|p| p.0), 0.05),
                    y: padded(all.map(|p| p.1), 0.15),
                },
            )?;
            draw_line(&mut chart, &line, RED.stroke_width(3), line_label)?;
            draw_dots(&mut chart, &data, 7, BLUE.filled(), data_label)?;
            legend(&mut chart, SeriesLabelPosition::UpperLeft)
        }

        /// Figure 7: the cost over (w, b) as colour bands, with the training run's path.
        fn cost_surface(&self, root: &Area<'_>) -> Result<()> {
            let (main, bar) = root.split_horizontally(780);
            let axes = Axes {
                title: "Coût C = MSE / 2 par rapport au poids et au biais",
                x_label: "poids w",
                y_label: "biais b",
                x: -1.0..5.0,
                y: -2.0..4.0,
            };
            let mut chart = chart(&main, &axes)?;
            let cells = 200;
            let (dw, db) = (
                (axes.x.end - axes.x.start) / cells as f64,
                (axes.y.end - axes.y.start) / cells as f64,
            );
            // One rectangle per run of cells of the same band along w: a few thousand in all.
            let mut bands = Vec::new();
            for j in 0..cells {
                let b = axes.y.start + (j as f64 + 0.5) * db;
                let mut row = Vec::with_capacity(cells);
                for i in 0..cells {
                    let w = axes.x.start + (i as f64 + 0.5) * dw;
                    row.push(band(cost(&self.x, &self.y, (w as f32, b as f32))? as f64));
                }
                let mut i = 0;
                while i < cells {
                    let run = row[i..].iter().take_while(|&&k| k == row[i]).count();
                    let (w0, b0) = (axes.x.start + i as f64 * dw, axes.y.start + j as f64 * db);
                    bands.push(Rectangle::new(
                        [(w0, b0), (w0 + run as f64 * dw, b0 + db)],
                        band_colour(row[i]).filled(),
                    ));
                    i += run;
                }
            }
            chart.draw_series(bands)?;
            let path: Vec<(f64, f64)> = self
                .path
                .iter()
                .map(|&(w, b)| (w as f64, b as f64))
                .collect();
            let label = format!(
                "descente de gradient, lr = {LEARNING_RATE}, {} époques",
                path.len() - 1
            );
            draw_line(&mut chart, &path, RED.stroke_width(3), &label)?;
            draw_dots(&mut chart, &path[..1], 7, WHITE.filled(), "départ")?;
            let end = path[path.len() - 1];
            chart
                .draw_series([Cross::new(end, 9, BLACK.stroke_width(3))])?
                .label(format!("appris : w = {:.4}, b = {:.4}", end.0, end.1))
                .legend(|p| Cross::new(p, 6, BLACK.stroke_width(3)));
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
            colour_bar(&bar)
        }

        /// Figure 8: the cost against the weight, the bias held at its learned value.
        fn cost_vs_weight(&self, root: &Area<'_>) -> Result<()> {
            let (w, b) = self.learned;
            let curve = self.cost_curve(-1.0..5.0, b)?;
            let mut chart = chart(
                root,
                &Axes {
                    title: "Coût C = MSE / 2 par rapport au poids",
                    x_label: "poids w",
                    y_label: "coût C",
                    x: -1.0..5.0,
                    y: padded(curve.iter().map(|p| p.1).chain([0.0]), 0.05),
                },
            )?;
            draw_line(
                &mut chart,
                &curve,
                BLUE.stroke_width(3),
                &format!("C(w), biais b = {b:.4}"),
            )?;
            let at = [(w as f64, cost(&self.x, &self.y, self.learned)? as f64)];
            draw_dots(
                &mut chart,
                &at,
                7,
                RED.filled(),
                &format!("poids appris w = {w:.4}"),
            )?;
            legend(&mut chart, SeriesLabelPosition::UpperMiddle)
        }

        /// Figures 9 and 10 side by side: the steps of a too-small and a too-large learning rate.
        fn learning_rates(&self, root: &Area<'_>) -> Result<()> {
            let root = root.titled("Taux d'apprentissage trop faible, trop élevé", (FONT, 26))?;
            let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
            let panels = [
                (
                    &left,
                    &self.slow,
                    "Figure 9 : taux faible",
                    SMALL_LEARNING_RATE,
                ),
                (
                    &right,
                    &self.fast,
                    "Figure 10 : taux élevé",
                    LARGE_LEARNING_RATE,
                ),
            ];
            for (area, steps, title, lr) in panels {
                self.descent_panel(area, steps, title, lr)?;
            }
            Ok(())
        }

        /// One panel of figures 9 and 10: C(w) and the successive steps (w, C) joined by lines.
        fn descent_panel(
            &self,
            area: &Area<'_>,
            steps: &[(f32, f32)],
            title: &str,
            lr: f32,
        ) -> Result<()> {
            let b = steps[0].1;
            let optimum = self.learned.0 as f64;
            let reach = steps
                .iter()
                .map(|&(w, _)| (w as f64 - optimum).abs())
                .fold(2.0, f64::max)
                * 1.1;
            let range = optimum - reach..optimum + reach;
            let curve = self.cost_curve(range.clone(), b)?;
            let points = steps
                .iter()
                .map(|&p| Ok((p.0 as f64, cost(&self.x, &self.y, p)? as f64)))
                .collect::<Result<Vec<_>>>()?;
            let top = curve.iter().map(|p| p.1).fold(0.0, f64::max);
            let mut chart = chart(
                area,
                &Axes {
                    title: &format!("{title} (lr = {lr})"),
                    x_label: "poids w",
                    y_label: "coût C",
                    x: range,
                    // room above the curve for the legend
                    y: padded(curve.iter().map(|p| p.1).chain([0.0]), 0.05).start..top * 1.3,
                },
            )?;
            draw_line(
                &mut chart,
                &curve,
                BLUE.stroke_width(2),
                &format!("C(w), biais b = {b:.4}"),
            )?;
            let label = format!("{} pas de descente de gradient", points.len() - 1);
            draw_line(&mut chart, &points, RED.stroke_width(2), &label)?;
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 5, RED.filled())))?;
            draw_dots(&mut chart, &points[..1], 6, BLACK.filled(), "départ")?;
            legend(&mut chart, SeriesLabelPosition::UpperMiddle)
        }

        /// The loss of every epoch, as `History::epoch_losses` recorded it.
        fn loss_per_epoch(&self, root: &Area<'_>) -> Result<()> {
            let losses: Vec<(f64, f64)> = self
                .epoch_losses
                .iter()
                .enumerate()
                .map(|(epoch, &loss)| (epoch as f64, loss as f64))
                .collect();
            let mut chart = chart(
                root,
                &Axes {
                    title: "Perte au fil des époques",
                    x_label: "Époque",
                    y_label: "Perte",
                    x: 0.0..losses.len() as f64,
                    y: padded(losses.iter().map(|p| p.1).chain([0.0]), 0.05),
                },
            )?;
            let label = format!("perte (coût C), lr = {LEARNING_RATE}");
            draw_line(&mut chart, &losses, BLUE.stroke_width(2), &label)?;
            legend(&mut chart, SeriesLabelPosition::UpperRight)
        }

        /// `(w, C(w, b))` for 200 weights across `range`.
        fn cost_curve(&self, range: Range<f64>, b: f32) -> Result<Vec<(f64, f64)>> {
            (0..=200)
                .map(|i| {
                    let w = range.start + (range.end - range.start) * i as f64 / 200.0;
                    Ok((w, cost(&self.x, &self.y, (w as f32, b))? as f64))
                })
                .collect()
        }
    }

    /// A chart with a title, axis labels and a grid, like the tutorial's `plt.title`,
    /// `plt.xlabel`, `plt.ylabel` and `plt.grid(True)`.
    fn chart<'a, 'b>(area: &'a Area<'b>, axes: &Axes<'_>) -> Result<Chart<'a, 'b>> {
        let mut chart = ChartBuilder::on(area)
            .caption(axes.title, (FONT, 24))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(axes.x.clone(), axes.y.clone())?;
        chart
            .configure_mesh()
            .x_desc(axes.x_label)
            .y_desc(axes.y_label)
            .axis_desc_style((FONT, 18))
            .label_style((FONT, 15))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .light_line_style(BLACK.mix(0.05))
            .draw()?;
        Ok(chart)
    }

    /// A line through `points`, named in the legend.
    fn draw_line<'a, 'b: 'a>(
        chart: &mut Chart<'a, 'b>,
        points: &[(f64, f64)],
        style: ShapeStyle,
        label: &str,
    ) -> Result<()> {
        chart
            .draw_series(LineSeries::new(points.iter().copied(), style))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x - 12, y), (x + 12, y)], style));
        Ok(())
    }

    /// A dot at each of `points`, named in the legend.
    fn draw_dots<'a, 'b: 'a>(
        chart: &mut Chart<'a, 'b>,
        points: &[(f64, f64)],
        radius: i32,
        style: ShapeStyle,
        label: &str,
    ) -> Result<()> {
        let outline = BLACK.stroke_width(1);
        chart
            .draw_series(points.iter().flat_map(|&p| {
                [
                    Circle::new(p, radius, style),
                    Circle::new(p, radius, outline),
                ]
            }))?
            .label(label)
            .legend(move |p| {
                EmptyElement::at(p)
                    + Circle::new((0, 0), radius.min(6), style)
                    + Circle::new((0, 0), radius.min(6), outline)
            });
        Ok(())
    }

    /// The legend box, on a translucent white background.
    fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Result<()> {
        chart
            .configure_series_labels()
            .position(position)
            .margin(12)
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    }

    /// The colour bar of figure 7: one box per band, on a log scale.
    fn colour_bar(area: &Area<'_>) -> Result<()> {
        let mut bar = ChartBuilder::on(area)
            .margin_top(60)
            .margin_bottom(65)
            .margin_right(10)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..1.0, (LEVELS[0]..LEVELS[LEVELS.len() - 1]).log_scale())?;
        bar.configure_mesh()
            .disable_x_axis()
            .disable_mesh()
            .y_desc("coût C (échelle log)")
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 14))
            .y_labels(LEVELS.len())
            .y_label_formatter(&tick)
            .draw()?;
        bar.draw_series((0..LEVELS.len() - 1).map(|k| {
            Rectangle::new(
                [(0.0, LEVELS[k]), (1.0, LEVELS[k + 1])],
                band_colour(k).filled(),
            )
        }))?;
        Ok(())
    }

    /// The band of a cost: `k` such that `LEVELS[k] <= c < LEVELS[k + 1]`, clamped to the bar.
    fn band(c: f64) -> usize {
        LEVELS[1..LEVELS.len() - 1]
            .iter()
            .take_while(|&&level| level <= c)
            .count()
    }

    fn band_colour(k: usize) -> RGBColor {
        ViridisRGB::get_color_normalized(k as f64, 0.0, (LEVELS.len() - 2) as f64)
    }

    /// An axis tick: `100` rather than `100.0`, `0.3` rather than `0.30000000000000004`.
    fn tick(value: &f64) -> String {
        format!("{}", (value * 1e6).round() / 1e6)
    }

    /// `(x, y)` pairs from two `(n, 1)` columns.
    fn pairs(x: &Array2<f32>, y: &Array2<f32>) -> Vec<(f64, f64)> {
        x.iter()
            .zip(y)
            .map(|(&x, &y)| (x as f64, y as f64))
            .collect()
    }

    /// The range of `values`, widened by `margin` of its width on both sides.
    fn padded(values: impl Iterator<Item = f64>, margin: f64) -> Range<f64> {
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let pad = ((hi - lo) * margin).max(1e-6);
        lo - pad..hi + pad
    }
}
