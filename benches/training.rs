//! Training and inference speed: one training step, one epoch of the tutorial's MNIST model,
//! and inference throughput.
//!
//! ```text
//! cargo bench --bench training              # everything
//! cargo bench --bench training -- step      # only the training steps
//! cargo bench --bench training -- parts     # the pieces of the tutorial's step
//! cargo bench --bench training -- grid      # the corners of the speed grid
//! ```
//!
//! The data are the tutorial's: the 70,000 MNIST images split 56,000 / 14,000 with seed 42, read
//! from `MNIST_DIR`, else the repository's `data/mnist` (never downloaded). Without them the
//! benchmarks run on random images of the same shape (the speed is the same; the numbers are not
//! the tutorial's), and say so.
//!
//! Timings are only worth comparing on an otherwise idle machine.

#[path = "../tests/common/models.rs"]
mod models;
use models::{mlp_model, softmax_model, synthetic_images};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use feedforward::data::mnist::{LabeledImages, Mnist, MnistLookup};
use feedforward::data::train_test_split;
use feedforward::prelude::*;
use ndarray::{s, Array2};
use std::hint::black_box;
use std::time::Duration;

/// The tutorial's 56,000 training and 14,000 test images.
struct Data {
    train: LabeledImages,
    test: LabeledImages,
}

fn load() -> Data {
    let lookup = MnistLookup::new()
        .bundled(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))
        .cache_dir(None)
        .download(false);
    let all = match lookup.load(&mut |_| {}).and_then(Mnist::all) {
        Ok(all) => all,
        Err(error) => {
            eprintln!("MNIST not found ({error}): benchmarking on random images of its shape");
            synthetic_images(70_000, 7)
        }
    };
    let split = train_test_split(all.len(), 0.2, 42).expect("70,000 rows split");
    Data {
        train: all.select(&split.train).expect("rows in range"),
        test: all.select(&split.test).expect("rows in range"),
    }
}

/// `rows` rows of `data` as (inputs, one-hot targets).
fn batch(data: &LabeledImages, rows: std::ops::Range<usize>) -> (Array2<f32>, Array2<f32>) {
    let rows: Vec<usize> = rows.collect();
    let mut x = Array2::zeros((rows.len(), data.input_width()));
    let mut y = Array2::zeros((rows.len(), data.target_width()));
    data.fill_batch(&rows, x.view_mut(), y.view_mut()).unwrap();
    (x, y)
}

/// The pieces of the tutorial's training step, batch 32: the batch from bytes, the dense
/// layer's products, the softmax and the fused loss with its gradient.
fn parts(c: &mut Criterion, data: &Data) {
    let mut group = c.benchmark_group("parts");
    let rows: Vec<usize> = (0..32).collect();
    let (mut x, mut t) = batch(&data.train, 0..32);
    group.bench_function("fill_batch 32 x 784", |b| {
        b.iter(|| {
            data.train
                .fill_batch(black_box(&rows), x.view_mut(), t.view_mut())
                .unwrap()
        })
    });

    let mut rng = RandomState::new(0);
    let mut dense = Dense::new(784, 10, Init::XavierNormal, &mut rng).unwrap();
    let (mut z, mut g) = (Array2::zeros((32, 10)), Array2::zeros((32, 10)));
    let mut dx = Array2::zeros((32, 784));
    group.bench_function("dense forward 32x784x10", |b| {
        b.iter(|| dense.forward(black_box(x.view()), z.view_mut()).unwrap())
    });
    group.bench_function("dense backward dW db 32x784x10", |b| {
        b.iter(|| {
            dense
                .backward(black_box(x.view()), z.view(), g.view(), None)
                .unwrap()
        })
    });
    group.bench_function("dense backward dW db dX 32x784x10", |b| {
        b.iter(|| {
            dense
                .backward(black_box(x.view()), z.view(), g.view(), Some(dx.view_mut()))
                .unwrap()
        })
    });

    let mut p = Array2::zeros((32, 10));
    group.bench_function("softmax forward 32x10", |b| {
        b.iter(|| Softmax.forward(black_box(z.view()), p.view_mut()).unwrap())
    });
    let fused = CrossEntropy
        .fused(feedforward::layers::OutputKind::SoftmaxProbabilities)
        .expect("fused");
    group.bench_function("cross-entropy loss and logit gradient 32x10", |b| {
        b.iter(|| {
            fused
                .loss_and_logit_gradient(
                    black_box(z.view()),
                    Some(p.view()),
                    t.view(),
                    g.view_mut(),
                )
                .unwrap()
        })
    });
    group.finish();
}

