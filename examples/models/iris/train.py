"""Trains the iris example: a logistic-regression classifier on scikit-learn's bundled iris data
(no download), saved as model.joblib next to this file. tools/prepare_examples.sh runs it with the
Python that has Debian's python3-sklearn (/usr/bin/python3); the file is not committed."""
import os
import sys

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

here = os.path.dirname(os.path.abspath(__file__))
target = os.path.join(here, "model.joblib")
X, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=1000, random_state=0).fit(X, y)
tmp = target + ".tmp"
joblib.dump(model, tmp)
os.replace(tmp, target)  # never a half-written model for a server that is running
print(f"iris: trained on {len(X)} rows, accuracy {model.score(X, y):.3f}, saved {target}", file=sys.stderr)
