#!/usr/bin/env bash
# Validates deploy/k8s/ without a cluster; run by Scripts/test.sh, fails the run when it fails.
#   1. renders the base and every overlay with `kubectl kustomize` (plain YAML parse when kubectl is absent)
#   2. schema-checks the rendered objects offline with kubernetes-validate --strict (PyPI, installed
#      once into .shadowgate/k8s-venv; a visible SKIP only when PyPI cannot be reached)
#   3. checks the project's conventions (Scripts/deploy/conventions.py): probe paths answered by the
#      real binary, grace period > preStop sleep + drain, PDB below the replicas, no inline secrets
#
# usage: Scripts/deploy/check.sh [--binary PATH]   (default .build/debug/shadowgate)
set -euo pipefail
cd "$(dirname "$0")/../.."
BINARY=.build/debug/shadowgate
while (($#)); do
    case $1 in
        --binary) BINARY=$2; shift 2 ;;
        *) echo "k8s-check: unknown argument $1" >&2; exit 2 ;;
    esac
done
K8S=deploy/k8s
OUT=$(mktemp -d /tmp/shadowgate-k8s.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

VENV=.shadowgate/k8s-venv
if [[ ! -x $VENV/bin/kubernetes-validate ]] || ! "$VENV/bin/python" -c 'import yaml' 2>/dev/null; then
    python3 -m venv "$VENV"
    if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check 'kubernetes-validate>=1.31' pyyaml >"$OUT/pip.log" 2>&1; then
        echo "k8s-check: SKIP schema validation: could not install kubernetes-validate from PyPI (see below)" >&2
        tail -3 "$OUT/pip.log" >&2
    fi
fi
PY=python3
[[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c 'import yaml' 2>/dev/null && PY=$VENV/bin/python

targets=("$K8S/base" "$K8S"/overlays/*/)
for dir in "${targets[@]}"; do
    dir=${dir%/}
    name=$(echo "$dir" | tr / _)
    if command -v kubectl >/dev/null; then
        kubectl kustomize "$dir" >"$OUT/$name.yaml"
        echo "k8s-check: rendered $dir ($(grep -c '^kind:' "$OUT/$name.yaml") objects)"
    else
        echo "k8s-check: kubectl not found: checking $dir's files as plain YAML (no kustomize rendering)" >&2
        cat "$dir"/*.yaml >"$OUT/$name.yaml"
    fi
    if [[ -x $VENV/bin/kubernetes-validate ]]; then
        for version in 1.29.0 1.33.0; do
            # CRDs (ServiceMonitor) have no bundled schema: kubernetes-validate warns and conventions.py checks them.
            if ! "$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" "$OUT/$name.yaml" >"$OUT/validate.log" 2>&1 \
                || grep -E '^(ERROR|FAIL)' "$OUT/validate.log" >/dev/null; then
                cat "$OUT/validate.log" >&2
                echo "k8s-check: FAIL: $dir does not validate against Kubernetes $version" >&2
                exit 1
            fi
        done
        echo "k8s-check: $dir validates (strict) against Kubernetes 1.29 and 1.33"
    fi
done
"$PY" Scripts/deploy/conventions.py --binary "$BINARY" --source-root . "$OUT"/*.yaml
