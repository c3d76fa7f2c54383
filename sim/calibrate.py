r"""Fitting the processes of a model to the observations: one pooled fit per process, then each
region's parameters from it.

Every process is fitted by :func:`sim.pooling.fit` (a Student-t AR(1) panel with random effects,
by the Laplace approximation), so the scale describes ordinary years and the tails the rare ones:

- **National processes** (``scope: national``): China's own series, one series, no random effect.
- **Regional processes**: the panel of every region's values (a regional growth rate minus the
  national one gives the spread; revenue, real growth and prices give the wedge; China's own
  series is one member of the pool where the process is not a spread). Each region's mean is a
  random effect: its posterior mean shrinks its own record toward the pool, by ``shrinkage``
  (posterior variance / between-region variance: 1 for a region with no data, which takes the pool
  and says so).
- **Processes seen only through a share** (the digital-economy shares): yearly logit changes from
  pairs of observations that may be years apart, a change over k years weighing k.

What the data cannot identify takes its prior and is listed under ``borrowed``: the persistence
where fewer than ``pooling.MIN_PAIRS`` consecutive pairs exist, a region's mean where it has no
value. The within-year dispersion that conditions a year on its year-to-date figure is fitted on
every pair of a full-year figure and a year-to-date one of the same region (for the spread: of
every region, its spread over China's figure of the same months). Shock correlations are those of
the standardised residuals of the same year (and region), where at least ``MIN_OVERLAP`` pairs exist.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from statsmodels.robust import scale as robust_scale
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.stats.stattools import jarque_bera

from sim import observations, pooling
from sim.errors import SimError
from sim.kinds import KINDS
from sim.observations import NATIONAL, known_process_values, national_ytd
from sim.output import write_text
from sim.spec import ModelSpec

MIN_OBS = 5  # values needed to estimate a process at all (a scale and tails from fewer is a guess)
MIN_OVERLAP = 8  # residual pairs needed to estimate a correlation
MIN_WITHIN_PAIRS = 8  # pairs of a full year and a year-to-date figure needed for the within-year sd
# Only the latest years describe today's economy: China's industry grew 14-16% a year in 2010-2011
# and has grown 3-7% since 2015 (china.csv). Fits use the last WINDOW years of data.
WINDOW = 10
# ... and a national process weighs a value k years before the latest by DISCOUNT ** k: where
# growth has moved to a new level (China's from 10% to 6% in 2011-2015), its mean follows it instead
# of averaging the decade. Regional panels are not discounted: a region's deviation from the nation
# is what persists, and discounting it would hide the regions' differences.
DISCOUNT = 0.85


@dataclass
class ProcessFit:
    """A process's pooled fit and what it was fitted on; a family member shares its family's fit and
    is the level ``member`` of the family's indicator factor."""

    pool: pooling.PoolFit
    label: str
    years: str
    national: bool
    regions_with_data: set[str]
    within: tuple[float, float, str] | None = None
    member: str | None = None
    series: frozenset[str] = frozenset()  # the member's series with data: "member@region"


def calibrate(root: str | Path, regions: list[str] | None = None, *, model_name: str = "industry",
              as_of: dt.date | None = None, write: bool = True) -> dict[str, dict]:
    """Fit the model and (by default) write ``calibration/params/<region>.yaml`` for each region.

    Returns the params documents by region. ``as_of`` uses only data published by that date.
    """
    root = Path(root)
    model = ModelSpec.load(root / "models" / f"{model_name}.yaml")
    obs = observations.as_of(observations.load(root / "calibration" / "data"), as_of)
    if obs.empty:
        raise SimError(f"no observation in calibration/data was published by {as_of}; choose a later "
                       "--as-of date")
    fits = fit_model(model, obs)
    if not fits:  # a params file without processes would only fail at the next run
        when = f" published by {as_of}" if as_of else ""
        raise SimError(f"the data{when} are too few to fit any process of model {model.name!r} (each "
                       f"needs {MIN_OBS} yearly values); add observations to calibration/data"
                       + (" or choose a later --as-of date" if as_of else ""))
    all_regions = sorted(set(obs["region"]) - {NATIONAL})
    regions = regions or all_regions
    unknown = [r for r in regions if r not in all_regions]
    if unknown:
        when = f" published by {as_of}" if as_of else ""
        raise SimError(f"no observations for region {unknown[0]!r}{when}; regions with data: "
                       f"{', '.join(all_regions)}")
    docs = {}
    for region in regions:
        docs[region] = document(region, model, fits, obs, as_of)
        if write:
            _write(root / "calibration" / "params" / f"{region.lower()}.yaml", docs[region])
    return docs


