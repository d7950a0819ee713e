#!/usr/bin/env bash
# Creates the demo's Python environment in .shadowgate/venv (git-ignored) from the pinned
# Scripts/example-app/requirements.txt: MLServer + its sklearn runtime, scikit-learn, River, NumPy.
#
# usage: Scripts/example-app/setup-venv.sh [--force]
#   PYTHON=/path/to/python3.11  use this interpreter (default: the first of python3, python3.12,
#                               python3.11 on PATH that is 3.11 or 3.12; MLServer 1.7 needs < 3.13,
#                               River and scikit-learn need >= 3.11)
#   SHADOWGATE_VENV=DIR         put the environment elsewhere
#   SHADOWGATE_NO_UV=1          install with pip only (slower) instead of uv from PyPI
#
# Idempotent: a stamp keyed on the hash of requirements.txt and the interpreter's version makes a
# second run return at once; a changed requirements file updates the environment in place, a
# changed interpreter rebuilds it. Prints the environment's python on the last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${SHADOWGATE_VENV:-.shadowgate/venv}
REQ=Scripts/example-app/requirements.txt
UV_VERSION=0.13.9   # the installer (from PyPI); not part of the stamp
say() { echo "setup-venv: $*" >&2; }

# One interpreter call per candidate: "<version> <machine> ok|unsupported".
probe() { "$1" -c 'import sys, platform; v = sys.version_info[:2]; print(sys.version.split()[0], platform.machine(), "ok" if (3, 11) <= v < (3, 13) else "unsupported")' 2>/dev/null; }
PY_VERSION=
for candidate in ${PYTHON:-python3 python3.12 python3.11}; do
    command -v "$candidate" >/dev/null || continue
    read -r version machine verdict < <(probe "$candidate") || continue
    if [[ $verdict == ok ]]; then PYTHON=$candidate; PY_VERSION="$version $machine"; break; fi
done
[[ -n $PY_VERSION ]] || { say "no Python 3.11 or 3.12 found${PYTHON:+ (PYTHON=$PYTHON)}: MLServer 1.7 needs < 3.13, River and scikit-learn need >= 3.11; set PYTHON=/path/to/python3.11"; exit 1; }
STAMP_KEY="$(sha256sum "$REQ" | cut -c1-16) $PY_VERSION"
STAMP=$VENV/.shadowgate-stamp

if [[ ${1:-} != --force && -x $VENV/bin/python && -f $STAMP && $(cat "$STAMP") == "$STAMP_KEY" ]]; then
    echo "$VENV/bin/python"
    exit 0
fi

mkdir -p "$(dirname "$VENV")"
# One installer at a time (the demo and the self-test may both ask for it).
exec 9>"$VENV.lock"
flock 9 2>/dev/null || true
if [[ ${1:-} != --force && -f $STAMP && $(cat "$STAMP") == "$STAMP_KEY" ]]; then echo "$VENV/bin/python"; exit 0; fi

started=$(date +%s)
if [[ -x $VENV/bin/python ]] && ! [[ $("$VENV/bin/python" -c 'import sys, platform; print(sys.version.split()[0], platform.machine())' 2>/dev/null) == "$PY_VERSION" ]]; then
    say "the environment was made with another Python; rebuilding it"
    rm -rf "$VENV"
fi
if [[ ! -x $VENV/bin/python ]]; then
    say "creating $VENV with $PYTHON ($PY_VERSION)"
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        # Debian's python3 ships venv's pip bootstrap separately.
        minor=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        say "'$PYTHON -m venv' failed; installing python$minor-venv"
        Scripts/dev/install-deps.sh "python$minor-venv"
        "$PYTHON" -m venv "$VENV"
    fi
fi
rm -f "$STAMP"
say "installing $REQ (MLServer, scikit-learn, River; about a minute the first time, 2 with pip)"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)
# uv installs the ~75 wheels about 4x faster than pip; pip is the fallback. Bytecode is compiled
# at install time either way: with PYTHONDONTWRITEBYTECODE set, as on some machines, nothing
# would ever be cached and every MLServer start would compile its imports again (2x slower).
installed=
if [[ -z ${SHADOWGATE_NO_UV:-} ]] && "${PIP[@]}" install --quiet "uv==$UV_VERSION" >&2; then
    if "$VENV/bin/python" -m uv pip install --quiet --compile-bytecode --python "$VENV/bin/python" -r "$REQ" >&2; then
        installed=uv
    else
        say "uv failed (see above); trying pip"
    fi
fi
if [[ -z $installed ]] && ! "${PIP[@]}" install --quiet --prefer-binary -r "$REQ" >&2; then
    say "pip install failed (see above); PyPI must be reachable"
    exit 1
fi
"$VENV/bin/python" -c 'import mlserver, mlserver_sklearn, sklearn, river, numpy' \
    || { say "the environment does not import its packages"; exit 1; }
echo "$STAMP_KEY" > "$STAMP"
say "ready in $(( $(date +%s) - started )) s: $VENV/bin/python"
echo "$VENV/bin/python"
