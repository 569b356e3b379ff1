//! The products of large shapes, handed to the `gemm` crate: a blocked general matrix
//! multiplication that packs both operands into cache-sized panels, with AVX-512 and AVX2
//! micro-kernels chosen at run time, and splits its work over rayon's threads.
//!
//! Packing copies the operands on every call and allocates the buffers for them, which costs
//! more than the arithmetic on the thin shapes of a batch of 32 (the `blocked` kernels win there,
//! see [`super::packs`]); from a batch of 64 rows on, with both widths at least 64, the reuse
//! of every packed panel repays it. Each product is written as its transpose, `C^T = B^T A^T`,
//! so that `gemm` writes a column-major destination, its native layout: measured faster for
//! the input and weight gradients at 256 x 4096 x 4096 (see the commit introducing this file).
//!
//! Threads: each runs `gemm` alone (`Parallelism::None`) on a fixed contiguous part of the
//! rows of the product, a multiple of 64 rows ([`ROW_ALIGN`]), and packs its own operands.
//! Measured against `gemm`'s own threads (`Parallelism::Rayon(2)`) on the products of a
//! batch of 256, 2-core Xeon (AVX-512), medians of 40 interleaved runs, GFLOP/s: forward
//! 784x1024 188 -> 265, 1024x1024 125 -> 209; weight gradient 1024x1024 158 -> 259; input
//! gradient 1024x1024 154 -> 228; `gemm`'s threads wait while the calling thread packs the
//! right-hand side. A whole training run (`bench_mlp`, alternating): 784-1024-1024-10 at batch
//! 256 1.93 -> 1.73 s, 784-128-128-10 at batch 256 2.0 -> 1.74 s.
//!
//! The `gemm` crate is a front for one crate per element type (`gemm-f32`, `gemm-f64`,
//! `gemm-c32`, `gemm-c64`): only `gemm-f32` is a dependency here, called through [`gemm`] below,
//! which does what the front's `gemm` does for `f32` and positive strides. The three crates of
//! other types cost some 60 s of processor time in every optimised build (`cargo build
//! --timings`, the test profile), a third of a minute of every clean build on two cores.
//!
//! `gemm` sums every output element over `k` in one fixed order (by blocks of `k` chosen from
//! `k` and the cache sizes, never from the other dimensions, the number of threads or timing),
//! and the threads split only the rows of the output: results are bit-identical from run to run
//! and whatever the number of threads (tested in `super::tests`).

use gemm_common::Parallelism;
use rayon::prelude::*;

