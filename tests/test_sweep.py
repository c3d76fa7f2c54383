"""Sweeps on a two-worker LocalCluster equal the same cases run one by one here."""

import warnings

import numpy as np
import pytest
import xarray as xr

from sim.output import write_dataset
from sim.sweep import sweep
from tests.conftest import FIXTURE


def test_dask_sweep_equals_the_local_run(tmp_path):
    files = [FIXTURE / "scenarios/testland-2023.yaml"]
    kwargs = {"shifts": [-0.01, 0.0, 0.01], "vols": [1.0, 2.0], "processes": ["g"], "paths": 4000, "seed": 5}
    local = sweep(files, local=True, **kwargs)
    distributed = sweep(files, workers=2, **kwargs)
    xr.testing.assert_identical(local, distributed)
    p = local["probability"].sel(scenario="base", target="Testland:level_high", vol=1.0)
    assert np.all(np.diff(p.values.ravel()) > 0)  # a higher mean, a likelier target
    assert (local["error"] == "").all()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*invalid netcdf")  # h5netcdf: not conforming netCDF-4
        out = write_dataset(local, tmp_path / "sweep.nc")
    xr.testing.assert_identical(xr.load_dataset(out, engine="h5netcdf"), local)


def test_a_failing_case_is_reported_not_dropped(project, monkeypatch):
    """A case that raises (a worker's fault: memory, a lost node) is retried, then its error is kept
    in the result; the other cases stand."""
    distributed = pytest.importorskip("distributed")
    from sim import sweep as sweep_module
    from sim.errors import SimulationError

    def flaky(inputs, case, *args, **kwargs):
        if case.shift > 0:
            raise SimulationError("paths became non-finite")
        return original(inputs, case, *args, **kwargs)

    original = sweep_module.run_case
    monkeypatch.setattr(sweep_module, "run_case", flaky)  # the workers are threads of this process
    path = project / "scenarios/testland-2023.yaml"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        res = sweep([path], shifts=[0.0, 0.01], processes=["g"], paths=200,
                    scheduler=cluster.scheduler_address)
    errors = res["error"].sel(vol=1.0).values.ravel()
    assert errors[0] == "" and "SimulationError" in errors[1] and "non-finite" in errors[1]
    assert np.isnan(res["probability"].sel(shift=0.01)).all()
    assert np.isfinite(res["probability"].sel(shift=0.0)).all()
