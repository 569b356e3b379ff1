//! A property test of the whole public training API (issue 10): random small models, random
//! values (NaN, infinities, 1e38, 3e38, 0 among ordinary ones), random optimizers, losses and
//! fit settings. For every call: no panic; `Ok` implies finite parameters and buffers; `Err`
//! from a training step implies a model unchanged bit for bit (and for `fit`, a model exactly
//! as its completed steps left it: unchanged when no step completed).

use feedforward::data::InMemory;
use feedforward::prelude::*;
use feedforward::{Error, Sequential};
use ndarray::Array2;
use proptest::prelude::*;

/// Every parameter and buffer, as bits.
fn state(model: &Sequential) -> Vec<Vec<u32>> {
    model
        .parameters()
        .into_iter()
        .chain(model.buffers())
        .map(|(_, v)| v.iter().map(|x| x.to_bits()).collect())
        .collect()
}

fn sound(model: &Sequential) -> bool {
    model
        .parameters()
        .into_iter()
        .chain(model.buffers())
        .all(|(_, v)| v.iter().all(|x| x.is_finite()))
}

/// Any f32 a user or a diverging run could hand over.
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => -3.0f32..3.0,
        1 => Just(0.0f32),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(1e38f32),
        1 => Just(-1e38f32),
        1 => Just(3e38f32),
        1 => Just(1e20f32),
    ]
}

/// A finite weight, ordinary or enormous.
fn weight() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => -2.0f32..2.0,
        1 => Just(0.0f32),
        1 => Just(1e38f32),
        1 => Just(-3e38f32),
        1 => Just(1e20f32),
        1 => Just(1e-20f32),
    ]
}

#[derive(Clone, Debug)]
enum LayerKind {
    Dense(usize, Vec<f32>),
    Relu,
    GeluTanh,
    Gelu,
    Sigmoid,
    Tanh,
    Elu,
    BatchNorm,
    LayerNorm,
    Dropout,
}

fn layer_kind() -> impl Strategy<Value = LayerKind> {
    prop_oneof![
        3 => (1usize..4, prop::collection::vec(weight(), 20))
            .prop_map(|(out, w)| LayerKind::Dense(out, w)),
        1 => Just(LayerKind::Relu),
        1 => Just(LayerKind::GeluTanh),
        1 => Just(LayerKind::Gelu),
        1 => Just(LayerKind::Sigmoid),
        1 => Just(LayerKind::Tanh),
        1 => Just(LayerKind::Elu),
        1 => Just(LayerKind::BatchNorm),
        1 => Just(LayerKind::LayerNorm),
        1 => Just(LayerKind::Dropout),
    ]
}

/// A model from `kinds`, ending with a softmax when asked.
fn build(input: usize, kinds: &[LayerKind], softmax: bool) -> Sequential {
    let mut builder = Sequential::builder(input);
    let mut width = input;
    for kind in kinds {
        builder = match kind {
            LayerKind::Dense(out, values) => {
                let w = Array2::from_shape_fn((width, *out), |(i, j)| {
                    values[(i * out + j) % values.len()]
                });
                let b = Array2::from_shape_fn((1, *out), |(_, j)| values[(j + 7) % values.len()]);
                width = *out;
                builder.push(Dense::from_parameters(w, b).expect("finite weights"))
            }
            LayerKind::Relu => builder.push(Relu),
            LayerKind::GeluTanh => builder.push(GeluTanh),
            LayerKind::Gelu => builder.push(Gelu),
            LayerKind::Sigmoid => builder.push(Sigmoid),
            LayerKind::Tanh => builder.push(Tanh),
            LayerKind::Elu => builder.push(Elu::default()),
            LayerKind::BatchNorm => builder.push(BatchNorm1d::new(width).unwrap()),
            LayerKind::LayerNorm => builder.push(LayerNorm::new(width).unwrap()),
            LayerKind::Dropout => builder.push(Dropout::new(0.3, 1).unwrap()),
        };
    }
    if softmax {
        builder = builder.push(Softmax);
    }
    builder.build().expect("widths chain")
}

fn optimizer(kind: u8, lr: f32) -> Box<dyn Optimizer> {
    match kind % 4 {
        0 => Box::new(Sgd::new(lr).unwrap()),
        1 => Box::new(
            Sgd::new(lr)
                .unwrap()
                .with_momentum(0.9)
                .unwrap()
                .with_nesterov(true),
        ),
        2 => Box::new(Adam::new(lr).unwrap()),
        _ => Box::new(AdamW::new(lr).unwrap().with_weight_decay(0.5).unwrap()),
    }
}

fn learning_rate() -> impl Strategy<Value = f32> {
    prop_oneof![
        Just(0.0f32),
        Just(0.01f32),
        Just(0.5f32),
        Just(1e20f32),
        Just(3e38f32),
    ]
}

