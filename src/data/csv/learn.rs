//! Learning a [`TableEncoding`] while reading the training file ([`CsvReader::read`]): one
//! pass writes every kept row's numbers (a text cell as its category's code) into the rows
//! that become the input matrix, then the codes are laid out one-hot in place, from the last
//! row back, so that the peak memory is the final matrices and not a copy of them.
//!
//! A feature is read as numbers until a cell is not one; when that happens after numbers, the
//! numbers' spellings are gone, so the file is read a second time with that column as text
//! (at most one more pass: the first finds every such column).

use super::encoding::{Encoded, Feature, FeatureKind, Target};
use super::pass::{
    no_rows, too_many, too_many_classes, FeaturePlan, Pass, TargetPlan, GUESS_MAX_CLASSES,
};
use super::source::{open, Header};
use super::{CsvReader, TableEncoding, UnknownCategory};
use crate::allocation::{filled_vec, too_large};
use crate::data::InMemory;
use crate::quote::quote;
use crate::task::Task;
use crate::{Error, Result};
use ndarray::Array2;
use std::path::Path;

/// Reads `path` with `reader`'s settings, learning its encoding.
pub(super) fn read(reader: &CsvReader, path: &Path) -> Result<(TableEncoding, Encoded)> {
    let (encoding, encoded) = learn(reader, &[path], true)?;
    Ok((
        encoding,
        encoded.expect("a pass that keeps its rows encodes them"),
    ))
}

/// Learns the encoding of the files at `paths` (one table cut in several files, each with the
/// same header) with `reader`'s settings, keeping no row: memory is the dictionaries of the
/// text columns, not the table.
pub(super) fn learn_encoding(reader: &CsvReader, paths: &[&Path]) -> Result<TableEncoding> {
    Ok(learn(reader, paths, false)?.0)
}

/// Reads the files at `paths`, learning their encoding, and encodes their rows when `keep`.
fn learn(
    reader: &CsvReader,
    paths: &[&Path],
    keep: bool,
) -> Result<(TableEncoding, Option<Encoded>)> {
    if reader.targets.is_empty() {
        return Err(Error::config(
            "target column",
            "(none)",
            "the name of the column to predict: CsvReader::new().target(\"label\")",
        ));
    }
    let Some(&first) = paths.first() else {
        return Err(Error::Empty {
            what: "list of CSV files".into(),
            hint: "give at least one file".into(),
        });
    };
    let (header, records) = open(first, reader.delimiter)?;
    let mut headers = vec![header];
    let mut all_records = vec![records];
    for &path in &paths[1..] {
        let (other, records) = open(path, reader.delimiter)?;
        if other.names != headers[0].names {
            return Err(other.error(
                Some(1),
                None,
                format!(
                    "its header is not that of {}: the files of one table have the same \
                     columns in the same order",
                    first.display()
                ),
            ));
        }
        headers.push(other);
        all_records.push(records);
    }
    let header = &headers[0];
    let columns = |names: &[String], role: &str| -> Result<Vec<usize>> {
        names.iter().map(|name| header.column(name, role)).collect()
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
                &header.names[t],
                format!("a column used once: it is {clash}"),
            ));
        }
    }
    let feature_columns: Vec<usize> = (0..header.names.len())
        .filter(|c| !targets.contains(c) && !ignored.contains(c))
        .collect();
    if feature_columns.is_empty() {
        return Err(Error::Empty {
            what: "feature columns".into(),
            hint: "the table needs at least one column besides the target and the ignored ones"
                .into(),
        });
    }
    if reader.task == Some(Task::Binary) {
        return Err(Error::config(
            "task",
            "binary classification",
            "Task::Classification (a table's class labels are one-hot encoded, for a Softmax) \
             or Task::Regression",
        ));
    }
    if reader.task == Some(Task::Classification) && targets.len() > 1 {
        return Err(Error::config(
            "task",
            "classification",
            format!(
                "one target column for classification ({} given: {}); several targets are \
                 for multi-output regression",
                targets.len(),
                reader.targets.join(", ")
            ),
        ));
    }
    let mut text_features = categorical;
    let mut text_target = false;
    loop {
        let features = feature_columns
            .iter()
            .enumerate()
            .map(|(i, &c)| match text_features.contains(&c) {
                true => (c, FeaturePlan::categories(i)),
                false => (c, FeaturePlan::auto(i)),
            })
            .collect();
        let target = match (reader.task, targets.as_slice()) {
            (Some(Task::Regression), _) | (None, [_, _, ..]) => TargetPlan::Values {
                columns: targets.clone(),
            },
            (task, _) => TargetPlan::learn(
                targets[0],
                text_target,
                task == Some(Task::Classification),
                reader.max_categories,
            ),
        };
        let mut pass = Pass::new(
            header,
            features,
            feature_columns.len(),
            target,
            reader.missing,
            UnknownCategory::Error,
            reader.max_categories,
        );
        for (file, records) in headers.iter().zip(all_records.iter_mut()) {
            pass.header = file;
            records.for_each(|line, record| {
                pass.row(line, record)?;
                if !keep {
                    pass.clear_rows();
                }
                Ok(())
            })?;
        }
        pass.header = header;
        let (flipped, flipped_target) = pass.flipped();
        if flipped.is_empty() && !flipped_target {
            return finish(pass, reader, keep);
        }
        text_features.extend(flipped);
        text_target |= flipped_target;
        drop(pass);
        all_records = paths
            .iter()
            .map(|path| Ok(open(path, reader.delimiter)?.1))
            .collect::<Result<_>>()?;
    }
}

