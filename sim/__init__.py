"""sim: probabilities of meeting regional industrial policy targets, by Monte Carlo."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.api import run
    from sim.errors import SimError, SimulationError
    from sim.results import Results

__all__ = ["Results", "SimError", "SimulationError", "run"]
_WHERE = {"run": "sim.api", "Results": "sim.results", "SimError": "sim.errors",
          "SimulationError": "sim.errors"}


def __getattr__(name: str) -> object:
    """Imported on first use: the command line installs its signal handlers before numpy and pandas
    load (a second of imports during which Ctrl-C or SIGTERM must still end cleanly)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
