//! [`Adam`] and [`AdamW`]: adaptive moment estimation, with L2 or decoupled weight decay.
//!
//! PyTorch's `optim.Adam` and `optim.AdamW` update rules (Kingma & Ba 2015; Loshchilov & Hutter
//! 2019). At step `t` (counted from 1 by [`Optimizer::begin_step`]), for each parameter `w`
//! with gradient `g`:
//! ```text
//! Adam:   g <- g + wd w                  (L2 penalty folded into the gradient)
//! AdamW:  w <- w - lr wd w               (decoupled decay, before the step)
//! m <- b1 m + (1 - b1) g                 first moment
//! v <- b2 v + (1 - b2) g^2               second moment
//! m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)
//! w <- w - lr m_hat / (sqrt(v_hat) + eps)
//! ```
//! Defaults as PyTorch: `lr = 1e-3`, `betas = (0.9, 0.999)`, `eps = 1e-8`, weight decay 0 for
//! Adam and 0.01 for AdamW. `m` and `v` start at zero and are kept per parameter index, created on
//! the first step.
//!
//! ```
//! use feedforward::optim::{Adam, Optimizer};
//! use feedforward::layers::Parameter;
//! use feedforward::ndarray::array;
//!
//! let mut w = array![[1.0f32]];
//! let mut g = array![[0.5f32]];
//! let mut adam = Adam::new(0.1)?;
//! adam.begin_step();
//! let finite = adam.update(0, Parameter { name: "weight", value: w.view_mut(), grad: g.view_mut() });
//! adam.end_step(finite);
//! // The bias-corrected first step is lr times the gradient's sign.
//! assert!((w[[0, 0]] - 0.9).abs() < 1e-6);
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::{
    check_learning_rate, in_memory_order, non_finite, Optimizer, OptimizerBuffer, OptimizerState,
    UndoBuffer,
};
use crate::layers::Parameter;
use crate::parallel;
use crate::{Error, Result};

/// Adam with optional L2 weight decay (added to the gradient, as `torch.optim.Adam`).
#[derive(Clone, Debug)]
pub struct Adam {
    learning_rate: f32,
    weight_decay: f32,
    moments: Moments,
}

/// Adam with decoupled weight decay (`w <- w - lr wd w` before each step, as
/// `torch.optim.AdamW`).
#[derive(Clone, Debug)]
pub struct AdamW {
    learning_rate: f32,
    weight_decay: f32,
    moments: Moments,
}

/// What Adam and AdamW share: the moment estimates, the step count and their hyper-parameters.
#[derive(Clone, Debug)]
struct Moments {
    beta1: f32,
    beta2: f32,
    eps: f32,
    /// Steps begun, `t`.
    steps: u64,
    /// First and second moments, one pair of buffers per parameter index, as committed.
    state: Vec<(Vec<f32>, Vec<f32>)>,
    /// The moments this step computes, swapped into `state` when the step is kept.
    pending: Vec<(Vec<f32>, Vec<f32>)>,
    /// Which parameter indices this step has updated.
    updated: Vec<bool>,
    /// The parameter values before this step.
    previous: UndoBuffer,
}

impl Moments {
    fn new() -> Self {
        Moments {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            steps: 0,
            state: Vec::new(),
            pending: Vec::new(),
            updated: Vec::new(),
            previous: UndoBuffer::default(),
        }
    }

    /// Puts back parameter `index` as it was before this step; its moments stay as committed.
    fn revert(&mut self, index: usize, parameter: Parameter<'_>) {
        self.previous.restore_parameter(index, parameter);
        if let Some(updated) = self.updated.get_mut(index) {
            *updated = false;
        }
    }

    /// Keeps this step's moments, or forgets them and the step count.
    fn end_step(&mut self, commit: bool) {
        for (index, updated) in self.updated.iter_mut().enumerate() {
            if *updated && commit {
                std::mem::swap(&mut self.state[index], &mut self.pending[index]);
            }
            *updated = false;
        }
        if !commit {
            self.steps = self.steps.saturating_sub(1);
        }
    }

