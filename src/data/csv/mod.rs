//! Tables from CSV files: a header row, a target column chosen by name, every other column a
//! feature, encoded as scikit-learn's transformers would.
//!
//! [`CsvReader::read`] reads a file into a [`Table`] in memory ([`CsvReader::stream`] opens
//! one or several files as a [`CsvStream`] read a batch at a time, for tables larger than
//! memory), a [`Dataset`](crate::data::Dataset) that
//! [`fit`](crate::Sequential::fit) and [`evaluate`](crate::Sequential::evaluate) take, and
//! learns a [`TableEncoding`] from it that reads other files (a test set) or new rows the same
//! way, as a scikit-learn transformer fitted on the training data and applied to the test data:
//!
//! | column | encoded as | as scikit-learn's |
//! | --- | --- | --- |
//! | a feature whose cells are all numbers | one `f32` column | (passed through) |
//! | a feature with text (or declared [`categorical`](CsvReader::categorical)) | one 0/1 column per category, categories sorted | `OneHotEncoder()` |
//! | the target, for classification | one-hot over the classes, sorted (text by code point, numbers by value); [`Table::labels`] gives the class indices | `LabelEncoder()` |
//! | the target(s), for regression | one `f32` column each (several for multi-output regression) | (passed through) |
//!
//! Empty cells and pandas' missing-value markers (`NA`, `N/A`, `NaN`, `null`, ...: see
//! [`MISSING_MARKERS`]) are an [`Error::Table`] naming the file, the line and the column, or,
//! with [`Missing::DropRows`], drop their rows and are counted ([`Table::dropped_rows`]).
//! Fields are trimmed of surrounding spaces; quoted fields may hold the delimiter, quotes (as
//! `""`) and line breaks (RFC 4180, through the `csv` crate).
//!
//! The task is [`Task::Classification`] or [`Task::Regression`], given with
//! [`task`](CsvReader::task) or guessed from the target column as AutoGluon's
//! `infer_problem_type` does: text, or exactly two distinct values, is classification; numbers
//! are classification when they are all whole, have at most 1,000 distinct values and at most
//! 10% of the rows have a distinct value (5% above 1,000 rows); anything else is regression.
//!
//! ```
//! use feedforward::data::csv::{CsvReader, Task};
//! use feedforward::data::Dataset;
//!
//! let dir = std::env::temp_dir().join(format!("feedforward-doc-csv-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let train = dir.join("train.csv");
//! std::fs::write(&train, "size,colour,label\n1.5,red,cat\n2.0,\"blue, dark\",dog\n0.5,red,cat\n").unwrap();
//! let table = CsvReader::new().target("label").read(&train)?;
//! assert_eq!(table.task(), Task::Classification);
//! assert_eq!(table.encoding().input_names(), ["size", "colour=blue, dark", "colour=red"]);
//! assert_eq!(table.encoding().classes(), Some(&["cat".to_string(), "dog".to_string()][..]));
//! assert_eq!(table.inputs().row(1).to_vec(), [2.0, 1.0, 0.0]);
//! assert_eq!(table.labels(), Some(&[0, 1, 0][..]));
//!
//! // The same encoding reads a test file, and rows given in memory (features only).
//! let test = dir.join("test.csv");
//! std::fs::write(&test, "label,colour,size\ndog,red,3.0\n").unwrap();
//! let test = table.encoding().read(&test)?;
//! assert_eq!(test.inputs().row(0).to_vec(), [3.0, 0.0, 1.0]);
//! let x = table.encoding().encode_inputs(&[["0.7", "blue, dark"]])?;
//! assert_eq!(x.row(0).to_vec(), [0.7, 1.0, 0.0]);
//! # Ok::<(), feedforward::Error>(())
//! ```

mod encoding;
mod learn;
mod lines;
mod pass;
mod raw;
mod read;
mod reader;
mod row_index;
mod source;
mod stream;
mod table;

pub use crate::task::Task;
#[cfg(doc)]
use crate::Error;
pub use encoding::{Feature, FeatureKind, TableEncoding, Target};
pub use raw::{is_missing, MISSING_MARKERS};
pub use reader::{CsvReader, Missing, UnknownCategory, DEFAULT_MAX_CATEGORIES};
pub use stream::CsvStream;
pub use table::Table;
