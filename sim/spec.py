"""The three hand-edited inputs, validated: model files, parameter files and scenario files.

Each loader returns a pydantic object that also remembers its path and the line of every key, so
that checks made later (a target naming an indicator the model lacks) still point at a line.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, Strict, field_validator, model_validator

from sim import bounds, targets, units
from sim.errors import SimError
from sim.kinds import FIELDS, KINDS
from sim.yamlio import Lines, error_at, load_yaml, validate

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
# numbers are numbers: 'yes' or "7" where a number belongs is an error, not 1 or 7
Finite = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Year = Annotated[int, Strict(), Field(ge=bounds.YEAR.low, le=bounds.YEAR.high)]
Volatility = Annotated[float, Strict(), Field(gt=bounds.VOLATILITY.low, le=bounds.VOLATILITY.high,
                                              allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _File(_Strict):
    """A loaded input file: knows where it came from, to point errors at lines."""

    _path: Path = PrivateAttr(default=Path("<memory>"))
    _lines: Lines = PrivateAttr(default_factory=dict)

    @property
    def path(self) -> Path:
        return self._path

    def error(self, loc: tuple, message: str) -> SimError:
        """An error at key path ``loc`` of this file."""
        return error_at(self._path, self._lines, loc, message)

    @classmethod
    def load(cls, path: str | Path):  # noqa: ANN206 - returns cls
        path = Path(path)
        data, lines = load_yaml(path)
        if not isinstance(data, dict):
            raise SimError("the file must be a mapping of keys to values", file=path, line=1)
        obj = validate(cls, data, lines, path)
        obj._path, obj._lines = path, lines
        return obj


# --- models/<model>.yaml -------------------------------------------------------------------------

class ProcessSpec(_Strict):
    """A latent AR(1) process. Its unit says how a level compounds it: '%' as a factor (1 + x/100),
    'log' and 'logit' as an increment of the log or logit."""

    name_zh: Text
    name_en: Text
    unit: Literal["%", "log", "logit"]
    scope: Literal["regional", "national"] = Field(
        default="regional", description="national: observed in the data under region China")
    data: Name | None = Field(default=None, description="name in calibration/data; default: same")
    exceptional_years: dict[Year, Text] = Field(
        default_factory=dict, description="years (and why) whose values do not enter the process's fit: "
        "one series of ten years cannot tell such a year's tail from its scale")
    family: Name | None = Field(default=None, description="fitted with the family's other members")
    moves: Name | None = Field(default=None, description="the indicator whose family law it is (generated)")
    description: str = ""


class FamilySpec(_Strict):
    """Indicators that behave alike, whose laws are fitted together: every series of every member in
    every region, with random effects for the indicator and the region (sim.pooling)."""

    name_zh: Text
    name_en: Text
    law: Literal["log", "logit", "rate"] = Field(description="what the law describes: the yearly growth of "
                                                 "the log of a level, the change of a share's logit, a rate")
    reference_class: Literal[tuple(targets.CLASSES)] | None = Field(
        default=None, description="the class of past targets (calibration/ledger/outcomes.csv) a member "
        "falls back on where its law cannot be used")
    description: str = ""


class IndicatorSpec(_Strict):
    """What a target is about; its ``kind`` (sim.kinds) says how it is built: from processes
    (``drivers``), from a count's ``entry`` and ``exit`` rates, or from other indicators
    (``operands``)."""

    name_zh: Text
    name_en: Text
    kind: str
    unit: str | None = Field(default=None, description="None for a level known only up to scale")
    better: Literal["higher", "lower"] = "higher"
    drivers: dict[Name, Finite] = Field(default_factory=dict)
    entry: Name | None = None
    exit: Name | None = None
    operands: list[Name] = Field(default_factory=list)
    family: Name | None = Field(default=None, description="a family whose law moves it (with no drivers of "
                                "its own, a process of its own is fitted on the family)")
    lever: Name | None = Field(default=None, description="the process 'required growth' shifts")
    data: Name | None = Field(default=None, description="name in calibration/data; default: same")
    growth_data: Name | None = Field(default=None, description="its yearly % change in the data")
    description: str = ""

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
        return kind

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str | None) -> str | None:
        if unit is not None and unit not in units.UNITS:
            raise ValueError(f"unknown unit {unit!r}; known: {', '.join(units.UNITS)}")
        return unit

    @field_validator("drivers")
    @classmethod
    def _nonzero(cls, drivers: dict[str, float]) -> dict[str, float]:
        for proc, coef in drivers.items():
            if coef == 0:
                raise ValueError(f"the coefficient of driver {proc!r} is 0; remove the driver instead")
        return drivers

    @model_validator(mode="after")
    def _kind_fields(self) -> IndicatorSpec:
        kind = KINDS[self.kind]
        for need in kind.needs:
            if not getattr(self, need):
                raise ValueError(f"a {self.kind} indicator needs {need}")
        given = [f for f in FIELDS if getattr(self, f) and f not in kind.needs + kind.allows]
        if given:
            raise ValueError(f"{given[0]} is not for a {self.kind} indicator")
        if kind.operands and len(self.operands) != kind.operands:
            raise ValueError(f"a {self.kind} indicator has {kind.operands} operand(s), "
                             f"not {len(self.operands)}")
        if kind.dimension and self.unit is not None and units.dimension(self.unit) != kind.dimension:
            raise ValueError(f"a {self.kind} is measured in {kind.dimension}, not in {self.unit!r}")
        return self

    def processes(self, model: ModelSpec) -> list[str]:
        """The processes this indicator is built from, its operands' included."""
        own = [*self.drivers, *(p for p in (self.entry, self.exit) if p)]
        inherited = [p for name in self.operands for p in model.indicators[name].processes(model)]
        return list(dict.fromkeys([*inherited, *own]))


