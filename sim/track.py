"""The probability of each target through the year, as each monthly figure came in.

``track(FILE)`` is ``sim run FILE --as-of D`` at each month-end D from the target year's start to the
last publication of a figure on the year that its targets are built from: parameters refitted on
what was published by D, the same seed and paths at every date. The kernel is compiled once for the
process; a date whose data are those of the month before (the same observations visible, the same
parameters) reuses the month before's result, which a rerun with the same seed would repeat exactly.

Grade-D targets are their class's rate at every date, not a simulation: they are left out and named.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim import api, bounds, labels, observations
from sim.errors import SimError
from sim.plan import data_names
from sim.results import ALL, WEIGHTED, Results
from sim.spec import find_root


@dataclass(frozen=True)
class Track:
    """Weighted P(met) of each simulated target at each month-end (``table``: one row per date and
    target with as_of, target, probability, std_error, new_data), and what it was run with."""

    region: str
    year: int
    paths: int
    seed: int
    dates: list[dt.date]
    table: pd.DataFrame
    names: dict[str, tuple[str, str]]  # target -> (Chinese name, English name)
    left_out: list[str] = field(default_factory=list)  # grade-D targets: class rates, never simulated
    notes: list[str] = field(default_factory=list)  # dates without a result, and why

    def name(self, target: str, lang: str) -> str:
        """A target's name in ``lang``."""
        zh, en = self.names.get(target, (target, target))
        return zh if lang == "zh" else en

    def wide(self, lang: str = "en") -> pd.DataFrame:
        """Dates down, targets across, probabilities in the cells (the spreadsheet's sheet)."""
        frame = self.table.pivot(index="as_of", columns="target", values="probability")
        frame = frame[list(dict.fromkeys(self.table["target"]))]
        frame.columns = [self.name(t, lang) for t in frame.columns]
        frame.index = [d.isoformat() for d in frame.index]
        frame.index.name = labels.TRACK[lang]["date"]
        return frame

    def text(self, lang: str = "en") -> str:
        """The table ``sim track`` prints."""
        t = labels.TRACK[lang]
        targets = list(dict.fromkeys(self.table["target"]))
        rows = [[t["date"], *targets, t["data"]]]
        for date, group in self.table.groupby("as_of", sort=True):
            cells = group.set_index("target")
            rows.append([date.isoformat(),
                         *(labels.probability(cells.loc[x, "probability"], cells.loc[x, "std_error"])
                           if x in cells.index else "—" for x in targets),
                         t["new"] if bool(group["new_data"].iloc[0]) else t["same"]])
        head = t["head"].format(region=labels.region(self.region, lang), year=self.year, paths=self.paths,
                                seed=self.seed)
        lines = [head, *labels.grid(rows), *(f"  {x}: {self.name(x, lang)}" for x in targets)]
        if self.left_out:
            lines.append(t["left_out"].format(names=labels.join(self.left_out, lang)))
        lines += self.notes
        return "\n".join(lines)

    def to_json(self) -> dict:
        """The records and the run's settings, for ``--json``."""
        return {"run": {"region": self.region, "year": self.year, "paths": self.paths, "seed": self.seed,
                        "dates": [d.isoformat() for d in self.dates]},
                "results": [{**r, "as_of": r["as_of"].isoformat()} for r in self.table.to_dict("records")],
                "left_out": self.left_out, "notes": self.notes}


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """The month-ends from the first on or after ``start`` to the first on or after ``end``."""
    last = pd.Timestamp(end) + pd.offsets.MonthEnd(0)  # rolls forward, stays on a month-end
    return [d.date() for d in pd.date_range(start, last, freq="ME")]


def last_published(obs: pd.DataFrame, region: str, year: int, names: set[str]) -> dt.date | None:
    """When the last figure on ``year`` itself, of the region or the nation, among the figures
    ``names``, was published."""
    mine = obs[obs["region"].isin([region, observations.NATIONAL]) & (obs["period"] == year)
               & obs["indicator"].isin(names)]
    return max(mine["published"]) if len(mine) else None


def track(scenario_path: str | Path, *, start: dt.date | None = None, end: dt.date | None = None,
          paths: int = bounds.TRACK_PATHS, seed: int = bounds.DEFAULT_SEED, threads: int | None = None,
          progress: Callable[[dt.date, bool], None] | None = None) -> Track:
    """Weighted P(met) of each simulated target at each month-end from ``start`` (default: 1 January
    of the file's year) to ``end`` (default: the last publication of a figure on the year, of the
    region or the nation, that a target is built from); ``progress(date, new_data)`` after each date."""
    path = Path(scenario_path)
    inputs = api.load_inputs(path)
    scenario = inputs.scenario
    every = observations.load(find_root(path) / "calibration" / "data")
    start = start or dt.date(scenario.year, 1, 1)
    if end is None:  # nothing published on the year yet: the year's first month-end alone
        names = set().union(*(data_names(inputs.model, t.indicator) for t in scenario.targets.values()
                              if t.indicator in inputs.model.indicators))
        end = max(last_published(every, scenario.region, scenario.year, names) or start, start)
    if end < start:
        raise SimError(f"--to {end} is before --from {start}; give a later --to", file=path)
    dates = month_ends(start, end)
    if len(dates) > bounds.TRACK_DATES:
        raise SimError(f"{start} to {end} spans {len(dates)} month-ends; sim track runs at most "
                       f"{bounds.TRACK_DATES}: give a later --from or an earlier --to", file=path)
    shipped_as_of = inputs.params.as_of  # dates from then on use the shipped parameters
    rows: list[dict] = []
    names: dict[str, tuple[str, str]] = {}
    graded_d: set[str] = set()
    notes: list[str] = []
    previous: tuple[str, Results | None, str] | None = None
    for date in dates:
        refit = shipped_as_of is None or shipped_as_of > date
        key = _vintage(observations.as_of(every, date)) + ("refit" if refit else "shipped")
        new = previous is None or previous[0] != key
        if new:
            try:
                result, why = api.run(path, paths=paths, seed=seed, threads=threads, as_of=date), ""
            except SimError as err:  # the file loaded at once: this date's data are too few to fit
                result, why = None, err.message
            previous = (key, result, why)
        _, result, why = previous
        if result is None:
            notes.append(f"{date}: {why}")
        else:
            rows += _rows(result, date, new, names, graded_d)
        if progress:
            progress(date, new)
    table = pd.DataFrame(rows, columns=["as_of", "target", "probability", "std_error", "evidence",
                                        "new_data"])
    simulated = set(table["target"])
    return Track(scenario.region, scenario.year, paths, seed, dates, table, names,
                 sorted(graded_d - simulated, key=list(scenario.targets).index), notes)


def _vintage(obs: pd.DataFrame) -> str:
    """A fingerprint of the observations visible at a date."""
    cols = [c for c in obs.columns if c not in ("file", "line")]
    hashed = pd.util.hash_pandas_object(obs[cols].astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def _rows(result: Results, date: dt.date, new: bool, names: dict, graded_d: set[str]) -> list[dict]:
    d = result.data
    out = []
    for target in map(str, d["target"].values):
        row = d.sel(target=target)
        names[target] = (str(row["name_zh"].item()), str(row["name_en"].item()))
        grade = str(row["evidence"].item())
        if grade == "D":
            graded_d.add(target)
            continue
        if target == ALL:
            continue
        out.append({"as_of": date, "target": target,
                    "probability": float(row["probability"].sel(scenario=WEIGHTED).item()),
                    "std_error": float(row["std_error"].sel(scenario=WEIGHTED).item()),
                    "evidence": grade, "new_data": new})
    return out
