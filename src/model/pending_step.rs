//! A training step in two halves: [`Sequential::compute_gradients`] (forward, loss, backward)
//! and [`PendingStep::apply_gradients`] (the optimizer's update), with the gradients open to
//! change in between.
//!
//! This is TensorFlow's `Optimizer.compute_gradients` / `apply_gradients` split, and the place
//! where PyTorch's `DistributedDataParallel` runs its all-reduce hooks: data-parallel training
//! ([`distributed`](crate::distributed), feature `mpi`) sums the gradients of every process
//! there, and a user can run an all-reduce of their own, clip gradients, or log them.
//!
//! The step stays all or nothing: until [`apply_gradients`](PendingStep::apply_gradients)
//! succeeds, nothing of the model changed for good. A [`PendingStep`] dropped or
//! [`discard`](PendingStep::discard)ed puts the layers' buffers (batch-norm running statistics)
//! back as they were, and the parameters were never touched.
//!
//! [`Sequential::train_step`] and `fit` do not go through here: they run the same two halves
//! back to back, so a step through a `PendingStep` whose gradients were left alone gives the
//! same parameters, bit for bit, as [`train_step`](Sequential::train_step).
//!
//! ```
//! use feedforward::prelude::*;
//!
//! let mut model = Sequential::builder(3)
//!     .seed(1)
//!     .dense(4, Init::HeNormal)
//!     .push(Relu)
//!     .dense(2, Init::XavierNormal)
//!     .push(Softmax)
//!     .build()?;
//! let x = RandomState::new(2).rand(6, 3)?;
//! let y = feedforward::data::one_hot(&[0, 1, 1, 0, 1, 0], 2)?;
//! let mut sgd = Sgd::new(0.1)?;
//! let mut step = model.compute_gradients(x.view(), y.view(), &CrossEntropy, &mut sgd)?;
//! // One flat buffer of every gradient, as an all-reduce wants it.
//! let mut flat = vec![0.0f32; step.gradient_len()];
//! step.copy_gradients_to(&mut flat)?;
//! let squares: f32 = flat.iter().map(|g| g * g).sum();
//! let norm = squares.sqrt();
//! if norm > 1.0 {
//!     // Clip the gradients' norm to 1, as PyTorch's clip_grad_norm_.
//!     flat.iter_mut().for_each(|g| *g /= norm);
//!     step.copy_gradients_from(&flat)?;
//! }
//! let loss = step.apply_gradients(&mut sgd)?;
//! assert!(loss.is_finite());
//! assert_eq!(model.steps(), 1);
//! # Ok::<(), feedforward::Error>(())
//! ```

use super::Sequential;
use crate::losses::Loss;
use crate::optim::Optimizer;
use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2};

impl Sequential {
    /// The first half of a training step on a batch: forward pass, loss and backward pass,
    /// leaving every parameter's gradient in its layer; the parameters are not touched.
    /// [`PendingStep::apply_gradients`] finishes the step.
    ///
    /// `optimizer` is the one that will apply the step; only its learning rate is read, for
    /// error messages (it is borrowed mutably, as in `train_step`, so that the step may run on
    /// rayon's threads; the borrow ends with this call).
    ///
    /// # Errors
    /// As [`train_step`](Sequential::train_step); on an error nothing changed.
    pub fn compute_gradients<'m>(
        &'m mut self,
        inputs: ArrayView2<'_, f32>,
        targets: ArrayView2<'_, f32>,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
    ) -> Result<PendingStep<'m>> {
        self.check_inputs(&inputs)?;
        self.check_targets(&inputs, &targets)?;
        self.check_loss(loss)?;
        self.set_training(true);
        let rows = inputs.nrows();
        // Moved in whole: a `&mut dyn Optimizer` crosses threads, a `&dyn Optimizer` does not.
        let computed = self.with_threads(rows, move |model| {
            model.forward_and_backward(inputs, targets, loss, optimizer)
        });
        match computed {
            Ok(value) => Ok(PendingStep {
                model: self,
                loss: value,
                rows,
                open: true,
            }),
            Err(error) => {
                for layer in &mut self.layers {
                    layer.end_step(false);
                }
                Err(error)
            }
        }
    }
}

/// A training step whose gradients are computed and not yet applied, from
/// [`Sequential::compute_gradients`]; it borrows the model until it is applied or dropped.
///
/// The gradients are read and written parameter by parameter in the model's order (that of
/// [`Sequential::parameters`]), each one in its memory order: a flat buffer of
/// [`gradient_len`](PendingStep::gradient_len) values, laid out the same way on every process
/// that runs the same model.
#[must_use = "a pending step changes nothing until apply_gradients is called"]
pub struct PendingStep<'m> {
    model: &'m mut Sequential,
    loss: f32,
    rows: usize,
    /// Whether the layers still wait for their `end_step`.
    open: bool,
}

impl std::fmt::Debug for PendingStep<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingStep")
            .field("loss", &self.loss)
            .field("rows", &self.rows)
            .finish()
    }
}

impl PendingStep<'_> {
    /// The batch's loss (before the update), as [`Sequential::train_step`] returns it.
    pub fn loss(&self) -> f32 {
        self.loss
    }

    /// Rows of the batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of gradient values: the model's [`parameter_count`](Sequential::parameter_count).
    pub fn gradient_len(&self) -> usize {
        self.model.parameter_count()
    }

    /// Calls `visit` with the name (`"0.weight"`, as [`Sequential::parameters`] names it) and
    /// the gradient of every parameter, in the model's order; the gradient may be changed in
    /// place.
    pub fn for_each_gradient_mut(&mut self, mut visit: impl FnMut(&str, ArrayViewMut2<'_, f32>)) {
        for (i, layer) in self.model.layers.iter_mut().enumerate() {
            layer.visit_parameters_mut(&mut |parameter| {
                visit(&format!("{i}.{}", parameter.name), parameter.grad);
            });
        }
    }

    /// Copies every gradient into `buffer`, parameter after parameter in the model's order, each
    /// in its memory order.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] (nothing copied) unless `buffer` holds exactly
    /// [`gradient_len`](PendingStep::gradient_len) values.
    pub fn copy_gradients_to(&mut self, buffer: &mut [f32]) -> Result<()> {
        self.check_len(buffer.len())?;
        let mut offset = 0;
        self.visit_flat(|grad| {
            let part = &mut buffer[offset..offset + grad.len()];
            match grad.as_slice_memory_order() {
                Some(slice) => part.copy_from_slice(slice),
                None => part.iter_mut().zip(grad.iter()).for_each(|(b, &g)| *b = g),
            }
            offset += part.len();
        });
        Ok(())
    }

    /// Writes every gradient from `buffer`, laid out as
    /// [`copy_gradients_to`](PendingStep::copy_gradients_to) writes it.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] (nothing written) unless `buffer` holds exactly
    /// [`gradient_len`](PendingStep::gradient_len) values.
    pub fn copy_gradients_from(&mut self, buffer: &[f32]) -> Result<()> {
        self.check_len(buffer.len())?;
        let mut offset = 0;
        self.visit_flat(|mut grad| {
            let len = grad.len();
            let part = &buffer[offset..offset + len];
            match grad.as_slice_memory_order_mut() {
                Some(slice) => slice.copy_from_slice(part),
                None => grad.iter_mut().zip(part).for_each(|(g, &b)| *g = b),
            }
            offset += len;
        });
        Ok(())
    }

    /// The second half of the step: the optimizer's update of every parameter from the
    /// gradients as they are now, all or nothing as in [`Sequential::train_step`]. Returns the
    /// batch's [`loss`](PendingStep::loss).
    ///
    /// # Errors
    /// [`Error::NonFiniteUpdate`] (nothing changed, the layers' buffers put back) when an
    /// update would make a parameter or the optimizer's state NaN or infinite.
    pub fn apply_gradients(mut self, optimizer: &mut dyn Optimizer) -> Result<f32> {
        let rows = self.rows;
        let result = self
            .model
            .with_threads(rows, |model| model.update(optimizer));
        let committed = result.is_ok();
        self.close(committed);
        if committed {
            self.model.steps += 1;
        }
        result.map(|()| self.loss)
    }

    /// Gives the step up: the parameters were never touched, and the layers put their buffers
    /// back as they were before [`Sequential::compute_gradients`]. Dropping the step does the
    /// same.
    pub fn discard(mut self) {
        self.close(false);
    }

    fn close(&mut self, commit: bool) {
        if self.open {
            for layer in &mut self.model.layers {
                layer.end_step(commit);
            }
            self.open = false;
        }
    }

    fn check_len(&self, len: usize) -> Result<()> {
        let expected = self.gradient_len();
        if len == expected {
            Ok(())
        } else {
            Err(Error::shape(
                "gradient buffer",
                format!("{expected} values, one per parameter"),
                len.to_string(),
            ))
        }
    }

    fn visit_flat(&mut self, mut visit: impl FnMut(ArrayViewMut2<'_, f32>)) {
        for layer in &mut self.model.layers {
            layer.visit_parameters_mut(&mut |parameter| visit(parameter.grad));
        }
    }
}

impl Drop for PendingStep<'_> {
    fn drop(&mut self) {
        self.close(false);
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use crate::Error;

    fn model() -> Sequential {
        Sequential::builder(3)
            .seed(5)
            .dense(6, Init::HeNormal)
            .push(crate::layers::BatchNorm1d::new(6).unwrap())
            .push(Relu)
            .dense(3, Init::XavierNormal)
            .push(Softmax)
            .build()
            .unwrap()
    }

    fn batch() -> (ndarray::Array2<f32>, ndarray::Array2<f32>) {
        let x = RandomState::new(9).rand(8, 3).unwrap();
        let y = crate::data::one_hot(&[0, 1, 2, 1, 0, 2, 2, 1], 3).unwrap();
        (x, y)
    }

    #[test]
    fn two_halves_are_train_step_to_the_bit() {
        let (x, y) = batch();
        let (mut a, mut b) = (model(), model());
        let mut sgd_a = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
        let mut sgd_b = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
        for _ in 0..3 {
            let la = a
                .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd_a)
                .unwrap();
            let step = b
                .compute_gradients(x.view(), y.view(), &CrossEntropy, &mut sgd_b)
                .unwrap();
            let lb = step.apply_gradients(&mut sgd_b).unwrap();
            assert_eq!(la.to_bits(), lb.to_bits());
        }
        assert_eq!(a.snapshot(), b.snapshot());
        assert_eq!(a.steps(), 3);
        assert_eq!(b.steps(), 3);
    }

    #[test]
    fn gradients_round_trip_through_a_flat_buffer_in_parameter_order() {
        let (x, y) = batch();
        let mut m = model();
        let mut sgd = Sgd::new(0.1).unwrap();
        let count = m.parameter_count();
        let mut step = m
            .compute_gradients(x.view(), y.view(), &CrossEntropy, &mut sgd)
            .unwrap();
        assert_eq!(step.gradient_len(), count);
        let mut flat = vec![0.0f32; count];
        step.copy_gradients_to(&mut flat).unwrap();
        assert!(flat.iter().any(|&g| g != 0.0));
        let mut names = Vec::new();
        let mut from_visit = Vec::new();
        step.for_each_gradient_mut(|name, grad| {
            names.push(name.to_string());
            from_visit.extend(grad.as_slice_memory_order().unwrap().iter().copied());
        });
        assert_eq!(from_visit, flat);
        assert_eq!(
            names,
            ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]
        );
        let doubled: Vec<f32> = flat.iter().map(|g| 2.0 * g).collect();
        step.copy_gradients_from(&doubled).unwrap();
        let mut back = vec![0.0f32; count];
        step.copy_gradients_to(&mut back).unwrap();
        assert_eq!(back, doubled);
        assert!(step.copy_gradients_to(&mut back[1..]).is_err());
        assert!(step.copy_gradients_from(&doubled[1..]).is_err());
    }

    #[test]
    fn a_discarded_or_dropped_step_changes_nothing() {
        let (x, y) = batch();
        let mut m = model();
        let mut sgd = Sgd::new(0.1).unwrap();
        let before = m.snapshot();
        m.compute_gradients(x.view(), y.view(), &CrossEntropy, &mut sgd)
            .unwrap()
            .discard();
        assert_eq!(m.snapshot(), before);
        drop(
            m.compute_gradients(x.view(), y.view(), &CrossEntropy, &mut sgd)
                .unwrap(),
        );
        assert_eq!(m.snapshot(), before);
        assert_eq!(m.steps(), 0);
    }

    #[test]
    fn a_non_finite_gradient_is_refused_and_changes_nothing() {
        let (x, y) = batch();
        let mut m = model();
        let mut sgd = Sgd::new(0.1).unwrap();
        let before = m.snapshot();
        let mut step = m
            .compute_gradients(x.view(), y.view(), &CrossEntropy, &mut sgd)
            .unwrap();
        let mut flat = vec![0.0f32; step.gradient_len()];
        flat[0] = f32::NAN;
        step.copy_gradients_from(&flat).unwrap();
        let error = step.apply_gradients(&mut sgd).unwrap_err();
        assert!(matches!(error, Error::NonFiniteUpdate { .. }), "{error}");
        assert_eq!(m.snapshot(), before);
        assert_eq!(m.steps(), 0);
    }
}
