//! ONNX export: a trained [`Sequential`] as an [ONNX] model that onnxruntime, tract,
//! onnxruntime-web and the mobile runtimes run (feature `onnx`, on by default).
//!
//! ```
//! use feedforward::prelude::*;
//!
//! let mut rng = RandomState::new(0);
//! let model = Sequential::builder(4)
//!     .push(Dense::new(4, 8, Init::HeNormal, &mut rng)?)
//!     .push(Relu)
//!     .push(Dense::new(8, 3, Init::XavierNormal, &mut rng)?)
//!     .push(Softmax)
//!     .build()?;
//! let dir = std::env::temp_dir().join(format!("feedforward-doc-onnx-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! model.save_onnx(dir.join("model.onnx"))?;
//! # Ok::<(), feedforward::Error>(())
//! ```
//!
//! In Python, with `pip install onnxruntime numpy`:
//! ```python
//! import numpy as np, onnxruntime as ort
//! session = ort.InferenceSession("model.onnx")
//! probabilities = session.run(["output"], {"input": np.random.rand(5, 4).astype(np.float32)})[0]
//! ```
//!
//! # The graph
//! - One input, `input`: float32 `[batch, input_width]`, where `batch` is a symbolic dimension
//!   (any number of rows), or `[batch, C, H, W]` for a model built for images
//!   ([`Sequential::builder_image`]), as `torch.onnx.export` declares a PyTorch CNN's input, so
//!   that a program that ran the PyTorch export runs ours unchanged (its rows reshaped, values
//!   in place: our rows hold each image in that order); one output, `output`: float32
//!   `[batch, output_width]`, as [`predict`](Sequential::predict) gives it.
//! - The weights are initializers named as in our checkpoints and in PyTorch's
//!   `nn.Sequential` `state_dict` (`0.weight`, `0.bias`, `3.running_mean`, ...); the nodes are
//!   named after the layer's index and the operator, as `torch.onnx.export` names them
//!   (`/0/Gemm`, `/4/Erf`).
//! - The model computes what [`predict`](Sequential::predict) computes, in evaluation mode:
//!   dropout does nothing and batch normalisation uses its running statistics.
//!
//! | layer | ONNX operators |
//! | --- | --- |
//! | [`Dense`](crate::layers::Dense) `in -> out` | `Gemm(input, weight, bias, transB=1)`, `weight` `[out, in]` (`W^T`, as `nn.Linear` stores it), `bias` `[out]` |
//! | [`Identity`](crate::layers::Identity) | `Identity` |
//! | [`Softmax`](crate::layers::Softmax) | `Softmax(axis=1)` |
//! | [`Relu`](crate::layers::Relu), [`Sigmoid`](crate::layers::Sigmoid), [`Tanh`](crate::layers::Tanh) | `Relu`, `Sigmoid`, `Tanh` |
//! | [`LeakyRelu`](crate::layers::LeakyRelu) | `LeakyRelu(alpha=slope)` |
//! | [`Elu`](crate::layers::Elu) | `Elu(alpha)` |
//! | [`Gelu`](crate::layers::Gelu) | `x * (1 + Erf(x / sqrt 2)) * 0.5`: `Div`, `Erf`, `Add`, `Mul`, `Mul` |
//! | [`GeluTanh`](crate::layers::GeluTanh) | `0.5 * (x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3))))`: `Mul`, `Add`, `Tanh` |
//! | [`Dropout`](crate::layers::Dropout) | nothing (evaluation) |
//! | [`BatchNorm1d`](crate::layers::BatchNorm1d) | `BatchNormalization(input, weight, bias, running_mean, running_var, epsilon, momentum = 1 - ours)` |
//! | [`LayerNorm`](crate::layers::LayerNorm) | `LayerNormalization(input, weight, bias, axis=-1, epsilon)` |
//! | [`Conv2d`](crate::layers::Conv2d) | `Conv(input, weight [out, in / groups, kh, kw], bias [out] if any)`, `kernel_shape`, `strides`, `pads` (`Padding::Same` as its explicit pads), `dilations`, `group` |
//! | [`MaxPool2d`](crate::layers::MaxPool2d) | `MaxPool`, `kernel_shape`, `strides`, `pads`, `dilations` |
//! | [`AvgPool2d`](crate::layers::AvgPool2d) | `AveragePool`, `kernel_shape`, `strides`, `pads`, `count_include_pad` as the layer's (1 by default, as PyTorch's) |
//! | [`GlobalAvgPool2d`](crate::layers::GlobalAvgPool2d) | `GlobalAveragePool`, `Flatten(axis=1)` |
//! | [`BatchNorm2d`](crate::layers::BatchNorm2d) | `BatchNormalization` as `BatchNorm1d`'s, per channel of `[batch, C, H, W]` |
//! | [`Flatten`](crate::layers::Flatten) | `Flatten(axis=1)` after images, nothing after rows |
//!
//! Between layers a value is `[batch, C, H, W]` or `[batch, width]`: a `Flatten(axis=1)` goes
//! before a layer that works on rows when images reach it (a `Dense` after a `Flatten` sees what
//! it sees in PyTorch), a `Reshape` to `[-1, C, H, W]` before an image layer when rows reach it,
//! and element-wise layers take either (the details in `io/onnx/image_layers.rs`).
//!
//! A layer written outside the crate has no ONNX form: exporting a model with one is an
//! [`OnnxProblem::UnsupportedLayer`] error naming it. A new built-in layer gets its ONNX form
//! here, in `export_layer`, beside its [`LayerSpec`], and says in `image_layers::takes` whether
//! its operators take images, rows or either (the compiler asks for both: the `match`es over
//! the specs have no catch-all arm).
//!
//! # Opset 17
//! The file declares the default ONNX domain at opset 17 (ONNX 1.12, 2022; IR version 8), the
//! first with `LayerNormalization` and the default of `torch.onnx.export` in PyTorch 2.0 to
//! 2.4. Every runtime in use reads it: onnxruntime from 1.12, tract, onnxruntime-web. ONNX's
//! own `Gelu` operator came only with opset 20 (ONNX 1.15, 2023), which tract and older
//! onnxruntime releases do not run; below it, the two GELUs are written with primitive
//! operators exactly as `torch.onnx.export` writes `nn.GELU()` and
//! `nn.GELU(approximate='tanh')` for opsets before 20 (see the table), which costs a few
//! element-wise nodes and keeps every runtime able to run the file.
//!
//! # Nothing lost
//! The model is checked and encoded in memory first (NaN or infinite weights, a layer without
//! an ONNX form, more than protobuf's 2 GiB are errors, and nothing is written); the file is
//! then replaced atomically, as [`save`](Sequential::save) replaces a checkpoint: a crash or a
//! full disk leaves the previous file or the new one, never a mix.
//!
//! [ONNX]: https://onnx.ai/onnx/intro/concepts.html

