//! Helpers shared by the integration tests: where the repository's data is, and the example
//! binaries.
//!
//! Each test file uses only some of them.
#![allow(dead_code)]

use feedforward::data::mnist::MnistLookup;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The repository's root, where `Cargo.toml` is.
pub fn repository_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the repository's `reference/` folder (the tutorial's traces and the numpy code
/// that printed them, see `reference/README.md`); panics (never skips) when it is missing.
pub fn reference_file(name: &str) -> PathBuf {
    let path = repository_dir().join("reference").join(name);
    assert!(
        path.is_file(),
        "the reference file {} is missing: it is part of the repository",
        path.display()
    );
    path
}

/// The folder holding the real MNIST files: `MNIST_DIR` when set, else the repository's
/// `data/mnist`, found as the examples find them (`MnistLookup`) but never in the user's cache
/// and never downloaded. Panics (never skips) when the files are not there.
pub fn mnist_dir() -> PathBuf {
    let lookup = MnistLookup::new()
        .bundled(repository_dir().join("data").join("mnist"))
        .cache_dir(None)
        .download(false);
    match lookup.find() {
        Ok(Some(found)) => found.dir,
        Ok(None) => panic!(
            "the real MNIST files are not in {}: they are part of the repository (or set \
             MNIST_DIR to a folder holding the four *-ubyte(.gz) files)",
            repository_dir().join("data/mnist").display()
        ),
        Err(e) => panic!("{e}"),
    }
}

/// The compiled example `name`, next to the running test: `target/<profile>/deps/<test>` ->
/// `target/<profile>/examples/<name>`. Plain `cargo test` builds the examples, but a filtered
/// run (`cargo test --test X`) does not: build it (or bring it up to date) with the cargo that
/// runs the tests, for the same profile and target directory, once per test binary.
pub fn example_binary(name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get_or_insert_with(HashMap::new).get(name) {
        return path.clone();
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target/<profile>");
    // `cargo test` builds into target/debug with the `test` profile, `cargo test --release` into
    // target/release with `release`, and a custom profile into its name.
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "test",
        Some(other) => other,
    };
    let mut cargo = Command::new(env!("CARGO"));
    // Without the variables cargo sets for this test: build scripts that read them (ring's
    // reads CARGO_MANIFEST_DIR) would otherwise rebuild on every other run.
    const SET_FOR_TESTS: [&str; 7] = [
        "CARGO_MANIFEST_",
        "CARGO_PKG_",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_BIN_",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    for (var, _) in std::env::vars_os() {
        let var = var.to_string_lossy();
        if SET_FOR_TESTS.iter().any(|prefix| var.starts_with(prefix)) {
            cargo.env_remove(var.as_ref());
        }
    }
    let status = cargo
        .args(["build", "--quiet", "--example", name, "--profile", profile])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --example {name} failed");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.is_file(), "{} is missing", binary.display());
    built
        .get_or_insert_with(HashMap::new)
        .insert(name.to_string(), binary.clone());
    binary
}
