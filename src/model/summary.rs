//! [`Sequential::summary`]: a table of the model like Keras' `model.summary()`.

use super::Sequential;
use crate::layers::Shape;
use std::fmt;

/// One layer's line of a [`Summary`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerSummary {
    /// The layer's name (`"Dense"`).
    pub name: String,
    /// The shape of one sample of the layer's output, batch left out: `[256]` for a row of
    /// 256 features (an image layer's would be `[channels, height, width]`, PyTorch's order).
    pub output_shape: Vec<usize>,
    /// Values the optimizer trains ([`Layer::parameters`](crate::Layer::parameters)).
    pub trainable: usize,
    /// Values the layer keeps but the optimizer does not train
    /// ([`Layer::buffers`](crate::Layer::buffers)): `Normalization`'s mean and variance,
    /// `BatchNorm1d`'s running mean and variance.
    pub non_trainable: usize,
}

impl LayerSummary {
    /// Trainable and non-trainable values together (Keras' `Param #` column).
    pub fn parameters(&self) -> usize {
        self.trainable + self.non_trainable
    }
}

/// One row per layer: index, name, output shape and parameter count; then the totals as Keras
/// prints them: `Total params`, `Trainable params` (what the optimizer updates) and
/// `Non-trainable params` (the layers' buffers: a `Normalization`'s mean and variance, a
/// `BatchNorm1d`'s running statistics), each with its size in memory as `f32`.
///
/// Keras also counts a `Normalization`'s sample count (one more value); this crate keeps no
/// such count, so its total is one less per `Normalization` layer.
///
/// ```
/// use feedforward::prelude::*;
/// let mut rng = RandomState::new(0);
/// let model = Sequential::builder(784)
///     .push(Dense::new(784, 10, Init::TUTORIAL, &mut rng)?)
///     .push(Softmax)
///     .build()?;
/// let summary = model.summary();
/// assert_eq!(summary.trainable_parameters(), 7850);
/// assert!(summary.to_string().contains("Trainable params: 7,850 (30.66 KB)"));
/// # Ok::<(), feedforward::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Each layer, in order.
    pub layers: Vec<LayerSummary>,
    /// The shape of one sample of the model's input (`[784]`).
    pub input_shape: Vec<usize>,
}

impl Summary {
    /// All values, trainable or not (Keras' `Total params`).
    pub fn total_parameters(&self) -> usize {
        self.layers.iter().map(LayerSummary::parameters).sum()
    }

    /// Values the optimizer trains (Keras' `Trainable params`).
    pub fn trainable_parameters(&self) -> usize {
        self.layers.iter().map(|l| l.trainable).sum()
    }

    /// Values kept but not trained (Keras' `Non-trainable params`).
    pub fn non_trainable_parameters(&self) -> usize {
        self.layers.iter().map(|l| l.non_trainable).sum()
    }
}

