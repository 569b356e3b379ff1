//! The checksum of a training checkpoint: the SHA-256 of the whole file, computed with its own
//! 64 hex digits set to `0`.

use super::KEY_SHA256;
use sha2::{Digest, Sha256};

/// Where the checksum's 64 hex digits are in a file: after the only `"sha256":"` of the header.
fn checksum_span(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let header_len = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let header = bytes.get(8..8usize.checked_add(header_len)?)?;
    let needle = format!("\"{KEY_SHA256}\":\"");
    let needle = needle.as_bytes();
    let mut found = header
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| 8 + i + needle.len());
    let start = found.next()?;
    if found.next().is_some() || start + 64 > 8 + header_len {
        return None;
    }
    Some(start..start + 64)
}

/// SHA-256 (lower-case hex) of `bytes` with the checksum's digits set to `0`.
fn digest(bytes: &[u8], span: &std::ops::Range<usize>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(&bytes[..span.start]);
    hasher.update([b'0'; 64]);
    hasher.update(&bytes[span.end..]);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the file's checksum is the SHA-256 of the file with it zeroed.
pub(super) fn checksum_holds(bytes: &[u8]) -> bool {
    checksum_span(bytes).is_some_and(|span| digest(bytes, &span).as_bytes() == &bytes[span])
}

/// Rewrites a serialised file's header in a canonical order (sorted keys, so that the same
/// state gives the same bytes) and fills in the checksum of the whole file.
pub(super) fn with_checksum(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
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
    // serde_json's maps are sorted (BTreeMap): parsing and writing again sorts every level.
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..end]).map_err(|e| e.to_string())?;
    let mut json = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    // The data must start 8-byte aligned, as the format asks.
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - end);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[end..]);
    let span = checksum_span(&out).ok_or("no single checksum entry")?;
    let sum = digest(&out, &span);
    out[span].copy_from_slice(sum.as_bytes());
    Ok(out)
}