def fit_model(model: ModelSpec, obs: pd.DataFrame) -> dict[str, ProcessFit]:
    """One pooled fit per process that has data enough, on the last WINDOW full years of ``obs``."""
    full_years = obs.loc[(obs["first_month"] == 1) & (obs["last_month"] == 12), "period"]
    obs = obs[obs["period"] > (full_years.max() if len(full_years) else obs["period"].max()) - WINDOW]
    regions = sorted(set(obs["region"]) - {NATIONAL})
    # each region's values read from its own rows and the nation's only (the same values, found faster)
    rows = dict(tuple(obs.groupby("region", sort=False)))
    nation = rows.get(NATIONAL, obs.iloc[:0])
    known = {r: known_process_values(model, r, pd.concat([rows.get(r, obs.iloc[:0]), nation]))
             for r in [*regions, NATIONAL]}
    fits = {}
    families: dict[str, list[str]] = {}
    for name, spec in model.processes.items():
        if spec.family:
            families.setdefault(spec.family, []).append(name)
            continue
        frame, label = _panel(name, model, obs, known, regions)
        if len(frame) < MIN_OBS:
            continue
        factors = [] if spec.scope == "national" else ["region"]
        discount = DISCOUNT if spec.scope == "national" else 1.0
        pool = pooling.fit(pooling.Panel.from_frame(frame, factors, discount))
        years = f"{int(frame['year'].min())}–{int(frame['year'].max())}"
        fit = ProcessFit(pool, label, years, spec.scope == "national",
                         set(frame["region"]) if factors else set())
        fit.within = _within(name, model, obs, known)
        fits[name] = fit
    for family, members in families.items():
        fits.update(_fit_family(family, members, model, obs, known, regions))
    return fits


def _fit_family(family: str, members: list[str], model: ModelSpec, obs: pd.DataFrame, known: dict,
                regions: list[str]) -> dict[str, ProcessFit]:
    """One fit of a family's law on every series of every member, with random effects for the
    member (indicator) and the region; each member process shares it."""
    law = model.families[family].law
    frames = [_member_rows(name, law, model, obs, known, regions) for name in members]
    frame = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) \
        else pd.DataFrame()
    if len(frame) < MIN_OBS:
        return {}
    factors = [f for f in ("indicator", "region") if frame[f].nunique() >= 2]
    pool = pooling.fit(pooling.Panel.from_frame(frame, factors))
    years = f"{int(frame['year'].min())}–{int(frame['year'].max())}"
    label = (f"family {family} ({frame['indicator'].nunique()} indicators: "
             f"{', '.join(sorted(frame['indicator'].unique()))})")
    out = {}
    for name in members:
        member = model.processes[name].moves or name
        if "indicator" not in factors and member not in set(frame["indicator"]):
            continue  # one indicator alone says nothing of another's law
        out[name] = ProcessFit(pool, label, years, False, set(frame["region"]), member=member,
                               series=frozenset(frame["series"]))
    return out


