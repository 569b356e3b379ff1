//! [`Figure`]: one SVG image holding one or more charts side by side.

use super::chart::{figure_size, render, Chart};
use crate::io::atomic_write::write_atomically;
#[cfg(doc)]
use crate::Error;
use crate::Result;
use std::path::Path;

/// One SVG image: one or more [`Chart`]s side by side under an optional title (the tutorial's
/// figures 9 and 10 share one image, as matplotlib's `plt.subplots(1, 2)`).
#[derive(Clone, Debug, Default)]
pub struct Figure {
    title: Option<String>,
    charts: Vec<Chart>,
}

impl Figure {
    /// An empty figure: add charts with [`chart`](Figure::chart).
    pub fn new() -> Self {
        Figure::default()
    }

    /// A title above all the charts (matplotlib's `fig.suptitle`).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Adds a chart to the right of the others.
    pub fn chart(mut self, chart: Chart) -> Self {
        self.charts.push(chart);
        self
    }

    /// The charts, left to right.
    pub fn charts(&self) -> &[Chart] {
        &self.charts
    }

    /// The image's size in pixels: the charts' widths added, the tallest chart's height, plus
    /// the title's band.
    pub fn size(&self) -> (u32, u32) {
        figure_size(&self.charts, self.title.is_some())
    }

    /// The figure as an SVG document.
    ///
    /// # Errors
    /// [`Error::Empty`] for a figure without charts; [`Error::InvalidConfig`] for an axis range
    /// that is empty or not finite; [`Error::Plot`] when the drawing itself fails.
    pub fn to_svg(&self) -> Result<String> {
        render(&self.charts, self.title.as_deref())
    }

    /// Writes the figure as an SVG file at `path`, replacing it atomically.
    ///
    /// # Errors
    /// As [`to_svg`](Figure::to_svg), and [`Error::Io`] when the file cannot be written.
    pub fn save_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), self.to_svg()?.as_bytes())
    }
}

impl From<Chart> for Figure {
    fn from(chart: Chart) -> Figure {
        Figure::new().chart(chart)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn an_empty_figure_is_an_error() {
        assert!(matches!(Figure::new().to_svg(), Err(Error::Empty { .. })));
    }
}
