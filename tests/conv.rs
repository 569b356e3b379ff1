//! The image layers against PyTorch, and their gradients by finite differences.
//!
//! `tests/fixtures/conv_reference.json` holds, for each case, PyTorch's output and gradients of
//! `L = sum(layer(x) * r)` for fixed inputs and parameters; `scripts/conv_reference.py` wrote it
//! (see there for the command). The gradient checks cover every layer and option: stride,
//! padding, `Padding::Same`, dilation, groups, no bias, BatchNorm2d in training and evaluation
//! mode, and max pooling with the default `check_layer`.

use feedforward::gradcheck::{check_layer, check_layer_at, check_layer_in_mode};
use feedforward::layers::{
    AvgPool2d, BatchNorm2d, Conv2d, Conv2dConfig, GlobalAvgPool2d, MaxPool2d, Padding, PoolConfig,
    Shape,
};
use feedforward::ndarray::{Array2, ArrayView2};
use feedforward::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn pair(v: &Value) -> (usize, usize) {
    let a = v.as_array().expect("a pair");
    (
        a[0].as_u64().unwrap() as usize,
        a[1].as_u64().unwrap() as usize,
    )
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("a list of numbers")
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn matrix(values: Vec<f32>, rows: usize) -> Array2<f32> {
    let cols = values.len() / rows;
    Array2::from_shape_vec((rows, cols), values).unwrap()
}

fn conv_config(s: &Value) -> Conv2dConfig {
    let padding = match &s["padding"] {
        Value::String(same) if same == "same" => Padding::Same,
        other => pair(other).into(),
    };
    Conv2d::config(
        s["in_channels"].as_u64().unwrap() as usize,
        s["out_channels"].as_u64().unwrap() as usize,
        pair(&s["kernel"]),
    )
    .stride(pair(&s["stride"]))
    .padding(padding)
    .dilation(pair(&s["dilation"]))
    .groups(s["groups"].as_u64().unwrap() as usize)
    .bias(s["bias"].as_bool().unwrap())
}

/// The layer a case describes, with PyTorch's parameters and buffers.
fn layer_of(case: &Value) -> Box<dyn Layer> {
    let s = &case["settings"];
    let parameters = &case["parameters"];
    let mut layer: Box<dyn Layer> = match s["kind"].as_str().unwrap() {
        "Conv2d" => {
            let config = conv_config(s);
            let weight = matrix(floats(&parameters["weight"]), config.out_channels);
            let bias = match parameters.get("bias") {
                Some(b) => matrix(floats(b), 1),
                None => Array2::zeros((1, config.out_channels)),
            };
            Box::new(config.with_parameters(weight, bias).unwrap())
        }
        kind @ ("MaxPool2d" | "AvgPool2d") => {
            let config = PoolConfig {
                kernel: pair(&s["kernel"]),
                stride: pair(&s["stride"]),
                padding: pair(&s["padding"]),
                dilation: pair(&s["dilation"]),
            };
            if kind == "MaxPool2d" {
                Box::new(MaxPool2d::from_config(config).unwrap())
            } else {
                let include = s["count_include_pad"].as_bool().unwrap();
                Box::new(AvgPool2d::from_config(config, include).unwrap())
            }
        }
        "GlobalAvgPool2d" => Box::new(GlobalAvgPool2d::new()),
        "BatchNorm2d" => {
            let mut bn = BatchNorm2d::new(s["channels"].as_u64().unwrap() as usize).unwrap();
            bn.visit_parameters_mut(&mut |mut p| {
                p.value.assign(&matrix(floats(&parameters[p.name]), 1));
            });
            for (name, value) in case["buffers_before"].as_object().unwrap() {
                bn.set_buffer(name, matrix(floats(value), 1).view())
                    .unwrap();
            }
            Box::new(bn)
        }
        other => panic!("unknown kind {other}"),
    };
    layer.set_training(case["train"].as_bool().unwrap());
    layer
}

fn assert_close(what: &str, got: ArrayView2<'_, f32>, want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 2e-5 * (1.0 + w.abs()),
            "{what}: element {i}: {g} against PyTorch's {w}"
        );
    }
}

