"""Writes the small .npy files of tests/npy.rs (tests/fixtures/npy/) with numpy's np.save.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy
    /tmp/venv/bin/python scripts/npy_fixtures.py

Features: x[i, j] = (3 i + j) / 8 - 1 for 6 rows and 3 columns (exact in binary, so that
float32 and float64 files hold the same values); labels: [0, 2, 1, 2, 0, 1].
"""
import os

import numpy as np

out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "npy")
os.makedirs(out, exist_ok=True)


def save(name, array):
    np.save(os.path.join(out, name), array)


i, j = np.meshgrid(np.arange(6), np.arange(3), indexing="ij")
x = (3 * i + j) / 8 - 1
labels = np.array([0, 2, 1, 2, 0, 1])

save("x_f32.npy", x.astype(np.float32))
save("x_f64_fortran.npy", np.asfortranarray(x))  # float64, Fortran order
save("x_images.npy", np.arange(24, dtype=np.float32).reshape(6, 1, 2, 2) / 4)
save("x_one_column.npy", x[:, 0].astype(np.float32))  # shape (6,)
save("y_i64.npy", labels)  # numpy's default integer: int64
save("y_u8_column.npy", labels.astype(np.uint8).reshape(6, 1))
save("y_regression.npy", np.stack([x[:, 0] * 2, x[:, 1] + 1], axis=1).astype(np.float32))
# What the data set must refuse.
save("x_int32.npy", (3 * i + j).astype(np.int32))
save("x_big_endian.npy", x.astype(">f4"))
save("x_strings.npy", np.array(["a", "b"]))
save("y_negative.npy", np.array([0, 1, -1, 1, 0, 1]))
save("y_five_rows.npy", labels[:5])
save("y_two_columns.npy", np.stack([labels, labels], axis=1))
save("x_scalar.npy", np.float32(1.5))
nan = x.astype(np.float32)
nan[4, 1] = np.nan
save("x_nan.npy", nan)
with open(os.path.join(out, "x_f32.npy"), "rb") as f:
    whole = f.read()
with open(os.path.join(out, "x_truncated.npy"), "wb") as f:
    f.write(whole[:-5])
print("wrote", len(os.listdir(out)), "files to", os.path.normpath(out))
