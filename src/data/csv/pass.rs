//! One pass over a table's rows, writing each kept row's numbers as it is read: no cell is kept
//! as text, so memory is the `f32` rows (and a dictionary per text column), not the file.
//!
//! A pass either learns (a feature is read as numbers until a cell is not one; a text column's
//! categories and the target's labels are gathered in dictionaries, capped) or applies a known
//! [`TableEncoding`](super::TableEncoding) (each row written in its final, one-hot layout).

use super::lines::Lines;
use super::raw::{is_missing, number};
use super::source::Header;
use super::{Missing, UnknownCategory};
use crate::quote::{list, quote};
use crate::{Error, Result};
use ::csv::StringRecord;
use std::collections::HashMap;

/// Distinct text values in the order they are first seen, each with its code.
#[derive(Default)]
pub(crate) struct Dictionary {
    codes: HashMap<String, u32>,
    names: Vec<String>,
}

impl Dictionary {
    /// The code of `cell`, added if new; `None` when adding it would pass `cap` values.
    fn code(&mut self, cell: &str, cap: usize) -> Option<u32> {
        if let Some(&code) = self.codes.get(cell) {
            return Some(code);
        }
        if self.names.len() >= cap {
            return None;
        }
        let code = self.names.len() as u32;
        self.codes.insert(cell.to_string(), code);
        self.names.push(cell.to_string());
        Some(code)
    }

    /// The values sorted by code point (as `np.unique` sorts strings), and for every code its
    /// index among them.
    pub(crate) fn sorted(self) -> (Vec<String>, Vec<u32>) {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut index = vec![0; order.len()];
        for (i, &code) in order.iter().enumerate() {
            index[code as usize] = i as u32;
        }
        let mut names = self.names;
        let sorted = order
            .iter()
            .map(|&code| std::mem::take(&mut names[code as usize]))
            .collect();
        (sorted, index)
    }

    /// How many values it holds.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// What a pass does with one feature column; `offset` is where its value (or its first
/// one-hot column) goes in a row.
pub(crate) enum FeaturePlan {
    /// Learning: numbers, until a cell is not a number.
    Auto {
        /// Where its value goes in a row.
        offset: usize,
        /// Whether a kept row had a number here (a later text cell then needs another pass).
        numbers_seen: bool,
        /// A text cell came after numbers: the column is text, and the pass must be redone.
        flipped: bool,
        /// The first value that is not a finite `f32` (its line, and the error if the column
        /// stays numeric).
        not_finite: Option<(u64, Error)>,
    },
    /// Learning: a text column's categories, written as their codes' bits.
    Categories {
        /// Where its code goes in a row.
        offset: usize,
        /// The categories seen so far.
        dictionary: Dictionary,
    },
    /// Applying an encoding: a number.
    Numeric {
        /// Where its value goes in a row.
        offset: usize,
    },
    /// Applying an encoding: one 0/1 column per known category.
    OneHot {
        /// Where its first column goes in a row.
        offset: usize,
        /// Each category's index.
        index: HashMap<String, usize>,
        /// The categories, for error messages.
        categories: Vec<String>,
    },
}

impl FeaturePlan {
    /// Learning a feature at `offset`: numbers until a cell is not one.
    pub(crate) fn auto(offset: usize) -> FeaturePlan {
        FeaturePlan::Auto {
            offset,
            numbers_seen: false,
            flipped: false,
            not_finite: None,
        }
    }