mod graph;
mod image_layers;
mod proto;

use crate::error::OnnxProblem;
use crate::io::atomic_write::write_atomically;
use crate::layers::{Layer, LayerSpec, Shape};
use crate::model::Sequential;
use crate::{Error, Result};
use graph::{float, int, value_info, vector, Graph, Value};
use ndarray::ArrayView2;
use prost::Message;
use proto::{GraphProto, ModelProto, OperatorSetIdProto};
use std::path::Path;

/// The version of the default ONNX operator set the exported files use.
pub const OPSET_VERSION: i64 = 17;

/// The name of the graph's input, float32 `[batch, input_width]`, or `[batch, C, H, W]` for a
/// model built for images.
pub const INPUT_NAME: &str = "input";

/// The name of the graph's output, float32 `[batch, output_width]`.
pub const OUTPUT_NAME: &str = "output";

pub use graph::BATCH_DIMENSION;

/// Protobuf's limit on the size of one message, which an ONNX file is.
const MAX_PROTOBUF_BYTES: usize = i32::MAX as usize;

impl Sequential {
    /// Exports the model to `path` as an ONNX file (opset [`OPSET_VERSION`]), whose graph
    /// computes what [`predict`](Sequential::predict) computes: input
    /// [`"input"`](INPUT_NAME), float32 `[batch, input_width]` with a symbolic batch size,
    /// output [`"output"`](OUTPUT_NAME), float32 `[batch, output_width]`, the weights as
    /// initializers (see the [module documentation](self) for each layer's operators). The
    /// file is replaced atomically: on any error the previous file at `path`, if any, is left
    /// as it was.
    ///
    /// # Errors
    /// [`Error::OnnxExport`] with [`OnnxProblem::UnsupportedLayer`] naming the first layer
    /// written outside the crate, [`OnnxProblem::NonFinite`] naming the tensors that hold NaN
    /// or infinities, or [`OnnxProblem::TooLarge`] beyond 2 GiB; [`Error::Io`] when the file
    /// cannot be written.
    pub fn save_onnx(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = self.to_onnx()?;
        write_atomically(path.as_ref(), &bytes)
    }

