//! The IDX reader and the MNIST loader on damaged files: every defect must come back as the right
//! error variant, with a message naming the file, and never as a panic or a partial array.
//!
//! Damaged files are made from the real MNIST files (found through `MNIST_DIR`, else the
//! repository's `data/mnist`) in a temporary folder.

mod common;
use common::mnist_dir;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use feedforward::data::idx::{parse_idx, read_idx};
use feedforward::data::mnist::{LabeledImages, Mnist};
use feedforward::Error;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// The decompressed content of the real file `name` (without `.gz`).
fn real_content(name: &str) -> Vec<u8> {
    let dir = mnist_dir();
    let raw = dir.join(name);
    if raw.is_file() {
        return fs::read(raw).expect("read raw MNIST file");
    }
    let gz = fs::read(dir.join(format!("{name}.gz"))).expect("read MNIST .gz file");
    let mut out = Vec::new();
    MultiGzDecoder::new(gz.as_slice())
        .read_to_end(&mut out)
        .expect("decompress MNIST file");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write test file");
    path
}

/// Asserts `err` is `CorruptFile` for `path`, with `path` in the message and `needle` too.
fn assert_corrupt(err: Error, path: &Path, needle: &str) {
    let msg = err.to_string();
    match &err {
        Error::CorruptFile { path: p, .. } => assert_eq!(p, path, "{msg}"),
        other => panic!("expected CorruptFile for {}, got {other:?}", path.display()),
    }
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name the file: {msg}"
    );
    assert!(msg.contains(needle), "message lacks {needle:?}: {msg}");
}

/// A small valid IDX header + data.
fn idx(type_code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, type_code, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

#[test]
fn reads_raw_and_gzip_alike_whatever_the_name() {
    let tmp = tempfile::tempdir().unwrap();
    let labels = real_content("t10k-labels-idx1-ubyte");
    let raw = write(tmp.path(), "labels.gz", &labels); // raw content under a .gz name
    let gz = write(tmp.path(), "labels.bin", &gzip(&labels)); // gzip under a plain name
    let a = read_idx(&raw).unwrap();
    let b = read_idx(&gz).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.dims, vec![10000]);
    assert_eq!(a.data.len(), 10000);
    assert_eq!(parse_idx(&gzip(&labels), Path::new("mem")).unwrap(), a);
    assert_eq!(parse_idx(&labels, Path::new("mem")).unwrap(), a);
}

#[test]
fn truncated_file_is_rejected_raw_and_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    let images = real_content("train-images-idx3-ubyte");
    // The header still says 60000 images, but only 1000 follow.
    let short = &images[..16 + 1000 * 784];
    let raw = write(tmp.path(), "short-images", short);
    assert_corrupt(read_idx(&raw).unwrap_err(), &raw, "truncated");
    let gz = write(tmp.path(), "short-images.gz", &gzip(short));
    assert_corrupt(read_idx(&gz).unwrap_err(), &gz, "truncated");
    // Cut inside the header.
    let header = write(tmp.path(), "header-only", &images[..10]);
    assert_corrupt(read_idx(&header).unwrap_err(), &header, "truncated");
    let three = write(tmp.path(), "three-bytes", &images[..3]);
    assert_corrupt(read_idx(&three).unwrap_err(), &three, "truncated");
}

#[test]
fn trailing_garbage_is_rejected_raw_and_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    let mut labels = real_content("t10k-labels-idx1-ubyte");
    labels.extend_from_slice(b"garbage");
    let raw = write(tmp.path(), "long-labels", &labels);
    assert_corrupt(read_idx(&raw).unwrap_err(), &raw, "trailing");
    let gz = write(tmp.path(), "long-labels.gz", &gzip(&labels));
    assert_corrupt(read_idx(&gz).unwrap_err(), &gz, "trailing");
    // Garbage after a valid gzip stream is not a gzip member either.
    let mut gz_then_junk = gzip(&real_content("t10k-labels-idx1-ubyte"));
    gz_then_junk.extend_from_slice(b"junk after the stream");
    let junk = write(tmp.path(), "junk-after.gz", &gz_then_junk);
    assert_corrupt(
        read_idx(&junk).unwrap_err(),
        &junk,
        "gzip stream is corrupt",
    );
}