    fn set_betas(&mut self, beta1: f32, beta2: f32) -> Result<()> {
        for (name, beta) in [("beta1", beta1), ("beta2", beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(Error::config(
                    name,
                    beta,
                    "a number in [0, 1); PyTorch's defaults are 0.9 and 0.999",
                ));
            }
        }
        (self.beta1, self.beta2) = (beta1, beta2);
        Ok(())
    }

    fn set_eps(&mut self, eps: f32) -> Result<()> {
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::config(
                "eps",
                eps,
                "a finite number above 0, typically 1e-8",
            ));
        }
        self.eps = eps;
        Ok(())
    }

    /// One Adam step on `parameter`, after multiplying it by `decay` (AdamW) and with `l2 * w`
    /// added to its gradient (Adam).
    fn update(
        &mut self,
        index: usize,
        mut parameter: Parameter<'_>,
        learning_rate: f32,
        l2: f32,
        decay: f32,
    ) -> bool {
        // Called without begin_step: count it as the first step rather than divide by zero.
        let t = self.steps.max(1);
        let t = i32::try_from(t).unwrap_or(i32::MAX);
        let bias_correction1 = 1.0 - (self.beta1 as f64).powi(t);
        let bias_correction2 = 1.0 - (self.beta2 as f64).powi(t);
        let step = Step {
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            step_size: (learning_rate as f64 / bias_correction1) as f32,
            bias_correction2_sqrt: bias_correction2.sqrt() as f32,
            l2,
            decay,
        };
        let len = parameter.value.len();
        // Each grows on its own: a loaded state (load_state) sets the moments alone.
        if self.state.len() <= index {
            self.state.resize_with(index + 1, Default::default);
        }
        if self.pending.len() <= index {
            self.pending.resize_with(index + 1, Default::default);
        }
        if self.updated.len() <= index {
            self.updated.resize(index + 1, false);
        }
        let (m, v) = &mut self.state[index];
        if m.len() != len {
            m.clear();
            m.resize(len, 0.0);
            v.clear();
            v.resize(len, 0.0);
        }
        let (m_next, v_next) = &mut self.pending[index];
        m_next.resize(len, 0.0);
        v_next.resize(len, 0.0);
        let saved = self.previous.slot(index, len);
        self.updated[index] = true;
        let moments = Buffers {
            m: m.as_slice(),
            v: v.as_slice(),
            m_next,
            v_next,
            saved,
        };
        // Layers hand out value and gradient contiguous and in the same memory order (not
        // necessarily row-major), so both are walked in memory order, as the moments are.
        // Anything else is walked in logical order, which is just as stable from step to step.
        let fast = in_memory_order(&parameter);
        match (
            fast,
            parameter.value.as_slice_memory_order_mut(),
            parameter.grad.as_slice_memory_order(),
        ) {
            (true, Some(w), Some(g)) => {
                // Large tensors on several threads, in contiguous parts.
                !parallel::any_part((w, (g, moments)), len, &|(w, (g, moments))| {
                    !step.apply(w.iter_mut(), g.iter(), moments)
                })
            }
            _ => step.apply(parameter.value.iter_mut(), parameter.grad.iter(), moments),
        }
    }
}

/// The names of Adam's buffers in an [`OptimizerState`] (PyTorch's).
const EXP_AVG: &str = "exp_avg";
const EXP_AVG_SQ: &str = "exp_avg_sq";

