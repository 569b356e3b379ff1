//! Where the MNIST files are: a folder the user names, the `MNIST_DIR` environment variable, a
//! copy shipped beside the program, the user's cache folder, and at last a download into that
//! cache, in this order ([`MnistLookup`]).
//!
//! The items are re-exported by [`crate::data::mnist`], where they are documented.

use std::fmt;
use std::path::{Path, PathBuf};

use super::files::{missing_error, missing_files, user_folder_hint, Mnist, MNIST_DIR_VAR};
use crate::data::download::{self, DownloadEvent};
use crate::{Error, Result};

/// Where [`MnistLookup`] found the MNIST files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MnistSource {
    /// The folder given to [`MnistLookup::data_dir`] (an example's `--data-dir`).
    DataDir,
    /// The folder named by the `MNIST_DIR` environment variable (or [`MnistLookup::env_dir`]).
    EnvVar,
    /// A copy shipped beside the program ([`MnistLookup::bundled`]), e.g. a repository's
    /// `data/mnist`.
    Bundled,
    /// The cache folder, which already held the four files.
    Cache,
    /// The cache folder, after downloading the files that were missing.
    Downloaded,
}

impl fmt::Display for MnistSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MnistSource::DataDir => "the folder given",
            MnistSource::EnvVar => "the folder in MNIST_DIR",
            MnistSource::Bundled => "the copy beside the program",
            MnistSource::Cache => "the cache folder",
            MnistSource::Downloaded => "downloaded into the cache folder",
        })
    }
}

/// The folder that holds the four MNIST files, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistLocation {
    /// The folder; [`Mnist::load`] reads it.
    pub dir: PathBuf,
    /// Which of the places searched it is.
    pub source: MnistSource,
}

/// Finds the four MNIST files, downloading them if need be, in this order:
///
/// 1. [`data_dir`](Self::data_dir), when given: the folder a user named (`--data-dir DIR`);
/// 2. the `MNIST_DIR` environment variable, when set and not empty;
/// 3. each [`bundled`](Self::bundled) folder that holds all four files (a program's own copy,
///    such as this repository's `data/mnist`);
/// 4. the cache folder ([`default_cache_dir`] unless [`cache_dir`](Self::cache_dir) says
///    otherwise), when it holds all four;
/// 5. a download of the missing files into the cache folder, from
///    [`MNIST_MIRRORS`](download::MNIST_MIRRORS) (or [`mirrors`](Self::mirrors)), each file's
///    content checked against its known SHA-256, unless [`download`](Self::download)`(false)`
///    or the crate was built without its `download` feature.
///
/// A folder the user chose (1 or 2) must hold the files: when it lacks some, the lookup stops
/// with an [`Error::MissingData`] listing all of them, rather than silently reading other data
/// or downloading into it. When every way fails, the error lists every file still missing,
/// each mirror failure once, and names `--data-dir` and `MNIST_DIR`; a failed download leaves no
/// file and no folder of its own behind.
///
/// ```no_run
/// use feedforward::data::mnist::MnistLookup;
///
/// // An example's lookup: --data-dir, MNIST_DIR, the repository's copy, the cache, a download.
/// let data_dir: Option<&std::path::Path> = None; // from the command line
/// let mnist = MnistLookup::new()
///     .data_dir(data_dir)
///     .bundled(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))
///     .load(&mut |_event| {})?;
/// assert_eq!(mnist.train.len(), 60_000);
/// # Ok::<(), feedforward::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistLookup {
    data_dir: Option<PathBuf>,
    env_dir: Option<PathBuf>,
    bundled: Vec<PathBuf>,
    cache_dir: Option<PathBuf>,
    mirrors: Vec<String>,
    download: bool,
}

impl Default for MnistLookup {
    fn default() -> Self {
        Self::new()
    }
}

impl MnistLookup {
    /// The standard lookup: no folder given, `MNIST_DIR` as set now, no bundled copy,
    /// [`default_cache_dir`], the public mirrors, downloads on when the `download` feature is.
    pub fn new() -> Self {
        MnistLookup {
            data_dir: None,
            env_dir: std::env::var_os(MNIST_DIR_VAR)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            bundled: Vec::new(),
            cache_dir: default_cache_dir(),
            mirrors: download::MNIST_MIRRORS
                .iter()
                .map(|m| m.to_string())
                .collect(),
            download: cfg!(feature = "download"),
        }
    }

    /// The folder the user named, searched first; `None` leaves it out.
    pub fn data_dir(mut self, dir: Option<&Path>) -> Self {
        self.data_dir = dir.map(Path::to_path_buf);
        self
    }

