//! The matrix products of [`Dense`](super::Dense), specialised for its shapes.
//!
//! `Dense` keeps its weights transposed, `wt = W^T` of shape `(out, in)` in row-major order (the
//! layout of PyTorch's `nn.Linear`), so that all three products of a training step run along
//! the contiguous inner dimension `k = in`:
//!
//! | product | formula | shapes |
//! | --- | --- | --- |
//! | [`forward`] | `y[r][j] = b[j] + sum_t x[r][t] wt[j][t]` | `x (m, k)`, `wt (n, k)`, `y (m, n)` |
//! | [`weight_grad`] | `dwt[j][t] = sum_r g[r][j] x[r][t]` | `g (m, n)`, `dwt (n, k)` |
//! | [`input_grad`] | `dx[r][t] = sum_j g[r][j] wt[j][t]` | `dx (m, k)` |
//! | [`bias_grad`] | `db[j] = sum_r g[r][j]` | `db (n)` |
//! | [`weight_grad_step`] | [`weight_grad`], and `wt[j][t] -= lr dwt[j][t]` in the same sweep | as [`weight_grad`] |
//!
//! with `m` rows (the batch), `k` inputs and `n` outputs; every matrix is a row-major slice.
//!
//! The shapes that matter are thin: a batch of 32 rows of 784 pixels into 10 classes. A general
//! matrix multiplication (ndarray's `general_mat_mul`, the `matrixmultiply` crate) packs both
//! operands into panels on every call, which costs as much as the arithmetic at these sizes, and
//! allocates its packing buffers. The `blocked` kernels read the operands in place, keep a block
//! of results in registers for the whole inner loop and never allocate. On x86-64 they run with
//! AVX-512 when the processor has it (module `avx512`, 16 lanes, 32 registers), else with AVX2
//! and FMA (module `avx2`), checked once at run time (see [`Isa::detect`]); elsewhere on
//! portable 8-lane arrays. With AVX2 they are 2 to 3 times faster than `general_mat_mul` for
//! the tutorial's step and never slower for the MLP's shapes; AVX-512 halves them again
//! (32 x 784 x 10: forward 4.2 -> 2.4 us, dW 3.9 -> 1.95 us, dX 3.9 -> 2.05 us). Weights over
//! 1 MB are walked in cache-sized panels so that a batch of 32 reads them from memory once.
//!
//! Large products are another matter: from a batch of 64 rows on, with both widths 64 or more
//! ([`packs`]), every packed panel is reused enough to repay the packing, and they go to the
//! `gemm` crate (module `packed`), 2 to 5 times faster there than the blocked kernels. With
//! AVX-512, the forward pass of a batch of 32 rows or more through weights of 64 by 64 up to
//! 1 MB runs instead from the weights packed once into panels and kept by the layer until they
//! change ([`uses_packed_weights`], module `avx512_forward`), as onnxruntime keeps a model's:
//! 784-256-128-10 predicts a batch of 1,000 in about 1,040 us instead of 1,160 us, of 256 in
//! 270 us instead of 340, of 32 in 45 us instead of 60.
//!
//! Threads: a product of 16 M multiply-adds or more
//! ([`threads_for`](crate::parallel::threads_for)) runs on rayon's pool, each thread running
//! `gemm` on its own rows of the product, the blocked kernels splitting into fixed contiguous
//! parts whatever keeps each thread on its own part of the weights: the outputs (forward, dW)
//! and the columns (dX), each part of Y or dX computed into a workspace kept by `Dense` and
//! copied into place; the rows when the batch is larger than that dimension. In a backward
//! pass that wants both gradients of a packed product under 1 G multiply-adds, the weight
//! gradient and the input gradient run side by side, each on its share of the threads
//! ([`gradients_side_by_side`]). The small models' products (784-10, 784-256-128-10 at a batch
//! of 32) stay below that and on the calling thread, which allocates nothing.
//!
//! Every output element is summed in a fixed order that depends only on the shapes and the
//! path (the vector width, blocked or packed), never on timing, alignment or the number of
//! threads: results are bit-identical from run to run on a machine, on any number of threads.
//! Paths differ from each other by rounding only.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod avx512_forward;
mod blocked;
mod packed;
mod packed_weights;

pub(crate) use packed_weights::{PackedCache, PackedWeights};

use rayon::prelude::*;

use std::sync::OnceLock;

/// The instruction set the kernels run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// Portable 8-lane arrays, multiply then add: any processor.
    Portable,
    /// AVX2 with fused multiply-add (x86-64 since 2013); the value is the proof that the
    /// processor has them.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma(avx2::Avx2Fma),
    /// AVX-512F: 16 lanes, fused multiply-add, 32 vector registers; the value is the proof
    /// that the processor has it.
    #[cfg(target_arch = "x86_64")]
    Avx512(avx512::Avx512),
}

impl Isa {
    /// The fastest path this processor can run, detected on the first call.
    pub(crate) fn detect() -> Isa {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            if let Some(token) = avx512::Avx512::detect() {
                return Isa::Avx512(token);
            }
            #[cfg(target_arch = "x86_64")]
            if let Some(token) = avx2::Avx2Fma::detect() {
                return Isa::Avx2Fma(token);
            }
            Isa::Portable
        })
    }

    /// Runs `f` compiled for this instruction set: its body, inlined into a function with the
    /// set's features enabled, is vectorised by the compiler with the set's vectors (16 lanes
    /// with AVX-512) instead of the 4 lanes of x86-64's baseline (SSE2). For simple loops
    /// (the poolings', the copies of `im2col`), where an explicit kernel would say nothing
    /// more; the same technique as `gemm-common`'s `vectorize`. What `f` computes does not
    /// change, only its speed: the compiler vectorises element-wise work without reordering
    /// any sum.
    #[inline(always)]
    pub(crate) fn vectorize<R>(self, f: impl FnOnce() -> R) -> R {
        match self {
            Isa::Portable => f(),
            // SAFETY: the tokens exist only on processors with these features.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma(_) => unsafe { with_avx2(f) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512(_) => unsafe { with_avx512(f) },
        }
    }

    /// Every path this processor can run, for tests.
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Isa> {
        #[allow(unused_mut)]
        let mut all = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            all.extend(avx2::Avx2Fma::detect().map(Isa::Avx2Fma));
            all.extend(avx512::Avx512::detect().map(Isa::Avx512));
        }
        all
    }
}

