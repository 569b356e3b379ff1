//! How work is split over rayon's threads: matrix products ([`threads_for`]), element-wise
//! passes over large tensors ([`any_part`]), and the training step or forward pass that runs
//! them ([`with_threads_awake`]).
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
//!
//! Waking a thread is what a split costs. rayon's threads go to sleep a few microseconds after
//! they run out of work, and waking one takes an inter-processor interrupt (on a virtual
//! machine, also getting its halted processor scheduled again). Measured on the 2-core Xeon (a
//! KVM guest), a `rayon::join` of two halves of 100 us took this much longer than one half,
//! medians of 300, after the other thread had been idle for: 0 us, 7 us; 20 us, 34 us; 100 us,
//! 86 us; 1 ms, 230 us. A training step of a large model alternates threaded products with
//! single-thread work (activations, loss, the small last layer), so each of its ten or so
//! splits paid such a wake-up. [`with_threads_awake`] keeps the pool's other threads spinning
//! for the length of a step, as OpenMP keeps its threads between parallel regions (the
//! runtimes PyTorch ships spin for a while before sleeping; `OMP_WAIT_POLICY=passive` turns
//! that off there, and here).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Elements per thread below which a thread costs more than it saves: 256 K `f32` (1 MB, about
/// 0.1 ms of one core's bandwidth per stream, against some 10 to 35 us to wake a thread and
/// wait for it).
pub(crate) const ELEMENTS_PER_PART: usize = 1 << 18;

/// [`ELEMENTS_PER_PART`] while the pool's threads are kept awake ([`with_threads_awake`]), when
/// handing a part to a thread costs some 5 to 7 us: 64 K `f32`, about 20 us of one core.
const ELEMENTS_PER_PART_AWAKE: usize = 1 << 16;

