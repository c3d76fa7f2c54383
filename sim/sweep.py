"""Sweeps: every scenario file × a grid of assumptions, on a Dask cluster or locally.

A case is one scenario file with every scenario's mean of some processes shifted by ``shift`` and
every volatility multiplied by ``vol`` (from the file's year). Inputs are loaded once on the client
and shipped with the case, so workers need no access to the project's files; each case runs with the
same seed, so a sweep gives exactly the numbers of running its cases one by one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from sim import api, bounds
from sim.errors import SimError
from sim.results import assemble

CONNECT_TIMEOUT = 10  # seconds to reach a given scheduler


@dataclasses.dataclass(frozen=True)
class Case:
    file: str
    shift: float
    vol: float


def run_case(inputs: tuple, case: Case, processes: Sequence[str], paths: int, seed: int,
             threads: int | None = 1) -> xr.Dataset:
    """One case: probabilities and standard errors by scenario and target (on one thread by
    default: a Dask worker is one)."""
    scenario = inputs.scenario
    plan = inputs.plan().with_edits(shift=dict.fromkeys(processes, case.shift), volatility=case.vol,
                                    from_year=scenario.year)
    counts, kept = api.simulate(plan, paths=paths, seed=seed, keep=1, threads=threads)
    data = assemble(plan, counts, kept, {})
    out = data[["probability", "std_error"]].reset_coords(drop=True)
    return out.assign_coords(target=[f"{scenario.region}:{t}" for t in out["target"].values])


def sweep(files: Sequence[str | Path], *, shifts: Sequence[float] = (0.0,), vols: Sequence[float] = (1.0,),
          processes: Sequence[str] = ("iva_national",), paths: int = 50_000, seed: int = api.DEFAULT_SEED,
          scheduler: str | None = None, workers: int = 2, as_of: dt.date | None = None, local: bool = False,
          progress: Callable[[int], None] | None = None) -> xr.Dataset:
    """Probabilities of every target of every file, over the grid ``shifts`` × ``vols``.

    Runs on dask.distributed: the cluster at ``scheduler`` (e.g. "tcp://host:8786") or a new
    LocalCluster of ``workers`` processes; ``local=True`` runs the cases here, one by one. A case
    that fails is retried once; if it fails again its error is kept in the result (``error``),
    never dropped. Dims of the result: file, shift, vol, scenario, target.
    """
    bounds.PATHS.check(paths)
    bounds.SEED.check(seed)
    bounds.WORKERS.check(workers, "--workers")
    for name, values, bound in (("--shift", shifts, bounds.shift("%")), ("--vol", vols, bounds.VOLATILITY)):
        for value in values:
            bound.check(value, name)
        if len(set(values)) < len(values):
            raise SimError(f"{name} repeats a value; give each value once")
    seen = [Path(f).resolve() for f in files]
    if len(set(seen)) < len(seen):
        raise SimError("a scenario file is given twice; give each file once",
                       file=next(f for f, p in zip(files, seen, strict=True) if seen.count(p) > 1))
    n_cases = len(files) * len(shifts) * len(vols)
    if n_cases > bounds.GRID_CASES:
        raise SimError(f"the grid has {n_cases:,} cases ({len(files)} files x {len(shifts)} shifts x "
                       f"{len(vols)} volatilities), more than the {bounds.GRID_CASES:,} of a sweep; split it")
    inputs = {str(f): api.load_inputs(f, as_of) for f in files}
    for f, inp in inputs.items():
        for name in processes:
            unit = inp.model.processes[name].unit if name in inp.model.processes else None
            if unit is None:
                raise SimError(f"--process {name!r} is not a process of model {inp.model.name!r}; processes: "
                               f"{', '.join(inp.model.processes)}", file=f)
            for value in shifts:
                bounds.shift(unit).check(value, f"--shift of {name} (in {unit})")
    hashes = {name: digest for inp in inputs.values() for name, digest in inp.hashes.items()}
    # a file none of whose targets can be simulated has no case: it is named in the result's attrs
    empty = [f for f, inp in inputs.items() if not inp.plan().targets]
    files = [f for f in map(str, files) if f not in empty]
    cases = [Case(f, float(s), float(v)) for f, s, v in itertools.product(files, shifts, vols)]
    results: dict[Case, xr.Dataset | str] = {}
    if local:
        for case in cases:
            results[case] = run_case(inputs[case.file], case, processes, paths, seed, threads=None)
            if progress:
                progress(1)
    else:
        results = _on_dask(cases, inputs, processes, paths, seed, scheduler, workers, progress)
    ds = _combine(cases, results, files, shifts, vols, processes)
    ds.attrs.update(not_simulable=",".join(empty), **api.provenance_attrs(seed, paths, as_of, hashes))
    return ds


def _on_dask(cases: list[Case], inputs: dict, processes: Sequence[str], paths: int, seed: int,
             scheduler: str | None, workers: int, progress: Callable[[int], None] | None) -> dict:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1,
                                                  processes=True, host="127.0.0.1",
                                                  dashboard_address=None, silence_logs=logging.ERROR)
    try:
        try:
            client = Client(scheduler or cluster, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as err:
            raise SimError(f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT} s "
                           f"({type(err).__name__}); check the address (tcp://host:port) and that it runs, "
                           "or leave out --scheduler to start a local cluster") from None
        with client:
            shipped = {f: client.scatter(inp, broadcast=True) for f, inp in inputs.items()}
            futures = {client.submit(run_case, shipped[c.file], c, tuple(processes), paths, seed,
                                     retries=1, pure=False, key=f"case-{i}"): c
                       for i, c in enumerate(cases)}
            results = {}
            for future in as_completed(futures):
                case = futures[future]
                if future.status == "error":
                    err = future.exception()
                    results[case] = f"{type(err).__name__}: {err}"
                else:
                    results[case] = future.result()
                if progress:
                    progress(1)
            return results
    finally:
        if cluster is not None:
            cluster.close()


def _combine(cases: list[Case], results: dict, files: Sequence, shifts: Sequence[float],
             vols: Sequence[float], processes: Sequence[str]) -> xr.Dataset:
    ok = [r for c in cases if isinstance(r := results.get(c), xr.Dataset)]  # in case order: stable labels
    scenarios = list(dict.fromkeys(s for r in ok for s in r["scenario"].values))
    targets = list(dict.fromkeys(t for r in ok for t in r["target"].values))
    shape = (len(files), len(shifts), len(vols), len(scenarios), len(targets))
    prob, se = np.full(shape, np.nan), np.full(shape, np.nan)
    errors = np.full(shape[:3], "", dtype=object)
    index = {(str(f), float(s), float(v)): (i, j, k) for i, f in enumerate(files)
             for j, s in enumerate(shifts) for k, v in enumerate(vols)}
    for case in cases:
        i, j, k = index[(case.file, case.shift, case.vol)]
        res = results.get(case, "not run")
        if isinstance(res, str):
            errors[i, j, k] = res
            continue
        si = [scenarios.index(s) for s in res["scenario"].values]
        ti = [targets.index(t) for t in res["target"].values]
        prob[i, j, k][np.ix_(si, ti)] = res["probability"].values
        se[i, j, k][np.ix_(si, ti)] = res["std_error"].values
    dims = ("file", "shift", "vol", "scenario", "target")
    coords = {"file": [str(f) for f in files], "shift": [float(s) for s in shifts],
              "vol": [float(v) for v in vols], "scenario": scenarios, "target": targets}
    return xr.Dataset({"probability": (dims, prob), "std_error": (dims, se),
                       "error": (dims[:3], errors.astype(str))}, coords=coords,
                      attrs={"shifted_processes": ",".join(processes)})
