//! The products of [`Conv2d`](super::Conv2d): each block of samples' patch matrices
//! (`Geometry::im2col`) times the weights, on the kernels of [`Dense`](crate::layers::Dense)
//! (`layers/dense/kernels.rs`: blocked kernels for thin products, the `gemm` crate's packed
//! GEMM for large ones), and the threads they run on.
//!
//! Per group `g`, with `P` output positions, `K` values per patch and `O` output channels per
//! group, a block of `B` samples puts its patches side by side, `cols (K, B P)`, and its output
//! (or output gradient) channels side by side, `Y (O, B P)`, each sample's `P` columns one
//! contiguous copy of one of its channels. The three products:
//!
//! | product | formula | `Dense` kernel, as |
//! | --- | --- | --- |
//! | forward | `Y (O, B P) = W (O, K) . cols`, plus the bias | `kernels::input_grad` (`dX = G . W^T`) |
//! | weight gradient | `dW (O, K) = G (O, B P) . cols^T` | `kernels::forward` (`Y = X . W^T`) |
//! | input gradient | `dcols (K, B P) = W^T . G`, then `Geometry::col2im_add` | `kernels::input_grad` |
//!
//! Each is the product of a `Dense` layer whose inner dimension is contiguous in memory on
//! both sides where the kernel wants it. The input gradient is computed directly, `W^T . G`
//! then one scatter-add (`col2im`), not as a transposed convolution.
//!
//! Why this layout (Caffe's, patches as columns) rather than one row per position: the copies
//! between images and patches run along input lines (see `conv2d/im2col.rs`), and the output
//! and output gradient need no transposition, only contiguous copies of `P` values. Measured
//! with `bench_cnn --model lenet5 --threads 1` (see the commit that introduced it): the
//! row-per-position layout spent a third of LeNet-5's training in `im2row` alone.
//!
//! Blocks hold [`BLOCK_VALUES`] patch values ([`PACKED_BLOCK_VALUES`] for the packed GEMM) or
//! one sample, so that a block's patches stay in
//! the processor's second-level cache between the copy and the product. A batch's blocks are
//! grouped into at most [`MAX_CHUNKS`] chunks of consecutive blocks, and the chunks into parts,
//! one per thread. Every sample's output and input gradient is computed by its block alone, and
//! the weight gradient is summed per chunk (block after block) and then over the chunks in
//! order: blocks and chunks depend on the shapes only, so the results are the same bits on any
//! number of threads.

use crate::layers::dense::kernels::{self, Isa};
use crate::layers::window::Geometry;
use crate::parallel;

/// Patch values per block of samples: 64 K `f32`, 256 KB.
const BLOCK_VALUES: usize = 1 << 16;

/// Patch values per block when the products go to the packed GEMM (`kernels::packs`: at
/// least 64 output channels and 64 values per patch): 256 K `f32`, 1 MB, the second-level
/// cache of a Zen 4 or Zen 5 core. The GEMM packs its operands on every call, which a block of
/// one sample (the small convnet's second convolution, 121 positions of 288 values) repays
/// badly. `bench_cnn --model convnet --threads 1`, 4 alternating runs (busy machine):
/// 0.74-0.85 s -> 0.61-0.81 s, faster in each pair; LeNet-5's thin products, which do not
/// pack, ran slower with larger blocks (3 of 4 pairs) and keep [`BLOCK_VALUES`].
const PACKED_BLOCK_VALUES: usize = 1 << 18;

/// The most chunks a batch's weight gradient is summed in (and so the most threads a
/// convolution uses): each holds one copy of the weight gradient.
const MAX_CHUNKS: usize = 16;

/// The buffers of one part, kept from call to call (they only grow).
#[derive(Clone, Debug, Default)]
struct Workspace {
    /// A block's patches of one group, `(K, B P)`.
    cols: Vec<f32>,
    /// A block's output or output gradient of one group, `(O, B P)`.
    rows: Vec<f32>,
    /// The patches' gradient, `(K, B P)`.
    dcols: Vec<f32>,
    /// A block's weight gradient of one group, `(O, K)`.
    dw: Vec<f32>,
    /// `K` zeros: the bias of the weight gradient's product.
    zeros: Vec<f32>,
    /// The workspace of the `Dense` kernels (unused on one thread).
    scratch: Vec<f32>,
}

