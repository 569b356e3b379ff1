//! [`PackedWeights`]: a `Dense` layer's weights laid out for the AVX-512 forward kernel
//! (`avx512_forward`), packed once and kept until the weights change ([`PackedCache`]), the way
//! onnxruntime's MLAS (`MlasGemmPackB`) and oneDNN keep a layer's weights packed between calls.

use rayon::prelude::*;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Outputs per panel: two vectors of 16 lanes.
pub(crate) const PANEL: usize = 32;

/// The values of a 64-byte cache line.
const LINE: usize = 16;

/// The weights `wt (n, k)` of a [`Dense`](crate::layers::Dense) layer packed into panels of
/// [`PANEL`] outputs: panel `p` holds, input after input, the weights of outputs `32 p ..
/// 32 p + 32` (zeros past the last output), `k 32` values starting a cache line.
#[derive(Clone, Debug, Default)]
pub(crate) struct PackedWeights {
    /// The panels, from `offset` on; `offset` makes the first one start a 64-byte line.
    values: Vec<f32>,
    offset: usize,
    k: usize,
    n: usize,
}

impl PackedWeights {
    /// `wt (n, k)` row-major, packed.
    ///
    /// # Panics
    /// When `wt.len() != n k`.
    #[cfg(test)]
    pub(crate) fn pack(wt: &[f32], k: usize, n: usize) -> PackedWeights {
        let mut packed = PackedWeights::default();
        packed.repack(wt, k, n);
        packed
    }

    /// Packs `wt (n, k)` into this value, reusing its memory.
    ///
    /// # Panics
    /// When `wt.len() != n k`.
    pub(crate) fn repack(&mut self, wt: &[f32], k: usize, n: usize) {
        assert_eq!(wt.len(), n * k, "wt is (n, k)");
        let len = n.div_ceil(PANEL) * PANEL * k;
        self.values.clear();
        self.values.resize(len + LINE, 0.0);
        self.offset = self.values.as_ptr().align_offset(64).min(LINE - 1);
        (self.k, self.n) = (k, n);
        let panels = &mut self.values[self.offset..self.offset + len];
        #[cfg(target_arch = "x86_64")]
        let avx512 = is_x86_feature_detected!("avx512f");
        let pack = |p: usize, panel: &mut [f32]| {
            let outputs = (n - p * PANEL).min(PANEL);
            // Tiles of 16 inputs by 16 outputs: each row of `wt` is read a line at a time, and
            // the tile's writes stay within 16 lines of the panel.
            for t0 in (0..k).step_by(LINE) {
                let t1 = (t0 + LINE).min(k);
                for c0 in (0..outputs).step_by(LINE) {
                    let c1 = (c0 + LINE).min(outputs);
                    let rows = &wt[(p * PANEL + c0) * k..];
                    #[cfg(target_arch = "x86_64")]
                    if avx512 && t1 - t0 == LINE && c1 - c0 == LINE {
                        let rows = &rows[..15 * k + t1];
                        let tile = &mut panel[t0 * PANEL + c0..][..15 * PANEL + LINE];
                        // SAFETY: the processor has AVX-512F; `rows` holds 16 rows of `k`
                        // values from `t0` (the last ending at `t1`), `tile` 16 rows of 32
                        // values from `c0` (the last ending 16 values on).
                        unsafe { transpose_16x16(rows[t0..].as_ptr(), k, tile.as_mut_ptr()) };
                        continue;
                    }
                    for c in c0..c1 {
                        let row = &rows[(c - c0) * k..][t0..t1];
                        for (t, &w) in (t0..t1).zip(row) {
                            panel[t * PANEL + c] = w;
                        }
                    }
                }
            }
        };
        // The panels on rayon's threads when the weights are large enough to repay a split (a
        // training step packs them on the calling thread while the others wait).
        let parts = crate::parallel::parts(len);
        if parts > 1 {
            let per_part = (len / (PANEL * k)).div_ceil(parts);
            panels
                .par_chunks_mut(per_part * PANEL * k)
                .enumerate()
                .for_each(|(part, panels)| {
                    for (p, panel) in panels.chunks_exact_mut(PANEL * k).enumerate() {
                        pack(part * per_part + p, panel);
                    }
                });
        } else {
            for (p, panel) in panels.chunks_exact_mut(PANEL * k).enumerate() {
                pack(p, panel);
            }
        }
    }

    /// `(k, n)`: the inputs and outputs of the weights.
    pub(super) fn shape(&self) -> (usize, usize) {
        (self.k, self.n)
    }

    /// Whether these are the panels of weights of `k` inputs and `n` outputs.
    pub(crate) fn fits(&self, k: usize, n: usize) -> bool {
        (self.k, self.n) == (k, n) && !self.values.is_empty()
    }

    /// The panels.
    pub(super) fn panels(&self) -> &[f32] {
        &self.values[self.offset..self.offset + self.n.div_ceil(PANEL) * PANEL * self.k]
    }
}

