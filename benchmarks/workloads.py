"""The workloads: synthetic fixture projects under ``benchmarks/fixtures/`` laid out as kernel plans.

(a) ``wide8``: 8 indicators (4 rates, 4 levels), each driven by its own AR(1) process, correlated
    Student-t shocks (df 6), per-path parameter draws, 3 scenarios, one target per indicator,
    5 simulated annual steps (2020 observed, 2021-2025 simulated; 2021 conditioned on January-June).
(b) ``monthly4``: 4 indicators on a grid of 60 steps (the kernel does not know a step is a year,
    so each "year" of the fixture stands for a month).
(c) workload (a) at 10M paths, for peak memory.

The shipped example ``scenarios/jinan-2025.yaml`` is used for time to accuracy and start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import FIXTURES, ROOT

if TYPE_CHECKING:
    from sim.plan import Plan


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    scenario: Path


WIDE = Workload("a", "8 indicators x 5 annual steps x 3 scenarios",
                FIXTURES / "wide8" / "scenarios" / "benchland-2025.yaml")
MONTHLY = Workload("b", "4 indicators x 60 monthly steps x 3 scenarios",
                   FIXTURES / "monthly4" / "scenarios" / "monthland-2060.yaml")
EXAMPLE = ROOT / "scenarios" / "jinan-2025.yaml"


@cache
def load(scenario: Path) -> tuple:
    """The inputs of a scenario file, as ``sim.api`` loads them."""
    from sim import api

    return api.load_inputs(scenario)


def plan(scenario: Path) -> Plan:
    """The kernel's arrays for a scenario file (``sim.plan.build`` on the loaded inputs)."""
    return load(scenario).plan()


def shape(p: Plan) -> dict[str, int]:
    """Sizes that define the work of one path: simulated steps, indicators, scenarios, processes."""
    return {"steps": len(p.years) - 1, "indicators": len(p.indicators), "scenarios": len(p.scenarios),
            "processes": len(p.processes), "targets": len(p.targets)}