    /// The bytes of the ONNX file that [`save_onnx`](Sequential::save_onnx) writes, for a
    /// runtime that takes a model from memory (onnxruntime's `InferenceSession(bytes)`, tract's
    /// `model_for_read`).
    ///
    /// # Errors
    /// As [`save_onnx`](Sequential::save_onnx), without the I/O errors.
    pub fn to_onnx(&self) -> Result<Vec<u8>> {
        let mut graph = Graph::default();
        let mut value = Value {
            name: INPUT_NAME.to_string(),
            image: self.input_shape().is_image(),
        };
        // `shapes[index]` is the shape layer `index` takes.
        let shapes =
            std::iter::once(self.input_shape()).chain(self.output_shapes().iter().copied());
        for ((index, layer), shape) in self.layers.iter().enumerate().zip(shapes) {
            value = export_layer(&mut graph, index, layer.as_ref(), shape, value)
                .map_err(Error::OnnxExport)?;
        }
        // The output is `[batch, output_width]`, as predict's rows, even after an image layer.
        let value = image_layers::as_rows(&mut graph, None, value).name;
        if !graph.non_finite.is_empty() {
            return Err(Error::OnnxExport(OnnxProblem::NonFinite(graph.non_finite)));
        }
        // The last node writes the graph's output (when every layer was a dropout, an
        // `Identity` does).
        match graph.nodes.last_mut() {
            Some(last) if value != INPUT_NAME => last.output = vec![OUTPUT_NAME.to_string()],
            _ => {
                graph.node(None, "Identity", &[&value], Vec::new());
                if let Some(last) = graph.nodes.last_mut() {
                    last.output = vec![OUTPUT_NAME.to_string()];
                }
            }
        }
        let names: Vec<&str> = self.layers.iter().map(|l| l.name()).collect();
        let model = ModelProto {
            ir_version: Some(proto::IR_VERSION),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(OPSET_VERSION),
            }],
            producer_name: Some("feedforward".to_string()),
            producer_version: Some(env!("CARGO_PKG_VERSION").to_string()),
            doc_string: Some(format!(
                "A feedforward Sequential model ({}), in evaluation mode: dropout off, batch \
                 normalisation with its running statistics.",
                names.join(", ")
            )),
            graph: Some(GraphProto {
                node: graph.nodes,
                name: Some("feedforward".to_string()),
                initializer: graph.initializers,
                doc_string: None,
                input: vec![value_info(INPUT_NAME, &input_dims(self.input_shape()))],
                output: vec![value_info(OUTPUT_NAME, &[self.output_width()])],
            }),
        };
        let bytes = model.encoded_len();
        if bytes > MAX_PROTOBUF_BYTES {
            return Err(Error::OnnxExport(OnnxProblem::TooLarge { bytes }));
        }
        Ok(model.encode_to_vec())
    }
}