thread_local! {
    /// Whether this thread runs the work of a [`with_threads_awake`].
    static AWAKE: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread runs the work of a [`with_threads_awake`].
fn awake() -> bool {
    AWAKE.with(Cell::get)
}

/// How many contiguous parts a pass over `len` elements runs in: 1 below twice
/// [`ELEMENTS_PER_PART`] ([`ELEMENTS_PER_PART_AWAKE`] while the threads are kept awake), then
/// one per such part up to the threads of rayon's pool (one per core unless
/// `RAYON_NUM_THREADS` says otherwise). The parts never change what a pass computes.
pub(crate) fn parts(len: usize) -> usize {
    shares(len, ELEMENTS_PER_PART, ELEMENTS_PER_PART_AWAKE)
}

/// How many threads take a share of `size` units of work: 1 below two shares, then one per
/// share up to the threads of rayon's pool; a share is `per_thread` units, or `per_thread_awake`
/// while the calling thread runs the work of a [`with_threads_awake`].
pub(crate) fn shares(size: usize, per_thread: usize, per_thread_awake: usize) -> usize {
    let per_thread = if awake() {
        per_thread_awake
    } else {
        per_thread
    };
    if size < 2 * per_thread {
        return 1;
    }
    rayon::current_num_threads().clamp(1, size / per_thread)
}

/// The length of each part of a pass over `len` elements in `parts` parts (the last may be
/// shorter); at least 1, so that it can be given to `chunks`.
pub(crate) fn part_len(len: usize, parts: usize) -> usize {
    len.div_ceil(parts.max(1)).max(1)
}

/// Multiply-adds (`m k n`) per thread below which a thread costs more than it saves, in a
/// product of [`Dense`](crate::layers::Dense).
///
/// Measured with two cores, AVX2, 14 batches of 1,000 rows: 784 -> 256 runs 1.85 times faster
/// on two threads (200 M multiply-adds per batch), 256 -> 128 1.4 times (33 M); 784 -> 10 (8 M,
/// limited by memory) and a batch of 32 through 784 -> 256 (6 M) run slower, the cost of starting
/// a thread (about 35 us) eating the gain.
pub(crate) const WORK_PER_THREAD: usize = 1 << 23;

/// [`WORK_PER_THREAD`] while the pool's threads are kept awake ([`with_threads_awake`]): 1 M
/// multiply-adds, about 10 us of one core.
const WORK_PER_THREAD_AWAKE: usize = 1 << 20;

/// How many threads a product of `work` multiply-adds should use: 1 below 16 M (2 M while the
/// threads are kept awake), then one per 8 M (1 M), up to the threads of rayon's pool (one per
/// core unless `RAYON_NUM_THREADS` says otherwise). The threads never change what a product
/// computes.
pub(crate) fn threads_for(work: usize) -> usize {
    shares(work, WORK_PER_THREAD, WORK_PER_THREAD_AWAKE)
}

/// Whether a step whose products reach `work` multiply-adds and whose element-wise passes
/// reach `elements` elements (each its largest) splits anything over threads: when it does,
/// [`with_threads_awake`] repays itself. The small models' steps (784-10, 784-256-128-10 at a
/// batch of 32) stay below both thresholds.
pub(crate) fn splits(work: usize, elements: usize) -> bool {
    threads_for(work) > 1 || parts(elements) > 1
}

/// Runs `work` on a thread of rayon's pool while every other thread of the pool waits for work
/// spinning instead of sleeping, running rayon's jobs as they come (the threaded parts of
/// `work`), until `work` returns; returns what `work` returns, and a panic in `work` goes on
/// unwinding from here.
///
/// Meant for a training step or forward pass that [`splits`]: the waiting threads use their
/// cores for the whole of `work`, its single-thread stretches included, and each split then
/// finds its threads awake. Measured on the 2-core Xeon, one step of 784-1024-1024-10 at a
/// batch of 32: 3.1 -> 2.6 ms; 784-128-128-10 at 256: 1.0 -> 0.8 ms; 784-1024-1024-10 at 256:
/// 12.6 -> 12.0 ms. While `work` runs, its passes and products split from smaller sizes
/// ([`ELEMENTS_PER_PART_AWAKE`], [`WORK_PER_THREAD_AWAKE`]), handing a part to an awake thread
/// costing 5 to 7 us. What `work` computes does not change: every split is fixed by the shapes,
/// and no split changes a result.
///
/// `work` runs as it is, without keeping anything awake, when the pool has one thread, when
/// `OMP_WAIT_POLICY` is `passive` (OpenMP's setting, read once), or while another call keeps
/// the threads awake (one at a time, process-wide). Called from outside the pool, the calling
/// thread waits for `work` to run on one of the pool's threads.
///
/// Why this cannot deadlock: the spinning jobs are pushed on the deque of the thread that runs
/// `work` before any of `work`'s jobs. rayon's thieves take the oldest job of a deque and its
/// owner the newest, so every spinning job is taken by another thread (where it spins, running
/// `work`'s jobs) before any of `work`'s jobs leaves that thread, or is still there when `work`
/// returns and then runs on the same thread, finds `work` done and returns at once. No thread
/// is ever left waiting for a job that sits behind a spinning one. As in any rayon `join`, a
/// spinning thread may meanwhile run other jobs of the pool (a program's own parallel
/// iterators), and `work`'s caller then returns when the one it runs is done.
pub(crate) fn with_threads_awake<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    static ACTIVE: AtomicBool = AtomicBool::new(false);
    static PASSIVE: OnceLock<bool> = OnceLock::new();
    let passive = *PASSIVE.get_or_init(|| {
        std::env::var("OMP_WAIT_POLICY").is_ok_and(|policy| policy.eq_ignore_ascii_case("passive"))
    });
    let threads = rayon::current_num_threads();
    if threads < 2
        || passive
        || ACTIVE
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        return work();
    }
    /// Sets its flag when dropped: when `work` returns or unwinds.
    struct SetOnDrop<'a>(&'a AtomicBool, bool);
    impl Drop for SetOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(self.1, Ordering::Release);
        }
    }
    /// Marks the calling thread as running kept-awake work until dropped.
    struct Awake;
    impl Awake {
        fn set() -> Awake {
            AWAKE.with(|awake| awake.set(true));
            Awake
        }
    }
    impl Drop for Awake {
        fn drop(&mut self) {
            AWAKE.with(|awake| awake.set(false));
        }
    }
    let _release = SetOnDrop(&ACTIVE, false);
    let done = AtomicBool::new(false);
    // `spinners` spinning jobs, each pushed before the rest (`join` pushes its second closure
    // and runs its first), then `work`.
    fn spinning<R: Send>(spinners: usize, done: &AtomicBool, work: impl FnOnce() -> R + Send) -> R {
        if spinners == 0 {
            let _done = SetOnDrop(done, true);
            let _awake = Awake::set();
            return work();
        }
        let spin = || {
            while !done.load(Ordering::Acquire) {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    std::hint::spin_loop();
                }
            }
        };
        rayon::join(|| spinning(spinners - 1, done, work), spin).0
    }
    spinning(threads - 1, &done, work)
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

    #[test]
    fn products_split_from_16_million_multiply_adds() {
        // The MLP 784-256-128-10's largest product at a batch of 32 stays on one thread.
        assert_eq!(threads_for(32 * 784 * 256), 1);
        assert_eq!(threads_for(2 * WORK_PER_THREAD - 1), 1);
        assert_eq!(
            threads_for(1_000 * 784 * 256),
            rayon::current_num_threads().min(23)
        );
        assert!(!splits(32 * 784 * 256, 784 * 256));
        assert_eq!(
            splits(2 * WORK_PER_THREAD, 0),
            rayon::current_num_threads() > 1
        );
    }

    #[test]
    fn threads_kept_awake_take_smaller_parts() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (len, work) = (2 * ELEMENTS_PER_PART_AWAKE, 2 * WORK_PER_THREAD_AWAKE);
        assert_eq!(pool.install(|| (parts(len), threads_for(work))), (1, 1));
        // Another test of this process may be keeping its threads awake (one call at a time,
        // process-wide): then the work runs as it is. Try until this one is the call that does.
        let awake_inside = (0..1_000).find_map(|_| {
            let (awake, inside) =
                pool.install(|| with_threads_awake(|| (awake(), (parts(len), threads_for(work)))));
            if !awake {
                assert_eq!(inside, (1, 1), "not kept awake: the usual thresholds");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            awake.then_some(inside)
        });
        assert_eq!(awake_inside, Some((2, 2)));
        // And back to the usual thresholds once the work returned.
        assert_eq!(pool.install(|| (parts(len), threads_for(work))), (1, 1));
    }

    #[test]
    fn threads_kept_awake_run_the_splits_of_work_and_give_back_its_value() {
        let len = 5 * ELEMENTS_PER_PART + 17;
        let x: Vec<f32> = (0..len).map(|i| i as f32).collect();
        // Each element doubled, in parts, and whether any part saw a multiple of 1,000,003.
        let pass = |y: &mut [f32]| {
            let mut y = y.to_vec();
            let found = any_part((y.as_mut_slice(), x.as_slice()), len, &|(y, x)| {
                let mut found = false;
                for (y, x) in y.iter_mut().zip(x) {
                    *y = 2.0 * x;
                    found |= *x > 0.0 && (*x as usize).is_multiple_of(1_000_003);
                }
                found
            });
            (y, found)
        };
        let expected = (x.iter().map(|x| 2.0 * x).collect::<Vec<f32>>(), true);
        for threads in [1, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut y = vec![0.0; len];
            let got = pool.install(|| with_threads_awake(|| pass(&mut y)));
            assert!(got == expected, "{threads} threads");
            // Kept awake while already awake: runs as it is.
            let got = pool.install(|| with_threads_awake(|| with_threads_awake(|| pass(&mut y))));
            assert!(got == expected, "{threads} threads, nested");
        }
        let mut y = vec![0.0; len];
        assert!(
            with_threads_awake(|| pass(&mut y)) == expected,
            "outside any pool"
        );
    }

    #[test]
    fn a_panic_in_work_kept_awake_unwinds_to_the_caller_and_releases_the_threads() {
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.install(|| with_threads_awake(|| -> usize { panic!("in work") }))
            }));
            assert!(result.is_err(), "{threads} threads");
            // The spinning threads stopped and the next call keeps them awake again.
            assert_eq!(pool.install(|| with_threads_awake(|| 42)), 42);
        }
    }
}