class ModelSpec(_File):
    name: Name
    description: str = ""
    families: dict[Name, FamilySpec] = Field(default_factory=dict)
    processes: dict[Name, ProcessSpec] = Field(min_length=1)
    indicators: dict[Name, IndicatorSpec] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _family_processes(cls, data: object) -> object:
        """An indicator of a family with no drivers of its own gets one process, fitted on the family:
        the growth of its log (a level), the change of its logit (a share) or the rate itself."""
        if not isinstance(data, dict) or not isinstance(data.get("indicators"), dict):
            return data
        processes = dict(data.get("processes") or {})
        indicators = {}
        for name, ind in data["indicators"].items():
            if isinstance(ind, dict) and ind.get("family") and not any(ind.get(f) for f in FIELDS) \
                    and ind.get("kind") in KINDS and KINDS[ind["kind"]].law:
                law = KINDS[ind["kind"]].law
                process = {"rate": name, "log": f"{name}_log_growth", "logit": f"{name}_change"}[law]
                if process not in processes:  # else named twice: ModelSpec.load says so
                    processes[process] = {
                        "name_zh": f"{ind.get('name_zh', name)}(同类规律)",
                        "name_en": f"{ind.get('name_en', name)} (family law)",
                        "unit": {"log": "log", "logit": "logit", "rate": "%"}[law], "family": ind["family"],
                        "moves": name, **({"data": ind["data"]} if ind.get("data") else {})}
                    ind = {**ind, "drivers": {process: 1}}
            indicators[name] = ind
        return {**data, "processes": processes, "indicators": indicators}

    @classmethod
    def load(cls, path: str | Path) -> ModelSpec:
        model = super().load(path)
        for name, proc in model.processes.items():
            if proc.family is not None and proc.family not in model.families:
                raise model.error(("processes", name, "family"), f"no family named {proc.family!r}; "
                                  f"families: {', '.join(model.families) or 'none'}")
        for name, ind in model.indicators.items():
            if ind.family is not None and not ind.drivers:
                raise model.error(("indicators", name, "family"), "its family law would be a process named "
                                  "like one the file already has; give it drivers, or rename the process")
            if ind.family is not None:
                family = model.families.get(ind.family)
                if family is None:
                    raise model.error(("indicators", name, "family"), f"no family named {ind.family!r}; "
                                      f"families: {', '.join(model.families) or 'none'}")
                if KINDS[ind.kind].law != family.law:
                    raise model.error(("indicators", name, "family"), f"a {ind.kind} cannot follow the "
                                      f"{family.law} law of family {ind.family!r}")
            for field in ("drivers", "entry", "exit"):
                for proc in (getattr(ind, field) or {}) if field == "drivers" else [getattr(ind, field)]:
                    if proc is not None and proc not in model.processes:
                        loc = ("indicators", name, field) + ((proc,) if field == "drivers" else ())
                        raise model.error(loc, f"no process named {proc!r}; processes: "
                                          f"{', '.join(model.processes)}")
            wanted = KINDS[ind.kind].operand_kinds
            for i, other in enumerate(ind.operands):
                if other not in model.indicators or other == name:
                    raise model.error(("indicators", name, "operands", i),
                                      f"no other indicator named {other!r}")
                if model.indicators[other].kind not in wanted:
                    raise model.error(("indicators", name, "operands", i),
                                      f"{other!r} is a {model.indicators[other].kind}; a {ind.kind} is built "
                                      f"on {' or '.join(wanted)} indicators")
        return model