/// Adds the nodes and initializers of layer `index`, which reads the value `input` holding
/// samples of `shape`; returns the layer's output. An image value goes through `Flatten` before
/// a layer that works on rows, and a row back through `Reshape` before an image layer (see
/// `image_layers.rs`).
fn export_layer(
    graph: &mut Graph,
    index: usize,
    layer: &dyn Layer,
    shape: Shape,
    input: Value,
) -> std::result::Result<Value, OnnxProblem> {
    let unsupported = |reason: &str| OnnxProblem::UnsupportedLayer {
        index,
        layer: layer.name().to_string(),
        reason: reason.to_string(),
    };
    let missing = |name: &str| unsupported(&format!("it has no tensor named {name}"));
    let spec = layer.spec().ok_or_else(|| {
        unsupported(
            "it is not one of the crate's layers, and only those say which ONNX operators \
             compute them",
        )
    })?;
    let input = match image_layers::takes(&spec) {
        image_layers::Takes::Images => image_layers::as_images(graph, index, input, shape)
            .ok_or_else(|| unsupported(&format!("it takes images, and was built for {shape}")))?,
        image_layers::Takes::Rows => image_layers::as_rows(graph, Some(index), input),
        image_layers::Takes::Either => input,
    };
    let image = input.image;
    let input = input.name;
    let x = input.as_str();
    let node = Some(index);
    let simple = |graph: &mut Graph, op: &str, attribute| graph.node(node, op, &[x], attribute);
    let name = match spec {
        LayerSpec::Dense { .. } => {
            let weight = tensor(layer, "weight", false).ok_or_else(|| missing("weight"))?;
            let bias = tensor(layer, "bias", false).ok_or_else(|| missing("bias"))?;
            // W is (in, out); Gemm with transB = 1 takes W^T, [out, in], as nn.Linear keeps it.
            let w = graph.initializer(
                format!("{index}.weight"),
                &[weight.ncols(), weight.nrows()],
                weight.t().iter().copied(),
            );
            let b = vector(graph, index, "bias", bias);
            graph.node(node, "Gemm", &[x, &w, &b], vec![int("transB", 1)])
        }
        LayerSpec::Identity => simple(graph, "Identity", Vec::new()),
        LayerSpec::Softmax => simple(graph, "Softmax", vec![int("axis", 1)]),
        LayerSpec::Relu => simple(graph, "Relu", Vec::new()),
        LayerSpec::Sigmoid => simple(graph, "Sigmoid", Vec::new()),
        LayerSpec::Tanh => simple(graph, "Tanh", Vec::new()),
        LayerSpec::LeakyRelu { slope } => simple(graph, "LeakyRelu", vec![float("alpha", slope)]),
        LayerSpec::Elu { alpha } => simple(graph, "Elu", vec![float("alpha", alpha)]),
        LayerSpec::Gelu => {
            // torch.onnx's opset-9 GELU: x * (1 + erf(x / sqrt 2)) * 0.5
            let sqrt_2 = graph.scalar(std::f32::consts::SQRT_2);
            let (one, half) = (graph.scalar(1.0), graph.scalar(0.5));
            let scaled = graph.node(node, "Div", &[x, &sqrt_2], Vec::new());
            let erf = graph.node(node, "Erf", &[&scaled], Vec::new());
            let phi2 = graph.node(node, "Add", &[&erf, &one], Vec::new());
            let x_phi2 = graph.node(node, "Mul", &[x, &phi2], Vec::new());
            graph.node(node, "Mul", &[&x_phi2, &half], Vec::new())
        }
        LayerSpec::GeluTanh => {
            // torch.onnx's opset-9 GELU(approximate='tanh'):
            // 0.5 * (x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))))
            let beta = graph.scalar((2.0 / std::f32::consts::PI).sqrt());
            let kappa = graph.scalar(0.044_715);
            let (one, half) = (graph.scalar(1.0), graph.scalar(0.5));
            let square = graph.node(node, "Mul", &[x, x], Vec::new());
            let cube = graph.node(node, "Mul", &[x, &square], Vec::new());
            let kappa_cube = graph.node(node, "Mul", &[&kappa, &cube], Vec::new());
            let sum = graph.node(node, "Add", &[x, &kappa_cube], Vec::new());
            let inner = graph.node(node, "Mul", &[&beta, &sum], Vec::new());
            let tanh = graph.node(node, "Tanh", &[&inner], Vec::new());
            let one_plus = graph.node(node, "Add", &[&one, &tanh], Vec::new());
            let product = graph.node(node, "Mul", &[x, &one_plus], Vec::new());
            graph.node(node, "Mul", &[&half, &product], Vec::new())
        }
        // Evaluation mode: the identity, and no node at all (as torch.onnx exports nn.Dropout
        // of a model in eval mode).
        LayerSpec::Dropout { .. } => input,
        // An image was flattened by `as_rows` above (`Flatten(axis=1)`: PyTorch's order, the
        // order of our rows); rows stay as they are.
        LayerSpec::Flatten => input,
        LayerSpec::BatchNorm1d { momentum, eps, .. }
        | LayerSpec::BatchNorm2d { momentum, eps, .. } => {
            let mut inputs = vec![input.clone()];
            for (name, buffer) in [
                ("weight", false),
                ("bias", false),
                ("running_mean", true),
                ("running_var", true),
            ] {
                let value = tensor(layer, name, buffer).ok_or_else(|| missing(name))?;
                inputs.push(vector(graph, index, name, value));
            }
            let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            // ONNX's momentum weighs the previous running value (PyTorch's, like ours, the new
            // batch); it only matters to a runtime that trains, and torch.onnx writes 1 - ours.
            // On `[batch, C, H, W]` the statistics are per channel, as BatchNorm2d's.
            let attributes = vec![float("epsilon", eps), float("momentum", 1.0 - momentum)];
            graph.node(node, "BatchNormalization", &inputs, attributes)
        }
        // Keras' Normalization: y = (x - mean) / std, std = max(sqrt(variance), 1e-7) per
        // feature (computed here as the layer computes it), or mean + x * std when inverted.
        LayerSpec::Normalization { invert, .. } => {
            let mean = tensor(layer, "mean", true).ok_or_else(|| missing("mean"))?;
            let variance = tensor(layer, "variance", true).ok_or_else(|| missing("variance"))?;
            let std = variance.mapv(|v| v.sqrt().max(crate::layers::Normalization::EPSILON));
            let mean = vector(graph, index, "mean", mean);
            let std = vector(graph, index, "std", std.view());
            if invert {
                let scaled = graph.node(node, "Mul", &[x, &std], Vec::new());
                graph.node(node, "Add", &[&mean, &scaled], Vec::new())
            } else {
                let centred = graph.node(node, "Sub", &[x, &mean], Vec::new());
                graph.node(node, "Div", &[&centred, &std], Vec::new())
            }
        }
        LayerSpec::Conv2d(config) => {
            let weight = tensor(layer, "weight", false).ok_or_else(|| missing("weight"))?;
            let bias = match config.bias {
                true => Some(tensor(layer, "bias", false).ok_or_else(|| missing("bias"))?),
                false => None,
            };
            image_layers::conv(graph, index, &config, weight, bias, x)
        }
        LayerSpec::MaxPool2d(config) => image_layers::max_pool(graph, index, &config, x),
        LayerSpec::AvgPool2d {
            config,
            count_include_pad,
        } => image_layers::average_pool(graph, index, &config, count_include_pad, x),
        LayerSpec::GlobalAvgPool2d => {
            let pooled = simple(graph, "GlobalAveragePool", Vec::new());
            let pooled = Value {
                name: pooled,
                image: true,
            };
            // [batch, C, 1, 1] -> [batch, C], the layer's flat row.
            return Ok(image_layers::as_rows(graph, Some(index), pooled));
        }
        LayerSpec::Custom { .. } => {
            return Err(unsupported(
                "it is a layer written outside the crate (registered by name for load_with), \
                 and only the crate's own layers say which ONNX operators compute them",
            ))
        }
        LayerSpec::LayerNorm { eps, .. } => {
            let weight = tensor(layer, "weight", false).ok_or_else(|| missing("weight"))?;
            let bias = tensor(layer, "bias", false).ok_or_else(|| missing("bias"))?;
            let scale = vector(graph, index, "weight", weight);
            let shift = vector(graph, index, "bias", bias);
            let attributes = vec![int("axis", -1), float("epsilon", eps)];
            graph.node(node, "LayerNormalization", &[x, &scale, &shift], attributes)
        }
    };
    Ok(Value { name, image })
}

