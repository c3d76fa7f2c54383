"""Rolling-origin backtests: what the model would have said, scored against what happened.

For every region and year whose 规上工业增加值 growth is known today, and for every forecast origin
— the end of the year before (31 December) and the middle of the year (31 July, when the first
half is published) — the model is refitted on the data published by that date and simulates the
year. Its predictive distribution is scored by the CRPS, the log score (kernel density), the PIT
and the coverage of its central 50%, 80% and 90% intervals (scoringrules), next to two naive
forecasts with the same information: climatology (every region's growth over the calibration
window, pooled: a normal with their mean and sd) and persistence (the region's latest growth figure
known then, with that sd). Whether the model beats them is a Diebold-Mariano test of the mean CRPS
difference with standard errors clustered by year (a national shock moves every region alike).

The growth targets of ``calibration/ledger/growth_targets.csv`` and of the shipped scenario files
are scored too: P(target met) against the outcome (Brier, log score) next to the base rate of the
targets of earlier years and to 0.5, with a reliability table.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scoringrules as sr
from scipy import stats

from sim import api, calibrate, labels, ledger, observations, targets
from sim.errors import SimError
from sim.observations import NATIONAL
from sim.spec import ModelSpec, ParamsFile, ScenarioFile

GROWTH = "iva_growth"
LOG_FLOOR = 1e-4  # probabilities are clipped to [1e-4, 1 - 1e-4] for the log score
FIRST_YEAR = 2015
VINTAGES = {"year_start": (-1, 12, 31), "mid_year": (0, 7, 31)}  # (year offset, month, day) of the origin
LEVELS = (0.5, 0.8, 0.9)
BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass
class Backtest:
    growth: pd.DataFrame  # one row per region x year x vintage x forecaster
    targets: pd.DataFrame  # one row per growth target x vintage x forecaster
    scores: pd.DataFrame  # mean scores by vintage x forecaster
    tests: pd.DataFrame  # Diebold-Mariano: sim against each baseline, by vintage
    by_year: pd.DataFrame  # the model's scores by vintage x year
    pit: pd.DataFrame  # PIT histogram by vintage (deciles) and its uniformity test
    reliability: pd.DataFrame  # target probabilities by bin: n, mean probability, share met
    by_evidence: pd.DataFrame  # the model's scores by vintage x evidence grade, next to climatology's
    reference: pd.DataFrame  # grade D: the class rates known at each past target's origin, scored
    warnings: list[str]

    def summary(self) -> str:
        """The tables as text, with the warnings first."""
        parts = [*(f"warning: {w}" for w in self.warnings),
                 "Scores by vintage and forecaster (lower CRPS and log score are better):",
                 self.scores.round(3).to_string(),
                 "\nThe model against the baselines (Diebold-Mariano on CRPS, clustered by year):",
                 self.tests.round(3).to_string(index=False),
                 "\nThe model by vintage and year:", self.by_year.round(3).to_string(),
                 "\nPIT by decile (flat if calibrated) and the test of its uniformity:",
                 self.pit.round(3).to_string(),
                 "\nThe model by evidence grade ("
                 + "; ".join(f"{g}: {labels.GRADES['en'][g][0]}" for g in "ABC") + "):",
                 self.by_evidence.round(3).to_string()]
        if len(self.reference):
            parts += ["\nGrade D: class rates known at the start of each past target's year, against its "
                      "outcome (ledger targets; success-biased):",
                      self.reference.round(3).to_string()]
        if len(self.targets):
            parts += ["\nGrowth targets (P(met) against the outcome):",
                      self.targets.groupby(["vintage", "forecaster"])[["brier", "log_score"]].mean()
                      .assign(n=self.targets.groupby(["vintage", "forecaster"]).size()).round(3).to_string(),
                      "\nReliability of the target probabilities:", self.reliability.round(3).to_string()]
        return "\n".join(parts)


def origin(year: int, vintage: str) -> dt.date:
    """The forecast date of a vintage for a target year."""
    offset, month, day = VINTAGES[vintage]
    return dt.date(year + offset, month, day)


def backtest(root: str | Path, *, years: tuple[int, int] | None = None,
             vintages: tuple[str, ...] = tuple(VINTAGES), paths: int = 4_000, seed: int = api.DEFAULT_SEED,
             model_name: str = "industry", mixture: dict | None = None,
             progress: Callable[[str], None] | None = None) -> Backtest:
    """Forecast every region-year with a known outcome from each vintage's origin, and score them.

    ``mixture``: scenarios as a scenario file writes them (name -> weight, shift, volatility …): their
    weighted mixture is scored too, as forecaster ``sim (weighted)``, to see whether they keep the
    forecasts calibrated."""
    root = Path(root)
    model = ModelSpec.load(root / "models" / f"{model_name}.yaml")
    obs_now = observations.as_of(observations.load(root / "calibration" / "data"), None)
    full = obs_now[(obs_now["indicator"] == GROWTH) & (obs_now["region"] != NATIONAL)
                   & (obs_now["first_month"] == 1) & (obs_now["last_month"] == 12)]
    last = int(full["period"].max()) if len(full) else FIRST_YEAR
    first, final = years or (FIRST_YEAR, last)
    if first > final or not FIRST_YEAR - 10 <= first <= last or final > last:
        raise SimError(f"the years must lie within {FIRST_YEAR - 10}–{last} (the outcomes in "
                       f"calibration/data), first before last; got {first}–{final}")
    unknown = [v for v in vintages if v not in VINTAGES]
    if unknown:
        raise SimError(f"unknown vintage {unknown[0]!r}; vintages: {', '.join(VINTAGES)}")
    realized = {(r.region, int(r.period)): float(r.value) for r in full.itertuples()
                if first <= r.period <= final}
    goals = _growth_targets(root, realized)
    rows, target_rows, skipped = [], [], []
    for vintage in vintages:
        for year in range(first, final + 1):
            cases = {region: y for (region, yr), y in realized.items() if yr == year}
            if not cases:
                continue
            date = origin(year, vintage)
            then = observations.as_of(obs_now, date)
            if progress:
                progress(f"{vintage} {year}: {len(cases)} regions, data of {date}")
            fits = calibrate.fit_model(model, then)
            clim = _climatology(then, date)
            for region, outcome in sorted(cases.items()):
                params = ParamsFile.model_validate(calibrate.document(region, model, fits, then, date))
                try:
                    res = api.run_loaded(_growth_scenario(region, year, mixture), model, params, then,
                                         paths=paths, seed=seed, keep=paths, threads=1)
                except SimError as err:  # too little known then (the national series before 2015)
                    skipped.append(f"{vintage} {year} {region}: {err.message}")
                    continue
                sample = res.sample.sel(indicator=GROWTH, year=year)
                x = sample.sel(scenario=str(sample["scenario"].values[0])).to_numpy()
                base = {"region": region, "year": year, "vintage": vintage, "realized": outcome,
                        "evidence": str(res.data["evidence"].sel(target="growth").item())}
                rows.append({**base, "forecaster": "sim", **score_samples(outcome, x)})
                if mixture:
                    rows.append({**base, "forecaster": "sim (weighted)",
                                 **score_samples(outcome, _mixed(sample, res.data["weight"].values[:-1]))})
                rows.append({**base, "forecaster": "climatology", **score_normal(outcome, *clim)})
                latest = _latest_known(then, region, year)
                if latest is not None:
                    rows.append({**base, "forecaster": "persistence",
                                 **score_normal(outcome, latest, clim[1])})
                for goal in goals.get((region, year), []):
                    target_rows.append({**base, **goal, "forecaster": "sim", "p": _p_met(goal, x)})
    growth = pd.DataFrame(rows)
    if growth.empty:
        raise SimError(f"no region has a full-year {GROWTH} between {first} and {final} in calibration/data")
    scored = _score_targets(pd.DataFrame(target_rows))
    notes = [f"{len(skipped)} region-years could not be forecast with the data of their time "
             f"(e.g. {skipped[0]})"] if skipped else []
    return Backtest(growth, scored, _scores(growth), _dm_tests(growth), _by_year(growth), _pit(growth),
                    _reliability(scored), _by_evidence(growth), reference_scores(root, first, final),
                    [*notes, *_warnings(growth)])


def _growth_scenario(region: str, year: int, mixture: dict | None) -> ScenarioFile:
    """A scenario file whose one target is the region's growth in the year: the baseline first."""
    scenarios = {"baseline": {"weight": 1.0}} if not mixture else mixture
    return ScenarioFile.model_validate({
        "region": region, "year": year, "model": "industry",
        "targets": {"growth": {"name_zh": "规上工业增加值增速", "name_en": "industrial value-added growth",
                               "indicator": GROWTH, "year": year, "comparator": ">=", "value": 0.0,
                               "unit": "%", "clause": "backtest", "source": "calibration/data"}},
        "scenarios": scenarios})


