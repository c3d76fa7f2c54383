"""From validated inputs to the flat arrays the kernel reads.

Everything that needs Python objects happens here: resolving names, reading the base-year state
from the observations, converting target units, compiling 'about' into a comparison, and deciding
which targets cannot be simulated (and saying why) instead of dropping them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim import kernels, units
from sim.conditioning import partial_year
from sim.observations import series
from sim.spec import IndicatorSpec, ModelSpec, ParamsFile, ScenarioFile, TargetSpec

# 左右: targets are set on a half-point grid (6%, 6.5%, 7% …), so "6.5%左右" is met by anything
# closer to 6.5 than to the step below: a tolerance of 0.25 in the target's unit for % and
# percentage points. Levels are rarely "about"; for them 1% of the value.
ABOUT_TOLERANCE = {"percent": 0.25, "pp": 0.25}
ABOUT_TOLERANCE_RELATIVE = 0.01
NATIONAL = "China"
_CMP = {">=": kernels.GE, ">": kernels.GT, "<=": kernels.LE, "<": kernels.LT}
_MEASURE = {"level": kernels.VALUE, "growth": kernels.PCT_CHANGE,
            "change_since": kernels.PCT_CHANGE, "difference_since": kernels.DIFFERENCE}


@dataclass(frozen=True)
class Skipped:
    """A target that cannot be simulated, and why."""

    target: str
    reason: str


@dataclass
class Plan:
    """Everything one run needs, as arrays, plus the labels to put the results back together."""

    region: str
    years: list[int]
    processes: list[str]
    indicators: list[str]
    scenarios: list[str]
    weights: np.ndarray
    targets: list[str]
    target_info: pd.DataFrame
    skipped: list[Skipped]
    arrays: dict[str, np.ndarray | float] = field(repr=False)
    notes: list[str] = field(default_factory=list)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # indicator, year, value (observed)
    observations: pd.DataFrame = field(default_factory=pd.DataFrame)  # the data rows the run read
    indicator_info: pd.DataFrame = field(default_factory=pd.DataFrame)  # by indicator: names, unit


def build(scenario: ScenarioFile, model: ModelSpec, params: ParamsFile, obs: pd.DataFrame) -> Plan:
    """Lay out a run of ``scenario`` on the observations ``obs`` (already cut to the vintage)."""
    scenario.check_against(model)
    region = scenario.region
    used = list(dict.fromkeys(t.indicator for t in scenario.targets.values() if t.indicator))
    used = list(dict.fromkeys([*(model.indicators[n].of for n in used if model.indicators[n].of), *used]))
    histories = {name: _history(model.indicators[name], name, region, obs) for name in used}
    skipped: list[Skipped] = []
    live: dict[str, TargetSpec] = {}
    for tid, target in scenario.targets.items():
        if target.indicator is None:
            skipped.append(Skipped(tid, f"no model for this quantity yet (model {model.name!r} has no "
                                        "indicator for it)"))
            continue
        ind = model.indicators[target.indicator]
        hist = histories[ind.of] if ind.kind == "entries" else histories[target.indicator]
        reason = _why_not(target, ind if ind.kind != "entries" else model.indicators[ind.of], hist, region)
        missing = [p for p in ind.processes(model) if p not in params.processes]
        if not reason and missing:
            reason = (f"{params.path.name} has no parameters for process {missing[0]}"
                      + (" (too few observations to estimate it)" if missing[0] in params.note
                         else "; run sim calibrate"))
        if reason:
            skipped.append(Skipped(tid, reason))
        else:
            live[tid] = target
    indicators = list(dict.fromkeys(t.indicator for t in live.values()))
    indicators = list(dict.fromkeys([*(model.indicators[n].of for n in indicators if model.indicators[n].of),
                                     *indicators]))
    procs = list(dict.fromkeys(p for name in indicators for p in model.indicators[name].processes(model)))
    if not live:
        return Plan(region, [], procs, indicators, list(scenario.scenarios), _weights(scenario), [],
                    pd.DataFrame(), skipped, {}, [])
    starts = {name: max(histories[model.indicators[name].of or name].values.index, default=None)
              for name in indicators}
    # the grid starts at least a year before the first target year: year 0 is the initial state,
    # scenarios act on the simulated years after it
    first = min([y for y in starts.values() if y is not None] + [t.year - 1 for t in live.values()])
    last = max(t.year for t in live.values())
    years = list(range(first, last + 1))

    arrays: dict = {}
    notes: list[str] = []
    arrays.update(_process_arrays(procs, model, params, region, obs, years, notes))
    arrays.update(_scenario_arrays(scenario, procs, indicators, model, years))
    arrays.update(_indicator_arrays(indicators, model, procs, histories, years))
    info = []
    tgt = {k: [] for k in ("ind", "t", "measure", "base_t", "base_value", "cmp", "threshold")}
    for tid, target in live.items():
        ind = model.indicators[target.indicator]
        hist = histories[target.indicator]
        m = indicators.index(target.indicator)
        value = _in_model_unit(target, ind)
        scale = target.value / value if value else 1.0  # model unit -> the target's unit
        last_seen = max((y for y in hist.values.index if y <= target.year), default=None)
        cmp, threshold = _comparison(target, ind, value)
        base_year = {"growth": target.year - 1}.get(target.measure, target.base_year)
        base_t, base_value = -1, math.nan
        if base_year is not None:
            if base_year >= first:
                base_t = base_year - first
            else:
                base_value = hist.values[base_year]
        tgt["ind"].append(m)
        tgt["t"].append(target.year - first)
        tgt["measure"].append(_MEASURE[target.measure])
        tgt["base_t"].append(base_t)
        tgt["base_value"].append(base_value)
        tgt["cmp"].append(_CMP[cmp])
        tgt["threshold"].append(threshold)
        info.append({"target": tid, "indicator": target.indicator, "year": target.year,
                     "measure": target.measure, "base_year": target.base_year,
                     "comparator": target.comparator, "value": target.value, "unit": target.unit,
                     "tolerance": _tolerance(target) if target.comparator == "about" else None,
                     "modality": target.modality or "", "name_zh": target.name_zh,
                     "name_en": target.name_en, "clause": target.clause, "source": target.source,
                     "last_year": last_seen,
                     "last_value": _observed_measure(target, hist, last_seen) * scale,
                     "scale": scale})
    for key, values in tgt.items():
        dtype = np.float64 if key in ("base_value", "threshold") else np.int64
        arrays[f"tgt_{key}"] = np.asarray(values, dtype=dtype)
    history = pd.DataFrame([{"indicator": name, "year": int(y), "value": float(v)}
                            for name in indicators for y, v in histories[name].values.items()
                            if histories[name].scaled],
                           columns=["indicator", "year", "value"])
    ind_info = pd.DataFrame([{"indicator": name, "name_zh": model.indicators[name].name_zh,
                              "name_en": model.indicators[name].name_en,
                              "unit": model.indicators[name].unit or "", "kind": model.indicators[name].kind}
                             for name in indicators]).set_index("indicator")
    names = {model.processes[p].data or p for p in procs}
    for name in indicators:
        names |= {n for n in (model.indicators[name].data or name, model.indicators[name].growth_data) if n}
    used_obs = obs[obs["region"].isin([region, NATIONAL]) & obs["indicator"].isin(names)]
    notes += _no_effect_notes(scenario, procs, arrays, years)
    return Plan(region, years, procs, indicators, list(scenario.scenarios), _weights(scenario),
                list(live), pd.DataFrame(info).set_index("target"), skipped, arrays, notes,
                history=history, indicator_info=ind_info, observations=used_obs.reset_index(drop=True))


def _no_effect_notes(scenario: ScenarioFile, procs: list[str], arrays: dict, years: list[int]) -> list[str]:
    """Say when a scenario shifts a process in years that are already observed (no effect there)."""
    notes = []
    for s, name in enumerate(scenario.scenarios):
        for p, proc in enumerate(procs):
            hit = [years[t] for t in range(1, len(years)) if arrays["shift"][s, p, t] != 0
                   and not np.isnan(arrays["pin_b"][p, t]) and arrays["pin_a"][p, t] == 0]
            if hit:
                notes.append(f"scenario {name}: {proc} is observed in {', '.join(map(str, hit))}, "
                             "so its shift has no effect there")
    return notes


@dataclass(frozen=True)
class _History:
    """Observed (or chained) values of an indicator by year, in the model's unit; ``scaled`` is
    False for a level known only through its changes (normalised to 1 in its last year)."""

    values: pd.Series
    scaled: bool
    data_name: str


def _history(ind: IndicatorSpec, name: str, region: str, obs: pd.DataFrame) -> _History:
    data_name = ind.data or name
    levels = series(obs, region, data_name)
    if ind.kind != "level":
        return _History(levels, True, data_name)
    growth = series(obs, region, ind.growth_data) if ind.growth_data else pd.Series(dtype=float)
    if levels.empty:
        if growth.empty:
            return _History(levels, True, data_name)
        # Known only up to scale: chain the latest run of consecutive changes back from 1.
        end = int(growth.index.max())
        values = {end: 1.0}
        year = end
        while year in growth.index:
            values[year - 1] = values[year] / (1 + growth[year] / 100)
            year -= 1
        return _History(pd.Series(values).sort_index(), False, data_name)
    values = levels.to_dict()
    year = int(levels.index.max())
    while year + 1 in growth.index:  # extend the last level with later published changes
        values[year + 1] = values[year] * (1 + growth[year + 1] / 100)
        year += 1
    return _History(pd.Series(values).sort_index(), True, data_name)


def _why_not(target: TargetSpec, ind: IndicatorSpec, hist: _History, region: str) -> str | None:
    if hist.values.empty and ind.kind == "rate" and target.measure == "level":
        return None  # a rate is simulated from its processes, observed or not
    if hist.values.empty:
        extra = f" or {ind.growth_data}" if ind.growth_data else ""
        return f"no observation of {hist.data_name}{extra} for {region} in calibration/data"
    if target.measure == "level" and not hist.scaled:
        return (f"{hist.data_name} for {region} is known only through its yearly changes; a level "
                "target needs one observed level")
    start = int(hist.values.index.max())
    last = hist.values[start]
    seen = f"the last observed {hist.data_name} for {region} ({start}) is {last:g}"
    if ind.kind == "level" and hist.scaled and not last > 0:
        return f"{seen}; a level must be positive"
    if ind.kind == "share" and not 0 < last < 100:
        return f"{seen}%, not a share in (0, 100)"
    base = {"growth": target.year - 1}.get(target.measure, target.base_year)
    if base is not None and base <= start and base not in hist.values.index:
        return f"no observation of {hist.data_name} for {region} in {base}, the target's base year"
    if ind.kind != "rate" and target.year <= start and target.year not in hist.values.index:
        return f"no observation of {hist.data_name} for {region} in {target.year}"
    return None


def _weights(scenario: ScenarioFile) -> np.ndarray:
    return np.array([s.weight for s in scenario.scenarios.values()])


def _process_arrays(procs: list[str], model: ModelSpec, params: ParamsFile, region: str,
                    obs: pd.DataFrame, years: list[int], notes: list[str]) -> dict:
    n_p, n_t = len(procs), len(years)
    theta_hat = np.zeros((n_p, 3))
    theta_chol = np.zeros((n_p, 3, 3))
    for p, name in enumerate(procs):
        est = params.processes.get(name)
        if est is None:
            raise params.error(("processes",), f"has no parameters for process {name!r}, which the "
                               "scenario's targets need; run sim calibrate or add them")
        phi, sigma = est.phi.value, est.sigma.value
        theta_hat[p] = est.mean.value, math.atanh(phi), math.log(sigma)
        if est.covariance is not None:
            try:
                theta_chol[p] = np.linalg.cholesky(np.asarray(est.covariance))
            except np.linalg.LinAlgError:
                raise params.error(("processes", name, "covariance"),
                                   "is not positive definite") from None
        else:  # delta method: se(atanh phi) = se(phi) / (1 - phi^2), se(log sigma) = se(sigma) / sigma
            theta_chol[p] = np.diag([est.mean.std_error, est.phi.std_error / (1 - phi**2),
                                     est.sigma.std_error / sigma])
    corr = np.eye(n_p)
    for a, row in params.shocks.correlation.items():
        for b, r in row.items():
            if a in procs and b in procs:
                i, j = procs.index(a), procs.index(b)
                corr[i, j] = corr[j, i] = r
    try:
        shock_chol = np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        raise params.error(("shocks", "correlation"), "the correlation matrix is not positive "
                           "definite; check the pairs for contradictions") from None
    proc_pct = np.array([model.processes[name].unit == "%" for name in procs])
    pin_a, pin_b, pin_c = np.zeros((n_p, n_t)), np.full((n_p, n_t), np.nan), np.zeros((n_p, n_t))
    full, ytd = known_process_values(model, region, obs)
    for p, name in enumerate(procs):
        est = params.processes[name]
        for t, year in enumerate(years):
            if year in full[name]:
                pin_b[p, t] = full[name][year]
            elif year in ytd[name]:
                value, months = ytd[name][year]
                if est.within_year_sd is None:
                    notes.append(f"{year} 1–{months}月 {name} not used: the parameters give no "
                                 "within-year dispersion for it")
                    continue
                pin_a[p, t], pin_b[p, t], pin_c[p, t] = partial_year(
                    value, months, est.sigma.value**2, est.within_year_sd.value)
                notes.append(f"{year} conditioned on its 1–{months}月 actual of {name} ({value:+.2f})")
    return {"theta_hat": theta_hat, "theta_chol": theta_chol, "shock_chol": shock_chol,
            "df": float(params.shocks.df.value), "proc_pct": proc_pct,
            "pin_a": pin_a, "pin_b": pin_b, "pin_c": pin_c}


def known_process_values(model: ModelSpec, region: str, obs: pd.DataFrame
                         ) -> tuple[dict[str, dict[int, float]], dict[str, dict[int, tuple[float, int]]]]:
    """What the data say about each process: full years, and the latest year-to-date figures.

    A process is observed directly (its data name, in the region or, if national, in China), or
    through an indicator whose other drivers are known: a regional growth rate minus the national
    one gives the spread; revenue growth, real growth and prices give the wedge.
    """
    full: dict[str, dict[int, float]] = {}
    ytd: dict[str, dict[int, tuple[float, int]]] = {}
    for name, spec in model.processes.items():
        where = NATIONAL if spec.scope == "national" else region
        full[name] = series(obs, where, spec.data or name).to_dict()
        ytd[name] = _latest_ytd(obs, where, spec.data or name, exclude=full[name])
    for ind_name, ind in model.indicators.items():  # a stock, its entries and next stock: the rates
        if ind.kind != "count":
            continue
        stock = series(obs, region, ind.data or ind_name)
        flows = [i for i, spec in model.indicators.items() if spec.kind == "entries" and spec.of == ind_name]
        entries = series(obs, region, flows[0]) if flows else pd.Series(dtype=float)
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
            if ind.kind == "rate":
                data_name, compound = ind.data or ind_name, False
            elif ind.kind == "level" and ind.growth_data:
                data_name, compound = ind.growth_data, True
            else:
                continue
            for year, value in series(obs, region, data_name).items():
                changed |= _solve(ind.drivers, full, year, value, compound, model)
            for year, (value, months) in _latest_ytd(obs, region, data_name, exclude={}).items():
                parts = {p: {y: v for y, (v, m) in ytd[p].items() if m == months} | full[p]
                         for p in ind.drivers}
                unknown = [p for p in ind.drivers if year not in parts[p]]
                if len(unknown) == 1 and year not in full[unknown[0]] and year not in ytd[unknown[0]]:
                    solved = {p: dict(parts[p]) for p in ind.drivers}
                    if _solve(ind.drivers, solved, year, value, compound, model):
                        ytd[unknown[0]][year] = (solved[unknown[0]][year], months)
                        changed = True
    return full, ytd


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
    """The latest year-to-date figure (months 1..m, m < 12) of each year without a full-year one."""
    sel = obs[(obs["region"] == region) & (obs["indicator"] == indicator) & (obs["first_month"] == 1)
              & (obs["last_month"] < 12)]
    out = {}
    for row in sel.sort_values("last_month").itertuples():
        if row.period not in exclude:
            out[int(row.period)] = (float(row.value), int(row.last_month))
    return out


def _scenario_arrays(scenario: ScenarioFile, procs: list[str], indicators: list[str],
                     model: ModelSpec, years: list[int]) -> dict:
    """Shifts, volatility multipliers, level shocks and parameter overrides by scenario. Shifts
    and multipliers start in the scenario file's year unless ``from`` says otherwise."""
    resolved = scenario.resolved()
    n_s, n_p, n_t = len(resolved), len(procs), len(years)
    shift = np.zeros((n_s, n_p, n_t))
    vol = np.ones((n_s, n_p, n_t))
    level_shock = np.zeros((n_s, len(indicators), n_t))
    theta_over = np.full((n_s, n_p, 3), np.nan)
    for s, spec in enumerate(resolved.values()):
        for table, out in ((spec.shifts(), shift), (spec.scales(), vol)):
            for name, how in table.items():
                if name in procs:
                    start = scenario.year if how.from_year is None else how.from_year
                    for t, year in enumerate(years):
                        if t > 0 and year >= start:
                            out[s, procs.index(name), t] = how.by
        for name, shock in spec.shock.items():
            if name in indicators and shock.year in years:
                by = math.log1p(shock.by / 100) if model.indicators[name].kind == "level" else shock.by
                level_shock[s, indicators.index(name), years.index(shock.year)] = by
        for name, over in spec.override.items():
            if name in procs:
                p = procs.index(name)
                theta_over[s, p] = (over.mean if over.mean is not None else np.nan,
                                    over.phi if over.phi is not None else np.nan,
                                    over.sigma if over.sigma is not None else np.nan)
    return {"shift": shift, "vol": vol, "level_shock": level_shock, "theta_over": theta_over}


