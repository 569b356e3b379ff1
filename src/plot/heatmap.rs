//! [`Heatmap`]: a grid of values painted as coloured cells (matplotlib's `imshow`, and
//! `contourf` with levels), with the values written in the cells or a colour bar beside them.

use super::style::{plot_error, Area, Axes, FONT};
use crate::{Error, Result};
use ndarray::Array2;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// How values turn into colours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColourMap {
    /// matplotlib's default, `viridis`: dark blue (low) to yellow (high).
    #[default]
    Viridis,
    /// Black (low) to white (high), as `imshow(image, cmap="gray")`.
    Grey,
}

/// A grid of values painted as cells. Cell `(row, column)` of `values` covers, along the
/// horizontal axis, the `column`-th of `columns` equal parts of `x`, and along the vertical
/// axis the `row`-th of `rows` equal parts of `y` (row 0 at `y.start`: give the chart a
/// decreasing [`y_range`](super::Chart::y_range) to put it at the top, as an image).
///
/// Colours go linearly from the smallest value to the largest (or
/// [`value_range`](Heatmap::value_range)), or by band between [`levels`](Heatmap::levels).
/// A NaN cell is left blank.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    values: Array2<f64>,
    x: Range<f64>,
    y: Range<f64>,
    map: ColourMap,
    levels: Option<Vec<f64>>,
    range: Option<(f64, f64)>,
    write_values: bool,
    bar: Option<String>,
}

impl Heatmap {
    /// `values` painted over `x` by `y` (see the type's documentation).
    pub fn new(values: Array2<f64>, x: Range<f64>, y: Range<f64>) -> Self {
        Heatmap {
            values,
            x,
            y,
            map: ColourMap::default(),
            levels: None,
            range: None,
            write_values: false,
            bar: None,
        }
    }

    /// Paints with `map` ([`ColourMap::Viridis`] by default).
    pub fn colour_map(mut self, map: ColourMap) -> Self {
        self.map = map;
        self
    }

    /// Paints by band, as matplotlib's `contourf(levels=...)`: a value below `levels[1]` takes
    /// the first band's colour, one from `levels[k]` up to `levels[k + 1]` the `k`-th, one from
    /// the next-to-last level up the last band's. Levels must be finite and increasing, at
    /// least two of them.
    pub fn levels(mut self, levels: Vec<f64>) -> Self {
        self.levels = Some(levels);
        self
    }

    /// The values mapped to the two ends of the colour map (default: the smallest and largest
    /// finite values); values outside take the ends' colours.
    pub fn value_range(mut self, low: f64, high: f64) -> Self {
        self.range = Some((low, high));
        self
    }

    /// Writes each value in its cell (whole numbers without decimals): counts of a confusion
    /// matrix.
    pub fn write_values(mut self, write: bool) -> Self {
        self.write_values = write;
        self
    }

    /// Draws a colour bar labelled `label` to the right of the chart.
    pub fn colour_bar(mut self, label: impl Into<String>) -> Self {
        self.bar = Some(label.into());
        self
    }

    /// The values.
    pub fn values(&self) -> &Array2<f64> {
        &self.values
    }

    /// The area the cells cover, `(x, y)`.
    pub fn extent(&self) -> (Range<f64>, Range<f64>) {
        (self.x.clone(), self.y.clone())
    }

    pub(super) fn bar_label(&self) -> Option<&str> {
        self.bar.as_deref()
    }

