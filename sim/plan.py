"""From validated inputs to the kernel's inputs: four named groups of arrays, and their labels.

Everything that needs Python objects happens here: resolving names, reading the base-year state
from the observations, converting target units, compiling 'about' into a comparison, working out
what scenarios share, and deciding which targets cannot be simulated (and saying why) instead of
dropping them. A :class:`Plan` is frozen: analysis and sweeps change its assumptions through
:meth:`Plan.with_assumptions`, :meth:`Plan.variants` and :meth:`Plan.with_edits`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim import kernels, targets, units
from sim.conditioning import partial_year
from sim.kinds import BY_CODE, KINDS
from sim.observations import NATIONAL, from_seed, known_process_values, series
from sim.reference import ClassRate, classify, not_simulated
from sim.spec import IndicatorSpec, ModelSpec, ParamsFile, ScenarioFile, TargetSpec

A_YEARS = 3  # own full-year values that make a region's history evidence of grade A


@dataclass(frozen=True)
class Skipped:
    """A target that cannot be simulated, and why."""

    target: str
    reason: str


@dataclass(frozen=True)
class Assumptions:
    """A scenario's assumptions as arrays on the grid: shifts of process means, volatility
    multipliers, parameter overrides (NaN: the path's own) and one-off indicator shocks (% of a
    level, points of a rate or share)."""

    shift: np.ndarray  # (n_s, n_p, n_t)
    vol: np.ndarray  # (n_s, n_p, n_t)
    theta_over: np.ndarray  # (n_s, n_p, 3)
    level_shock: np.ndarray  # (n_s, n_m, n_t)


@dataclass(frozen=True)
class Edit:
    """One variant of a scenario: its mean shifts and volatility multipliers by process."""

    label: str
    shift: Mapping[str, float] = field(default_factory=dict)
    volatility: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """Everything one run needs: the kernel's inputs, and the labels to put the results together."""

    region: str
    years: list[int]
    processes: list[str]
    indicators: list[str]
    scenarios: list[str]
    weights: np.ndarray
    targets: list[str]
    target_info: pd.DataFrame
    skipped: list[Skipped]
    proc: kernels.Processes | None = field(default=None, repr=False)
    assumptions: Assumptions | None = field(default=None, repr=False)
    scen: kernels.Scenarios | None = field(default=None, repr=False)
    ind: kernels.Indicators | None = field(default=None, repr=False)
    tgt: kernels.Targets | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # indicator, year, value (observed)
    observations: pd.DataFrame = field(default_factory=pd.DataFrame)  # the data rows the run read
    indicator_info: pd.DataFrame = field(default_factory=pd.DataFrame)  # by indicator: names, unit, kind
    # the targets given their class's rate (grade D)
    reference: pd.DataFrame = field(default_factory=pd.DataFrame)

    def with_assumptions(self, assumptions: Assumptions, scenarios: Sequence[str],
                         weights: np.ndarray | None = None) -> Plan:
        """The same plan under other scenarios (what they share is worked out again)."""
        weights = np.full(len(scenarios), 1 / len(scenarios)) if weights is None else weights
        return dataclasses.replace(self, scenarios=list(scenarios), weights=weights, assumptions=assumptions,
                                   scen=_scenario_group(assumptions, self.proc, self.ind))

    def step(self, year: int) -> int:
        """The grid step of ``year``, at least 1 (step 0 is the initial state)."""
        return max(year - self.years[0], 1)

    def variants(self, base: str, edits: Sequence[Edit], from_year: int) -> Plan:
        """A plan whose scenarios are copies of scenario ``base``, each changed by one edit from
        ``from_year`` on: its shifts added to the means, its multipliers applied to the volatility."""
        s = self.scenarios.index(base)
        a = self.assumptions
        n = len(edits)
        shift, vol = np.repeat(a.shift[s:s + 1], n, axis=0), np.repeat(a.vol[s:s + 1], n, axis=0)
        t0 = self.step(from_year)
        for k, edit in enumerate(edits):
            for name, by in edit.shift.items():
                shift[k, self.processes.index(name), t0:] += by
            for name, by in edit.volatility.items():
                vol[k, self.processes.index(name), t0:] *= by
        edited = Assumptions(shift, vol, np.repeat(a.theta_over[s:s + 1], n, axis=0),
                             np.repeat(a.level_shock[s:s + 1], n, axis=0))
        return self.with_assumptions(edited, [e.label for e in edits])

    def with_edits(self, *, shift: Mapping[str, float] | None = None,
                   volatility: float = 1.0, from_year: int) -> Plan:
        """Every scenario with the means of some processes shifted and every volatility multiplied,
        from ``from_year`` on (processes the plan does not use are ignored)."""
        a = self.assumptions
        shifted, vol = a.shift.copy(), a.vol.copy()
        t0 = self.step(from_year)
        for name, by in (shift or {}).items():
            if name in self.processes:
                shifted[:, self.processes.index(name), t0:] += by
        vol[:, :, t0:] *= volatility
        return self.with_assumptions(dataclasses.replace(a, shift=shifted, vol=vol), self.scenarios,
                                     self.weights)


