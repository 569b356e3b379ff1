#!/usr/bin/env python3
"""Checks an ONNX export of a feedforward model with ONNX's own checker and with onnxruntime.

1. `onnx.checker.check_model(full_check=True)`: the file follows the ONNX specification (and
   ONNX's shape inference goes through it);
2. onnxruntime runs it on the 10,000 images of MNIST's test file (pixels / 255, float32, all in
   one batch) and the script prints the accuracy;
3. with `--probabilities FILE`, written by our predict example from the same model's
   safetensors checkpoint, it prints the largest difference between onnxruntime's
   probabilities and ours, and fails when it exceeds `--tolerance` (1e-5).

    python3 -m venv /tmp/venv-onnx && /tmp/venv-onnx/bin/pip install onnx onnxruntime numpy
    cargo run --release --example mlp -- --save mlp.safetensors --onnx mlp.onnx
    cargo run --release --example predict -- --model mlp.safetensors \\
        --evaluate data/mnist --probabilities mlp-probabilities.csv
    /tmp/venv-onnx/bin/python scripts/check_onnx.py mlp.onnx --mnist data/mnist \\
        --probabilities mlp-probabilities.csv

A convolutional model (the `cnn` example's LeNet-5) is checked the same way; its graph takes
`[batch, 1, 28, 28]` images, and the script reshapes the pixels to the input the graph declares:

    cargo run --release --example cnn -- --save cnn.safetensors --onnx cnn.onnx
    cargo run --release --example predict -- --model cnn.safetensors \\
        --evaluate data/mnist --probabilities cnn-probabilities.csv
    /tmp/venv-onnx/bin/python scripts/check_onnx.py cnn.onnx --mnist data/mnist \\
        --probabilities cnn-probabilities.csv

4. with `--reference FILE.json` instead of MNIST: runs the model on the file's `inputs` (rows
   of our batches) and compares with its `outputs` (our `predict`). tests/onnx.rs writes such a
   pair for two models of every image layer between them, including a setting tract cannot
   check (a dilated max pooling):

    cargo test --test onnx
    for m in onnx_image_layers onnx_every_image_layer; do
        /tmp/venv-onnx/bin/python scripts/check_onnx.py target/tmp/$m.onnx \\
            --reference target/tmp/$m.json
    done

When the graph does not end with a Softmax, a softmax is applied to its outputs, as the
predict example does. Exit status: 0 when every check passes, 1 otherwise.
"""

import argparse
import gzip
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (raw or .gz) of unsigned bytes, as an array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def find(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{name}(.gz) is not in {folder}")


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main() -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path, help="the .onnx file (Sequential::save_onnx)")
    parser.add_argument(
        "--mnist",
        type=Path,
        default=Path(os.environ.get("MNIST_DIR", here.parent / "data/mnist")),
        help="folder with t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, raw or .gz "
        "(default: $MNIST_DIR, else the repository's data/mnist)",
    )
    parser.add_argument(
        "--probabilities",
        type=Path,
        help="our probabilities for the same images (the predict example's --probabilities)",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        help="JSON with 'inputs' and our 'outputs' (rows) to compare with, instead of MNIST",
    )
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()

    model = onnx.load(str(args.model))
    onnx.checker.check_model(model, full_check=True)
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    graph = model.graph

    def shape(value):
        dims = value.type.tensor_type.shape.dim
        return "[" + ", ".join(d.dim_param or str(d.dim_value) for d in dims) + "]"

    print(f"onnx {onnx.__version__}: checker passed (IR version {model.ir_version}, opset {opsets})")
    print(
        f"graph: {len(graph.node)} nodes ({', '.join(n.op_type for n in graph.node)}), "
        f"input {graph.input[0].name} {shape(graph.input[0])}, "
        f"output {graph.output[0].name} {shape(graph.output[0])}"
    )

    session = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
    declared = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim[1:]]

    if args.reference is not None:
        with open(args.reference) as f:
            reference = json.load(f)
        rows = np.asarray(reference["inputs"], dtype=np.float32)
        expected = np.asarray(reference["outputs"], dtype=np.float32)
        (output,) = session.run(["output"], {"input": rows.reshape(len(rows), *declared)})
        difference = float(np.abs(output - expected).max()) if output.shape == expected.shape else np.inf
        print(
            f"onnxruntime {ort.__version__}: {len(rows)} rows, output {output.shape}; largest "
            f"difference from our predict: {difference:.3e}"
        )
        if not difference <= args.tolerance:
            print(f"FAIL: above the tolerance {args.tolerance:g}")
            return 1
        return 0

    images = read_idx(find(args.mnist, "t10k-images-idx3-ubyte"))
    labels = read_idx(find(args.mnist, "t10k-labels-idx1-ubyte"))
    x = (images.reshape(len(images), -1) / np.float32(255)).astype(np.float32)
    # [batch, width] rows, or [batch, C, H, W] images (a model built for images): each row
    # holds its image in that order, so a reshape is all it takes.
    if int(np.prod(declared)) != x.shape[1]:
        print(f"FAIL: the graph takes {shape(graph.input[0])}, the images have {x.shape[1]} pixels")
        return 1
    x = x.reshape(len(x), *declared)

    (output,) = session.run(["output"], {"input": x})
    if graph.node[-1].op_type != "Softmax":
        output = softmax(output)
    accuracy = float((output.argmax(axis=1) == labels).mean())
    print(
        f"onnxruntime {ort.__version__}: {len(x)} MNIST test images in one batch, "
        f"accuracy {accuracy:.4f}"
    )

    ok = True
    if args.probabilities is not None:
        ours = np.loadtxt(args.probabilities, delimiter=",", dtype=np.float32, ndmin=2)
        if ours.shape != output.shape:
            print(f"FAIL: {args.probabilities} is {ours.shape}, onnxruntime gave {output.shape}")
            return 1
        difference = np.abs(ours - output)
        worst = np.unravel_index(difference.argmax(), difference.shape)
        same_class = int((ours.argmax(axis=1) == output.argmax(axis=1)).sum())
        print(
            f"largest difference from our probabilities: {difference.max():.3e} "
            f"(image {worst[0]}, class {worst[1]}); mean {difference.mean():.3e}; "
            f"same predicted class for {same_class} of {len(x)} images"
        )
        if not difference.max() <= args.tolerance:
            print(f"FAIL: above the tolerance {args.tolerance:g}")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
