r"""Fitting the processes of a model to the observations, with statsmodels.

- **National processes** (``scope: national``): a Gaussian AR(1) with a constant, fitted by exact
  maximum likelihood (``statsmodels.tsa.arima.model.ARIMA``, order (1, 0, 0)) on the longest run of
  consecutive full years of China's series.
- **Regional processes**: the panel of every region's values (a regional growth rate minus the
  national one gives the spread; revenue, real growth and prices give the wedge). Each region's mean
  is a random intercept, :math:`y_{rt} = \alpha_0 + a_r + u_{rt}`, :math:`a_r \sim N(0, \omega^2)`,
  fitted by REML (``statsmodels MixedLM``); the region's mean is its BLUP, i.e. the empirical-Bayes
  posterior mean that shrinks its own average toward :math:`\alpha_0` by
  :math:`B_r = \sigma_u^2 / (\sigma_u^2 + n_r\omega^2)` (reported as ``shrinkage``; 1 for a region
  with no data, which takes the pool's mean and says so). Persistence comes from the pooled pairs of
  consecutive years around each region's mean (OLS); the innovation sd is
  :math:`\sigma_u\sqrt{1-\phi^2}`.
- **Processes seen only through a share or a level** (the digital-economy shares): yearly logit
  changes from pairs of observations that may be years apart, each change over :math:`k` years
  counting as the mean of :math:`k` yearly steps (weight :math:`k`, variance :math:`\sigma^2/k`).

A parameter the data cannot identify (persistence from fewer than ``MIN_PAIRS`` consecutive pairs)
takes a wide prior and is listed under ``borrowed``. The Student-t degrees of freedom are fitted by
maximum likelihood on the pooled standardised residuals; the shock correlations are those of the
residuals of the same year (and region), where at least ``MIN_OVERLAP`` pairs exist.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import optimize, stats
from statsmodels.regression.linear_model import OLS
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.stats.stattools import jarque_bera
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.arima.model import ARIMA

from sim import observations
from sim.errors import SimError
from sim.observations import NATIONAL, known_process_values
from sim.output import write_text
from sim.spec import ModelSpec

MIN_PAIRS = 8  # consecutive pairs needed to estimate persistence
MIN_OBS = 3  # observations needed to estimate a process at all
MIN_OVERLAP = 8  # residual pairs needed to estimate a correlation
PRIOR_PHI = (0.0, 0.4)  # mean and sd of phi where the data cannot identify it
# Only the latest years describe today's economy: China's industry grew 14-16% a year in 2010-2011
# and has grown 3-7% since 2015 (china.csv). Fits use the last WINDOW years of data.
WINDOW = 10
DF_BOUNDS = (2.5, 200.0)


@dataclass
class Fit:
    """One process's estimates, in the form the params file stores."""

    mean: float
    mean_se: float
    phi: float
    phi_se: float
    sigma: float
    sigma_se: float
    sample: str
    source: str
    cov: np.ndarray | None = None
    diagnostics: dict[str, float] = field(default_factory=dict)
    borrowed: list[str] = field(default_factory=list)
    shrinkage: float | None = None
    residuals: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))  # (region, year)
    within: tuple[float, float, str] | None = None
    national: bool = False


