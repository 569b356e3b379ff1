//! `feedforward::plot`: the figures are well-formed SVG (parsed as XML) holding exactly one
//! `<polyline>` per curve, with one point per epoch, placed as the values say.
#![cfg(feature = "plot")]

use feedforward::metrics::{ConfusionMatrix, RegressionMetrics};
use feedforward::ndarray::array;
use feedforward::plot::{self, Chart, Colour, Heatmap, Series};
use feedforward::prelude::*;
use feedforward::{Error, History};

/// The parsed document: the root must be an `<svg>` of the figure's size.
fn parse(svg: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert_eq!(
        doc.root_element().tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    doc
}

/// The points of every `<polyline>` drawn in `colour`.
fn polylines(doc: &roxmltree::Document<'_>, colour: Colour) -> Vec<Vec<(f64, f64)>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(&*colour.hex()))
        .map(|n| {
            n.attribute("points")
                .unwrap_or_default()
                .split_whitespace()
                .map(|pair| {
                    let (x, y) = pair.split_once(',').expect("x,y");
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

/// The texts of the document.
fn texts<'a>(doc: &'a roxmltree::Document<'_>) -> Vec<&'a str> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect()
}

fn classifier_history() -> History {
    History {
        epoch_losses: vec![0.9, 0.6, 0.45, 0.4],
        accuracies: vec![0.6, 0.75, 0.83, 0.86],
        validation_losses: vec![0.8, 0.62, 0.5, 0.52],
        validation_accuracies: vec![0.7, 0.8, 0.85, 0.84],
        ..History::default()
    }
}

#[test]
fn a_classifier_history_has_one_polyline_per_curve() {
    let history = classifier_history();
    let figure = plot::history(&history);
    assert_eq!(figure.charts().len(), 2);
    let svg = figure.to_svg().unwrap();
    let doc = parse(&svg);
    // loss and val_loss in the first chart (C0, C1), accuracy and val_accuracy in the second.
    let blue = polylines(&doc, Colour::cycle(0));
    let orange = polylines(&doc, Colour::cycle(1));
    assert_eq!(blue.len(), 2, "loss and accuracy");
    assert_eq!(orange.len(), 2, "val_loss and val_accuracy");
    for line in blue.iter().chain(&orange) {
        assert_eq!(line.len(), 4, "one point per epoch");
        // Epochs go left to right.
        assert!(line.windows(2).all(|w| w[0].0 < w[1].0));
    }
    // The loss falls every epoch: its points go down the page (SVG's y grows downwards).
    let loss = &blue[0];
    assert!(loss.windows(2).all(|w| w[0].1 < w[1].1), "{loss:?}");
    // val_loss rises at the last epoch.
    let val = &orange[0];
    assert!(val[3].1 < val[2].1, "{val:?}");
    // The accuracy chart is to the right of the loss chart.
    assert!(blue[1][0].0 > loss[3].0);
    let texts = texts(&doc);
    // The accuracy rises every epoch: up the page.
    assert!(blue[1].windows(2).all(|w| w[0].1 > w[1].1), "{:?}", blue[1]);
    for label in [
        "loss",
        "val_loss",
        "accuracy",
        "val_accuracy",
        "Loss per epoch",
        "epoch",
    ] {
        assert!(texts.contains(&label), "no text {label:?} in {texts:?}");
    }
}

#[test]
fn a_fitted_history_is_drawn() {
    // A real fit with validation data: the figure holds the loss, val_loss and val_accuracy.
    let x = array![[0.0f32, 1.0], [1.0, 0.0], [0.9, 0.2], [0.1, 0.8]];
    let y = array![[1.0f32, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]];
    let data = InMemory::new(x, y).unwrap();
    let mut rng = RandomState::new(0);
    let mut model = Sequential::builder(2)
        .push(Dense::new(2, 2, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    let config = FitConfig::new(3).validation(Validation::Data(&data));
    let history = model
        .fit(&data, &CrossEntropy, &mut Sgd::new(0.5).unwrap(), &config)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.svg");
    plot::history(&history).save_svg(&path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    let doc = parse(&svg);
    let curves = polylines(&doc, Colour::cycle(0)).len() + polylines(&doc, Colour::cycle(1)).len();
    // loss, val_loss, accuracy (training, from the steps' outputs) and val_accuracy.
    assert_eq!(curves, 4);
}

#[test]
fn a_regression_history_draws_the_mae() {
    let metrics = |mae| RegressionMetrics {
        mse: 1.0,
        rmse: 1.0,
        mae,
        r2: 0.5,
    };
    let history = History {
        epoch_losses: vec![2.0, 1.0, 0.5],
        validation_losses: vec![2.5, 1.5, 1.0],
        validation_regression: vec![metrics(1.2), metrics(0.9), metrics(0.7)],
        ..History::default()
    };
    let svg = plot::history(&history).to_svg().unwrap();
    let doc = parse(&svg);
    assert_eq!(polylines(&doc, Colour::cycle(0)).len(), 2);
    assert!(texts(&doc).contains(&"val_mae"));
}

#[test]
fn a_diverged_epoch_is_left_out_of_its_curve() {
    let history = History {
        epoch_losses: vec![0.5, f32::NAN, 0.4],
        ..History::default()
    };
    let figure = plot::history(&history);
    assert_eq!(
        figure.charts().len(),
        1,
        "no metric without validation data"
    );
    let doc_text = figure.to_svg().unwrap();
    let doc = parse(&doc_text);
    let lines = polylines(&doc, Colour::cycle(0));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].len(), 2);
}

#[test]
fn the_confusion_matrix_shows_every_count() {
    let mut confusion = ConfusionMatrix::new(3).unwrap();
    for (actual, predicted, times) in [(0, 0, 7), (0, 1, 2), (1, 1, 5), (2, 0, 1), (2, 2, 11)] {
        for _ in 0..times {
            confusion.add(actual, predicted);
        }
    }
    let svg = plot::confusion_matrix(&confusion).to_svg().unwrap();
    let doc = parse(&svg);
    let texts = texts(&doc);
    for count in ["7", "2", "5", "1", "11"] {
        assert!(texts.contains(&count), "no cell {count} in {texts:?}");
    }
    // Nine cells, four of them zero.
    assert!(texts.iter().filter(|&&t| t == "0").count() >= 4);
    let cells = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") != Some("#FFFFFF"))
        .count();
    assert!(cells >= 9, "{cells} cells");
    assert!(texts.contains(&"predicted class") && texts.contains(&"actual class"));
}

#[test]
fn charts_take_lines_dots_and_heat_maps() {
    let chart = Chart::new("a <title> & more")
        .labels("x", "y")
        .heatmap(
            Heatmap::new(array![[0.1, 1.0], [10.0, 100.0]], 0.0..2.0, 0.0..2.0)
                .levels(vec![0.01, 1.0, 50.0, 1000.0])
                .colour_bar("cost"),
        )
        .series(Series::line("path", [(0.5, 0.5), (1.0, 1.0), (1.5, 1.2)]).colour(Colour::RED))
        .series(Series::dots("start", [(0.5, 0.5)]));
    let svg = chart.to_svg().unwrap();
    let doc = parse(&svg);
    assert_eq!(polylines(&doc, Colour::RED).len(), 1);
    assert!(texts(&doc).contains(&"a <title> & more"));
    assert!(
        doc.descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count()
            >= 2
    );
}

#[test]
fn a_figure_that_cannot_be_written_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("history.svg");
    let error = plot::history(&classifier_history())
        .save_svg(&path)
        .unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error}");
    assert!(!path.exists());
}
