#!/usr/bin/env python3
"""scikit-learn's LogisticRegression on data/breast_cancer.csv: the reference of
tests/breast_cancer.rs, where feedforward's Dense(30, 16) -> Relu -> Dense(16, 1) -> Sigmoid network
trained with BinaryCrossEntropy must classify as well (test accuracy within 0.01).

Same protocol on both sides: train_test_split(test_size=0.2, random_state=seed) for seeds 0-4
(feedforward's data::train_test_split selects the same rows), features standardised with the
training rows' mean and standard deviation (StandardScaler), accuracy on the 114 test rows.

    python3 -m venv /tmp/venv-sk && /tmp/venv-sk/bin/pip install numpy scikit-learn
    /tmp/venv-sk/bin/python scripts/breast_cancer_logistic.py
    cargo test --release --test breast_cancer -- --nocapture    # feedforward's side
"""
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

CSV = Path(__file__).resolve().parent.parent / "data" / "breast_cancer.csv"


def main():
    table = np.loadtxt(CSV, delimiter=",", skiprows=1)
    x, y = table[:, :-1], table[:, -1]
    print("seed  test rows  LogisticRegression accuracy")
    for seed in range(5):
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=0.2, random_state=seed
        )
        scaler = StandardScaler().fit(x_train)
        model = LogisticRegression(max_iter=1000).fit(scaler.transform(x_train), y_train)
        accuracy = model.score(scaler.transform(x_test), y_test)
        print(f"{seed:>4}  {len(y_test):>9}  {accuracy:.4f} ({accuracy!r})")


if __name__ == "__main__":
    main()