# --- calibration/params/<region>.yaml ------------------------------------------------------------

class Estimate(_Strict):
    """A number with its uncertainty and where it comes from."""

    value: Finite
    std_error: Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)] = 0.0
    source: Text


class ProcessParams(_Strict):
    mean: Estimate
    phi: Estimate
    sigma: Estimate
    covariance: list[list[Finite]] | None = Field(
        default=None, description="3x3 sampling covariance of (mean, atanh(phi), log(sigma))")
    df: Estimate | None = Field(default=None, description="Student-t degrees of freedom of its shocks "
                                "(above 1000: Gaussian); default: the file's shocks.df")
    within_year_sd: Estimate | None = Field(
        default=None, description="sd of a month's growth around its year's (sim.conditioning)")
    sample: str | None = None
    diagnostics: dict[Name, Finite] = Field(default_factory=dict)
    shrinkage: Annotated[float, Strict(), Field(ge=0, le=1)] | None = Field(
        default=None, description="weight of the pool in the region's mean (empirical Bayes)")
    borrowed: list[Literal["mean", "phi", "sigma", "within_year_sd"]] = Field(default_factory=list)
    note: str = ""

    @model_validator(mode="after")
    def _domain(self) -> ProcessParams:
        if not -1 < self.phi.value < 1:
            raise ValueError("phi must lie strictly between -1 and 1 (a stationary AR(1)); "
                             f"got {self.phi.value}")
        if self.sigma.value <= 0:
            raise ValueError(f"sigma must be positive; got {self.sigma.value}")
        cov = self.covariance
        if cov is not None and (len(cov) != 3 or any(len(row) != 3 for row in cov)):
            raise ValueError("covariance must be a 3x3 matrix")
        if cov is not None and not all(math.isclose(cov[i][j], cov[j][i], rel_tol=1e-6, abs_tol=1e-12)
                                       for i in range(3) for j in range(i)):
            raise ValueError("covariance must be symmetric (row i, column j = row j, column i)")
        if cov is not None and not all(cov[i][i] > 0 for i in range(3)):
            raise ValueError("covariance: the variances on its diagonal must be positive")
        if self.df is not None and self.df.value <= 2:
            raise ValueError(f"df must exceed 2 for the shocks to have a variance; got {self.df.value}")
        if self.within_year_sd is not None and self.within_year_sd.value <= 0:
            raise ValueError(f"within_year_sd must be positive; got {self.within_year_sd.value}")
        return self


class Shocks(_Strict):
    df: Estimate | None = Field(default=None, description="Student-t degrees of freedom of processes "
                                "without their own (above 1000: Gaussian; none: Gaussian)")
    correlation: dict[Name, dict[Name, Finite]] = Field(default_factory=dict)
    source: str = ""

    @field_validator("df")
    @classmethod
    def _df(cls, df: Estimate | None) -> Estimate | None:
        if df is not None and df.value <= 2:
            raise ValueError(f"df must exceed 2 for the shocks to have a variance; got {df.value}")
        return df


class ParamsFile(_File):
    region: Text
    model: Name
    method: Text
    as_of: dt.date | None = None
    shocks: Shocks
    processes: dict[Name, ProcessParams] = Field(min_length=1)
    note: str = ""

    @classmethod
    def load(cls, path: str | Path) -> ParamsFile:
        params = super().load(path)
        for a, row in params.shocks.correlation.items():
            for b, r in row.items():
                if not -1 < r < 1 or a == b:
                    raise params.error(("shocks", "correlation", a, b),
                                       "a correlation between two different processes lies in (-1, 1)")
        return params


# --- scenarios/<region>-<year>.yaml --------------------------------------------------------------

