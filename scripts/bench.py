#!/usr/bin/env python3
"""bench.py - `make bench`: Zenith against its peers, side by side on this machine.

For each case (the built-in resnet50 and bert-base exported to ONNX with `zenith-bench export`,
plus the models of --shared DIR when given) every system runs the same .onnx file, with the same
weights, input shapes, thread count and number of runs:

  zenith       `zenith-bench run --model FILE.onnx` (single-stream, then offline), run records
  onnxruntime  InferenceSession, intra_op_num_threads = threads, sequential, all optimisations
  pytorch      onnx2torch -> torch.jit.trace + torch.jit.freeze, torch.set_num_threads(threads),
               run under torch.inference_mode()

Metrics: single-stream p50 and p90 latency (the next run starts when the last ends), offline
throughput (samples/s with batches of --offline-batch where the batch dim is symbolic), and
sgemm GFLOP/s against OpenBLAS on BERT-base's shapes (the gemm_bench binary, when given).
Before timing, the peers' outputs are checked against Zenith's (`zenith-bench check` on a test
data set written from ONNX Runtime's outputs), so a fast wrong answer does not count.

It prints a table (case, metric, Zenith, peer, ratio) and writes it as JSON. The ratio is
"times faster": peer time / Zenith time for latencies, Zenith / peer for throughputs, so > 1
means Zenith is faster. It is a measurement, not a test: it asserts no speed. Peers that are not
installed are skipped with a note. BENCH_QUICK=1 (or --quick) makes a tiny smoke run.
"""
import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time

import numpy as np

from bench_common import log, percentile, run_cmd, shape_args

try:
    import onnx
    from onnx import numpy_helper
except ImportError:  # onnx is needed to read input declarations and write test data
    onnx = None

# zoo cases: symbol bindings for single-stream and the offline batch
ZOO_CASES = [
    {"name": "resnet50", "model": "resnet50", "bind": {"batch": 1, "height": 224, "width": 224},
     "offline_batch": 8},
    {"name": "bert-base", "model": "bert-base", "bind": {"batch": 1, "seq": 128},
     "offline_batch": 4},
]

ONNX_TO_NP = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16}


# ---- inputs ------------------------------------------------------------------------------------