def _member_rows(name: str, law: str, model: ModelSpec, obs: pd.DataFrame, known: dict,
                 regions: list[str]) -> pd.DataFrame:
    """A family member's values in every region (China's too): the rate itself, or the yearly change
    of the log of a level or of the logit of a share, from any two published years (a change over
    k years annualised, weight k) and from published growth rates (log laws)."""
    spec = model.processes[name]
    member = spec.moves or name
    rows = []
    for region in [*regions, NATIONAL]:
        if law == "rate":
            values = known[region][0][name]
            rows += [{"y": v, "lag": values.get(y - 1, math.nan), "weight": 1.0, "year": y, "region": region}
                     for y, v in sorted(values.items())]
            continue
        ind = model.indicators[member]
        levels = observations.series(obs, region, ind.data or member)
        changes: dict[int, tuple[float, float]] = {}  # year -> (annualised change, years it spans)
        for y0, y1 in itertools.pairwise(list(levels.index)):
            a, b = float(levels[y0]), float(levels[y1])
            if a > 0 and b > 0 and (law == "log" or (a < 100 and b < 100)):
                step = math.log(b / a) if law == "log" else _logit(b) - _logit(a)
                changes[y1] = (step / (y1 - y0), float(y1 - y0))
        if law == "log" and ind.growth_data:
            for y, g in observations.series(obs, region, ind.growth_data).items():
                if g > -100 and (y not in changes or changes[y][1] > 1):
                    changes[y] = (math.log1p(g / 100), 1.0)
        for y, (v, k) in sorted(changes.items()):
            lag = changes.get(y - 1)
            rows.append({"y": v, "lag": lag[0] if k == 1 and lag and lag[1] == 1 else math.nan, "weight": k,
                         "year": y, "region": region})
    frame = pd.DataFrame(rows, columns=["y", "lag", "weight", "year", "region"])
    frame["indicator"] = member
    frame["series"] = member + "@" + frame["region"]
    return frame


def _panel(name: str, model: ModelSpec, obs: pd.DataFrame, known: dict, regions: list[str]
           ) -> tuple[pd.DataFrame, str]:
    """The values a process is fitted on: one row per value with its previous year's (``lag``)."""
    spec = model.processes[name]
    data = spec.data or name
    if spec.scope == "national":
        skip = set(spec.exceptional_years)
        values = {y: v for y, v in known[NATIONAL][0][name].items() if y not in skip}
        rows = _rows({NATIONAL: values})
        label = f"China {data}" + (f" (without {', '.join(map(str, sorted(skip)))})" if skip else "")
        return rows, label
    share_of = [i for i, ind in model.indicators.items()
                if KINDS[ind.kind].compounds == "log" and list(ind.drivers) == [name]]
    if share_of:
        ind = model.indicators[share_of[0]]
        panel = {r: observations.series(obs, r, ind.data or share_of[0]) for r in [*regions, NATIONAL]}
        return _increments(panel), f"yearly logit changes of {share_of[0]}"
    panel = {r: known[r][0][name] for r in regions}
    china = known[NATIONAL][0][name]
    if china and any(v != 0 for v in china.values()):  # a spread is 0 for China by definition
        panel[NATIONAL] = china
    return _rows(panel), data


def _rows(panel: dict[str, dict[int, float]]) -> pd.DataFrame:
    rows = [{"y": v, "lag": values.get(year - 1, math.nan), "series": region, "region": region, "year": year}
            for region, values in panel.items() for year, v in sorted(values.items())]
    return pd.DataFrame(rows, columns=["y", "lag", "series", "region", "year"])


def _increments(panel: dict[str, pd.Series]) -> pd.DataFrame:
    """Yearly logit changes of a share from observations that may be years apart (weight k)."""
    rows = []
    for region, s in panel.items():
        for y0, y1 in itertools.pairwise(list(s.index)):
            k = y1 - y0
            rows.append({"y": (_logit(s[y1]) - _logit(s[y0])) / k, "lag": math.nan, "weight": float(k),
                         "series": region, "region": region, "year": y1})
    return pd.DataFrame(rows, columns=["y", "lag", "weight", "series", "region", "year"])


