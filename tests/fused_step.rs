//! Plain SGD taken within `Dense`'s backward pass (issue #27): with `Sgd` without momentum or
//! weight decay, `Sequential`'s training step lets each `Dense` layer apply the step to every
//! block of its weight gradient as it is computed (one sweep over the weights, the undo copy
//! written in the same sweep). Seen from outside nothing changes: the same bits as the
//! optimizer's own update (forced here by a wrapper that hides `plain_step_learning_rate`), on
//! any number of threads, and a step that goes non-finite in the middle of the sweep is undone
//! entirely, as before.

use feedforward::layers::{FusedStep, Parameter, Shape};
use feedforward::ndarray::{Array2, ArrayView2, ArrayViewMut2};
use feedforward::prelude::*;
use feedforward::{Error, Optimizer, Sequential};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[path = "common/spike.rs"]
mod spike;
use spike::Spike;

/// `Sgd`, updating every parameter itself: hides `plain_step_learning_rate` (the default,
/// `None`), so that the model takes the unfused path.
struct Unfused(Sgd);

impl Optimizer for Unfused {
    fn learning_rate(&self) -> f32 {
        self.0.learning_rate()
    }
    fn set_learning_rate(&mut self, learning_rate: f32) -> feedforward::Result<()> {
        self.0.set_learning_rate(learning_rate)
    }
    fn begin_step(&mut self) {
        self.0.begin_step()
    }
    fn update(&mut self, index: usize, parameter: Parameter<'_>) -> bool {
        self.0.update(index, parameter)
    }
    fn revert(&mut self, index: usize, parameter: Parameter<'_>) {
        self.0.revert(index, parameter)
    }
    fn end_step(&mut self, commit: bool) {
        self.0.end_step(commit)
    }
}

/// A `Dense` layer that counts the steps it took within its backward pass.
struct Spy {
    dense: Dense,
    fused: Arc<AtomicUsize>,
}

impl Layer for Spy {
    fn name(&self) -> &str {
        "Spy"
    }
    fn output_width(&self, input_width: usize) -> feedforward::Result<usize> {
        self.dense.output_width(input_width)
    }
    fn build(&mut self, input: Shape) -> feedforward::Result<Shape> {
        self.dense.build(input)
    }
    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        self.dense.forward(input, output)
    }
    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> feedforward::Result<()> {
        self.dense.backward(input, output, grad_output, grad_input)
    }
    fn backward_and_step(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
        learning_rate: f32,
    ) -> feedforward::Result<FusedStep> {
        let taken =
            self.dense
                .backward_and_step(input, output, grad_output, grad_input, learning_rate)?;
        if matches!(taken, FusedStep::Taken { .. }) {
            self.fused.fetch_add(1, Ordering::Relaxed);
        }
        Ok(taken)
    }
    fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        self.dense.visit_parameters_mut(visit)
    }
    fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        self.dense.parameters()
    }
    fn end_step(&mut self, commit: bool) {
        self.dense.end_step(commit)
    }
}