/// Writes the transpose of the 16 x 16 block of `src` (rows `k` values apart) into `dst`
/// (rows [`PANEL`] values apart): `dst[t PANEL + c] = src[c k + t]`. Four rounds of 16
/// shuffles within and across 128-bit lanes, the usual in-register transposition.
///
/// # Safety
/// The processor has AVX-512F; `src` reaches 16 rows of 16 values `k` apart, `dst` 16 rows of
/// 16 values `PANEL` apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn transpose_16x16(src: *const f32, k: usize, dst: *mut f32) {
    use std::arch::x86_64::{
        __m512, _mm512_castpd_ps, _mm512_castps_pd, _mm512_loadu_ps, _mm512_shuffle_f32x4,
        _mm512_storeu_ps, _mm512_unpackhi_pd, _mm512_unpackhi_ps, _mm512_unpacklo_pd,
        _mm512_unpacklo_ps,
    };
    // SAFETY: the caller's contract.
    unsafe {
        let mut r: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(src.add(i * k)));
        let mut t = r;
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for g in (0..16).step_by(4) {
            let (a, b) = (_mm512_castps_pd(t[g]), _mm512_castps_pd(t[g + 2]));
            let (c, d) = (_mm512_castps_pd(t[g + 1]), _mm512_castps_pd(t[g + 3]));
            r[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            r[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
            r[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
            r[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
        }
        for h in [0, 8] {
            for i in 0..4 {
                t[h + i] = _mm512_shuffle_f32x4::<0x88>(r[h + i], r[h + 4 + i]);
                t[h + 4 + i] = _mm512_shuffle_f32x4::<0xdd>(r[h + i], r[h + 4 + i]);
            }
        }
        for i in 0..8 {
            r[i] = _mm512_shuffle_f32x4::<0x88>(t[i], t[8 + i]);
            r[8 + i] = _mm512_shuffle_f32x4::<0xdd>(t[i], t[8 + i]);
        }
        for (i, row) in r.iter().enumerate() {
            _mm512_storeu_ps(dst.add(i * PANEL), *row);
        }
    }
}

/// A layer's [`PackedWeights`], made on first use and dropped whenever the weights change: the
/// layer calls [`PackedCache::invalidate`] from every method that can change them (each takes
/// `&mut self`, so no reader holds the panels then). The first pass after a change packs them,
/// through `&self` (a prediction's parts on several threads wait for the one that packs), into
/// the memory of the panels last dropped: the layer holds one copy of its packed weights at
/// most, and a warm training step allocates nothing. A clone starts empty.
#[derive(Debug, Default)]
pub(crate) struct PackedCache {
    current: OnceLock<PackedWeights>,
    /// The memory of the panels last dropped, for the next ones.
    spare: Mutex<PackedWeights>,
}

impl Clone for PackedCache {
    fn clone(&self) -> Self {
        PackedCache::default()
    }
}

impl PackedCache {
    /// The panels of `wt (n, k)`, packed now when they are not yet.
    pub(crate) fn get(&self, wt: &[f32], k: usize, n: usize) -> &PackedWeights {
        let packed = self.current.get_or_init(|| {
            // A panic while packing leaves the spare memory empty, never wrong: it is repacked
            // whole before use.
            let mut spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
            let mut packed = std::mem::take(&mut *spare);
            packed.repack(wt, k, n);
            packed
        });
        debug_assert!(packed.fits(k, n));
        packed
    }

    /// Drops the panels: the weights are about to change. Their memory is kept for the next.
    pub(crate) fn invalidate(&mut self) {
        if let Some(packed) = self.current.take() {
            *self.spare.get_mut().unwrap_or_else(PoisonError::into_inner) = packed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_large_enough_to_split_pack_the_same_on_any_number_of_threads() {
        // 784 x 1000: 784,000 values, split over the threads; 32 panels, the last of 8 outputs.
        let (k, n) = (784, 1000);
        let wt: Vec<f32> = (0..n * k).map(|i| i as f32).collect();
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let packed = pool.install(|| PackedWeights::pack(&wt, k, n));
            let panels = packed.panels();
            assert_eq!(panels.len(), n.div_ceil(PANEL) * PANEL * k);
            for (i, &value) in panels.iter().enumerate() {
                let (p, t, c) = (i / (PANEL * k), i / PANEL % k, i % PANEL);
                let j = p * PANEL + c;
                let want = if j < n { wt[j * k + t] } else { 0.0 };
                assert_eq!(
                    value, want,
                    "{threads} threads: panel {p}, input {t}, output {c}"
                );
            }
        }
    }

    #[test]
    fn the_cache_packs_once_and_again_after_an_invalidation_into_the_same_memory() {
        let (k, n) = (5, 3);
        let old: Vec<f32> = (0..n * k).map(|i| i as f32).collect();
        let new: Vec<f32> = old.iter().map(|v| -v).collect();
        let mut cache = PackedCache::default();
        let first = cache.get(&old, k, n).panels().to_vec();
        assert_eq!(first, PackedWeights::pack(&old, k, n).panels());
        // Current panels are kept, whatever weights are passed.
        assert_eq!(cache.get(&new, k, n).panels(), first);
        // Invalidated, they are packed anew, in the memory of the old ones.
        let memory = cache.get(&old, k, n).values.as_ptr();
        cache.invalidate();
        assert_eq!(cache.get(&new, k, n).values.as_ptr(), memory);
        assert_eq!(
            cache.get(&new, k, n).panels(),
            PackedWeights::pack(&new, k, n).panels()
        );
        // A clone starts empty.
        let clone = cache.clone();
        assert_eq!(clone.get(&old, k, n).panels(), first);
    }
}
