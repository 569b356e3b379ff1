//! A layer written outside the crate is saved with `save` and loaded back through a
//! `LayerRegistry`, predicting bit for bit.

use feedforward::error::CheckpointProblem;
use feedforward::layers::LayerSpec;
use feedforward::prelude::*;
use feedforward::serde_json::{json, Value};
use feedforward::Error;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};

/// A user's layer with a learned parameter: the `custom_layer` example's Swish.
#[path = "../examples/custom_layer/swish.rs"]
mod swish;
use swish::Swish;

/// A user's layer with a setting that only its spec carries: `y = min(x, max)`.
struct Clip {
    max: f32,
}

impl Clip {
    /// Rebuilds a Clip from the settings its spec recorded.
    fn from_config(config: &Value) -> feedforward::Result<Clip> {
        let max = config["max"]
            .as_f64()
            .ok_or_else(|| Error::config("Clip config", config, "{\"max\": a number}"))?;
        Ok(Clip { max: max as f32 })
    }
}

impl Layer for Clip {
    fn name(&self) -> &str {
        "Clip"
    }

    fn output_width(&self, input_width: usize) -> feedforward::Result<usize> {
        Ok(input_width)
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        output.zip_mut_with(&input, |y, &x| *y = x.min(self.max));
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> feedforward::Result<()> {
        if let Some(grad_input) = grad_input {
            Zip::from(grad_input)
                .and(&input)
                .and(&grad_output)
                .for_each(|dx, &x, &g| *dx = if x < self.max { g } else { 0.0 });
        }
        Ok(())
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::custom("Clip", json!({ "max": self.max })))
    }
}

fn registry() -> LayerRegistry {
    LayerRegistry::new()
        .register("Swish", |_: &Value| Ok(Swish::new(1.0)))
        .register("Clip", Clip::from_config)
}

/// A trained model with a Swish and a Clip between two dense layers and an adapted Normalization.
fn trained() -> (Sequential, Array2<f32>) {
    let mut rng = RandomState::new(7);
    let x = rng.randn(200, 3).unwrap().mapv(|v| 4.0 * v + 10.0);
    let y = x.map_axis(ndarray::Axis(1), |r| {
        ((r[0] - 10.0) / 4.0).powi(2) - r[1] / 40.0
    });
    let y = y.insert_axis(ndarray::Axis(1));
    let mut model = Sequential::builder(3)
        .seed(1)
        .push(Normalization::adapted(x.view()).unwrap())
        .dense(8, Init::XavierNormal)
        .push(Swish::new(1.0))
        .push(Clip { max: 3.0 })
        .dense(1, Init::XavierNormal)
        .build()
        .unwrap();
    let data = InMemory::new(x.clone(), y).unwrap();
    let mut adam = Adam::new(0.01).unwrap();
    let config = FitConfig::new(20).batch_size(32).shuffle(0);
    model.fit(&data, &HalfMse, &mut adam, &config).unwrap();
    (model, x)
}

#[test]
fn a_user_layer_saved_with_save_loads_back_through_the_registry_bit_for_bit() {
    let (mut model, x) = trained();
    let beta = model.parameters()[2].1[[0, 0]];
    assert_ne!(beta, 1.0, "training moved beta");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("swish.safetensors");
    model.save(&path).unwrap();

    let mut loaded = Sequential::load_with(&path, &registry()).unwrap();
    assert_eq!(
        loaded.layers()[2].spec(),
        Some(LayerSpec::custom("Swish", Value::Null))
    );
    assert_eq!(
        loaded.layers()[3].spec(),
        Some(LayerSpec::custom("Clip", json!({"max": 3.0})))
    );
    let expected = model.predict(x.view()).unwrap().to_owned();
    let got = loaded.predict(x.view()).unwrap().to_owned();
    assert_eq!(
        got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        expected.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(loaded.parameters()[2].1[[0, 0]], beta);
    // The registry also builds built-in kinds: a model without custom layers loads too.
    let plain = Sequential::builder(2)
        .dense(2, Init::HeNormal)
        .push(Softmax)
        .build()
        .unwrap();
    plain.save(&path).unwrap();
    assert_eq!(
        Sequential::load_with(&path, &registry())
            .unwrap()
            .layers()
            .len(),
        2
    );
}

#[test]
fn a_custom_kind_the_loader_does_not_know_is_an_error_naming_it() {
    let (model, _) = trained();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("swish.safetensors");
    model.save(&path).unwrap();
    for err in [
        Sequential::load(&path).unwrap_err(),
        Sequential::load_with(&path, &LayerRegistry::new()).unwrap_err(),
        Sequential::load_with(
            &path,
            &LayerRegistry::new().register("Mish", Clip::from_config),
        )
        .unwrap_err(),
    ] {
        let message = err.to_string();
        let Error::Checkpoint {
            problem: CheckpointProblem::Architecture(_),
            ..
        } = err
        else {
            panic!("{err:?}")
        };
        assert!(message.contains("\"Swish\""), "{message}");
        assert!(message.contains("LayerRegistry"), "{message}");
    }
    let err = Sequential::load_with(
        &path,
        &LayerRegistry::new().register("Mish", Clip::from_config),
    )
    .unwrap_err();
    assert!(err.to_string().contains("registered: Mish"), "{err}");
    // A building function's own error is reported too.
    let failing =
        LayerRegistry::new().register("Swish", |_: &Value| -> feedforward::Result<Swish> {
            Err(Error::config("Swish config", "?", "something else"))
        });
    let err = Sequential::load_with(&path, &failing).unwrap_err();
    assert!(err.to_string().contains("something else"), "{err}");
}