#[test]
fn wrong_magic_and_wrong_type_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let mut labels = real_content("t10k-labels-idx1-ubyte");
    labels[0] = 0x12;
    let magic = write(tmp.path(), "bad-magic", &labels);
    assert_corrupt(read_idx(&magic).unwrap_err(), &magic, "not an IDX file");

    let mut labels = real_content("t10k-labels-idx1-ubyte");
    labels[2] = 0x0D; // float
    let ty = write(tmp.path(), "float-type", &labels);
    assert_corrupt(read_idx(&ty).unwrap_err(), &ty, "type code 0x0d");

    let text = write(tmp.path(), "text.idx", b"this is not an IDX file at all\n");
    assert_corrupt(read_idx(&text).unwrap_err(), &text, "not an IDX file");
}

#[test]
fn corrupt_gzip_stream_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = mnist_dir();
    for name in ["t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"] {
        let mut gz = match fs::read(dir.join(name)) {
            Ok(b) => b,
            Err(_) => gzip(&real_content(name.trim_end_matches(".gz"))),
        };
        let mid = gz.len() / 2;
        for b in &mut gz[mid..mid + 16] {
            *b = !*b;
        }
        let path = write(tmp.path(), name, &gz);
        assert_corrupt(
            read_idx(&path).unwrap_err(),
            &path,
            "gzip stream is corrupt",
        );
        // A gzip stream cut short.
        let cut = write(tmp.path(), &format!("cut-{name}"), &gz[..mid]);
        assert_corrupt(read_idx(&cut).unwrap_err(), &cut, "gzip stream is corrupt");
    }
}

