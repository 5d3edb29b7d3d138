#!/usr/bin/env bash
# gpu-check.sh — one command for a GPU machine: check what the build needs, build Zenith with the
# CUDA backend, run the CUDA test (tests/test_cuda.c) and the other suites, run the GPU benchmark
# (scripts/bench_gpu.py: Zenith against PyTorch) and end with a short table.
#
#   scripts/gpu-check.sh [--quick] [--no-bench] [--bench-only] [--build DIR] [--jobs N]
#
#   --quick       a smoke run of the benchmark (batch 1, short timings, no torch.compile)
#   --no-bench    build and test only          --bench-only   build (incremental) and benchmark only
#   --build DIR   build folder (default build)  --jobs N       parallel build jobs (default: cores)
#
# The GPU machines have no package registry. When Debian's -dev libraries are missing there
# (libcjson-dev, libpng-dev, libncurses-dev, libcmocka-dev), this says exactly which and how to
# bring them: download the .deb files on a machine that has the registry, carry the folder, and
# point ZN_DEBS at it. Each .deb is unpacked with `dpkg -x` into a private prefix (ZN_PREFIX,
# default /tmp/zn-debs), never into /, and the build is pointed at it through CFLAGS, LDFLAGS
# (with an rpath) and PKG_CONFIG_PATH. CUDA libraries found outside $CUDA_HOME (cuDNN or CUPTI
# from PyTorch's pip packages, say) are added the same way.
#
# Logs go to $BUILD/gpu-check/. Exit status: 0 everything passed; 1 a test suite failed;
# 2 a prerequisite is missing (the message says which and how to get it); 3 no usable GPU;
# 4 the build failed; 5 the benchmark failed to run.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0 BENCH=1 TESTS=1 BUILD=build JOBS=$(nproc 2>/dev/null || echo 4)
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --no-bench) BENCH=0 ;;
    --bench-only) TESTS=0 ;;
    --build) BUILD=${2:?--build needs a folder}; shift ;;
    --jobs) JOBS=${2:?--jobs needs a number}; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

LOG="$BUILD/gpu-check"
mkdir -p "$LOG"
PREFIX=${ZN_PREFIX:-/tmp/zn-debs}
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
say() { printf 'gpu-check: %s\n' "$*"; }
ok() { printf '  [ok]      %s\n' "$*"; }
bad() { printf '  [missing] %s\n' "$*"; }
note() { printf '  [note]    %s\n' "$*"; }

# ---- 1. prerequisites --------------------------------------------------------------------------
say "checking prerequisites"
missing_tools=() missing_debs=() extra_cflags=() extra_ldflags=() extra_nvcc=()
fatal=0

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >"$LOG/nvidia-smi.txt" 2>&1; then
  ok "nvidia-smi: $(head -1 "$LOG/nvidia-smi.txt")"
  GPU_OK=1
else
  bad "nvidia-smi: $(command -v nvidia-smi >/dev/null 2>&1 && head -1 "$LOG/nvidia-smi.txt" || echo 'not on the PATH')"
  GPU_OK=0
fi

NVCC=${NVCC:-$(command -v nvcc 2>/dev/null || true)}
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ -n "$NVCC" ]; then
  ok "nvcc: $NVCC ($("$NVCC" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))"
  CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(readlink -f "$NVCC")")")}
else
  bad "nvcc: not found (PATH, /usr/local/cuda/bin) — the CUDA toolkit is needed to build the backend"
  fatal=1
  CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
fi

for t in cc make; do
  if command -v "$t" >/dev/null 2>&1; then ok "$t: $(command -v "$t")"; else bad "$t"; missing_tools+=("$t"); fatal=1; fi
done
HAVE_PKGCONFIG=0
if command -v pkg-config >/dev/null 2>&1; then HAVE_PKGCONFIG=1; ok "pkg-config"; else note "pkg-config: not found; flags are set by hand"; fi

