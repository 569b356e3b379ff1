//! The forward product of large shapes with AVX-512, from weights packed once into panels
//! ([`PackedWeights`]) rather than on every call: the way onnxruntime's MLAS (`MlasGemmPackB`)
//! and oneDNN run a layer whose weights do not change between calls.
//!
//! `y[r][j] = bias[j] + sum_t x[r][t] wt[j][t]`, the product of [`super::forward`] when it
//! [`packs`](super::packs). The weights of 32 outputs at a time (a panel, two vectors of 16)
//! are laid out input by input, `panel[t][0..32]`, so that the micro-kernel reads one input's
//! 32 weights with two aligned loads and multiplies them by the input of 12 rows of `x` at once,
//! each broadcast from its row in place (`x` is not copied): 24 accumulators, each the running
//! sum of one row and 16 outputs, in 24 of the 32 vector registers for the whole inner loop.
//! When a thread's panels are at most 512 KB ([`IN_CACHE`]), the loops take 12 rows at a time,
//! and for them the inner dimension in blocks of [`DEPTH`] inputs, and for each block every
//! panel: the block of 12 rows (24 KB) stays in the first-level cache while the panels' blocks
//! stream through it from the second-level cache, which holds them all. Larger weights go by
//! blocks of inputs, and in each by groups of panels of 512 KB, which stay in the second-level
//! cache while every block of rows goes through them (the order of `gemm` and BLIS).
//!
//! Every output is one chain of fused multiply-adds in the order of the inputs, starting from
//! its bias: `((bias + x0 w0) + x1 w1) + ...`, each step rounded once. Between blocks of the
//! inner dimension the running sum is stored in `y` and loaded back, which does not change it.
//! The result therefore depends on nothing but `x`, the weights and the bias: not on the
//! blocks, the rows a call is given, the part of the batch, the number of threads or the
//! alignment. This is what lets a prediction over a part of a batch give the training forward
//! pass's bits.
//!
//! Measured against the `gemm` crate (which packs both operands on every call) with
//! `bench_predict --hidden 256,128 --batch 1000` (AMD EPYC Zen 5, alternating runs, whole
//! predictions): one thread 2,043-2,069 -> 1,961-2,008 us a call; two threads, medians of 5,
//! 1,160 -> 1,039 us. The other loop order, each panel's block kept in the first-level cache
//! while blocks of 12 rows stream through it from the second-level cache (12 streams instead of
//! one), was slower than `gemm`: 2,112-2,136 us on one thread. Addressing the 12 rows from 4
//! base registers in assembly (the compiler recomputes them in the loop) gained nothing.

use super::avx512::Avx512;
use super::packed_weights::{PackedWeights, PANEL};
use rayon::prelude::*;
use std::arch::x86_64::{
    __m512, __mmask16, _mm512_fmadd_ps, _mm512_load_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_set1_ps,
};

/// Rows of `x` per micro-kernel call: 12 rows by 2 vectors, 24 accumulators of the 32 vector
/// registers (two more hold the weights, one the broadcast input).
const ROWS: usize = 12;

/// Inputs per block of the inner dimension: a block of 12 rows is 24 KB, within the first-level
/// data cache (48 KB on Zen 5 and on Intel since Ice Lake). Measured on one thread with
/// `bench_predict --hidden 256,128 --batch 1000` (AMD EPYC Zen 5, alternating runs): blocks of
/// 128, 256, 512 and 784 inputs took 1,943-1,967, 1,950-1,973, 1,898-1,968 and 1,888-1,927 us a
/// call; 512 keeps the block within the cache for inputs of any width.
const DEPTH: usize = 512;

/// The packed weights (values) that the loops count on finding in the second-level cache: 512
/// KB, half of Zen 4's (Zen 5 and current Xeons have 2 MB a core).
const IN_CACHE: usize = 1 << 17;

