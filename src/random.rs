//! A bit-exact reimplementation of numpy's legacy `np.random.RandomState`.
//!
//! The tutorial's numbers (initial weights, shuffles, the MNIST train/test
//! split) were produced in Python after `np.random.seed(42)`. To reproduce
//! them exactly in Rust we need the same generator, seeded the same way, and
//! the same transformations from raw 32-bit words to floats, normals and
//! integers. [`RandomState`] provides exactly that:
//!
//! * **MT19937**, the Mersenne Twister of Matsumoto & Nishimura (1998),
//!   seeded from a 32-bit integer with their `init_genrand` routine, which is
//!   what numpy's `_legacy_seeding` calls for an integer seed, or from an array of
//!   words with `init_by_array` ([`RandomState::from_key`]).
//! * **Uniform doubles** built from two 32-bit draws with 53 bits of
//!   precision (`genrand_res53`, numpy's `legacy_double` / `np.random.rand`).
//! * **Standard normals** from numpy's `legacy_gauss`: the polar Box–Muller
//!   method, which produces two values per accepted pair and caches the second
//!   (`has_gauss` / `gauss`) for the next call (`np.random.randn`).
//! * **Bounded integers** from numpy's legacy `random_interval` (masked
//!   rejection sampling), used by `np.random.shuffle` and
//!   `np.random.permutation`.
//!
//! The generator also implements [`RngCore`], so it can drive `rand_distr`
//! distributions or `ndarray-rand` (those draws will of course not match any
//! numpy function, only the raw stream does).
//!
//! # Example
//!
//! ```
//! use feedforward::random::RandomState;
//!
//! let mut rng = RandomState::new(42); // np.random.seed(42)
//! assert_eq!(rng.next_f64(), 0.3745401188473625); // np.random.rand()
//! assert_eq!(rng.next_f64(), 0.9507143064099162);
//! assert_eq!(rng.standard_normal(), 0.6476885381006925); // np.random.randn()
//!
//! let mut rng = RandomState::new(42);
//! assert_eq!(rng.permutation(10)?, vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
//! # Ok::<(), feedforward::Error>(())
//! ```
//!
//! The methods that return arrays ([`RandomState::rand`], [`RandomState::randn`], their `f64`
//! forms and [`RandomState::permutation`]) return [`Error::TooLarge`](crate::Error::TooLarge) for
//! a size that cannot be allocated (numpy raises `MemoryError` there), never a panic.

use crate::{allocation, Result};
use ndarray::Array2;
use ndarray_rand::rand::RngCore;

/// Number of 32-bit words in the MT19937 state.
const N: usize = 624;
/// MT19937 middle word offset.
const M: usize = 397;
/// MT19937 twist matrix constant.
const MATRIX_A: u32 = 0x9908_b0df;
/// Most significant bit of a word.
const UPPER_MASK: u32 = 0x8000_0000;
/// Least significant 31 bits of a word.
const LOWER_MASK: u32 = 0x7fff_ffff;

/// numpy's legacy random generator (`np.random.RandomState`): MT19937 plus
/// numpy's legacy conversions to floats, normals and bounded integers.
///
/// Seeded with [`RandomState::new`], every method reproduces the
/// corresponding `np.random.*` call bit for bit, so results computed in the
/// tutorial with `np.random.seed(seed)` can be reproduced exactly.
#[derive(Clone, Debug)]
pub struct RandomState {
    /// The 624-word Mersenne Twister state.
    key: Box<[u32; N]>,
    /// Index of the next word of `key` to temper and return.
    pos: usize,
    /// Whether `gauss` holds the cached second normal of the last pair.
    has_gauss: bool,
    /// The cached normal deviate (valid only when `has_gauss`).
    gauss: f64,
}

