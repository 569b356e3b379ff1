"""Reference rows of scikit-learn's stratified train_test_split, for tests/split.rs.

    python3 -m venv /tmp/venv-sk && /tmp/venv-sk/bin/pip install scikit-learn
    /tmp/venv-sk/bin/python scripts/stratified_split_reference.py > tests/fixtures/stratified_split.txt

Prints one line per case: labels, test fraction, seed, then the training and test rows that
`train_test_split(np.arange(n), test_size=f, random_state=s, stratify=labels)` returns.
Measured with scikit-learn 1.9.1 and numpy 2.4.6.
"""
import numpy as np
from sklearn.model_selection import train_test_split

CASES = [
    # balanced, ties between the classes' remainders
    ([0, 1, 2] * 5, 0.2, 0),
    # imbalanced, unsorted labels, a class index that is absent (3)
    ([2, 0, 0, 1, 0, 2, 0, 0, 4, 1, 0, 4, 0, 2, 0, 1, 0, 0, 4, 0, 0], 0.3, 7),
    ([1, 0] * 6 + [1] * 5, 0.25, 42),
    # iris-sized: 3 classes of 50, 20% test, seed 42
    ([0] * 50 + [1] * 50 + [2] * 50, 0.2, 42),
    # breast-cancer proportions (212 / 357), seed 0
    ([0] * 212 + [1] * 357, 0.2, 0),
    # many small classes
    ([i % 7 for i in range(40)], 0.5, 3),
]

for labels, fraction, seed in CASES:
    train, test = train_test_split(
        np.arange(len(labels)), test_size=fraction, random_state=seed, stratify=labels
    )
    print(f"{labels} {fraction} {seed}")
    print(f"  train {train.tolist()}")
    print(f"  test  {test.tolist()}")
