#!/usr/bin/env bash
# Self-test of the demo's Python pieces without the gateway: MLServer with the trained legacy
# model and the River learner on free 127.0.0.1 ports, their OIP v2 answers, the misbehave switch,
# and the learner overtaking the legacy model after the drift (figures printed at the end).
# Builds the Python environment first if needed (Scripts/example-app/setup-venv.sh). Scratch files and
# the servers' logs go to .shadowgate/selftest.
#
# usage: Scripts/example-app/selftest.sh [--feedback 2000] [--holdout 1000]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=$(Scripts/example-app/setup-venv.sh)
exec "$PY" Scripts/example-app/selftest.py "$@"
