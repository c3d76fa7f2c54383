"""Indicator kinds and target semantics: the kinds table drives every stage, and the kernel says
what sim.targets says."""

import numpy as np
import pytest
import yaml

from sim import api, kernels, targets
from sim.kinds import KINDS
from sim.results import measures
from sim.spec import ModelSpec

MODEL = {
    "name": "two", "description": "two growth processes, their levels and their ratio",
    "processes": {"a": {"name_zh": "甲", "name_en": "a", "unit": "%"},
                  "b": {"name_zh": "乙", "name_en": "b", "unit": "%"}},
    "indicators": {
        "a_level": {"name_zh": "甲水平", "name_en": "level of a", "kind": "level", "drivers": {"a": 1},
                    "growth_data": "a_growth"},
        "b_level": {"name_zh": "乙水平", "name_en": "level of b", "kind": "level", "drivers": {"b": 1},
                    "growth_data": "b_growth"},
        "a_share": {"name_zh": "甲占乙比重", "name_en": "a over b", "kind": "ratio", "unit": "%",
                    "operands": ["a_level", "b_level"]},
        "a_rate": {"name_zh": "甲增速", "name_en": "a", "kind": "rate", "unit": "%", "drivers": {"a": 1}},
    },
}
DATA = ("region,indicator,period,months,value,unit,qualifier,published,source,clause,note\n"
        "Testland,a_share,2023,1-12,20,%,,2024-01-31,test,甲占乙比重20%,\n")


def _project(tmp_path, sigma, scenario_targets):
    (tmp_path / "models").mkdir()
    (tmp_path / "calibration" / "data").mkdir(parents=True)
    (tmp_path / "calibration" / "params").mkdir()
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "models" / "two.yaml").write_text(yaml.safe_dump(MODEL, allow_unicode=True), encoding="utf-8")
    (tmp_path / "calibration" / "data" / "testland.csv").write_text(DATA, encoding="utf-8")
    params = {"region": "Testland", "model": "two", "method": "fixed for a test",
              "shocks": {"df": {"value": 1e9, "source": "Gaussian"}},
              "processes": {"a": {"mean": {"value": 10.0, "source": "t"}, "phi": {"value": 0.3, "source": "t"},
                                  "sigma": {"value": sigma, "source": "t"}},
                            "b": {"mean": {"value": 5.0, "source": "t"}, "phi": {"value": 0.0, "source": "t"},
                                  "sigma": {"value": sigma, "source": "t"}}}}
    (tmp_path / "calibration" / "params" / "testland.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    scen = {"region": "Testland", "year": 2025, "model": "two", "targets": scenario_targets,
            "scenarios": {"base": {"weight": 0.5}, "faster": {"weight": 0.5, "shift": {"a": 1.0}}}}
    path = tmp_path / "scenarios" / "testland-2025.yaml"
    path.write_text(yaml.safe_dump(scen, allow_unicode=True), encoding="utf-8")
    return path


def _target(indicator, comparator, value, unit="%", **extra):
    return {"name_zh": "目标", "name_en": "a target", "indicator": indicator, "year": 2025,
            "comparator": comparator, "value": value, "unit": unit, "clause": "test", "source": "test", **extra}


def test_a_ratio_moves_with_its_operands_growth(tmp_path):
    """With (almost) no noise the ratio is its last value times the operands' growth ratio."""
    expected = 20 * (1.10 / 1.05) ** 2
    path = _project(tmp_path, 1e-9, {"share": _target("a_share", ">=", round(expected, 3) - 0.001)})
    res = api.run(path, paths=2_000, seed=1)
    median = res.data["measure_quantile"].sel(scenario="base", target="share", quantile=0.5).item()
    assert median == pytest.approx(expected, rel=1e-6)
    assert res.data["probability"].sel(scenario="base", target="share").item() == 1.0
    faster = res.data["measure_quantile"].sel(scenario="faster", target="share", quantile=0.5).item()
    assert faster == pytest.approx(20 * (1.10 / 1.05) * (1.11 / 1.05), rel=1e-6)  # shifted from 2025


def test_the_kernel_meets_targets_as_sim_targets_says_path_by_path(tmp_path):
    """Every measure and comparator: the kernel's hit on each path equals the NumPy statement's."""
    specs = {
        "ge": _target("a_share", ">=", 21.5), "gt": _target("a_share", ">", 22.0),
        "le": _target("a_share", "<=", 22.5), "lt": _target("a_rate", "<", 10.0),
        "about": _target("a_rate", "about", 10.5),
        "growth": _target("a_share", ">=", 4.0, measure="growth"),
        "since": _target("a_share", "about", 9.0, measure="change_since", base_year=2023),
        "diff": _target("a_share", ">=", 2.0, unit="pp", measure="difference_since", base_year=2023),
    }
    path = _project(tmp_path, 1.5, specs)
    plan = api.load_inputs(path).plan()
    n = 4_000
    counts, kept = api.simulate(plan, paths=n, seed=5, keep=n)
    measured = measures(plan, kept)  # (scenario, target, path)
    met = np.stack([targets.met(measured[:, j], plan.tgt.cmp[j], plan.tgt.threshold[j])
                    for j in range(len(plan.targets))], axis=1)
    np.testing.assert_array_equal(counts.hits[:, :-1], met.sum(axis=-1))
    np.testing.assert_array_equal(counts.hits[:, -1], met.all(axis=1).sum(axis=-1))
    assert (0 < counts.hits[:, :-1]).all() and (counts.hits[:, :-1] < n).all()  # no target is trivial
    for i in range(0, n, 97):  # one path at a time: the kernel's 0/1 per target
        one = kernels.simulate(np.uint64(5), i, 1, False, 0, plan.proc, plan.scen, plan.ind, plan.tgt)[0]
        np.testing.assert_array_equal(one[:, :-1], met[:, :, i].astype(int), err_msg=f"path {i}")


def test_every_kind_is_read_by_the_spec_and_refused_when_incomplete():
    for name, kind in KINDS.items():
        spec = {"name_zh": "x", "name_en": "x", "kind": name}
        with pytest.raises(ValueError, match=f"a {name} indicator needs {kind.needs[0]}"):
            ModelSpec.model_validate({"name": "m", "processes": {"p": {"name_zh": "p", "name_en": "p",
                                                                       "unit": "%"}},
                                      "indicators": {"x": spec}})


def test_the_shipped_model_uses_the_ratio_and_increment_kinds():
    from tests.conftest import ROOT

    model = ModelSpec.load(ROOT / "models" / "industry.yaml")
    assert {ind.kind for ind in model.indicators.values()} >= {"rate", "level", "share", "ratio", "increment"}
