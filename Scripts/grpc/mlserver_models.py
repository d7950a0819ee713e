#!/usr/bin/env python3
"""Writes two MLServer model repositories serving the same model name over gRPC (and REST), for
the gRPC tests and `Scripts/bench.sh grpc`: a scikit-learn LogisticRegression on iris as the
legacy model and a DecisionTree as the learner.

usage: mlserver_models.py OUT_DIR [--name iris]
   OUT_DIR/legacy/{settings.json, NAME/model-settings.json, NAME/model.joblib}
   OUT_DIR/learner/...

Idempotent: an existing repository is left as it is. Start one with
   cd OUT_DIR/legacy && MLSERVER_HTTP_PORT=.. MLSERVER_GRPC_PORT=.. mlserver start .
"""
import argparse
import json
import os

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier


def write(repo, name, version, model):
    target = os.path.join(repo, name)
    if os.path.exists(os.path.join(target, "model-settings.json")):
        return
    os.makedirs(target, exist_ok=True)
    joblib.dump(model, os.path.join(target, "model.joblib"))
    with open(os.path.join(target, "model-settings.json"), "w") as f:
        json.dump({"name": name, "implementation": "mlserver_sklearn.SKLearnModel",
                   "parameters": {"uri": "./model.joblib", "version": version}}, f)
    with open(os.path.join(repo, "settings.json"), "w") as f:
        json.dump({"debug": False, "parallel_workers": 0, "metrics_endpoint": None, "host": "127.0.0.1"}, f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--name", default="iris")
    args = parser.parse_args()
    x, y = load_iris(return_X_y=True)
    write(os.path.join(args.out, "legacy"), args.name, "legacy-1", LogisticRegression(max_iter=500).fit(x, y))
    write(os.path.join(args.out, "learner"), args.name, "learner-1", DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, y))
    print(args.out)


if __name__ == "__main__":
    main()
