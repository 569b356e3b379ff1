//! [`Spike`]: a test layer that makes one gradient value infinite on demand, to fail a training
//! step in the middle of its backward pass (after the later layers stepped).

use feedforward::layers::Layer;
use feedforward::ndarray::{ArrayView2, ArrayViewMut2};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Identity forward; backward, while `on`, makes the gradient of column `column` infinite in
/// the first row.
pub struct Spike {
    pub column: usize,
    pub on: Arc<AtomicBool>,
}

impl Layer for Spike {
    fn name(&self) -> &str {
        "Spike"
    }
    fn output_width(&self, input_width: usize) -> feedforward::Result<usize> {
        Ok(input_width)
    }
    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        output.assign(&input);
        Ok(())
    }
    fn backward(
        &mut self,
        _input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> feedforward::Result<()> {
        if let Some(mut grad_input) = grad_input {
            grad_input.assign(&grad_output);
            if self.on.load(Ordering::Relaxed) {
                grad_input[[0, self.column]] = f32::INFINITY;
            }
        }
        Ok(())
    }
}
