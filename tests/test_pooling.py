"""The pooled estimator recovers a known panel law, with and without outliers, and shrinks as it
should. Tolerances are four standard errors of the fit's own (Laplace, numerical-Hessian) covariance."""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.mixed_linear_model import MixedLM

from sim import pooling

MU, OMEGA, PHI, SCALE, DF = 0.5, 1.5, 0.3, 1.5, 5.0


def _panel(seed, regions=40, years=12, outliers=0, df=DF, omega=OMEGA, phi=PHI, lengths=None):
    rng = np.random.default_rng(seed)
    rows = []
    means = MU + omega * rng.standard_normal(regions)
    for r in range(regions):
        n = years if lengths is None else lengths[r]
        x = means[r] + SCALE / math.sqrt(1 - phi**2) * rng.standard_normal()
        prev = math.nan
        for t in range(n):
            if t:
                shock = rng.standard_t(df) if df < 1e6 else rng.standard_normal()
                x = means[r] + phi * (x - means[r]) + SCALE * shock
            rows.append({"y": x, "lag": prev, "series": f"R{r}", "region": f"R{r}", "year": 2000 + t})
            prev = x
    frame = pd.DataFrame(rows)
    if outliers:  # gross errors, as a pandemic year or a misprint would give
        hit = rng.choice(len(frame), outliers, replace=False)
        frame.loc[hit, "y"] += rng.choice([-1.0, 1.0], outliers) * 20.0
    return frame, means


@pytest.mark.parametrize("outliers", [0, 12])
def test_scale_tails_and_between_variance_are_recovered(outliers):
    frame, _ = _panel(1, outliers=outliers)
    fit = pooling.fit(pooling.Panel.from_frame(frame, ["region"]))
    assert abs(math.log(fit.scale) - math.log(SCALE)) < 4 * fit.se(2)
    assert abs(fit.phi - PHI) < 4 * fit.se(1) * (1 - fit.phi**2)
    assert abs(math.log(fit.omega["region"]) - math.log(OMEGA)) < 4 * fit.se(4)
    assert abs(fit.mu - MU) < 4 * fit.se(0)
    if outliers:  # the tails take the gross errors: not the scale
        assert fit.df < DF + 4 * fit.se(3) * (fit.df - 2)


def test_the_tails_are_recovered():
    frame, _ = _panel(2, regions=60, years=15)
    fit = pooling.fit(pooling.Panel.from_frame(frame, ["region"]))
    assert abs(math.log(fit.df - 2) - math.log(DF - 2)) < 4 * fit.se(3)


def test_a_gaussian_panel_gives_the_blups_of_mixedlm():
    """With Gaussian data, no persistence and many degrees of freedom, the posterior means of the
    regions are statsmodels' ML BLUPs."""
    frame, _ = _panel(3, regions=25, years=8, df=1e9, phi=0.0)
    frame["lag"] = math.nan  # no persistence: every value a draw around its region's mean
    fit = pooling.fit(pooling.Panel.from_frame(frame, ["region"]))
    res = MixedLM(frame["y"], np.ones((len(frame), 1)), groups=frame["region"]).fit(reml=False)
    assert fit.df > 15  # the prior leans to 8 degrees of freedom; the data say many more
    blup = {r: res.fe_params.iloc[0] + res.random_effects[r].iloc[0] for r in res.random_effects}
    ours = {r: fit.group_mean({"region": r})[0] for r in blup}
    diff = np.array([ours[r] - blup[r] for r in blup])
    # a t likelihood with that many degrees of freedom is nearly Gaussian: within a tenth of the between-region sd
    assert np.max(np.abs(diff)) < 0.1 * math.sqrt(res.cov_re.iloc[0, 0])


def test_a_region_with_fewer_values_is_shrunk_more_and_known_less():
    lengths = [30] + [3] * 29
    frame, means = _panel(4, regions=30, lengths=lengths)
    fit = pooling.fit(pooling.Panel.from_frame(frame, ["region"]))
    long_mean, long_var, _ = fit.group_mean({"region": "R0"})
    short_var = [fit.group_mean({"region": f"R{r}"})[1] for r in range(1, 30)]
    assert long_var < min(short_var)
    assert abs(long_mean - means[0]) < 4 * math.sqrt(long_var)
    new_mean, new_var, seen = fit.group_mean({"region": "Nowhere"})
    assert not seen["region"] and new_mean == fit.mu
    assert new_var == pytest.approx(fit.joint[0, 0] + fit.omega["region"] ** 2)
    assert new_var > max(short_var)


def test_discounting_follows_a_level_shift():
    """A series that moved from 10 to 6 half-way: the discounted mean sits nearer 6."""
    rng = np.random.default_rng(5)
    values = np.r_[10 + 0.3 * rng.standard_normal(5), 6 + 0.3 * rng.standard_normal(5)]
    frame = pd.DataFrame({"y": values, "lag": math.nan, "series": "China", "year": range(2010, 2020)})
    flat = pooling.fit(pooling.Panel.from_frame(frame, [], 1.0))
    recent = pooling.fit(pooling.Panel.from_frame(frame, [], 0.7))
    assert abs(recent.mu - 6) < abs(flat.mu - 6)