    /// Replaces the folder taken from `MNIST_DIR` (`None`: ignore the variable).
    pub fn env_dir(mut self, dir: Option<&Path>) -> Self {
        self.env_dir = dir.map(Path::to_path_buf);
        self
    }

    /// Adds a folder that may hold a copy of the files (used only when it holds all four),
    /// searched after `MNIST_DIR` and before the cache, in the order added.
    pub fn bundled(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bundled.push(dir.into());
        self
    }

    /// Replaces the cache folder (`None`: no cache, hence no download).
    pub fn cache_dir(mut self, dir: Option<&Path>) -> Self {
        self.cache_dir = dir.map(Path::to_path_buf);
        self
    }

    /// Replaces the mirrors (base URLs) that files are downloaded from, tried in order.
    pub fn mirrors(mut self, mirrors: &[&str]) -> Self {
        self.mirrors = mirrors.iter().map(|m| m.to_string()).collect();
        self
    }

    /// Allows or forbids downloads (without the `download` feature they never happen).
    pub fn download(mut self, allowed: bool) -> Self {
        self.download = allowed && cfg!(feature = "download");
        self
    }

    /// The first place that holds the four files, without downloading anything; `Ok(None)` when
    /// no place does. Fails with [`Error::MissingData`] (every missing file listed) when the
    /// folder given or the one in `MNIST_DIR` lacks some.
    pub fn find(&self) -> Result<Option<MnistLocation>> {
        if let Some(dir) = &self.data_dir {
            let missing = missing_files(dir);
            if !missing.is_empty() {
                return Err(missing_error(dir, &missing, user_folder_hint()));
            }
            return Ok(Some(MnistLocation {
                dir: dir.clone(),
                source: MnistSource::DataDir,
            }));
        }
        if let Some(dir) = &self.env_dir {
            let missing = missing_files(dir);
            if !missing.is_empty() {
                return Err(missing_error(
                    dir,
                    &missing,
                    format!(
                        "This folder comes from the `{MNIST_DIR_VAR}` environment variable: put \
                         the four MNIST files there (raw or .gz), point it to another folder (or \
                         pass `--data-dir DIR`), or unset it to let the program use its own copy \
                         or its cache"
                    ),
                ));
            }
            return Ok(Some(MnistLocation {
                dir: dir.clone(),
                source: MnistSource::EnvVar,
            }));
        }
        if let Some(dir) = self.bundled.iter().find(|d| missing_files(d).is_empty()) {
            return Ok(Some(MnistLocation {
                dir: dir.clone(),
                source: MnistSource::Bundled,
            }));
        }
        if let Some(dir) = self
            .cache_dir
            .as_ref()
            .filter(|d| missing_files(d).is_empty())
        {
            return Ok(Some(MnistLocation {
                dir: dir.clone(),
                source: MnistSource::Cache,
            }));
        }
        Ok(None)
    }

    /// The folder that holds the four files: [`find`](Self::find), else the cache folder once
    /// the missing files are downloaded into it (progress reported to `progress`).
    ///
    /// Fails with [`Error::MissingData`] naming every file still missing, the places searched,
    /// each mirror failure once, `--data-dir` and `MNIST_DIR`; with [`Error::Io`] when the cache
    /// folder cannot be written.
    pub fn locate(&self, progress: &mut dyn FnMut(DownloadEvent)) -> Result<MnistLocation> {
        if let Some(found) = self.find()? {
            return Ok(found);
        }
        let searched = self
            .bundled
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>();
        let also = if searched.is_empty() {
            String::new()
        } else {
            format!(" (also searched: {})", searched.join(", "))
        };
        let Some(cache) = &self.cache_dir else {
            return Err(Error::MissingData {
                what: "MNIST".to_string(),
                dir: self.bundled.first().cloned().unwrap_or_default(),
                missing: super::files::FILE_NAMES.join(", "),
                hint: format!(
                    "No cache folder to download them into{also}: pass `--data-dir DIR` or set \
                     `{MNIST_DIR_VAR}` to a folder that holds the four files (raw or .gz)"
                ),
            });
        };
        if !self.download {
            let missing = missing_files(cache);
            let why = if cfg!(feature = "download") {
                "downloads are turned off"
            } else {
                "this build of feedforward has no `download` feature"
            };
            return Err(missing_error(
                cache,
                &missing,
                format!(
                    "They are in none of the places searched{also}, and {why}: put the four \
                     files (raw or .gz) in a folder and pass `--data-dir DIR` or set \
                     `{MNIST_DIR_VAR}`, or copy them into that cache folder"
                ),
            ));
        }
        let mirrors: Vec<&str> = self.mirrors.iter().map(String::as_str).collect();
        fill_cache(cache, &mirrors, progress)?;
        Ok(MnistLocation {
            dir: cache.clone(),
            source: MnistSource::Downloaded,
        })
    }

