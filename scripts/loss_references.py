#!/usr/bin/env python3
"""Reference values for the losses and metrics tests of feedforward (src/losses/*, src/metrics/*).

Each loss is computed from PyTorch's documented definition (torch.nn.MSELoss, L1Loss, HuberLoss,
CrossEntropyLoss(label_smoothing), BCELoss, BCEWithLogitsLoss(pos_weight); reduction 'mean'),
written out in numpy float64 so that the script needs no torch; the regression metrics come from
scikit-learn itself.

    python3 -m venv /tmp/venv-refs && /tmp/venv-refs/bin/pip install numpy scikit-learn
    /tmp/venv-refs/bin/python scripts/loss_references.py
"""
import numpy as np
from sklearn import metrics

np.set_printoptions(precision=9, floatmode="maxprec")


def show(name, value):
    print(f"{name} = {np.array2string(np.asarray(value, dtype=np.float64).ravel(), separator=', ', precision=9)}")


# --- regression losses: y, t of src/losses/{mse,mae,huber}.rs
y = np.array([[0.5, -1.0, 2.0], [3.0, 0.25, -0.75]])
t = np.array([[1.0, -1.5, 2.0], [1.0, 0.0, 0.5]])
n = y.size
d = y - t
show("MSELoss", np.mean(d**2))                        # torch: mean((y - t)^2)
show("MSELoss grad", 2 * d / n)
show("L1Loss", np.mean(np.abs(d)))                    # torch: mean(|y - t|)
show("L1Loss grad", np.sign(d) / n)                   # torch.sign(0) = 0
delta = 0.8
huber = np.where(np.abs(d) <= delta, 0.5 * d**2, delta * (np.abs(d) - 0.5 * delta))
show("HuberLoss(delta=0.8)", huber.mean())            # torch: 0.5 d^2 if |d| <= delta else delta (|d| - delta/2)
show("HuberLoss grad", np.clip(d, -delta, delta) / n)

# --- CrossEntropyLoss(label_smoothing=0.1) on logits, class targets [1, 2]
z = np.array([[2.0, 1.0, 0.1], [0.5, -0.5, 3.0]])
onehot = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
eps, classes, rows = 0.1, 3, 2
smoothed = onehot * (1 - eps) + eps / classes       # torch: (1 - eps) * nll + eps * mean(-log p)
lse = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) + z.max(1, keepdims=True)
logp = z - lse
p = np.exp(logp)
show("CrossEntropyLoss(label_smoothing=0.1)", -(smoothed * logp).sum() / rows)
show("CrossEntropyLoss grad", (p * smoothed.sum(1, keepdims=True) - smoothed) / rows)

# --- BCELoss / BCEWithLogitsLoss on logits z, multi-label targets t
z = np.array([[0.8, -1.2, 2.5], [-0.3, 0.1, -2.0]])
t = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.25]])
n = z.size
sig = 1 / (1 + np.exp(-z))
softplus = lambda x: np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
for name, w in [("", np.ones(3)), (" pos_weight=[2, 0.5, 3]", np.array([2.0, 0.5, 3.0]))]:
    # torch BCEWithLogitsLoss: mean(-(w t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))))
    loss = (w * t * softplus(-z) + (1 - t) * softplus(z)).mean()
    show("BCEWithLogitsLoss" + name, loss)
    show("BCEWithLogitsLoss grad" + name, (sig * (1 - t + w * t) - w * t) / n)
show("BCELoss(sigmoid(z))", -(t * np.log(sig) + (1 - t) * np.log(1 - sig)).mean())

# --- regression metrics: scikit-learn itself, multi-output
t = np.array([[0.5, 1], [-1, 1], [7, -6]])
y = np.array([[0, 2], [-1, 2], [8, -5]])
show("mean_squared_error", metrics.mean_squared_error(t, y))
show("root_mean_squared_error", metrics.root_mean_squared_error(t, y))
show("mean_absolute_error", metrics.mean_absolute_error(t, y))
show("r2_score", metrics.r2_score(t, y))
show("r2_score([3, -0.5, 2, 7], [2.5, 0, 2, 8])", metrics.r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]))