def calibrate(root: str | Path, regions: list[str] | None = None, *, model_name: str = "industry",
              as_of: dt.date | None = None, write: bool = True) -> dict[str, dict]:
    """Fit the model for each region and (by default) write ``calibration/params/<region>.yaml``.

    Returns the params documents by region. ``as_of`` uses only data published by that date.
    """
    root = Path(root)
    model = ModelSpec.load(root / "models" / f"{model_name}.yaml")
    obs = observations.as_of(observations.load(root / "calibration" / "data"), as_of)
    obs = obs[obs["period"] > obs["period"].max() - WINDOW]
    all_regions = sorted(set(obs["region"]) - {NATIONAL})
    regions = regions or all_regions
    unknown = [r for r in regions if r not in all_regions]
    if unknown:
        raise SimError(f"no observations for region {unknown[0]!r}; regions with data: "
                       f"{', '.join(all_regions)}")
    known = {r: known_process_values(model, r, obs) for r in [*all_regions, NATIONAL]}
    docs = {}
    for region in regions:
        fits = {name: fit for name in model.processes
                if (fit := _fit_process(name, model, obs, known, region, all_regions)) is not None}
        docs[region] = _document(region, model, fits, obs, as_of)
        if write:
            path = root / "calibration" / "params" / f"{region.lower()}.yaml"
            _write(path, docs[region])
    return docs


def _fit_process(name: str, model: ModelSpec, obs: pd.DataFrame, known: dict, region: str,
                 all_regions: list[str]) -> Fit | None:
    spec = model.processes[name]
    if spec.scope == "national":
        series = pd.Series(known[NATIONAL][0][name], dtype=float).sort_index()
        fit = fit_ar1(series, f"China {spec.data or name}") if len(series) >= MIN_OBS else None
        if fit is not None:
            fit.national = True
        if fit is not None and (spec.data or name) == "iva_growth":
            fit.within = within_year_sd(obs, NATIONAL, "iva_growth")
        return fit
    share_of = [i for i, ind in model.indicators.items()
                if ind.kind == "share" and list(ind.drivers) == [name]]
    if share_of:
        ind = model.indicators[share_of[0]]
        panel = {r: observations.series(obs, r, ind.data or share_of[0]) for r in [*all_regions, NATIONAL]}
        return fit_increments(panel, region, share_of[0])
    panel = {r: pd.Series(known[r][0][name], dtype=float).sort_index() for r in all_regions}
    panel = {r: s for r, s in panel.items() if not s.empty}
    note = ""
    china = pd.Series(known[NATIONAL][0][name], dtype=float).sort_index()
    if not china.empty and not (china == 0).all():  # a spread is 0 for China by definition
        panel[NATIONAL] = china
        note = "China's own series is one member of the pool"
    if sum(map(len, panel.values())) < MIN_OBS:
        return None
    fit = fit_panel(panel, region, name)
    if note:
        fit.source += f"; {note}"
    if name == "iva_spread":
        fit.within = within_year_sd(obs, NATIONAL, "iva_growth")
        if fit.within is not None:
            fit.within = (*fit.within[:2], fit.within[2] + "; borrowed from China: regions publish "
                          "too few single-month figures")
            fit.borrowed.append("within_year_sd")
    return fit


def fit_ar1(series: pd.Series, label: str) -> Fit:
    """Exact Gaussian MLE of an AR(1) with a mean on the longest run of consecutive years."""
    run = _longest_run(series)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ARIMA(run.to_numpy(), order=(1, 0, 0), trend="c").fit()
    mu, phi, sigma2 = (float(v) for v in res.params)
    cov = np.asarray(res.cov_params())
    sigma = math.sqrt(sigma2)
    # delta method to (mu, atanh phi, log sigma)
    jac = np.diag([1.0, 1.0 / (1.0 - phi**2), 0.5 / sigma2])
    cov_theta = jac @ cov @ jac.T
    resid = pd.Series(np.asarray(res.resid)[1:] / sigma, index=run.index[1:])
    years = f"{run.index.min()}–{run.index.max()}"
    return Fit(mean=mu, mean_se=math.sqrt(cov[0, 0]), phi=phi, phi_se=math.sqrt(cov[1, 1]),
               sigma=sigma, sigma_se=math.sqrt(cov[2, 2]) / (2 * sigma), cov=cov_theta,
               sample=f"{label} {years}, {len(run)} years",
               source=f"statsmodels ARIMA(1,0,0) exact MLE on {label} {years} ({len(run)} years)",
               diagnostics=_diagnostics(resid.to_numpy(), len(run)),
               residuals=pd.Series(resid.to_numpy(), index=pd.MultiIndex.from_product(
                   [[NATIONAL], resid.index], names=["region", "year"])))