/// `f`, compiled with AVX2 and FMA ([`Isa::vectorize`]).
///
/// # Safety
/// The processor must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `f`, compiled with AVX-512F ([`Isa::vectorize`]).
///
/// # Safety
/// The processor must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Whether a product of `m` rows, inner size `k` and `n` outputs (or, for
/// [`weight_grad`], `n` outputs, `k` inputs and `m` rows summed) goes to the packed GEMM of
/// the `gemm` crate (module `packed`) rather than the `blocked` kernels.
///
/// Measured per product on an Intel Xeon (family 6 model 207, AVX-512), one thread: with a
/// batch of 32 the blocked kernels are as fast or faster (32 x 1024 x 1024 forward: 1.4 ms
/// against 2.9 ms), since packing costs as much as the arithmetic; with 256 rows and widths of
/// 128 or more `gemm` is 1.7 to 4.7 times faster (256 x 4096 x 4096: forward 196 -> 103 ms, dW
/// 190 -> 73 ms, dX 437 -> 77 ms). Products with fewer than 64 outputs or inputs (the last
/// layer's 10 classes) stay blocked: their few outputs leave `gemm`'s tiles mostly empty.
pub(crate) fn packs(m: usize, k: usize, n: usize) -> bool {
    m >= 64 && k >= 64 && n >= 64
}

/// The products of fewer multiply-adds than this run side by side when both gradients are
/// wanted (see [`gradients_side_by_side`]): 1 G, between 1024 x 1024 (268 M at a batch of 256)
/// and 4096 x 4096 (4.3 G).
const SIDE_BY_SIDE_BELOW: usize = 1 << 30;

/// The threads for [`weight_grad`] and for [`input_grad`] when a layer's backward pass computes
/// the two at the same time, each on its share of `threads` (half of them, the weight gradient
/// taking the odd one), rather than one after the other, each split over all of them; `None`
/// for one after the other. Side by side for products that go to the packed GEMM ([`packs`]),
/// split over several threads and are under 1 G multiply-adds ([`SIDE_BY_SIDE_BELOW`]).
///
/// Side by side, each thread packs only its own product's operands (split, both threads pack the
/// whole shared right-hand side) and the pair ends at one join instead of two. Measured with
/// `bench_mlp` on the 2-core Xeon (family 6 model 167), alternating runs of two binaries,
/// medians, one product after the other -> side by side: 784-1024-1024-10 at a batch of 256
/// 1.39 -> 1.32 s (10 runs, every run faster), at 512 1.33 -> 1.26 s; 784-2048-2048-10 at 256
/// level (1.69 s); at 784-4096-4096-10, 256, 1.5% slower (1.66 -> 1.69 s, 8 runs), where every
/// product is large enough to repay its split and a single thread then streams the whole 64 MB
/// of the weights. The results are the same either way: each product's result does not depend
/// on its threads.
pub(crate) fn gradients_side_by_side(
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
) -> Option<(usize, usize)> {
    let side_by_side =
        threads > 1 && packs(m, k, n) && m.saturating_mul(k).saturating_mul(n) < SIDE_BY_SIDE_BELOW;
    let for_weights = threads.div_ceil(2);
    side_by_side.then_some((for_weights, threads - for_weights))
}

/// `y[r][j] = bias[j] + sum_t x[r][t] * wt[j][t]`: the forward pass `Y = X.W + b` with the
/// weights transposed. `x` is `(m, k)`, `wt` is `(n, k)`, `bias` has `n` values and `y` is
/// `(m, n)`, all row-major; `y` is overwritten. Runs on up to `threads` threads (see
/// [`threads_for`](crate::parallel::threads_for)); the result does not depend on their number. `scratch` is a workspace
/// that the blocked kernels on several threads fill (it grows to `m n` values once and is
/// reused).
///
/// # Panics
/// When `k` or `n` is 0 or a slice's length does not match its shape.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward(
    isa: Isa,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    y: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
    scratch: &mut Vec<f32>,
) {
    forward_part(isa, x, wt, None, bias, y, m, m, k, n, threads, scratch)
}

/// Weights of at most this many values (1 MB) go to the AVX-512 forward kernel from packed
/// weights ([`uses_packed_weights`]). Larger ones stay with `gemm`, which is as fast on them:
/// measured with `bench_mlp` (784-H-H-10, AMD EPYC Zen 5, alternating runs of 3, seconds),
/// `gemm` against the packed kernel for every size, at a batch of 512: H = 1024 0.82-0.90 ->
/// 0.79-0.88, H = 4096 1.84-1.93 -> 1.90-1.96; at 1,024, H = 1024 0.79-0.85 -> 0.80-0.85. (A
/// training step packs the weights anew after every update: 3 to 64 MB there.)
const PACKED_WEIGHTS_UP_TO: usize = 1 << 18;

/// Batches of at least this many rows go to the AVX-512 forward kernel from packed weights
/// ([`uses_packed_weights`]). A training step packs the weights anew after each update (about
/// 12 us for 784-128-128-10's), which a smaller batch does not repay: measured with `bench_mlp
/// --hidden 128` (AMD EPYC Zen 5, alternating runs, microseconds a step), the blocked kernels
/// against the packed kernel at a batch of 1 20 -> 32, 4 24 -> 36, 8 34 -> 42-44, 16 54-55 ->
/// 59, 32 95-98 -> 92-95.
const PACKED_WEIGHTS_FROM_ROWS: usize = 32;

