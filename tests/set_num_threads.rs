//! `set_num_threads`: the thread count chosen in the API, results bit-identical on any setting.
//! One test in its own binary: the setting is process-wide.

use feedforward::prelude::*;

/// Parameters after three steps of a model large enough to split its products (64 rows
/// through 600 x 600 weights: 23 M multiply-adds), as bit patterns.
fn train() -> Vec<Vec<u32>> {
    let mut rng = RandomState::new(9);
    let mut model = Sequential::builder(600)
        .push(Dense::new(600, 600, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(600, 10, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    let x = rng.rand(64, 600).unwrap();
    let labels: Vec<usize> = (0..64).map(|i| i % 10).collect();
    let y = one_hot(&labels, 10).unwrap();
    let mut sgd = Sgd::new(0.05).unwrap().with_momentum(0.9).unwrap();
    for _ in 0..3 {
        model
            .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
            .unwrap();
    }
    model
        .parameters()
        .iter()
        .map(|(_, p)| p.iter().map(|v| v.to_bits()).collect())
        .collect()
}

#[test]
fn every_thread_count_gives_the_same_bits() {
    assert!(feedforward::set_num_threads(Some(0)).is_err());
    feedforward::set_num_threads(Some(1)).unwrap();
    assert_eq!(feedforward::num_threads(), 1);
    let one = train();
    feedforward::set_num_threads(Some(3)).unwrap();
    assert_eq!(feedforward::num_threads(), 3);
    let three = train();
    feedforward::set_num_threads(None).unwrap();
    assert_eq!(feedforward::num_threads(), rayon_threads());
    let default = train();
    assert!(
        one == three && three == default,
        "results depend on the thread count"
    );
}

/// rayon's global pool size, as `num_threads` reports it without a setting.
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