def _within(name: str, model: ModelSpec, obs: pd.DataFrame, known: dict) -> tuple[float, float, str] | None:
    """The within-year sd of a process that year-to-date figures condition (growth rates)."""
    spec = model.processes[name]
    data = spec.data or name
    if spec.scope == "national":
        return within_year_sd(_ytd_pairs(obs, [NATIONAL], data), f"{data} of China")
    rates = [i for i, ind in model.indicators.items()
             if KINDS[ind.kind].compounds is None and name in ind.drivers]
    if not rates:
        return None
    ind = model.indicators[rates[0]]
    national = [p for p in ind.drivers if model.processes[p].scope == "national"]
    if list(ind.drivers) != [*national, name] or len(national) > 1:
        return None
    regions = sorted(set(obs["region"]) - {NATIONAL})
    pairs = _ytd_pairs(obs, regions, ind.data or rates[0])
    if national:  # the spread: the region's figure minus China's of the same months
        nat_data = model.processes[national[0]].data or national[0]
        nat_full = known[NATIONAL][0][national[0]]
        rows = []
        for p in pairs.itertuples():
            nat_ytd = national_ytd(obs, nat_data, p.year, p.months)
            if p.year in nat_full and nat_ytd is not None:
                rows.append({"year": p.year, "months": p.months, "full": p.full - nat_full[p.year],
                             "ytd": p.ytd - nat_ytd[0]})
        pairs = pd.DataFrame(rows, columns=["year", "months", "full", "ytd"])
    return within_year_sd(pairs, f"{name} of {pairs.shape[0]} region-years")


def _ytd_pairs(obs: pd.DataFrame, regions: list[str], indicator: str) -> pd.DataFrame:
    """Every (full year, year-to-date after m months) pair of one indicator in these regions."""
    rows = []
    for region in regions:
        annual = observations.series(obs, region, indicator)
        sel = obs[(obs["region"] == region) & (obs["indicator"] == indicator) & (obs["first_month"] == 1)
                  & (obs["last_month"] >= 2) & (obs["last_month"] < 12)]
        for row in sel.itertuples():
            if row.period in annual.index:
                rows.append({"year": int(row.period), "months": int(row.last_month),
                             "full": float(annual[row.period]), "ytd": float(row.value)})
    return pd.DataFrame(rows, columns=["year", "months", "full", "ytd"])


def within_year_sd(pairs: pd.DataFrame, what: str) -> tuple[float, float, str] | None:
    """The sd s of a month's growth around its year's level (sim.conditioning), fitted on what it
    predicts: the gap between a year and its year-to-date figure after m months, whose variance
    under the model is s² · w² · 12 / (m (12 − m)), w = (12 − m) / 12 (the prior being much wider
    than s² / m). A Huber scale of the standardised gaps (statsmodels), so that a lockdown spring
    does not set it; where figures rounded to 0.1 leave too many gaps of exactly 0 for it, the mean
    absolute gap (both consistent for Gaussian gaps)."""
    if len(pairs) < MIN_WITHIN_PAIRS:
        return None
    m = pairs["months"].to_numpy(float)
    w = (12 - m) / 12
    gaps = (pairs["full"] - pairs["ytd"]).to_numpy() / np.sqrt(w**2 * 12 / (m * (12 - m)))
    if not np.any(gaps):
        return None
    try:
        s, how = float(robust_scale.Huber(maxiter=100)(gaps, mu=np.array(0.0))[1]), "a Huber scale"
    except ValueError:
        s, how = float(np.mean(np.abs(gaps)) * math.sqrt(math.pi / 2)), "the mean absolute gap"
    return s, s / math.sqrt(2 * len(pairs)), (
        f"from {len(pairs)} pairs of a full-year figure and a year-to-date one ({what}): the model's "
        f"variance of their gap, s² w² 12 / (m (12 − m)), matched by {how}")


