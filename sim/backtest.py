"""Backtests: what the model would have said at the end of year Y-1, scored against year Y.

For every region whose value-added growth in Y is known today, the model is recalibrated on the
data published by 31 December of Y-1 and simulates Y; its predictive distribution is scored by the
CRPS, the log score (kernel density), the PIT and the coverage of its central 50% and 80% intervals
(scoringrules). Two naive forecasts are scored alongside: climatology (every region's growth over
the calibration window, pooled: a normal with their mean and sd) and persistence (the region's
latest growth figure known then, usually its year-to-date figure for Y-1, with the pooled sd).
Every target of a scenario file for year Y whose outcome is known today is scored too (Brier and
log score), against a fixed base rate: the share of those targets met (in-sample, which flatters it).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scoringrules as sr
from scipy import stats

from sim import api, observations
from sim.calibrate import WINDOW, calibrate
from sim.errors import SimError
from sim.plan import NATIONAL
from sim.spec import ModelSpec, ParamsFile, ScenarioFile

GROWTH = "iva_growth"
LOG_FLOOR = 1e-4  # probabilities are clipped to [1e-4, 1 - 1e-4] for the log score


@dataclass
class Backtest:
    year: int
    growth: pd.DataFrame  # one row per region x forecaster
    targets: pd.DataFrame  # one row per target x forecaster
    pit: pd.Series  # PIT histogram of the model's growth forecasts (deciles)
    calibration: pd.DataFrame  # binary targets by predicted-probability bin

    def summary(self) -> pd.DataFrame:
        """Mean scores by forecaster (lower CRPS, log score and Brier are better)."""
        g = self.growth.groupby("forecaster")[["crps", "log_score", "in_50", "in_80", "pit"]].mean()
        g["n"] = self.growth.groupby("forecaster").size()
        if len(self.targets):
            t = self.targets.groupby("forecaster")[["brier", "log_score"]].mean()
            g = g.join(t.add_prefix("target_"), how="outer")
        return g


def backtest(root: str | Path, year: int, *, paths: int = 20_000, seed: int = api.DEFAULT_SEED,
             model_name: str = "industry") -> Backtest:
    """Score the forecasts made at the end of ``year - 1`` against what happened in ``year``."""
    root = Path(root)
    as_of = dt.date(year - 1, 12, 31)
    model = ModelSpec.load(root / "models" / f"{model_name}.yaml")
    obs_now = observations.as_of(observations.load(root / "calibration" / "data"), None)
    obs_then = observations.as_of(obs_now, as_of)
    realized = {r: v for r in sorted(set(obs_now["region"]) - {NATIONAL})
                if year in (s := observations.series(obs_now, r, GROWTH)) and not math.isnan(v := s[year])}
    if not realized:
        raise SimError(f"no region has a full-year {GROWTH} for {year} in calibration/data")
    regions = sorted(set(realized) | {s.region for s in _scenarios_for(root, year)} & set(obs_now["region"]))
    docs = calibrate(root, regions, model_name=model_name, as_of=as_of, write=False)
    params = {r: ParamsFile.model_validate(d) for r, d in docs.items()}
    rows = []
    climate = _climatology(obs_then, year)
    for region, y in realized.items():
        scen = _growth_scenario(region, year, y)
        res = api.run_loaded(scen, model, params[region], obs_then, paths=paths, seed=seed, keep=paths)
        x = res.sample.sel(scenario="baseline", indicator=GROWTH, year=year).to_numpy()
        rows.append({"region": region, "forecaster": "sim", "realized": y, **_score_samples(y, x)})
        rows.append({"region": region, "forecaster": "climatology", "realized": y,
                     **_score_normal(y, *climate)})
        last = _latest_known(obs_then, region, year)
        if last is not None:
            rows.append({"region": region, "forecaster": "persistence", "realized": y,
                         **_score_normal(y, last, climate[1])})
    growth = pd.DataFrame(rows)
    model_pit = growth.loc[growth["forecaster"] == "sim", "pit"]
    pit = pd.cut(model_pit, np.linspace(0, 1, 11), include_lowest=True).value_counts().sort_index()
    targets = _score_targets(root, year, model, params, obs_now, obs_then, paths, seed)
    return Backtest(year, growth, targets, pit, _calibration_table(targets))


def _growth_scenario(region: str, year: int, threshold: float) -> ScenarioFile:
    return ScenarioFile.model_validate({
        "region": region, "year": year, "model": "industry",
        "targets": {"growth": {"name_zh": "规上工业增加值增速", "name_en": "industrial value-added growth",
                               "indicator": GROWTH, "year": year, "comparator": ">=",
                               "value": threshold, "unit": "%", "clause": "backtest",
                               "source": "realized value in calibration/data"}},
        "scenarios": {"baseline": {"weight": 1.0}}})


def _latest_known(obs: pd.DataFrame, region: str, year: int) -> float | None:
    """The region's latest growth figure known at the end of year - 1: that year's
    year-to-date figure with the most months, else the full year before."""
    sel = obs[(obs["region"] == region) & (obs["indicator"] == GROWTH) & (obs["first_month"] == 1)
              & (obs["period"] >= year - 2)]
    if sel.empty:
        return None
    return float(sel.sort_values(["period", "last_month"]).iloc[-1]["value"])


def _climatology(obs: pd.DataFrame, year: int) -> tuple[float, float]:
    full = obs[(obs["indicator"] == GROWTH) & (obs["region"] != NATIONAL) & (obs["first_month"] == 1)
               & (obs["last_month"] == 12) & (obs["period"] > year - 1 - WINDOW)]
    return float(full["value"].mean()), float(full["value"].std(ddof=1))


def _score_samples(y: float, x: np.ndarray) -> dict:
    q10, q25, q75, q90 = np.quantile(x, [0.1, 0.25, 0.75, 0.9])
    return {"median": float(np.median(x)), "p10": q10, "p90": q90,
            "crps": float(sr.crps_ensemble(y, x)), "log_score": float(sr.logs_ensemble(y, x)),
            "pit": float(np.mean(x <= y)), "in_50": float(q25 <= y <= q75), "in_80": float(q10 <= y <= q90)}


def _score_normal(y: float, mu: float, sd: float) -> dict:
    q10, q25, q75, q90 = stats.norm.ppf([0.1, 0.25, 0.75, 0.9], mu, sd)
    return {"median": mu, "p10": q10, "p90": q90, "crps": float(sr.crps_normal(y, mu, sd)),
            "log_score": float(sr.logs_normal(y, mu, sd)), "pit": float(stats.norm.cdf(y, mu, sd)),
            "in_50": float(q25 <= y <= q75), "in_80": float(q10 <= y <= q90)}


def _scenarios_for(root: Path, year: int) -> list[ScenarioFile]:
    out = []
    for path in sorted((root / "scenarios").glob("*.yaml")):
        scen = ScenarioFile.load(path)
        if any(t.year == year for t in scen.targets.values()):
            out.append(scen)
    return out


def _score_targets(root: Path, year: int, model: ModelSpec, params: dict[str, ParamsFile],
                   obs_now: pd.DataFrame, obs_then: pd.DataFrame, paths: int, seed: int) -> pd.DataFrame:
    rows = []
    for scen in _scenarios_for(root, year):
        if scen.region not in params:
            continue
        try:
            now = api.run_loaded(scen, model, params[scen.region], obs_now, paths=256, seed=seed)
            then = api.run_loaded(scen, model, params[scen.region], obs_then, paths=paths, seed=seed)
        except SimError:
            continue  # nothing simulable for this file at that date
        q = now.data["measure_quantile"].sel(scenario="weighted")
        for target in then.data["target"].values:
            if target == "all" or target not in now.data["target"].values:
                continue
            if int(then.data["target_year"].sel(target=target)) != year:
                continue
            lo, hi = q.sel(target=target, quantile=0.05).item(), q.sel(target=target, quantile=0.95).item()
            if not lo == hi:
                continue  # the outcome is not observed yet
            outcome = float(now.data["probability"].sel(scenario="weighted", target=target).item())
            p = float(then.data["probability"].sel(scenario="weighted", target=target).item())
            rows.append({"file": scen.path.name, "target": str(target), "outcome": outcome,
                         "forecaster": "sim", "p": p})
    targets = pd.DataFrame(rows, columns=["file", "target", "outcome", "forecaster", "p"])
    if len(targets):
        base = targets.assign(forecaster="base rate", p=targets["outcome"].mean())
        targets = pd.concat([targets, base], ignore_index=True)
        clipped = targets["p"].clip(LOG_FLOOR, 1 - LOG_FLOOR)
        targets["brier"] = (targets["p"] - targets["outcome"]) ** 2
        targets["log_score"] = -np.where(targets["outcome"] == 1, np.log(clipped), np.log(1 - clipped))
    return targets


def _calibration_table(targets: pd.DataFrame) -> pd.DataFrame:
    sim_rows = targets[targets["forecaster"] == "sim"] if len(targets) else targets
    if not len(sim_rows):
        return pd.DataFrame(columns=["n", "mean_p", "met"])
    bins = pd.cut(sim_rows["p"], [0, 0.2, 0.4, 0.6, 0.8, 1.0], include_lowest=True)
    return sim_rows.groupby(bins, observed=True).agg(n=("p", "size"), mean_p=("p", "mean"),
                                                      met=("outcome", "mean"))