/// `dst := alpha dst + beta lhs.rhs` for `f32` matrices with positive strides, as the `gemm`
/// crate's `gemm` computes it (same arguments without the three `conj` flags): the product is
/// transposed when the destination is column-oriented (`|dst_cs| < |dst_rs|`), the micro-kernels'
/// preferred layout, then handed to `gemm-f32`'s kernel for this processor. With `read_dst`
/// false, `dst` is only written.
///
/// # Safety
/// The matrices hold every element their strides reach; the strides are positive.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_cs: isize,
    dst_rs: isize,
    read_dst: bool,
    lhs: *const f32,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const f32,
    rhs_cs: isize,
    rhs_rs: isize,
    alpha: f32,
    beta: f32,
    parallelism: Parallelism,
) {
    let kernel = gemm_f32::gemm::f32::get_gemm_fn();
    if dst_cs.abs() < dst_rs.abs() {
        // C^T = B^T A^T: the transposed destination is row-oriented.
        kernel(
            n,
            m,
            k,
            dst,
            dst_rs,
            dst_cs,
            read_dst,
            rhs,
            rhs_rs,
            rhs_cs,
            lhs,
            lhs_rs,
            lhs_cs,
            alpha,
            beta,
            false,
            false,
            false,
            parallelism,
        )
    } else {
        kernel(
            m,
            n,
            k,
            dst,
            dst_cs,
            dst_rs,
            read_dst,
            lhs,
            lhs_cs,
            lhs_rs,
            rhs,
            rhs_cs,
            rhs_rs,
            alpha,
            beta,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// The rows of `C` that a thread takes are a multiple of this (the height of `gemm`'s AVX-512
/// micro-kernel, 4 vectors of 16), so that only the last part ends in a narrower tile.
const ROW_ALIGN: usize = 64;

/// The outputs that a thread takes in the forward pass are a multiple of this.
const COL_ALIGN: usize = 16;

/// `C = A.B` for `A (rows, inner)`, `B (inner, cols)`; every matrix given by its first element
/// and its (row, column) strides in elements. With `accumulate`, `C = C + A.B`, else `C` is
/// overwritten (never read: whatever it holds, NaN included, is ignored).
#[derive(Clone, Copy)]
struct Product<'a> {
    rows: usize,
    inner: usize,
    cols: usize,
    a: (&'a [f32], isize, isize),
    b: (&'a [f32], isize, isize),
}

impl Product<'_> {
    /// Runs the product into `c` with strides `(c_rs, c_cs)` on up to `threads` threads.
    fn run(&self, c: &mut [f32], c_rs: isize, c_cs: isize, accumulate: bool, threads: usize) {
        let (a, a_rs, a_cs) = self.a;
        let (b, b_rs, b_cs) = self.b;
        let last = |rows: usize, cols: usize, rs: isize, cs: isize| {
            (rows - 1) * rs.unsigned_abs() + (cols - 1) * cs.unsigned_abs()
        };
        // The bounds that make the raw pointers below valid.
        assert!(self.rows > 0 && self.inner > 0 && self.cols > 0);
        assert!(last(self.rows, self.inner, a_rs, a_cs) < a.len());
        assert!(last(self.inner, self.cols, b_rs, b_cs) < b.len());
        assert!(last(self.rows, self.cols, c_rs, c_cs) < c.len());
        if threads <= 1 || self.rows < 2 * ROW_ALIGN {
            // SAFETY: the asserts above.
            unsafe { self.run_rows(0..self.rows, c.as_mut_ptr(), c_rs, c_cs, accumulate) };
            return;
        }
        // Each thread runs `gemm` alone on a contiguous part of the rows of `C` (and of `A`),
        // packing its own operands: measured faster than `gemm`'s own threads, which pack the
        // right-hand side on the calling thread while the others wait (see the commit).
        let c_addr = c.as_mut_ptr() as usize;
        rayon::scope(|scope| {
            for rows in aligned_parts(self.rows, threads, ROW_ALIGN) {
                scope.spawn(move |_| {
                    // SAFETY: the asserts above; the parts' rows are disjoint, so no element of
                    // `C` is written by two threads, and `c` stays borrowed mutably until the
                    // scope ends.
                    unsafe { self.run_rows(rows, c_addr as *mut f32, c_rs, c_cs, accumulate) }
                });
            }
        });
    }

    /// Runs the rows `rows` of the product on the calling thread, `c` pointing at `C`'s first
    /// element.
    ///
    /// # Safety
    /// The operands and `C` hold every element their strides reach (the asserts of
    /// [`Self::run`]), and no other thread reads or writes `C`'s rows `rows` meanwhile.
    unsafe fn run_rows(
        &self,
        rows: std::ops::Range<usize>,
        c: *mut f32,
        c_rs: isize,
        c_cs: isize,
        accumulate: bool,
    ) {
        let (a, a_rs, a_cs) = self.a;
        let (b, b_rs, b_cs) = self.b;
        let first = rows.start as isize;
        // SAFETY: the caller's contract; the strides are positive and the rows in range.
        unsafe {
            gemm(
                rows.len(),
                self.cols,
                self.inner,
                c.offset(first * c_rs),
                c_cs,
                c_rs,
                accumulate,
                a.as_ptr().offset(first * a_rs),
                a_cs,
                a_rs,
                b.as_ptr(),
                b_cs,
                b_rs,
                1.0,
                1.0,
                Parallelism::None,
            )
        }
    }
}

/// [`forward`](super::forward): `Y (m, n) = X (m, k) . Wt^T (k, n) + bias`, computed
/// column-major into `scratch` (`Y^T`, one output's column of `m` values after another, each
/// starting as the bias) and transposed into the row-major `y`.
///
/// Why column-major: `gemm` then reads the weights as its right-hand side, column by column
/// along their rows of `wt` (contiguous, no transposing copy), and packs only the `m` rows of
/// `x` (each thread all of them). Written as `Y^T = Wt . X^T` into `y` directly, `gemm` packs
/// the weights with one strided load per element, 64 rows at a time; at 1,024 or 4,096 inputs
/// those rows sit 4 KB or 16 KB apart, all in the same L1 set. Medians of 40 interleaved runs,
/// batch 256, 2 threads, GFLOP/s, before -> after: 1024x1024 176 -> 189, 4096x4096 184 -> 214,
/// 784x1024 208 -> 208. When two threads would pack more rows of `x` than there are outputs
/// (`2 m > n`: 784-128-128-10 at a batch of 256 ran 15% slower), the weights are packed as
/// before.
///
/// Threads split the outputs (each reads its part of the weights only); the transposition
/// splits the rows of `y`. `scratch` grows to `m n` values once and is reused.
///
/// The `m` rows may be part of a batch of `batch_rows` rows ([`super::forward_part`]): the
/// layout is chosen by the batch's rows, so that a row's bits do not depend on the part.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward(
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    y: &mut [f32],
    m: usize,
    batch_rows: usize,
    k: usize,
    n: usize,
    threads: usize,
    scratch: &mut Vec<f32>,
) {
    if 2 * batch_rows > n {
        // Fewer outputs than the rows that two threads would pack: `gemm` packs the weights,
        // `Y^T = Wt . X^T` (a rule of the shape alone: the two ways round the results differ
        // in the last bit, and they must not depend on the number of threads).
        for row in y.chunks_exact_mut(n) {
            row.copy_from_slice(bias);
        }
        let (ki, ni) = (k as isize, n as isize);
        let product = Product {
            rows: n,
            inner: k,
            cols: m,
            a: (wt, ki, 1),
            b: (x, 1, ki),
        };
        return product.run(y, 1, ni, true, threads);
    }
    if scratch.len() < m * n {
        scratch.resize(m * n, 0.0);
    }
    let yt = &mut scratch[..m * n];
    // The outputs `bias.len()` whose weights are `wt` (their rows) into their columns `yt`.
    let outputs = |yt: &mut [f32], wt: &[f32], bias: &[f32]| {
        for (column, &b) in yt.chunks_exact_mut(m).zip(bias) {
            column.fill(b);
        }
        Product {
            rows: m,
            inner: k,
            cols: bias.len(),
            a: (x, k as isize, 1),
            b: (wt, 1, k as isize),
        }
        .run(yt, 1, m as isize, true, 1);
    };
    if threads <= 1 || n < 2 * COL_ALIGN {
        outputs(yt, wt, bias);
        transpose(yt, y, m, n, 0);
        return;
    }
    rayon::scope(|scope| {
        let (mut yt, mut wt, mut bias) = (&mut *yt, wt, bias);
        for part in aligned_parts(n, threads, COL_ALIGN) {
            let width = part.len();
            let (yt_part, yt_rest) = std::mem::take(&mut yt).split_at_mut(width * m);
            let (wt_part, wt_rest) = wt.split_at(width * k);
            let (bias_part, bias_rest) = bias.split_at(width);
            (yt, wt, bias) = (yt_rest, wt_rest, bias_rest);
            scope.spawn(move |_| outputs(yt_part, wt_part, bias_part));
        }
    });
    let rows = m.div_ceil(threads);
    let yt = &*yt;
    y.par_chunks_mut(rows * n)
        .enumerate()
        .for_each(|(part, y)| transpose(yt, y, m, n, part * rows));
}

/// `total` rows (or columns) in contiguous parts for up to `threads` threads, in order: part
/// `p` starts at `p total / parts` rounded down to a multiple of `align`, so that every part
/// holds at least `align` of them when `total >= align` (`gemm` takes other paths, summing in
/// another order, for a single row or column). Fewer parts than threads when `total` is short:
/// `min(threads, total / align)`, at least 1.
fn aligned_parts(
    total: usize,
    threads: usize,
    align: usize,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    let parts = threads.min(total / align).max(1);
    let start = move |part: usize| {
        if part == parts {
            total
        } else {
            part * total / parts / align * align
        }
    };
    (0..parts).map(move |part| start(part)..start(part + 1))
}

/// Copies the column-major `(m, n)` `yt` into the rows `first..` of the row-major `(m, n)`
/// matrix whose rows from `first` on are `y`, by blocks of 16 columns (each block reads 16
/// columns of `yt`, a cache line each per 16 rows, and writes whole lines of `y`).
fn transpose(yt: &[f32], y: &mut [f32], m: usize, n: usize, first: usize) {
    for start in (0..n).step_by(16) {
        let end = (start + 16).min(n);
        for (r, row) in y.chunks_exact_mut(n).enumerate() {
            let r = first + r;
            for (j, value) in (start..end).zip(&mut row[start..end]) {
                *value = yt[j * m + r];
            }
        }
    }
}

/// [`weight_grad`](super::weight_grad): `dW (k, n) = X^T (k, m) . G (m, n)`, written into the
/// `(n, k)` row-major `dwt` as its column-major transpose.
#[allow(clippy::too_many_arguments)]
pub(super) fn weight_grad(
    x: &[f32],
    g: &[f32],
    dwt: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
) {
    let (ki, ni) = (k as isize, n as isize);
    Product {
        rows: k,
        inner: m,
        cols: n,
        a: (x, 1, ki),
        b: (g, ni, 1),
    }
    .run(dwt, 1, ki, false, threads);
}

/// [`input_grad`](super::input_grad): `dX^T (k, m) = Wt^T (k, n) . G^T (n, m)`, written into
/// the `(m, k)` row-major `dx` as its column-major transpose.
#[allow(clippy::too_many_arguments)]
pub(super) fn input_grad(
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
) {
    let (ki, ni) = (k as isize, n as isize);
    Product {
        rows: k,
        inner: n,
        cols: m,
        a: (wt, 1, ki),
        b: (g, 1, ni),
    }
    .run(dx, 1, ki, false, threads);
}

#[cfg(test)]
mod tests {
    use super::aligned_parts;

    #[test]
    fn aligned_parts_cover_the_total_in_order_each_at_least_one_alignment() {
        for total in [1, 15, 16, 63, 64, 65, 127, 128, 130, 257, 784, 1024, 4097] {
            for threads in 1..=9 {
                for align in [16, 64] {
                    let parts: Vec<_> = aligned_parts(total, threads, align).collect();
                    let expected = threads.min(total / align).max(1);
                    assert_eq!(parts.len(), expected, "{total} {threads} {align}");
                    assert_eq!(parts[0].start, 0);
                    assert_eq!(parts.last().unwrap().end, total);
                    for pair in parts.windows(2) {
                        assert_eq!(pair[0].end, pair[1].start);
                        assert_eq!(pair[1].start % align, 0);
                    }
                    if total >= align {
                        assert!(parts.iter().all(|p| p.len() >= align), "{parts:?}");
                    }
                }
            }
        }
    }
}
