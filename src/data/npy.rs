//! [`NpyDataset`]: features and labels (or targets) saved by numpy's `np.save`, memory-mapped,
//! as a [`Dataset`]. Feature `npy` (on by default).
//!
//! It is the obvious way to hand data over from Python: `np.save("x.npy", x)`,
//! `np.save("y.npy", y)`, then [`NpyDataset::open`]. The files are mapped, not read: a batch
//! is converted to `f32` from the mapping when [`fill_batch`](Dataset::fill_batch) asks for
//! it, so a 10 GB array trains in a resident memory of a few batches (the file's pages the
//! system keeps in its page cache, shared and given back under pressure, are not the
//! process's own memory).
//!
//! | file | dtype | shape | as |
//! | --- | --- | --- | --- |
//! | features | `float32` or `float64` | `(n,)`, `(n, d)` or `(n, d1, d2, ...)` | one input row of `d1 x d2 x ...` values, flattened in C order ([`sample_shape`](NpyDataset::sample_shape) keeps the shape: `(channels, height, width)` for an image model) |
//! | labels | any integer (`int64` is numpy's default) | `(n,)` or `(n, 1)` | class indices, one-hot over `max + 1` classes (or [`with_classes`](NpyDataset::with_classes)), as the MNIST data set and Keras' `to_categorical` do |
//! | targets | `float32` or `float64` | `(n,)` or `(n, k)` | regression targets, one column or `k` |
//!
//! C order and Fortran order (`np.asfortranarray`) are both read; Fortran-ordered rows are
//! gathered from strided places, so C order is faster. Data in the other byte order is
//! refused ([`NpyProblem::ByteOrder`]). A NaN or infinite feature (or an `f64` beyond `f32`'s
//! range) is converted as it is, and [`fit`](crate::Sequential::fit) stops at the step that
//! meets it with [`Error::NonFiniteInput`] naming the data set's row and column, exactly as for
//! an [`InMemory`](crate::data::InMemory) data set.
//!
//! The files are mapped read-only, as numpy's `np.load(path, mmap_mode="r")`: a file
//! truncated by another program while it is mapped makes the process receive `SIGBUS` when a
//! missing page is read, as it does numpy.
//!
//! ```
//! use feedforward::data::npy::NpyDataset;
//! use feedforward::data::Dataset;
//!
//! // Written by numpy (scripts/npy_fixtures.py): np.save("x_f32.npy", x.astype(np.float32)),
//! // x of shape (6, 3), and np.save("y_i64.npy", np.array([0, 2, 1, 2, 0, 1])).
//! let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/npy");
//! let data = NpyDataset::open(dir.join("x_f32.npy"), dir.join("y_i64.npy"))?;
//! assert_eq!((data.len(), data.input_width(), data.target_width()), (6, 3, 3));
//! assert_eq!(data.class_of(1), Some(2));
//! let mut x = feedforward::ndarray::Array2::zeros((1, 3));
//! let mut y = feedforward::ndarray::Array2::zeros((1, 3));
//! data.fill_batch(&[1], x.view_mut(), y.view_mut())?;
//! assert_eq!(x.row(0).to_vec(), [-0.625, -0.5, -0.375]); // (3 i + j) / 8 - 1 for i = 1
//! assert_eq!(y.row(0).to_vec(), [0.0, 0.0, 1.0]);
//! # Ok::<(), feedforward::Error>(())
//! ```

use crate::data::Dataset;
pub use crate::error::NpyProblem;
use crate::io::file_limits::open_regular;
use crate::{Error, Result};
use memmap2::Mmap;
use ndarray::{ArrayViewD, ArrayViewMut2, Axis};
use ndarray_npy::{ViewElement, ViewNpyError, ViewNpyExt};
use std::path::{Path, PathBuf};

/// The element types a mapped array may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl Dtype {
    const FLOATS: [Dtype; 2] = [Dtype::F32, Dtype::F64];
    const ALL: [Dtype; 10] = [
        Dtype::F32,
        Dtype::F64,
        Dtype::I8,
        Dtype::I16,
        Dtype::I32,
        Dtype::I64,
        Dtype::U8,
        Dtype::U16,
        Dtype::U32,
        Dtype::U64,
    ];

    /// numpy's name of the type.
    fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
            Dtype::I8 => "int8",
            Dtype::I16 => "int16",
            Dtype::I32 => "int32",
            Dtype::I64 => "int64",
            Dtype::U8 => "uint8",
            Dtype::U16 => "uint16",
            Dtype::U32 => "uint32",
            Dtype::U64 => "uint64",
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Dtype::F32 | Dtype::F64)
    }

    fn size(self) -> usize {
        match self {
            Dtype::I8 | Dtype::U8 => 1,
            Dtype::I16 | Dtype::U16 => 2,
            Dtype::F32 | Dtype::I32 | Dtype::U32 => 4,
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
        }
    }
}

