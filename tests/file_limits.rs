//! Files that could make a reader block, allocate without bound or load the wrong thing
//! (issue 10, parts 3 and 4): non-regular files are refused, sizes are bounded by what the file
//! can hold, and the checkpoint checksum covers the tensor table.

use feedforward::data::idx::read_idx;
use feedforward::error::CheckpointProblem;
use feedforward::io::checkpoint::MAX_CHECKPOINT_BYTES;
use feedforward::prelude::*;
use feedforward::{Error, Sequential};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

fn model() -> Sequential {
    let mut rng = RandomState::new(1);
    Sequential::builder(2)
        .push(Dense::new(2, 2, Init::HeNormal, &mut rng).unwrap())
        .push(BatchNorm1d::new(2).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
}

/// The header (as JSON) and the data section of a safetensors file.
fn split(bytes: &[u8]) -> (BTreeMap<String, serde_json::Value>, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (
        serde_json::from_slice(&bytes[8..8 + n]).unwrap(),
        bytes[8 + n..].to_vec(),
    )
}

fn join(header: &BTreeMap<String, serde_json::Value>, data: &[u8]) -> Vec<u8> {
    let mut json = serde_json::to_vec(header).unwrap();
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    out.extend_from_slice(data);
    out
}

#[test]
fn swapping_two_tensors_in_the_table_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut original = model();
    let mut sgd = Sgd::new(0.1).unwrap();
    let x = RandomState::new(2).randn(8, 2).unwrap();
    let t = feedforward::data::one_hot(&[0, 1, 1, 0, 1, 0, 0, 1], 2).unwrap();
    original
        .train_step(x.view(), t.view(), &CrossEntropy, &mut sgd)
        .unwrap();
    original.save(&path).unwrap();
    let (mut header, data) = split(&std::fs::read(&path).unwrap());
    // running_mean and running_var are both [2] F32: swapping their offsets keeps a valid file.
    let mean = header["1.running_mean"]["data_offsets"].clone();
    let var = header["1.running_var"]["data_offsets"].clone();
    assert_ne!(mean, var);
    header.get_mut("1.running_mean").unwrap()["data_offsets"] = var;
    header.get_mut("1.running_var").unwrap()["data_offsets"] = mean;
    std::fs::write(&path, join(&header, &data)).unwrap();
    match Sequential::load(&path) {
        Err(Error::Checkpoint {
            problem: CheckpointProblem::ChecksumMismatch,
            ..
        }) => {}
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    let mut other = model();
    assert!(other.load_weights(&path).is_err());
}

#[test]
fn version_1_files_still_load() {
    // A file as version 1 wrote it: its checksum covers the metadata and the data only.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut original = model();
    original.save(&path).unwrap();
    let (mut header, data) = split(&std::fs::read(&path).unwrap());
    let metadata = header
        .get_mut("__metadata__")
        .unwrap()
        .as_object_mut()
        .unwrap();
    metadata.insert("format_version".into(), "1".into());
    metadata.remove("sha256");
    let mut hasher = Sha256::new();
    let sorted: BTreeMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    for (key, value) in &sorted {
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    hasher.update(&data);
    let sum: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    metadata.insert("sha256".into(), sum.into());
    std::fs::write(&path, join(&header, &data)).unwrap();
    let mut loaded = Sequential::load(&path).unwrap();
    let x = RandomState::new(3).randn(4, 2).unwrap();
    assert_eq!(
        loaded.predict(x.view()).unwrap(),
        original.predict(x.view()).unwrap()
    );
}

#[test]
fn devices_fifos_and_folders_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = vec![
        Path::new("/dev/zero").to_path_buf(),
        dir.path().to_path_buf(),
    ];
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        paths.push(fifo);
    } else {
        eprintln!("mkfifo is not available: the FIFO case is not run");
    }
    for path in &paths {
        let started = Instant::now();
        let err = Sequential::load(path).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{path:?}: {err}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = model().load_weights(path).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = read_idx(path).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        // refused at once, without reading (a FIFO without a writer would block forever)
        assert!(started.elapsed().as_secs() < 30);
    }
}

#[test]
fn a_checkpoint_above_the_cap_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.safetensors");
    // A sparse file: its size is what counts, not its (absent) content.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(MAX_CHECKPOINT_BYTES + 1).unwrap();
    match Sequential::load(&path) {
        Err(Error::Checkpoint {
            problem: CheckpointProblem::Malformed(reason),
            ..
        }) => assert!(reason.contains("MAX_CHECKPOINT_BYTES"), "{reason}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn a_gzip_idx_announcing_more_than_it_can_hold_is_refused_at_once() {
    // The file: a header declaring 0xFFFFFFFF items, followed by 1.5 MB of zeros,
    // compressed (about 1.5 KB of gzip). Before: 5.3 s and 1.58 GB; now refused at once.
    let dir = tempfile::tempdir().unwrap();
    let mut raw = vec![0u8, 0, 8, 1];
    raw.extend_from_slice(&u32::MAX.to_be_bytes());
    raw.resize(raw.len() + 1_500_000, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).unwrap();
    let path = dir.path().join("labels.gz");
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let err = read_idx(&path).unwrap_err();
    assert!(matches!(err, Error::CorruptFile { .. }), "{err}");
    assert!(err.to_string().contains("can hold"), "{err}");
    // A stream that could hold what it announces but ends early: an error naming the file.
    let mut raw = vec![0u8, 0, 8, 1];
    raw.extend_from_slice(&1_000_000u32.to_be_bytes());
    raw.resize(raw.len() + 1000, 7);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).unwrap();
    let mut bytes = gz.finish().unwrap();
    bytes.resize(bytes.len() + 2000, 0); // room enough, by size, for the announced data
    let path = dir.path().join("short.gz");
    std::fs::write(&path, bytes).unwrap();
    assert!(read_idx(&path).is_err());
}