def document(region: str, model: ModelSpec, fits: dict[str, ProcessFit], obs: pd.DataFrame,
             as_of: dt.date | None) -> dict:
    """The params document of one region from the pooled fits."""
    corr, corr_notes = _correlations(fits, region)
    processes = {name: _entry(name, fit, region) for name, fit in fits.items()}
    missing = [p for p in model.processes if p not in fits]
    return {
        "region": region,
        "model": model.name,
        "method": "sim calibrate (sim.pooling: Student-t AR(1) panels with random effects, Laplace "
                  "approximation, scipy and statsmodels)",
        "as_of": as_of or max(obs["published"]),
        "shocks": {
            "correlation": corr,
            "source": "; ".join(corr_notes) or f"no pair of processes has {MIN_OVERLAP} residuals "
                      "in the same year: uncorrelated",
        },
        "processes": processes,
        "note": (f"not estimated (fewer than {MIN_OBS} values anywhere): " + ", ".join(missing))
        if missing else "",
    }


def _entry(name: str, fit: ProcessFit, region: str) -> dict:
    pool = fit.pool
    if fit.national:
        mean, mean_var, own = pool.mu, pool.cov[0, 0], True
        shrinkage = 0.0
    else:
        levels = {"region": region} | ({"indicator": fit.member} if fit.member else {})
        levels = {k: v for k, v in levels.items() if k in pool.effects}
        mean, mean_var, _ = pool.group_mean(levels)
        own = (f"{fit.member}@{region}" in fit.series) if fit.member else region in fit.regions_with_data
        prior = sum(pool.omega.get(k, 0.0) ** 2 for k in levels)
        shrinkage = (mean_var - pool.joint[0, 0]) / prior if prior > 0 and own else 1.0
    sc = pool.sigma_cov()
    cov = np.array([[mean_var, pool.cov[0, 1], 0.0], [pool.cov[0, 1], sc[0, 0], sc[0, 1]],
                    [0.0, sc[1, 0], sc[1, 1]]])
    cov = _nearest_pd(cov)
    whose = f"{fit.member} in {region}" if fit.member else region
    between = "; ".join(f"between-{k} sd {v:.3g}" for k, v in pool.omega.items())
    scope = "China's series" if fit.national else (
        f"{pool.n} values of {len(fit.regions_with_data)} regions; {between or 'one group'}; "
        f"{whose} {'has values' if own else 'has none: the pool'}, shrinkage toward the pool "
        f"{min(max(shrinkage, 0.0), 1.0):.2f}")
    source = (f"sim.pooling Student-t AR(1) on {fit.label} {fit.years} ({scope}); pool mean {pool.mu:.3g}, "
              f"scale {pool.scale:.3g}, {pool.df:.3g} degrees of freedom"
              + ("; persistence from " + (f"{pool.pairs} consecutive pairs" if not pool.phi_fixed
                                          else f"too few pairs ({pool.pairs}): prior N(0, 0.5²) on atanh φ")))
    borrowed = [*(["mean"] if not own else []), *(["phi"] if pool.phi_fixed else [])]
    entry = {
        "mean": _estimate(mean, math.sqrt(mean_var), source),
        "phi": _estimate(pool.phi, math.sqrt(sc[0, 0]) * (1 - pool.phi**2), source),
        "sigma": _estimate(pool.sigma, math.sqrt(sc[1, 1]) * pool.sigma, source),
        "df": _estimate(pool.df, pool.se(3) * (pool.df - 2.0), source),
        "covariance": [[_round(v) for v in row] for row in cov],
    }
    if fit.within is not None:
        entry["within_year_sd"] = _estimate(*fit.within)
    entry["sample"] = f"{pool.n} values, {fit.label} {fit.years}"
    resid = _own_residuals(pool, f"{fit.member}@{region}" if fit.member else region, fit.national)
    entry["diagnostics"] = _diagnostics(resid, pool.n)
    if not fit.national:
        entry["shrinkage"] = _round(min(max(shrinkage, 0.0), 1.0))
    if borrowed:
        entry["borrowed"] = borrowed
    return entry


def _own_residuals(pool: pooling.PoolFit, series_name: str, national: bool) -> np.ndarray:
    res = pool.residuals
    series = res.index.get_level_values("series")
    return res[series == (NATIONAL if national else series_name)].to_numpy() if len(res) else np.zeros(0)