/// Whether [`forward_part`] over a batch of `batch_rows` rows reads the weights packed into
/// panels ([`PackedWeights`]) rather than as `wt`: on processors with AVX-512, for batches of
/// 32 rows or more ([`PACKED_WEIGHTS_FROM_ROWS`]), 64 inputs and 64 outputs or more, and
/// weights of 1 MB or less ([`PACKED_WEIGHTS_UP_TO`]). The forward kernel of those (module
/// `avx512_forward`) keeps the weights packed between calls instead of reading them row by row
/// (the blocked kernels) or packing both operands on every call (the `gemm` crate): a
/// prediction packs them once (onnxruntime packs a model's weights when it loads it), a
/// training step once after each update.
///
/// Measured against the blocked kernels (32 rows) and `gemm` (64 rows on), AMD EPYC Zen 5,
/// alternating runs of 3: `bench_predict --hidden 256,128` at a batch of 32 54-68 -> 40-47 us a
/// call, 64 142-143 -> 118-124 us, 256 339-346 -> 265-281 us; `--hidden 128` at 32 36.5 -> 26.0
/// us. `bench_mlp --hidden 128` (784-128-128-10, seconds) at a batch of 32 1.07-1.10 ->
/// 1.03-1.06, 64 1.01-1.04 -> 0.92-0.97, 128 0.88-0.90 -> 0.85-0.87, 512 0.69-0.70 ->
/// 0.66-0.67. At 256 it depends on the host's state: while it ran slowly, 0.70-0.79 ->
/// 0.61-0.69 (4 pairs of 5); at its fastest, 0.52-0.53 -> 0.56-0.61, the step repacking 128 K
/// weights on the calling thread.
pub(crate) fn uses_packed_weights(isa: Isa, batch_rows: usize, k: usize, n: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Isa::Avx512(_) = isa {
        return batch_rows >= PACKED_WEIGHTS_FROM_ROWS
            && k >= 64
            && n >= 64
            && n.saturating_mul(k) <= PACKED_WEIGHTS_UP_TO;
    }
    let _ = (isa, batch_rows, k, n);
    false
}

/// [`forward`] for `m` rows that are part of a batch of `batch_rows` rows: the kernels are
/// chosen for the batch ([`packs`] and the packed layout's rule read `batch_rows`), so that
/// every row gets the bits it gets in [`forward`] over the whole batch, whatever part it is in.
/// `packed` holds the weights `wt` packed into panels when [`uses_packed_weights`] says the
/// kernel reads them so (else it is ignored, and `gemm` packs `wt` itself).
/// This is what lets [`Sequential::predict`](crate::Sequential::predict) run parts of a batch
/// on several threads at once (`Dense`'s [`Inference`](crate::layers::Inference)).
///
/// # Panics
/// As [`forward`]; when `m` is more than `batch_rows`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_part(
    isa: Isa,
    x: &[f32],
    wt: &[f32],
    packed: Option<&PackedWeights>,
    bias: &[f32],
    y: &mut [f32],
    m: usize,
    batch_rows: usize,
    k: usize,
    n: usize,
    threads: usize,
    scratch: &mut Vec<f32>,
) {
    assert!(m <= batch_rows, "a part of the batch");
    assert!(k > 0 && n > 0, "k and n are at least 1");
    assert_eq!(x.len(), m * k, "x is (m, k)");
    assert_eq!(wt.len(), n * k, "wt is (n, k)");
    assert_eq!(bias.len(), n, "bias has n values");
    assert_eq!(y.len(), m * n, "y is (m, n)");
    if m == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let (Isa::Avx512(token), Some(packed)) = (isa, packed) {
        debug_assert!(uses_packed_weights(isa, batch_rows, k, n));
        assert!(packed.fits(k, n), "the weights packed are (n, k)");
        return avx512_forward::forward(token, packed, x, bias, y, m, threads);
    }
    if packs(batch_rows, k, n) {
        return packed::forward(x, wt, bias, y, m, batch_rows, k, n, threads, scratch);
    }
    // `x (rows, k)` times the outputs of `wt (outputs, k)` into `y (rows, outputs)`.
    let run = |x: &[f32], wt: &[f32], bias: &[f32], y: &mut [f32]| {
        let n = bias.len();
        match isa {
            Isa::Portable => blocked::forward(x, wt, bias, y, k, n),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma(token) => avx2::forward(token, x, wt, bias, y, k, n),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512(token) => avx512::forward(token, x, wt, bias, y, k, n),
        }
    };
    if threads <= 1 {
        return run(x, wt, bias, y);
    }
    if n < m {
        // More rows than outputs: the rows split into contiguous parts on rayon's threads,
        // each computed as alone.
        let rows = m.div_ceil(threads.min(m));
        return x
            .par_chunks(rows * k)
            .zip(y.par_chunks_mut(rows * n))
            .for_each(|(x, y)| run(x, wt, bias, y));
    }
    // The outputs split into contiguous parts, so that each thread reads its part of the
    // weights only (split by rows, every thread would read all of them: 64 MB each at 4096 x
    // 4096). Part `p` writes its `(m, width)` block of `y` into the workspace, copied into
    // `y`'s columns afterwards.
    let width = n.div_ceil(threads.min(n));
    if scratch.len() < m * n {
        scratch.resize(m * n, 0.0);
    }
    let scratch = &mut scratch[..m * n];
    scratch
        .par_chunks_mut(m * width)
        .zip(wt.par_chunks(width * k).zip(bias.par_chunks(width)))
        .for_each(|(y, (wt, bias))| run(x, wt, bias, y));
    copy_column_parts(scratch, y, m, width);
}