def build(scenario: ScenarioFile, model: ModelSpec, params: ParamsFile, obs: pd.DataFrame,
          rates: Mapping[str, ClassRate] | None = None) -> Plan:
    """Lay out a run of ``scenario`` on the observations ``obs`` (already cut to the vintage).

    A target with a model goes to the kernel when the data allow; one without (or whose region has
    no starting value) takes the rate of its class of past targets from ``rates``, when known.
    """
    scenario.check_against(model)
    region = scenario.region
    rates = rates or {}
    used = _with_operands([t.indicator for t in scenario.targets.values() if t.indicator], model)
    histories = {name: _history(model.indicators[name], name, region, obs) for name in used}
    _anchor_relative_operands(used, model, histories)
    _anchor_relative_targets(scenario, model, histories)
    skipped: list[Skipped] = []
    live: dict[str, TargetSpec] = {}
    reference: dict[str, dict] = {}
    for tid, target in scenario.targets.items():
        reason = _why_not(target, model, params, histories, region)
        if reason is None:
            live[tid] = target
            continue
        entry = _by_reference(target, model, rates, reason)
        if isinstance(entry, dict):
            reference[tid] = entry
        else:
            skipped.append(Skipped(tid, entry))
    ref = pd.DataFrame.from_dict(reference, orient="index")
    indicators = _with_operands([t.indicator for t in live.values()], model)
    procs = list(dict.fromkeys(p for name in indicators for p in model.indicators[name].processes(model)))
    weights = np.array([s.weight for s in scenario.scenarios.values()])
    if not live:
        return Plan(region, [], procs, indicators, list(scenario.scenarios), weights, [], pd.DataFrame(),
                    skipped, reference=ref)
    starts = [max(histories[_anchor(name, model)].values.index, default=None) for name in indicators]
    # the grid starts at least a year before the first target year: year 0 is the initial state,
    # scenarios act on the simulated years after it
    first = min([y for y in starts if y is not None] + [t.year - 1 for t in live.values()])
    years = list(range(first, max(t.year for t in live.values()) + 1))
    notes: list[str] = []
    proc = _process_group(procs, model, params, region, obs, years, notes)
    ind = _indicator_group(indicators, model, procs, histories, years)
    assumptions = _assumptions(scenario, procs, indicators, model, years)
    tgt, info = _target_group(live, model, histories, indicators, years)
    info = info.join(pd.DataFrame({tid: _evidence(t, model, params, histories, region, obs)
                                   for tid, t in live.items()}, index=["evidence", "basis"]).T)
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
    notes += _no_effect_notes(scenario, procs, assumptions, proc, years)
    return Plan(region, years, procs, indicators, list(scenario.scenarios), weights, list(live), info,
                skipped, proc, assumptions, _scenario_group(assumptions, proc, ind), ind, tgt, notes, history,
                used_obs.reset_index(drop=True), ind_info, ref)


