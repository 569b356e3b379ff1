//! Register-blocked kernels: [`forward`](super::forward), [`weight_grad`](super::weight_grad)
//! and [`input_grad`](super::input_grad) written once, generic over [`Simd`] (a vector type and
//! its operations) and over the size of the block of results kept in registers:
//!
//! - `forward` holds `R x J` dot products (rows by outputs) as vector accumulators along `k` and
//!   sums each accumulator's lanes at the end;
//! - `weight_grad` holds `J` outputs by `C` vectors of `k` of `dwt` while it runs over the rows;
//! - `input_grad` holds `R` rows by `C` vectors of `k` of `dx` while it runs over the outputs.
//!
//! The operands are read in place, never packed or copied, and nothing is allocated. This module
//! also has the portable vectors, [`Portable`], for processors without a specialised module
//! (`avx2`, `avx512`); another instruction set (NEON) is one more `Simd` implementation with
//! three wrappers that choose block sizes.

/// A vector of `LANES` `f32` lanes and the operations the kernels need. A value of the type is a
/// token: holding one proves the processor can run its operations.
pub(super) trait Simd: Copy {
    /// One vector.
    type V: Copy;
    /// Lanes per vector.
    const LANES: usize;
    /// All lanes zero.
    fn zero(self) -> Self::V;
    /// All lanes `v`.
    fn splat(self, v: f32) -> Self::V;
    /// The first `LANES` values of `src`.
    fn load(self, src: &[f32]) -> Self::V;
    /// Writes the lanes into the first `LANES` values of `dst`.
    fn store(self, v: Self::V, dst: &mut [f32]);
    /// `a * b + c`, lane by lane.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// The sum of the lanes, in a fixed order.
    fn sum(self, v: Self::V) -> f32;
    /// `a * b + c` on one value, rounded as `mul_add` rounds each lane.
    fn mul_add_scalar(self, a: f32, b: f32, c: f32) -> f32;
    /// Asks for the cache line of `value` to be loaded into the L1 cache.
    fn prefetch(self, value: &f32);
    /// `a * b`, lane by lane, rounded once.
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a - b`, lane by lane.
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    /// Writes the lanes into the first `LANES` values of `dst` as [`store`](Simd::store) does,
    /// with a streaming (non-temporal) store when `dst` starts a vector-aligned address and the
    /// instruction set has one: the line is not read first and does not fill the cache. Call
    /// [`fence`](Simd::fence) after the last one.
    fn stream(self, v: Self::V, dst: &mut [f32]);
    /// Orders the streaming stores made so far before later stores.
    fn fence(self);
    /// Whether any lane is NaN or infinite.
    fn any_non_finite(self, v: Self::V) -> bool;
}

/// Portable vectors: 8-lane arrays that the compiler vectorises for the target, multiply then
/// add (no fused multiply-add: without hardware support it is a slow library call).
#[derive(Clone, Copy, Debug)]
pub(super) struct Portable;

impl Simd for Portable {
    type V = [f32; 8];
    const LANES: usize = 8;

    #[inline(always)]
    fn zero(self) -> [f32; 8] {
        [0.0; 8]
    }

    #[inline(always)]
    fn splat(self, v: f32) -> [f32; 8] {
        [v; 8]
    }

    #[inline(always)]
    fn load(self, src: &[f32]) -> [f32; 8] {
        src[..8].try_into().expect("8 values")
    }

    #[inline(always)]
    fn store(self, v: [f32; 8], dst: &mut [f32]) {
        dst[..8].copy_from_slice(&v);
    }

    #[inline(always)]
    fn mul_add(self, a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        let mut r = c;
        for l in 0..8 {
            r[l] += a[l] * b[l];
        }
        r
    }

    #[inline(always)]
    fn sum(self, v: [f32; 8]) -> f32 {
        // Lanes l and l + 4, then l and l + 2, then 0 and 1.
        let mut q = [0.0; 4];
        for l in 0..4 {
            q[l] = v[l] + v[l + 4];
        }
        (q[0] + q[2]) + (q[1] + q[3])
    }

    #[inline(always)]
    fn mul_add_scalar(self, a: f32, b: f32, c: f32) -> f32 {
        c + a * b
    }

    #[inline(always)]
    fn prefetch(self, _value: &f32) {}

    #[inline(always)]
    fn mul(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        let mut r = a;
        for l in 0..8 {
            r[l] *= b[l];
        }
        r
    }

    #[inline(always)]
    fn sub(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        let mut r = a;
        for l in 0..8 {
            r[l] -= b[l];
        }
        r
    }

    #[inline(always)]
    fn stream(self, v: [f32; 8], dst: &mut [f32]) {
        self.store(v, dst)
    }

    #[inline(always)]
    fn fence(self) {}

    #[inline(always)]
    fn any_non_finite(self, v: [f32; 8]) -> bool {
        v.iter()
            .fold(false, |bad, &x| bad | crate::optim::non_finite(x))
    }
}

/// [`forward`](super::forward) with portable vectors, for `m = x.len() / k` rows.
pub(super) fn forward(x: &[f32], wt: &[f32], bias: &[f32], y: &mut [f32], k: usize, n: usize) {
    forward_body::<_, 1, 8>(Portable, x, wt, bias, y, k, n)
}

/// [`weight_grad`](super::weight_grad) with portable vectors, for the outputs `outputs`
/// (the rows of `dwt`).
#[allow(clippy::too_many_arguments)]
pub(super) fn weight_grad(
    x: &[f32],
    g: &[f32],
    out: &mut impl GradOut<Portable>,
    m: usize,
    k: usize,
    n: usize,
    outputs: std::ops::Range<usize>,
) {
    weight_grad_body::<_, _, 2, 2>(Portable, x, g, out, m, k, n, outputs)
}

/// [`input_grad`](super::input_grad) with portable vectors, for the columns `columns` (see
/// [`input_grad_body`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn input_grad(
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    columns: std::ops::Range<usize>,
) {
    input_grad_body::<_, 2, 2>(Portable, g, wt, dx, m, k, n, columns)
}

// ---------------------------------------------------------------------------------------------
// Kernel bodies, generic over the vector type and the register block. They call the vector
// operations from plain loops, never from closures: a closure that the compiler does not inline
// is compiled without AVX2, and the operations in it become calls. Leftover rows, outputs or
// vectors that do not fill a block run with a block of one; leftover values of `k` that do not
// fill a vector are added one by one.

/// Inputs larger than this are prefetched row block by row block in [`forward_body`]: half the
/// L2 cache of a core on current x86-64 processors.
const PREFETCH_ABOVE_BYTES: usize = 512 << 10;

/// With fewer outputs than this, [`forward_body`] prefetches its input whatever its size: each
/// row is then read once, for a few outputs, and the product runs as fast as the rows arrive.
/// A batch is not always in the cache: `train_step` on the rows of a large matrix reads them
/// from memory. The tutorial's 784 -> 10 at a batch of 32, slices of 56,000 rows in turn
/// (`bench_mlp --hidden 0`), 20 epochs, alternating runs: 0.93-1.04 s (median 0.96) -> 0.84-0.93
/// s (0.91); with the rows in the cache (`--rows 320`) level, 0.72 against 0.74 s. With many
/// outputs each row is reused from L1 by every output block, and prefetching a small batch
/// measured 3% slower (784 -> 128, batch 32).
const PREFETCH_BELOW_OUTPUTS: usize = 16;

/// Weights (or weight gradients) larger than this do not stay in a core's L2 cache (1 MB on
/// Zen 4, 2 MB on current Xeons) between two passes over them: the kernels then walk them in
/// panels of [`PANEL_BYTES`], so that they come from memory once per product.
const LARGE_BYTES: usize = 1 << 20;

/// The size of the weight panels of large products: small enough to stay in L2 beside the
/// batch they are combined with.
const PANEL_BYTES: usize = 256 << 10;

/// Whether a `(rows, cols)` matrix of weights is large (see [`LARGE_BYTES`]).
fn large(rows: usize, cols: usize) -> bool {
    rows * cols * std::mem::size_of::<f32>() > LARGE_BYTES
}

/// [`forward`](super::forward) in blocks of `R` rows by `J` outputs. Large weights are walked in
/// panels of outputs, all rows for each panel, so that they are read from memory once (rows
/// outer would read them once per block of rows: 8 times for a batch of 32). Every sum is
/// taken in the same order either way.
#[inline(always)]
pub(super) fn forward_body<S: Simd, const R: usize, const J: usize>(
    s: S,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    y: &mut [f32],
    k: usize,
    n: usize,
) {
    let panel = if large(n, k) {
        (PANEL_BYTES / std::mem::size_of::<f32>() / k / J * J).max(J)
    } else {
        n
    };
    let mut p0 = 0;
    while p0 < n {
        let p1 = (p0 + panel).min(n);
        forward_panel::<S, R, J>(s, x, wt, bias, y, k, n, p0..p1);
        p0 = p1;
    }
}

/// [`forward`](super::forward) of every row for the outputs in `outputs`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn forward_panel<S: Simd, const R: usize, const J: usize>(
    s: S,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    y: &mut [f32],
    k: usize,
    n: usize,
    outputs: std::ops::Range<usize>,
) {
    let m = x.len() / k;
    // Large batches come from memory, not the cache, and so may any batch read for a few
    // outputs only: prefetch the next block's rows (see the two constants).
    let prefetch = std::mem::size_of_val(x) > PREFETCH_ABOVE_BYTES || n < PREFETCH_BELOW_OUTPUTS;
    let mut r0 = 0;
    while r0 + R <= m {
        let x_block = &x[r0 * k..(r0 + R) * k];
        let y_block = &mut y[r0 * n..(r0 + R) * n];
        let outputs = outputs.clone();
        if prefetch {
            let ahead = &x[((r0 + R) * k).min(x.len())..((r0 + 2 * R) * k).min(x.len())];
            forward_rows::<S, R, J, true>(s, x_block, ahead, wt, bias, y_block, k, n, outputs);
        } else {
            forward_rows::<S, R, J, false>(s, x_block, &[], wt, bias, y_block, k, n, outputs);
        }
        r0 += R;
    }
    // The rows left, two at a time, then one: each reads the weights once (a convolution's
    // weight gradient has 6 or 16 rows; every sum's order is the same in any block).
    while R > 2 && r0 + 2 <= m {
        let x_rows = &x[r0 * k..(r0 + 2) * k];
        let y_rows = &mut y[r0 * n..(r0 + 2) * n];
        let outputs = outputs.clone();
        forward_rows::<S, 2, J, false>(s, x_rows, &[], wt, bias, y_rows, k, n, outputs);
        r0 += 2;
    }
    while r0 < m {
        let x_row = &x[r0 * k..(r0 + 1) * k];
        let y_row = &mut y[r0 * n..(r0 + 1) * n];
        let outputs = outputs.clone();
        forward_rows::<S, 1, J, false>(s, x_row, &[], wt, bias, y_row, k, n, outputs);
        r0 += 1;
    }
}

/// [`forward`](super::forward) for the `R` rows of `x_block` (`R` by `k`) into `y_block` (`R`
/// by `n`), for the outputs in `outputs`; with `PREFETCH`, asks for the rows in `ahead` on the
/// way.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn forward_rows<S: Simd, const R: usize, const J: usize, const PREFETCH: bool>(
    s: S,
    x_block: &[f32],
    ahead: &[f32],
    wt: &[f32],
    bias: &[f32],
    y_block: &mut [f32],
    k: usize,
    n: usize,
    outputs: std::ops::Range<usize>,
) {
    let mut j0 = outputs.start;
    if PREFETCH && j0 + J <= outputs.end {
        let sums = dot_block::<S, R, J, true>(s, x_block, ahead, wt, j0, k);
        store_block(&sums, bias, y_block, j0, n);
        j0 += J;
    }
    while j0 + J <= outputs.end {
        let sums = dot_block::<S, R, J, false>(s, x_block, &[], wt, j0, k);
        store_block(&sums, bias, y_block, j0, n);
        j0 += J;
    }
    while j0 < outputs.end {
        let sums = dot_block::<S, R, 1, false>(s, x_block, &[], wt, j0, k);
        store_block(&sums, bias, y_block, j0, n);
        j0 += 1;
    }
}

/// `y_block[i][j0 + j] = sums[i][j] + bias[j0 + j]`.
#[inline(always)]
fn store_block<const R: usize, const J: usize>(
    sums: &[[f32; J]; R],
    bias: &[f32],
    y_block: &mut [f32],
    j0: usize,
    n: usize,
) {
    let bias = &bias[j0..j0 + J];
    for (i, row) in sums.iter().enumerate() {
        let y = &mut y_block[i * n + j0..i * n + j0 + J];
        for jj in 0..J {
            y[jj] = row[jj] + bias[jj];
        }
    }
}

/// `sum_t x_block[i][t] * wt[j0 + j][t]` for the `R` rows of `x_block` and `J` outputs;
/// prefetches `ahead` (`R` rows of `k` values, or fewer) on the way when `PREFETCH` is on.
#[inline(always)]
fn dot_block<S: Simd, const R: usize, const J: usize, const PREFETCH: bool>(
    s: S,
    x_block: &[f32],
    ahead: &[f32],
    wt: &[f32],
    j0: usize,
    k: usize,
) -> [[f32; J]; R] {
    let lanes = S::LANES;
    let kv = k / lanes * lanes;
    // Every row cut to its vector part, so that the loop's bound checks fold away. Plain loops,
    // not `array::from_fn`: its closure may stay a call, compiled without the target features.
    let mut xv_rows: [&[f32]; R] = [&[]; R];
    for (i, row) in xv_rows.iter_mut().enumerate() {
        *row = &x_block[i * k..i * k + kv];
    }
    let mut wv_rows: [&[f32]; J] = [&[]; J];
    for (j, row) in wv_rows.iter_mut().enumerate() {
        *row = &wt[(j0 + j) * k..(j0 + j) * k + kv];
    }
    // The rows ahead are contiguous: one stream of `R` vectors per step covers them.
    let mut ahead_steps = ahead.chunks(R * lanes);
    let mut acc = [[s.zero(); J]; R];
    let mut t = 0;
    while t + lanes <= kv {
        if PREFETCH {
            if let Some(step) = ahead_steps.next() {
                for value in step.iter().step_by(lanes) {
                    s.prefetch(value);
                }
            }
        }
        let mut xv = [s.zero(); R];
        for i in 0..R {
            xv[i] = s.load(&xv_rows[i][t..]);
        }
        for j in 0..J {
            let wv = s.load(&wv_rows[j][t..]);
            for i in 0..R {
                acc[i][j] = s.mul_add(xv[i], wv, acc[i][j]);
            }
        }
        t += lanes;
    }
    let mut sums = [[0.0; J]; R];
    for i in 0..R {
        for j in 0..J {
            let mut sum = s.sum(acc[i][j]);
            for t in kv..k {
                sum = s.mul_add_scalar(x_block[i * k + t], wt[(j0 + j) * k + t], sum);
            }
            sums[i][j] = sum;
        }
    }
    sums
}

/// [`weight_grad`](super::weight_grad) in blocks of `J` outputs by `C` vectors of `k`. Small
/// gradients are computed by column panels of `C` vectors, a panel of the rows staying in L1
/// while every output block runs over it. Large ones would then be written a few cache lines
/// per row at a time, scattered over megabytes: they are computed by chunks of columns whose
/// rows of the batch fill [`PANEL_BYTES`], each chunk's outputs one after the other, so that
/// every row of the gradient is written in long runs. Every sum runs over the rows in order
/// either way.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn weight_grad_body<S: Simd, O: GradOut<S>, const J: usize, const C: usize>(
    s: S,
    x: &[f32],
    g: &[f32],
    dwt: &mut O,
    m: usize,
    k: usize,
    n: usize,
    outputs: std::ops::Range<usize>,
) {
    let lanes = S::LANES;
    let vectors = k / lanes;
    let base = outputs.start;
    if large(n, k) {
        // Chunks of columns whose rows of the batch fill a panel; each chunk's outputs in
        // order, so that each row of `dwt` is written in long runs.
        let chunk = (PANEL_BYTES / std::mem::size_of::<f32>() / m.max(1) / lanes / C * C).max(C);
        let mut c0 = 0;
        while c0 < vectors {
            let c1 = (c0 + chunk).min(vectors);
            let mut j0 = base;
            while j0 + J <= outputs.end {
                weight_grad_outputs::<S, O, J, C>(s, x, g, dwt, m, k, n, c0..c1, j0, base);
                j0 += J;
            }
            while j0 < outputs.end {
                weight_grad_outputs::<S, O, 1, C>(s, x, g, dwt, m, k, n, c0..c1, j0, base);
                j0 += 1;
            }
            c0 = c1;
        }
    } else {
        // Column panels of `x`, `C` vectors wide: a panel of 32 rows stays in the L1 cache
        // while every output block runs over it.
        let mut c0 = 0;
        while c0 + C <= vectors {
            weight_grad_panel::<S, O, J, C>(s, x, g, dwt, m, k, n, c0 * lanes, outputs.clone());
            c0 += C;
        }
        while c0 < vectors {
            weight_grad_panel::<S, O, J, 1>(s, x, g, dwt, m, k, n, c0 * lanes, outputs.clone());
            c0 += 1;
        }
    }
    for t in vectors * lanes..k {
        for j in outputs.clone() {
            let mut sum = 0.0;
            for r in 0..m {
                sum = s.mul_add_scalar(g[r * n + j], x[r * k + t], sum);
            }
            dwt.put_scalar(sum, (j - base) * k + t);
        }
    }
}

/// [`weight_grad`](super::weight_grad) for `J` outputs from `j0` and the vectors `vectors` of
/// `k`, `C` at a time.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn weight_grad_outputs<S: Simd, O: GradOut<S>, const J: usize, const C: usize>(
    s: S,
    x: &[f32],
    g: &[f32],
    dwt: &mut O,
    m: usize,
    k: usize,
    n: usize,
    vectors: std::ops::Range<usize>,
    j0: usize,
    base: usize,
) {
    let lanes = S::LANES;
    let mut c0 = vectors.start;
    while c0 + C <= vectors.end {
        weight_grad_block::<S, O, J, C>(s, x, g, dwt, m, k, n, c0 * lanes, j0, base);
        c0 += C;
    }
    while c0 < vectors.end {
        weight_grad_block::<S, O, J, 1>(s, x, g, dwt, m, k, n, c0 * lanes, j0, base);
        c0 += 1;
    }
}

/// [`weight_grad`](super::weight_grad) for columns `t0 .. t0 + C * LANES`, every output.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn weight_grad_panel<S: Simd, O: GradOut<S>, const J: usize, const C: usize>(
    s: S,
    x: &[f32],
    g: &[f32],
    dwt: &mut O,
    m: usize,
    k: usize,
    n: usize,
    t0: usize,
    outputs: std::ops::Range<usize>,
) {
    let mut j0 = outputs.start;
    while j0 + J <= outputs.end {
        weight_grad_block::<S, O, J, C>(s, x, g, dwt, m, k, n, t0, j0, outputs.start);
        j0 += J;
    }
    while j0 < outputs.end {
        weight_grad_block::<S, O, 1, C>(s, x, g, dwt, m, k, n, t0, j0, outputs.start);
        j0 += 1;
    }
}

/// `dwt[j0 + j][t0 ..]` for `J` outputs and `C` vectors, summed over the rows in order.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn weight_grad_block<S: Simd, O: GradOut<S>, const J: usize, const C: usize>(
    s: S,
    x: &[f32],
    g: &[f32],
    dwt: &mut O,
    m: usize,
    k: usize,
    n: usize,
    t0: usize,
    j0: usize,
    base: usize,
) {
    let lanes = S::LANES;
    let mut acc = [[s.zero(); C]; J];
    for r in 0..m {
        let x_part = &x[r * k + t0..r * k + t0 + C * lanes];
        let g_part = &g[r * n + j0..r * n + j0 + J];
        let mut xv = [s.zero(); C];
        for c in 0..C {
            xv[c] = s.load(&x_part[c * lanes..]);
        }
        for j in 0..J {
            let gj = s.splat(g_part[j]);
            for c in 0..C {
                acc[j][c] = s.mul_add(gj, xv[c], acc[j][c]);
            }
        }
    }
    for (j, vectors) in acc.iter().enumerate() {
        let row = (j0 + j - base) * k + t0;
        for (c, &v) in vectors.iter().enumerate() {
            dwt.put(s, v, row + c * lanes);
        }
    }
}

/// Where the weight-gradient kernels put each finished sum: the element `at` of the gradient
/// of their part, `(outputs, k)` row-major. The methods are inlined into the kernels, so that
/// they run with the kernels' instruction set.
pub(super) trait GradOut<S: Simd> {
    /// The `LANES` sums of the elements `at ..`.
    fn put(&mut self, s: S, v: S::V, at: usize);
    /// The sum of the element `at`.
    fn put_scalar(&mut self, v: f32, at: usize);
}

/// The gradient, stored: [`weight_grad`](super::weight_grad).
pub(super) struct Store<'a>(pub &'a mut [f32]);

impl<S: Simd> GradOut<S> for Store<'_> {
    #[inline(always)]
    fn put(&mut self, s: S, v: S::V, at: usize) {
        s.store(v, &mut self.0[at..]);
    }

    #[inline(always)]
    fn put_scalar(&mut self, v: f32, at: usize) {
        self.0[at] = v;
    }
}

/// The gradient stored and a plain gradient step taken with it at once:
/// [`weight_grad_step`](super::weight_grad_step). Each sum `g` of element `at` is written to
/// `dwt[at]`, the weight `w[at]` to `saved[at]`, then `w[at] <- w[at] - lr g` (multiply, then
/// subtract: the rounding of [`Sgd`](crate::optim::Sgd)'s step); `bad` records whether a new
/// weight is NaN or infinite. With `stream`, the gradient and the copy, not read again by the
/// step, are written with streaming stores where aligned.
pub(super) struct StepOut<'a> {
    pub dwt: &'a mut [f32],
    pub w: &'a mut [f32],
    pub saved: &'a mut [f32],
    pub lr: f32,
    pub stream: bool,
    pub bad: bool,
}

impl<S: Simd> GradOut<S> for StepOut<'_> {
    #[inline(always)]
    fn put(&mut self, s: S, v: S::V, at: usize) {
        let old = s.load(&self.w[at..]);
        if self.stream {
            s.stream(old, &mut self.saved[at..]);
            s.stream(v, &mut self.dwt[at..]);
        } else {
            s.store(old, &mut self.saved[at..]);
            s.store(v, &mut self.dwt[at..]);
        }
        let new = s.sub(old, s.mul(s.splat(self.lr), v));
        s.store(new, &mut self.w[at..]);
        self.bad |= s.any_non_finite(new);
    }

    #[inline(always)]
    fn put_scalar(&mut self, v: f32, at: usize) {
        self.dwt[at] = v;
        self.saved[at] = self.w[at];
        self.w[at] -= self.lr * v;
        self.bad |= crate::optim::non_finite(self.w[at]);
    }
}

/// [`input_grad`](super::input_grad) in blocks of `R` rows by `C` vectors of `k`, summed over
/// the outputs in order. Large weights are walked in tiles of [`PANEL_BYTES`] (outputs by
/// columns), every row of the batch for each tile, the partial sums kept in `dx` between tiles
/// of outputs: each tile comes from memory once and the sums run in the same order as without
/// tiles.
///
/// Computes the columns `columns` of `dx` (all of them: `0..k`, or a part of them for a
/// thread) into `dx`, `(m, columns.len())` row-major. Every element is summed over the outputs
/// in order, by vectors or (the last columns of the part) one by one, with the same rounding:
/// its bits do not depend on the part it falls in.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn input_grad_body<S: Simd, const R: usize, const C: usize>(
    s: S,
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    columns: std::ops::Range<usize>,
) {
    let lanes = S::LANES;
    let cols = Cols {
        base: columns.start,
        width: columns.len(),
    };
    let vectors = cols.width / lanes;
    // Tiles of `outputs` rows of the weights by `chunk` vectors of columns (2 KB per row).
    let (chunk, outputs) = if large(n, k) {
        let chunk = (512 / lanes / C * C).max(C);
        (
            chunk,
            (PANEL_BYTES / std::mem::size_of::<f32>() / (chunk * lanes)).max(1),
        )
    } else {
        (vectors.max(1), n)
    };
    let mut c0 = 0;
    while c0 < vectors {
        let c1 = (c0 + chunk).min(vectors);
        let mut j0 = 0;
        while j0 < n {
            let j1 = (j0 + outputs).min(n);
            input_grad_tile::<S, R, C>(s, g, wt, dx, m, k, n, cols, c0..c1, j0..j1);
            j0 = j1;
        }
        c0 = c1;
    }
    for r in 0..m {
        for t in vectors * lanes..cols.width {
            let mut sum = 0.0;
            for j in 0..n {
                sum = s.mul_add_scalar(g[r * n + j], wt[j * k + cols.base + t], sum);
            }
            dx[r * cols.width + t] = sum;
        }
    }
}

/// The columns of `dx` an [`input_grad_body`] computes: columns `base ..` of the weights, `dx`
/// holding `width` of them per row.
#[derive(Clone, Copy)]
struct Cols {
    base: usize,
    width: usize,
}

/// [`input_grad`](super::input_grad) for the vectors `vectors` of `k` and the outputs
/// `outputs`, every row; the sums start from `dx` unless `outputs` starts at 0.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn input_grad_tile<S: Simd, const R: usize, const C: usize>(
    s: S,
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    cols: Cols,
    vectors: std::ops::Range<usize>,
    outputs: std::ops::Range<usize>,
) {
    let lanes = S::LANES;
    let mut c0 = vectors.start;
    while c0 + C <= vectors.end {
        input_grad_panel::<S, R, C>(s, g, wt, dx, m, k, n, cols, c0 * lanes, outputs.clone());
        c0 += C;
    }
    while c0 < vectors.end {
        input_grad_panel::<S, R, 1>(s, g, wt, dx, m, k, n, cols, c0 * lanes, outputs.clone());
        c0 += 1;
    }
}

/// [`input_grad`](super::input_grad) for columns `t0 .. t0 + C * LANES` of `dx` and the
/// outputs `outputs`, every row.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn input_grad_panel<S: Simd, const R: usize, const C: usize>(
    s: S,
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    cols: Cols,
    t0: usize,
    outputs: std::ops::Range<usize>,
) {
    let mut r0 = 0;
    while r0 + R <= m {
        input_grad_block::<S, R, C>(s, g, wt, dx, k, n, cols, t0, r0, outputs.clone());
        r0 += R;
    }
    // The rows left, two at a time, then one (a convolution's forward pass has 6 rows: 4 + 2).
    while R > 2 && r0 + 2 <= m {
        input_grad_block::<S, 2, C>(s, g, wt, dx, k, n, cols, t0, r0, outputs.clone());
        r0 += 2;
    }
    while r0 < m {
        input_grad_block::<S, 1, C>(s, g, wt, dx, k, n, cols, t0, r0, outputs.clone());
        r0 += 1;
    }
}

/// `dx[r0 + i][t0 ..]` for `R` rows and `C` vectors, summed over `outputs` in order, from
/// zero when `outputs` starts at 0, else from the partial sums in `dx`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn input_grad_block<S: Simd, const R: usize, const C: usize>(
    s: S,
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    k: usize,
    n: usize,
    cols: Cols,
    t0: usize,
    r0: usize,
    outputs: std::ops::Range<usize>,
) {
    let lanes = S::LANES;
    let dk = cols.width;
    let mut g_rows: [&[f32]; R] = [&[]; R];
    for (i, row) in g_rows.iter_mut().enumerate() {
        *row = &g[(r0 + i) * n..(r0 + i + 1) * n];
    }
    let mut acc = [[s.zero(); C]; R];
    if outputs.start > 0 {
        for (i, vectors) in acc.iter_mut().enumerate() {
            let row = &dx[(r0 + i) * dk + t0..(r0 + i) * dk + t0 + C * lanes];
            for (c, v) in vectors.iter_mut().enumerate() {
                *v = s.load(&row[c * lanes..]);
            }
        }
    }
    for j in outputs {
        let w_part = &wt[j * k + cols.base + t0..j * k + cols.base + t0 + C * lanes];
        let mut wv = [s.zero(); C];
        for c in 0..C {
            wv[c] = s.load(&w_part[c * lanes..]);
        }
        for i in 0..R {
            let gi = s.splat(g_rows[i][j]);
            for c in 0..C {
                acc[i][c] = s.mul_add(gi, wv[c], acc[i][c]);
            }
        }
    }
    for (i, vectors) in acc.iter().enumerate() {
        let row = &mut dx[(r0 + i) * dk + t0..(r0 + i) * dk + t0 + C * lanes];
        for (c, &v) in vectors.iter().enumerate() {
            s.store(v, &mut row[c * lanes..]);
        }
    }
}