/// `dwt[j][t] = sum_r g[r][j] * x[r][t]`: the weight gradient `dW = X^T.G`, transposed like
/// the weights. `x` is `(m, k)`, `g` is `(m, n)` and `dwt` is `(n, k)`, all row-major; `dwt` is
/// overwritten. Runs on up to `threads` threads; the result does not depend on their number.
///
/// # Panics
/// When `k` or `n` is 0 or a slice's length does not match its shape.
#[allow(clippy::too_many_arguments)]
pub(crate) fn weight_grad(
    isa: Isa,
    x: &[f32],
    g: &[f32],
    dwt: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
) {
    assert!(k > 0 && n > 0, "k and n are at least 1");
    assert_eq!(x.len(), m * k, "x is (m, k)");
    assert_eq!(g.len(), m * n, "g is (m, n)");
    assert_eq!(dwt.len(), n * k, "dwt is (n, k)");
    if packs(m, k, n) {
        return packed::weight_grad(x, g, dwt, m, k, n, threads);
    }
    let run = |dwt: &mut [f32], outputs: std::ops::Range<usize>| {
        let out = &mut blocked::Store(dwt);
        match isa {
            Isa::Portable => blocked::weight_grad(x, g, out, m, k, n, outputs),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma(token) => avx2::weight_grad(token, x, g, out, m, k, n, outputs),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512(token) => avx512::weight_grad(token, x, g, out, m, k, n, outputs),
        }
    };
    if threads <= 1 {
        return run(dwt, 0..n);
    }
    // The outputs (rows of `dwt`) split into contiguous parts on rayon's threads; every
    // element is summed over the rows in the same order whatever the part.
    let outputs = n.div_ceil(threads.min(n));
    dwt.par_chunks_mut(outputs * k)
        .enumerate()
        .for_each(|(part, dwt)| {
            let start = part * outputs;
            run(dwt, start..start + dwt.len() / k)
        });
}

/// Weights of more elements than this (1 MB) have their gradient and undo copy written with
/// streaming stores by [`weight_grad_step`]: they would not stay in the cache, and a streaming
/// store does not read the line first. Smaller ones keep theirs in the cache (the same threshold
/// as `Sgd`'s step).
const STREAM_ABOVE: usize = 1 << 18;

/// [`weight_grad`] fused with a plain gradient step on the weights: `dwt` receives the same
/// gradient, bit for bit, and, element by element as each block of it leaves the registers,
/// `saved[i] = wt[i]` (the undo copy) and `wt[i] <- wt[i] - lr dwt[i]` (multiply, then subtract:
/// the rounding of [`Sgd`](crate::optim::Sgd)'s plain step). Returns whether every new weight is
/// finite. Every element is stepped whatever the outcome, so that `saved` holds every weight
/// before the step and copying it back undoes the step exactly.
///
/// On the blocked path (a batch under 64 rows, [`packs`]) this is one sweep over the weights
/// instead of three (gradient, then the optimizer's read of weights and gradient), and the
/// gradient and the undo copy, not read again by the step, are written with streaming stores
/// (no read of the line first) when the weights are larger than 1 MB ([`STREAM_ABOVE`]): see
/// `docs/bytes_per_step.md`. On the packed path the gradient
/// comes from the `gemm` crate first and the step follows in a second pass, as unfused.
///
/// # Panics
/// When `k` or `n` is 0 or a slice's length does not match its shape.
#[allow(clippy::too_many_arguments)]
pub(crate) fn weight_grad_step(
    isa: Isa,
    x: &[f32],
    g: &[f32],
    dwt: &mut [f32],
    wt: &mut [f32],
    saved: &mut [f32],
    lr: f32,
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
) -> bool {
    assert_eq!(wt.len(), n * k, "wt is (n, k)");
    assert_eq!(saved.len(), n * k, "saved is (n, k)");
    if packs(m, k, n) {
        weight_grad(isa, x, g, dwt, m, k, n, threads);
        let len = dwt.len();
        let dwt: &[f32] = dwt;
        return !crate::parallel::any_part((wt, (dwt, saved)), len, &|(w, (g, saved))| {
            crate::optim::plain_step(w, g, saved, lr)
        });
    }
    assert!(k > 0 && n > 0, "k and n are at least 1");
    assert_eq!(x.len(), m * k, "x is (m, k)");
    assert_eq!(g.len(), m * n, "g is (m, n)");
    assert_eq!(dwt.len(), n * k, "dwt is (n, k)");
    // Streaming stores for weights that do not stay in the cache anyway, as `Sgd`'s step.
    let stream = n * k > STREAM_ABOVE;
    let run =
        |dwt: &mut [f32], wt: &mut [f32], saved: &mut [f32], outputs: std::ops::Range<usize>| {
            let mut out = blocked::StepOut {
                dwt,
                w: wt,
                saved,
                lr,
                stream,
                bad: false,
            };
            match isa {
                Isa::Portable => blocked::weight_grad(x, g, &mut out, m, k, n, outputs),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2Fma(token) => {
                    avx2::weight_grad(token, x, g, &mut out, m, k, n, outputs);
                    blocked::Simd::fence(token);
                }
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512(token) => {
                    avx512::weight_grad(token, x, g, &mut out, m, k, n, outputs);
                    blocked::Simd::fence(token);
                }
            }
            !out.bad
        };
    if threads <= 1 {
        return run(dwt, wt, saved, 0..n);
    }
    // As `weight_grad`: the outputs split into contiguous parts, the same for the weights and
    // their copy. Every part runs to its end (no short cut on a non-finite value): the copy must
    // cover every weight.
    let outputs = n.div_ceil(threads.min(n));
    dwt.par_chunks_mut(outputs * k)
        .zip(wt.par_chunks_mut(outputs * k))
        .zip(saved.par_chunks_mut(outputs * k))
        .enumerate()
        .map(|(part, ((dwt, wt), saved))| {
            let start = part * outputs;
            run(dwt, wt, saved, start..start + dwt.len() / k)
        })
        .reduce(|| true, |a, b| a & b)
}