/// One `.npy` file, mapped, with what its header says.
#[derive(Debug)]
struct Mapped {
    path: PathBuf,
    map: Mmap,
    dtype: Dtype,
    shape: Vec<usize>,
}

/// The header's facts, from a view of the data.
fn shape<A: ViewElement>(map: &[u8]) -> std::result::Result<Vec<usize>, ViewNpyError> {
    Ok(ArrayViewD::<A>::view_npy(map)?.shape().to_vec())
}

impl Mapped {
    /// Maps `path` (a regular file only) and reads its header, accepting the dtypes `allowed`
    /// (`expected` says which, for the error).
    fn open(path: &Path, allowed: &[Dtype], expected: &str) -> Result<Mapped> {
        let (file, _) = open_regular(path)?;
        // SAFETY: the mapping is read-only and only read through slices of bytes, which any
        // byte pattern is valid for. Another program changing the file meanwhile changes the
        // values read (each is checked as it is converted); truncating it makes reads of the
        // missing pages raise SIGBUS, as they do for numpy's np.load(mmap_mode="r").
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io("mapping", path, e))?;
        let problem = |problem| Error::Npy {
            path: path.to_path_buf(),
            problem,
        };
        let mut found = None;
        for &dtype in &Dtype::ALL {
            let result = match dtype {
                Dtype::F32 => shape::<f32>(&map),
                Dtype::F64 => shape::<f64>(&map),
                Dtype::I8 => shape::<i8>(&map),
                Dtype::I16 => shape::<i16>(&map),
                Dtype::I32 => shape::<i32>(&map),
                Dtype::I64 => shape::<i64>(&map),
                Dtype::U8 => shape::<u8>(&map),
                Dtype::U16 => shape::<u16>(&map),
                Dtype::U32 => shape::<u32>(&map),
                Dtype::U64 => shape::<u64>(&map),
            };
            match result {
                Ok(shape) => {
                    if !allowed.contains(&dtype) {
                        return Err(problem(NpyProblem::Dtype {
                            found: dtype.name().to_string(),
                            expected: expected.to_string(),
                        }));
                    }
                    return Ok(Mapped {
                        path: path.to_path_buf(),
                        map,
                        dtype,
                        shape,
                    });
                }
                Err(ViewNpyError::WrongDescriptor(descriptor)) => {
                    found = Some(descriptor.to_string());
                }
                Err(error) => return Err(problem(view_problem(error))),
            }
        }
        Err(problem(NpyProblem::Dtype {
            found: found.unwrap_or_default(),
            expected: expected.to_string(),
        }))
    }

    /// The number of rows (the first axis).
    fn rows(&self) -> usize {
        self.shape[0]
    }

    /// The values of one row, the product of the other axes.
    fn width(&self) -> usize {
        self.shape[1..].iter().product()
    }

    /// Where the data starts: the data is the file's tail (no byte may follow it).
    fn data_start(&self) -> usize {
        self.map.len() - self.shape.iter().product::<usize>() * self.dtype.size()
    }

    /// The value at `index` (a flat index into the data, in the file's order) as an `i64`,
    /// for integer arrays.
    fn integer(&self, index: usize) -> i64 {
        let size = self.dtype.size();
        let start = self.data_start() + index * size;
        let bytes = &self.map[start..start + size];
        let mut b8 = [0u8; 8];
        b8[..size].copy_from_slice(bytes);
        match self.dtype {
            Dtype::I8 => i8::from_ne_bytes([b8[0]]).into(),
            Dtype::I16 => i16::from_ne_bytes([b8[0], b8[1]]).into(),
            Dtype::I32 => i32::from_ne_bytes([b8[0], b8[1], b8[2], b8[3]]).into(),
            Dtype::I64 => i64::from_ne_bytes(b8),
            Dtype::U8 => b8[0].into(),
            Dtype::U16 => u16::from_ne_bytes([b8[0], b8[1]]).into(),
            Dtype::U32 => u32::from_ne_bytes([b8[0], b8[1], b8[2], b8[3]]).into(),
            // Above i64::MAX: negative here, refused as a label like any negative one.
            Dtype::U64 => u64::from_ne_bytes(b8) as i64,
            Dtype::F32 | Dtype::F64 => unreachable!("labels are integers"),
        }
    }

    /// Writes rows `rows` of a float array into `out`, one row each, converted to `f32`
    /// (C-order flattening of each row's axes).
    fn fill_floats(&self, rows: &[usize], mut out: ArrayViewMut2<'_, f32>) -> Result<()> {
        fn copy<A: ViewElement + Copy>(
            mapped: &Mapped,
            rows: &[usize],
            out: &mut ArrayViewMut2<'_, f32>,
            convert: impl Fn(A) -> f32,
        ) -> Result<()> {
            let changed = |reason: String| Error::DataRead {
                file: Some(mapped.path.clone()),
                row: rows.first().copied().unwrap_or(0),
                reason: format!("the file changed since it was opened: {reason}"),
            };
            let view =
                ArrayViewD::<A>::view_npy(&mapped.map).map_err(|e| changed(e.to_string()))?;
            if view.shape() != mapped.shape.as_slice() {
                return Err(changed(format!("its shape is now {:?}", view.shape())));
            }
            for (i, &r) in rows.iter().enumerate() {
                let row = match view.ndim() {
                    1 => view.slice_axis(Axis(0), (r..r + 1).into()),
                    _ => view.index_axis(Axis(0), r),
                };
                let mut target = out.row_mut(i);
                match (row.as_slice(), target.as_slice_mut()) {
                    (Some(from), Some(to)) => {
                        for (t, &f) in to.iter_mut().zip(from) {
                            *t = convert(f);
                        }
                    }
                    _ => {
                        for (t, &f) in target.iter_mut().zip(row.iter()) {
                            *t = convert(f);
                        }
                    }
                }
            }
            Ok(())
        }
        match self.dtype {
            Dtype::F32 => copy::<f32>(self, rows, &mut out, |v| v),
            Dtype::F64 => copy::<f64>(self, rows, &mut out, |v| v as f32),
            _ => unreachable!("features and targets are floats"),
        }
    }
}

