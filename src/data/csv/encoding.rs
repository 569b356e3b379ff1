//! [`TableEncoding`]: how the columns of a table become numbers, learned from the training
//! file and applied to any other file or row.

use super::lines::Lines;
use super::pass::{no_rows, FeaturePlan, Pass, TargetPlan};
use super::raw::number;
use super::source::{self, Header};
use super::{Missing, UnknownCategory};
use crate::data::InMemory;
use crate::io::atomic_write::write_atomically;
use crate::io::file_limits::{open_regular, read_capped};
use crate::task::Task;
use crate::{Error, Result};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The largest encoding file [`TableEncoding::load`] reads (64 MiB: a thousand features of a
/// thousand categories each take a few MB of JSON).
const MAX_ENCODING_BYTES: u64 = 64 << 20;

/// How a table's columns are encoded, learned by [`CsvReader::read`](super::CsvReader::read) from the training file,
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
    delimiter: u8,
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
    /// The line each row was read from.
    pub lines: Lines,
    /// Rows left out for a missing cell.
    pub dropped_rows: usize,
}

impl TableEncoding {
    /// An encoding from its parts (learned by [`CsvReader::read`]).
    pub(super) fn new(
        features: Vec<Feature>,
        target: Target,
        missing: Missing,
        unknown: UnknownCategory,
        delimiter: u8,
    ) -> TableEncoding {
        TableEncoding {
            features,
            target,
            missing,
            unknown,
            delimiter,
        }
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

    /// The field delimiter.
    pub(super) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// What is done with rows that have missing cells.
    pub fn missing(&self) -> Missing {
        self.missing
    }

    /// Reads and encodes the file at `path`, its targets included (see
    /// [`read`](TableEncoding::read)).
    pub(super) fn encode_file(&self, path: &Path) -> Result<Encoded> {
        let (header, mut records) = source::open(path, self.delimiter)?;
        let mut pass = self.pass(&header, true, self.missing)?;
        records.for_each(|line, record| pass.row(line, record))?;
        if pass.rows() == 0 {
            return Err(no_rows(&header, pass.rows_read));
        }
        let (rows, dropped_rows) = (pass.rows(), pass.rows_read - pass.rows());
        let inputs = Array2::from_shape_vec((rows, pass.input_width), pass.inputs)
            .expect("rows x input width values");
        let targets = Array2::from_shape_vec((rows, pass.target_width), pass.targets)
            .expect("rows x target width values");
        Ok(Encoded {
            data: InMemory::new(inputs, targets)?,
            lines: pass.lines,
            dropped_rows,
        })
    }

    /// Reads the feature columns of a file that need not have the target column (rows to
    /// predict), one encoded row per line: a missing cell is an error whatever
    /// [`missing`](TableEncoding::missing) says, so that row `i` is line `i + 2`.
    ///
    /// # Errors
    /// As [`read`](TableEncoding::read).
    pub fn read_inputs(&self, path: impl AsRef<Path>) -> Result<Array2<f32>> {
        let (header, mut records) = source::open(path.as_ref(), self.delimiter)?;
        let mut pass = self.pass(&header, false, Missing::Error)?;
        records.for_each(|line, record| pass.row(line, record))?;
        Self::inputs_of(pass)
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
        let header = Header {
            file: None,
            names: self.features.iter().map(|f| f.name.clone()).collect(),
        };
        let records = source::records_in_memory(&header.names, rows)?;
        let mut pass = self.pass(&header, false, Missing::Error)?;
        for (i, record) in records.iter().enumerate() {
            pass.row(i as u64, record)?;
        }
        Self::inputs_of(pass)
    }

    /// The input matrix a pass without targets wrote.
    fn inputs_of(pass: Pass<'_>) -> Result<Array2<f32>> {
        if pass.rows() == 0 {
            return Err(no_rows(pass.header, pass.rows_read));
        }
        Ok(
            Array2::from_shape_vec((pass.rows(), pass.input_width), pass.inputs)
                .expect("rows x input width values"),
        )
    }

    /// A pass that applies this encoding to the columns of `header`, with the targets when
    /// `with_targets`, treating missing cells as `missing` says.
    pub(super) fn pass<'h>(
        &self,
        header: &'h Header,
        with_targets: bool,
        missing: Missing,
    ) -> Result<Pass<'h>> {
        let target = match (with_targets, &self.target) {
            (false, _) => TargetPlan::None,
            (
                true,
                Target::Classes {
                    column,
                    classes,
                    numeric,
                },
            ) => TargetPlan::classes(header.column(column, "target")?, classes, *numeric),
            (true, Target::Values { columns }) => TargetPlan::Values {
                columns: columns
                    .iter()
                    .map(|name| header.column(name, "target"))
                    .collect::<Result<_>>()?,
            },
        };
        let mut offset = 0;
        let mut features = Vec::with_capacity(self.features.len());
        for feature in &self.features {
            let c = header.column(&feature.name, "feature the encoding was learned with")?;
            let plan = match &feature.kind {
                FeatureKind::Numeric => FeaturePlan::Numeric { offset },
                FeatureKind::OneHot { categories } => FeaturePlan::OneHot {
                    offset,
                    index: categories.iter().cloned().zip(0..).collect(),
                    categories: categories.clone(),
                },
            };
            features.push((c, plan));
            offset += feature.width();
        }
        Ok(Pass::new(
            header,
            features,
            offset,
            target,
            missing,
            self.unknown,
            usize::MAX,
        ))
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
        let (file, len) = open_regular(path)?;
        let bytes = read_capped(path, file, len, MAX_ENCODING_BYTES)?.ok_or_else(|| {
            Error::corrupt(
                path,
                format!(
                    "{len} bytes, more than a table encoding's {MAX_ENCODING_BYTES}: not an \
                     encoding written by TableEncoding::save"
                ),
            )
        })?;
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
