//! The IDX file format, in which MNIST (and data sets built like it) is distributed.
//!
//! An IDX file is a big-endian header followed by the raw data:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 2 | zero |
//! | 1 | type code (`0x08` = unsigned byte, the only one read here) |
//! | 1 | number of dimensions `n` |
//! | 4 × `n` | the size of each dimension, `u32` big-endian |
//! | product of the sizes | the data, row-major |
//!
//! Files are read either raw or gzip-compressed; gzip is recognised by its magic bytes
//! (`1f 8b`), not by the file name. Everything is checked before an array is returned: the
//! magic, the type code, the dimension count, that the sizes multiply without overflow and that
//! the data is exactly as long as the header says (a truncated file and one with trailing bytes
//! are both rejected).
//!
//! Memory stays bounded by what the file can actually hold. Only regular files are opened (a
//! FIFO would block, `/dev/zero` never ends). A raw file must be exactly as long as its header
//! says. A gzip stream cannot expand more than about 1032 times, so a header announcing more
//! than `1032 x` the compressed size (plus 64 KiB) is refused at once, as is one announcing more
//! than [`MAX_GZIP_DATA`] (2 GiB; MNIST's largest file holds 47 MB: decompress bigger files
//! first); and the data is read incrementally, the buffer growing only as decompressed bytes
//! actually arrive, so a stream that ends early costs what it held, not what it announced.

