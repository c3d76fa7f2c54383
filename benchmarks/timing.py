"""Timing and recording: medians of repetitions, interleaved so that a noisy machine slows the
measurement and its reference alike, and the measurement records written to JSON."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks import ROOT


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call, and what it returned."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def interleaved(fns: dict[str, tuple[Callable[[], Any], int]]) -> dict[str, dict]:
    """Time each function its number of times, round-robin (a, b, a, b, ...).

    Returns, by name, ``{"median": s, "samples": [s, ...], "last": the last return value}``.
    """
    samples: dict[str, list[float]] = {name: [] for name in fns}
    last: dict[str, Any] = {}
    for i in range(max(reps for _, reps in fns.values())):
        for name, (fn, reps) in fns.items():
            if i < reps:
                seconds, last[name] = timed(fn)
                samples[name].append(seconds)
    return {name: {"median": statistics.median(s), "samples": s, "last": last[name]}
            for name, s in samples.items()}


def measurement(name: str, value: float, unit: str, **extra: Any) -> dict:
    """One record: ``name``, ``value``, ``unit``, then whatever else describes it."""
    return {"name": name, "value": value, "unit": unit, **extra}


def ratio(name: str, value: float, baseline: dict, target: float | None = None, **extra: Any) -> dict:
    """A ratio against ``baseline`` (a measurement of the same run), held to ``value >= target``."""
    rec = measurement(name, value, "x", baseline=baseline["name"], baseline_value=baseline["value"],
                      baseline_unit=baseline["unit"], **extra)
    if target is not None:
        rec.update(target=f">= {target:g}", met=bool(value >= target))
    return rec


def run_worker(args: list[str], env: dict[str, str] | None = None, timeout: float = 3600) -> dict:
    """Run ``python -m benchmarks._worker ARGS`` from the repository root; its last stdout line is
    a JSON object, returned with the subprocess's wall time as ``wall_s``."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks._worker", *args], cwd=ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "wall_s": wall}
