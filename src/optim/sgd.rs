//! [`Sgd`]: stochastic gradient descent, the tutorial's step `w <- w - lr * grad`.
//!
//! With the options off (the default) that is all it does. Optionally, as PyTorch's `optim.SGD`:
//! weight decay adds `wd * w` to the gradient, momentum keeps a velocity `v <- mu v + g` and
//! steps along it, and Nesterov momentum steps along `g + mu v` instead.
//!
//! ```
//! use feedforward::optim::{Optimizer, Sgd};
//! use feedforward::layers::Parameter;
//! use feedforward::ndarray::array;
//!
//! let mut w = array![[1.0f32, 2.0]];
//! let mut g = array![[0.5f32, -1.0]];
//! let mut sgd = Sgd::new(0.1).unwrap();
//! sgd.begin_step();
//! let finite = sgd.update(0, Parameter { name: "weight", value: w.view_mut(), grad: g.view_mut() });
//! sgd.end_step(finite);
//! assert_eq!(w, array![[0.95, 2.1]]);
//! ```

use super::{
    check_learning_rate, in_memory_order, non_finite, Optimizer, OptimizerBuffer, OptimizerState,
    UndoBuffer,
};
use crate::layers::Parameter;
use crate::parallel;
use crate::{Error, Result};

/// Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.
#[derive(Clone, Debug)]
pub struct Sgd {
    learning_rate: f32,
    momentum: f32,
    nesterov: bool,
    weight_decay: f32,
    /// The velocity of each parameter index, as committed by the last step.
    velocity: Vec<Vec<f32>>,
    /// The velocity this step computes, swapped into `velocity` when the step is kept.
    pending: Vec<Vec<f32>>,
    /// Which parameter indices this step has updated.
    updated: Vec<bool>,
    /// The parameter values before this step.
    previous: UndoBuffer,
}

impl Sgd {
    /// Plain gradient descent with the given learning rate (the tutorial uses 0.1).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless the learning rate is finite and `>= 0`.
    pub fn new(learning_rate: f32) -> Result<Self> {
        Ok(Sgd {
            learning_rate: check_learning_rate(learning_rate)?,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            velocity: Vec::new(),
            pending: Vec::new(),
            updated: Vec::new(),
            previous: UndoBuffer::default(),
        })
    }

    /// Adds momentum `mu` in `[0, 1)` (0.9 is usual).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] outside `[0, 1)`.
    pub fn with_momentum(mut self, momentum: f32) -> Result<Self> {
        if !(0.0..1.0).contains(&momentum) {
            return Err(Error::config("momentum", momentum, "a number in [0, 1)"));
        }
        self.momentum = momentum;
        Ok(self)
    }

    /// Uses Nesterov momentum (needs a momentum above 0 to make a difference).
    pub fn with_nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Adds L2 weight decay `wd >= 0` to the gradient.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when negative or not finite.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Result<Self> {
        if !(weight_decay.is_finite() && weight_decay >= 0.0) {
            return Err(Error::config(
                "weight_decay",
                weight_decay,
                "a finite number >= 0",
            ));
        }
        self.weight_decay = weight_decay;
        Ok(self)
    }

    /// The buffers of parameter `index`'s step, `len` elements each: the undo copy, the
    /// committed velocity (empty before the first step with momentum, and without momentum)
    /// and the new velocity (empty without momentum). Marks the parameter updated.
    fn buffers(&mut self, index: usize, len: usize) -> (&mut [f32], &[f32], &mut [f32]) {
        let saved = self.previous.slot(index, len);
        if self.momentum == 0.0 {
            return (saved, &[], &mut []);
        }
        // Each grows on its own: a loaded state (load_state) sets the velocities alone.
        if self.velocity.len() <= index {
            self.velocity.resize_with(index + 1, Vec::new);
        }
        if self.pending.len() <= index {
            self.pending.resize_with(index + 1, Vec::new);
        }
        if self.updated.len() <= index {
            self.updated.resize(index + 1, false);
        }
        self.updated[index] = true;
        let (v, next) = (&self.velocity[index], &mut self.pending[index]);
        next.resize(len, 0.0);
        // The first step: PyTorch starts the velocity at the first gradient.
        let v: &[f32] = if v.len() == len { v } else { &[] };
        (saved, v, next)
    }