/// The parameter (or, with `buffer`, the buffer) `name` of `layer`.
fn tensor<'a>(layer: &'a dyn Layer, name: &str, buffer: bool) -> Option<ArrayView2<'a, f32>> {
    let tensors = if buffer {
        layer.buffers()
    } else {
        layer.parameters()
    };
    tensors
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The dimensions after the batch of a graph input of samples of `shape`: `[width]`, or
/// `[C, H, W]` for images.
fn input_dims(shape: Shape) -> Vec<usize> {
    match shape.chw() {
        Some((c, h, w)) => vec![c, h, w],
        None => vec![shape.size()],
    }
}

#[cfg(test)]
mod tests {
    use super::proto::{AttributeProto, DimensionValue, NodeProto, TensorProto};
    use super::*;
    use crate::layers::{
        BatchNorm1d, Dense, Dropout, Gelu, GeluTanh, Identity, LayerNorm, LeakyRelu, Relu, Softmax,
    };
    use ndarray::array;
    use std::collections::BTreeSet;

    fn decode(model: &Sequential) -> ModelProto {
        ModelProto::decode(model.to_onnx().unwrap().as_slice()).unwrap()
    }

    fn floats(tensor: &TensorProto) -> Vec<f32> {
        tensor
            .raw_data
            .as_deref()
            .unwrap_or_default()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }

    fn attribute<'a>(node: &'a NodeProto, name: &str) -> &'a AttributeProto {
        node.attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{:?} has no attribute {name}", node.name))
    }

    #[test]
    fn the_file_declares_opset_input_output_and_dense_weights_as_gemm_reads_them() {
        // W (in = 3, out = 2); Gemm(transB = 1) takes W^T, [2, 3], as nn.Linear's weight.
        let dense = Dense::from_parameters(
            array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
            array![[0.5, -0.5]],
        )
        .unwrap();
        let model = Sequential::builder(3)
            .push(dense)
            .push(Relu)
            .build()
            .unwrap();
        let file = decode(&model);
        assert_eq!(file.ir_version, Some(8));
        assert_eq!(
            file.opset_import,
            [OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(17)
            }]
        );
        assert_eq!(file.producer_name.as_deref(), Some("feedforward"));
        let graph = file.graph.unwrap();
        assert_eq!(graph.input, [value_info("input", &[3])]);
        assert_eq!(graph.output, [value_info("output", &[2])]);
        let shape = graph.input[0].r#type.as_ref().unwrap();
        let dims = &shape
            .tensor_type
            .as_ref()
            .unwrap()
            .shape
            .as_ref()
            .unwrap()
            .dim;
        assert_eq!(
            dims[0].value,
            Some(DimensionValue::DimParam("batch".to_string()))
        );
        assert_eq!(dims[1].value, Some(DimensionValue::DimValue(3)));

        let weight = &graph.initializer[0];
        assert_eq!(weight.name.as_deref(), Some("0.weight"));
        assert_eq!(weight.dims, [2, 3]);
        assert_eq!(weight.data_type, Some(proto::FLOAT));
        assert_eq!(floats(weight), [1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        let bias = &graph.initializer[1];
        assert_eq!(
            (bias.name.as_deref(), bias.dims.as_slice()),
            (Some("0.bias"), &[2][..])
        );
        assert_eq!(floats(bias), [0.5, -0.5]);

        let ops: Vec<(&str, &str)> = graph
            .node
            .iter()
            .map(|n| (n.name.as_deref().unwrap(), n.op_type.as_deref().unwrap()))
            .collect();
        assert_eq!(ops, [("/0/Gemm", "Gemm"), ("/1/Relu", "Relu")]);
        assert_eq!(graph.node[0].input, ["input", "0.weight", "0.bias"]);
        assert_eq!(attribute(&graph.node[0], "transB").i, Some(1));
        assert_eq!(graph.node[1].input, graph.node[0].output);
        assert_eq!(graph.node[1].output, ["output"]);
    }

    #[test]
    fn every_node_reads_values_defined_before_it_and_names_are_unique() {
        let mut rng = crate::random::RandomState::new(0);
        let model = Sequential::builder(4)
            .push(Dense::new(4, 5, crate::init::Init::HeNormal, &mut rng).unwrap())
            .push(BatchNorm1d::new(5).unwrap())
            .push(Gelu)
            .push(Dropout::new(0.5, 0).unwrap())
            .push(GeluTanh)
            .push(LayerNorm::new(5).unwrap())
            .push(Gelu)
            .push(Identity)
            .push(Softmax)
            .push(Dropout::new(0.1, 1).unwrap())
            .build()
            .unwrap();
        let graph = decode(&model).graph.unwrap();
        let mut defined: BTreeSet<String> = graph
            .initializer
            .iter()
            .map(|t| t.name.clone().unwrap())
            .collect();
        assert_eq!(defined.len(), graph.initializer.len(), "initializer names");
        defined.insert("input".to_string());
        let mut names = BTreeSet::new();
        for node in &graph.node {
            for input in &node.input {
                assert!(defined.contains(input), "{:?} reads {input}", node.name);
            }
            assert!(names.insert(node.name.clone().unwrap()), "{:?}", node.name);
            for output in &node.output {
                assert!(defined.insert(output.clone()), "{output} written twice");
            }
        }
        assert!(defined.contains("output"));
        // The GELUs share their constants; the second one's nodes are named after its layer.
        assert_eq!(
            graph
                .initializer
                .iter()
                .filter(|t| t.name.as_deref() == Some("const_0.5"))
                .count(),
            1
        );
        assert!(names.contains("/6/Erf") && names.contains("/4/Mul_4"));
        assert!(!names
            .iter()
            .any(|n| n.starts_with("/3/") || n.starts_with("/9/")));
    }

    #[test]
    fn normalization_exports_its_mean_and_floored_std() {
        // Keras: y = (x - mean) / max(sqrt(variance), 1e-7); variance 0 gives the floor.
        let layer = crate::layers::Normalization::with_stats(
            array![[1.0, -2.0]].view(),
            array![[4.0, 0.0]].view(),
        )
        .unwrap();
        let model = Sequential::builder(2).push(layer).build().unwrap();
        let graph = decode(&model).graph.unwrap();
        let ops: Vec<&str> = graph
            .node
            .iter()
            .map(|n| n.op_type.as_deref().unwrap())
            .collect();
        assert_eq!(ops, ["Sub", "Div"]);
        let by_name = |name: &str| {
            floats(
                graph
                    .initializer
                    .iter()
                    .find(|t| t.name.as_deref() == Some(name))
                    .unwrap(),
            )
        };
        assert_eq!(by_name("0.mean"), [1.0, -2.0]);
        assert_eq!(by_name("0.std"), [2.0, 1e-7]);
        assert_eq!(graph.node[0].input, ["input", "0.mean"]);
        assert_eq!(graph.node[1].input[1], "0.std");
        assert_eq!(graph.node[1].output, ["output"]);

        let inverted = crate::layers::Normalization::with_stats(
            array![[1.0, -2.0]].view(),
            array![[4.0, 0.0]].view(),
        )
        .unwrap()
        .inverted();
        let model = Sequential::builder(2).push(inverted).build().unwrap();
        let graph = decode(&model).graph.unwrap();
        let ops: Vec<&str> = graph
            .node
            .iter()
            .map(|n| n.op_type.as_deref().unwrap())
            .collect();
        assert_eq!(ops, ["Mul", "Add"]);
    }

    #[test]
    fn settings_equal_to_zero_are_still_written() {
        // onnx.checker wants exactly one value field in an attribute, even for 0.
        let model = Sequential::builder(2)
            .push(LeakyRelu::new(0.0).unwrap())
            .build()
            .unwrap();
        let graph = decode(&model).graph.unwrap();
        let alpha = attribute(&graph.node[0], "alpha");
        assert_eq!((alpha.f, alpha.i, alpha.r#type), (Some(0.0), None, Some(1)));
    }

    #[test]
    fn batch_norm_momentum_is_written_as_onnx_defines_it() {
        let bn = BatchNorm1d::new(3)
            .unwrap()
            .with_momentum(0.25)
            .unwrap()
            .with_eps(1e-3)
            .unwrap();
        let model = Sequential::builder(3).push(bn).build().unwrap();
        let graph = decode(&model).graph.unwrap();
        let node = &graph.node[0];
        assert_eq!(
            node.input,
            [
                "input",
                "0.weight",
                "0.bias",
                "0.running_mean",
                "0.running_var"
            ]
        );
        assert_eq!(attribute(node, "momentum").f, Some(0.75));
        assert_eq!(attribute(node, "epsilon").f, Some(1e-3));
        let var = graph
            .initializer
            .iter()
            .find(|t| t.name.as_deref() == Some("0.running_var"))
            .unwrap();
        assert_eq!((var.dims.as_slice(), floats(var)), (&[3][..], vec![1.0; 3]));
    }

    #[test]
    fn a_model_of_dropouts_only_is_an_identity() {
        let model = Sequential::builder(7)
            .push(Dropout::new(0.5, 0).unwrap())
            .build()
            .unwrap();
        let graph = decode(&model).graph.unwrap();
        assert_eq!(graph.node.len(), 1);
        assert_eq!(graph.node[0].op_type.as_deref(), Some("Identity"));
        assert_eq!(
            (
                graph.node[0].input.as_slice(),
                graph.node[0].output.as_slice()
            ),
            (&["input".to_string()][..], &["output".to_string()][..])
        );
    }
}
