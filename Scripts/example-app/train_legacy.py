#!/usr/bin/env python3
"""Trains the demo's legacy model once, on pre-drift history, and writes an MLServer repository.

usage: train_legacy.py [--out .shadowgate/demo-models/legacy] [--name churn] [--version legacy-2024.1]
                       [--examples 5000] [stream options, see stream.py]

The model is a scikit-learn StandardScaler + LogisticRegression trained on the stream's
examples -N..-1 (the "history" before the live stream starts at 0, all before the drift). The
repository it writes:

    OUT/settings.json                 server settings: one process, no metrics server, quiet
    OUT/demo_estimators.py            the wrapper class the pickle refers to (OUT is on sys.path)
    OUT/NAME/model-settings.json      mlserver_sklearn.SKLearnModel, predict_fn predict_proba, version
    OUT/NAME/model.joblib
    OUT/NAME/training.json            what it was trained on and how well it scores, before and after the drift

Ports and host are not in settings.json: serve_legacy.sh passes them as MLSERVER_* variables.
Runs in the demo's virtual environment (Scripts/example-app/setup-venv.sh).
"""
import argparse
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import joblib  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from demo_estimators import PositiveClassProbability  # noqa: E402
from stream import add_stream_arguments, stream_from_args  # noqa: E402


def arrays(stream, start, count):
    rows = list(stream.examples(start, count))
    return np.array([r.features for r in rows], dtype=np.float64), np.array([r.label for r in rows])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".shadowgate/demo-models/legacy", help="MLServer repository to write")
    parser.add_argument("--name", default="churn", help="model name (the route's /v2/models/NAME/infer)")
    parser.add_argument("--version", default="legacy-2024.1", help="model_version the server reports")
    parser.add_argument("--examples", type=int, default=5000, help="history examples to train on")
    add_stream_arguments(parser)
    args = parser.parse_args(argv)
    stream = stream_from_args(args)

    started = time.monotonic()
    X, y = arrays(stream, -args.examples, args.examples)
    model = PositiveClassProbability(make_pipeline(StandardScaler(), LogisticRegression())).fit(X, y)

    def accuracy(start, count=2000):
        Xe, ye = arrays(stream, start, count)
        return round(float((model.predict(Xe) == ye).mean()), 4)
    after = args.drift_at + args.drift_width
    scores = {"accuracy_train": round(float((model.predict(X) == y).mean()), 4),
              "accuracy_before_drift": accuracy(max(0, args.drift_at - 2000), min(2000, args.drift_at) or 2000),
              "accuracy_after_drift": accuracy(after)}

    model_dir = os.path.join(args.out, args.name)
    os.makedirs(model_dir, exist_ok=True)
    joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    shutil.copy(os.path.join(HERE, "demo_estimators.py"), os.path.join(args.out, "demo_estimators.py"))
    with open(os.path.join(args.out, "settings.json"), "w") as f:
        # parallel_workers 0: the model runs in the server process (one process to start and stop,
        # and the pickle's module is importable there); metrics_endpoint null: no metrics server.
        json.dump({"debug": False, "parallel_workers": 0, "metrics_endpoint": None}, f, indent=2)
    with open(os.path.join(model_dir, "model-settings.json"), "w") as f:
        json.dump({
            "name": args.name,
            "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": "./model.joblib", "version": args.version,
                           "extra": {"predict_fn": "predict_proba"}},
        }, f, indent=2)
    info = {"name": args.name, "version": args.version, "trained_on": [-args.examples, -1],
            "stream": {k: getattr(args, k) for k in ("seed", "features", "drift_at", "drift_degrees", "drift_width", "noise", "users")},
            **scores}
    with open(os.path.join(model_dir, "training.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(f"legacy model {args.name} {args.version}: trained on {args.examples} examples in "
          f"{time.monotonic() - started:.1f} s; accuracy before the drift {scores['accuracy_before_drift']}, "
          f"after {scores['accuracy_after_drift']} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