def fit_panel(panel: dict[str, pd.Series], region: str, label: str) -> Fit:
    """Random-intercept pool (REML) with the region's mean as its BLUP; pooled AR(1) persistence."""
    long = pd.concat({r: s for r, s in panel.items()}, names=["region", "year"]).rename("y").reset_index()
    n_regions, n_obs = long["region"].nunique(), len(long)
    if n_regions >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            res = MixedLM(long["y"], np.ones((n_obs, 1)), groups=long["region"]).fit(reml=True)
            alpha0, alpha0_se = float(res.fe_params.iloc[0]), float(res.bse_fe.iloc[0])
        omega2, scale = max(float(res.cov_re.iloc[0, 0]), 0.0), float(res.scale)
        if not math.isfinite(alpha0_se):  # at the boundary (no between-region variance)
            alpha0_se = math.sqrt(scale / n_obs + omega2 / n_regions)
    else:
        alpha0, scale, omega2 = float(long["y"].mean()), float(long["y"].var(ddof=1)), 0.0
        alpha0_se = math.sqrt(scale / n_obs)
    means = {}
    for r, s in panel.items():
        b = scale / (scale + len(s) * omega2) if omega2 > 0 else 1.0
        means[r] = alpha0 + (1 - b) * (s.mean() - alpha0)
    own = panel.get(region, pd.Series(dtype=float))
    n_r = len(own)
    shrink = scale / (scale + n_r * omega2) if omega2 > 0 else 1.0
    mean = alpha0 + (1 - shrink) * (own.mean() - alpha0) if n_r else alpha0
    post_var = 1.0 / (1.0 / omega2 + n_r / scale) if omega2 > 0 else 0.0
    mean_se = math.sqrt(post_var + (shrink * alpha0_se) ** 2)
    borrowed = [] if n_r else ["mean"]
    # persistence from consecutive pairs around each region's (shrunk) mean
    pairs = [(s[y] - means[r], s[y - 1] - means[r], r, y) for r, s in panel.items()
             for y in s.index if y - 1 in s.index]
    if len(pairs) >= MIN_PAIRS:
        cur, lag = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        ols = OLS(cur, lag).fit()
        phi, phi_se = float(np.clip(ols.params[0], -0.95, 0.95)), float(ols.bse[0])
    else:
        phi, phi_se = PRIOR_PHI
        borrowed.append("phi")
    sigma = math.sqrt(scale * (1 - phi**2))
    dof = max(n_obs - n_regions, 1)
    resid = pd.Series([(c - phi * lg) / sigma for c, lg, _, _ in pairs],
                      index=pd.MultiIndex.from_tuples([(r, y) for *_, r, y in pairs],
                                                      names=["region", "year"]), dtype=float)
    years = f"{long['year'].min()}–{long['year'].max()}"
    source = (f"MixedLM random intercept (REML) on {n_obs} values of {label} from {n_regions} "
              f"regions, {years}: pool mean {alpha0:.3g} (se {alpha0_se:.2g}), between-region sd "
              f"{math.sqrt(max(omega2, 0)):.3g}, within sd {math.sqrt(scale):.3g}; {region} has "
              f"{n_r} value(s), shrinkage toward the pool {shrink:.2f}; persistence from "
              f"{len(pairs)} consecutive pairs" + (" (too few: prior)" if "phi" in borrowed else ""))
    return Fit(mean=mean, mean_se=mean_se, phi=phi, phi_se=phi_se, sigma=sigma,
               sigma_se=sigma / math.sqrt(2 * dof), sample=f"{n_obs} values, {n_regions} regions, {years}",
               source=source, diagnostics=_diagnostics(resid.to_numpy(), n_obs),
               borrowed=borrowed, shrinkage=shrink, residuals=resid)


