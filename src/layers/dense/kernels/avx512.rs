//! The blocked kernels for x86-64 processors with AVX-512 (foundation): vectors of 16 lanes with
//! fused multiply-add, 32 vector registers, and the kernel bodies compiled with them enabled.

use super::blocked::{forward_body, input_grad_body, weight_grad_body, GradOut, Simd};
use std::arch::x86_64::{
    __m512, _mm256_add_ps, _mm256_castpd_ps, _mm256_castps256_ps128, _mm256_extractf128_ps,
    _mm512_castps512_ps256, _mm512_castps_pd, _mm512_extractf64x4_pd, _mm512_fmadd_ps,
    _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps, _mm_add_ps, _mm_add_ss,
    _mm_cvtss_f32, _mm_movehl_ps, _mm_prefetch, _mm_shuffle_ps, _MM_HINT_T0,
};
use std::arch::x86_64::{
    _mm512_and_si512, _mm512_castps_si512, _mm512_cmpeq_epi32_mask, _mm512_mul_ps,
    _mm512_set1_epi32, _mm512_stream_ps, _mm512_sub_ps, _mm_sfence,
};

/// AVX-512 vectors of 16 lanes with fused multiply-add. The value is a token: it exists only on
/// processors that have AVX-512F (which includes AVX2 and FMA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Avx512(());

impl Avx512 {
    /// The token, when the processor has AVX-512F.
    pub(super) fn detect() -> Option<Avx512> {
        is_x86_feature_detected!("avx512f").then_some(Avx512(()))
    }
}

// SAFETY (for every `unsafe` block in this impl): an `Avx512` value exists only after
// `Avx512::detect` found AVX-512F, so the intrinsics can run; loads and stores go through slices
// of at least 16 values, checked by indexing.
impl Simd for Avx512 {
    type V = __m512;
    const LANES: usize = 16;

    #[inline(always)]
    fn zero(self) -> __m512 {
        unsafe { _mm512_setzero_ps() }
    }

    #[inline(always)]
    fn splat(self, v: f32) -> __m512 {
        unsafe { _mm512_set1_ps(v) }
    }

    #[inline(always)]
    fn load(self, src: &[f32]) -> __m512 {
        let src = &src[..16];
        unsafe { _mm512_loadu_ps(src.as_ptr()) }
    }

    #[inline(always)]
    fn store(self, v: __m512, dst: &mut [f32]) {
        let dst = &mut dst[..16];
        unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), v) }
    }

    #[inline(always)]
    fn mul_add(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }

    #[inline(always)]
    fn sum(self, v: __m512) -> f32 {
        unsafe {
            // Lanes l and l + 8, then l and l + 4, l and l + 2, then 0 and 1.
            let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
            let s = _mm256_add_ps(_mm512_castps512_ps256(v), high);
            let s = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
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
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mul_ps(a, b) }
    }

    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_sub_ps(a, b) }
    }

    #[inline(always)]
    fn stream(self, v: __m512, dst: &mut [f32]) {
        let dst = &mut dst[..16];
        // A streaming store needs a 64-byte aligned address.
        if (dst.as_ptr() as usize).is_multiple_of(64) {
            unsafe { _mm512_stream_ps(dst.as_mut_ptr(), v) }
        } else {
            unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), v) }
        }
    }

    #[inline(always)]
    fn fence(self) {
        unsafe { _mm_sfence() }
    }

    #[inline(always)]
    fn any_non_finite(self, v: __m512) -> bool {
        unsafe {
            let exponent = _mm512_set1_epi32(0x7f80_0000);
            let bits = _mm512_and_si512(_mm512_castps_si512(v), exponent);
            _mm512_cmpeq_epi32_mask(bits, exponent) != 0
        }
    }
}

