r"""The pooled estimator: a panel of short series, robust to the rare year and shrunk toward the pool.

Every regional process and every indicator family is fitted by the same model. Observation i of
series j (a region's spread, a region's yearly growth of one indicator …) is

.. math::

    y_i - m_j = \phi\,(y_{i-1} - m_j) + s\,e_i/\sqrt{w_i}, \qquad
    m_j = \mu + \textstyle\sum_k b_{k,\,g_k(j)}, \qquad b_{k,\ell} \sim N(0, \omega_k^2),

with :math:`e_i` Student t with :math:`\nu` degrees of freedom (unit scale), so that :math:`s` is the
scale of ordinary years and the tails carry the rare ones (2020–21, a revision, a reclassification)
instead of inflating :math:`s`. A value without the previous year is drawn from the stationary law,
scale :math:`s/\sqrt{1-\phi^2}`. ``w_i`` is the number of years a value averages (a change over k
years, annualised, has k times the precision). The grouping factors ``g_k`` are crossed random
effects: a region, an indicator of a family, or both.

The random effects are integrated out by the Laplace approximation (their mode by iteratively
reweighted least squares, the curvature by the t density's Fisher information
:math:`(\nu+1)/(\nu+3)`, which keeps it positive), and
:math:`\theta = (\mu, \operatorname{atanh}\phi, \log s, \log(\nu-2), \log\omega_k)` maximises the
approximate marginal likelihood (scipy), with weak priors that keep what a short panel cannot tell
finite: :math:`\operatorname{atanh}\phi \sim N(0, 0.5^2)`, :math:`\log(\nu-2) \sim N(\log 6, 1.5^2)`, and
:math:`\log s` and each :math:`\log\omega_k` normal around the log of the data's robust spread (MAD)
with sd 1.5, so that a family of a few values neither collapses its scale nor drops the variance
between its members (an unseen member then still carries it).
Standard errors come from the numerical Hessian (statsmodels). A group's mean is its posterior
mean given the fit (the empirical-Bayes shrinkage toward the pool); a group without data takes the
pool with the between-group variance added.

``tests/test_pooling.py`` checks on synthetic panels that :math:`s`, :math:`\nu` and
:math:`\omega` are recovered with and without injected outliers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special
from statsmodels.tools.numdiff import approx_hess3

PRIOR_ATANH_PHI_SD = 0.5
PRIOR_LOG_DF = (math.log(6.0), 1.5)  # log(nu - 2): a median of 8 degrees of freedom
PRIOR_LOG_SCALE_SD = 1.5  # log s and each log omega: within a factor 4.5 of the data's spread, 1 sd
DF_BOUNDS = (2.5, 200.0)
MIN_PAIRS = 8  # consecutive pairs needed to estimate the persistence (else it is fixed at 0)


@dataclass
class Panel:
    """The data of one pooled fit, one row per value: ``y``, the previous year's value of the same
    series (``lag``, NaN if unknown), the years it averages (``weight``), its ``series`` and the
    levels of its grouping factors (columns of ``groups``)."""

    y: np.ndarray
    lag: np.ndarray
    weight: np.ndarray
    series: np.ndarray
    groups: pd.DataFrame
    year: np.ndarray
    discount: np.ndarray  # each value's weight in the likelihood (recent years count more)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, factors: list[str], discount: float = 1.0) -> Panel:
        """From columns y, lag, weight (optional), series, year and the factors; a value ``k`` years
        before the latest weighs ``discount ** k`` in the likelihood."""
        weight = frame["weight"].to_numpy(float) if "weight" in frame else np.ones(len(frame))
        groups = frame[factors].reset_index(drop=True)
        year = frame["year"].to_numpy()
        return cls(frame["y"].to_numpy(float), frame["lag"].to_numpy(float), weight,
                   frame["series"].to_numpy(), groups, year,
                   discount ** (year.max() - year).astype(float) if len(year) else np.ones(0))


@dataclass
class PoolFit:
    """A pooled fit: the hyperparameters with their covariance, the groups' posterior means."""

    mu: float
    phi: float
    scale: float  # s: the t innovations' scale
    df: float
    omega: dict[str, float]
    cov: np.ndarray  # of theta = (mu, atanh phi, log s, log(df - 2), log omega_k ...)
    effects: dict[str, pd.DataFrame]  # by factor: level -> mean, var (posterior of b), column (in joint)
    joint: np.ndarray  # posterior covariance of (mu, b): column 0 is mu
    n: int
    pairs: int
    phi_fixed: bool
    residuals: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))  # (series, year)

    @property
    def sigma(self) -> float:
        """The innovations' standard deviation s sqrt(nu / (nu - 2)), the kernel's sigma."""
        return self.scale * math.sqrt(self.df / (self.df - 2.0))

    def se(self, k: int) -> float:
        return float(math.sqrt(max(self.cov[k, k], 0.0)))

    def group_mean(self, levels: dict[str, object]) -> tuple[float, float, dict[str, bool]]:
        """Mean of the group with these factor levels, its variance, and which factors had data for
        the level (a level without data adds the factor's between-group variance)."""
        mean, extra, seen = self.mu, 0.0, {}
        a = np.zeros(self.joint.shape[0])
        a[0] = 1.0
        for factor, level in levels.items():
            table = self.effects.get(factor)
            if table is not None and level in table.index:
                mean += float(table.loc[level, "mean"])
                a[int(table.loc[level, "column"])] = 1.0
                seen[factor] = True
            else:
                extra += self.omega.get(factor, 0.0) ** 2
                seen[factor] = False
        return mean, float(a @ self.joint @ a) + extra, seen

    def sigma_cov(self) -> np.ndarray:
        """Covariance of (atanh phi, log sigma) with log sigma = log s + log(nu / (nu - 2)) / 2 at the
        fitted nu: the kernel draws the scale, not the degrees of freedom, so the uncertainty of
        sigma is that of s (a draw of nu's uncertainty into sigma alone would stretch the scale of
        a law whose tails stay put)."""
        return self.cov[1:3, 1:3].copy()


