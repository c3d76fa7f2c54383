"""The allowed range of every number a user gives sim, stated once.

The CLI (as argparse types), the API and the scenario loader all check against this table, and the
error names the range. The limits are those of a meaningful question, not of the machine:
a shift of a growth rate's mean by 500 points, or a target year of 2200, has no answer worth
computing; 10⁹ paths give a standard error of 0.0016 pp, past any use.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass

from sim.errors import SimError


@dataclass(frozen=True)
class Bound:
    """A closed range [low, high] (open at an end marked ``open_low``/``open_high``) of a number."""

    what: str
    low: float
    high: float
    integer: bool = False
    open_low: bool = False
    open_high: bool = False

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        low, high = _fmt(self.low), _fmt(self.high)
        if self.open_low or self.open_high:
            left = f"above {low}" if self.open_low else f"at least {low}"
            right = f"below {high}" if self.open_high else f"at most {high}"
            return f"{kind} {left} and {right}"
        return f"{kind} from {low} to {high}"

    def problem(self, value: float) -> str | None:
        """Why ``value`` is out of range, or None."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be {self.describe()}, got {value!r}"
        if self.integer and (not float(value).is_integer()):
            return f"must be {self.describe()}, got {value!r}"
        if not math.isfinite(value):
            return f"must be {self.describe()}, got {value!r}"
        low_ok = value > self.low if self.open_low else value >= self.low
        high_ok = value < self.high if self.open_high else value <= self.high
        if not (low_ok and high_ok):
            return f"must be {self.describe()}, got {_fmt(value)}"
        return None

    def check(self, value: float, name: str | None = None, *, file: str | None = None) -> float:
        """``value`` if in range, else a SimError naming ``name`` (default: ``what``)."""
        problem = self.problem(value)
        if problem:
            raise SimError(f"{name or self.what} {problem}", file=file)
        return int(value) if self.integer else float(value)

    def arg(self) -> Callable[[str], float]:
        """An argparse type: parses and checks a command-line value."""

        def parse(text: str) -> float:
            try:
                value = int(text) if self.integer else float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"must be {self.describe()}, got {text!r}") from None
            problem = self.problem(value)
            if problem:
                raise argparse.ArgumentTypeError(problem)
            return value

        parse.__name__ = self.what  # argparse names the type in its messages
        return parse


def _fmt(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        x = int(x)
    return f"{x:,}" if isinstance(x, int) and abs(x) >= 100_000 else f"{x:g}"


DEFAULT_PATHS = 200_000
DEFAULT_SEED = 20250101
DEFAULT_KEEP = 20_000
PATHS = Bound("--paths", 1, 1_000_000_000, integer=True)
KEEP = Bound("--keep", 1, 1_000_000, integer=True)
SEED = Bound("--seed", 0, 2**63 - 1, integer=True)
LEVEL = Bound("a probability level", 0, 1, open_low=True, open_high=True)
WORKERS = Bound("--workers", 1, 256, integer=True)
YEAR = Bound("a year", 2000, 2060, integer=True)  # targets and scenarios: from the data's start to 碳中和
# a shift of a process's mean, by the process's unit: points of a % rate, of a log or logit change
SHIFT = {"%": Bound("a shift (pp)", -50, 50), "log": Bound("a shift (log points)", -1, 1),
         "logit": Bound("a shift (logit points)", -3, 3)}
SHOCK = Bound("a shock (% of a level, points of a rate or share)", -100, 100, open_low=True)
VOLATILITY = Bound("a volatility multiplier", 0, 10, open_low=True)
GRID_CASES = 5_000  # files x shifts x volatilities of one sweep
KEPT_VALUES = 400_000_000  # kept paths x scenarios x indicators x years: 3.2 GB of float64
TRACK_PATHS = 20_000  # sim track: paths at each date (a refit at each date costs more than the paths)
TRACK_DATES = 36  # sim track: month-ends at most (three years of monthly figures)
FIRST_DATE = "2000-01-01"  # --as-of: no figure in calibration/data was published before it


def threads(cores: int) -> Bound:
    """Threads may go from 1 to the cores this process may use."""
    return Bound("--threads", 1, cores, integer=True)


def shift(unit: str) -> Bound:
    """The bound of a shift of a process in ``unit`` (the % bound for any other unit)."""
    return SHIFT.get(unit, SHIFT["%"])
