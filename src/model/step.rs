//! A training step of [`Sequential`]: the forward pass, the loss, the backward pass and the
//! update, all or nothing. With plain SGD the layers that can take the step within their
//! backward pass do ([`Layer::backward_and_step`](crate::layers::Layer::backward_and_step)), and the optimizer updates the others; on
//! any failure the layers' `end_step(false)` and the optimizer's `revert` leave parameters,
//! buffers and optimizer state exactly as they were.

use super::Sequential;
use crate::layers::FusedStep;
use crate::losses::Loss;
use crate::optim::Optimizer;
use crate::{Error, Result};
use ndarray::ArrayView2;

impl Sequential {
    /// The step itself, on checked inputs and targets: all or nothing. On any error the
    /// parameters, the layers' buffers and the optimizer's state are left exactly as they were.
    ///
    /// With plain SGD ([`Optimizer::plain_step_learning_rate`]) the layers that can take the
    /// step within their backward pass ([`Layer::backward_and_step`](crate::layers::Layer::backward_and_step): [`Dense`](crate::layers::Dense), one sweep over
    /// its weights for the gradient, the step and the undo copy) do, and the optimizer updates
    /// the others; a failure anywhere is undone by the layers' `end_step(false)` and the
    /// optimizer's `revert`, as before. The values are the same bit for bit either way.
    pub(super) fn step(
        &mut self,
        inputs: ArrayView2<'_, f32>,
        targets: ArrayView2<'_, f32>,
        loss: &dyn Loss,
        optimizer: &mut dyn Optimizer,
    ) -> Result<f32> {
        self.with_threads(inputs.nrows(), |model| {
            let fused = optimizer.plain_step_learning_rate();
            if fused.is_some() {
                optimizer.begin_step();
            }
            let result =
                match model.forward_and_backward_with(inputs, targets, loss, optimizer, fused) {
                    Ok((value, failure)) => model
                        .update_with(optimizer, fused.is_some(), failure)
                        .map(|()| value),
                    Err(error) => {
                        if fused.is_some() {
                            optimizer.end_step(false);
                        }
                        Err(error)
                    }
                };
            let committed = result.is_ok();
            for layer in &mut model.layers {
                layer.end_step(committed);
            }
            if committed {
                model.steps += 1;
            }
            result
        })
    }

    /// Forward pass, loss and backward pass of a step; checks that the loss and the layers'
    /// buffers are finite.
    pub(super) fn forward_and_backward(
        &mut self,
        inputs: ArrayView2<'_, f32>,
        targets: ArrayView2<'_, f32>,
        loss: &dyn Loss,
        optimizer: &dyn Optimizer,
    ) -> Result<f32> {
        self.forward_and_backward_with(inputs, targets, loss, optimizer, None)
            .map(|(value, _)| value)
    }

