#!/usr/bin/env bash
# The one install path behind `make run` and `make test`.
#
#   tools/install.sh run    the server's own Python packages, and hls.js for the console's
#                           video player when npm is there
#   tools/install.sh test   the same plus the test extras, the Node test packages and the
#                           system pieces the tests drive (Chromium, Node.js)
#
# Idempotent and safe to start twice at once: everything happens under one lock, and each
# step runs again only when what it installs from changed (a stamp file per step, newer
# than its inputs). A second run with nothing changed takes a few milliseconds.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: tools/install.sh run|test}
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
LOCK="${VENV%/}.lock"

say() { printf 'install: %s\n' "$*" >&2; }

# A step runs when its stamp is missing or older than any of its inputs.
stale() {
    local stamp=$1; shift
    [ -f "$stamp" ] || return 0
    local input
    for input in "$@"; do
        [ "$input" -nt "$stamp" ] && return 0
    done
    return 1
}

python_packages() {
    local extras=$1 stamp="$VENV/.installed-${1:-run}"
    # The test install is a superset of the server's: either stamp will do for `run`.
    if [ -z "$extras" ] && ! stale "$VENV/.installed-test" pyproject.toml; then
        return 0
    fi
    if [ ! -x "$PY" ]; then
        python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
            || { say "darkroom needs Python 3.11 or newer as python3 (found $(python3 --version))"; exit 1; }
        say "creating $VENV"
        python3 -m venv "$VENV"
        "$PY" -m pip install --quiet --upgrade pip
    fi
    if stale "$stamp" pyproject.toml; then
        say "installing darkroom${extras:+[$extras]} into $VENV"
        "$PY" -m pip install --quiet -e ".${extras:+[$extras]}"
        # OCR (darkroom.addons.ocr): rapidocr-onnxruntime ships its models in the wheel but
        # declares the GUI build of OpenCV, whose cv2 would shadow the headless one (and pull
        # OpenCV 5, which has no Haar cascades); its other dependencies are in pyproject.toml.
        "$PY" -m pip install --quiet --no-deps "rapidocr-onnxruntime==1.4.4"
        touch "$stamp"
    fi
}

# Debian packages, only when missing and only where we may install them (root with apt-get);
# elsewhere the tests that need them say what is missing.
system_packages() {
    local missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
    # The documented nginx front (docs/nginx-front.conf) is run by tests/cluster/test_deploy.py.
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${missing[*]} from Debian"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        say "missing ${missing[*]}: the tests that drive them will say so (see README, Prerequisites)"
    fi
}

node_packages() {
    local dir=tests/node stamp=tests/node/node_modules/.installed
    command -v npm >/dev/null || return 0
    if stale "$stamp" "$dir/package.json" "$dir/package-lock.json"; then
        say "installing the Node SDK test packages ($dir)"
        (cd "$dir" && npm ci --no-audit --no-fund --silent)
        touch "$stamp"
    fi
}

# hls.js (pinned in tools/console-assets) copied into the console's static folder, which
# .gitignore keeps out of the repository. Without npm the console plays progressive MP4 and
# its player page says why.
console_assets() {
    local dir=tools/console-assets vendor=src/darkroom/console/static/vendor/hls.js
    local stamp="$vendor/.installed" dist=tools/console-assets/node_modules/hls.js
    if ! command -v npm >/dev/null; then
        [ -f "$stamp" ] || say "no npm: the console's video player plays progressive MP4 only (no hls.js)"
        return 0
    fi
    if stale "$stamp" "$dir/package.json" "$dir/package-lock.json"; then
        say "installing hls.js for the console's video player ($vendor)"
        # Not fatal: darkroom runs without it (no registry, say), playing progressive MP4.
        if ! (cd "$dir" && npm ci --no-audit --no-fund --silent); then
            say "could not install hls.js: the console's video player plays progressive MP4 only"
            return 0
        fi
        mkdir -p "$vendor"
        # The ES-module build under a .js name (served as JavaScript everywhere), its worker, its licence.
        cp "$dist/dist/hls.min.mjs" "$vendor/hls.esm.js"
        cp "$dist/dist/hls.worker.js" "$dist/LICENSE" "$vendor/"
        touch "$stamp"
    fi
}

# One install at a time: flock where util-linux has it (Linux), else a lock directory (macOS).
mkdir -p "$(dirname "$LOCK")"
if command -v flock >/dev/null; then
    exec 9>"$LOCK"
    flock 9
else
    until mkdir "$LOCK.d" 2>/dev/null; do sleep 1; done
    trap 'rmdir "$LOCK.d"' EXIT
fi
case "$target" in
    run)  python_packages ""; console_assets ;;
    test) python_packages test; system_packages; node_packages; console_assets ;;
    *)    say "unknown target $target (run or test)"; exit 2 ;;
esac
