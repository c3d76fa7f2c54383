"""The kernel against closed forms: a Gaussian AR(1) compounded into a log level is normal.

Tolerances are 4 Monte Carlo standard errors of the estimate, sqrt(p(1-p)/n).
"""

import numpy as np
import pytest
import yaml
from scipy import stats

import sim

PATHS = 200_000
MU, PHI, SIGMA = 0.05, 0.6, 0.02


def gaussian_sum_and_last(mu, phi, sigma, shift, vol, mu_se=0.0):
    """Mean and variance of S = x_1 + ... + x_T and of x_T for the fixture's AR(1).

    x_t - m_t = phi (x_{t-1} - m_{t-1}) + sigma v_t e_t, m_t = mu + shift_t, with x_0 drawn from the
    stationary law and mu itself N(mu, mu_se^2). Coefficients on (x_0 - mu, e_1..e_T) are propagated.
    """
    T = len(shift) - 1
    coef = np.zeros(T + 1)
    coef[0] = 1.0  # on x0 - mu, whose variance is sigma^2 / (1 - phi^2)
    scales = np.r_[sigma / np.sqrt(1 - phi**2), sigma * np.asarray(vol[1:], float)]
    sum_coef = np.zeros(T + 1)
    mean_sum = 0.0
    for t in range(1, T + 1):
        coef = phi * coef
        coef[t] = 1.0
        sum_coef += coef
        mean_sum += mu + shift[t]
    var_sum = np.sum((sum_coef * scales) ** 2) + (T * mu_se) ** 2
    var_last = np.sum((coef * scales) ** 2) + mu_se**2
    return mean_sum, var_sum, mu + shift[T], var_last


def within(p_hat, p, n=PATHS):
    return abs(p_hat - p) <= 4 * np.sqrt(p * (1 - p) / n)


def test_level_and_rate_probabilities_match_the_normal_law(project):
    res = sim.run(project / "scenarios/testland-2023.yaml", paths=PATHS, seed=7)
    prob = res.data["probability"]
    cases = {"base": ([0, 0, 0, 0], [1, 1, 1, 1]), "shifted": ([0, 0, 0, 0.01], [1, 1, 1, 2.0])}
    for scenario, (shift, vol) in cases.items():
        m_s, v_s, m_x, v_x = gaussian_sum_and_last(MU, PHI, SIGMA, shift, vol)
        p_level = stats.norm.sf(np.log(112 / 100), m_s, np.sqrt(v_s))
        p_rate = stats.norm.cdf(0.06, m_x, np.sqrt(v_x))
        assert within(prob.sel(scenario=scenario, target="level_high").item(), p_level)
        assert within(prob.sel(scenario=scenario, target="rate_low").item(), p_rate)


def test_parameter_uncertainty_widens_as_the_sampling_law_says(project):
    path = project / "calibration/params/testland.yaml"
    params = yaml.safe_load(path.read_text())
    params["processes"]["g"]["mean"]["std_error"] = 0.01
    path.write_text(yaml.safe_dump(params, allow_unicode=True))
    res = sim.run(project / "scenarios/testland-2023.yaml", paths=PATHS, seed=8)
    m_s, v_s, _, _ = gaussian_sum_and_last(MU, PHI, SIGMA, [0] * 4, [1] * 4, mu_se=0.01)
    p = stats.norm.sf(np.log(1.12), m_s, np.sqrt(v_s))
    assert within(res.data["probability"].sel(scenario="base", target="level_high").item(), p)
    # and the uncertainty matters at this sample size: the fixed-parameter answer is rejected
    m0, v0, _, _ = gaussian_sum_and_last(MU, PHI, SIGMA, [0] * 4, [1] * 4)
    assert not within(res.data["probability"].sel(scenario="base", target="level_high").item(),
                      stats.norm.sf(np.log(1.12), m0, np.sqrt(v0)))


def test_weighted_probability_is_the_mixture(project):
    res = sim.run(project / "scenarios/testland-2023.yaml", paths=50_000, seed=3)
    p = res.data["probability"]
    for target in p["target"].values:
        mix = 0.5 * p.sel(scenario="base", target=target) + 0.5 * p.sel(scenario="shifted", target=target)
        assert p.sel(scenario="weighted", target=target).item() == pytest.approx(mix.item(), abs=1e-12)


def test_common_random_numbers_make_identical_scenarios_identical(project):
    path = project / "scenarios/testland-2023.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["scenarios"]["shifted"] = {"weight": 0.5}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    d = sim.run(path, paths=20_000, seed=3).data
    for var in ("probability", "std_error"):
        base = d[var].sel(scenario="base")
        assert (d[var].sel(scenario="shifted") == base).all()
        # perfectly correlated scenarios: the mixture has the same error as each one
        np.testing.assert_allclose(d[var].sel(scenario="weighted"), base, rtol=1e-12, atol=1e-15)


def test_joint_probability_is_the_share_of_paths_meeting_both(project):
    res = sim.run(project / "scenarios/testland-2023.yaml", paths=100_000, seed=5)
    p = res.data["probability"].sel(scenario="base")
    p_all, p1, p2 = (p.sel(target=t).item() for t in ("all", "level_high", "rate_low"))
    assert p_all <= min(p1, p2)
    assert p_all >= p1 + p2 - 1
    # the level (sum of x_t) and the last x_t are jointly normal: check the joint against scipy
    shift, vol = [0] * 4, [1] * 4
    m_s, v_s, m_x, v_x = gaussian_sum_and_last(MU, PHI, SIGMA, shift, vol)
    cov = _cov_sum_last(MU, PHI, SIGMA)
    law = stats.multivariate_normal([m_s, m_x], [[v_s, cov], [cov, v_x]])
    # P(S >= a, x <= b) = P(x <= b) - P(S < a, x <= b)
    a, b = np.log(1.12), 0.06
    exact = stats.norm.cdf(b, m_x, np.sqrt(v_x)) - law.cdf([a, b])
    assert within(p_all, exact, 100_000)


def _cov_sum_last(mu, phi, sigma, T=3):
    coef = np.zeros(T + 1)
    coef[0] = 1.0
    scales = np.r_[sigma / np.sqrt(1 - phi**2), np.full(T, sigma)]
    sum_coef = np.zeros(T + 1)
    for t in range(1, T + 1):
        coef = phi * coef
        coef[t] = 1.0
        sum_coef += coef
    return float(np.sum(sum_coef * coef * scales**2))
