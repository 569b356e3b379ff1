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
/// SHA-256 is `expected_sha256` (see [`content_sha256`]), into `dest_dir`, and returns the file's
/// path.
///
/// `dest_dir` (and any missing parent) is created only once a mirror answers, and removed again
/// if the download fails and leaves it empty, so a failed attempt leaves no trace. Each attempt
/// streams to a uniquely named temporary file in `dest_dir`, which is renamed into place (after
/// `fsync`) only once its content is verified and deleted otherwise, so `dest_dir` never holds a
/// partial or wrong file. When every mirror fails, the [`Error::Download`] lists each mirror's
/// reason once. Local failures (the folder cannot be created or written) give [`Error::Io`] at
/// once. Without the `download` feature this returns [`Error::MissingData`].
pub fn download_file(
    mirrors: &[&str],
    name: &str,
    expected_sha256: &str,
    dest_dir: &Path,
    progress: &mut dyn FnMut(DownloadEvent),
) -> Result<PathBuf> {
    match download_all(mirrors, &[(name, expected_sha256)], dest_dir, progress)? {
        Ok(mut paths) => Ok(paths.remove(0)),
        Err(failure) => Err(Error::Download {
            file: name.to_string(),
            reason: format!(
                "every mirror failed ({}); check the network connection, or download the file \
                 yourself into {}",
                failure.reasons.join("; "),
                dest_dir.display()
            ),
        }),
    }
}

/// What went wrong when some files could not be downloaded from any mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DownloadFailure {
    /// The files that are still missing, in the order asked.
    pub(crate) files: Vec<String>,
    /// Each failure once, `URL: reason`: a mirror that did not answer at all is named once and
    /// not tried again for the other files.
    pub(crate) reasons: Vec<String>,
}

/// Downloads each of `files` (name, expected content SHA-256) into `dest_dir` as
/// [`download_file`] does one, and returns their paths in order.
///
/// Every file is tried, so that the failure names all the files still missing at once; a mirror
/// that does not answer (no connection, unknown host, TLS failure, time-out) is not asked again for
/// the next files. The outer `Err` is a local failure (the folder cannot be created or written),
/// the inner `Err` the files that no mirror served. Folders this call created are removed when it
/// leaves them empty.
pub(crate) fn download_all(
    mirrors: &[&str],
    files: &[(&str, &str)],
    dest_dir: &Path,
    progress: &mut dyn FnMut(DownloadEvent),
) -> Result<std::result::Result<Vec<PathBuf>, DownloadFailure>> {
    imp::download_all(mirrors, files, dest_dir, progress)
}

/// `dir`, created with its missing parents on the first [`ensure`](Self::ensure), and removed
/// again (with the parents this created) by [`remove_if_empty`](Self::remove_if_empty).
#[cfg_attr(not(feature = "download"), allow(dead_code))]
struct LazyDir<'a> {
    dir: &'a Path,
    /// The folders this created, innermost first.
    created: Vec<PathBuf>,
}

#[cfg_attr(not(feature = "download"), allow(dead_code))]
impl<'a> LazyDir<'a> {
    fn new(dir: &'a Path) -> Self {
        LazyDir {
            dir,
            created: Vec::new(),
        }
    }

    /// Creates the folder and its missing parents, remembering which ones this created.
    fn ensure(&mut self) -> Result<()> {
        if self.dir.is_dir() {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut cur = Some(self.dir);
        while let Some(dir) = cur.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            missing.push(dir.to_path_buf());
            cur = dir.parent();
        }
        std::fs::create_dir_all(self.dir).map_err(|e| Error::io("creating folder", self.dir, e))?;
        self.created.extend(missing);
        Ok(())
    }

    /// Removes the folders this created, innermost first, as long as they are empty.
    fn remove_if_empty(&mut self) {
        for dir in self.created.drain(..) {
            // Fails (and stops) at the first folder that holds something: keep it.
            if std::fs::remove_dir(&dir).is_err() {
                break;
            }
        }
    }
}

#[cfg(feature = "download")]
mod imp {
    use std::fs::{self, File, OpenOptions};
    use std::io::{self, Read, Write};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::{
        content_sha256, join_url, DownloadEvent, DownloadFailure, LazyDir, MAX_FILE_BYTES,
    };
    use crate::{Error, Result};

    /// Why an attempt failed: the mirror's fault (try the next one) or ours (stop).
    enum Failure {
        /// The mirror could not serve this file. `unreachable`: it did not answer at all, so
        /// asking it for another file is pointless.
        Mirror {
            reason: String,
            unreachable: bool,
        },
        Local(Error),
    }

    impl Failure {
        /// The mirror answered but could not serve this file.
        fn file(reason: String) -> Self {
            Failure::Mirror {
                reason,
                unreachable: false,
            }
        }
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

