//! A [`ConfusionMatrix`] as a heat map, as scikit-learn's `ConfusionMatrixDisplay` draws it:
//! actual classes down, predicted classes across, the counts in the cells.

use super::chart::Chart;
use super::heatmap::Heatmap;
use crate::metrics::ConfusionMatrix;

/// The confusion matrix as a heat map (viridis, from 0 to the largest count), rows the actual
/// class from 0 at the top, columns the predicted class, each cell holding its count.
///
/// ```
/// use feedforward::metrics::ConfusionMatrix;
/// let mut confusion = ConfusionMatrix::new(2)?;
/// confusion.add(0, 0);
/// confusion.add(1, 0);
/// let svg = feedforward::plot::confusion_matrix(&confusion).to_svg()?;
/// assert!(svg.contains("<svg") && svg.contains("Confusion matrix"));
/// # Ok::<(), feedforward::Error>(())
/// ```
pub fn confusion_matrix(confusion: &ConfusionMatrix) -> Chart {
    let n = confusion.classes() as f64;
    let counts = confusion.counts().mapv(|c| c as f64);
    let max = counts.iter().copied().fold(1.0, f64::max);
    let cells = Heatmap::new(counts, -0.5..n - 0.5, -0.5..n - 0.5)
        .value_range(0.0, max)
        .write_values(true);
    let side = (60.0 * n).clamp(300.0, 900.0) as u32 + 100;
    Chart::new("Confusion matrix")
        .labels("predicted class", "actual class")
        .with_size(side, side)
        .x_range(-0.5..n - 0.5)
        .y_range(n - 0.5..-0.5)
        .whole_x()
        .whole_y()
        .heatmap(cells)
}
