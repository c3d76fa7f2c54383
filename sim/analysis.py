"""What it would take, and what matters: required growth and sensitivity.

Both rerun the kernel on variants of one scenario laid side by side as extra scenarios of a single
pass, so every variant sees the same random numbers (common random numbers): the probability is then
a smooth, monotone function of a shift, and differences between variants are not noise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import api
from sim.errors import SimError
from sim.kinds import KINDS
from sim.plan import Edit, Plan
from sim.spec import ModelSpec

LEVELS = (0.5, 0.8, 0.9)
GRID = 21  # shifts per pass
STEP = {"%": 1.0, "log": 0.01, "logit": 0.02}  # sensitivity step of a mean, per process unit
VOL_STEP = 1.5  # sensitivity: volatility multiplied and divided by this


def _base_plan(scenario_path: str | Path, scenario: str | None, as_of: dt.date | None
               ) -> tuple[Plan, ModelSpec, int, str]:
    inputs = api.load_inputs(scenario_path, as_of)
    scen, model = inputs.scenario, inputs.model
    plan = inputs.plan()
    if not plan.targets:
        raise SimError("no target of this file can be simulated", file=scen.path)
    name = scenario or plan.scenarios[0]
    if name not in plan.scenarios:
        raise SimError(f"no scenario {name!r}; scenarios: {', '.join(plan.scenarios)}", file=scen.path)
    return plan, model, scen.year, name


@dataclass(frozen=True)
class _Draws:
    """How every pass of one analysis is simulated (the same paths and seed: common random numbers)."""

    paths: int
    seed: int
    threads: int | None


def _probabilities(plan: Plan, mc: _Draws) -> np.ndarray:
    """P(met) by (variant, target), from one pass."""
    counts, _ = api.simulate(plan, paths=mc.paths, seed=mc.seed, keep=1, threads=mc.threads)
    return counts.probability[:, :-1]


def lever(model: ModelSpec, indicator: str) -> str:
    """The process whose mean 'growth' means for an indicator: its ``lever`` if the model names
    one, else its first regional process (the region's own growth, not the nation's)."""
    ind = model.indicators[indicator]
    procs = ind.processes(model)
    regional = [p for p in procs if model.processes[p].scope == "regional"]
    return ind.lever or (regional or procs)[0]


def required_growth(scenario_path: str | Path, *, levels: tuple[float, ...] = LEVELS,
                    scenario: str | None = None, paths: int = 200_000, seed: int = api.DEFAULT_SEED,
                    as_of: dt.date | None = None, threads: int | None = None) -> pd.DataFrame:
    """For each target, the shift of its lever's mean that gives each probability in ``levels``.

    Columns: target, lever, unit (the lever's), level, shift (in the lever's unit, from the scenario
    file's year),
    probability_now (with no shift), growth (the median of the target indicator's yearly change in
    the target year with that shift: the rate itself, the % change of a level, the pp change of a
    share) and note (why a level has no answer: out of reach, or the lever already observed).
    """
    plan, model, year, base = _base_plan(scenario_path, scenario, as_of)
    mc = _Draws(paths, seed, threads)
    t0 = plan.step(year)
    info = plan.target_info
    groups: dict[str, list[int]] = {}
    for j, target in enumerate(plan.targets):
        groups.setdefault(lever(model, info.loc[target, "indicator"]), []).append(j)
    now = _probabilities(plan.variants(base, [Edit("now")], year), mc)[0]
    rows = []
    for proc, targets in groups.items():
        p = plan.processes.index(proc)
        pin_a, pin_b = plan.proc.pin_a, plan.proc.pin_b
        for j in targets:
            observed = all(not np.isnan(pin_b[p, t]) and pin_a[p, t] == 0
                           for t in range(t0, plan.tgt.t[j] + 1))
            if observed:
                rows += [{"target": plan.targets[j], "lever": proc, "unit": model.processes[proc].unit,
                          "level": q, "shift": np.nan, "probability_now": now[j], "growth": np.nan,
                          "note": f"{proc} is already observed for the target year"} for q in levels]
                targets = [k for k in targets if k != j]
        if not targets:
            continue
        solved = _solve_shifts(plan, base, targets, proc, year, levels, mc)
        for j in targets:
            shifts = [solved.get((j, q), np.nan) for q in levels]
            growth = _implied_growth(plan, base, j, proc, year, shifts, mc)
            for q, d, g in zip(levels, shifts, growth, strict=True):
                rows.append({"target": plan.targets[j], "lever": proc, "unit": model.processes[proc].unit,
                             "level": q, "shift": d,
                             "probability_now": now[j], "growth": g,
                             "note": "" if np.isfinite(d) else "out of reach of the searched shifts"})
    order = {t: k for k, t in enumerate(plan.targets)}
    out = pd.DataFrame(rows)
    return out.sort_values(["target", "level"], key=lambda c: c.map(order) if c.name == "target" else c,
                           kind="stable").reset_index(drop=True)


def _solve_shifts(plan: Plan, base: str, targets: list[int], proc: str, year: int,
                  levels: tuple[float, ...], mc: _Draws) -> dict[tuple[int, float], float]:
    """A coarse grid of shifts brackets every (target, level), widened once if needed; one finer
    pass over all brackets at once; linear interpolation inside the finest bracket."""
    _, phi, sigma, _ = plan.proc.fixed[plan.processes.index(proc)]
    half = 4 * sigma / np.sqrt(1 - phi**2)
    for _ in range(2):
        grid = np.linspace(-half, half, GRID)
        probs = _shift_probabilities(plan, base, proc, year, grid, mc)
        brackets = {(j, q): _bracket(grid, probs[:, j], q) for j in targets for q in levels}
        if all(b is not None for b in brackets.values()):
            break
        half *= 4
    found = {key: b for key, b in brackets.items() if b is not None}
    fine_n = 11
    fine = np.concatenate([np.linspace(lo, hi, fine_n) for lo, hi in found.values()] or [np.empty(0)])
    fine_probs = _shift_probabilities(plan, base, proc, year, fine, mc) if len(fine) else fine
    out = {}
    for k, ((j, q), b) in enumerate(found.items()):
        xs, ps = fine[k * fine_n:(k + 1) * fine_n], fine_probs[k * fine_n:(k + 1) * fine_n, j]
        lo, hi = _bracket(xs, ps, q) or b
        p_lo, p_hi = np.interp([lo, hi], xs, ps)
        out[(j, q)] = float(lo if p_hi == p_lo else lo + (q - p_lo) * (hi - lo) / (p_hi - p_lo))
    return out


def _shift_probabilities(plan: Plan, base: str, proc: str, year: int, grid: np.ndarray,
                         mc: _Draws) -> np.ndarray:
    """P(met) by (shift, target) with the lever's mean shifted by each grid value."""
    edits = [Edit(f"d{k}", shift={proc: float(d)}) for k, d in enumerate(grid)]
    return _probabilities(plan.variants(base, edits, year), mc)


def _bracket(grid: np.ndarray, probs: np.ndarray, q: float) -> tuple[float, float] | None:
    """Neighbouring grid points whose probabilities straddle q (probability rises or falls)."""
    for i in range(len(grid) - 1):
        if min(probs[i], probs[i + 1]) <= q <= max(probs[i], probs[i + 1]) and probs[i] != probs[i + 1]:
            return float(grid[i]), float(grid[i + 1])
    return None


def _implied_growth(plan: Plan, base: str, j: int, proc: str, year: int, shifts: list[float],
                    mc: _Draws) -> list[float]:
    """The median yearly change of target j's indicator in its year under each shift, read as its
    kind reads a change: a rate itself, a share's points, the % change of the others."""
    edits = [Edit(f"q{k}", shift={proc: float(d) if np.isfinite(d) else 0.0}) for k, d in enumerate(shifts)]
    keep = min(mc.paths, api.DEFAULT_KEEP)
    _, kept = api.simulate(plan.variants(base, edits, year), paths=keep, seed=mc.seed, keep=keep,
                           threads=mc.threads)
    m, t = plan.tgt.ind[j], plan.tgt.t[j]
    rule = KINDS[plan.indicator_info.loc[plan.indicators[m], "kind"]].change
    cur, prev = kept[:, m, t, :], kept[:, m, max(t - 1, 0), :]
    change = {"value": cur, "difference": cur - prev}.get(rule, (cur / prev - 1) * 100)
    medians = np.median(change, axis=-1)
    return [float(v) if np.isfinite(s) else float("nan") for v, s in zip(medians, shifts, strict=True)]


def sensitivity(scenario_path: str | Path, *, scenario: str | None = None, paths: int = 200_000,
                seed: int = api.DEFAULT_SEED, as_of: dt.date | None = None,
                threads: int | None = None) -> pd.DataFrame:
    """P(met) of each target when each assumption moves by its step, one at a time (a tornado).

    Assumptions: each process's mean, down and up by ``STEP`` of its unit (1 pp for growth rates,
    0.02 for logit changes), and its volatility divided and multiplied by ``VOL_STEP``; both from
    the scenario file's year. Columns: target, assumption, step, p_low, p_base, p_high, swing, and
    the assumption's parts: process, moved (mean or volatility), size (the step), unit (the process's).
    """
    plan, model, year, base = _base_plan(scenario_path, scenario, as_of)
    moves = [("base", "", "", Edit("base"))]
    for proc in plan.processes:
        step = STEP[model.processes[proc].unit]
        moves += [(proc, "mean", step, Edit(f"{proc}-", shift={proc: -step})),
                  (proc, "mean", step, Edit(f"{proc}+", shift={proc: step})),
                  (proc, "volatility", VOL_STEP, Edit(f"{proc}/", volatility={proc: 1 / VOL_STEP})),
                  (proc, "volatility", VOL_STEP, Edit(f"{proc}*", volatility={proc: VOL_STEP}))]
    probs = _probabilities(plan.variants(base, [m[-1] for m in moves], year), _Draws(paths, seed, threads))
    rows = []
    for j, target in enumerate(plan.targets):
        for k in range(1, len(moves), 2):
            proc, moved, size, _ = moves[k]
            step = f"±{size:g}" if moved == "mean" else f"÷/×{size:g}"
            lo, hi = probs[k, j], probs[k + 1, j]
            rows.append({"target": target, "assumption": f"{proc} {moved}", "step": step, "p_low": lo,
                         "p_base": probs[0, j], "p_high": hi, "swing": abs(hi - lo), "process": proc,
                         "moved": moved, "size": size, "unit": model.processes[proc].unit})
    out = pd.DataFrame(rows)
    return out.sort_values(["target", "swing"], ascending=[True, False], kind="stable").reset_index(drop=True)
