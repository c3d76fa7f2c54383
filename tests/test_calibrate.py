"""Calibration: one pooled fit per process, each region's parameters from it, vintages respected."""

import datetime as dt

import numpy as np
import pandas as pd

from sim import calibrate as cal
from sim.conditioning import partial_year
from tests.conftest import ROOT


def test_calibration_respects_the_vintage():
    later = cal.calibrate(ROOT, ["Jinan"], write=False)["Jinan"]["processes"]
    then = cal.calibrate(ROOT, ["Jinan"], as_of=dt.date(2024, 12, 31), write=False)["Jinan"]["processes"]
    assert "2025" in later["iva_national"]["sample"] and "2025" not in then["iva_national"]["sample"]
    assert later["iva_spread"]["mean"] != then["iva_spread"]["mean"]


def test_the_exceptional_years_stay_out_of_the_national_fits():
    doc = cal.calibrate(ROOT, ["Jinan"], write=False)["Jinan"]["processes"]["iva_national"]
    assert "without 2020, 2021, 2022" in doc["sample"]


def test_a_region_without_values_takes_the_pool_and_says_so():
    docs = cal.calibrate(ROOT, ["Jinan", "Xizang"], write=False)
    spread = docs["Xizang"]["processes"]["tech_upgrade_investment_growth"]
    assert "mean" in spread["borrowed"] and spread["shrinkage"] == 1.0
    assert "has none: the pool" in spread["mean"]["source"]


def test_the_within_year_sd_is_recovered_from_year_to_date_pairs():
    """Pairs simulated from sim.conditioning's own model of months: the fitted s is the true one."""
    rng = np.random.default_rng(3)
    s, rows = 2.0, []
    for k in range(400):
        m = int(rng.integers(2, 12))
        level = rng.normal(6.0, 2.0)
        months = level + s * rng.standard_normal(12)
        rows.append({"year": 2000 + k, "months": m, "full": months.mean(), "ytd": months[:m].mean()})
    value, se, _ = cal.within_year_sd(pd.DataFrame(rows), "synthetic")
    assert abs(value - s) < 4 * se
    a, b, c = partial_year(5.0, 6, 4.0, value)  # and it is what the conditioning takes
    assert 0 < a < 1 and c > 0 and b > 0


def test_shipped_params_are_what_calibrate_writes():
    import yaml

    shipped = yaml.safe_load((ROOT / "calibration/params/jinan.yaml").read_text(encoding="utf-8"))
    fresh = cal.calibrate(ROOT, ["Jinan"], write=False)["Jinan"]
    assert shipped == yaml.safe_load(yaml.safe_dump(fresh, allow_unicode=True, sort_keys=False))
