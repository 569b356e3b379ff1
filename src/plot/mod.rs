//! Figures as SVG files (feature `plot`, on by default): a training [`History`](crate::History)
//! as loss and metric curves, a [`ConfusionMatrix`](crate::metrics::ConfusionMatrix) as a heat
//! map, and the [`Chart`] both are made of, for your own figures.
//!
//! Keras users draw `history.history` with matplotlib; here the library draws it:
//! [`history`] gives a [`Figure`] with the loss (training against validation) beside the task's
//! metric (accuracy for a classifier, MAE for a regression), one polyline per curve, in
//! matplotlib's default colours.
//!
//! ```
//! use feedforward::plot;
//! use feedforward::prelude::*;
//! use feedforward::ndarray::array;
//!
//! let data = InMemory::new(array![[0.0f32], [1.0]], array![[1.0f32], [3.0]])?;
//! let mut model = Sequential::builder(1).push(Dense::from_parameters(array![[0.5]], array![[0.0]])?).build()?;
//! let history = model.fit(&data, &HalfMse, &mut Sgd::new(0.1)?, &FitConfig::new(5))?;
//! let svg = plot::history(&history).to_svg()?;
//! assert!(svg.starts_with("<svg"));
//! // plot::history(&history).save_svg("history.svg")?;
//! # Ok::<(), feedforward::Error>(())
//! ```
//!
//! Drawn with [`plotters`](https://docs.rs/plotters)' SVG backend, which needs no system library
//! and writes text as `<text>` elements (the viewer picks the font). Files are replaced
//! atomically, as the crate's other outputs.

mod chart;
mod confusion;
mod heatmap;
mod history;

pub use chart::{Chart, LegendPosition, Mark, Series};
pub use confusion::confusion_matrix;
pub use heatmap::{ColourMap, Heatmap};
pub use history::{history, loss_chart, metric_chart};

use crate::io::atomic_write::write_atomically;
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// A colour as red, green and blue from 0 to 255.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// Pure red, matplotlib's `color='red'` (the tutorial's lines).
    pub const RED: Colour = Colour(255, 0, 0);
    /// Pure blue.
    pub const BLUE: Colour = Colour(0, 0, 255);
    /// Black.
    pub const BLACK: Colour = Colour(0, 0, 0);
    /// White.
    pub const WHITE: Colour = Colour(255, 255, 255);

    /// matplotlib's default colour cycle (`tab10`): the colour of the `index`-th series of a
    /// chart when none is given, as matplotlib picks them (`C0` blue, `C1` orange, `C2` green...).
    pub fn cycle(index: usize) -> Colour {
        const TAB10: [Colour; 10] = [
            Colour(0x1f, 0x77, 0xb4),
            Colour(0xff, 0x7f, 0x0e),
            Colour(0x2c, 0xa0, 0x2c),
            Colour(0xd6, 0x27, 0x28),
            Colour(0x94, 0x67, 0xbd),
            Colour(0x8c, 0x56, 0x4b),
            Colour(0xe3, 0x77, 0xc2),
            Colour(0x7f, 0x7f, 0x7f),
            Colour(0xbc, 0xbd, 0x22),
            Colour(0x17, 0xbe, 0xcf),
        ];
        TAB10[index % TAB10.len()]
    }

    /// As SVG writes it: `#1F77B4`, upper case, as plotters' SVG backend does.
    pub fn hex(self) -> String {
        format!("#{:02X}{:02X}{:02X}", self.0, self.1, self.2)
    }

    fn rgb(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// One SVG image: one or more [`Chart`]s side by side under an optional title (the tutorial's
/// figures 9 and 10 share one image, as matplotlib's `plt.subplots(1, 2)`).
#[derive(Clone, Debug, Default)]
pub struct Figure {
    title: Option<String>,
    charts: Vec<Chart>,
}

/// Pixels above the charts that a figure's title takes.
const TITLE_HEIGHT: u32 = 40;
/// The font family of every text; the viewer picks the font.
pub(crate) const FONT: &str = "sans-serif";

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
        let width = self.charts.iter().map(|c| c.size().0).sum::<u32>().max(1);
        let height = self.charts.iter().map(|c| c.size().1).max().unwrap_or(1);
        let title = if self.title.is_some() {
            TITLE_HEIGHT
        } else {
            0
        };
        (width, height + title)
    }

    /// The figure as an SVG document.
    ///
    /// # Errors
    /// [`Error::Empty`] for a figure without charts; [`Error::InvalidConfig`] for an axis range
    /// that is empty or not finite; [`Error::Plot`] when the drawing itself fails.
    pub fn to_svg(&self) -> Result<String> {
        if self.charts.is_empty() {
            return Err(Error::Empty {
                what: "figure".into(),
                hint: "add a chart with Figure::chart".into(),
            });
        }
        let size = self.size();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE).map_err(plot_error)?;
            let area = match &self.title {
                Some(title) => root.titled(title, (FONT, 26)).map_err(plot_error)?,
                None => root.clone(),
            };
            let mut rest = area;
            for chart in &self.charts {
                let (left, right) = rest.split_horizontally(chart.size().0);
                chart.draw(&left)?;
                rest = right;
            }
            root.present().map_err(plot_error)?;
        }
        Ok(svg)
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

/// A drawing failure of plotters as the crate's error.
fn plot_error(error: impl std::fmt::Display) -> Error {
    Error::Plot(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_figure_is_an_error() {
        assert!(matches!(Figure::new().to_svg(), Err(Error::Empty { .. })));
    }

    #[test]
    fn the_colour_cycle_is_matplotlibs() {
        assert_eq!(Colour::cycle(0).hex(), "#1F77B4");
        assert_eq!(Colour::cycle(1).hex(), "#FF7F0E");
        assert_eq!(Colour::cycle(10), Colour::cycle(0));
    }
}
