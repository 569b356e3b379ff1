//! Writing your own layer: Swish with a learned slope, `y = x * sigmoid(beta * x)`.
//!
//! `cargo run --release --example custom_layer`
//!
//! The crate does not ship Swish (Ramachandran et al., 2017). This example writes it outside the
//! crate, as any user would, in four steps:
//! 1. a struct holding the parameter (`beta`, a `1 x 1` matrix) and its gradient;
//! 2. `forward`, writing into the output the model hands over;
//! 3. `backward`, storing dLoss/dBeta and writing dLoss/dInput when asked;
//! 4. `visit_parameters_mut` and `parameters`, so optimizers (and checkpoints) see `beta`;
//! 5. `spec`, naming the layer's kind, so that `save` records it and `Sequential::load_with`
//!    rebuilds it through a `LayerRegistry` (Keras's `custom_objects`);
//!
//! then checks the gradients with `feedforward::gradcheck`, trains a small model with it, saves
//! the model and loads it back from the file alone.

use feedforward::gradcheck::check_layer;
use feedforward::layers::{LayerSpec, Parameter};
use feedforward::prelude::*;
use feedforward::serde_json::Value;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};

/// Swish: `y = x * s(beta x)` with `s` the logistic sigmoid and `beta` learned.
struct Swish {
    beta: Array2<f32>,
    beta_grad: Array2<f32>,
}

impl Swish {
    fn new(beta: f32) -> Self {
        Swish {
            beta: Array2::from_elem((1, 1), beta),
            beta_grad: Array2::zeros((1, 1)),
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Layer for Swish {
    fn name(&self) -> &str {
        "Swish"
    }

    fn output_width(&self, input_width: usize) -> feedforward::Result<usize> {
        Ok(input_width) // element-wise: any width
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> feedforward::Result<()> {
        let beta = self.beta[[0, 0]];
        output.zip_mut_with(&input, |y, &x| *y = x * sigmoid(beta * x));
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> feedforward::Result<()> {
        let beta = self.beta[[0, 0]];
        // dy/dbeta = x^2 s (1 - s); dy/dx = s + beta x s (1 - s)
        let mut d_beta = 0.0f32;
        Zip::from(&input).and(&grad_output).for_each(|&x, &g| {
            let s = sigmoid(beta * x);
            d_beta += g * x * x * s * (1.0 - s);
        });
        self.beta_grad[[0, 0]] = d_beta;
        if let Some(grad_input) = grad_input {
            Zip::from(grad_input)
                .and(&input)
                .and(&grad_output)
                .for_each(|dx, &x, &g| {
                    let s = sigmoid(beta * x);
                    *dx = g * (s + beta * x * s * (1.0 - s));
                });
        }
        Ok(())
    }

    fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        visit(Parameter {
            name: "beta",
            value: self.beta.view_mut(),
            grad: self.beta_grad.view_mut(),
        });
    }

    fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        vec![("beta", self.beta.view())]
    }

    /// The kind's name, and no settings (`beta` is a parameter: the checkpoint holds it).
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::custom("Swish", Value::Null))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The gradient check: analytic against finite differences, for the input and for beta.
    let report = check_layer(&mut Swish::new(1.3), 4, 5, 0)?;
    println!("Gradient check of Swish: {report}");
    if report.max_relative_error > 1e-2 {
        return Err(format!("Swish's backward pass is wrong: {report}").into());
    }

    // 2. Use it like any other layer: learn y = x^2 on [-1, 1] with one hidden layer.
    let mut rng = RandomState::new(7);
    let x = rng.rand(256, 1)?.mapv(|v| 2.0 * v - 1.0);
    let y = x.mapv(|v| v * v);
    let data = InMemory::new(x, y)?;
    let mut model = Sequential::builder(1)
        .push(Dense::new(1, 16, Init::XavierNormal, &mut rng)?)
        .push(Swish::new(1.0))
        .push(Dense::new(16, 1, Init::XavierNormal, &mut rng)?)
        .build()?;
    let mut sgd = Sgd::new(0.1)?.with_momentum(0.9)?;
    let config = FitConfig::new(300).batch_size(32).shuffle(0);
    let history = model.fit(&data, &HalfMse, &mut sgd, &config)?;
    let beta = model
        .parameters()
        .into_iter()
        .find(|(name, _)| name == "1.beta")
        .map(|(_, value)| value[[0, 0]])
        .ok_or("the model lost Swish's beta")?;
    println!(
        "Learning y = x^2 with Dense(1, 16) -> Swish -> Dense(16, 1): loss {:.4} -> {:.5}, learned beta = {beta:.3}",
        history.epoch_losses[0],
        history.epoch_losses[history.epoch_losses.len() - 1],
    );

    // 3. Save it with `save`, and load it back from the file alone: the registry says how to
    //    build a fresh Swish; the file fills in the learned beta and the dense weights.
    let dir = std::env::temp_dir().join(format!("custom_layer-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("swish.safetensors");
    model.save(&path)?;
    let registry = LayerRegistry::new().register("Swish", |_: &Value| Ok(Swish::new(1.0)));
    let mut loaded = Sequential::load_with(&path, &registry)?;
    let grid = ndarray::Array2::from_shape_fn((11, 1), |(i, _)| i as f32 / 5.0 - 1.0);
    let same = loaded.predict(grid.view())? == model.predict(grid.view())?;
    std::fs::remove_dir_all(&dir)?;
    println!(
        "Saved with `save` and loaded with `Sequential::load_with` and a LayerRegistry: {}",
        if same {
            "same predictions, bit for bit"
        } else {
            "DIFFERENT predictions"
        }
    );
    if !same {
        return Err("the loaded model predicts differently".into());
    }
    Ok(())
}