    /// Learning a text feature's categories, at `offset`.
    pub(crate) fn categories(offset: usize) -> FeaturePlan {
        FeaturePlan::Categories {
            offset,
            dictionary: Dictionary::default(),
        }
    }
}

/// The labels of a target column being learned.
pub(crate) struct LabelsPlan {
    /// Whether labels are matched as text (each spelling its own class) rather than by value.
    pub(crate) text: bool,
    /// Whether the task was declared classification (else it is guessed).
    declared: bool,
    /// The most classes a classification may have.
    max_classes: usize,
    /// Labels seen, by value (the `f64`'s bits, `-0` as `0`), each with its code.
    by_value: HashMap<u64, u32>,
    /// Labels seen, by spelling.
    pub(crate) by_text: Dictionary,
    /// For every code, its value and first spelling (numbers only).
    pub(crate) values: Vec<(f64, String)>,
    /// A text label came after numbers: labels are text, and the pass must be redone.
    flipped: bool,
    /// More distinct numbers than a guessed classification may have: the targets now hold
    /// values, not codes.
    pub(crate) overflowed: bool,
}

/// The most distinct numbers a target guessed to be classification may have (AutoGluon's
/// threshold; see `guess_task`).
pub(crate) const GUESS_MAX_CLASSES: usize = 1000;

/// What a pass does with the target column(s).
pub(crate) enum TargetPlan {
    /// No target (rows to predict).
    None,
    /// Learning class labels, or guessing the task, from one column: one code per row.
    Learn {
        /// The column.
        column: usize,
        /// What is learned.
        labels: Box<LabelsPlan>,
    },
    /// Regression values, one per column.
    Values {
        /// The columns.
        columns: Vec<usize>,
    },
    /// Applying an encoding: one-hot over known classes.
    Classes {
        /// The column.
        column: usize,
        /// Whether classes are matched by value.
        numeric: bool,
        /// Each class's index, by spelling (text classes).
        by_text: HashMap<String, usize>,
        /// Each class's index, by value (numeric classes).
        by_value: HashMap<u64, usize>,
        /// The classes, for error messages.
        classes: Vec<String>,
    },
}

/// The bits that identify a label's value: `-0` and `0` are one label.
fn value_key(v: f64) -> u64 {
    if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

impl TargetPlan {
    /// Known classes, for applying an encoding.
    pub(crate) fn classes(column: usize, classes: &[String], numeric: bool) -> TargetPlan {
        let mut by_text = HashMap::new();
        let mut by_value = HashMap::new();
        for (i, class) in classes.iter().enumerate() {
            match numeric {
                true => {
                    if let Some(v) = number(class) {
                        by_value.insert(value_key(v), i);
                    }
                }
                false => {
                    by_text.insert(class.clone(), i);
                }
            }
        }
        TargetPlan::Classes {
            column,
            numeric,
            by_text,
            by_value,
            classes: classes.to_vec(),
        }
    }

    /// Labels to learn from `column`, matched as text when `text`, for a classification
    /// `declared` or a guessed task, with at most `max_classes` classes.
    pub(crate) fn learn(
        column: usize,
        text: bool,
        declared: bool,
        max_classes: usize,
    ) -> TargetPlan {
        TargetPlan::Learn {
            column,
            labels: Box::new(LabelsPlan {
                text,
                declared,
                max_classes,
                by_value: HashMap::new(),
                by_text: Dictionary::default(),
                values: Vec::new(),
                flipped: false,
                overflowed: false,
            }),
        }
    }

    /// The width of a target row during the pass.
    fn width(&self) -> usize {
        match self {
            TargetPlan::None => 0,
            TargetPlan::Learn { .. } => 1,
            TargetPlan::Values { columns } => columns.len(),
            TargetPlan::Classes { classes, .. } => classes.len(),
        }
    }

    fn columns(&self) -> Vec<usize> {
        match self {
            TargetPlan::None => Vec::new(),
            TargetPlan::Learn { column, .. } | TargetPlan::Classes { column, .. } => vec![*column],
            TargetPlan::Values { columns } => columns.clone(),
        }
    }
}

/// One pass over the rows: the plans, and what has been written so far.
pub(crate) struct Pass<'h> {
    pub(crate) header: &'h Header,
    /// Each feature's column and plan, in the encoding's order.
    pub(crate) features: Vec<(usize, FeaturePlan)>,
    pub(crate) target: TargetPlan,
    missing: Missing,
    unknown: UnknownCategory,
    /// The cap on a learned text feature's categories.
    max_categories: usize,
    /// Columns checked for missing cells: features, then targets.
    used: Vec<usize>,
    /// Whether each used column's cells are parsed as numbers.
    numeric: Vec<bool>,
    /// The parsed cells of the current row (by position in `used`).
    parsed: Vec<Option<f64>>,
    /// The width of an input row.
    pub(crate) input_width: usize,
    /// The width of a target row.
    pub(crate) target_width: usize,
    /// The kept rows' inputs, row after row.
    pub(crate) inputs: Vec<f32>,
    /// The kept rows' targets (codes' bits while labels are learned), row after row.
    pub(crate) targets: Vec<f32>,
    /// The line of every kept row.
    pub(crate) lines: Lines,
    /// Rows read, kept or not.
    pub(crate) rows_read: usize,
}

impl<'h> Pass<'h> {
    /// A pass with these plans; `input_width` is the width of an input row the plans write.
    pub(crate) fn new(
        header: &'h Header,
        features: Vec<(usize, FeaturePlan)>,
        input_width: usize,
        target: TargetPlan,
        missing: Missing,
        unknown: UnknownCategory,
        max_categories: usize,
    ) -> Pass<'h> {
        let target_columns = target.columns();
        let used: Vec<usize> = features
            .iter()
            .map(|(c, _)| *c)
            .chain(target_columns.iter().copied())
            .collect();
        let mut numeric: Vec<bool> = features
            .iter()
            .map(|(_, plan)| matches!(plan, FeaturePlan::Auto { .. } | FeaturePlan::Numeric { .. }))
            .collect();
        numeric.extend(target_columns.iter().map(|_| match &target {
            TargetPlan::Learn { labels, .. } => !labels.text,
            TargetPlan::Classes { numeric, .. } => *numeric,
            _ => true,
        }));
        Pass {
            header,
            features,
            target_width: target.width(),
            target,
            missing,
            unknown,
            max_categories,
            parsed: vec![None; used.len()],
            used,
            numeric,
            input_width,
            inputs: Vec::new(),
            targets: Vec::new(),
            lines: Lines::default(),
            rows_read: 0,
        }
    }