/// One training step of the speed grid's perceptron, 784-H-H-10 (ReLU, softmax +
/// cross-entropy, SGD 0.01, as `examples/bench_mlp.rs`), at the grid's corners: H = 128 and
/// 4,096, batches of 32 and 256, on seeded random inputs.
fn grid(c: &mut Criterion) {
    let mut group = c.benchmark_group("grid");
    group.sample_size(10);
    for (hidden, batch) in [(128, 32), (128, 256), (4096, 32), (4096, 256)] {
        let mut rng = RandomState::new(0);
        let x = rng.rand(batch, 784).unwrap();
        let mut y = Array2::<f32>::zeros((batch, 10));
        for r in 0..batch {
            y[[r, r % 10]] = 1.0;
        }
        let mut model = Sequential::builder(784)
            .push(Dense::new(784, hidden, Init::HeNormal, &mut rng).unwrap())
            .push(Relu)
            .push(Dense::new(hidden, hidden, Init::HeNormal, &mut rng).unwrap())
            .push(Relu)
            .push(Dense::new(hidden, 10, Init::XavierNormal, &mut rng).unwrap())
            .push(Softmax)
            .build()
            .unwrap();
        let mut sgd = Sgd::new(0.01).unwrap();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(
            format!("step 784-{hidden}-{hidden}-10, batch {batch}"),
            |b| {
                b.iter(|| {
                    model
                        .train_step(black_box(x.view()), y.view(), &CrossEntropy, &mut sgd)
                        .unwrap()
                })
            },
        );
    }
    group.finish();
}

fn benchmarks(c: &mut Criterion) {
    grid(c);
    let data = load();
    parts(c, &data);

    // One training step on the first batch of 32 rows: forward, loss, backward, SGD update.
    let (x, y) = batch(&data.train, 0..32);
    let mut group = c.benchmark_group("step");
    for (name, mut model) in [
        ("softmax 784-10, batch 32", softmax_model()),
        ("mlp 784-256-128-10, batch 32", mlp_model()),
    ] {
        let mut sgd = Sgd::new(0.01).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                model
                    .train_step(black_box(x.view()), y.view(), &CrossEntropy, &mut sgd)
                    .unwrap()
            })
        });
    }
    group.finish();

    // One epoch of the tutorial's training: 56,000 rows in batches of 32, in order, with the
    // conversion of every batch from bytes; 20 epochs take 20 times as long.
    let mut group = c.benchmark_group("epoch");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(data.train.len() as u64));
    let config = FitConfig::new(1).batch_size(32);
    group.bench_function("softmax 784-10, 56,000 rows, batch 32", |b| {
        b.iter_batched_ref(
            || (softmax_model(), Sgd::new(0.1).unwrap()),
            |(model, sgd)| model.fit(&data.train, &CrossEntropy, sgd, &config).unwrap(),
            BatchSize::PerIteration,
        )
    });
    // The network PyTorch's per-epoch figure in the README is for: 784-128-10 with ReLU, batch
    // 32, SGD with momentum, on the same 56,000 rows.
    group.bench_function("mlp 784-128-10, 56,000 rows, batch 32", |b| {
        b.iter_batched_ref(
            || {
                let mut rng = RandomState::new(0);
                let model = Sequential::builder(784)
                    .push(Dense::new(784, 128, Init::HeNormal, &mut rng).unwrap())
                    .push(Relu)
                    .push(Dense::new(128, 10, Init::XavierNormal, &mut rng).unwrap())
                    .push(Softmax)
                    .build()
                    .unwrap();
                (model, Sgd::new(0.05).unwrap().with_momentum(0.9).unwrap())
            },
            |(model, sgd)| model.fit(&data.train, &CrossEntropy, sgd, &config).unwrap(),
            BatchSize::PerIteration,
        )
    });
    group.finish();

    // Inference on the 14,000 test rows, 1,000 at a time: on rows already in f32 (`predict`), and
    // from the bytes with loss, accuracy and confusion matrix (`evaluate`).
    let (test_x, _) = batch(&data.test, 0..data.test.len());
    let mut group = c.benchmark_group("inference");
    group.throughput(Throughput::Elements(data.test.len() as u64));
    for (name, mut model) in [
        ("softmax 784-10", softmax_model()),
        ("mlp 784-256-128-10", mlp_model()),
    ] {
        group.bench_function(format!("predict {name}, 14,000 rows, batch 1,000"), |b| {
            b.iter(|| {
                let mut first = 0.0;
                for start in (0..test_x.nrows()).step_by(1000) {
                    let end = (start + 1000).min(test_x.nrows());
                    let out = model.predict(test_x.slice(s![start..end, ..])).unwrap();
                    first += out[[0, 0]];
                }
                first
            })
        });
        group.bench_function(format!("evaluate {name}, 14,000 rows, batch 1,000"), |b| {
            b.iter(|| {
                model
                    .evaluate(&data.test, &CrossEntropy, 1000)
                    .unwrap()
                    .loss
            })
        });
    }
    group.finish();
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
