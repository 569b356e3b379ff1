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
//! `gemm` sums every output element over `k` in one fixed order (by blocks of `k` chosen from
//! the shapes and the cache sizes, never from the number of threads or from timing), and splits
//! only the outputs between threads: results are bit-identical from run to run and whatever the
//! number of threads (tested in `super::tests`).

use gemm::{gemm, Parallelism};

/// `C = A.B` for `A (rows, inner)`, `B (inner, cols)`; every matrix given by its first element
/// and its (row, column) strides in elements. With `accumulate`, `C = C + A.B`, else `C` is
/// overwritten (never read: whatever it holds, NaN included, is ignored).
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
        let parallelism = match threads {
            0 | 1 => Parallelism::None,
            t => Parallelism::Rayon(t),
        };
        // SAFETY: the asserts above keep every element that the strides reach inside its
        // slice; `c` is borrowed mutably, `a` and `b` shared, so none overlaps `c`; the strides
        // are positive.
        unsafe {
            gemm(
                self.rows,
                self.cols,
                self.inner,
                c.as_mut_ptr(),
                c_cs,
                c_rs,
                accumulate,
                a.as_ptr(),
                a_cs,
                a_rs,
                b.as_ptr(),
                b_cs,
                b_rs,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            )
        }
    }
}

/// [`forward`](super::forward): `Y^T (n, m) = Wt (n, k) . X^T (k, m)` added to `Y` filled with
/// the bias.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward(
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    y: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
) {
    for row in y.chunks_exact_mut(n) {
        row.copy_from_slice(bias);
    }
    let (ki, ni) = (k as isize, n as isize);
    Product {
        rows: n,
        inner: k,
        cols: m,
        a: (wt, ki, 1),
        b: (x, 1, ki),
    }
    .run(y, 1, ni, true, threads);
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
