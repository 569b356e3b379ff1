//! Bit-exact checks of `RandomState` against values printed by numpy's legacy
//! `np.random.RandomState` (see `reference/numpy_random_state_values.txt`, printed by
//! `reference/numpy_random_state_values.py`).

use feedforward::random::RandomState;

#[test]
fn raw_mt19937_outputs_seed_42() {
    let mut rng = RandomState::new(42);
    let got: Vec<u32> = (0..5).map(|_| rng.next_u32()).collect();
    assert_eq!(
        got,
        vec![1608637542, 3421126067, 4083286876, 787846414, 3143890026]
    );
}

#[test]
fn mt19937_reference_seed_5489_10000th_output() {
    let mut rng = RandomState::new(5489);
    let mut last = 0;
    for _ in 0..10_000 {
        last = rng.next_u32();
    }
    assert_eq!(last, 4123659995);
}

#[test]
fn rand_then_randn_seed_42() {
    let mut rng = RandomState::new(42);
    let u = rng.rand_f64(1, 2).unwrap();
    assert_eq!(u[[0, 0]], 0.3745401188473625);
    assert_eq!(u[[0, 1]], 0.9507143064099162);
    assert_eq!(rng.standard_normal(), 0.6476885381006925);
    assert_eq!(rng.standard_normal(), 1.5230298564080254);
}

#[test]
fn next_f64_and_uniform_match_rand() {
    let mut rng = RandomState::new(42);
    assert_eq!(rng.next_f64(), 0.3745401188473625);
    let mut rng = RandomState::new(42);
    assert_eq!(rng.uniform(0.0, 1.0), 0.3745401188473625);
    assert_eq!(rng.uniform(-1.0, 1.0), -1.0 + 2.0 * 0.9507143064099162);
}

#[test]
fn randn_six_seed_42() {
    let expected = [
        0.4967141530112327,
        -0.13826430117118466,
        0.6476885381006925,
        1.5230298564080254,
        -0.23415337472333597,
        -0.23413695694918055,
    ];
    let mut rng = RandomState::new(42);
    let got: Vec<f64> = (0..6).map(|_| rng.standard_normal()).collect();
    assert_eq!(got, expected);

    // Row-major order: a 2x3 matrix holds the same six values.
    let mut rng = RandomState::new(42);
    let m = rng.randn_f64(2, 3).unwrap();
    assert_eq!(m.shape(), &[2, 3]);
    assert_eq!(m.iter().copied().collect::<Vec<_>>(), expected);

    let mut rng = RandomState::new(42);
    let m32 = rng.randn(3, 2).unwrap();
    let cast: Vec<f32> = expected.iter().map(|&x| x as f32).collect();
    assert_eq!(m32.iter().copied().collect::<Vec<_>>(), cast);
}

#[test]
fn rand_f32_is_f64_cast() {
    let mut a = RandomState::new(42);
    let mut b = RandomState::new(42);
    let f32s = a.rand(2, 1).unwrap();
    let f64s = b.rand_f64(2, 1).unwrap();
    assert_eq!(f32s.shape(), &[2, 1]);
    assert_eq!(f32s, f64s.mapv(|x| x as f32));
    assert_eq!(f32s[[0, 0]], 0.3745401188473625_f64 as f32);
    assert_eq!(f32s[[1, 0]], 0.9507143064099162_f64 as f32);
}

#[test]
fn permutation_10_seed_42() {
    let mut rng = RandomState::new(42);
    assert_eq!(
        rng.permutation(10).unwrap(),
        vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]
    );
}

#[test]
fn permutation_70000_seed_42_and_train_test_split() {
    let mut rng = RandomState::new(42);
    let p = rng.permutation(70_000).unwrap();
    assert_eq!(p.len(), 70_000);
    assert_eq!(
        p[..10],
        [46730, 48393, 41416, 34506, 43725, 11615, 24656, 22411, 936, 56364]
    );
    assert_eq!(p[p.len() - 5..], [37194, 6265, 54886, 860, 15795]);
    // sklearn train_test_split(70000, test_size=0.2, random_state=42):
    // test = p[:14000], train = p[14000:].
    assert_eq!(
        p[14_000..14_010],
        [47339, 67456, 12308, 32557, 664, 21003, 29637, 57937, 23680, 26306]
    );
    let mut sorted = p.clone();
    sorted.sort_unstable();
    assert!(sorted.iter().enumerate().all(|(i, &v)| i == v));
}

