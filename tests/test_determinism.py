"""Same inputs and seed give identical numbers, whatever the thread count or chunking."""

import json
import os
import subprocess
import sys

import pytest
import xarray as xr

import sim
from sim import api


@pytest.mark.parametrize("antithetic", [False, True])
def test_round_sizes_and_threads_do_not_change_results(project, monkeypatch, antithetic):
    path = project / "scenarios/testland-2023.yaml"
    ref = sim.run(path, paths=30_000, seed=42, keep=5001, antithetic=antithetic).data
    monkeypatch.setattr(api, "CHUNK", 4_099)  # odd: antithetic rounds hold 4,098 paths
    xr.testing.assert_identical(sim.run(path, paths=30_000, seed=42, keep=5001, antithetic=antithetic,
                                        threads=1).data, ref)


def test_seed_changes_results(project):
    path = project / "scenarios/testland-2023.yaml"
    a = sim.run(path, paths=5_000, seed=1).data["probability"]
    b = sim.run(path, paths=5_000, seed=2).data["probability"]
    assert not (a == b).all()


def _run_json(path, threads, *extra):
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path), "--paths", "20000",
                          "--seed", "9", "--json", *extra], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("extra", [(), ("--antithetic",)])
def test_thread_count_does_not_change_results(project, extra):
    path = project / "scenarios/testland-2023.yaml"
    one, two = _run_json(path, 1, *extra), _run_json(path, 2, *extra)
    assert one == two
    assert one["run"]["seed"] == 9 and one["run"]["paths"] == 20000
    assert one["run"]["antithetic"] == bool(extra)


SHARING_MODEL = {
    "name": "sharing", "description": "a process seen part of a year, one seen in a later year, a logit",
    "processes": {"a": {"name_zh": "甲", "name_en": "a", "unit": "%"},
                  "b": {"name_zh": "乙", "name_en": "b", "unit": "%", "data": "b_growth"},
                  "c": {"name_zh": "丙", "name_en": "c", "unit": "logit"}},
    "indicators": {
        "a_rate": {"name_zh": "甲增速", "name_en": "a", "kind": "rate", "unit": "%", "drivers": {"a": 1}},
        "level": {"name_zh": "水平", "name_en": "level", "kind": "level", "unit": "亿元",
                  "drivers": {"a": 1, "b": 1}},
        "share": {"name_zh": "比重", "name_en": "share", "kind": "share", "unit": "%", "drivers": {"c": 1}},
        "ratio": {"name_zh": "比值", "name_en": "ratio", "kind": "ratio", "unit": "%",
                  "operands": ["level", "a_level"]},
        "a_level": {"name_zh": "甲水平", "name_en": "a level", "kind": "level", "drivers": {"a": 1}},
    },
}
SHARING_DATA = """region,indicator,period,months,value,unit,qualifier,published,source,clause,note
Testland,a_rate,2021,1-6,6.0,%,,2021-07-20,test,甲1-6月6%,
Testland,level,2021,1-12,100,亿元,,2022-02-01,test,水平100亿元,
Testland,share,2021,1-12,20,%,,2022-02-01,test,比重20%,
Testland,ratio,2021,1-12,50,%,,2022-02-01,test,比值50%,
Testland,b_growth,2023,1-12,3.0,%,,2024-02-01,test,乙增长3%,
"""