    /// Forgets the numbers written so far (their rows are still counted, their lines kept):
    /// a pass that learns an encoding or indexes a file without keeping its rows.
    pub(crate) fn clear_rows(&mut self) {
        self.inputs.clear();
        self.targets.clear();
    }

    /// Forgets the rows read so far altogether (numbers, lines and counts), keeping the room
    /// allocated: a pass that encodes a few rows at a time.
    pub(crate) fn forget_rows(&mut self) {
        self.clear_rows();
        self.lines.clear();
        self.rows_read = 0;
    }

    /// The rows kept so far.
    pub(crate) fn rows(&self) -> usize {
        self.lines.len()
    }

    /// Whether a learned column turned out to be text after numbers: (feature columns, the
    /// target), to be read as text by another pass.
    pub(crate) fn flipped(&self) -> (Vec<usize>, bool) {
        let features = self
            .features
            .iter()
            .filter(|(_, plan)| matches!(plan, FeaturePlan::Auto { flipped: true, .. }))
            .map(|(c, _)| *c)
            .collect();
        let target = matches!(&self.target, TargetPlan::Learn { labels, .. } if labels.flipped);
        (features, target)
    }

    /// Reads one record, found at `line`: drops it (a missing cell, with [`Missing::DropRows`])
    /// or writes its numbers.
    pub(crate) fn row(&mut self, line: u64, record: &StringRecord) -> Result<()> {
        self.rows_read += 1;
        let cell = |c: usize| trim(record.get(c).unwrap_or(""));
        for (i, &c) in self.used.iter().enumerate() {
            let text = cell(c);
            // A cell that is a number (not NaN) is never a missing-value marker: most cells
            // are tested once, by the parse.
            let value = if self.numeric[i] { number(text) } else { None };
            self.parsed[i] = value;
            if value.is_some_and(|v| !v.is_nan()) || !is_missing(text) {
                continue;
            }
            if self.missing == Missing::DropRows {
                return Ok(());
            }
            let what = match text {
                "" => "an empty cell".to_string(),
                marker => format!("the missing-value marker {}", quote(marker)),
            };
            return Err(self.header.error(
                Some(line),
                Some(c),
                format!(
                    "{what}: fill it in, or drop such rows (Missing::DropRows, --drop-missing in \
                     the tabular example)"
                ),
            ));
        }
        let start = self.inputs.len();
        grow(&mut self.inputs, self.input_width)?;
        let row = &mut self.inputs[start..];
        for (i, (c, plan)) in self.features.iter_mut().enumerate() {
            let (c, text, value) = (*c, cell(*c), self.parsed[i]);
            let header = self.header;
            match plan {
                FeaturePlan::Auto {
                    offset,
                    numbers_seen,
                    flipped,
                    not_finite,
                } => match value {
                    _ if *flipped => {}
                    Some(v) => {
                        *numbers_seen = true;
                        row[*offset] = v as f32;
                        if !(v as f32).is_finite() && not_finite.is_none() {
                            *not_finite = Some((
                                line,
                                not_a_finite_f32(header, line, c, text, "a numeric feature"),
                            ));
                        }
                    }
                    None if *numbers_seen => *flipped = true,
                    None => {
                        // The first kept row: the column is text from the start.
                        let mut dictionary = Dictionary::default();
                        let code = dictionary
                            .code(text, self.max_categories)
                            .ok_or_else(|| too_many(header, c, self.max_categories))?;
                        row[*offset] = f32::from_bits(code);
                        *plan = FeaturePlan::Categories {
                            offset: *offset,
                            dictionary,
                        };
                    }
                },
                FeaturePlan::Categories { offset, dictionary } => {
                    let code = dictionary
                        .code(text, self.max_categories)
                        .ok_or_else(|| too_many(header, c, self.max_categories))?;
                    row[*offset] = f32::from_bits(code);
                }
                FeaturePlan::Numeric { offset } => {
                    row[*offset] = finite(header, line, c, text, value, "a numeric feature")?;
                }
                FeaturePlan::OneHot {
                    offset,
                    index,
                    categories,
                } => match index.get(text) {
                    Some(&k) => row[*offset + k] = 1.0,
                    None if self.unknown == UnknownCategory::Ignore => {}
                    None => {
                        return Err(header.error(
                            Some(line),
                            Some(c),
                            format!(
                                "category {} is not one of those of the training data ({}); \
                                 UnknownCategory::Ignore encodes unknown categories as zeros",
                                quote(text),
                                list(categories)
                            ),
                        ))
                    }
                },
            }
        }
        let start = self.targets.len();
        grow(&mut self.targets, self.target_width)?;
        let features = self.features.len();
        let header = self.header;
        match &mut self.target {
            TargetPlan::None => {}
            TargetPlan::Values { columns } => {
                for (j, &c) in columns.iter().enumerate() {
                    self.targets[start + j] = finite(
                        header,
                        line,
                        c,
                        cell(c),
                        self.parsed[features + j],
                        "a regression target",
                    )?;
                }
            }
            TargetPlan::Classes {
                column,
                numeric,
                by_text,
                by_value,
                classes,
            } => {
                let text = cell(*column);
                let found = match numeric {
                    true => self.parsed[features].and_then(|v| by_value.get(&value_key(v))),
                    false => by_text.get(text),
                };
                match found {
                    Some(&k) => self.targets[start + k] = 1.0,
                    None => {
                        return Err(header.error(
                            Some(line),
                            Some(*column),
                            format!(
                                "class {} is not one of the classes of the training data ({})",
                                quote(text),
                                list(classes)
                            ),
                        ))
                    }
                }
            }
            TargetPlan::Learn { column, labels } => {
                let text = cell(*column);
                let parsed = self.parsed[features];
                labels.add(header, *column, text, parsed, &mut self.targets, start)?;
            }
        }
        self.lines.push(line);
        Ok(())
    }
}