impl Moments {
    /// The hyper-parameters other than the learning rate, as the state names them.
    fn settings(&self, weight_decay: f32) -> [(&'static str, f32); 4] {
        [
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("eps", self.eps),
            ("weight_decay", weight_decay),
        ]
    }

    /// The state of an optimizer of `kind` made of these moments.
    fn export(&self, kind: &str, learning_rate: f32, weight_decay: f32) -> OptimizerState {
        let mut buffers = Vec::with_capacity(2 * self.state.len());
        for (parameter, (m, v)) in self.state.iter().enumerate() {
            if m.is_empty() {
                continue;
            }
            for (name, values) in [(EXP_AVG, m), (EXP_AVG_SQ, v)] {
                buffers.push(OptimizerBuffer {
                    parameter,
                    name: name.to_string(),
                    values: values.clone(),
                });
            }
        }
        OptimizerState {
            kind: kind.to_string(),
            hyper_parameters: [("learning_rate", learning_rate)]
                .into_iter()
                .chain(self.settings(weight_decay))
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
            steps: self.steps,
            buffers,
        }
    }

    /// Loads `state` (of an optimizer of `kind`) and returns its learning rate; changes
    /// nothing on an error.
    fn import(&mut self, kind: &str, state: &OptimizerState, weight_decay: f32) -> Result<f32> {
        state.check_matches(kind, &self.settings(weight_decay))?;
        let learning_rate = check_learning_rate(state.hyper_parameter("learning_rate")?)
            .map_err(|e| Error::state_mismatch(kind, e.to_string()))?;
        let buffers = state.buffers_by_parameter(&[EXP_AVG, EXP_AVG_SQ])?;
        self.state = buffers
            .into_iter()
            .map(|b| {
                b.map(|values| (values[0].to_vec(), values[1].to_vec()))
                    .unwrap_or_default()
            })
            .collect();
        self.steps = state.steps;
        Ok(learning_rate)
    }
}

/// The buffers one parameter's step reads and writes: the committed moments, the new ones and
/// the copy of the previous values.
struct Buffers<'a> {
    m: &'a [f32],
    v: &'a [f32],
    m_next: &'a mut [f32],
    v_next: &'a mut [f32],
    saved: &'a mut [f32],
}

impl parallel::Split for Buffers<'_> {
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (m, m_rest) = self.m.split_at(mid);
        let (v, v_rest) = self.v.split_at(mid);
        let (m_next, m_next_rest) = self.m_next.split_at_mut(mid);
        let (v_next, v_next_rest) = self.v_next.split_at_mut(mid);
        let (saved, saved_rest) = self.saved.split_at_mut(mid);
        (
            Buffers {
                m,
                v,
                m_next,
                v_next,
                saved,
            },
            Buffers {
                m: m_rest,
                v: v_rest,
                m_next: m_next_rest,
                v_next: v_next_rest,
                saved: saved_rest,
            },
        )
    }
}

/// The coefficients of one step, shared by all elements.
struct Step {
    beta1: f32,
    beta2: f32,
    eps: f32,
    /// `lr / (1 - b1^t)`.
    step_size: f32,
    /// `sqrt(1 - b2^t)`.
    bias_correction2_sqrt: f32,
    l2: f32,
    decay: f32,
}

impl Step {
    /// PyTorch's single-tensor Adam loop, element by element; returns whether the new values
    /// and moments are all finite.
    fn apply<'a>(
        &self,
        w: impl Iterator<Item = &'a mut f32>,
        g: impl Iterator<Item = &'a f32>,
        buffers: Buffers<'_>,
    ) -> bool {
        let (b1, b2) = (self.beta1, self.beta2);
        let Buffers {
            m,
            v,
            m_next,
            v_next,
            saved,
        } = buffers;
        let mut bad = false;
        for ((((w, &g), s), (&m, m_next)), (&v, v_next)) in w
            .zip(g)
            .zip(saved.iter_mut())
            .zip(m.iter().zip(m_next.iter_mut()))
            .zip(v.iter().zip(v_next.iter_mut()))
        {
            *s = *w;
            let g = g + self.l2 * *w;
            *w *= self.decay;
            let m = b1 * m + (1.0 - b1) * g;
            let v = b2 * v + (1.0 - b2) * g * g;
            (*m_next, *v_next) = (m, v);
            let denominator = v.sqrt() / self.bias_correction2_sqrt + self.eps;
            *w -= self.step_size * m / denominator;
            bad |= non_finite(*w) | non_finite(m) | non_finite(v);
        }
        !bad
    }
}

