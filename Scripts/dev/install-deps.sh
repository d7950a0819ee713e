#!/usr/bin/env bash
# Installs the system packages ShadowGate needs to build and test, idempotently (Debian/Ubuntu, as root).
#   libpq-dev      libpq headers and library (the only PostgreSQL client ShadowGate uses)
#   pkg-config     finds libpq for the CLibPQ system-library target
#   postgresql     server binaries for the embedded default and the test cluster
#   curl           used by scripts to wait for servers
#   pgbouncer      the control-connection check's test (a real pooler in transaction mode)
#   haproxy iptables iproute2   Scripts/scale-test.sh (load balancer, cut links, network namespaces)
# Extra packages can be asked for: Scripts/dev/install-deps.sh nginx wrk
set -euo pipefail
want=(libpq-dev pkg-config postgresql curl pgbouncer haproxy iptables iproute2 "$@")
missing=()
for pkg in "${want[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then exit 0; fi
if [[ $(id -u) != 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi
