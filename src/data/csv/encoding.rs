//! [`TableEncoding`]: how the columns of a table become numbers, learned from the training
//! file and applied to any other file or row.

use super::raw::{number, RawTable};
use super::{CsvReader, Missing, UnknownCategory};
use crate::data::{one_hot, InMemory};
use crate::io::atomic_write::write_atomically;
use crate::task::Task;
use crate::{Error, Result};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// How a table's columns are encoded, learned by [`CsvReader::read`] from the training file,
/// as a scikit-learn transformer is fitted: the feature columns in order with their kind (and
/// categories), and the target. [`read`](TableEncoding::read) applies it to another file (the
/// test set), [`encode_inputs`](TableEncoding::encode_inputs) to new rows. It is
/// serde-serialisable; [`save`](TableEncoding::save) and [`load`](TableEncoding::load) keep
/// it as JSON beside a saved model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableEncoding {
    features: Vec<Feature>,
    target: Target,
    missing: Missing,
    unknown: UnknownCategory,
    pub(super) delimiter: u8,
}

/// A feature column and how it is encoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feature {
    /// The column's name in the header.
    pub name: String,
    /// How its cells become numbers.
    pub kind: FeatureKind,
}

/// How a feature column's cells become numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeatureKind {
    /// A number, one input column.
    Numeric,
    /// One 0/1 input column per category, the categories sorted (scikit-learn's
    /// `OneHotEncoder`, whose `categories_` are `np.unique` of the column).
    OneHot {
        /// The categories seen in the training data, sorted.
        categories: Vec<String>,
    },
}

/// The target column(s) and how they are encoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// Class labels, one-hot encoded in sorted order (scikit-learn's `LabelEncoder`).
    Classes {
        /// The column's name.
        column: String,
        /// The class names, sorted: by value when every label is a number, else by code point.
        classes: Vec<String>,
        /// Whether the labels are numbers (matched by value: `1` and `1.0` are one class).
        numeric: bool,
    },
    /// Numbers, one output per column (several for multi-output regression).
    Values {
        /// The columns' names.
        columns: Vec<String>,
    },
}

/// The rows of a file encoded by a [`TableEncoding`], which a [`Table`](super::Table) holds.
pub(super) struct Encoded {
    /// Encoded inputs and targets.
    pub data: InMemory,
    /// The class index of every row, for classification.
    pub labels: Option<Vec<usize>>,
    /// The line each row was read from.
    pub lines: Vec<u64>,
    /// Rows left out for a missing cell.
    pub dropped_rows: usize,
}