impl RandomState {
    /// Creates a generator seeded like `np.random.seed(seed)` /
    /// `np.random.RandomState(seed)` for an integer seed.
    ///
    /// This is Matsumoto & Nishimura's `init_genrand`, which numpy's
    /// `_legacy_seeding` uses for integer seeds; the normal cache starts
    /// empty.
    pub fn new(seed: u32) -> Self {
        let mut key = Box::new([0u32; N]);
        key[0] = seed;
        for i in 1..N {
            let prev = key[i - 1];
            key[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        RandomState {
            key,
            pos: N,
            has_gauss: false,
            gauss: 0.0,
        }
    }

    /// Creates a generator seeded like `np.random.RandomState(key)` for an array of
    /// integers (`key` non-empty, any length; every word used).
    ///
    /// This is Matsumoto & Nishimura's `init_by_array` (`mt19937ar.c`, 2002), which numpy's
    /// `_legacy_seeding` calls for an array seed: the state of `init_genrand(19650218)` mixed
    /// with every word of `key` and its index. `from_key(&[s])` is not `new(s)`. The
    /// data-parallel trainer derives each process's dropout stream this way (see
    /// `distributed`, feature `mpi`).
    ///
    /// ```
    /// use feedforward::random::RandomState;
    /// let mut rng = RandomState::from_key(&[1, 2, 3])?; // np.random.RandomState([1, 2, 3])
    /// assert_eq!(rng.next_u32(), 2619334238);
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for an empty `key` (numpy raises
    /// `ValueError: Seed must be non-empty`).
    pub fn from_key(key: &[u32]) -> crate::Result<Self> {
        if key.is_empty() {
            return Err(crate::Error::config(
                "RandomState key",
                "an empty key",
                "at least one word (numpy: Seed must be non-empty)",
            ));
        }
        Ok(Self::init_by_array(key))
    }

    /// [`from_key`](RandomState::from_key) of a key of at least one word.
    fn init_by_array(key: &[u32]) -> Self {
        let mut rng = RandomState::new(19_650_218);
        let mt = &mut *rng.key;
        let (mut i, mut j) = (1, 0);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        // The most significant bit set: a state that is never all zeros.
        mt[0] = 0x8000_0000;
        rng
    }

    /// The generator of process `rank` of a data-parallel job whose processes all hold this
    /// generator: rank 0 keeps this one's stream (a clone: a 1-process job draws what a lone
    /// process draws), rank `r > 0` gets [`from_key`](RandomState::from_key) of this
    /// generator's 624 key words, then its position, then `r` (the cached normal is dropped).
    ///
    /// In numpy: `_, key, pos, _, _ = rng.get_state()`, then
    /// `np.random.RandomState(np.concatenate([key, [pos, rank]]).astype(np.uint32))`
    /// (`scripts/random_state_from_key.py`). The same idea as PyTorch users' `seed + rank`,
    /// without its overlaps (rank 1 of seed 0 drawing what rank 0 of seed 1 draws): every
    /// process draws its own masks, and rank and state alone decide them, so a run is
    /// reproducible.
    ///
    /// ```
    /// use feedforward::random::RandomState;
    /// let rng = RandomState::new(11);
    /// assert_eq!(rng.for_process(0).state(), rng.state());
    /// assert_ne!(rng.for_process(1).state(), rng.for_process(2).state());
    /// ```
    pub fn for_process(&self, rank: usize) -> Self {
        if rank == 0 {
            return self.clone();
        }
        let mut key = self.key.to_vec();
        key.extend([self.pos as u32, rank as u32]);
        RandomState::init_by_array(&key)
    }

    /// The generator's whole state, as numpy's `RandomState.get_state()` returns it: the 624
    /// key words, the position in them and the cached normal deviate. A generator made with
    /// [`from_state`](RandomState::from_state) continues the stream exactly where this one is
    /// (training checkpoints save the generators behind shuffling and dropout this way).
    ///
    /// ```
    /// use feedforward::random::RandomState;
    /// let mut rng = RandomState::new(7);
    /// rng.standard_normal(); // leaves a cached normal behind
    /// let mut twin = RandomState::from_state(&rng.state())?;
    /// assert_eq!(twin.standard_normal(), rng.standard_normal());
    /// assert_eq!(twin.next_u32(), rng.next_u32());
    /// # Ok::<(), feedforward::Error>(())
    /// ```
    pub fn state(&self) -> GeneratorState {
        GeneratorState {
            key: self.key.to_vec(),
            pos: self.pos,
            gauss: self.has_gauss.then_some(self.gauss),
        }
    }

    /// A generator continuing from `state` (see [`state`](RandomState::state)); numpy's
    /// `RandomState.set_state`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) unless `state.key` holds 624 words
    /// and `state.pos` is at most 624, or when the cached normal is not finite.
    pub fn from_state(state: &GeneratorState) -> crate::Result<Self> {
        let key: Box<[u32; N]> = state
            .key
            .clone()
            .into_boxed_slice()
            .try_into()
            .map_err(|_| {
                crate::Error::config("generator key length", state.key.len(), "624 words")
            })?;
        if state.pos > N {
            return Err(crate::Error::config(
                "generator position",
                state.pos,
                "at most 624",
            ));
        }
        if let Some(g) = state.gauss.filter(|g| !g.is_finite()) {
            return Err(crate::Error::config(
                "cached normal deviate",
                g,
                "a finite number",
            ));
        }
        Ok(RandomState {
            key,
            pos: state.pos,
            has_gauss: state.gauss.is_some(),
            gauss: state.gauss.unwrap_or(0.0),
        })
    }

    /// Regenerates all 624 state words (the MT19937 "twist").
    fn generate(&mut self) {
        let key = &mut *self.key;
        for i in 0..N {
            let y = (key[i] & UPPER_MASK) | (key[(i + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            key[i] = key[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.pos = 0;
    }

    /// Returns the next raw 32-bit MT19937 output.
    ///
    /// Every other draw is built on this word stream (numpy's
    /// `mt19937_next32`); the words themselves are what
    /// `np.random.randint(0, 2**32, dtype=np.uint32)` returns.
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.generate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        // Tempering.
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// Returns a uniform double in `[0, 1)` with 53 bits of precision, built
    /// from two 32-bit draws; equivalent to one value of `np.random.rand()`
    /// (numpy's `legacy_double`, MT's `genrand_res53`).
    pub fn next_f64(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (a as f64 * 67_108_864.0 + b as f64) / 9_007_199_254_740_992.0
    }

    /// Returns a standard normal deviate; equivalent to one value of
    /// `np.random.randn()` / `np.random.standard_normal()`.
    ///
    /// Uses numpy's `legacy_gauss`: the polar Box–Muller method, which
    /// yields two normals per accepted pair, returns one and caches the other
    /// for the next call.
    pub fn standard_normal(&mut self) -> f64 {
        if self.has_gauss {
            self.has_gauss = false;
            let g = self.gauss;
            self.gauss = 0.0;
            return g;
        }
        let (x1, x2, r2) = loop {
            let x1 = 2.0 * self.next_f64() - 1.0;
            let x2 = 2.0 * self.next_f64() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                break (x1, x2, r2);
            }
        };
        let f = (-2.0 * r2.ln() / r2).sqrt();
        self.gauss = f * x1;
        self.has_gauss = true;
        f * x2
    }

    /// Returns a uniform double in `[low, high)`; equivalent to
    /// `np.random.uniform(low, high)` (computed as `low + (high - low) * u`).
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }

    /// Returns a `rows × cols` matrix of uniform `[0, 1)` values drawn in
    /// row-major order; the exact `f64` values of
    /// `np.random.rand(rows, cols)`.
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) when `rows * cols` values cannot be
    /// allocated; nothing is drawn then.
    pub fn rand_f64(&mut self, rows: usize, cols: usize) -> Result<Array2<f64>> {
        self.matrix("rand_f64 matrix", rows, cols, |rng| rng.next_f64())
    }

    /// Returns a `rows × cols` matrix of standard normals drawn in row-major
    /// order; the exact `f64` values of `np.random.randn(rows, cols)`.
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) when `rows * cols` values cannot be
    /// allocated; nothing is drawn then.
    pub fn randn_f64(&mut self, rows: usize, cols: usize) -> Result<Array2<f64>> {
        self.matrix("randn_f64 matrix", rows, cols, |rng| rng.standard_normal())
    }

    /// Returns a `rows × cols` matrix of uniform `[0, 1)` values as `f32`;
    /// equivalent to `np.random.rand(rows, cols).astype(np.float32)` (drawn
    /// as `f64`, then rounded), the precision the network works in.
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) when `rows * cols` values cannot be
    /// allocated; nothing is drawn then.
    pub fn rand(&mut self, rows: usize, cols: usize) -> Result<Array2<f32>> {
        self.matrix("rand matrix", rows, cols, |rng| rng.next_f64() as f32)
    }

    /// Returns a `rows × cols` matrix of standard normals as `f32`;
    /// equivalent to `np.random.randn(rows, cols).astype(np.float32)` (drawn
    /// as `f64`, then rounded), e.g. for weight initialisation.
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) when `rows * cols` values cannot be
    /// allocated; nothing is drawn then.
    pub fn randn(&mut self, rows: usize, cols: usize) -> Result<Array2<f32>> {
        self.matrix("randn matrix", rows, cols, |rng| {
            rng.standard_normal() as f32
        })
    }

    /// A `rows × cols` matrix filled in row-major order by `draw`, allocated first (so that a
    /// size that cannot be allocated draws nothing).
    fn matrix<T: Clone + Default>(
        &mut self,
        what: &str,
        rows: usize,
        cols: usize,
        mut draw: impl FnMut(&mut Self) -> T,
    ) -> Result<Array2<T>> {
        let mut matrix = allocation::filled(what, rows, cols, T::default())?;
        // A fresh matrix is in standard (row-major) order, which iter_mut follows.
        matrix.iter_mut().for_each(|value| *value = draw(self));
        Ok(matrix)
    }

    /// Returns a uniform integer in `[0, max]` (inclusive) by masked
    /// rejection sampling; numpy's legacy `random_interval`, the primitive
    /// behind `np.random.shuffle` and `np.random.permutation`.
    ///
    /// The mask is the smallest all-ones bit pattern `>= max`. For
    /// `max <= u32::MAX` one 32-bit word is drawn per attempt, otherwise a
    /// 64-bit word (high half drawn first). `max == 0` returns 0 without
    /// consuming any randomness.
    pub fn random_interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        mask |= mask >> 32;
        if max <= u64::from(u32::MAX) {
            loop {
                let value = u64::from(self.next_u32()) & mask;
                if value <= max {
                    return value;
                }
            }
        } else {
            loop {
                let value = self.next_u64_hi_lo() & mask;
                if value <= max {
                    return value;
                }
            }
        }
    }

    /// Two 32-bit draws combined as `(hi << 32) | lo`, high word first, as
    /// numpy's `mt19937_next64` does.
    fn next_u64_hi_lo(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        let lo = u64::from(self.next_u32());
        (hi << 32) | lo
    }

    /// Shuffles `items` in place with the Fisher–Yates algorithm exactly as
    /// `np.random.shuffle(x)` does for a 1-d array (swapping `i` with
    /// `random_interval(i)` for `i = n-1, …, 1`). Empty and one-element
    /// slices draw nothing.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            // j <= i < items.len(), so it fits in usize.
            let j = self.random_interval(i as u64) as usize;
            items.swap(i, j);
        }
    }

    /// Returns a random permutation of `0..n`; equivalent to
    /// `np.random.permutation(n)` (the identity shuffled with
    /// [`RandomState::shuffle`]). `n == 0` gives an empty vector.
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) when `n` indices cannot be allocated;
    /// nothing is drawn then.
    pub fn permutation(&mut self, n: usize) -> Result<Vec<usize>> {
        let mut perm = allocation::filled_vec("permutation", n, 0usize)?;
        perm.iter_mut().enumerate().for_each(|(i, p)| *p = i);
        self.shuffle(&mut perm);
        Ok(perm)
    }
}

