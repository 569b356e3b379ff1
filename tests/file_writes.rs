//! How the crate's files are written (issue 22, part 3): through symbolic links to the file
//! they point to, with names of up to 255 bytes, and without leaving the temporary files of
//! killed writers behind forever. Every format goes through the same atomic write
//! (`io/atomic_write.rs`): model files (`save`) and training checkpoints are checked here.

use feedforward::data::InMemory;
use feedforward::io::TrainingCheckpoint;
use feedforward::prelude::*;
use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, SystemTime};

fn model() -> Sequential {
    Sequential::builder(2)
        .seed(1)
        .dense(3, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap()
}

fn data() -> InMemory {
    let x = RandomState::new(2).randn(12, 2).unwrap();
    let labels: Vec<usize> = (0..12).map(|i| i % 3).collect();
    InMemory::classification(x, &labels, 3).unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_is_followed_to_the_file_it_points_to() {
    let dir = tempfile::tempdir().unwrap();
    let persistent = dir.path().join("persistent");
    fs::create_dir(&persistent).unwrap();
    // run.ckpt -> persistent/run.ckpt (not there yet), and a relative link for save
    let link = dir.path().join("run.ckpt");
    std::os::unix::fs::symlink(persistent.join("run.ckpt"), &link).unwrap();
    let data = data();
    let fit = |epochs: usize| {
        let config = FitConfig::new(epochs).batch_size(4).checkpoint(&link);
        model()
            .fit(&data, &CrossEntropy, &mut Sgd::new(0.1).unwrap(), &config)
            .unwrap()
    };
    fit(1);
    fit(3);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let target = TrainingCheckpoint::read(persistent.join("run.ckpt")).unwrap();
    assert_eq!(target.epochs_done(), 3);
    // the temporary files went beside the target, and are gone
    assert_eq!(names_in(&persistent), ["run.ckpt"]);
    assert_eq!(names_in(dir.path()), ["persistent", "run.ckpt"]);

    let saved = dir.path().join("model.safetensors");
    std::os::unix::fs::symlink("persistent/model.safetensors", &saved).unwrap();
    let mut m = model();
    m.save(&saved).unwrap();
    m.fit(
        &data,
        &CrossEntropy,
        &mut Sgd::new(0.5).unwrap(),
        &FitConfig::new(2),
    )
    .unwrap();
    m.save(&saved).unwrap();
    assert!(fs::symlink_metadata(&saved)
        .unwrap()
        .file_type()
        .is_symlink());
    let loaded = Sequential::load(persistent.join("model.safetensors")).unwrap();
    assert_eq!(loaded.parameters(), m.parameters());
}

#[test]
fn a_name_of_250_or_255_bytes_can_be_saved() {
    let dir = tempfile::tempdir().unwrap();
    for length in [250, 255] {
        let name = format!("{}.safetensors", "m".repeat(length - ".safetensors".len()));
        let path = dir.path().join(&name);
        let m = model();
        m.save(&path).unwrap();
        assert_eq!(
            Sequential::load(&path).unwrap().parameters(),
            m.parameters()
        );
        let checkpoint = dir.path().join(format!("{}.ckpt", "c".repeat(length - 5)));
        let config = FitConfig::new(1).batch_size(4).checkpoint(&checkpoint);
        model()
            .fit(&data(), &CrossEntropy, &mut Sgd::new(0.1).unwrap(), &config)
            .unwrap();
        assert_eq!(
            TrainingCheckpoint::read(&checkpoint).unwrap().epochs_done(),
            1
        );
    }
    assert_eq!(names_in(dir.path()).len(), 4, "no temporary file left");
}

/// A process id that was alive a moment ago and is not any more.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn file_aged(path: &Path, age: Duration) {
    let file = File::create(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn the_leftovers_of_killed_writers_are_removed_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let (dead, alive) = (dead_pid(), std::process::id());
    let old = Duration::from_secs(120);
    let leftover = format!(".m.safetensors.{dead}-0.tmp");
    let kept = [
        // a dead writer's, but written seconds ago
        (format!(".m.safetensors.{dead}-1.tmp"), Duration::ZERO),
        // a live process's (this one's)
        (format!(".m.safetensors.{alive}-999999.tmp"), old),
        // another file's
        (format!(".other.safetensors.{dead}-0.tmp"), old),
        // not of the form .NAME.PID-N.tmp
        (format!(".m.safetensors.{dead}-x.tmp"), old),
        (format!("m.safetensors.{dead}-0.tmp"), old),
        ("notes.txt".to_string(), old),
    ];
    file_aged(&dir.path().join(&leftover), old);
    for (name, age) in &kept {
        file_aged(&dir.path().join(name), *age);
    }
    model().save(&path).unwrap();
    let mut expected: Vec<String> = kept.iter().map(|(n, _)| n.clone()).collect();
    expected.push("m.safetensors".into());
    expected.sort();
    assert_eq!(names_in(dir.path()), expected);

    // The shortened temporary names of a long file name are recognised too.
    let long = format!("{}.ckpt", "l".repeat(245));
    let checkpoint = dir.path().join(&long);
    let config = FitConfig::new(1).batch_size(4).checkpoint(&checkpoint);
    model()
        .fit(&data(), &CrossEntropy, &mut Sgd::new(0.1).unwrap(), &config)
        .unwrap();
    let temporary: Vec<String> = names_in(dir.path())
        .into_iter()
        .filter(|n| n.starts_with(".lll") && n.ends_with(".tmp"))
        .collect();
    assert!(temporary.is_empty(), "{temporary:?}");
    // A leftover under the shortened name (`.PREFIX~HASH.PID-N.tmp`: the name's first 160
    // bytes and 16 hex digits of its SHA-256), as a killed writer of that file leaves it.
    let shortened = {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(long.as_bytes());
        let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!(".{}~{hash}.{dead}-3.tmp", &long[..160])
    };
    assert!(shortened.len() <= 255);
    file_aged(&dir.path().join(&shortened), old);
    let config = FitConfig::new(2).batch_size(4).checkpoint(&checkpoint);
    model()
        .fit(&data(), &CrossEntropy, &mut Sgd::new(0.1).unwrap(), &config)
        .unwrap();
    assert!(!dir.path().join(&shortened).exists());
}
