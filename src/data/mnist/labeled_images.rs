//! [`LabeledImages`]: labelled grey-scale images kept as bytes, a [`Dataset`] whose rows become
//! `f32 / 255.0` only when a batch is filled.

use std::ops::Range;
use std::path::Path;

use ndarray::{Array2, ArrayViewMut2};

use crate::data::idx::{read_idx, IdxArray};
use crate::data::Dataset;
use crate::{Error, Result};

/// Labelled grey-scale images: `len()` images of `image_rows() x image_cols()` bytes and one
/// label per image.
///
/// As a [`Dataset`], an input row is the image's pixels divided by 255 (`x as f32 / 255.0`,
/// row-major) and a target row is the label one-hot encoded over [`classes`](Self::classes)
/// columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledImages {
    pub(super) images: Vec<u8>,
    pub(super) labels: Vec<u8>,
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) classes: usize,
}

/// `max(labels) + 1`, or 0 when there is no label.
fn class_count(labels: &[u8]) -> usize {
    labels.iter().max().map_or(0, |&m| usize::from(m) + 1)
}

impl LabeledImages {
    /// Builds a set from `labels.len()` images of `rows x cols` bytes stored one after the other
    /// in `images`. The class count is the largest label plus one.
    ///
    /// Fails with [`Error::ShapeMismatch`] when `images` does not hold exactly
    /// `labels.len() * rows * cols` bytes, and with [`Error::InvalidConfig`] when `rows` or
    /// `cols` is zero.
    pub fn new(images: Vec<u8>, labels: Vec<u8>, rows: usize, cols: usize) -> Result<Self> {
        if rows == 0 || cols == 0 {
            return Err(Error::config(
                "image size",
                format!("{rows}x{cols}"),
                "images of at least 1x1 pixel",
            ));
        }
        // An image's shape must be countable (and its size allocatable), even without images.
        crate::layers::Shape::image(1, rows, cols)?;
        let expected = labels
            .len()
            .checked_mul(rows)
            .and_then(|n| n.checked_mul(cols));
        if expected != Some(images.len()) {
            return Err(Error::shape(
                "LabeledImages::new",
                format!(
                    "{} pixel bytes ({} images of {rows}x{cols})",
                    expected.map_or_else(|| "too many".to_string(), |e| e.to_string()),
                    labels.len()
                ),
                format!("{} pixel bytes", images.len()),
            ));
        }
        let classes = class_count(&labels);
        Ok(LabeledImages {
            images,
            labels,
            rows,
            cols,
            classes,
        })
    }

    /// Sets the number of classes (the width of the one-hot targets), for instance 10 for MNIST
    /// even on a subset that lacks some digit.
    ///
    /// Fails with [`Error::LabelOutOfRange`] when some label is `classes` or more.
    pub fn with_classes(mut self, classes: usize) -> Result<Self> {
        if let Some(row) = self.labels.iter().position(|&l| usize::from(l) >= classes) {
            return Err(Error::LabelOutOfRange {
                label: usize::from(self.labels[row]),
                row,
                classes,
            });
        }
        self.classes = classes;
        Ok(self)
    }

    /// Reads an images file (3-d IDX) and its labels file (1-d IDX), raw or gzip-compressed,
    /// and checks that they hold as many images as labels.
    ///
    /// When `classes` is given, every label must be below it ([`Error::CorruptFile`] naming the
    /// labels file otherwise) and it becomes the class count; when `None`, the class count is the
    /// largest label plus one. Errors name the file concerned.
    pub fn from_files(images: &Path, labels: &Path, classes: Option<usize>) -> Result<Self> {
        let image_array = read_idx(images)?;
        let label_array = read_idx(labels)?;
        Self::from_idx(image_array, label_array, images, labels, classes)
    }

