#!/usr/bin/env bash
# install-deps.sh — installs the Debian packages Zenith's build and tests need, when missing.
# Idempotent: a second run installs nothing. Needs root (or sudo) only when something is missing.
#
#   build:  gcc g++ make pkg-config libcjson-dev libpng-dev libncurses-dev (g++: make test-emu)
#   tests:  libcmocka-dev
#   fuzz:   clang (libFuzzer), only with --fuzz
#   bench:  python3-numpy, python3-onnx, python3-torch(vision), python3-venv, libopenblas-dev, only with --bench
set -euo pipefail

want=(gcc g++ make pkg-config libcjson-dev libpng-dev libncurses-dev libcmocka-dev)
for arg in "$@"; do
  case "$arg" in
    --fuzz) want+=(clang libclang-rt-14-dev) ;;
    --bench) want+=(python3-numpy python3-onnx python3-torch python3-torchvision python3-venv libopenblas-dev) ;;
    --fixtures) want+=(python3-numpy python3-onnx python3-torch) ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (use --fuzz, --bench, --fixtures)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
