//! Reading files whose size is bounded before a byte is read: only regular files are opened
//! (a FIFO would block, `/dev/zero` never ends, a folder is not data), and a file larger than
//! the reader's documented cap is refused, so that no file can make a reader block or allocate
//! without bound.

use crate::{Error, Result};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Opens `path` for reading if it is a regular file, and returns it with its length.
///
/// The kind of file is checked twice: before opening (opening a FIFO without a writer would
/// block) and on the opened file (in case the path was replaced in between).
///
/// # Errors
/// [`Error::Io`] naming the file: it cannot be opened, or it is not a regular file (a device,
/// a FIFO, a socket, a folder), with a message saying so.
pub(crate) fn open_regular(path: &Path) -> Result<(File, u64)> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::io("opening", path, e))?;
    check_regular(path, &metadata)?;
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let metadata = file
        .metadata()
        .map_err(|e| Error::io("reading the size of", path, e))?;
    check_regular(path, &metadata)?;
    Ok((file, metadata.len()))
}

fn check_regular(path: &Path, metadata: &std::fs::Metadata) -> Result<()> {
    if metadata.is_file() {
        return Ok(());
    }
    let kind = if metadata.is_dir() {
        "a folder"
    } else {
        "a device, FIFO or socket"
    };
    Err(Error::io(
        "opening",
        path,
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({kind}): give the path of a file"),
        ),
    ))
}

/// Reads the whole of a regular file of at most `cap` bytes (its length was `len` when it was
/// opened); `Ok(None)` when it holds more than `cap`. Reads at most `cap + 1` bytes whatever
/// happens to the file meanwhile.
pub(crate) fn read_capped(path: &Path, file: File, len: u64, cap: u64) -> Result<Option<Vec<u8>>> {
    if len > cap {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(usize::try_from(len).unwrap_or(usize::MAX))
        .map_err(|_| crate::allocation::too_large("the file's content", len as u128, 1))?;
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("reading", path, e))?;
    if bytes.len() as u64 > cap {
        return Ok(None);
    }
    Ok(Some(bytes))
}