    pub(super) fn download_all(
        mirrors: &[&str],
        files: &[(&str, &str)],
        dest_dir: &Path,
        progress: &mut dyn FnMut(DownloadEvent),
    ) -> Result<std::result::Result<Vec<PathBuf>, DownloadFailure>> {
        for (name, _) in files {
            if name.is_empty() || name.contains(['/', '\\']) || *name == "." || *name == ".." {
                return Err(Error::config(
                    "file name",
                    name,
                    "a plain file name without a folder",
                ));
            }
        }
        if mirrors.is_empty() {
            return Err(Error::Download {
                file: files
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: "no mirror to download from: give at least one base URL".to_string(),
            });
        }
        let mut dir = LazyDir::new(dest_dir);
        let agent = agent();
        let mut unreachable = vec![false; mirrors.len()];
        let mut paths = Vec::with_capacity(files.len());
        let mut failure = DownloadFailure {
            files: Vec::new(),
            reasons: Vec::new(),
        };
        for &(name, expected_sha256) in files {
            match download_one(
                &agent,
                mirrors,
                &mut unreachable,
                name,
                expected_sha256,
                &mut dir,
                &mut failure.reasons,
                progress,
            ) {
                Ok(Some(path)) => paths.push(path),
                Ok(None) => failure.files.push(name.to_string()),
                Err(e) => {
                    dir.remove_if_empty();
                    return Err(e);
                }
            }
        }
        if failure.files.is_empty() {
            Ok(Ok(paths))
        } else {
            dir.remove_if_empty();
            Ok(Err(failure))
        }
    }

    /// Tries each mirror not yet found unreachable for `name`; `Ok(None)` when none served it
    /// (each failure appended to `reasons`, and announced through `progress`).
    #[allow(clippy::too_many_arguments)]
    fn download_one(
        agent: &ureq::Agent,
        mirrors: &[&str],
        unreachable: &mut [bool],
        name: &str,
        expected_sha256: &str,
        dir: &mut LazyDir<'_>,
        reasons: &mut Vec<String>,
        progress: &mut dyn FnMut(DownloadEvent),
    ) -> Result<Option<PathBuf>> {
        let dest = dir.dir.join(name);
        for (mirror, dead) in mirrors.iter().zip(unreachable.iter_mut()) {
            if *dead {
                continue;
            }
            let url = join_url(mirror, name);
            let tmp = dir.dir.join(format!(
                ".{name}.tmp-{}-{}",
                std::process::id(),
                TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let attempt = fetch(agent, &url, name, expected_sha256, dir, &tmp, progress)
                .and_then(|()| place(&tmp, &dest, dir.dir).map_err(Failure::Local));
            match attempt {
                Ok(()) => {
                    progress(DownloadEvent::Finished {
                        file: name.to_string(),
                    });
                    return Ok(Some(dest));
                }
                Err(failure) => {
                    // The temporary file may not exist (the request failed first): ignore that.
                    let _ = fs::remove_file(&tmp);
                    match failure {
                        Failure::Local(e) => return Err(e),
                        Failure::Mirror {
                            reason,
                            unreachable,
                        } => {
                            progress(DownloadEvent::MirrorFailed {
                                file: name.to_string(),
                                url: url.clone(),
                                reason: reason.clone(),
                            });
                            if unreachable {
                                *dead = true;
                                reasons.push(format!("{mirror}: {reason}"));
                            } else {
                                reasons.push(format!("{url}: {reason}"));
                            }
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// Fetches `url` into the new file `tmp` (creating its folder once the mirror answers) and
    /// checks its content hash.
    fn fetch(
        agent: &ureq::Agent,
        url: &str,
        name: &str,
        expected_sha256: &str,
        dir: &mut LazyDir<'_>,
        tmp: &Path,
        progress: &mut dyn FnMut(DownloadEvent),
    ) -> std::result::Result<(), Failure> {
        let response = agent.get(url).call().map_err(|e| Failure::Mirror {
            // An HTTP status (404, 403, ...) concerns this file; anything else (no connection,
            // unknown host, TLS, time-out) means the mirror is out of reach.
            unreachable: !matches!(e, ureq::Error::StatusCode(_)),
            reason: e.to_string(),
        })?;
        let total_bytes = response.body().content_length();
        if let Some(total) = total_bytes.filter(|&t| t > MAX_FILE_BYTES) {
            return Err(Failure::file(format!(
                "the server announces {total} bytes, more than the {MAX_FILE_BYTES} accepted"
            )));
        }
        dir.ensure().map_err(Failure::Local)?;
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
                    return Err(Failure::file(format!(
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
                Failure::file(format!("the downloaded file is not valid: {reason}"))
            }
            other => Failure::Local(other),
        })?;
        if !actual.eq_ignore_ascii_case(expected_sha256) {
            return Err(Failure::file(format!(
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

    use super::{join_url, DownloadEvent, DownloadFailure};
    use crate::{Error, Result};

    pub(super) fn download_all(
        mirrors: &[&str],
        files: &[(&str, &str)],
        dest_dir: &Path,
        _progress: &mut dyn FnMut(DownloadEvent),
    ) -> Result<std::result::Result<Vec<PathBuf>, DownloadFailure>> {
        let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
        let source = match (mirrors.first(), names.as_slice()) {
            (Some(m), [name]) => join_url(m, name),
            (Some(m), _) => m.to_string(),
            (None, _) => "a mirror".to_string(),
        };
        Err(Error::MissingData {
            what: names.join(", "),
            dir: dest_dir.to_path_buf(),
            missing: names.join(", "),
            hint: format!(
                "This build of feedforward has no `download` feature: enable it (it is on by \
                 default), or download {source} into that folder yourself"
            ),
        })
    }
}
