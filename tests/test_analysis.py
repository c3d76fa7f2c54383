"""Required growth against the closed form; sensitivity consistent with the run itself."""

import numpy as np
import pytest
from scipy import stats

import sim
from sim import api
from sim.analysis import required_growth, sensitivity
from tests.test_closed_form import MU, PHI, SIGMA, gaussian_sum_and_last

PATHS = 200_000


def test_required_shift_matches_the_normal_law(project):
    path = project / "scenarios/testland-2023.yaml"
    df = required_growth(path, levels=(0.5, 0.8), scenario="base", paths=PATHS, seed=21)
    m_s, v_s, m_x, v_x = gaussian_sum_and_last(MU, PHI, SIGMA, [0] * 4, [1] * 4)
    for q in (0.5, 0.8):
        z = stats.norm.ppf(q)
        se_p = np.sqrt(q * (1 - q) / PATHS)
        # level >= 112: S + d >= log(1.12) with probability q
        exact = np.log(1.12) - m_s + z * np.sqrt(v_s)
        got = df[(df.target == "level_high") & (df.level == q)]["shift"].item()
        assert got == pytest.approx(exact, abs=4 * se_p * np.sqrt(v_s) / stats.norm.pdf(z))
        # rate <= 0.06 with probability q: the shift is negative
        exact = 0.06 - m_x - z * np.sqrt(v_x)
        got_rate = df[(df.target == "rate_low") & (df.level == q)]
        assert got_rate["shift"].item() == pytest.approx(exact, abs=4 * se_p * np.sqrt(v_x) / stats.norm.pdf(z))
        # the implied growth of the rate is the rate itself: the median of the kept paths under the
        # solved shift; a sample median of n normals has sd sqrt(pi/2) sd/sqrt(n)
        keep = min(PATHS, api.DEFAULT_KEEP)
        tol = 4 * np.sqrt(np.pi / 2) * np.sqrt(v_x) / np.sqrt(keep)
        assert got_rate["growth"].item() == pytest.approx(m_x + got_rate["shift"].item(), abs=tol)


def test_sensitivity_base_is_the_run_and_moves_have_the_right_sign(project):
    path = project / "scenarios/testland-2023.yaml"
    df = sensitivity(path, scenario="base", paths=50_000, seed=4)
    run = sim.run(path, paths=50_000, seed=4).data["probability"].sel(scenario="base")
    for target in ("level_high", "rate_low"):
        rows = df[df.target == target]
        assert (rows["p_base"] == run.sel(target=target).item()).all()
        mean = rows[rows.assumption == "g mean"].iloc[0]
        if target == "level_high":
            assert mean.p_high > mean.p_base > mean.p_low
        else:
            assert mean.p_high < mean.p_base < mean.p_low
    assert list(df.columns) == ["target", "assumption", "step", "p_low", "p_base", "p_high", "swing", "process",
                                "moved", "size", "unit"]
    assert (df["assumption"] == df["process"] + " " + df["moved"]).all()
