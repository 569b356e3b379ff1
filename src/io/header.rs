//! What the crate's safetensors files share: the names in their metadata, the size limit, the
//! whole-file read, the header's framing (8-byte length, JSON, data aligned on 8 bytes) and the
//! errors that name the file.
//!
//! Model files ([`checkpoint`](super::checkpoint)) and training checkpoints
//! ([`training_checkpoint`](super::training_checkpoint)) both use it; their checksums are in
//! `checksum.rs`.

use super::file_limits::{open_regular, read_capped};
use crate::error::CheckpointProblem;
use crate::layers::Shape;
use crate::{Error, Result};
use safetensors::{Dtype, View};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

/// The value of the `format` metadata entry of model files ([`Sequential::save`](crate::Sequential::save)).
pub const FORMAT: &str = "feedforward";

/// The value of the `format` metadata entry of training checkpoints.
pub const TRAINING_FORMAT: &str = "feedforward-training";

/// The largest file [`Sequential::load`](crate::Sequential::load),
/// [`Sequential::load_weights`](crate::Sequential::load_weights) and
/// [`TrainingCheckpoint::read`](super::TrainingCheckpoint::read) read: 4 GiB (a
/// 784-256-128-10 network takes 1 MB). Larger files, and anything that is not a regular file
/// (`/dev/zero`, a FIFO, a folder), are refused before anything is read.
pub const MAX_CHECKPOINT_BYTES: u64 = 1 << 32;

/// Metadata keys.
pub(crate) const KEY_FORMAT: &str = "format";
pub(crate) const KEY_VERSION: &str = "format_version";
pub(crate) const KEY_INPUT_WIDTH: &str = "input_width";
pub(crate) const KEY_ARCHITECTURE: &str = "architecture";
pub(crate) const KEY_SHA256: &str = "sha256";
/// The model's input image, `[channels, height, width]` (JSON); absent for rows of features.
pub(crate) const KEY_INPUT_SHAPE: &str = "input_shape";

/// Records the model's input shape in `metadata` when it is an image (`input_shape`,
/// `[channels, height, width]`); a model of flat rows writes only its `input_width`, as before
/// images existed.
pub(crate) fn insert_input_shape(metadata: &mut HashMap<String, String>, shape: Shape) {
    if let Some((c, h, w)) = shape.chw() {
        metadata.insert(KEY_INPUT_SHAPE.to_string(), format!("[{c},{h},{w}]"));
    }
}

/// The input shape `metadata` records for inputs of `input_width` values: the image of its
/// `input_shape` entry, or a flat row without one; a message for an entry that is not three
/// whole numbers whose product is `input_width`.
pub(crate) fn input_shape(
    metadata: &HashMap<String, String>,
    input_width: usize,
) -> std::result::Result<Shape, String> {
    let Some(text) = metadata.get(KEY_INPUT_SHAPE) else {
        return Ok(Shape::flat(input_width));
    };
    let dims: Vec<usize> = serde_json::from_str(text)
        .map_err(|e| format!("unreadable {KEY_INPUT_SHAPE} metadata {text:?}: {e}"))?;
    match dims[..] {
        [c, h, w] => match Shape::image(c, h, w) {
            Ok(shape) if shape.size() == input_width => Ok(shape),
            _ => Err(format!(
                "the {KEY_INPUT_SHAPE} metadata {text} does not hold {input_width} values, the \
                 input width"
            )),
        },
        _ => Err(format!(
            "the {KEY_INPUT_SHAPE} metadata {text} is not [channels, height, width]"
        )),
    }
}

/// An [`Error::Checkpoint`] for `path`.
pub(crate) fn checkpoint_error(path: &Path, problem: CheckpointProblem) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        problem,
    }
}

/// Reads the whole file: a regular file of at most [`MAX_CHECKPOINT_BYTES`].
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    let (file, len) = open_regular(path)?;
    read_capped(path, file, len, MAX_CHECKPOINT_BYTES)?.ok_or_else(|| {
        checkpoint_error(
            path,
            CheckpointProblem::Malformed(format!(
                "larger than {MAX_CHECKPOINT_BYTES} bytes, the most a checkpoint may hold \
                 (MAX_CHECKPOINT_BYTES)"
            )),
        )
    })
}

/// The problem of a file the safetensors crate cannot read, in words.
pub(crate) fn malformed(e: safetensors::SafeTensorError) -> CheckpointProblem {
    CheckpointProblem::Malformed(match e {
        safetensors::SafeTensorError::HeaderTooSmall => {
            "shorter than the 8-byte header size".to_string()
        }
        other => other.to_string(),
    })
}

/// Splits a serialised file into its JSON header and its data section.
pub(crate) fn split(bytes: &[u8]) -> std::result::Result<(&[u8], &[u8]), String> {
    let header_len = bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or("no header size")?;
    let end = 8usize
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or("header size beyond the end")?;
    Ok((&bytes[8..end], &bytes[end..]))
}

/// A file from a JSON header and a data section: the header's length, the header padded with
/// spaces so that the data starts 8-byte aligned (as the format asks), the data.
pub(crate) fn assemble(mut json: Vec<u8>, data: &[u8]) -> Vec<u8> {
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(data);
    out
}

/// Lower-case hex of a digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A tensor ready to be written.
#[derive(Debug)]
pub(crate) struct Tensor {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Vec<u8>,
}

impl View for &Tensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }

    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// The bytes of a file holding `tensors` and `metadata`, its header put in canonical order and
/// sealed with its checksum by `seal` (see `checksum.rs`).
///
/// # Errors
/// [`CheckpointProblem::Malformed`] naming `path` when the safetensors crate or `seal` cannot
/// serialise them.
pub(crate) fn serialize(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: HashMap<String, String>,
    seal: fn(&[u8]) -> std::result::Result<Vec<u8>, String>,
) -> Result<Vec<u8>> {
    let fail = |e: String| {
        checkpoint_error(
            path,
            CheckpointProblem::Malformed(format!("cannot serialise: {e}")),
        )
    };
    let bytes =
        safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
            .map_err(|e| fail(e.to_string()))?;
    seal(&bytes).map_err(fail)
}
