//! Resuming: checks that a run is the checkpoint's, then puts its state back.

use super::*;

impl TrainingCheckpoint {
    /// Puts the run back where the checkpoint left it: the model's tensors, generators and step
    /// count, the optimizer's state, the shuffling generator, the callbacks' states; returns the
    /// [`History`] of the finished epochs. Everything is checked first: on an error nothing was
    /// resumed (a failure past the checks puts the optimizer and callbacks back).
    pub(super) fn resume(&self, run: &mut RunState<'_, '_>) -> Result<History> {
        let RunState {
            model,
            optimizer,
            batches,
            callbacks,
            setup,
            epochs,
            processes,
            ..
        } = run;
        let (setup, epochs, processes) = (*setup, *epochs, *processes);
        self.check_world_size(processes)?;
        // Every process but rank 0 puts back its own state over rank 0's; the callbacks run on
        // rank 0 alone, their states are rank 0's.
        let rank = processes.map_or(0, |p| p.rank);
        let saved = &self.training.setup;
        let differs = |what: &str, saved: String, now: String| {
            self.error(CheckpointProblem::TrainingMismatch(format!(
                "{what} is {saved} in the checkpoint but {now} in this run"
            )))
        };
        if saved.batch_size != setup.batch_size {
            return Err(differs(
                "the batch size",
                saved.batch_size.to_string(),
                setup.batch_size.to_string(),
            ));
        }
        if (saved.shuffle_seed, saved.shuffle_buffer) != (setup.shuffle_seed, setup.shuffle_buffer)
        {
            let show = |s: &Setup| match (s.shuffle_seed, s.shuffle_buffer) {
                (None, _) => "in order".to_string(),
                (Some(seed), None) => format!("shuffled with seed {seed}"),
                (Some(seed), Some([buffer, block])) => format!(
                    "shuffled with seed {seed} in a buffer of {buffer} rows (blocks of {block})"
                ),
            };
            return Err(differs("the row order", show(saved), show(setup)));
        }
        if saved.training_rows != setup.training_rows {
            return Err(differs(
                "the number of training rows",
                saved.training_rows.to_string(),
                setup.training_rows.to_string(),
            ));
        }
        if saved.validation_rows != setup.validation_rows {
            return Err(differs(
                "the number of validation rows",
                saved.validation_rows.to_string(),
                setup.validation_rows.to_string(),
            ));
        }
        // A checkpoint of version 1 does not say which loss it was trained with: it resumes
        // under any (refusing it would strand every run written before the loss was recorded,
        // and nothing in such a file tells the losses apart).
        if let (Some(saved_loss), Some(loss)) = (&saved.loss, &setup.loss) {
            if saved_loss != loss {
                return Err(differs("the loss", saved_loss.clone(), loss.clone()));
            }
        }
        if saved.base_learning_rate.to_bits() != setup.base_learning_rate.to_bits() {
            return Err(differs(
                "the initial learning rate",
                saved.base_learning_rate.to_string(),
                setup.base_learning_rate.to_string(),
            ));
        }
        if self.training.epochs_done > epochs {
            return Err(differs(
                "the number of finished epochs",
                self.training.epochs_done.to_string(),
                format!("{epochs} epochs asked for"),
            ));
        }
        self.check_model(model)?;
        let own = match rank {
            0 => None,
            rank => Some(self.rank_state(rank, model)?),
        };
        let no_callbacks: &mut [&mut dyn Callback] = &mut [];
        let callbacks = match rank {
            0 => &mut **callbacks,
            _ => no_callbacks,
        };
        if self.shuffle.is_some() != batches.generator().is_some() {
            return Err(differs(
                "the shuffling generator",
                "saved".into(),
                "absent".into(),
            ));
        }
        // The callbacks with a state, by position, must be the checkpoint's.
        let mut priors = Vec::with_capacity(callbacks.len());
        for (position, callback) in callbacks.iter().enumerate() {
            let prior = callback.state()?;
            match (&prior, self.callbacks.get(&position)) {
                (Some(now), Some(saved)) if now.kind != saved.kind => {
                    return Err(self.error(CheckpointProblem::CallbackMismatch(format!(
                        "callback {position} is {} but the checkpoint holds the state of {}",
                        now.kind, saved.kind
                    ))))
                }
                (Some(now), None) => {
                    return Err(self.error(CheckpointProblem::CallbackMismatch(format!(
                        "callback {position} ({}) has a state the checkpoint does not hold",
                        now.kind
                    ))))
                }
                (None, Some(saved)) => {
                    return Err(self.error(CheckpointProblem::CallbackMismatch(format!(
                        "the checkpoint holds the state of a {} at position {position}, which \
                         the callbacks given do not have",
                        saved.kind
                    ))))
                }
                _ => {}
            }
            priors.push(prior);
        }
        let extra = match rank {
            0 => self.callbacks.keys().find(|&&p| p >= callbacks.len()),
            _ => None,
        };
        if let Some(extra) = extra {
            return Err(self.error(CheckpointProblem::CallbackMismatch(format!(
                "the checkpoint holds the state of a callback at position {extra}, but only {} \
                 callbacks are given",
                callbacks.len()
            ))));
        }
        // The optimizer's buffers must fit the model's parameters.
        let sizes: Vec<usize> = model.parameters().iter().map(|(_, p)| p.len()).collect();
        for buffer in &self.optimizer.buffers {
            if sizes.get(buffer.parameter) != Some(&buffer.values.len()) {
                return Err(self.error(CheckpointProblem::OptimizerMismatch(format!(
                    "buffer {} of parameter {} holds {} values, the model's parameter {}",
                    buffer.name,
                    buffer.parameter,
                    buffer.values.len(),
                    sizes
                        .get(buffer.parameter)
                        .map_or("does not exist".to_string(), |n| format!("has {n}"))
                ))));
            }
        }
        let prior_optimizer = optimizer.state()?;
        optimizer
            .load_state(&self.optimizer)
            .map_err(|e| self.error(CheckpointProblem::OptimizerMismatch(e.to_string())))?;
        // Puts back the optimizer and the first `loaded` callbacks. Their states were exported
        // just before, so that loading them back cannot fail.
        let undo = |optimizer: &mut dyn Optimizer,
                    callbacks: &mut [&mut dyn Callback],
                    loaded: usize,
                    model: &Sequential| {
            let _ = optimizer.load_state(&prior_optimizer);
            for (callback, prior) in callbacks.iter_mut().zip(&priors).take(loaded) {
                if let Some(prior) = prior {
                    let _ = callback.load_state(prior, model);
                }
            }
        };
        for position in 0..callbacks.len() {
            let Some(saved) = self.callbacks.get(&position) else {
                continue;
            };
            if let Err(e) = callbacks[position].load_state(saved, model) {
                undo(&mut **optimizer, callbacks, position, model);
                return Err(self.error(CheckpointProblem::CallbackMismatch(e.to_string())));
            }
        }
        let loaded = self.load_model(model).and_then(|()| match &own {
            Some(state) => super::processes::load_rank_state(model, state),
            None => Ok(()),
        });
        if let Err(e) = loaded {
            undo(&mut **optimizer, callbacks, callbacks.len(), model);
            return Err(e);
        }
        if let (Some(rng), Some(state)) = (batches.generator_mut(), &self.shuffle) {
            *rng = RandomState::from_state(state)?;
        }
        Ok(self.history.clone())
    }

