"""A plain-NumPy reference of the simulation kernel: the same model, vectorised over paths.

It reads the arrays of a :class:`sim.plan.Plan` (the kernel's inputs) and simulates the same model
as ``sim.kernels.simulate``: per-path draws of (mu, atanh phi, log sigma) from the calibration's
sampling law, a stationary start, AR(1) processes with correlated unit-variance Student-t shocks
(one chi-square per path and step, shared by the processes), pinned and partly observed years,
scenario shifts, volatility multipliers, parameter overrides and level shocks, rate/level/share
indicators and the targets. Random
numbers come from NumPy's ``Generator`` (PCG64; ziggurat normals), so the probabilities agree with
the kernel's within Monte Carlo error but not path by path.

Paths are processed in chunks (about 32 MB per array) with loops only over steps, scenarios,
indicators and targets. It is the baseline of the "kernel vs NumPy" ratios and a second opinion on
the kernel's probabilities; it is not used by ``sim`` itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.kernels import GAUSSIAN_DF, LOG_PCT, MUL_PCT, POW_PCT
from sim.kinds import LEVEL, RATE, SHARE
from sim.targets import DIFFERENCE, GE, GT, LE, PCT_CHANGE, VALUE

if TYPE_CHECKING:
    from sim.plan import Plan

CHUNK_ELEMENTS = 1 << 22  # elements of the largest per-chunk array (steps x paths x processes)


@dataclass(frozen=True)
class ReferenceResult:
    """Paths meeting each target under each scenario: ``hits[s, j]``, j = J being all at once."""

    hits: np.ndarray
    paths: int

    @property
    def probability(self) -> np.ndarray:
        return self.hits / self.paths


def simulate(plan: Plan, *, paths: int, seed: int, chunk: int | None = None) -> ReferenceResult:
    """Simulate ``paths`` paths of ``plan`` (a :class:`sim.plan.Plan`) and count the targets met."""
    a = _arrays(plan)
    unknown = set(np.unique(a["ind_kind"]).tolist()) - {RATE, LEVEL, SHARE}
    if unknown:
        raise NotImplementedError(f"the reference simulates rate, level and share indicators only; "
                                  f"this plan has kinds {sorted(unknown)}")
    n_s, n_p, n_t = a["shift"].shape
    if chunk is None:
        chunk = min(max(CHUNK_ELEMENTS // (n_t * n_p), 4096), 1 << 18)
    rng = np.random.default_rng(seed)
    hits = np.zeros((n_s, a["tgt_ind"].size + 1), np.int64)
    for start in range(0, paths, chunk):
        hits += _chunk(a, rng, min(chunk, paths - start))
    return ReferenceResult(hits, paths)


def _arrays(plan: Plan) -> dict:
    """The plan's groups as the flat arrays this reference reads (drivers dense, level states as logs)."""
    proc, ind, tgt, assumed = plan.proc, plan.ind, plan.tgt, plan.assumptions
    n_m, n_p = ind.kind.size, proc.theta_hat.shape[0]
    drivers, pct = np.zeros((n_m, n_p)), np.zeros((n_m, n_p), bool)
    for m in range(n_m):
        for k in range(ind.drv_ptr[m], ind.drv_ptr[m + 1]):
            drivers[m, ind.drv_p[k]] = ind.drv_c[k]
            pct[m, ind.drv_p[k]] = ind.drv_mode[k] in (LOG_PCT, MUL_PCT, POW_PCT)
    d = proc.t_const[0, 0]
    state = np.where(ind.kind == LEVEL, np.log(np.where(ind.kind == LEVEL, ind.start_level, 1.0)),
                     ind.start_level)
    return {"theta_hat": proc.theta_hat, "theta_chol": proc.theta_chol, "shock_chol": proc.shock_chol,
            "df": 2.0 * (d + 1.0 / 3.0) if d > 0 else GAUSSIAN_DF, "pin_a": proc.pin_a, "pin_b": proc.pin_b,
            "pin_c": proc.pin_c, "shift": assumed.shift, "vol": assumed.vol, "theta_over": assumed.theta_over,
            "level_shock": assumed.level_shock, "ind_kind": ind.kind, "drivers": drivers, "pct": pct,
            "ind_start": ind.start, "ind_state": state, "ind_fixed": ind.fixed,
            **{f"tgt_{name}": getattr(tgt, name) for name in tgt._fields}}