impl TableEncoding {
    /// Learns the encoding of `raw` with the reader's settings.
    pub(super) fn fit(raw: &RawTable, reader: &CsvReader) -> Result<TableEncoding> {
        if reader.targets.is_empty() {
            return Err(Error::config(
                "target column",
                "(none)",
                "the name of the column to predict: CsvReader::new().target(\"label\")",
            ));
        }
        let columns = |names: &[String], role: &str| -> Result<Vec<usize>> {
            names.iter().map(|name| raw.column(name, role)).collect()
        };
        let targets = columns(&reader.targets, "target")?;
        let ignored = columns(&reader.ignored, "columns to ignore")?;
        let categorical = columns(&reader.categorical, "categorical features")?;
        for (i, &t) in targets.iter().enumerate() {
            let clash = if targets[..i].contains(&t) {
                Some("named twice as a target")
            } else if ignored.contains(&t) {
                Some("both a target and ignored")
            } else if categorical.contains(&t) {
                Some("both a target and a categorical feature")
            } else {
                None
            };
            if let Some(clash) = clash {
                return Err(Error::config(
                    "target column",
                    &raw.header[t],
                    format!("a column used once: it is {clash}"),
                ));
            }
        }
        let feature_columns: Vec<usize> = (0..raw.header.len())
            .filter(|c| !targets.contains(c) && !ignored.contains(c))
            .collect();
        if feature_columns.is_empty() {
            return Err(Error::Empty {
                what: "feature columns".into(),
                hint: "the table needs at least one column besides the target and the ignored \
                       ones"
                    .into(),
            });
        }
        let used: Vec<usize> = feature_columns.iter().chain(&targets).copied().collect();
        let rows = raw.complete_rows(&used, reader.missing)?;
        if rows.is_empty() {
            return Err(no_rows(raw));
        }
        let cells = |c: usize| rows.iter().map(move |&r| &raw.rows[r][c]);
        let features = feature_columns
            .iter()
            .map(|&c| {
                let text = categorical.contains(&c) || cells(c).any(|v| number(v).is_none());
                let kind = if text {
                    let categories: BTreeSet<&str> = cells(c).collect();
                    FeatureKind::OneHot {
                        categories: categories.into_iter().map(str::to_string).collect(),
                    }
                } else {
                    FeatureKind::Numeric
                };
                Feature {
                    name: raw.header[c].clone(),
                    kind,
                }
            })
            .collect();
        let task = match (reader.task, targets.as_slice()) {
            (Some(task), _) => task,
            (None, [single]) => guess_task(cells(*single)),
            (None, _) => Task::Regression,
        };
        let target = match (task, targets.as_slice()) {
            (Task::Binary, _) => {
                return Err(Error::config(
                    "task",
                    "binary classification",
                    "Task::Classification (a table's class labels are one-hot encoded, for a \
                     Softmax) or Task::Regression",
                ))
            }
            (Task::Classification, [single]) => {
                let (classes, numeric) = classes(cells(*single));
                if classes.len() < 2 {
                    return Err(raw.error(
                        None,
                        Some(*single),
                        format!(
                            "a single class ({:?}) in the target: a classifier needs at least two",
                            classes[0]
                        ),
                    ));
                }
                Target::Classes {
                    column: raw.header[*single].clone(),
                    classes,
                    numeric,
                }
            }
            (Task::Classification, _) => {
                return Err(Error::config(
                    "task",
                    "classification",
                    format!(
                        "one target column for classification ({} given: {}); several targets \
                         are for multi-output regression",
                        targets.len(),
                        reader.targets.join(", ")
                    ),
                ))
            }
            (Task::Regression, _) => Target::Values {
                columns: reader.targets.clone(),
            },
        };
        Ok(TableEncoding {
            features,
            target,
            missing: reader.missing,
            unknown: reader.unknown,
            delimiter: reader.delimiter,
        })
    }