#[test]
fn empty_file_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = write(tmp.path(), "empty", b"");
    assert_corrupt(read_idx(&empty).unwrap_err(), &empty, "empty");
    let empty_gz = write(tmp.path(), "empty.gz", &gzip(b""));
    assert_corrupt(read_idx(&empty_gz).unwrap_err(), &empty_gz, "empty");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("no-such-file-idx1-ubyte");
    let err = read_idx(&path).unwrap_err();
    let msg = err.to_string();
    match &err {
        Error::Io {
            path: p, source, ..
        } => {
            assert_eq!(p, &path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn dimension_edge_cases() {
    let tmp = tempfile::tempdir().unwrap();
    // No dimension at all.
    let zero = write(tmp.path(), "zero-dims", &idx(0x08, &[], &[]));
    assert_corrupt(read_idx(&zero).unwrap_err(), &zero, "0 dimensions");
    // Too many dimensions.
    let five = write(tmp.path(), "five-dims", &idx(0x08, &[1, 1, 1, 1, 1], &[7]));
    assert_corrupt(read_idx(&five).unwrap_err(), &five, "5 dimensions");
    // Sizes whose product overflows: no allocation is attempted.
    let huge = write(tmp.path(), "huge", &idx(0x08, &[u32::MAX; 4], &[1, 2, 3]));
    assert_corrupt(read_idx(&huge).unwrap_err(), &huge, "too many");
    // A gzip "bomb" in reverse: a tiny stream whose header announces 4 GiB, more than its 40
    // bytes could ever decompress to: refused before anything is read or allocated.
    let bomb = write(
        tmp.path(),
        "bomb.gz",
        &gzip(&idx(0x08, &[65536, 65536], &[0; 64])),
    );
    assert_corrupt(read_idx(&bomb).unwrap_err(), &bomb, "can hold");
    // A zero-sized dimension is a valid, empty IDX array...
    let empty = write(tmp.path(), "empty-images", &idx(0x08, &[0, 28, 28], &[]));
    let arr = read_idx(&empty).unwrap();
    assert_eq!(arr.dims, vec![0, 28, 28]);
    assert!(arr.data.is_empty());
    // ... but not a usable image set.
    let labels = write(tmp.path(), "empty-labels", &idx(0x08, &[0], &[]));
    let err = LabeledImages::from_files(&empty, &labels, None).unwrap_err();
    assert_corrupt(err, &empty, "no image");
    let flat = write(tmp.path(), "flat-images", &idx(0x08, &[2, 0, 28], &[]));
    let two = write(tmp.path(), "two-labels", &idx(0x08, &[2], &[1, 2]));
    let err = LabeledImages::from_files(&flat, &two, None).unwrap_err();
    assert_corrupt(err, &flat, "0x28");
}

#[test]
fn images_and_labels_must_have_the_right_rank() {
    let tmp = tempfile::tempdir().unwrap();
    let labels = write(tmp.path(), "labels", &idx(0x08, &[2], &[1, 2]));
    let images = write(tmp.path(), "images", &idx(0x08, &[2, 1, 2], &[1, 2, 3, 4]));
    let err = LabeledImages::from_files(&labels, &labels, None).unwrap_err();
    assert_corrupt(err, &labels, "3 dimensions");
    let err = LabeledImages::from_files(&images, &images, None).unwrap_err();
    assert_corrupt(err, &images, "1 dimension");
    let ok = LabeledImages::from_files(&images, &labels, None).unwrap();
    assert_eq!(
        (ok.len(), ok.image_rows(), ok.image_cols(), ok.classes()),
        (2, 1, 2, 3)
    );
}

/// Copies the real MNIST files into a fresh folder, replacing `name` (without `.gz`) with `bytes`.
fn mnist_copy_with(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = mnist_dir();
    for f in feedforward::data::mnist::FILE_NAMES {
        if f == name {
            continue;
        }
        let gz = format!("{f}.gz");
        if dir.join(&gz).is_file() {
            fs::copy(dir.join(&gz), tmp.path().join(&gz)).unwrap();
        } else {
            fs::copy(dir.join(f), tmp.path().join(f)).unwrap();
        }
    }
    let path = write(tmp.path(), name, bytes);
    (tmp, path)
}

#[test]
fn image_and_label_counts_must_agree() {
    // 9999 test labels for 10000 test images.
    let mut labels = real_content("t10k-labels-idx1-ubyte");
    labels.truncate(8 + 9999);
    labels[4..8].copy_from_slice(&9999u32.to_be_bytes());
    let (tmp, path) = mnist_copy_with("t10k-labels-idx1-ubyte", &labels);
    let err = Mnist::load(tmp.path()).unwrap_err();
    let msg = err.to_string();
    assert_corrupt(err, &path, "9999 labels");
    let images = tmp.path().join("t10k-images-idx3-ubyte.gz");
    let images = if images.is_file() {
        images
    } else {
        tmp.path().join("t10k-images-idx3-ubyte")
    };
    assert!(
        msg.contains(&images.display().to_string()),
        "does not name the images file: {msg}"
    );
}

#[test]
fn label_out_of_range() {
    let mut labels = real_content("t10k-labels-idx1-ubyte");
    labels[8 + 123] = 10;
    let (tmp, path) = mnist_copy_with("t10k-labels-idx1-ubyte", &labels);
    // With 10 classes imposed, label 10 is an error naming the file and the row...
    let err = Mnist::load_with_classes(tmp.path(), 10).unwrap_err();
    assert_corrupt(err, &path, "label 10 at row 123");
    // ... without, the class count grows to 11 for both sets (an MNIST-format set of 11 classes).
    let m = Mnist::load(tmp.path()).unwrap();
    assert_eq!(m.test.classes(), 11);
    assert_eq!(m.train.classes(), 11);
    // In memory, imposing a class count reports the label.
    let err = m.test.with_classes(10).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LabelOutOfRange {
                label: 10,
                row: 123,
                classes: 10
            }
        ),
        "{err:?}"
    );
}

#[test]
fn train_and_test_image_sizes_must_agree() {
    let images = idx(0x08, &[2, 2, 2], &[0; 8]);
    let (tmp, path) = mnist_copy_with("t10k-images-idx3-ubyte", &images);
    let labels = write(
        tmp.path(),
        "t10k-labels-idx1-ubyte",
        &idx(0x08, &[2], &[3, 4]),
    );
    let _ = fs::remove_file(tmp.path().join("t10k-labels-idx1-ubyte.gz"));
    assert!(labels.is_file());
    let err = Mnist::load(tmp.path()).unwrap_err();
    assert_corrupt(err, &path, "2x2 pixels");
}

#[test]
fn missing_mnist_files_are_all_listed_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "t10k-labels-idx1-ubyte", &idx(0x08, &[1], &[0]));
    let err = Mnist::load(tmp.path()).unwrap_err();
    let msg = err.to_string();
    match &err {
        Error::MissingData { dir, missing, .. } => {
            assert_eq!(dir, tmp.path());
            for f in [
                "train-images-idx3-ubyte",
                "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte",
            ] {
                assert!(missing.contains(f), "{msg}");
            }
            assert!(!missing.contains("t10k-labels"), "{msg}");
        }
        other => panic!("expected MissingData, got {other:?}"),
    }
    assert!(
        msg.contains("--data-dir") && msg.contains("MNIST_DIR"),
        "{msg}"
    );
    assert!(msg.contains(&tmp.path().display().to_string()), "{msg}");
}