def _by_reference(target: TargetSpec, model: ModelSpec, rates: Mapping[str, ClassRate],
                  reason: str) -> dict | str:
    """The row of a target given its class's rate of met targets (grade D), or why it has none.
    ``reason`` says why it is not simulated."""
    if target.indicator is None:
        part = not_simulated(target.name_zh)
        if part:
            return part
    family = _family(target.indicator, model) if target.indicator else None
    cls = (target.target_class or (model.families[family].reference_class if family else None)
           or classify(target.name_zh, target.clause))
    if cls is None:
        return (f"{reason}; and it is not delivered by decision (no class of past targets fits "
                "it: give it class: if one does)") if target.indicator else (
            "not a quantity sim can put a probability on: no class of past targets fits its wording "
            f"(give it class: one of {', '.join(targets.CLASSES)}, if one does)")
    rate = rates.get(cls)
    if rate is None:
        return (f"{reason}; and no record of past targets (calibration/ledger/outcomes.csv) to give its "
                "class's rate")
    record = (f"{rate.met} of {rate.n} past targets of class {cls} ({targets.CLASSES[cls].zh}) met"
              if rate.n else f"no past target of class {cls} in the ledger: the rate over all classes")
    why = "" if target.indicator is None else f"; not simulated: {reason}"
    return {"name_zh": target.name_zh, "name_en": target.name_en, "indicator": target.indicator or "",
            "year": target.year, "measure": target.measure, "base_year": target.base_year,
            "comparator": target.comparator, "value": target.value, "unit": target.unit,
            "modality": target.modality or "", "clause": target.clause, "source": target.source,
            "target_class": cls, "probability": rate.probability, "posterior_sd": rate.sd,
            "evidence": "D",
            "basis": f"reference class: {record} (beta-binomial posterior; published records favour "
                     f"successes, so an upper bound){why}"}


def _family(name: str, model: ModelSpec) -> str | None:
    """The family of an indicator, or of what it is built on (new stations: their stock's)."""
    spec = model.indicators[name]
    return spec.family or next((f for f in (_family(o, model) for o in spec.operands) if f), None)


def _evidence(target: TargetSpec, model: ModelSpec, params: ParamsFile, histories: dict[str, _History],
              region: str, obs: pd.DataFrame) -> tuple[str, str]:
    """The evidence grade of a simulated target and what it rests on: A, the region's own history of
    the indicator (at least A_YEARS full years); B, a few own values and the pooled law; C, none of
    its own (or only the plan's stated figures) and the pooled law."""
    data = data_names(model, target.indicator)
    own = obs[(obs["region"] == region) & obs["indicator"].isin(data) & (obs["first_month"] == 1)
              & (obs["last_month"] == 12)]
    years = sorted(set(own["period"]))
    seeds_only = bool(len(own)) and bool(from_seed(own["source"]).all())
    family = _family(target.indicator, model)
    law = f"family {family}'s pooled law" if family else "the pooled law"
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "")
    if len(years) >= A_YEARS and not seeds_only:
        return "A", f"own history: {len(years)} full years ({span})"
    if years and not seeds_only:
        return "B", f"{len(years)} own value{'s' if len(years) > 1 else ''} ({span}) and {law}"
    if years:
        return "C", f"{law} from the plan's stated figures only ({span})"
    start = histories[target.indicator].values
    base = f" from an index of 1 in {int(start.index.max())}" if len(start) else ""
    return "C", f"no value of its own: {law}{base}"


def data_names(model: ModelSpec, indicator: str) -> set[str]:
    """The names in calibration/data of the figures an indicator is built from (its own, its growth
    rate's, its operands' and its processes')."""
    data = set()
    for name in _with_operands([indicator], model):
        ind = model.indicators[name]
        data |= {n for n in (ind.data or name, ind.growth_data) if n}
        data |= {model.processes[p].data or p for p in ind.processes(model)}
    return data


