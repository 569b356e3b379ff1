//! [`Chart`]: one set of axes with its curves, dots and heat map, as matplotlib's `plt.plot`,
//! `plt.scatter`, `plt.xlabel`, `plt.title`, `plt.legend` and `plt.grid(True)` build one.

use super::heatmap::Heatmap;
use super::style::{plot_error, Area, Axes, Colour, FONT};
use crate::io::atomic_write::write_atomically;
use crate::{Error, Result};
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;

/// How a [`Series`] is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// A line through the points, `width` pixels wide: one SVG `<polyline>` per series.
    Line {
        /// Stroke width in pixels.
        width: u32,
    },
    /// A dot at each point with a thin black outline (matplotlib's `plt.scatter`).
    Dots {
        /// Radius in pixels.
        radius: u32,
    },
    /// A line through the points and a dot at each one (matplotlib's `marker='o'`).
    LineAndDots {
        /// Stroke width in pixels.
        width: u32,
        /// Radius of the dots in pixels.
        radius: u32,
    },
    /// A cross at each point (matplotlib's `marker='x'`).
    Crosses {
        /// Half the cross's size, in pixels.
        size: u32,
    },
}

/// Points drawn one way, with a label for the legend.
///
/// Points that are not finite (a diverged epoch's NaN loss) are left out of the drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    label: String,
    points: Vec<(f64, f64)>,
    colour: Option<Colour>,
    mark: Mark,
}

impl Series {
    /// A line through `points` (2 pixels wide) labelled `label` in the legend; an empty label
    /// keeps it out of the legend.
    pub fn line(label: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points: points.into_iter().collect(),
            colour: None,
            mark: Mark::Line { width: 2 },
        }
    }

    /// A dot of radius 6 at each point, as `plt.scatter`.
    pub fn dots(label: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Series {
            mark: Mark::Dots { radius: 6 },
            ..Series::line(label, points)
        }
    }

    /// Draws the series in `colour` rather than the chart's next colour of matplotlib's cycle.
    pub fn colour(mut self, colour: Colour) -> Self {
        self.colour = Some(colour);
        self
    }

    /// Draws the series with `mark`.
    pub fn mark(mut self, mark: Mark) -> Self {
        self.mark = mark;
        self
    }

    /// The label in the legend (empty: none).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The points, as given.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    /// How the series is drawn.
    pub fn get_mark(&self) -> Mark {
        self.mark
    }

    /// The colour given with [`colour`](Series::colour), if any.
    pub fn get_colour(&self) -> Option<Colour> {
        self.colour
    }

    /// The finite points.
    fn finite(&self) -> impl Iterator<Item = (f64, f64)> + Clone + '_ {
        self.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    }
}

/// Where a chart's legend goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LegendPosition {
    /// Top left corner.
    UpperLeft,
    /// Top, centred.
    UpperMiddle,
    /// Top right corner (the default).
    #[default]
    UpperRight,
    /// Bottom left corner.
    LowerLeft,
    /// Bottom right corner.
    LowerRight,
    /// No legend.
    Hidden,
}

/// One chart: a title, two labelled axes with a light grid, and series drawn over an optional
/// [`Heatmap`]. Axis ranges fit the data (with 5% room on each side) unless set.
///
/// ```
/// use feedforward::plot::{Chart, Colour, Series};
/// // The tutorial's figure 6: the data as dots, the perceptron's line in red.
/// let chart = Chart::new("Approximation de la fonction linéaire avec un Perceptron")
///     .labels("x", "y")
///     .series(Series::dots("Vraie fonction : 2x + 1", [(0.37, 1.75), (0.95, 2.90)]))
///     .series(Series::line("Perceptron", [(0.0, 1.52), (1.0, 2.17)]).colour(Colour::RED));
/// assert!(chart.to_svg()?.contains("<polyline"));
/// # Ok::<(), feedforward::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    title: String,
    x_label: String,
    y_label: String,
    size: (u32, u32),
    x_range: Option<Range<f64>>,
    y_range: Option<Range<f64>>,
    whole_x: bool,
    whole_y: bool,
    legend: LegendPosition,
    heatmap: Option<Heatmap>,
    series: Vec<Series>,
}

