//! Writing your own layer: Swish with a learned slope, `y = x * sigmoid(beta * x)` (the layer
//! is in `swish.rs` beside this file; the tests reuse it as a user's layer).
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

mod swish;

use feedforward::gradcheck::check_layer;
use feedforward::prelude::*;
use feedforward::serde_json::Value;
use swish::Swish;

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
    let grid = feedforward::ndarray::Array2::from_shape_fn((11, 1), |(i, _)| i as f32 / 5.0 - 1.0);
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
