"""Antithetic paths: the estimator is unbiased, its reported standard error is right, and it
reduces the variance where theory says it must (a target whose measure is linear in the normals).

The closed forms are those of test_closed_form; tolerances are 4 standard errors, and the check of
the standard error itself is a chi-square interval on the variance of independent replicates."""

import numpy as np
import pytest
from scipy import stats

import sim
from sim import api
from sim.errors import SimError
from tests.test_closed_form import MU, PHI, SIGMA, gaussian_sum_and_last

CASES = {"base": ([0, 0, 0, 0], [1, 1, 1, 1]), "shifted": ([0, 0, 0, 0.01], [1, 1, 1, 2.0])}


def exact(scenario: str) -> dict[str, float]:
    shift, vol = CASES[scenario]
    m_s, v_s, m_x, v_x = gaussian_sum_and_last(MU, PHI, SIGMA, shift, vol)
    return {"level_high": stats.norm.sf(np.log(1.12), m_s, np.sqrt(v_s)),
            "rate_low": stats.norm.cdf(0.06, m_x, np.sqrt(v_x))}


def test_antithetic_estimates_are_unbiased(project):
    res = sim.run(project / "scenarios/testland-2023.yaml", paths=200_000, seed=21, antithetic=True).data
    for scenario in CASES:
        for target, p in exact(scenario).items():
            cell = res.sel(scenario=scenario, target=target)
            # shifted rate_low sits at p = 0.5 exactly: every pair has one hit, the error is 0
            assert abs(cell["probability"].item() - p) <= 4 * cell["std_error"].item() + 1e-12, (scenario, target)


def test_reported_standard_errors_match_the_spread_of_replicates(project):
    """R independent runs: their sample variance against the mean reported variance, within the
    99.9% chi-square interval; and their mean within 4 standard errors of the closed form."""
    plan = api.load_inputs(project / "scenarios/testland-2023.yaml").plan()
    n, reps = 4_000, 300
    est, se2, se2_w = [], [], []
    for seed in range(reps):
        counts, _ = api.simulate(plan, paths=n, seed=1000 + seed, keep=1, antithetic=True)
        est.append(np.vstack([counts.probability, plan.weights @ counts.probability]))
        se2.append(counts.std_error() ** 2)
        se2_w.append(counts.std_error(plan.weights) ** 2)
    est = np.array(est)  # (rep, scenario + weighted, target + all)
    claimed = np.concatenate([np.mean(se2, axis=0), np.mean(se2_w, axis=0)[None]], axis=0)
    observed = est.var(axis=0, ddof=1)
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], reps - 1) / (reps - 1)
    exact_cells = claimed == 0  # shifted rate_low at p = 0.5: one hit per pair, no error at all
    assert exact_cells.sum() == 1 and np.all(observed[exact_cells] == 0)
    ratio = observed[~exact_cells] / claimed[~exact_cells]
    assert np.all((ratio > lo) & (ratio < hi)), ratio
    for s, scenario in enumerate(CASES):
        for j, (target, p) in enumerate(exact(scenario).items()):
            assert plan.targets[j] == target
            assert abs(est[:, s, j].mean() - p) <= 4 * np.sqrt(claimed[s, j] / reps) + 1e-12, (scenario, target)


def se_and_its_sd(values: np.ndarray, probs: np.ndarray, n: int) -> tuple[float, float]:
    """The standard error of the mean of n draws of a discrete law, and the sampling sd of its
    estimate sqrt(v_hat / n) (delta method: sd(v_hat) = sqrt((m4 - v^2) / n), sd(se) = sd(v_hat) / (2 v) se)."""
    mean = probs @ values
    v = probs @ (values - mean) ** 2
    m4 = probs @ (values - mean) ** 4
    se = np.sqrt(v / n)
    return se, se * np.sqrt((m4 - v * v) / n) / (2 * v)


def test_antithetic_pairs_cut_the_variance_of_a_linear_gaussian_target(project):
    """The rate in the target year is linear in the normals, so a path and its mirror fall on
    opposite sides of the mean. Both estimators' standard errors match their closed forms (within 4
    sampling sd of the estimated se), and the antithetic one is the smaller."""
    path = project / "scenarios/testland-2023.yaml"
    n = 100_000
    plain = sim.run(path, paths=n, seed=5).data["std_error"].sel(scenario="base", target="rate_low").item()
    anti = sim.run(path, paths=n, seed=5, antithetic=True).data["std_error"].sel(
        scenario="base", target="rate_low").item()
    p = exact("base")["rate_low"]
    # h = 1{Z < c} and its mirror 1{-Z < c}, p = Phi(c): both hit with probability max(2p - 1, 0);
    # the pair mean is 0, 1/2 or 1
    both = max(2 * p - 1, 0.0)
    pair_law = np.array([1 - 2 * p + both, 2 * (p - both), both])
    se_anti, sd_anti = se_and_its_sd(np.array([0.0, 0.5, 1.0]), pair_law, n // 2)
    se_plain, sd_plain = se_and_its_sd(np.array([0.0, 1.0]), np.array([1 - p, p]), n)
    assert abs(anti - se_anti) <= 4 * sd_anti
    assert abs(plain - se_plain) <= 4 * sd_plain
    assert se_anti < 0.8 * se_plain, p  # the chosen case is one where pairs must help


def test_antithetic_needs_an_even_number_of_paths(project):
    with pytest.raises(SimError, match="must be even"):
        sim.run(project / "scenarios/testland-2023.yaml", paths=1001, antithetic=True)