class TargetSpec(_Strict):
    """One published target. measure: the indicator itself ('level'), its change on the previous
    year in % ('growth'), its change since base_year in % ('change_since') or in percentage points
    ('difference_since')."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name_zh: Text
    name_en: Text
    indicator: Name | None = Field(default=None, description="the model's indicator; none: a target "
                                   "delivered by decision, given the rate of its class of past targets")
    target_class: Literal[tuple(targets.CLASSES)] | None = Field(
        default=None, alias="class",
        description="its class of past targets (default: its family's, else read from its wording)")
    year: Year
    measure: Literal[tuple(targets.MEASURES)] = "level"
    base_year: Year | None = None
    comparator: Literal[tuple(targets.COMPARATORS)]
    value: Finite
    unit: str
    tolerance: Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)] | None = None
    modality: Literal["力争", "争取", "努力"] | None = None
    clause: Text
    source: Text

    @model_validator(mode="after")
    def _consistent(self) -> TargetSpec:
        if self.unit not in units.UNITS:
            raise ValueError(f"unknown unit {self.unit!r}; known: {', '.join(units.UNITS)}")
        since = self.measure in ("change_since", "difference_since")
        if since and self.base_year is None:
            raise ValueError(f"measure {self.measure!r} needs base_year")
        if since and self.base_year >= self.year:
            raise ValueError("base_year must come before year")
        if not since and self.base_year is not None:
            raise ValueError(f"base_year is only for change_since and difference_since, not {self.measure!r}")
        if self.tolerance is not None and self.comparator != "about":
            raise ValueError("tolerance is only for comparator 'about'")
        return self


class Shift(_Strict):
    """Percentage points (or the process's own unit) added to a process's mean, from a year on."""

    by: Finite
    from_year: Year | None = Field(default=None, alias="from")


class Scale(_Strict):
    """A multiplier of a process's shock standard deviation, from a year on."""

    by: Volatility
    from_year: Year | None = Field(default=None, alias="from")


class Shock(_Strict):
    """A one-off shock to an indicator in one year: % of a level (it carries on, levels compound),
    percentage points of a share (it carries on) or of a rate (that year only)."""

    year: Year
    by: Finite


class Override(_Strict):
    """Replaces calibrated parameters of a process in one scenario (fixed: no sampling error)."""

    mean: Finite | None = None
    phi: Annotated[float, Strict(), Field(gt=-1, lt=1)] | None = None
    sigma: Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)] | None = None


class ScenarioSpec(_Strict):
    """Assumptions on top of the calibrated processes. ``base`` names a scenario whose assumptions
    this one starts from (its own entries win, key by key)."""

    weight: Annotated[float, Strict(), Field(ge=0, le=1, allow_inf_nan=False)]
    base: Name | None = None
    description: str = ""
    shift: dict[Name, Finite | Shift] = Field(default_factory=dict)
    volatility: dict[Name, Volatility | Scale] = Field(default_factory=dict)
    shock: dict[Name, Shock] = Field(default_factory=dict)
    override: dict[Name, Override] = Field(default_factory=dict)

    def shifts(self) -> dict[str, Shift]:
        return {k: v if isinstance(v, Shift) else Shift(by=v) for k, v in self.shift.items()}

    def scales(self) -> dict[str, Scale]:
        return {k: v if isinstance(v, Scale) else Scale(by=v) for k, v in self.volatility.items()}


