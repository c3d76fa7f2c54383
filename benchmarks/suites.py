"""The measurement groups. Each takes the sizes of the run and returns measurement records.

Groups (``--only NAME``): ``a`` and ``b`` (kernel throughput on workloads (a) and (b), its ratio
to the NumPy reference and to statsmodels, and the check that kernel and reference agree), ``c``
(peak memory at 10M paths of (a)), ``rng`` (normals per second per core), ``accuracy`` (time to
a 0.1 pp standard error on the shipped example) and ``startup`` (compile time cold and from cache,
warm ``sim run``).
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from benchmarks import ROOT, reference
from benchmarks.timing import interleaved, measurement, ratio, run_worker, timed
from benchmarks.workloads import EXAMPLE, MONTHLY, WIDE, Workload, load, plan, shape

if TYPE_CHECKING:
    import xarray as xr

    from sim.plan import Plan
    from sim.results import HitCounts

SEED = 20250101
KEEP = 1000  # paths kept for quantiles in the throughput runs (sim run keeps 20,000)
SE_TARGET = 0.001  # 0.1 percentage point
TARGETS = {  # the targets of issue 6
    "kernel_vs_numpy": 10.0,
    "kernel_vs_statsmodels": 100.0,
    "rng_vs_numpy": 1.0,
    "time_to_accuracy_s": 1.0,
    "peak_rss_mib": 1024.0,
    "sim_run_cold_s": 20.0,
    "sim_run_warm_s": 1.0,
    "sim_required_warm_s": 5.0,
}
REQUIRED_PATHS = 250_000  # a probability near 0.5 has a standard error of 0.1 pp at 250,000 paths


@dataclass(frozen=True)
class Sizes:
    paths_a: int
    paths_b: int
    paths_c: int
    kernel_reps: int
    reference_reps: int
    statsmodels_repetitions_a: int  # statsmodels' `repetitions` (paths) per call
    statsmodels_repetitions_b: int
    statsmodels_calls: int
    rng_normals: int
    rng_reps: int
    pilot_paths: int
    accuracy_reps: int
    cli_reps: int


FULL = Sizes(paths_a=1_000_000, paths_b=1_000_000, paths_c=10_000_000, kernel_reps=5, reference_reps=3,
             statsmodels_repetitions_a=20_000, statsmodels_repetitions_b=3_000, statsmodels_calls=3,
             rng_normals=20_000_000, rng_reps=5, pilot_paths=20_000, accuracy_reps=3, cli_reps=3)
QUICK = Sizes(paths_a=20_000, paths_b=5_000, paths_c=200_000, kernel_reps=2, reference_reps=2,
              statsmodels_repetitions_a=300, statsmodels_repetitions_b=100, statsmodels_calls=2,
              rng_normals=1_000_000, rng_reps=3, pilot_paths=5_000, accuracy_reps=1, cli_reps=1)


# --- (a) and (b): kernel throughput against NumPy and statsmodels ------------------------------

def throughput(workload: Workload, paths: int, sizes: Sizes, statsmodels_repetitions: int) -> list[dict]:
    """Kernel and NumPy reference on the same plan, interleaved; statsmodels on one of its AR(1)s."""
    from sim import api

    p = plan(workload.scenario)
    sh = shape(p)
    work = paths * sh["steps"] * sh["indicators"] * sh["scenarios"]
    api.simulate(p, paths=1024, seed=SEED, keep=16)  # compile or load from the cache
    sm_call = statsmodels_ar1(p, sh["steps"], statsmodels_repetitions)

    res = interleaved({
        "kernel": (lambda: api.simulate(p, paths=paths, seed=SEED, keep=KEEP), sizes.kernel_reps),
        "kernel_1_thread": (lambda: api.simulate(p, paths=paths, seed=SEED, keep=KEEP, threads=1),
                            sizes.reference_reps),
        "reference": (lambda: reference.simulate(p, paths=paths, seed=SEED), sizes.reference_reps),
        "statsmodels": (sm_call, sizes.statsmodels_calls),
    })
    w = workload.name
    common = {"paths": paths, **sh}
    kernel = measurement(f"{w}.kernel", work / res["kernel"]["median"], "indicator-steps/s",
                         seconds=res["kernel"]["median"], samples_s=res["kernel"]["samples"],
                         threads=api.cores(), workload=workload.title, **common)
    ref = measurement(f"{w}.numpy_reference", work / res["reference"]["median"], "indicator-steps/s",
                      seconds=res["reference"]["median"], samples_s=res["reference"]["samples"],
                      threads=1, **common)
    one = measurement(f"{w}.kernel_1_thread", work / res["kernel_1_thread"]["median"], "indicator-steps/s",
                      seconds=res["kernel_1_thread"]["median"], samples_s=res["kernel_1_thread"]["samples"],
                      threads=1, **common)
    # the target compares all threads with NumPy's one; per core and the scaling say what a
    # machine with other cores (or a busy second vCPU) would see
    out = [kernel, ref, ratio(f"{w}.kernel_vs_numpy", kernel["value"] / ref["value"], ref,
                              TARGETS["kernel_vs_numpy"]),
           one, ratio(f"{w}.kernel_vs_numpy_per_core", one["value"] / ref["value"], ref),
           ratio(f"{w}.thread_scaling", kernel["value"] / one["value"], one, threads=kernel["threads"])]
    out.append(_agreement(f"{w}.kernel_vs_numpy_probabilities", p, res["kernel"]["last"][0], paths,
                          res["reference"]["last"]))
    sm_seconds = res["statsmodels"]["median"]
    sm_ns = sm_seconds / (statsmodels_repetitions * sh["steps"]) * 1e9
    sm_rec = measurement(f"{w}.statsmodels", sm_ns, "ns/path-step", seconds=sm_seconds,
                         samples_s=res["statsmodels"]["samples"], repetitions=statsmodels_repetitions,
                         steps=sh["steps"], threads=1)
    kernel_ns = res["kernel"]["median"] / work * 1e9
    out.append(sm_rec)
    out.append(ratio(f"{w}.kernel_vs_statsmodels", sm_ns / kernel_ns, sm_rec,
                     TARGETS["kernel_vs_statsmodels"], kernel_ns_per_indicator_step=kernel_ns))
    return out


def _agreement(name: str, p: Plan, counts: HitCounts, paths: int,
               ref: reference.ReferenceResult) -> dict:
    """Kernel and reference probabilities, every scenario x target (and all targets at once)."""
    p_kernel = counts.probability
    ratio_ = reference.agreement(p_kernel, paths, ref.probability, ref.paths)
    targets = [*p.targets, "all"]
    cells = [{"scenario": s, "target": t, "kernel": float(p_kernel[i, j]),
              "reference": float(ref.probability[i, j]), "diff_over_4se": float(ratio_[i, j])}
             for i, s in enumerate(p.scenarios) for j, t in enumerate(targets)]
    worst = float(ratio_.max())
    return measurement(name, worst, "max |p1-p2| / 4se", target="<= 1", met=bool(worst <= 1.0),
                       cells=cells, paths_kernel=paths, paths_reference=ref.paths)


def statsmodels_ar1(p: Plan, steps: int, repetitions: int) -> Callable[[], np.ndarray]:
    """statsmodels' own simulation of the plan's first AR(1) at its estimated parameters:
    ``SARIMAX(y, order=(1, 0, 0), trend='c')`` filtered at fixed parameters, then a call (returned,
    warmed up) of ``.simulate(nsimulations=steps, repetitions=R, anchor='end')``; Gaussian shocks."""
    import inspect
    import warnings

    from statsmodels.tsa.statespace.sarimax import SARIMAX

    mu, atanh_phi, log_sigma = p.proc.theta_hat[0]
    phi, sigma = math.tanh(atanh_phi), math.exp(log_sigma)
    rng = np.random.default_rng(SEED)
    y = np.empty(40)
    y[0] = mu
    for t in range(1, y.size):
        y[t] = mu + phi * (y[t - 1] - mu) + sigma * rng.standard_normal()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SARIMAX(y, order=(1, 0, 0), trend="c")
        fitted = model.filter(np.array([mu * (1 - phi), phi, sigma**2]))
    # statsmodels 0.15 takes rng=, 0.14 random_state=
    key = "rng" if "rng" in inspect.signature(fitted.simulate).parameters else "random_state"

    def call() -> np.ndarray:
        return fitted.simulate(nsimulations=steps, repetitions=repetitions, anchor="end",
                               **{key: np.random.default_rng(SEED)})

    call()
    return call


# --- (c): peak memory ----------------------------------------------------------------------------

def memory(sizes: Sizes) -> list[dict]:
    """Peak RSS of ``sim.run`` on workload (a) at ``paths_c`` paths, in a process of its own."""
    from sim import api

    api.simulate(plan(WIDE.scenario), paths=1024, seed=SEED, keep=16)  # the child loads, not compiles
    small = run_worker(["memory", str(WIDE.scenario), "1000"])
    big = run_worker(["memory", str(WIDE.scenario), str(sizes.paths_c)])
    sh = shape(plan(WIDE.scenario))
    work = sizes.paths_c * sh["steps"] * sh["indicators"] * sh["scenarios"]
    limit = TARGETS["peak_rss_mib"]
    return [
        measurement("c.peak_rss", big["peak_rss_mib"], "MiB", target=f"<= {limit:g}",
                    met=bool(big["peak_rss_mib"] <= limit), paths=sizes.paths_c, cache_warm=big["cache_warm"],
                    run_s=big["run_s"], process_wall_s=big["wall_s"],
                    note="sim.run with default keep (20,000) in a subprocess; ru_maxrss"),
        measurement("c.peak_rss_1000_paths", small["peak_rss_mib"], "MiB", paths=1000,
                    note="the same process at 1,000 paths: interpreter, libraries and inputs"),
        measurement("c.run_throughput", work / big["run_s"], "indicator-steps/s", seconds=big["run_s"],
                    paths=sizes.paths_c, note="the whole sim.run (plan, kernel, results)"),
    ]


# --- RNG -----------------------------------------------------------------------------------------

RNG_STEPS = 100  # normals per path in the sample_shocks run: per-path set-up is amortised as in
# the kernel, which draws about 100-300 normals per path on workloads (a) and (b)


def rng(sizes: Sizes) -> list[dict]:
    """Normals per second on one core: sim.kernels.sample_shocks (Gaussian, one process) against
    numpy.random.Generator.standard_normal (PCG64, ziggurat); both allocate their output."""
    from sim import kernels

    chol = np.eye(1)
    n_paths = sizes.rng_normals // RNG_STEPS
    n = n_paths * RNG_STEPS
    gen = np.random.default_rng(SEED)
    kernels.sample_shocks(SEED, 16, RNG_STEPS, chol, 1e9)
    res = interleaved({
        "sim": (lambda: kernels.sample_shocks(SEED, n_paths, RNG_STEPS, chol, 1e9), sizes.rng_reps),
        "numpy": (lambda: gen.standard_normal(n), sizes.rng_reps),
    })
    sim_rec = measurement("rng.sim_normals_1_thread", n / res["sim"]["median"], "normals/s", threads=1,
                          normals=n, samples_s=res["sim"]["samples"],
                          note="sample_shocks(df=1e9, one process): the kernel's own normals")
    np_rec = measurement("rng.numpy_normals_1_thread", n / res["numpy"]["median"], "normals/s", threads=1,
                         normals=n, samples_s=res["numpy"]["samples"],
                         note="Generator(PCG64).standard_normal: ziggurat")
    return [sim_rec, np_rec,
            ratio("rng.sim_vs_numpy_per_core", sim_rec["value"] / np_rec["value"], np_rec,
                  TARGETS["rng_vs_numpy"])]


# --- time to accuracy ----------------------------------------------------------------------------

# An estimator runs the shipped example at a number of paths and returns its results Dataset
# (``probability`` and ``std_error`` by scenario x target); each gets its own ``accuracy.<name>.*``
# measurements. Antithetic paths are ``sim run --antithetic`` (their unbiasedness and standard
# errors are tested in tests/test_variance_reduction.py).
Estimator = Callable[[tuple, int, int], "xr.Dataset"]


def plain_estimator(inputs: tuple, paths: int, seed: int) -> xr.Dataset:
    from sim import api

    return api.run_loaded(*inputs[:5], paths=paths, seed=seed).data


def antithetic_estimator(inputs: tuple, paths: int, seed: int) -> xr.Dataset:
    from sim import api

    return api.run_loaded(*inputs[:5], paths=paths + paths % 2, seed=seed, antithetic=True).data


ESTIMATORS: dict[str, Estimator] = {"plain": plain_estimator, "antithetic": antithetic_estimator}


def accuracy(sizes: Sizes) -> list[dict]:
    """Wall time of a run of the shipped example with enough paths for every probability (every
    scenario, the weighted mixture, every target and all at once) to have a Monte Carlo standard
    error of at most 0.1 pp. The paths needed come from a pilot: n = n_pilot (se_pilot / 0.001)^2
    at the worst cell, plus 2% for the pilot's own noise. The variance ratio of each estimator to
    plain Monte Carlo, cell by cell, says what the reduction buys."""
    from sim import api

    inputs = load(EXAMPLE)
    example = plan(EXAMPLE)
    out = []
    pilots = {}
    for name, estimator in ESTIMATORS.items():
        estimator(inputs, 1000, SEED)  # compile or load the kernel
        pilot_s, pilot = timed(lambda est=estimator: est(inputs, sizes.pilot_paths, SEED + 1))
        pilots[name] = pilot
        worst = float(pilot["std_error"].max())
        needed = math.ceil(sizes.pilot_paths * (worst / SE_TARGET) ** 2 * 1.02 / 1000) * 1000
        res = interleaved({"run": (lambda est=estimator, n=needed: est(inputs, n, SEED),
                                   sizes.accuracy_reps),
                           "kernel": (lambda n=needed: api.simulate(example, paths=n, seed=SEED,
                                                                    keep=api.DEFAULT_KEEP),
                                      sizes.accuracy_reps)})
        achieved = float(res["run"]["last"]["std_error"].max())
        limit = TARGETS["time_to_accuracy_s"]
        seconds = res["run"]["median"]
        out.append(measurement(f"accuracy.{name}.time_to_0.1pp", seconds, "s", target=f"<= {limit:g}",
                               met=bool(seconds <= limit), paths=needed, max_std_error_pp=achieved * 100,
                               accuracy_reached=bool(achieved <= SE_TARGET), samples_s=res["run"]["samples"],
                               pilot_paths=sizes.pilot_paths, pilot_s=pilot_s,
                               pilot_max_std_error_pp=worst * 100,
                               kernel_only_s=res["kernel"]["median"], scenario=str(EXAMPLE.relative_to(ROOT)),
                               note="sim.api.run_loaded on loaded inputs: plan, kernel, results"))
        if name != "plain":
            ratio_ = (pilots["plain"]["std_error"] / pilot["std_error"]) ** 2
            out.append(measurement(f"accuracy.{name}.variance_reduction", float(ratio_.max()), "x",
                                   baseline="accuracy.plain", worst_cell=float(ratio_.min()),
                                   cells={f"{s}/{t}": float(ratio_.sel(scenario=s, target=t))
                                          for s in ratio_["scenario"].values
                                          for t in ratio_["target"].values},
                                   note=f"plain variance / {name} variance per cell, pilots of "
                                        f"{sizes.pilot_paths:,} paths; value = the best cell"))
    return out


# --- start-up ------------------------------------------------------------------------------------

def startup(sizes: Sizes) -> list[dict]:
    """Compile time with an empty NUMBA_CACHE_DIR and from it, then ``sim run`` on the shipped
    example with that cache warm, each in a fresh process.

    ``sim run`` is timed as the README's main command runs it: after ``pip install .``, which does
    not install dask (an extra). Where dask is installed, xarray imports dask.array whenever it
    builds a dataset (half a second here); that figure is reported beside it, without a target."""
    cache = tempfile.mkdtemp(prefix="sim-bench-numba-")
    env = {"NUMBA_CACHE_DIR": cache}
    example = str(EXAMPLE.relative_to(ROOT))
    cmd = [*_sim_command(), "run", example]
    plain = [*_sim_command(without_dask=True), "run", example]
    cold_walls = []
    try:
        for _ in range(sizes.cli_reps):  # each with an empty cache: sim run as a fresh install runs it
            fresh = tempfile.mkdtemp(prefix="sim-bench-numba-")
            try:
                cold_walls += _walls(plain, {"NUMBA_CACHE_DIR": fresh}, 1)
            finally:
                shutil.rmtree(fresh, ignore_errors=True)
        cold = run_worker(["compile"], env)
        cached = run_worker(["compile"], env)
        walls = _walls(plain, env, sizes.cli_reps)
        dev_walls = _walls(cmd, env, sizes.cli_reps)
        req_cmd = [*_sim_command(), "required", example, "--paths", str(REQUIRED_PATHS)]
        req_walls = _walls(req_cmd, env, sizes.cli_reps)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    limit = TARGETS["sim_run_warm_s"]
    wall = statistics.median(walls)
    cold_limit = TARGETS["sim_run_cold_s"]
    cold_wall = statistics.median(cold_walls)
    req_limit = TARGETS["sim_required_warm_s"]
    req_wall = statistics.median(req_walls)
    return [
        measurement("startup.compile_cold", cold["first_call_s"] - cold["second_call_s"], "s",
                    first_call_s=cold["first_call_s"], import_s=cold["import_s"],
                    process_wall_s=cold["wall_s"], note="first kernel call minus second, empty cache"),
        measurement("startup.compile_cached", cached["first_call_s"] - cached["second_call_s"], "s",
                    first_call_s=cached["first_call_s"], import_s=cached["import_s"],
                    process_wall_s=cached["wall_s"], note="the same from the cache the cold run wrote"),
        measurement("startup.sim_run_cold", cold_wall, "s", target=f"<= {cold_limit:g}",
                    met=bool(cold_wall <= cold_limit), samples_s=cold_walls,
                    command=" ".join(["sim", *cmd[-2:]]),
                    note="wall time of the process with an empty NUMBA_CACHE_DIR (a first run after pip "
                         "install .): it compiles the kernel"),
        measurement("startup.sim_run_warm", wall, "s", target=f"<= {limit:g}", met=bool(wall <= limit),
                    samples_s=walls, command=" ".join(["sim", *cmd[-2:]]),
                    note="wall time of the process, dask not importable (as after pip install .)"),
        measurement("startup.sim_run_warm_with_dask", statistics.median(dev_walls), "s",
                    samples_s=dev_walls, command=" ".join(["sim", *cmd[-2:]]),
                    note="the same where dask is installed (the test and dev extras)"),
        measurement("startup.sim_required_warm", req_wall, "s", target=f"<= {req_limit:g}",
                    met=bool(req_wall <= req_limit), samples_s=req_walls,
                    command=" ".join(["sim", *req_cmd[-4:]]),
                    note="wall time of the process: every target at 50/80/90%, probabilities to 0.1 pp"),
    ]


def _walls(cmd: list[str], env: dict[str, str], reps: int) -> list[float]:
    """Wall times of ``reps`` runs of a command, each in a fresh process."""
    walls = []
    for _ in range(reps):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                              text=True, check=False)
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()}")
    return walls


def _sim_command(without_dask: bool = False) -> list[str]:
    """The ``sim`` console script of this interpreter, or its equivalent; ``without_dask``: as if
    dask were not installed (a None in sys.modules makes every import of it fail)."""
    script = Path(sys.executable).parent / "sim"
    if script.is_file() and not without_dask:
        return [str(script)]
    hide = "sys.modules['dask'] = None; " if without_dask else ""
    return [sys.executable, "-c", f"import sys; {hide}from sim.cli import main; sys.exit(main())"]


GROUPS: dict[str, Callable[[Sizes], list[dict]]] = {
    "a": lambda s: throughput(WIDE, s.paths_a, s, s.statsmodels_repetitions_a),
    "b": lambda s: throughput(MONTHLY, s.paths_b, s, s.statsmodels_repetitions_b),
    "c": memory,
    "rng": rng,
    "accuracy": accuracy,
    "startup": startup,
}
