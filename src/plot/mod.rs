//! Figures as SVG files (feature `plot`, on by default): a training [`History`](crate::History)
//! as loss and metric curves, a [`ConfusionMatrix`](crate::metrics::ConfusionMatrix) as a heat
//! map, and the [`Chart`] both are made of, for your own figures.
//!
//! Keras users draw `history.history` with matplotlib; here the library draws it:
//! [`history`] gives a [`Figure`] with the loss (training against validation) beside the task's
//! metric (accuracy for a classifier, MAE for a regression), one polyline per curve, in
//! matplotlib's default colours.
//!
//! ```
//! use feedforward::prelude::*;
//! use feedforward::ndarray::array;
//!
//! let data = InMemory::new(array![[0.0f32], [1.0]], array![[1.0f32], [3.0]])?;
//! let mut model = Sequential::builder(1).push(Dense::from_parameters(array![[0.5]], array![[0.0]])?).build()?;
//! let history = model.fit(&data, &HalfMse, &mut Sgd::new(0.1)?, &FitConfig::new(5))?;
//! let svg = feedforward::plot::history(&history).to_svg()?;
//! assert!(svg.starts_with("<svg"));
//! // feedforward::plot::history(&history).save_svg("history.svg")?;
//! # Ok::<(), feedforward::Error>(())
//! ```
//!
//! Drawn with [`plotters`](https://docs.rs/plotters)' SVG backend, which needs no system library
//! and writes text as `<text>` elements (the viewer picks the font). Files are replaced
//! atomically, as the crate's other outputs.

mod chart;
mod confusion;
mod figure;
mod heatmap;
mod history;
mod style;

pub use chart::{Chart, LegendPosition, Mark, Series};
pub use confusion::confusion_matrix;
pub use figure::Figure;
pub use heatmap::{ColourMap, Heatmap};
pub use history::{history, loss_chart, metric_chart};
pub use style::Colour;