use std::io::{self, BufReader, Cursor, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::io::file_limits::open_regular;
use crate::{Error, Result};

/// The IDX type code for unsigned bytes, the only element type this reader accepts.
pub const IDX_TYPE_U8: u8 = 0x08;

/// The largest number of dimensions accepted in an IDX header.
pub const MAX_DIMS: usize = 4;

/// How much of a gzip stream's surplus content is decompressed to look for a damaged stream.
const TRAILING_CHECK_BYTES: u64 = 1 << 26;

/// The two bytes that start every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Deflate cannot compress better than about 1032:1, so a gzip stream of `n` bytes holds at most
/// this many times `n` bytes (plus a little).
const MAX_DEFLATE_RATIO: u64 = 1032;

/// The most data a gzip-compressed IDX file may announce: 2 GiB. (Raw files are bounded by their
/// own size.)
pub const MAX_GZIP_DATA: u64 = 1 << 31;

/// The most memory reserved before any decompressed data has arrived: 64 MiB. Beyond, the
/// buffer grows with the data.
const INITIAL_RESERVE: usize = 1 << 26;

/// An n-dimensional array of bytes read from an IDX file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The size of each dimension, outermost first (`[60000, 28, 28]` for MNIST's training images).
    pub dims: Vec<usize>,
    /// The elements in row-major order; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

impl IdxArray {
    /// Number of elements (the product of the dimensions).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// `true` when the array holds no element (some dimension is zero).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The dimensions formatted as `60000x28x28`, for messages.
    pub fn shape_string(&self) -> String {
        shape_string(&self.dims)
    }
}

/// Formats dimensions as `60000x28x28`.
fn shape_string(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// Reads an IDX file of unsigned bytes, raw or gzip-compressed.
///
/// Gzip is detected by the file's first two bytes, whatever its name. A missing or unreadable
/// file, or one that is not a regular file (a FIFO, a device), gives [`Error::Io`]; a file whose
/// content is not a valid IDX array of bytes (bad magic,
/// unsupported type, wrong length, corrupt gzip stream, ...) gives [`Error::CorruptFile`]. Both
/// name the file.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let (file, file_len) = open_regular(path)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut magic = [0u8; 2];
    let got = read_full(&mut reader, &mut magic).map_err(|e| Error::io("reading", path, e))?;
    let prefix = Cursor::new(magic[..got].to_vec());
    if got == 2 && magic == GZIP_MAGIC {
        let decoder = MultiGzDecoder::new(prefix.chain(reader));
        decode(
            decoder,
            Source::Gzip {
                compressed_len: file_len,
            },
            path,
        )
    } else {
        decode(prefix.chain(reader), Source::Raw { len: file_len }, path)
    }
}

/// Parses an IDX array of unsigned bytes from memory, raw or gzip-compressed.
///
/// `path_for_errors` is only used to name the data in error messages. Validation is the same as
/// [`read_idx`]'s.
pub fn parse_idx(bytes: &[u8], path_for_errors: &Path) -> Result<IdxArray> {
    let len = bytes.len() as u64;
    if bytes.starts_with(&GZIP_MAGIC) {
        let decoder = MultiGzDecoder::new(bytes);
        decode(
            decoder,
            Source::Gzip {
                compressed_len: len,
            },
            path_for_errors,
        )
    } else {
        decode(bytes, Source::Raw { len }, path_for_errors)
    }
}

/// Where the bytes being decoded come from, which changes what can be checked up front and how
/// a read error is reported.
#[derive(Clone, Copy)]
enum Source {
    /// An uncompressed stream of exactly `len` bytes.
    Raw { len: u64 },
    /// A gzip stream of `compressed_len` bytes.
    Gzip { compressed_len: u64 },
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Turns a read error into the crate's error: a failing gzip stream is a corrupt file, anything
/// else an I/O error.
fn read_error(source: Source, path: &Path, e: io::Error) -> Error {
    match source {
        Source::Gzip { .. } => Error::corrupt(
            path,
            format!("the gzip stream is corrupt ({e}); download the file again"),
        ),
        Source::Raw { .. } => Error::io("reading", path, e),
    }
}

/// Decodes the (decompressed) IDX stream `reader`.
fn decode(mut reader: impl Read, source: Source, path: &Path) -> Result<IdxArray> {
    let what = match source {
        Source::Raw { .. } => "",
        Source::Gzip { .. } => " (after gzip decompression)",
    };

    let mut magic = [0u8; 4];
    let got = read_full(&mut reader, &mut magic).map_err(|e| read_error(source, path, e))?;
    if got < 4 {
        let reason = if got == 0 {
            format!("the file is empty{what}: an IDX file starts with a 4-byte magic number")
        } else {
            format!(
                "only {got} byte(s){what}: an IDX file starts with a 4-byte magic number; \
                 the file is truncated"
            )
        };
        return Err(Error::corrupt(path, reason));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(Error::corrupt(
            path,
            format!(
                "not an IDX file{what}: it starts with bytes {:02x} {:02x} {:02x} {:02x}, \
                 an IDX file starts with 00 00 then a type code and a dimension count",
                magic[0], magic[1], magic[2], magic[3]
            ),
        ));
    }
    if magic[2] != IDX_TYPE_U8 {
        let name = match magic[2] {
            0x09 => " (signed byte)",
            0x0B => " (16-bit integer)",
            0x0C => " (32-bit integer)",
            0x0D => " (32-bit float)",
            0x0E => " (64-bit float)",
            _ => "",
        };
        return Err(Error::corrupt(
            path,
            format!(
                "unsupported IDX type code 0x{:02x}{name}: only 0x08 (unsigned byte) is read; \
                 convert the data to unsigned bytes",
                magic[2]
            ),
        ));
    }
    let ndim = usize::from(magic[3]);
    if ndim == 0 || ndim > MAX_DIMS {
        return Err(Error::corrupt(
            path,
            format!(
                "the IDX header declares {ndim} dimensions: expected 1 to {MAX_DIMS} \
                 (1 for labels, 3 for images)"
            ),
        ));
    }

    let mut raw_dims = [0u8; 4 * MAX_DIMS];
    let raw_dims = &mut raw_dims[..4 * ndim];
    let got = read_full(&mut reader, raw_dims).map_err(|e| read_error(source, path, e))?;
    if got < raw_dims.len() {
        return Err(Error::corrupt(
            path,
            format!(
                "the file is truncated{what}: its header declares {ndim} dimensions, which take \
                 {} bytes after the magic number, but only {got} follow",
                raw_dims.len()
            ),
        ));
    }
    let dims: Vec<usize> = raw_dims
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let shape = shape_string(&dims);
    let overflow = || {
        Error::corrupt(
            path,
            format!("the IDX header announces {shape} elements, too many to hold in memory"),
        )
    };
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    let announced = if ndim == 1 {
        format!("{expected} bytes")
    } else {
        format!("{shape} = {expected} bytes")
    };
    let header_len = 4 + 4 * ndim as u64;
    let total = u64::try_from(expected)
        .ok()
        .and_then(|e| e.checked_add(header_len))
        .ok_or_else(overflow)?;

    let reserve = match source {
        Source::Raw { len } => {
            if len != total {
                let reason = if len < total {
                    format!(
                        "the file is truncated: its header announces {announced} \
                         of data after a {header_len}-byte header ({total} bytes in all), but the \
                         file has {len} bytes; download it again"
                    )
                } else {
                    format!(
                        "the file has {} bytes of trailing data: its header announces {announced} of data after a {header_len}-byte header ({total} bytes \
                         in all), but the file has {len} bytes; download it again",
                        len - total
                    )
                };
                return Err(Error::corrupt(path, reason));
            }
            expected
        }
        Source::Gzip { compressed_len } => {
            let most = compressed_len
                .saturating_mul(MAX_DEFLATE_RATIO)
                .saturating_add(1 << 16);
            if total > most {
                return Err(Error::corrupt(
                    path,
                    format!(
                        "its header announces {announced} of data, more than a gzip stream of \
                         {compressed_len} bytes can hold (at most {most}): the file is damaged; \
                         download it again"
                    ),
                ));
            }
            if total > MAX_GZIP_DATA {
                return Err(Error::corrupt(
                    path,
                    format!(
                        "its header announces {announced} of data, above the {MAX_GZIP_DATA}-byte \
                         cap for gzip-compressed IDX files (MAX_GZIP_DATA): decompress it first \
                         (gzip -d) and read the raw file"
                    ),
                ));
            }
            expected.min(INITIAL_RESERVE)
        }
    };

    let mut data = Vec::new();
    data.try_reserve_exact(reserve).map_err(|_| overflow())?;
    let limit = u64::try_from(expected).map_err(|_| overflow())?;
    reader
        .by_ref()
        .take(limit)
        .read_to_end(&mut data)
        .map_err(|e| read_error(source, path, e))?;
    if data.len() < expected {
        return Err(Error::corrupt(
            path,
            format!(
                "the file is truncated{what}: its header announces {announced} of \
                 data, but only {} follow; download it again",
                data.len()
            ),
        ));
    }
    // The data must end exactly here. For gzip this read also makes the decoder check the
    // stream's CRC and length trailer.
    let mut extra = [0u8; 1];
    let got = read_full(&mut reader, &mut extra).map_err(|e| read_error(source, path, e))?;
    if got != 0 {
        if let Source::Gzip { .. } = source {
            // More content than announced often means a damaged deflate stream: let the gzip
            // trailer check (CRC and length) speak first, reading a bounded amount.
            io::copy(&mut reader.take(TRAILING_CHECK_BYTES), &mut io::sink())
                .map_err(|e| read_error(source, path, e))?;
        }
        return Err(Error::corrupt(
            path,
            format!(
                "the file has trailing data{what}: its header announces {announced} \
                 of data, but more follow; download it again"
            ),
        ));
    }
    Ok(IdxArray { dims, data })
}
