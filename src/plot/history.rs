//! A training [`History`] as curves: the loss, and the task's metric, training against
//! validation, as Keras users draw `history.history`.

use super::chart::{Chart, LegendPosition, Mark, Series};
use super::figure::Figure;
use crate::History;

/// One curve per epoch, named as Keras names the keys of `history.history`.
fn curve(label: &str, values: impl IntoIterator<Item = f32>) -> Series {
    let points = values
        .into_iter()
        .enumerate()
        .map(|(epoch, v)| ((epoch + 1) as f64, v as f64));
    Series::line(label, points).mark(Mark::LineAndDots {
        width: 2,
        radius: 3,
    })
}

/// The loss of each epoch: `loss` (the mean batch loss) and, with validation data,
/// `val_loss`; epochs counted from 1 along the horizontal axis. One `<polyline>` per curve.
pub fn loss_chart(history: &History) -> Chart {
    let mut chart = Chart::new("Loss per epoch")
        .labels("epoch", "loss")
        .with_size(640, 440)
        .whole_x()
        .series(curve("loss", history.epoch_losses.iter().copied()));
    if !history.validation_losses.is_empty() {
        chart = chart.series(curve("val_loss", history.validation_losses.iter().copied()));
    }
    chart
}

/// The task's metric of each epoch, training against validation: `accuracy` and
/// `val_accuracy` for a classifier, `mae` and `val_mae` (mean absolute error) for a
/// regression; `None` when the history holds no metric.
pub fn metric_chart(history: &History) -> Option<Chart> {
    let chart = Chart::new("").with_size(640, 440).whole_x();
    let classifier = !history.accuracies.is_empty() || !history.validation_accuracies.is_empty();
    let regression = !history.regression.is_empty() || !history.validation_regression.is_empty();
    let mut curves = Vec::new();
    let chart = if classifier {
        if !history.accuracies.is_empty() {
            curves.push(curve("accuracy", history.accuracies.iter().copied()));
        }
        if !history.validation_accuracies.is_empty() {
            curves.push(curve(
                "val_accuracy",
                history.validation_accuracies.iter().copied(),
            ));
        }
        chart
            .title("Accuracy per epoch")
            .labels("epoch", "accuracy")
            .legend(LegendPosition::LowerRight)
    } else if regression {
        if !history.regression.is_empty() {
            curves.push(curve(
                "mae",
                history.regression.iter().map(|r| r.mae as f32),
            ));
        }
        if !history.validation_regression.is_empty() {
            curves.push(curve(
                "val_mae",
                history.validation_regression.iter().map(|r| r.mae as f32),
            ));
        }
        chart
            .title("Mean absolute error per epoch")
            .labels("epoch", "MAE")
    } else {
        return None;
    };
    Some(curves.into_iter().fold(chart, Chart::series))
}

/// The [`loss_chart`] and, when there is one, the [`metric_chart`] side by side.
///
/// ```
/// use feedforward::History;
/// let history = History { epoch_losses: vec![0.9, 0.5, 0.4], ..History::default() };
/// let figure = feedforward::plot::history(&history);
/// assert_eq!(figure.charts().len(), 1); // no validation data: the loss alone
/// assert!(figure.to_svg()?.contains("<polyline"));
/// # Ok::<(), feedforward::Error>(())
/// ```
pub fn history(history: &History) -> Figure {
    let figure = Figure::new().chart(loss_chart(history));
    match metric_chart(history) {
        Some(chart) => figure.chart(chart),
        None => figure,
    }
}
