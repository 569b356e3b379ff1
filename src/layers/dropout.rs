//! [`Dropout`]: inverted dropout, `Y = X * M / (1 - p)` in training, `Y = X` in evaluation.
//!
//! In training mode every element is zeroed with probability `p` and the survivors are scaled by
//! `1 / (1 - p)`, so that the expected output equals the input and evaluation needs no rescaling
//! (PyTorch's `nn.Dropout`). The mask `M` of the last forward pass is kept for backward:
//! `dX = G * M / (1 - p)`. In evaluation mode ([`Layer::set_training`]`(false)`, which
//! [`Sequential`](crate::Sequential) sets for `predict` and `evaluate`) the layer is the identity.
//!
//! The mask comes from the layer's own [`RandomState`], so a run is reproducible from its seed:
//! element `k` of a forward pass (row-major) is dropped when the `k`-th raw word of the stream is
//! below `p * 2^32`, i.e. numpy's
//! `RandomState(seed).randint(0, 2**32, size=n, dtype=np.uint32) < p * 2**32`.
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::ndarray::Array2;
//!
//! let mut dropout = Dropout::new(0.5, 42)?;
//! let x = Array2::<f32>::ones((2, 4));
//! let mut y = Array2::zeros((2, 4));
//! dropout.forward(x.view(), y.view_mut())?; // training mode by default, like PyTorch
//! assert!(y.iter().all(|&v| v == 0.0 || v == 2.0)); // dropped, or kept and scaled by 1 / (1 - p)
//! dropout.set_training(false);
//! dropout.forward(x.view(), y.view_mut())?;
//! assert_eq!(y, x);
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::identity::{copy_through, same_shape};
use super::{Inference, Layer};
use crate::random::RandomState;
use crate::workspace::Buffer;
use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2, Zip};

/// Inverted dropout with drop probability `p`, active in training mode only.
#[derive(Clone, Debug)]
pub struct Dropout {
    p: f32,
    /// `1 / (1 - p)`, the factor of the kept elements.
    scale: f32,
    /// An element is dropped when its raw 32-bit draw is below this.
    threshold: u32,
    rng: RandomState,
    /// The seed of `rng`, for [`Layer::spec`].
    seed: u32,
    training: bool,
    /// The factors (`0` or `scale`) of the last training-mode forward pass.
    mask: Buffer,
    /// Whether the last forward pass applied `mask` (training mode with `p > 0`).
    masked: bool,
}

impl Dropout {
    /// A dropout layer that zeroes each element with probability `p` during training, drawing
    /// its masks from `RandomState::new(seed)`. It starts in training mode, as in PyTorch.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `0 <= p < 1`.
    pub fn new(p: f32, seed: u32) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::config(
                "dropout probability",
                p,
                "a number in [0, 1): the probability of zeroing each element, typically 0.1 to 0.5",
            ));
        }
        Ok(Dropout {
            p,
            scale: 1.0 / (1.0 - p),
            // p < 1 keeps the product below 2^32.
            threshold: (p as f64 * 4_294_967_296.0) as u32,
            rng: RandomState::new(seed),
            seed,
            training: true,
            mask: Buffer::default(),
            masked: false,
        })
    }

    /// The probability of zeroing an element in training mode.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// Whether the layer is in training mode (dropping) or evaluation mode (identity).
    pub fn is_training(&self) -> bool {
        self.training
    }
}

impl Layer for Dropout {
    fn name(&self) -> &str {
        "Dropout"
    }

    fn inference(&self) -> Option<&dyn Inference> {
        Some(self)
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        Ok(input_width)
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        same_shape("Dropout", &input, &output.view())?;
        self.masked = self.training && self.p > 0.0;
        if !self.masked {
            output.assign(&input);
            return Ok(());
        }
        let (rows, cols) = input.dim();
        self.mask.reshape(rows, cols);
        let (threshold, scale) = (self.threshold, self.scale);
        // Drawn in row-major order whatever the layouts, so the stream maps to fixed elements.
        for m in self.mask.view_mut().iter_mut() {
            *m = if self.rng.next_u32() < threshold {
                0.0
            } else {
                scale
            };
        }
        Zip::from(&mut output)
            .and(&input)
            .and(&self.mask.view())
            .for_each(|y, &x, &m| *y = x * m);
        Ok(())
    }

