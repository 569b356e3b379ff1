//! The checksums of the crate's safetensors files, and the canonical header order they need
//! (the same state always gives the same bytes).
//!
//! - Model files ([`checkpoint`](super::checkpoint)), version 2: SHA-256 of the metadata
//!   entries other than `sha256` (sorted by key, each `key NUL value NUL`), then of the tensor
//!   table (sorted by name, each `name NUL dtype NUL shape NUL begin NUL end NUL`), then of the
//!   data section; version 1 files, written before the table was covered, without the table.
//!   PyTorch reads these files and ignores the checksum.
//! - Training checkpoints ([`training_checkpoint`](super::training_checkpoint)): SHA-256 of the
//!   whole file with the checksum's own 64 hex digits set to `0`.
//!
//! Both are kept because files of both kinds exist on users' disks; both rewrite the header
//! through [`header::split`] and [`header::assemble`].

use super::header::{self, KEY_SHA256};
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// The version 1 model-file checksum: [`model_checksum`] without the tensor table.
pub(crate) fn model_checksum_v1<S: std::hash::BuildHasher>(
    metadata: &HashMap<String, String, S>,
    data: &[u8],
) -> String {
    model_checksum(metadata, &[], data)
}

/// The tensor table of a header as the version 2 checksum reads it: sorted by name, each
/// `name NUL dtype NUL shape NUL begin NUL end NUL`.
pub(crate) fn tensor_table(info: &safetensors::tensor::Metadata) -> Vec<u8> {
    let tensors: BTreeMap<String, &safetensors::tensor::TensorInfo> =
        info.tensors().into_iter().collect();
    let mut table = Vec::new();
    for (name, tensor) in tensors {
        let dtype = serde_json::to_value(tensor.dtype)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", tensor.dtype));
        let shape: Vec<String> = tensor.shape.iter().map(usize::to_string).collect();
        let (begin, end) = tensor.data_offsets;
        for field in [
            name,
            dtype,
            shape.join(","),
            begin.to_string(),
            end.to_string(),
        ] {
            table.extend_from_slice(field.as_bytes());
            table.push(0);
        }
    }
    table
}

/// The version 2 model-file checksum: SHA-256 (lower-case hex) of the metadata entries other
/// than `sha256`, sorted by key, each as `key NUL value NUL`, then the tensor table, then the
/// data section.
pub(crate) fn model_checksum<S: std::hash::BuildHasher>(
    metadata: &HashMap<String, String, S>,
    table: &[u8],
    data: &[u8],
) -> String {
    let sorted: BTreeMap<&String, &String> = metadata
        .iter()
        .filter(|(key, _)| key.as_str() != KEY_SHA256)
        .collect();
    let mut hasher = Sha256::new();
    for (key, value) in sorted {
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    hasher.update(table);
    hasher.update(data);
    header::hex(&hasher.finalize())
}

/// Rewrites the header of a serialised model file in a canonical order (the safetensors crate
/// writes the metadata in hash-map order, which changes from run to run) and adds the checksum.
pub(crate) fn canonical_with_checksum(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let (header_json, data) = header::split(bytes)?;
    let mut header: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header_json).map_err(|e| e.to_string())?;
    let metadata: HashMap<String, String> = match header.remove("__metadata__") {
        Some(value) => serde_json::from_value(value).map_err(|e| e.to_string())?,
        None => HashMap::new(),
    };
    let (_, info) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let sum = model_checksum(&metadata, &tensor_table(&info), data);
    let mut metadata: BTreeMap<String, String> = metadata.into_iter().collect();
    metadata.insert(KEY_SHA256.to_string(), sum);
    header.insert(
        "__metadata__".to_string(),
        serde_json::to_value(&metadata).map_err(|e| e.to_string())?,
    );
    let json = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    Ok(header::assemble(json, data))
}

/// Where a training checkpoint's checksum (64 hex digits) is: after the only `"sha256":"` of
/// the header.
fn checksum_span(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let (header_json, _) = header::split(bytes).ok()?;
    let needle = format!("\"{KEY_SHA256}\":\"");
    let needle = needle.as_bytes();
    let mut found = header_json
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| 8 + i + needle.len());
    let start = found.next()?;
    if found.next().is_some() || start + 64 > 8 + header_json.len() {
        return None;
    }
    Some(start..start + 64)
}

/// SHA-256 (lower-case hex) of `bytes` with the checksum's digits set to `0`.
fn whole_file_digest(bytes: &[u8], span: &std::ops::Range<usize>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(&bytes[..span.start]);
    hasher.update([b'0'; 64]);
    hasher.update(&bytes[span.end..]);
    header::hex(&hasher.finalize())
}

/// Whether a training checkpoint's checksum is the SHA-256 of the file with it zeroed.
pub(crate) fn training_checksum_holds(bytes: &[u8]) -> bool {
    checksum_span(bytes)
        .is_some_and(|span| whole_file_digest(bytes, &span).as_bytes() == &bytes[span])
}

/// Rewrites a serialised training checkpoint's header in a canonical order (sorted keys, so
/// that the same state gives the same bytes) and fills in the checksum of the whole file.
pub(crate) fn training_with_checksum(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let (header_json, data) = header::split(bytes)?;
    // serde_json's maps are sorted (BTreeMap): parsing and writing again sorts every level.
    let value: serde_json::Value =
        serde_json::from_slice(header_json).map_err(|e| e.to_string())?;
    let json = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
    let mut out = header::assemble(json, data);
    let span = checksum_span(&out).ok_or("no single checksum entry")?;
    let sum = whole_file_digest(&out, &span);
    out[span].copy_from_slice(sum.as_bytes());
    Ok(out)
}