    /// Builds a set from already-read IDX arrays; the paths only name the files in errors.
    /// Checks as [`from_files`](Self::from_files) does.
    pub fn from_idx(
        images: IdxArray,
        labels: IdxArray,
        images_path: &Path,
        labels_path: &Path,
        classes: Option<usize>,
    ) -> Result<Self> {
        let &[count, rows, cols] = images.dims.as_slice() else {
            return Err(Error::corrupt(
                images_path,
                format!(
                    "expected 3 dimensions (images x rows x columns) for an images file, found \
                     {} ({}); is this a labels file?",
                    images.dims.len(),
                    images.shape_string()
                ),
            ));
        };
        let &[label_count] = labels.dims.as_slice() else {
            return Err(Error::corrupt(
                labels_path,
                format!(
                    "expected 1 dimension for a labels file, found {} ({}); is this an images \
                     file?",
                    labels.dims.len(),
                    labels.shape_string()
                ),
            ));
        };
        if rows == 0 || cols == 0 {
            return Err(Error::corrupt(
                images_path,
                format!("the images are {rows}x{cols} pixels: expected at least 1x1"),
            ));
        }
        if count == 0 {
            return Err(Error::corrupt(
                images_path,
                "the file holds no image: give a file with at least one image",
            ));
        }
        if count != label_count {
            return Err(Error::corrupt(
                labels_path,
                format!(
                    "{label_count} labels but {} holds {count} images: give one label per image \
                     (are the two files from the same set?)",
                    images_path.display()
                ),
            ));
        }
        if let Some(classes) = classes {
            if let Some(row) = labels.data.iter().position(|&l| usize::from(l) >= classes) {
                return Err(Error::corrupt(
                    labels_path,
                    format!(
                        "label {} at row {row} is out of range: expected a class below \
                         {classes}; is this the right file, or does the set have more classes?",
                        labels.data[row]
                    ),
                ));
            }
        }
        let mut set = Self::new(images.data, labels.data, rows, cols)?;
        if let Some(classes) = classes {
            set.classes = classes;
        }
        Ok(set)
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` when there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Height of an image in pixels (28 for MNIST).
    pub fn image_rows(&self) -> usize {
        self.rows
    }

    /// Width of an image in pixels (28 for MNIST).
    pub fn image_cols(&self) -> usize {
        self.cols
    }

    /// Pixels per image, `image_rows() * image_cols()` (784 for MNIST).
    pub fn image_len(&self) -> usize {
        self.rows * self.cols
    }

    /// The shape of one image as a model takes it: one channel of `image_rows()` by
    /// `image_cols()` pixels, `(1, 28, 28)` for MNIST, for
    /// [`Sequential::builder_shaped`](crate::Sequential::builder_shaped).
    ///
    /// ```
    /// use feedforward::data::mnist::LabeledImages;
    /// use feedforward::layers::Shape;
    ///
    /// let images = LabeledImages::new(vec![0; 2 * 784], vec![3, 7], 28, 28)?;
    /// assert_eq!(images.shape(), Shape::image(1, 28, 28)?);
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    pub fn shape(&self) -> crate::layers::Shape {
        crate::layers::Shape::image(1, self.rows, self.cols)
            .expect("LabeledImages::new checked that the shape can be counted")
    }

    /// Number of classes: the width of the one-hot targets.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The pixels of image `i`, row-major, 0 (black) to 255 (white).
    ///
    /// # Panics
    /// When `i >= len()`, like slice indexing.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.images[i * n..(i + 1) * n]
    }