/// `dx[r][t] = sum_j g[r][j] * wt[j][t]`: the input gradient `dX = G.W^T`. `g` is `(m, n)`,
/// `wt` is `(n, k)` and `dx` is `(m, k)`, all row-major; `dx` is overwritten. Runs on up to
/// `threads` threads; the result does not depend on their number. `scratch` is a workspace
/// that the blocked kernels on several threads fill (it grows to `m k` values once and is
/// reused).
///
/// # Panics
/// When `k` or `n` is 0 or a slice's length does not match its shape.
#[allow(clippy::too_many_arguments)]
pub(crate) fn input_grad(
    isa: Isa,
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
    scratch: &mut Vec<f32>,
) {
    assert!(k > 0 && n > 0, "k and n are at least 1");
    assert_eq!(g.len(), m * n, "g is (m, n)");
    assert_eq!(wt.len(), n * k, "wt is (n, k)");
    assert_eq!(dx.len(), m * k, "dx is (m, k)");
    if m == 0 {
        return;
    }
    if packs(m, k, n) {
        return packed::input_grad(g, wt, dx, m, k, n, threads);
    }
    // The rows of `g` times `wt` into the columns `columns` of `dx`, `(rows, columns.len())`.
    let run = |g: &[f32], dx: &mut [f32], columns: std::ops::Range<usize>| {
        let m = g.len() / n;
        match isa {
            Isa::Portable => blocked::input_grad(g, wt, dx, m, k, n, columns),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma(token) => avx2::input_grad(token, g, wt, dx, m, k, n, columns),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512(token) => avx512::input_grad(token, g, wt, dx, m, k, n, columns),
        }
    };
    if threads <= 1 {
        return run(g, dx, 0..k);
    }
    if k < m {
        // More rows than columns: the rows split into contiguous parts on rayon's threads,
        // each computed as alone.
        let rows = m.div_ceil(threads.min(m));
        return g
            .par_chunks(rows * n)
            .zip(dx.par_chunks_mut(rows * k))
            .for_each(|(g, dx)| run(g, dx, 0..k));
    }
    // The columns split into contiguous parts of whole 64-byte lines, so that each thread reads
    // its columns of the weights only (split by rows, every thread would read all of them).
    // Part `p` writes its `(m, width)` block of `dx` into the workspace, copied into `dx`'s
    // columns afterwards.
    const LINE: usize = 64 / std::mem::size_of::<f32>();
    let width = k.div_ceil(threads.min(k)).next_multiple_of(LINE);
    if scratch.len() < m * k {
        scratch.resize(m * k, 0.0);
    }
    let scratch = &mut scratch[..m * k];
    scratch
        .par_chunks_mut(m * width)
        .enumerate()
        .for_each(|(part, block)| {
            let start = part * width;
            run(g, block, start..start + block.len() / m)
        });
    copy_column_parts(scratch, dx, m, width);
}

/// Copies the parts that threads computed side by side into the row-major `(m, columns)`
/// `out`: `parts` holds, one after another, the `(m, width)` row-major blocks of columns
/// `0..width`, `width..2 width`, ... (the last one narrower).
fn copy_column_parts(parts: &[f32], out: &mut [f32], m: usize, width: usize) {
    let columns = out.len() / m;
    for (part, block) in parts.chunks(m * width).enumerate() {
        let (start, part_width) = (part * width, block.len() / m);
        for (row, block) in out
            .chunks_exact_mut(columns)
            .zip(block.chunks_exact(part_width))
        {
            row[start..start + part_width].copy_from_slice(block);
        }
    }
}

