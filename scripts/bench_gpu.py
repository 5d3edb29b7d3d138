#!/usr/bin/env python3
"""bench_gpu.py - the GPU half of `make bench`: Zenith's CUDA backend against PyTorch on one GPU.

What runs (each side by side, on the same machine, the same weights and the same inputs):

  models   bert-base (seq 128) at batch 1 and 32, resnet50 (224x224) at batch 1 and 64. The zoo
           model is exported once with `zenith-bench export`; Zenith runs that ONNX file
           (`zenith-bench run --backend cuda --precision fp16 --mode reduce-overhead`, single-stream,
           the run record's p50/p90 latency and samples/s), PyTorch runs the same file through
           onnx2torch when it is installed, else through the small ONNX interpreter below (torch
           ops over the file's initializers), in fp16: eager, and under torch.compile (mode
           reduce-overhead by default: CUDA graphs, like Zenith's mode). Both are timed host to
           host: pinned inputs copied in, outputs (as f32, which is what Zenith returns) copied
           out, one inference at a time. Before timing, at batch 1, Zenith's fp16 outputs are
           checked against PyTorch's fp32 outputs (TF32 off) with `zenith-bench check`, so a fast
           wrong answer does not count and the two implementations vouch for each other.
  kernels  Zenith's fused attention and fp16 GEMM (build/gpu_kernel_bench, captured in CUDA
           graphs) against torch.nn.functional.scaled_dot_product_attention and torch.matmul
           (cuBLAS) on the same shapes, timed the same way (CALLS calls per captured graph,
           replayed for >= 20 ms, median and spread of --reps rounds).

It prints a table (case, metric, Zenith, peer, peer value, ratio; ratio > 1 = Zenith faster) and
writes everything to --out as JSON. A measurement, not a test: it asserts no speed. Without a
usable GPU it says why and exits 0 (`--detect` exits 1 instead, for scripts). Nothing is fetched:
PyTorch (2.x with CUDA), numpy and onnx must already be installed.

  bench_gpu.py --zenith build/zenith-bench --kernel-bench build/gpu_kernel_bench --out build/bench-gpu.json
  bench_gpu.py --table build/bench-gpu.json      the short table of a finished run
"""
import argparse
import json
import os
import platform
import shutil
import sys
import time

from bench_common import log, percentile, run_cmd, shape_args

CALLS = 20  # kernel calls per captured CUDA graph (gpu_kernel_bench.c uses the same)

MODEL_CASES = [
    # name, zoo model, batch, input bindings (symbol -> value), metric that matters
    {"name": "bert-base s128 b1", "model": "bert-base", "batch": 1, "seq": 128, "metric": "latency"},
    {"name": "bert-base s128 b32", "model": "bert-base", "batch": 32, "seq": 128, "metric": "throughput"},
    {"name": "resnet50 b1", "model": "resnet50", "batch": 1, "hw": 224, "metric": "latency"},
    {"name": "resnet50 b64", "model": "resnet50", "batch": 64, "hw": 224, "metric": "throughput"},
]


# ---- is there a GPU Zenith can use? -----------------------------------------------------------

def detect(zenith):
    """(True, device name) when nvidia-smi answers and zenith-bench can run on the CUDA backend;
    else (False, the reason)."""
    if not shutil.which("nvidia-smi"):
        return False, "nvidia-smi is not on the PATH (no NVIDIA driver here)"
    rc, out = run_cmd(["nvidia-smi", "-L"], timeout=60)
    if rc != 0 or "GPU" not in out:
        return False, "nvidia-smi -L failed: %s" % out.strip()[-300:]
    if not os.path.exists(zenith):
        return False, "%s does not exist (build it first)" % zenith
    rc, out = run_cmd([zenith, "run", "--model", "mlp", "--backend", "cuda", "--duration", "0s",
                       "--min-queries", "1", "--no-profile", "-q"], timeout=300)
    if rc not in (0, 1):
        return False, "zenith-bench cannot run on the CUDA backend (exit %d): %s" % (rc, out.strip()[-400:])
    rc, gpus = run_cmd(["nvidia-smi", "-L"], timeout=60)
    return True, gpus.strip().splitlines()[0]


# ---- PyTorch peer: the ONNX file as torch ops ----------------------------------------------------

def load_torch():
    """torch, imported only when a GPU run needs it (so --table and --detect work without it)."""
    import torch
    return torch


