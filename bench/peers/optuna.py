#!/usr/bin/env python3
"""drmad against black-box search at equal wall-clock time (issue 17 §1).

For each problem, drmad runs first (`drmad --no-gui` with the problem's
options): its search time is the budget, from starting the process to its
last meta-iteration line (the final evaluation on the test set is left out).
Then Optuna's TPE and random search (optuna.samplers.RandomSampler), one
study per seed, each drive ONE persistent `drmad --no-gui --evaluate`
process with the same options (same data, split, net, T and seed), so no
trial pays a start-up, for the same budget: the clock starts when that
process is started and stops counting at the budget; what each line spent on
the test set (its test_seconds) is not charged, since a hypergradient run
does not look at the test set either. Every number comes from the same
code: a trial's validation loss is drmad_hyper_train with the options' seed
then the validation split, as a meta-iteration's is (they agree to about
1e-7), and the test error of a θ is the same retraining as the final
evaluation of a run.

Problems:
  a  the default job: L2 per layer and a 4-segment learning-rate schedule per
     layer (3 + 12 = 15 hyperparameters on 784-100-100-10)
  b  the same with --l2-granularity neuron: L2 per input unit of each layer
     plus the schedule (784 + 100 + 100 + 12 = 996 hyperparameters)

Search space (Optuna): L2 log-uniform in [1e-6, 1e-1], learning rates
log-uniform in [1e-3, 1], one dimension per entry of θ, named as drmad names
them (hyper.csv). drmad starts from its defaults (L2 1e-4, learning rate 0.1).

Reported, at 25, 50 and 100 % of the budget: the best validation loss found
by then and the test error of that θ; for Optuna, the median over the seeds
(the test error is that median seed's). The output ends with

  target a: drmad val loss X vs Optuna median Y (SAMPLER) - met|missed
  target b: drmad val loss X vs Optuna median Y (SAMPLER), 0.01 below needed: ...; test error ... - met|missed

(a) met when drmad's best validation loss is at most the better Optuna
sampler's median at the full budget; (b) when it is at least 0.01 below it
and drmad's test error is below that seed's.

  bench/peers/setup.sh && bench/peers/.venv/bin/python bench/peers/optuna.py
  bench/peers/.venv/bin/python bench/peers/optuna.py --quick        # a smoke run, a few minutes
"""

import argparse
import csv
import datetime
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FRACTIONS = (0.25, 0.5, 1.0)
L2_RANGE = (1e-6, 1e-1)
LR_RANGE = (1e-3, 1.0)
PROBLEMS = {
    "a": ("15 hyperparameters: L2 per layer + 4-segment lr schedule per layer", []),
    "b": ("about 1000 hyperparameters: L2 per input unit + 4-segment lr schedule per layer",
          ["--l2-granularity", "neuron"]),
}
# --quick: the same problems on a small slice, a few seconds of drmad each.
QUICK_OPTIONS = ["--train-size", "1000", "--val-size", "500", "--test-size", "1000", "--iters", "100",
                 "--meta-iters", "6"]
DIVERGED_LOSS = 10.0  # what a diverged training (val_loss=inf) counts as for the samplers


def fail(message):
    print(f"optuna.py: {message}", file=sys.stderr)
    sys.exit(2)


def busy_cpu_seconds():
    """CPU seconds the whole machine has spent (/proc/stat, all but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    """CPU seconds of this process and its reaped children."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


class LoadMeter:
    """The cores that other processes used while something of ours ran."""

    def __init__(self):
        self.busy, self.own, self.start = busy_cpu_seconds(), own_cpu_seconds(), time.monotonic()

    def other_cores(self):
        wall = time.monotonic() - self.start
        other = (busy_cpu_seconds() - self.busy) - (own_cpu_seconds() - self.own)
        return max(0.0, other) / max(wall, 1e-9)