    /// Reads the four files from [`locate`](Self::locate)'s folder ([`Mnist::load`]).
    pub fn load(&self, progress: &mut dyn FnMut(DownloadEvent)) -> Result<Mnist> {
        Mnist::load(&self.locate(progress)?.dir)
    }
}

/// The folder where downloaded MNIST files are cached: `$XDG_CACHE_HOME/feedforward/mnist`, else
/// `~/Library/Caches/feedforward/mnist` on macOS, `%LOCALAPPDATA%\feedforward\mnist` on
/// Windows and `$HOME/.cache/feedforward/mnist` elsewhere. `None` when none of these variables
/// is set.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if let Some(xdg) = var("XDG_CACHE_HOME") {
        xdg
    } else if cfg!(target_os = "macos") {
        var("HOME")?.join("Library").join("Caches")
    } else if cfg!(windows) {
        var("LOCALAPPDATA")?
    } else {
        var("HOME")?.join(".cache")
    };
    Some(base.join("feedforward").join("mnist"))
}

/// Loads MNIST from `dir` when given, else from `MNIST_DIR`, else from the cache folder,
/// downloading what is missing: [`MnistLookup::new`]`().data_dir(dir).load(progress)`. A
/// program that ships its own copy adds it with [`MnistLookup::bundled`].
pub fn load_or_download(
    dir: Option<&Path>,
    progress: &mut dyn FnMut(DownloadEvent),
) -> Result<Mnist> {
    MnistLookup::new().data_dir(dir).load(progress)
}

/// Makes sure the four MNIST files are in `cache_dir`, downloading each missing one from the
/// first of `mirrors` that serves it with the right content, then loads them.
///
/// This is the download step of [`MnistLookup`], with the folder and the mirrors as parameters
/// so that a program (or a test) can choose them. Every missing file is tried; when some cannot
/// be had, the [`Error::MissingData`] lists all of them, each mirror failure once, and how to
/// give the files by hand (`--data-dir`, `MNIST_DIR`). A mirror that does not answer is not
/// asked again for the other files. Folders created for the download are removed if it fails
/// and leaves them empty; files already verified stay. Without the `download` feature, missing
/// files give [`Error::MissingData`] at once.
pub fn download_mnist(
    cache_dir: &Path,
    mirrors: &[&str],
    progress: &mut dyn FnMut(DownloadEvent),
) -> Result<Mnist> {
    fill_cache(cache_dir, mirrors, progress)?;
    Mnist::load(cache_dir)
}

/// Downloads the MNIST files missing from `cache_dir` (see [`download_mnist`]).
fn fill_cache(
    cache_dir: &Path,
    mirrors: &[&str],
    progress: &mut dyn FnMut(DownloadEvent),
) -> Result<()> {
    let missing = missing_files(cache_dir);
    if missing.is_empty() {
        return Ok(());
    }
    let by_hand = format!(
        "put the four files (raw or .gz) in a folder and pass `--data-dir DIR` or set \
         `{MNIST_DIR_VAR}=DIR`, or copy them into that cache folder"
    );
    if !cfg!(feature = "download") {
        return Err(missing_error(
            cache_dir,
            &missing,
            format!(
                "This build of feedforward has no `download` feature: enable it, or {by_hand} \
                 (e.g. from {})",
                mirrors.first().copied().unwrap_or("a public mirror")
            ),
        ));
    }
    let files: Vec<(&str, &str)> = missing
        .iter()
        .map(|name| {
            download::MNIST_FILES
                .iter()
                .find(|f| f.name.strip_suffix(".gz") == Some(*name))
                .map(|f| (f.name, f.sha256))
                .ok_or_else(|| {
                    missing_error(cache_dir, &[name], "no known source for this file".into())
                })
        })
        .collect::<Result<_>>()?;
    match download::download_all(mirrors, &files, cache_dir, progress)? {
        Ok(_) => Ok(()),
        Err(failure) => Err(missing_error(
            cache_dir,
            &missing_files(cache_dir),
            format!(
                "Downloading {} failed: {}. Check the network connection, or {by_hand}",
                if failure.files.len() == 1 {
                    "it"
                } else {
                    "them"
                },
                failure.reasons.join("; ")
            ),
        )),
    }
}