impl Workspace {
    /// Grows the buffers for blocks of `block` samples of `geometry`.
    fn reserve(&mut self, geometry: &Geometry, block: usize) {
        let columns = block * geometry.positions();
        let grow = |buffer: &mut Vec<f32>, len: usize| {
            if buffer.len() < len {
                buffer.resize(len, 0.0);
            }
        };
        grow(&mut self.cols, columns * geometry.patch_len());
        grow(&mut self.dcols, columns * geometry.patch_len());
        grow(&mut self.rows, columns * geometry.group_outputs());
        grow(
            &mut self.dw,
            geometry.group_outputs() * geometry.patch_len(),
        );
        grow(&mut self.zeros, geometry.patch_len());
    }
}

/// What a convolution keeps between calls: one workspace per part and the chunks' weight
/// gradients.
#[derive(Clone, Debug, Default)]
pub(super) struct Work {
    parts: Vec<Workspace>,
    partials: Vec<f32>,
    /// The weights of each group transposed, `(K, O)` after one another.
    transposed: Vec<f32>,
}

/// How a batch of `samples` is cut: blocks of `block` samples, `chunks` runs of consecutive
/// blocks, `parts` runs of consecutive chunks (one per thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Plan {
    samples: usize,
    block: usize,
    chunks: usize,
    parts: usize,
}

impl Plan {
    fn new(geometry: &Geometry, samples: usize) -> Plan {
        let per_sample = geometry.positions() * geometry.patch_len().max(geometry.group_outputs());
        let (o, k) = (geometry.group_outputs(), geometry.patch_len());
        let values = if kernels::packs(64, k, o) {
            PACKED_BLOCK_VALUES
        } else {
            BLOCK_VALUES
        };
        let block = (values / per_sample.max(1)).clamp(1, samples.max(1));
        let blocks = samples.div_ceil(block);
        let chunks = blocks.clamp(1, MAX_CHUNKS);
        let work = samples
            .saturating_mul(geometry.positions())
            .saturating_mul(geometry.patch_len())
            .saturating_mul(geometry.out_channels);
        let parts = parallel::threads_for(work).clamp(1, chunks);
        Plan {
            samples,
            block,
            chunks,
            parts,
        }
    }

    /// The first sample of chunk `chunk` (`chunk == chunks` gives the end).
    fn chunk_start(&self, chunk: usize) -> usize {
        let blocks = self.samples.div_ceil(self.block);
        (chunk * blocks / self.chunks * self.block).min(self.samples)
    }

    /// The chunks of part `part`.
    fn part_chunks(&self, part: usize) -> std::ops::Range<usize> {
        part * self.chunks / self.parts..(part + 1) * self.chunks / self.parts
    }
}

/// The forward pass: `y` (`samples` rows of `output_len`) from `x` (`samples` rows of
/// `input_len`), with the weights `w` (`(out_channels, patch_len)`, PyTorch's
/// `(out, in / groups, kh, kw)`) and `bias` (`out_channels` values).
pub(super) fn forward(
    geometry: &Geometry,
    w: &[f32],
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    work: &mut Work,
) {
    let samples = x.len() / geometry.input_len();
    let plan = Plan::new(geometry, samples);
    prepare(work, geometry, &plan);
    let run = |x: &[f32], y: &mut [f32], ws: &mut Workspace| {
        forward_part(geometry, &plan, w, bias, x, y, ws)
    };
    if plan.parts == 1 {
        return run(x, y, &mut work.parts[0]);
    }
    rayon::scope(|scope| {
        let (mut x, mut y) = (x, y);
        for (part, ws) in work.parts[..plan.parts].iter_mut().enumerate() {
            let chunks = plan.part_chunks(part);
            let n = plan.chunk_start(chunks.end) - plan.chunk_start(chunks.start);
            let (x_part, x_rest) = x.split_at(n * geometry.input_len());
            let (y_part, y_rest) = std::mem::take(&mut y).split_at_mut(n * geometry.output_len());
            (x, y) = (x_rest, y_rest);
            scope.spawn(move |_| run(x_part, y_part, ws));
        }
    });
}

/// The backward pass: the weight gradient into `dw` (`(out_channels, patch_len)`), the bias
/// gradient into `db` (`out_channels` values) when given, and the input gradient into `dx`
/// (like `x`) when given, from `g`, the output gradient (like `y`).
#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    geometry: &Geometry,
    w: &[f32],
    x: &[f32],
    g: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
    work: &mut Work,
) {
    let samples = x.len() / geometry.input_len();
    let plan = Plan::new(geometry, samples);
    prepare(work, geometry, &plan);
    let weights = w.len();
    if work.partials.len() < plan.chunks * weights {
        work.partials.resize(plan.chunks * weights, 0.0);
    }
    let Work {
        parts,
        partials,
        transposed,
    } = work;
    let partials = &mut partials[..plan.chunks * weights];
    let wt: &[f32] = if dx.is_some() {
        transpose_groups(geometry, w, transposed);
        transposed
    } else {
        &[]
    };
    let run = |x: &[f32],
               g: &[f32],
               dx: Option<&mut [f32]>,
               partials: &mut [f32],
               chunks,
               ws: &mut Workspace| {
        backward_part(geometry, &plan, wt, x, g, dx, partials, chunks, ws)
    };
    if plan.parts == 1 {
        run(x, g, dx, partials, 0..plan.chunks, &mut parts[0]);
    } else {
        rayon::scope(|scope| {
            let (mut x, mut g, mut dx, mut partials) = (x, g, dx, &mut *partials);
            for (part, ws) in parts[..plan.parts].iter_mut().enumerate() {
                let chunks = plan.part_chunks(part);
                let n = plan.chunk_start(chunks.end) - plan.chunk_start(chunks.start);
                let (x_part, x_rest) = x.split_at(n * geometry.input_len());
                let (g_part, g_rest) = g.split_at(n * geometry.output_len());
                let (dx_part, dx_rest) = match dx.take() {
                    Some(dx) => {
                        let (a, b) = dx.split_at_mut(n * geometry.input_len());
                        (Some(a), Some(b))
                    }
                    None => (None, None),
                };
                let (p_part, p_rest) =
                    std::mem::take(&mut partials).split_at_mut(chunks.len() * weights);
                (x, g, dx, partials) = (x_rest, g_rest, dx_rest, p_rest);
                scope.spawn(move |_| run(x_part, g_part, dx_part, p_part, chunks, ws));
            }
        });
    }
    // The chunks' sums, added in order.
    let mut sums = partials.chunks_exact(weights);
    dw.copy_from_slice(sums.next().expect("at least one chunk"));
    for partial in sums {
        for (d, &p) in dw.iter_mut().zip(partial) {
            *d += p;
        }
    }
    if let Some(db) = db {
        // Sample after sample, channel by channel: the positions' sum, then the batch's.
        db.fill(0.0);
        Isa::detect().vectorize(
            #[inline(always)]
            || {
                for sample in g.chunks_exact(geometry.output_len()) {
                    for (d, channel) in db.iter_mut().zip(sample.chunks_exact(geometry.positions()))
                    {
                        *d += lane_sum(channel);
                    }
                }
            },
        );
    }
}

/// The sum of `values` in a fixed order that vector instructions can follow: 16 running sums,
/// sum `i` taking values `i`, `i + 16`, ..., then added pairwise (8 + 8, 4 + 4, 2 + 2, 1 +
/// 1). A plain sum is one chain of dependent additions, 4 cycles each; LeNet-5's first
/// convolution sums 784 positions per channel and sample for its bias gradient.
#[inline(always)]
fn lane_sum(values: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut sums = [0.0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (sum, &value) in sums.iter_mut().zip(chunk) {
            *sum += value;
        }
    }
    for (sum, &value) in sums.iter_mut().zip(rest) {
        *sum += value;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            sums[i] += sums[i + width];
        }
    }
    sums[0]
}

/// Makes a workspace for each part, each large enough for a block.
fn prepare(work: &mut Work, geometry: &Geometry, plan: &Plan) {
    if work.parts.len() < plan.parts {
        work.parts.resize_with(plan.parts, Workspace::default);
    }
    for ws in &mut work.parts[..plan.parts] {
        ws.reserve(geometry, plan.block);
    }
}

