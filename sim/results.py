"""What a run produced, labelled: probabilities with their Monte Carlo errors, and quantiles.

``Results.data`` is an xarray Dataset:

- ``probability``, ``std_error`` (scenario, target): scenario runs over the scenario names and
  ``weighted`` (the mixture with the scenario weights); target over the target ids and ``all``
  (every target met at once, on the same path).
- ``measure_quantile`` (scenario, target, quantile): the target's measure in its year.
- ``indicator_quantile`` (scenario, indicator, year, quantile): for fan charts.

Quantiles come from the first ``keep`` paths, which are stored; probabilities from all paths.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from sim import targets as semantics
from sim.plan import Plan, Skipped

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
WEIGHTED, ALL = "weighted", "all"


@dataclass(frozen=True)
class HitCounts:
    """What the kernel counted over ``paths`` paths, grouped in sampling units of ``unit`` paths
    (1, or 2 for antithetic pairs): ``hits[s, j]`` paths meeting target j under scenario s (j = J:
    all targets at once) and ``cross[s, r, j]``, the sum over units of H_s H_r with H a unit's hits.
    Units are independent, so the variance of any weighted mean of scenarios follows exactly."""

    hits: np.ndarray
    cross: np.ndarray
    paths: int
    unit: int = 1

    @property
    def probability(self) -> np.ndarray:
        """P(met), (scenario, target + all)."""
        return self.hits / self.paths

    def std_error(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Monte Carlo standard error of each scenario's P(met), or of the mixture with ``weights``."""
        n_units = self.paths // self.unit
        if weights is None:
            second = np.einsum("ssj->sj", self.cross) / n_units / self.unit**2
            mean = self.probability
        else:
            second = np.einsum("s,r,srj->j", weights, weights, self.cross) / n_units / self.unit**2
            mean = weights @ self.probability
        return np.sqrt(np.maximum(second - mean**2, 0.0) / n_units)


class Results:
    """Probabilities, quantiles and the provenance of one run."""

    def __init__(self, data: xr.Dataset, skipped: list[Skipped], notes: list[str],
                 sample: xr.DataArray, history: pd.DataFrame,
                 observations: pd.DataFrame | None = None) -> None:
        self.data = data
        self.skipped = skipped
        self.notes = notes
        self.sample = sample  # (scenario, indicator, year, path): the kept paths
        self.history = history  # observed values: indicator, year, value (in the model's unit)
        self.observations = observations  # the calibration/data rows the run read, with sources

    @property
    def probabilities(self) -> pd.DataFrame:
        """P(met) and its standard error, one row per scenario x target."""
        return self.data[["probability", "std_error"]].to_dataframe()

    def to_records(self) -> list[dict]:
        """One record per region x indicator x period x scenario (the --json schema)."""
        d = self.data
        records = []
        for target in d["target"].values:
            info = d.sel(target=target)
            for scenario in d["scenario"].values:
                cell = info.sel(scenario=scenario)
                rec = {
                    "region": d.attrs["region"],
                    "indicator": str(info["target_indicator"].item()),
                    "period": int(info["target_year"].item()),
                    "target": str(target),
                    "measure": str(info["measure"].item()),
                    "base_year": _int_or_none(info["base_year"].item()),
                    "comparator": str(info["comparator"].item()),
                    "value": _float_or_none(info["value"].item()),
                    "unit": str(info["unit"].item()),
                    "scenario": str(scenario),
                    "probability": _round(cell["probability"].item()),
                    "std_error": _round(cell["std_error"].item()),
                    "evidence": str(info["evidence"].item()),
                    "basis": str(info["basis"].item()),
                }
                if info["evidence"].item() == "D":
                    rec.update({"target_class": str(info["target_class"].item()),
                                "posterior_sd": _round(info["posterior_sd"].item())})
                elif target != ALL:
                    q = cell["measure_quantile"]
                    rec.update({"median": _round(q.sel(quantile=0.5).item()),
                                "p10": _round(q.sel(quantile=0.1).item()),
                                "p90": _round(q.sel(quantile=0.9).item())})
                records.append(rec)
        return records

    def to_json(self) -> str:
        """The records, the skipped targets and the run's provenance, as JSON."""
        return json.dumps({"run": self.provenance(), "results": self.to_records(),
                           "skipped": [{"target": s.target, "reason": s.reason} for s in self.skipped],
                           "notes": self.notes},
                          ensure_ascii=False, indent=1)

    def provenance(self) -> dict:
        a = self.data.attrs
        return {"region": a["region"], "seed": a["seed"], "paths": a["paths"], "keep": a["keep"],
                "antithetic": bool(a["antithetic"]), "as_of": a["as_of"] or None,
                "sim_version": a["sim_version"],
                "inputs": json.loads(a["inputs"])}


def kept_paths(plan: Plan, kept: np.ndarray) -> xr.DataArray:
    """The kept paths, labelled: indicator values by scenario, indicator, year and path."""
    return xr.DataArray(kept, dims=("scenario", "indicator", "year", "path"),
                        coords={"scenario": plan.scenarios, "indicator": plan.indicators,
                                "year": plan.years}, name="value")