#[test]
fn outputs_and_gradients_match_pytorch() {
    let text = include_str!("fixtures/conv_reference.json");
    let fixture: Value = serde_json::from_str(text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 17);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let shape: Vec<usize> = case["input_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let out_shape: Vec<usize> = case["output_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let mut layer = layer_of(case);
        let built = layer
            .build(Shape::image(shape[1], shape[2], shape[3]).unwrap())
            .unwrap();
        let expected = if out_shape.len() == 4 {
            Shape::image(out_shape[1], out_shape[2], out_shape[3]).unwrap()
        } else {
            Shape::flat(out_shape[1])
        };
        assert_eq!(built, expected, "{name}");
        let rows = shape[0];
        let x = matrix(floats(&case["x"]), rows);
        let r = matrix(floats(&case["r"]), rows);
        let mut y = Array2::zeros((rows, built.size()));
        layer.forward(x.view(), y.view_mut()).unwrap();
        assert_close(&format!("{name}: y"), y.view(), &floats(&case["y"]));
        let mut dx = Array2::from_elem(x.raw_dim(), f32::NAN);
        layer
            .backward(x.view(), y.view(), r.view(), Some(dx.view_mut()))
            .unwrap();
        assert_close(&format!("{name}: dx"), dx.view(), &floats(&case["dx"]));
        let mut grads = BTreeMap::new();
        layer.visit_parameters_mut(&mut |p| {
            grads.insert(p.name.to_string(), p.grad.to_owned());
        });
        let want = case["gradients"].as_object().unwrap();
        assert_eq!(grads.len(), want.len(), "{name}: parameters");
        for (param, value) in want {
            assert_close(
                &format!("{name}: d{param}"),
                grads[param].view(),
                &floats(value),
            );
        }
        for (buffer, value) in case["buffers_after"].as_object().unwrap() {
            let got = layer
                .buffers()
                .into_iter()
                .find(|(n, _)| n == buffer)
                .unwrap()
                .1;
            assert_close(&format!("{name}: {buffer}"), got, &floats(value));
        }
    }
}

/// Parameters away from their initial values, so that the checks see every term.
fn randomise(layer: &mut dyn Layer, seed: u32) {
    let mut rng = RandomState::new(seed);
    layer.visit_parameters_mut(&mut |mut p| {
        let values = rng.randn(p.value.nrows(), p.value.ncols()).unwrap();
        p.value.assign(&values);
    });
}

/// Builds `layer` for `shape` and checks it by finite differences on `rows` samples.
fn check(layer: &mut dyn Layer, shape: Shape, rows: usize, seed: u32) {
    layer.build(shape).unwrap();
    randomise(layer, seed);
    let report = check_layer(layer, rows, shape.size(), seed).unwrap();
    assert!(
        report.max_relative_error < 1e-2,
        "{} on {shape}: {report}",
        layer.name()
    );
}

#[test]
fn convolution_gradients_pass_finite_differences_for_every_option() {
    let mut rng = RandomState::new(1);
    let image = |c, h, w| Shape::image(c, h, w).unwrap();
    let configs: Vec<(Conv2dConfig, Shape)> = vec![
        (Conv2d::config(2, 3, 3), image(2, 5, 4)),
        (Conv2d::config(2, 2, (3, 2)).stride(2), image(2, 7, 6)),
        (Conv2d::config(1, 2, 3).padding(1), image(1, 4, 4)),
        (
            Conv2d::config(2, 2, (2, 3)).padding((1, 2)).stride((2, 1)),
            image(2, 5, 4),
        ),
        (
            Conv2d::config(2, 3, 3).padding(Padding::Same),
            image(2, 4, 5),
        ),
        (
            Conv2d::config(1, 2, (4, 2)).padding(Padding::Same),
            image(1, 5, 4),
        ),
        (Conv2d::config(2, 2, 3).dilation(2), image(2, 6, 7)),
        (
            Conv2d::config(2, 2, 3)
                .dilation((2, 1))
                .padding(Padding::Same),
            image(2, 5, 5),
        ),
        (Conv2d::config(4, 6, 3).groups(2).padding(1), image(4, 3, 4)),
        (Conv2d::config(3, 3, 3).groups(3).padding(1), image(3, 4, 4)),
        (Conv2d::config(2, 4, 2).bias(false), image(2, 3, 4)),
    ];
    for (i, (config, shape)) in configs.into_iter().enumerate() {
        let mut conv = config.build(&mut rng).unwrap();
        check(&mut conv, shape, 2, i as u32);
    }
}