def parse_result(line):
    """A result line of drmad --evaluate as a dict of floats; raises on an error line."""
    if line.startswith("error:") or "=" not in line:
        raise RuntimeError(f"drmad --evaluate answered: {line.strip() or '(nothing: it ended)'}")
    return {key: float(value) for key, value in (item.split("=", 1) for item in line.split())}


class Evaluator:
    """One `drmad --no-gui --evaluate` process; evaluate() sends a line and reads its result."""

    def __init__(self, drmad, options, env):
        self.proc = subprocess.Popen([drmad, "--no-gui", "--evaluate"] + options, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                                     env=env, cwd=ROOT)

    def evaluate(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            err = self.proc.stderr.read()
            raise RuntimeError(f"drmad --evaluate ended without answering: {err.strip()}")
        return parse_result(reply)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()
        err = self.proc.stderr.read()
        if self.proc.returncode != 0:
            raise RuntimeError(f"drmad --evaluate exited with {self.proc.returncode}: {err.strip()}")


def theta_line(values):
    """θ as an --evaluate line: name=value items in natural units."""
    return " ".join(f"{name}={value:.17g}" for name, value in values.items())


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_drmad(drmad, options, folder, env):
    """`drmad --no-gui` with @options into @folder: the meta-iterations with the
    time each finished (from the start of the process), the budget (the last
    one's), the whole wall time, θ by iteration (hyper.csv), and the load."""
    argv = [drmad, "--no-gui", "--out", folder, "--force"] + options
    print(f"$ {' '.join(shlex.quote(a) for a in argv)}", flush=True)
    meter = LoadMeter()
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    finished_at = {}
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("meta "):
            finished_at[int(line.split()[1].split("/")[0])] = time.monotonic() - start
    err = proc.stderr.read()
    proc.wait()
    wall = time.monotonic() - start
    if proc.returncode != 0:
        fail(f"drmad exited with {proc.returncode}:\n{err}")
    with open(os.path.join(folder, "stdout.txt"), "w") as f:   # what the user would have seen
        f.write("".join(lines))
    with open(os.path.join(folder, "stderr.txt"), "w") as f:
        f.write(err)
    for line in err.splitlines():
        if line.startswith("method:") or line.startswith("device:"):
            print(f"  {line}")
    history = read_csv(os.path.join(folder, "history.csv"))
    iterations = []
    for row in history:
        if not row["iteration"].isdigit():
            continue
        k = int(row["iteration"])
        iterations.append({"iteration": k, "rejected": row["rejected"] == "1", "val_loss": float(row["val_loss"] or "nan"),
                           "finished": finished_at[k]})
    finals = {row["iteration"]: row for row in history if row["iteration"].startswith("final-")}
    theta = {}
    for row in read_csv(os.path.join(folder, "hyper.csv")):
        theta.setdefault(int(row["iteration"]), {})[row["name"]] = float(row["value"])
    return {"iterations": iterations, "budget": max(r["finished"] for r in iterations), "wall": wall,
            "theta": theta, "final_best_test_error": float(finals["final-best"]["test_error"]),
            "other_cores": meter.other_cores()}


def drmad_curve(run, evaluator, start_line, budget):
    """drmad's best accepted θ by 25/50/100 % of @budget and its test error,
    retrained through @evaluator. The validation loss of meta-iteration k is
    that of θ after k − 1 steps (hyper.csv iteration k − 1; k = 1: the start)."""
    curve = []
    for fraction in FRACTIONS:
        done = [r for r in run["iterations"] if not r["rejected"] and r["finished"] <= fraction * budget + 1e-9]
        if not done:
            curve.append({"fraction": fraction, "val_loss": float("nan"), "test_error": float("nan"), "n": 0})
            continue
        best = min(done, key=lambda r: r["val_loss"])
        k = best["iteration"]
        line = start_line if k == 1 else theta_line(run["theta"][k - 1])
        result = evaluator.evaluate(line)
        curve.append({"fraction": fraction, "val_loss": best["val_loss"], "test_error": result["test_error"],
                      "n": len([r for r in run["iterations"] if r["finished"] <= fraction * budget + 1e-9]),
                      "iteration": k, "retrained_val_loss": result["val_loss"]})
    return curve


def run_study(optuna, sampler_name, seed, names, drmad, options, env, budget):
    """One Optuna study on one `drmad --evaluate` process for @budget seconds
    (not counting the test set's part of each line). Returns the trials as
    (charged seconds when it finished, val loss, test error)."""
    sampler = optuna.samplers.TPESampler(seed=seed) if sampler_name == "tpe" else \
        optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    space = {name: optuna.distributions.FloatDistribution(*(L2_RANGE if name.startswith("l2/") else LR_RANGE),
                                                          log=True) for name in names}
    meter = LoadMeter()
    start = time.monotonic()
    evaluator = Evaluator(drmad, options, env)
    uncharged = 0.0
    trials = []
    while time.monotonic() - start - uncharged < budget:
        trial = study.ask(space)
        result = evaluator.evaluate(theta_line(trial.params))
        uncharged += result["test_seconds"]
        charged = time.monotonic() - start - uncharged
        value = min(result["val_loss"], DIVERGED_LOSS)
        study.tell(trial, value)
        trials.append({"finished": charged, "val_loss": value, "test_error": result["test_error"],
                       "diverged": result["diverged"] > 0, "seconds": result["seconds"] - result["test_seconds"]})
    evaluator.close()
    return trials, meter.other_cores()


def study_curve(trials, budget):
    curve = []
    for fraction in FRACTIONS:
        done = [t for t in trials if t["finished"] <= fraction * budget + 1e-9]
        best = min(done, key=lambda t: t["val_loss"]) if done else None
        curve.append({"fraction": fraction, "val_loss": best["val_loss"] if best else float("nan"),
                      "test_error": best["test_error"] if best else float("nan"), "n": len(done)})
    return curve


def read_trials(path):
    """The studies of an earlier run's trials.csv: (problem, sampler, seed) -> trials."""
    studies = {}
    for row in read_csv(path):
        if row["who"] == "drmad":
            continue
        key = (row["problem"], row["who"], int(row["seed"]))
        studies.setdefault(key, []).append({
            "finished": float(row["finished_seconds"]), "val_loss": float(row["val_loss"]),
            "test_error": float(row["test_error"]),
            "recorded_budget": float(row.get("rejected_or_budget") or row["finished_seconds"])})
    return studies


def median_point(points):
    """The median of @points by validation loss, as one of them (the lower
    middle for an even count), so its test error belongs to its θ."""
    ordered = sorted(points, key=lambda p: (p["val_loss"] != p["val_loss"], p["val_loss"]))
    return ordered[(len(ordered) - 1) // 2]


def pct(x):
    return "   -  " if x != x else f"{100 * x:5.2f}%"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", default="a,b", help="which problems (default a,b)")
    parser.add_argument("--samplers", default="tpe,random", help="Optuna samplers: tpe, random (default both)")
    parser.add_argument("--seeds", type=int, default=3, help="Optuna seeds per sampler (default 3: seeds 1, 2, 3)")
    parser.add_argument("--budget-scale", type=float, default=1.0,
                        help="Optuna's budget as a multiple of drmad's search time (default 1: equal time)")
    parser.add_argument("--extend", type=float, default=1.0,
                        help="run each study this many times its budget (default 1); the curves and targets use "
                        "the budget, trials.csv has every trial, for reading the curves at longer budgets")
    parser.add_argument("--optuna-trials", metavar="CSV",
                        help="do not run the studies: read them from the trials.csv of an earlier run (same "
                        "problems, samplers and seeds) at this run's budget; for comparing drmad settings "
                        "(--drmad-options) with one set of studies")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: " + " ".join(QUICK_OPTIONS) + ", one seed")
    parser.add_argument("--drmad-options", default="",
                        help="more options for drmad and drmad --evaluate, e.g. '--meta-iters 80' (quoted)")
    parser.add_argument("--build", default="build", help="the meson build folder (default build)")
    parser.add_argument("--out", help="where the drmad run folders and trials.csv go "
                        "(default BUILD/optuna-runs/DATE-TIME)")
    args = parser.parse_args()

    build = args.build if os.path.isabs(args.build) else os.path.join(ROOT, args.build)
    drmad = os.path.join(build, "gui", "drmad")
    if not os.access(drmad, os.X_OK):
        fail(f"no drmad program at {drmad}: build it first (meson setup {args.build} && ninja -C {args.build}), "
             "or give the build folder with --build")
    # This file is named optuna.py too: its folder must not shadow the package.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
    sys.modules.pop("optuna", None)
    try:
        import optuna
    except ImportError:
        venv = os.path.join(HERE, ".venv")
        hint = f"{venv}/bin/python {sys.argv[0]}" if os.path.exists(os.path.join(venv, "bin", "python")) else \
            f"bench/peers/setup.sh (it makes {venv}), then {venv}/bin/python {sys.argv[0]}"
        fail(f"optuna is not installed for {sys.executable}: run {hint}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problems = [p for p in args.problems.split(",") if p]
    samplers = [s for s in args.samplers.split(",") if s]
    for p in problems:
        if p not in PROBLEMS:
            fail(f"--problems {args.problems}: expected a comma-separated list of {', '.join(PROBLEMS)}")
    for s in samplers:
        if s not in ("tpe", "random"):
            fail(f"--samplers {args.samplers}: expected tpe, random or both")
    seeds = list(range(1, (1 if args.quick else args.seeds) + 1))
    if not seeds or args.budget_scale <= 0 or args.extend < 1:
        fail("--seeds and --budget-scale must be positive, --extend at least 1")
    extra = (QUICK_OPTIONS if args.quick else []) + shlex.split(args.drmad_options)
    out = args.out or os.path.join(build, "optuna-runs", datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, POCL_CACHE_DIR=os.environ.get("POCL_CACHE_DIR", os.path.join(build, "pocl-cache")),
               POCL_SIGFPE_HANDLER="0")

    print(f"optuna {optuna.__version__}, Python {sys.version.split()[0]}; drmad {drmad}; run folders {out}")
    print(f"CPU: {cpu_name()}; load average at start {os.getloadavg()[0]:.2f}")
    verdicts = {}
    # Every meta-iteration and every trial with the time it finished, to read
    # the curves at other budgets afterwards.
    log_file = open(os.path.join(out, "trials.csv"), "w", newline="")
    log = csv.writer(log_file)
    log.writerow(["problem", "who", "seed", "index", "finished_seconds", "val_loss", "test_error",
                  "rejected_or_budget"])
    recorded = read_trials(args.optuna_trials) if args.optuna_trials else None
    for p in problems:
        title, problem_options = PROBLEMS[p]
        options = problem_options + extra
        print(f"\n== problem {p}: {title}")
        run = run_drmad(drmad, options, os.path.join(out, f"drmad-{p}"), env)
        names = list(run["theta"][1].keys())
        for r in run["iterations"]:
            log.writerow([p, "drmad", "", r["iteration"], f"{r['finished']:.3f}", repr(r["val_loss"]), "",
                          int(r["rejected"])])
        budget = run["budget"] * args.budget_scale
        print(f"  drmad: {len(names)} hyperparameters, {len(run['iterations'])} meta-iterations, search "
              f"{run['budget']:.1f} s (process {run['wall']:.1f} s with the final evaluation); other processes "
              f"used {run['other_cores']:.2f} cores meanwhile")
        # The starting θ (meta-iteration 1's) is the command line's: a line that restates one of its settings.
        start_l2 = options[options.index("--init-l2") + 1] if "--init-l2" in options else "1e-4"
        checker = Evaluator(drmad, options, env)
        ours = drmad_curve(run, checker, f"init-l2={start_l2}", run["budget"])
        checker.close()
        if ours[-1]["test_error"] != run["final_best_test_error"]:
            print(f"  note: drmad's final-best test error {run['final_best_test_error']} differs from its "
                  f"retraining here {ours[-1]['test_error']}")
        print(f"  Optuna budget: {budget:.1f} s per study ({args.budget_scale:g} x drmad's search time)")
        studies = {}
        for s in samplers:
            for seed in seeds:
                if recorded is not None:
                    trials = recorded.get((p, s, seed))
                    if trials is None:
                        fail(f"{args.optuna_trials} has no trials of problem {p}, sampler {s}, seed {seed}")
                    covered = max(t["recorded_budget"] for t in trials)
                    if covered < budget - 1e-9:
                        print(f"  note: the recorded {s} seed {seed} ran {covered:.1f} s, less than this budget: "
                              "its curve stops there")
                    studies.setdefault(s, []).append(study_curve(trials, budget))
                    continue
                trials, other = run_study(optuna, s, seed, names, drmad, options, env, budget * args.extend)
                curve = study_curve(trials, budget)
                for i, t in enumerate(trials):
                    log.writerow([p, s, seed, i + 1, f"{t['finished']:.3f}", repr(t["val_loss"]),
                                  repr(t["test_error"]), f"{budget * args.extend:.3f}"])
                log_file.flush()
                studies.setdefault(s, []).append(curve)
                per_trial = statistics.median(t["seconds"] for t in trials) if trials else float("nan")
                print(f"  {s:6} seed {seed}: {len([t for t in trials if t['finished'] <= budget])} trials "
                      f"({sum(t['diverged'] for t in trials)} diverged, median {per_trial:.2f} s of drmad per "
                      "trial), best val loss "
                      + ", ".join(f"{c['val_loss']:.4f} at {int(100 * c['fraction'])}%" for c in curve)
                      + f"; other processes used {other:.2f} cores", flush=True)
        if recorded is not None:
            print(f"  Optuna: the studies recorded in {args.optuna_trials}, read at this budget")

        print(f"\n  problem {p}: best validation loss / test error of that θ at 25 / 50 / 100 % of "
              f"{budget:.1f} s (Optuna: median of {len(seeds)} seed{'s' if len(seeds) > 1 else ''})")
        print(f"  {'':14}" + "".join(f"{int(100 * f):>5}%: val loss  test err  n   " for f in FRACTIONS))
        print(f"  {'drmad':14}" + "".join(f"       {c['val_loss']:.4f}    {pct(c['test_error'])} {c['n']:>4}"
                                          for c in ours) + "   (n: meta-iterations)")
        medians = {}
        for s in samplers:
            points = [median_point([curve[i] for curve in studies[s]]) for i in range(len(FRACTIONS))]
            medians[s] = points
            print(f"  {'optuna ' + s:14}" + "".join(f"       {c['val_loss']:.4f}    {pct(c['test_error'])} {c['n']:>4}"
                                                     for c in points) + "   (n: trials)")
        best_sampler = min(samplers, key=lambda s: medians[s][-1]["val_loss"])
        verdicts[p] = (ours[-1], medians[best_sampler][-1], best_sampler)

    log_file.close()
    print()
    for p in problems:
        mine, theirs, sampler = verdicts[p]
        if p == "a":
            met = mine["val_loss"] <= theirs["val_loss"]
            print(f"target a: drmad val loss {mine['val_loss']:.4f} vs Optuna median {theirs['val_loss']:.4f} "
                  f"({sampler}, the better sampler) - {'met' if met else 'missed'}")
        else:
            met = mine["val_loss"] <= theirs["val_loss"] - 0.01 and mine["test_error"] < theirs["test_error"]
            print(f"target b: drmad val loss {mine['val_loss']:.4f} vs Optuna median {theirs['val_loss']:.4f} "
                  f"({sampler}, the better sampler; 0.01 below needed: <= {theirs['val_loss'] - 0.01:.4f}); "
                  f"test error {pct(mine['test_error']).strip()} vs {pct(theirs['test_error']).strip()} "
                  f"- {'met' if met else 'missed'}")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{os.cpu_count()} cores"


if __name__ == "__main__":
    main()
