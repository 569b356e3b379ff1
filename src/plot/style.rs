//! What every chart shares: colours, the font, the drawing area's types and plotters' errors.

use crate::Error;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The drawing area of one chart.
pub(super) type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
/// A chart's axes once built: two numeric axes.
pub(super) type Axes<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The font family of every text; the viewer picks the font.
pub(super) const FONT: &str = "sans-serif";

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

    pub(super) fn rgb(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// A drawing failure of plotters as the crate's error.
pub(super) fn plot_error(error: impl std::fmt::Display) -> Error {
    Error::Plot(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colour_cycle_is_matplotlibs() {
        assert_eq!(Colour::cycle(0).hex(), "#1F77B4");
        assert_eq!(Colour::cycle(1).hex(), "#FF7F0E");
        assert_eq!(Colour::cycle(10), Colour::cycle(0));
    }
}