class OnnxInterpreter:
    """Runs an ONNX graph with torch ops: initializers become buffers of `module` (an nn.Module,
    so torch.compile's CUDA graphs treat them as static, not as inputs to copy) in `dtype`
    (floats) on `device`; nodes whose inputs do not depend on the graph inputs' values (shape
    arithmetic, position ids) are evaluated once at load and kept as constants, so the traced
    program is the model's tensor math only. Plain Python data only in forward(), so
    torch.compile traces it. Not a general ONNX runtime: the ops Zenith's zoo exports (and their
    common neighbours)."""

    def __init__(self, path, dtype, device, example_feeds):
        import onnx
        from onnx import numpy_helper
        torch = load_torch()
        self.torch, self.dtype, self.device = torch, dtype, device
        m = onnx.load(path)
        g = m.graph
        self.consts = {}
        for init in g.initializer:
            self.consts[init.name] = self._tensor(numpy_helper.to_array(init))
        self.inputs = [i.name for i in g.input if i.name not in self.consts]
        self.outputs = [o.name for o in g.output]
        self.nodes = []
        for n in g.node:
            attrs = {}
            for a in n.attribute:
                v = onnx.helper.get_attribute_value(a)
                if isinstance(v, onnx.TensorProto):
                    v = numpy_helper.to_array(v)
                elif isinstance(v, bytes):
                    v = v.decode()
                elif isinstance(v, (list, tuple)):
                    v = list(v)
                attrs[a.name] = v
            self.nodes.append((n.op_type, list(n.input), list(n.output), attrs))
        self.lists = {}     # static tensors as Python lists or ints (shape-like inputs)
        self._fold(example_feeds)
        self.run_nodes = [nd for nd in self.nodes if not all(o in self.consts or not o for o in nd[2])]
        interp = self

        class Interpreted(torch.nn.Module):
            def forward(self, *xs):
                return interp.forward(self, *xs)
        self.module = Interpreted().eval()
        self.buf = {}
        for k, (name, t) in enumerate(self.consts.items()):
            self.module.register_buffer("c%d" % k, t)
            self.buf[name] = "c%d" % k
        self.consts = None  # the module holds them now

    def _tensor(self, arr):
        torch = self.torch
        t = torch.from_numpy(arr.copy()) if arr.dtype != object else torch.tensor(arr.tolist())
        if t.is_floating_point():
            t = t.to(self.dtype)
        return t.to(self.device)

    def _fold(self, feeds):
        """One eager pass on example inputs: every node whose inputs are all constant (or that
        only reads a shape) becomes a constant."""
        env = dict(self.consts)
        static = set(self.consts)
        for name, v in feeds.items():
            env[name] = self._feed(v)
        for op, ins, outs, attrs in self.nodes:
            vals = [env.get(i) if i else None for i in ins]
            res = self._exec(op, vals, attrs, lambda k, vals=vals: vals[k].tolist())
            is_static = op in ("Constant", "Shape") or all((not i) or i in static for i in ins)
            for o, r in zip(outs, res):
                if not o:
                    continue
                env[o] = r
                if is_static and r is not None:
                    static.add(o)
                    self.consts[o] = r
                    if r.dtype in (self.torch.int64, self.torch.int32) and r.numel() <= 64:
                        self.lists[o] = r.tolist()

    def _feed(self, v):
        torch = self.torch
        t = v if isinstance(v, torch.Tensor) else torch.from_numpy(v)
        t = t.to(self.device, non_blocking=True)
        return t.to(self.dtype) if t.is_floating_point() else t

    def forward(self, mod, *feeds):
        env = dict(zip(self.inputs, feeds))
        buf = self.buf
        for op, ins, outs, attrs in self.run_nodes:
            vals = [(env[i] if i in env else getattr(mod, buf[i])) if i else None for i in ins]

            def ints(k, ins=ins, vals=vals):
                lst = self.lists.get(ins[k])
                return lst if lst is not None else vals[k].tolist()
            res = self._exec(op, vals, attrs, ints)
            for o, r in zip(outs, res):
                if o:
                    env[o] = r
        return tuple(env[o] for o in self.outputs)

    # -- the ops -----------------------------------------------------------------------------
    def _exec(self, op, v, a, ints):
        torch = self.torch
        F = torch.nn.functional
        x = v[0] if v else None

        def has(k):
            return len(v) > k and v[k] is not None

        def axes_of(k, attr="axes"):
            if has(k):
                return ints(k)
            return a.get(attr)

        if op in ("Add", "Sub", "Mul", "Div", "Pow"):
            fn = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div, "Pow": torch.pow}[op]
            if op == "Div" and not x.is_floating_point():
                return [torch.div(x, v[1], rounding_mode="trunc")]
            return [fn(x, v[1])]
        if op == "MatMul":
            return [torch.matmul(x, v[1])]
        if op == "Gemm":
            A = x.t() if a.get("transA", 0) else x
            B = v[1].t() if a.get("transB", 0) else v[1]
            y = torch.matmul(A, B)
            if a.get("alpha", 1.0) != 1.0:
                y = y * a["alpha"]
            if has(2):
                y = y + v[2] * a.get("beta", 1.0) if a.get("beta", 1.0) != 1.0 else y + v[2]
            return [y]
        unary = {"Relu": torch.relu, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid, "Erf": torch.erf,
                 "Sqrt": torch.sqrt, "Exp": torch.exp, "Log": torch.log, "Neg": torch.neg, "Abs": torch.abs,
                 "Reciprocal": torch.reciprocal, "Floor": torch.floor, "Ceil": torch.ceil,
                 "Not": torch.logical_not, "Softplus": F.softplus, "HardSwish": F.hardswish}
        if op in unary:
            return [unary[op](x)]
        if op in ("Identity", "Dropout"):
            return [x] + [None] * 1
        if op == "SiLU":
            return [F.silu(x)]
        if op == "LeakyRelu":
            return [F.leaky_relu(x, a.get("alpha", 0.01))]
        if op == "HardSigmoid":
            return [torch.clamp(x * a.get("alpha", 0.2) + a.get("beta", 0.5), 0, 1)]
        if op == "Gelu":
            return [F.gelu(x, approximate=a.get("approximate", "none"))]
        if op == "Clip":
            lo = v[1] if has(1) else a.get("min")
            hi = v[2] if has(2) else a.get("max")
            return [torch.clamp(x, lo, hi)]
        if op == "Softmax":
            return [torch.softmax(x, dim=a.get("axis", -1))]
        if op == "LayerNormalization":
            axis = a.get("axis", -1) % x.dim()
            return [F.layer_norm(x, tuple(x.shape[axis:]), v[1], v[2] if has(2) else None, a.get("epsilon", 1e-5))]
        if op == "BatchNormalization":
            return [F.batch_norm(x, v[3], v[4], v[1], v[2], False, 0.0, a.get("epsilon", 1e-5))]
        if op in ("Conv", "MaxPool", "AveragePool"):
            nd = x.dim() - 2
            k = a.get("kernel_shape") or list(v[1].shape[2:])
            pads = a.get("pads", [0] * (2 * nd))
            strides = a.get("strides", [1] * nd)
            dil = a.get("dilations", [1] * nd)
            if a.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
                raise NotImplementedError("%s auto_pad" % op)
            sym = pads[:nd] == pads[nd:]
            if not sym:
                tp = []
                for d in reversed(range(nd)):
                    tp += [pads[d], pads[d + nd]]
                x = F.pad(x, tp, value=float("-inf") if op == "MaxPool" else 0.0)
                pads = [0] * (2 * nd)
            p = tuple(pads[:nd])
            if op == "Conv":
                fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
                return [fn(x, v[1], v[2] if has(2) else None, strides, p, dil, a.get("group", 1))]
            if op == "MaxPool":
                fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
                return [fn(x, k, strides, p, dil, ceil_mode=bool(a.get("ceil_mode", 0)))]
            fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[nd]
            return [fn(x, k, strides, p, ceil_mode=bool(a.get("ceil_mode", 0)),
                       count_include_pad=bool(a.get("count_include_pad", 0)))]
        if op == "GlobalAveragePool":
            return [x.mean(dim=tuple(range(2, x.dim())), keepdim=True)]
        if op == "Flatten":
            ax = a.get("axis", 1) % (x.dim() + 1) if x.dim() else 0
            lead = 1
            for d in x.shape[:ax]:
                lead *= d
            return [x.reshape(lead, -1)]
        if op == "Reshape":
            shape = list(ints(1))
            if not a.get("allowzero", 0):
                shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
            return [x.reshape(shape)]
        if op == "Transpose":
            perm = a.get("perm") or list(reversed(range(x.dim())))
            return [x.permute(perm)]
        if op == "Gather":
            ax = a.get("axis", 0) % x.dim()
            idx = v[1].to(x.device)
            idx = torch.where(idx < 0, idx + x.shape[ax], idx)
            out = torch.index_select(x, ax, idx.reshape(-1))
            return [out.reshape(tuple(x.shape[:ax]) + tuple(idx.shape) + tuple(x.shape[ax + 1:]))]
        if op in ("Unsqueeze", "Squeeze"):
            axes = axes_of(1)
            if op == "Squeeze":
                if axes is None:
                    return [x.squeeze()]
                axes = sorted(ax % x.dim() for ax in axes)
                for ax in reversed(axes):
                    x = x.squeeze(ax)
                return [x]
            r = x.dim() + len(axes)
            for ax in sorted(ax % r for ax in axes):
                x = x.unsqueeze(ax)
            return [x]
        if op == "Slice":
            starts, ends = ints(1), ints(2)
            axes = ints(3) if has(3) else list(range(len(starts)))
            steps = ints(4) if has(4) else [1] * len(starts)
            for s, e, ax, st in zip(starts, ends, axes, steps):
                ax %= x.dim()
                dim = x.shape[ax]
                if st > 0:
                    s = min(max(s + dim if s < 0 else s, 0), dim)
                    e = min(max(e + dim if e < 0 else e, 0), dim)
                    idx = torch.arange(s, max(s, e), st, device=x.device)
                else:
                    s = min(max(s + dim if s < 0 else s, -1), dim - 1)
                    e = min(max(e + dim if e < 0 else e, -1), dim - 1)
                    idx = torch.arange(s, e, st, device=x.device) if s > e else torch.arange(0, device=x.device)
                if st == 1:
                    x = x.narrow(ax, s, max(0, e - s))
                else:
                    x = torch.index_select(x, ax, idx)
            return [x]
        if op == "Concat":
            return [torch.cat([t for t in v if t is not None], dim=a.get("axis", 0))]
        if op == "Split":
            ax = a.get("axis", 0)
            if has(1):
                sizes = ints(1)
            elif a.get("split"):
                sizes = a["split"]
            else:
                n = a.get("num_outputs")
                dim = x.shape[ax]
                chunk = -(-dim // n)
                sizes = [chunk] * (n - 1) + [dim - chunk * (n - 1)]
            return list(torch.split(x, sizes, dim=ax))
        if op == "Shape":
            shape = list(x.shape)[a.get("start", 0):a.get("end", None)]
            return [torch.tensor(shape, dtype=torch.int64, device=self.device)]
        if op == "Constant":
            if "value" in a:
                return [self._tensor(a["value"])]
            for key, dt in (("value_float", None), ("value_floats", None), ("value_int", torch.int64),
                            ("value_ints", torch.int64)):
                if key in a:
                    t = torch.tensor(a[key], dtype=dt or self.dtype, device=self.device)
                    return [t]
            raise NotImplementedError("Constant without a value")
        if op == "ConstantOfShape":
            val = a.get("value")
            t = self._tensor(val.reshape(-1)[:1]) if val is not None else torch.zeros(1, dtype=self.dtype,
                                                                                       device=self.device)
            return [t.reshape(()).expand(ints(0)).clone()]
        if op == "Range":
            return [torch.arange(v[0].item(), v[1].item(), v[2].item(), device=self.device)]
        if op == "Trilu":
            k = ints(1) if has(1) else 0
            k = k[0] if isinstance(k, list) else k
            return [torch.triu(x, k) if a.get("upper", 1) else torch.tril(x, k)]
        if op == "Where":
            return [torch.where(x.bool(), v[1], v[2])]
        if op in ("Equal", "Less", "Greater", "And", "Or"):
            fn = {"Equal": torch.eq, "Less": torch.lt, "Greater": torch.gt, "And": torch.logical_and,
                  "Or": torch.logical_or}[op]
            return [fn(x, v[1])]
        if op in ("Min", "Max"):
            fn = torch.minimum if op == "Min" else torch.maximum
            y = x
            for t in v[1:]:
                y = fn(y, t)
            return [y]
        if op == "Expand":
            shape = torch.broadcast_shapes(tuple(x.shape), tuple(ints(1)))
            return [x.expand(shape)]
        if op == "Tile":
            return [x.repeat(ints(1))]
        if op == "Cast":
            to = a["to"]
            dt = {1: self.dtype, 10: torch.float16, 16: torch.bfloat16, 7: torch.int64, 6: torch.int32,
                  9: torch.bool, 11: self.dtype}.get(to)
            if dt is None:
                raise NotImplementedError("Cast to %d" % to)
            return [x.to(dt)]
        if op.startswith("Reduce"):
            axes = axes_of(1)
            keep = bool(a.get("keepdims", 1))
            if not axes:
                if a.get("noop_with_empty_axes", 0):
                    return [x]
                axes = list(range(x.dim()))
            axes = sorted(ax % x.dim() for ax in axes)
            if op == "ReduceMean":
                return [x.mean(dim=axes, keepdim=keep)]
            if op == "ReduceSum":
                return [x.sum(dim=axes, keepdim=keep)]
            if op in ("ReduceMax", "ReduceMin", "ReduceProd"):
                for ax in reversed(axes):
                    if op == "ReduceProd":
                        x = x.prod(dim=ax, keepdim=keep)
                    else:
                        x = (x.amax if op == "ReduceMax" else x.amin)(dim=ax, keepdim=keep)
                return [x]
        if op == "ArgMax":
            ax = a.get("axis", 0)
            keep = bool(a.get("keepdims", 1))
            if a.get("select_last_index", 0):
                n = x.shape[ax]
                return [n - 1 - torch.argmax(torch.flip(x, [ax]), dim=ax, keepdim=keep)]
            return [torch.argmax(x, dim=ax, keepdim=keep)]
        if op == "Pad":
            pads = ints(1)
            nd = len(pads) // 2
            axes = ints(3) if has(3) else list(range(nd))
            tp = [0, 0] * x.dim()
            for i, ax in enumerate(axes):
                ax %= x.dim()
                tp[2 * (x.dim() - 1 - ax)] = pads[i]
                tp[2 * (x.dim() - 1 - ax) + 1] = pads[i + nd]
            mode = a.get("mode", "constant")
            if mode == "constant":
                cv = v[2].item() if has(2) else 0.0
                return [F.pad(x, tp, value=cv)]
            return [F.pad(x, tp, mode={"reflect": "reflect", "edge": "replicate"}[mode])]
        raise NotImplementedError("op %s" % op)


def torch_model(path, dtype, feeds, notes):
    """A callable running the ONNX file in PyTorch (onnx2torch when installed, else the
    interpreter above), and which of the two it is."""
    torch = load_torch()
    try:
        from onnx2torch import convert
        mod = convert(path).eval().to("cuda").to(dtype)
        return mod, "onnx2torch"
    except ImportError:
        pass
    except Exception as e:  # a model onnx2torch cannot convert: the interpreter may still run it
        notes.append("onnx2torch could not convert %s (%s); using the built-in interpreter" %
                     (os.path.basename(path), str(e)[:200]))
    return OnnxInterpreter(path, dtype, torch.device("cuda"), feeds).module, "onnx-interpreter"


def as_tuple(o):
    if isinstance(o, (list, tuple)):
        r = []
        for x in o:
            r += as_tuple(x)
        return tuple(r)
    return (o,)


def time_torch_model(fn, host_feeds, dtype, seconds, warmup, min_runs):
    """Host-to-host latency per inference in seconds (sorted), like zenith-bench single-stream:
    pinned inputs copied to the device, the model, outputs as f32 copied to pinned host memory."""
    torch = load_torch()
    dev_in = []
    pinned = []
    for v in host_feeds:
        t = torch.from_numpy(v).pin_memory()
        pinned.append(t)
        d = torch.empty(t.shape, dtype=t.dtype, device="cuda")
        dev_in.append(d)
    out_host = None

    def once():
        nonlocal out_host
        args = []
        for p, d in zip(pinned, dev_in):
            d.copy_(p, non_blocking=True)
            args.append(d.to(dtype) if d.is_floating_point() else d)
        outs = as_tuple(fn(*args))
        if out_host is None:
            out_host = [torch.empty(o.shape, dtype=torch.float32 if o.is_floating_point() else o.dtype,
                                    pin_memory=True) for o in outs]
        for h, o in zip(out_host, outs):
            h.copy_(o.float() if o.is_floating_point() else o, non_blocking=True)
        torch.cuda.synchronize()

    with torch.inference_mode():
        for _ in range(warmup):
            once()
        lat = []
        t_end = time.perf_counter() + seconds
        while len(lat) < min_runs or (time.perf_counter() < t_end and len(lat) < 100000):
            t0 = time.perf_counter()
            once()
            lat.append(time.perf_counter() - t0)
    return sorted(lat)


def summary_of(lat_s, batch):
    total = sum(lat_s)
    return {"p10_ms": percentile(lat_s, 10) * 1e3, "p50_ms": percentile(lat_s, 50) * 1e3, "p90_ms": percentile(lat_s, 90) * 1e3,
            "runs": len(lat_s), "samples_per_s": batch * len(lat_s) / total if total else 0.0}


# ---- Zenith ------------------------------------------------------------------------------------

def case_inputs(case, specs):
    """Synthetic inputs: token ids in BERT's vocabulary, attention mask of ones, N(0,1) images."""
    import numpy as np
    rng = np.random.default_rng(42)
    feeds = {}
    for name, dt, shape in specs:
        if dt == np.int64 or dt == np.int32:
            feeds[name] = (np.ones(shape, dtype=dt) if "mask" in name else
                           rng.integers(0, 30522, size=shape).astype(dt))
        else:
            feeds[name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def input_specs(path, case):
    import numpy as np
    import onnx
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    bind = {"batch": case["batch"], "seq": case.get("seq", 128), "height": case.get("hw", 224),
            "width": case.get("hw", 224)}
    specs = []
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        shape = tuple(int(d.dim_value) if d.HasField("dim_value") else int(bind.get(d.dim_param, 1))
                      for d in tt.shape.dim)
        dt = {1: np.float32, 7: np.int64, 6: np.int32, 9: np.bool_}.get(tt.elem_type, np.float32)
        specs.append((vi.name, dt, shape))
    return specs


def zenith_run(a, model, case, specs, tag):
    out = os.path.join(a.work, "zenith-%s.json" % tag)
    if os.path.exists(out):
        os.remove(out)
    cmd = [a.zenith, "run", "--model", model, "--backend", "cuda", "--precision", a.precision,
           "--mode", a.zenith_mode, "--scenario", "single-stream", "--batch", str(case["batch"]),
           "--duration", "%gs" % a.seconds, "--max-duration", "600s", "--min-queries", str(a.min_runs),
           "--warmup", str(a.warmup), "--no-profile", "--json", out, "-q"] + shape_args(specs)
    rc, text = run_cmd(cmd, timeout=1200)
    if rc not in (0, 1) or not os.path.exists(out):
        raise RuntimeError("zenith-bench run failed (exit %d): %s" % (rc, text[-1500:]))
    with open(out) as f:
        rec = json.load(f)
    res = rec.get("results") or {}
    if not res.get("query_count"):
        raise RuntimeError("zenith-bench run completed no query: %s" % text[-800:])
    return {"p50_ms": res["p50_ns"] / 1e6, "p90_ms": res["p90_ns"] / 1e6,
            "p10_ms": None, "runs": res["query_count"], "samples_per_s": res["samples_per_second"],
            "verdict": res.get("verdict"), "compile": rec.get("compile", {}), "record": out}


def write_test_data(folder, specs, feeds, outs, out_names):
    import numpy as np
    from onnx import numpy_helper
    os.makedirs(folder, exist_ok=True)
    for k, (name, _, _) in enumerate(specs):
        with open(os.path.join(folder, "input_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(feeds[name], name).SerializeToString())
    for k, (name, arr) in enumerate(zip(out_names, outs)):
        with open(os.path.join(folder, "output_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(arr), name).SerializeToString())


# ---- the model cases -----------------------------------------------------------------------------

def bench_model(a, case, rows, notes, record):
    import numpy as np
    import onnx
    torch = load_torch()
    name = case["name"]
    log("== %s" % name)
    path = os.path.join(a.work, "%s.onnx" % case["model"])
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(a.zenith):
        rc, text = run_cmd([a.zenith, "export", "--model", case["model"], "--out", path, "-q"], timeout=900)
        if rc != 0:
            raise RuntimeError("export failed: %s" % text[-500:])
    specs = input_specs(path, case)
    feeds = case_inputs(case, specs)
    res = {"model": case["model"], "batch": case["batch"], "inputs": {n: list(s) for n, _, s in specs},
           "zenith": None, "torch": {}}
    record["models"][name] = res
    out_names = [o.name for o in onnx.load(path, load_external_data=False).graph.output]
    host = [feeds[n] for n, _, _ in specs]

    # PyTorch fp32 (TF32 off) as the reference for both, at batch 1
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ref_outs = None
    fp16_mod = None
    try:
        if case["batch"] == 1 and not a.no_check:
            mod32, how = torch_model(path, torch.float32, feeds, notes)
            with torch.inference_mode():
                ref = as_tuple(mod32(*[torch.from_numpy(v).cuda() for v in host]))
            ref_outs = [r.float().cpu().numpy() for r in ref]
            del mod32
            torch.cuda.empty_cache()
        fp16_mod, how = torch_model(path, torch.float16, feeds, notes)
        res["torch_via"] = how
        if ref_outs is not None:
            with torch.inference_mode():
                got = as_tuple(fp16_mod(*[(torch.from_numpy(v).cuda().half() if v.dtype == np.float32
                                           else torch.from_numpy(v).cuda()) for v in host]))
            errs = []
            for g16, r in zip(got, ref_outs):
                g = g16.float().cpu().numpy().astype(np.float64)
                rr = r.astype(np.float64)
                rms = float(np.sqrt(np.mean(rr * rr))) or 1.0
                cos = float(np.dot(g.ravel(), rr.ravel()) / (np.linalg.norm(g) * np.linalg.norm(rr) or 1.0))
                errs.append({"max_abs_over_rms": float(np.max(np.abs(g - rr))) / rms, "cosine": cos})
            res["torch_fp16_vs_fp32"] = errs
    except Exception as e:
        notes.append("%s: PyTorch could not run the model: %s" % (name, str(e)[:300]))
        fp16_mod = None

    # correctness gate: Zenith fp16 vs PyTorch fp32
    if ref_outs is not None:
        d = os.path.join(a.work, "check-%s" % case["model"], "test_data_set_0")
        write_test_data(d, specs, feeds, ref_outs, out_names)
        # a dozen fp16 layers against fp32: element tolerance 5e-2, cosine >= 0.999
        rc, text = run_cmd([a.zenith, "check", "--model", path, "--data", d, "--backend", "cuda",
                            "--precision", a.precision, "--atol", "0.05", "--rtol", "0.05", "--min-cosine",
                            "0.999"], timeout=900)
        res["zenith_matches_torch_fp32"] = rc == 0
        res["check_output"] = text[-1500:]
        if rc != 0:
            notes.append("%s: Zenith's %s outputs differ from PyTorch fp32 (zenith-bench check exit %d):\n%s" %
                         (name, a.precision, rc, text[-800:]))

    # Zenith
    try:
        res["zenith"] = zenith_run(a, path, case, specs, name.replace(" ", "_"))
    except RuntimeError as e:
        notes.append("%s: %s" % (name, e))

    # PyTorch eager and compiled
    if fp16_mod is not None:
        try:
            lat = time_torch_model(fp16_mod, host, torch.float16, a.seconds, a.warmup, a.min_runs)
            res["torch"]["eager-fp16"] = summary_of(lat, case["batch"])
        except Exception as e:
            notes.append("%s: PyTorch eager failed: %s" % (name, str(e)[:300]))
        if not a.no_compile:
            try:
                t0 = time.time()
                comp = torch.compile(fp16_mod, mode=a.torch_compile_mode)
                lat = time_torch_model(comp, host, torch.float16, a.seconds, max(a.warmup, 5), a.min_runs)
                s = summary_of(lat, case["batch"])
                s["compile_and_warmup_s"] = time.time() - t0
                res["torch"]["compile-%s" % a.torch_compile_mode] = s
            except Exception as e:
                notes.append("%s: torch.compile failed: %s" % (name, str(e)[:300]))
        del fp16_mod
        torch.cuda.empty_cache()

    z = res["zenith"]
    metric = "p50_ms" if case["metric"] == "latency" else "samples_per_s"
    for peer, v in res["torch"].items():
        add_row(rows, name, metric, z[metric] if z else None, "torch " + peer, v[metric],
                z["p90_ms"] if z and metric == "p50_ms" else None, v.get("p90_ms") if metric == "p50_ms" else None)
    if not res["torch"]:
        add_row(rows, name, metric, z[metric] if z else None, "(no peer)", None)


# ---- the kernel cases ----------------------------------------------------------------------------

def time_torch_kernel(fn, reps):
    """Seconds per call: CALLS calls captured in a CUDA graph, replayed for >= 20 ms, per round."""
    torch = load_torch()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):  # warm-up on a side stream, as CUDA graph capture wants
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(CALLS):
            fn()
    torch.cuda.synchronize()
    per = []
    for _ in range(reps):
        n = 0
        t0 = time.perf_counter()
        while True:
            g.replay()
            n += CALLS
            if n % (CALLS * 10) == 0:
                torch.cuda.synchronize()
                if time.perf_counter() - t0 >= 0.02:
                    break
        torch.cuda.synchronize()
        per.append((time.perf_counter() - t0) / n)
    per.sort()
    return per


def bench_kernels(a, rows, notes, record):
    if not a.kernel_bench or not os.path.exists(a.kernel_bench):
        notes.append("kernels: no gpu_kernel_bench binary (--kernel-bench); attention and GEMM skipped")
        return
    out = os.path.join(a.work, "kernels.json")
    rc, text = run_cmd([a.kernel_bench, "--reps", str(a.reps), "--json", out], timeout=1800)
    log(text.rstrip())
    if rc != 0 or not os.path.exists(out):
        notes.append("kernels: gpu_kernel_bench failed (exit %d): %s" % (rc, text[-600:]))
        return
    with open(out) as f:
        zk = json.load(f)
    record["kernels"] = {"zenith": zk, "torch": {}}
    torch = load_torch()
    F = torch.nn.functional
    torch.backends.cuda.matmul.allow_tf32 = False
    for r in zk.get("results", []):
        case = r["case"]
        try:
            if r["kind"] == "attention":
                B, S, H, D = r["B"], r["S"], r["H"], r["D"]
                # Zenith's layout (B, S, H*D) viewed as SDPA's (B, H, S, D): no copies timed
                q, k, v = (torch.randn(B, S, H, D, device="cuda", dtype=torch.float16).transpose(1, 2)
                           for _ in range(3))
                mask = None
                if r["mask"]:
                    mask = torch.zeros(B, 1, 1, S, device="cuda", dtype=torch.float16)
                    mask[1::2, :, :, S - S // 4:] = -10000.0
                scale = 1.0 / (D ** 0.5)

                def fn(q=q, k=k, v=v, mask=mask, causal=r["causal"], scale=scale):
                    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=scale)
                peer = "torch sdpa"
            else:
                M, N, K = r["M"], r["N"], r["K"]
                x = torch.randn(M, K, device="cuda", dtype=torch.float16)
                w = torch.randn(K, N, device="cuda", dtype=torch.float16)
                if r.get("activation") == "gelu":
                    b = torch.randn(N, device="cuda", dtype=torch.float16)

                    def fn(x=x, w=w, b=b):
                        return F.gelu(torch.addmm(b, x, w))
                    peer = "torch addmm+gelu"
                else:
                    def fn(x=x, w=w):
                        return torch.matmul(x, w)
                    peer = "torch matmul (cuBLAS)"
            per = time_torch_kernel(fn, a.reps)
            t = {"us_median": 1e6 * per[len(per) // 2], "us_min": 1e6 * per[0], "us_max": 1e6 * per[-1],
                 "peer": peer}
            record["kernels"]["torch"][case] = t
            zen = r["us_median"] if not r.get("error") else None
            if r.get("error"):
                notes.append("kernels: %s: Zenith did not run: %s" % (case, r["error"]))
            add_row(rows, case, "us", zen, peer, t["us_median"], None, None,
                    spread=(r.get("us_min"), r.get("us_max"), t["us_min"], t["us_max"]))
        except Exception as e:
            notes.append("kernels: %s: PyTorch failed: %s" % (case, str(e)[:300]))


# ---- the table -----------------------------------------------------------------------------------

def add_row(rows, case, metric, zen, peer, peer_v, zen_p90=None, peer_p90=None, spread=None):
    lower_is_better = metric in ("p50_ms", "us")
    ratio = None
    if zen and peer_v:
        ratio = peer_v / zen if lower_is_better else zen / peer_v
    rows.append({"case": case, "metric": metric, "zenith": zen, "peer": peer, "peer_value": peer_v,
                 "ratio": ratio, "zenith_p90": zen_p90, "peer_p90": peer_p90, "spread": spread})


def fmt(metric, v):
    if v is None:
        return "-"
    if metric == "p50_ms":
        return "%.3f ms" % v
    if metric == "us":
        return "%.1f us" % v
    return "%.1f /s" % v


def spread_of(r):
    """p90 for latencies (Zenith / peer), min-max of the rounds for kernels."""
    def num(v):
        return "-" if v is None else ("%.3g" % v)
    if r["metric"] == "p50_ms" and (r.get("zenith_p90") or r.get("peer_p90")):
        return "p90 %s / %s ms" % (num(r.get("zenith_p90")), num(r.get("peer_p90")))
    if r["metric"] == "us" and r.get("spread"):
        zmin, zmax, pmin, pmax = r["spread"]
        return "%s-%s / %s-%s us" % (num(zmin), num(zmax), num(pmin), num(pmax))
    return ""


def print_table(rows, short=False):
    hdr = ("case", "metric", "Zenith", "peer", "peer value", "ratio", "spread (Zenith / peer)")
    lines = [hdr]
    for r in rows:
        metric = {"p50_ms": "p50", "us": "kernel", "samples_per_s": "samples/s"}.get(r["metric"], r["metric"])
        lines.append((r["case"], metric, fmt(r["metric"], r["zenith"]), r["peer"], fmt(r["metric"], r["peer_value"]),
                      "%.2fx" % r["ratio"] if r["ratio"] else "-", spread_of(r)))
    if short:
        lines = [("case", "Zenith", "peer", "ratio")] + [(l[0], l[2], "%s %s" % (l[3], l[4]), l[5]) for l in lines[1:]]
    w = [max(len(str(l[i])) for l in lines) for i in range(len(lines[0]))]
    for i, l in enumerate(lines):
        print("  ".join(str(c).ljust(w[k]) for k, c in enumerate(l)).rstrip())
        if i == 0:
            print("  ".join("-" * x for x in w))
    print("ratio = times faster for Zenith (peer time / Zenith time, Zenith samples/s / peer samples/s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--zenith", default="build/zenith-bench")
    ap.add_argument("--kernel-bench", default=None, help="build/gpu_kernel_bench (attention, GEMM)")
    ap.add_argument("--out", default="build/bench-gpu.json")
    ap.add_argument("--work", help="folder for exported models, run records, test data (default: "
                    "beside --out, bench-gpu/)")
    ap.add_argument("--cases", help="comma list: bert, resnet, kernels (default all)")
    ap.add_argument("--precision", default="fp16", choices=["fp16", "bf16", "fp32", "tf32"])
    ap.add_argument("--zenith-mode", default="reduce-overhead", choices=["default", "reduce-overhead", "max-autotune"])
    ap.add_argument("--torch-compile-mode", default="reduce-overhead",
                    help="torch.compile mode (default reduce-overhead: CUDA graphs, like Zenith's)")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile (it takes minutes)")
    ap.add_argument("--no-check", action="store_true", help="skip the correctness gate")
    ap.add_argument("--seconds", type=float, help="timed seconds per system and case (default 3; quick 0.5)")
    ap.add_argument("--min-runs", type=int, default=64,
                    help="timed runs at least (64: enough for zenith-bench's p90 early-stopping rule)")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--reps", type=int, help="kernel rounds (default 7; quick 3)")
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                    help="smoke run: batch-1 cases, short timings, no torch.compile (also BENCH_QUICK=1)")
    ap.add_argument("--detect", action="store_true", help="only say whether a usable GPU is here (exit 0/1)")
    ap.add_argument("--table", metavar="JSON", help="print the short table of a finished run and exit")
    a = ap.parse_args()

    if a.table:
        with open(a.table) as f:
            rec = json.load(f)
        print("Zenith vs PyTorch on %s (%s, Zenith %s)" % (rec.get("device", "?"), rec.get("precision", "?"),
                                                          rec.get("zenith_mode", "?")))
        print_table(rec.get("rows", []), short=True)
        return 0
    a.zenith = os.path.abspath(a.zenith)
    ok, why = detect(a.zenith)
    if a.detect:
        print(("GPU: " if ok else "no GPU bench: ") + why)
        return 0 if ok else 1
    if not ok:
        print("bench_gpu: skipped: %s" % why)
        return 0
    try:
        torch = load_torch()
        for needed in ("numpy", "onnx"):
            __import__(needed)
        if not torch.cuda.is_available():
            print("bench_gpu: skipped: PyTorch %s sees no CUDA device" % torch.__version__)
            return 0
    except ImportError as e:
        print("bench_gpu: PyTorch, numpy and onnx are needed for the peers (%s)" % e, file=sys.stderr)
        return 2
    if a.seconds is None:
        a.seconds = 0.5 if a.quick else 3.0
    if a.reps is None:
        a.reps = 3 if a.quick else 7
    if a.quick:
        a.no_compile = True
    a.work = a.work or os.path.join(os.path.dirname(os.path.abspath(a.out)), "bench-gpu")
    os.makedirs(a.work, exist_ok=True)
    if a.kernel_bench:
        a.kernel_bench = os.path.abspath(a.kernel_bench)
    only = set(a.cases.split(",")) if a.cases else None
    notes, rows = [], []
    record = {"tool": "zenith bench_gpu.py", "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "device": why,
              "torch": torch.__version__, "cuda": torch.version.cuda, "precision": a.precision,
              "zenith_mode": a.zenith_mode, "torch_compile_mode": None if a.no_compile else a.torch_compile_mode,
              "seconds": a.seconds, "reps": a.reps, "quick": a.quick, "machine": {"platform": platform.platform(),
                                                                                   "cpus": os.cpu_count()},
              "models": {}, "kernels": None}
    for case in MODEL_CASES:
        fam = "bert" if case["model"].startswith("bert") else "resnet"
        if only and fam not in only and case["name"] not in only:
            continue
        if a.quick and case["batch"] != 1:
            continue
        try:
            bench_model(a, case, rows, notes, record)
        except Exception as e:  # one case failing must not lose the others
            notes.append("%s: failed: %s" % (case["name"], str(e)[:600]))
            log("== %s failed: %s" % (case["name"], e))
    if not only or "kernels" in only:
        bench_kernels(a, rows, notes, record)
    record["rows"] = rows
    record["notes"] = notes
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, a.out)
    print()
    print("Zenith (CUDA, %s, %s) vs PyTorch %s on %s%s" % (a.precision, a.zenith_mode, torch.__version__, why,
                                                         " (quick: numbers are noise)" if a.quick else ""))
    print_table(rows)
    for n in notes:
        print("note: " + n)
    print("wrote %s" % a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