    /// Checks that `model` is the checkpoint's: input width, architecture, tensor names and
    /// sizes, layers with a generator.
    fn check_model(&self, model: &Sequential) -> Result<()> {
        let fail = |reason: String| self.error(CheckpointProblem::ModelMismatch(reason));
        if model.input_shape() != self.input_shape {
            return Err(fail(format!(
                "inputs of shape {} in the checkpoint, {} in this model",
                self.input_shape,
                model.input_shape()
            )));
        }
        let specs: Option<Vec<LayerSpec>> = model.layers.iter().map(|l| l.spec()).collect();
        if let (Some(saved), Some(now)) = (&self.architecture, &specs) {
            if saved.len() != now.len() {
                return Err(fail(format!(
                    "{} layers in the checkpoint, {} in this model",
                    saved.len(),
                    now.len()
                )));
            }
            if let Some((index, (a, b))) = saved
                .iter()
                .zip(now)
                .enumerate()
                .find(|(_, (a, b))| !same_layer(a, b))
            {
                return Err(fail(format!(
                    "layer {index} is {a:?} in the checkpoint but {b:?} in this model"
                )));
            }
        }
        let with_generator: Vec<usize> = model
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.generator().is_some())
            .map(|(i, _)| i)
            .collect();
        let saved: Vec<usize> = self.layer_generators.keys().copied().collect();
        if with_generator != saved {
            return Err(fail(format!(
                "the layers drawing random numbers are {saved:?} in the checkpoint, \
                 {with_generator:?} in this model"
            )));
        }
        Ok(())
    }
}

/// Whether two layers are the same for resuming: equal specs, but for a dropout's seed, which
/// only says where its generator started (the checkpoint restores where it is).
fn same_layer(a: &LayerSpec, b: &LayerSpec) -> bool {
    match (a, b) {
        (LayerSpec::Dropout { p: p1, .. }, LayerSpec::Dropout { p: p2, .. }) => {
            p1.to_bits() == p2.to_bits()
        }
        _ => a == b,
    }
}