    /// The feature columns, in the order their encodings are laid out in an input row.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// The target column(s).
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        match self.target {
            Target::Classes { .. } => Task::Classification,
            Target::Values { .. } => Task::Regression,
        }
    }

    /// The class names, in the order of the class indices, for classification.
    pub fn classes(&self) -> Option<&[String]> {
        match &self.target {
            Target::Classes { classes, .. } => Some(classes),
            Target::Values { .. } => None,
        }
    }

    /// The width of an input row: one per numeric feature, one per category of the others.
    pub fn input_width(&self) -> usize {
        self.features.iter().map(Feature::width).sum()
    }

    /// The width of a target row: the number of classes, or of target columns.
    pub fn target_width(&self) -> usize {
        match &self.target {
            Target::Classes { classes, .. } => classes.len(),
            Target::Values { columns } => columns.len(),
        }
    }

    /// The name of every input column: the feature's name, or `name=category` for one-hot
    /// columns (as scikit-learn's `get_feature_names_out`, with `=` for `_`).
    pub fn input_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.input_width());
        for feature in &self.features {
            match &feature.kind {
                FeatureKind::Numeric => names.push(feature.name.clone()),
                FeatureKind::OneHot { categories } => names.extend(
                    categories
                        .iter()
                        .map(|category| format!("{}={category}", feature.name)),
                ),
            }
        }
        names
    }

    /// The name of every target column: the class names, or the target columns' names.
    pub fn target_names(&self) -> &[String] {
        match &self.target {
            Target::Classes { classes, .. } => classes,
            Target::Values { columns } => columns,
        }
    }

    /// What is done with rows that have missing cells.
    pub fn missing(&self) -> Missing {
        self.missing
    }

    /// Reads the feature columns of a file that need not have the target column (rows to
    /// predict), one encoded row per line: a missing cell is an error whatever
    /// [`missing`](TableEncoding::missing) says, so that row `i` is line `i + 2`.
    ///
    /// # Errors
    /// As [`read`](TableEncoding::read).
    pub fn read_inputs(&self, path: impl AsRef<Path>) -> Result<Array2<f32>> {
        let raw = RawTable::read(path.as_ref(), self.delimiter)?;
        self.encode_features(&raw, Missing::Error)
            .map(|(inputs, _)| inputs)
    }

    /// Encodes rows given in memory, each holding the features' cells as text in the order of
    /// [`features`](TableEncoding::features).
    ///
    /// # Errors
    /// [`Error::Table`] naming the (zero-based) row and the column for a row of the wrong
    /// length, a missing cell, text in a numeric column or an unknown category;
    /// [`Error::Empty`] for no rows.
    pub fn encode_inputs<R, S>(&self, rows: &[R]) -> Result<Array2<f32>>
    where
        R: AsRef<[S]>,
        S: AsRef<str>,
    {
        let header = self.features.iter().map(|f| f.name.clone()).collect();
        let raw = RawTable::from_rows(header, rows)?;
        self.encode_features(&raw, Missing::Error)
            .map(|(inputs, _)| inputs)
    }

    /// Writes the encoding to `path` as JSON, atomically (the previous file stays on error).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("an encoding serialises to JSON");
        write_atomically(path.as_ref(), &json)
    }

    /// Reads an encoding written by [`save`](TableEncoding::save).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::CorruptFile`] when it is not such
    /// an encoding (unreadable JSON, categories or classes unsorted or repeated, fewer than two
    /// classes, no feature).
    pub fn load(path: impl AsRef<Path>) -> Result<TableEncoding> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io("reading", path, e))?;
        let encoding: TableEncoding = serde_json::from_slice(&bytes)
            .map_err(|e| Error::corrupt(path, format!("not a table encoding: {e}")))?;
        encoding
            .check()
            .map_err(|reason| Error::corrupt(path, reason))?;
        Ok(encoding)
    }

    /// Checks what [`encode`](TableEncoding::encode) relies on, for an encoding read from a
    /// file.
    fn check(&self) -> std::result::Result<(), String> {
        let strictly_sorted = |v: &[String]| v.windows(2).all(|w| w[0] < w[1]);
        if self.features.is_empty() {
            return Err("it has no feature".to_string());
        }
        for feature in &self.features {
            if let FeatureKind::OneHot { categories } = &feature.kind {
                if categories.is_empty() || !strictly_sorted(categories) {
                    return Err(format!(
                        "the categories of {:?} are empty, unsorted or repeated",
                        feature.name
                    ));
                }
            }
        }
        match &self.target {
            Target::Classes {
                classes, numeric, ..
            } => {
                let values: Option<Vec<f64>> = classes.iter().map(|c| number(c)).collect();
                let sorted = match (numeric, values) {
                    (true, Some(v)) => v.windows(2).all(|w| w[0] < w[1]),
                    (true, None) => false,
                    (false, _) => strictly_sorted(classes),
                };
                if classes.len() < 2 || !sorted {
                    return Err("the classes are fewer than two, unsorted or repeated".to_string());
                }
            }
            Target::Values { columns } if columns.is_empty() => {
                return Err("it has no target column".to_string())
            }
            Target::Values { .. } => {}
        }
        Ok(())
    }

    /// Encodes `raw`, with its targets when `with_targets`.
    pub(super) fn encode(&self, raw: &RawTable, with_targets: bool) -> Result<Encoded> {
        let target_columns = if with_targets {
            self.target_names_in_file()
                .iter()
                .map(|name| raw.column(name, "target"))
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let (inputs, rows) = self.encode_features_with(raw, self.missing, &target_columns)?;
        let (targets, labels) = match &self.target {
            Target::Classes {
                classes, numeric, ..
            } => {
                let column = target_columns[0];
                let values: Vec<f64> = match numeric {
                    true => classes.iter().filter_map(|c| number(c)).collect(),
                    false => Vec::new(),
                };
                let labels = rows
                    .iter()
                    .map(|&r| {
                        let cell = &raw.rows[r][column];
                        let found = match numeric {
                            true => number(cell).and_then(|v| values.iter().position(|&c| c == v)),
                            false => classes.binary_search_by(|c| c.as_str().cmp(cell)).ok(),
                        };
                        found.ok_or_else(|| {
                            raw.error(
                                Some(r),
                                Some(column),
                                format!(
                                    "class {cell:?} is not one of the classes of the training \
                                     data ({})",
                                    classes.join(", ")
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                (one_hot(&labels, classes.len())?, Some(labels))
            }
            Target::Values { .. } => {
                let mut targets = Array2::zeros((rows.len(), target_columns.len()));
                for (i, &r) in rows.iter().enumerate() {
                    for (j, &c) in target_columns.iter().enumerate() {
                        targets[[i, j]] = finite(raw, r, c, "a regression target")?;
                    }
                }
                (targets, None)
            }
        };
        let lines = rows.iter().map(|&r| raw.lines[r]).collect();
        let dropped = raw.rows.len() - rows.len();
        Ok(Encoded {
            data: InMemory::new(inputs, targets)?,
            labels,
            lines,
            dropped_rows: dropped,
        })
    }

    /// The target columns' names.
    fn target_names_in_file(&self) -> Vec<String> {
        match &self.target {
            Target::Classes { column, .. } => vec![column.clone()],
            Target::Values { columns } => columns.clone(),
        }
    }

    /// Encodes the features of `raw`, returning the inputs and the rows (indices into
    /// `raw.rows`) they come from.
    fn encode_features(
        &self,
        raw: &RawTable,
        missing: Missing,
    ) -> Result<(Array2<f32>, Vec<usize>)> {
        self.encode_features_with(raw, missing, &[])
    }

    /// As [`encode_features`](Self::encode_features), also dropping (or failing on) rows with
    /// a missing cell in `other_columns` (the targets).
    fn encode_features_with(
        &self,
        raw: &RawTable,
        missing: Missing,
        other_columns: &[usize],
    ) -> Result<(Array2<f32>, Vec<usize>)> {
        let columns = self
            .features
            .iter()
            .map(|f| raw.column(&f.name, "feature the encoding was learned with"))
            .collect::<Result<Vec<_>>>()?;
        let used: Vec<usize> = columns.iter().chain(other_columns).copied().collect();
        let rows = raw.complete_rows(&used, missing)?;
        if rows.is_empty() {
            return Err(no_rows(raw));
        }
        let mut inputs = Array2::zeros((rows.len(), self.input_width()));
        for (i, &r) in rows.iter().enumerate() {
            let mut offset = 0;
            for (feature, &c) in self.features.iter().zip(&columns) {
                match &feature.kind {
                    FeatureKind::Numeric => {
                        inputs[[i, offset]] = finite(raw, r, c, "a numeric feature")?;
                    }
                    FeatureKind::OneHot { categories } => {
                        let cell = &raw.rows[r][c];
                        match categories.binary_search_by(|k| k.as_str().cmp(cell)) {
                            Ok(k) => inputs[[i, offset + k]] = 1.0,
                            Err(_) if self.unknown == UnknownCategory::Ignore => {}
                            Err(_) => {
                                return Err(raw.error(
                                    Some(r),
                                    Some(c),
                                    format!(
                                        "category {cell:?} is not one of those of the training \
                                         data ({}); UnknownCategory::Ignore encodes unknown \
                                         categories as zeros",
                                        categories.join(", ")
                                    ),
                                ))
                            }
                        }
                    }
                }
                offset += feature.width();
            }
        }
        Ok((inputs, rows))
    }
}

impl Feature {
    /// The number of input columns it takes.
    pub fn width(&self) -> usize {
        match &self.kind {
            FeatureKind::Numeric => 1,
            FeatureKind::OneHot { categories } => categories.len(),
        }
    }
}

/// The cell at row `r`, column `c`, as a finite `f32`, or an error saying why it is not one.
fn finite(raw: &RawTable, r: usize, c: usize, what: &str) -> Result<f32> {
    let cell = &raw.rows[r][c];
    match number(cell) {
        Some(v) if (v as f32).is_finite() => Ok(v as f32),
        Some(_) => Err(raw.error(
            Some(r),
            Some(c),
            format!("{cell:?} is not a finite 32-bit number ({what})"),
        )),
        None => Err(raw.error(
            Some(r),
            Some(c),
            format!(
                "{cell:?} is not a number, but the column is {what} (numbers only in the training \
                 data)"
            ),
        )),
    }
}

/// The error for a table left without rows.
fn no_rows(raw: &RawTable) -> Error {
    let what = match &raw.file {
        Some(file) => format!("table {}", file.display()),
        None => "table".to_string(),
    };
    Error::Empty {
        what,
        hint: match raw.rows.len() {
            0 => "give at least one row below the header".to_string(),
            n => format!("every one of its {n} rows has a missing cell"),
        },
    }
}

/// The task AutoGluon's `infer_problem_type` guesses for a target column: text, or exactly two
/// distinct values, is classification; whole numbers with at most 1,000 distinct values, and
/// at most 10% as many distinct values as rows (5% above 1,000 rows), are classification;
/// anything else regression.
fn guess_task<'a>(cells: impl Iterator<Item = &'a str>) -> Task {
    let mut values = Vec::new();
    for cell in cells {
        match number(cell) {
            Some(v) => values.push(v),
            None => return Task::Classification,
        }
    }
    let rows = values.len();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let distinct = values.len();
    let threshold = if rows > 1000 { 0.05 } else { 0.1 };
    let whole = values.iter().all(|v| v.fract() == 0.0);
    if distinct == 2 || (whole && distinct <= 1000 && distinct as f64 / rows as f64 <= threshold) {
        Task::Classification
    } else {
        Task::Regression
    }
}

/// The sorted class names of a target column, and whether they are numbers: sorted by value
/// (named by their first spelling in the file) when every label is a number, else by code
/// point, as `np.unique` sorts them for scikit-learn's `LabelEncoder`.
fn classes<'a>(cells: impl Iterator<Item = &'a str> + Clone) -> (Vec<String>, bool) {
    let numbers: Option<Vec<(f64, &str)>> = cells
        .clone()
        .map(|cell| number(cell).map(|v| (v, cell)))
        .collect();
    match numbers {
        Some(mut numbers) => {
            // A stable sort keeps each value's first spelling first.
            numbers.sort_by(|a, b| a.0.total_cmp(&b.0));
            numbers.dedup_by(|b, a| a.0 == b.0);
            (
                numbers.into_iter().map(|(_, s)| s.to_string()).collect(),
                true,
            )
        }
        None => {
            let names: BTreeSet<&str> = cells.collect();
            (names.into_iter().map(str::to_string).collect(), false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_guessed_as_autogluon_does() {
        let many = |n: usize, modulo: usize| -> Vec<String> {
            (0..n).map(|i| (i % modulo).to_string()).collect()
        };
        let guess = |cells: &[String]| guess_task(cells.iter().map(String::as_str));
        assert_eq!(guess(&many(150, 3)), Task::Classification); // iris as 0/1/2
        assert_eq!(guess(&many(100, 10)), Task::Classification); // ratio 0.1
        assert_eq!(guess(&many(100, 11)), Task::Regression); // ratio 0.11
        assert_eq!(guess(&many(2000, 100)), Task::Classification); // 0.05 above 1,000 rows
        assert_eq!(guess(&many(2000, 101)), Task::Regression);
        let halves: Vec<String> = (0..100).map(|i| format!("{}.5", i % 3)).collect();
        assert_eq!(guess(&halves), Task::Regression);
        let two: Vec<String> = (0..100).map(|i| format!("{}.5", i % 2)).collect();
        assert_eq!(guess(&two), Task::Classification);
        assert_eq!(guess(&["a".into(), "1".into()]), Task::Classification);
    }

    #[test]
    fn classes_sort_numbers_by_value_and_text_by_code_point() {
        let cells = ["10", "9", "1.0", "1", "-2"];
        let (names, numeric) = classes(cells.iter().copied());
        assert!(numeric);
        assert_eq!(names, ["-2", "1.0", "9", "10"]);
        // np.unique(["b", "B", "a", "é"]) = ['B', 'a', 'b', 'é']
        let (names, numeric) = classes(["b", "B", "a", "é"].iter().copied());
        assert!(!numeric);
        assert_eq!(names, ["B", "a", "b", "é"]);
    }
}
