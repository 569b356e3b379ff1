//! Files replaced atomically: a crash, a full disk or any error leaves either the previous file
//! or the new one, never a mix, and no temporary file behind.
//!
//! Every on-disk format the crate writes ([`Sequential::save`](crate::Sequential::save)'s
//! safetensors checkpoints, ONNX exports) goes through [`write_atomically`]: the bytes go to a
//! uniquely named temporary file in the target's folder (so the rename cannot cross file
//! systems), which is flushed to disk (`sync_all`) and renamed over the target; the folder is
//! then synced (on Unix) so that the rename survives a power cut. The usual write-then-rename recipe
//! (Git's lock files work the same way).

use crate::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary files of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file, removed when dropped unless kept.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            // It may be gone already; nothing else to do about a failure here.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Replaces the file at `path` with `bytes` atomically (see the [module documentation](self)).
///
/// # Errors
/// [`Error::Io`] naming the file or folder when the temporary file cannot be created,
/// written, flushed or renamed (the previous file is then untouched), or when the folder
/// cannot be synced after the rename (the new file is then in place).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, bytes, |file, bytes| file.write_all(bytes))
}

/// [`write_atomically`], with `write` filling the temporary file (tests inject failures here).
fn write_atomically_with(
    path: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut File, &[u8]) -> io::Result<()>,
) -> Result<()> {
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            "writing",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"),
        )
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // A unique name in the same folder (so that the rename cannot cross file systems),
    // created exclusively: a leftover of a crashed run is never reused.
    let (mut file, mut temp) = loop {
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(
            ".{}-{}.tmp",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let temp_path = dir.join(temp_name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)
        {
            Ok(file) => {
                let guard = TempFile {
                    path: temp_path,
                    keep: false,
                };
                break (file, guard);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("creating a temporary file in", dir, e)),
        }
    };
    write(&mut file, bytes)
        .and_then(|()| file.flush())
        .map_err(|e| Error::io("writing", &temp.path, e))?;
    file.sync_all()
        .map_err(|e| Error::io("flushing to disk", &temp.path, e))?;
    drop(file);
    fs::rename(&temp.path, path).map_err(|e| Error::io("renaming into place", path, e))?;
    temp.keep = true;
    sync_folder(dir)
}

/// Makes a rename in `dir` durable (Unix); file systems that cannot sync a folder are let be.
fn sync_folder(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let synced = File::open(dir).and_then(|d| d.sync_all());
        match synced {
            Err(e)
                if !matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                ) =>
            {
                return Err(Error::io(
                    "syncing the folder (the new file is in place, but may not survive a power \
                     cut)",
                    dir,
                    e,
                ))
            }
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_failing_midway_leaves_the_previous_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        fs::write(&path, b"previous checkpoint").unwrap();
        let err = write_atomically_with(&path, b"new checkpoint, longer", |file, bytes| {
            file.write_all(&bytes[..5])?;
            Err(io::Error::new(io::ErrorKind::StorageFull, "no space left"))
        })
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    action: "writing",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"previous checkpoint");
        assert_eq!(files_in(dir.path()), ["model.safetensors"]);
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(files_in(dir.path()), ["model.safetensors"]);
    }

    #[test]
    fn a_leftover_temporary_file_is_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let next = TEMP_COUNTER.load(Ordering::Relaxed);
        // Leftovers with the next names this process would pick.
        for k in next..next + 3 {
            let leftover = dir
                .path()
                .join(format!(".m.safetensors.{}-{k}.tmp", std::process::id()));
            fs::write(leftover, b"leftover").unwrap();
        }
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }
}
