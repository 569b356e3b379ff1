//! Downloading data files from mirrors, safely: verified content, atomic placement.
//!
//! [`download_file`] tries each mirror in turn, streams the body to a temporary file beside the
//! destination, checks the SHA-256 of the file's *content* (decompressed when it is gzip, because
//! mirrors recompress files and their `.gz` bytes differ) and only then renames it into place.
//! On any failure the temporary file is deleted and the next mirror is tried, so the destination
//! folder never holds a partial or unverified file. Progress is reported through
//! [`DownloadEvent`]s, so a program can draw a progress bar without this crate depending on one.
//!
//! The network part needs the `download` cargo feature (on by default); without it,
//! [`download_file`] returns [`Error::MissingData`] saying how to get the file by hand.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Mirrors of the MNIST files, tried in order: the one torchvision uses, then the one TensorFlow
/// (and burn) use. `yann.lecun.com` refuses downloads, so it is not listed.
pub const MNIST_MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// A file to fetch from a mirror and the SHA-256 of its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFile {
    /// The file's name on the mirrors and on disk, e.g. `train-images-idx3-ubyte.gz`.
    pub name: &'static str,
    /// Lower-case hex SHA-256 of the file's content, decompressed when the file is gzip.
    pub sha256: &'static str,
}

/// The four MNIST files, with the SHA-256 of their decompressed content.
pub const MNIST_FILES: [RemoteFile; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// The most bytes accepted from a mirror, and the most content bytes hashed, for one file
/// (MNIST's largest file is 47 MB decompressed).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// What [`download_file`] is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadEvent {
    /// A mirror answered and the body is being received.
    Started {
        /// The file's name.
        file: String,
        /// The URL being fetched.
        url: String,
        /// The body's size when the server announced it.
        total_bytes: Option<u64>,
    },
    /// More of the body has been received.
    Progress {
        /// The file's name.
        file: String,
        /// Bytes received so far from this mirror (cumulative).
        bytes: u64,
    },
    /// The file was received, verified and put in place.
    Finished {
        /// The file's name.
        file: String,
    },
    /// A mirror failed; the next one (if any) is tried.
    MirrorFailed {
        /// The file's name.
        file: String,
        /// The URL that failed.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// Lower-case hexadecimal of `bytes`.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Hashes everything `reader` yields, up to `limit` bytes; `Ok(None)` when there is more.
fn sha256_of(mut reader: impl Read, limit: u64) -> io::Result<Option<String>> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        if total > limit {
            return Ok(None);
        }
        hasher.update(&buf[..n]);
    }
    Ok(Some(to_hex(&hasher.finalize())))
}

/// The SHA-256 (lower-case hex) of the content of the file at `path`: of its decompressed bytes
/// when it starts with the gzip magic `1f 8b`, of its bytes otherwise.
///
/// Fails with [`Error::Io`] when the file cannot be read and [`Error::CorruptFile`] when its
/// gzip stream is corrupt or its content exceeds [`MAX_FILE_BYTES`].
pub fn content_sha256(path: &Path) -> Result<String> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match reader.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("reading", path, e)),
        }
    }
    let prefix = io::Cursor::new(magic[..got].to_vec());
    let too_big = || {
        Error::corrupt(
            path,
            format!("the content is larger than {MAX_FILE_BYTES} bytes, too large for a data file"),
        )
    };
    if got == 2 && magic == [0x1f, 0x8b] {
        sha256_of(MultiGzDecoder::new(prefix.chain(reader)), MAX_FILE_BYTES)
            .map_err(|e| {
                Error::corrupt(
                    path,
                    format!("the gzip stream is corrupt ({e}); download the file again"),
                )
            })?
            .ok_or_else(too_big)
    } else {
        sha256_of(prefix.chain(reader), MAX_FILE_BYTES)
            .map_err(|e| Error::io("reading", path, e))?
            .ok_or_else(too_big)
    }
}

/// `mirror` and `name` joined with exactly one `/`.
fn join_url(mirror: &str, name: &str) -> String {
    format!("{}/{}", mirror.trim_end_matches('/'), name)
}

/// Downloads `name` from the first of `mirrors` (base URLs) that serves it with content whose
/// SHA-256 is `expected_sha256` (see [`content_sha256`]), into `dest_dir` (created if need be),
/// and returns the file's path.
///
/// Each attempt streams to a uniquely named temporary file in `dest_dir`, which is renamed into
/// place (after `fsync`) only once its content is verified and deleted otherwise, so `dest_dir`
/// never holds a partial or wrong file. When every mirror fails, the [`Error::Download`] lists
/// each mirror's reason. Local failures (the folder cannot be created or written) give
/// [`Error::Io`] at once. Without the `download` feature this returns [`Error::MissingData`].
pub fn download_file(
    mirrors: &[&str],
    name: &str,
    expected_sha256: &str,
    dest_dir: &Path,
    progress: &mut dyn FnMut(DownloadEvent),
) -> Result<PathBuf> {
    imp::download_file(mirrors, name, expected_sha256, dest_dir, progress)
}

#[cfg(feature = "download")]
mod imp {
    use std::fs::{self, File, OpenOptions};
    use std::io::{self, Read, Write};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::{content_sha256, join_url, DownloadEvent, MAX_FILE_BYTES};
    use crate::{Error, Result};

    /// Why an attempt failed: the mirror's fault (try the next one) or ours (stop).
    enum Failure {
        Mirror(String),
        Local(Error),
    }

    /// Bytes between two [`DownloadEvent::Progress`] events.
    const PROGRESS_STEP: u64 = 1 << 18;

    /// Distinguishes temporary files made by one process.
    static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