def fit_increments(panel: dict[str, pd.Series], region: str, indicator: str) -> Fit | None:
    """Yearly logit changes of a share from observations that may be years apart."""
    rows = []
    for r, s in panel.items():
        years = list(s.index)
        for y0, y1 in itertools.pairwise(years):
            k = y1 - y0
            change = (_logit(s[y1]) - _logit(s[y0])) / k
            rows.append((r, y1, k, change))
    if len(rows) < MIN_OBS:
        return None
    df = pd.DataFrame(rows, columns=["region", "year", "k", "change"])
    k_total = df["k"].sum()
    pool = float((df["change"] * df["k"]).sum() / k_total)
    # each annualised change over k years has variance sigma^2 / k (independent yearly steps)
    sigma2 = float((df["k"] * (df["change"] - pool) ** 2).sum() / max(len(df) - 1, 1))
    own = df[df["region"] == region]
    tau2 = _between_variance(df, pool, sigma2)
    k_r = float(own["k"].sum())
    shrink = sigma2 / (sigma2 + k_r * tau2) if tau2 > 0 else 1.0
    own_mean = float((own["change"] * own["k"]).sum() / k_r) if k_r else pool
    mean = pool + (1 - shrink) * (own_mean - pool)
    pool_var = sigma2 / k_total
    mean_se = math.sqrt((1 / (1 / tau2 + k_r / sigma2) if tau2 > 0 else 0.0) + (shrink**2) * pool_var)
    sigma = math.sqrt(sigma2)
    years = f"{df['year'].min() - df['k'].max()}–{df['year'].max()}"
    borrowed = ["phi"] + ([] if k_r else ["mean"])
    source = (f"yearly logit changes of {indicator} from {len(df)} pairs of observations in "
              f"{df['region'].nunique()} regions ({years}; a change over k years weighs k): pool "
              f"{pool:.3g}/yr, between-region sd {math.sqrt(tau2):.3g}; {region} spans {k_r:.0f} "
              f"years, shrinkage toward the pool {shrink:.2f}; persistence not identified (prior)")
    resid = pd.Series(((df["change"] - mean) * np.sqrt(df["k"]) / sigma).to_numpy(),
                      index=pd.MultiIndex.from_frame(df[["region", "year"]]))
    return Fit(mean=mean, mean_se=mean_se, phi=PRIOR_PHI[0], phi_se=PRIOR_PHI[1], sigma=sigma,
               sigma_se=sigma / math.sqrt(2 * max(len(df) - 1, 1)),
               sample=f"{len(df)} changes, {df['region'].nunique()} regions, {years}", source=source,
               borrowed=borrowed, shrinkage=shrink, residuals=resid)


def _between_variance(df: pd.DataFrame, pool: float, sigma2: float) -> float:
    """Method-of-moments between-region variance of the regions' mean yearly change."""
    by = df.groupby("region").apply(lambda g: pd.Series({
        "k": g["k"].sum(), "m": (g["change"] * g["k"]).sum() / g["k"].sum()}), include_groups=False)
    if len(by) < 2:
        return 0.0
    w = by["k"] / sigma2
    q = float((w * (by["m"] - pool) ** 2).sum())
    c = float(w.sum() - (w**2).sum() / w.sum())
    return max((q - (len(by) - 1)) / c, 0.0) if c > 0 else 0.0


