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


def test_scenarios_run_together_equal_each_run_alone():
    """The kernel computes once what scenarios share (deviations of processes only shifted after
    their pinned years, identical indicators, their targets): each scenario must count exactly what
    it counts when simulated alone. The variants cover every case of sharing and of not sharing."""
    import dataclasses

    import numpy as np

    from sim.plan import Assumptions, build
    from tests.conftest import ROOT

    plan = build(*api.load_inputs(ROOT / "scenarios/jinan-2025.yaml")[:4])
    wedge, change, spread = (plan.processes.index(n) for n in
                             ("revenue_wedge", "digital_economy_share_change", "iva_spread"))
    pin_b, pin_c = plan.proc.pin_b, plan.proc.pin_c
    assert np.isnan(pin_b[wedge, 1]) and not np.isnan(pin_b[wedge, 2])  # pinned at t = 2 only
    assert pin_c[spread, 0] != 0.0  # partly observed at t = 0
    by_scenario = [f.name for f in dataclasses.fields(Assumptions)]
    variants = {key: [getattr(plan.assumptions, key)[0].copy() for _ in range(6)] for key in by_scenario}
    # 0 baseline; 1 the same; 2 shifted after the last pinned year (shares deviations)
    variants["shift"][2][wedge, 3] += 0.5
    variants["shift"][2][change, 1:] += 0.01
    # 3 shifted in an observed year, which moves the deviation the next year starts from, and in a
    # partly observed one (shares nothing)
    variants["shift"][3][wedge, 2] += 0.5
    variants["shift"][3][spread, 0] += 1.0
    # 4 another volatility and mean; 5 a level shock (the processes are shared, the indicator not)
    variants["vol"][4][change, 2:] = 1.5
    variants["theta_over"][4][change, 0] = 0.02
    variants["level_shock"][5][0, 3] = 0.02
    names = [f"v{k}" for k in range(6)]
    together = plan.with_assumptions(Assumptions(**{k: np.stack(v) for k, v in variants.items()}), names)
    assert (together.scen.ind_same != np.arange(6)[:, None]).any()  # something is shared
    counts, kept = api.simulate(together, paths=20_000, seed=3, keep=50)
    for s, name in enumerate(names):
        alone = plan.with_assumptions(Assumptions(**{k: v[s][None] for k, v in variants.items()}), [name])
        c, k = api.simulate(alone, paths=20_000, seed=3, keep=50)
        np.testing.assert_array_equal(c.hits[0], counts.hits[s], err_msg=name)
        np.testing.assert_allclose(k[0], kept[s], rtol=1e-12, atol=1e-12, err_msg=name)
    for s in range(2, 6):  # every variant but the copy moves an indicator
        assert not np.allclose(kept[s], kept[0], equal_nan=True), names[s]