def _nearest_pd(cov: np.ndarray) -> np.ndarray:
    """The covariance with negative eigenvalues (numerical Hessians) lifted to a small positive floor."""
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    floor = max(float(np.max(vals)) * 1e-8, 1e-12)
    return (vecs * np.maximum(vals, floor)) @ vecs.T


def _correlations(fits: dict[str, ProcessFit], region: str) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Correlations of residuals of the same year: a national residual meets every region's."""
    names = [n for n, f in fits.items() if len(_residuals(f))]
    corr: dict[str, dict[str, float]] = {}
    notes = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            joined = _pair(fits[a], fits[b])
            if len(joined) < MIN_OVERLAP:
                continue
            r = float(np.corrcoef(joined.iloc[:, 0], joined.iloc[:, 1])[0, 1])
            if not math.isfinite(r):
                continue
            corr.setdefault(a, {})[b] = round(r, 4)
            notes.append(f"{a}–{b}: {r:.2f} from {len(joined)} residual pairs")
    names = [n for n in names if n in corr or any(n in row for row in corr.values())]
    mat = np.eye(len(names))
    for a, row in corr.items():
        for b, r in row.items():
            mat[names.index(a), names.index(b)] = mat[names.index(b), names.index(a)] = r
    lam = 1.0
    while len(names) and np.linalg.eigvalsh(lam * mat + (1 - lam) * np.eye(len(names))).min() <= 1e-6:
        lam -= 0.05
    if lam < 1.0:  # keep it a correlation matrix: shrink toward the identity until positive definite
        corr = {a: {b: round(lam * r, 4) for b, r in row.items()} for a, row in corr.items()}
        notes.append(f"shrunk by {lam:.2f} toward the identity to be positive definite")
    return corr, notes


def _residuals(fit: ProcessFit) -> pd.Series:
    """A process's own standardised residuals by (region, year): a family member's of its series."""
    res = fit.pool.residuals
    if fit.member is None:
        return res
    series = res.index.get_level_values("series").astype(str)
    mine = res[series.str.startswith(f"{fit.member}@")]
    regions = mine.index.get_level_values("series").astype(str).str.split("@").str[1]
    return pd.Series(mine.to_numpy(), index=pd.MultiIndex.from_arrays(
        [regions, mine.index.get_level_values("year")], names=["series", "year"]))


def _pair(a: ProcessFit, b: ProcessFit) -> pd.DataFrame:
    ra, rb = _residuals(a).rename("a"), _residuals(b).rename("b")
    if a.national or b.national:
        nat, reg = (ra, rb) if a.national else (rb, ra)
        by_year = nat.droplevel("series")
        by_year = by_year[~by_year.index.duplicated()]
        years = reg.index.get_level_values("year")
        mask = years.isin(by_year.index)
        return pd.DataFrame({"a": by_year.loc[years[mask]].to_numpy(), "b": reg[mask].to_numpy()})
    return pd.concat([ra, rb], axis=1, join="inner").dropna()


def _estimate(value: float, se: float, source: str) -> dict:
    return {"value": _round(value), "std_error": _round(se if math.isfinite(se) else 1e6), "source": source}


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _diagnostics(resid: np.ndarray, n: int) -> dict[str, float]:
    out: dict[str, float] = {"n": float(n)}
    if len(resid) >= 6:
        lags = max(1, min(4, len(resid) // 3))
        out["ljung_box_p"] = _round(float(acorr_ljungbox(resid, lags=[lags])["lb_pvalue"].iloc[0]))
        out["jarque_bera_p"] = _round(float(jarque_bera(resid)[1]))
    return out


def _logit(share_pct: float) -> float:
    return math.log(share_pct / (100 - share_pct))


def _write(path: Path, doc: dict) -> None:
    header = ("# Written by `sim calibrate`; do not edit by hand. Every estimate names its sample\n"
              "# and method; `borrowed` lists what the region's own data could not identify.\n")
    write_text(path, header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100), force=True)
