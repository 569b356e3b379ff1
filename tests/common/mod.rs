//! Helpers shared by the integration tests: where the shared data is, and the example binaries.
//!
//! Each test file uses only some of them.
#![allow(dead_code)]

use feedforward::data::mnist;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// `../shared` beside the crate: the tutorial's references and real MNIST.
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// A file of `../shared/reference`; panics (never skips) when it is missing.
pub fn reference_file(name: &str) -> PathBuf {
    let path = shared_dir().join("reference").join(name);
    assert!(
        path.is_file(),
        "the reference file {} is missing: the tests need ../shared beside the crate",
        path.display()
    );
    path
}

/// The folder holding the real MNIST files: `MNIST_DIR`, else `../shared/data/mnist`. Panics
/// (never skips) when the files are not there.
pub fn mnist_dir() -> PathBuf {
    let dir = match std::env::var_os("MNIST_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => shared_dir().join("data/mnist"),
    };
    let missing = mnist::missing_files(&dir);
    assert!(
        missing.is_empty(),
        "the real MNIST files {missing:?} are not in {}: set MNIST_DIR to the folder holding the \
         four *-ubyte(.gz) files (shared/data/mnist)",
        dir.display()
    );
    dir
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