/// 300 -> 1000 (1.2 MB of weights: walked in column chunks) -> spike -> ReLU -> 1000 (4 MB,
/// 32 M multiply-adds at a batch of 32: split over threads) -> ReLU -> 10 -> softmax; the
/// count of fused steps of the first layer, and the spike's switch.
fn spiked_model() -> (Sequential, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let mut rng = RandomState::new(27);
    let fused = Arc::new(AtomicUsize::new(0));
    let on = Arc::new(AtomicBool::new(false));
    let model = Sequential::builder(300)
        .push(Spy {
            dense: Dense::new(300, 1000, Init::HeNormal, &mut rng).unwrap(),
            fused: fused.clone(),
        })
        .push(Spike {
            column: 500,
            on: on.clone(),
        })
        .push(Relu)
        .push(Dense::new(1000, 1000, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(1000, 10, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    (model, fused, on)
}

fn data(rows: usize) -> (Array2<f32>, Array2<f32>) {
    let mut rng = RandomState::new(7);
    let x = rng.rand(rows, 300).unwrap();
    let labels: Vec<usize> = (0..rows).map(|r| (r * 7) % 10).collect();
    (x, feedforward::data::one_hot(&labels, 10).unwrap())
}

/// Every parameter as bits.
fn state(model: &Sequential) -> Vec<(String, Vec<u32>)> {
    model
        .parameters()
        .into_iter()
        .map(|(name, v)| (name, v.iter().map(|x| x.to_bits()).collect()))
        .collect()
}

/// What a run of steps leaves: the losses (bits, `None` for a failed step, with its message),
/// the parameters, and how many steps the first layer took within its backward pass.
type Run = (Vec<Result<u32, String>>, Vec<(String, Vec<u32>)>, usize);

/// Trains 3 steps of `batch` rows with the spike switched on for the second, with `optimizer`.
fn run(batch: usize, optimizer: &mut dyn Optimizer) -> Run {
    let (mut model, fused, on) = spiked_model();
    let (x, y) = data(3 * batch);
    let mut losses = Vec::new();
    for step in 0..3 {
        on.store(step == 1, Ordering::Relaxed);
        let rows = step * batch..(step + 1) * batch;
        let before = state(&model);
        let result = model.train_step(
            x.slice(feedforward::ndarray::s![rows.clone(), ..]),
            y.slice(feedforward::ndarray::s![rows, ..]),
            &CrossEntropy,
            optimizer,
        );
        if result.is_err() {
            assert!(state(&model) == before, "a failed step changed the model");
        }
        losses.push(result.map(f32::to_bits).map_err(|e| e.to_string()));
    }
    assert_eq!(model.steps(), 2);
    (losses, state(&model), fused.load(Ordering::Relaxed))
}

#[test]
fn fused_and_unfused_steps_give_the_same_bits_and_the_same_failure() {
    // 32 rows: the blocked kernels, one sweep; 80 rows: the packed product, then the step.
    for batch in [32, 80] {
        let fused = run(batch, &mut Sgd::new(0.05).unwrap());
        let unfused = run(batch, &mut Unfused(Sgd::new(0.05).unwrap()));
        assert_eq!(
            fused.2, 3,
            "batch {batch}: plain SGD steps within the backward pass"
        );
        assert_eq!(
            unfused.2, 0,
            "batch {batch}: a wrapper keeps the optimizer's update"
        );
        // The second step fails in the middle of the first layer's sweep (output 500 of
        // 1000), after the later layers stepped: everything is undone, with the error the
        // optimizer's update gives.
        let message = fused.0[1].as_ref().unwrap_err();
        assert!(message.contains("parameter 0.weight"), "{message}");
        assert!(
            fused.0 == unfused.0,
            "batch {batch}: {:?} vs {:?}",
            fused.0,
            unfused.0
        );
        assert!(fused.1 == unfused.1, "batch {batch}: the parameters differ");
    }
}

#[test]
fn a_failure_after_a_layer_stepped_is_undone() {
    // The spike makes the first layer's step non-finite after the two later Dense layers took
    // theirs; a failure of the loss or of an input comes before any step.
    let (mut model, fused, on) = spiked_model();
    let (x, y) = data(32);
    let mut sgd = Sgd::new(0.05).unwrap();
    on.store(true, Ordering::Relaxed);
    let before = state(&model);
    let error = model
        .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
        .unwrap_err();
    assert!(
        matches!(&error, Error::NonFiniteUpdate { what, step: 0, .. } if what.contains("0.weight")),
        "{error}"
    );
    assert_eq!(fused.load(Ordering::Relaxed), 1);
    assert!(state(&model) == before);
    assert_eq!(model.steps(), 0);
    // The same model then trains as a fresh one does.
    on.store(false, Ordering::Relaxed);
    let loss = model
        .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
        .unwrap();
    let (mut fresh, _, _) = spiked_model();
    let fresh_loss = fresh
        .train_step(
            x.view(),
            y.view(),
            &CrossEntropy,
            &mut Sgd::new(0.05).unwrap(),
        )
        .unwrap();
    assert_eq!(loss.to_bits(), fresh_loss.to_bits());
    assert!(state(&model) == state(&fresh));
}

#[test]
fn fused_steps_give_the_same_bits_on_any_number_of_threads() {
    let train = || run(32, &mut Sgd::new(0.05).unwrap());
    let alone = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(train);
    for threads in [2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        assert!(pool.install(train) == alone, "{threads} threads");
    }
}

#[test]
fn other_optimizers_keep_the_optimizers_update() {
    for mut optimizer in [
        Box::new(Sgd::new(0.05).unwrap().with_momentum(0.9).unwrap()) as Box<dyn Optimizer>,
        Box::new(Sgd::new(0.05).unwrap().with_weight_decay(0.01).unwrap()),
        Box::new(Adam::new(0.001).unwrap()),
    ] {
        assert_eq!(optimizer.plain_step_learning_rate(), None);
        let (mut model, fused, _) = spiked_model();
        let (x, y) = data(32);
        model
            .train_step(x.view(), y.view(), &CrossEntropy, optimizer.as_mut())
            .unwrap();
        assert_eq!(fused.load(Ordering::Relaxed), 0);
    }
    assert_eq!(
        Sgd::new(0.05).unwrap().plain_step_learning_rate(),
        Some(0.05)
    );
}