impl Chart {
    /// An empty chart of 800 x 600 pixels titled `title`.
    pub fn new(title: impl Into<String>) -> Self {
        Chart {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            size: (800, 600),
            x_range: None,
            y_range: None,
            whole_x: false,
            whole_y: false,
            legend: LegendPosition::default(),
            heatmap: None,
            series: Vec::new(),
        }
    }

    /// Replaces the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// The axes' labels (`plt.xlabel`, `plt.ylabel`).
    pub fn labels(mut self, x: impl Into<String>, y: impl Into<String>) -> Self {
        self.x_label = x.into();
        self.y_label = y.into();
        self
    }

    /// The chart's size in pixels (800 x 600 by default).
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Sets the size in pixels.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = (width.max(1), height.max(1));
        self
    }

    /// The horizontal axis from `range.start` (left) to `range.end` (right); a decreasing range
    /// reverses the axis.
    pub fn x_range(mut self, range: Range<f64>) -> Self {
        self.x_range = Some(range);
        self
    }

    /// The vertical axis from `range.start` (bottom) to `range.end` (top); a decreasing range
    /// reverses it (row 0 of an image at the top).
    pub fn y_range(mut self, range: Range<f64>) -> Self {
        self.y_range = Some(range);
        self
    }

    /// Labels the horizontal axis at whole numbers only (epochs, classes).
    pub fn whole_x(mut self) -> Self {
        self.whole_x = true;
        self
    }

    /// Labels the vertical axis at whole numbers only (classes, image rows).
    pub fn whole_y(mut self) -> Self {
        self.whole_y = true;
        self
    }

    /// Where the legend goes ([`LegendPosition::UpperRight`] by default).
    pub fn legend(mut self, position: LegendPosition) -> Self {
        self.legend = position;
        self
    }

    /// Paints `heatmap` under the series.
    pub fn heatmap(mut self, heatmap: Heatmap) -> Self {
        self.heatmap = Some(heatmap);
        self
    }

    /// Adds a series, drawn over the previous ones.
    pub fn series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Shorthand for `.series(Series::line(label, points))`.
    pub fn line(
        self,
        label: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Self {
        self.series(Series::line(label, points))
    }

    /// The series, in drawing order.
    pub fn all_series(&self) -> &[Series] {
        &self.series
    }

    /// The title.
    pub fn get_title(&self) -> &str {
        &self.title
    }

    /// The colour series `index` is drawn in: its own, else matplotlib's cycle.
    pub fn colour_of(&self, index: usize) -> Option<Colour> {
        let series = self.series.get(index)?;
        Some(series.colour.unwrap_or(Colour::cycle(index)))
    }

    /// The chart alone as an SVG document (see [`Figure::to_svg`](super::Figure::to_svg)).
    ///
    /// # Errors
    /// As [`Figure::to_svg`](super::Figure::to_svg).
    pub fn to_svg(&self) -> Result<String> {
        render(std::slice::from_ref(self), None)
    }

    /// Writes the chart alone as an SVG file, replacing it atomically.
    ///
    /// # Errors
    /// As [`to_svg`](Chart::to_svg), and [`Error::Io`] when the file cannot be written.
    pub fn save_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), self.to_svg()?.as_bytes())
    }

    /// The axes' ranges: as set, else fitting the finite points and the heat map.
    fn ranges(&self) -> Result<(Range<f64>, Range<f64>)> {
        let points = || self.series.iter().flat_map(|s| s.finite());
        let extent = self.heatmap.as_ref().map(|h| h.extent());
        let x = match &self.x_range {
            Some(r) => checked("x_range", r.clone())?,
            None => padded(
                points()
                    .map(|p| p.0)
                    .chain(extent.iter().flat_map(|(x, _)| [x.start, x.end])),
                0.05,
            ),
        };
        let y = match &self.y_range {
            Some(r) => checked("y_range", r.clone())?,
            None => padded(
                points()
                    .map(|p| p.1)
                    .chain(extent.iter().flat_map(|(_, y)| [y.start, y.end])),
                0.05,
            ),
        };
        Ok((x, y))
    }

    /// Draws the chart into `area`.
    fn draw(&self, area: &Area<'_>) -> Result<()> {
        let (x, y) = self.ranges()?;
        let (main, bar) = match self.heatmap.as_ref().and_then(|h| h.bar_label()) {
            Some(_) => {
                let (main, bar) = area.split_horizontally(self.size.0.saturating_sub(130));
                (main, Some(bar))
            }
            None => (area.clone(), None),
        };
        let mut axes = ChartBuilder::on(&main)
            .caption(&self.title, (FONT, 22))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x, y)
            .map_err(plot_error)?;
        let (whole_x, whole_y) = (self.whole_x, self.whole_y);
        let x_format = move |v: &f64| tick(*v, whole_x);
        let y_format = move |v: &f64| tick(*v, whole_y);
        let mut mesh = axes.configure_mesh();
        mesh.x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .axis_desc_style((FONT, 17))
            .label_style((FONT, 14))
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .light_line_style(BLACK.mix(0.05));
        if self.heatmap.is_some() {
            mesh.disable_mesh();
        }
        mesh.draw().map_err(plot_error)?;
        if let Some(heatmap) = &self.heatmap {
            heatmap.draw_cells(&mut axes)?;
        }
        for (index, series) in self.series.iter().enumerate() {
            let colour = series.colour.unwrap_or(Colour::cycle(index));
            draw_series(&mut axes, series, colour)?;
        }
        let labelled = self.series.iter().any(|s| !s.label.is_empty());
        if labelled && self.legend != LegendPosition::Hidden {
            let position = match self.legend {
                LegendPosition::UpperLeft => SeriesLabelPosition::UpperLeft,
                LegendPosition::UpperMiddle => SeriesLabelPosition::UpperMiddle,
                LegendPosition::LowerLeft => SeriesLabelPosition::LowerLeft,
                LegendPosition::LowerRight => SeriesLabelPosition::LowerRight,
                LegendPosition::UpperRight | LegendPosition::Hidden => {
                    SeriesLabelPosition::UpperRight
                }
            };
            axes.configure_series_labels()
                .position(position)
                .margin(12)
                .label_font((FONT, 15))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(plot_error)?;
        }
        if let (Some(heatmap), Some(bar)) = (&self.heatmap, bar) {
            heatmap.draw_colour_bar(&bar)?;
        }
        Ok(())
    }
}

