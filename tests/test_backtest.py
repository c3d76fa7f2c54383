"""The backtest forecasts with the data of its time, and scores what happened."""

import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.backtest import backtest, origin, score_normal, score_samples
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def shipped_copy(tmp_path_factory):
    dest = tmp_path_factory.mktemp("shipped")
    for folder in ("models", "calibration", "scenarios"):
        shutil.copytree(ROOT / folder, dest / folder)
    return dest


def test_forecasts_ignore_data_published_after_the_forecast_date(shipped_copy):
    ref = backtest(shipped_copy, years=(2024, 2024), vintages=("year_start",), paths=1000)
    china = shipped_copy / "calibration/data/china.csv"
    rows = pd.read_csv(china, dtype=str, keep_default_na=False)
    # China's 2023 growth was published in January 2024: unknown at the end of 2023
    hit = (rows["indicator"] == "iva_growth") & (rows["period"] == "2023") & (rows["months"] == "1-12")
    assert hit.any() and (rows.loc[hit, "published"] > str(origin(2024, "year_start"))).all()
    rows.loc[hit, "value"] = "-30"
    rows.to_csv(china, index=False)
    again = backtest(shipped_copy, years=(2024, 2024), vintages=("year_start",), paths=1000)
    cols = ["region", "forecaster", "median", "p10", "p90", "crps"]
    pd.testing.assert_frame_equal(ref.growth[cols], again.growth[cols])
    assert set(ref.growth["forecaster"]) >= {"sim", "climatology", "persistence"}
    assert ref.pit.loc["year_start", "n"] == (ref.growth["forecaster"] == "sim").sum()


def test_a_year_to_date_figure_sharpens_the_forecast(shipped_copy):
    both = backtest(shipped_copy, years=(2025, 2025), paths=1000)
    sim = both.growth[both.growth["forecaster"] == "sim"]
    width = (sim["p90"] - sim["p10"]).groupby(sim["vintage"]).mean()
    assert width["mid_year"] < width["year_start"]


def test_scores_come_by_evidence_grade_and_the_reference_classes_are_scored(shipped_copy):
    bt = backtest(shipped_copy, years=(2024, 2024), vintages=("year_start",), paths=1000)
    sim = bt.growth[bt.growth["forecaster"] == "sim"]
    assert set(sim["evidence"]) <= set("ABC")
    counts = sim.groupby("evidence").size()
    assert (bt.by_evidence.loc["year_start", "n"] == counts).all()
    assert bt.by_evidence.loc["year_start", "crps"].to_dict() == pytest.approx(
        sim.groupby("evidence")["crps"].mean().to_dict())
    # grade D: each ledger target of 2024 with an outcome, given its class rate as known at the end of 2023
    book = pd.read_csv(shipped_copy / "calibration/ledger/outcomes.csv")
    assert bt.reference.loc["all", "n"] == (book["met"].notna() & (book["year"] == 2024)).sum()
    assert 0 <= bt.reference.loc["all", "brier"] <= 1


def test_scores_of_samples_agree_with_the_normal_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, 400_000)
    a, b = score_samples(2.5, x), score_normal(2.5, 1.0, 2.0)
    assert a["pit"] == pytest.approx(b["pit"], abs=4 * np.sqrt(0.25 / len(x)))
    # CRPS = E|X-y| - E|X-X'|/2: each term's Monte Carlo sd is bounded by sd(|.|)/sqrt(n)
    se = (np.std(np.abs(x - 2.5)) + np.std(np.abs(x - rng.permutation(x))) / 2) / np.sqrt(len(x))
    assert a["crps"] == pytest.approx(b["crps"], abs=4 * se)
    # the ensemble log score uses a Gaussian kernel density of bandwidth h ~ sd n^(-1/5): its Monte
    # Carlo sd at y is sqrt(f R(K) / (n h)) / f with R(K) = 1/(2 sqrt(pi)), and smoothing biases it
    # by at most the score of N(mu, sd^2 + h^2) minus that of N(mu, sd^2)
    n, f = len(x), stats.norm.pdf(2.5, 1.0, 2.0)
    h_small, h_large = 0.9 * 2.0 * n**-0.2, 1.06 * 2.0 * n**-0.2
    se_log = np.sqrt(f / (2 * np.sqrt(np.pi)) / (n * h_small)) / f
    bias = abs(score_normal(2.5, 1.0, np.sqrt(4.0 + h_large**2))["log_score"] - b["log_score"])
    assert a["log_score"] == pytest.approx(b["log_score"], abs=4 * se_log + bias)
    assert (a["in_50"], a["in_80"], a["in_90"]) == (b["in_50"], b["in_80"], b["in_90"]) == (0.0, 1.0, 1.0)


def test_the_diebold_mariano_test_sees_a_better_forecaster():
    from sim.backtest import _dm_tests

    rng = np.random.default_rng(1)
    rows = []
    for year in range(2015, 2025):
        for r in range(10):
            base = {"region": f"R{r}", "year": year, "vintage": "year_start"}
            rows += [{**base, "forecaster": "sim", "crps": 1.0 + 0.2 * rng.standard_normal()},
                     {**base, "forecaster": "climatology", "crps": 1.5 + 0.2 * rng.standard_normal()},
                     {**base, "forecaster": "persistence", "crps": 1.0 + 0.2 * rng.standard_normal()}]
    tests = _dm_tests(pd.DataFrame(rows)).set_index("baseline")
    assert tests.loc["climatology", "p_one_sided"] < 0.001
    assert tests.loc["persistence", "p_one_sided"] > 0.01
