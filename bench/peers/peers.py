#!/usr/bin/env python3
"""Peers of drmad on the same machine (issue 6 §2, issue 12 §2).

Measures, for the same networks, data sizes, T, batch sizes and initial-weight
policy as bench-hypergrad (BUILD/bench/bench-hypergrad, BUILD from --build, default build):

  jax      plain        T steps of momentum SGD (jit, lax.scan): the unit
  jax      exact        jax.grad of f(theta) through the whole lax.scan training
  jax      exact-remat1 the same with jax.checkpoint on the scan body
  jax      exact-rematK the same with jax.checkpoint on chunks of ceil(sqrt T) steps
  autograd plain        T steps in numpy, the gradient by autograd.grad
  autograd drmad        DrMAD as its authors' code does it: the forward pass keeps
                        w_0 and w_T; the reverse loop interpolates w, recomputes the
                        minibatch gradient and takes the HVP as grad of (g . u)
  autograd drmad-noG    the same without recomputing g_t (the authors needed it for
                        d gamma only; theta here has no momentum): the fairer peer
  ours     plain, exact1, exact, piecewise8, drmad   (bench-hypergrad --methods M)

theta = (lambda_l, log eta_l) per layer: exp(lambda) = 1e-4 (L2 on weights only),
eta = 0.1 (0.05 for 784-50-50-50-10), momentum 0.9 fixed; f(theta) = unregularised
validation cross-entropy at w_T (docs/algorithm.md §1).

Every measurement runs in a fresh subprocess (peak RSS is its own, read by the
parent with os.wait4); inside it the measured call runs twice and the second is
timed, the first minus the second is reported as compile/warm-up time. Plain
training, the shortest, is timed five times after the first call and the
median reported, on both sides (bench-hypergrad times ours plain five times).

The output ends with one line per target of issue 12 §2, each over both nets
at T = 1000 (the worst of the two decides; a target not measured is missed):

  target NAME: VALUE - met        or        target NAME: VALUE - missed

  plain training <= 1.0x JAX plain              ours plain / jax plain
  exact hypergradient <= 1.0x fastest JAX exact the fastest of ours exact (checkpoints every
                                                ceil(sqrt T) steps, the library's default) and
                                                exact1 (every state stored, as jax exact stores
                                                every step's residuals) / the fastest of jax exact,
                                                exact-remat1, exact-rematK; the line also gives
                                                ours exact / jax exact-rematK, the two that store
                                                O(sqrt T) states
  DrMAD meta-iteration <= 0.5x JAX exact        ours drmad-R / jax exact (bench-hypergrad's drmad-R:
                                                the library's default, R = ceil(T/10) points on the
                                                line as the authors' code; its 'drmad' is the full
                                                line, T reverse steps as autograd drmad, and is
                                                what the autograd ratios compare)
  training step <= 1.3x GEMM floor              ours plain's 'x floor': its time per step over the
                                                GEMMs of one training step alone (on OpenBLAS or on
                                                the step's own kernels, whichever is faster), on as many threads
                                                as the step shares (DRMAD_HOST_THREADS), both measured
                                                by the same bench-hypergrad process (its floor line);
                                                beside it the team's cross-core round trip, which the
                                                step's ratio follows on a VM and the floor does not

  bench/peers/setup.sh && bench/peers/.venv/bin/python bench/peers/peers.py --iters 100,300,1000
"""

import argparse
import csv
import gzip
import json
import math
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA_DIR = "/usr/share/datasets/fashion-mnist"
NETS = {  # name: (layer sizes, batch, learning rate)
    "784-100-100-10": ((784, 100, 100, 10), 100, 0.1),
    "784-50-50-50-10": ((784, 50, 50, 50, 10), 50, 0.05),
}
L2 = 1e-4
MOMENTUM = 0.9
N_TRAIN, N_VAL = 10000, 5000
DATA_SEED, RUN_SEED = 1, 7

PEER_METHODS = [("jax", "plain"), ("jax", "exact"), ("jax", "exact-remat1"), ("jax", "exact-rematK"),
                ("autograd", "plain"), ("autograd", "drmad"), ("autograd", "drmad-noG")]
OUR_METHODS = ["plain", "exact1", "exact", "piecewise8", "drmad", "drmad-R"]
TARGET_T = 1000  # issue 12 §2: the targets are ratios at T = 1000, both nets


# ---------------------------------------------------------------- data, init

def read_idx(path):
    """A gzip'd IDX file (the MNIST format) as a numpy array."""
    import numpy as np
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_data():
    """10000 train / 5000 validation examples of the Fashion-MNIST training
    file, picked by a seeded permutation; features standardised with the
    training split's per-feature mean and std (std < 1e-6 -> 1)."""
    import numpy as np
    images = read_idx(os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, "train-labels-idx1-ubyte.gz"))
    perm = np.random.default_rng(DATA_SEED).permutation(len(images))
    tr, va = perm[:N_TRAIN], perm[N_TRAIN:N_TRAIN + N_VAL]
    x_tr = images[tr].reshape(N_TRAIN, -1).astype(np.float64)
    x_va = images[va].reshape(N_VAL, -1).astype(np.float64)
    del images  # only the 15000 chosen rows are ever converted
    mean = x_tr.mean(axis=0)
    std = x_tr.std(axis=0)
    std[std < 1e-6] = 1.0
    return (((x_tr - mean) / std).astype(np.float32), labels[tr].astype(np.int32),
            ((x_va - mean) / std).astype(np.float32), labels[va].astype(np.int32))


