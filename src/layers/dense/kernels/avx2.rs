//! The blocked kernels for x86-64 processors with AVX2 and FMA: vectors of 8 lanes with fused
//! multiply-add, and the kernel bodies compiled with both enabled.

use super::blocked::{forward_body, input_grad_body, weight_grad_body, GradOut, Simd};
use std::arch::x86_64::{
    __m256, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32,
    _mm_movehl_ps, _mm_prefetch, _mm_shuffle_ps, _MM_HINT_T0,
};
use std::arch::x86_64::{
    _mm256_and_si256, _mm256_castps_si256, _mm256_castsi256_ps, _mm256_cmpeq_epi32,
    _mm256_movemask_ps, _mm256_mul_ps, _mm256_set1_epi32, _mm256_stream_ps, _mm256_sub_ps,
    _mm_sfence,
};

/// AVX2 vectors of 8 lanes with fused multiply-add. The value is a token: it exists only on
/// processors that have both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Avx2Fma(());

impl Avx2Fma {
    /// The token, when the processor has AVX2 and FMA.
    pub(super) fn detect() -> Option<Avx2Fma> {
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(Avx2Fma(()))
    }
}

// SAFETY (for every `unsafe` block in this impl): an `Avx2Fma` value exists only after
// `Avx2Fma::detect` found AVX2 and FMA, so the intrinsics can run; loads and stores go through
// slices of at least 8 values, checked by indexing.
impl Simd for Avx2Fma {
    type V = __m256;
    const LANES: usize = 8;

    #[inline(always)]
    fn zero(self) -> __m256 {
        unsafe { _mm256_setzero_ps() }
    }

    #[inline(always)]
    fn splat(self, v: f32) -> __m256 {
        unsafe { _mm256_set1_ps(v) }
    }

    #[inline(always)]
    fn load(self, src: &[f32]) -> __m256 {
        let src = &src[..8];
        unsafe { _mm256_loadu_ps(src.as_ptr()) }
    }

    #[inline(always)]
    fn store(self, v: __m256, dst: &mut [f32]) {
        let dst = &mut dst[..8];
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) }
    }

    #[inline(always)]
    fn mul_add(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }

    #[inline(always)]
    fn sum(self, v: __m256) -> f32 {
        unsafe {
            // Lanes l and l + 4, then l and l + 2, then 0 and 1.
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
            _mm_cvtss_f32(s)
        }
    }

    #[inline(always)]
    fn mul_add_scalar(self, a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }

    #[inline(always)]
    fn prefetch(self, value: &f32) {
        unsafe { _mm_prefetch::<_MM_HINT_T0>((value as *const f32).cast::<i8>()) }
    }

    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_mul_ps(a, b) }
    }

    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_sub_ps(a, b) }
    }

    #[inline(always)]
    fn stream(self, v: __m256, dst: &mut [f32]) {
        let dst = &mut dst[..8];
        // A streaming store needs a 32-byte aligned address.
        if (dst.as_ptr() as usize).is_multiple_of(32) {
            unsafe { _mm256_stream_ps(dst.as_mut_ptr(), v) }
        } else {
            unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) }
        }
    }

    #[inline(always)]
    fn fence(self) {
        unsafe { _mm_sfence() }
    }

    #[inline(always)]
    fn any_non_finite(self, v: __m256) -> bool {
        unsafe {
            let exponent = _mm256_set1_epi32(0x7f80_0000);
            let bits = _mm256_and_si256(_mm256_castps_si256(v), exponent);
            _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(bits, exponent))) != 0
        }
    }
}

// The kernel bodies compiled with AVX2 and FMA enabled, behind safe entry points that take the
// token. Block sizes fit the 16 vector registers: 10 to 12 accumulators plus operands.

/// [`forward`](super::forward) with AVX2 and FMA, for `m = x.len() / k` rows.
pub(super) fn forward(
    s: Avx2Fma,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    y: &mut [f32],
    k: usize,
    n: usize,
) {
    // SAFETY: the token exists only when the processor has AVX2 and FMA.
    unsafe { forward_avx2(s, x, wt, bias, y, k, n) }
}

/// [`weight_grad`](super::weight_grad) with AVX2 and FMA.
#[allow(clippy::too_many_arguments)]
pub(super) fn weight_grad(
    s: Avx2Fma,
    x: &[f32],
    g: &[f32],
    dwt: &mut impl GradOut<Avx2Fma>,
    m: usize,
    k: usize,
    n: usize,
    outputs: std::ops::Range<usize>,
) {
    // SAFETY: the token exists only when the processor has AVX2 and FMA.
    unsafe { weight_grad_avx2(s, x, g, dwt, m, k, n, outputs) }
}

/// [`input_grad`](super::input_grad) with AVX2 and FMA.
#[allow(clippy::too_many_arguments)]
pub(super) fn input_grad(
    s: Avx2Fma,
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    columns: std::ops::Range<usize>,
) {
    // SAFETY: the token exists only when the processor has AVX2 and FMA.
    unsafe { input_grad_avx2(s, g, wt, dx, m, k, n, columns) }
}

/// # Safety
/// The processor must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_avx2(
    s: Avx2Fma,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    y: &mut [f32],
    k: usize,
    n: usize,
) {
    forward_body::<_, 2, 5>(s, x, wt, bias, y, k, n)
}

/// # Safety
/// The processor must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn weight_grad_avx2(
    s: Avx2Fma,
    x: &[f32],
    g: &[f32],
    dwt: &mut impl GradOut<Avx2Fma>,
    m: usize,
    k: usize,
    n: usize,
    outputs: std::ops::Range<usize>,
) {
    weight_grad_body::<_, _, 5, 2>(s, x, g, dwt, m, k, n, outputs)
}

/// # Safety
/// The processor must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn input_grad_avx2(
    s: Avx2Fma,
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    columns: std::ops::Range<usize>,
) {
    input_grad_body::<_, 6, 2>(s, g, wt, dx, m, k, n, columns)
}
