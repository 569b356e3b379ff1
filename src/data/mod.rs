//! Data beside the model: the [`Dataset`] trait, in-memory and MNIST data sets, IDX files,
//! one-hot encoding, the train/test split and batch ordering.

mod batches;
pub mod download;
pub mod idx;
pub mod mnist;
mod dataset;
mod encoding;
mod in_memory;
mod split;

pub use batches::{Batches, Order};
pub use dataset::Dataset;
pub use encoding::one_hot;
pub use in_memory::InMemory;
pub use split::{train_test_split, Split};
