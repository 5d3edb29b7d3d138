#!/usr/bin/env bash
# bench-setup.sh VENV — the Python side of `make bench`: a virtual environment at VENV (default
# build/bench-venv) made with --system-site-packages, so Debian's python3-torch, python3-onnx
# and python3-numpy stay visible, plus PyPI's onnxruntime and onnx2torch inside it (Debian 12's
# python refuses `pip install` outside a venv). onnx2torch is installed with --no-deps: its
# dependencies are Debian's torch/torchvision/onnx, and letting pip resolve them would pull a
# second, much larger torch. Idempotent: a venv that already imports both installs nothing.
# Not the build's dependencies (scripts/install-deps.sh --bench installs the Debian packages).
set -euo pipefail

venv="${1:-build/bench-venv}"
py=/usr/bin/python3

# Debian packages this needs beyond install-deps.sh --bench (venv, onnx2torch's torchvision)
missing=()
for p in python3-venv python3-torchvision; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "bench-setup: creating $venv"
  "$py" -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c "import onnxruntime" 2>/dev/null; then
  echo "bench-setup: pip install onnxruntime"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check onnxruntime ||
    echo "bench-setup: onnxruntime did not install; the bench runs without it" >&2
fi
if ! "$venv/bin/python" -c "import onnx2torch" 2>/dev/null; then
  echo "bench-setup: pip install onnx2torch (--no-deps)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps onnx2torch ||
    echo "bench-setup: onnx2torch did not install; the bench runs without PyTorch" >&2
fi
"$venv/bin/python" - <<'PY'
import importlib
for m in ("numpy", "onnx", "onnxruntime", "torch", "onnx2torch"):
    try:
        v = getattr(importlib.import_module(m), "__version__", "?")
        print("bench-setup: %-12s %s" % (m, v))
    except Exception as e:
        print("bench-setup: %-12s missing (%s)" % (m, str(e)[:80]))
PY