    /// Where each value falls on the colour map, from 0 to 1 (NaN for a NaN value).
    fn scale(&self) -> Result<impl Fn(f64) -> f64 + '_> {
        let bands = match &self.levels {
            Some(levels) => {
                let increasing = levels.windows(2).all(|w| w[0] < w[1]);
                if levels.len() < 2 || !increasing || levels.iter().any(|l| !l.is_finite()) {
                    return Err(Error::config(
                        "heat map levels",
                        format!("{levels:?}"),
                        "at least two finite levels, increasing",
                    ));
                }
                Some(levels)
            }
            None => None,
        };
        let (low, high) = match self.range {
            Some((low, high)) if low.is_finite() && high.is_finite() && low < high => (low, high),
            Some((low, high)) => {
                return Err(Error::config(
                    "heat map value_range",
                    format!("({low}, {high})"),
                    "finite ends, the first below the second",
                ))
            }
            None => {
                let finite = self.values.iter().copied().filter(|v| v.is_finite());
                let (low, high) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                    (l.min(v), h.max(v))
                });
                if low < high {
                    (low, high)
                } else {
                    (low.min(0.0), low.max(0.0) + 1.0)
                }
            }
        };
        Ok(move |v: f64| {
            if v.is_nan() {
                return f64::NAN;
            }
            match bands {
                Some(levels) => {
                    let last = levels.len() - 2;
                    let band = levels[1..levels.len() - 1]
                        .iter()
                        .take_while(|&&l| l <= v)
                        .count();
                    if last == 0 {
                        0.0
                    } else {
                        band as f64 / last as f64
                    }
                }
                None => ((v - low) / (high - low)).clamp(0.0, 1.0),
            }
        })
    }

    fn colour(&self, t: f64) -> RGBColor {
        match self.map {
            ColourMap::Viridis => ViridisRGB::get_color_normalized(t, 0.0, 1.0),
            ColourMap::Grey => {
                let v = (t * 255.0).round() as u8;
                RGBColor(v, v, v)
            }
        }
    }

    /// Paints the cells; cells of one row with the same colour side by side become one
    /// rectangle (a 200 x 200 grid of a few bands stays a few thousand elements).
    pub(super) fn draw_cells<'a, 'b: 'a>(&self, axes: &mut Axes<'a, 'b>) -> Result<()> {
        let scale = self.scale()?;
        let (rows, columns) = self.values.dim();
        if rows == 0 || columns == 0 {
            return Ok(());
        }
        let dx = (self.x.end - self.x.start) / columns as f64;
        let dy = (self.y.end - self.y.start) / rows as f64;
        let shares = self.values.mapv(&scale);
        let mut cells = Vec::new();
        for r in 0..rows {
            let y0 = self.y.start + r as f64 * dy;
            let mut c = 0;
            while c < columns {
                let share = shares[[r, c]];
                let same = |s: f64| s == share || (s.is_nan() && share.is_nan());
                let run = if self.write_values {
                    1
                } else {
                    (c..columns).take_while(|&k| same(shares[[r, k]])).count()
                };
                if !share.is_nan() {
                    let x0 = self.x.start + c as f64 * dx;
                    cells.push(Rectangle::new(
                        [(x0, y0), (x0 + run as f64 * dx, y0 + dy)],
                        self.colour(share).filled(),
                    ));
                }
                c += run;
            }
        }
        axes.draw_series(cells).map_err(plot_error)?;
        if self.write_values {
            let texts = self.values.indexed_iter().filter_map(|((r, c), &value)| {
                let share = shares[[r, c]];
                if share.is_nan() {
                    return None;
                }
                let centre = (
                    self.x.start + (c as f64 + 0.5) * dx,
                    self.y.start + (r as f64 + 0.5) * dy,
                );
                // Dark ink on the bright end of the map, light ink on the dark end.
                let ink = if share > 0.6 { &BLACK } else { &WHITE };
                let style = (FONT, 13)
                    .into_font()
                    .color(ink)
                    .pos(Pos::new(HPos::Center, VPos::Center));
                Some(Text::new(value_text(value), centre, style))
            });
            axes.draw_series(texts).map_err(plot_error)?;
        }
        Ok(())
    }

    /// The colour bar: one box per band, levels evenly spaced as matplotlib's colour bar of
    /// `contourf` spaces them; or 64 boxes from the low value to the high one.
    pub(super) fn draw_colour_bar(&self, area: &Area<'_>) -> Result<()> {
        let scale = self.scale()?;
        let label = self.bar.as_deref().unwrap_or_default();
        let builder = |y: Range<f64>| {
            ChartBuilder::on(area)
                .margin_top(60)
                .margin_bottom(65)
                .margin_right(10)
                .y_label_area_size(80)
                .build_cartesian_2d(0.0..1.0, y)
                .map_err(plot_error)
        };
        match &self.levels {
            Some(levels) => {
                let top = (levels.len() - 1) as f64;
                let mut bar = builder(0.0..top)?;
                let format = |v: &f64| {
                    let k = v.round();
                    if (v - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < levels.len() {
                        format!("{}", levels[k as usize])
                    } else {
                        String::new()
                    }
                };
                bar.configure_mesh()
                    .disable_x_axis()
                    .disable_mesh()
                    .y_desc(label)
                    .axis_desc_style((FONT, 15))
                    .label_style((FONT, 13))
                    .y_labels(levels.len())
                    .y_label_formatter(&format)
                    .draw()
                    .map_err(plot_error)?;
                bar.draw_series((0..levels.len() - 1).map(|k| {
                    let share = scale((levels[k] + levels[k + 1]) / 2.0);
                    Rectangle::new(
                        [(0.0, k as f64), (1.0, k as f64 + 1.0)],
                        self.colour(share).filled(),
                    )
                }))
                .map_err(plot_error)?;
            }
            None => {
                let (low, high) = match self.range {
                    Some(range) => range,
                    None => {
                        let finite = self.values.iter().copied().filter(|v| v.is_finite());
                        finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                            (l.min(v), h.max(v))
                        })
                    }
                };
                let (low, high) = if low < high { (low, high) } else { (0.0, 1.0) };
                let mut bar = builder(low..high)?;
                bar.configure_mesh()
                    .disable_x_axis()
                    .disable_mesh()
                    .y_desc(label)
                    .axis_desc_style((FONT, 15))
                    .label_style((FONT, 13))
                    .draw()
                    .map_err(plot_error)?;
                let step = (high - low) / 64.0;
                bar.draw_series((0..64).map(|k| {
                    let y0 = low + k as f64 * step;
                    Rectangle::new(
                        [(0.0, y0), (1.0, y0 + step)],
                        self.colour(scale(y0 + step / 2.0)).filled(),
                    )
                }))
                .map_err(plot_error)?;
            }
        }
        Ok(())
    }
}

