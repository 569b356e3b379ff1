//! `Verbosity::ProgressBar` / `ProgressBar`: a bar on a terminal; when the output is not a
//! terminal, plain epoch lines (Keras' `verbose=2`) with the training metric beside the loss.
#![cfg(feature = "indicatif")]

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use feedforward::model::ProgressBar;
use feedforward::prelude::*;

/// A writer whose bytes the test reads back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn data() -> InMemory {
    let mut rng = RandomState::new(2);
    let x = rng.rand(40, 3).unwrap();
    let labels: Vec<usize> = (0..40).map(|i| i % 2).collect();
    InMemory::new(x, one_hot(&labels, 2).unwrap()).unwrap()
}

fn model() -> Sequential {
    let mut rng = RandomState::new(0);
    Sequential::builder(3)
        .push(Dense::new(3, 2, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

#[test]
fn without_a_terminal_it_writes_one_line_per_epoch() {
    let out = Shared::default();
    let mut bar = ProgressBar::lines(out.clone());
    assert!(!bar.draws_bar());
    let config = FitConfig::new(2)
        .batch_size(8)
        .validation(Validation::Fraction(0.25));
    let history = model()
        .fit_with_callbacks(
            &data(),
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
            &config,
            &mut [&mut bar],
        )
        .unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (epoch, line) in lines.iter().enumerate() {
        let expected = format!(
            "Epoch {}/2 - loss: {:.4} - accuracy: {:.4} - val_loss: {:.4} - val_accuracy: {:.4} \
             - lr: 0.1 - ",
            epoch + 1,
            history.epoch_losses[epoch],
            history.accuracies[epoch],
            history.validation_losses[epoch],
            history.validation_accuracies[epoch],
        );
        assert!(line.starts_with(&expected), "{line}\nnot {expected}");
        assert!(line.ends_with('s'), "{line}");
    }
}

#[test]
fn the_default_bar_draws_only_on_a_terminal() {
    // Under `cargo test` standard output is a pipe or a file in CI: then no bar, lines only.
    assert_eq!(
        ProgressBar::new().draws_bar(),
        std::io::stdout().is_terminal()
    );
    // And through the configuration, the fit runs the same.
    let history = model()
        .fit(
            &data(),
            &CrossEntropy,
            &mut Sgd::new(0.1).unwrap(),
            &FitConfig::new(1).verbose(Verbosity::ProgressBar),
        )
        .unwrap();
    assert_eq!(history.epoch_losses.len(), 1);
}
