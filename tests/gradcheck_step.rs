//! The gradient checker raises no false alarm where the function bends faster than its step
//! (issue 22, part 4: `LayerNorm` on near-constant rows), still catches wrong gradients there,
//! and sizes it cannot allocate are typed errors.

use feedforward::gradcheck::{check_layer, check_layer_at};
use feedforward::layers::{Layer, LayerNorm, Relu};
use feedforward::ndarray::{array, ArrayView2, ArrayViewMut2};
use feedforward::Error;

#[test]
fn layer_norm_on_near_constant_rows_is_no_false_alarm() {
    // Standard deviations of 7e-4 and 9e-4: a step of 1e-2 alone gave 0.932 for this correct
    // gradient (tesseract-core#706).
    let x = array![[1.0f32, 1.001, 0.999, 1.0], [5.0, 5.0, 5.0, 5.002]];
    for seed in 0..5 {
        let mut layer = LayerNorm::new(4).unwrap();
        let report = check_layer_at(&mut layer, x.view(), seed).unwrap();
        assert!(report.max_relative_error < 1e-2, "seed {seed}: {report}");
        assert_eq!(report.checked, 8 + 4 + 4);
    }
}

/// LayerNorm whose input gradient is scaled by 1.5: wrong, by the same amount at every step.
struct WrongLayerNorm(LayerNorm);

impl Layer for WrongLayerNorm {
    fn name(&self) -> &str {
        "WrongLayerNorm"
    }
    fn output_width(&self, input_width: usize) -> feedforward::Result<usize> {
        self.0.output_width(input_width)
    }
    fn forward(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        self.0.forward(x, y)
    }
    fn backward(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: ArrayView2<'_, f32>,
        g: ArrayView2<'_, f32>,
        gi: Option<ArrayViewMut2<'_, f32>>,
    ) -> feedforward::Result<()> {
        match gi {
            Some(mut gi) => {
                self.0.backward(x, y, g, Some(gi.view_mut()))?;
                gi.mapv_inplace(|v| v * 1.5);
                Ok(())
            }
            None => self.0.backward(x, y, g, None),
        }
    }
}

#[test]
fn a_wrong_gradient_on_those_rows_is_still_caught() {
    let x = array![[1.0f32, 1.001, 0.999, 1.0], [5.0, 5.0, 5.0, 5.002]];
    let mut layer = WrongLayerNorm(LayerNorm::new(4).unwrap());
    let report = check_layer_at(&mut layer, x.view(), 0).unwrap();
    // |1.5 g - g| / 1.5 |g| = 1/3
    assert!(report.max_relative_error > 0.3, "{report}");
    assert!(report.worst.starts_with("input["), "{report}");
}

#[test]
fn sizes_that_cannot_be_allocated_are_errors() {
    for (rows, width) in [
        (usize::MAX, 2),
        (2, usize::MAX),
        (1 << 40, 1 << 40),
        (usize::MAX / 8, 1),
    ] {
        let err = check_layer(&mut Relu, rows, width, 0).unwrap_err();
        assert!(
            matches!(err, Error::TooLarge { .. }),
            "{rows} x {width}: {err}"
        );
    }
}