def _mixed(sample: object, weights: np.ndarray) -> np.ndarray:
    """A sample of the scenarios' mixture: the first paths of each scenario in proportion to its weight
    (the paths are independent draws, so the first k of a scenario are a sample of it)."""
    n = sample.sizes["path"]
    counts = np.floor(weights / weights.sum() * n + 0.5).astype(int)
    return np.concatenate([sample.isel(scenario=s).to_numpy()[:k] for s, k in enumerate(counts)])


def _growth_targets(root: Path, realized: dict) -> dict[tuple[str, int], list[dict]]:
    """The growth targets with an outcome: the ledger's and the shipped scenario files'."""
    out: dict[tuple[str, int], list[dict]] = {}
    for row in ledger.growth_targets(root).itertuples():
        if row.indicator == GROWTH and (row.region, row.year) in realized:
            out.setdefault((row.region, row.year), []).append(
                {"target": f"{row.region} {row.year} {row.stated} {row.value:g}%",
                 "comparator": row.comparator, "value": row.value, "tolerance": None, "source": row.source})
    for path in sorted((root / "scenarios").glob("*.yaml")):
        scen = ScenarioFile.load(path)
        for tid, t in scen.targets.items():
            if t.indicator == GROWTH and t.measure == "level" and (scen.region, t.year) in realized:
                out.setdefault((scen.region, t.year), []).append(
                    {"target": f"{path.name}:{tid}", "comparator": t.comparator, "value": t.value,
                     "tolerance": t.tolerance, "source": t.source})
    return out