/// `y (m, n) = x (m, k) . wt^T + bias` from the weights `packed` (of `k` inputs and `n`
/// outputs) on up to `threads` threads; `x` and `y` are row-major. The threads split the panels
/// when they split evenly (each thread then reads its part of the weights only, and does as
/// much as the others), else the rows; the result does not depend on the split.
///
/// # Panics
/// When the shapes do not match.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward(
    token: Avx512,
    packed: &PackedWeights,
    x: &[f32],
    bias: &[f32],
    y: &mut [f32],
    m: usize,
    threads: usize,
) {
    let (k, n) = packed.shape();
    assert!(k > 0 && n > 0, "packed weights");
    assert_eq!(x.len(), m * k, "x is (m, k)");
    assert_eq!(bias.len(), n, "bias has n values");
    assert_eq!(y.len(), m * n, "y is (m, n)");
    let panels = n.div_ceil(PANEL);
    if threads <= 1 || m <= ROWS {
        // SAFETY: `y` holds `m n` values and is borrowed mutably for the call.
        return unsafe { forward_panels(token, packed, x, bias, y.as_mut_ptr(), m, 0..panels) };
    }
    if panels < threads || !panels.is_multiple_of(threads) {
        // The panels do not split evenly over the threads: the rows do, in contiguous parts of
        // whole micro-kernel calls.
        let rows = m.div_ceil(ROWS).div_ceil(threads) * ROWS;
        return x
            .par_chunks(rows * k)
            .zip(y.par_chunks_mut(rows * n))
            .for_each(|(x, y)| {
                let m = y.len() / n;
                // SAFETY: as above, for this part of the rows.
                unsafe { forward_panels(token, packed, x, bias, y.as_mut_ptr(), m, 0..panels) }
            });
    }
    // The panels in contiguous parts: part `p` writes the columns of its panels in every row.
    let y_addr = y.as_mut_ptr() as usize;
    (0..threads).into_par_iter().for_each(|part| {
        let range = part * panels / threads..(part + 1) * panels / threads;
        // SAFETY: `y` holds `m n` values and stays borrowed mutably until every part is done;
        // the parts' panels are disjoint, so no value of `y` is written by two threads, and
        // none is read by another.
        unsafe { forward_panels(token, packed, x, bias, y_addr as *mut f32, m, range) }
    });
}

/// [`forward`] for the outputs of the panels `panels` only, on the calling thread; the columns
/// of `y` outside those panels are neither read nor written.
///
/// # Safety
/// `y` points at `m n` values that no other thread reads or writes in the columns of `panels`
/// meanwhile; the shapes were checked by [`forward`].
unsafe fn forward_panels(
    _token: Avx512,
    packed: &PackedWeights,
    x: &[f32],
    bias: &[f32],
    y: *mut f32,
    m: usize,
    panels: std::ops::Range<usize>,
) {
    let (k, n) = packed.shape();
    let weights = packed.panels();
    // One micro-kernel call: rows `r0..` (at most 12), inputs `t0..` (at most DEPTH), panel `p`.
    let tile = |r0: usize, t0: usize, p: usize| {
        let (rows, depth) = ((m - r0).min(ROWS), DEPTH.min(k - t0));
        let j0 = p * PANEL;
        let outputs = (n - j0).min(PANEL);
        let w = &weights[p * PANEL * k + t0 * PANEL..][..depth * PANEL];
        let tile = Tile {
            x: x[r0 * k + t0..].as_ptr(),
            k,
            w: w.as_ptr(),
            depth,
            // SAFETY: row `r0 < m`, column `j0 < n`: within `y`'s `m n` values.
            y: unsafe { y.add(r0 * n + j0) },
            n,
            masks: (lane_mask(outputs), lane_mask(outputs.saturating_sub(16))),
            bias: (t0 == 0).then(|| bias[j0..].as_ptr()),
        };
        // SAFETY: the token exists only when the processor has AVX-512F; the tile's rows
        // `r0..r0 + rows` of `x` (inputs `t0..t0 + depth`) and of `y` (the lanes of `masks` from
        // `j0`) are within them, as are the panel's `depth` inputs (32 values each from a
        // 64-byte line) and the bias's lanes.
        unsafe {
            match rows {
                12 => tile.run::<12>(),
                11 => tile.run::<11>(),
                10 => tile.run::<10>(),
                9 => tile.run::<9>(),
                8 => tile.run::<8>(),
                7 => tile.run::<7>(),
                6 => tile.run::<6>(),
                5 => tile.run::<5>(),
                4 => tile.run::<4>(),
                3 => tile.run::<3>(),
                2 => tile.run::<2>(),
                _ => tile.run::<1>(),
            }
        }
    };
    if panels.len() * PANEL * k <= IN_CACHE {
        // The weights of these panels stay in the second-level cache: for each block of 12
        // rows, each block of inputs, every panel (the rows' block stays in the first-level
        // cache).
        for r0 in (0..m).step_by(ROWS) {
            for t0 in (0..k).step_by(DEPTH) {
                for p in panels.clone() {
                    tile(r0, t0, p);
                }
            }
        }
    } else {
        // Blocks of inputs, and in each, groups of panels whose blocks stay in the
        // second-level cache while every block of rows goes through them.
        let group = (IN_CACHE / (PANEL * DEPTH)).max(1);
        for t0 in (0..k).step_by(DEPTH) {
            for g0 in panels.clone().step_by(group) {
                for r0 in (0..m).step_by(ROWS) {
                    for p in g0..(g0 + group).min(panels.end) {
                        tile(r0, t0, p);
                    }
                }
            }
        }
    }
}

/// The first `lanes` (at most 16) lanes of a vector.
fn lane_mask(lanes: usize) -> __mmask16 {
    ((1u32 << lanes.min(16)) - 1) as __mmask16
}

