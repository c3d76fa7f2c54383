"""Indicator kinds as data: one row per kind, read by every stage.

A kind says how an indicator is built from the model's processes and other indicators (its
operands), what it is measured in, which values it can take, what state the simulation carries
from its last observation, how its change from one year to the next is read, and what a scenario's
one-off shock does to it. ``spec`` validates model files with it, ``plan`` lays indicators out for the
kernel with it, ``analysis``, ``charts``, ``report`` and ``extract`` read its rules instead of
branching on kind names. The kernel has one switch on :attr:`Kind.code`.

Adding a kind: a row here, its case in ``sim.kernels._indicator`` and the indicators that use it
in ``models/*.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass

# the kernel's switch (sim.kernels reads these as compile-time constants)
RATE, LEVEL, SHARE, COUNT, ENTRIES, RATIO, INCREMENT = 0, 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class Kind:
    """What one kind of indicator is."""

    name: str
    code: int
    summary: str
    needs: tuple[str, ...]  # spec fields it must have ('drivers', 'entry', 'operands')
    allows: tuple[str, ...] = ()  # optional spec fields beyond those it needs
    operands: int = 0  # other indicators it is built from, in order ...
    operand_kinds: tuple[str, ...] = ()  # ... of these kinds
    dimension: str | None = None  # what its level is measured in; None: its unit's dimension
    lower: float | None = None  # its values lie above this (None: any sign) ...
    upper: float | None = None  # ... and below this
    state: str = "value"  # carried from the last observation: none, value, log, logit, or operand
    #                       (starts where its first operand starts)
    change: str = "percent"  # its yearly change: 'value' (a rate), 'difference' (pp), 'percent'
    shock: str | None = None  # a scenario shock moves it by: 'points', 'percent' (compounding) or None
    needs_observation: bool = True  # False: simulated from its processes even if never observed
    compounds: str | None = None  # how its drivers move it: added up (None), as factors of its level
    #                               ('factor') or as log changes of its logit ('log')
    draws: bool = False  # it draws random numbers of its own (so scenarios never share it)
    relative_operands: bool = False  # its operands enter only through their growth since its own last
    #                                  observation: they need none of their own
    integer: bool = False  # it counts whole units
    law: str | None = None  # how a family law moves it when it has no drivers of its own: the growth of
    #                         its log ('log'), the change of its logit ('logit'), the rate itself ('rate')

    def check_value(self, value: float, *, state: bool = False) -> str | None:
        """Why ``value`` cannot be a value of this kind (with ``state``: a state the simulation can
        start from, which a log needs positive), or None."""
        if self.lower is not None and self.upper is not None and not self.lower < value < self.upper:
            return f"a {self.name} lies between {self.lower:g} and {self.upper:g}"
        if self.lower is not None and state and self.state == "log" and not value > self.lower:
            return f"a {self.name} must be above {self.lower:g}"
        if self.lower is not None and value < self.lower:
            return f"a {self.name} cannot be below {self.lower:g}"
        return None


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("rate", RATE, "a weighted sum of processes (a growth rate in %)", needs=("drivers",),
         dimension="percent", state="none", change="value", shock="points", needs_observation=False,
         law="rate"),
    Kind("level", LEVEL, "compounds its drivers from the last observed level", needs=("drivers",),
         lower=0.0, state="log", shock="percent", compounds="factor", law="log"),
    Kind("share", SHARE, "a share in % whose logit moves by its drivers", needs=("drivers",),
         dimension="percent", lower=0.0, upper=100.0, state="logit", change="difference", shock="points",
         compounds="log", law="logit"),
    Kind("count", COUNT, "a stock of firms: last year's + Poisson entries − binomial exits",
         needs=("entry",), allows=("exit",), dimension="count", lower=0.0, draws=True, integer=True),
    Kind("entries", ENTRIES, "the yearly entries of a count stock", needs=("operands",), operands=1,
         operand_kinds=("count",), dimension="count", lower=0.0, state="operand", needs_observation=False,
         integer=True),
    Kind("ratio", RATIO, "its last observed value moved by the ratio of two levels' growth "
         "(an intensity, a share of one level in another)", needs=("operands",), operands=2,
         operand_kinds=("level",), lower=0.0, relative_operands=True),
    Kind("increment", INCREMENT, "the year's change of a level (new stations: the growth of the stock)",
         needs=("operands",), operands=1, operand_kinds=("level",), state="operand", needs_observation=False),
)}
FIELDS = ("drivers", "entry", "exit", "operands")
BY_CODE: dict[int, Kind] = {k.code: k for k in KINDS.values()}


def kind_of(name: str) -> Kind:
    """The kind called ``name``."""
    return KINDS[name]