/// What a learned feature becomes in the input row.
enum Layout {
    Numeric,
    /// One-hot: the sorted index of every code.
    OneHot(Vec<u32>),
}

/// Turns a finished learning pass into the encoding, and the encoded table when the pass
/// kept its rows.
fn finish(
    pass: Pass<'_>,
    reader: &CsvReader,
    keep: bool,
) -> Result<(TableEncoding, Option<Encoded>)> {
    let header = pass.header;
    let rows = pass.rows();
    if rows == 0 {
        return Err(no_rows(header, pass.rows_read));
    }
    let dropped = pass.rows_read - rows;
    let mut features = Vec::with_capacity(pass.features.len());
    let mut layouts = Vec::with_capacity(pass.features.len());
    let mut first_error: Option<(u64, Error)> = None;
    for (c, plan) in pass.features {
        let name = header.names[c].clone();
        match plan {
            FeaturePlan::Auto { not_finite, .. } => {
                if let Some((line, error)) = not_finite {
                    if first_error.as_ref().is_none_or(|(l, _)| line < *l) {
                        first_error = Some((line, error));
                    }
                }
                features.push(Feature {
                    name,
                    kind: FeatureKind::Numeric,
                });
                layouts.push(Layout::Numeric);
            }
            FeaturePlan::Categories { dictionary, .. } => {
                if dictionary.len() > reader.max_categories {
                    return Err(too_many(header, c, reader.max_categories));
                }
                let (categories, index) = dictionary.sorted();
                features.push(Feature {
                    name,
                    kind: FeatureKind::OneHot { categories },
                });
                layouts.push(Layout::OneHot(index));
            }
            FeaturePlan::Numeric { .. } | FeaturePlan::OneHot { .. } => {
                unreachable!("a learning pass plans Auto and Categories features")
            }
        }
    }
    if let Some((_, error)) = first_error {
        return Err(error);
    }
    let values = keep.then_some(pass.targets);
    let (target, targets) = learned_target(header, pass.target, values, &pass.lines, reader, rows)?;
    let encoding = TableEncoding::new(
        features,
        target,
        reader.missing,
        reader.unknown,
        reader.delimiter,
    );
    let Some(targets) = targets else {
        return Ok((encoding, None));
    };
    let inputs = lay_out(pass.inputs, rows, &layouts, encoding.input_width())?;
    let encoded = Encoded {
        data: InMemory::new(inputs, targets)?,
        lines: pass.lines,
        dropped_rows: dropped,
    };
    Ok((encoding, Some(encoded)))
}