    /// The HTTP client: bounded connection and stall times, but no limit on a whole (possibly
    /// slow) download.
    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("feedforward/", env!("CARGO_PKG_VERSION")))
            .build()
            .into()
    }

    pub(super) fn download_file(
        mirrors: &[&str],
        name: &str,
        expected_sha256: &str,
        dest_dir: &Path,
        progress: &mut dyn FnMut(DownloadEvent),
    ) -> Result<PathBuf> {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(Error::config(
                "file name",
                name,
                "a plain file name without a folder",
            ));
        }
        if mirrors.is_empty() {
            return Err(Error::Download {
                file: name.to_string(),
                reason: "no mirror to download from: give at least one base URL".to_string(),
            });
        }
        fs::create_dir_all(dest_dir).map_err(|e| Error::io("creating folder", dest_dir, e))?;
        let dest = dest_dir.join(name);
        let agent = agent();
        let mut reasons = Vec::new();
        for mirror in mirrors {
            let url = join_url(mirror, name);
            let tmp = dest_dir.join(format!(
                ".{name}.tmp-{}-{}",
                std::process::id(),
                TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let attempt = fetch(&agent, &url, name, expected_sha256, &tmp, progress)
                .and_then(|()| place(&tmp, &dest, dest_dir).map_err(Failure::Local));
            match attempt {
                Ok(()) => {
                    progress(DownloadEvent::Finished {
                        file: name.to_string(),
                    });
                    return Ok(dest);
                }
                Err(failure) => {
                    // The temporary file may not exist (the request failed first): ignore that.
                    let _ = fs::remove_file(&tmp);
                    match failure {
                        Failure::Local(e) => return Err(e),
                        Failure::Mirror(reason) => {
                            progress(DownloadEvent::MirrorFailed {
                                file: name.to_string(),
                                url: url.clone(),
                                reason: reason.clone(),
                            });
                            reasons.push(format!("{url}: {reason}"));
                        }
                    }
                }
            }
        }
        Err(Error::Download {
            file: name.to_string(),
            reason: format!(
                "every mirror failed ({}); check the network connection, or download the file \
                 yourself into {}",
                reasons.join("; "),
                dest_dir.display()
            ),
        })
    }

    /// Fetches `url` into the new file `tmp` and checks its content hash.
    fn fetch(
        agent: &ureq::Agent,
        url: &str,
        name: &str,
        expected_sha256: &str,
        tmp: &Path,
        progress: &mut dyn FnMut(DownloadEvent),
    ) -> std::result::Result<(), Failure> {
        let response = agent
            .get(url)
            .call()
            .map_err(|e| Failure::Mirror(e.to_string()))?;
        let total_bytes = response.body().content_length();
        if let Some(total) = total_bytes.filter(|&t| t > MAX_FILE_BYTES) {
            return Err(Failure::Mirror(format!(
                "the server announces {total} bytes, more than the {MAX_FILE_BYTES} accepted"
            )));
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)
            .map_err(|e| Failure::Local(Error::io("creating", tmp, e)))?;
        progress(DownloadEvent::Started {
            file: name.to_string(),
            url: url.to_string(),
            total_bytes,
        });
        let mut body = response
            .into_body()
            .into_with_config()
            .limit(MAX_FILE_BYTES)
            .reader();
        let mut buf = vec![0u8; 1 << 16];
        let mut received = 0u64;
        let mut reported = 0u64;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Failure::Mirror(format!(
                        "the transfer failed after {received} bytes: {e}"
                    )))
                }
            };
            file.write_all(&buf[..n])
                .map_err(|e| Failure::Local(Error::io("writing", tmp, e)))?;
            received += n as u64;
            if received - reported >= PROGRESS_STEP {
                reported = received;
                progress(DownloadEvent::Progress {
                    file: name.to_string(),
                    bytes: received,
                });
            }
        }
        if received != reported {
            progress(DownloadEvent::Progress {
                file: name.to_string(),
                bytes: received,
            });
        }
        file.sync_all()
            .map_err(|e| Failure::Local(Error::io("flushing", tmp, e)))?;
        drop(file);
        let actual = content_sha256(tmp).map_err(|e| match e {
            Error::CorruptFile { reason, .. } => {
                Failure::Mirror(format!("the downloaded file is not valid: {reason}"))
            }
            other => Failure::Local(other),
        })?;
        if !actual.eq_ignore_ascii_case(expected_sha256) {
            return Err(Failure::Mirror(format!(
                "the content's SHA-256 is {actual}, expected {expected_sha256}: the mirror serves \
                 a corrupt or different file"
            )));
        }
        Ok(())
    }

    /// Renames the verified `tmp` to `dest` and makes the rename durable.
    fn place(tmp: &Path, dest: &Path, dir: &Path) -> Result<()> {
        fs::rename(tmp, dest).map_err(|e| Error::io("renaming into place", dest, e))?;
        // Persist the directory entry too; not possible (nor needed) on every platform.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(not(feature = "download"))]
mod imp {
    use std::path::{Path, PathBuf};

    use super::{join_url, DownloadEvent};
    use crate::{Error, Result};

    pub(super) fn download_file(
        mirrors: &[&str],
        name: &str,
        _expected_sha256: &str,
        dest_dir: &Path,
        _progress: &mut dyn FnMut(DownloadEvent),
    ) -> Result<PathBuf> {
        let source = mirrors
            .first()
            .map_or_else(|| "a mirror".to_string(), |m| join_url(m, name));
        Err(Error::MissingData {
            what: name.to_string(),
            dir: dest_dir.to_path_buf(),
            missing: name.to_string(),
            hint: format!(
                "This build of feedforward has no `download` feature: enable it (it is on by \
                 default), or download {source} into that folder yourself"
            ),
        })
    }
}