/// A cell's text: `42` for a whole number, `0.25` otherwise.
fn value_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn bands_follow_the_levels() {
        let map = Heatmap::new(array![[0.0]], 0.0..1.0, 0.0..1.0).levels(vec![1.0, 2.0, 5.0, 10.0]);
        let scale = map.scale().unwrap();
        assert_eq!(scale(0.5), 0.0);
        assert_eq!(scale(1.5), 0.0);
        assert_eq!(scale(2.0), 0.5);
        assert_eq!(scale(7.0), 1.0);
        assert_eq!(scale(70.0), 1.0);
        assert!(scale(f64::NAN).is_nan());
    }

    #[test]
    fn bad_levels_are_an_error() {
        for levels in [vec![1.0], vec![2.0, 1.0], vec![0.0, f64::INFINITY]] {
            let map = Heatmap::new(array![[0.0]], 0.0..1.0, 0.0..1.0).levels(levels);
            assert!(matches!(map.scale(), Err(Error::InvalidConfig { .. })));
        }
    }

    #[test]
    fn the_linear_scale_spans_the_values() {
        let map = Heatmap::new(array![[2.0, 4.0], [6.0, f64::NAN]], 0.0..1.0, 0.0..1.0);
        let scale = map.scale().unwrap();
        assert_eq!(scale(2.0), 0.0);
        assert_eq!(scale(4.0), 0.5);
        assert_eq!(scale(9.0), 1.0);
        assert_eq!(value_text(3.0), "3");
        assert_eq!(value_text(0.25), "0.25");
    }
}
