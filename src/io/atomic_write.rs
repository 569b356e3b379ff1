//! Files replaced atomically: a crash, a full disk or any error leaves either the previous file
//! or the new one, never a mix, and no temporary file behind.
//!
//! Every on-disk format the crate writes ([`Sequential::save`](crate::Sequential::save)'s
//! safetensors checkpoints, training checkpoints, ONNX exports) goes through
//! [`write_atomically`]: the bytes go to a uniquely named temporary file in the target's folder
//! (so the rename cannot cross file systems), which is flushed to disk (`sync_all`) and renamed
//! over the target; the folder is then synced (on Unix) so that the rename survives a power
//! cut. The usual write-then-rename recipe (Git's lock files work the same way).
//!
//! - **Symbolic links.** A path that is a symbolic link (`run.ckpt -> /persistent/run.ckpt`,
//!   the usual way to keep checkpoints on a disk that outlives the machine) is followed to the
//!   file it points to ([`resolve_links`]), which is replaced, with the temporary file beside
//!   it; the link stays a link. A link to a file not yet there is followed too.
//! - **Temporary names.** `.NAME.PID-N.tmp` beside the target `NAME`, for the process `PID`
//!   and its `N`th write. A name too long for that (file names hold at most 255 bytes) is
//!   shortened: `.PREFIX~HASH.PID-N.tmp`, the first bytes of the name and 16 hex digits of its
//!   SHA-256, so that a 250-byte name can be saved, and a failure to create the temporary file
//!   says so rather than blaming the user's name.
//! - **Leftovers.** A writer killed between creating and renaming its temporary file (`kill
//!   -9`, a power cut) leaves it behind. After each successful write, the temporary files of
//!   the same target whose process is gone (on Linux: no `/proc/PID`) and that were last
//!   modified over a minute ago are removed. Nothing else is ever deleted: only names of the
//!   exact form above, for this target; a live process's file, or one of a process in another
//!   PID namespace still writing it, is left alone. Elsewhere than Linux, leftovers are kept.

use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Distinguishes the temporary files of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The longest file name most file systems take (Linux's `NAME_MAX`), in bytes.
const NAME_MAX: usize = 255;

/// Bytes kept of a too long target name in its temporary files' names: with the leading dot,
/// `~` and 16 hex digits, and `.PID-N.tmp` (at most 36 bytes), 214 bytes in all.
const KEPT_NAME_BYTES: usize = 160;

/// Links followed at most, as Linux's `ELOOP` limit.
const MAX_LINKS: usize = 40;

/// How long a leftover temporary file of a process that is gone must have stood untouched
/// before it is removed.
const LEFTOVER_AGE: Duration = Duration::from_secs(60);

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

/// The file `path` stands for: `path` itself, or, when it is a symbolic link, the file it
/// points to (through chains of links, relative ones resolved from the link's folder), which
/// need not exist yet.
///
/// # Errors
/// [`Error::Io`] when a link cannot be read, or after [`MAX_LINKS`] links (a loop).
pub(crate) fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current)
                    .map_err(|e| Error::io("reading the symbolic link", &current, e))?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::io(
        "following the symbolic links of",
        path,
        io::Error::other(format!("more than {MAX_LINKS} links (a loop?)")),
    ))
}

/// The folder of `path` (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The start of the temporary files' names for a target named `name`, up to the PID:
/// `.NAME.`, or `.PREFIX~HASH.` when `name` is too long for the temporary name to fit in
/// [`NAME_MAX`] bytes.
fn temp_prefix(name: &OsStr) -> OsString {
    let mut prefix = OsString::from(".");
    let bytes = name.as_encoded_bytes();
    if 1 + bytes.len() + 36 <= NAME_MAX {
        prefix.push(name);
    } else {
        let lossy = name.to_string_lossy();
        let mut end = KEPT_NAME_BYTES.min(lossy.len());
        while !lossy.is_char_boundary(end) {
            end -= 1;
        }
        let hash = Sha256::digest(bytes);
        let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        prefix.push(format!("{}~{hex}", &lossy[..end]));
    }
    prefix.push(".");
    prefix
}