    /// The coefficients of a step.
    fn coefficients(&self) -> Coefficients {
        Coefficients {
            lr: self.learning_rate,
            wd: self.weight_decay,
            mu: self.momentum,
            nesterov: self.nesterov,
        }
    }
}

/// The coefficients of one step of [`Sgd`], shared by all elements.
#[derive(Clone, Copy, Debug)]
struct Coefficients {
    lr: f32,
    wd: f32,
    mu: f32,
    nesterov: bool,
}

impl Coefficients {
    /// The update of values `w` with gradients `g` (iterators in the same order), each
    /// previous value saved into `saved`; with momentum, the committed velocity `v` (empty on
    /// the first step) and the new one written into `next`. Returns whether everything new is
    /// finite.
    fn apply<'a>(
        self,
        w: impl Iterator<Item = &'a mut f32>,
        g: impl Iterator<Item = &'a f32>,
        saved: &mut [f32],
        v: &[f32],
        next: &mut [f32],
    ) -> bool {
        let Coefficients {
            lr,
            wd,
            mu,
            nesterov,
        } = self;
        let mut bad = false;
        if mu == 0.0 {
            if wd == 0.0 {
                for ((w, &g), s) in w.zip(g).zip(saved.iter_mut()) {
                    *s = *w;
                    *w -= lr * g;
                    bad |= non_finite(*w);
                }
            } else {
                for ((w, &g), s) in w.zip(g).zip(saved.iter_mut()) {
                    *s = *w;
                    *w -= lr * (g + wd * *w);
                    bad |= non_finite(*w);
                }
            }
        } else if v.is_empty() {
            for ((w, &g), (s, next)) in w.zip(g).zip(saved.iter_mut().zip(next.iter_mut())) {
                *s = *w;
                let g = g + wd * *w;
                *next = g;
                let step = if nesterov { g + mu * g } else { g };
                *w -= lr * step;
                bad |= non_finite(*w) | non_finite(g);
            }
        } else {
            for (((w, &g), s), (&v, next)) in w
                .zip(g)
                .zip(saved.iter_mut())
                .zip(v.iter().zip(next.iter_mut()))
            {
                *s = *w;
                let g = g + wd * *w;
                *next = mu * v + g;
                let step = if nesterov { g + mu * *next } else { *next };
                *w -= lr * step;
                bad |= non_finite(*w) | non_finite(*next);
            }
        }
        !bad
    }
}

/// `w <- w - lr g` over slices of equal length, with each previous value copied into `saved`;
/// returns whether any new value is NaN or infinite. The same loop is compiled for AVX-512,
/// AVX2 and the baseline, and the widest the processor has is used (the values are the same
/// bit for bit: one multiply and one subtraction per element, no fused multiply-add).
pub(crate) fn plain_step(w: &mut [f32], g: &[f32], saved: &mut [f32], lr: f32) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F, checked just above.
            return unsafe { plain_step_avx512(w, g, saved, lr) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above.
            return unsafe { plain_step_avx2(w, g, saved, lr) };
        }
    }
    plain_step_loop(w, g, saved, lr)
}

