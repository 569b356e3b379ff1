//! Where MNIST is looked for, in order: the folder given (`--data-dir`), `MNIST_DIR`, a copy beside
//! the program (the repository's `data/mnist`), the cache, then a download (`tests/download.rs`
//! covers that last step on a loopback mirror). Folders here hold empty files named like the
//! MNIST files: the lookup only checks which files are there; loading is tested elsewhere.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use feedforward::data::download::{content_sha256, MNIST_FILES};
use feedforward::data::mnist::{MnistLookup, MnistSource, FILE_NAMES};
use feedforward::Error;

/// A folder `name` under `root` holding the MNIST files `names` (empty, `.gz` names).
fn folder(root: &Path, name: &str, names: &[&str]) -> PathBuf {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    for file in names {
        fs::write(dir.join(format!("{file}.gz")), b"").unwrap();
    }
    dir
}

/// A lookup that sees nothing of this machine: no `MNIST_DIR`, no cache, no download.
fn isolated() -> MnistLookup {
    MnistLookup::new()
        .env_dir(None)
        .cache_dir(None)
        .download(false)
}

fn found(lookup: &MnistLookup) -> (PathBuf, MnistSource) {
    let location = lookup
        .find()
        .expect("no error")
        .expect("a folder with the files");
    (location.dir, location.source)
}

#[test]
fn each_place_is_used_in_order() {
    let root = tempfile::tempdir().unwrap();
    let given = folder(root.path(), "given", &FILE_NAMES);
    let env = folder(root.path(), "env", &FILE_NAMES);
    let bundled = folder(root.path(), "bundled", &FILE_NAMES);
    let cache = folder(root.path(), "cache", &FILE_NAMES);
    let all = isolated()
        .data_dir(Some(&given))
        .env_dir(Some(&env))
        .bundled(&bundled)
        .cache_dir(Some(&cache));
    assert_eq!(found(&all), (given.clone(), MnistSource::DataDir));
    let all = all.data_dir(None);
    assert_eq!(found(&all), (env, MnistSource::EnvVar));
    let all = all.env_dir(None);
    assert_eq!(found(&all), (bundled, MnistSource::Bundled));
    let all = isolated().cache_dir(Some(&cache));
    assert_eq!(found(&all), (cache, MnistSource::Cache));
}

#[test]
fn an_incomplete_copy_or_cache_is_passed_over() {
    let root = tempfile::tempdir().unwrap();
    let partial = folder(root.path(), "partial", &FILE_NAMES[..3]);
    let complete = folder(root.path(), "complete", &FILE_NAMES);
    let lookup = isolated()
        .bundled(root.path().join("absent"))
        .bundled(&partial)
        .bundled(&complete);
    assert_eq!(found(&lookup), (complete.clone(), MnistSource::Bundled));

    let lookup = isolated().bundled(&partial).cache_dir(Some(&complete));
    assert_eq!(found(&lookup), (complete, MnistSource::Cache));
    let lookup = isolated().bundled(&partial).cache_dir(Some(&partial));
    assert_eq!(lookup.find().unwrap(), None);
}

#[test]
fn a_folder_the_user_chose_must_hold_every_file() {
    let root = tempfile::tempdir().unwrap();
    let partial = folder(root.path(), "partial", &FILE_NAMES[..1]);
    let complete = folder(root.path(), "complete", &FILE_NAMES);

    // --data-dir: no falling back on the copy that is there.
    let err = isolated()
        .data_dir(Some(&partial))
        .bundled(&complete)
        .find()
        .unwrap_err();
    let msg = err.to_string();
    match &err {
        Error::MissingData { dir, missing, .. } => {
            assert_eq!(dir, &partial);
            assert_eq!(
                missing,
                "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], \
                 t10k-labels-idx1-ubyte[.gz]"
            );
        }
        other => panic!("expected MissingData, got {other:?}"),
    }
    assert!(
        msg.contains("--data-dir") && msg.contains("MNIST_DIR"),
        "{msg}"
    );

    // MNIST_DIR: the same, and the message says where the folder came from.
    let err = isolated()
        .env_dir(Some(&partial))
        .bundled(&complete)
        .find()
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::MissingData { .. }), "{err:?}");
    assert!(
        msg.contains("MNIST_DIR") && msg.contains("--data-dir"),
        "{msg}"
    );
    assert!(msg.contains("t10k-labels-idx1-ubyte"), "{msg}");
}

#[test]
fn without_downloads_the_error_lists_every_file_and_both_ways_to_give_them() {
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    let copy = root.path().join("copy");
    let err = isolated()
        .bundled(&copy)
        .cache_dir(Some(&cache))
        .locate(&mut |e| panic!("unexpected download event {e:?}"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::MissingData { .. }), "{err:?}");
    for name in FILE_NAMES {
        assert!(msg.contains(name), "{name}: {msg}");
    }
    assert!(msg.contains(&copy.display().to_string()), "{msg}");
    assert!(
        msg.contains("--data-dir") && msg.contains("MNIST_DIR"),
        "{msg}"
    );
    assert!(!cache.exists(), "the cache folder was created");

    // No cache folder at all (no HOME): the same advice.
    let err = isolated().locate(&mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("--data-dir") && msg.contains("MNIST_DIR"),
        "{msg}"
    );
}

#[test]
fn the_repository_carries_the_standard_mnist_files() {
    // What a fresh clone finds without MNIST_DIR: data/mnist, with the standard content (the
    // hashes that the downloader checks and data/mnist/README.md lists).
    let dir = common::repository_dir().join("data").join("mnist");
    let lookup = isolated().bundled(&dir);
    assert_eq!(found(&lookup), (dir.clone(), MnistSource::Bundled));
    for file in MNIST_FILES {
        let sha = content_sha256(&dir.join(file.name)).unwrap();
        assert_eq!(sha, file.sha256, "{}", file.name);
    }
}