class ScenarioFile(_File):
    region: Text
    year: Year
    model: Text
    params: Text | None = None
    title: str = ""
    targets: dict[Name, TargetSpec] = Field(min_length=1)
    scenarios: dict[Name, ScenarioSpec] = Field(min_length=1)

    @field_validator("scenarios")
    @classmethod
    def _weights(cls, scenarios: dict[str, ScenarioSpec]) -> dict[str, ScenarioSpec]:
        total = sum(s.weight for s in scenarios.values())
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"the scenario weights add up to {total:g}; make them add up to 1")
        reserved = {"weighted", "all"} & set(scenarios)
        if reserved:
            raise ValueError(f"{reserved.pop()!r} is a reserved name; call the scenario something else")
        return scenarios

    def check_against(self, model: ModelSpec) -> None:
        """Every name the scenario uses must exist in the model, with a compatible unit."""
        for name, target in self.targets.items():
            if target.indicator is None:
                continue  # listed as not simulated: no model for it
            ind = model.indicators.get(target.indicator)
            if ind is None:
                raise self.error(("targets", name, "indicator"),
                                 f"the model {model.name!r} has no indicator {target.indicator!r}; "
                                 f"it has: {', '.join(model.indicators)}")
            kind = KINDS[ind.kind]
            if targets.MEASURES[target.measure].code == targets.PCT_CHANGE and kind.lower is None:
                raise self.error(("targets", name, "measure"),
                                 f"{target.indicator} is a {kind.name} that can be negative: a % change of "
                                 "it means nothing; a target on its value has measure: level")
            wanted = targets.dimension(kind, ind.unit, target.measure)
            if units.dimension(target.unit) != wanted:
                raise self.error(("targets", name, "unit"),
                                 f"{target.measure} of {target.indicator} is measured in {wanted}, "
                                 f"not {target.unit!r}")
            impossible = targets.impossible(kind, target.measure, target.value)
            if impossible:
                raise self.error(("targets", name, "value"), f"{impossible}; got {target.value:g}")
        for sname, scen in self.scenarios.items():
            for field in ("shift", "volatility", "override"):
                for proc in getattr(scen, field):
                    if proc not in model.processes:
                        raise self.error(("scenarios", sname, field, proc),
                                         f"no process {proc!r} in model {model.name!r}; "
                                         f"processes: {', '.join(model.processes)}")
            for proc, how in scen.shifts().items():
                bound = bounds.shift(model.processes[proc].unit)
                if bound.problem(how.by):
                    written = isinstance(scen.shift[proc], Shift)
                    loc = ("scenarios", sname, "shift", proc) + (("by",) if written else ())
                    raise self.error(loc, f"{bound.what} {bound.problem(how.by)} (the process is in "
                                     f"{model.processes[proc].unit})")
            for proc, over in scen.override.items():
                bound = bounds.shift(model.processes[proc].unit)
                if over.mean is not None and bound.problem(over.mean):
                    raise self.error(("scenarios", sname, "override", proc, "mean"),
                                     f"a mean {bound.problem(over.mean)} (in {model.processes[proc].unit})")
            for ind in scen.shock:
                kind = KINDS[model.indicators[ind].kind] if ind in model.indicators else None
                if kind is None or kind.shock is None:
                    shockable = [n for n, i in model.indicators.items() if KINDS[i.kind].shock]
                    raise self.error(("scenarios", sname, "shock", ind),
                                     f"no indicator {ind!r} that a shock can move in model {model.name!r}; "
                                     f"these can: {', '.join(shockable)}")
                by = scen.shock[ind].by
                if kind.shock == "percent" and by <= -100:
                    raise self.error(("scenarios", sname, "shock", ind, "by"),
                                     f"a {kind.name} cannot fall by 100% or more")
                if bounds.SHOCK.problem(by):
                    raise self.error(("scenarios", sname, "shock", ind, "by"),
                                     f"{bounds.SHOCK.what} {bounds.SHOCK.problem(by)}")

    def resolved(self) -> dict[str, ScenarioSpec]:
        """Each scenario with the assumptions it inherits through ``base`` merged in."""
        out: dict[str, ScenarioSpec] = {}

        def resolve(name: str, chain: tuple[str, ...]) -> ScenarioSpec:
            if name in out:
                return out[name]
            scen = self.scenarios[name]
            if scen.base is None:
                out[name] = scen
                return scen
            if scen.base not in self.scenarios:
                raise self.error(("scenarios", name, "base"), f"no scenario {scen.base!r} to start from; "
                                 f"scenarios: {', '.join(self.scenarios)}")
            if scen.base in chain:
                raise self.error(("scenarios", name, "base"),
                                 f"scenarios inherit in a circle: {' -> '.join((*chain, scen.base))}")
            parent = resolve(scen.base, (*chain, scen.base))
            merged = {field: {**getattr(parent, field), **getattr(scen, field)}
                      for field in ("shift", "volatility", "shock", "override")}
            out[name] = scen.model_copy(update=merged)
            return out[name]

        for name in self.scenarios:
            resolve(name, (name,))
        return out


def find_root(path: Path) -> Path:
    """The project folder: the nearest folder above ``path`` holding models/ and calibration/."""
    for folder in path.resolve().parents:
        if (folder / "models").is_dir() and (folder / "calibration").is_dir():
            return folder
    raise SimError("cannot find the project folder (one holding models/ and calibration/) above "
                   "this file; keep scenario files in the project's scenarios/ folder", file=path)
