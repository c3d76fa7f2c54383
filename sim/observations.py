"""Observed figures with their provenance, read from ``calibration/data/*.csv``.

Each row is one published figure. Loading normalises units (money to 亿元, counts to 家, PPI
indices to % changes) and refuses impossible values, exact duplicates and conflicting figures.
``as_of`` keeps only what had been published by a date, each figure as it was known then.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sim import units
from sim.errors import SimError
from sim.kinds import KINDS
from sim.yamlio import read_text

if TYPE_CHECKING:
    from sim.spec import ModelSpec

COLUMNS = ["region", "indicator", "period", "months", "value", "unit", "qualifier", "published",
           "source", "clause", "note"]
QUALIFIERS = {"", "approx", "at_least", "preliminary"}
KEY = ["region", "indicator", "period", "months"]
_MONTHS = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# names of indicators in % (shares, growth rates, changes: calibration/data/README.md)
_PERCENT_NAME = re.compile(r"_(share|growth|change|change_since_\d{4})$")
BASE_UNIT = {"money": "亿元", "count": "家", "percent": "%", "pp": "pp", "compute": "P", "area": "亩"}
NATIONAL = "China"  # the region national processes are observed in


def load(folder: str | Path) -> pd.DataFrame:
    """All observations in ``folder``, validated, one row per published figure.

    Columns: the CSV columns (``value`` in the base unit of its dimension, ``unit`` updated), plus
    ``first_month``, ``last_month``, ``file`` and ``line`` for errors and provenance.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SimError("no observation files (*.csv) found; see calibration/data/README.md", file=folder)
    frames = [_read(path) for path in files]
    obs = pd.concat(frames, ignore_index=True)
    _check_duplicates(obs)
    return obs


def _read(path: Path) -> pd.DataFrame:
    rows = [_row(raw, path, line) for line, raw in read_rows(path, COLUMNS)]
    return pd.DataFrame(rows, columns=[*COLUMNS, "first_month", "last_month", "file", "line"])


