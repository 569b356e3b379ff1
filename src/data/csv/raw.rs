//! A table's cells before any encoding: which cells are missing values, and how a cell is read
//! as a number.

/// The cells read as missing values: pandas' default `na_values` of `read_csv` (compared after
/// trimming surrounding spaces; the empty cell is the first).
pub const MISSING_MARKERS: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// Whether `cell` is a missing value (one of [`MISSING_MARKERS`], surrounding spaces ignored).
pub fn is_missing(cell: &str) -> bool {
    MISSING_MARKERS.contains(&cell.trim())
}

/// Parses a cell as a number, as the columns of numbers are read (`f64`, then checked).
pub(crate) fn number(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok()
}
