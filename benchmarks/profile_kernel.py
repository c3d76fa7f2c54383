"""Where the kernel's time goes: ``python -m benchmarks.profile_kernel [--quick] [--workload a|b]``.

Simple experiments on the workloads of the suite, each a median of repetitions on one thread
(unless said otherwise), printed as a table and written to ``benchmarks/results/profile-<ts>.json``:

- the kernel as shipped, on 1 and on all threads (scaling);
- the same with Gaussian shocks (df = 1e9: no gamma draws) and with 1 scenario instead of 3;
- the per-path draws alone, through sim.kernels' own functions in the kernel's order and with its
  rules: normals for the uncertain parameters and their transforms, starts, partly observed years
  (``next_normal``), and the shocks (``_shock_draws``, ``_correlate``), so that kernel - draws = the
  scenario loop (processes, indicators, targets, reductions);
- the primitives: ns per uniform, per ziggurat normal (and per Box-Muller normal on the same
  uniforms, for comparison), per gamma draw, per libm call, against NumPy's ziggurat normal.

It measures; it changes nothing in ``sim``. The harnesses below call sim.kernels' functions, so they
follow the kernel if its random number code changes (not if their signatures do).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import statistics
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import numba as nb
import numpy as np

from benchmarks import RESULTS
from benchmarks.timing import timed
from benchmarks.workloads import MONTHLY, WIDE, plan, shape
from sim import kernels

if TYPE_CHECKING:
    from sim.plan import Plan

SEED = 20250101
GAUSSIAN = 1e9


# --- harnesses (one thread, no allocation per path) ----------------------------------------------

@nb.njit
def _draws(seed, n_paths, proc, params, shocks, shock_rows):
    """The kernel's per-path draws without the scenarios, in its order and with its rules: normals
    for the parameters that have a sampling error and their transforms, a start for processes not
    observed at t = 0, normals for partly observed years (``params``); then the shocks of
    ``shock_rows`` steps (``shocks``; the kernel draws n_t - 1 rows): each lane's normals and
    Student-t scales, then the correlation of a group of lanes, as the kernel does
    (``kernels._path_draws`` when both are asked for)."""
    n_p, n_t = proc.pin_b.shape
    lanes = kernels.LANES
    mu = np.empty((n_p, lanes))
    phi = np.empty((n_p, lanes))
    sigma = np.empty((n_p, lanes))
    x0 = np.empty((n_p, lanes))
    z_pin = np.zeros((n_t, n_p, lanes))
    nrm = np.empty((shock_rows, n_p, lanes))
    scale = np.empty((shock_rows, proc.t_const.shape[0], lanes))
    eps = np.empty((shock_rows, n_p, lanes))
    acc = 0.0
    for g in range(n_paths // lanes):
        for lane in range(lanes):
            state = kernels.path_state(np.uint64(seed), np.uint64(g * lanes + lane))
            if params and shocks:
                kernels._path_draws(state, 1.0, proc, mu, phi, sigma, x0, z_pin, nrm, scale, lane)
                continue
            if params:
                for p in range(n_p):
                    th0, th1, th2 = proc.theta_hat[p, 0], proc.theta_hat[p, 1], proc.theta_hat[p, 2]
                    if proc.uncertain[p]:
                        for k in range(3):
                            z, state = kernels.next_normal(state)
                            th0 += proc.theta_chol[p, 0, k] * z
                            th1 += proc.theta_chol[p, 1, k] * z
                            th2 += proc.theta_chol[p, 2, k] * z
                    m, f, _, sd0 = kernels.ar_params(th0, th1, th2)
                    acc += m + f
                    if np.isnan(proc.pin_b[p, 0]) or proc.pin_a[p, 0] != 0.0:
                        z, state = kernels.next_normal(state)
                        acc += sd0 * z
                for _ in range(proc.partial.shape[0]):
                    z, state = kernels.next_normal(state)
                    acc += z
            if shocks:
                kernels._shock_draws(state, proc.t_const, 1.0, nrm, scale, lane)
        if shocks:
            kernels._correlate(proc.shock_chol, proc.t_group, nrm, scale, eps)
            acc += eps[shock_rows - 1, n_p - 1, 0] + mu[0, 0]
    return acc


@nb.njit
def _uniforms(n):
    state = np.uint64(12345)
    acc = 0.0
    for _ in range(n):
        u, state = kernels.next_uniform(state)
        acc += u
    return acc


@nb.njit
def _normals(n):
    state = np.uint64(12345)
    acc = 0.0
    for _ in range(n):
        z, state = kernels.next_normal(state)
        acc += z
    return acc


@nb.njit
def _box_muller(n):
    """Box-Muller on the kernel's uniforms, both values of a pair used (the kernel's sampler before
    the ziggurat), for comparison."""
    state = np.uint64(12345)
    acc = 0.0
    for _ in range(n // 2):
        u1, state = kernels.next_uniform(state)
        u2, state = kernels.next_uniform(state)
        r = np.sqrt(-2.0 * np.log(u1))
        acc += r * np.cos(2.0 * np.pi * u2) + r * np.sin(2.0 * np.pi * u2)
    return acc


@nb.njit
def _gammas(n, shape):
    state = np.uint64(12345)
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    acc = 0.0
    for _ in range(n):
        g, state = kernels.next_gamma(state, d, c)
        acc += g
    return acc


@nb.njit
def _libm(n, which):
    acc = 0.0
    x = 0.5
    for i in range(n):
        x = 0.25 + (i & 1023) * 0.0004  # in (0.25, 0.66): no special cases
        if which == 0:
            acc += np.log(x)
        elif which == 1:
            acc += np.sin(x) + np.cos(x)
        elif which == 2:
            acc += np.exp(x)
        elif which == 3:
            acc += np.log1p(x)
        elif which == 4:
            acc += np.tanh(x)
        else:
            acc += x
    return acc


LIBM = {"log": 0, "sin+cos": 1, "exp": 2, "log1p": 3, "tanh": 4, "loop only": 5}


# --- experiments -------------------------------------------------------------------------------

def _median(fn: Callable[[], object], reps: int) -> float:
    fn()
    return statistics.median(timed(fn)[0] for _ in range(reps))


def _kernel(p: Plan, paths: int, reps: int, threads: int | None = 1, keep: int = 1) -> float:
    from sim import api

    return _median(lambda: api.simulate(p, paths=paths, seed=SEED, keep=keep, threads=threads), reps)


def _variant(p: Plan, *, df: float | None = None, scenarios: int | None = None) -> Plan:
    if df is not None:
        t_const, t_group = kernels.t_groups(np.full(len(p.processes), df))
        p = dataclasses.replace(p, proc=p.proc._replace(t_const=t_const, t_group=t_group))
    if scenarios is not None:
        a = p.assumptions
        p = p.with_assumptions(dataclasses.replace(a, **{f.name: getattr(a, f.name)[:scenarios].copy()
                                                          for f in dataclasses.fields(a)}),
                               p.scenarios[:scenarios], p.weights[:scenarios])
    return p


def profile(p: Plan, paths: int, reps: int) -> dict:
    """The experiments on one plan; times in microseconds per path (one thread unless said)."""
    proc = p.proc
    sh = shape(p)
    n_p, n_t, n_s = sh["processes"], sh["steps"] + 1, sh["scenarios"]
    d = float(proc.t_const[:, 0].max())  # the heaviest-tailed process's
    df = 2.0 * (d + 1.0 / 3.0) if d > 0 else GAUSSIAN
    us = 1e6 / paths
    rows: dict[str, float] = {}
    rows["kernel, 1 thread"] = _kernel(p, paths, reps) * us
    rows["kernel, keep 20,000 (as sim run)"] = _kernel(p, paths, reps, keep=20_000) * us
    rows["kernel, all threads (wall per path)"] = _kernel(p, paths, reps, threads=None) * us
    rows["kernel, Gaussian shocks"] = _kernel(_variant(p, df=GAUSSIAN), paths, reps) * us
    rows["kernel, 1 scenario"] = _kernel(_variant(p, scenarios=1), paths, reps) * us
    rows["kernel, 1 scenario, Gaussian"] = _kernel(_variant(p, df=GAUSSIAN, scenarios=1), paths, reps) * us

    def draws(params: bool, shocks: bool, shock_rows: int = n_t - 1, dof: float = df) -> float:
        t_const, t_group = kernels.t_groups(np.full(n_p, dof))
        args = (SEED, paths, proc._replace(t_const=t_const, t_group=t_group), params, shocks, shock_rows)
        return _median(lambda: _draws(*args), reps) * us

    rows["draws: all, as the kernel draws them"] = draws(True, True)
    rows["draws: path hash only"] = draws(False, False)
    rows["draws: parameters, starts, partly observed years"] = draws(True, False)
    rows["draws: shocks (n_t - 1 rows)"] = draws(False, True)
    rows["draws: shocks, Gaussian"] = draws(False, True, dof=GAUSSIAN)
    rows["draws: normals of the shocks alone (no correlation, no scale)"] = _median(
        lambda: _normals((n_t - 1) * n_p * paths), reps) * us

    n = 4_000_000

    def per_call(fn: Callable[[], object], calls: int) -> float:
        return _median(fn, reps) / calls * 1e9

    prim = {"uniform": per_call(lambda: _uniforms(n), n),
            "normal (ziggurat, next_normal)": per_call(lambda: _normals(n), n),
            "normal (Box-Muller on the same uniforms)": per_call(lambda: _box_muller(n), n),
            f"gamma(shape {df / 2:g}) (Marsaglia-Tsang)": per_call(lambda: _gammas(n // 4, df / 2), n // 4)}
    gen = np.random.default_rng(SEED)
    prim["numpy normal (ziggurat)"] = per_call(lambda: gen.standard_normal(n), n)
    prim[f"numpy gamma(shape {df / 2:g})"] = per_call(lambda: gen.standard_gamma(df / 2, n), n)
    for name, which in LIBM.items():
        prim[f"libm {name}"] = per_call(lambda w=which: _libm(n, w), n)

    # counts per path, from the kernel's code
    uncertain = int(np.count_nonzero(proc.uncertain))
    starts = int(np.count_nonzero(np.isnan(proc.pin_b[:, 0]) | (proc.pin_a[:, 0] != 0.0)))
    counts = {"normals (parameters, starts, partial years)":
                  3 * uncertain + starts + int(np.count_nonzero(proc.pin_c)),
              "normals (shocks)": (n_t - 1) * n_p,
              "gamma draws": (n_t - 1) * int(np.count_nonzero(proc.t_const[:, 0] > 0)),
              "indicator-steps": (n_t - 1) * sh["indicators"] * n_s}
    total = rows["kernel, 1 thread"]
    drawn = rows["draws: all, as the kernel draws them"]
    per_scenario = (total - rows["kernel, 1 scenario"]) / (n_s - 1) if n_s > 1 else math.nan
    derived = {
        "per path: draws (as the kernel draws them)": drawn,
        "per path: one scenario (kernel 3 - kernel 1) / 2": per_scenario,
        "per path: rest (kernel 1 scenario - draws - one scenario)":
            rows["kernel, 1 scenario"] - drawn - per_scenario,
        "share of kernel time in draws": drawn / total,
        "share of kernel time in the scenario loop": n_s * per_scenario / total,
        "share of kernel time in gamma draws (t vs Gaussian)":
            (total - rows["kernel, Gaussian shocks"]) / total,
        "ns per indicator-step in the scenario loop": per_scenario * 1e3 / (counts["indicator-steps"] / n_s),
        "thread scaling (1 thread / all threads)": total / rows["kernel, all threads (wall per path)"],
        "share of kernel time in drawing the shocks' normals alone":
            rows["draws: normals of the shocks alone (no correlation, no scale)"] / total,
    }
    return {"shape": sh, "paths": paths, "us_per_path": rows, "ns_per_primitive": prim,
            "counts_per_path": counts, "derived": derived}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_kernel",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--workload", action="append", choices=["a", "b"], help="default: both")
    args = parser.parse_args(argv)
    workloads = {"a": (WIDE, 262_144), "b": (MONTHLY, 65_536)}
    reps = 2 if args.quick else 5
    out = {"created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "workloads": {}}
    for name in args.workload or ["a", "b"]:
        workload, paths = workloads[name]
        paths = paths // 16 if args.quick else paths
        print(f"[profile] workload ({name}) {workload.title}, {paths:,} paths", file=sys.stderr, flush=True)
        res = profile(plan(workload.scenario), paths, reps)
        out["workloads"][name] = res
        print(f"\n== workload ({name}): {workload.title}, {paths:,} paths ==")
        for section, unit in (("us_per_path", "us/path"), ("ns_per_primitive", "ns"),
                              ("counts_per_path", "per path"), ("derived", "")):
            print(f"-- {section}")
            for key, value in res[section].items():
                print(f"  {key:<80} {value:>10.3f} {unit}" if isinstance(value, float)
                      else f"  {key:<80} {value:>10} {unit}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"profile-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
