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
def test_chunk_and_block_sizes_do_not_change_results(project, monkeypatch, antithetic):
    path = project / "scenarios/testland-2023.yaml"
    ref = sim.run(path, paths=30_000, seed=42, keep=5001, antithetic=antithetic).data
    monkeypatch.setattr(api, "CHUNK", 4_099)  # odd: antithetic chunks hold 4,098 paths
    monkeypatch.setattr(api, "BLOCK", 37)
    xr.testing.assert_identical(sim.run(path, paths=30_000, seed=42, keep=5001, antithetic=antithetic).data,
                                ref)


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
