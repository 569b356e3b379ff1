//! [`DataParallel::evaluate`]: a data set evaluated by all processes, each on its share.

use super::{shard, DataParallel};
use crate::data::{Dataset, Subset};
use crate::losses::Loss;
use crate::metrics::{ConfusionMatrix, Task};
use crate::model::{Evaluation, Sequential};
#[cfg(doc)]
use crate::Error;
use crate::Result;
use mpi::collective::SystemOperation;
use mpi::traits::{Communicator, CommunicatorCollectives};

impl<C: Communicator> DataParallel<C> {
    /// [`Sequential::evaluate`] over `data`, shared by the processes: every process gets the
    /// same [`Evaluation`]. Collective.
    ///
    /// For a classifier whose data set has classes (softmax, or cross-entropy on logits), each
    /// process evaluates a contiguous [`shard`] of the rows and one all-reduce sums the losses
    /// (weighted by rows) and the confusion matrices: the accuracy and the confusion matrix are
    /// exactly those of one process, the loss equal within rounding (its sum runs in `f64`).
    /// The other tasks' metrics (R^2, per-output binary accuracies) do not add up from shares,
    /// so every process evaluates the whole data set (the same result, `N` times the work).
    ///
    /// The model is evaluated with the buffers (batch-norm running statistics) it has on each
    /// process: call [`broadcast_buffers`](DataParallel::broadcast_buffers) first, as
    /// [`fit`](DataParallel::fit) does, for rank 0's.
    ///
    /// # Errors
    /// A failure on any process reaches every process, which all return an error and never
    /// wait for one another: the failing process its own (as [`Sequential::evaluate`]: a data
    /// set of another width, a read error, a non-finite output), the others
    /// [`Error::Distributed`] naming the first process that failed. [`Error::Distributed`]
    /// too, on every process, naming the first whose data set has another row count than rank
    /// 0's, or whose evaluation is not a classification when rank 0's is (or the reverse). (Each outcome travels in a one-byte all-gather, as the failure flags of
    /// [`fit`](DataParallel::fit)'s steps travel with the gradients.)
    pub fn evaluate(
        &mut self,
        model: &mut Sequential,
        data: &dyn Dataset,
        loss: &dyn Loss,
        batch_size: usize,
    ) -> Result<Evaluation> {
        // The row count decides which rows each process evaluates and whether they share.
        self.check_same_value("evaluation data set (its row count)", data.len() as u64)?;
        if data.len() < self.size {
            let whole = model.evaluate(data, loss, batch_size);
            return self.agree(whole, "evaluating the data set");
        }
        let part = shard(data.len(), self.rank, self.size);
        let rows = part.len();
        let local = Subset::new(data, part.collect())
            .and_then(|subset| model.evaluate(&subset, loss, batch_size));
        let local = self.agree(local, "evaluating its share of the data set")?;
        // Whether the results add up from shares: the same everywhere unless a process's data
        // set or model differs (its targets' width, say), named then rather than left waiting.
        let shared = local.task == Task::Classification && local.confusion.is_some();
        self.check_same_value(
            "evaluation (whether its data set has classes and its model is a classifier)",
            u64::from(shared),
        )?;
        if !shared {
            let whole = model.evaluate(data, loss, batch_size);
            return self.agree(whole, "evaluating the data set");
        }
        let classes = model.output_width();
        // Loss x rows, then the confusion counts (row-major), then the unpredicted counts.
        let mut send = vec![0.0f64; 1 + classes * classes + classes];
        send[0] = f64::from(local.loss) * rows as f64;
        if let Some(confusion) = &local.confusion {
            for (s, &c) in send[1..].iter_mut().zip(confusion.counts().iter()) {
                *s = c as f64;
            }
            for (s, &c) in send[1 + classes * classes..]
                .iter_mut()
                .zip(confusion.unpredicted())
            {
                *s = c as f64;
            }
        }
        let mut sums = vec![0.0f64; send.len()];
        self.comm
            .all_reduce_into(&send[..], &mut sums[..], SystemOperation::sum());
        // Counts below 2^53 are exact in f64.
        let mut confusion = ConfusionMatrix::new(classes)?;
        for actual in 0..classes {
            for predicted in 0..classes {
                let count = sums[1 + actual * classes + predicted] as u64;
                for _ in 0..count {
                    confusion.add(actual, predicted);
                }
            }
            for _ in 0..sums[1 + classes * classes + actual] as u64 {
                confusion.add_prediction(actual, None);
            }
        }
        Ok(Evaluation {
            loss: (sums[0] / data.len() as f64) as f32,
            task: Task::Classification,
            accuracy: Some(confusion.accuracy() as f32),
            confusion: Some(confusion),
            output_accuracies: Vec::new(),
            regression: None,
        })
    }
}
