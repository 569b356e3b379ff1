//! ONNX export checked by a second, independent runtime: tract (pure Rust) loads what
//! `Sequential::to_onnx` / `save_onnx` write and must compute what `predict` computes, within
//! `1e-5`, for every layer kind, at batch sizes 1 and 37 through one plan (the batch dimension is
//! symbolic), and for a classifier trained on real MNIST. `scripts/check_onnx.py` does the same
//! with onnx.checker and onnxruntime.
#![cfg(feature = "onnx")]

mod common;
#[path = "common/models.rs"]
mod models;
use models::{every_image_layer_model, every_kind_model, lenet5};

use feedforward::data::mnist::Mnist;
use feedforward::data::Dataset;
use feedforward::error::OnnxProblem;
use feedforward::layers::{Parameter, Shape};
use feedforward::prelude::*;
use feedforward::Error;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use std::fs;
use tract_onnx::prelude::{
    tvec, Framework, InferenceModelExt, Tensor, TypedModel, TypedRunnableModel,
};

/// The largest difference allowed between our outputs and tract's.
const TOLERANCE: f32 = 1e-5;

type Plan = TypedRunnableModel<TypedModel>;

/// tract's optimised plan for the ONNX bytes, with the input shape left as the file declares
/// it (`[batch, width]`, `batch` symbolic).
fn tract_plan(onnx: &[u8]) -> Plan {
    tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])
        .expect("tract reads the file")
        .into_optimized()
        .expect("tract optimises the graph")
        .into_runnable()
        .expect("tract makes a plan")
}

/// tract's output for `inputs`, rows of `[width]` values (or `[C, H, W]` images of `shape`).
fn tract_predict_shaped(plan: &Plan, inputs: ArrayView2<'_, f32>, shape: Shape) -> Array2<f32> {
    let (rows, cols) = inputs.dim();
    let dims = match shape.chw() {
        Some((c, h, w)) => vec![rows, c, h, w],
        None => vec![rows, cols],
    };
    assert_eq!(shape.size(), cols);
    let tensor = Tensor::from_shape(&dims, &inputs.iter().copied().collect::<Vec<_>>())
        .expect("a tensor of the inputs");
    let outputs = plan.run(tvec!(tensor.into())).expect("tract runs the plan");
    let output = outputs[0].to_array_view::<f32>().expect("float32 output");
    let shape = output.shape().to_vec();
    assert_eq!(shape.len(), 2, "output of rank 2, got {shape:?}");
    Array2::from_shape_vec((shape[0], shape[1]), output.iter().copied().collect()).unwrap()
}

/// tract's output for rows of `inputs.ncols()` features.
fn tract_predict(plan: &Plan, inputs: ArrayView2<'_, f32>) -> Array2<f32> {
    tract_predict_shaped(plan, inputs, Shape::flat(inputs.ncols()))
}