/// Lays out `data`, `rows` rows of one value (or category code) per feature, as the final
/// input rows of `width` values, in place.
fn lay_out(
    mut data: Vec<f32>,
    rows: usize,
    layouts: &[Layout],
    width: usize,
) -> Result<Array2<f32>> {
    let stored = layouts.len();
    if layouts.iter().all(|l| matches!(l, Layout::Numeric)) {
        return Ok(Array2::from_shape_vec((rows, stored), data).expect("rows x features values"));
    }
    let len = rows
        .checked_mul(width)
        .ok_or_else(|| too_large("the table's inputs", rows as u128 * width as u128, 4))?;
    data.try_reserve_exact(len - data.len())
        .map_err(|_| too_large("the table's inputs", len as u128, 4))?;
    data.resize(len, 0.0);
    // From the last row back: row r's final place starts at r * width >= r * stored, so it
    // never overwrites a row not yet laid out.
    let mut row = vec![0.0f32; stored];
    for r in (0..rows).rev() {
        row.copy_from_slice(&data[r * stored..(r + 1) * stored]);
        let out = &mut data[r * width..(r + 1) * width];
        out.fill(0.0);
        let mut offset = 0;
        for (layout, &value) in layouts.iter().zip(&row) {
            match layout {
                Layout::Numeric => {
                    out[offset] = value;
                    offset += 1;
                }
                Layout::OneHot(index) => {
                    out[offset + index[value.to_bits() as usize] as usize] = 1.0;
                    offset += index.len();
                }
            }
        }
    }
    Ok(Array2::from_shape_vec((rows, width), data).expect("rows x width values"))
}

/// The learned target, and the target matrix from the pass's values when it kept them
/// (without them, the values that are not finite are found when the rows are encoded).
fn learned_target(
    header: &Header,
    plan: TargetPlan,
    values: Option<Vec<f32>>,
    lines: &super::lines::Lines,
    reader: &CsvReader,
    rows: usize,
) -> Result<(Target, Option<Array2<f32>>)> {
    let regression = |values: Option<Vec<f32>>, width: usize| {
        let target = Target::Values {
            columns: reader.targets.clone(),
        };
        let matrix = values.map(|values| {
            Array2::from_shape_vec((rows, width), values).expect("rows x targets values")
        });
        Ok((target, matrix))
    };
    let (column, labels) = match plan {
        TargetPlan::Values { columns } => return regression(values, columns.len()),
        TargetPlan::Learn { column, labels } => (column, labels),
        TargetPlan::None | TargetPlan::Classes { .. } => {
            unreachable!("a learning pass learns its target")
        }
    };
    let task = match reader.task {
        Some(task) => task,
        None if labels.text => Task::Classification,
        None if labels.overflowed => Task::Regression,
        None => guess_task(labels.values.iter().map(|(v, _)| *v), rows),
    };
    if task == Task::Regression {
        if labels.overflowed {
            let kept = values.as_deref().unwrap_or_default();
            if let Some(r) = kept.iter().position(|v| !v.is_finite()) {
                return Err(header.error(
                    Some(lines.get(r)),
                    Some(column),
                    "a value that is not a finite 32-bit number (a regression target)",
                ));
            }
            return regression(values, 1);
        }
        let Some(mut values) = values else {
            if let Some((_, spelling)) =
                labels.values.iter().find(|(v, _)| !(*v as f32).is_finite())
            {
                return Err(header.error(
                    None,
                    Some(column),
                    format!(
                        "{} is not a finite 32-bit number (a regression target)",
                        quote(spelling)
                    ),
                ));
            }
            return regression(None, 1);
        };
        for (r, v) in values.iter_mut().enumerate() {
            let (value, spelling) = &labels.values[v.to_bits() as usize];
            *v = *value as f32;
            if !v.is_finite() {
                return Err(header.error(
                    Some(lines.get(r)),
                    Some(column),
                    format!(
                        "{} is not a finite 32-bit number (a regression target)",
                        quote(spelling)
                    ),
                ));
            }
        }
        return regression(Some(values), 1);
    }
    // Classification: the classes sorted, each code's index among them.
    let numeric = !labels.text;
    let (classes, index) = match numeric {
        false => labels.by_text.sorted(),
        true => {
            let values = labels.values;
            let mut order: Vec<u32> = (0..values.len() as u32).collect();
            order.sort_by(|&a, &b| values[a as usize].0.total_cmp(&values[b as usize].0));
            let mut index = vec![0u32; order.len()];
            for (i, &code) in order.iter().enumerate() {
                index[code as usize] = i as u32;
            }
            let mut values = values;
            let classes = order
                .iter()
                .map(|&code| std::mem::take(&mut values[code as usize].1))
                .collect();
            (classes, index)
        }
    };
    if classes.len() > reader.max_categories {
        return Err(too_many_classes(header, column, reader.max_categories));
    }
    if classes.len() < 2 {
        return Err(header.error(
            None,
            Some(column),
            format!(
                "a single class ({}) in the target: a classifier needs at least two",
                quote(&classes[0])
            ),
        ));
    }
    let target = Target::Classes {
        column: header.names[column].clone(),
        classes,
        numeric,
    };
    let Some(values) = values else {
        return Ok((target, None));
    };
    let k = target_width(&target);
    let what = "one-hot targets";
    let len = rows
        .checked_mul(k)
        .ok_or_else(|| too_large(what, rows as u128 * k as u128, 4))?;
    let mut one_hot = filled_vec(what, len, 0.0f32)?;
    for (r, code) in values.iter().enumerate() {
        one_hot[r * k + index[code.to_bits() as usize] as usize] = 1.0;
    }
    drop(values);
    Ok((
        target,
        Some(Array2::from_shape_vec((rows, k), one_hot).expect("rows x classes values")),
    ))
}

