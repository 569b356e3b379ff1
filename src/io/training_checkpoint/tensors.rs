//! The pieces a training checkpoint is made of, shared by the file itself (`file.rs`) and the
//! states of a data-parallel run's processes (`processes.rs`): metadata entries as JSON, random
//! generators' keys as `U32` tensors, `F32` and `F64` tensors.

use super::*;

/// A metadata entry written as JSON.
pub(super) fn to_json(path: &Path, value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| {
        checkpoint_error(
            path,
            CheckpointProblem::Malformed(format!("cannot write JSON: {e}")),
        )
    })
}

/// A metadata entry read as JSON.
pub(super) fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    key: &str,
) -> std::result::Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("unreadable {key} metadata: {e}"))
}

/// The generator whose key is the tensor `name`, at the position and with the cached normal of
/// `meta`, checked.
pub(super) fn read_generator(
    tensors: &SafeTensors<'_>,
    name: &str,
    meta: &GeneratorMeta,
) -> std::result::Result<GeneratorState, String> {
    let view = tensors
        .tensor(name)
        .map_err(|_| format!("no tensor {name}"))?;
    if view.dtype() != Dtype::U32 || view.shape() != [KEY_WORDS] {
        return Err(format!("{name} is not {KEY_WORDS} U32 words"));
    }
    let state = GeneratorState {
        key: view
            .data()
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        pos: meta.pos,
        gauss: meta.gauss,
    };
    RandomState::from_state(&state).map_err(|e| format!("{name}: {e}"))?;
    Ok(state)
}

/// An `F32` tensor of `shape` holding `values`.
pub(super) fn f32_tensor<'a>(shape: Vec<usize>, values: impl Iterator<Item = &'a f32>) -> Tensor {
    Tensor {
        dtype: Dtype::F32,
        shape,
        data: values.flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// A generator's key as a `U32` tensor.
pub(super) fn key_tensor(key: &[u32]) -> Tensor {
    Tensor {
        dtype: Dtype::U32,
        shape: vec![key.len()],
        data: key.iter().flat_map(|w| w.to_le_bytes()).collect(),
    }
}

/// The `F32` tensor `name` (of `rank` dimensions when given): its shape and values.
pub(super) fn read_f32(
    tensors: &SafeTensors<'_>,
    name: &str,
    rank: Option<usize>,
) -> std::result::Result<(Vec<usize>, Vec<f32>), String> {
    let view = tensors
        .tensor(name)
        .map_err(|_| format!("no tensor {name}"))?;
    if view.dtype() != Dtype::F32 || rank.is_some_and(|r| view.shape().len() != r) {
        return Err(format!("{name}: not an F32 tensor of the expected rank"));
    }
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((view.shape().to_vec(), values))
}

/// The regression metrics `name`, a rank-2 tensor: `F64` since version 0.3, `F32` before.
pub(super) fn read_metrics(
    tensors: &SafeTensors<'_>,
    name: &str,
) -> std::result::Result<(Vec<usize>, Vec<f64>), String> {
    let view = tensors
        .tensor(name)
        .map_err(|_| format!("no tensor {name}"))?;
    if view.dtype() == Dtype::F32 {
        let (shape, values) = read_f32(tensors, name, Some(2))?;
        return Ok((shape, values.into_iter().map(f64::from).collect()));
    }
    if view.dtype() != Dtype::F64 || view.shape().len() != 2 {
        return Err(format!("{name}: not an F64 tensor of rank 2"));
    }
    let values = view
        .data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .collect();
    Ok((view.shape().to_vec(), values))
}