/// The largest absolute difference between `a` and `b`, which must have the same shape.
fn max_difference(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Checks that tract's outputs equal ours on `batches` of random inputs (standard normal times
/// `scale`), all through one plan; returns the largest difference seen.
fn assert_tract_agrees(model: &mut Sequential, batches: &[usize], scale: f32, seed: u32) -> f32 {
    let plan = tract_plan(&model.to_onnx().unwrap());
    let mut rng = RandomState::new(seed);
    let mut worst = 0.0f32;
    for &rows in batches {
        let x = rng.randn(rows, model.input_width()).unwrap() * scale;
        let ours = model.predict(x.view()).unwrap().to_owned();
        let theirs = tract_predict_shaped(&plan, x.view(), model.input_shape());
        assert_eq!(theirs.dim(), (rows, model.output_width()));
        assert!(ours.iter().all(|v| v.is_finite()));
        let difference = max_difference(ours.view(), theirs.view());
        assert!(
            difference <= TOLERANCE,
            "{:?}, batch of {rows}: tract differs from predict by {difference:e}",
            model
        );
        worst = worst.max(difference);
    }
    worst
}

#[test]
fn a_model_with_every_layer_kind_runs_in_tract_as_in_predict() {
    for (width, seed) in [(8, 1), (5, 2)] {
        let mut model = every_kind_model(width, seed);
        let worst = assert_tract_agrees(&mut model, &[1, 37], 1.0, seed);
        // Not vacuous: the outputs differ between rows, and from the initial model's.
        assert!(worst < TOLERANCE);
        let out = model
            .predict(RandomState::new(9).randn(2, 6).unwrap().view())
            .unwrap();
        assert!((out[[0, 0]] - out[[1, 0]]).abs() > 1e-4, "{out}");
    }
}

/// A few Adam steps on random images and classes, so that the weights and the batch-norm
/// running statistics leave their initial values.
fn train_a_little(model: &mut Sequential, seed: u32) {
    let mut rng = RandomState::new(seed);
    let x = rng.randn(8, model.input_width()).unwrap();
    let classes: Vec<usize> = (0..8).map(|i| i % model.output_width()).collect();
    let y = feedforward::data::one_hot(&classes, model.output_width()).unwrap();
    let mut adam = Adam::new(0.01).unwrap();
    for _ in 0..4 {
        model
            .train_step(x.view(), y.view(), &CrossEntropy, &mut adam)
            .unwrap();
    }
}

/// The image layers' settings that `every_image_layer_model` leaves at their defaults: a
/// dilated convolution with a padding of its own on each axis, `Padding::Same` with an even
/// kernel (more zeros after than before), a strided and padded max pooling, average poolings
/// with padding that count the zeros and do not, an image going through a row layer
/// (`LayerNorm` over the whole image: `Flatten`, then `Reshape` back before the next image
/// layer), `Flatten`, and `Dense`. The max pooling's dilation is `max_dilation` (tract 0.22
/// ignores `MaxPool`'s dilations: only onnxruntime checks a dilation of 2).
fn image_settings_model(seed: u32, max_dilation: usize) -> Sequential {
    let mut rng = RandomState::new(seed);
    // The max pooling's output, (4, 6, 4) or, with a dilation of 2, (4, 5, 3).
    let pooled = if max_dilation == 1 {
        4 * 6 * 4
    } else {
        4 * 5 * 3
    };
    Sequential::builder_image(2, 11, 10)
        .push(
            Conv2d::config(2, 4, 3)
                .dilation((2, 1))
                .padding((2, 0))
                .build(&mut rng)
                .unwrap(),
        )
        .push(Tanh)
        .push(
            Conv2d::config(4, 4, (2, 4))
                .padding(Padding::Same)
                .build(&mut rng)
                .unwrap(),
        )
        .push(BatchNorm2d::new(4).unwrap())
        .push(
            MaxPool2d::new(3)
                .unwrap()
                .stride(2)
                .unwrap()
                .padding(1)
                .unwrap()
                .dilation(max_dilation)
                .unwrap(),
        )
        .push(LayerNorm::new(pooled).unwrap())
        .push(
            AvgPool2d::new(3)
                .unwrap()
                .stride(1)
                .unwrap()
                .padding(1)
                .unwrap(),
        )
        .push(
            AvgPool2d::new(2)
                .unwrap()
                .padding(1)
                .unwrap()
                .count_include_pad(false),
        )
        .push(Flatten)
        .rng(rng)
        .dense(5, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap()
}

#[test]
fn models_with_every_image_layer_run_in_tract_as_in_predict() {
    for seed in [1, 2] {
        let mut model = every_image_layer_model(3, 12, seed);
        train_a_little(&mut model, seed);
        assert_tract_agrees(&mut model, &[1, 37], 1.0, seed);
        let mut model = image_settings_model(seed, 1);
        train_a_little(&mut model, seed);
        for scale in [1.0, 3.0] {
            assert_tract_agrees(&mut model, &[1, 37], scale, 10 + seed);
        }
        // Not vacuous: the rows' outputs differ.
        let out = model
            .predict(
                RandomState::new(9)
                    .randn(2, model.input_width())
                    .unwrap()
                    .view(),
            )
            .unwrap();
        assert!((out[[0, 0]] - out[[1, 0]]).abs() > 1e-4, "{out}");
    }
}

/// Leaves a model of every image layer (a dilated max pooling included) and our outputs for
/// some inputs in cargo's `target/tmp`, for `scripts/check_onnx.py --reference` to run in
/// onnxruntime.
#[test]
fn models_of_every_image_layer_are_left_for_onnxruntime() {
    let mut settings = image_settings_model(5, 2);
    let mut every = every_image_layer_model(3, 12, 5);
    for (model, name) in [
        (&mut settings, "onnx_image_layers"),
        (&mut every, "onnx_every_image_layer"),
    ] {
        leave_for_onnxruntime(model, name);
    }
}

/// Writes `name.onnx` and `name.json` (inputs and our outputs) into cargo's `target/tmp`.
fn leave_for_onnxruntime(model: &mut Sequential, name: &str) {
    train_a_little(model, 5);
    let onnx = model.to_onnx().unwrap();
    let x = RandomState::new(6).randn(37, model.input_width()).unwrap();
    let y = model.predict(x.view()).unwrap().to_owned();
    assert!(y.iter().all(|v| v.is_finite()));
    let folder = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    fs::write(folder.join(format!("{name}.onnx")), &onnx).unwrap();
    let rows =
        |a: &Array2<f32>| -> Vec<Vec<f32>> { a.rows().into_iter().map(|r| r.to_vec()).collect() };
    let json = serde_json::json!({ "inputs": rows(&x), "outputs": rows(&y) });
    fs::write(
        folder.join(format!("{name}.json")),
        serde_json::to_string(&json).unwrap(),
    )
    .unwrap();
}

#[test]
fn lenet5_and_a_model_ending_in_images_run_in_tract_as_in_predict() {
    let mut model = lenet5(3);
    train_a_little(&mut model, 3);
    assert_tract_agrees(&mut model, &[1, 37], 1.0, 3);
    // The graph's output is still [batch, width]: a Flatten ends the graph.
    let mut rng = RandomState::new(4);
    let mut model = Sequential::builder_image(3, 7, 7)
        .push(Conv2d::config(3, 6, 3).groups(3).build(&mut rng).unwrap())
        .push(Relu)
        .push(Dropout::new(0.5, 0).unwrap())
        .build()
        .unwrap();
    assert_tract_agrees(&mut model, &[1, 37], 1.0, 4);
}

/// A `Dense` (so that the layer sees values of both signs and of several sizes) followed by the
/// layer, whose raw output is compared (nothing squashes it afterwards).
fn dense_then(layer: Box<dyn Layer>, seed: u32) -> Sequential {
    let mut rng = RandomState::new(seed);
    let dense = Dense::new(5, 6, Init::XavierNormal, &mut rng).unwrap();
    Sequential::builder(5)
        .push(dense)
        .push_boxed(layer)
        .build()
        .unwrap()
}

#[test]
fn each_layer_kind_alone_runs_in_tract_as_in_predict() {
    let mut batch_norm = BatchNorm1d::new(6).unwrap().with_eps(1e-3).unwrap();
    let mut rng = RandomState::new(3);
    batch_norm
        .set_running_stats(
            (rng.randn(1, 6).unwrap() * 0.5).view(),
            (rng.rand(1, 6).unwrap() * 2.0 + 0.1).view(),
        )
        .unwrap();
    let mut layer_norm = LayerNorm::new(6).unwrap();
    let (gamma, beta) = (rng.randn(1, 6).unwrap(), rng.randn(1, 6).unwrap());
    layer_norm.visit_parameters_mut(&mut |p: Parameter<'_>| {
        let mut value: ArrayViewMut2<'_, f32> = p.value;
        value.assign(if p.name == "weight" { &gamma } else { &beta });
    });
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(Identity),
        Box::new(Softmax),
        Box::new(Relu),
        Box::new(LeakyRelu::new(0.2).unwrap()),
        Box::new(LeakyRelu::new(0.0).unwrap()),
        Box::new(Elu::new(1.5).unwrap()),
        Box::new(Sigmoid),
        Box::new(Tanh),
        Box::new(Gelu),
        Box::new(GeluTanh),
        Box::new(Dropout::new(0.5, 1).unwrap()),
        Box::new(batch_norm),
        Box::new(layer_norm),
    ];
    for (k, layer) in layers.into_iter().enumerate() {
        let name = layer.name().to_string();
        let mut model = dense_then(layer, k as u32);
        // Scaled inputs reach far into the tails of the activations (Gelu's erf, Elu's exp).
        for scale in [1.0, 4.0] {
            let worst = assert_tract_agrees(&mut model, &[1, 37], scale, 10 + k as u32);
            assert!(worst <= TOLERANCE, "{name}");
        }
    }
}

