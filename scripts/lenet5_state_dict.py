#!/usr/bin/env python3
"""LeNet-5's state dict between PyTorch and feedforward, both ways (issue 23).

The model is the `cnn` example's LeNet-5 as a `torch.nn.Sequential`, whose module numbers are
the names in the state dict and in our files:

    0 Conv2d(1, 6, 5, padding=2)   1 ReLU   2 MaxPool2d(2)
    3 Conv2d(6, 16, 5)             4 ReLU   5 MaxPool2d(2)
    6 Flatten                      7 Linear(400, 120)   8 ReLU
    9 Linear(120, 84)              10 ReLU              11 Linear(84, 10)   12 Softmax(dim=1)

1. Without arguments: writes tests/fixtures/lenet5_pytorch.safetensors, PyTorch's own
   `state_dict()` of the model (default initialisation with seed 0, then 12 Adam steps on the
   fixture's images towards classes 0 to 4), saved with
   `safetensors.torch.save_file`; its metadata holds (as JSON, safetensors metadata being
   strings) 5 images of random pixels, more and more of them lit, (bytes, divided by 255 as the MNIST loaders do) and
   PyTorch's output for them. tests/pytorch_lenet5.rs loads the state dict into our LeNet-5
   (`Sequential::load_weights`) and must predict the same probabilities within 1e-5.
2. `--check DIR`: PyTorch loads the file our LeNet-5 saved (`Sequential::save`), with
   `load_state_dict(strict=True)` (same names, same shapes, nothing missing or left over), and
   must compute the output our `predict` gave for the same images within 1e-5. The test
   tests/pytorch_lenet5.rs writes both to cargo's target/tmp folder (the weights trained a few
   steps away from the fixture's, so that the check sees our values, not PyTorch's):

    python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install torch safetensors numpy
    /tmp/venv-torch/bin/python scripts/lenet5_state_dict.py            # rewrites the fixture
    cargo test --test pytorch_lenet5                                  # ours, from PyTorch's
    /tmp/venv-torch/bin/python scripts/lenet5_state_dict.py --check target/tmp

   (with CARGO_TARGET_DIR set, the folder is $CARGO_TARGET_DIR/tmp). Exit status 0 when the
   check passes, 1 otherwise.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests/fixtures/lenet5_pytorch.safetensors"
OURS = "lenet5_feedforward.safetensors"
OUR_OUTPUT = "lenet5_feedforward_output.json"
TOLERANCE = 1e-5


def lenet5() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
        nn.Softmax(dim=1),
    )


def forward(model: nn.Sequential, rows: np.ndarray) -> np.ndarray:
    """The model's output for rows of 784 values (our batches), as (N, 1, 28, 28) images."""
    x = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)).view(-1, 1, 28, 28)
    with torch.no_grad():
        return model.eval()(x).numpy()


def write_fixture() -> int:
    torch.manual_seed(0)
    model = lenet5()
    # Images of random pixels, each with its own share of black ones (MNIST's images are
    # mostly black), so that they differ from each other.
    rng = np.random.RandomState(23)
    lit = rng.rand(5, 784) < np.linspace(0.1, 0.9, 5)[:, None]
    pixels = rng.randint(0, 256, size=(5, 784)) * lit
    rows = pixels / np.float32(255)
    # A few Adam steps towards classes 0 to 4 move the weights from their initial values and
    # make the probabilities far from uniform, so that a misplaced weight shows in the output.
    x = torch.from_numpy(rows.astype(np.float32)).view(-1, 1, 28, 28)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(12):
        optimizer.zero_grad()
        logits = model[:-1].train()(x)  # the softmax's log, computed stably by the loss
        loss = nn.functional.cross_entropy(logits, torch.arange(5))
        loss.backward()
        optimizer.step()
    output = forward(model, rows)
    assert np.isfinite(output).all()
    metadata = {
        "pixels": json.dumps(pixels.tolist()),
        "expected_outputs": json.dumps(output.tolist()),
        "made_by": f"scripts/lenet5_state_dict.py (torch {torch.__version__})",
    }
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(FIXTURE), metadata=metadata)
    print(f"wrote {FIXTURE.relative_to(HERE.parent)}: {', '.join(state)}")
    print(f"PyTorch's outputs: {np.round(output, 4).tolist()}")
    return 0


def check(folder: Path) -> int:
    model = lenet5()
    state = load_file(str(folder / OURS))
    # strict: every name PyTorch expects, of its shape, and nothing else.
    model.load_state_dict(state, strict=True)
    with open(folder / OUR_OUTPUT) as f:
        ours = json.load(f)
    rows = np.asarray(ours["inputs"], dtype=np.float32)
    expected = np.asarray(ours["outputs"], dtype=np.float32)
    output = forward(model, rows)
    difference = float(np.abs(output - expected).max())
    print(
        f"torch {torch.__version__}: load_state_dict(strict=True) took {folder / OURS} "
        f"({len(state)} tensors); largest difference from our predict on {len(rows)} images: "
        f"{difference:.3e}"
    )
    if not difference <= TOLERANCE:
        print(f"FAIL: above the tolerance {TOLERANCE:g}")
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check",
        type=Path,
        metavar="DIR",
        help=f"folder holding {OURS} and {OUR_OUTPUT} (written by tests/pytorch_lenet5.rs)",
    )
    args = parser.parse_args()
    return check(args.check) if args.check is not None else write_fixture()


if __name__ == "__main__":
    sys.exit(main())