def _indicator_arrays(indicators: list[str], model: ModelSpec, procs: list[str],
                      histories: dict[str, _History], years: list[int]) -> dict:
    n_m, n_t = len(indicators), len(years)
    kinds = {"rate": kernels.RATE, "level": kernels.LEVEL, "share": kernels.SHARE,
             "count": kernels.COUNT, "entries": kernels.ENTRIES}
    ind_kind = np.zeros(n_m, np.int64)
    ind_link = np.full((n_m, 2), -1, np.int64)
    drivers = np.zeros((n_m, len(procs)))
    ind_start = np.full(n_m, -1, np.int64)
    ind_state = np.zeros(n_m)
    ind_fixed = np.full((n_m, n_t), np.nan)
    for m, name in enumerate(indicators):
        ind = model.indicators[name]
        ind_kind[m] = kinds[ind.kind]
        for proc, coef in ind.drivers.items():
            drivers[m, procs.index(proc)] = coef
        if ind.kind == "rate":
            continue  # computed from its (pinned) processes in every year
        if ind.kind == "count":
            ind_link[m] = procs.index(ind.entry), procs.index(ind.exit) if ind.exit else -1
        if ind.kind == "entries":
            ind_link[m, 0] = indicators.index(ind.of)
        hist = histories[name].values
        last = int(histories[ind.of or name].values.index.max())
        ind_start[m] = last - years[0]
        for t, year in enumerate(years):
            if year <= last and year in hist.index:
                ind_fixed[m, t] = hist[year]
        level = hist[last] if last in hist.index else math.nan
        if ind.kind == "level":
            ind_state[m] = math.log(level)
        elif ind.kind == "share":
            ind_state[m] = math.log(level / (100 - level))
        elif ind.kind == "count":
            ind_state[m] = level
    return {"ind_kind": ind_kind, "drivers": drivers, "ind_link": ind_link, "ind_start": ind_start,
            "ind_state": ind_state, "ind_fixed": ind_fixed}


