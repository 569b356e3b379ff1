//! A warm training step allocates nothing: checked with a counting global allocator.
//!
//! The allocator counts the allocations (and reallocations) made by the current thread while
//! it is switched on, so that tests running in parallel do not count each other's. After a
//! warm-up epoch (buffers sized for the full batches and for the smaller last one), `train_step`
//! and every batch of `fit` must allocate exactly zero times, for the tutorial's softmax model
//! and for an MLP.

#[path = "common/models.rs"]
mod models;
use models::{mlp_model, softmax_model, synthetic_images};

use feedforward::data::mnist::LabeledImages;
use feedforward::data::Order;
use feedforward::prelude::*;
use feedforward::Progress;
use ndarray::Array2;
#[path = "common/counting_allocator.rs"]
mod counting_allocator;
use counting_allocator::{allocations_of, counting, CountingAllocator};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn models() -> [(&'static str, Sequential); 2] {
    [("softmax", softmax_model()), ("mlp", mlp_model())]
}

/// Rows `start..start + rows` of `data` as (inputs, one-hot targets).
fn batch(data: &LabeledImages, start: usize, rows: usize) -> (Array2<f32>, Array2<f32>) {
    let indices: Vec<usize> = (start..start + rows).collect();
    let mut x = Array2::zeros((rows, 784));
    let mut y = Array2::zeros((rows, 10));
    data.fill_batch(&indices, x.view_mut(), y.view_mut())
        .unwrap();
    (x, y)
}

#[test]
fn warm_train_steps_allocate_nothing() {
    let data = synthetic_images(1_000, 5);
    let (x, y) = batch(&data, 0, 32);
    let (small_x, small_y) = batch(&data, 32, 8);
    for (name, mut model) in models() {
        let mut sgd = Sgd::new(0.01).unwrap();
        // Warm-up: the buffers grow to a full batch; a smaller batch reuses them.
        model
            .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
            .unwrap();
        let count = allocations_of(|| {
            for _ in 0..100 {
                model
                    .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
                    .unwrap();
                model
                    .train_step(small_x.view(), small_y.view(), &CrossEntropy, &mut sgd)
                    .unwrap();
            }
        });
        assert_eq!(
            count, 0,
            "{name}: 200 warm train_step calls allocated {count} times"
        );
    }
}

#[test]
fn warm_fit_epochs_allocate_nothing() {
    // 1,000 rows in batches of 32: 31 full batches and a last one of 8.
    let data = synthetic_images(1_000, 5);
    // The shuffle buffer's windows (100 rows, blocks of 7) straddle batches and blocks.
    let windowed = Order::ShuffleBuffer {
        seed: 3,
        buffer_size: 100,
        block_size: 7,
    };
    for order in [Order::InOrder, Order::Shuffled { seed: 3 }, windowed] {
        for (name, mut model) in models() {
            let mut sgd = Sgd::new(0.01).unwrap();
            let config = FitConfig {
                order,
                ..FitConfig::new(3).batch_size(32)
            };
            // Count from the start of epoch 1 (after a warm-up epoch) to the end of epoch 2.
            let mut batches = 0;
            let mut counted = None;
            model
                .fit_with_progress(&data, &CrossEntropy, &mut sgd, &config, &mut |progress| {
                    match *progress {
                        Progress::EpochStart { epoch: 1, .. } => {
                            counting(true);
                        }
                        Progress::Batch { epoch, .. } if epoch >= 1 => batches += 1,
                        Progress::EpochEnd { epoch: 2, .. } => counted = Some(counting(false)),
                        _ => {}
                    }
                })
                .unwrap();
            counting(false);
            assert_eq!(batches, 64, "{name}: two epochs of 32 batches");
            assert_eq!(
                counted,
                Some(0),
                "{name}, {order:?}: {batches} warm fit batches allocated"
            );
        }
    }
}

#[test]
fn the_allocator_counts_this_threads_allocations() {
    let count = allocations_of(|| {
        std::hint::black_box(vec![0u8; 64]);
        std::hint::black_box(softmax_model());
    });
    assert!(count >= 2, "counted {count}");
    assert_eq!(allocations_of(|| {}), 0);
}

#[test]
fn warm_sigmoid_binary_cross_entropy_steps_allocate_nothing() {
    // The fused sigmoid path, on probabilities and on logits, with positive weights: multi-label
    // targets of 3 columns.
    let mut rng = RandomState::new(4);
    let x = rng.rand(32, 6).unwrap();
    let y = rng
        .rand(32, 3)
        .unwrap()
        .mapv(|v| if v > 0.5 { 1.0 } else { 0.0 });
    for (with_sigmoid, loss) in [
        (true, BinaryCrossEntropy::new()),
        (
            false,
            BinaryCrossEntropy::from_logits()
                .pos_weight([1.0, 2.0, 0.5])
                .unwrap(),
        ),
    ] {
        let mut builder = Sequential::builder(6)
            .push(Dense::new(6, 8, Init::HeNormal, &mut rng).unwrap())
            .push(Relu)
            .push(Dense::new(8, 3, Init::XavierNormal, &mut rng).unwrap());
        if with_sigmoid {
            builder = builder.push(Sigmoid);
        }
        let mut model = builder.build().unwrap();
        let mut sgd = Sgd::new(0.01).unwrap();
        model
            .train_step(x.view(), y.view(), &loss, &mut sgd)
            .unwrap();
        let count = allocations_of(|| {
            for _ in 0..50 {
                model
                    .train_step(x.view(), y.view(), &loss, &mut sgd)
                    .unwrap();
            }
        });
        assert_eq!(count, 0, "sigmoid {with_sigmoid}: {count} allocations");
    }
}

#[test]
fn warm_train_steps_of_a_convolutional_network_allocate_nothing() {
    // LeNet-5 at a batch of 16 (its products stay on the calling thread), then a smaller batch.
    let data = synthetic_images(64, 5);
    let (x, y) = batch(&data, 0, 16);
    let (small_x, small_y) = batch(&data, 16, 5);
    let mut model = models::lenet5(0);
    let mut sgd = Sgd::new(0.01).unwrap();
    model
        .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
        .unwrap();
    let count = allocations_of(|| {
        for _ in 0..5 {
            model
                .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
                .unwrap();
            model
                .train_step(small_x.view(), small_y.view(), &CrossEntropy, &mut sgd)
                .unwrap();
        }
    });
    assert_eq!(
        count, 0,
        "10 warm LeNet-5 train_step calls allocated {count} times"
    );
}