def within_year_sd(obs: pd.DataFrame, region: str, indicator: str) -> tuple[float, float, str] | None:
    """The sd s of a month's growth around its year's level (sim.conditioning), fitted on what it
    predicts: the gap between a year and its year-to-date figure after m months, whose variance
    under the model is s² · w² · 12 / (m (12 − m)), w = (12 − m) / 12 (the prior being much wider
    than s² / m)."""
    annual = observations.series(obs, region, indicator)
    sel = obs[(obs["region"] == region) & (obs["indicator"] == indicator) & (obs["first_month"] == 1)
              & (obs["last_month"] >= 2) & (obs["last_month"] < 12)]
    scaled: dict[int, list[float]] = {}
    for row in sel.itertuples():
        if row.period in annual.index:
            m = row.last_month
            w = (12 - m) / 12
            gap = annual[row.period] - row.value
            scaled.setdefault(m, []).append(gap**2 / (w**2 * 12 / (m * (12 - m))))
    # monthly deviations are not alike through the year (a lockdown in a spring, a strong December):
    # fit on the year-end case (1—11月) that planners condition on most, when it has the data
    pairs = scaled.get(11, [])
    if len(pairs) < MIN_PAIRS:
        pairs = [v for values in scaled.values() for v in values]
    if len(pairs) < MIN_PAIRS:
        return None
    s = float(np.sqrt(np.mean(pairs)))
    months = "1—11月" if pairs is scaled.get(11) else "1—m月, m = 2..11"
    return s, s / math.sqrt(2 * len(pairs)), (
        f"from {len(pairs)} pairs of a full-year {indicator} of {region} and its year-to-date figure "
        f"({months}): the model's variance of their gap, s² w² 12 / (m (12 − m)), matched")


def fit_df(residuals: np.ndarray) -> tuple[float, float]:
    """MLE of the degrees of freedom of a unit-variance Student t (scale fitted too), with its se."""
    x = residuals[np.isfinite(residuals)]

    def nll(params: np.ndarray) -> float:
        log_df, log_scale = params
        df = DF_BOUNDS[0] + math.exp(log_df)
        scale = math.exp(log_scale) * math.sqrt((df - 2) / df)
        return -float(np.sum(stats.t.logpdf(x, df, scale=scale)))

    res = optimize.minimize(nll, x0=[math.log(8.0), 0.0], method="Nelder-Mead")
    df = min(DF_BOUNDS[0] + math.exp(res.x[0]), DF_BOUNDS[1])
    h = 1e-3  # observed information of log(df - 2.5) by a central difference
    f0 = nll(res.x)
    step = np.array([h, 0.0])
    d2 = (nll(res.x + step) - 2 * f0 + nll(res.x - step)) / h**2
    se_log = 1 / math.sqrt(d2) if d2 > 0 else math.inf
    return df, (df - DF_BOUNDS[0]) * se_log


def _correlations(fits: dict[str, Fit]) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Correlations of residuals of the same year: a national residual meets every region's."""
    names = [n for n, f in fits.items() if len(f.residuals)]
    corr: dict[str, dict[str, float]] = {}
    notes = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            joined = _pair(fits[a], fits[b])
            if len(joined) < MIN_OVERLAP:
                continue
            r = float(np.corrcoef(joined.iloc[:, 0], joined.iloc[:, 1])[0, 1])
            corr.setdefault(a, {})[b] = round(r, 4)
            notes.append(f"{a}–{b}: {r:.2f} from {len(joined)} residual pairs")
    # keep it a correlation matrix: shrink toward the identity until positive definite
    mat = np.eye(len(names))
    for a, row in corr.items():
        for b, r in row.items():
            mat[names.index(a), names.index(b)] = mat[names.index(b), names.index(a)] = r
    lam = 1.0
    while np.linalg.eigvalsh(lam * mat + (1 - lam) * np.eye(len(names))).min() <= 1e-6:
        lam -= 0.05
    if lam < 1.0:
        corr = {a: {b: round(lam * r, 4) for b, r in row.items()} for a, row in corr.items()}
        notes.append(f"shrunk by {lam:.2f} toward the identity to be positive definite")
    return corr, notes


