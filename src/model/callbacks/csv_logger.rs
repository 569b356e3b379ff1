//! [`CsvLogger`]: one row per epoch in a CSV file, as Keras' `CSVLogger` callback writes it.

use super::{Callback, Control};
use crate::model::{EpochLog, Progress, Sequential};
use crate::{Error, Result};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes every epoch's results to a CSV file as training goes, as Keras' `CSVLogger`: a header
/// row, then one row per epoch, `epoch` counted from 0 as Keras counts it, then every number
/// of the epoch's [`EpochLog`] under Keras' names:
///
/// ```text
/// epoch,loss,accuracy,val_loss,val_accuracy,learning_rate
/// 0,0.4161,0.8876,0.3112,0.9124,0.1
/// ```
///
/// A regression writes `mae` and `r2` (and `val_mae`, `val_r2`) where a classifier writes
/// `accuracy`. Each row is on disk when the epoch ends (the file is opened, appended to and
/// closed), so a crash loses no finished epoch; numbers are written as Python writes floats
/// (`nan`, `inf`), so that pandas' `read_csv` reads them back.
///
/// A fresh run replaces the file, unless [`append`](CsvLogger::append) is set (Keras'
/// `append=True`). A run resumed from a training checkpoint
/// ([`FitConfig::checkpoint`](crate::FitConfig::checkpoint)) keeps the rows of the epochs the
/// checkpoint holds, drops any row of an epoch trained after it (the resumed run trains that
/// epoch again) and appends, so that the file ends as an uninterrupted run's would.
///
/// A path that cannot be written (a folder, a folder that does not exist, no permission) is
/// an error when the fit begins, before the first epoch.
///
/// ```no_run
/// use feedforward::model::{Callback, CsvLogger};
/// # use feedforward::prelude::*;
/// # fn train(model: &mut Sequential, data: &InMemory) -> feedforward::Result<()> {
/// let mut log = CsvLogger::new("training.csv");
/// let callbacks: &mut [&mut dyn Callback] = &mut [&mut log];
/// model.fit_with_callbacks(data, &CrossEntropy, &mut Sgd::new(0.1)?, &FitConfig::new(10), callbacks)?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct CsvLogger {
    path: PathBuf,
    append: bool,
    /// The columns of the file, once its first row of this fit is written.
    columns: Option<Vec<String>>,
    /// The epoch a resumed run starts at, reported before its first epoch.
    resumed_at: Option<usize>,
}

impl CsvLogger {
    /// Logs to the file at `path`.
    pub fn new(path: impl AsRef<Path>) -> Self {
        CsvLogger {
            path: path.as_ref().to_path_buf(),
            append: false,
            columns: None,
            resumed_at: None,
        }
    }

    /// Appends to an existing file instead of replacing it (Keras' `append=True`); its header
    /// is kept and the new rows follow its columns.
    pub fn append(mut self, append: bool) -> Self {
        self.append = append;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, action: &'static str, source: io::Error) -> Error {
        Error::io(action, &self.path, source)
    }

    /// Opens the file, as it will be for every row, to find a path that cannot be written now.
    fn check_writable(&self) -> Result<()> {
        if self.path.is_dir() {
            return Err(self.error(
                "writing the CSV log",
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is a folder; give a file name",
                ),
            ));
        }
        let folder = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if !folder.is_dir() {
            return Err(self.error(
                "writing the CSV log",
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no folder {}", folder.display()),
                ),
            ));
        }
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .map(drop)
            .map_err(|e| self.error("writing the CSV log", e))
    }

    /// The lines of the file as it is (none when it is missing).
    fn existing_lines(&self) -> Result<Vec<String>> {
        match fs::read_to_string(&self.path) {
            Ok(text) => Ok(text.lines().map(str::to_string).collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.error("reading the CSV log", e)),
        }
    }

    /// Readies the file for this fit's first row: its columns, and the rows it keeps.
    fn start(&mut self, log: &EpochLog) -> Result<Vec<String>> {
        let fresh: Vec<String> = std::iter::once("epoch".to_string())
            .chain(
                log_values(log)
                    .into_iter()
                    .map(|(name, _)| name.to_string()),
            )
            .collect();
        let lines = self.existing_lines()?;
        let keep_from = match self.resumed_at {
            Some(epoch) => Some(epoch),
            None if self.append => Some(usize::MAX),
            None => None,
        };
        let (columns, kept) = match (keep_from, lines.split_first()) {
            (Some(before), Some((header, rows))) if !header.is_empty() => {
                let columns: Vec<String> = header.split(',').map(str::to_string).collect();
                let kept: Vec<&String> = rows
                    .iter()
                    .filter(|row| {
                        let epoch = row.split(',').next().and_then(|e| e.parse::<usize>().ok());
                        epoch.is_some_and(|e| e < before)
                    })
                    .collect();
                let mut text = header.clone() + "\n";
                for row in &kept {
                    text += row;
                    text += "\n";
                }
                if kept.len() != rows.len() {
                    crate::io::atomic_write::write_atomically(&self.path, text.as_bytes())?;
                }
                (columns, true)
            }
            _ => (fresh, false),
        };
        if !kept {
            let header = columns.join(",") + "\n";
            crate::io::atomic_write::write_atomically(&self.path, header.as_bytes())?;
        }
        Ok(columns)
    }
}

/// The numbers of one epoch under Keras' names, in the order the columns take.
pub(crate) fn log_values(log: &EpochLog) -> Vec<(&'static str, f32)> {
    let mut values = vec![("loss", log.loss)];
    values.extend(log.accuracy.map(|v| ("accuracy", v)));
    if let Some(r) = log.regression {
        values.extend([("mae", r.mae as f32), ("r2", r.r2 as f32)]);
    }
    values.extend(log.validation_loss.map(|v| ("val_loss", v)));
    values.extend(log.validation_accuracy.map(|v| ("val_accuracy", v)));
    if let Some(r) = log.validation_regression {
        values.extend([("val_mae", r.mae as f32), ("val_r2", r.r2 as f32)]);
    }
    values.push(("learning_rate", log.learning_rate));
    values
}

/// A number as Python's `str(float)` writes it for these values: `0.25`, `nan`, `inf`, `-inf`.
fn number(value: f32) -> String {
    if value.is_nan() {
        "nan".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        value.to_string()
    }
}

impl Callback for CsvLogger {
    /// Checks that the file can be written, before the first epoch.
    fn on_train_begin(&mut self, _model: &mut Sequential) -> Result<()> {
        self.columns = None;
        self.resumed_at = None;
        self.check_writable()
    }

    fn on_progress(&mut self, progress: &Progress) {
        if let Progress::Resumed { epoch, .. } = *progress {
            self.resumed_at = Some(epoch);
        }
    }

    fn on_epoch_end(&mut self, _model: &mut Sequential, log: &EpochLog) -> Result<Control> {
        let columns = match self.columns.take() {
            Some(columns) => columns,
            None => self.start(log)?,
        };
        let values = log_values(log);
        let row: Vec<String> = columns
            .iter()
            .map(|column| match column.as_str() {
                "epoch" => log.epoch.to_string(),
                name => values
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(String::new(), |&(_, v)| number(v)),
            })
            .collect();
        self.columns = Some(columns);
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| self.error("writing the CSV log", e))?;
        file.write_all((row.join(",") + "\n").as_bytes())
            .map_err(|e| self.error("writing the CSV log", e))?;
        Ok(Control::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_in_python() {
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(f32::NAN), "nan");
        assert_eq!(number(f32::NEG_INFINITY), "-inf");
    }
}
