"""Calibration: one pooled fit per process, each region's parameters from it, vintages respected."""

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

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
    _same(shipped, yaml.safe_load(yaml.safe_dump(fresh, allow_unicode=True, sort_keys=False)), "jinan")


NUMBER = re.compile(r"-?\d+\.?\d*(?:e-?\d+)?")


def _same(a, b, where: str) -> None:
    """Equal up to the optimiser's tolerance: the Laplace fits stop at a gradient of ~1e-6, which
    leaves the 4th significant digit to the machine's floating point (BLAS, libm)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float | int):
        assert b == pytest.approx(a, rel=1e-3, abs=1e-9), where
    elif isinstance(a, str) and isinstance(b, str):  # numbers inside a source text, rounded
        assert NUMBER.sub("#", a) == NUMBER.sub("#", b), where
        for x, y in zip(NUMBER.findall(a), NUMBER.findall(b), strict=True):
            assert float(y) == pytest.approx(float(x), rel=2e-2, abs=1e-9), f"{where}: {a!r} vs {b!r}"
    else:
        assert a == b, where
