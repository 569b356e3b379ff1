//! [`ProgressBar`]: Keras' `verbose=1`, a bar per epoch on a terminal (feature `indicatif`, on
//! by default).

use super::epoch_printer::{epoch_line, resumed_line};
use super::{Callback, Control};
use crate::model::{EpochLog, Progress, Sequential};
use crate::Result;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Where the progress goes.
enum Output {
    /// A bar on standard output (a terminal), replaced by the epoch's line when it ends.
    Bar(Option<indicatif::ProgressBar>),
    /// Only the epochs' lines, written to this writer.
    Lines(Box<dyn Write + Send>),
}

/// Shows training as Keras' `verbose=1` does: on a terminal, one bar per epoch with the batch
/// count, the running loss (and accuracy, for a classifier), the samples per second and the
/// time left, replaced when the epoch ends by its line
/// (`Epoch 3/10 - loss: 0.2871 - accuracy: 0.9190 - val_loss: 0.2702 - val_accuracy: 0.9213 -
/// lr: 0.1 - 0.42s`); when standard output is not a terminal (a file, a pipe, a CI log), only
/// those lines, as Keras' `verbose=2` prints them.
///
/// [`FitConfig::verbose(Verbosity::ProgressBar)`](crate::FitConfig::verbose) adds one to a
/// fit; add it yourself to [`fit_with_callbacks`](crate::Sequential::fit_with_callbacks) to
/// choose where the lines go ([`ProgressBar::lines`]).
///
/// The bar is [indicatif](https://docs.rs/indicatif)'s, redrawn at most every 100 ms, so that
/// the display costs nothing per batch but a clock read.
pub struct ProgressBar {
    output: Output,
    epochs: usize,
    started: Instant,
    last_draw: Option<Instant>,
}

impl std::fmt::Debug for ProgressBar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let output = match self.output {
            Output::Bar(_) => "bar",
            Output::Lines(_) => "lines",
        };
        f.debug_struct("ProgressBar")
            .field("output", &output)
            .finish()
    }
}

impl Default for ProgressBar {
    fn default() -> Self {
        ProgressBar::new()
    }
}

/// Time between two redraws of the bar.
const REDRAW: Duration = Duration::from_millis(100);

impl ProgressBar {
    /// A bar on standard output when it is a terminal; the epochs' lines on it otherwise.
    pub fn new() -> Self {
        if std::io::stdout().is_terminal() {
            ProgressBar::with_output(Output::Bar(None))
        } else {
            ProgressBar::lines(std::io::stdout())
        }
    }

    /// No bar: one line per epoch (and one when a run resumes) written to `writer`, as when
    /// standard output is not a terminal.
    pub fn lines(writer: impl Write + Send + 'static) -> Self {
        ProgressBar::with_output(Output::Lines(Box::new(writer)))
    }

    fn with_output(output: Output) -> Self {
        ProgressBar {
            output,
            epochs: 0,
            started: Instant::now(),
            last_draw: None,
        }
    }

    /// Whether this one draws a bar (standard output is a terminal).
    pub fn draws_bar(&self) -> bool {
        matches!(self.output, Output::Bar(_))
    }

    fn print(&mut self, line: &str) {
        match &mut self.output {
            Output::Bar(bar) => {
                if let Some(bar) = bar.take() {
                    bar.finish_and_clear();
                }
                println!("{line}");
            }
            // A log that cannot be written must not stop training: the line is lost.
            Output::Lines(writer) => {
                let _ = writeln!(writer, "{line}").and_then(|()| writer.flush());
            }
        }
    }
}

/// The bar's message: `loss: 0.2871 - accuracy: 0.9190 - 5321 samples/s`.
fn message(
    running_loss: f32,
    running_accuracy: Option<f32>,
    rows: usize,
    time: Duration,
) -> String {
    let mut text = format!("loss: {running_loss:.4}");
    if let Some(accuracy) = running_accuracy {
        text += &format!(" - accuracy: {accuracy:.4}");
    }
    let seconds = time.as_secs_f64();
    if seconds > 0.0 {
        text += &format!(" - {:.0} samples/s", rows as f64 / seconds);
    }
    text
}

impl Callback for ProgressBar {
    fn on_progress(&mut self, progress: &Progress) {
        match *progress {
            Progress::Resumed {
                epoch,
                epochs,
                stopped,
            } => self.print(&resumed_line(epoch, epochs, stopped)),
            Progress::EpochStart {
                epoch,
                epochs,
                batches,
            } => {
                self.epochs = epochs;
                self.started = Instant::now();
                self.last_draw = None;
                if let Output::Bar(bar) = &mut self.output {
                    let style = indicatif::ProgressStyle::with_template(
                        "{prefix} {pos:>5}/{len} [{bar:30}] ETA: {eta} - {msg}",
                    )
                    .map(|style| style.progress_chars("=> "))
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
                    *bar = Some(
                        indicatif::ProgressBar::with_draw_target(
                            Some(batches as u64),
                            indicatif::ProgressDrawTarget::stdout(),
                        )
                        .with_style(style)
                        .with_prefix(format!("Epoch {}/{epochs}", epoch + 1)),
                    );
                }
            }
            Progress::Batch {
                batch,
                batches,
                running_loss,
                running_accuracy,
                rows,
                ..
            } => {
                let Output::Bar(Some(bar)) = &self.output else {
                    return;
                };
                let now = Instant::now();
                let due = self.last_draw.is_none_or(|last| now - last >= REDRAW);
                if due || batch + 1 == batches {
                    self.last_draw = Some(now);
                    bar.set_position(batch as u64 + 1);
                    bar.set_message(message(
                        running_loss,
                        running_accuracy,
                        rows,
                        now - self.started,
                    ));
                }
            }
            Progress::EpochEnd { .. } => {}
        }
    }

    fn on_epoch_end(&mut self, _model: &mut Sequential, log: &EpochLog) -> Result<Control> {
        let line = epoch_line(log, self.epochs);
        self.print(&line);
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, _model: &mut Sequential, _history: &crate::History) -> Result<()> {
        if let Output::Bar(bar) = &mut self.output {
            if let Some(bar) = bar.take() {
                bar.finish_and_clear();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_has_loss_accuracy_and_speed() {
        assert_eq!(
            message(0.28714, Some(0.919), 6400, Duration::from_secs(2)),
            "loss: 0.2871 - accuracy: 0.9190 - 3200 samples/s"
        );
        assert_eq!(message(1.5, None, 10, Duration::ZERO), "loss: 1.5000");
    }
}
