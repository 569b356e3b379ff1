//! `predict` and `predict_classes` work in bounded memory whatever the number of rows
//! (issue 22, part 2): the rows go through the layers in chunks, so that only the returned
//! matrix grows with them, and the chunks give the single pass's results within `f32` rounding,
//! the same bits from run to run.
//!
//! The memory is measured with the counting allocator of `tests/no_allocation.rs` (bytes live
//! in the whole process at their peak, every thread included), not with the RSS. The tests of
//! this file hold one lock, so that none measures another's allocations.

#[path = "common/counting_allocator.rs"]
mod counting_allocator;
use counting_allocator::{peak_bytes_of, CountingAllocator};

use feedforward::layers::Layer;
use feedforward::model::PREDICT_CHUNK_BYTES;
use feedforward::prelude::*;
use ndarray::{s, Array2, ArrayView2};
use std::sync::Mutex;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The wide model, Dense(1, 1000) -> Relu -> Dense(1000, 2) -> Softmax: 8 KB of
/// activations a row.
fn wide_model() -> Sequential {
    Sequential::builder(1)
        .seed(3)
        .dense(1000, Init::HeNormal)
        .push(Relu)
        .dense(2, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap()
}

/// Dense(64, 256) -> Relu -> Dense(256, 64) -> Softmax: products wide enough for the packed
/// GEMM from 64 rows on, so that a chunk of fewer rows takes the blocked kernels.
fn medium_model() -> Sequential {
    Sequential::builder(64)
        .seed(5)
        .dense(256, Init::HeNormal)
        .push(Relu)
        .dense(64, Init::XavierNormal)
        .push(Softmax)
        .build()
        .unwrap()
}

/// `rows` inputs spread over [-2, 2].
fn inputs(rows: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, 1), |(i, _)| (i % 4001) as f32 / 1000.0 - 2.0)
}

#[test]
fn predicting_many_rows_through_a_wide_model_stays_within_tens_of_megabytes() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rows = 300_000;
    let x = inputs(rows);
    let mut model = wide_model();
    // One pass would hold 300,000 x (1000 + 1000 + 2 + 2) x 4 bytes = 2.4 GB of activations.
    let single_pass = rows * (1000 + 1000 + 2 + 2) * 4;
    let returned = rows * 2 * 4;
    let (shape, peak) = peak_bytes_of(|| model.predict(x.view()).unwrap().dim());
    assert_eq!(shape, (rows, 2));
    println!(
        "predict's peak: {peak} bytes ({:.1} MB) for {rows} rows",
        peak as f64 / 1e6
    );
    // Bounded: the returned matrix, the chunk's activations and the layers' workspace.
    let bound = returned + 3 * PREDICT_CHUNK_BYTES;
    assert!(
        peak <= bound,
        "predict held {peak} bytes at its peak (bound {bound}; one pass: {single_pass})"
    );
    // predict_classes: probabilities and classes are what grows with the rows.
    let returned = rows * (2 * 4 + std::mem::size_of::<usize>());
    let (classes, peak) = peak_bytes_of(|| model.predict_classes(x.view()).unwrap());
    assert_eq!(classes.classes.len(), rows);
    let bound = returned + 3 * PREDICT_CHUNK_BYTES;
    assert!(
        peak <= bound,
        "predict_classes held {peak} bytes at its peak (bound {bound})"
    );
    println!(
        "peak beyond the inputs: predict_classes {peak} bytes ({:.1} MB) for {rows} rows",
        peak as f64 / 1e6
    );
}

/// The model's layers run one after the other on every row at once: the single pass.
fn single_pass(model: &Sequential, x: ArrayView2<'_, f32>) -> Array2<f32> {
    let params = model.parameters();
    let dense = |w: usize| {
        Dense::from_parameters(params[w].1.to_owned(), params[w + 1].1.to_owned()).unwrap()
    };
    let mut layers: Vec<Box<dyn Layer>> = vec![
        Box::new(dense(0)),
        Box::new(Relu),
        Box::new(dense(2)),
        Box::new(Softmax),
    ];
    let mut current = x.to_owned();
    for layer in &mut layers {
        layer.set_training(false);
        let width = layer.output_width(current.ncols()).unwrap();
        let mut next = Array2::zeros((current.nrows(), width));
        layer.forward(current.view(), next.view_mut()).unwrap();
        current = next;
    }
    current
}

#[test]
fn chunks_give_the_single_pass_results_within_rounding_and_the_same_bits_every_time() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut model = medium_model();
    let chunk = model.prediction_chunk_rows();
    // 16 MiB / (2 x 4 bytes x (256 + 256 + 64 + 64) values) = 3,276 rows, rounded down to 64s
    assert_eq!(chunk, 3264);
    // Three full chunks and a last one of 5 rows, which the dense kernels take another way
    // (blocked kernels below 64 rows, the packed GEMM from 64 on, as the single pass).
    let rows = 3 * chunk + 5;
    let mut rng = RandomState::new(8);
    let x = rng.randn(rows, 64).unwrap();
    let chunked = model.predict(x.view()).unwrap().to_owned();
    let whole = single_pass(&model, x.view());
    let difference = |a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>| {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    };
    let largest = difference(chunked.view(), whole.view());
    let last = difference(
        chunked.slice(s![3 * chunk.., ..]),
        whole.slice(s![3 * chunk.., ..]),
    );
    println!("largest difference between chunks and one pass: {largest:e} (last chunk {last:e})");
    // Probabilities in [0, 1]: a few units in the last place of f32 (6e-8 at 0.5).
    assert!(largest <= 1e-6, "chunks differ from one pass by {largest}");
    // Run to run, and through predict_classes: the same bits.
    for _ in 0..2 {
        assert_eq!(model.predict(x.view()).unwrap(), chunked);
        let classes = model.predict_classes(x.view()).unwrap();
        assert_eq!(classes.probabilities, chunked);
    }
    // A batch within one chunk is one pass, as before.
    let small = x.slice(s![..100, ..]);
    let reference = single_pass(&model, small);
    assert_eq!(model.predict(small).unwrap(), reference);
}

#[test]
fn a_non_finite_input_in_a_later_chunk_names_its_row_in_the_whole_matrix() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut model = wide_model();
    let rows = 2 * model.prediction_chunk_rows() + 10;
    let mut x = inputs(rows);
    x[[rows - 3, 0]] = f32::NAN;
    match model.predict(x.view()).unwrap_err() {
        feedforward::Error::NonFiniteInput { row, column, .. } => {
            assert_eq!((row, column), (rows - 3, 0))
        }
        other => panic!("{other}"),
    }
}
