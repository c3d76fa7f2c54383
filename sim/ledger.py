"""The ledgers of past targets and their outcomes, read from ``calibration/ledger/``.

- ``growth_targets.csv``: the yearly 规上工业增加值 growth target of a region, as its government work
  report states it; scored against the growth that region published a year later
  (``sim backtest``).
- ``outcomes.csv``: earlier targets a government delivers by decision (designations, projects,
  events, programmes, …) and whether each was met: the reference class of such targets.

Every row carries its source and clause, like the observations; loading refuses what cannot be read.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sim import units
from sim.errors import SimError
from sim.observations import date_field, read_rows
from sim.targets import CLASSES

GROWTH_COLUMNS = ["region", "indicator", "year", "comparator", "value", "value_high", "unit", "modality",
                  "published", "source", "clause", "note"]
# a bare figure ("增长7%") is read as planners read it, as at least that; a range ("6%—7%") is met
# by its low end
GROWTH_COMPARATORS = {"about": "about", ">=": ">=", ">": ">", "implied": ">=", "range": ">="}
OUTCOME_COLUMNS = ["region", "year", "kind", "target", "target_value", "unit", "comparator",
                   "target_clause", "target_source", "target_published", "outcome_value", "met",
                   "outcome_clause", "outcome_source", "outcome_published", "last_value", "note"]
OUTCOME_KINDS = tuple(CLASSES)


def _number(text: str, key: str, path: Path, line: int, *, required: bool = True) -> float:
    if not text and not required:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise SimError(f"{text!r} is not a number", file=path, line=line, key=key) from None
    if not math.isfinite(value):
        raise SimError("must be a finite number", file=path, line=line, key=key)
    return value


def _year(text: str, path: Path, line: int) -> int:
    if not text.isdigit() or not 1949 <= int(text) <= 2200:
        raise SimError(f"{text!r} is not a year (YYYY)", file=path, line=line, key="year")
    return int(text)


def growth_targets(root: str | Path) -> pd.DataFrame:
    """The growth-target ledger: one row per stated target, ``comparator`` as sim reads it
    (``stated`` keeps what the ledger says)."""
    path = Path(root) / "calibration" / "ledger" / "growth_targets.csv"
    rows = []
    for line, raw in read_rows(path, GROWTH_COLUMNS):
        for key in ("region", "indicator", "year", "comparator", "value", "unit", "published", "source",
                    "clause"):
            if not raw[key]:
                raise SimError("is empty; every target needs it", file=path, line=line, key=key)
        if raw["comparator"] not in GROWTH_COMPARATORS:
            raise SimError(f"{raw['comparator']!r} is not one of {', '.join(GROWTH_COMPARATORS)}", file=path,
                           line=line, key="comparator")
        if units.dimension(raw["unit"]) != "percent":
            raise SimError(f"a growth target is in %, not {raw['unit']!r}", file=path, line=line, key="unit")
        rows.append({**raw, "year": _year(raw["year"], path, line), "stated": raw["comparator"],
                     "comparator": GROWTH_COMPARATORS[raw["comparator"]],
                     "value": _number(raw["value"], "value", path, line),
                     "value_high": _number(raw["value_high"], "value_high", path, line, required=False),
                     "published": date_field(raw["published"], "published", path, line),
                     "file": str(path), "line": line})
    return pd.DataFrame(rows, columns=[*GROWTH_COLUMNS, "stated", "file", "line"])


def outcomes(root: str | Path) -> pd.DataFrame:
    """The outcome ledger: earlier decided targets, ``met`` 1/0 (NaN when not known)."""
    path = Path(root) / "calibration" / "ledger" / "outcomes.csv"
    rows = []
    for line, raw in read_rows(path, OUTCOME_COLUMNS):
        for key in ("region", "year", "kind", "target", "target_clause", "target_source"):
            if not raw[key]:
                raise SimError("is empty; every row needs it", file=path, line=line, key=key)
        if raw["kind"] not in OUTCOME_KINDS:
            raise SimError(f"{raw['kind']!r} is not one of {', '.join(OUTCOME_KINDS)}", file=path, line=line,
                           key="kind")
        if raw["met"] not in ("", "0", "1"):
            raise SimError(f"{raw['met']!r}: met is 1, 0 or empty (not known)", file=path, line=line,
                           key="met")
        if raw["met"] and not (raw["outcome_source"] and raw["outcome_published"]):
            raise SimError("an outcome needs its source and publication date", file=path, line=line,
                           key="outcome_source")
        rows.append({**raw, "year": _year(raw["year"], path, line),
                     "met": float(raw["met"]) if raw["met"] else math.nan,
                     "target_value": _number(raw["target_value"], "target_value", path, line, required=False),
                     "last_value": _number(raw["last_value"], "last_value", path, line, required=False),
                     "outcome_published": (date_field(raw["outcome_published"], "outcome_published", path,
                                                      line) if raw["outcome_published"] else None),
                     "file": str(path), "line": line})
    return pd.DataFrame(rows, columns=[*OUTCOME_COLUMNS, "file", "line"])
