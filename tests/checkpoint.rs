//! Checkpoints seen from outside: `save` / `load` round trips for every layer kind, weights to and
//! from PyTorch's layout, and every way a save or a load can fail, each leaving the file on disk
//! and the model as they were.

#[path = "common/models.rs"]
mod models;
use models::every_kind_model;

use feedforward::error::CheckpointProblem;
use feedforward::io::checkpoint::FORMAT_VERSION;
use feedforward::layers::{LayerSpec, Parameter};
use feedforward::prelude::*;
use feedforward::Error;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Every parameter and buffer, named as in the file.
fn state(model: &Sequential) -> Vec<(String, Array2<f32>)> {
    let mut all: Vec<(String, Array2<f32>)> = model
        .parameters()
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect();
    for (i, layer) in model.layers().iter().enumerate() {
        for (name, value) in layer.buffers() {
            all.push((format!("{i}.{name}"), value.to_owned()));
        }
    }
    all
}

fn specs(model: &Sequential) -> Vec<Option<LayerSpec>> {
    model.layers().iter().map(|l| l.spec()).collect()
}

fn bits(a: ArrayView2<'_, f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

fn predictions(model: &mut Sequential, x: &Array2<f32>) -> Vec<u32> {
    bits(model.predict(x.view()).unwrap())
}

/// The problem of an [`Error::Checkpoint`], after checking that it names `path`.
#[track_caller]
fn problem(result: Result<impl std::fmt::Debug, Error>, path: &Path) -> CheckpointProblem {
    match result {
        Err(Error::Checkpoint { path: p, problem }) => {
            assert_eq!(p, path);
            problem
        }
        other => panic!("expected Error::Checkpoint, got {other:?}"),
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Our checksum of the file `bytes` (see the `checkpoint` module documentation), recomputed
/// independently: the metadata, then (from version 2) the tensor table, then the data.
fn checksum(metadata: &BTreeMap<String, String>, bytes: &[u8]) -> String {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut hasher = Sha256::new();
    for (key, value) in metadata.iter().filter(|(k, _)| *k != "sha256") {
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    if metadata.get("format_version").map(String::as_str) != Some("1") {
        let header: BTreeMap<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        for (name, tensor) in header.iter().filter(|(k, _)| *k != "__metadata__") {
            let shape: Vec<String> = tensor["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.to_string())
                .collect();
            let offsets = tensor["data_offsets"].as_array().unwrap();
            for field in [
                name.clone(),
                tensor["dtype"].as_str().unwrap().to_string(),
                shape.join(","),
                offsets[0].to_string(),
                offsets[1].to_string(),
            ] {
                hasher.update(field.as_bytes());
                hasher.update([0]);
            }
        }
    }
    hasher.update(&bytes[8 + n..]);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A tensor to write with the `safetensors` crate directly.
struct Raw {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(f32::to_le_bytes).collect()
}

/// The tensors and metadata of a safetensors file.
fn read_raw(bytes: &[u8]) -> (Vec<Raw>, BTreeMap<String, String>) {
    let (_, info) = SafeTensors::read_metadata(bytes).unwrap();
    let metadata = info
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let tensors = SafeTensors::deserialize(bytes).unwrap();
    let mut raw: Vec<Raw> = tensors
        .tensors()
        .into_iter()
        .map(|(name, t)| Raw {
            name,
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            data: t.data().to_vec(),
        })
        .collect();
    raw.sort_by(|a, b| a.name.cmp(&b.name));
    (raw, metadata)
}

/// A safetensors file written by the `safetensors` crate (as Python's would be); with a fresh
/// checksum when `checksum` is true, so that only what the test changed is wrong.
fn write_raw(tensors: &[Raw], metadata: &BTreeMap<String, String>, with_checksum: bool) -> Vec<u8> {
    let serialize = |metadata: &BTreeMap<String, String>| {
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .map(|t| {
                let view = TensorView::new(t.dtype, t.shape.clone(), &t.data).unwrap();
                (t.name.clone(), view)
            })
            .collect();
        let metadata: HashMap<String, String> = metadata.clone().into_iter().collect();
        let info = if metadata.is_empty() {
            None
        } else {
            Some(metadata)
        };
        safetensors::serialize(views, info).unwrap()
    };
    let bytes = serialize(metadata);
    if !with_checksum {
        return bytes;
    }
    let mut metadata = metadata.clone();
    metadata.insert("sha256".into(), checksum(&metadata, &bytes));
    serialize(&metadata)
}

/// A layer from outside the crate: `y = x * gain`, with one parameter.
struct Gain {
    gain: Array2<f32>,
    grad: Array2<f32>,
}

impl Gain {
    fn new(width: usize, value: f32) -> Self {
        Gain {
            gain: Array2::from_elem((1, width), value),
            grad: Array2::zeros((1, width)),
        }
    }
}

impl Layer for Gain {
    fn name(&self) -> &str {
        "Gain"
    }
    fn output_width(&self, input_width: usize) -> feedforward::Result<usize> {
        Ok(input_width)
    }
    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        mut output: ArrayViewMut2<f32>,
    ) -> feedforward::Result<()> {
        output.assign(&(&input * &self.gain));
        Ok(())
    }
    fn backward(
        &mut self,
        _input: ArrayView2<f32>,
        _output: ArrayView2<f32>,
        _grad_output: ArrayView2<f32>,
        _grad_input: Option<ArrayViewMut2<f32>>,
    ) -> feedforward::Result<()> {
        Ok(())
    }
    fn visit_parameters_mut(&mut self, visit: &mut dyn FnMut(Parameter<'_>)) {
        visit(Parameter {
            name: "gain",
            value: self.gain.view_mut(),
            grad: self.grad.view_mut(),
        });
    }
    fn parameters(&self) -> Vec<(&'static str, ArrayView2<'_, f32>)> {
        vec![("gain", self.gain.view())]
    }
}

/// nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)) in feedforward.
fn linear_relu_linear(seed: u32) -> Sequential {
    let mut rng = RandomState::new(seed);
    Sequential::builder(4)
        .push(Dense::new(4, 3, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(3, 2, Init::XavierNormal, &mut rng).unwrap())
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Round trips

#[test]
fn every_layer_kind_round_trips_bit_for_bit_without_restating_the_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("every_kind.safetensors");
    let mut model = every_kind_model(8, 1);
    model.save(&path).unwrap();
    assert_eq!(files_in(dir.path()), ["every_kind.safetensors"]);

    let mut loaded = Sequential::load(&path).unwrap();
    assert_eq!(specs(&loaded), specs(&model));
    assert_eq!(loaded.input_width(), 6);
    let (before, after) = (state(&model), state(&loaded));
    assert_eq!(after.len(), before.len());
    for ((name, a), (name_b, b)) in before.iter().zip(&after) {
        assert_eq!(name, name_b);
        assert_eq!(bits(a.view()), bits(b.view()), "{name}");
    }
    // The batch norm's running statistics travelled: they are no longer 0 and 1.
    let bn = &after.iter().find(|(n, _)| n == "1.running_var").unwrap().1;
    assert!(bn.iter().any(|&v| v != 1.0));

    // Evaluation mode: dropout off, batch norm on its running statistics.
    let x = RandomState::new(9).randn(32, 6).unwrap();
    assert_eq!(predictions(&mut loaded, &x), predictions(&mut model, &x));

    // In training mode the rebuilt dropout draws the masks of a new layer with its seed: the
    // same as a model built from the same specs in code.
    let mut again = Sequential::load(&path).unwrap();
    let y = feedforward::data::one_hot(&[0; 32], 3).unwrap();
    let mut sgd = Sgd::new(1e-3).unwrap();
    let a = again
        .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
        .unwrap();
    let mut rebuilt_dropout = Sequential::from_specs(
        6,
        &specs(&model)
            .into_iter()
            .map(Option::unwrap)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    rebuilt_dropout.load_weights(&path).unwrap();
    let b = rebuilt_dropout
        .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
        .unwrap();
    assert_eq!(a.to_bits(), b.to_bits());
    assert_eq!(state(&again), state(&rebuilt_dropout));
}

#[test]
fn the_same_model_always_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let model = every_kind_model(5, 2);
    model.save(&a).unwrap();
    model.save(&b).unwrap();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    // A loaded model saves to the same bytes again.
    Sequential::load(&a).unwrap().save(&b).unwrap();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
}

#[test]
fn the_file_has_pytorch_names_shapes_and_our_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let model = every_kind_model(4, 3);
    model.save(&path).unwrap();
    let (tensors, metadata) = read_raw(&fs::read(&path).unwrap());

    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "0.bias",
            "0.weight",
            "1.bias",
            "1.num_batches_tracked",
            "1.running_mean",
            "1.running_var",
            "1.weight",
            "14.bias",
            "14.weight",
            "3.bias",
            "3.weight",
            "4.bias",
            "4.weight",
            "9.bias",
            "9.weight",
        ]
    );
    let get = |name: &str| tensors.iter().find(|t| t.name == name).unwrap();
    // nn.Linear(6, 4).weight is [out, in] = W^T; our Dense::weight() is W, (in, out).
    let w = get("0.weight");
    assert_eq!((w.dtype, w.shape.as_slice()), (Dtype::F32, &[4, 6][..]));
    let dense_w = model.parameters()[0].1.t().to_owned(); // (out, in)
    assert_eq!(w.data, f32_bytes(dense_w.iter().copied()));
    assert_eq!(get("0.bias").shape, [4]);
    assert_eq!(get("14.weight").shape, [3, 4]);
    for name in [
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "4.weight",
    ] {
        assert_eq!(
            (get(name).dtype, get(name).shape.as_slice()),
            (Dtype::F32, &[4][..])
        );
    }
    let tracked = get("1.num_batches_tracked");
    assert_eq!(
        (tracked.dtype, tracked.shape.len(), &tracked.data[..]),
        (Dtype::I64, 0, &[0u8; 8][..])
    );

    assert_eq!(metadata["format"], "feedforward");
    assert_eq!(metadata["format_version"], "2");
    assert_eq!(metadata["input_width"], "6");
    let architecture: Vec<LayerSpec> = serde_json::from_str(&metadata["architecture"]).unwrap();
    assert_eq!(
        architecture.into_iter().map(Some).collect::<Vec<_>>(),
        specs(&model)
    );
    assert!(metadata["architecture"].starts_with(r#"[{"kind":"Dense","inputs":6,"outputs":4},{"kind":"BatchNorm1d","features":4,"momentum":0.2,"eps":0.001}"#));
    let bytes = fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "the data starts 8-byte aligned");
    assert_eq!(metadata["sha256"], checksum(&metadata, &bytes));
}

#[test]
fn a_pytorch_state_dict_written_by_python_loads_and_predicts_what_pytorch_computed() {
    // tests/fixtures/make_fixture.py: nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch_sequential.safetensors");
    let bytes = fs::read(&path).unwrap();
    let (_, metadata) = read_raw(&bytes);
    let parse = |key: &str| -> Array2<f32> {
        let rows: Vec<Vec<f64>> = serde_json::from_str(&metadata[key]).unwrap();
        let width = rows[0].len();
        let flat: Vec<f32> = rows.into_iter().flatten().map(|v| v as f32).collect();
        Array2::from_shape_vec((flat.len() / width, width), flat).unwrap()
    };
    let (x, expected) = (parse("inputs"), parse("expected_outputs"));

    // Not ours: `load` cannot know the architecture...
    assert!(matches!(
        problem(Sequential::load(&path), &path),
        CheckpointProblem::NotFeedforward(_)
    ));
    // ...but the weights go into the equivalent model, in the right layers.
    let mut model = linear_relu_linear(0);
    model.load_weights(&path).unwrap();
    assert_eq!(predictions(&mut model, &x), bits(expected.view()));
    let (raw, _) = read_raw(&bytes);
    let w0 = raw.iter().find(|t| t.name == "0.weight").unwrap();
    assert_eq!(
        f32_bytes(model.parameters()[0].1.t().iter().copied()),
        w0.data
    );
    assert_eq!(fs::read(&path).unwrap(), bytes);

    // And our file of that model has the same names and layout as PyTorch's.
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.safetensors");
    model.save(&ours).unwrap();
    let (ours_raw, _) = read_raw(&fs::read(&ours).unwrap());
    assert_eq!(ours_raw.len(), raw.len());
    for (a, b) in ours_raw.iter().zip(&raw) {
        assert_eq!(
            (&a.name, a.dtype, &a.shape, &a.data),
            (&b.name, b.dtype, &b.shape, &b.data)
        );
    }
}

#[test]
fn custom_layers_save_their_weights_but_not_their_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custom.safetensors");
    let build = |gain: f32| {
        let mut rng = RandomState::new(4);
        Sequential::builder(3)
            .push(Dense::new(3, 2, Init::HeNormal, &mut rng).unwrap())
            .push(Gain::new(2, gain))
            .build()
            .unwrap()
    };
    let mut model = build(1.5);
    // An earlier checkpoint is there: a refused save leaves it as it was.
    every_kind_model(3, 0).save(&path).unwrap();
    let previous = fs::read(&path).unwrap();
    let err = problem(model.save(&path), &path);
    assert_eq!(
        err,
        CheckpointProblem::CustomLayer {
            index: 1,
            layer: "Gain".into()
        }
    );
    assert!(err.to_string().contains("save_weights"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), previous);

    model.save_weights(&path).unwrap();
    let (raw, metadata) = read_raw(&fs::read(&path).unwrap());
    assert!(!metadata.contains_key("architecture"));
    let gain = raw.iter().find(|t| t.name == "1.gain").unwrap();
    assert_eq!(
        gain.shape,
        [1, 2],
        "a custom layer's tensors are stored as they are"
    );
    assert!(matches!(
        problem(Sequential::load(&path), &path),
        CheckpointProblem::Architecture(reason) if reason.contains("load_weights")
    ));
    let mut loaded = build(0.25);
    loaded.load_weights(&path).unwrap();
    let x = RandomState::new(1).randn(4, 3).unwrap();
    assert_eq!(predictions(&mut loaded, &x), predictions(&mut model, &x));
}

// ---------------------------------------------------------------------------------------------
// load_weights: every problem by name, nothing changed

#[test]
fn load_weights_lists_every_missing_unexpected_and_misshaped_tensor_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let mut rng = RandomState::new(5);
    // 0.weight/bias (4 -> 3), 2.weight/bias (3 -> 2), 4.weight/bias (2 -> 2)
    Sequential::builder(4)
        .push(Dense::new(4, 3, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(3, 2, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(2, 2, Init::HeNormal, &mut rng).unwrap())
        .build()
        .unwrap()
        .save(&path)
        .unwrap();
    let bytes = fs::read(&path).unwrap();
    // 0 fits; 2 is 3 -> 5; 5 is not in the file; 4 is not in the model.
    let mut model = Sequential::builder(4)
        .push(Dense::new(4, 3, Init::HeNormal, &mut rng).unwrap())
        .push(Tanh)
        .push(Dense::new(3, 5, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Relu)
        .push(Dense::new(5, 1, Init::HeNormal, &mut rng).unwrap())
        .build()
        .unwrap();
    let before = state(&model);
    let err = model.load_weights(&path).unwrap_err();
    let message = err.to_string();
    let CheckpointProblem::TensorMismatch {
        missing,
        unexpected,
        invalid,
    } = problem(Err::<(), _>(err), &path)
    else {
        panic!()
    };
    assert_eq!(missing, ["5.weight", "5.bias"]);
    assert_eq!(unexpected, ["4.bias", "4.weight"]);
    assert_eq!(
        invalid,
        [
            "2.weight: shape [2, 3], expected [5, 3]",
            "2.bias: shape [2], expected [5]"
        ]
    );
    for name in [
        "5.weight", "5.bias", "4.weight", "4.bias", "2.weight", "2.bias",
    ] {
        assert!(message.contains(name), "{message}");
    }
    assert!(message.contains("w.safetensors"), "{message}");
    assert_eq!(
        state(&model),
        before,
        "0.weight fitted, but nothing may change"
    );
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn load_weights_refuses_wrong_dtypes_and_nan_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("py.safetensors");
    let mut model = linear_relu_linear(1);
    let before = state(&model);
    let f32s = |n: usize, v: f32| f32_bytes(std::iter::repeat_n(v, n));
    let mut nan = f32s(3, 0.5);
    nan[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
    let tensors = [
        Raw {
            name: "0.weight".into(),
            dtype: Dtype::F64,
            shape: vec![3, 4],
            data: vec![0; 96],
        },
        Raw {
            name: "0.bias".into(),
            dtype: Dtype::F32,
            shape: vec![3],
            data: nan,
        },
        Raw {
            name: "2.weight".into(),
            dtype: Dtype::F32,
            shape: vec![2, 3],
            data: f32s(6, f32::INFINITY),
        },
        Raw {
            name: "2.bias".into(),
            dtype: Dtype::F32,
            shape: vec![2],
            data: f32s(2, 1.0),
        },
    ];
    fs::write(&path, write_raw(&tensors, &BTreeMap::new(), false)).unwrap();
    let bytes = fs::read(&path).unwrap();
    let CheckpointProblem::TensorMismatch {
        missing,
        unexpected,
        invalid,
    } = problem(model.load_weights(&path), &path)
    else {
        panic!()
    };
    assert!(missing.is_empty() && unexpected.is_empty());
    assert_eq!(
        invalid,
        [
            "0.weight: dtype F64, expected F32 (in PyTorch, `.float()` converts)",
            "0.bias: holds NaN or infinite values",
            "2.weight: holds NaN or infinite values",
        ]
    );
    assert_eq!(state(&model), before);
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_refused_buffer_rolls_back_every_tensor_already_assigned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bn.safetensors");
    let source = every_kind_model(4, 6);
    source.save(&path).unwrap();
    // The same tensors, with a negative running variance, as a foreign file.
    let (mut tensors, _) = read_raw(&fs::read(&path).unwrap());
    let var = tensors
        .iter_mut()
        .find(|t| t.name == "1.running_var")
        .unwrap();
    var.data = f32_bytes([1.0, -2.0, 1.0, 1.0]);
    fs::write(&path, write_raw(&tensors, &BTreeMap::new(), false)).unwrap();
    let bytes = fs::read(&path).unwrap();

    let mut model = every_kind_model(4, 7);
    let before = state(&model);
    let CheckpointProblem::TensorMismatch { invalid, .. } =
        problem(model.load_weights(&path), &path)
    else {
        panic!()
    };
    assert_eq!(invalid.len(), 1);
    assert!(invalid[0].starts_with("1.running_var: "), "{invalid:?}");
    assert_eq!(
        state(&model),
        before,
        "parameters assigned first were put back"
    );
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

// ---------------------------------------------------------------------------------------------
// Saving: nothing lost

#[test]
fn saving_over_a_checkpoint_replaces_it_whole_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let first = every_kind_model(4, 1);
    first.save(&path).unwrap();
    let second = every_kind_model(5, 2);
    second.save(&path).unwrap();
    assert_eq!(files_in(dir.path()), ["m.safetensors"]);
    assert_eq!(specs(&Sequential::load(&path).unwrap()), specs(&second));
}

#[test]
fn a_failed_save_leaves_the_previous_file_and_the_folder_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let model = every_kind_model(4, 1);
    every_kind_model(3, 2).save(&path).unwrap();
    let previous = fs::read(&path).unwrap();

    // Parameters that diverged (built-in layers refuse NaN and infinities, and training never
    // makes them: only a layer from outside the crate can hold them): refused, by name,
    // before anything is written.
    let mut rng = RandomState::new(0);
    let broken = Sequential::builder(3)
        .push(Gain::new(3, f32::NAN))
        .push(Dense::new(3, 2, Init::HeNormal, &mut rng).unwrap())
        .build()
        .unwrap();
    assert_eq!(
        problem(broken.save_weights(&path), &path),
        CheckpointProblem::NonFinite(vec!["0.gain".into()])
    );
    assert!(
        Dense::from_parameters(Array2::from_elem((4, 3), f32::NAN), Array2::zeros((1, 3))).is_err()
    );
    assert_eq!(fs::read(&path).unwrap(), previous);

    // The target is a folder: the new file is written, then cannot replace it; the temporary
    // file is removed and the folder left as it was.
    let folder = dir.path().join("folder.safetensors");
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("inside"), b"keep me").unwrap();
    let err = model.save(&folder).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Io {
                action: "renaming into place",
                ..
            }
        ),
        "{err}"
    );
    assert!(folder.is_dir());
    assert_eq!(files_in(&folder), ["inside"]);
    assert_eq!(
        files_in(dir.path()),
        ["folder.safetensors", "m.safetensors"]
    );

    // The folder does not exist, or is a file.
    let nowhere = dir.path().join("missing/m.safetensors");
    assert!(matches!(model.save(&nowhere), Err(Error::Io { .. })));
    let under_file = dir.path().join("m.safetensors/inner.safetensors");
    assert!(matches!(model.save(&under_file), Err(Error::Io { .. })));
    assert_eq!(fs::read(&path).unwrap(), previous);

    // A folder without write permission (unless we are root, whom permissions do not stop).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path().join("locked");
        fs::create_dir(&locked).unwrap();
        let target = locked.join("m.safetensors");
        fs::write(&target, &previous).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        let probe = fs::write(locked.join("probe"), b"");
        if probe.is_err() {
            assert!(matches!(model.save(&target), Err(Error::Io { .. })));
            assert_eq!(files_in(&locked), ["m.safetensors"]);
        } else {
            eprintln!(
                "running as root: a read-only folder does not stop writes, case not exercised"
            );
        }
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(fs::read(&target).unwrap(), previous);
    }
    assert_eq!(fs::read(&path).unwrap(), previous);
}

// ---------------------------------------------------------------------------------------------
// Loading: typed errors, never a panic, never a partial model

/// Writes `bytes` over the checkpoint at `path`, then checks that `load` fails with a problem
/// for which `expected` holds, that `load_weights` into `model` fails too (unless `load_only`)
/// without changing it, and that the file is unchanged.
#[track_caller]
fn assert_refused(
    path: &Path,
    bytes: &[u8],
    model: &mut Sequential,
    expected: impl Fn(&CheckpointProblem) -> bool,
    load_only: bool,
) {
    fs::write(path, bytes).unwrap();
    let p = problem(Sequential::load(path), path);
    assert!(expected(&p), "unexpected problem {p:?}");
    if !load_only {
        let before = state(model);
        let p = problem(model.load_weights(path), path);
        assert!(expected(&p), "unexpected problem {p:?}");
        assert_eq!(state(model), before);
    }
    assert_eq!(fs::read(path).unwrap(), bytes);
}

#[test]
fn truncated_damaged_and_foreign_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let original = every_kind_model(4, 3);
    original.save(&path).unwrap();
    let good = fs::read(&path).unwrap();
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut model = every_kind_model(4, 4);
    let malformed = |p: &CheckpointProblem| matches!(p, CheckpointProblem::Malformed(_));

    // Truncated: empty, inside the size, inside the header, inside the data, one byte short.
    for len in [0, 5, 8, 40, 8 + n, good.len() - 100, good.len() - 1] {
        assert_refused(&path, &good[..len], &mut model, malformed, false);
    }
    // Extra bytes at the end.
    assert_refused(
        &path,
        &[&good[..], b"\0"].concat(),
        &mut model,
        malformed,
        false,
    );
    // Damaged header: a brace.
    let mut bad = good.clone();
    bad[8] = b'[';
    assert_refused(&path, &bad, &mut model, malformed, false);
    // Damaged data: one bit of one weight.
    let mut bad = good.clone();
    bad[good.len() - 3] ^= 0x10;
    assert_refused(
        &path,
        &bad,
        &mut model,
        |p| *p == CheckpointProblem::ChecksumMismatch,
        false,
    );
    // Foreign: text, a PNG signature, random bytes.
    for foreign in [
        &b"not a checkpoint at all, just some text long enough"[..],
        &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x1c\0\0\0\x1c\x08\0\0\0\0"[..],
        &[0xffu8; 64][..],
    ] {
        assert_refused(&path, foreign, &mut model, malformed, false);
    }
    // A missing file is an I/O error naming it.
    let missing = dir.path().join("none.safetensors");
    assert!(matches!(Sequential::load(&missing), Err(Error::Io { path: p, .. }) if p == missing));
}

#[test]
fn safetensors_files_that_are_not_ours_or_newer_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let original = every_kind_model(4, 3);
    original.save(&path).unwrap();
    let (tensors, metadata) = read_raw(&fs::read(&path).unwrap());
    let mut model = every_kind_model(4, 4);
    let with = |key: &str, value: Option<&str>| {
        let mut m = metadata.clone();
        match value {
            Some(v) => m.insert(key.to_string(), v.to_string()),
            None => m.remove(key),
        };
        m
    };

    // Without metadata, or without `format = feedforward`: `load` cannot rebuild it, but
    // `load_weights` reads its tensors (as it reads PyTorch's).
    for foreign in [BTreeMap::new(), with("format", Some("pytorch"))] {
        fs::write(&path, write_raw(&tensors, &foreign, false)).unwrap();
        assert!(matches!(
            problem(Sequential::load(&path), &path),
            CheckpointProblem::NotFeedforward(_)
        ));
        model.load_weights(&path).unwrap();
        assert_eq!(state(&model), state(&original));
        model = every_kind_model(4, 4);
    }

    // Newer, or nonsense, versions: neither function guesses.
    for version in [Some("3"), Some("one"), Some("0"), None] {
        let bytes = write_raw(&tensors, &with("format_version", version), true);
        assert_refused(
            &path,
            &bytes,
            &mut model,
            |p| {
                matches!(p, CheckpointProblem::UnsupportedVersion { found, supported }
                    if *found == version.unwrap_or("(none)") && *supported == FORMAT_VERSION)
            },
            false,
        );
    }
    let bytes = write_raw(&tensors, &with("format_version", Some("3")), true);
    fs::write(&path, &bytes).unwrap();
    let message = Sequential::load(&path).unwrap_err().to_string();
    assert!(message.contains("upgrade feedforward"), "{message}");

    // Ours, but the checksum is missing or wrong.
    for sum in [None, Some("00")] {
        let mut m = metadata.clone();
        match sum {
            Some(s) => m.insert("sha256".into(), s.into()),
            None => m.remove("sha256"),
        };
        let bytes = write_raw(&tensors, &m, false);
        assert_refused(
            &path,
            &bytes,
            &mut model,
            |p| *p == CheckpointProblem::ChecksumMismatch,
            false,
        );
    }

    // Architectures that cannot be read or built (with valid checksums: written on purpose).
    let architecture = |p: &CheckpointProblem| matches!(p, CheckpointProblem::Architecture(_));
    for arch in [
        r#"[{"kind":"Conv2d"}]"#,
        "not json",
        r#"[{"kind":"Dense","inputs":6,"outputs":0}]"#,
        // A damaged width must not make us allocate terabytes.
        r#"[{"kind":"Dense","inputs":6,"outputs":1000000000000}]"#,
        // Layers that do not chain.
        r#"[{"kind":"Dense","inputs":5,"outputs":4}]"#,
        "[]",
    ] {
        let bytes = write_raw(&tensors, &with("architecture", Some(arch)), true);
        assert_refused(&path, &bytes, &mut model, architecture, true);
    }
    for width in [None, Some("six")] {
        let bytes = write_raw(&tensors, &with("input_width", width), true);
        assert_refused(&path, &bytes, &mut model, architecture, true);
    }
    // An architecture that builds, whose tensors the file lacks (0.weight removed).
    let fewer: Vec<Raw> = read_raw(&fs::read(dir.path().join("m.safetensors")).unwrap())
        .0
        .into_iter()
        .filter(|t| t.name != "0.weight")
        .collect();
    let bytes = write_raw(&fewer, &metadata, true);
    assert_refused(
        &path,
        &bytes,
        &mut model,
        |p| {
            matches!(p, CheckpointProblem::TensorMismatch { missing, .. } if missing == &["0.weight"])
                || matches!(p, CheckpointProblem::Architecture(r) if r.contains("values"))
        },
        false,
    );
}

