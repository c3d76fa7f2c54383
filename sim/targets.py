"""What a target means: its measure, its comparator, 左右, and how each is said.

One place for the semantics every stage shares. A target compares a **measure** of an indicator in
its year with a value:

- ``level``: the indicator itself;
- ``growth``: its % change on the year before;
- ``change_since``: its % change since ``base_year`` ("比2020年降低17%");
- ``difference_since``: its change since ``base_year`` in percentage points ("提高1个百分点").

**Comparators**: ``>=`` (以上, 达到, 不低于), ``>`` (突破, 超过), ``<=`` (以下, 不超过), ``<``, and ``about``
(左右). Targets are set on a half-point grid (6%, 6.5%, 7% …), so "6.5%左右" is met by anything
closer to 6.5 than to the step below it in the indicator's good direction: a tolerance of 0.25 in
the target's unit for % and percentage points, 1% of the value otherwise; ``tolerance:`` on a
target overrides it. The kernel evaluates the same codes (``sim.kernels._target_met``); this
module's :func:`measure_of` and :func:`met` are the NumPy statement it is tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim import units
from sim.kinds import Kind

# measure and comparator codes the kernel reads
VALUE, PCT_CHANGE, DIFFERENCE = 0, 1, 2
GE, GT, LE, LT = 0, 1, 2, 3

ABOUT_TOLERANCE = {"percent": 0.25, "pp": 0.25}
ABOUT_TOLERANCE_RELATIVE = 0.01


@dataclass(frozen=True)
class Measure:
    code: int
    dimension: str | None  # the unit a target of this measure is stated in; None: the indicator's
    has_base: bool
    en: str
    zh: str


MEASURES: dict[str, Measure] = {
    "level": Measure(VALUE, None, False, "level", "水平"),
    "growth": Measure(PCT_CHANGE, "percent", True, "growth on the year before", "比上年增长"),
    "change_since": Measure(PCT_CHANGE, "percent", True, "% change since {base}", "比{base}年变化(%)"),
    "difference_since": Measure(DIFFERENCE, "pp", True, "change since {base} (pp)", "比{base}年变化(百分点)"),
}


@dataclass(frozen=True)
class Comparator:
    code: int | None  # None: 'about', compiled into >= or <= by the good direction
    symbol: str
    en: str
    zh: str


COMPARATORS: dict[str, Comparator] = {
    ">=": Comparator(GE, "≥", "at least", "以上"),
    ">": Comparator(GT, ">", "over", "突破"),
    "<=": Comparator(LE, "≤", "at most", "以下"),
    "<": Comparator(LT, "<", "below", "低于"),
    "about": Comparator(None, "≈", "about", "左右"),
}


@dataclass(frozen=True)
class TargetClass:
    """A class of targets a government delivers by decision, whose record of past targets
    (calibration/ledger/outcomes.csv) gives the probability that one is met."""

    en: str
    zh: str
    words: str  # a regular expression of the words that mark the class in a target's clause


CLASSES: dict[str, TargetClass] = {  # in the order the words are tried
    "event": TargetClass("events held and their reach", "活动与对接",
                         r"场次|活动|对接|家次|展会|论坛|大赛|服务企业"),
    "investment": TargetClass("money planned or attracted", "计划投资与招商", r"投资|资金|招商|意向合作金额"),
    "firm_programme": TargetClass("firms reached by a programme", "企业帮扶与改造",
                                  r"上云|智改数转|数字化改造|节能诊断|节能监察|搬迁|关改搬转|带动.*企业|科技副总|增产扩能|新增规上"),
    "infrastructure": TargetClass("infrastructure built", "基础设施", r"基站|千兆|机架|算力|宽带|智算"),
    "coverage": TargetClass("rates and shares", "覆盖率与比重", r"覆盖率|通达率|利用率|比重|占比"),
    "project": TargetClass("projects and products", "项目与产品",
                           r"项目|首台套|四首|场景|增长点|产品|解决方案|片区|治理土地|清单"),
    "industry_scale": TargetClass("the output of an industry", "产业规模",
                                  r"产业规模|产业.*亿|营业收入|产值|规模总量"),
    "designation": TargetClass("designations and demonstrations", "认定与示范",
                               r"示范|标杆|认定|创建|培育|争创|入选|工厂|中心|实验室|集群|平台|城市|园区|冠军|小巨人|"
                               r"专精特新|领跑者|产业大脑|企业"),
}
# what a target can be that no probability fits, and how to say why
NOT_SIMULATED = {
    r"每个|各(市|县|区)|功能区聚焦": "not one quantity: it sets a number for each city, county or zone",
    r"首季|一季度|上半年|前三季度": "a figure for part of the year: sim simulates whole years",
    r"(高于|快于)全(省|市)": "a gap of some firms' growth (the parks') to the region's: the parks' "
                         "figures are not published",
}


def base_year(measure: str, year: int, given: int | None) -> int | None:
    """The year a measure compares with: the year before for growth, ``given`` for the others."""
    return year - 1 if measure == "growth" else given


def dimension(kind: Kind, unit: str | None, measure: str) -> str:
    """The dimension a target of ``measure`` on an indicator of ``kind`` and ``unit`` is stated in."""
    wanted = MEASURES[measure].dimension or kind.dimension
    if wanted is not None:
        return wanted
    if unit is None:
        return "an unknown scale (only its changes can be targeted)"
    return units.dimension(unit)


def impossible(kind: Kind, measure: str, value: float) -> str | None:
    """Why no value of an indicator of ``kind`` could ever be compared with ``value``, if so."""
    positive = kind.lower is not None
    if measure == "level":
        return kind.check_value(value) if kind.upper is not None or value < 0 else None
    if measure in ("growth", "change_since") and positive and value <= -100:
        return "a change of -100% or less is impossible"
    return None


def tolerance(comparator: str, value: float, unit: str, given: float | None) -> float | None:
    """The tolerance of 'about' in the target's unit (None for the other comparators)."""
    if comparator != "about":
        return None
    if given is not None:
        return given
    return ABOUT_TOLERANCE.get(units.dimension(unit), abs(value) * ABOUT_TOLERANCE_RELATIVE)


