//! The graph an export builds: its nodes, named as `torch.onnx.export` names them, its
//! initializers (the weights, checked for NaN and infinities), the attributes of its nodes,
//! and the description of its input and output. The layers' nodes are written by `onnx.rs`
//! and `image_layers.rs` through it.

use super::proto::{
    self, attribute_type, AttributeProto, Dimension, DimensionValue, NodeProto, TensorProto,
    TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};
use ndarray::ArrayView2;
use std::collections::BTreeSet;

/// The name of the symbolic first dimension of the input and the output (the number of rows).
pub const BATCH_DIMENSION: &str = "batch";

/// A value of the graph: its name, and whether it holds `[batch, C, H, W]` images (else
/// `[batch, width]` rows).
#[derive(Clone, Debug)]
pub(super) struct Value {
    pub(super) name: String,
    pub(super) image: bool,
}

/// The graph being built: nodes in order, initializers, and the names already taken.
#[derive(Default)]
pub(super) struct Graph {
    pub(super) nodes: Vec<NodeProto>,
    pub(super) initializers: Vec<TensorProto>,
    /// Node names (their outputs take the same name plus `_output_0`).
    names: BTreeSet<String>,
    /// Initializers that hold NaN or infinite values.
    pub(super) non_finite: Vec<String>,
}

impl Graph {
    /// Appends the node `op(inputs)` of layer `index` (`None`: of the graph itself) and returns
    /// the name of its output. Nodes are named as `torch.onnx.export` names them, `/0/Gemm`, with
    /// `_1`, `_2`, ... for a layer's second, third, ... node of the same operator.
    pub(super) fn node(
        &mut self,
        index: Option<usize>,
        op: &str,
        inputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) -> String {
        let base = match index {
            Some(index) => format!("/{index}/{op}"),
            None => format!("/{op}"),
        };
        let mut name = base.clone();
        for k in 1.. {
            if !self.names.contains(&name) {
                break;
            }
            name = format!("{base}_{k}");
        }
        self.names.insert(name.clone());
        let output = format!("{name}_output_0");
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.clone()],
            name: Some(name),
            op_type: Some(op.to_string()),
            attribute,
        });
        output
    }

    /// Adds the float32 initializer `name` of shape `dims` holding `values` (row-major), and
    /// returns its name.
    pub(super) fn initializer(
        &mut self,
        name: String,
        dims: &[usize],
        values: impl Iterator<Item = f32>,
    ) -> String {
        let mut raw = Vec::with_capacity(dims.iter().product::<usize>() * 4);
        let mut finite = true;
        for v in values {
            finite &= v.is_finite();
            raw.extend_from_slice(&v.to_le_bytes());
        }
        if !finite {
            self.non_finite.push(name.clone());
        }
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(proto::FLOAT),
            name: Some(name.clone()),
            raw_data: Some(raw),
        });
        name
    }

    /// Adds the int64 initializer `name` of shape `[values.len()]`, and returns its name.
    pub(super) fn int64s(&mut self, name: String, values: &[i64]) -> String {
        self.initializers.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: Some(proto::INT64),
            name: Some(name.clone()),
            raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        });
        name
    }

    /// A float32 scalar constant (an initializer of shape `[]`), shared by every node that
    /// uses the same value.
    pub(super) fn scalar(&mut self, value: f32) -> String {
        let name = format!("const_{value:?}");
        if !self
            .initializers
            .iter()
            .any(|t| t.name.as_deref() == Some(name.as_str()))
        {
            self.initializer(name.clone(), &[], std::iter::once(value));
        }
        name
    }
}

/// Adds the `(1, n)` row `value` of layer `index` as the 1-D initializer `"{index}.{name}"`,
/// `[n]`.
pub(super) fn vector(
    graph: &mut Graph,
    index: usize,
    name: &str,
    value: ArrayView2<'_, f32>,
) -> String {
    graph.initializer(
        format!("{index}.{name}"),
        &[value.len()],
        value.iter().copied(),
    )
}

/// An integer attribute.
pub(super) fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        f: None,
        i: Some(value),
        ints: Vec::new(),
        r#type: Some(attribute_type::INT),
    }
}

/// A list-of-integers attribute.
pub(super) fn ints(name: &str, values: &[usize]) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        f: None,
        i: None,
        ints: values.iter().map(|&v| v as i64).collect(),
        r#type: Some(attribute_type::INTS),
    }
}

/// A float attribute.
pub(super) fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        f: Some(value),
        i: None,
        ints: Vec::new(),
        r#type: Some(attribute_type::FLOAT),
    }
}

/// A float32 `[batch, dims...]` graph input or output.
pub(super) fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    let dimension = |value| Dimension { value: Some(value) };
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: Some(proto::FLOAT),
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(DimensionValue::DimParam(BATCH_DIMENSION.to_string()))
                        .chain(dims.iter().map(|&d| DimensionValue::DimValue(d as i64)))
                        .map(dimension)
                        .collect(),
                }),
            }),
        }),
    }
}