# Unpack the carried .deb files (ZN_DEBS) into the private prefix.
if [ -n "${ZN_DEBS:-}" ]; then
  if [ ! -d "$ZN_DEBS" ]; then
    echo "gpu-check: ZN_DEBS=$ZN_DEBS is not a folder" >&2
    exit 2
  fi
  shopt -s nullglob
  debs=("$ZN_DEBS"/*.deb)
  shopt -u nullglob
  if [ ${#debs[@]} -eq 0 ]; then
    echo "gpu-check: ZN_DEBS=$ZN_DEBS holds no .deb files" >&2
    exit 2
  fi
  mkdir -p "$PREFIX"
  for d in "${debs[@]}"; do dpkg -x "$d" "$PREFIX"; done
  # .pc files say prefix=/usr: point them at the private copy
  for pc in "$PREFIX"/usr/lib/"$MULTIARCH"/pkgconfig/*.pc "$PREFIX"/usr/share/pkgconfig/*.pc; do
    [ -f "$pc" ] && sed -i -E "s#^(prefix|exec_prefix|libdir|includedir|sharedlibdir)=/usr#\\1=$PREFIX/usr#" "$pc"
  done
  # -dev packages carry libfoo.so -> libfoo.so.N links; the runtime package has the target
  export PKG_CONFIG_PATH="$PREFIX/usr/lib/$MULTIARCH/pkgconfig:$PREFIX/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  extra_cflags+=("-I$PREFIX/usr/include")
  extra_ldflags+=("-L$PREFIX/usr/lib/$MULTIARCH" "-Wl,-rpath,$PREFIX/usr/lib/$MULTIARCH"
                  "-L$PREFIX/lib/$MULTIARCH" "-Wl,-rpath,$PREFIX/lib/$MULTIARCH")
  export LD_LIBRARY_PATH="$PREFIX/usr/lib/$MULTIARCH:$PREFIX/lib/$MULTIARCH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  ok "ZN_DEBS: ${#debs[@]} .deb files unpacked into $PREFIX"
fi

# has_header NAME: found in the system or the private prefix
has_header() {
  local h=$1 d
  for d in /usr/include /usr/include/"$MULTIARCH" /usr/local/include "$PREFIX/usr/include"; do
    [ -f "$d/$h" ] && return 0
  done
  return 1
}
# has_lib NAME: libNAME.so (the link-time name) in the system or the private prefix
has_lib() {
  local l=$1 d
  for d in /usr/lib/"$MULTIARCH" /lib/"$MULTIARCH" /usr/lib /usr/local/lib "$PREFIX/usr/lib/$MULTIARCH" "$PREFIX/lib/$MULTIARCH"; do
    [ -e "$d/lib$l.so" ] && return 0
  done
  return 1
}

# Debian's -dev libraries: what the check looks for, and the .deb files that provide it
check_dev() { # label header lib debs...
  local label=$1 header=$2 lib=$3
  shift 3
  if has_header "$header" && has_lib "$lib"; then
    ok "$label ($header, lib$lib.so)"
  else
    bad "$label: $(has_header "$header" || printf '%s ' "$header")$(has_lib "$lib" || printf 'lib%s.so' "$lib")"
    missing_debs+=("$@")
    fatal=1
  fi
}
check_dev "libcjson-dev" cjson/cJSON.h cjson libcjson-dev libcjson1
check_dev "libpng-dev" png.h png16 libpng-dev libpng16-16 zlib1g-dev
check_dev "libncurses-dev (ncursesw)" ncursesw/ncurses.h ncursesw libncurses-dev libncursesw6 libtinfo6
check_dev "libcmocka-dev" cmocka.h cmocka libcmocka-dev libcmocka0

# CUDA libraries the backend links: in $CUDA_HOME, else found elsewhere (pip's nvidia-* packages)
PY=${GPU_PYTHON:-python3}
pip_dirs=()
if command -v "$PY" >/dev/null 2>&1; then
  while IFS= read -r d; do [ -n "$d" ] && pip_dirs+=("$d"); done < <("$PY" - <<'PYEOF' 2>/dev/null || true
import importlib, os
for m in ("nvidia.cudnn", "nvidia.cuda_cupti", "nvidia.cublas", "nvidia.cuda_runtime", "nvidia.cu13"):
    try:
        mod = importlib.import_module(m)
        for p in getattr(mod, "__path__", []):
            print(p)
    except Exception:
        pass
PYEOF
)
fi
mkdir -p "$PREFIX/cuda-links"
find_cuda() { # lib header: adds -L/-I for whichever folder holds them
  local lib=$1 header=$2 d found_lib="" found_inc=""
  for d in "$CUDA_HOME/lib64" "$CUDA_HOME/lib" "$CUDA_HOME/targets/x86_64-linux/lib" "$CUDA_HOME/extras/CUPTI/lib64" \
           /usr/lib/"$MULTIARCH" "${pip_dirs[@]/%//lib}"; do
    [ -z "$found_lib" ] || break
    if [ -e "$d/lib$lib.so" ]; then found_lib=$d
    elif compgen -G "$d/lib$lib.so.[0-9]*" >/dev/null; then
      # only the versioned library: link against it through a private libNAME.so
      ln -sf "$(printf '%s\n' "$d"/lib"$lib".so.[0-9]* | sort -V | tail -1)" "$PREFIX/cuda-links/lib$lib.so"
      found_lib=$PREFIX/cuda-links
      extra_ldflags+=("-Wl,-rpath,$d")
    fi
  done
  for d in "$CUDA_HOME/include" "$CUDA_HOME/targets/x86_64-linux/include" "$CUDA_HOME/extras/CUPTI/include" \
           /usr/include "${pip_dirs[@]/%//include}"; do
    if [ -f "$d/$header" ]; then found_inc=$d; break; fi
  done
  if [ -n "$found_lib" ] && [ -n "$found_inc" ]; then
    ok "lib$lib ($found_lib) and $header ($found_inc)"
    if [ "$found_lib" != "$CUDA_HOME/lib64" ]; then
      extra_ldflags+=("-L$found_lib" "-Wl,-rpath,$found_lib")
      export LD_LIBRARY_PATH="$found_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
    if [ "$found_inc" != "$CUDA_HOME/include" ] && [ "$found_inc" != /usr/include ]; then
      extra_cflags+=("-I$found_inc")
      extra_nvcc+=("-I$found_inc")
    fi
  else
    bad "lib$lib / $header: ${found_lib:-no lib$lib.so} ${found_inc:-no $header} (looked in $CUDA_HOME and pip's nvidia packages)"
    fatal=1
  fi
}
if [ -n "$NVCC" ]; then
  find_cuda cudart cuda_runtime.h
  find_cuda cublasLt cublasLt.h
  find_cuda cublas cublas_v2.h
  find_cuda cudnn cudnn.h
  find_cuda cupti cupti.h
fi

# The benchmark's Python side (not fatal: the bench is skipped without it)
BENCH_PY_OK=0
if command -v "$PY" >/dev/null 2>&1 && "$PY" -c 'import torch, numpy, onnx; assert torch.cuda.is_available()' 2>"$LOG/python.txt"; then
  ok "$PY: torch $("$PY" -c 'import torch; print(torch.__version__)'), numpy, onnx, CUDA visible"
  BENCH_PY_OK=1
else
  note "$PY: torch (with CUDA), numpy or onnx unusable — the benchmark is skipped ($(tail -1 "$LOG/python.txt" 2>/dev/null))"
fi

if [ ${#missing_debs[@]} -gt 0 ]; then
  debs_list=$(printf '%s\n' "${missing_debs[@]}" | awk '!seen[$0]++' | tr '\n' ' ')
  cat <<EOF

gpu-check: Debian -dev libraries are missing and this machine has no package registry.
Bring them as .deb files. On a machine with the registry, in the repository's root:

  echo /.debs/ >> .git/info/exclude
  mkdir -p .debs /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get \$o update && (cd .debs && apt-get \$o download $debs_list)

then carry .debs to this machine (device tool: carry [".debs"]) and run

  ZN_DEBS=.debs scripts/gpu-check.sh

(the .deb files are unpacked with dpkg -x into $PREFIX, not into /).
EOF
fi
if [ ${#missing_tools[@]} -gt 0 ]; then
  echo "gpu-check: missing tools: ${missing_tools[*]} (a C compiler and make are needed)" >&2
fi
if [ "$fatal" -ne 0 ]; then
  echo "gpu-check: prerequisites missing (above); nothing was built" >&2
  exit 2
fi
if [ "$GPU_OK" -ne 1 ]; then
  echo "gpu-check: no usable GPU (nvidia-smi failed); this script is for a GPU machine — on others run 'make test'" >&2
  exit 3
fi

# ---- 2. build ------------------------------------------------------------------------------------
make_vars=(BUILD="$BUILD" NVCC="$NVCC" CUDA_HOME="$CUDA_HOME")
if [ ${#extra_nvcc[@]} -gt 0 ]; then
  # the include folders found above, appended to the Makefile's NVCCFLAGS
  make_vars+=(NVCC_EXTRA="${extra_nvcc[*]}")
fi
if [ "$HAVE_PKGCONFIG" -eq 0 ]; then
  inc=""
  for d in /usr/include "$PREFIX/usr/include"; do
    for sub in cjson libpng16; do [ -d "$d/$sub" ] && inc="$inc -I$d/$sub"; done
  done
  make_vars+=(PKG_CFLAGS="-D_DEFAULT_SOURCE -D_XOPEN_SOURCE=600$inc" LIB_LIBS="-lcjson -lpng16 -lz" APP_LIBS="-lncursesw -ltinfo" TEST_LIBS="-lcmocka")
fi
export CFLAGS="${CFLAGS:-} ${extra_cflags[*]:-}"
export LDFLAGS="${LDFLAGS:-} ${extra_ldflags[*]:-}"

say "building into $BUILD/ with $JOBS jobs (log: $LOG/build.log)"
if ! make -j"$JOBS" "${make_vars[@]}" all >"$LOG/build.log" 2>&1; then
  tail -40 "$LOG/build.log"
  echo "gpu-check: the build failed (whole log: $LOG/build.log)" >&2
  exit 4
fi
grep -m1 'building backends' "$LOG/build.log" || true
if ! grep -q 'backends: cpu cuda' "$LOG/build.log" && ! nm "$BUILD/libzenith.a" 2>/dev/null | grep -q zn_cuda_gemm_table; then
  echo "gpu-check: the build has no CUDA backend (see $LOG/build.log)" >&2
  exit 4
fi
warnings=$(grep -c 'warning:' "$LOG/build.log" || true)
if [ "$warnings" -eq 0 ]; then ok "build: no compiler warnings"; else note "build: $warnings compiler warnings (see $LOG/build.log)"; fi

# ---- 3. tests ------------------------------------------------------------------------------------
suites_passed=0 suites_failed=0 failed_names=""
if [ "$TESTS" -eq 1 ]; then
  tests=()
  for t in tests/test_*.c; do tests+=("$BUILD/tests/$(basename "$t" .c)"); done
  say "building ${#tests[@]} test suites"
  if ! make -j"$JOBS" "${make_vars[@]}" "${tests[@]}" >"$LOG/build-tests.log" 2>&1; then
    tail -40 "$LOG/build-tests.log"
    echo "gpu-check: building the tests failed (log: $LOG/build-tests.log)" >&2
    exit 4
  fi
  # the CUDA test first, its output in full
  say "running $BUILD/tests/test_cuda (log: $LOG/test_cuda.log)"
  set +e
  ZN_TEST_BIN="$ROOT/$BUILD/zenith-bench" "$BUILD/tests/test_cuda" 2>&1 | tee "$LOG/test_cuda.log"
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -eq 0 ]; then suites_passed=$((suites_passed + 1)); else suites_failed=$((suites_failed + 1)); failed_names="$failed_names test_cuda"; fi
  say "running the other suites (logs: $LOG/<suite>.log)"
  for t in "${tests[@]}"; do
    name=$(basename "$t")
    [ "$name" = test_cuda ] && continue
    if ZN_TEST_BIN="$ROOT/$BUILD/zenith-bench" "$t" >"$LOG/$name.log" 2>&1; then
      suites_passed=$((suites_passed + 1)); printf '  %-22s passed\n' "$name"
    else
      suites_failed=$((suites_failed + 1)); failed_names="$failed_names $name"; printf '  %-22s FAILED (%s)\n' "$name" "$LOG/$name.log"
    fi
  done
fi

# ---- 4. benchmark --------------------------------------------------------------------------------
bench_rc=0
if [ "$BENCH" -eq 1 ]; then
  if [ "$BENCH_PY_OK" -ne 1 ]; then
    note "benchmark skipped: $PY lacks torch with CUDA, numpy or onnx"
  else
    say "GPU benchmark (log: $LOG/bench.log)"
    set +e
    BENCH_QUICK=$QUICK make "${make_vars[@]}" GPU_PYTHON="$PY" bench-gpu 2>&1 | tee "$LOG/bench.log"
    bench_rc=${PIPESTATUS[0]}
    set -e
  fi
fi

# ---- 5. summary ----------------------------------------------------------------------------------
echo
echo "==== gpu-check summary ($(head -1 "$LOG/nvidia-smi.txt"))"
if [ "$TESTS" -eq 1 ]; then
  echo "test suites: $suites_passed passed, $suites_failed failed${failed_names:+ (failed:$failed_names)}"
  grep -E '^\[ (cases|model|fixtures|graphs|threads|coverage) ' "$LOG/test_cuda.log" | sed 's/^/  /' || true
  ns=$(grep -c '^\[ not supported \]' "$LOG/test_cuda.log" || true)
  [ "$ns" -gt 0 ] && echo "  $ns 'not supported' lines in $LOG/test_cuda.log (CPU fallbacks / f32-only kernels)"
fi
if [ "$BENCH" -eq 1 ] && [ -f "$BUILD/bench-gpu.json" ] && [ "$BENCH_PY_OK" -eq 1 ]; then
  echo
  "$PY" scripts/bench_gpu.py --table "$BUILD/bench-gpu.json"
fi
if [ "$suites_failed" -gt 0 ]; then exit 1; fi
if [ "$bench_rc" -ne 0 ]; then
  echo "gpu-check: the benchmark failed (exit $bench_rc; log: $LOG/bench.log)" >&2
  exit 5
fi
exit 0
