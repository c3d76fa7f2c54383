"""pytest-benchmark entry points on small sizes: ``pytest benchmarks/test_bench.py``.

Not part of the test suite: pytest's ``testpaths`` is ``tests``, so these run only when named.
Compare runs with ``--benchmark-autosave`` and ``pytest-benchmark compare``. The full suite with
the issue's sizes and targets is ``python -m benchmarks``.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import reference
from benchmarks.workloads import MONTHLY, WIDE, plan
from sim import api, kernels

PATHS = 20_000
SEED = 20250101


@pytest.fixture(scope="module")
def wide():
    p = plan(WIDE.scenario)
    api.simulate(p, paths=1024, seed=SEED, keep=16)  # compile or load from the cache
    return p


@pytest.fixture(scope="module")
def monthly():
    p = plan(MONTHLY.scenario)
    api.simulate(p, paths=1024, seed=SEED, keep=16)
    return p


@pytest.mark.benchmark(group="workload a: 8 indicators x 5 steps x 3 scenarios")
def test_kernel_a(benchmark, wide):
    counts, _ = benchmark(api.simulate, wide, paths=PATHS, seed=SEED, keep=100)
    assert counts.hits[0, 0] > 0


@pytest.mark.benchmark(group="workload a: 8 indicators x 5 steps x 3 scenarios")
def test_numpy_reference_a(benchmark, wide):
    res = benchmark(reference.simulate, wide, paths=PATHS, seed=SEED)
    assert res.hits[0, 0] > 0


@pytest.mark.benchmark(group="workload b: 4 indicators x 60 steps x 3 scenarios")
def test_kernel_b(benchmark, monthly):
    counts, _ = benchmark(api.simulate, monthly, paths=PATHS // 4, seed=SEED, keep=100)
    assert counts.hits[0, 0] > 0


@pytest.mark.benchmark(group="normals, one thread")
def test_sample_shocks_one_thread(benchmark):
    kernels.sample_shocks(SEED, 16, 100, np.eye(1), 1e9)
    out = benchmark(kernels.sample_shocks, SEED, 10_000, 100, np.eye(1), 1e9)
    assert out.shape == (10_000, 100, 1)


@pytest.mark.benchmark(group="normals, one thread")
def test_numpy_normals(benchmark):
    gen = np.random.default_rng(SEED)
    out = benchmark(gen.standard_normal, 1_000_000)
    assert out.shape == (1_000_000,)