/// A small deterministic generator for the corruption test.
struct Corruptor(RandomState);

impl Corruptor {
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u32() as usize) % n.max(1)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.0.next_u32() as u8).collect()
    }

    /// `good` with one random kind of damage.
    fn corrupt(&mut self, good: &[u8], header_end: usize) -> Vec<u8> {
        let mut bad = good.to_vec();
        let len = good.len();
        match self.below(8) {
            0 => {
                let at = self.below(len);
                bad[at] ^= 1 << self.below(8);
            }
            1 => {
                let at = self.below(len);
                bad[at] = self.0.next_u32() as u8;
            }
            2 => bad.truncate(self.below(len)),
            3 => {
                let at = self.below(len + 1);
                let n = 1 + self.below(16);
                let junk = self.bytes(n);
                bad.splice(at..at, junk);
            }
            4 => {
                let at = self.below(len);
                let n = (1 + self.below(16)).min(len - at);
                bad.drain(at..at + n);
            }
            5 => {
                let at = self.below(len);
                let n = (1 + self.below(32)).min(len - at);
                let junk = self.bytes(n);
                bad[at..at + n].copy_from_slice(&junk);
            }
            6 => {
                // The header is where structure lives: damage it more often.
                let at = self.below(header_end);
                bad[at] ^= 1 << self.below(8);
            }
            _ => {
                let n = 1 + self.below(16);
                let junk = self.bytes(n);
                bad.extend_from_slice(&junk);
            }
        }
        bad
    }
}