def _sharing_project(tmp_path):
    import yaml

    for folder in ("models", "calibration/data", "calibration/params", "scenarios"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "models/sharing.yaml").write_text(yaml.safe_dump(SHARING_MODEL, allow_unicode=True),
                                                 encoding="utf-8")
    (tmp_path / "calibration/data/testland.csv").write_text(SHARING_DATA, encoding="utf-8")
    def est(mean: float, sigma: float) -> dict:
        return {"mean": {"value": mean, "std_error": 0.5 * sigma, "source": "t"},
                "phi": {"value": 0.3, "std_error": 0.1, "source": "t"},
                "sigma": {"value": sigma, "std_error": 0.1 * sigma, "source": "t"}}

    params = {"region": "Testland", "model": "sharing", "method": "fixed for a test",
              "shocks": {"df": {"value": 6.0, "source": "t"}},
              "processes": {"a": {**est(5.0, 1.0), "within_year_sd": {"value": 2.0, "source": "t"}},
                            "b": est(5.0, 1.0), "c": est(0.02, 0.05)}}
    (tmp_path / "calibration/params/testland.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    target = {"name_zh": "目标", "name_en": "t", "year": 2025, "comparator": ">=", "unit": "%",
              "clause": "t", "source": "t"}
    scen = {"region": "Testland", "year": 2025, "model": "sharing",
            "targets": {"rate": {**target, "indicator": "a_rate", "value": 5.0},
                        "level": {**target, "indicator": "level", "measure": "growth", "value": 10.0},
                        "share": {**target, "indicator": "share", "value": 21.0},
                        "ratio": {**target, "indicator": "ratio", "value": 50.0}},
            "scenarios": {"base": {"weight": 1.0}}}
    path = tmp_path / "scenarios/testland-2025.yaml"
    path.write_text(yaml.safe_dump(scen, allow_unicode=True), encoding="utf-8")
    return path


def test_scenarios_run_together_equal_each_run_alone(tmp_path):
    """The kernel computes once what scenarios share (deviations of processes only shifted after
    their pinned years, identical indicators, their targets): each scenario must count exactly what
    it counts when simulated alone. The variants cover every case of sharing and of not sharing."""
    import dataclasses

    import numpy as np

    from sim.plan import Assumptions

    plan = api.load_inputs(_sharing_project(tmp_path)).plan()
    a, b, c = (plan.processes.index(n) for n in ("a", "b", "c"))
    pin_b, pin_c = plan.proc.pin_b, plan.proc.pin_c
    assert np.isnan(pin_b[b, 1]) and not np.isnan(pin_b[b, 2])  # pinned at t = 2 only
    assert pin_c[a, 0] != 0.0  # partly observed at t = 0
    by_scenario = [f.name for f in dataclasses.fields(Assumptions)]
    variants = {key: [getattr(plan.assumptions, key)[0].copy() for _ in range(7)] for key in by_scenario}
    # 0 baseline; 1 the same; 2 shifted after the last pinned year (shares deviations)
    variants["shift"][2][b, 3] += 0.5
    variants["shift"][2][c, 1:] += 0.01
    # 3 shifted in an observed year, which moves the deviation the next year starts from, and in a
    # partly observed one (shares nothing)
    variants["shift"][3][b, 2] += 0.5
    variants["shift"][3][a, 0] += 1.0
    # 4 another volatility and mean; 5 a level shock (the processes are shared, the indicator not)
    variants["vol"][4][c, 2:] = 1.5
    variants["theta_over"][4][c, 0] = 0.02
    variants["level_shock"][5][plan.indicators.index("level"), 3] = 0.02
    # 6 only the operand a_level moves: the ratio is not shared, its other operand (level) is
    variants["level_shock"][6][plan.indicators.index("a_level"), 3] = 0.05
    names = [f"v{k}" for k in range(7)]
    together = plan.with_assumptions(Assumptions(**{k: np.stack(v) for k, v in variants.items()}), names)
    assert together.scen.copy.any()  # an operand copied from an earlier scenario
    counts, kept = api.simulate(together, paths=20_000, seed=3, keep=50)
    for s, name in enumerate(names):
        alone = plan.with_assumptions(Assumptions(**{k: v[s][None] for k, v in variants.items()}), [name])
        c_, k = api.simulate(alone, paths=20_000, seed=3, keep=50)
        np.testing.assert_array_equal(c_.hits[0], counts.hits[s], err_msg=name)
        np.testing.assert_allclose(k[0], kept[s], rtol=1e-12, atol=1e-12, err_msg=name)
    for s in range(2, 7):  # every variant but the copy moves an indicator
        assert not np.allclose(kept[s], kept[0], equal_nan=True), names[s]
