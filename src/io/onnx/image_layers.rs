//! The ONNX nodes of the image layers, and the moves between the two forms a value takes in
//! the graph: `[batch, C, H, W]` images and `[batch, width]` rows.
//!
//! Our batches are always matrices, an image's row holding it in PyTorch's `(C, H, W)` order;
//! ONNX's image operators (`Conv`, `MaxPool`, ...) take 4-D `NCHW` tensors, and the operators of
//! the row layers take 2-D ones (`Gemm`; `Softmax(axis=1)`, `BatchNormalization` and
//! `LayerNormalization(axis=-1)`, which would normalise over another axis on a 4-D tensor). So
//! the export keeps each value in the form its producer gave it and converts only where the
//! next layer needs the other one ([`takes`]):
//! - an image before a row layer goes through `Flatten(axis=1)`, which is `torch.flatten(x, 1)`
//!   and keeps our row's order (no value moves); a [`Flatten`](crate::layers::Flatten) layer
//!   is exactly that node, and an element-wise layer (ReLU, dropout, ...) leaves the form as it
//!   is;
//! - a row before an image layer (a `LayerNorm` over a whole image, then a convolution) goes
//!   back through `Reshape` to `[-1, C, H, W]`, the shape the layer was built for;
//! - the graph's output is rows, `[batch, output_width]`, as [`predict`] gives them.
//!
//! The operators, with the attributes `torch.onnx.export` writes for the same PyTorch layers
//! (opset 17):
//!
//! | layer | ONNX |
//! | --- | --- |
//! | [`Conv2d`](crate::layers::Conv2d) | `Conv(x, weight [out, in / groups, kh, kw], bias [out] if any)`, `kernel_shape`, `strides`, `pads` = `[top, left, bottom, right]` (`Padding::Same` as the explicit pads it stands for), `dilations`, `group` |
//! | [`MaxPool2d`](crate::layers::MaxPool2d) | `MaxPool`, `kernel_shape`, `strides`, `pads`, `dilations`, `ceil_mode = 0` |
//! | [`AvgPool2d`](crate::layers::AvgPool2d) | `AveragePool`, `kernel_shape`, `strides`, `pads`, `ceil_mode = 0`, `count_include_pad` as the layer's (written always: ONNX's default is 0, PyTorch's and ours 1) |
//! | [`GlobalAvgPool2d`](crate::layers::GlobalAvgPool2d) | `GlobalAveragePool`, then `Flatten(axis=1)`: `[batch, C]` |
//! | [`BatchNorm2d`](crate::layers::BatchNorm2d) | `BatchNormalization` with the running statistics on `[batch, C, H, W]` (per channel) |
//! | [`Flatten`](crate::layers::Flatten) | `Flatten(axis=1)` after an image, nothing after rows |
//!
//! tract 0.22 reads `MaxPool`'s `dilations` but ignores them; onnxruntime applies them.
//!
//! [`predict`]: crate::Sequential::predict

use super::graph::{int, ints, vector, Graph, Value};
use super::proto::AttributeProto;
use crate::layers::{Conv2dConfig, LayerSpec, PoolConfig, Shape};
use ndarray::ArrayView2;

/// The form of value a layer's operators take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Takes {
    /// `[batch, C, H, W]`.
    Images,
    /// `[batch, width]`.
    Rows,
    /// Either (element-wise operators, or no operator at all).
    Either,
}

/// What the operators of a layer of kind `spec` take.
pub(super) fn takes(spec: &LayerSpec) -> Takes {
    match spec {
        LayerSpec::Conv2d(_)
        | LayerSpec::MaxPool2d(_)
        | LayerSpec::AvgPool2d { .. }
        | LayerSpec::GlobalAvgPool2d
        | LayerSpec::BatchNorm2d { .. } => Takes::Images,
        // Gemm is 2-D; Softmax(axis=1), the normalisations and Normalization's broadcast work
        // over the row, which on a 4-D tensor they would not.
        LayerSpec::Dense { .. }
        | LayerSpec::Softmax
        | LayerSpec::BatchNorm1d { .. }
        | LayerSpec::LayerNorm { .. }
        | LayerSpec::Normalization { .. }
        | LayerSpec::Flatten => Takes::Rows,
        LayerSpec::Identity
        | LayerSpec::Relu
        | LayerSpec::Sigmoid
        | LayerSpec::Tanh
        | LayerSpec::LeakyRelu { .. }
        | LayerSpec::Elu { .. }
        | LayerSpec::Gelu
        | LayerSpec::GeluTanh
        | LayerSpec::Dropout { .. }
        | LayerSpec::Custom { .. } => Takes::Either,
    }
}

/// `value` as rows: itself, or `Flatten(axis=1)` of it (a node of layer `index`, or of the
/// graph's end with `None`) when it holds images.
pub(super) fn as_rows(graph: &mut Graph, index: Option<usize>, value: Value) -> Value {
    if !value.image {
        return value;
    }
    let name = graph.node(index, "Flatten", &[&value.name], vec![int("axis", 1)]);
    Value { name, image: false }
}

