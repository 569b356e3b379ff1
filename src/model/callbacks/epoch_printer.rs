//! [`EpochPrinter`]: one line per epoch on standard output, Keras' `verbose=2`
//! ([`Verbosity::Epochs`](crate::Verbosity::Epochs)); its lines are also those of the
//! [`ProgressBar`](super::ProgressBar) when standard output is not a terminal.

use super::{Callback, Control};
use crate::model::{EpochLog, Progress, Sequential};
use crate::Result;

/// Prints one line per epoch, as Keras prints them with `verbose=2`:
/// `Epoch 3/10 - loss: 0.2871 - accuracy: 0.9190 - val_loss: 0.2702 - val_accuracy: 0.9213 -
/// lr: 0.1 - 0.42s` (a regression prints `mae` and `r2` where a classifier prints `accuracy`).
pub(crate) struct EpochPrinter {
    pub(crate) epochs: usize,
}

/// The line of one epoch of `epochs` (see [`EpochPrinter`]).
pub(crate) fn epoch_line(log: &EpochLog, epochs: usize) -> String {
    let mut line = format!("Epoch {}/{} - loss: {:.4}", log.epoch + 1, epochs, log.loss);
    if let Some(a) = log.accuracy {
        line.push_str(&format!(" - accuracy: {a:.4}"));
    }
    if let Some(r) = log.regression {
        line.push_str(&format!(" - mae: {:.4} - r2: {:.4}", r.mae, r.r2));
    }
    if let Some(v) = log.validation_loss {
        line.push_str(&format!(" - val_loss: {v:.4}"));
    }
    if let Some(a) = log.validation_accuracy {
        line.push_str(&format!(" - val_accuracy: {a:.4}"));
    }
    if let Some(r) = log.validation_regression {
        line.push_str(&format!(" - val_mae: {:.4} - val_r2: {:.4}", r.mae, r.r2));
    }
    line.push_str(&format!(
        " - lr: {} - {:.2}s",
        log.learning_rate,
        log.duration.as_secs_f64()
    ));
    line
}

/// `Resuming at epoch 4/10 from the checkpoint`, or what there is left when nothing is.
pub(crate) fn resumed_line(epoch: usize, epochs: usize, stopped: bool) -> String {
    if stopped {
        format!("Training stopped after epoch {epoch}/{epochs} (from the checkpoint)")
    } else if epoch >= epochs {
        format!("Training finished all {epochs} epochs (from the checkpoint)")
    } else {
        format!(
            "Resuming at epoch {}/{epochs} from the checkpoint",
            epoch + 1
        )
    }
}

impl Callback for EpochPrinter {
    fn on_progress(&mut self, progress: &Progress) {
        if let Progress::Resumed {
            epoch,
            epochs,
            stopped,
        } = *progress
        {
            println!("{}", resumed_line(epoch, epochs, stopped));
        }
    }

    fn on_epoch_end(&mut self, _model: &mut Sequential, log: &EpochLog) -> Result<Control> {
        println!("{}", epoch_line(log, self.epochs));
        Ok(Control::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::RegressionMetrics;
    use std::time::Duration;

    #[test]
    fn the_epoch_printer_writes_keras_verbose_2_lines() {
        let mut log = EpochLog {
            epoch: 2,
            loss: 0.287_14,
            accuracy: Some(0.919),
            regression: None,
            validation_loss: Some(0.270_19),
            validation_accuracy: Some(0.921_3),
            validation_regression: None,
            learning_rate: 0.1,
            duration: Duration::from_millis(420),
        };
        assert_eq!(
            epoch_line(&log, 10),
            "Epoch 3/10 - loss: 0.2871 - accuracy: 0.9190 - val_loss: 0.2702 - val_accuracy: \
             0.9213 - lr: 0.1 - 0.42s"
        );
        log.accuracy = None;
        log.validation_loss = None;
        log.validation_accuracy = None;
        assert_eq!(
            epoch_line(&log, 10),
            "Epoch 3/10 - loss: 0.2871 - lr: 0.1 - 0.42s"
        );
        let metrics = RegressionMetrics {
            mse: 0.25,
            rmse: 0.5,
            mae: 0.4,
            r2: 0.875,
        };
        log.validation_loss = Some(0.25);
        log.regression = Some(metrics);
        log.validation_regression = Some(metrics);
        assert_eq!(
            epoch_line(&log, 10),
            "Epoch 3/10 - loss: 0.2871 - mae: 0.4000 - r2: 0.8750 - val_loss: 0.2500 - val_mae: \
             0.4000 - val_r2: 0.8750 - lr: 0.1 - 0.42s"
        );
    }
}