#[test]
fn a_classifier_trained_on_mnist_gives_the_same_probabilities_in_tract() {
    let mnist = Mnist::load(&common::mnist_dir()).unwrap();
    let mut rng = RandomState::new(0);
    let mut model = Sequential::builder(784)
        .push(Dense::new(784, 32, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(32, 10, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    let train = mnist
        .train
        .select(&(0..10_000).collect::<Vec<_>>())
        .unwrap();
    let mut sgd = Sgd::new(0.1).unwrap();
    model
        .fit(
            &train,
            &CrossEntropy,
            &mut sgd,
            &FitConfig::new(1).batch_size(32),
        )
        .unwrap();
    let rows: Vec<usize> = (0..2_000).collect();
    let mut x = Array2::zeros((rows.len(), 784));
    let mut targets = Array2::zeros((rows.len(), 10));
    mnist
        .test
        .fill_batch(&rows, x.view_mut(), targets.view_mut())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mnist.onnx");
    model.save_onnx(&path).unwrap();
    let plan = tract_plan(&fs::read(&path).unwrap());
    let ours = model.predict(x.view()).unwrap().to_owned();
    let theirs = tract_predict(&plan, x.view());
    let difference = max_difference(ours.view(), theirs.view());
    assert!(difference <= TOLERANCE, "{difference:e}");
    let correct = |p: &Array2<f32>| {
        p.rows()
            .into_iter()
            .zip(targets.rows())
            .filter(|(p, t)| argmax(p.iter()) == argmax(t.iter()))
            .count()
    };
    // The model learned something, and tract agrees on every image's class.
    assert!(correct(&ours) > 1_700, "{}", correct(&ours));
    assert_eq!(correct(&ours), correct(&theirs));
}

/// The index of the largest value (the first of equal ones).
fn argmax<'a>(values: impl Iterator<Item = &'a f32>) -> usize {
    values
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

/// A layer written outside the crate: the `custom_layer` example's Swish.
#[path = "../examples/custom_layer/swish.rs"]
mod swish;

#[test]
fn a_layer_from_outside_the_crate_is_an_error_naming_it_and_nothing_is_written() {
    let mut rng = RandomState::new(0);
    let model = Sequential::builder(3)
        .push(Dense::new(3, 4, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(swish::Swish::new(1.0))
        .push(Softmax)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    fs::write(&path, b"the previous export").unwrap();
    let err = model.save_onnx(&path).unwrap_err();
    match &err {
        Error::OnnxExport(OnnxProblem::UnsupportedLayer { index, layer, .. }) => {
            assert_eq!((*index, layer.as_str()), (2, "Swish"));
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("layer 2 (Swish)"), "{message}");
    assert_eq!(fs::read(&path).unwrap(), b"the previous export");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn non_finite_weights_are_an_error_naming_them() {
    // Dense::from_parameters refuses NaN and inf, so the values are spoilt afterwards, through
    // the Layer trait, as an optimizer (or a user's own code) writes them.
    let mut dense = Dense::from_parameters(
        RandomState::new(0).randn(3, 2).unwrap(),
        Array2::zeros((1, 2)),
    )
    .unwrap();
    dense.visit_parameters_mut(&mut |mut p| match p.name {
        "weight" => p.value.into_iter().nth(2).map_or((), |v| *v = f32::NAN),
        _ => p.value.fill(f32::INFINITY),
    });
    let model = Sequential::builder(3)
        .push(dense)
        .push(Softmax)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    let err = model.save_onnx(&path).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::OnnxExport(OnnxProblem::NonFinite(names)) if names == &["0.weight", "0.bias"]
        ),
        "{err:?}"
    );
    assert!(!path.exists());
}

#[test]
fn the_exported_file_replaces_the_previous_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    let first = every_kind_model(4, 1);
    let mut second = every_kind_model(5, 2);
    first.save_onnx(&path).unwrap();
    assert_eq!(fs::read(&path).unwrap(), first.to_onnx().unwrap());
    second.save_onnx(&path).unwrap();
    assert_eq!(fs::read(&path).unwrap(), second.to_onnx().unwrap());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    let plan = tract_plan(&fs::read(&path).unwrap());
    let x = RandomState::new(4).randn(3, 6).unwrap();
    let theirs = tract_predict(&plan, x.view());
    let ours = second.predict(x.view()).unwrap().to_owned();
    assert!(max_difference(ours.view(), theirs.view()) <= TOLERANCE);
    // Same model, same bytes.
    assert_eq!(first.to_onnx().unwrap(), first.to_onnx().unwrap());
}
