"""Writes scikit-learn's bundled breast-cancer, iris and diabetes tables as CSV files in data/.

    python3 -m venv /tmp/venv-sk && /tmp/venv-sk/bin/pip install scikit-learn pandas
    /tmp/venv-sk/bin/python scripts/export_sklearn_datasets.py

The files are committed (data/README.md gives their sources and licences); this script shows how
they were made and re-makes them byte for byte with scikit-learn 1.9.1 and pandas.
- data/breast_cancer.csv: load_breast_cancer(as_frame=True).frame, 569 rows, 30 features,
  `target` 0 (malignant) or 1 (benign), as scikit-learn encodes it.
- data/iris.csv: load_iris(as_frame=True), 150 rows, 4 features, the class as text in
  `species` (setosa, versicolor, virginica), to show text labels.
- data/diabetes.csv: load_diabetes(scaled=False, as_frame=True).frame, 442 rows, the 10
  features in their original units (age in years, sex 1 or 2, ...), `target` a disease
  progression score one year after baseline.
"""
from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

DATA = Path(__file__).resolve().parent.parent / "data"


def main():
    DATA.mkdir(exist_ok=True)
    load_breast_cancer(as_frame=True).frame.to_csv(
        DATA / "breast_cancer.csv", index=False, lineterminator="\n"
    )
    iris = load_iris(as_frame=True)
    frame = iris.data.copy()
    frame["species"] = [iris.target_names[t] for t in iris.target]
    frame.to_csv(DATA / "iris.csv", index=False, lineterminator="\n")
    load_diabetes(scaled=False, as_frame=True).frame.to_csv(
        DATA / "diabetes.csv", index=False, lineterminator="\n"
    )
    for name in ["breast_cancer", "iris", "diabetes"]:
        path = DATA / f"{name}.csv"
        lines = path.read_text().splitlines()
        print(f"{path.name}: {len(lines) - 1} rows, header {lines[0][:70]}...")


if __name__ == "__main__":
    main()
