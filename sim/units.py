"""Units as the documents write them, and conversion to the unit an indicator is modelled in."""

from __future__ import annotations

from sim.errors import SimError

# unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "元": ("money", 1e-8),
    "万元": ("money", 1e-4),
    "亿元": ("money", 1.0),
    "亿": ("money", 1.0),
    "千亿": ("money", 1e3),
    "万亿": ("money", 1e4),
    "千亿元": ("money", 1e3),
    "万亿元": ("money", 1e4),
    "家": ("count", 1.0),
    "户": ("count", 1.0),
    "个": ("count", 1.0),
    "万家": ("count", 1e4),
    "万户": ("count", 1e4),
    "万个": ("count", 1e4),
    "座": ("count", 1.0),
    "项": ("count", 1.0),
    "场": ("count", 1.0),
    "场次": ("count", 1.0),
    "人": ("count", 1.0),
    "万人": ("count", 1e4),
    "家次": ("count", 1.0),
    "万家次": ("count", 1e4),
    "架": ("count", 1.0),
    "万架": ("count", 1e4),
    "P": ("compute", 1.0),
    "EFLOPS": ("compute", 1e3),
    "亩": ("area", 1.0),
    "万亩": ("area", 1e4),
    "%": ("percent", 1.0),
    "pp": ("pp", 1.0),
    "个百分点": ("pp", 1.0),
    "index": ("index", 1.0),
}


def dimension(unit: str) -> str:
    """The dimension of a unit ('money', 'count', 'percent', 'pp', 'index', 'compute', 'area')."""
    try:
        return UNITS[unit][0]
    except KeyError:
        raise SimError(f"unknown unit {unit!r}; known: {', '.join(UNITS)}") from None


def convert(value: float, unit: str, to: str) -> float:
    """``value`` in ``unit`` expressed in ``to``; both must measure the same thing."""
    (dim_from, f_from), (dim_to, f_to) = UNITS.get(unit, (None, 0)), UNITS.get(to, (None, 0))
    if dim_from is None or dim_to is None:
        raise SimError(f"unknown unit {unit if dim_from is None else to!r}; known: {', '.join(UNITS)}")
    if dim_from != dim_to:
        raise SimError(f"cannot convert {unit} ({dim_from}) to {to} ({dim_to})")
    return value * f_from / f_to