/// Checks a weight decay: finite and `>= 0`.
fn check_weight_decay(weight_decay: f32) -> Result<f32> {
    if weight_decay.is_finite() && weight_decay >= 0.0 {
        Ok(weight_decay)
    } else {
        Err(Error::config(
            "weight_decay",
            weight_decay,
            "a finite number >= 0",
        ))
    }
}

/// The builder methods and accessors Adam and AdamW share.
macro_rules! adam_common {
    ($ty:ident) => {
        impl $ty {
            /// Sets the moments' decay rates `(beta1, beta2)`, each in `[0, 1)`.
            ///
            /// # Errors
            /// [`Error::InvalidConfig`] when either is outside `[0, 1)`.
            pub fn with_betas(mut self, beta1: f32, beta2: f32) -> Result<Self> {
                self.moments.set_betas(beta1, beta2)?;
                Ok(self)
            }

            /// Sets the term added to the denominator for numerical stability.
            ///
            /// # Errors
            /// [`Error::InvalidConfig`] unless finite and positive.
            pub fn with_eps(mut self, eps: f32) -> Result<Self> {
                self.moments.set_eps(eps)?;
                Ok(self)
            }

            /// Sets the weight decay `wd >= 0`.
            ///
            /// # Errors
            /// [`Error::InvalidConfig`] when negative or not finite.
            pub fn with_weight_decay(mut self, weight_decay: f32) -> Result<Self> {
                self.weight_decay = check_weight_decay(weight_decay)?;
                Ok(self)
            }

            /// The moments' decay rates `(beta1, beta2)`.
            pub fn betas(&self) -> (f32, f32) {
                (self.moments.beta1, self.moments.beta2)
            }

            /// The term added to the denominator.
            pub fn eps(&self) -> f32 {
                self.moments.eps
            }

            /// The weight decay.
            pub fn weight_decay(&self) -> f32 {
                self.weight_decay
            }

            /// Steps begun so far (`t`, the exponent of the bias corrections).
            pub fn steps(&self) -> u64 {
                self.moments.steps
            }
        }
    };
}

adam_common!(Adam);
adam_common!(AdamW);

impl Adam {
    /// Adam with the given learning rate and PyTorch's other defaults: betas `(0.9, 0.999)`,
    /// eps `1e-8`, no weight decay.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless the learning rate is finite and positive.
    pub fn new(learning_rate: f32) -> Result<Self> {
        Ok(Adam {
            learning_rate: check_learning_rate(learning_rate)?,
            weight_decay: 0.0,
            moments: Moments::new(),
        })
    }
}

impl Default for Adam {
    /// PyTorch's defaults: learning rate `1e-3`, betas `(0.9, 0.999)`, eps `1e-8`, no decay.
    fn default() -> Self {
        Adam {
            learning_rate: 1e-3,
            weight_decay: 0.0,
            moments: Moments::new(),
        }
    }
}

impl AdamW {
    /// AdamW with the given learning rate and PyTorch's other defaults: betas `(0.9, 0.999)`,
    /// eps `1e-8`, weight decay `0.01`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless the learning rate is finite and positive.
    pub fn new(learning_rate: f32) -> Result<Self> {
        Ok(AdamW {
            learning_rate: check_learning_rate(learning_rate)?,
            weight_decay: 0.01,
            moments: Moments::new(),
        })
    }
}

impl Default for AdamW {
    /// PyTorch's defaults: learning rate `1e-3`, betas `(0.9, 0.999)`, eps `1e-8`, weight
    /// decay `0.01`.
    fn default() -> Self {
        AdamW {
            learning_rate: 1e-3,
            weight_decay: 0.01,
            moments: Moments::new(),
        }
    }
}