def _p_met(goal: dict, x: np.ndarray) -> float:
    tol = targets.tolerance(goal["comparator"], goal["value"], "%", goal["tolerance"])
    cmp, threshold = targets.comparison(goal["comparator"], goal["value"], tol, "higher")
    return float(np.mean(targets.met(x, cmp, threshold)))


def _latest_known(obs: pd.DataFrame, region: str, year: int) -> float | None:
    """The region's latest growth figure known at the origin: a year-to-date figure of the year, else
    of the year before, else the full year before."""
    sel = obs[(obs["region"] == region) & (obs["indicator"] == GROWTH) & (obs["first_month"] == 1)
              & (obs["period"] >= year - 2) & (obs["period"] <= year)]
    if sel.empty:
        return None
    return float(sel.sort_values(["period", "last_month"]).iloc[-1]["value"])


def _climatology(obs: pd.DataFrame, date: dt.date) -> tuple[float, float]:
    full = obs[(obs["indicator"] == GROWTH) & (obs["region"] != NATIONAL) & (obs["first_month"] == 1)
               & (obs["last_month"] == 12) & (obs["period"] > date.year - 1 - calibrate.WINDOW)]
    if len(full) < 3:
        return math.nan, math.nan
    return float(full["value"].mean()), float(full["value"].std(ddof=1))