/// The weights of each group, `(O, K)`, transposed into `wt`, `(K, O)` after one another.
fn transpose_groups(geometry: &Geometry, w: &[f32], wt: &mut Vec<f32>) {
    let (k, o) = (geometry.patch_len(), geometry.group_outputs());
    wt.resize(w.len(), 0.0);
    for (w, wt) in w.chunks_exact(o * k).zip(wt.chunks_exact_mut(o * k)) {
        for (c, row) in w.chunks_exact(k).enumerate() {
            for (t, &value) in row.iter().enumerate() {
                wt[t * o + c] = value;
            }
        }
    }
}

/// The forward pass of the consecutive samples of `x` into `y`, block by block.
fn forward_part(
    geometry: &Geometry,
    plan: &Plan,
    w: &[f32],
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    ws: &mut Workspace,
) {
    let isa = Isa::detect();
    let (p, k, o) = (
        geometry.positions(),
        geometry.patch_len(),
        geometry.group_outputs(),
    );
    for (x, y) in x
        .chunks(plan.block * geometry.input_len())
        .zip(y.chunks_mut(plan.block * geometry.output_len()))
    {
        let columns = x.len() / geometry.input_len() * p;
        for group in 0..geometry.groups {
            let cols = &mut ws.cols[..k * columns];
            for (b, x) in x.chunks_exact(geometry.input_len()).enumerate() {
                geometry.im2col(x, group, cols, columns, b * p);
            }
            let rows = &mut ws.rows[..o * columns];
            let w = &w[group * o * k..(group + 1) * o * k];
            // Y (O, B P) = W (O, K) . cols (K, B P).
            kernels::input_grad(isa, w, cols, rows, o, columns, k, 1, &mut ws.scratch);
            // Each sample's channels, plus the bias.
            for (b, y) in y.chunks_exact_mut(geometry.output_len()).enumerate() {
                let y = &mut y[group * o * p..(group + 1) * o * p];
                for ((y, row), &bias) in y
                    .chunks_exact_mut(p)
                    .zip(rows.chunks_exact(columns))
                    .zip(&bias[group * o..(group + 1) * o])
                {
                    for (y, &value) in y.iter_mut().zip(&row[b * p..(b + 1) * p]) {
                        *y = value + bias;
                    }
                }
            }
        }
    }
}

