//! Element-wise passes over large tensors on rayon's threads.
//!
//! An optimizer's update and an activation read and write every element of their tensors once
//! and do little arithmetic per element: on large tensors they are limited by how fast one core
//! moves memory (about 13 GB/s for one core of the 2-core Xeon these figures come from), and a
//! second core moving the other half doubles that. The plain SGD update of a 4096 x 4096 weight
//! streams 256 MB (weights, gradient, the undo copy, the new weights).
//!
//! A pass over `len` elements runs as [`parts`]`(len)` contiguous parts of [`part_len`]
//! elements (the last one shorter), one per thread, each part computed exactly as the whole
//! pass would compute it on one thread: every element gets the same bits whatever the number of
//! threads (the only thing the parts share is an "any element not finite" flag, an `or`). Small
//! tensors (every tensor of the tutorial's models) stay on the calling thread, which then
//! allocates nothing.

/// Elements per thread below which a thread costs more than it saves: 256 K `f32` (1 MB, about
/// 0.1 ms of one core's bandwidth per stream, against some 10 to 35 us to wake a thread and
/// wait for it).
pub(crate) const ELEMENTS_PER_PART: usize = 1 << 18;

/// How many contiguous parts a pass over `len` elements runs in: 1 below twice
/// [`ELEMENTS_PER_PART`], then one per [`ELEMENTS_PER_PART`] up to the threads of rayon's pool
/// (one per core unless `RAYON_NUM_THREADS` says otherwise).
pub(crate) fn parts(len: usize) -> usize {
    if len < 2 * ELEMENTS_PER_PART {
        return 1;
    }
    rayon::current_num_threads().clamp(1, len / ELEMENTS_PER_PART)
}

/// The length of each part of a pass over `len` elements in `parts` parts (the last may be
/// shorter); at least 1, so that it can be given to `chunks`.
pub(crate) fn part_len(len: usize, parts: usize) -> usize {
    len.div_ceil(parts.max(1)).max(1)
}

/// Buffers that a pass cuts into parts: slices, and pairs of them (nested for more).
pub(crate) trait Split: Sized + Send {
    /// The first `mid` elements and the rest. An empty slice, a buffer the pass does not use
    /// (a velocity before the first step), splits into two empty slices.
    fn split_at(self, mid: usize) -> (Self, Self);
}

impl Split for &[f32] {
    fn split_at(self, mid: usize) -> (Self, Self) {
        if self.is_empty() {
            return (self, self);
        }
        <[f32]>::split_at(self, mid)
    }
}

impl Split for &mut [f32] {
    fn split_at(self, mid: usize) -> (Self, Self) {
        if self.is_empty() {
            return (self, &mut []);
        }
        self.split_at_mut(mid)
    }
}

impl<A: Split, B: Split> Split for (A, B) {
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (a0, a1) = self.0.split_at(mid);
        let (b0, b1) = self.1.split_at(mid);
        ((a0, b0), (a1, b1))
    }
}

/// Runs `pass` over `buffers` (each `len` elements long, or empty) in [`parts`]`(len)`
/// contiguous parts of [`part_len`] elements on rayon's threads, or whole on the calling
/// thread when one part is enough; returns whether any part returned `true` (say, "an element
/// is not finite").
pub(crate) fn any_part<T: Split>(
    buffers: T,
    len: usize,
    pass: &(impl Fn(T) -> bool + Sync),
) -> bool {
    let parts = parts(len);
    if parts == 1 {
        return pass(buffers);
    }
    halves(buffers, len, part_len(len, parts), pass)
}

/// [`any_part`] of `len` elements in parts of `chunk`: the first half of the parts and the
/// rest, side by side.
fn halves<T: Split>(
    buffers: T,
    len: usize,
    chunk: usize,
    pass: &(impl Fn(T) -> bool + Sync),
) -> bool {
    if len <= chunk {
        return pass(buffers);
    }
    let mid = len.div_ceil(chunk) / 2 * chunk;
    let (first, rest) = buffers.split_at(mid);
    let (a, b) = rayon::join(
        || halves(first, mid, chunk, pass),
        || halves(rest, len - mid, chunk, pass),
    );
    a | b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_passes_stay_on_one_thread_and_parts_cover_the_pass() {
        assert_eq!(parts(0), 1);
        assert_eq!(parts(2 * ELEMENTS_PER_PART - 1), 1);
        // The MLP 784-256-128-10's largest tensor.
        assert_eq!(parts(784 * 256), 1);
        for len in [1, 7, 2 * ELEMENTS_PER_PART, 4096 * 4096 + 3] {
            for p in 1..=5 {
                let chunk = part_len(len, p);
                assert!(chunk * p >= len && chunk >= 1);
                assert!(len.div_ceil(chunk) <= p);
            }
        }
    }

    #[test]
    fn any_part_cuts_fixed_contiguous_parts_on_any_number_of_threads() {
        let len = 5 * ELEMENTS_PER_PART + 17;
        let x: Vec<f32> = (0..len).map(|i| i as f32).collect();
        for threads in [1, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            // Each part records its first element and its length, in place of its values.
            let mut y = vec![0.0f32; len];
            let mut empty: Vec<f32> = Vec::new();
            let any = pool.install(|| {
                any_part(
                    (y.as_mut_slice(), (x.as_slice(), empty.as_mut_slice())),
                    len,
                    &|(y, (x, e)): (&mut [f32], (&[f32], &mut [f32]))| {
                        assert!(e.is_empty());
                        assert_eq!(y.len(), x.len());
                        y.fill(x[0]);
                        x[0] == 0.0
                    },
                )
            });
            assert!(any, "the first part said true");
            let chunk = pool.install(|| part_len(len, parts(len)));
            let expected_parts = threads.min(len / ELEMENTS_PER_PART);
            assert_eq!(len.div_ceil(chunk), expected_parts);
            for (i, &v) in y.iter().enumerate() {
                assert_eq!(
                    v,
                    (i / chunk * chunk) as f32,
                    "element {i}, {threads} threads"
                );
            }
            empty.clear();
        }
    }
}