/// The [`NpyProblem`] of a failed view.
fn view_problem(error: ViewNpyError) -> NpyProblem {
    match error {
        ViewNpyError::MissingBytes(missing) => NpyProblem::Truncated { missing },
        ViewNpyError::ExtraBytes(extra) => NpyProblem::ExtraBytes(extra),
        ViewNpyError::NonNativeEndian => NpyProblem::ByteOrder,
        other => NpyProblem::NotNpy(other.to_string()),
    }
}

/// What a data set's targets are.
#[derive(Debug)]
enum Targets {
    /// Class indices, one-hot over `classes`.
    Labels { file: Mapped, classes: usize },
    /// Regression values, `width` per row.
    Values { file: Mapped },
}

/// Features and labels (or regression targets) from two `.npy` files, memory-mapped: a
/// [`Dataset`] whose batches are converted from the mapping (see the [module](self)).
#[derive(Debug)]
pub struct NpyDataset {
    features: Mapped,
    targets: Targets,
}

impl NpyDataset {
    /// Maps the features at `features` and the labels or targets at `targets` (see the table
    /// of the [module](self)): integer `targets` are class labels, one-hot over `max + 1`
    /// classes; float `targets` are regression targets.
    ///
    /// The labels are checked once (read from the mapping, nothing kept); the features are
    /// not scanned: a NaN among them stops `fit` at the step that meets it.
    ///
    /// # Errors
    /// [`Error::Io`] for a file that cannot be opened or mapped, or is not a regular file
    /// (refused before it is opened); [`Error::Npy`] naming the file for anything
    /// [`NpyProblem`] lists: not a `.npy` file, features that are not `float32`/`float64`,
    /// truncated data, extra bytes, data in the other byte order, an array without rows or
    /// values, labels with more than one column, a negative label, features and targets with
    /// different row counts.
    pub fn open(features: impl AsRef<Path>, targets: impl AsRef<Path>) -> Result<NpyDataset> {
        let floats = "float32 or float64";
        let features = Mapped::open(features.as_ref(), &Dtype::FLOATS, floats)?;
        let targets_path = targets.as_ref();
        let targets = Mapped::open(
            targets_path,
            &Dtype::ALL,
            "integer class labels or float32/float64 targets",
        )?;
        let shape_problem = |mapped: &Mapped, expected: &str| Error::Npy {
            path: mapped.path.clone(),
            problem: NpyProblem::Shape {
                shape: mapped.shape.clone(),
                expected: expected.to_string(),
            },
        };
        if features.shape.is_empty() || features.rows() == 0 || features.width() == 0 {
            return Err(shape_problem(
                &features,
                "(rows, ...) with at least one row and one value per row",
            ));
        }
        let targets = if targets.dtype.is_float() {
            if targets.shape.is_empty() || targets.shape.len() > 2 || targets.width() == 0 {
                return Err(shape_problem(
                    &targets,
                    "(rows,) or (rows, outputs) for regression targets",
                ));
            }
            Targets::Values { file: targets }
        } else {
            if targets.shape.is_empty() || targets.shape.len() > 2 || targets.width() != 1 {
                return Err(shape_problem(
                    &targets,
                    "(rows,) or (rows, 1): one class index per row",
                ));
            }
            let classes = max_label(&targets, None)? + 1;
            Targets::Labels {
                file: targets,
                classes,
            }
        };
        let data = NpyDataset { features, targets };
        let (inputs, rows) = (data.features.rows(), data.target_file().rows());
        if inputs != rows {
            return Err(Error::Npy {
                path: targets_path.to_path_buf(),
                problem: NpyProblem::RowCountMismatch {
                    inputs,
                    targets: rows,
                },
            });
        }
        Ok(data)
    }

