"""bench_common.py — the helpers scripts/bench.py (CPU peers) and scripts/bench_gpu.py (GPU
peers) share: logging, running a command, the MLPerf percentile, zenith-bench --shape args."""
import math
import subprocess
import sys


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_cmd(cmd, timeout=None, env=None):
    """Runs cmd; returns (rc, stdout+stderr): 127 when it cannot start, 124 when it timed out."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout, env=env)
    except FileNotFoundError as e:
        return 127, str(e)
    except subprocess.TimeoutExpired as e:
        return 124, (e.stdout or "") if isinstance(e.stdout, str) else "timed out"
    return p.returncode, p.stdout


def percentile(sorted_v, p):
    """Nearest-rank percentile of sorted values (the MLPerf definition)."""
    if not sorted_v:
        return float("nan")
    k = max(0, min(len(sorted_v) - 1, int(math.ceil(p / 100.0 * len(sorted_v))) - 1))
    return float(sorted_v[k])


def shape_args(specs):
    """zenith-bench --shape arguments for [(name, dtype, shape)] input specs."""
    out = []
    for name, _, shape in specs:
        out += ["--shape", "%s:%s" % (name, "x".join(str(d) for d in shape))]
    return out