/// The number of classes of a classification target.
fn target_width(target: &Target) -> usize {
    match target {
        Target::Classes { classes, .. } => classes.len(),
        Target::Values { columns } => columns.len(),
    }
}

/// The task AutoGluon's `infer_problem_type` guesses for a target column of numbers (text is
/// classification), from its distinct `values` over `rows` rows: exactly two distinct values
/// is classification; whole numbers with at most 1,000 distinct values, and at most 10% as
/// many distinct values as rows (5% above 1,000 rows), are classification; anything else
/// regression.
fn guess_task(values: impl Iterator<Item = f64>, rows: usize) -> Task {
    let mut distinct = 0usize;
    let mut whole = true;
    for v in values {
        distinct += 1;
        whole &= v.fract() == 0.0;
    }
    let threshold = if rows > 1000 { 0.05 } else { 0.1 };
    if distinct == 2
        || (whole && distinct <= GUESS_MAX_CLASSES && distinct as f64 / rows as f64 <= threshold)
    {
        Task::Classification
    } else {
        Task::Regression
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_guessed_as_autogluon_does() {
        let guess =
            |rows: usize, modulo: usize| guess_task((0..rows.min(modulo)).map(|v| v as f64), rows);
        assert_eq!(guess(150, 3), Task::Classification); // iris as 0/1/2
        assert_eq!(guess(100, 10), Task::Classification); // ratio 0.1
        assert_eq!(guess(100, 11), Task::Regression); // ratio 0.11
        assert_eq!(guess(2000, 100), Task::Classification); // 0.05 above 1,000 rows
        assert_eq!(guess(2000, 101), Task::Regression);
        let halves = [0.5, 1.5, 2.5];
        assert_eq!(guess_task(halves.into_iter(), 100), Task::Regression);
        assert_eq!(
            guess_task([0.5, 1.5].into_iter(), 100),
            Task::Classification
        );
    }
}