#[test]
fn shuffle_matches_permutation() {
    let mut a = RandomState::new(42);
    let mut b = RandomState::new(42);
    let mut items: Vec<char> = "abcdefghij".chars().collect();
    a.shuffle(&mut items);
    let expected: Vec<char> = b
        .permutation(10)
        .unwrap()
        .into_iter()
        .map(|i| (b'a' + i as u8) as char)
        .collect();
    assert_eq!(items, expected);
}

#[test]
fn clone_mid_stream_continues_identically() {
    let mut rng = RandomState::new(42);
    // Leave a cached normal behind so the clone must copy it too.
    let _ = rng.rand_f64(3, 3).unwrap();
    let _ = rng.standard_normal();
    let mut copy = rng.clone();
    for _ in 0..1000 {
        assert_eq!(rng.standard_normal(), copy.standard_normal());
        assert_eq!(rng.next_f64(), copy.next_f64());
        assert_eq!(rng.random_interval(12345), copy.random_interval(12345));
    }
    assert_eq!(
        rng.permutation(100).unwrap(),
        copy.permutation(100).unwrap()
    );
}

#[test]
fn random_interval_zero_draws_nothing() {
    let mut rng = RandomState::new(42);
    assert_eq!(rng.random_interval(0), 0);
    assert_eq!(rng.next_u32(), RandomState::new(42).next_u32());
}

#[test]
fn random_interval_stays_in_range() {
    let mut rng = RandomState::new(7);
    for max in [1u64, 2, 3, 9, 255, 256, 1 << 31, u64::from(u32::MAX)] {
        for _ in 0..200 {
            assert!(rng.random_interval(max) <= max);
        }
    }
    for max in [1u64 << 32, (1 << 40) + 3, u64::MAX] {
        for _ in 0..200 {
            assert!(rng.random_interval(max) <= max);
        }
    }
}

#[test]
fn shuffle_empty_and_single_are_noops() {
    let mut rng = RandomState::new(42);
    let mut empty: [u8; 0] = [];
    rng.shuffle(&mut empty);
    let mut one = [99];
    rng.shuffle(&mut one);
    assert_eq!(one, [99]);
    assert!(rng.permutation(0).unwrap().is_empty());
    assert_eq!(rng.permutation(1).unwrap(), vec![0]);
    // Nothing was drawn.
    assert_eq!(rng.next_u32(), 1608637542);
}

#[test]
fn rng_core_impl_uses_raw_stream() {
    use ndarray_rand::rand::RngCore;
    let mut rng = RandomState::new(42);
    assert_eq!(RngCore::next_u32(&mut rng), 1608637542);
    assert_eq!(
        RngCore::next_u64(&mut rng),
        (3421126067u64 << 32) | 4083286876
    );
    let mut bytes = [0u8; 6];
    rng.fill_bytes(&mut bytes);
    assert_eq!(bytes[..4], 787846414u32.to_le_bytes());
    assert_eq!(bytes[4..], 3143890026u32.to_le_bytes()[..2]);
}