/// `db[j] = sum_r g[r][j]`: the bias gradient, the column sums of `g (m, n)`, rows added in
/// order. `db` has `n` values and is overwritten.
///
/// # Panics
/// When a slice's length does not match its shape.
pub(crate) fn bias_grad(g: &[f32], db: &mut [f32], m: usize, n: usize) {
    assert_eq!(g.len(), m * n, "g is (m, n)");
    assert_eq!(db.len(), n, "db has n values");
    db.fill(0.0);
    for row in g.chunks_exact(n) {
        for (d, &v) in db.iter_mut().zip(row) {
            *d += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_side_by_side_share_the_threads_of_packed_products_under_1_g() {
        // Both gradients on their own thread, the odd thread to the weight gradient.
        assert_eq!(gradients_side_by_side(256, 1024, 1024, 2), Some((1, 1)));
        assert_eq!(gradients_side_by_side(256, 1024, 1024, 3), Some((2, 1)));
        assert_eq!(gradients_side_by_side(256, 128, 128, 8), Some((4, 4)));
        // One thread, a product for the blocked kernels, or one of 1 G multiply-adds and more.
        assert_eq!(gradients_side_by_side(256, 1024, 1024, 1), None);
        assert_eq!(gradients_side_by_side(32, 1024, 1024, 2), None);
        assert_eq!(gradients_side_by_side(256, 4096, 1024, 2), None);
        assert_eq!(gradients_side_by_side(256, 4096, 4096, 2), None);
    }

    /// Deterministic values in [-1, 1).
    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5) - 1.0)
            .collect()
    }

    /// Asserts `got` matches the f64 reference within a few rounding errors of a sum of `terms`
    /// products of values at most 1.
    fn assert_close(got: &[f32], want: &[f64], terms: usize, what: &str) {
        assert_eq!(got.len(), want.len());
        let tolerance = 4.0 * f32::EPSILON as f64 * (terms as f64 + 1.0);
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - w).abs() <= tolerance,
                "{what}: element {i}: {g} vs {w} (tolerance {tolerance})"
            );
        }
    }

    // Rows and outputs that fill no block, one block, several blocks with a remainder; inner
    // sizes below one vector, between 8 and 16 lanes, 2.5 vectors of 16, exact multiples.
    const ROWS: [usize; 5] = [1, 3, 7, 32, 33];
    const INNER: [usize; 6] = [1, 17, 40, 64, 784, 790];
    const OUTER: [usize; 6] = [1, 5, 10, 16, 17, 256];

    #[test]
    fn forward_matches_the_f64_reference() {
        for isa in Isa::available() {
            for m in ROWS {
                for k in INNER {
                    for n in OUTER {
                        let (x, wt, bias) = (values(m * k, 1), values(n * k, 2), values(n, 3));
                        let want: Vec<f64> = (0..m * n)
                            .map(|e| {
                                let (r, j) = (e / n, e % n);
                                bias[j] as f64
                                    + (0..k)
                                        .map(|t| x[r * k + t] as f64 * wt[j * k + t] as f64)
                                        .sum::<f64>()
                            })
                            .collect();
                        let mut y = vec![f32::NAN; m * n];
                        forward(isa, &x, &wt, &bias, &mut y, m, k, n, 1, &mut Vec::new());
                        assert_close(&y, &want, k, &format!("{isa:?} forward {m}x{k}x{n}"));
                    }
                }
            }
        }
    }

    #[test]
    fn large_batches_match_the_f64_reference() {
        // Over 512 KiB of inputs: the blocked forward pass prefetches rows ahead.
        let (m, k) = (171, 784);
        for isa in Isa::available() {
            for n in [3, 10, 17] {
                let (x, wt, bias) = (values(m * k, 12), values(n * k, 13), values(n, 14));
                let want: Vec<f64> = (0..m * n)
                    .map(|e| {
                        let (r, j) = (e / n, e % n);
                        bias[j] as f64
                            + (0..k)
                                .map(|t| x[r * k + t] as f64 * wt[j * k + t] as f64)
                                .sum::<f64>()
                    })
                    .collect();
                let mut y = vec![f32::NAN; m * n];
                forward(isa, &x, &wt, &bias, &mut y, m, k, n, 1, &mut Vec::new());
                assert_close(&y, &want, k, &format!("{isa:?} forward {m}x{k}x{n}"));
            }
        }
    }

    /// The three products of `(m, k, n)` on `threads` threads, as bits.
    fn products(isa: Isa, m: usize, k: usize, n: usize, threads: usize) -> [Vec<u32>; 3] {
        let (x, wt, bias, g) = (
            values(m * k, 15),
            values(n * k, 16),
            values(n, 17),
            values(m * n, 18),
        );
        let mut y = vec![f32::NAN; m * n];
        // A workspace left dirty by another shape.
        let mut scratch = vec![f32::NAN; 7 * m * n + 3];
        forward(isa, &x, &wt, &bias, &mut y, m, k, n, threads, &mut scratch);
        let mut dwt = vec![f32::NAN; n * k];
        weight_grad(isa, &x, &g, &mut dwt, m, k, n, threads);
        let mut dx = vec![f32::NAN; m * k];
        input_grad(isa, &g, &wt, &mut dx, m, k, n, threads, &mut scratch);
        let bits = |v: Vec<f32>| v.iter().map(|v| v.to_bits()).collect();
        [bits(y), bits(dwt), bits(dx)]
    }

    #[test]
    fn every_product_is_bit_identical_on_any_number_of_threads() {
        // Blocked (a batch of 32, 10 outputs) and packed (64 rows or more, both widths 64 or
        // more) shapes, with remainders.
        let shapes = [
            (1, 784, 10),
            (33, 784, 10),
            (171, 784, 10),
            (32, 300, 200),
            (64, 64, 64),
            (100, 333, 177),
            (256, 784, 256),
            // Packed, with a last part of one output or a few rows.
            (64, 100, 65),
            (130, 1024, 257),
            // Blocked with more outputs than rows (the forward pass splits the outputs), with
            // remainders, and with weights over 1 MB (walked in panels).
            (7, 300, 17),
            (32, 1041, 300),
        ];
        for isa in Isa::available() {
            for (m, k, n) in shapes {
                let alone = products(isa, m, k, n, 1);
                for threads in [2, 3, 8, 1, 2] {
                    assert!(
                        products(isa, m, k, n, threads) == alone,
                        "{isa:?}, {m}x{k}x{n}, {threads} threads"
                    );
                }
            }
        }
    }

    #[test]
    fn large_weights_match_the_f64_reference() {
        // Weights over 1 MB: the blocked kernels walk them in panels and tiles.
        for (m, k, n) in [(7, 1041, 300), (32, 2048, 160), (1, 4096, 80)] {
            let (x, wt, bias, g) = (
                values(m * k, 25),
                values(n * k, 26),
                values(n, 27),
                values(m * n, 28),
            );
            for isa in Isa::available() {
                let want: Vec<f64> = (0..m * n)
                    .map(|e| {
                        let (r, j) = (e / n, e % n);
                        bias[j] as f64
                            + (0..k)
                                .map(|t| x[r * k + t] as f64 * wt[j * k + t] as f64)
                                .sum::<f64>()
                    })
                    .collect();
                let mut y = vec![f32::NAN; m * n];
                forward(isa, &x, &wt, &bias, &mut y, m, k, n, 1, &mut Vec::new());
                assert_close(&y, &want, k, &format!("{isa:?} forward {m}x{k}x{n}"));
                let want: Vec<f64> = (0..n * k)
                    .map(|e| {
                        let (j, t) = (e / k, e % k);
                        (0..m)
                            .map(|r| g[r * n + j] as f64 * x[r * k + t] as f64)
                            .sum()
                    })
                    .collect();
                let mut dwt = vec![f32::NAN; n * k];
                weight_grad(isa, &x, &g, &mut dwt, m, k, n, 1);
                assert_close(&dwt, &want, m, &format!("{isa:?} dW {m}x{k}x{n}"));
                let want: Vec<f64> = (0..m * k)
                    .map(|e| {
                        let (r, t) = (e / k, e % k);
                        (0..n)
                            .map(|j| g[r * n + j] as f64 * wt[j * k + t] as f64)
                            .sum()
                    })
                    .collect();
                let mut dx = vec![f32::NAN; m * k];
                input_grad(isa, &g, &wt, &mut dx, m, k, n, 1, &mut Vec::new());
                assert_close(&dx, &want, n, &format!("{isa:?} dX {m}x{k}x{n}"));
                let alone = products(isa, m, k, n, 1);
                assert!(products(isa, m, k, n, 2) == alone, "{isa:?} {m}x{k}x{n}");
            }
        }
    }

    #[test]
    fn packed_products_match_the_f64_reference() {
        for (m, k, n) in [(64, 64, 64), (65, 97, 130), (256, 784, 71)] {
            assert!(packs(m, k, n));
            let (x, wt, bias, g) = (
                values(m * k, 21),
                values(n * k, 22),
                values(n, 23),
                values(m * n, 24),
            );
            let isa = Isa::detect();
            for threads in [1, 2] {
                let want: Vec<f64> = (0..m * n)
                    .map(|e| {
                        let (r, j) = (e / n, e % n);
                        bias[j] as f64
                            + (0..k)
                                .map(|t| x[r * k + t] as f64 * wt[j * k + t] as f64)
                                .sum::<f64>()
                    })
                    .collect();
                let mut y = vec![f32::NAN; m * n];
                forward(
                    isa,
                    &x,
                    &wt,
                    &bias,
                    &mut y,
                    m,
                    k,
                    n,
                    threads,
                    &mut Vec::new(),
                );
                assert_close(&y, &want, k, &format!("packed forward {m}x{k}x{n}"));
                let want: Vec<f64> = (0..n * k)
                    .map(|e| {
                        let (j, t) = (e / k, e % k);
                        (0..m)
                            .map(|r| g[r * n + j] as f64 * x[r * k + t] as f64)
                            .sum()
                    })
                    .collect();
                let mut dwt = vec![f32::NAN; n * k];
                weight_grad(isa, &x, &g, &mut dwt, m, k, n, threads);
                assert_close(&dwt, &want, m, &format!("packed dW {m}x{k}x{n}"));
                let want: Vec<f64> = (0..m * k)
                    .map(|e| {
                        let (r, t) = (e / k, e % k);
                        (0..n)
                            .map(|j| g[r * n + j] as f64 * wt[j * k + t] as f64)
                            .sum()
                    })
                    .collect();
                let mut dx = vec![f32::NAN; m * k];
                input_grad(isa, &g, &wt, &mut dx, m, k, n, threads, &mut Vec::new());
                assert_close(&dx, &want, n, &format!("packed dX {m}x{k}x{n}"));
            }
        }
    }

    #[test]
    fn weight_grad_matches_the_f64_reference() {
        for isa in Isa::available() {
            for m in ROWS {
                for k in INNER {
                    for n in OUTER {
                        let (x, g) = (values(m * k, 4), values(m * n, 5));
                        let want: Vec<f64> = (0..n * k)
                            .map(|e| {
                                let (j, t) = (e / k, e % k);
                                (0..m)
                                    .map(|r| g[r * n + j] as f64 * x[r * k + t] as f64)
                                    .sum()
                            })
                            .collect();
                        let mut dwt = vec![f32::NAN; n * k];
                        weight_grad(isa, &x, &g, &mut dwt, m, k, n, 1);
                        assert_close(&dwt, &want, m, &format!("{isa:?} dW {m}x{k}x{n}"));
                    }
                }
            }
        }
    }

    #[test]
    fn input_grad_matches_the_f64_reference() {
        for isa in Isa::available() {
            for m in ROWS {
                for k in INNER {
                    for n in OUTER {
                        let (g, wt) = (values(m * n, 6), values(n * k, 7));
                        let want: Vec<f64> = (0..m * k)
                            .map(|e| {
                                let (r, t) = (e / k, e % k);
                                (0..n)
                                    .map(|j| g[r * n + j] as f64 * wt[j * k + t] as f64)
                                    .sum()
                            })
                            .collect();
                        let mut dx = vec![f32::NAN; m * k];
                        input_grad(isa, &g, &wt, &mut dx, m, k, n, 1, &mut Vec::new());
                        assert_close(&dx, &want, n, &format!("{isa:?} dX {m}x{k}x{n}"));
                    }
                }
            }
        }
    }

    /// `weight_grad_step` on `(m, k, n)` from weights `w0`: the gradient, the new weights, the
    /// undo copy (as bits) and the returned finiteness.
    #[allow(clippy::type_complexity)]
    fn stepped(
        isa: Isa,
        (m, k, n): (usize, usize, usize),
        x: &[f32],
        g: &[f32],
        w0: &[f32],
        threads: usize,
    ) -> (Vec<u32>, Vec<u32>, Vec<u32>, bool) {
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let (mut dwt, mut w, mut saved) =
            (vec![f32::NAN; n * k], w0.to_vec(), vec![f32::NAN; n * k]);
        let finite = weight_grad_step(
            isa, x, g, &mut dwt, &mut w, &mut saved, 0.01, m, k, n, threads,
        );
        (bits(&dwt), bits(&w), bits(&saved), finite)
    }

    #[test]
    fn the_fused_step_is_the_gradient_then_the_plain_step_bit_for_bit() {
        // Blocked small and large (over 1 MB: walked in column chunks), with remainders of
        // rows, outputs and inner columns, and packed (64 rows or more); 1 to 3 threads.
        let shapes = [
            (1, 17, 5),
            (7, 40, 17),
            (32, 784, 10),
            (33, 790, 23),
            (32, 1041, 300),
            (5, 4096, 80),
            (64, 100, 65),
        ];
        for isa in Isa::available() {
            for (m, k, n) in shapes {
                let (x, g, w0) = (values(m * k, 31), values(m * n, 32), values(n * k, 33));
                // Unfused: the gradient, then Sgd's plain step over it.
                let mut dwt = vec![f32::NAN; n * k];
                weight_grad(isa, &x, &g, &mut dwt, m, k, n, 1);
                let (mut w, mut saved) = (w0.clone(), vec![0.0; n * k]);
                let bad = crate::optim::plain_step(&mut w, &dwt, &mut saved, 0.01);
                let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                let want = (bits(&dwt), bits(&w), bits(&w0), !bad);
                assert!(want.3);
                for threads in [1, 2, 3] {
                    let got = stepped(isa, (m, k, n), &x, &g, &w0, threads);
                    assert!(got == want, "{isa:?} {m}x{k}x{n}, {threads} threads");
                }
            }
        }
    }

    #[test]
    fn a_non_finite_step_in_the_middle_still_steps_and_saves_every_weight() {
        // A gradient row of infinities for one output in the middle of the weights: its new
        // weights are not finite, the step says so, and every weight was still stepped and
        // saved (the copy undoes the whole step).
        for isa in Isa::available() {
            for (m, k, n) in [(32, 1041, 300), (7, 40, 17), (64, 100, 65)] {
                let (x, mut g, w0) = (values(m * k, 34), values(m * n, 35), values(n * k, 36));
                let middle = n / 2;
                g[middle] = f32::MAX;
                g[n + middle] = f32::MAX;
                for threads in [1, 2] {
                    let (dwt, w, saved, finite) = stepped(isa, (m, k, n), &x, &g, &w0, threads);
                    assert!(!finite, "{isa:?} {m}x{k}x{n}");
                    let w0_bits: Vec<u32> = w0.iter().map(|v| v.to_bits()).collect();
                    assert!(saved == w0_bits, "{isa:?} {m}x{k}x{n}: the copy is whole");
                    // Outside the bad output, the weights took the plain step.
                    for (i, ((&dw, &w), &w0)) in dwt.iter().zip(&w).zip(&w0).enumerate() {
                        let (dw, w) = (f32::from_bits(dw), f32::from_bits(w));
                        if i / k != middle {
                            assert_eq!(w.to_bits(), (w0 - 0.01 * dw).to_bits(), "{isa:?} {i}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bias_grad_sums_the_columns() {
        let g = values(33 * 17, 8);
        let mut db = vec![f32::NAN; 17];
        bias_grad(&g, &mut db, 33, 17);
        let want: Vec<f64> = (0..17)
            .map(|j| (0..33).map(|r| g[r * 17 + j] as f64).sum())
            .collect();
        assert_close(&db, &want, 33, "db");
    }

    #[test]
    fn every_path_is_deterministic() {
        let (m, k, n) = (33, 784, 17);
        let (x, wt, bias) = (values(m * k, 9), values(n * k, 10), values(n, 11));
        for isa in Isa::available() {
            let mut first = vec![0.0; m * n];
            forward(isa, &x, &wt, &bias, &mut first, m, k, n, 1, &mut Vec::new());
            for _ in 0..3 {
                let mut again = vec![0.0; m * n];
                forward(isa, &x, &wt, &bias, &mut again, m, k, n, 1, &mut Vec::new());
                assert_eq!(
                    first.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    again.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn alignment_does_not_change_the_values() {
        let (m, k, n) = (33, 784, 17);
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for isa in Isa::available() {
            let mut want: Option<[Vec<u32>; 3]> = None;
            for shift in 0..4 {
                // The same operands starting 0 to 3 values into their buffers.
                let (x, wt, g) = (
                    values(m * k + 3, 18),
                    values(n * k + 3, 19),
                    values(m * n, 20),
                );
                let mut x = x[..shift].to_vec();
                x.extend(values(m * k, 18));
                let mut wt = wt[..shift].to_vec();
                wt.extend(values(n * k, 19));
                let (x, wt) = (&x[shift..], &wt[shift..]);
                let mut y = vec![f32::NAN; m * n + shift];
                forward(
                    isa,
                    x,
                    wt,
                    &g[..n],
                    &mut y[shift..],
                    m,
                    k,
                    n,
                    1,
                    &mut Vec::new(),
                );
                let mut dwt = vec![f32::NAN; n * k + shift];
                weight_grad(isa, x, &g, &mut dwt[shift..], m, k, n, 1);
                let mut dx = vec![f32::NAN; m * k + shift];
                input_grad(isa, &g, wt, &mut dx[shift..], m, k, n, 1, &mut Vec::new());
                let got = [bits(&y[shift..]), bits(&dwt[shift..]), bits(&dx[shift..])];
                match &want {
                    None => want = Some(got),
                    Some(want) => assert!(*want == got, "{isa:?}, shifted by {shift}"),
                }
            }
        }
    }

    #[test]
    fn detection_is_cached_and_available() {
        assert_eq!(Isa::detect(), Isa::detect());
        assert!(Isa::available().contains(&Isa::detect()));
    }

    #[test]
    fn detection_prefers_the_widest_vectors() {
        let detected = Isa::detect();
        eprintln!("paths: {:?}, detected {detected:?}", Isa::available());
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                assert!(matches!(detected, Isa::Avx512(_)));
            } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                assert!(matches!(detected, Isa::Avx2Fma(_)));
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(detected, Isa::Portable);
    }
}