/// Pixels above the charts that a figure's title takes.
const TITLE_HEIGHT: u32 = 40;

/// The size of an image holding `charts` side by side, with a title's band when `titled`.
pub(super) fn figure_size(charts: &[Chart], titled: bool) -> (u32, u32) {
    let width = charts.iter().map(|c| c.size.0).sum::<u32>().max(1);
    let height = charts.iter().map(|c| c.size.1).max().unwrap_or(1);
    (width, height + if titled { TITLE_HEIGHT } else { 0 })
}

/// `charts` side by side under `title`, as an SVG document.
pub(super) fn render(charts: &[Chart], title: Option<&str>) -> Result<String> {
    if charts.is_empty() {
        return Err(Error::Empty {
            what: "figure".into(),
            hint: "add a chart with Figure::chart".into(),
        });
    }
    let size = figure_size(charts, title.is_some());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let area = match title {
            Some(title) => root.titled(title, (FONT, 26)).map_err(plot_error)?,
            None => root.clone(),
        };
        let mut rest = area;
        for chart in charts {
            let (left, right) = rest.split_horizontally(chart.size.0);
            chart.draw(&left)?;
            rest = right;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// Draws one series in `colour`, with its legend entry. The legend's sample of a line is a
/// filled bar, not a path, so that the SVG holds exactly one `<polyline>` per line series.
fn draw_series<'a, 'b: 'a>(axes: &mut Axes<'a, 'b>, series: &Series, colour: Colour) -> Result<()> {
    let rgb = colour.rgb();
    let outline = BLACK.stroke_width(1);
    let points = series.finite();
    let (line, dots) = match series.mark {
        Mark::Line { width } => (Some(width), None),
        Mark::Dots { radius } => (None, Some(radius)),
        Mark::LineAndDots { width, radius } => (Some(width), Some(radius)),
        Mark::Crosses { size } => {
            let size = size as i32;
            let style = rgb.stroke_width(3);
            let drawn = axes
                .draw_series(points.map(|p| Cross::new(p, size, style)))
                .map_err(plot_error)?;
            if !series.label.is_empty() {
                drawn
                    .label(&series.label)
                    .legend(move |p| Cross::new(p, size.min(6), style));
            }
            return Ok(());
        }
    };
    if let Some(width) = line {
        let style = rgb.stroke_width(width);
        let drawn = axes
            .draw_series(LineSeries::new(points.clone(), style))
            .map_err(plot_error)?;
        if !series.label.is_empty() {
            let half = (width as i32 / 2).max(1);
            drawn.label(&series.label).legend(move |(x, y)| {
                Rectangle::new([(x - 12, y - half), (x + 12, y + half)], rgb.filled())
            });
        }
    }
    if let Some(radius) = dots {
        let radius = radius as i32;
        let fill = rgb.filled();
        let drawn = axes
            .draw_series(points.flat_map(|p| {
                [
                    Circle::new(p, radius, fill),
                    Circle::new(p, radius, outline),
                ]
            }))
            .map_err(plot_error)?;
        if !series.label.is_empty() && line.is_none() {
            drawn.label(&series.label).legend(move |p| {
                EmptyElement::at(p)
                    + Circle::new((0, 0), radius.min(6), fill)
                    + Circle::new((0, 0), radius.min(6), outline)
            });
        }
    }
    Ok(())
}

/// A tick label: `100` rather than `100.0`, `0.3` rather than `0.30000000000000004`; nothing
/// between whole numbers when `whole`.
fn tick(value: f64, whole: bool) -> String {
    if whole {
        if (value - value.round()).abs() < 1e-6 {
            format!("{:.0}", value.round() + 0.0)
        } else {
            String::new()
        }
    } else {
        format!("{}", (value * 1e6).round() / 1e6 + 0.0)
    }
}

/// A range set by the user: finite, not empty.
fn checked(name: &'static str, range: Range<f64>) -> Result<Range<f64>> {
    if range.start.is_finite() && range.end.is_finite() && range.start != range.end {
        Ok(range)
    } else {
        Err(Error::config(
            name,
            format!("{range:?}"),
            "finite ends that differ",
        ))
    }
}

/// The range of the finite `values`, widened by `margin` of its width on both sides (0..1
/// when there are none; 1 on either side of a single value).
pub(super) fn padded(values: impl Iterator<Item = f64>, margin: f64) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return 0.0..1.0;
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return lo - pad..hi + pad;
    }
    let pad = (hi - lo) * margin;
    lo - pad..hi + pad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_as_numbers() {
        assert_eq!(tick(0.30000000000000004, false), "0.3");
        assert_eq!(tick(100.0, false), "100");
        assert_eq!(tick(2.0, true), "2");
        assert_eq!(tick(2.5, true), "");
        assert_eq!(tick(-0.0, true), "0");
    }

    #[test]
    fn ranges_fit_the_finite_points() {
        assert_eq!(padded([1.0, f64::NAN, 3.0].into_iter(), 0.5), 0.0..4.0);
        assert_eq!(padded(std::iter::empty(), 0.05), 0.0..1.0);
        assert_eq!(padded([2.0].into_iter(), 0.05), 1.8..2.2);
    }

    #[test]
    fn a_bad_range_is_an_error() {
        let chart = Chart::new("t").line("a", [(0.0, 1.0)]).x_range(1.0..1.0);
        assert!(matches!(chart.to_svg(), Err(Error::InvalidConfig { .. })));
        let chart = Chart::new("t").y_range(0.0..f64::NAN);
        assert!(matches!(chart.to_svg(), Err(Error::InvalidConfig { .. })));
    }
}