impl Optimizer for Adam {
    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) -> Result<()> {
        self.learning_rate = check_learning_rate(learning_rate)?;
        Ok(())
    }

    /// Counts the step: the bias corrections use `t` = the number of steps begun.
    fn begin_step(&mut self) {
        self.moments.steps += 1;
    }

    fn update(&mut self, index: usize, parameter: Parameter<'_>) -> bool {
        let (lr, wd) = (self.learning_rate, self.weight_decay);
        self.moments.update(index, parameter, lr, wd, 1.0)
    }

    fn revert(&mut self, index: usize, parameter: Parameter<'_>) {
        self.moments.revert(index, parameter);
    }

    /// Keeps the new moments, or forgets them and takes the step count back.
    fn end_step(&mut self, commit: bool) {
        self.moments.end_step(commit);
    }
    /// Kind `"Adam"`; hyper-parameters `learning_rate`, `beta1`, `beta2`, `eps` and
    /// `weight_decay`; the step count `t`; `exp_avg` and `exp_avg_sq` per parameter
    /// (PyTorch's names).
    fn state(&self) -> Result<OptimizerState> {
        Ok(self
            .moments
            .export("Adam", self.learning_rate, self.weight_decay))
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        self.learning_rate = self.moments.import("Adam", state, self.weight_decay)?;
        Ok(())
    }
}