impl LabelsPlan {
    /// Learns the label `text` (parsed as `value`) of a row and writes its code, or
    /// its value once overflowed, to `targets[row]`; when the distinct numbers pass
    /// [`GUESS_MAX_CLASSES`] (a guessed task), the earlier rows' codes become values.
    fn add(
        &mut self,
        header: &Header,
        column: usize,
        text: &str,
        value: Option<f64>,
        targets: &mut [f32],
        row: usize,
    ) -> Result<()> {
        let slot = &mut targets[row];
        if self.flipped {
            return Ok(());
        }
        if self.text {
            let cap = self.max_classes;
            let code = self
                .by_text
                .code(text, cap)
                .ok_or_else(|| too_many_classes(header, column, cap))?;
            *slot = f32::from_bits(code);
            return Ok(());
        }
        let Some(v) = value else {
            if self.values.is_empty() {
                // Text from the first row: labels are text.
                self.text = true;
                return self.add(header, column, text, value, targets, row);
            }
            self.flipped = true;
            return Ok(());
        };
        if self.overflowed {
            // Checked to be finite once the task is known (see `learn::learned_target`).
            *slot = v as f32;
            return Ok(());
        }
        let next = self.values.len() as u32;
        let code = *self.by_value.entry(value_key(v)).or_insert(next);
        if code == next {
            let cap = match self.declared {
                true => self.max_classes,
                false => GUESS_MAX_CLASSES,
            };
            if self.values.len() >= cap {
                if self.declared {
                    return Err(too_many_classes(header, column, cap));
                }
                // More distinct numbers than a guessed classification has: a regression,
                // and the codes of the rows before this one become their values.
                for t in &mut targets[..row] {
                    *t = self.values[t.to_bits() as usize].0 as f32;
                }
                self.overflowed = true;
                self.by_value = HashMap::new();
                return self.add(header, column, text, value, targets, row);
            }
            self.values.push((v, text.to_string()));
        }
        *slot = f32::from_bits(code);
        Ok(())
    }
}

