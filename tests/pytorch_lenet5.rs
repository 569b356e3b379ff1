//! LeNet-5's state dict between PyTorch and us, both ways (issue 23).
//!
//! `tests/fixtures/lenet5_pytorch.safetensors` is PyTorch's own `state_dict()` of LeNet-5 as a
//! `torch.nn.Sequential` (written by `scripts/lenet5_state_dict.py`, which also stores in it
//! some images and PyTorch's output for them). Our LeNet-5, numbered as PyTorch numbers its
//! modules, loads it and must predict the same probabilities within `1e-5`; the file it saves
//! must hold the same names, dtypes and shapes (what `load_state_dict(strict=True)` checks).
//! The test also leaves our file and our outputs in cargo's `target/tmp`, for
//! `scripts/lenet5_state_dict.py --check target/tmp` to load into PyTorch.

#[path = "common/models.rs"]
mod models;

use feedforward::prelude::*;
use ndarray::Array2;
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The largest difference allowed between PyTorch's outputs and ours.
const TOLERANCE: f32 = 1e-5;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lenet5_pytorch.safetensors")
}

/// The fixture's metadata entry `key`, a JSON list of rows, as a matrix.
fn rows(metadata: &BTreeMap<String, String>, key: &str) -> Array2<f32> {
    let rows: Vec<Vec<f64>> = serde_json::from_str(&metadata[key]).unwrap();
    let width = rows[0].len();
    let flat: Vec<f32> = rows.into_iter().flatten().map(|v| v as f32).collect();
    Array2::from_shape_vec((flat.len() / width, width), flat).unwrap()
}

/// Each tensor's name, dtype and shape, and the file's metadata.
type Layout = BTreeMap<String, (safetensors::Dtype, Vec<usize>, Vec<u8>)>;

fn read(path: &Path) -> (Layout, BTreeMap<String, String>) {
    let bytes = fs::read(path).unwrap();
    let (_, info) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = info
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let layout = tensors
        .tensors()
        .into_iter()
        .map(|(name, t)| (name, (t.dtype(), t.shape().to_vec(), t.data().to_vec())))
        .collect();
    (layout, metadata)
}

/// The fixture's images (bytes / 255, as our MNIST batches) and PyTorch's output for them.
fn images_and_pytorch_output() -> (Array2<f32>, Array2<f32>) {
    let (_, metadata) = read(&fixture());
    let x = rows(&metadata, "pixels") / 255.0;
    (x, rows(&metadata, "expected_outputs"))
}

fn max_difference(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn pytorchs_lenet5_state_dict_predicts_what_pytorch_computed() {
    let (x, expected) = images_and_pytorch_output();
    assert_eq!(x.dim(), (5, 784));
    let mut model = models::lenet5(0);
    let before = model.predict(x.view()).unwrap().to_owned();
    model.load_weights(fixture()).unwrap();
    let ours = model.predict(x.view()).unwrap().to_owned();
    let difference = max_difference(&ours, &expected);
    assert!(
        difference <= TOLERANCE,
        "{difference:e}\n{ours}\n{expected}"
    );
    // Not vacuous: PyTorch's weights change the output, which is far from uniform.
    assert!(max_difference(&before, &expected) > 1e-2);
    assert!(expected.iter().any(|&p| p > 0.15) && expected.iter().any(|&p| p < 0.05));
}

#[test]
fn our_lenet5_file_has_pytorchs_names_and_shapes_and_is_left_for_the_script() {
    let (x, _) = images_and_pytorch_output();
    let mut model = models::lenet5(0);
    model.load_weights(fixture()).unwrap();
    // A few steps move every weight away from PyTorch's, so that the script checks ours.
    let y = feedforward::data::one_hot(&[5, 6, 7, 8, 9], 10).unwrap();
    let mut sgd = Sgd::new(0.05).unwrap().with_momentum(0.9).unwrap();
    for _ in 0..3 {
        model
            .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
            .unwrap();
    }
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = folder.join("lenet5_feedforward.safetensors");
    model.save(&path).unwrap();

    let (theirs, _) = read(&fixture());
    let (ours, _) = read(&path);
    let shapes = |layout: &Layout| -> Vec<(String, safetensors::Dtype, Vec<usize>)> {
        layout
            .iter()
            .map(|(name, (dtype, shape, _))| (name.clone(), *dtype, shape.clone()))
            .collect()
    };
    assert_eq!(shapes(&ours), shapes(&theirs));
    assert_eq!(ours["0.weight"].1, [6, 1, 5, 5]);
    assert_eq!(ours["7.weight"].1, [120, 400]);
    for (name, (_, _, data)) in &ours {
        assert_ne!(data, &theirs[name].2, "{name} was not trained");
    }

    // Our file loads back into our model, bit for bit, and our outputs go beside it.
    let outputs = model.predict(x.view()).unwrap().to_owned();
    let mut loaded = Sequential::load(&path).unwrap();
    assert_eq!(loaded.predict(x.view()).unwrap(), outputs);
    let to_rows =
        |a: &Array2<f32>| -> Vec<Vec<f32>> { a.rows().into_iter().map(|r| r.to_vec()).collect() };
    let json = serde_json::json!({ "inputs": to_rows(&x), "outputs": to_rows(&outputs) });
    fs::write(
        folder.join("lenet5_feedforward_output.json"),
        serde_json::to_string(&json).unwrap(),
    )
    .unwrap();
}