/// The backward pass of the consecutive samples of a part, whose chunks are `chunks`: each
/// chunk's weight gradient into its `partials` (one weight matrix per chunk), and the input
/// gradient into `dx` when given, with `wt`, each group's weights transposed (`(K, O)`, only
/// read when `dx` is given).
#[allow(clippy::too_many_arguments)]
fn backward_part(
    geometry: &Geometry,
    plan: &Plan,
    wt: &[f32],
    x: &[f32],
    g: &[f32],
    mut dx: Option<&mut [f32]>,
    partials: &mut [f32],
    chunks: std::ops::Range<usize>,
    ws: &mut Workspace,
) {
    let isa = Isa::detect();
    let (p, k, o) = (
        geometry.positions(),
        geometry.patch_len(),
        geometry.group_outputs(),
    );
    let weights = geometry.out_channels * k;
    let (input_len, output_len) = (geometry.input_len(), geometry.output_len());
    let first = plan.chunk_start(chunks.start);
    for (chunk, partial) in chunks.zip(partials.chunks_exact_mut(weights)) {
        partial.fill(0.0);
        let samples = plan.chunk_start(chunk) - first..plan.chunk_start(chunk + 1) - first;
        for start in samples.clone().step_by(plan.block) {
            let end = (start + plan.block).min(samples.end);
            let columns = (end - start) * p;
            let x = &x[start * input_len..end * input_len];
            let g = &g[start * output_len..end * output_len];
            let mut dx = dx
                .as_deref_mut()
                .map(|dx| &mut dx[start * input_len..end * input_len]);
            if let Some(dx) = dx.as_deref_mut() {
                dx.fill(0.0);
            }
            for group in 0..geometry.groups {
                let cols = &mut ws.cols[..k * columns];
                for (b, x) in x.chunks_exact(input_len).enumerate() {
                    geometry.im2col(x, group, cols, columns, b * p);
                }
                // The output gradient's channels of the group, samples side by side.
                let rows = &mut ws.rows[..o * columns];
                for (b, g) in g.chunks_exact(output_len).enumerate() {
                    let g = &g[group * o * p..(group + 1) * o * p];
                    for (row, channel) in rows.chunks_exact_mut(columns).zip(g.chunks_exact(p)) {
                        row[b * p..(b + 1) * p].copy_from_slice(channel);
                    }
                }
                // dW (O, K) = G (O, B P) . cols (K, B P)^T.
                let dw = &mut ws.dw[..o * k];
                let zeros = &ws.zeros[..k];
                kernels::forward(
                    isa,
                    rows,
                    cols,
                    zeros,
                    dw,
                    o,
                    columns,
                    k,
                    1,
                    &mut ws.scratch,
                );
                for (sum, &d) in partial[group * o * k..(group + 1) * o * k]
                    .iter_mut()
                    .zip(&*dw)
                {
                    *sum += d;
                }
                if let Some(dx) = dx.as_deref_mut() {
                    // dcols (K, B P) = W^T (K, O) . G (O, B P).
                    let wt = &wt[group * o * k..(group + 1) * o * k];
                    let dcols = &mut ws.dcols[..k * columns];
                    kernels::input_grad(isa, wt, rows, dcols, k, columns, o, 1, &mut ws.scratch);
                    for (b, dx) in dx.chunks_exact_mut(input_len).enumerate() {
                        geometry.col2im_add(dcols, columns, b * p, group, dx);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::window::Window;

    fn geometry(channels: usize, size: usize, out: usize, kernel: usize) -> Geometry {
        let window = Window::new("t", (kernel, kernel), (1, 1), (1, 1), (0, 0), (0, 0)).unwrap();
        let (out_height, out_width) = window.output("t", (size, size)).unwrap();
        Geometry {
            channels,
            height: size,
            width: size,
            window,
            groups: 1,
            out_channels: out,
            out_height,
            out_width,
        }
    }

    #[test]
    fn lane_sums_add_every_value_in_their_order() {
        // Integers: exact in any order, so every value is counted once.
        for len in [0, 1, 15, 16, 17, 100, 784] {
            let values: Vec<f32> = (0..len).map(|i| (i % 7) as f32 - 3.0).collect();
            let want: f32 = values.iter().sum();
            assert_eq!(lane_sum(&values), want, "{len}");
        }
        // The order: lanes first, then pairwise. 1e8 + 1 - 1e8 in one lane loses the 1.
        let mut values = vec![0.0f32; 32];
        (values[0], values[16], values[1]) = (1e8, -1e8, 1.0);
        assert_eq!(lane_sum(&values), 1.0);
        (values[0], values[16], values[1]) = (1e8, 1.0, -1e8);
        assert_eq!(lane_sum(&values), 0.0);
    }

    #[test]
    fn plans_cut_blocks_chunks_and_parts_from_the_shapes() {
        // LeNet-5's first convolution: 28 x 28 positions of 25 values, 3 samples a block.
        let lenet = geometry(1, 32, 6, 5);
        let plan = Plan::new(&lenet, 64);
        assert_eq!((plan.block, plan.chunks), (3, 16));
        assert!(plan.parts >= 1 && plan.parts <= 16);
        // Chunks cover the batch in order, each a whole number of blocks.
        assert_eq!(plan.chunk_start(0), 0);
        assert_eq!(plan.chunk_start(16), 64);
        for c in 0..16 {
            let (a, b) = (plan.chunk_start(c), plan.chunk_start(c + 1));
            assert!(a < b && a % 3 == 0, "{c}: {a}..{b}");
        }
        // One sample: one block, one chunk, one part.
        let plan = Plan::new(&lenet, 1);
        assert_eq!((plan.block, plan.chunks, plan.parts), (1, 1, 1));
        // A sample larger than a block is a block.
        assert_eq!(Plan::new(&geometry(64, 64, 64, 3), 5).block, 1);
    }
}