/// The whole state of a [`RandomState`], as numpy's `RandomState.get_state()` gives it
/// (`('MT19937', key, pos, has_gauss, cached_gaussian)`).
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorState {
    /// The 624 words of the Mersenne Twister's state.
    pub key: Vec<u32>,
    /// The index of the next word of `key` to use, from 0 to 624 (624: the next draw
    /// regenerates the key).
    pub pos: usize,
    /// The second normal deviate of the last polar Box-Muller pair, when one is cached.
    pub gauss: Option<f64>,
}

/// Exposes the raw MT19937 stream to the `rand` ecosystem (`rand_distr`,
/// `ndarray-rand`). There is no direct numpy equivalent; the raw words are
/// those underlying every `np.random.*` call.
impl RngCore for RandomState {
    /// The raw MT19937 output, as [`RandomState::next_u32`].
    fn next_u32(&mut self) -> u32 {
        RandomState::next_u32(self)
    }

    /// Two raw outputs combined as `(hi << 32) | lo`, high word drawn first
    /// (numpy's `mt19937_next64`).
    fn next_u64(&mut self) -> u64 {
        self.next_u64_hi_lo()
    }

    /// Fills `dst` with raw 32-bit outputs in little-endian byte order; a
    /// trailing partial word consumes one whole draw.
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(4) {
            let bytes = RandomState::next_u32(self).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}
