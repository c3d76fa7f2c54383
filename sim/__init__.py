"""sim: probabilities of meeting regional industrial policy targets, by Monte Carlo."""

from sim.api import run
from sim.errors import SimError, SimulationError
from sim.results import Results

__all__ = ["Results", "SimError", "SimulationError", "run"]