def init_weights(sizes, dtype):
    """W_l = Z / sqrt(fan_in), Z ~ N(0, 1) from a fixed seed; biases 0."""
    import numpy as np
    rng = np.random.default_rng(RUN_SEED)
    return [((rng.standard_normal((a, b)) / math.sqrt(a)).astype(dtype), np.zeros(b, dtype))
            for a, b in zip(sizes[:-1], sizes[1:])]


def minibatches(T, batch):
    """(T, batch) example indices: a fresh random permutation each epoch, batch
    t = its slice. Stored (T*batch int32: 1.2 MB at T = 3000) so that the
    reverse pass regenerates B_t."""
    import numpy as np
    rng = np.random.default_rng(RUN_SEED + 1)
    per_epoch = N_TRAIN // batch
    out = np.empty((T, batch), np.int32)
    perm = None
    for t in range(T):
        if t % per_epoch == 0:
            perm = rng.permutation(N_TRAIN)
        k = t % per_epoch
        out[t] = perm[k * batch:(k + 1) * batch]
    return out


def rss_now_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- JAX peer

def jax_worker(spec):
    if spec.get("x64"):
        os.environ["JAX_ENABLE_X64"] = "1"
    import numpy as np
    import jax
    import jax.numpy as jnp
    from jax import lax

    dtype = np.float64 if spec.get("x64") else np.float32
    sizes, batch, lr = NETS[spec["net"]]
    T = spec["T"]
    n_layers = len(sizes) - 1
    xtr, ytr, xva, yva = load_data()
    X, Y = jnp.asarray(xtr, dtype), jnp.asarray(ytr)
    Xv, Yv = jnp.asarray(xva, dtype), jnp.asarray(yva)
    idx = jnp.asarray(minibatches(T, batch))
    w0 = [(jnp.asarray(W), jnp.asarray(b)) for W, b in init_weights(sizes, dtype)]
    theta0 = (jnp.full(n_layers, math.log(L2), dtype), jnp.full(n_layers, math.log(lr), dtype))

    def forward(params, x):
        for W, b in params[:-1]:
            x = jax.nn.relu(x @ W + b)
        W, b = params[-1]
        return x @ W + b

    def cross_entropy(params, x, y):
        z = forward(params, x)
        return jnp.mean(jax.nn.logsumexp(z, axis=1) - jnp.take_along_axis(z, y[:, None], axis=1)[:, 0])

    def train_loss(params, x, y, lam):
        penalty = sum(jnp.exp(lam[l]) * jnp.sum(W * W) for l, (W, _) in enumerate(params))
        return cross_entropy(params, x, y) + 0.5 * penalty

    grad_w = jax.grad(train_loss)

    def train(theta, w, X, Y, idx, remat):
        lam, log_eta = theta
        eta = jnp.exp(log_eta)

        def step(carry, ix):
            w, v = carry
            g = grad_w(w, X[ix], Y[ix], lam)
            v = [(MOMENTUM * vW - (1 - MOMENTUM) * gW, MOMENTUM * vb - (1 - MOMENTUM) * gb)
                 for (vW, vb), (gW, gb) in zip(v, g)]
            w = [(W + eta[l] * vW, b + eta[l] * vb) for l, ((W, b), (vW, vb)) in enumerate(zip(w, v))]
            return (w, v), None

        carry = (w, jax.tree_util.tree_map(jnp.zeros_like, w))
        n = idx.shape[0]
        if remat == "none":
            carry, _ = lax.scan(step, carry, idx)
        elif remat == "step":
            carry, _ = lax.scan(jax.checkpoint(step), carry, idx)
        else:  # chunks of k = ceil(sqrt T) steps, each a checkpointed inner scan
            k = min(n, math.ceil(math.sqrt(n)))
            chunk = jax.checkpoint(lambda c, ixs: (lax.scan(step, c, ixs)[0], None))
            full = n // k
            carry, _ = lax.scan(chunk, carry, idx[:full * k].reshape(full, k, -1))
            if n - full * k:
                carry, _ = chunk(carry, idx[full * k:])
        return carry[0]

    def meta_loss(theta, w, X, Y, Xv, Yv, idx, remat):
        return cross_entropy(train(theta, w, X, Y, idx, remat), Xv, Yv)

    method = spec["method"]
    if method == "plain":
        fn = jax.jit(lambda theta, w, X, Y, idx: train(theta, w, X, Y, idx, "none"))
        args = (theta0, w0, X, Y, idx)
    elif method == "fd-check":
        return jax_fd_check(spec, jax, jnp, meta_loss, theta0, w0, X, Y, Xv, Yv, idx)
    else:
        remat = {"exact": "none", "exact-remat1": "step", "exact-rematK": "sqrt"}[method]
        fn = jax.jit(jax.value_and_grad(meta_loss), static_argnums=7)
        args = (theta0, w0, X, Y, Xv, Yv, idx, remat)
    base = rss_now_mib()
    times = []
    # plain: five timed calls after the first, the median reported, as bench-hypergrad times ours
    for _ in range(6 if method == "plain" else 2):
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    result = {"first_s": times[0], "steady_s": sorted(times[1:])[len(times[1:]) // 2], "base_rss_mib": base}
    if method != "plain":
        value, (dlam, dlog_eta) = out
        result["val_loss"] = float(value)
        result["hypergrad"] = [float(x) for x in np.concatenate([np.asarray(dlam), np.asarray(dlog_eta)])]
    return result


def jax_fd_check(spec, jax, jnp, meta_loss, theta0, w0, X, Y, Xv, Yv, idx):
    """Exact hypergradient (jax.grad through the scan) against central
    differences of f itself, float64, on two components of theta."""
    import numpy as np
    f = jax.jit(meta_loss, static_argnums=7)
    g = jax.jit(jax.grad(meta_loss), static_argnums=7)
    dlam, dlog_eta = g(theta0, w0, X, Y, Xv, Yv, idx, "none")
    grad_flat = np.concatenate([np.asarray(dlam), np.asarray(dlog_eta)])
    n_layers = len(theta0[0])
    checks = []
    for component in (0, n_layers + 1):  # lambda of the first layer, log eta of the second
        for eps in spec["fd_eps"]:
            def shifted(sign):
                flat = np.concatenate([np.asarray(theta0[0]), np.asarray(theta0[1])])
                flat[component] += sign * eps
                return (jnp.asarray(flat[:n_layers]), jnp.asarray(flat[n_layers:]))
            fd = (float(f(shifted(+1), w0, X, Y, Xv, Yv, idx, "none"))
                  - float(f(shifted(-1), w0, X, Y, Xv, Yv, idx, "none"))) / (2 * eps)
            name = ("lambda_%d" % component) if component < n_layers else ("log_eta_%d" % (component - n_layers))
            checks.append({"component": name, "eps": eps, "jax": float(grad_flat[component]), "fd": fd,
                           "relative_error": abs(grad_flat[component] - fd) / max(abs(fd), 1e-300)})
    return {"checks": checks}


# ---------------------------------------------------------------- autograd peer

def autograd_worker(spec):
    import numpy as onp
    import autograd.numpy as np
    from autograd import grad, value_and_grad

    sizes, batch, lr = NETS[spec["net"]]
    T = spec["T"]
    n_layers = len(sizes) - 1
    f32 = onp.float32
    xtr, ytr, xva, yva = load_data()
    idx = minibatches(T, batch)
    w_init = init_weights(sizes, f32)
    # One flat parameter vector, as the authors' VectorParser: [W_1, b_1, W_2, b_2, ...]
    spans = []
    offset = 0
    for a, b in zip(sizes[:-1], sizes[1:]):
        spans.append(((offset, offset + a * b, (a, b)), (offset + a * b, offset + a * b + b)))
        offset += a * b + b
    P = offset
    w0 = onp.concatenate([onp.concatenate([W.ravel(), bb]) for W, bb in w_init]).astype(f32)
    layer_of = onp.empty(P, onp.int64)
    weight_mask = onp.zeros(P, bool)
    for l, ((ws, we, _), (bs, be)) in enumerate(spans):
        layer_of[ws:be] = l
        weight_mask[ws:we] = True
    lam = onp.full(n_layers, math.log(L2))
    log_eta = onp.full(n_layers, math.log(lr))
    eta_vec = onp.exp(log_eta)[layer_of].astype(f32)
    l2_vec = f32(1) * onp.exp(lam)[layer_of].astype(f32)
    l2_vec[~weight_mask] = 0
    Yonehot_tr = onp.eye(sizes[-1], dtype=f32)[ytr]
    Yonehot_va = onp.eye(sizes[-1], dtype=f32)[yva]

    def unpack(w):
        return [(w[ws:we].reshape(shape), w[bs:be]) for (ws, we, shape), (bs, be) in spans]

    def cross_entropy(w, x, y):
        h = x
        params = unpack(w)
        for W, b in params[:-1]:
            h = np.maximum(0.0, np.dot(h, W) + b)
        W, b = params[-1]
        z = np.dot(h, W) + b
        m = np.max(z, axis=1, keepdims=True)
        lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
        return -np.sum(y * (z - lse)) / x.shape[0]

    def train_loss(w, t):
        ix = idx[t]
        return cross_entropy(w, xtr[ix], Yonehot_tr[ix]) + 0.5 * np.dot(l2_vec * w, w)

    L_grad = grad(train_loss)
    # The authors' HVP: the gradient of the projection (g . d), by autograd.
    L_hvp = grad(lambda w, d, t: np.dot(L_grad(w, t), d))
    val_value_and_grad = value_and_grad(lambda w: cross_entropy(w, xva, Yonehot_va))

    def forward():
        w, v = w0.copy(), onp.zeros(P, f32)
        for t in range(T):
            g = L_grad(w, t)
            v = MOMENTUM * v - (1 - MOMENTUM) * g
            w = w + eta_vec * v
        return w  # only w_0 (kept) and w_T: O(P)

    def forward_stored():  # self-test only: the true trajectory, every (w_t, v_{t+1})
        w, v, ws, vs = w0.copy(), onp.zeros(P, f32), [], []
        for t in range(T):
            ws.append(w)
            g = L_grad(w, t)
            v = MOMENTUM * v - (1 - MOMENTUM) * g
            w = w + eta_vec * v
            vs.append(v)
        return w, ws, vs

    def drmad():
        if spec["method"] == "exact-stored":
            wT, ws, vs = forward_stored()
        else:
            wT = forward()
        f, dw = val_value_and_grad(wT)
        dw = dw.astype(f32)
        dv = onp.zeros(P, f32)
        dlam = onp.zeros(n_layers)
        deta = onp.zeros(n_layers)
        v_hat = ((wT - w0) / (T * eta_vec)).astype(f32)  # (w_T - w_0) / (T eta)
        for t in range(T - 1, -1, -1):
            if spec["method"] == "exact-stored":
                w, v_hat = ws[t], vs[t]
            else:
                beta = f32(t / T)
                w = (1 - beta) * w0 + beta * wT
            deta += onp.bincount(layer_of, dw * v_hat, n_layers)  # d eta_t = dw . v_{t+1}
            dv += eta_vec * dw
            if spec["method"] == "drmad":
                g = L_grad(w, t)  # as in the authors' loop (they need g_t for d gamma)
            u = (1 - MOMENTUM) * dv
            dw -= L_hvp(w, u, t)
            dlam -= onp.bincount(layer_of, l2_vec * w * u, n_layers)  # exp(lambda_l) <W_l, u_l>
            dv *= MOMENTUM
        return f, onp.concatenate([dlam, onp.exp(log_eta) * deta])

    base = rss_now_mib()
    times = []
    for _ in range(2):
        start = time.perf_counter()
        out = forward() if spec["method"] == "plain" else drmad()
        times.append(time.perf_counter() - start)
    result = {"first_s": times[0], "steady_s": times[1], "base_rss_mib": base}
    if spec["method"] != "plain":
        result["val_loss"] = float(out[0])
        result["hypergrad"] = [float(x) for x in out[1]]
    return result


# ---------------------------------------------------------------- worker entry

def worker_main(spec):
    if spec["impl"] == "jax":
        result = jax_worker(spec)
    else:
        result = autograd_worker(spec)
    result["peak_rss_mib_self"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------- parent

def busy_cpu_seconds():
    """CPU seconds spent by the whole machine so far (/proc/stat, all states but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


QUIET = 0.1  # cores that other processes may use while a row is measured


def wait_for_quiet(max_wait, probe=3.0):
    """Waits until the rest of the machine uses under QUIET cores over a probe
    of a few seconds, or max_wait seconds; returns the seconds waited."""
    start = time.perf_counter()
    while True:
        busy = busy_cpu_seconds()
        time.sleep(probe)
        if (busy_cpu_seconds() - busy) / probe < QUIET or time.perf_counter() - start > max_wait:
            return time.perf_counter() - start


def measure_quietly(run, args, label):
    """run() up to 1 + args.retries times, each after waiting for a quiet
    machine; keeps the quietest attempt."""
    best = None
    for attempt in range(1 + args.retries):
        waited = wait_for_quiet(args.quiet_wait)
        if waited > 10:
            print(f"  ({label}: waited {waited:.0f} s for a quiet machine)", flush=True)
        r = run()
        r["tries"] = attempt + 1
        if best is None or ("error" in best and "error" not in r) or \
                ("error" not in r and r.get("other_load", 0) < best.get("other_load", 0)):
            best = r
        if "error" in r or r.get("other_load", 0) <= QUIET:
            break
        print(f"  ({label}: other processes used {r['other_load']:.2f} cores meanwhile"
              + (": measuring again)" if attempt < args.retries else ": no retries left, kept)"), flush=True)
    return best


def run_child(argv, timeout, env=None):
    """Runs argv; returns (rc, wall seconds, peak RSS MiB of that child alone,
    stdout, stderr, other load). rc None: killed at the timeout. Other load:
    the CPU that everything else on the machine used meanwhile, in cores (a
    quiet machine gives about 0; 1 means another process took a whole core)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_start = busy_cpu_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=ROOT)
        rc, rusage = None, None
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                rc = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() - start > timeout:
                proc.kill()
                _, status, rusage = os.wait4(proc.pid, 0)
                rc = None
                break
            time.sleep(0.05)
        proc.returncode = -1  # reaped by wait4 already
        wall = time.perf_counter() - start
        other = max(0.0, busy_cpu_seconds() - busy_start - rusage.ru_utime - rusage.ru_stime) / wall
        out.seek(0)
        err.seek(0)
        return rc, wall, rusage.ru_maxrss / 1024, out.read().decode(errors="replace"), \
            err.read().decode(errors="replace"), other


def run_peer(spec, timeout):
    env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2")
    rc, wall, rss, out, err, other = run_child([sys.executable, os.path.abspath(__file__), "--worker",
                                                json.dumps(spec)], timeout, env)
    result = None
    for line in out.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    if rc != 0 or result is None:
        return {"error": "timed out" if rc is None else f"exit {rc}: {err.strip()[-400:]}", "wall_s": wall,
                "peak_rss_mib": rss}
    result["wall_s"] = wall
    result["peak_rss_mib"] = rss
    result["other_load"] = other
    return result


# bench-hypergrad's 'trip ns' above which the two cores count as far apart: on the 2-core Zen 5 VM a
# round trip took 75-200 ns in some hours and 360-510 ns in others, and a 784-50-50-50-10 step took
# 1.5x its GEMM floor in the first and 2.5x in the second (docs/benchmarks.md)
FAR_ROUND_TRIP_NS = 300

# bench-hypergrad's floor line: "NET floor on K threads: training step N us (one thread M us; ...), DrMAD
# reverse step N us (...)": each step's GEMMs on the threads the steps share (lib/host-team.c)
FLOOR_LINE = re.compile(r"^(\S+) floor(?: on (\d+) threads?)?: training step ([0-9.]+) us(?: \(one thread ([0-9.]+) us)?"
                        r".*DrMAD reverse step ([0-9.]+) us")


def run_ours(program, build_dir, net, T, method, timeout):
    sizes, batch, lr = NETS[net]
    env = dict(os.environ, POCL_CACHE_DIR=os.path.join(build_dir, "pocl-cache"))
    with tempfile.NamedTemporaryFile(suffix=".csv") as csv_file:
        argv = [program, "--net", ",".join(map(str, sizes)), "--batch", str(batch), "--lr", repr(lr),
                "--iters", str(T), "--methods", method, "--csv", csv_file.name]
        rc, wall, rss, out, err, other = run_child(argv, timeout, env)
        if rc != 0:
            return {"error": "timed out" if rc is None else f"exit {rc}: {err.strip()[-400:]}", "wall_s": wall,
                    "peak_rss_mib": rss}
        with open(csv_file.name) as f:
            rows = [r for r in csv.DictReader(f) if r.get("method") == method]
    if not rows:
        return {"error": "no CSV row", "wall_s": wall, "peak_rss_mib": rss}
    row = rows[0]
    result = {"steady_s": float(row["seconds"]), "peak_rss_mib": rss, "method_rss_mib": float(row["peak_rss_mib"]),
              "device_peak_mib": int(row["device_peak_bytes"]) / 1048576, "wall_s": wall, "other_load": other}
    if row.get("x_floor"):
        result["x_floor"] = float(row["x_floor"])
    if float(row.get("round_trip_ns") or 0) > 0:  # the team's cross-core round trip beside the floor
        result["round_trip_ns"] = float(row["round_trip_ns"])
    if float(row.get("alone_pct") or 0) > 0:  # steps the team could share that ran alone, timed faster so
        result["alone_pct"] = float(row["alone_pct"])
    for line in out.splitlines():
        m = FLOOR_LINE.match(line)
        if m:  # the GEMM floor this same process measured
            result["floor_train_us"], result["floor_reverse_us"] = float(m.group(3)), float(m.group(5))
            result["floor_threads"] = int(m.group(2) or 1)
            result["floor_train_one_us"] = float(m.group(4) or m.group(3))
        elif line.startswith(("BLAS: ", "device: ", "sgemm peak: ", "warning: ")):
            result.setdefault("header", []).append(line)
    return result


def run_ours_accuracy(program, build_dir, T, timeout):
    """Fallback when bench-hypergrad is missing: bench-hypergrad-accuracy
    (784-100-100-10 batch 100 only, its own theta), one process for all methods."""
    env = dict(os.environ, POCL_CACHE_DIR=os.path.join(build_dir, "pocl-cache"))
    with tempfile.NamedTemporaryFile(suffix=".csv") as csv_file:
        rc, wall, rss, out, err, _ = run_child([program, "--iters", str(T), "--snapshots", "8", "--csv",
                                                csv_file.name], timeout, env)
        if rc != 0:
            return {}
        with open(csv_file.name) as f:
            rows = [r for r in csv.DictReader(f) if r["group"] == "all"]
    results = {"plain": {"steady_s": float(rows[0]["plain_training_seconds"]), "peak_rss_mib": rss}}
    for r in rows:
        name = {"exact": "exact", "drmad": "drmad", "piecewise": "piecewise%s" % r["snapshots"]}[r["method"]]
        results[name] = {"steady_s": float(r["total_seconds"]), "peak_rss_mib": rss,
                         "device_peak_mib": int(r["device_peak_bytes"]) / 1048576}
    return results


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else float("nan")


def fmt(x, spec):
    if not (isinstance(x, (int, float)) and math.isfinite(x)):
        return "-"
    text = format(x, spec)
    return text.replace("-0", " 0") if text.strip() in ("-0", "-0.0", "-0.00") else text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", default="100,300,1000", help="horizons T (default 100,300,1000)")
    parser.add_argument("--nets", default=",".join(NETS), help="which nets (default both: %(default)s)")
    parser.add_argument("--budget", type=float, default=300,
                        help="skip a configuration whose subprocess would take longer than this many seconds, "
                             "estimated linearly in T from the largest smaller T measured (default 300)")
    parser.add_argument("--memory-budget-mib", type=float, default=16384,
                        help="skip a configuration whose peak RSS, estimated the same way, is above this (default 16384)")
    parser.add_argument("--quiet-wait", type=float, default=300,
                        help="before each measurement, wait up to this many seconds until other processes use "
                             f"under {QUIET} core (default 300)")
    parser.add_argument("--retries", type=int, default=2,
                        help="measure a row again, up to this many times, when other processes used more than "
                             f"{QUIET} core during it (default 2); the quietest attempt is kept")
    parser.add_argument("--skip-ours", action="store_true", help="only the peers")
    parser.add_argument("--skip-peers", action="store_true", help="only ours")
    parser.add_argument("--no-fd-check", action="store_true", help="skip the finite-difference sanity check")
    parser.add_argument("--fd-iters", type=int, default=100, help="T of the finite-difference check (default 100)")
    parser.add_argument("--csv", help="also write the table as CSV to this file")
    parser.add_argument("--build", default="build",
                        help="the meson build folder holding bench/bench-hypergrad, relative to the repository "
                             "root or absolute; its pocl-cache is PoCL's kernel cache (default %(default)s)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(json.loads(args.worker))
        return

    import numpy
    import jax
    import jaxlib
    import autograd
    from importlib.metadata import version
    iters = sorted(int(t) for t in args.iters.split(","))
    nets = [n.strip() for n in args.nets.split(",")]
    for n in nets:
        if n not in NETS:
            parser.error(f"unknown net {n}; known: {', '.join(NETS)}")
    print("peers.py: drmad against JAX (exact, unrolled) and HIPS autograd (DrMAD) on this machine")
    print(f"versions: python {sys.version.split()[0]}, jax {jax.__version__}, jaxlib {jaxlib.__version__}, "
          f"autograd {version('autograd')}, numpy {numpy.__version__}; {os.cpu_count()} CPUs")
    print(f"data:     Fashion-MNIST train file, {N_TRAIN} train / {N_VAL} validation examples by a seeded "
          "permutation (same sizes and distribution as ours, not the same examples), standardised")
    print(f"theta:    lambda and log eta per layer; exp(lambda) = {L2:g}, eta 0.1 (0.05 for 784-50-50-50-10), "
          f"momentum {MOMENTUM}, float32\n", flush=True)

    rows = []
    hypergrads = {}

    def record(net, T, impl, method, r):
        rows.append(dict(net=net, T=T, impl=impl, method=method, **r))
        status = r.get("error") or r.get("skipped")
        msg = status if status else (f"{r['steady_s']:.3f} s/meta-it, peak RSS {r['peak_rss_mib']:.0f} MiB"
                                     + (f", compile/first-call extra {r['first_s'] - r['steady_s']:.2f} s"
                                        if "first_s" in r else "")
                                     + (f", other load {r['other_load']:.2f} cores" if "other_load" in r else ""))
        print(f"  {net:16s} T={T:<5d} {impl:8s} {method:13s} {msg}", flush=True)
        if "hypergrad" in r:
            hypergrads[(net, T, impl, method)] = r["hypergrad"]
            r["hypergrad_finite"] = all(math.isfinite(x) for x in r["hypergrad"])

    build_dir = os.path.join(ROOT, args.build)  # an absolute --build stays as it is
    ours_program = os.path.join(build_dir, "bench", "bench-hypergrad")
    accuracy_program = os.path.join(build_dir, "bench", "bench-hypergrad-accuracy")
    use_accuracy = not os.access(ours_program, os.X_OK)
    if not args.skip_ours:
        print(f"ours:     {ours_program if not use_accuracy else accuracy_program + ' (bench-hypergrad missing)'}"
              "\n", flush=True)

    for net in nets:
        history = {}  # (impl, method) -> (T, wall, rss) of the largest T measured
        for T in iters:
            configs = [] if args.skip_peers else list(PEER_METHODS)
            if not args.skip_ours:
                configs += [("ours", m) for m in OUR_METHODS]
            if not args.skip_ours and use_accuracy:
                configs = [c for c in configs if c[0] != "ours"]
                if net == "784-100-100-10":
                    for m, r in run_ours_accuracy(accuracy_program, build_dir, T, 3 * args.budget).items():
                        record(net, T, "ours", m, r)
            for impl, method in configs:
                key = (impl, method)
                if key in history:
                    t0, wall0, rss0, fixed = history[key]
                    est_wall = fixed + (wall0 - fixed) * T / t0
                    est_rss = rss0 * T / t0
                    if est_wall > args.budget or est_rss > args.memory_budget_mib:
                        record(net, T, impl, method, {"skipped": f"skipped: estimated {est_wall:.0f} s, "
                                                      f"{est_rss:.0f} MiB from T={t0}"})
                        continue
                if impl == "ours":
                    r = measure_quietly(lambda: run_ours(ours_program, build_dir, net, T, method, 3 * args.budget),
                                        args, f"{net} T={T} {impl} {method}")
                else:
                    r = measure_quietly(lambda: run_peer({"impl": impl, "method": method, "net": net, "T": T},
                                                         3 * args.budget), args, f"{net} T={T} {impl} {method}")
                record(net, T, impl, method, r)
                if "error" not in r:
                    # the part of the wall time that does not grow with T: start-up and compilation
                    calls = 6 if impl == "jax" and method == "plain" else 2
                    fixed = max(0.0, r["wall_s"] - calls * r["steady_s"]) if impl != "ours" else 0.0
                    history[key] = (T, r["wall_s"], r["peak_rss_mib"], fixed)
                else:
                    history[key] = (T, float("inf"), float("inf"), 0.0)

    fd_lines = []
    if not args.no_fd_check and not args.skip_peers:
        print(f"\nsanity check: JAX exact vs central differences of f, float64, {nets[0]}, T={args.fd_iters}",
              flush=True)
        r = run_peer({"impl": "jax", "method": "fd-check", "net": nets[0], "T": args.fd_iters, "x64": True,
                      "fd_eps": [1e-4, 1e-6, 1e-7]}, 3 * args.budget)
        if "error" in r:
            fd_lines.append(f"  failed: {r['error']}")
        for c in r.get("checks", []):
            fd_lines.append(f"  {c['component']:10s} eps {c['eps']:g}: jax {c['jax']:+.6e}  fd {c['fd']:+.6e}  "
                            f"relative error {c['relative_error']:.2e}")
        print("\n".join(fd_lines), flush=True)

    # The table.
    def find(net, T, impl, method):
        for r in rows:
            if (r["net"], r["T"], r["impl"], r["method"]) == (net, T, impl, method) and "steady_s" in r:
                return r
        return None

    for r in rows:
        plain = find(r["net"], r["T"], r["impl"], "plain")
        r["x_plain"] = r["steady_s"] / plain["steady_s"] if plain and "steady_s" in r else float("nan")
        # JAX: the first call traces and compiles; numpy/autograd compile nothing
        r["compile_s"] = r["first_s"] - r["steady_s"] if "first_s" in r and r["impl"] == "jax" else float("nan")
        r["rss_over_plain_mib"] = (r["peak_rss_mib"] - plain["peak_rss_mib"]
                                   if plain and "steady_s" in r else float("nan"))

    header = (f"{'net':16s} {'T':>5s} {'impl':8s} {'method':13s} {'s/meta-it':>10s} {'x plain':>8s} "
              f"{'peak RSS MiB':>12s} {'over plain':>10s} {'compile s':>9s}  note")
    print("\n" + header)
    print("-" * len(header))
    for r in rows:
        note = r.get("error") or r.get("skipped") or ""
        if not note and r["impl"] == "ours" and "method_rss_mib" in r:
            note = f"in-process peak RSS {r['method_rss_mib']:.0f} MiB, device {r['device_peak_mib']:.0f} MiB"
            if "x_floor" in r:
                note += f", x floor {r['x_floor']:.2f}"
            if "round_trip_ns" in r:
                note += f", cross-core round trip {r['round_trip_ns']:.0f} ns"
            if "alone_pct" in r:
                note += f", {r['alone_pct']:.0f} % of steps alone"
        if r.get("hypergrad_finite") is False:
            note = (note + "; " if note else "") + "the hypergradient holds NaN or Inf"
        if r.get("other_load", 0) > QUIET:
            note = (note + "; " if note else "") + f"NOT QUIET: other processes used {r['other_load']:.2f} cores"
        print(f"{r['net']:16s} {r['T']:5d} {r['impl']:8s} {r['method']:13s} {fmt(r.get('steady_s'), '10.3f'):>10s} "
              f"{fmt(r['x_plain'], '8.2f'):>8s} {fmt(r.get('peak_rss_mib') if 'steady_s' in r else None, '12.0f'):>12s} "
              f"{fmt(r['rss_over_plain_mib'], '10.0f'):>10s} {fmt(r['compile_s'], '9.2f'):>9s}  {note}")

    noisy = [r for r in rows if r.get("other_load", 0) > QUIET]
    print(f"\nquiet machine: {len(rows) - len(noisy)} of {len(rows)} rows ran while other processes used under "
          f"{QUIET} core" + ("" if not noisy else "; the rows marked NOT QUIET were disturbed"))
    print("\nover plain: peak RSS minus the peak RSS of the same implementation's plain training of T steps\n"
          "(start-up, libraries and data cancel out: the memory the method itself needs)")
    print("\nratios (peer / ours: above 1 means ours is faster or smaller)")
    ratio_lines = []
    for net in nets:
        for T in iters:
            for ours_m, peer in (("exact", "exact"), ("exact", "exact-remat1"), ("exact", "exact-rematK"),
                                 ("exact1", "exact")):
                o, p = find(net, T, "ours", ours_m), find(net, T, "jax", peer)
                if o and p:
                    over = (p["rss_over_plain_mib"] / o["rss_over_plain_mib"]
                            if o["rss_over_plain_mib"] > 0 else float("nan"))
                    ratio_lines.append(f"  {net:16s} T={T:<5d} JAX {peer:13s} / ours {ours_m:7s}: time "
                                       f"{p['steady_s'] / o['steady_s']:7.2f}x   peak RSS "
                                       f"{p['peak_rss_mib'] / o['peak_rss_mib']:6.2f}x   RSS over own plain "
                                       f"{fmt(over, '.1f')}x ({p['rss_over_plain_mib']:.0f} vs "
                                       f"{o['rss_over_plain_mib']:.0f} MiB)")
            for peer in ("drmad", "drmad-noG"):
                o, p = find(net, T, "ours", "drmad"), find(net, T, "autograd", peer)
                if o and p:
                    ratio_lines.append(f"  {net:16s} T={T:<5d} autograd {peer:9s} / ours drmad  : time "
                                       f"{p['steady_s'] / o['steady_s']:7.2f}x   peak RSS "
                                       f"{p['peak_rss_mib'] / o['peak_rss_mib']:6.2f}x")
            ex, dm = hypergrads.get((net, T, "jax", "exact")) or hypergrads.get((net, T, "jax", "exact-rematK")), \
                hypergrads.get((net, T, "autograd", "drmad"))
            if ex and dm:
                n = len(ex) // 2
                ratio_lines.append(f"  {net:16s} T={T:<5d} autograd DrMAD vs JAX exact hypergradient: cosine "
                                   f"lambda {cosine(dm[:n], ex[:n]):.4f}, log eta {cosine(dm[n:], ex[n:]):.4f}")
            variants = [hypergrads.get((net, T, "jax", m)) for m in ("exact", "exact-remat1", "exact-rematK")]
            variants = [v for v in variants if v]
            if len(variants) > 1:
                spread = max(math.sqrt(sum((a - b) ** 2 for a, b in zip(v, variants[0])))
                             / math.sqrt(sum(b * b for b in variants[0])) for v in variants[1:])
                ratio_lines.append(f"  {net:16s} T={T:<5d} JAX exact variants agree to {spread:.1e} (relative)")
    print("\n".join(ratio_lines))

    if args.csv:
        fields = ["net", "T", "impl", "method", "steady_s", "x_plain", "peak_rss_mib", "compile_s", "first_s",
                  "rss_over_plain_mib", "base_rss_mib", "method_rss_mib", "device_peak_mib", "x_floor",
                  "round_trip_ns", "floor_train_us", "floor_reverse_us", "val_loss", "hypergrad_finite", "wall_s",
                  "other_load", "tries", "error", "skipped"]
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                w.writerow(r)
        print(f"\nwrote {args.csv}")

    print("\n" + "\n".join(target_lines(find, rows)))


def target_lines(find, rows):
    """One line per target of issue 12 §2, over both nets at T = TARGET_T:
    'target NAME: VALUE - met' or '- missed'. VALUE is the worst ratio of the
    two nets, then each net's figures; a net not measured makes it missed."""
    headers = next((r["header"] for r in rows if r.get("header")), [])
    out = [f"ours ran with {h}" for h in headers if h.startswith(("BLAS: ", "warning: "))]

    def noisy(*rs):
        return " (not quiet)" if any(r.get("other_load", 0) > QUIET for r in rs) else ""

    def plain(net):
        o, j = find(net, TARGET_T, "ours", "plain"), find(net, TARGET_T, "jax", "plain")
        if not (o and j):
            return None, "ours or jax plain not measured"
        ratio = o["steady_s"] / j["steady_s"]
        return ratio, f"{o['steady_s']:.3f} s / {j['steady_s']:.3f} s = {ratio:.2f}x{noisy(o, j)}"

    def exact(net):
        ours = [r for r in (find(net, TARGET_T, "ours", m) for m in ("exact", "exact1")) if r]
        variants = [r for r in (find(net, TARGET_T, "jax", m) for m in ("exact", "exact-remat1", "exact-rematK"))
                    if r]
        if not (ours and variants):
            return None, "ours exact and exact1, or every jax exact variant, not measured"
        o = min(ours, key=lambda r: r["steady_s"])
        j = min(variants, key=lambda r: r["steady_s"])
        ratio = o["steady_s"] / j["steady_s"]
        text = (f"{o['steady_s']:.3f} s (ours {o['method']}) / {j['steady_s']:.3f} s (jax {j['method']}) = "
                f"{ratio:.2f}x{noisy(o, j)}")
        k, rk = find(net, TARGET_T, "ours", "exact"), find(net, TARGET_T, "jax", "exact-rematK")
        if k and rk:
            text += f", O(sqrt T) states: ours exact / jax exact-rematK {k['steady_s'] / rk['steady_s']:.2f}x"
        return ratio, text

    def drmad(net):
        o, j = find(net, TARGET_T, "ours", "drmad-R"), find(net, TARGET_T, "jax", "exact")
        if not (o and j):
            return None, "ours drmad-R or jax exact not measured"
        ratio = o["steady_s"] / j["steady_s"]
        return ratio, f"{o['steady_s']:.3f} s / {j['steady_s']:.3f} s = {ratio:.2f}x{noisy(o, j)}"

    def floor(net):
        o = find(net, TARGET_T, "ours", "plain")
        if not (o and "x_floor" in o and "floor_train_us" in o):
            return None, "ours plain or its GEMM floor not measured"
        step_us = o["steady_s"] / TARGET_T * 1e6
        # x floor divides by the lower of the floors timed right before and after the method, which
        # can differ from the net's first floor line (floor_train_us)
        # the floor is the step's GEMMs on as many threads as the step shares; the GEMMs on one thread are
        # shown beside it (a step on two cores can beat them; the target does not count that)
        threads = o.get("floor_threads", 1)
        one = (f", one-thread GEMMs {o['floor_train_one_us']:.0f} us: {step_us / o['floor_train_one_us']:.2f}x"
               if threads > 1 else "")
        # a step hands rows and weights between the cores; a VM's two virtual CPUs far apart make that
        # several times dearer, the floor's GEMMs (each on its own scratch) not at all (docs/benchmarks.md)
        if "round_trip_ns" in o:
            far = " - the cores were far apart" if o["round_trip_ns"] > FAR_ROUND_TRIP_NS else ""
            one += f", cross-core round trip {o['round_trip_ns']:.0f} ns{far}"
        # lib/host-team.h, DrmadTeamChoice: a step the team was slower on ran alone
        if "alone_pct" in o:
            one += f", {o['alone_pct']:.0f} % of steps alone (timed faster than on the team)"
        return o["x_floor"], (f"{step_us:.0f} us / floor {step_us / o['x_floor']:.0f} us on {threads} thread"
                              f"{'s' if threads > 1 else ''} = {o['x_floor']:.2f}x"
                              f" (first floor line {o['floor_train_us']:.0f} us{one}){noisy(o)}")

    for name, limit, measure in (("plain training <= 1.0x JAX plain", 1.0, plain),
                                 ("exact hypergradient <= 1.0x the fastest JAX exact variant", 1.0, exact),
                                 ("DrMAD meta-iteration <= 0.5x JAX exact", 0.5, drmad),
                                 ("training step <= 1.3x the GEMM floor", 1.3, floor)):
        results = [(net, *measure(net)) for net in NETS]
        ratios = [ratio for _, ratio, _ in results]
        met = all(ratio is not None and ratio <= limit for ratio in ratios)
        worst = "not measured" if None in ratios else f"{max(ratios):.2f}x"
        detail = "; ".join(f"{net} {text}" for net, _, text in results)
        out.append(f"target {name}, T={TARGET_T}: {worst} ({detail}) - {'met' if met else 'missed'}")
    return out


if __name__ == "__main__":
    main()