/// Whether `file` (a name in the target's folder) is a temporary file of the target whose
/// temporary names start with `prefix`, and if so the PID that wrote it.
fn temp_pid(file: &OsStr, prefix: &OsStr) -> Option<u32> {
    let rest = file
        .as_encoded_bytes()
        .strip_prefix(prefix.as_encoded_bytes())?;
    let rest = std::str::from_utf8(rest).ok()?.strip_suffix(".tmp")?;
    let (pid, counter) = rest.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(pid) && digits(counter)) {
        return None;
    }
    pid.parse().ok()
}

/// Whether the process `pid` is running, when that can be told (Linux: `/proc/PID`).
fn process_alive(pid: u32) -> Option<bool> {
    if cfg!(target_os = "linux") && Path::new("/proc/self").exists() {
        Some(Path::new("/proc").join(pid.to_string()).exists())
    } else {
        None
    }
}

/// Removes, from `dir`, the temporary files of the target named `name` left by processes that
/// are gone and untouched for [`LEFTOVER_AGE`]; returns how many. Failures are ignored: this
/// is housekeeping, and the write it follows has succeeded.
fn remove_leftovers(dir: &Path, name: &OsStr) -> usize {
    let prefix = temp_prefix(name);
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let Some(pid) = temp_pid(&entry.file_name(), &prefix) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) != Some(false) {
            continue;
        }
        let stale = entry
            .metadata()
            .ok()
            .filter(|meta| meta.file_type().is_file())
            .and_then(|meta| meta.modified().ok())
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age >= LEFTOVER_AGE);
        if stale && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Replaces the file at `path` (or the file it links to) with `bytes` atomically (see the
/// [module documentation](self)).
///
/// # Errors
/// [`Error::Io`] naming the file or folder when the temporary file cannot be created,
/// written, flushed or renamed (the previous file is then untouched), or when the folder
/// cannot be synced after the rename (the new file is then in place).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, bytes, |file, bytes| file.write_all(bytes))
}

/// Creates a new temporary file beside `target` (already resolved), exclusively: a leftover
/// of a crashed run is never reused.
fn create_temp(target: &Path) -> Result<(File, TempFile)> {
    let name = target.file_name().ok_or_else(|| {
        Error::io(
            "writing",
            target,
            io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"),
        )
    })?;
    let dir = folder_of(target);
    let prefix = temp_prefix(name);
    loop {
        let mut temp_name = prefix.clone();
        temp_name.push(format!(
            "{}-{}.tmp",
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
                return Ok((file, guard));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::io(
                    "creating the temporary file (named by feedforward) to write",
                    target,
                    e,
                ))
            }
        }
    }
}

/// Checks, by creating and removing a temporary file beside it, that the file `path` stands
/// for (the file a symbolic link points to) could be replaced: its folder exists and is
/// writable. Training checkpoints check this before the first epoch.
///
/// # Errors
/// As [`write_atomically`] when the temporary file cannot be created.
pub(crate) fn check_writable(path: &Path) -> Result<()> {
    let target = resolve_links(path)?;
    let (file, temp) = create_temp(&target)?;
    drop(file);
    drop(temp);
    Ok(())
}

/// [`write_atomically`], with `write` filling the temporary file (tests inject failures here).
fn write_atomically_with(
    path: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut File, &[u8]) -> io::Result<()>,
) -> Result<()> {
    let target = resolve_links(path)?;
    let (mut file, mut temp) = create_temp(&target)?;
    let dir = folder_of(&target);
    write(&mut file, bytes)
        .and_then(|()| file.flush())
        .map_err(|e| Error::io("writing", &temp.path, e))?;
    file.sync_all()
        .map_err(|e| Error::io("flushing to disk", &temp.path, e))?;
    drop(file);
    fs::rename(&temp.path, &target).map_err(|e| Error::io("renaming into place", &target, e))?;
    temp.keep = true;
    if let Some(name) = target.file_name() {
        remove_leftovers(dir, name);
    }
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