    /// The label of image `i`.
    ///
    /// # Panics
    /// When `i >= len()`, like slice indexing.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// All labels, one per image.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// All pixels, image after image, each row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.images
    }

    /// How many images each class has, indexed by class (`classes()` entries).
    pub fn label_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(l)) {
                *c += 1;
            }
        }
        counts
    }

    /// The pixels of image `i` in rows `rows` and columns `cols`, as a table: the tutorial prints
    /// rows 5..25, columns 7..22 of the first training image.
    ///
    /// Fails with [`Error::InvalidConfig`] when `i` or a range is outside the image set.
    pub fn pixel_table(
        &self,
        i: usize,
        rows: Range<usize>,
        cols: Range<usize>,
    ) -> Result<Array2<u8>> {
        if i >= self.len() {
            return Err(Error::config(
                "image index",
                i,
                format!("an index below {}", self.len()),
            ));
        }
        if rows.start > rows.end || rows.end > self.rows {
            return Err(Error::config(
                "row range",
                format!("{rows:?}"),
                format!("a range within 0..{}", self.rows),
            ));
        }
        if cols.start > cols.end || cols.end > self.cols {
            return Err(Error::config(
                "column range",
                format!("{cols:?}"),
                format!("a range within 0..{}", self.cols),
            ));
        }
        let image = self.image(i);
        let width = self.cols;
        Ok(Array2::from_shape_fn((rows.len(), cols.len()), |(r, c)| {
            image[(rows.start + r) * width + cols.start + c]
        }))
    }

    /// The images of `self` followed by those of `other` (the tutorial's 70,000 rows are the
    /// training set then the test set). The class count is the larger of the two.
    ///
    /// Fails with [`Error::ShapeMismatch`] when the image sizes differ.
    pub fn concat(&self, other: &LabeledImages) -> Result<LabeledImages> {
        if (self.rows, self.cols) != (other.rows, other.cols) {
            return Err(Error::shape(
                "LabeledImages::concat",
                format!("images of {}x{} pixels", self.rows, self.cols),
                format!("images of {}x{} pixels", other.rows, other.cols),
            ));
        }
        let mut images = Vec::with_capacity(self.images.len() + other.images.len());
        images.extend_from_slice(&self.images);
        images.extend_from_slice(&other.images);
        let mut labels = Vec::with_capacity(self.labels.len() + other.labels.len());
        labels.extend_from_slice(&self.labels);
        labels.extend_from_slice(&other.labels);
        Ok(LabeledImages {
            images,
            labels,
            rows: self.rows,
            cols: self.cols,
            classes: self.classes.max(other.classes),
        })
    }

    /// The images at `indices`, in that order (an index may repeat), for instance one side of a
    /// train/test split. The class count is kept.
    ///
    /// Fails with [`Error::InvalidConfig`] when an index is `len()` or more.
    pub fn select(&self, indices: &[usize]) -> Result<LabeledImages> {
        if let Some((pos, &bad)) = indices.iter().enumerate().find(|(_, &i)| i >= self.len()) {
            return Err(Error::config(
                "indices",
                format!("{bad} at position {pos}"),
                format!("indices below the number of images, {}", self.len()),
            ));
        }
        let n = self.image_len();
        let mut images = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Ok(LabeledImages {
            images,
            labels,
            rows: self.rows,
            cols: self.cols,
            classes: self.classes,
        })
    }
}

/// Writes `src / 255` into `dst`, element by element.
#[inline]
fn normalise_into<'a>(dst: impl Iterator<Item = &'a mut f32>, src: &[u8]) {
    for (d, &x) in dst.zip(src) {
        *d = x as f32 / 255.0;
    }
}

/// Writes `src[i] / 255` into `dst[i]` for the shorter of the two, with the widest vectors the
/// processor has (checked at run time, the answer cached by the standard library). Every path
/// divides (IEEE division is correctly rounded), so all give exactly `x as f32 / 255.0`;
/// multiplying by `1 / 255` would not. A batch of 32 images: 3.7 us on SSE2, 1.0 us on AVX-512.
fn normalise(dst: &mut [f32], src: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F.
            return unsafe { normalise_avx512(dst, src) };
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            return unsafe { normalise_avx2(dst, src) };
        }
    }
    normalise_portable(dst, src)
}

/// [`normalise`] as a plain loop, which the compiler vectorises for the features enabled where
/// it is inlined.
#[inline(always)]
fn normalise_portable(dst: &mut [f32], src: &[u8]) {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = x as f32 / 255.0;
    }
}

/// [`normalise`] in 8 lanes: `vpmovzxbd`, `vcvtdq2ps`, `vdivps` on `ymm` registers.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn normalise_avx2(dst: &mut [f32], src: &[u8]) {
    normalise_portable(dst, src)
}

/// [`normalise`] in 16 lanes: the same instructions on `zmm` registers.
///
/// # Safety
/// The processor must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn normalise_avx512(dst: &mut [f32], src: &[u8]) {
    normalise_portable(dst, src)
}

/// The most bytes of images [`read_ahead`] asks for: the next batch of up to 83 images of 784
/// pixels, a fraction of the L2 cache.
const READ_AHEAD_BYTES: usize = 64 << 10;