def _design(panel: Panel) -> tuple[np.ndarray, list[tuple[str, pd.Index]]]:
    """Indicator matrix of every factor's levels (one block per factor)."""
    blocks, levels = [], []
    for factor in panel.groups.columns:
        codes, uniques = pd.factorize(panel.groups[factor])
        z = np.zeros((len(codes), len(uniques)))
        z[np.arange(len(codes)), codes] = 1.0
        blocks.append(z)
        levels.append((factor, pd.Index(uniques)))
    return (np.hstack(blocks) if blocks else np.zeros((len(panel.y), 0))), levels


class _Objective:
    """The negative log marginal likelihood (Laplace) and the random effects' mode."""

    def __init__(self, panel: Panel, phi_fixed: bool, spread: float) -> None:
        self.panel = panel
        self.log_spread = math.log(spread)
        self.z, self.levels = _design(panel)
        self.sizes = [len(idx) for _, idx in self.levels]
        self.has_lag = ~np.isnan(panel.lag)
        self.lag = np.where(self.has_lag, panel.lag, 0.0)
        self.phi_fixed = phi_fixed
        self.b = np.zeros(self.z.shape[1])

    def unpack(self, theta: np.ndarray) -> tuple:
        mu, atanh_phi, log_s, log_df = theta[:4]
        phi = 0.0 if self.phi_fixed else math.tanh(atanh_phi)
        omega = np.exp(theta[4:]) if len(theta) > 4 else np.zeros(0)
        return mu, phi, math.exp(log_s), 2.0 + math.exp(log_df), omega

    def parts(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(negative log marginal likelihood, b mode, posterior var of b, standardised residuals,
        their scales)."""
        mu, phi, s, df, omega = self.unpack(theta)
        p = self.panel
        c = np.where(self.has_lag, 1.0 - phi, 1.0)  # how the group mean enters each value
        scale = s / np.sqrt(p.weight) / np.where(self.has_lag, 1.0, math.sqrt(1.0 - phi * phi))
        u = p.y - phi * self.lag
        prior_var = np.repeat(omega**2, self.sizes) if self.sizes else np.zeros(0)
        prior_prec = 1.0 / np.maximum(prior_var, 1e-12)
        zc = self.z * c[:, None]
        b = self.b.copy()
        lam = p.discount
        for _ in range(50):  # IRLS for the mode of the random effects
            r = (u - c * mu - zc @ b) / scale
            w = lam * (df + 1.0) / (df + r * r)
            a = (zc * (w / scale**2)[:, None]).T @ zc + np.diag(prior_prec)
            rhs = zc.T @ (w * (u - c * mu) / scale**2)
            new = np.linalg.solve(a, rhs) if len(b) else b
            if np.max(np.abs(new - b), initial=0.0) < 1e-10:
                b = new
                break
            b = new
        self.b = b
        r = (u - c * mu - zc @ b) / scale
        log_norm = special.gammaln((df + 1) / 2) - special.gammaln(df / 2) - 0.5 * np.log(df * np.pi)
        loglik = float(np.sum(lam * (log_norm - (df + 1) / 2 * np.log1p(r * r / df) - np.log(scale))))
        fisher = lam * (df + 1.0) / (df + 3.0)
        h = (zc * (fisher / scale**2)[:, None]).T @ zc + np.diag(prior_prec)
        if len(b):
            logdet_h = np.linalg.slogdet(h)[1]
            lap = -0.5 * float(b @ (prior_prec * b)) - 0.5 * float(np.sum(np.log(prior_var))) - 0.5 * logdet_h
        else:
            lap = 0.0
        # the posterior covariance of (mu, b) given theta: the information of mu joined to h's
        f = fisher * c / scale**2
        joint = np.empty((len(b) + 1, len(b) + 1))
        joint[0, 0] = float(np.sum(f * c))
        joint[0, 1:] = joint[1:, 0] = zc.T @ f
        joint[1:, 1:] = h
        return -(loglik + lap), b, np.linalg.inv(joint), r, scale

    def __call__(self, theta: np.ndarray) -> float:
        nll = self.parts(theta)[0]
        atanh_phi, log_df = theta[1], theta[3]
        prior = 0.5 * (atanh_phi / PRIOR_ATANH_PHI_SD) ** 2 if not self.phi_fixed else 0.0
        prior += 0.5 * ((log_df - PRIOR_LOG_DF[0]) / PRIOR_LOG_DF[1]) ** 2
        for log_scale in (theta[2], *theta[4:]):  # what a few values cannot pin down stays near their spread
            prior += 0.5 * ((log_scale - self.log_spread) / PRIOR_LOG_SCALE_SD) ** 2
        return nll + prior if math.isfinite(nll) else 1e300


def fit(panel: Panel) -> PoolFit:
    """Fit the pooled model to ``panel`` (see the module's docstring)."""
    n = len(panel.y)
    pairs = int(np.sum(~np.isnan(panel.lag)))
    phi_fixed = pairs < MIN_PAIRS
    y = panel.y
    med = float(np.median(y))
    mad = float(np.median(np.abs(y - med))) * 1.4826 or float(np.std(y)) or 1.0
    obj = _Objective(panel, phi_fixed, mad)
    k = len(obj.sizes)
    theta0 = np.r_[med, 0.0, math.log(mad), PRIOR_LOG_DF[0], np.full(k, math.log(mad / 2))]
    bounds = [(None, None), (-3.0, 3.0), (math.log(mad * 1e-3), math.log(mad * 1e3)),
              (math.log(DF_BOUNDS[0] - 2.0), math.log(DF_BOUNDS[1] - 2.0)),
              *[(math.log(mad * 1e-3), math.log(mad * 1e2))] * k]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = optimize.minimize(obj, theta0, method="L-BFGS-B", bounds=bounds)
        theta = res.x
        hess = approx_hess3(theta, obj)
    if phi_fixed:  # not estimated: its prior
        hess[1, :] = 0.0
        hess[:, 1] = 0.0
        hess[1, 1] = 1.0 / PRIOR_ATANH_PHI_SD**2
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(hess)
    cov = (cov + cov.T) / 2
    for i in range(len(theta)):  # an estimate at a bound: no information beyond it
        if cov[i, i] <= 0 or not math.isfinite(cov[i, i]):
            cov[i, :] = 0.0
            cov[:, i] = 0.0
            cov[i, i] = 1.0
    _, b, joint, r, _ = obj.parts(theta)
    mu, phi, s, df, omega = obj.unpack(theta)
    effects, start = {}, 0
    for (factor, levels), size in zip(obj.levels, obj.sizes, strict=True):
        columns = np.arange(start + 1, start + size + 1)
        effects[factor] = pd.DataFrame({"mean": b[start:start + size], "var": joint[columns, columns],
                                        "column": columns}, index=levels)
        start += size
    index = pd.MultiIndex.from_arrays([panel.series, panel.year], names=["series", "year"])
    resid = pd.Series(r, index=index)
    return PoolFit(mu=mu, phi=phi, scale=s, df=df, omega=dict(zip(panel.groups.columns, omega, strict=True)),
                   cov=cov, effects=effects, joint=joint, n=n, pairs=pairs, phi_fixed=phi_fixed,
                   residuals=resid)
