"""Partial-year conditioning against a simulation of monthly data (sim.conditioning's model)."""

import numpy as np
import pytest
from scipy import stats

import sim
from sim.conditioning import partial_year

N = 400_000


@pytest.mark.parametrize("months", [3, 6, 11])
def test_conditional_law_of_the_year_matches_monthly_simulation(months):
    rng = np.random.default_rng(months)
    f, v, s = 5.0, 2.0**2, 1.8
    mu = f + np.sqrt(v) * rng.standard_normal(N)
    monthly = mu[:, None] + s * rng.standard_normal((N, 12))
    ytd = monthly[:, :months].mean(axis=1)
    year = monthly.mean(axis=1)
    # Gaussian: the year given the year-to-date figure is linear in it with constant variance
    slope, intercept = np.polyfit(ytd, year, 1)
    resid_var = np.var(year - (intercept + slope * ytd))
    # the formula: year = a x + b(Q) + c z with x ~ N(f, v) independent of z
    q0, q1 = 0.0, 1.0
    a, b0, c = partial_year(q0, months, v, s)
    _, b1, _ = partial_year(q1, months, v, s)
    assert slope == pytest.approx(b1 - b0, abs=4 * np.sqrt(resid_var / (N * ytd.var())))
    assert intercept + slope * f == pytest.approx(a * f + b0 + (b1 - b0) * f, abs=4 * np.sqrt(resid_var / N))
    var = a**2 * v + c**2
    assert resid_var == pytest.approx(var, rel=4 * np.sqrt(2 / N))


def test_a_full_year_is_pinned_exactly():
    assert partial_year(6.5, 12, 4.0, 1.8) == (0.0, 6.5, 0.0)


def test_year_to_date_actual_narrows_the_year(project):
    """In a run, a 1-11 actual for the target year pins it down to the last month's noise."""
    data = project / "calibration/data/testland.csv"
    params = project / "calibration/params/testland.yaml"
    params.write_text(params.read_text().replace(
        "    sigma: {value: 0.02, source: test value}",
        "    sigma: {value: 0.02, source: test value}\n    within_year_sd: {value: 0.01, source: test value}"))
    before = sim.run(project / "scenarios/testland-2023.yaml", paths=20_000, seed=1)
    with data.open("a", encoding="utf-8") as fh:
        fh.write("Testland,rate,2023,1-11,0.055,%,,2023-12-15,test fixture,1—11月速度0.055,\n")
    after = sim.run(project / "scenarios/testland-2023.yaml", paths=20_000, seed=1)
    # the law of the year given 1-11: a x + b + c z, x the AR draw (stationary: mean 0.05, var 0.02²/(1-0.6²))
    a, b, c = partial_year(0.055, 11, 0.02**2, 0.01)
    v_x = 0.02**2 / (1 - 0.6**2)
    sd = np.sqrt(a**2 * v_x + c**2)
    n = 20_000  # kept paths
    q = after.data["measure_quantile"].sel(scenario="base", target="rate_low")
    # a sample quantile q has sd sqrt(q(1-q)) / (sqrt(n) f(x_q)); for the median sqrt(pi/2) sd/sqrt(n)
    assert q.sel(quantile=0.5).item() == pytest.approx(a * 0.05 + b, abs=4 * np.sqrt(np.pi / 2) * sd / np.sqrt(n))
    se_p = np.sqrt(0.09) * sd / (np.sqrt(n) * stats.norm.pdf(stats.norm.ppf(0.9)))
    width = (q.sel(quantile=0.9) - q.sel(quantile=0.1)).item()
    assert width == pytest.approx(2 * stats.norm.ppf(0.9) * sd, abs=4 * 2 * se_p)
    q0 = before.data["measure_quantile"].sel(scenario="base", target="rate_low")
    assert width < (q0.sel(quantile=0.9) - q0.sel(quantile=0.1)).item()
    assert any("conditioned on its 1–11月" in n for n in after.notes)
