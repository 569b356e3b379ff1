//! The epoch lines of [`Verbosity::Epochs`](crate::model::Verbosity::Epochs).

use super::{Callback, Control};
use crate::model::{EpochLog, Progress, Sequential};
use crate::Result;

/// Prints one line per epoch, for [`Verbosity::Epochs`], as Keras prints them with `verbose=2`:
/// `Epoch 3/10 - loss: 0.2871 - val_loss: 0.2702 - val_accuracy: 0.9213 - lr: 0.1 - 0.42s`
/// (a regression prints `val_mae` and `val_r2` instead of `val_accuracy`).
pub(crate) struct EpochPrinter {
    /// Epochs of the whole run, for `Epoch 3/10`.
    pub(crate) epochs: usize,
}

impl EpochPrinter {
    pub(crate) fn line(&self, log: &EpochLog) -> String {
        let mut line = format!(
            "Epoch {}/{} - loss: {:.4}",
            log.epoch + 1,
            self.epochs,
            log.loss
        );
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
        println!("{}", self.line(log));
        Ok(Control::Continue)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::RegressionMetrics;
    use std::time::Duration;

    #[test]
    fn the_epoch_printer_writes_keras_verbose_2_lines() {
        let printer = EpochPrinter { epochs: 10 };
        let mut log = EpochLog {
            epoch: 2,
            loss: 0.287_14,
            validation_loss: Some(0.270_19),
            validation_accuracy: Some(0.921_3),
            validation_regression: None,
            learning_rate: 0.1,
            duration: Duration::from_millis(420),
        };
        assert_eq!(
            printer.line(&log),
            "Epoch 3/10 - loss: 0.2871 - val_loss: 0.2702 - val_accuracy: 0.9213 - lr: 0.1 - 0.42s"
        );
        log.validation_loss = None;
        log.validation_accuracy = None;
        assert_eq!(
            printer.line(&log),
            "Epoch 3/10 - loss: 0.2871 - lr: 0.1 - 0.42s"
        );
        log.validation_loss = Some(0.25);
        log.validation_regression = Some(RegressionMetrics {
            mse: 0.25,
            rmse: 0.5,
            mae: 0.4,
            r2: 0.875,
        });
        assert_eq!(
            printer.line(&log),
            "Epoch 3/10 - loss: 0.2871 - val_loss: 0.2500 - val_mae: 0.4000 - val_r2: 0.8750 \
             - lr: 0.1 - 0.42s"
        );
    }
}
