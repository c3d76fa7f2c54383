"""Estimators recover known parameters; shrinkage behaves; vintages exclude later data."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.mixed_linear_model import MixedLM

from sim import calibrate as cal
from tests.conftest import ROOT


def _ar1(rng, n, mu, phi, sigma):
    x = np.empty(n)
    x[0] = mu + sigma / np.sqrt(1 - phi**2) * rng.standard_normal()
    for t in range(1, n):
        x[t] = mu + phi * (x[t - 1] - mu) + sigma * rng.standard_normal()
    return x


def test_ar1_parameters_are_recovered_within_their_standard_errors():
    rng = np.random.default_rng(11)
    mu, phi, sigma = 5.0, 0.5, 1.5
    y = pd.Series(_ar1(rng, 400, mu, phi, sigma), index=range(1600, 2000))
    fit = cal.fit_ar1(y, "synthetic")
    assert abs(fit.mean - mu) < 4 * fit.mean_se
    assert abs(fit.phi - phi) < 4 * fit.phi_se
    assert abs(fit.sigma - sigma) < 4 * fit.sigma_se
    # the covariance is that of (mu, atanh phi, log sigma), by the delta method
    assert fit.cov[1, 1] == pytest.approx((fit.phi_se / (1 - fit.phi**2)) ** 2, rel=1e-9)


def test_ar1_uses_the_longest_run_of_consecutive_years():
    y = pd.Series([1.0, 2.0, 3.0, 2.5, 2.0, 3.1, 2.2, 2.9], index=[2001, 2003, 2004, 2005, 2006, 2007, 2008, 2009])
    assert cal.fit_ar1(y, "x").sample.endswith("2003–2009, 7 years")


def _panel(rng, n_regions, n_years, alpha0, omega, sigma_u, lengths=None):
    panel = {}
    for r in range(n_regions):
        a = alpha0 + omega * rng.standard_normal()
        n = n_years if lengths is None else lengths[r]
        panel[f"R{r}"] = pd.Series(a + sigma_u * rng.standard_normal(n), index=range(2000, 2000 + n))
    return panel


def test_panel_pool_mean_and_blups_match_statsmodels():
    rng = np.random.default_rng(2)
    panel = _panel(rng, 12, 6, alpha0=1.0, omega=1.0, sigma_u=2.0)
    fit = cal.fit_panel(panel, "R3", "spread")
    long = pd.concat(panel, names=["region", "year"]).rename("y").reset_index()
    res = MixedLM(long["y"], np.ones((len(long), 1)), groups=long["region"]).fit(reml=True)
    blup = res.fe_params.iloc[0] + res.random_effects["R3"].iloc[0]
    assert fit.mean == pytest.approx(blup, rel=1e-6)
    b = res.scale / (res.scale + 6 * res.cov_re.iloc[0, 0])
    assert fit.shrinkage == pytest.approx(b, rel=1e-6)


def test_a_region_without_data_gets_the_pool_and_says_so():
    rng = np.random.default_rng(3)
    panel = _panel(rng, 10, 8, alpha0=2.0, omega=1.5, sigma_u=1.0)
    fit = cal.fit_panel(panel, "Nowhere", "spread")
    long = pd.concat(panel, names=["region", "year"]).rename("y").reset_index()
    assert fit.shrinkage == 1.0 and "mean" in fit.borrowed
    res = MixedLM(long["y"], np.ones((len(long), 1)), groups=long["region"]).fit(reml=True)
    assert fit.mean == pytest.approx(res.fe_params.iloc[0], rel=1e-6)
    # its uncertainty includes the spread between regions, not just the pool mean's error
    assert fit.mean_se > np.sqrt(res.cov_re.iloc[0, 0])


def test_a_region_with_a_long_history_keeps_its_own_mean():
    rng = np.random.default_rng(4)
    lengths = [200] + [5] * 9
    panel = _panel(rng, 10, 0, alpha0=0.0, omega=2.0, sigma_u=1.0, lengths=lengths)
    fit = cal.fit_panel(panel, "R0", "spread")
    own = panel["R0"].mean()
    assert fit.shrinkage < 0.01
    assert abs(fit.mean - own) < 0.02 * abs(own - 0.0) + 0.01
    short = cal.fit_panel(panel, "R1", "spread")
    assert short.shrinkage > fit.shrinkage


def test_panel_persistence_is_recovered():
    rng = np.random.default_rng(5)
    panel = {f"R{r}": pd.Series(_ar1(rng, 40, 1.0 + 0.3 * rng.standard_normal(), 0.6, 1.0),
                                index=range(1980, 2020)) for r in range(15)}
    fit = cal.fit_panel(panel, "R0", "spread")
    assert abs(fit.phi - 0.6) < 4 * fit.phi_se
    assert abs(fit.sigma - 1.0) < 4 * fit.sigma_se
    few = cal.fit_panel({"R0": panel["R0"].iloc[:4], "R1": panel["R1"].iloc[:3]}, "R0", "spread")
    assert "phi" in few.borrowed and (few.phi, few.phi_se) == cal.PRIOR_PHI


def test_share_increments_with_gaps_recover_the_drift():
    rng = np.random.default_rng(6)
    drift, sigma = 0.08, 0.03
    panel = {}
    for r in range(30):
        logit = np.cumsum(drift + sigma * rng.standard_normal(12)) - 0.5
        share = pd.Series(100 / (1 + np.exp(-logit)), index=range(2010, 2022))
        panel[f"R{r}"] = share.iloc[::3]  # observed every third year
    fit = cal.fit_increments(panel, "R0", "share")
    assert abs(fit.mean - drift) < 4 * fit.mean_se
    assert abs(fit.sigma - sigma) < 4 * fit.sigma_se


def test_student_t_degrees_of_freedom_are_recovered():
    rng = np.random.default_rng(7)
    x = rng.standard_t(5, 20_000) / np.sqrt(5 / 3)
    df, se = cal.fit_df(x)
    assert abs(df - 5) < 4 * se


def test_calibration_respects_the_vintage():
    later = cal.calibrate(ROOT, ["Jinan"], write=False)["Jinan"]["processes"]
    then = cal.calibrate(ROOT, ["Jinan"], as_of=dt.date(2024, 12, 31), write=False)["Jinan"]["processes"]
    assert later["iva_national"]["sample"].endswith("2016–2025, 10 years")
    assert then["iva_national"]["sample"].endswith("2015–2023, 9 years")  # 2024 is published in 2025
    # Jinan's 2024 revenue (published March 2025) is unknown at the end of 2024
    assert later["iva_spread"]["mean"] != then["iva_spread"]["mean"]


def test_shipped_params_are_what_calibrate_writes():
    import yaml

    shipped = yaml.safe_load((ROOT / "calibration/params/jinan.yaml").read_text(encoding="utf-8"))
    fresh = cal.calibrate(ROOT, ["Jinan"], write=False)["Jinan"]
    assert shipped == yaml.safe_load(yaml.safe_dump(fresh, allow_unicode=True, sort_keys=False))