def _with_operands(names: list[str], model: ModelSpec) -> list[str]:
    """The indicators ``names`` and everything they are built on, operands first."""
    out: list[str] = []

    def add(name: str) -> None:
        for operand in model.indicators[name].operands:
            add(operand)
        if name not in out:
            out.append(name)

    for name in dict.fromkeys(names):
        for operand in model.indicators[name].operands:
            add(operand)
    for name in dict.fromkeys(names):
        add(name)
    return out


def _anchor(name: str, model: ModelSpec) -> str:
    """The indicator whose last observation starts ``name``'s simulation: itself, or its first
    operand for a kind that starts with it (entries start with their stock)."""
    spec = model.indicators[name]
    return spec.operands[0] if KINDS[spec.kind].state == "operand" else name


def _no_effect_notes(scenario: ScenarioFile, procs: list[str], assumptions: Assumptions,
                     proc: kernels.Processes, years: list[int]) -> list[str]:
    """Say when a scenario shifts a process in years that are already observed (no effect there)."""
    notes = []
    for s, name in enumerate(scenario.scenarios):
        for p, process in enumerate(procs):
            hit = [years[t] for t in range(1, len(years)) if assumptions.shift[s, p, t] != 0
                   and not np.isnan(proc.pin_b[p, t]) and proc.pin_a[p, t] == 0]
            if hit:
                notes.append(f"scenario {name}: {process} is observed in {', '.join(map(str, hit))}, "
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
    if not ind.growth_data:
        return _History(levels, True, data_name)
    growth = series(obs, region, ind.growth_data)
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


def _anchor_relative_operands(used: list[str], model: ModelSpec, histories: dict[str, _History]) -> None:
    """Operands that enter an indicator only through their growth (a ratio's) and have no
    observation of their own start at 1 in the year of the indicator's last observation."""
    for name in used:
        spec = model.indicators[name]
        if KINDS[spec.kind].relative_operands and not histories[name].values.empty:
            start = int(histories[name].values.index.max())
            for operand in spec.operands:
                if histories[operand].values.empty:
                    data_name = histories[operand].data_name
                    histories[operand] = _History(pd.Series({start: 1.0}), False, data_name)


def _anchor_relative_targets(scenario: ScenarioFile, model: ModelSpec,
                             histories: dict[str, _History]) -> None:
    """A level never observed in the region, targeted only by its change, starts as an index of 1
    in the earliest base year such a target compares with (energy intensity '比2020年降低17%')."""
    for target in scenario.targets.values():
        name = target.indicator
        if (name is None or not histories[name].values.empty
                or KINDS[model.indicators[name].kind].state != "log"):
            continue
        bases = [targets.base_year(t.measure, t.year, t.base_year) for t in scenario.targets.values()
                 if t.indicator == name]
        if None not in bases:
            histories[name] = _History(pd.Series({min(bases): 1.0}), False, histories[name].data_name)


def _why_not(target: TargetSpec, model: ModelSpec, params: ParamsFile, histories: dict[str, _History],
             region: str) -> str | None:
    """Why ``target`` cannot be simulated, or None."""
    if target.indicator is None:
        return f"no model for this quantity yet (model {model.name!r} has no indicator for it)"
    ind = model.indicators[target.indicator]
    for name in reversed(_with_operands([target.indicator], model)):  # its own observations first
        reason = _unobserved(target, model.indicators[name], histories[name], region)
        if reason:
            return reason
    missing = [p for p in ind.processes(model) if p not in params.processes]
    if missing:
        return (f"{params.path.name} has no parameters for process {missing[0]}"
                + (" (too few observations to estimate it)" if missing[0] in params.note
                   else "; run sim calibrate"))
    return None


def _unobserved(target: TargetSpec, ind: IndicatorSpec, hist: _History, region: str) -> str | None:
    """Why the observations of one indicator a target needs do not suffice, or None."""
    kind = KINDS[ind.kind]
    if not kind.needs_observation and target.measure == "level":
        return None  # simulated from its processes, observed or not
    if hist.values.empty:
        extra = f" or {ind.growth_data}" if ind.growth_data else ""
        return f"no observation of {hist.data_name}{extra} for {region} in calibration/data"
    if target.indicator == hist.data_name and target.measure == "level" and not hist.scaled:
        return (f"{hist.data_name} for {region} is known only through its yearly changes; a level "
                "target needs one observed level")
    start = int(hist.values.index.max())
    last = hist.values[start]
    impossible = kind.check_value(last, state=True) if hist.scaled else None
    if impossible:
        return f"the last observed {hist.data_name} for {region} ({start}) is {last:g}; {impossible}"
    base = targets.base_year(target.measure, target.year, target.base_year)
    if base is not None and base <= start and base not in hist.values.index:
        return f"no observation of {hist.data_name} for {region} in {base}, the target's base year"
    if kind.needs_observation and target.year <= start and target.year not in hist.values.index:
        return f"no observation of {hist.data_name} for {region} in {target.year}"
    return None


def _process_group(procs: list[str], model: ModelSpec, params: ParamsFile, region: str,
                   obs: pd.DataFrame, years: list[int], notes: list[str]) -> kernels.Processes:
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
    uncertain = np.array([bool(np.any(theta_chol[p] != 0.0)) for p in range(n_p)], dtype=np.bool_)
    fixed = np.array([_ar_params(*theta_hat[p]) for p in range(n_p)]).reshape(n_p, 4)
    pinned = ~np.isnan(pin_b)
    last_pin = np.array([np.flatnonzero(pinned[p]).max(initial=0) for p in range(n_p)], dtype=np.int64)
    default_df = params.shocks.df.value if params.shocks.df is not None else kernels.GAUSSIAN_DF
    t_const, t_group = kernels.t_groups(np.array([params.processes[name].df.value if params.processes[name].df
                                                  else default_df for name in procs]))
    return kernels.Processes(theta_hat, theta_chol, uncertain, fixed, shock_chol, t_const, t_group, pin_a,
                             pin_b, pin_c,
                             np.argwhere(pin_c.T != 0.0).astype(np.int64), last_pin)


def _ar_params(mu: float, atanh_phi: float, log_sigma: float) -> tuple[float, float, float, float]:
    """(mu, phi, sigma, stationary sd) of a process without sampling error, as the kernel's
    ``ar_params`` computes them for drawn ones."""
    e = math.exp(min(max(atanh_phi, -20.0), 20.0))
    sigma = math.exp(min(max(log_sigma, -kernels.LOG_SIGMA_BOUND), kernels.LOG_SIGMA_BOUND))
    return mu, (e * e - 1.0) / (e * e + 1.0), sigma, sigma * 0.5 * (e + 1.0 / e)


def _assumptions(scenario: ScenarioFile, procs: list[str], indicators: list[str], model: ModelSpec,
                 years: list[int]) -> Assumptions:
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
                compounding = KINDS[model.indicators[name].kind].shock == "percent"
                by = math.log1p(shock.by / 100) if compounding else shock.by
                level_shock[s, indicators.index(name), years.index(shock.year)] = by
        for name, over in spec.override.items():
            if name in procs:
                theta_over[s, procs.index(name)] = (over.mean if over.mean is not None else np.nan,
                                                    over.phi if over.phi is not None else np.nan,
                                                    over.sigma if over.sigma is not None else np.nan)
    return Assumptions(shift, vol, theta_over, level_shock)


def _scenario_group(a: Assumptions, proc: kernels.Processes, ind: kernels.Indicators) -> kernels.Scenarios:
    """The kernel's scenario arrays, with what scenarios have in common so that each path computes
    it once. For scenario s: ``dev_same[s, p]`` is the first scenario whose deviations from the mean
    of process p it shares (they differ by mean shifts after the process's pinned years only, so
    their paths differ by the shifts); ``ind_same[s, m]`` the first whose indicator m is identical
    (the same driver paths, level shocks and operands; counts draw their own). Each is s itself
    when no earlier scenario qualifies."""
    n_s, n_p, _ = a.shift.shape
    n_m = ind.kind.size
    dev_same = np.tile(np.arange(n_s, dtype=np.int64)[:, None], (1, n_p))
    x_same = dev_same.copy()
    for s in range(n_s):
        for p in range(n_p):
            for r in range(s):  # the first one wins
                over = (a.theta_over[s, p] == a.theta_over[r, p]) | (np.isnan(a.theta_over[s, p])
                                                                      & np.isnan(a.theta_over[r, p]))
                pinned = slice(0, proc.last_pin[p] + 1)
                if (over.all() and (a.vol[s, p] == a.vol[r, p]).all()
                        and (a.shift[s, p, pinned] == a.shift[r, p, pinned]).all()):
                    if dev_same[s, p] == s:
                        dev_same[s, p] = r
                    if (a.shift[s, p] == a.shift[r, p]).all():
                        x_same[s, p] = r
                        break
    ind_same = np.tile(np.arange(n_s, dtype=np.int64)[:, None], (1, n_m))
    for s in range(n_s):
        for m in range(n_m):
            if BY_CODE[ind.kind[m]].draws:
                continue
            drivers = ind.drv_p[ind.drv_ptr[m]:ind.drv_ptr[m + 1]]
            operands = ind.operand[m][ind.operand[m] >= 0]
            for r in range(s):
                if ((x_same[s, drivers] == x_same[r, drivers]).all()
                        and (a.level_shock[s, m] == a.level_shock[r, m]).all()
                        and (ind_same[s, operands] == ind_same[r, operands]).all()):
                    ind_same[s, m] = r
                    break
    copy = np.zeros((n_s, n_m), np.bool_)
    for s in range(n_s):
        for m in range(n_m):
            if ind_same[s, m] == s:
                copy[s, ind.operand[m][ind.operand[m] >= 0]] = True
    copy &= ind_same != np.arange(n_s)[:, None]
    shock = a.level_shock.copy()  # levels: a factor; rates and shares: points
    for m in range(n_m):
        if BY_CODE[ind.kind[m]].shock == "percent":
            shock[:, m, :] = np.vectorize(math.exp)(a.level_shock[:, m, :])
    return kernels.Scenarios(a.shift, a.vol, a.theta_over, shock, dev_same, ind_same, copy)


def _sparse_drivers(kinds: np.ndarray, drivers: np.ndarray, proc_pct: np.ndarray
                    ) -> tuple[np.ndarray, ...]:
    """Each indicator's drivers as a list (CSR: ``ptr``, process, coefficient, mode), so the path
    loop touches only the processes that move it. Levels compound multiplicatively: a growth rate in
    % with coefficient 1 multiplies by 1 + x/100, which needs no logarithm or exponential."""
    ptr, proc, coef, mode = [0], [], [], []
    for m, row in enumerate(drivers):
        compounds = BY_CODE[kinds[m]].compounds
        for p in np.flatnonzero(row):
            c = row[p]
            proc.append(p)
            coef.append(c)
            if compounds == "factor":
                mode.append((kernels.MUL_PCT if c == 1.0 else kernels.POW_PCT) if proc_pct[p]
                            else kernels.EXP_LINEAR)
            elif compounds == "log":
                mode.append(kernels.LOG_PCT if proc_pct[p] else kernels.LINEAR)
            else:
                mode.append(kernels.LINEAR)
        ptr.append(len(proc))
    return (np.array(ptr, np.int64), np.array(proc, np.int64), np.array(coef, np.float64),
            np.array(mode, np.int64))


def _indicator_group(indicators: list[str], model: ModelSpec, procs: list[str],
                     histories: dict[str, _History], years: list[int]) -> kernels.Indicators:
    n_m, n_t = len(indicators), len(years)
    kind = np.array([KINDS[model.indicators[name].kind].code for name in indicators], np.int64)
    operand = np.full((n_m, 2), -1, np.int64)
    link = np.full((n_m, 2), -1, np.int64)
    drivers = np.zeros((n_m, len(procs)))
    start = np.full(n_m, -1, np.int64)
    start_level = np.zeros(n_m)
    fixed = np.full((n_m, n_t), np.nan)
    for m, name in enumerate(indicators):
        spec = model.indicators[name]
        k = KINDS[spec.kind]
        for process, coef in spec.drivers.items():
            drivers[m, procs.index(process)] = coef
        for i, other in enumerate(spec.operands):
            operand[m, i] = indicators.index(other)
        if spec.entry:
            link[m] = procs.index(spec.entry), procs.index(spec.exit) if spec.exit else -1
        if k.state == "none":
            continue  # computed from its (pinned) processes in every year
        hist = histories[name].values
        last = int(histories[_anchor(name, model)].values.index.max())
        start[m] = last - years[0]
        for t, year in enumerate(years):
            if year <= last and year in hist.index:
                fixed[m, t] = hist[year]
        value = hist[last] if last in hist.index else math.nan
        start_level[m] = math.log(value / (100 - value)) if k.state == "logit" else value
    proc_pct = np.array([model.processes[name].unit == "%" for name in procs])
    return kernels.Indicators(kind, *_sparse_drivers(kind, drivers, proc_pct), operand, link, start,
                              start_level, fixed)


def _target_group(live: dict[str, TargetSpec], model: ModelSpec, histories: dict[str, _History],
                  indicators: list[str], years: list[int]) -> tuple[kernels.Targets, pd.DataFrame]:
    first = years[0]
    info = []
    cols: dict[str, list] = {k: [] for k in kernels.Targets._fields}
    for tid, target in live.items():
        ind = model.indicators[target.indicator]
        hist = histories[target.indicator]
        value = _in_model_unit(target.value, target, ind)
        scale = target.value / value if value else 1.0  # model unit -> the target's unit
        last_seen = max((y for y in hist.values.index if y <= target.year), default=None)
        tol = targets.tolerance(target.comparator, target.value, target.unit, target.tolerance)
        model_tol = _in_model_unit(tol, target, ind) if tol is not None else None
        cmp, threshold = targets.comparison(target.comparator, value, model_tol, ind.better)
        base = targets.base_year(target.measure, target.year, target.base_year)
        base_t, base_value = -1, math.nan
        if base is not None:
            if base >= first:
                base_t = base - first
            else:
                base_value = hist.values[base]
        for key, v in zip(kernels.Targets._fields, (indicators.index(target.indicator), target.year - first,
                                                    targets.MEASURES[target.measure].code, base_t,
                                                    base_value, cmp, threshold), strict=True):
            cols[key].append(v)
        observed = hist.values.to_dict() if hist.scaled or target.measure != "level" else {}
        info.append({"target": tid, "indicator": target.indicator, "year": target.year,
                     "measure": target.measure, "base_year": target.base_year,
                     "comparator": target.comparator, "value": target.value, "unit": target.unit,
                     "tolerance": tol, "modality": target.modality or "", "name_zh": target.name_zh,
                     "name_en": target.name_en, "clause": target.clause, "source": target.source,
                     "last_year": last_seen,
                     "last_value": targets.observed(observed, last_seen, target.measure,
                                                    targets.base_year(target.measure, last_seen or 0,
                                                                      target.base_year)) * scale,
                     "scale": scale})
    floats = ("base_value", "threshold")
    tgt = kernels.Targets(**{k: np.asarray(v, dtype=np.float64 if k in floats else np.int64)
                             for k, v in cols.items()})
    return tgt, pd.DataFrame(info).set_index("target")


def _in_model_unit(x: float, target: TargetSpec, ind: IndicatorSpec) -> float:
    """``x`` in the target's unit, in the indicator's (levels in 万亿元 become 亿元)."""
    if target.measure == "level" and ind.unit is not None and KINDS[ind.kind].dimension is None:
        return units.convert(x, target.unit, ind.unit)
    return x