def score_samples(y: float, x: np.ndarray) -> dict:
    """The scores of a predictive sample ``x`` for the outcome ``y``."""
    q = np.quantile(x, [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
    return {"median": float(q[3]), "p10": float(q[1]), "p90": float(q[5]),
            "crps": float(sr.crps_ensemble(y, x)), "log_score": float(sr.logs_ensemble(y, x)),
            "pit": float(np.mean(x <= y)), "in_50": float(q[2] <= y <= q[4]),
            "in_80": float(q[1] <= y <= q[5]), "in_90": float(q[0] <= y <= q[6])}


def score_normal(y: float, mu: float, sd: float) -> dict:
    """The scores of a normal forecast N(mu, sd²) for the outcome ``y``."""
    q = stats.norm.ppf([0.05, 0.1, 0.25, 0.75, 0.9, 0.95], mu, sd)
    return {"median": mu, "p10": q[1], "p90": q[4], "crps": float(sr.crps_normal(y, mu, sd)),
            "log_score": float(sr.logs_normal(y, mu, sd)), "pit": float(stats.norm.cdf(y, mu, sd)),
            "in_50": float(q[2] <= y <= q[3]), "in_80": float(q[1] <= y <= q[4]),
            "in_90": float(q[0] <= y <= q[5])}


def _scores(growth: pd.DataFrame) -> pd.DataFrame:
    g = growth.groupby(["vintage", "forecaster"])
    out = g[["crps", "log_score", "in_50", "in_80", "in_90"]].mean()
    out["n"] = g.size()
    out["rank_corr"] = g.apply(_rank_corr, include_groups=False)
    return out


def _rank_corr(frame: pd.DataFrame) -> float:
    """Spearman correlation of the medians with the outcomes within each year, averaged over years
    weighted by their regions (a forecaster ranks the regions of a year)."""
    values, weights = [], []
    for _, year in frame.groupby("year"):
        rho = _spearman(year)
        if math.isfinite(rho):
            values.append(rho)
            weights.append(len(year))
    return float(np.average(values, weights=weights)) if values else math.nan


def _spearman(frame: pd.DataFrame) -> float:
    """Spearman correlation of medians and outcomes (NaN below 4 regions or with tied medians)."""
    if len(frame) < 4 or frame["median"].nunique() < 2:
        return math.nan
    return float(stats.spearmanr(frame["median"], frame["realized"]).statistic)


def _dm_tests(growth: pd.DataFrame) -> pd.DataFrame:
    """Diebold-Mariano: the model's CRPS minus each baseline's, its mean's t statistic with
    standard errors clustered by year (statsmodels), paired region-years only."""
    from statsmodels.regression.linear_model import OLS

    rows = []
    for vintage, v in growth.groupby("vintage"):
        wide = v.pivot_table(index=["region", "year"], columns="forecaster", values="crps")
        for baseline in ("climatology", "persistence"):
            if baseline not in wide or "sim" not in wide:
                continue
            pair = wide[["sim", baseline]].dropna()
            if len(pair) < 5:
                continue
            d = (pair["sim"] - pair[baseline]).to_numpy()
            groups = pair.index.get_level_values("year").to_numpy()
            clustered = len(set(groups)) >= 2  # one year alone: heteroscedasticity-robust only
            res = OLS(d, np.ones(len(d))).fit(cov_type="cluster" if clustered else "HC1",
                                              cov_kwds={"groups": groups} if clustered else None, use_t=True)
            rows.append({"vintage": vintage, "baseline": baseline, "n": len(d),
                         "crps_sim": float(pair["sim"].mean()), "crps_baseline": float(pair[baseline].mean()),
                         "improvement": 1 - float(pair["sim"].mean() / pair[baseline].mean()),
                         "dm_t": float(res.tvalues[0]), "p_one_sided": float(res.pvalues[0] / 2
                                                                               if res.tvalues[0] < 0 else
                                                                               1 - res.pvalues[0] / 2)})
    return pd.DataFrame(rows)


def _by_year(growth: pd.DataFrame) -> pd.DataFrame:
    sim_rows = growth[growth["forecaster"] == "sim"]
    g = sim_rows.groupby(["vintage", "year"])
    out = g[["crps", "in_50", "in_80", "in_90"]].mean()
    out["n"] = g.size()
    out["rank_corr"] = g.apply(_spearman, include_groups=False)
    clim = growth[growth["forecaster"] == "climatology"].groupby(["vintage", "year"])["crps"].mean()
    out["crps_climatology"] = clim
    return out


def _by_evidence(growth: pd.DataFrame) -> pd.DataFrame:
    """How sure each evidence grade can be: the model's scores on the forecasts of that grade."""
    sim_rows = growth[growth["forecaster"] == "sim"]
    g = sim_rows.groupby(["vintage", "evidence"])
    out = g[["crps", "in_50", "in_80", "in_90"]].mean()
    out["n"] = g.size()
    clim = growth[growth["forecaster"] == "climatology"].groupby(["vintage", "evidence"])["crps"].mean()
    out["crps_climatology"] = clim
    return out


def reference_scores(root: str | Path, first: int, final: int) -> pd.DataFrame:
    """Grade D scored: for each target of the outcome ledger with a known outcome in ``first``–``final``,
    its class's rate from the outcomes published before its year began, against whether it was met
    (Brier and log score), by class and over all; next to the rate of all classes pooled then."""
    from sim.reference import class_rates

    empty = pd.DataFrame(columns=["n", "met", "mean_p", "brier", "brier_pooled", "log_score"])
    if not (Path(root) / "calibration" / "ledger" / "outcomes.csv").is_file():
        return empty
    every = ledger.outcomes(root)
    book = every[every["met"].notna() & every["year"].between(first, final)]
    rows = []
    for row in book.itertuples():
        rates = class_rates(every, dt.date(int(row.year) - 1, 12, 31))
        if row.kind not in rates:
            continue
        known = [r for r in rates.values() if r.n]
        pooled = (sum(r.met for r in known) + 0.5) / (sum(r.n for r in known) + 1.0)
        rows.append({"class": row.kind, "met": float(row.met), "p": rates[row.kind].probability,
                     "p_pooled": pooled})
    frame = pd.DataFrame(rows, columns=["class", "met", "p", "p_pooled"])
    if frame.empty:
        return empty
    frame["brier"] = (frame["p"] - frame["met"]) ** 2
    frame["brier_pooled"] = (frame["p_pooled"] - frame["met"]) ** 2
    clipped = frame["p"].clip(LOG_FLOOR, 1 - LOG_FLOOR)
    frame["log_score"] = -np.where(frame["met"] == 1, np.log(clipped), np.log(1 - clipped))
    cols = {"n": ("met", "size"), "met": ("met", "mean"), "mean_p": ("p", "mean"), "brier": ("brier", "mean"),
            "brier_pooled": ("brier_pooled", "mean"), "log_score": ("log_score", "mean")}
    out = frame.groupby("class").agg(**cols)
    out.loc["all"] = frame.assign(k="all").groupby("k").agg(**cols).iloc[0]
    return out


def _pit(growth: pd.DataFrame) -> pd.DataFrame:
    rows = {}
    for vintage, v in growth[growth["forecaster"] == "sim"].groupby("vintage"):
        counts = np.histogram(v["pit"], bins=np.linspace(0, 1, 11))[0]
        rows[vintage] = {**{f"{10 * k}-{10 * k + 10}%": int(c) for k, c in enumerate(counts)},
                         "n": len(v), "ks_p": float(stats.kstest(v["pit"], "uniform").pvalue)}
    return pd.DataFrame(rows).T


def _warnings(growth: pd.DataFrame) -> list[str]:
    out = []
    for vintage, v in growth[growth["forecaster"] == "sim"].groupby("vintage"):
        if len(v) < 20:
            out.append(f"{vintage}: only {len(v)} forecasts; coverage and PIT say little")
            continue
        for level, col in zip(LEVELS, ("in_50", "in_80", "in_90"), strict=True):
            cover, se = v[col].mean(), math.sqrt(level * (1 - level) / len(v))
            if abs(cover - level) > 2 * se:
                side = "too wide" if cover > level else "too narrow"
                out.append(f"{vintage}: the {level:.0%} bands hold {cover:.0%} of {len(v)} outcomes: {side}")
        pit_p = stats.kstest(v["pit"], "uniform").pvalue
        if pit_p < 0.05:
            spread = float(np.mean(np.abs(v["pit"] - 0.5)))
            shape = ("bunched in the middle: bands too wide" if spread < 0.25
                     else "piled at the ends: too narrow")
            out.append(f"{vintage}: the PIT is not uniform (KS p = {pit_p:.3f}); {shape}")
    return out


def _score_targets(frame: pd.DataFrame) -> pd.DataFrame:
    """Brier and log scores of P(met), next to the base rate of earlier years' targets and to 0.5."""
    if frame.empty:
        return pd.DataFrame(columns=["vintage", "region", "year", "target", "outcome", "forecaster", "p",
                                     "brier", "log_score"])
    frame = frame.copy()
    frame["outcome"] = [float(_met_outcome(r)) for r in frame.itertuples()]
    parts = [frame]
    base = []
    for row in frame.itertuples():
        earlier = frame[(frame["year"] < row.year) & (frame["vintage"] == row.vintage)]
        base.append(earlier["outcome"].mean() if len(earlier) else 0.5)
    parts.append(frame.assign(forecaster="base rate", p=base))
    parts.append(frame.assign(forecaster="0.5", p=0.5))
    out = pd.concat(parts, ignore_index=True)
    clipped = out["p"].clip(LOG_FLOOR, 1 - LOG_FLOOR)
    out["brier"] = (out["p"] - out["outcome"]) ** 2
    out["log_score"] = -np.where(out["outcome"] == 1, np.log(clipped), np.log(1 - clipped))
    return out


def _met_outcome(row: object) -> bool:
    tol = targets.tolerance(row.comparator, row.value, "%", row.tolerance)
    cmp, threshold = targets.comparison(row.comparator, row.value, tol, "higher")
    return bool(targets.met(np.float64(row.realized), cmp, threshold))


def _reliability(scored: pd.DataFrame) -> pd.DataFrame:
    sim_rows = scored[scored["forecaster"] == "sim"] if len(scored) else scored
    if not len(sim_rows):
        return pd.DataFrame(columns=["n", "mean_p", "met"])
    bins = pd.cut(sim_rows["p"], list(BINS), include_lowest=True)
    return sim_rows.groupby(bins, observed=True).agg(n=("p", "size"), mean_p=("p", "mean"),
                                                     met=("outcome", "mean"))