impl Optimizer for AdamW {
    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) -> Result<()> {
        self.learning_rate = check_learning_rate(learning_rate)?;
        Ok(())
    }

    /// Counts the step: the bias corrections use `t` = the number of steps begun.
    fn begin_step(&mut self) {
        self.moments.steps += 1;
    }

    fn update(&mut self, index: usize, parameter: Parameter<'_>) -> bool {
        let (lr, wd) = (self.learning_rate, self.weight_decay);
        self.moments
            .update(index, parameter, lr, 0.0, 1.0 - lr * wd)
    }

    fn revert(&mut self, index: usize, parameter: Parameter<'_>) {
        self.moments.revert(index, parameter);
    }

    /// Keeps the new moments, or forgets them and takes the step count back.
    fn end_step(&mut self, commit: bool) {
        self.moments.end_step(commit);
    }
    /// Kind `"AdamW"`; hyper-parameters `learning_rate`, `beta1`, `beta2`, `eps` and
    /// `weight_decay`; the step count `t`; `exp_avg` and `exp_avg_sq` per parameter
    /// (PyTorch's names).
    fn state(&self) -> Result<OptimizerState> {
        Ok(self
            .moments
            .export("AdamW", self.learning_rate, self.weight_decay))
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        self.learning_rate = self.moments.import("AdamW", state, self.weight_decay)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    /// One optimizer step on a single parameter at index `index`.
    fn step(opt: &mut dyn Optimizer, index: usize, w: &mut Array2<f32>, g: &Array2<f32>) {
        let mut g = g.clone();
        let finite = opt.update(
            index,
            Parameter {
                name: "w",
                value: w.view_mut(),
                grad: g.view_mut(),
            },
        );
        opt.end_step(finite);
    }

    /// `w` after steps with the given gradients, from `w = 1`.
    fn trajectory(opt: &mut dyn Optimizer, gradients: &[f32]) -> Vec<f32> {
        let mut w = array![[1.0f32]];
        gradients
            .iter()
            .map(|&g| {
                opt.begin_step();
                step(opt, 0, &mut w, &array![[g]]);
                w[[0, 0]]
            })
            .collect()
    }

    fn assert_close(got: &[f32], want: &[f64]) {
        for (g, w) in got.iter().zip(want) {
            approx::assert_abs_diff_eq!(*g as f64, w, epsilon = 1e-6);
        }
    }

    // PyTorch's documented algorithm, in Python, for w = 1, lr = 0.1, g = 0.5 then -0.25:
    //   b1, b2, eps, lr, wd = 0.9, 0.999, 1e-8, 0.1, 0.01
    //   w = 1.0; m = v = 0.0
    //   for t, g in enumerate([0.5, -0.25], 1):
    //       g = g + wd * w          # Adam with weight_decay (L2) only
    //       w = w - lr * wd * w     # AdamW only
    //       m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * g * g
    //       m_hat = m / (1 - b1**t); v_hat = v / (1 - b2**t)
    //       w = w - lr * m_hat / (math.sqrt(v_hat) + eps); print(w)
    // Adam:          0.900000002, 0.8733662987078463
    //   (t = 2: m = 0.02, v = 0.00031225, m_hat = 0.10526, v_hat = 0.15620)
    // Adam, wd 0.01: 0.9000000019607843, 0.8712293476231743
    // AdamW:         0.899000002, 0.8714672987058463

    #[test]
    fn adam_first_two_steps_match_pytorch() {
        let mut adam = Adam::new(0.1).unwrap();
        assert_close(
            &trajectory(&mut adam, &[0.5, -0.25]),
            &[0.900000002, 0.8733662987078463],
        );
        assert_eq!(adam.steps(), 2);
    }

    #[test]
    fn weight_decay_is_l2_for_adam_and_decoupled_for_adamw() {
        let mut adam = Adam::new(0.1).unwrap().with_weight_decay(0.01).unwrap();
        assert_close(
            &trajectory(&mut adam, &[0.5, -0.25]),
            &[0.9000000019607843, 0.8712293476231743],
        );
        let mut adamw = AdamW::new(0.1).unwrap();
        assert_eq!(adamw.weight_decay(), 0.01);
        assert_close(
            &trajectory(&mut adamw, &[0.5, -0.25]),
            &[0.899000002, 0.8714672987058463],
        );
        // With a zero gradient the difference is stark: Adam's L2 term is normalised into a
        // full step of lr (w = 2 - 0.1), AdamW's decay is just w (1 - lr wd) = 2 * 0.99.
        let mut adam = Adam::new(0.1).unwrap().with_weight_decay(0.1).unwrap();
        let mut adamw = AdamW::new(0.1).unwrap().with_weight_decay(0.1).unwrap();
        for (opt, want) in [
            (&mut adam as &mut dyn Optimizer, 1.9),
            (&mut adamw as &mut dyn Optimizer, 1.98),
        ] {
            let mut w = array![[2.0f32]];
            opt.begin_step();
            step(opt, 0, &mut w, &array![[0.0]]);
            approx::assert_abs_diff_eq!(w[[0, 0]], want, epsilon = 1e-6);
        }
        // Without decay AdamW is Adam.
        let mut adamw = AdamW::new(0.1).unwrap().with_weight_decay(0.0).unwrap();
        assert_close(
            &trajectory(&mut adamw, &[0.5, -0.25]),
            &[0.900000002, 0.8733662987078463],
        );
    }

    #[test]
    fn the_first_step_has_size_lr_whatever_the_gradient_scale() {
        for g in [1e-3f32, -2.0, 1e3] {
            let w = trajectory(&mut Adam::new(0.01).unwrap(), &[g])[0];
            assert!(
                (1.0 - w - 0.01 * g.signum()).abs() < 1e-6,
                "g = {g}: w = {w}"
            );
        }
    }

    #[test]
    fn state_is_kept_per_parameter_index() {
        // Two parameters updated by one optimizer move exactly as with one optimizer each.
        let mut shared = Adam::new(0.1).unwrap();
        let (mut a, mut b) = (Adam::new(0.1).unwrap(), Adam::new(0.1).unwrap());
        let (mut w0, mut w1) = (array![[1.0f32, -1.0]], array![[3.0f32]]);
        let (mut u0, mut u1) = (w0.clone(), w1.clone());
        for (g0, g1) in [(0.5, -4.0), (-0.25, 2.0), (1.0, 0.5)] {
            let (g0, g1) = (array![[g0, 2.0 * g0]], array![[g1]]);
            shared.begin_step();
            step(&mut shared, 0, &mut w0, &g0);
            step(&mut shared, 1, &mut w1, &g1);
            a.begin_step();
            step(&mut a, 0, &mut u0, &g0);
            b.begin_step();
            step(&mut b, 0, &mut u1, &g1);
        }
        assert_eq!((w0, w1), (u0, u1));
    }

    #[test]
    fn transposed_parameters_use_memory_order_state() {
        let mut w = array![[1.0f32, 2.0], [3.0, 4.0]];
        let mut g = array![[0.5f32, -1.0], [2.0, 0.0]];
        let mut adam = Adam::new(0.1).unwrap();
        adam.begin_step();
        let finite = adam.update(
            0,
            Parameter {
                name: "weight",
                value: w.view_mut().reversed_axes(),
                grad: g.view_mut().reversed_axes(),
            },
        );
        adam.end_step(finite);
        // first step: w - lr sign(g)
        assert_close(
            &w.iter().copied().collect::<Vec<_>>(),
            &[0.9, 2.1, 2.9, 4.0],
        );
    }

    #[test]
    fn a_loaded_state_continues_the_moments_and_the_step_count() {
        let mut first = AdamW::new(0.1).unwrap();
        trajectory(&mut first, &[0.5, -0.25]);
        let state = first.state().unwrap();
        assert_eq!((state.kind.as_str(), state.steps), ("AdamW", 2));
        assert_eq!(state.buffers.len(), 2);
        let mut second = AdamW::new(0.1).unwrap();
        second.load_state(&state).unwrap();
        assert_eq!(second.steps(), 2);
        let mut w1 = array![[0.7f32]];
        let mut w2 = w1.clone();
        for opt in [&mut first as &mut dyn Optimizer, &mut second] {
            opt.begin_step();
        }
        step(&mut first, 0, &mut w1, &array![[1.5]]);
        step(&mut second, 0, &mut w2, &array![[1.5]]);
        assert_eq!(w1, w2);
        // Adam's state is not AdamW's, and other betas are another configuration.
        let err = Adam::new(0.1).unwrap().load_state(&state).unwrap_err();
        assert!(matches!(err, Error::StateMismatch { .. }), "{err}");
        let mut other = AdamW::new(0.1).unwrap().with_betas(0.8, 0.999).unwrap();
        let before = other.state().unwrap();
        assert!(other.load_state(&state).is_err());
        assert_eq!(other.state().unwrap(), before);
        // A buffer without its pair is refused.
        let mut damaged = state.clone();
        damaged.buffers.pop();
        assert!(AdamW::new(0.1).unwrap().load_state(&damaged).is_err());
    }

    #[test]
    fn defaults_and_bad_hyper_parameters() {
        let adam = Adam::default();
        assert_eq!(
            (adam.learning_rate(), adam.betas(), adam.eps()),
            (1e-3, (0.9, 0.999), 1e-8)
        );
        assert_eq!(AdamW::default().weight_decay(), 0.01);
        for lr in [-1.0, f32::NAN, f32::INFINITY] {
            assert!(matches!(Adam::new(lr), Err(Error::InvalidConfig { .. })));
            assert!(matches!(AdamW::new(lr), Err(Error::InvalidConfig { .. })));
        }
        for (b1, b2) in [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.9), (f32::NAN, 0.9)] {
            assert!(Adam::default().with_betas(b1, b2).is_err());
            assert!(AdamW::default().with_betas(b1, b2).is_err());
        }
        assert!(Adam::default().with_betas(0.0, 0.5).is_ok());
        for eps in [0.0, -1e-8, f32::NAN] {
            assert!(Adam::default().with_eps(eps).is_err());
        }
        for wd in [-0.1, f32::INFINITY] {
            assert!(AdamW::default().with_weight_decay(wd).is_err());
        }
        let mut adamw = AdamW::default();
        assert!(adamw.set_learning_rate(-1e-3).is_err());
        // 0 is legitimate (a cosine schedule ends there)
        adamw.set_learning_rate(0.0).unwrap();
        adamw.set_learning_rate(0.5).unwrap();
        assert_eq!(adamw.learning_rate(), 0.5);
    }
}
