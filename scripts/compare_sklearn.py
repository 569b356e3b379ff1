"""Our `tabular` example against scikit-learn on the same CSV file and the same split.

    python3 -m venv /tmp/venv-sk && /tmp/venv-sk/bin/pip install scikit-learn pandas
    /tmp/venv-sk/bin/python scripts/compare_sklearn.py --csv data/breast_cancer.csv --target target --stratify
    /tmp/venv-sk/bin/python scripts/compare_sklearn.py --csv data/diabetes.csv --target target

For each seed, runs `cargo run --release --example tabular -- --csv PATH --target COLUMN --seed S
...` and reads its headline (`Accuracy on test set: ...` or `R^2 on test set: ...`), then fits
scikit-learn's LogisticRegression and MLPClassifier (classification) or LinearRegression and
MLPRegressor (regression) on the same rows and scores them on the same test rows:

- the split is `train_test_split(X, y, test_size, random_state=seed, stratify=y if --stratify)`,
  the rows our example selects too (feedforward's splits reproduce scikit-learn's, see
  src/data/split.rs and tests/split.rs); rows with a missing cell are dropped first when
  --drop-missing is given, as the example does;
- the features are prepared as the example prepares them: numbers standardised with the
  training rows' mean and variance (StandardScaler; our Normalization layer), text one-hot
  (OneHotEncoder, categories from the whole file as data::csv reads them);
- classification labels are encoded in sorted order (LabelEncoder), as data::csv does.

scikit-learn's models keep their defaults except max_iter (raised so that they converge) and
random_state=seed. Prints one row per seed and the mean, side by side. `--example-args '...'`
passes more options to the example (`--alpha 0 --cv 3`, say).
"""
import argparse
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

ROOT = Path(__file__).resolve().parent.parent
MISSING = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
           "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def ours(args, seed):
    """Runs the tabular example and returns its task and headline score."""
    command = ["cargo", "run", "--quiet", "--release", "--example", "tabular", "--",
               "--csv", str(args.csv), "--target", args.target, "--seed", str(seed),
               "--test-size", str(args.test_size)]
    if args.task:
        command += ["--task", args.task]
    if args.stratify:
        command.append("--stratify")
    if args.drop_missing:
        command.append("--drop-missing")
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    command += shlex.split(args.example_args)
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"the tabular example failed:\n{run.stdout}\n{run.stderr}")
    match = re.search(r"^(Accuracy|R\^2) on test set: (-?[0-9.]+)$", run.stdout, re.M)
    if not match:
        sys.exit(f"no headline in the tabular example's output:\n{run.stdout}")
    task = "classification" if match.group(1) == "Accuracy" else "regression"
    return task, float(match.group(2))


def sklearn_scores(args, task, seed):
    frame = pd.read_csv(args.csv, na_values=MISSING, keep_default_na=False,
                        skipinitialspace=True)
    if args.drop_missing:
        frame = frame.dropna()
    y = frame[args.target]
    X = frame.drop(columns=[args.target])
    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in text]
    if task == "classification":
        y = LabelEncoder().fit_transform(y.astype(str) if y.dtype == object else y)
    else:
        y = y.to_numpy(dtype=float)
    stratify = y if args.stratify else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, random_state=seed, stratify=stratify)
    categories = [sorted(frame[c].astype(str).unique()) for c in text]

    def prepare():
        return ColumnTransformer([
            ("numbers", StandardScaler(), numeric),
            ("text", OneHotEncoder(categories=categories, handle_unknown="ignore"), text),
        ])

    if task == "classification":
        models = {
            "LogisticRegression": LogisticRegression(max_iter=10000),
            "MLPClassifier": MLPClassifier(max_iter=2000, random_state=seed),
        }
        score = accuracy_score
    else:
        models = {
            "LinearRegression": LinearRegression(),
            "MLPRegressor": MLPRegressor(max_iter=5000, random_state=seed),
        }
        score = r2_score
    scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in models.items():
            pipeline = make_pipeline(prepare(), model).fit(X_train, y_train)
            scores[name] = score(y_test, pipeline.predict(X_test))
    return scores


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--task", choices=["classification", "regression"])
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--stratify", action="store_true")
    parser.add_argument("--drop-missing", action="store_true")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--example-args", default="",
                        help="more options for the example, such as '--alpha 0,10 --cv 3'")
    args = parser.parse_args()
    args.csv = args.csv.resolve()

    rows = []
    for seed in args.seeds:
        task, mine = ours(args, seed)
        theirs = sklearn_scores(args, task, seed)
        rows.append((seed, mine, theirs))
    metric = "accuracy" if task == "classification" else "R^2"
    names = list(rows[0][2])
    split = "stratified " if args.stratify else ""
    print(f"{args.csv.name}, target {args.target!r}: {task}, {metric} on the "
          f"{split}test split ({args.test_size:.0%}), seeds {args.seeds}")
    header = ["seed", "feedforward"] + names + ["best scikit-learn", "feedforward - best"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for seed, mine, theirs in rows:
        best = max(theirs.values())
        cells = [str(seed), f"{mine:.4f}"] + [f"{theirs[n]:.4f}" for n in names]
        cells += [f"{best:.4f}", f"{mine - best:+.4f}"]
        print("| " + " | ".join(cells) + " |")
    mean_mine = np.mean([r[1] for r in rows])
    mean_theirs = {n: np.mean([r[2][n] for r in rows]) for n in names}
    mean_best = np.mean([max(r[2].values()) for r in rows])
    cells = ["mean", f"{mean_mine:.4f}"] + [f"{mean_theirs[n]:.4f}" for n in names]
    cells += [f"{mean_best:.4f}", f"{mean_mine - mean_best:+.4f}"]
    print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