/// When `rows` are consecutive (training in order, evaluation), asks for the images of the rows
/// that follow them, most likely the next batch, to be loaded into the L2 cache: they then
/// arrive from memory while the model computes on this batch. The 44 MB of training images do
/// not fit in the caches, and without it the conversion waited on memory (the tutorial's 20
/// epochs: 0.34 -> 0.29 s). A hint only: values never change, and nothing happens elsewhere.
#[inline]
fn read_ahead(images: &[u8], rows: &[usize], width: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        let (Some(&last), true) = (rows.last(), rows.windows(2).all(|w| w[1] == w[0] + 1)) else {
            return;
        };
        let start = last
            .saturating_add(1)
            .saturating_mul(width)
            .min(images.len());
        let len = (rows.len() * width).min(READ_AHEAD_BYTES);
        let end = start.saturating_add(len).min(images.len());
        for line in images[start..end].chunks(64) {
            // SAFETY: SSE is part of x86-64, and a prefetch never faults nor changes memory.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(line.as_ptr().cast()) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (images, rows, width);
}

impl Dataset for LabeledImages {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn input_width(&self) -> usize {
        self.image_len()
    }

    fn target_width(&self) -> usize {
        self.classes
    }

    fn fill_batch(
        &self,
        rows: &[usize],
        mut inputs: ArrayViewMut2<'_, f32>,
        mut targets: ArrayViewMut2<'_, f32>,
    ) -> crate::Result<()> {
        let width = self.image_len();
        debug_assert_eq!(inputs.dim(), (rows.len(), width));
        debug_assert_eq!(targets.dim(), (rows.len(), self.classes));
        if let Some(flat) = inputs.as_slice_mut() {
            for (dst, &row) in flat.chunks_exact_mut(width).zip(rows) {
                normalise(dst, self.image(row));
            }
        } else {
            for (mut dst, &row) in inputs.rows_mut().into_iter().zip(rows) {
                let src = self.image(row);
                match dst.as_slice_mut() {
                    Some(slice) => normalise(slice, src),
                    None => normalise_into(dst.iter_mut(), src),
                }
            }
        }
        read_ahead(&self.images, rows, width);
        targets.fill(0.0);
        for (r, &row) in rows.iter().enumerate() {
            if let Some(t) = targets.get_mut((r, usize::from(self.labels[row]))) {
                *t = 1.0;
            }
        }
        Ok(())
    }

    fn class_of(&self, row: usize) -> Option<usize> {
        self.labels.get(row).map(|&l| usize::from(l))
    }
}

#[cfg(test)]
mod normalise_tests {
    use super::*;

    /// A conversion from bytes to `f32`.
    type Conversion = fn(&mut [f32], &[u8]);

    /// Every path this processor can run.
    fn paths() -> Vec<(&'static str, Conversion)> {
        #[allow(unused_mut)]
        let mut paths: Vec<(&'static str, Conversion)> =
            vec![("dispatched", normalise), ("portable", normalise_portable)];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                // SAFETY: the processor has AVX2.
                paths.push(("avx2", |d, s| unsafe { normalise_avx2(d, s) }));
            }
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: the processor has AVX-512F.
                paths.push(("avx512", |d, s| unsafe { normalise_avx512(d, s) }));
            }
        }
        paths
    }

    #[test]
    fn read_ahead_stays_within_the_images() {
        let images = vec![7u8; 10 * 784 + 5];
        let rows: [&[usize]; 7] = [
            &[],
            &[9],
            &[8, 9],
            &[3, 4, 5],
            &[5, 3],
            &[0, 1],
            &[usize::MAX],
        ];
        for rows in rows {
            read_ahead(&images, rows, 784);
            read_ahead(&images[..10], rows, 784);
        }
    }

    #[test]
    fn every_path_divides_every_byte_exactly() {
        // All 256 values, at every offset and over lengths that leave every possible tail.
        let bytes: Vec<u8> = (0..=255).chain((0..=255).rev()).chain(0..=255).collect();
        for (name, path) in paths() {
            for start in 0..17 {
                for len in (0..70).chain([255, 256, 257, 511, 784, 785]) {
                    let src = &bytes[start..(start + len).min(bytes.len())];
                    let mut dst = vec![f32::NAN; src.len() + 1];
                    path(&mut dst, src);
                    for (i, (&d, &x)) in dst.iter().zip(src).enumerate() {
                        let want = x as f32 / 255.0;
                        assert_eq!(d.to_bits(), want.to_bits(), "{name}: byte {x} at {i}");
                    }
                    assert!(dst[src.len()].is_nan(), "{name} wrote past the source");
                }
            }
        }
    }
}