def assemble(plan: Plan, counts: HitCounts | None, kept: np.ndarray | None, attrs: dict) -> xr.Dataset:
    """Turn the kernel's counts and kept paths into the labelled dataset; the targets given their
    class's rate (``plan.reference``) follow the simulated ones, with no quantiles, and 'all' ends
    the list when any target was simulated."""
    n_s, n_q = len(plan.scenarios), len(QUANTILES)
    w = plan.weights
    ref = plan.reference
    live = [*plan.targets, ALL] if plan.targets else []
    tids = [*plan.targets, *ref.index, *live[-1:]]
    prob = np.full((n_s + 1, len(tids)), np.nan)
    se = np.zeros_like(prob)
    measure_q = np.full((n_s + 1, len(tids), n_q), np.nan)
    ind_q = np.full((n_s + 1, len(plan.indicators), len(plan.years), n_q), np.nan)
    cols = [tids.index(t) for t in live]
    if live:
        prob[:, cols] = np.vstack([counts.probability, w @ counts.probability])
        se[:, cols] = np.vstack([counts.std_error(), counts.std_error(w)])
        measured = measures(plan, kept) * plan.target_info["scale"].to_numpy()[None, :, None]
        mq = np.stack([np.quantile(measured[s], QUANTILES, axis=-1).T for s in range(n_s)])
        measure_q[:, cols[:-1]] = np.concatenate([mq, _weighted_quantiles(measured, w)[None]], axis=0)
        by_scenario = np.stack([np.quantile(kept[s], QUANTILES, axis=-1) for s in range(n_s)])
        ind_q[:n_s] = np.moveaxis(by_scenario, 1, -1)
        ind_q[n_s] = _weighted_quantiles(kept, w)
    if len(ref):
        prob[:, len(plan.targets):len(plan.targets) + len(ref)] = ref["probability"].to_numpy()[None, :]
    info = pd.concat([plan.target_info, ref]).reindex(tids)
    if live:
        info.loc[ALL, ["name_zh", "name_en"]] = "全部模拟目标同时实现", "all simulated targets met together"
        info.loc[ALL, "evidence"] = max(info.loc[plan.targets, "evidence"])  # the weakest
        info.loc[ALL, "basis"] = "the simulated targets together (grades A–C)"
    ds = xr.Dataset(
        {"probability": (("scenario", "target"), prob),
         "std_error": (("scenario", "target"), se),
         "measure_quantile": (("scenario", "target", "quantile"), measure_q),
         "indicator_quantile": (("scenario", "indicator", "year", "quantile"), ind_q),
         "weight": (("scenario",), np.append(w, np.nan))},
        coords={"scenario": [*plan.scenarios, WEIGHTED], "target": tids, "indicator": plan.indicators,
                "year": plan.years, "quantile": list(QUANTILES)},
        attrs={**attrs, "region": plan.region},
    )
    for col in ("name_zh", "name_en", "measure", "comparator", "unit", "modality", "clause", "source",
                "evidence", "basis", "target_class"):
        ds.coords[col] = ("target", info.get(col, pd.Series(index=info.index, dtype=object)).fillna("")
                          .astype(str).to_numpy())
    ind_info = plan.indicator_info.reindex(plan.indicators)
    for col in ("name_zh", "name_en", "unit", "kind"):
        ds.coords[f"indicator_{col}"] = ("indicator", ind_info.get(col, pd.Series(dtype=str)).to_numpy())
    threshold = np.full(len(tids), np.nan)
    if live:
        threshold[cols[:-1]] = plan.tgt.threshold * plan.target_info["scale"].to_numpy()
    last_year = max(plan.years, default=max(info["year"].dropna(), default=0))
    number = {c: info.get(c, pd.Series(index=info.index, dtype=float)).astype(float).to_numpy()
              for c in ("base_year", "value", "last_year", "last_value", "tolerance", "posterior_sd")}
    ds = ds.assign_coords(
        {"target_indicator": ("target", info["indicator"].fillna("").astype(str).where(info.index != ALL, ALL)
                              .to_numpy()),
         "target_year": ("target", info["year"].fillna(last_year).astype(int).to_numpy()),
         **{c: ("target", v) for c, v in number.items()},
         "threshold": ("target", threshold)})
    return ds


def measures(plan: Plan, kept: np.ndarray) -> np.ndarray:
    """Each target's measure on each kept path, in the model's unit: (scenario, target, path)."""
    tgt = plan.tgt
    out = np.empty((kept.shape[0], len(plan.targets), kept.shape[-1]))
    for j in range(len(plan.targets)):
        series = kept[:, tgt.ind[j]]
        base = tgt.base_value[j] if tgt.base_t[j] < 0 else series[:, tgt.base_t[j]]
        out[:, j, :] = semantics.measure_of(series[:, tgt.t[j]], base, tgt.measure[j])
    return out


def _weighted_quantiles(samples: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Quantiles of the scenario mixture: ``samples`` is (scenario, ..., path); returns (..., q)."""
    n_s, n = samples.shape[0], samples.shape[-1]
    pooled = np.moveaxis(samples, 0, -2).reshape(*samples.shape[1:-1], n_s * n)
    w = np.repeat(weights / n, n)
    order = np.argsort(pooled, axis=-1, kind="stable")
    sorted_vals = np.take_along_axis(pooled, order, axis=-1)
    cum = np.cumsum(w[order], axis=-1)
    cum = cum / cum[..., -1:]
    idx = np.stack([np.argmax(cum >= q, axis=-1) for q in QUANTILES], axis=-1)
    return np.take_along_axis(sorted_vals, idx, axis=-1)


def _round(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)


def _float_or_none(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _int_or_none(x: float) -> int | None:
    return None if x is None or math.isnan(x) else int(x)
