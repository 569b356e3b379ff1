//! Data beside the model: the [`Dataset`] trait, in-memory and MNIST data sets, IDX files,
//! one-hot encoding, tables from CSV files ([`csv`], with the default `csv` feature: read in
//! memory, or streamed a batch at a time by `csv::CsvStream` for tables larger than memory),
//! numpy arrays memory-mapped from `.npy` files (`npy`, with the default `npy` feature), the
//! train/test split (plain or stratified), batch ordering (in order, an exact shuffle, or a
//! shuffle buffer in bounded memory: [`Order`]), and [`Prefetch`], which reads the next
//! batches on a background thread while the model trains.

mod batches;
#[cfg(feature = "csv")]
pub mod csv;
mod dataset;
pub mod download;
mod encoding;
pub mod idx;
mod in_memory;
pub mod mnist;
#[cfg(feature = "npy")]
pub mod npy;
mod prefetch;
mod shuffle_buffer;
mod split;
mod subset;
mod window;

pub use batches::{Batches, Order};
pub use dataset::Dataset;
pub use encoding::one_hot;
pub use in_memory::InMemory;
pub use prefetch::Prefetch;
pub use split::{stratified_train_test_split, train_test_split, Split};
pub use subset::Subset;
