//! [`GlobalAvgPool2d`]: the mean of each channel, a flat row (Keras's
//! `GlobalAveragePooling2D`, PyTorch's `nn.AdaptiveAvgPool2d(1)` then `nn.Flatten()`).

use crate::layers::{Layer, LayerSpec, Shape};
use crate::{Error, Result};
use ndarray::{ArrayView2, ArrayViewMut2};

/// The mean of each channel, a flat row of `C` values (Keras's `GlobalAveragePooling2D`,
/// PyTorch's `nn.AdaptiveAvgPool2d(1)` then `nn.Flatten()`).
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalAvgPool2d {
    /// `(channels, height times width)` of the last build.
    plane: Option<(usize, usize)>,
}

impl GlobalAvgPool2d {
    /// The pooling; it learns the channels and their size when built.
    pub fn new() -> Self {
        GlobalAvgPool2d { plane: None }
    }

    fn plane(&self) -> Result<(usize, usize)> {
        self.plane.ok_or_else(|| {
            Error::shape(
                "GlobalAvgPool2d",
                "the input's channels: put the layer in a model started with \
                 Sequential::builder_image, or call Layer::build with a Shape::image first",
                "a layer that was never built",
            )
        })
    }
}

impl Layer for GlobalAvgPool2d {
    fn name(&self) -> &str {
        "GlobalAvgPool2d"
    }

    fn output_width(&self, input_width: usize) -> Result<usize> {
        let (c, plane) = self.plane()?;
        crate::layers::fixed_input_width("GlobalAvgPool2d", c * plane, input_width, c)
    }

    /// A flat row of the image's channels.
    fn build(&mut self, input: Shape) -> Result<Shape> {
        let Some((c, h, w)) = input.chw() else {
            return Err(Error::shape(
                "GlobalAvgPool2d",
                "an image: start the model with Sequential::builder_image",
                format!("a flat row {input}"),
            ));
        };
        self.plane = Some((c, h * w));
        Ok(Shape::flat(c))
    }

    fn forward(
        &mut self,
        input: ArrayView2<'_, f32>,
        mut output: ArrayViewMut2<'_, f32>,
    ) -> Result<()> {
        let (c, plane) = self.plane()?;
        crate::layers::expect_width("GlobalAvgPool2d input", &input, c * plane)?;
        crate::layers::expect_dim("GlobalAvgPool2d output", (input.nrows(), c), output.dim())?;
        for (x, mut y) in input.rows().into_iter().zip(output.rows_mut()) {
            for (channel, y) in y.iter_mut().enumerate() {
                let values = x.slice(ndarray::s![channel * plane..(channel + 1) * plane]);
                *y = values.sum() / plane as f32;
            }
        }
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, f32>,
        _output: ArrayView2<'_, f32>,
        grad_output: ArrayView2<'_, f32>,
        grad_input: Option<ArrayViewMut2<'_, f32>>,
    ) -> Result<()> {
        let (c, plane) = self.plane()?;
        crate::layers::expect_width("GlobalAvgPool2d input", &input, c * plane)?;
        crate::layers::expect_dim(
            "GlobalAvgPool2d output gradient",
            (input.nrows(), c),
            grad_output.dim(),
        )?;
        let Some(mut grad_input) = grad_input else {
            return Ok(());
        };
        crate::layers::expect_dim(
            "GlobalAvgPool2d input gradient",
            input.dim(),
            grad_input.dim(),
        )?;
        for (go, mut dx) in grad_output.rows().into_iter().zip(grad_input.rows_mut()) {
            for (channel, &g) in go.iter().enumerate() {
                dx.slice_mut(ndarray::s![channel * plane..(channel + 1) * plane])
                    .fill(g / plane as f32);
            }
        }
        Ok(())
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::GlobalAvgPool2d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_layer;
    use crate::layers::pooling::run;
    use ndarray::array;

    #[test]
    fn global_average_pooling_gives_each_channels_mean() {
        let x = array![[1.0, 2.0, 3.0, 6.0, 0.0, 0.0, 0.0, 4.0]];
        let mut pool = GlobalAvgPool2d::new();
        assert_eq!(
            run(&mut pool, Shape::image(2, 2, 2).unwrap(), &x),
            array![[3.0, 1.0]]
        );
        let report = check_layer(&mut pool, 3, 8, 1).unwrap();
        assert!(report.max_relative_error < 1e-2, "{report}");
    }
}
