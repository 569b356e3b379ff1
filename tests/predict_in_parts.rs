//! `predict` in parts of the batch, one per thread, each through every layer
//! (`layers::Inference`), gives the bits and the errors of the pass layer by layer.
//!
//! Every model is built twice from the same seed: once from the crate's layers, which offer
//! the shared pass, and once with each layer wrapped in `Opaque`, which does not, so that its
//! `predict` runs layer by layer. Pools of 2, 3 and 8 threads make 2 to 8 parts (of at least 16
//! rows); the batch sizes cross the Dense kernels' choices (fewer than 64 rows: blocked
//! kernels; outputs at least twice the rows: the other packed layout).

use feedforward::layers::{Dropout, Identity, Inference, Layer, Tanh};
use feedforward::ndarray::{Array2, ArrayView2, ArrayViewMut2};
use feedforward::prelude::*;
use feedforward::{Error, Optimizer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[path = "common/spike.rs"]
mod spike;
use spike::Spike;

/// A layer run through its `forward` only: no `Inference`, so a model holding one predicts
/// layer by layer.
struct Opaque(Box<dyn Layer>);

impl Layer for Opaque {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn output_width(&self, input_width: usize) -> feedforward::Result<usize> {
        self.0.output_width(input_width)
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        self.0.forward(input, output)
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> feedforward::Result<()> {
        self.0.backward(input, output, grad_output, grad_input)
    }

    fn set_training(&mut self, training: bool) {
        self.0.set_training(training)
    }

    fn propagates_non_finite(&self) -> bool {
        self.0.propagates_non_finite()
    }

    fn multiply_adds(&self) -> usize {
        self.0.multiply_adds()
    }
}

/// `widths[0] -> ... -> widths[last]` with ReLU, Tanh, Dropout and Identity between the
/// Dense layers in turn and a softmax at the end; every layer wrapped in `Opaque` when
/// `opaque`.
fn model(widths: &[usize], opaque: bool) -> Sequential {
    let mut rng = RandomState::new(3);
    let mut layers: Vec<Box<dyn Layer>> = Vec::new();
    let last = widths.len() - 2;
    for (i, pair) in widths.windows(2).enumerate() {
        layers.push(Box::new(
            Dense::new(pair[0], pair[1], Init::HeNormal, &mut rng).unwrap(),
        ));
        layers.push(match (i == last, i % 3) {
            (true, _) => Box::new(Softmax),
            (false, 0) => Box::new(Relu),
            (false, 1) => Box::new(Tanh),
            (false, _) => Box::new(Dropout::new(0.5, 1).unwrap()),
        });
        if i == 0 {
            layers.push(Box::new(Identity));
        }
    }
    let mut builder = Sequential::builder(widths[0]);
    for layer in layers {
        builder = if opaque {
            builder.push(Opaque(layer))
        } else {
            builder.push_boxed(layer)
        };
    }
    builder.build().unwrap()
}

fn bits(values: ArrayView2<'_, f32>) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn the_crates_layers_offer_the_shared_pass_and_a_wrapped_layer_does_not() {
    let model = model(&[8, 4, 3], false);
    assert!(model.layers().iter().all(|l| l.inference().is_some()));
    let wrapped = Opaque(Box::new(Relu));
    assert!(wrapped.inference().is_none());
    // The pass computes what forward computes.
    let (x, mut y) = (Array2::from_elem((2, 3), -1.5f32), Array2::zeros((2, 3)));
    Tanh.infer(x.view(), y.view_mut(), 2).unwrap();
    assert_eq!(y[[1, 2]], (-1.5f32).tanh());
}

#[test]
fn parts_give_the_bits_of_the_pass_layer_by_layer() {
    for widths in [
        vec![300, 128, 10],
        vec![300, 1024, 64, 10],
        vec![40, 256, 256, 256, 5],
    ] {
        let mut layer_by_layer = model(&widths, true);
        for rows in [17, 40, 64, 100, 256, 1000] {
            let x = RandomState::new(rows as u32)
                .rand(rows, widths[0])
                .unwrap()
                .mapv(|v| 4.0 * v - 2.0);
            let expected = bits(layer_by_layer.predict(x.view()).unwrap());
            for threads in [1, 2, 3, 8] {
                let mut in_parts = model(&widths, false);
                let got = pool(threads).install(|| bits(in_parts.predict(x.view()).unwrap()));
                assert!(
                    got == expected,
                    "{widths:?}, {rows} rows, {threads} threads"
                );
            }
        }
    }
}

#[test]
fn parts_report_the_errors_of_the_pass_layer_by_layer() {
    // 600 rows through 200 -> 512 make 61 M multiply-adds: two parts on two threads (rows
    // 0..300 and 300..600), where 50 -> 256 would stay in one.
    let widths = [200, 512, 10];
    let rows = 600;
    let mut x = RandomState::new(5).rand(rows, 200).unwrap();
    // Row 20 overflows (in the first part), row 450 holds a NaN (in a later part): the pass
    // layer by layer checks every input first, so the NaN is the error.
    x.row_mut(20).fill(3e38);
    x[[450, 7]] = f32::NAN;
    let error = |model: &mut Sequential, x: &Array2<f32>| -> String {
        format!("{:?}", model.predict(x.view()).unwrap_err())
    };
    let expected = error(&mut model(&widths, true), &x);
    let two = pool(2);
    let got = two.install(|| error(&mut model(&widths, false), &x));
    assert_eq!(got, expected);
    assert!(
        matches!(
            two.install(|| model(&widths, false).predict(x.view()).unwrap_err()),
            Error::NonFiniteInput {
                row: 450,
                column: 7,
                ..
            }
        ),
        "{got}"
    );
    // Without the NaN, the overflow of row 20, named by its first non-finite layer.
    x[[450, 7]] = 0.5;
    let expected = error(&mut model(&widths, true), &x);
    let got = two.install(|| error(&mut model(&widths, false), &x));
    assert_eq!(got, expected);
    assert!(
        got.contains("NonFiniteOutput") && got.contains("row: 20"),
        "{got}"
    );
}

#[test]
fn predictions_follow_the_weights_through_steps_failed_steps_and_loads() {
    // 600 -> 512 -> 512 -> 10 at a batch of 512: on a processor with AVX-512 the Dense layer
    // 512 -> 512 (1 MB) reads its weights packed ahead (kept between calls, dropped when the
    // weights change). The two first layers' weights (1 MB or more) step within their backward
    // pass under plain SGD, the last one's by the optimizer; Adam steps them all. Whatever
    // changed the weights, a prediction must be the one a model loaded from them makes.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("model.safetensors");
    let spike = Arc::new(AtomicBool::new(false));
    let build = |on: &Arc<AtomicBool>| {
        let mut rng = RandomState::new(3);
        let mut dense = |i, o| Dense::new(i, o, Init::HeNormal, &mut rng).unwrap();
        Sequential::builder(600)
            .push(dense(600, 512))
            .push(Spike {
                column: 7,
                on: Arc::clone(on),
            })
            .push(Relu)
            .push(dense(512, 512))
            .push(Relu)
            .push(dense(512, 10))
            .push(Softmax)
            .build()
            .unwrap()
    };
    let mut model = build(&spike);
    let x = RandomState::new(5).rand(512, 600).unwrap();
    let labels: Vec<usize> = (0..512).map(|r| r % 10).collect();
    let y = feedforward::data::one_hot(&labels, 10).unwrap();
    let predict = |model: &mut Sequential| bits(model.predict(x.view()).unwrap());
    let reloaded = |model: &Sequential| {
        model.save_weights(&saved).unwrap();
        let mut fresh = build(&Arc::new(AtomicBool::new(false)));
        fresh.load_weights(&saved).unwrap();
        predict(&mut fresh)
    };
    let mut last = predict(&mut model);
    assert!(last == reloaded(&model));
    let optimizers: [Box<dyn Optimizer>; 2] = [
        Box::new(Sgd::new(0.05).unwrap()),
        Box::new(Adam::new(0.001).unwrap()),
    ];
    for mut optimizer in optimizers {
        model
            .train_step(x.view(), y.view(), &CrossEntropy, optimizer.as_mut())
            .unwrap();
        let now = predict(&mut model);
        assert!(now != last, "the step changed the predictions");
        assert!(now == reloaded(&model), "after a step");
        last = now;
    }
    // A step whose first layer's update is infinite (its gradient spiked) after the second
    // layer stepped within its backward pass: both are undone, and the predictions are as they
    // were.
    spike.store(true, Ordering::Relaxed);
    let error = model
        .train_step(
            x.view(),
            y.view(),
            &CrossEntropy,
            &mut Sgd::new(0.05).unwrap(),
        )
        .unwrap_err();
    assert!(matches!(error, Error::NonFiniteUpdate { .. }), "{error}");
    assert!(predict(&mut model) == last, "after a failed step");
    // Weights loaded into a model replace the ones it packed.
    spike.store(false, Ordering::Relaxed);
    let mut other = build(&spike);
    assert!(predict(&mut other) != last);
    model.save_weights(&saved).unwrap();
    other.load_weights(&saved).unwrap();
    assert!(predict(&mut other) == last, "after a load");
}
