#!/usr/bin/env bash
# Screenshot of an HTML report (`shadowgate report --format html`) with headless Chromium, to look
# at the page the way a reader's browser draws it.
#
# usage: Scripts/dev/report-screenshot.sh FILE.html OUT.png [WIDTHxHEIGHT]   (default 1280x2400)
# Needs Chromium (Debian: apt-get install -y chromium). The page fetches nothing, so it works offline.
set -euo pipefail
if [[ $# -lt 2 ]]; then
    echo "usage: $0 FILE.html OUT.png [WIDTHxHEIGHT]" >&2
    exit 2
fi
HTML=$(realpath "$1")
OUT=$(realpath -m "$2")
SIZE=${3:-1280x2400}
[[ -f $HTML ]] || { echo "report-screenshot.sh: no such file: $1" >&2; exit 1; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[[ -n $CHROMIUM ]] || { echo "report-screenshot.sh: Chromium not found; install it: apt-get install -y chromium" >&2; exit 1; }

# A throwaway profile keeps runs independent of each other and of any desktop session.
PROFILE=$(mktemp -d /tmp/report-screenshot.XXXXXX)
trap 'rm -rf "$PROFILE"' EXIT
"$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$PROFILE" \
    --screenshot="$OUT" --window-size="${SIZE/x/,}" "file://$HTML" 2>"$PROFILE/chromium.log" \
    || { cat "$PROFILE/chromium.log" >&2; exit 1; }
[[ -s $OUT ]] || { echo "report-screenshot.sh: Chromium wrote no screenshot" >&2; cat "$PROFILE/chromium.log" >&2; exit 1; }
echo "$OUT"