    /// [`forward_and_backward`](Sequential::forward_and_backward), the layers taking the plain
    /// step of learning rate `step` within their backward pass when they can (see
    /// [`backward`](Sequential::backward)); also returns the first layer, in the model's order,
    /// whose step made a parameter non-finite, with that parameter's name.
    pub(super) fn forward_and_backward_with(
        &mut self,
        inputs: ArrayView2<'_, f32>,
        targets: ArrayView2<'_, f32>,
        loss: &dyn Loss,
        optimizer: &dyn Optimizer,
        step: Option<f32>,
    ) -> Result<(f32, Option<(usize, &'static str)>)> {
        self.stepped.fill(false);
        self.forward(inputs, 0)?;
        let rows = inputs.nrows();
        let last = self.layers.len() - 1;
        let fused = self.fused_loss(loss);
        // The layer whose output gradient the loss provides.
        let (value, start) = match fused {
            Some(fused) => {
                self.gradients[0].try_reshape("gradients", rows, self.widths[last])?;
                let logits = if last == 0 {
                    inputs
                } else {
                    self.activations[last - 1].view()
                };
                let value = fused.loss_and_logit_gradient(
                    logits,
                    Some(self.activations[last].view()),
                    targets,
                    self.gradients[0].view_mut(),
                )?;
                (value, last.checked_sub(1))
            }
            None => {
                self.gradients[0].try_reshape("gradients", rows, self.widths[last + 1])?;
                let value = loss.loss_and_gradient(
                    self.activations[last].view(),
                    targets,
                    self.gradients[0].view_mut(),
                )?;
                (value, Some(last))
            }
        };
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss {
                value,
                step: self.steps,
                learning_rate: optimizer.learning_rate(),
            });
        }
        if let Some((index, layer)) = self
            .layers
            .iter()
            .enumerate()
            .find(|(_, layer)| !layer.buffers_are_finite())
        {
            let names: Vec<String> = layer
                .buffers()
                .into_iter()
                .filter(|(_, b)| b.iter().any(|v| !v.is_finite()))
                .map(|(name, _)| format!("{index}.{name}"))
                .collect();
            return Err(Error::NonFiniteUpdate {
                what: format!("buffer {}", names.join(", ")),
                step: self.steps,
                learning_rate: optimizer.learning_rate(),
            });
        }
        let mut failure = None;
        if let Some(start) = start {
            failure = self.backward(inputs, start, step)?;
        }
        Ok((value, failure))
    }

    /// The optimizer's update of every parameter, checked as it goes: when one would become
    /// NaN or infinite, the parameters updated so far are reverted and nothing changes.
    pub(super) fn update(&mut self, optimizer: &mut dyn Optimizer) -> Result<()> {
        self.stepped.fill(false);
        self.update_with(optimizer, false, None)
    }

    /// [`update`](Sequential::update) of the parameters of the layers that did not take the
    /// step in their backward pass (`stepped`), after [`Optimizer::begin_step`] unless `begun`.
    /// `failure` is the first layer whose own step made a parameter non-finite: the update
    /// stops there as it would have stopped at that parameter, so that the error names the
    /// parameter the optimizer would have named; the layers' steps are undone by their
    /// `end_step(false)`.
    pub(super) fn update_with(
        &mut self,
        optimizer: &mut dyn Optimizer,
        begun: bool,
        failure: Option<(usize, &'static str)>,
    ) -> Result<()> {
        if !begun {
            optimizer.begin_step();
        }
        let mut index = 0;
        let mut failed: Option<(usize, usize, &'static str)> = None;
        for (layer_index, layer) in self.layers.iter_mut().enumerate() {
            let stepped = self.stepped[layer_index];
            if let Some((_, name)) = failure.filter(|&(l, _)| l == layer_index && failed.is_none())
            {
                failed = Some((index, layer_index, name));
            }
            layer.visit_parameters_mut(&mut |parameter| {
                if failed.is_none() && !stepped {
                    let name = parameter.name;
                    if !optimizer.update(index, parameter) {
                        failed = Some((index, layer_index, name));
                    }
                }
                index += 1;
            });
        }
        let Some((bad, layer_index, name)) = failed else {
            optimizer.end_step(true);
            return Ok(());
        };
        let mut index = 0;
        for (layer, &stepped) in self.layers.iter_mut().zip(&self.stepped) {
            layer.visit_parameters_mut(&mut |parameter| {
                if index <= bad && !stepped {
                    optimizer.revert(index, parameter);
                }
                index += 1;
            });
        }
        optimizer.end_step(false);
        Err(Error::NonFiniteUpdate {
            what: format!("parameter {layer_index}.{name} (or the optimizer's state for it)"),
            step: self.steps,
            learning_rate: optimizer.learning_rate(),
        })
    }

    /// Back-propagates the gradient in `gradients[0]` (dLoss/dOutput of layer `start`) down to
    /// the first layer, storing every parameter gradient on the way. With `step = Some(lr)`,
    /// each layer that can takes the plain step `p <- p - lr g` within its backward pass
    /// ([`Layer::backward_and_step`](crate::layers::Layer::backward_and_step), recorded in `stepped`); then returns the lowest layer whose
    /// step made a parameter non-finite, with the parameter's name. The pass runs to the first
    /// layer even then, so that every layer's step is taken (and undone) as a whole.
    pub(super) fn backward(
        &mut self,
        inputs: ArrayView2<'_, f32>,
        start: usize,
        step: Option<f32>,
    ) -> Result<Option<(usize, &'static str)>> {
        let mut failure = None;
        let rows = inputs.nrows();
        let [first, second] = &mut self.gradients;
        let (mut grad_output, mut grad_input) = (first, second);
        for i in (0..=start).rev() {
            let input = if i == 0 {
                inputs
            } else {
                self.activations[i - 1].view()
            };
            let grad_in = if i == 0 {
                None
            } else {
                grad_input.try_reshape("gradients", rows, self.widths[i])?;
                Some(grad_input.view_mut())
            };
            let output = self.activations[i].view();
            match step {
                None => self.layers[i].backward(input, output, grad_output.view(), grad_in)?,
                Some(lr) => {
                    let taken = self.layers[i].backward_and_step(
                        input,
                        output,
                        grad_output.view(),
                        grad_in,
                        lr,
                    )?;
                    if let FusedStep::Taken { non_finite } = taken {
                        self.stepped[i] = true;
                        if let Some(name) = non_finite {
                            failure = Some((i, name));
                        }
                    }
                }
            }
            std::mem::swap(&mut grad_output, &mut grad_input);
        }
        Ok(failure)
    }
}