#[test]
fn pooling_gradients_pass_the_default_check_ties_included() {
    let image = Shape::image(3, 6, 6).unwrap();
    // The default `check_layer`: many windows hold values closer than the step; the kinks
    // are treated as such (see gradcheck's documentation).
    for seed in 0..5 {
        check(&mut MaxPool2d::new(2).unwrap(), image, 4, seed);
        check(
            &mut MaxPool2d::new(3)
                .unwrap()
                .stride(2)
                .unwrap()
                .padding(1)
                .unwrap(),
            image,
            3,
            seed,
        );
        check(
            &mut MaxPool2d::new(2)
                .unwrap()
                .stride(1)
                .unwrap()
                .dilation(2)
                .unwrap(),
            image,
            2,
            seed,
        );
        check(&mut AvgPool2d::new(2).unwrap(), image, 2, seed);
        check(
            &mut AvgPool2d::new(3)
                .unwrap()
                .stride(2)
                .unwrap()
                .padding(1)
                .unwrap(),
            image,
            2,
            seed,
        );
        check(
            &mut AvgPool2d::new(3)
                .unwrap()
                .padding(1)
                .unwrap()
                .count_include_pad(false),
            image,
            2,
            seed,
        );
        check(&mut GlobalAvgPool2d::new(), image, 2, seed);
    }
}

#[test]
fn exact_ties_in_max_pooling_pass_and_a_wrong_gradient_still_fails() {
    // Every window of 2 x 2 holds the same value twice.
    let mut pool = MaxPool2d::new(2).unwrap();
    pool.build(Shape::image(1, 4, 4).unwrap()).unwrap();
    let x = Array2::from_shape_fn((2, 16), |(r, c)| {
        let (y, x) = (c / 4, c % 4);
        0.1 * (r as f32 + 1.0)
            * ((y / 2 * 2 + x / 2) as f32 + 1.0)
            * if y % 2 == 0 { 1.0 } else { 0.5 }
    });
    let report = check_layer_at(&mut pool, x.view(), 3).unwrap();
    assert!(report.max_relative_error < 1e-2, "{report}");

    /// Max pooling whose backward pass doubles the gradient.
    struct Doubled(MaxPool2d);
    impl Layer for Doubled {
        fn name(&self) -> &str {
            "Doubled"
        }
        fn output_width(&self, w: usize) -> feedforward::Result<usize> {
            self.0.output_width(w)
        }
        fn build(&mut self, s: Shape) -> feedforward::Result<Shape> {
            self.0.build(s)
        }
        fn forward(
            &mut self,
            x: ArrayView2<'_, f32>,
            y: feedforward::ndarray::ArrayViewMut2<'_, f32>,
        ) -> feedforward::Result<()> {
            self.0.forward(x, y)
        }
        fn backward(
            &mut self,
            x: ArrayView2<'_, f32>,
            y: ArrayView2<'_, f32>,
            g: ArrayView2<'_, f32>,
            gi: Option<feedforward::ndarray::ArrayViewMut2<'_, f32>>,
        ) -> feedforward::Result<()> {
            let doubled = g.mapv(|v| 2.0 * v);
            self.0.backward(x, y, doubled.view(), gi)
        }
    }
    let mut wrong = Doubled(MaxPool2d::new(2).unwrap());
    wrong.build(Shape::image(2, 4, 4).unwrap()).unwrap();
    let report = check_layer(&mut wrong, 3, 32, 0).unwrap();
    assert!(report.max_relative_error > 0.3, "{report}");
}

#[test]
fn batch_norm_2d_gradients_pass_in_training_and_evaluation() {
    let shape = Shape::image(3, 2, 3).unwrap();
    for training in [true, false] {
        let mut bn = BatchNorm2d::new(3).unwrap();
        bn.build(shape).unwrap();
        randomise(&mut bn, 4);
        if !training {
            bn.set_running_stats(
                Array2::from_shape_vec((1, 3), vec![0.5, -0.5, 0.1])
                    .unwrap()
                    .view(),
                Array2::from_shape_vec((1, 3), vec![2.0, 0.5, 1.5])
                    .unwrap()
                    .view(),
            )
            .unwrap();
        }
        let input = RandomState::new(5).randn(3, 18).unwrap();
        let report = check_layer_in_mode(&mut bn, input.view(), 6, training).unwrap();
        assert!(
            report.max_relative_error < 1e-2,
            "training {training}: {report}"
        );
        assert_eq!(report.checked, 3 * 18 + 3 + 3);
    }
    // One sample is enough in training mode: each channel has 6 values.
    assert_eq!(BatchNorm2d::new(3).unwrap().min_training_rows(), 2);
    let mut bn = BatchNorm2d::new(3).unwrap();
    bn.build(shape).unwrap();
    assert_eq!(bn.min_training_rows(), 1);
    let mut y = Array2::zeros((1, 18));
    bn.forward(
        RandomState::new(1).randn(1, 18).unwrap().view(),
        y.view_mut(),
    )
    .unwrap();
}