def input_specs(model_path, bind, batch=None):
    """[(name, np dtype, shape)] of the model's graph inputs, symbolic dims bound from `bind`
    (unknown symbols: 1); `batch` overrides the 'batch' symbol or a symbolic leading dim."""
    m = onnx.load(model_path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    specs = []
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        shape = []
        for k, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value"):
                shape.append(int(d.dim_value))
            elif batch is not None and (d.dim_param == "batch" or k == 0):
                shape.append(batch)
            else:
                shape.append(int(bind.get(d.dim_param, 1)))
        specs.append((vi.name, ONNX_TO_NP.get(tt.elem_type, np.float32), tuple(shape)))
    return specs


def leading_dim_symbolic(model_path):
    m = onnx.load(model_path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        dims = vi.type.tensor_type.shape.dim
        return len(dims) > 0 and not dims[0].HasField("dim_value")
    return False


def make_inputs(specs, seed=42):
    """Synthetic inputs: N(0,1) floats; token ids in [0, 1000); masks of ones."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, dt, shape in specs:
        if dt in (np.int64, np.int32):
            if "mask" in name:
                feeds[name] = np.ones(shape, dtype=dt)
            else:
                feeds[name] = rng.integers(0, 1000, size=shape).astype(dt)
        elif dt == np.bool_:
            feeds[name] = np.ones(shape, dtype=np.bool_)
        else:
            feeds[name] = rng.standard_normal(shape).astype(dt)
    return feeds


def load_test_data(folder, specs):
    """Inputs of a model-zoo test_data_set folder, when it has one matching the specs."""
    if onnx is None or not os.path.isdir(folder):
        return None
    feeds = {}
    for k, (name, _, _) in enumerate(specs):
        p = os.path.join(folder, "input_%d.pb" % k)
        if not os.path.exists(p):
            return None
        t = onnx.TensorProto()
        with open(p, "rb") as f:
            t.ParseFromString(f.read())
        feeds[name] = numpy_helper.to_array(t)
    return feeds


# ---- zenith ------------------------------------------------------------------------------------

def zenith_run(zb, model, specs, threads, scenario, runs, warmup, work, tag, offline_batch=None):
    """One headless run; returns the run record's results."""
    out = os.path.join(work, "zenith-%s-%s.json" % (tag, scenario))
    cmd = [zb, "run", "--model", model, "--threads", str(threads), "--scenario", scenario,
           "--warmup", str(warmup), "--duration", "0s", "--max-duration", "600s",
           "--no-profile", "--json", out, "-q"] + shape_args(specs)
    if scenario == "offline":
        # at least a second of work: a handful of samples would mostly time thread start-up
        cmd += ["--duration", "1s"]
        if offline_batch:
            cmd += ["--max-batch", str(offline_batch), "--min-queries", str(runs * offline_batch)]
        else:  # fixed batch: one input set per engine run
            cmd += ["--max-batch", "1", "--min-queries", str(runs)]
    else:
        cmd += ["--min-queries", str(runs)]
    if os.path.exists(out):
        os.remove(out)
    rc, text = run_cmd(cmd)
    # exit 1 with a record is an INVALID verdict (too few queries for MLPerf's early-stopping
    # rule at these small counts): the timings are still what was measured
    if rc not in (0, 1) or not os.path.exists(out):
        raise RuntimeError("zenith-bench run failed (exit %d):\n%s" % (rc, text[-2000:]))
    with open(out) as f:
        res = json.load(f)["results"]
    if not res or not res.get("query_count"):
        raise RuntimeError("zenith-bench run completed no query:\n%s" % text[-2000:])
    return res


def zenith_check(zb, model, specs, ref_feeds, ref_outs, output_names, work, tag):
    """Writes ONNX Runtime's inputs/outputs as a test data set and runs `zenith-bench check`."""
    d = os.path.join(work, "check-%s" % tag, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    for k, (name, _, _) in enumerate(specs):
        with open(os.path.join(d, "input_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(ref_feeds[name], name).SerializeToString())
    for k, (name, arr) in enumerate(zip(output_names, ref_outs)):
        with open(os.path.join(d, "output_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(arr), name).SerializeToString())
    rc, text = run_cmd([zb, "check", "--model", model, "--data", d, "--rtol", "1e-2",
                        "--atol", "1e-3"])
    return rc == 0, text


# ---- onnxruntime -------------------------------------------------------------------------------

def ort_session(model, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])


def time_runs(fn, runs, warmup):
    """Per-run latencies in ns of fn() after warmup calls."""
    for _ in range(warmup):
        fn()
    lat = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        lat.append(time.perf_counter_ns() - t0)
    return sorted(lat)


def summarize(lat_ns, samples_per_run):
    total = sum(lat_ns)
    return {"p50_ns": percentile(lat_ns, 50), "p90_ns": percentile(lat_ns, 90),
            "samples_per_second": samples_per_run * len(lat_ns) / (total * 1e-9) if total else 0.0,
            "runs": len(lat_ns)}


# ---- pytorch -----------------------------------------------------------------------------------

def torch_module(model, feeds, threads):
    import torch
    from onnx2torch import convert
    torch.set_num_threads(threads)
    mod = convert(model).eval()
    args = tuple(torch.from_numpy(np.ascontiguousarray(v)) for v in feeds.values())
    with torch.no_grad():
        traced = torch.jit.trace(mod, args, check_trace=False)
        frozen = torch.jit.freeze(traced.eval())
    return frozen, args


def torch_call(frozen, args):
    import torch
    with torch.inference_mode():
        return frozen(*args)


def flatten_outputs(o):
    if isinstance(o, (list, tuple)):
        r = []
        for x in o:
            r += flatten_outputs(x)
        return r
    return [o.detach().numpy() if hasattr(o, "detach") else np.asarray(o)]


# ---- table -------------------------------------------------------------------------------------

def fmt_value(metric, v):
    if v is None:
        return "-"
    if metric.endswith("_ms"):
        return "%.2f ms" % v
    if metric.endswith("gflops"):
        return "%.1f GF/s" % v
    return "%.2f /s" % v


def add_rows(rows, case, metric, zen, peers, lower_is_better):
    for peer, v in peers.items():
        ratio = None
        if zen and v:
            ratio = (v / zen) if lower_is_better else (zen / v)
        rows.append({"case": case, "metric": metric, "zenith": zen, "peer": peer,
                     "peer_value": v, "ratio": ratio})


def print_table(rows):
    hdr = ("case", "metric", "Zenith", "peer", "peer value", "ratio")
    lines = [hdr]
    for r in rows:
        lines.append((r["case"], r["metric"], fmt_value(r["metric"], r["zenith"]), r["peer"],
                      fmt_value(r["metric"], r["peer_value"]),
                      "%.2fx" % r["ratio"] if r["ratio"] else "-"))
    w = [max(len(str(l[i])) for l in lines) for i in range(len(hdr))]
    for i, l in enumerate(lines):
        print("  ".join(str(c).ljust(w[k]) if k < 2 or k == 3 else str(c).rjust(w[k])
                        for k, c in enumerate(l)))
        if i == 0:
            print("  ".join("-" * x for x in w))
    print("ratio = times faster for Zenith (peer latency / Zenith latency, Zenith throughput / "
          "peer throughput); > 1 means Zenith is faster")


# ---- main --------------------------------------------------------------------------------------

def bench_case(a, case, model, bind, offline_batch, test_data, peers, notes, rows, record):
    name = case
    log("== %s" % name)
    specs = input_specs(model, bind)
    feeds = load_test_data(test_data, specs) if test_data else None
    if feeds is None:
        feeds = make_inputs(specs)
    else:
        specs = [(n, v.dtype.type, tuple(v.shape)) for n, v in feeds.items()]
    batchable = offline_batch and offline_batch > 1 and leading_dim_symbolic(model)
    ob = offline_batch if batchable else None
    ospecs = [(n, dt, (ob,) + tuple(s[1:])) for n, dt, s in specs] if ob else specs
    ofeeds = make_inputs(ospecs, seed=7) if ob else feeds
    # a sample is one row of the batch dim, as zenith-bench counts them
    samples_per_run = ospecs[0][2][0] if ospecs and len(ospecs[0][2]) > 0 else 1
    res = {"model": model, "inputs": {n: list(s) for n, _, s in specs}, "offline_batch":
           samples_per_run, "zenith": {}, "peers": {}}

    # correctness first: ONNX Runtime's outputs as the reference for Zenith and PyTorch
    ref_outs = None
    if "onnxruntime" in peers:
        try:
            sess = ort_session(model, a.threads)
            out_names = [o.name for o in sess.get_outputs()]
            ref_outs = sess.run(None, feeds)
            ok, text = zenith_check(a.zenith, model, specs, feeds, ref_outs, out_names, a.work, name)
            res["zenith_matches_onnxruntime"] = ok
            if not ok:
                notes.append("%s: Zenith's outputs differ from ONNX Runtime's:\n%s" % (name, text[-1500:]))
        except Exception as e:  # a peer that cannot run this model is skipped, not fatal
            notes.append("%s: onnxruntime failed: %s" % (name, str(e)[:300]))

    # zenith
    try:
        ss = zenith_run(a.zenith, model, specs, a.threads, "single-stream", a.runs, a.warmup, a.work, name)
        off = zenith_run(a.zenith, model, specs, a.threads, "offline", a.offline_runs, a.warmup,
                         a.work, name, offline_batch=ob)
        res["zenith"] = {"p50_ns": ss["p50_ns"], "p90_ns": ss["p90_ns"], "runs": ss["query_count"],
                         "samples_per_second": off["samples_per_second"]}
    except RuntimeError as e:
        notes.append("%s: %s" % (name, e))
        record["cases"][name] = res
        return

    # onnxruntime
    if "onnxruntime" in peers and ref_outs is not None:
        try:
            sess = ort_session(model, a.threads)
            ss = summarize(time_runs(lambda: sess.run(None, feeds), a.runs, a.warmup), 1)
            off = summarize(time_runs(lambda: sess.run(None, ofeeds), a.offline_runs, a.warmup),
                            samples_per_run)
            res["peers"]["onnxruntime"] = {"p50_ns": ss["p50_ns"], "p90_ns": ss["p90_ns"],
                                           "runs": ss["runs"],
                                           "samples_per_second": off["samples_per_second"]}
        except Exception as e:
            notes.append("%s: onnxruntime failed: %s" % (name, str(e)[:300]))

    # pytorch
    if "pytorch" in peers:
        try:
            mod, args = torch_module(model, feeds, a.threads)
            if ref_outs is not None:
                got = flatten_outputs(torch_call(mod, args))
                err = max(float(np.max(np.abs(g.astype(np.float64) - np.asarray(r, dtype=np.float64))))
                          for g, r in zip(got, ref_outs))
                res["pytorch_max_abs_diff_vs_onnxruntime"] = err
            # TorchScript's profiling executor optimises during the first calls: warm up >= 3
            tw = max(a.warmup, 3)
            ss = summarize(time_runs(lambda: torch_call(mod, args), a.runs, tw), 1)
            if ob:
                omod, oargs = torch_module(model, ofeeds, a.threads)
            else:
                omod, oargs = mod, args
            off = summarize(time_runs(lambda: torch_call(omod, oargs), a.offline_runs, tw),
                            samples_per_run)
            res["peers"]["pytorch"] = {"p50_ns": ss["p50_ns"], "p90_ns": ss["p90_ns"],
                                       "runs": ss["runs"],
                                       "samples_per_second": off["samples_per_second"]}
        except Exception as e:
            notes.append("%s: pytorch (onnx2torch) failed: %s" % (name, str(e)[:300]))

    z = res["zenith"]
    pk = res["peers"]
    add_rows(rows, name, "p50_ms", z["p50_ns"] / 1e6, {p: v["p50_ns"] / 1e6 for p, v in pk.items()}, True)
    add_rows(rows, name, "p90_ms", z["p90_ns"] / 1e6, {p: v["p90_ns"] / 1e6 for p, v in pk.items()}, True)
    add_rows(rows, name, "offline_samples_per_s", z["samples_per_second"],
             {p: v["samples_per_second"] for p, v in pk.items()}, False)
    if not pk:
        add_rows(rows, name, "p50_ms", z["p50_ns"] / 1e6, {"(none)": None}, True)
    record["cases"][name] = res


def bench_gemm(a, rows, notes, record):
    """sgemm GFLOP/s on BERT-base's shapes against OpenBLAS: bench/gemm_bench's binary."""
    if not a.gemm or not os.path.exists(a.gemm):
        notes.append("sgemm: no gemm_bench binary given (--gemm); skipped")
        return
    out = os.path.join(a.work, "gemm.json")
    reps = "1" if a.quick else "5"
    rc, text = run_cmd([a.gemm, "--reps", reps, "--threads", str(a.threads), "--json", out])
    if rc != 0 or not os.path.exists(out):
        notes.append("sgemm: gemm_bench failed (exit %d): %s" % (rc, text[-500:]))
        return
    with open(out) as f:
        g = json.load(f)
    record["sgemm"] = g
    peer = g.get("peer", "openblas")
    for r in g.get("results", []):
        best = max(r["zenith_gflops"], r.get("zenith_prepacked_gflops", 0.0))
        add_rows(rows, "sgemm %s" % r["case"], "gflops", best, {peer: r["peer_gflops"]}, False)


def detect_peers(want):
    peers, notes = [], []
    if "onnxruntime" in want:
        try:
            import onnxruntime
            peers.append("onnxruntime")
            notes.append("onnxruntime %s" % onnxruntime.__version__)
        except Exception as e:
            notes.append("onnxruntime not available (%s): skipped" % str(e)[:100])
    if "pytorch" in want:
        try:
            import torch
            import onnx2torch  # noqa: F401
            peers.append("pytorch")
            notes.append("pytorch %s via onnx2torch" % torch.__version__)
        except Exception as e:
            notes.append("pytorch/onnx2torch not available (%s): skipped" % str(e)[:100])
    return peers, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--zenith", default="build/zenith-bench", help="the zenith-bench binary")
    ap.add_argument("--out", default="build/bench.json", help="where the JSON table goes")
    ap.add_argument("--work", help="folder for exported models and run records (default: "
                    "beside --out, bench/)")
    ap.add_argument("--shared-auto", action="store_true",
                    help="also run the team's reference models when a shared/models folder sits "
                         "beside the repository (as on the development machines)")
    ap.add_argument("--shared", help="a folder of reference models (NAME/model.onnx with "
                    "test_data_set_0) to add as cases")
    ap.add_argument("--gemm", help="the gemm_bench binary (sgemm vs OpenBLAS)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, help="timed single-stream runs per system (default 20; "
                    "quick 3)")
    ap.add_argument("--offline-runs", type=int, help="timed offline batches (default 4; quick 1)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cases", help="comma list of case names to run (default all)")
    ap.add_argument("--peers", default="onnxruntime,pytorch")
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                    help="tiny smoke run (also BENCH_QUICK=1)")
    a = ap.parse_args()
    if onnx is None:
        print("bench: the Python package onnx is missing (Debian: python3-onnx)", file=sys.stderr)
        return 2
    if a.runs is None:
        a.runs = 3 if a.quick else 20
    if a.offline_runs is None:
        a.offline_runs = 1 if a.quick else 4
    if a.quick:
        a.warmup = 1
    a.work = a.work or os.path.join(os.path.dirname(os.path.abspath(a.out)), "bench")
    os.makedirs(a.work, exist_ok=True)
    a.zenith = os.path.abspath(a.zenith)
    only = set(a.cases.split(",")) if a.cases else None

    peers, notes = detect_peers(a.peers.split(","))
    rows = []
    record = {"tool": "zenith bench.py", "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "load_average": os.getloadavg()},
              "threads": a.threads, "runs": a.runs, "offline_runs": a.offline_runs,
              "warmup": a.warmup, "quick": a.quick, "peers": peers, "cases": {}}
    cases = []
    for c in ZOO_CASES:
        if only and c["name"] not in only:
            continue
        path = os.path.join(a.work, c["name"] + ".onnx")
        if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(a.zenith):
            rc, text = run_cmd([a.zenith, "export", "--model", c["model"], "--out", path, "-q"])
            if rc != 0:
                notes.append("%s: export failed: %s" % (c["name"], text[-500:]))
                continue
        cases.append((c["name"], path, c["bind"], c["offline_batch"], None))
    if not a.shared and a.shared_auto:
        beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "models")
        if os.path.isdir(beside):
            a.shared = beside
    if a.shared and os.path.isdir(a.shared):
        for d in sorted(os.listdir(a.shared)):
            path = os.path.join(a.shared, d, "model.onnx")
            if os.path.exists(path) and (not only or d in only):
                cases.append((d, path, {}, 8, os.path.join(a.shared, d, "test_data_set_0")))

    for name, path, bind, ob, td in cases:
        try:
            bench_case(a, name, path, bind, ob, td, peers, notes, rows, record)
        except RuntimeError as e:  # one case failing must not lose the others
            notes.append("%s: failed: %s" % (name, str(e).splitlines()[0]))
            print("== %s failed: %s" % (name, e), file=sys.stderr)
    if not only or "sgemm" in only:
        bench_gemm(a, rows, notes, record)

    record["rows"] = rows
    record["notes"] = notes
    record["machine"]["load_average_end"] = os.getloadavg()
    with open(a.out, "w") as f:
        json.dump(record, f, indent=1)
    print()
    print("Zenith vs peers, %d thread%s, %d single-stream runs, %d offline batches%s" %
          (a.threads, "" if a.threads == 1 else "s", a.runs, a.offline_runs,
           " (BENCH_QUICK: smoke run, numbers are noise)" if a.quick else ""))
    print("load average at start %.2f, end %.2f" % (record["machine"]["load_average"][0],
                                                    record["machine"]["load_average_end"][0]))
    print_table(rows)
    for n in notes:
        print("note: " + n)
    print("wrote %s" % a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