/// 300 cases by default, so that the suite stays fast; `PROPTEST_CASES=20000` digs deeper.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_call_leaves_a_sound_model_or_an_unchanged_one(
        input in 1usize..4,
        kinds in prop::collection::vec(layer_kind(), 1..4),
        softmax in any::<bool>(),
        rows in 1usize..6,
        xs in prop::collection::vec(value(), 30),
        ts in prop::collection::vec(value(), 30),
        opt in any::<u8>(),
        lr in learning_rate(),
        cross_entropy in any::<bool>(),
        batch_size in 1usize..5,
        epochs in 1usize..4,
        drop_last in any::<bool>(),
        shuffle in any::<bool>(),
    ) {
        let mut model = build(input, &kinds, softmax);
        let out = model.output_width();
        let x = Array2::from_shape_fn((rows, input), |(i, j)| xs[(i * input + j) % xs.len()]);
        let t = Array2::from_shape_fn((rows, out), |(i, j)| ts[(i * out + j) % ts.len()]);
        let loss: &dyn Loss = if cross_entropy { &CrossEntropy } else { &HalfMse };
        let mut optimizer = optimizer(opt, lr);

        // A training step: Ok and sound, or Err and unchanged.
        let before = state(&model);
        match model.train_step(x.view(), t.view(), loss, optimizer.as_mut()) {
            Ok(value) => {
                prop_assert!(value.is_finite());
                prop_assert!(sound(&model), "Ok with a non-finite parameter or buffer");
            }
            Err(_) => prop_assert_eq!(&state(&model), &before, "Err, but the model changed"),
        }

        // predict, predict_classes and evaluate never change the model; a NaN or infinite
        // input is refused naming the first one; Ok never holds a NaN or an infinity.
        let before = state(&model);
        let first_bad = x
            .indexed_iter()
            .find(|(_, v)| !v.is_finite())
            .map(|(at, _)| at);
        let refused = |result: &Result<(), Error>| match (result, first_bad) {
            (Err(Error::NonFiniteInput { row, column, .. }), Some(at)) => (*row, *column) == at,
            (Err(Error::NonFiniteInput { .. }), None) => false,
            (_, Some(_)) => false,
            (_, None) => true,
        };
        let predicted = model.predict(x.view()).map(|p| p.to_owned());
        if let Ok(p) = &predicted {
            prop_assert!(p.iter().all(|v| v.is_finite()), "Ok holding {p:?}");
        }
        let result = predicted.map(|_| ());
        prop_assert!(refused(&result), "predict: {result:?}");
        if softmax {
            let classes = model.predict_classes(x.view());
            if let Ok(c) = &classes {
                prop_assert!(c.probabilities.iter().all(|v| v.is_finite()));
            }
            let result = classes.map(|_| ());
            prop_assert!(refused(&result), "predict_classes: {result:?}");
        }
        prop_assert_eq!(&state(&model), &before);
        let data = InMemory::new(x.clone(), t.clone()).unwrap();
        let evaluation = model.evaluate(&data, loss, batch_size);
        if let Ok(evaluation) = &evaluation {
            if let Some(accuracy) = evaluation.accuracy {
                prop_assert!((0.0..=1.0).contains(&accuracy));
            }
            if let Some(r) = &evaluation.regression {
                prop_assert!(r.mse.is_finite() && r.mae.is_finite() && r.r2.is_finite());
            }
        }
        // evaluate checks targets too (InvalidTarget may come first for a bad target)
        if first_bad.is_some() {
            prop_assert!(evaluation.is_err());
        }
        prop_assert_eq!(&state(&model), &before);

        // fit: always sound; unchanged when no step completed.
        let mut config = FitConfig::new(epochs).batch_size(batch_size).drop_last(drop_last);
        if shuffle {
            config = config.shuffle(3);
        }
        let steps = model.steps();
        let result = model.fit(&data, loss, optimizer.as_mut(), &config);
        prop_assert!(sound(&model), "fit left a non-finite parameter or buffer");
        match result {
            Ok(history) => {
                prop_assert_eq!(history.epoch_losses.len(), epochs);
                prop_assert!(history.epoch_losses.iter().all(|l| l.is_finite()));
            }
            Err(failure) => {
                prop_assert!(failure.history.epoch_losses.len() < epochs);
                prop_assert!(failure.history.epoch_losses.iter().all(|l| l.is_finite()));
                if model.steps() == steps {
                    prop_assert_eq!(&state(&model), &before, "no step done, but the model changed");
                }
            }
        }

        // Whatever happened, the model can be saved and loads back bit for bit.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        prop_assert!(model.save(&path).is_ok());
        let loaded = Sequential::load(&path).unwrap();
        prop_assert_eq!(state(&loaded), state(&model));
    }

    #[test]
    fn constructors_take_finite_values_or_say_no(
        values in prop::collection::vec(value(), 6),
        std in prop_oneof![Just(f64::NAN), Just(-1.0), Just(f64::INFINITY), Just(1e300), 0.0f64..2.0],
        lr in value(),
    ) {
        let w = Array2::from_shape_vec((2, 3), values.clone()).unwrap();
        let finite = values.iter().all(|v| v.is_finite());
        prop_assert_eq!(Dense::from_parameters(w, Array2::zeros((1, 3))).is_ok(), finite);
        let init = Init::Normal { std };
        let dense = Dense::new(3, 2, init, &mut RandomState::new(0));
        prop_assert_eq!(dense.is_ok(), std.is_finite() && (0.0..1e30).contains(&std));
        let ok = lr.is_finite() && lr >= 0.0;
        prop_assert_eq!(Sgd::new(lr).is_ok(), ok);
        prop_assert_eq!(Adam::new(lr).is_ok(), ok);
        prop_assert_eq!(AdamW::new(lr).is_ok(), ok);
    }
}
