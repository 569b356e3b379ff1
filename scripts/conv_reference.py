"""Reference values for the image layers (tests/conv.rs), computed by PyTorch on the CPU.

For each case: the layer's settings, an input x (N, C, H, W), the layer's parameters, a fixed
projection r like the output, and what PyTorch gives for y = layer(x) and the gradients of
L = sum(y * r) with respect to x and to the parameters (and, for BatchNorm2d in training mode,
the running statistics after the forward pass). Every tensor is float32, written flat in
row-major (PyTorch's) order.

    python3 -m venv /tmp/venv-23 && /tmp/venv-23/bin/pip install torch numpy
    /tmp/venv-23/bin/python scripts/conv_reference.py > tests/fixtures/conv_reference.json
"""

import json

import torch
import torch.nn as nn

torch.manual_seed(23)
torch.set_num_threads(1)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def case(name, layer, shape, settings, train=False, eval_stats=None):
    x = torch.randn(*shape, dtype=torch.float32, requires_grad=True)
    params = dict(layer.named_parameters())
    with torch.no_grad():
        for p in params.values():
            p.copy_(torch.randn_like(p) * 0.5)
        if eval_stats is not None:
            layer.running_mean.copy_(torch.randn(layer.running_mean.shape) * 0.3)
            layer.running_var.copy_(torch.rand(layer.running_var.shape) + 0.5)
    layer.train(train)
    before = {k: flat(v) for k, v in params.items()}
    buffers_before = {k: flat(v) for k, v in layer.named_buffers() if k != "num_batches_tracked"}
    y = layer(x)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    out = {
        "name": name,
        "settings": settings,
        "train": train,
        "input_shape": list(shape),
        "output_shape": list(y.shape),
        "x": flat(x),
        "r": flat(r),
        "y": flat(y),
        "dx": flat(x.grad),
        "parameters": {k: v for k, v in before.items()},
        "gradients": {k: flat(p.grad) for k, p in params.items()},
        "buffers_before": buffers_before,
        "buffers_after": {
            k: flat(v) for k, v in layer.named_buffers() if k != "num_batches_tracked"
        },
    }
    return out


def conv(name, shape, cin, cout, kernel, **kw):
    layer = nn.Conv2d(cin, cout, kernel, **kw)
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    pair = lambda v: list(v) if isinstance(v, tuple) else [v, v]
    padding = kw.get("padding", 0)
    settings = {
        "kind": "Conv2d",
        "in_channels": cin,
        "out_channels": cout,
        "kernel": list(k),
        "stride": pair(kw.get("stride", 1)),
        "padding": "same" if padding == "same" else pair(padding),
        "dilation": pair(kw.get("dilation", 1)),
        "groups": kw.get("groups", 1),
        "bias": kw.get("bias", True),
    }
    return case(name, layer, shape, settings)


def pool(name, shape, kind, kernel, stride=None, padding=0, dilation=1, count_include_pad=True):
    if kind == "MaxPool2d":
        layer = nn.MaxPool2d(kernel, stride=stride, padding=padding, dilation=dilation)
    else:
        layer = nn.AvgPool2d(kernel, stride=stride, padding=padding, count_include_pad=count_include_pad)
    pair = lambda v: list(v) if isinstance(v, tuple) else [v, v]
    settings = {
        "kind": kind,
        "kernel": pair(kernel),
        "stride": pair(kernel if stride is None else stride),
        "padding": pair(padding),
        "dilation": pair(dilation),
        "count_include_pad": count_include_pad,
    }
    return case(name, layer, shape, settings)


cases = [
    conv("conv 3x3", (2, 2, 5, 6), 2, 3, 3),
    conv("conv stride 2 padding 1, kernel 3x2", (2, 2, 7, 6), 2, 4, (3, 2), stride=2, padding=1),
    conv("conv same dilation 2", (2, 3, 6, 5), 3, 2, 3, padding="same", dilation=2),
    conv("conv same even kernel", (1, 1, 5, 6), 1, 2, (4, 2), padding="same"),
    conv("conv groups 2 no bias", (2, 4, 5, 5), 4, 6, 3, groups=2, bias=False, padding=(1, 0)),
    conv("conv depthwise", (2, 3, 4, 5), 3, 3, 3, groups=3, padding=1),
    conv("conv stride (2, 3) dilation (1, 2)", (3, 2, 8, 9), 2, 2, (2, 3), stride=(2, 3), dilation=(1, 2), padding=(0, 2)),
    conv("conv lenet first layer", (2, 1, 12, 12), 1, 6, 5, padding=2),
    pool("max 2", (2, 3, 6, 6), "MaxPool2d", 2),
    pool("max 3 stride 2 padding 1", (2, 2, 7, 6), "MaxPool2d", 3, stride=2, padding=1),
    pool("max 2 dilation 2 stride 1", (1, 2, 6, 5), "MaxPool2d", 2, stride=1, dilation=2),
    pool("avg 2", (2, 3, 6, 6), "AvgPool2d", 2),
    pool("avg 3 stride 2 padding 1", (2, 2, 7, 6), "AvgPool2d", 3, stride=2, padding=1),
    pool("avg 3 stride 2 padding 1 exclude pad", (2, 2, 7, 6), "AvgPool2d", 3, stride=2, padding=1, count_include_pad=False),
    case("global average", nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), (3, 4, 3, 5), {"kind": "GlobalAvgPool2d"}),
    case("batch norm 2d training", nn.BatchNorm2d(3), (4, 3, 3, 2), {"kind": "BatchNorm2d", "channels": 3}, train=True),
    case("batch norm 2d evaluation", nn.BatchNorm2d(3), (2, 3, 2, 4), {"kind": "BatchNorm2d", "channels": 3}, eval_stats=True),
]

print(json.dumps({"torch": torch.__version__, "cases": cases}))