def _pair(a: Fit, b: Fit) -> pd.DataFrame:
    ra, rb = a.residuals, b.residuals
    if a.national and b.national:
        return pd.concat([ra.droplevel("region"), rb.droplevel("region")], axis=1, join="inner").dropna()
    if a.national or b.national:
        nat, reg = (ra, rb) if a.national else (rb, ra)
        years = reg.index.get_level_values("year")
        mask = years.isin(nat.index.get_level_values("year"))
        nat_by_year = nat.droplevel("region")
        return pd.DataFrame({"a": nat_by_year.loc[years[mask]].to_numpy(), "b": reg[mask].to_numpy()})
    return pd.concat([ra, rb], axis=1, join="inner").dropna()


def _document(region: str, model: ModelSpec, fits: dict[str, Fit], obs: pd.DataFrame,
              as_of: dt.date | None) -> dict:
    pooled = np.concatenate([f.residuals.to_numpy() for f in fits.values() if len(f.residuals)])
    df, df_se = fit_df(pooled)
    corr, corr_notes = _correlations(fits)
    processes = {}
    for name, f in fits.items():
        entry = {
            "mean": _estimate(f.mean, f.mean_se, f.source),
            "phi": _estimate(f.phi, f.phi_se, f.source if "phi" not in f.borrowed else
                             f"not identified by the data: a prior N({PRIOR_PHI[0]}, {PRIOR_PHI[1]}²)"),
            "sigma": _estimate(f.sigma, f.sigma_se, f.source),
        }
        if f.cov is not None:
            entry["covariance"] = [[_round(v) for v in row] for row in f.cov]
        if f.within is not None:
            entry["within_year_sd"] = _estimate(*f.within)
        entry["sample"] = f.sample
        if f.diagnostics:
            entry["diagnostics"] = {k: _round(v) for k, v in f.diagnostics.items()}
        if f.shrinkage is not None:
            entry["shrinkage"] = _round(f.shrinkage)
        if f.borrowed:
            entry["borrowed"] = f.borrowed
        processes[name] = entry
    missing = [p for p in model.processes if p not in fits]
    return {
        "region": region,
        "model": model.name,
        "method": "sim calibrate (statsmodels ARIMA, MixedLM, OLS; scipy Student-t MLE)",
        "as_of": as_of or max(obs["published"]),
        "shocks": {
            "df": _estimate(df, df_se, f"maximum likelihood on {len(pooled)} pooled standardised "
                            "residuals of the processes below"),
            "correlation": corr,
            "source": "; ".join(corr_notes) or f"no pair of processes has {MIN_OVERLAP} residuals "
                      "in the same year: uncorrelated",
        },
        "processes": processes,
        "note": ("not estimated (fewer than 3 observations anywhere): " + ", ".join(missing))
        if missing else "",
    }


def _estimate(value: float, se: float, source: str) -> dict:
    return {"value": _round(value), "std_error": _round(se if math.isfinite(se) else 1e6), "source": source}


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _diagnostics(resid: np.ndarray, n: int) -> dict[str, float]:
    out: dict[str, float] = {"n": float(n)}
    if len(resid) >= 6:
        lags = max(1, min(4, len(resid) // 3))
        lb = acorr_ljungbox(resid, lags=[lags])
        out["ljung_box_p"] = float(lb["lb_pvalue"].iloc[0])
        out["jarque_bera_p"] = float(jarque_bera(resid)[1])
    return out


def _logit(share_pct: float) -> float:
    return math.log(share_pct / (100 - share_pct))


def _longest_run(series: pd.Series) -> pd.Series:
    years = list(series.index)
    best, start = (0, 0), 0
    for i in range(1, len(years) + 1):
        if i == len(years) or years[i] != years[i - 1] + 1:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = i
    return series.iloc[best[0]:best[1]]


def _write(path: Path, doc: dict) -> None:
    header = ("# Written by `sim calibrate`; do not edit by hand. Every estimate names its sample\n"
              "# and method; `borrowed` lists what the region's own data could not identify.\n")
    write_text(path, header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100), force=True)
