"""Observations: units normalised, vintages respected, the shipped data valid."""

import datetime as dt

import pytest

import sim
from sim import observations
from tests.conftest import ROOT

HEADER = "region,indicator,period,months,value,unit,qualifier,published,source,clause,note\n"


def _write(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.csv").write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return observations.load(folder)


def test_units_are_normalised(tmp_path):
    obs = _write(tmp_path, [
        "A,industrial_revenue,2024,1-12,1.2,万亿元,,2025-02-01,s,c,",
        "A,abovescale_firm_count,2024,1-12,2.1,万家,,2025-02-01,s,c,",
        "A,ppi_growth,2024,1-12,97.8,index,,2025-01-17,s,c,",
    ]).set_index("indicator")
    assert obs.loc["industrial_revenue", "value"] == pytest.approx(12000)
    assert obs.loc["industrial_revenue", "unit"] == "亿元"
    assert obs.loc["abovescale_firm_count", "value"] == pytest.approx(21000)
    assert obs.loc["ppi_growth", "value"] == pytest.approx(-2.2)


def test_as_of_keeps_what_was_known_then(tmp_path):
    obs = _write(tmp_path, [
        "A,iva_growth,2024,1-12,5.0,%,preliminary,2025-01-20,first release,c,",
        "A,iva_growth,2024,1-12,5.2,%,,2025-06-30,revised,c,",
        "A,iva_growth,2024,1-11,4.9,%,,2024-12-16,s,c,",
    ])

    def full_year(date):
        return observations.series(observations.as_of(obs, date), "A", "iva_growth").to_dict()

    assert full_year(dt.date(2025, 1, 1)) == {}
    assert full_year(dt.date(2025, 1, 20)) == {2024: 5.0}
    assert full_year(dt.date(2025, 7, 1)) == {2024: 5.2}
    assert full_year(None) == {2024: 5.2}
    ytd = observations.series(observations.as_of(obs, dt.date(2025, 1, 1)), "A", "iva_growth",
                              full_year=False)
    assert ytd.to_dict() == {2024: 4.9}


def test_impossible_values_are_refused(tmp_path):
    with pytest.raises(sim.SimError, match=r"x\.csv:2: value: a share lies between 0 and 100%"):
        _write(tmp_path, ["A,digital_economy_share,2024,1-12,120,%,,2025-02-01,s,c,"])
    with pytest.raises(sim.SimError, match=r"x\.csv:2: value: a change of -100% or less is impossible"):
        _write(tmp_path, ["A,iva_growth,2024,1-12,-100,%,,2025-02-01,s,c,"])


def test_the_shipped_data_loads_and_every_row_has_a_source():
    obs = observations.load(ROOT / "calibration" / "data")
    assert len(obs) > 300
    assert (obs["source"].str.len() > 0).all() and (obs["clause"].str.len() > 0).all()
    assert {"China", "Jinan"} <= set(obs["region"])