def _in_model_unit(target: TargetSpec, ind: IndicatorSpec) -> float:
    if target.measure == "level" and ind.kind == "level":
        return units.convert(target.value, target.unit, ind.unit)
    return target.value


def _tolerance(target: TargetSpec) -> float:
    if target.tolerance is not None:
        return target.tolerance
    dim = units.dimension(target.unit)
    return ABOUT_TOLERANCE.get(dim, abs(target.value) * ABOUT_TOLERANCE_RELATIVE)


def _comparison(target: TargetSpec, ind: IndicatorSpec, value: float) -> tuple[str, float]:
    """'about' is met by anything within the tolerance or better, in the indicator's good direction."""
    if target.comparator != "about":
        return target.comparator, value
    tol = _tolerance(target)
    if target.measure == "level" and ind.kind == "level":
        tol = units.convert(tol, target.unit, ind.unit)
    return (">=", value - tol) if ind.better == "higher" else ("<=", value + tol)


def _observed_measure(target: TargetSpec, hist: _History, year: int) -> float:
    """The target's measure in the indicator's last observed year (NaN when it cannot be formed)."""
    values = hist.values
    if year is None or year not in values.index:
        return math.nan
    base = {"growth": year - 1}.get(target.measure, target.base_year)
    if target.measure == "level":
        return values[year] if hist.scaled else math.nan
    if base not in values.index or base >= year:
        return math.nan
    if target.measure == "difference_since":
        return values[year] - values[base]
    return (values[year] / values[base] - 1) * 100