    /// One-hot targets over `classes` columns rather than `max label + 1` (a test file in which
    /// the last class does not occur, say).
    ///
    /// # Errors
    /// [`Error::Npy`] ([`NpyProblem::Label`]) for a label not below `classes`;
    /// [`Error::InvalidConfig`] when the targets are not class labels or `classes` is 0.
    pub fn with_classes(mut self, classes: usize) -> Result<NpyDataset> {
        match &mut self.targets {
            Targets::Labels { file, classes: k } if classes > 0 => {
                max_label(file, Some(classes))?;
                *k = classes;
                Ok(self)
            }
            _ => Err(Error::config(
                "classes",
                classes,
                "at least 1, for integer class labels (float targets are regression values)",
            )),
        }
    }

    /// The shape of one sample, the feature array's shape without its first axis (`[]` for
    /// one value per row, `[1, 28, 28]` for MNIST saved as `(n, 1, 28, 28)`).
    pub fn sample_shape(&self) -> &[usize] {
        &self.features.shape[1..]
    }

    /// The number of classes, when the targets are class labels.
    pub fn classes(&self) -> Option<usize> {
        match &self.targets {
            Targets::Labels { classes, .. } => Some(*classes),
            Targets::Values { .. } => None,
        }
    }

    /// The features' file.
    pub fn features_path(&self) -> &Path {
        &self.features.path
    }

    fn target_file(&self) -> &Mapped {
        match &self.targets {
            Targets::Labels { file, .. } | Targets::Values { file } => file,
        }
    }
}

/// The largest label of `labels`, checked to be at least 0 and below `classes` when given.
fn max_label(labels: &Mapped, classes: Option<usize>) -> Result<usize> {
    let mut max = 0i64;
    for row in 0..labels.rows() {
        let label = labels.integer(row);
        let too_big = classes.is_some_and(|k| label >= k as i64);
        if label < 0 || too_big {
            return Err(Error::Npy {
                path: labels.path.clone(),
                problem: NpyProblem::Label {
                    label,
                    row,
                    classes: classes.unwrap_or(usize::MAX),
                },
            });
        }
        max = max.max(label);
    }
    usize::try_from(max)
        .ok()
        .filter(|&m| m < usize::MAX)
        .ok_or_else(|| Error::Npy {
            path: labels.path.clone(),
            problem: NpyProblem::Label {
                label: max,
                row: 0,
                classes: usize::MAX,
            },
        })
}

impl Dataset for NpyDataset {
    fn len(&self) -> usize {
        self.features.rows()
    }

    fn input_width(&self) -> usize {
        self.features.width().max(1)
    }

    fn target_width(&self) -> usize {
        match &self.targets {
            Targets::Labels { classes, .. } => *classes,
            Targets::Values { file } => file.width().max(1),
        }
    }

    fn fill_batch(
        &self,
        rows: &[usize],
        inputs: ArrayViewMut2<'_, f32>,
        mut targets: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        self.features.fill_floats(rows, inputs)?;
        match &self.targets {
            Targets::Values { file } => file.fill_floats(rows, targets),
            Targets::Labels { file, classes } => {
                targets.fill(0.0);
                for (i, &r) in rows.iter().enumerate() {
                    let label = file.integer(r);
                    match usize::try_from(label) {
                        Ok(k) if k < *classes => targets[[i, k]] = 1.0,
                        _ => {
                            return Err(Error::DataRead {
                                file: Some(file.path.clone()),
                                row: r,
                                reason: format!(
                                    "label {label}, not a class below {classes}: the file \
                                     changed since it was opened"
                                ),
                            })
                        }
                    }
                }
                Ok(())
            }
        }
    }

    fn class_of(&self, row: usize) -> Option<usize> {
        match &self.targets {
            Targets::Labels { file, classes } if *classes >= 2 && row < self.len() => {
                usize::try_from(file.integer(row)).ok()
            }
            _ => None,
        }
    }
}