def comparison(comparator: str, value: float, tol: float | None, better: str) -> tuple[int, float]:
    """(comparator code, threshold): 'about' is met by anything within ``tol`` or better in the
    indicator's good direction."""
    code = COMPARATORS[comparator].code
    if code is not None:
        return code, value
    return (GE, value - tol) if better == "higher" else (LE, value + tol)


def measure_of(value: np.ndarray, base: np.ndarray | float, measure: int) -> np.ndarray:
    """A target's measure from the indicator in its year (``value``) and in its base year."""
    if measure == PCT_CHANGE:
        return (value / base - 1.0) * 100.0
    if measure == DIFFERENCE:
        return value - base
    return value


def met(measured: np.ndarray, cmp: int, threshold: float) -> np.ndarray:
    """Whether each measured value meets the comparison."""
    return {GE: np.greater_equal, GT: np.greater, LE: np.less_equal, LT: np.less}[cmp](measured, threshold)


def observed(values: dict[int, float], year: int | None, measure: str, base: int | None) -> float:
    """The measure in an observed ``year`` from observed ``values`` by year (NaN if it cannot be formed)."""
    if year is None or year not in values:
        return math.nan
    if measure == "level":
        return values[year]
    if base is None or base not in values or base >= year:
        return math.nan
    return float(measure_of(np.float64(values[year]), values[base], MEASURES[measure].code))


def phrase(comparator: str, value: float, unit: str, measure: str, base: int | None, lang: str) -> str:
    """How a target reads: '≥ 7 %', 'growth on the year before ≥ 10 %', '比2020年变化(%)≈-17%'."""
    sym = COMPARATORS[comparator].symbol
    stated = f"{value:g}{'' if unit in ('%', '') else ' '}{unit}" if lang == "en" else f"{value:g}{unit}"
    if measure == "level":
        return f"{sym} {stated}" if lang == "en" else f"{sym}{stated}"
    lead = getattr(MEASURES[measure], lang).format(base=base if base is not None else "?")
    return f"{lead} {sym} {stated}" if lang == "en" else f"{lead}{sym}{stated}"