/// `value` as images of `shape` for layer `index`: itself, or `Reshape(value, [-1, C, H, W])`
/// when it holds rows; `None` when `shape` is not an image.
pub(super) fn as_images(
    graph: &mut Graph,
    index: usize,
    value: Value,
    shape: Shape,
) -> Option<Value> {
    let (c, h, w) = shape.chw()?;
    if value.image {
        return Some(value);
    }
    let target = graph.int64s(
        format!("/{index}/Reshape_shape"),
        &[-1, c as i64, h as i64, w as i64],
    );
    let name = graph.node(Some(index), "Reshape", &[&value.name, &target], Vec::new());
    Some(Value { name, image: true })
}

/// `Conv` of layer `index` on the images `x`: the weights `(out, (in / groups) kh kw)` as
/// PyTorch's `[out, in / groups, kh, kw]`, the bias `(1, out)` as `[out]` when there is one.
pub(super) fn conv(
    graph: &mut Graph,
    index: usize,
    config: &Conv2dConfig,
    weight: ArrayView2<'_, f32>,
    bias: Option<ArrayView2<'_, f32>>,
    x: &str,
) -> String {
    let (kh, kw) = config.kernel;
    let w = graph.initializer(
        format!("{index}.weight"),
        &[
            config.out_channels,
            config.in_channels / config.groups,
            kh,
            kw,
        ],
        weight.iter().copied(),
    );
    let mut inputs = vec![x.to_string(), w];
    if let Some(bias) = bias {
        inputs.push(vector(graph, index, "bias", bias));
    }
    let (before, after) = config.pads();
    let attributes = vec![
        ints("dilations", &[config.dilation.0, config.dilation.1]),
        int("group", config.groups as i64),
        ints("kernel_shape", &[kh, kw]),
        ints("pads", &[before.0, before.1, after.0, after.1]),
        ints("strides", &[config.stride.0, config.stride.1]),
    ];
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    graph.node(Some(index), "Conv", &inputs, attributes)
}

/// The attributes a pooling window shares: `kernel_shape`, `strides`, `pads`, `ceil_mode = 0`
/// (PyTorch's floor mode, ours).
fn window(config: &PoolConfig) -> Vec<AttributeProto> {
    let (ph, pw) = config.padding;
    vec![
        int("ceil_mode", 0),
        ints("kernel_shape", &[config.kernel.0, config.kernel.1]),
        ints("pads", &[ph, pw, ph, pw]),
        ints("strides", &[config.stride.0, config.stride.1]),
    ]
}

/// `MaxPool` of layer `index` on the images `x`.
pub(super) fn max_pool(graph: &mut Graph, index: usize, config: &PoolConfig, x: &str) -> String {
    let mut attributes = window(config);
    attributes.push(ints("dilations", &[config.dilation.0, config.dilation.1]));
    graph.node(Some(index), "MaxPool", &[x], attributes)
}

/// `AveragePool` of layer `index` on the images `x`; `count_include_pad` as PyTorch's.
pub(super) fn average_pool(
    graph: &mut Graph,
    index: usize,
    config: &PoolConfig,
    count_include_pad: bool,
    x: &str,
) -> String {
    let mut attributes = window(config);
    attributes.push(int("count_include_pad", i64::from(count_include_pad)));
    graph.node(Some(index), "AveragePool", &[x], attributes)
}

#[cfg(test)]
mod tests {
    use super::super::proto::{AttributeProto, ModelProto, NodeProto, INT64};
    use crate::layers::{AvgPool2d, Conv2d, Flatten, GlobalAvgPool2d, LayerNorm, MaxPool2d};
    use crate::layers::{Padding, Relu, Softmax};
    use crate::random::RandomState;
    use crate::Sequential;
    use prost::Message;

    fn nodes(model: &Sequential) -> (Vec<NodeProto>, ModelProto) {
        let file = ModelProto::decode(model.to_onnx().unwrap().as_slice()).unwrap();
        (file.graph.clone().unwrap().node, file)
    }