/// `cell` without surrounding white space (as `str::trim`), quick for the usual cell that
/// starts and ends with a visible ASCII character.
fn trim(cell: &str) -> &str {
    match (cell.as_bytes().first(), cell.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => cell,
        _ => cell.trim(),
    }
}

/// Makes room for one more row of `width` values (zeros) at the end of `data`.
fn grow(data: &mut Vec<f32>, width: usize) -> Result<()> {
    data.try_reserve(width).map_err(|_| {
        crate::allocation::too_large("the table's rows", data.len() as u128 + width as u128, 4)
    })?;
    data.resize(data.len() + width, 0.0);
    Ok(())
}

/// The cell `text` (parsed as `value`) at `line`, column `c`, as a finite `f32`, or an error
/// saying why it is not one.
fn finite(
    header: &Header,
    line: u64,
    c: usize,
    text: &str,
    value: Option<f64>,
    what: &str,
) -> Result<f32> {
    match value {
        Some(v) if (v as f32).is_finite() => Ok(v as f32),
        Some(_) => Err(not_a_finite_f32(header, line, c, text, what)),
        None => Err(header.error(
            Some(line),
            Some(c),
            format!(
                "{} is not a number, but the column is {what} (numbers only in the training \
                 data)",
                quote(text)
            ),
        )),
    }
}

fn not_a_finite_f32(header: &Header, line: u64, c: usize, text: &str, what: &str) -> Error {
    header.error(
        Some(line),
        Some(c),
        format!("{} is not a finite 32-bit number ({what})", quote(text)),
    )
}

/// The error for a text feature `c` with more than `max` categories.
pub(crate) fn too_many(header: &Header, c: usize, max: usize) -> Error {
    header.error(
        None,
        Some(c),
        format!(
            "more than {max} distinct values: one-hot encoding would make one input column per \
             value. If it is an identifier, leave it out with .ignore({}); if it holds numbers, \
             fix its cells that are not numbers (or do not declare it categorical) so that it is \
             read as numbers; to allow more categories, raise CsvReader::max_categories",
            quote(&header.names[c])
        ),
    )
}

/// The error for a target `c` with more than `max` classes.
pub(crate) fn too_many_classes(header: &Header, c: usize, max: usize) -> Error {
    header.error(
        None,
        Some(c),
        format!(
            "more than {max} classes in the target: a classifier over so many classes is \
             probably not what was meant. If the target is a number to predict, set \
             .task(Task::Regression); to allow more classes, raise CsvReader::max_categories"
        ),
    )
}

/// The error for a table left without rows, after `rows_read` rows.
pub(crate) fn no_rows(header: &Header, rows_read: usize) -> Error {
    let what = match &header.file {
        Some(file) => format!("table {}", file.display()),
        None => "table".to_string(),
    };
    Error::Empty {
        what,
        hint: match rows_read {
            0 => "give at least one row below the header".to_string(),
            n => format!("every one of its {n} rows has a missing cell"),
        },
    }
}
