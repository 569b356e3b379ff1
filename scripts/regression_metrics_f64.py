"""Regression metrics of errors that overflow float32, as scikit-learn computes them in float64.

The values are the float32 numbers the Rust test gives (-3e38 and 3e38 as f32), widened to
float64 before scikit-learn sees them. Checked in tests/non_finite.rs
(regression_metrics_of_huge_errors_are_finite_as_in_scikit_learn).

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy scikit-learn
    /tmp/venv/bin/python scripts/regression_metrics_f64.py
"""

import numpy as np
from sklearn.metrics import (
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    root_mean_squared_error,
)

y_true = np.array([[-3e38], [3e38]], dtype=np.float32).astype(np.float64)
y_pred = np.array([[3e38], [-3e38]], dtype=np.float32).astype(np.float64)
print("mse ", repr(mean_squared_error(y_true, y_pred)))
print("rmse", repr(root_mean_squared_error(y_true, y_pred)))
print("mae ", repr(mean_absolute_error(y_true, y_pred)))
print("r2  ", repr(r2_score(y_true, y_pred)))