    fn attribute<'a>(node: &'a NodeProto, name: &str) -> &'a AttributeProto {
        node.attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{:?} has no attribute {name}", node.name))
    }

    fn ops(nodes: &[NodeProto]) -> Vec<(&str, &str)> {
        nodes
            .iter()
            .map(|n| (n.name.as_deref().unwrap(), n.op_type.as_deref().unwrap()))
            .collect()
    }

    #[test]
    fn convolutions_write_pytorchs_weight_layout_and_same_padding_as_pads() {
        let mut rng = RandomState::new(0);
        // dilation 2, kernel (3, 4): (k - 1) d = (4, 6) zeros, (2, 3) before and (2, 3) after;
        // a kernel of even extent along an axis puts the extra zero after.
        let same = Conv2d::config(4, 6, (3, 4))
            .padding(Padding::Same)
            .dilation((2, 1))
            .groups(2)
            .bias(false)
            .build(&mut rng)
            .unwrap();
        let strided = Conv2d::config(6, 2, 3)
            .stride((2, 1))
            .padding((1, 0))
            .build(&mut rng)
            .unwrap();
        let first_weight = same.weight().to_owned();
        let model = Sequential::builder_image(4, 9, 9)
            .push(same)
            .push(strided)
            .build()
            .unwrap();
        let (nodes, file) = nodes(&model);
        let graph = file.graph.unwrap();
        assert_eq!(
            ops(&nodes),
            [
                ("/0/Conv", "Conv"),
                ("/1/Conv", "Conv"),
                ("/Flatten", "Flatten")
            ]
        );
        assert_eq!(nodes[0].input, ["input", "0.weight"]);
        assert_eq!(nodes[1].input[1..], ["1.weight", "1.bias"]);
        assert_eq!(attribute(&nodes[0], "pads").ints, [2, 1, 2, 2]);
        assert_eq!(attribute(&nodes[0], "dilations").ints, [2, 1]);
        assert_eq!(attribute(&nodes[0], "group").i, Some(2));
        assert_eq!(attribute(&nodes[0], "kernel_shape").ints, [3, 4]);
        assert_eq!(attribute(&nodes[1], "pads").ints, [1, 0, 1, 0]);
        assert_eq!(attribute(&nodes[1], "strides").ints, [2, 1]);
        let weight = &graph.initializer[0];
        assert_eq!(weight.dims, [6, 2, 3, 4]);
        let values: Vec<f32> = weight
            .raw_data
            .as_deref()
            .unwrap()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(values, first_weight.iter().copied().collect::<Vec<_>>());
        // [batch, 4, 9, 9] in; the image output flattened to [batch, 2 * 5 * 7].
        let dims = |v: &super::super::proto::ValueInfoProto| {
            v.r#type
                .as_ref()
                .unwrap()
                .tensor_type
                .as_ref()
                .unwrap()
                .shape
                .as_ref()
                .unwrap()
                .dim
                .len()
        };
        assert_eq!((dims(&graph.input[0]), dims(&graph.output[0])), (4, 2));
        assert_eq!(model.output_width(), 2 * 5 * 7);
        assert_eq!(nodes[2].output, ["output"]);
    }

    #[test]
    fn poolings_write_their_windows_and_the_average_its_divisor_rule() {
        let model = Sequential::builder_image(2, 8, 8)
            .push(
                MaxPool2d::new(3)
                    .unwrap()
                    .stride(1)
                    .unwrap()
                    .padding(1)
                    .unwrap(),
            )
            .push(AvgPool2d::new(2).unwrap().padding(1).unwrap())
            .push(AvgPool2d::new(2).unwrap().count_include_pad(false))
            .push(GlobalAvgPool2d::new())
            .push(Softmax)
            .build()
            .unwrap();
        let (nodes, _) = nodes(&model);
        assert_eq!(
            ops(&nodes),
            [
                ("/0/MaxPool", "MaxPool"),
                ("/1/AveragePool", "AveragePool"),
                ("/2/AveragePool", "AveragePool"),
                ("/3/GlobalAveragePool", "GlobalAveragePool"),
                ("/3/Flatten", "Flatten"),
                ("/4/Softmax", "Softmax"),
            ]
        );
        assert_eq!(attribute(&nodes[0], "kernel_shape").ints, [3, 3]);
        assert_eq!(attribute(&nodes[0], "strides").ints, [1, 1]);
        assert_eq!(attribute(&nodes[0], "pads").ints, [1, 1, 1, 1]);
        assert_eq!(attribute(&nodes[0], "dilations").ints, [1, 1]);
        assert_eq!(attribute(&nodes[1], "count_include_pad").i, Some(1));
        assert_eq!(attribute(&nodes[1], "strides").ints, [2, 2]);
        assert_eq!(attribute(&nodes[2], "count_include_pad").i, Some(0));
        assert_eq!(attribute(&nodes[2], "ceil_mode").i, Some(0));
    }

    #[test]
    fn images_are_flattened_before_row_layers_and_reshaped_back_before_image_layers() {
        let model = Sequential::builder_image(1, 4, 4)
            .push(Relu)
            .push(LayerNorm::new(16).unwrap())
            .push(Relu)
            .push(MaxPool2d::new(2).unwrap())
            .push(Flatten)
            .push(Flatten)
            .build()
            .unwrap();
        let (nodes, file) = nodes(&model);
        assert_eq!(
            ops(&nodes),
            [
                ("/0/Relu", "Relu"),
                ("/1/Flatten", "Flatten"),
                ("/1/LayerNormalization", "LayerNormalization"),
                ("/2/Relu", "Relu"),
                ("/3/Reshape", "Reshape"),
                ("/3/MaxPool", "MaxPool"),
                ("/4/Flatten", "Flatten"),
            ]
        );
        let shape = file
            .graph
            .unwrap()
            .initializer
            .into_iter()
            .find(|t| t.name.as_deref() == Some("/3/Reshape_shape"))
            .unwrap();
        assert_eq!(
            (shape.data_type, shape.dims.as_slice()),
            (Some(INT64), &[4][..])
        );
        let values: Vec<i64> = shape
            .raw_data
            .unwrap()
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(values, [-1, 1, 4, 4]);
        assert_eq!(nodes[4].input[0], nodes[3].output[0]);
        assert_eq!(nodes[6].output, ["output"]);
    }
}
