//! [`Sequential::summary`]: a table of the model like Keras' `model.summary()`.

use super::Sequential;
use std::fmt;

/// One row per layer: index, name, output shape and parameter count, then the total.
///
/// ```
/// use feedforward::prelude::*;
/// let mut rng = RandomState::new(0);
/// let model = Sequential::builder(784)
///     .push(Dense::new(784, 10, Init::TUTORIAL, &mut rng)?)
///     .push(Softmax)
///     .build()?;
/// let summary = model.summary();
/// assert_eq!(summary.total_parameters, 7850);
/// assert!(summary.to_string().contains("Total parameters: 7,850"));
/// # Ok::<(), feedforward::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// `(name, output width, parameters)` of each layer, in order.
    pub layers: Vec<(String, usize, usize)>,
    /// Width of the model's input.
    pub input_width: usize,
    /// Sum of the layers' parameters.
    pub total_parameters: usize,
}

impl Sequential {
    /// The model's layers with their output shapes and parameter counts.
    pub fn summary(&self) -> Summary {
        let layers: Vec<(String, usize, usize)> = self
            .layers
            .iter()
            .zip(&self.widths[1..])
            .map(|(layer, &width)| {
                let count = layer.parameters().iter().map(|(_, p)| p.len()).sum();
                (layer.name().to_string(), width, count)
            })
            .collect();
        Summary {
            total_parameters: layers.iter().map(|(_, _, n)| n).sum(),
            input_width: self.input_width(),
            layers,
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

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "-".repeat(56);
        writeln!(
            f,
            "{:<28}{:<16}{:>12}",
            "Layer (type)", "Output shape", "Param #"
        )?;
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            "{:<28}{:<16}{:>12}",
            "input",
            format!("(batch, {})", self.input_width),
            ""
        )?;
        for (i, (name, width, count)) in self.layers.iter().enumerate() {
            writeln!(
                f,
                "{:<28}{:<16}{:>12}",
                format!("{i} ({name})"),
                format!("(batch, {width})"),
                thousands(*count)
            )?;
        }
        writeln!(f, "{rule}")?;
        write!(f, "Total parameters: {}", thousands(self.total_parameters))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

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
        assert_eq!(s.layers[0], ("Dense".to_string(), 256, 784 * 256 + 256));
        assert_eq!(s.layers[1], ("Relu".to_string(), 256, 0));
        assert_eq!(s.total_parameters, 200_960 + 2_570);
        let text = s.to_string();
        assert!(text.contains("0 (Dense)") && text.contains("(batch, 256)"));
        assert!(text.contains("200,960") && text.ends_with("Total parameters: 203,530"));
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
