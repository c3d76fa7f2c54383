"""Indicator families and reference classes: a synthetic panel with a known family law is recovered,
thin series are known less, a region without values borrows the law and says so, a target without
a law takes the beta-binomial posterior of its class, and every probability carries its grade."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import optimize, stats

from sim import api, calibrate
from sim.reference import class_rates

MU, SIGMA, OMEGA_REGION = 0.08, 0.05, 0.02
EFFECT = {"alpha": 0.03, "beta": -0.03, "gamma": 0.0}  # between-indicator deviations of the law
REGIONS = [f"R{k:02d}" for k in range(30)]
YEARS = range(2013, 2025)  # twelve levels, eleven yearly changes
MODEL = {
    "name": "fam", "description": "three money levels of one family",
    "families": {"money": {"name_zh": "规模", "name_en": "money", "law": "log",
                           "reference_class": "industry_scale"}},
    "processes": {},
    "indicators": {name: {"name_zh": name, "name_en": name, "kind": "level", "unit": "亿元", "family": "money"}
                   for name in EFFECT},
}
HEADER = "region,indicator,period,months,value,unit,qualifier,published,source,clause,note\n"


def _row(region: str, name: str, year: int, value: float, source: str = "synthetic panel") -> str:
    return f"{region},{name},{year},1-12,{value:.6g},亿元,,{year + 1}-02-01,{source},{name} {value:.6g},\n"


@pytest.fixture(scope="module")
def family_project(tmp_path_factory):
    """Levels whose log grows by MU + indicator effect + region effect + N(0, SIGMA²) each year; R00
    has one value of alpha only, R01 none of alpha (but beta's), R02 two seed-file values of alpha."""
    root = tmp_path_factory.mktemp("family")
    for sub in ("models", "calibration/data", "calibration/params", "scenarios"):
        (root / sub).mkdir(parents=True)
    (root / "models" / "fam.yaml").write_text(yaml.safe_dump(MODEL, allow_unicode=True), encoding="utf-8")
    rng = np.random.default_rng(11)
    truth, lines = {}, [HEADER]
    for region in REGIONS:
        u = rng.normal(0, OMEGA_REGION)
        for name, effect in EFFECT.items():
            truth[name, region] = MU + effect + u
            level = 100 * math.exp(rng.normal(0, 0.5))
            for year in YEARS:
                keep = {"R00": year == 2024, "R01": name != "alpha"}.get(region, True)
                if region == "R02" and name == "alpha":
                    keep = False
                if keep:
                    lines.append(_row(region, name, year, level))
                level *= math.exp(truth[name, region] + rng.normal(0, SIGMA))
    lines += [_row("R02", "alpha", y, v, "001_45d83f63e7b7bf27.txt") for y, v in ((2023, 50.0), (2024, 54.0))]
    (root / "calibration" / "data" / "panel.csv").write_text("".join(lines), encoding="utf-8")
    docs = calibrate.calibrate(root, model_name="fam")
    return root, docs, truth


def _scenario(root, region: str, name: str, measure: str = "level", value: float = 1.0) -> str:
    target = {"name_zh": name, "name_en": name, "indicator": name, "year": 2026, "comparator": ">=",
              "value": value, "unit": "亿元" if measure == "level" else "%", "clause": "test", "source": "test"}
    if measure != "level":
        target.update(measure="change_since", base_year=2024)
    doc = {"region": region, "year": 2026, "model": "fam", "targets": {"t": target},
           "scenarios": {"baseline": {"weight": 1.0}}}
    path = root / "scenarios" / f"{region.lower()}-{name}-{measure}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_the_pooled_family_law_is_recovered(family_project):
    _, docs, truth = family_project
    z = []
    for region in REGIONS[3:]:
        for name in EFFECT:
            est = docs[region]["processes"][f"{name}_log_growth"]
            z.append((est["mean"]["value"] - truth[name, region]) / est["mean"]["std_error"])
    z = np.array(z)
    # the standardised errors of 81 series' growth means: centred (they share the pool mean's error,
    # hence 1.5 times the bound of independent ones) and of about unit spread
    assert abs(z.mean()) < 1.5 * 4 / math.sqrt(len(z)) and 0.6 < z.std() < 1.5, (z.mean(), z.std())
    sigma = docs["R05"]["processes"]["alpha_log_growth"]["sigma"]
    assert abs(sigma["value"] - SIGMA) < 4 * sigma["std_error"]


def test_a_thinner_series_is_known_less_and_forecast_wider(family_project):
    root, docs, _ = family_project
    full, one = docs["R05"]["processes"]["alpha_log_growth"], docs["R00"]["processes"]["alpha_log_growth"]
    assert one["mean"]["std_error"] > 1.2 * full["mean"]["std_error"]

    def spread(region: str) -> float:
        res = api.run(_scenario(root, region, "alpha"), paths=20_000, seed=3)
        q = res.data["measure_quantile"].sel(scenario="weighted", target="t")
        return math.log(q.sel(quantile=0.9).item() / q.sel(quantile=0.1).item())

    assert spread("R00") > 1.05 * spread("R05")


def test_a_region_without_values_takes_the_family_law_and_says_so(family_project):
    root, docs, truth = family_project
    est = docs["R01"]["processes"]["alpha_log_growth"]
    assert "mean" in est["borrowed"] and est["shrinkage"] == 1.0 and "has none: the pool" in est["mean"]["source"]
    # alpha's law, with the region's effect learnt from its other indicators, and a wider error
    assert abs(est["mean"]["value"] - truth["alpha", "R01"]) < 4 * est["mean"]["std_error"]
    assert est["mean"]["std_error"] > docs["R05"]["processes"]["alpha_log_growth"]["mean"]["std_error"]
    res = api.run(_scenario(root, "R01", "alpha", "change_since", 10.0), paths=4_000, seed=3)
    assert res.data["evidence"].sel(target="t").item() == "C"
    assert "no value of its own" in res.data["basis"].sel(target="t").item()


@pytest.mark.parametrize(("region", "grade"), [("R05", "A"), ("R00", "B"), ("R02", "C")])
def test_the_evidence_grade_follows_the_region_s_own_values(family_project, region, grade):
    root, _, _ = family_project
    res = api.run(_scenario(root, region, "alpha"), paths=2_000, seed=3)
    assert res.data["evidence"].sel(target="t").item() == grade
    assert {r["evidence"] for r in res.to_records() if r["target"] == "t"} == {grade}


def test_a_level_with_no_start_falls_back_on_its_family_s_class(family_project):
    root, _, _ = family_project
    outcomes = pd.DataFrame({"kind": ["industry_scale"] * 4 + ["project"] * 3, "met": [1, 1, 1, 0, 1, 0, 1],
                             "outcome_published": [dt.date(2020, 1, 1)] * 7})
    inputs = api.load_inputs(_scenario(root, "R01", "alpha"))
    rates = class_rates(outcomes)
    res = api.run_loaded(*inputs[:4], rates, paths=1_000)
    cell = res.data.sel(target="t")
    assert cell["evidence"].item() == "D" and cell["target_class"].item() == "industry_scale"
    assert np.allclose(cell["probability"].values, rates["industry_scale"].probability)
    assert "no observation of alpha for R01" in cell["basis"].item()
    assert "all" not in res.data["target"].values  # nothing was simulated: no joint probability


def test_class_rates_are_the_beta_binomial_posterior_means():
    """(mu, kappa) maximising the beta-binomial likelihood, found independently on a grid, give
    posterior means (mu kappa + m) / (kappa + n) equal to class_rates'."""
    met = {"event": (12, 10), "project": (30, 21), "designation": (8, 8), "investment": (20, 17)}
    outcomes = pd.DataFrame([{"kind": c, "met": int(k < m), "outcome_published": dt.date(2020, 1, 1)}
                             for c, (n, m) in met.items() for k in range(n)])
    rates = class_rates(outcomes)
    n, m = np.array([v[0] for v in met.values()]), np.array([v[1] for v in met.values()])

    def nll(theta):
        mu, kappa = theta[0], math.exp(theta[1])
        return -stats.betabinom.logpmf(m, n, mu * kappa, (1 - mu) * kappa).sum()

    grid = optimize.brute(nll, [(0.5, 0.99), (0.0, math.log(1000))], Ns=60, finish=optimize.fmin)
    mu, kappa = grid[0], math.exp(grid[1])
    for c, (nc, mc) in met.items():
        assert rates[c].probability == pytest.approx((mu * kappa + mc) / (kappa + nc), abs=2e-3)
        assert rates[c].n == nc and rates[c].met == mc
    # a class with no record takes the common rate; the sd is the Beta posterior's
    assert rates["coverage"].probability == pytest.approx(mu, abs=2e-3)
    a, b = mu * kappa + 21, (1 - mu) * kappa + 9
    assert rates["project"].sd == pytest.approx(math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))), rel=0.05)


def test_only_outcomes_published_by_the_date_count():
    outcomes = pd.DataFrame({"kind": ["project"] * 4, "met": [1, 1, 0, 0],
                             "outcome_published": [dt.date(2020, 1, 1)] * 2 + [dt.date(2023, 1, 1)] * 2})
    assert class_rates(outcomes, dt.date(2021, 1, 1))["project"].n == 2
    assert class_rates(outcomes)["project"].n == 4
    assert class_rates(outcomes, dt.date(2019, 1, 1)) == {}