/// One micro-kernel call: rows of `x` by a panel's 32 outputs over a block of inputs.
struct Tile {
    /// The first row's first input of the block; rows `k` values apart.
    x: *const f32,
    k: usize,
    /// The panel's weights of the block's first input, 32 a input, 64-byte aligned.
    w: *const f32,
    depth: usize,
    /// The first row's first output of the panel; rows `n` values apart.
    y: *mut f32,
    n: usize,
    /// The outputs of the panel's two vectors that exist.
    masks: (__mmask16, __mmask16),
    /// The panel's biases on the first block (the sums start from them), else `None` (the sums
    /// go on from `y`).
    bias: Option<*const f32>,
}

impl Tile {
    /// `R` rows of the tile.
    ///
    /// # Safety
    /// The processor has AVX-512F; the tile's pointers reach `R` rows of `x` and `y` as
    /// documented on its fields.
    #[target_feature(enable = "avx512f")]
    unsafe fn run<const R: usize>(&self) {
        let (lo, hi) = self.masks;
        // SAFETY: the caller's contract.
        unsafe {
            let mut acc: [[__m512; 2]; R] = match self.bias {
                Some(bias) => {
                    let b = [
                        _mm512_maskz_loadu_ps(lo, bias),
                        _mm512_maskz_loadu_ps(hi, bias.add(16)),
                    ];
                    [b; R]
                }
                None => std::array::from_fn(|r| {
                    let y = self.y.add(r * self.n);
                    [
                        _mm512_maskz_loadu_ps(lo, y),
                        _mm512_maskz_loadu_ps(hi, y.add(16)),
                    ]
                }),
            };
            let mut x = self.x;
            let mut w = self.w;
            for _ in 0..self.depth {
                let w0 = _mm512_load_ps(w);
                let w1 = _mm512_load_ps(w.add(16));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let b = _mm512_set1_ps(*x.add(r * self.k));
                    acc[0] = _mm512_fmadd_ps(b, w0, acc[0]);
                    acc[1] = _mm512_fmadd_ps(b, w1, acc[1]);
                }
                x = x.add(1);
                w = w.add(PANEL);
            }
            for (r, acc) in acc.iter().enumerate() {
                let y = self.y.add(r * self.n);
                _mm512_mask_storeu_ps(y, lo, acc[0]);
                _mm512_mask_storeu_ps(y.add(16), hi, acc[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5) - 1.0)
            .collect()
    }

    /// The definition of the kernel's sums: from the bias, one fused multiply-add an input, in
    /// the inputs' order.
    fn chain(x: &[f32], wt: &[f32], bias: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut y = vec![0.0; m * n];
        for r in 0..m {
            for j in 0..n {
                let mut sum = bias[j];
                for t in 0..k {
                    sum = x[r * k + t].mul_add(wt[j * k + t], sum);
                }
                y[r * n + j] = sum;
            }
        }
        y
    }

    #[test]
    fn every_output_is_the_chain_of_fused_multiply_adds_from_its_bias_on_any_threads() {
        let Some(token) = Avx512::detect() else {
            eprintln!("skipped: this processor has no AVX-512F");
            return;
        };
        // Rows around the tile's 12, inputs around the block's 512, outputs around a panel's
        // 32 and a vector's 16.
        for (m, k, n) in [
            (1, 1, 1),
            (5, 17, 16),
            (12, 512, 32),
            (13, 513, 33),
            (25, 784, 70),
            (70, 1100, 128),
            (64, 256, 31),
            (130, 64, 64),
        ] {
            let (x, wt, bias) = (values(m * k + 1, 1), values(n * k, 2), values(n, 3));
            let packed = PackedWeights::pack(&wt, k, n);
            for (threads, first) in [(1, 0), (2, 0), (3, 0), (8, 0), (1, 1), (2, 1)] {
                // From the second value on, the rows start 4 bytes past where they did.
                let x = &x[first..first + m * k];
                let want = chain(x, &wt, &bias, m, k, n);
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut y = vec![f32::NAN; m * n];
                pool.install(|| forward(token, &packed, x, &bias, &mut y, m, threads));
                let (got, want): (Vec<u32>, Vec<u32>) = (
                    y.iter().map(|v| v.to_bits()).collect(),
                    want.iter().map(|v| v.to_bits()).collect(),
                );
                assert_eq!(got, want, "{m} x {k} x {n} on {threads} threads");
            }
        }
    }

    #[test]
    fn panels_hold_32_outputs_input_by_input_zero_past_the_last() {
        let (k, n) = (3, 40);
        let wt: Vec<f32> = (0..n * k).map(|i| i as f32 + 1.0).collect();
        let packed = PackedWeights::pack(&wt, k, n);
        let panels = packed.panels();
        assert_eq!(panels.len(), 2 * PANEL * k);
        assert_eq!(
            panels.as_ptr() as usize % 64,
            0,
            "a panel starts a cache line"
        );
        for p in 0..2 {
            for t in 0..k {
                for c in 0..PANEL {
                    let j = p * PANEL + c;
                    let want = if j < n { wt[j * k + t] } else { 0.0 };
                    assert_eq!(panels[p * PANEL * k + t * PANEL + c], want, "{p} {t} {c}");
                }
            }
        }
    }
}