#[test]
fn random_corruption_never_panics_nor_loads_a_different_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut original = every_kind_model(3, 8);
    original.save(&path).unwrap();
    let good = fs::read(&path).unwrap();
    let header_end = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let x = RandomState::new(1).randn(4, 6).unwrap();
    let expected = predictions(&mut original, &x);
    let original_state = state(&original);
    let original_specs = specs(&original);

    let mut rng = Corruptor(RandomState::new(2024));
    let mut target = every_kind_model(3, 9);
    let (mut refused, mut harmless) = (0, 0);
    for case in 0..2_000 {
        let bad = rng.corrupt(&good, header_end);
        fs::write(&path, &bad).unwrap();
        match Sequential::load(&path) {
            Ok(mut loaded) => {
                // Only damage that changes nothing (JSON whitespace) may load.
                assert_eq!(specs(&loaded), original_specs, "case {case}");
                assert_eq!(predictions(&mut loaded, &x), expected, "case {case}");
                harmless += 1;
            }
            Err(Error::Checkpoint { .. }) => refused += 1,
            Err(other) => panic!("case {case}: unexpected error {other}"),
        }
        let before = state(&target);
        match target.load_weights(&path) {
            Ok(()) => {
                assert_eq!(state(&target), original_state, "case {case}");
                target = every_kind_model(3, 9);
            }
            Err(Error::Checkpoint { .. }) => assert_eq!(state(&target), before, "case {case}"),
            Err(other) => panic!("case {case}: unexpected error {other}"),
        }
    }
    eprintln!("{refused} corrupted files refused, {harmless} harmless changes loaded");
    assert!(refused > 1_900, "{refused} refused");
}