// The kernel bodies compiled with AVX-512F enabled, behind safe entry points that take the
// token. Block sizes measured per call on the shapes of the tutorial's model and of a
// 784 -> 256 -> 128 -> 10 perceptron, batch 32 (AMD Zen 5, weights 64-byte aligned, inputs not):
//
// | product | block | 32x784x10 | 32x784x256 | 32x256x128 | 32x128x10 |
// | --- | --- | --- | --- | --- | --- |
// | forward, AVX2 (2 x 5) | | 4.2 us | 111 us | 19.5 us | 0.82 us |
// | forward, fewer than 16 outputs | 2 rows x 5 outputs | 2.3 us | 99 us | 14.0 us | 0.55 us |
// | forward, 16 outputs or more | 4 rows x 4 outputs | 3.7 us | 66 us | 13.8 us | 0.85 us |
// | dW, AVX2 (5 x 2) | | 3.9 us | 103 us | 17.2 us | 0.65 us |
// | dW | 10 outputs x 2 vectors | 1.9 us | 52 us | 9.0 us | 0.32 us |
// | dX, AVX2 (6 x 2) | | 4.0 us | 115 us | 18.3 us | 0.66 us |
// | dX | 4 rows x 4 vectors | 2.0 us | 54 us | 8.5 us | 0.32 us |
//
// A forward block of 2 x 5 covers 10 outputs exactly; with many outputs, 4 x 4 reads each
// vector of weights for 4 rows instead of 2.

/// [`forward`](super::forward) with AVX-512, for `m = x.len() / k` rows.
pub(super) fn forward(
    s: Avx512,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    y: &mut [f32],
    k: usize,
    n: usize,
) {
    // SAFETY: the token exists only when the processor has AVX-512F.
    unsafe {
        if n < 16 {
            forward_narrow_avx512(s, x, wt, bias, y, k, n)
        } else {
            forward_wide_avx512(s, x, wt, bias, y, k, n)
        }
    }
}

/// [`weight_grad`](super::weight_grad) with AVX-512.
#[allow(clippy::too_many_arguments)]
pub(super) fn weight_grad(
    s: Avx512,
    x: &[f32],
    g: &[f32],
    dwt: &mut impl GradOut<Avx512>,
    m: usize,
    k: usize,
    n: usize,
    outputs: std::ops::Range<usize>,
) {
    // SAFETY: the token exists only when the processor has AVX-512F.
    unsafe { weight_grad_avx512(s, x, g, dwt, m, k, n, outputs) }
}

/// [`input_grad`](super::input_grad) with AVX-512.
#[allow(clippy::too_many_arguments)]
pub(super) fn input_grad(
    s: Avx512,
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    columns: std::ops::Range<usize>,
) {
    // SAFETY: the token exists only when the processor has AVX-512F.
    unsafe { input_grad_avx512(s, g, wt, dx, m, k, n, columns) }
}

/// [`forward`] in blocks of 2 rows by 5 outputs, for fewer than 16 outputs.
///
/// # Safety
/// The processor must have AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn forward_narrow_avx512(
    s: Avx512,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    y: &mut [f32],
    k: usize,
    n: usize,
) {
    forward_body::<_, 2, 5>(s, x, wt, bias, y, k, n)
}

/// [`forward`] in blocks of 4 rows by 3 outputs, for 16 outputs or more.
///
/// # Safety
/// The processor must have AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn forward_wide_avx512(
    s: Avx512,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    y: &mut [f32],
    k: usize,
    n: usize,
) {
    forward_body::<_, 4, 4>(s, x, wt, bias, y, k, n)
}

/// # Safety
/// The processor must have AVX-512F.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn weight_grad_avx512(
    s: Avx512,
    x: &[f32],
    g: &[f32],
    dwt: &mut impl GradOut<Avx512>,
    m: usize,
    k: usize,
    n: usize,
    outputs: std::ops::Range<usize>,
) {
    weight_grad_body::<_, _, 10, 2>(s, x, g, dwt, m, k, n, outputs)
}

/// # Safety
/// The processor must have AVX-512F.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn input_grad_avx512(
    s: Avx512,
    g: &[f32],
    wt: &[f32],
    dx: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    columns: std::ops::Range<usize>,
) {
    input_grad_body::<_, 4, 4>(s, g, wt, dx, m, k, n, columns)
}