#[test]
fn a_generator_rebuilt_from_its_state_continues_the_stream() {
    use feedforward::random::GeneratorState;
    let mut rng = RandomState::new(42);
    // Past a twist, with a cached normal: every part of the state matters.
    for _ in 0..700 {
        rng.next_u32();
    }
    rng.standard_normal();
    let state = rng.state();
    assert_eq!(state.key.len(), 624);
    assert!(state.gauss.is_some());
    let mut twin = RandomState::from_state(&state).unwrap();
    assert_eq!(twin.standard_normal(), rng.standard_normal());
    let a: Vec<u32> = (0..1000).map(|_| rng.next_u32()).collect();
    let b: Vec<u32> = (0..1000).map(|_| twin.next_u32()).collect();
    assert_eq!(a, b);
    for bad in [
        GeneratorState {
            key: vec![0; 623],
            ..state.clone()
        },
        GeneratorState {
            pos: 625,
            ..state.clone()
        },
        GeneratorState {
            gauss: Some(f64::NAN),
            ..state.clone()
        },
    ] {
        assert!(matches!(
            RandomState::from_state(&bad),
            Err(feedforward::Error::InvalidConfig { .. })
        ));
    }
}

/// Sizes that cannot be allocated are `Error::TooLarge` (numpy raises `MemoryError`), never a
/// panic ("capacity overflow"), and nothing is drawn: the generator goes on as if the call had
/// not happened.
#[test]
fn impossible_sizes_are_errors_and_draw_nothing() {
    use feedforward::Error;
    let mut rng = RandomState::new(42);
    let too_large = |e: Error| matches!(e, Error::TooLarge { .. });
    assert!(too_large(rng.rand(usize::MAX, 2).unwrap_err()));
    assert!(too_large(rng.randn(1 << 40, 1 << 40).unwrap_err()));
    assert!(too_large(rng.rand_f64(usize::MAX / 8, 2).unwrap_err()));
    assert!(too_large(rng.randn_f64(2, usize::MAX).unwrap_err()));
    assert!(too_large(rng.permutation(usize::MAX).unwrap_err()));
    let err = rng.rand(usize::MAX, 2).unwrap_err().to_string();
    assert!(err.contains("rand matrix"), "{err}");
    // np.random.seed(42); np.random.rand() = 0.3745401188473625: nothing was drawn above.
    assert_eq!(rng.next_f64(), 0.3745401188473625);
    assert_eq!(rng.rand(0, 3).unwrap().shape(), &[0, 3]);
    assert_eq!(rng.permutation(0).unwrap(), Vec::<usize>::new());
}

/// `np.random.RandomState(array)`: MT19937's init_by_array, printed by
/// `scripts/random_state_from_key.py`.
#[test]
fn from_key_matches_numpy_array_seeds() {
    let raw = |mut rng: RandomState| (0..5).map(|_| rng.next_u32()).collect::<Vec<_>>();
    assert_eq!(
        raw(RandomState::from_key(&[1, 2, 3]).unwrap()),
        [2619334238, 1552691353, 3808334787, 2540200029, 2045850693]
    );
    assert_eq!(
        raw(RandomState::from_key(&[7]).unwrap()),
        [1390851128, 4071050724, 647892279, 1695753998, 2795742288]
    );
    // numpy: ValueError: Seed must be non-empty.
    assert!(matches!(
        RandomState::from_key(&[]),
        Err(feedforward::Error::InvalidConfig { .. })
    ));
    // A key longer than the state's 624 words.
    let long: Vec<u32> = (0..1000).collect();
    assert_eq!(
        raw(RandomState::from_key(&long).unwrap()),
        [4012946933, 3615799318, 1210851548, 4176431725, 1411233186]
    );
}

/// The dropout stream of each process of a data-parallel job: rank 0's is the generator's own,
/// the others' come from its state and the rank (`scripts/random_state_from_key.py`).
#[test]
fn for_process_derives_numpys_streams_and_keeps_rank_0s() {
    let mut base = RandomState::new(11);
    for _ in 0..3 {
        base.next_u32();
    }
    let raw = |mut rng: RandomState| (0..5).map(|_| rng.next_u32()).collect::<Vec<_>>();
    assert_eq!(raw(base.for_process(0)), raw(base.clone()));
    assert_eq!(
        raw(base.for_process(1)),
        [721049237, 442533655, 498379426, 647158961, 160706618]
    );
    assert_eq!(
        raw(base.for_process(2)),
        [3378576102, 1484030378, 3204252154, 1777779814, 16541650]
    );
}
