"""The public entry point: from a scenario file to labelled results. The CLI and notebooks use it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from sim import bounds, kernels, ledger, observations
from sim.bounds import DEFAULT_KEEP, DEFAULT_PATHS, DEFAULT_SEED
from sim.errors import NothingToSimulateError, SimError, SimulationError
from sim.interrupt import STATE, checkpoint
from sim.plan import Plan, build
from sim.reference import ClassRate, class_rates
from sim.results import HitCounts, Results, assemble, kept_paths
from sim.spec import ModelSpec, ParamsFile, ScenarioFile, find_root

CHUNK = 1 << 18  # paths per round of kernel calls (a signal is acted on between rounds)


def cores() -> int:
    """The cores this process may run on: the default number of threads."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Inputs(NamedTuple):
    """What a run reads: scenario, model, parameters, observations, the rates of past targets by
    class (as known on the run's date), and the SHA-256 of every file read."""

    scenario: ScenarioFile
    model: ModelSpec
    params: ParamsFile
    obs: pd.DataFrame
    rates: dict[str, ClassRate]
    hashes: dict[str, str]

    def plan(self) -> Plan:
        """The run's plan (:func:`sim.plan.build`)."""
        return build(self.scenario, self.model, self.params, self.obs, self.rates)


def load_inputs(scenario_path: str | Path, as_of: dt.date | None = None) -> Inputs:
    """Everything a run of ``scenario_path`` reads, as published by ``as_of``."""
    scenario_path = Path(scenario_path)
    scenario = ScenarioFile.load(scenario_path)
    root = find_root(scenario_path)
    model_path = _resolve(scenario, root / "models", scenario.model, "model")
    params_name = scenario.params or scenario.region.lower()
    params_path = _resolve(scenario, root / "calibration" / "params", params_name, "params")
    model = ModelSpec.load(model_path)
    params = ParamsFile.load(params_path)
    if params.model != model.name:
        raise params.error(("model",), f"was fitted for model {params.model!r}, but the scenario "
                           f"uses {model.name!r}; run sim calibrate for this model")
    if as_of is not None and (params.as_of is None or params.as_of > as_of):
        # the shipped parameters know later data: refit on what was published by as_of
        from sim.calibrate import calibrate

        doc = calibrate(root, [scenario.region], model_name=model.name, as_of=as_of, write=False)
        params = ParamsFile.model_validate(doc[scenario.region])
        params._path = params_path.with_name(f"{params_path.stem} refitted as of {as_of}")
    data_dir = root / "calibration" / "data"
    obs = observations.as_of(observations.load(data_dir), as_of)
    files = [scenario_path, model_path, params_path, *sorted(data_dir.glob("*.csv"))]
    ledger_path = root / "calibration" / "ledger" / "outcomes.csv"
    rates = {}
    if ledger_path.is_file():
        rates = class_rates(ledger.outcomes(root), as_of)
        files.append(ledger_path)
    hashes = {_relative(f, root): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    return Inputs(scenario, model, params, obs, rates, hashes)


def _resolve(scenario: ScenarioFile, folder: Path, name: str, key: str) -> Path:
    path = folder / f"{name}.yaml"
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        available = sorted(p.stem for p in folder.glob("*.yaml"))
        raise scenario.error((key,), f"no file {name}.yaml in {folder}; available: "
                             f"{', '.join(available) or 'none'}")
    return path


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def simulate(plan: Plan, *, paths: int, seed: int, keep: int, antithetic: bool = False,
             threads: int | None = None, progress: Callable[[int], None] | None = None
             ) -> tuple[HitCounts, np.ndarray]:
    """Run the kernel over all paths; returns the hit counts and the kept paths.

    Paths go in rounds of ``CHUNK``, each round split among ``threads`` threads (default: every
    core) running the kernel on disjoint ranges of path indices. The result depends on (plan,
    paths, seed, keep, antithetic) only: not on the round size or thread count. With ``antithetic``
    the paths come in pairs, so ``paths`` must be even.
    """
    if antithetic and paths % 2:
        raise SimError(f"antithetic paths come in pairs: --paths must be even, got {paths}")
    threads = threads or cores()
    n_s, n_j = len(plan.scenarios), len(plan.targets)
    hits = np.zeros((n_s, n_j + 1), np.int64)
    cross = np.zeros((n_s, n_s, n_j + 1), np.int64)
    kept_parts = []

    def part(offset: int, n: int) -> tuple:
        return kernels.simulate(np.uint64(seed), offset, n, antithetic, keep, plan.proc, plan.scen, plan.ind,
                                plan.tgt)

    chunk = CHUNK - CHUNK % 2 if antithetic else CHUNK  # a pair never straddles two rounds
    with ThreadPoolExecutor(threads) as pool:
        for start in range(0, paths, chunk):
            n = min(chunk, paths - start)
            step = -(-n // (threads * kernels.LANES)) * kernels.LANES  # a multiple of the lanes: even
            checkpoint()
            STATE.running = True
            try:
                parts = [f.result() for f in [pool.submit(part, start + k, min(step, n - k))
                                              for k in range(0, n, step)]]
            finally:
                STATE.running = False
            checkpoint()
            for part_hits, part_cross, kept, bad in parts:
                if bad.any():
                    s, m = np.argwhere(bad)[0]
                    raise SimulationError(f"{bad[s, m]} paths of indicator {plan.indicators[m]} became "
                                          f"non-finite under scenario {plan.scenarios[s]}; check its "
                                          "parameters")
                hits += part_hits
                cross += part_cross
                if kept.shape[-1]:
                    kept_parts.append(kept)
            if progress:
                progress(n)
    return HitCounts(hits, cross, paths, 2 if antithetic else 1), np.concatenate(kept_parts, axis=-1)


def run(scenario_path: str | Path, *, paths: int = DEFAULT_PATHS, seed: int = DEFAULT_SEED,
        keep: int = DEFAULT_KEEP, threads: int | None = None, as_of: dt.date | None = None,
        antithetic: bool = False, progress: Callable[[int], None] | None = None) -> Results:
    """Probability of meeting each target of ``scenario_path`` under each scenario.

    Parameters
    ----------
    paths : Monte Carlo paths; the standard error of a probability p is sqrt(p(1-p)/paths).
    seed : the random numbers are a function of (seed, path index) only.
    keep : paths stored for quantiles and fan charts (the first ``keep``).
    threads : threads running the kernel (default: all cores); results do not depend on it.
    as_of : use only data published by this date.
    antithetic : simulate pairs of paths with opposite normals (a variance reduction; even paths).
    """
    inputs = load_inputs(scenario_path, as_of)
    return run_loaded(*inputs[:5], paths=paths, seed=seed, keep=keep, threads=threads,
                      antithetic=antithetic, progress=progress,
                      provenance=provenance_attrs(seed, paths, as_of, inputs.hashes))


def run_loaded(scenario: ScenarioFile, model: ModelSpec, params: ParamsFile, obs: pd.DataFrame,
               rates: dict[str, ClassRate] | None = None, *,
               paths: int = DEFAULT_PATHS, seed: int = DEFAULT_SEED, keep: int = DEFAULT_KEEP,
               threads: int | None = None, antithetic: bool = False,
               progress: Callable[[int], None] | None = None, provenance: dict | None = None) -> Results:
    """:func:`run` on inputs already loaded (or built in memory, as the backtest does)."""
    bounds.PATHS.check(paths)
    bounds.SEED.check(seed)
    bounds.KEEP.check(keep)
    if threads is not None:
        bounds.threads(cores()).check(threads)
    plan = build(scenario, model, params, obs, rates)
    if not plan.targets and plan.reference.empty:
        raise NothingToSimulateError("no target of this file can be given a probability: "
                                + "; ".join(f"{s.target}: {s.reason}" for s in plan.skipped),
                                file=scenario.path, skipped=plan.skipped)
    keep = min(keep, paths)  # the first keep paths: all of them at most
    kept_values = keep * len(plan.scenarios) * len(plan.indicators) * len(plan.years)
    if kept_values > bounds.KEPT_VALUES:
        raise SimError(f"--keep {keep:,} would store {kept_values:,} values ({kept_values * 8 / 2**30:.1f} "
                       f"GiB); keep at most {bounds.KEPT_VALUES // max(kept_values // keep, 1):,} paths")
    counts, kept = None, np.zeros((len(plan.scenarios), 0, 0, 0))
    try:
        if plan.targets:
            counts, kept = simulate(plan, paths=paths, seed=seed, keep=keep, antithetic=antithetic,
                                    threads=threads, progress=progress)
    except SimulationError as err:  # name the file the parameters and scenarios came from
        raise SimulationError(err.message, file=scenario.path) from None
    described = {name: {"weight": spec.weight, "description": spec.description,
                        **spec.model_dump(mode="json", by_alias=True, exclude_defaults=True,
                                          include={"base", "shift", "volatility", "shock", "override"})}
                 for name, spec in scenario.scenarios.items()}
    attrs = {**provenance_attrs(seed, paths, None, {}), **(provenance or {}), "keep": keep,
             "antithetic": int(antithetic), "scenario_file": str(scenario.path),
             "target_year": scenario.year, "title": scenario.title,
             "scenarios": json.dumps(described, ensure_ascii=False)}
    return Results(assemble(plan, counts, kept, attrs), plan.skipped, plan.notes,
                   kept_paths(plan, kept), plan.history, plan.observations)


def provenance_attrs(seed: int, paths: int, as_of: dt.date | None, hashes: dict[str, str]) -> dict:
    """What a result carries to be reproduced: seed, paths, data vintage, the SHA-256 of every file
    read and the version of sim (netCDF-safe attribute values)."""
    return {"seed": seed, "paths": paths, "as_of": str(as_of or ""),
            "inputs": json.dumps(hashes, ensure_ascii=False), "sim_version": _version()}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("sim")
    except PackageNotFoundError:
        return "unknown"