impl Sequential {
    /// The model's layers with their output shapes and parameter counts, trainable and not.
    pub fn summary(&self) -> Summary {
        let count = |views: Vec<(&'static str, ndarray::ArrayView2<'_, f32>)>| -> usize {
            views.iter().map(|(_, v)| v.len()).sum()
        };
        // (channels, height, width) for an image, (features) otherwise, as PyTorch orders them.
        let dims = |shape: &Shape| match shape.chw() {
            Some((c, h, w)) => vec![c, h, w],
            None => vec![shape.size()],
        };
        let layers = self
            .layers
            .iter()
            .zip(self.output_shapes())
            .map(|(layer, shape)| LayerSummary {
                name: layer.name().to_string(),
                output_shape: dims(shape),
                trainable: count(layer.parameters()),
                non_trainable: count(layer.buffers()),
            })
            .collect();
        Summary {
            layers,
            input_shape: dims(&self.input_shape()),
        }
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count of `f32` values as Keras prints its memory: `7,850 (30.66 KB)`, in units of 1,024.
fn count_and_size(n: usize) -> String {
    let bytes = n as f64 * 4.0;
    let (value, unit) = [("B", 1.0), ("KB", 1024.0), ("MB", 1024.0 * 1024.0)]
        .into_iter()
        .chain([("GB", 1024.0 * 1024.0 * 1024.0)])
        .rev()
        .find(|&(_, size)| bytes >= size)
        .map(|(unit, size)| (bytes / size, unit))
        .unwrap_or((0.0, "B"));
    format!("{} ({value:.2} {unit})", thousands(n))
}

/// `(batch, 256)`, or `(batch, 6, 28, 28)` for an image.
fn shape_text(shape: &[usize]) -> String {
    let mut text = String::from("(batch");
    for d in shape {
        text += &format!(", {d}");
    }
    text + ")"
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shapes: Vec<String> = std::iter::once(&self.input_shape)
            .chain(self.layers.iter().map(|l| &l.output_shape))
            .map(|s| shape_text(s))
            .collect();
        let shape_width = shapes.iter().map(String::len).max().unwrap_or(0).max(16) + 2;
        let rule = "-".repeat(28 + shape_width + 12);
        writeln!(
            f,
            "{:<28}{:<shape_width$}{:>12}",
            "Layer (type)", "Output shape", "Param #"
        )?;
        writeln!(f, "{rule}")?;
        writeln!(f, "{:<28}{:<shape_width$}{:>12}", "input", shapes[0], "")?;
        for (i, (layer, shape)) in self.layers.iter().zip(&shapes[1..]).enumerate() {
            writeln!(
                f,
                "{:<28}{:<shape_width$}{:>12}",
                format!("{i} ({})", layer.name),
                shape,
                thousands(layer.parameters())
            )?;
        }
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            "Total params: {}",
            count_and_size(self.total_parameters())
        )?;
        writeln!(
            f,
            "Trainable params: {}",
            count_and_size(self.trainable_parameters())
        )?;
        write!(
            f,
            "Non-trainable params: {}",
            count_and_size(self.non_trainable_parameters())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use ndarray::array;

    #[test]
    fn image_layers_show_their_channels_height_and_width() {
        let mut rng = RandomState::new(0);
        let model = Sequential::builder_image(1, 28, 28)
            .push(Conv2d::config(1, 6, 5).padding(2).build(&mut rng).unwrap())
            .push(Relu)
            .push(MaxPool2d::new(2).unwrap())
            .push(Flatten)
            .dense(10, Init::XavierNormal)
            .push(Softmax)
            .build()
            .unwrap();
        let s = model.summary();
        let shapes: Vec<&[usize]> = s.layers.iter().map(|l| &l.output_shape[..]).collect();
        assert_eq!(
            shapes,
            [
                &[6, 28, 28][..],
                &[6, 28, 28],
                &[6, 14, 14],
                &[1176],
                &[10],
                &[10]
            ]
        );
        assert_eq!(s.input_shape, [1, 28, 28]);
        let text = s.to_string();
        assert!(text.contains("0 (Conv2d)"), "{text}");
        assert!(text.contains("(batch, 6, 14, 14)"), "{text}");
        // Conv2d: 6 x 1 x 5 x 5 weights and 6 biases; Dense: 1176 x 10 and 10.
        assert_eq!(s.trainable_parameters(), 156 + 11_770);
    }

    #[test]
    fn lists_every_layer_like_keras() {
        let mut rng = RandomState::new(0);
        let model = Sequential::builder(784)
            .push(Dense::new(784, 256, Init::HeNormal, &mut rng).unwrap())
            .push(Relu)
            .push(Dense::new(256, 10, Init::HeNormal, &mut rng).unwrap())
            .push(Softmax)
            .build()
            .unwrap();
        let s = model.summary();
        assert_eq!(s.layers[0].name, "Dense");
        assert_eq!(s.layers[0].output_shape, [256]);
        assert_eq!(s.layers[0].trainable, 784 * 256 + 256);
        assert_eq!(s.layers[1].parameters(), 0);
        assert_eq!(s.total_parameters(), 200_960 + 2_570);
        assert_eq!(s.non_trainable_parameters(), 0);
        let text = s.to_string();
        assert!(text.contains("0 (Dense)") && text.contains("(batch, 256)"));
        assert!(text.contains("200,960"), "{text}");
        // Keras: "Total params: 203,530 (795.04 KB)".
        assert!(text.contains("Total params: 203,530 (795.04 KB)"), "{text}");
        assert!(text.ends_with("Non-trainable params: 0 (0.00 B)"), "{text}");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }

    /// Keras, for the same model:
    /// ```python
    /// norm = keras.layers.Normalization(); norm.adapt(np.array([[0., 1., 2.], [2., 3., 6.]]))
    /// m = keras.Sequential([keras.Input((3,)), norm, keras.layers.Dense(4),
    ///                       keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    /// m.summary()  # Trainable params: 16 + 8 + 10 = 34; Non-trainable: 7 (mean 3, variance 3,
    ///              # count 1) + 8 (moving mean 4, moving variance 4) = 15
    /// ```
    /// Here the Normalization has no count: 14 non-trainable values.
    #[test]
    fn buffers_count_as_non_trainable() {
        let mut rng = RandomState::new(0);
        let norm = Normalization::with_stats(
            array![[1.0f32, 2.0, 4.0]].view(),
            array![[1.0f32, 1.0, 4.0]].view(),
        )
        .unwrap();
        let model = Sequential::builder(3)
            .push(norm)
            .push(Dense::new(3, 4, Init::HeNormal, &mut rng).unwrap())
            .push(BatchNorm1d::new(4).unwrap())
            .push(Dense::new(4, 2, Init::HeNormal, &mut rng).unwrap())
            .build()
            .unwrap();
        let s = model.summary();
        let counts: Vec<(usize, usize)> = s
            .layers
            .iter()
            .map(|l| (l.trainable, l.non_trainable))
            .collect();
        assert_eq!(counts, [(0, 6), (16, 0), (8, 8), (10, 0)]);
        assert_eq!(s.trainable_parameters(), 34);
        assert_eq!(s.non_trainable_parameters(), 14);
        assert_eq!(s.total_parameters(), 48);
        let text = s.to_string();
        assert!(text.contains("Total params: 48 (192.00 B)"), "{text}");
        assert!(text.contains("Trainable params: 34 (136.00 B)"), "{text}");
        assert!(
            text.contains("Non-trainable params: 14 (56.00 B)"),
            "{text}"
        );
        // The Normalization's line counts its 6 values.
        assert!(
            text.lines()
                .any(|l| l.starts_with("0 (Normalization)") && l.ends_with(" 6")),
            "{text}"
        );
    }
}
