"""The scenario language: inheritance, timed shifts, volatility, level shocks, overrides."""

import numpy as np
import pytest
import yaml
from scipy import stats

import sim
from tests.test_closed_form import MU, PHI, SIGMA, gaussian_sum_and_last, within

PATHS = 200_000


def _with_scenarios(project, scenarios):
    path = project / "scenarios/testland-2023.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["scenarios"] = scenarios
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    return path


def test_level_shock_and_parameter_override_match_closed_forms(project):
    path = _with_scenarios(project, {
        "shocked": {"weight": 0.5, "shock": {"level": {"year": 2022, "by": 10.0}}},
        "wilder": {"weight": 0.5, "override": {"g": {"sigma": 0.04}}},
    })
    prob = sim.run(path, paths=PATHS, seed=11).data["probability"]
    m_s, v_s, _, _ = gaussian_sum_and_last(MU, PHI, SIGMA, [0] * 4, [1] * 4)
    # +10% on the level in 2022 carries on to 2023
    p_shock = stats.norm.sf(np.log(1.12) - np.log(1.10), m_s, np.sqrt(v_s))
    assert within(prob.sel(scenario="shocked", target="level_high").item(), p_shock)
    # sigma overridden to 0.04 from the first simulated year: the innovations double
    m_w, v_w, m_x, v_x = gaussian_sum_and_last(MU, PHI, SIGMA, [0] * 4, [1, 2, 2, 2])
    assert within(prob.sel(scenario="wilder", target="level_high").item(),
                  stats.norm.sf(np.log(1.12), m_w, np.sqrt(v_w)))
    assert within(prob.sel(scenario="wilder", target="rate_low").item(), stats.norm.cdf(0.06, m_x, np.sqrt(v_x)))


def test_timed_shift_and_inheritance(project):
    path = _with_scenarios(project, {
        "early": {"weight": 0.5, "shift": {"g": {"by": 0.01, "from": 2021}}},
        "child": {"weight": 0.5, "base": "early", "volatility": {"g": {"by": 2.0, "from": 2022}}},
    })
    prob = sim.run(path, paths=PATHS, seed=12).data["probability"]
    shift = [0, 0.01, 0.01, 0.01]
    m_s, v_s, _, _ = gaussian_sum_and_last(MU, PHI, SIGMA, shift, [1] * 4)
    assert within(prob.sel(scenario="early", target="level_high").item(),
                  stats.norm.sf(np.log(1.12), m_s, np.sqrt(v_s)))
    m_c, v_c, _, _ = gaussian_sum_and_last(MU, PHI, SIGMA, shift, [1, 1, 2, 2])
    assert within(prob.sel(scenario="child", target="level_high").item(),
                  stats.norm.sf(np.log(1.12), m_c, np.sqrt(v_c)))


@pytest.mark.parametrize(("scenarios", "message"), [
    ({"a": {"weight": 1.0, "base": "nobody"}}, r"scenarios\.a\.base: no scenario 'nobody' to start from"),
    ({"a": {"weight": 0.5, "base": "b"}, "b": {"weight": 0.5, "base": "a"}},
     r"scenarios\.b\.base: scenarios inherit in a circle: a -> b -> a"),
    ({"a": {"weight": 1.0, "shock": {"nothing": {"year": 2022, "by": 1}}}},
     r"scenarios\.a\.shock\.nothing: no indicator 'nothing' that a shock can move"),
    ({"a": {"weight": 1.0, "override": {"g": {"phi": 1.0}}}}, r"scenarios\.a\.override\.g\.phi: Input should be less than 1"),
])
def test_bad_scenarios_are_refused_with_their_line(project, scenarios, message):
    path = _with_scenarios(project, scenarios)
    with pytest.raises(sim.SimError, match=r"testland-2023\.yaml:\d+: " + message):
        sim.run(path, paths=100)
