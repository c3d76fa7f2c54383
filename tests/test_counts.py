"""Counts: integer stocks with Poisson entries and binomial exits, against numpy's samplers."""

import numpy as np
import pytest
from scipy import stats

import sim
from sim import kernels
from tests.conftest import HERE

N = 200_000
COUNTS = HERE / "fixtures" / "counts" / "scenarios" / "countland-2022.yaml"


@pytest.mark.parametrize(("lam", "trials", "p"), [(3.2, 40.0, 0.1), (37.5, 500.0, 0.06), (800.0, 17_000.0, 0.3)])
def test_poisson_and_binomial_samplers_follow_their_laws(lam, trials, p):
    pois, binom = kernels.sample_counts(5, N, lam, trials, p)
    assert np.all(pois == np.round(pois)) and np.all(binom == np.round(binom))
    for draws, law in ((pois, stats.poisson(lam)), (binom, stats.binom(trials, p))):
        mean, var = law.mean(), law.var()
        assert abs(draws.mean() - mean) < 4 * np.sqrt(var / N)
        # chi-square goodness of fit over the central values, tails pooled
        lo, hi = law.ppf(0.001), law.ppf(0.999)
        edges = np.arange(lo, hi + 2) - 0.5
        observed, _ = np.histogram(np.clip(draws, lo, hi), edges)
        expected = np.diff(law.cdf(edges - 0.5 + 0.5))
        expected[0] += law.cdf(lo - 1)
        expected[-1] += law.sf(hi)
        keep = expected * N > 5
        chi2 = (((observed - N * expected) ** 2) / (N * expected))[keep].sum()
        assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3


def test_stock_and_entries_match_a_direct_simulation():
    res = sim.run(COUNTS, paths=N, seed=3, keep=5000)
    rng = np.random.default_rng(0)
    stock = np.full(N, 1000.0)
    for _ in range(2):  # 2021, 2022
        entries = rng.poisson(stock * 0.08)
        stock = stock + entries - rng.binomial(stock.astype(np.int64), 0.05)
    direct = {"stock": np.mean(stock > 1060), "flow": np.mean(entries >= 80)}
    for target, p_direct in direct.items():
        p = res.data["probability"].sel(scenario="base", target=target).item()
        assert abs(p - p_direct) < 4 * np.sqrt(2 * p_direct * (1 - p_direct) / N), target
    sample = res.sample.sel(scenario="base", year=2022)
    assert np.all(sample == np.round(sample))


def test_a_target_without_a_model_is_listed_not_dropped():
    res = sim.run(COUNTS, paths=1000)
    assert [s.target for s in res.skipped] == ["unmodelled"]
    assert "no model for this quantity" in res.skipped[0].reason