def read_rows(path: Path, columns: list[str]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with exactly the header ``columns``, each with its line number,
    fields stripped; blank lines skipped. Errors name the file and line."""
    reader = csv.reader(io.StringIO(read_text(path, max_bytes=20_000_000), newline=""))
    try:
        header = next(reader, None)
        if header != columns:
            missing = [c for c in columns if c not in (header or [])]
            extra = [c for c in (header or []) if c not in columns]
            raise SimError(f"the header must be {','.join(columns)}"
                           + (f"; missing {', '.join(missing)}" if missing else "")
                           + (f"; unknown {', '.join(extra)}" if extra else ""), file=path, line=1)
        rows = []
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(columns):
                raise SimError(f"has {len(fields)} fields, the header has {len(columns)} (a comma in an "
                               "unquoted text?)", file=path, line=reader.line_num)
            rows.append((reader.line_num, dict(zip(columns, (f.strip() for f in fields), strict=True))))
        return rows
    except csv.Error as err:  # a field over csv.field_size_limit() (a quote never closed?)
        raise SimError(f"not valid CSV: {err}", file=path, line=reader.line_num) from None


def _row(raw: dict, path: Path, line: int) -> dict:
    def bad(key: str, message: str) -> SimError:
        return SimError(message, file=path, line=line, key=key)

    for key in ("region", "indicator", "period", "months", "value", "unit", "published", "source",
                "clause"):
        if not raw[key]:
            raise bad(key, "is empty; every figure needs it (see calibration/data/README.md)")
    if not _NAME.match(raw["indicator"]):
        raise bad("indicator", f"{raw['indicator']!r} is not a snake_case indicator name")
    try:
        period = int(raw["period"])
    except ValueError:
        raise bad("period", f"{raw['period']!r} is not a year (YYYY)") from None
    if not 1949 <= period <= 2200:
        raise bad("period", f"{period} is not a plausible year")
    match = _MONTHS.match(raw["months"])
    first, last = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not (match and 1 <= first <= last <= 12):
        raise bad("months", f"{raw['months']!r} is not a month span like 1-12, 1-11 or 11-11")
    try:
        value = float(raw["value"])
    except ValueError:
        raise bad("value", f"{raw['value']!r} is not a number") from None
    if not math.isfinite(value):
        raise bad("value", "must be a finite number")
    unit = raw["unit"]
    if unit not in units.UNITS:
        raise bad("unit", f"unknown unit {unit!r}; use one of {', '.join(units.UNITS)}")
    if raw["qualifier"] not in QUALIFIERS:
        raise bad("qualifier", f"{raw['qualifier']!r} is not one of {', '.join(sorted(QUALIFIERS - {''}))} "
                  "(or empty)")
    published = date_field(raw["published"], "published", path, line)
    if published < dt.date(period, first, 1):
        raise bad("published", f"{published} is before the period it reports on")
    dim = units.dimension(unit)
    if dim == "index":
        value, unit, dim = value - 100.0, "%", "percent"
    else:
        value, unit = units.convert(value, unit, BASE_UNIT[dim]), BASE_UNIT[dim]
        if not math.isfinite(value):
            raise bad("value", f"{raw['value']} {raw['unit']} is too large a number")
    if _PERCENT_NAME.search(raw["indicator"]) and dim != "percent":
        raise bad("unit", f"{raw['indicator']} is in % (calibration/data/README.md), not in {raw['unit']}")
    if dim in ("money", "count") and value < 0:
        raise bad("value", f"a {dim} cannot be negative")
    if dim == "percent" and value <= -100:
        raise bad("value", "a change of -100% or less is impossible")
    if dim == "percent" and raw["indicator"].endswith("_share") and not 0 < value < 100:
        raise bad("value", "a share lies between 0 and 100%")
    return {**raw, "period": period, "value": value, "unit": unit, "published": published,
            "first_month": first, "last_month": last, "file": str(path), "line": line}


def date_field(text: str, key: str, path: Path, line: int) -> dt.date:
    """A date YYYY-MM-DD that is not in the future (a figure cannot be published after today)."""
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise SimError(f"{text!r} is not a date YYYY-MM-DD", file=path, line=line, key=key) from None
    if date > dt.date.today():
        raise SimError(f"{date} is in the future; give the date the figure was published", file=path,
                       line=line, key=key)
    return date


def _check_duplicates(obs: pd.DataFrame) -> None:
    """Same key and source twice is a copy; two values published on one date is a conflict."""
    for _, group in obs.groupby(KEY, sort=False):
        if len(group) < 2:
            continue
        rows = group.to_dict("records")
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                same_value = math.isclose(a["value"], b["value"], rel_tol=1e-9, abs_tol=1e-12)
                where = f"{Path(a['file']).name}:{a['line']}"
                if a["source"] == b["source"] and same_value:
                    raise SimError(f"duplicate of {where}; delete one", file=b["file"], line=b["line"])
                if a["published"] == b["published"] and not same_value:
                    raise SimError(f"conflicts with {where} ({a['value']:g} vs {b['value']:g}, both "
                                   f"published {a['published']}); check the sources and keep the right "
                                   "one, or give a revision its later date", file=b["file"], line=b["line"])


def as_of(obs: pd.DataFrame, date: dt.date | None) -> pd.DataFrame:
    """What was known on ``date``: rows published by then, the latest value of each key."""
    known = obs if date is None else obs[obs["published"] <= date]
    known = known.sort_values([*KEY, "published"], kind="stable")
    return known.groupby(KEY, sort=False).tail(1).reset_index(drop=True)


SEED_FILE = r"^\d{3}_[0-9a-f]{16}\.txt$"  # a source document of the project (../shared/seeds)


def from_seed(sources: pd.Series) -> pd.Series:
    """Whether each row's source is one of the policy documents themselves (a plan's own figure)."""
    return sources.str.match(SEED_FILE)


def series(obs: pd.DataFrame, region: str, indicator: str, *, full_year: bool = True) -> pd.Series:
    """Yearly values of one indicator for one region, indexed by year (full years by default)."""
    sel = obs[(obs["region"] == region) & (obs["indicator"] == indicator)]
    if full_year:
        sel = sel[(sel["first_month"] == 1) & (sel["last_month"] == 12)]
    return sel.set_index("period")["value"].sort_index()


def known_process_values(model: ModelSpec, region: str, obs: pd.DataFrame
                         ) -> tuple[dict[str, dict[int, float]], dict[str, dict[int, tuple[float, int]]]]:
    """What the data say about each process: full years, and the latest year-to-date figures.

    A process is observed directly (its data name, in the region or, if national, in China), or
    through an indicator whose other drivers are known: a regional growth rate minus the national
    one gives the spread; revenue growth, real growth and prices give the wedge.
    """
    full: dict[str, dict[int, float]] = {}
    ytd: dict[str, dict[int, tuple[float, int]]] = {}
    present = set(zip(obs["region"], obs["indicator"], strict=True))  # most pairs have no data: skip them

    def series_of(where: str, name: str) -> pd.Series:
        return series(obs, where, name) if (where, name) in present else pd.Series(dtype=float)

    def ytd_of(where: str, name: str, exclude: dict) -> dict[int, tuple[float, int]]:
        return _latest_ytd(obs, where, name, exclude=exclude) if (where, name) in present else {}

    for name, spec in model.processes.items():
        where = NATIONAL if spec.scope == "national" else region
        if spec.moves and spec.unit != "%":  # a family law of a level or share: seen only through it
            full[name], ytd[name] = {}, {}
            continue
        full[name] = series_of(where, spec.data or name).to_dict()
        ytd[name] = ytd_of(where, spec.data or name, full[name])
    for ind_name, ind in model.indicators.items():  # a stock, its entries and next stock: the rates
        if not ind.entry:
            continue
        stock = series_of(region, ind.data or ind_name)
        flows = [i for i, spec in model.indicators.items() if spec.operands == [ind_name]
                 and KINDS[spec.kind].state == "operand"]
        entries = series_of(region, flows[0]) if flows else pd.Series(dtype=float)
        for year, new in entries.items():
            if year - 1 in stock.index and stock[year - 1] > 0:
                full[ind.entry].setdefault(year, 100 * new / stock[year - 1])
                if ind.exit and year in stock.index:
                    exits = stock[year - 1] + new - stock[year]
                    full[ind.exit].setdefault(year, 100 * exits / stock[year - 1])
    changed = True
    while changed:
        changed = False
        for ind_name, ind in model.indicators.items():
            kind = KINDS[ind.kind]
            if not ind.drivers or kind.compounds not in (None, "factor"):
                continue
            if kind.compounds is None:
                data_name, compound = ind.data or ind_name, False
            elif ind.growth_data:
                data_name, compound = ind.growth_data, True
            else:
                continue
            for year, value in series_of(region, data_name).items():
                changed |= _solve(ind.drivers, full, year, value, compound, model)
            for year, (value, months) in ytd_of(region, data_name, {}).items():
                parts = {p: _same_months(model, p, ytd, obs, region, year, months) for p in ind.drivers}
                unknown = [p for p in ind.drivers if year not in parts[p]]
                if len(unknown) == 1 and year not in full[unknown[0]] and year not in ytd[unknown[0]]:
                    solved = {p: dict(parts[p]) for p in ind.drivers}
                    if _solve(ind.drivers, solved, year, value, compound, model):
                        ytd[unknown[0]][year] = (solved[unknown[0]][year], months)
                        changed = True
    return full, ytd


def _same_months(model: ModelSpec, process: str, ytd: dict, obs: pd.DataFrame, region: str, year: int,
                 months: int) -> dict[int, float]:
    """What is known of a process over the first ``months`` months of ``year``: China's figure of
    those months for a national one (whatever China's latest month is), else the region's own."""
    spec = model.processes[process]
    if spec.scope == "national" and region != NATIONAL:
        nat = national_ytd(obs, spec.data or process, year, months)
        return {year: nat[0]} if nat is not None else {}
    return {y: v for y, (v, m) in ytd[process].items() if m == months}


def national_ytd(obs: pd.DataFrame, indicator: str, year: int, months: int) -> tuple[float, str] | None:
    """China's year-to-date figure of ``indicator`` over the first ``months`` months of ``year``:
    as published, or interpolated between the nearest published months around it (the full year
    counting as month 12); None if there is none on both sides."""
    sel = obs[(obs["region"] == NATIONAL) & (obs["indicator"] == indicator) & (obs["period"] == year)
              & (obs["first_month"] == 1)]
    by_month = dict(zip(sel["last_month"].astype(int), sel["value"].astype(float), strict=True))
    if months in by_month:
        return by_month[months], "published"
    before = [m for m in by_month if m < months]
    after = [m for m in by_month if m > months]
    if not before or not after:
        return None
    lo, hi = max(before), min(after)
    share = (months - lo) / (hi - lo)
    return by_month[lo] + share * (by_month[hi] - by_month[lo]), f"interpolated between 1–{lo} and 1–{hi}"


def _solve(drivers: dict[str, float], known: dict[str, dict[int, float]], year: int, value: float,
           compound: bool, model: ModelSpec) -> bool:
    """Fill the one unknown driver of an observed indicator value; True if it did."""
    unknown = [p for p in drivers if year not in known[p]]
    if len(unknown) != 1:
        return False
    q = unknown[0]
    try:
        solved = _solved(drivers, known, year, value, compound, model, q)
    except (OverflowError, ValueError, ZeroDivisionError):
        solved = None  # an extreme coefficient or value: leave it unknown
    if solved is None or not math.isfinite(solved):
        return False
    known[q][year] = solved
    return True


def _solved(drivers: dict[str, float], known: dict[str, dict[int, float]], year: int, value: float,
            compound: bool, model: ModelSpec, q: str) -> float | None:
    if compound:
        if any(model.processes[p].unit != "%" for p in drivers):
            return None
        rest = sum(c * math.log1p(known[p][year] / 100) for p, c in drivers.items() if p != q)
        return 100 * math.expm1((math.log1p(value / 100) - rest) / drivers[q])
    rest = sum(c * known[p][year] for p, c in drivers.items() if p != q)
    return (value - rest) / drivers[q]


def _latest_ytd(obs: pd.DataFrame, region: str, indicator: str, exclude: dict
                ) -> dict[int, tuple[float, int]]:
    """The latest year-to-date figure (months 1..m, m < 12) of each year without a full-year one;
    published months after it (single-month figures) extend it, each month weighing as much."""
    sel = obs[(obs["region"] == region) & (obs["indicator"] == indicator) & (obs["last_month"] < 12)]
    out = {}
    for year, rows in sel.groupby("period"):
        if year in exclude:
            continue
        ytd = rows[rows["first_month"] == 1].sort_values("last_month")
        if ytd.empty:
            continue
        value, months = float(ytd["value"].iloc[-1]), int(ytd["last_month"].iloc[-1])
        months_alone = rows[rows["first_month"] == rows["last_month"]]
        single = dict(zip(months_alone["last_month"].astype(int), months_alone["value"].astype(float),
                          strict=True))
        while months + 1 in single:
            value = (value * months + single[months + 1]) / (months + 1)
            months += 1
        out[int(year)] = (value, months)
    return out