/// Parameters of more elements than this (1 MB) have their undo copy written with streaming
/// stores by [`plain_step_avx512`]: it would not stay in the cache anyway, and a streaming
/// store does not read the line before writing it. Smaller ones (every parameter of the
/// tutorial's models) keep the plain loop, their copy in the cache.
const STREAM_ABOVE: usize = 1 << 18;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn plain_step_avx512(w: &mut [f32], g: &[f32], saved: &mut [f32], lr: f32) -> bool {
    use std::arch::x86_64::{
        _mm512_and_si512, _mm512_castps_si512, _mm512_cmpeq_epi32_mask, _mm512_loadu_ps,
        _mm512_mul_ps, _mm512_set1_epi32, _mm512_set1_ps, _mm512_storeu_ps, _mm512_stream_ps,
        _mm512_sub_ps, _mm_sfence,
    };
    let n = w.len().min(g.len()).min(saved.len());
    if n <= STREAM_ABOVE {
        return plain_step_loop(w, g, saved, lr);
    }
    // The elements before the first 64-byte line of `saved`, then whole vectors, then the rest.
    let head = saved.as_ptr().align_offset(64).min(n);
    let body = (n - head) / 16 * 16;
    let (w, w_rest) = w[..n].split_at_mut(head + body);
    let (g, g_rest) = g[..n].split_at(head + body);
    let (saved, saved_rest) = saved[..n].split_at_mut(head + body);
    let (w_head, w) = w.split_at_mut(head);
    let (g_head, g) = g.split_at(head);
    let (saved_head, saved) = saved.split_at_mut(head);
    let mut bad = plain_step_loop(w_head, g_head, saved_head, lr);
    let (lanes, exponent) = (_mm512_set1_ps(lr), _mm512_set1_epi32(0x7f80_0000));
    let mut not_finite = 0u16;
    for ((w, g), saved) in w
        .chunks_exact_mut(16)
        .zip(g.chunks_exact(16))
        .zip(saved.chunks_exact_mut(16))
    {
        // SAFETY: each chunk holds 16 values; `saved`'s chunks start on 64-byte lines (the
        // head above), as a streaming store needs.
        unsafe {
            let old = _mm512_loadu_ps(w.as_ptr());
            let grad = _mm512_loadu_ps(g.as_ptr());
            _mm512_stream_ps(saved.as_mut_ptr(), old);
            // `w - lr * g`, multiply then subtract, as `plain_step_loop` rounds it.
            let new = _mm512_sub_ps(old, _mm512_mul_ps(lanes, grad));
            _mm512_storeu_ps(w.as_mut_ptr(), new);
            let bits = _mm512_and_si512(_mm512_castps_si512(new), exponent);
            not_finite |= _mm512_cmpeq_epi32_mask(bits, exponent);
        }
    }
    // A fence after the streaming stores, so that they are ordered before later stores.
    _mm_sfence();
    bad |= not_finite != 0;
    bad | plain_step_loop(w_rest, g_rest, saved_rest, lr)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn plain_step_avx2(w: &mut [f32], g: &[f32], saved: &mut [f32], lr: f32) -> bool {
    plain_step_loop(w, g, saved, lr)
}

#[inline(always)]
fn plain_step_loop(w: &mut [f32], g: &[f32], saved: &mut [f32], lr: f32) -> bool {
    let n = w.len().min(g.len()).min(saved.len());
    let (w, g, saved) = (&mut w[..n], &g[..n], &mut saved[..n]);
    let mut bad = false;
    for i in 0..n {
        saved[i] = w[i];
        w[i] -= lr * g[i];
        bad |= non_finite(w[i]);
    }
    bad
}

/// The kind in an [`OptimizerState`], and the name of the velocity buffers (PyTorch's).
const KIND: &str = "Sgd";
const MOMENTUM_BUFFER: &str = "momentum_buffer";

impl Sgd {
    /// The hyper-parameters other than the learning rate, as the state names them.
    fn settings(&self) -> [(&'static str, f32); 3] {
        [
            ("momentum", self.momentum),
            ("nesterov", if self.nesterov { 1.0 } else { 0.0 }),
            ("weight_decay", self.weight_decay),
        ]
    }
}

impl Optimizer for Sgd {
    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) -> Result<()> {
        self.learning_rate = check_learning_rate(learning_rate)?;
        Ok(())
    }

    /// The learning rate without momentum and weight decay: the step is then the tutorial's
    /// `w <- w - lr g` alone, which [`Sequential`](crate::Sequential)'s training step takes
    /// within the backward pass of a [`Dense`](crate::layers::Dense) layer.
    fn plain_step_learning_rate(&self) -> Option<f32> {
        (self.momentum == 0.0 && self.weight_decay == 0.0).then_some(self.learning_rate)
    }

    /// Kind `"Sgd"`; hyper-parameters `learning_rate`, `momentum`, `nesterov` (0 or 1) and
    /// `weight_decay`; no step count; a `momentum_buffer` per parameter once a step with
    /// momentum has been taken (PyTorch's names).
    fn state(&self) -> Result<OptimizerState> {
        Ok(OptimizerState {
            kind: KIND.to_string(),
            hyper_parameters: [("learning_rate", self.learning_rate)]
                .into_iter()
                .chain(self.settings())
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
            steps: 0,
            buffers: self
                .velocity
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_empty())
                .map(|(parameter, v)| OptimizerBuffer {
                    parameter,
                    name: MOMENTUM_BUFFER.to_string(),
                    values: v.clone(),
                })
                .collect(),
        })
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        state.check_matches(KIND, &self.settings())?;
        let learning_rate = check_learning_rate(state.hyper_parameter("learning_rate")?)
            .map_err(|e| Error::state_mismatch(KIND, e.to_string()))?;
        let buffers = state.buffers_by_parameter(&[MOMENTUM_BUFFER])?;
        if self.momentum == 0.0 && !buffers.is_empty() {
            return Err(Error::state_mismatch(
                KIND,
                "the state has momentum buffers but this optimizer has no momentum",
            ));
        }
        self.learning_rate = learning_rate;
        self.velocity = buffers
            .into_iter()
            .map(|b| b.map(|values| values[0].to_vec()).unwrap_or_default())
            .collect();
        Ok(())
    }

    fn update(&mut self, index: usize, mut parameter: Parameter<'_>) -> bool {
        // Layers hand out value and gradient contiguous and in the same memory order (not
        // necessarily row-major: `Dense` shows its `(out, in)` weights as `(in, out)`), so both
        // are walked in memory order, element for element. Anything else is walked in logical
        // order, which is just as stable from step to step.
        let fast = in_memory_order(&parameter);
        match (
            fast,
            parameter.value.as_slice_memory_order_mut(),
            parameter.grad.as_slice_memory_order(),
        ) {
            (true, Some(w), Some(g)) if self.momentum == 0.0 && self.weight_decay == 0.0 => {
                // The plain step of the tutorial, the hot loop of every step: on slices, with
                // the widest vectors the processor has, large tensors on several threads.
                let lr = self.learning_rate;
                let saved = self.previous.slot(index, w.len());
                let len = w.len();
                !parallel::any_part((w, (g, saved)), len, &|(w, (g, saved))| {
                    plain_step(w, g, saved, lr)
                })
            }
            (true, Some(w), Some(g)) => {
                let c = self.coefficients();
                let len = w.len();
                let (saved, v, next) = self.buffers(index, len);
                // Large tensors on several threads, in contiguous parts.
                let buffers = (w, (g, (saved, (v, next))));
                !parallel::any_part(buffers, len, &|(w, (g, (saved, (v, next))))| {
                    !c.apply(w.iter_mut(), g.iter(), saved, v, next)
                })
            }
            _ => {
                let c = self.coefficients();
                let (saved, v, next) = self.buffers(index, parameter.value.len());
                c.apply(
                    parameter.value.iter_mut(),
                    parameter.grad.iter(),
                    saved,
                    v,
                    next,
                )
            }
        }
    }

    fn revert(&mut self, index: usize, parameter: Parameter<'_>) {
        self.previous.restore_parameter(index, parameter);
        if let Some(updated) = self.updated.get_mut(index) {
            *updated = false;
        }
    }

    /// Keeps the new velocities (swapping them in) or forgets them.
    fn end_step(&mut self, commit: bool) {
        for (index, updated) in self.updated.iter_mut().enumerate() {
            if *updated && commit {
                std::mem::swap(&mut self.velocity[index], &mut self.pending[index]);
            }
            *updated = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    fn step(sgd: &mut Sgd, w: &mut Array2<f32>, g: &Array2<f32>) {
        let mut g = g.clone();
        sgd.begin_step();
        let finite = sgd.update(
            0,
            Parameter {
                name: "w",
                value: w.view_mut(),
                grad: g.view_mut(),
            },
        );
        sgd.end_step(finite);
    }

    #[test]
    fn plain_step_is_w_minus_lr_grad() {
        let mut w = array![[1.0, -1.0]];
        step(&mut Sgd::new(0.1).unwrap(), &mut w, &array![[2.0, 4.0]]);
        assert_eq!(w, array![[0.8, -1.4]]);
    }

    #[test]
    fn transposed_parameters_are_updated_in_place() {
        // A `Dense` weight: `(in, out)` views of `(out, in)` storage.
        let mut w = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let mut g = array![[1.0f32, 0.0, 0.0], [0.0, 0.0, 10.0]];
        let mut sgd = Sgd::new(0.1).unwrap().with_momentum(0.5).unwrap();
        for _ in 0..2 {
            let finite = sgd.update(
                0,
                Parameter {
                    name: "weight",
                    value: w.view_mut().reversed_axes(),
                    grad: g.view_mut().reversed_axes(),
                },
            );
            sgd.end_step(finite);
        }
        // v1 = g, v2 = 1.5 g: w - 0.1 * 2.5 g
        assert_eq!(w, array![[0.75, 2.0, 3.0], [4.0, 5.0, 3.5]]);
    }

    #[test]
    fn momentum_follows_pytorch() {
        // torch.optim.SGD([w], lr=0.1, momentum=0.9), constant grad 1 from w = 0:
        // v1 = 1, w1 = -0.1; v2 = 1.9, w2 = -0.29; v3 = 2.71, w3 = -0.561
        let mut sgd = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
        let mut w = array![[0.0f32]];
        let g = array![[1.0f32]];
        let mut seen = vec![];
        for _ in 0..3 {
            step(&mut sgd, &mut w, &g);
            seen.push(w[[0, 0]]);
        }
        for (got, want) in seen.iter().zip([-0.1, -0.29, -0.561]) {
            approx::assert_abs_diff_eq!(*got, want, epsilon = 1e-6);
        }
    }

    #[test]
    fn nesterov_and_weight_decay_follow_pytorch() {
        // nesterov: step = g + mu v. grad 1: v1 = 1, step 1.9 -> w1 = -0.19;
        // v2 = 1.9, step 2.71 -> w2 = -0.461
        let mut sgd = Sgd::new(0.1)
            .unwrap()
            .with_momentum(0.9)
            .unwrap()
            .with_nesterov(true);
        let mut w = array![[0.0f32]];
        step(&mut sgd, &mut w, &array![[1.0]]);
        assert!((w[[0, 0]] + 0.19).abs() < 1e-6);
        step(&mut sgd, &mut w, &array![[1.0]]);
        assert!((w[[0, 0]] + 0.461).abs() < 1e-6);
        // weight decay 0.5, w = 2, g = 0: w <- 2 - 0.1 * (0 + 0.5 * 2) = 1.9
        let mut sgd = Sgd::new(0.1).unwrap().with_weight_decay(0.5).unwrap();
        let mut w = array![[2.0f32]];
        step(&mut sgd, &mut w, &array![[0.0]]);
        approx::assert_abs_diff_eq!(w[[0, 0]], 1.9, epsilon = 1e-6);
    }

    #[test]
    fn a_loaded_state_continues_the_momentum() {
        let make = || {
            Sgd::new(0.1)
                .unwrap()
                .with_momentum(0.9)
                .unwrap()
                .with_nesterov(true)
                .with_weight_decay(0.01)
                .unwrap()
        };
        let mut first = make();
        let mut w = array![[1.0f32, -2.0]];
        step(&mut first, &mut w, &array![[0.5, 0.25]]);
        first.set_learning_rate(0.05).unwrap();
        let state = first.state().unwrap();
        assert_eq!(state.buffers.len(), 1);
        assert_eq!(state.hyper_parameters["learning_rate"], 0.05);
        let mut second = make();
        second.load_state(&state).unwrap();
        assert_eq!(second.learning_rate(), 0.05);
        let mut w2 = w.clone();
        step(&mut first, &mut w, &array![[-1.0, 3.0]]);
        step(&mut second, &mut w2, &array![[-1.0, 3.0]]);
        assert_eq!(w, w2);
        assert_eq!(first.state().unwrap(), second.state().unwrap());
    }

    #[test]
    fn a_state_of_another_configuration_is_refused_and_nothing_changes() {
        let mut momentum = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
        let mut w = array![[1.0f32]];
        step(&mut momentum, &mut w, &array![[1.0]]);
        let state = momentum.state().unwrap();
        let mut other = Sgd::new(0.1).unwrap().with_momentum(0.5).unwrap();
        let before = other.state().unwrap();
        let err = other.load_state(&state).unwrap_err();
        assert!(
            matches!(&err, Error::StateMismatch { reason, .. } if reason.contains("momentum")),
            "{err}"
        );
        assert_eq!(other.state().unwrap(), before);
        let mut adam_state = state.clone();
        adam_state.kind = "Adam".into();
        assert!(matches!(
            Sgd::new(0.1)
                .unwrap()
                .with_momentum(0.9)
                .unwrap()
                .load_state(&adam_state),
            Err(Error::StateMismatch { .. })
        ));
        let mut damaged = state;
        damaged.buffers[0].values[0] = f32::NAN;
        assert!(matches!(
            Sgd::new(0.1)
                .unwrap()
                .with_momentum(0.9)
                .unwrap()
                .load_state(&damaged),
            Err(Error::StateMismatch { .. })
        ));
    }

    #[test]
    fn rejects_bad_hyper_parameters() {
        for lr in [-0.1, f32::NAN, f32::INFINITY] {
            assert!(matches!(Sgd::new(lr), Err(Error::InvalidConfig { .. })));
        }
        assert!(Sgd::new(0.1).unwrap().with_momentum(1.0).is_err());
        assert!(Sgd::new(0.1).unwrap().with_weight_decay(-1.0).is_err());
        let mut sgd = Sgd::new(0.1).unwrap();
        assert!(sgd.set_learning_rate(f32::NAN).is_err());
        assert_eq!(sgd.learning_rate(), 0.1);
        // 0 is legitimate: a cosine schedule ends there
        assert!(Sgd::new(0.0).is_ok());
    }

    #[test]
    fn a_non_finite_update_is_reported_and_reverted_bit_for_bit() {
        for mut sgd in [
            Sgd::new(3e38).unwrap(),
            Sgd::new(3e38).unwrap().with_momentum(0.9).unwrap(),
        ] {
            // a first, finite step commits a velocity
            let mut w = array![[0.5f32, -0.25], [1.0, 2.0]];
            step(&mut sgd, &mut w, &array![[0.0, 0.0], [0.0, 1e-38]]);
            let before = (w.clone(), sgd.velocity.clone());
            let mut g = array![[1.0f32, 0.0], [f32::NAN, 0.0]];
            sgd.begin_step();
            fn param<'a>(w: &'a mut Array2<f32>, g: &'a mut Array2<f32>) -> Parameter<'a> {
                Parameter {
                    name: "w",
                    value: w.view_mut().reversed_axes(),
                    grad: g.view_mut().reversed_axes(),
                }
            }
            assert!(!sgd.update(0, param(&mut w, &mut g)));
            assert!(w.iter().any(|v| !v.is_finite()));
            sgd.revert(0, param(&mut w, &mut g));
            sgd.end_step(false);
            assert_eq!(w.mapv(f32::to_bits), before.0.mapv(f32::to_bits));
            assert_eq!(sgd.velocity, before.1);
        }
    }

    #[test]
    fn the_streaming_plain_step_matches_the_plain_loop_bit_for_bit() {
        let n = STREAM_ABOVE + 100;
        let values = |seed: usize| -> Vec<f32> {
            (0..n + 40)
                .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5 - 1.0)
                .collect()
        };
        // Offsets that put the undo copy off its 64-byte lines, lengths with tails; a value
        // that overflows, then a NaN gradient, at the start, in the vector body, at the end.
        for offset in [0, 1, 5, 15] {
            for len in [n - 7, n] {
                for bad in [None, Some(0), Some(len / 2), Some(len - 1)] {
                    let (w0, mut g) = (values(1), values(2));
                    if let Some(at) = bad {
                        g[offset + at] = if at % 2 == 0 { f32::NAN } else { -3e38 };
                    }
                    let range = offset..offset + len;
                    let (mut w, mut saved) = (w0.clone(), vec![0.0; n + 40]);
                    let got = plain_step(
                        &mut w[range.clone()],
                        &g[range.clone()],
                        &mut saved[range.clone()],
                        1e3,
                    );
                    let (mut w_want, mut saved_want) = (w0.clone(), vec![0.0; n + 40]);
                    let want = plain_step_loop(
                        &mut w_want[range.clone()],
                        &g[range.clone()],
                        &mut saved_want[range.clone()],
                        1e3,
                    );
                    assert_eq!(got, want);
                    assert_eq!(got, bad.is_some(), "offset {offset}, len {len}, {bad:?}");
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&w), bits(&w_want));
                    assert_eq!(bits(&saved), bits(&saved_want));
                    assert_eq!(bits(&saved[range.clone()]), bits(&w0[range]));
                }
            }
        }
    }
}
