//! The training metric of a data-parallel run (`distributed`, feature `mpi`): each process
//! counts the rows of its own shards, as [`Sequential::fit`] counts a batch's, and the counts of
//! every process are put together once per epoch, so that [`EpochLog`](super::EpochLog)'s
//! training accuracy or regression metrics cover every row of the global batches.

use super::evaluate::Tally;
use super::Sequential;
use crate::data::Dataset;
use crate::losses::Loss;
use crate::metrics::{BinaryCounts, RegressionAccumulator, RegressionMetrics};
use crate::Result;
use ndarray::ArrayView2;

/// One process's training metric of an epoch, and the merging of every process's.
pub(crate) struct SharedTally(Tally);

impl SharedTally {
    /// Empty counts for `model`'s task on `data` (scored with `loss`).
    pub(crate) fn new(model: &Sequential, data: &dyn Dataset, loss: &dyn Loss) -> Result<Self> {
        Tally::new(model, data, loss).map(SharedTally)
    }

    /// Forgets the rows counted (a new epoch), keeping the buffers.
    pub(crate) fn reset(&mut self) {
        self.0.reset();
    }

    /// Counts the rows `rows` of `data` just trained on (their targets `targets`), from the
    /// outputs of `model`'s last step (before its update, as `fit` counts them).
    pub(crate) fn add(
        &mut self,
        model: &Sequential,
        data: &dyn Dataset,
        rows: &[usize],
        targets: ArrayView2<'_, f32>,
    ) {
        let last = model.layers.len() - 1;
        self.0
            .add(data, rows, model.activations[last].view(), targets);
    }

    /// This process's running accuracy, for a classifier whose data has classes.
    pub(crate) fn running_accuracy(&self) -> Option<f32> {
        self.0.running_accuracy()
    }

    /// The counts as numbers, the same length on every process of the same model and data:
    /// for a classifier with classes the right answers and the rows; for binary outputs whether
    /// a target other than 0 or 1 was met, the rows and each output's right answers; for a
    /// regression the rows and each output's sums. Exact below 2^53 rows.
    pub(crate) fn parts(&self) -> Vec<f64> {
        match &self.0 {
            Tally::MultiClass {
                confusion: Some(confusion),
            } => vec![
                confusion.counts().diag().sum() as f64,
                confusion.total() as f64,
            ],
            Tally::MultiClass { confusion: None } => Vec::new(),
            Tally::Binary {
                counts, confusion, ..
            } => std::iter::once(f64::from(u8::from(confusion.is_none())))
                .chain(counts.parts())
                .collect(),
            Tally::Regression(accumulator) => accumulator.parts().collect(),
        }
    }

    /// The accuracy and regression metrics of every process's rows, from the [`parts`] of
    /// every process laid end to end in rank order (`processes` of them), as
    /// [`Tally::metrics`] gives them for one process.
    ///
    /// [`parts`]: SharedTally::parts
    pub(crate) fn merged_metrics(
        &self,
        all: &[f64],
        processes: usize,
    ) -> (Option<f32>, Option<RegressionMetrics>) {
        let len = all.len() / processes.max(1);
        if len == 0 {
            return (None, None);
        }
        let each = all.chunks_exact(len);
        match &self.0 {
            Tally::MultiClass { .. } => {
                let (right, rows) = each.fold((0.0, 0.0), |(r, n), p| (r + p[0], n + p[1]));
                let accuracy = if rows > 0.0 { right / rows } else { 0.0 };
                (Some(accuracy as f32), None)
            }
            Tally::Binary { threshold, .. } => {
                if each.clone().any(|p| p[0] != 0.0) {
                    return (None, None);
                }
                let mut counts = BinaryCounts::new(len - 2, *threshold);
                each.for_each(|p| counts.add_parts(&p[1..]));
                (Some(counts.overall()), None)
            }
            Tally::Regression(_) => {
                let mut merged = RegressionAccumulator::new((len - 1) / 4);
                each.for_each(|p| merged.merge_parts(p));
                (None, Some(merged.finish()))
            }
        }
    }
}