    /// Back-propagates through the mask of the last forward pass (`dX = G * M / (1 - p)`), or as
    /// the identity when that pass was in evaluation mode.
    fn backward(
        &mut self,
        _input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        let Some(mut grad_input) = grad_input else {
            return Ok(());
        };
        same_shape("Dropout gradient", &grad_output, &grad_input.view())?;
        if !self.masked {
            grad_input.assign(&grad_output);
            return Ok(());
        }
        let mask = self.mask.view();
        same_shape("Dropout mask of the last forward pass", &mask, &grad_output)?;
        Zip::from(&mut grad_input)
            .and(&grad_output)
            .and(&mask)
            .for_each(|dx, &g, &m| *dx = g * m);
        Ok(())
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn generator(&self) -> Option<&RandomState> {
        Some(&self.rng)
    }

    fn generator_mut(&mut self) -> Option<&mut RandomState> {
        Some(&mut self.rng)
    }

    fn spec(&self) -> Option<super::LayerSpec> {
        Some(super::LayerSpec::Dropout {
            p: self.p,
            seed: self.seed,
        })
    }
}

impl Inference for Dropout {
    /// `Y = X`: no dropout in evaluation mode, whatever the layer's mode.
    fn infer(
        &self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
        _batch_rows: usize,
    ) -> Result<()> {
        copy_through("Dropout", input, output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use ndarray::{array, Array2};

    fn forward(layer: &mut Dropout, x: &Array2<f32>) -> Array2<f32> {
        let mut y = Array2::zeros(x.dim());
        layer.forward(x.view(), y.view_mut()).unwrap();
        y
    }

    #[test]
    fn training_drops_and_scales_with_a_reproducible_mask() {
        let x = Array2::from_shape_fn((3, 5), |(i, j)| 1.0 + (i * 5 + j) as f32);
        let mut layer = Dropout::new(0.25, 7).unwrap();
        let y = forward(&mut layer, &x);
        // The mask is the raw stream of RandomState::new(7) compared with 0.25 * 2^32.
        let mut rng = RandomState::new(7);
        let scale = 1.0 / (1.0 - 0.25f32);
        for (&yv, &xv) in y.iter().zip(x.iter()) {
            let dropped = rng.next_u32() < 1 << 30;
            assert_eq!(yv, if dropped { 0.0 } else { xv * scale });
        }
        // Same seed, same masks; the next pass draws a new mask.
        let mut twin = Dropout::new(0.25, 7).unwrap();
        assert_eq!(forward(&mut twin, &x), y);
        assert_ne!(forward(&mut twin, &x), y);
    }

    #[test]
    fn training_gradient_is_the_mask_of_the_forward_pass() {
        let p = 0.4f32;
        let mut layer = Dropout::new(p, 3).unwrap();
        let x = Array2::from_elem((4, 6), 1.0f32);
        let y = forward(&mut layer, &x);
        let g = Array2::from_shape_fn((4, 6), |(i, j)| (i as f32 - 1.5) * (j as f32 + 0.5));
        let mut dx = Array2::zeros((4, 6));
        layer
            .backward(x.view(), y.view(), g.view(), Some(dx.view_mut()))
            .unwrap();
        // With X = 1, Y is the mask times 1 / (1 - p): dX = G * M / (1 - p) = G * Y, exactly.
        assert!(y.iter().any(|&v| v == 0.0) && y.iter().any(|&v| v != 0.0));
        assert_eq!(dx, &g * &y);
        for (&d, &m) in dx.iter().zip(y.iter()) {
            assert!((m == 0.0 && d == 0.0) || m == 1.0 / (1.0 - p));
        }
    }

    #[test]
    fn drops_the_expected_fraction_and_keeps_the_mean() {
        let p = 0.3;
        let mut layer = Dropout::new(p, 2024).unwrap();
        let x = Array2::from_elem((200, 100), 1.0f32);
        let y = forward(&mut layer, &x);
        let n = x.len() as f64;
        let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64 / n;
        // Binomial: standard deviation sqrt(p (1 - p) / n) = 0.0032; allow 4 of them.
        assert!(
            (zeros - p as f64).abs() < 0.013,
            "fraction of zeros {zeros}"
        );
        let mean = y.iter().map(|&v| v as f64).sum::<f64>() / n;
        assert!((mean - 1.0).abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn evaluation_mode_is_the_identity() {
        let mut layer = Dropout::new(0.9, 1).unwrap();
        layer.set_training(false);
        assert!(!layer.is_training());
        let x = array![[1.0f32, -2.0, 3.0]];
        assert_eq!(forward(&mut layer, &x), x);
        // check_layer runs in evaluation mode: the identity's gradient.
        let report = check_layer(&mut layer, 3, 4, 8).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
        // p = 0 is the identity in training mode too.
        let mut layer = Dropout::new(0.0, 1).unwrap();
        assert_eq!(forward(&mut layer, &x), x);
    }

    #[test]
    fn rejects_bad_probabilities_and_shapes() {
        for p in [-0.1, 1.0, 1.5, f32::NAN] {
            assert!(matches!(
                Dropout::new(p, 0),
                Err(Error::InvalidConfig { .. })
            ));
        }
        let mut layer = Dropout::new(0.5, 0).unwrap();
        assert_eq!(layer.p(), 0.5);
        let mut y = Array2::zeros((2, 2));
        assert!(matches!(
            layer.forward(Array2::zeros((2, 3)).view(), y.view_mut()),
            Err(Error::ShapeMismatch { .. })
        ));
        // backward with a gradient the last forward pass's mask does not fit
        forward(&mut layer, &Array2::ones((2, 2)));
        let g = Array2::zeros((3, 2));
        let mut dx = Array2::zeros((3, 2));
        let r = layer.backward(g.view(), g.view(), g.view(), Some(dx.view_mut()));
        assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
    }

    #[test]
    fn a_warm_layer_reuses_its_mask() {
        let mut layer = Dropout::new(0.5, 0).unwrap();
        forward(&mut layer, &Array2::ones((8, 4)));
        let before = layer.mask.view().as_ptr();
        forward(&mut layer, &Array2::ones((5, 4)));
        forward(&mut layer, &Array2::ones((8, 4)));
        assert_eq!(layer.mask.view().as_ptr(), before);
    }
}