def _chunk(a: dict, rng: np.random.Generator, n: int) -> np.ndarray:
    n_s, n_p, n_t = a["shift"].shape
    # per-path parameters: theta = theta_hat + L z, by process
    z = rng.standard_normal((n_p, n, 3))
    theta = a["theta_hat"][:, None, :] + z @ a["theta_chol"].transpose(0, 2, 1)  # (n_p, n, 3)
    mu = np.ascontiguousarray(theta[:, :, 0].T)  # (n, n_p)
    phi = np.tanh(theta[:, :, 1]).T
    sigma = np.exp(theta[:, :, 2]).T
    x0 = mu + sigma / np.sqrt(1.0 - phi * phi) * rng.standard_normal((n, n_p))
    # shocks of steps 1..T: correlated normals scaled by sqrt((df - 2) / chi2_df) per path and step
    eps = rng.standard_normal((n_t - 1, n, n_p)) @ a["shock_chol"].T
    df = float(a["df"])
    if df < GAUSSIAN_DF:
        eps *= np.sqrt((df - 2.0) / rng.chisquare(df, (n_t - 1, n)))[:, :, None]
    # pinned years: a * (the AR draw) + b + c * z, z drawn only where c is not zero
    pinned = [np.flatnonzero(~np.isnan(a["pin_b"][:, t])) for t in range(n_t)]
    z_pin = {(p, t): rng.standard_normal(n) for t in range(n_t) for p in pinned[t] if a["pin_c"][p, t]}

    def pin(values: np.ndarray, t: int) -> None:
        for p in pinned[t]:
            values[:, p] = a["pin_a"][p, t] * values[:, p] + a["pin_b"][p, t]
            if (p, t) in z_pin:
                values[:, p] += a["pin_c"][p, t] * z_pin[p, t]

    n_j = a["tgt_ind"].size
    hits = np.zeros((n_s, n_j + 1), np.int64)
    x = np.empty((n_t, n, n_p))
    over = a.get("theta_over", np.full((n_s, n_p, 3), np.nan))  # a scenario's fixed mu, phi, sigma
    for s in range(n_s):
        mu_s, phi_s, sigma_s = (np.where(np.isnan(over[s, :, k]), drawn, over[s, :, k])
                                for k, drawn in enumerate((mu, phi, sigma)))
        prev = x0.copy()  # the start is the path's own, whatever the scenario
        pin(prev, 0)
        x[0] = prev
        prev_mean = mu_s + a["shift"][s, :, 0]
        for t in range(1, n_t):
            mean_t = mu_s + a["shift"][s, :, t]
            cur = mean_t + phi_s * (prev - prev_mean) + (sigma_s * a["vol"][s, :, t]) * eps[t - 1]
            pin(cur, t)
            x[t] = cur
            prev, prev_mean = cur, mean_t
        y = _indicators(a, x, s)
        met_all = np.ones(n, bool)
        for j in range(n_j):
            met = _target_met(a, y, j)
            hits[s, j] = np.count_nonzero(met)
            met_all &= met
        hits[s, n_j] = np.count_nonzero(met_all)
    return hits


def _indicators(a: dict, x: np.ndarray, s: int) -> list[np.ndarray]:
    """Each indicator on the grid, (n_t, n), under scenario s; observed years keep their values."""
    n_t = x.shape[0]
    shocks = a.get("level_shock", np.zeros((s + 1, a["ind_kind"].size, n_t)))[s]
    out = []
    for m, kind in enumerate(a["ind_kind"]):
        procs = np.flatnonzero(a["drivers"][m])
        coef = a["drivers"][m, procs]
        drive = x[:, :, procs]
        if kind != RATE:  # levels and shares compound: log(1 + x/100) for processes in %
            pct = a["pct"][m, procs]
            if pct.any():
                drive = drive.copy()
                drive[:, :, pct] = np.log1p(drive[:, :, pct] / 100.0)
        step = drive @ coef
        start = int(a["ind_start"][m])
        shock = shocks[m, start + 1:, None]
        y = np.empty_like(step)
        y[: start + 1] = a["ind_fixed"][m, : start + 1, None]
        if kind == RATE:
            y[start + 1:] = step[start + 1:] + shock
        elif kind == LEVEL:
            y[start + 1:] = np.exp(a["ind_state"][m] + np.cumsum(step[start + 1:] + shock, axis=0))
        elif not shock.any():
            y[start + 1:] = 100.0 / (1.0 + np.exp(-(a["ind_state"][m] + np.cumsum(step[start + 1:], axis=0))))
        else:  # a share moved by a shock in points: its logit restarts from the moved share
            level = np.full(step.shape[1], a["ind_state"][m])
            for t in range(start + 1, n_t):
                level = level + step[t]
                share = 100.0 / (1.0 + np.exp(-level))
                if shocks[m, t]:
                    share = np.clip(share + shocks[m, t], 1e-9, 100.0 - 1e-9)
                    level = np.log(share / (100.0 - share))
                y[t] = share
        out.append(y)
    return out


def _target_met(a: dict, y: list[np.ndarray], j: int) -> np.ndarray:
    ind_y = y[a["tgt_ind"][j]]
    v = ind_y[a["tgt_t"][j]]
    measure = a["tgt_measure"][j]
    if measure != VALUE:
        base_t = a["tgt_base_t"][j]
        base = a["tgt_base_value"][j] if base_t < 0 else ind_y[base_t]
        if measure == PCT_CHANGE:
            v = (v / base - 1.0) * 100.0
        elif measure == DIFFERENCE:
            v = v - base
    threshold, cmp = a["tgt_threshold"][j], a["tgt_cmp"][j]
    if cmp == GE:
        return v >= threshold
    if cmp == GT:
        return v > threshold
    if cmp == LE:
        return v <= threshold
    return v < threshold


def agreement(p1: np.ndarray, n1: int, p2: np.ndarray, n2: int) -> np.ndarray:
    """|p1 - p2| over 4 standard errors of the difference of two independent estimates,
    4 sqrt(p (1 - p) (1/n1 + 1/n2)) with p pooled (4 sqrt(2 p (1 - p) / n) when n1 = n2 = n).
    A value of at most 1 means the two agree within Monte Carlo error."""
    p = (p1 * n1 + p2 * n2) / (n1 + n2)
    bound = 4.0 * np.sqrt(p * (1.0 - p) * (1.0 / n1 + 1.0 / n2))
    diff = np.abs(p1 - p2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bound > 0, diff / np.where(bound > 0, bound, 1.0), np.where(diff > 0, math.inf, 0.0))
