"""Fan charts: where an indicator has been, where the simulated paths take it, and its targets.

Bank of England style: the 5–95, 10–90 and 25–75 percentile bands of the simulated years in graded
tones around the median, fanning out from the last observed value; the observed history as a line;
each target on the indicator as a dashed line and a marker at its year, labelled with the probability
of meeting it.

Everything draws on :class:`matplotlib.figure.Figure` objects with the Agg canvas: nothing touches
pyplot's global state, so charts can be made in servers, tests and threads alike. Labels are Chinese
(``lang="zh"``) when a CJK font is installed (Debian: ``fonts-noto-cjk``); without one the charts
switch to English labels, quietly, rather than draw boxes for the missing glyphs.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import matplotlib as mpl
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim import labels as words
from sim import units
from sim.errors import SimError
from sim.results import ALL, QUANTILES, WEIGHTED, Results

if TYPE_CHECKING:
    from sim.track import Track

# Outermost band first: (low quantile, high quantile, tone).
BANDS = ((0.05, 0.95, "#cfe0f1"), (0.10, 0.90, "#9fc2e4"), (0.25, 0.75, "#5f97cf"))
MEDIAN_COLOUR = "#0b3d78"
HISTORY_COLOUR = "#222222"
TARGET_COLOUR = "#c0392b"
TRACK_COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d68910", "#138d90", "#7f7f7f", "#5d4037",
                 "#e91e63", "#827717")
COMPARE_COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d68910", "#138d90", "#7f7f7f")

# Families tried first, in order (simplified Chinese forms first); any other installed font whose
# name says CJK/Han/WenQuanYi and that has Chinese glyphs will do too.
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Noto Sans CJK TC", "Noto Sans CJK JP", "Source Han Sans",
    "Noto Serif CJK SC", "Source Han Serif SC", "AR PL UKai CN", "AR PL UMing CN", "Droid Sans Fallback",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC", "Songti SC",
)
_CJK_NAME = re.compile(r"cjk|han sans|han serif|wenquanyi|wqy|droid sans fallback|yahei|simhei|"
                       r"pingfang|hiragino sans gb|heiti|songti|ar pl ", re.IGNORECASE)
_CJK_FILE = re.compile(r"cjk|sourcehan|wqy|wenquanyi|droidsansfallback|notosanssc|notoserifsc|uming|ukai",
                       re.IGNORECASE)
_CJK_CHARS = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")

# --- fonts and language ------------------------------------------------------------------------------

@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None.

    Looks in matplotlib's font list, and, when that list predates the font's installation, in the
    system's font folders (registering what it finds with matplotlib's font manager).
    """
    found = _cjk_in_manager()
    if found:
        return found
    for path in font_manager.findSystemFonts():
        if _CJK_FILE.search(path):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    return _cjk_in_manager()


def _cjk_in_manager() -> str | None:
    # a font removed since matplotlib cached its font list does not count
    entries = {f.name: f.fname for f in font_manager.fontManager.ttflist if os.path.isfile(f.fname)}
    for name in CJK_FAMILIES:
        if name in entries:
            return name
    for name, fname in sorted(entries.items()):
        if _CJK_NAME.search(name) and _has_chinese(fname):
            return name
    return None


def _has_chinese(fname: str) -> bool:
    try:
        return all(font_manager.get_font(fname).get_char_index(ord(ch)) for ch in "中国工业")
    except (OSError, RuntimeError, ValueError):
        return False


def chart_language(lang: str) -> str:
    """The language charts are drawn in: ``zh`` only when a CJK font is installed, else ``en``."""
    return "zh" if words.check(lang) == "zh" and cjk_font() else "en"


def _rc() -> dict:
    fam = cjk_font()
    return {"font.family": ["DejaVu Sans", fam] if fam else ["DejaVu Sans"], "axes.unicode_minus": True,
            "svg.fonttype": "none"}


def _english_safe(text: str) -> str:
    """Without a CJK font, any stray Chinese character would be drawn as a box: drop them."""
    return text if cjk_font() else _CJK_CHARS.sub("", text).strip()


def _safe(text: str, lang: str) -> str:
    return text if lang == "zh" else _english_safe(text)


# --- what one indicator looks like -------------------------------------------------------------------

@dataclass
class _Fan:
    x: np.ndarray  # years: the anchor (last observed) and the simulated years
    q: np.ndarray  # (len(x), quantile) in the display unit; the anchor row repeats its value
    anchor: tuple[int, float] | None


@dataclass
class _Target:
    tid: str
    year: int
    threshold: float | None  # in the display unit; None when it depends on a simulated base
    label: str


def _check(results: Results, indicator: str, scenario: str) -> None:
    d = results.data
    if indicator not in d["indicator"].values:
        raise SimError(f"no indicator {indicator!r} in these results; they have: "
                       f"{', '.join(map(str, d['indicator'].values))}")
    if scenario not in d["scenario"].values:
        raise SimError(f"no scenario {scenario!r} in these results; they have: "
                       f"{', '.join(map(str, d['scenario'].values))}")


def _targets_on(results: Results, indicator: str) -> list[str]:
    d = results.data
    return [str(t) for t, ind in zip(d["target"].values, d["target_indicator"].values, strict=True)
            if t != ALL and str(ind) == indicator]


def display_unit(results: Results, indicator: str) -> tuple[str, float]:
    """The unit an indicator is shown in and the factor from its model unit.

    A level target on the indicator gives the unit (万亿元 rather than 亿元); otherwise the model's.
    """
    d = results.data
    ind_unit = str(d["indicator_unit"].sel(indicator=indicator).item())
    for tid in _targets_on(results, indicator):
        t = d.sel(target=tid)
        if str(t["measure"].item()) != "level":
            continue
        unit = str(t["unit"].item())
        try:
            return unit, units.convert(1.0, ind_unit, unit)
        except SimError:
            continue
    return ind_unit, 1.0


HISTORY_YEARS = 10  # observed years shown before the first simulated one


def _history(results: Results, indicator: str, factor: float) -> pd.Series:
    h = results.history
    if h is None or len(h) == 0:
        return pd.Series(dtype=float)
    rows = h[h["indicator"] == indicator]
    return pd.Series(rows["value"].to_numpy(float) * factor, index=rows["year"].astype(int).to_numpy()
                     ).sort_index()


def _fan(results: Results, indicator: str, scenario: str, factor: float, hist: pd.Series) -> _Fan:
    d = results.data
    q = d["indicator_quantile"].sel(scenario=scenario, indicator=indicator).transpose("year", "quantile")
    vals = q.to_numpy() * factor
    years = d["year"].to_numpy().astype(int)
    finite = np.isfinite(vals).all(axis=1)
    spread = vals[:, -1] - vals[:, 0]
    scale = np.maximum(1.0, np.abs(np.nan_to_num(vals[:, len(QUANTILES) // 2])))
    fixed = finite & (np.isin(years, hist.index.to_numpy()) | (spread <= 1e-9 * scale))
    simulated = np.flatnonzero(finite & ~fixed)
    if simulated.size == 0:
        return _Fan(np.array([]), np.empty((0, len(QUANTILES))), None)
    # the fan starts at the last observed year before the years still open (years observed earlier,
    # with simulated gaps between them, are history); with nothing observed, at the file's year
    last = simulated[-1]
    before = np.flatnonzero(fixed[:last])
    if before.size:
        first = before[-1] + 1
    else:
        start = int(d.attrs.get("target_year", years[simulated[0]]))
        first = next((k for k in simulated if years[k] >= start), simulated[0])
    keep = np.flatnonzero(finite & (np.arange(len(years)) >= first))
    x, q_sim = years[keep], vals[keep]
    anchor = None
    if before.size:
        year = int(years[first - 1])
        value = float(hist[year]) if year in hist.index else float(vals[first - 1, len(QUANTILES) // 2])
        anchor = (year, value)
        x = np.concatenate([[year], x])
        q_sim = np.vstack([np.full(len(QUANTILES), value), q_sim])
    return _Fan(x.astype(float), q_sim, anchor)


def _recent(hist: pd.Series, fan: _Fan, last_year: int) -> pd.Series:
    """The observed years worth showing beside the fan: the last HISTORY_YEARS before it, and after it
    up to the run's last year."""
    hist = hist[hist.index <= last_year]
    if hist.empty or not len(fan.x):
        return hist
    return hist[hist.index >= fan.x[0] - HISTORY_YEARS]


def _indicator_name(results: Results, indicator: str, lang: str) -> str:
    name = str(results.data[f"indicator_name_{lang}"].sel(indicator=indicator).item())
    return name if lang == "zh" else _english_safe(name)


def _targets(results: Results, indicator: str, scenario: str, lang: str, disp_unit: str,
             factor: float) -> list[_Target]:
    d = results.data
    T = words.CHART[lang]
    hist_model = _history(results, indicator, 1.0)
    ind_unit = str(d["indicator_unit"].sel(indicator=indicator).item())
    out = []
    for tid in _targets_on(results, indicator):
        t = d.sel(target=tid)
        measure, unit = str(t["measure"].item()), str(t["unit"].item())
        cmp, value, year = str(t["comparator"].item()), float(t["value"].item()), int(t["target_year"].item())
        base_year = t["base_year"].item()
        base = int(base_year) if base_year == base_year else (year - 1 if measure == "growth" else None)
        threshold = None
        if measure == "level":
            try:
                threshold = units.convert(value, unit, disp_unit)
            except SimError:
                threshold = None
        elif base is not None and base in hist_model.index:
            b = float(hist_model[base])
            if measure in ("growth", "change_since"):
                threshold = b * (1 + value / 100) * factor
            else:
                try:
                    add = value if unit in ("pp", "个百分点") else units.convert(value, unit, ind_unit)
                    threshold = (b + add) * factor
                except SimError:
                    threshold = None
        sym = words.comparator(cmp)
        stated = _safe(words.stated(value, unit, lang), lang)
        if measure == "level":
            what = f"{sym}{stated}" if cmp != "about" or lang == "en" else f"{stated}{T['about']}"
        else:
            lead = T["growth"] if measure == "growth" else T[measure].format(base=base)
            what = f"{lead} {sym}{stated}" if lang == "en" else f"{lead}{sym}{stated}"
        p = d["probability"].sel(scenario=scenario, target=tid).item()
        label = f"{T['target']} {year}: {what}" + (f" · {T['p']} {words.percent(p)}" if p == p else "")
        if threshold is None and measure != "level":
            label += "\n" + T["no_line"].format(base=base)
        out.append(_Target(tid, year, threshold, label))
    return out


# --- drawing -----------------------------------------------------------------------------------------

def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _draw_history(ax: Axes, hist: pd.Series, lang: str) -> None:
    if hist.empty:
        return
    years = hist.index.to_numpy()
    values = hist.to_numpy()
    # break the line where years are missing: a gap stays a gap
    xs, ys = [years[0]], [values[0]]
    for y0, y1, v1 in zip(years[:-1], years[1:], values[1:], strict=True):
        if y1 - y0 > 1:
            xs.append(np.nan)
            ys.append(np.nan)
        xs.append(y1)
        ys.append(v1)
    ax.plot(xs, ys, color=HISTORY_COLOUR, lw=1.6, marker="o", ms=3.5, gid="history",
            label=words.CHART[lang]["observed"], zorder=4)


def _draw_fan(ax: Axes, fan: _Fan, lang: str) -> None:
    x, q = fan.x, fan.q
    if len(x) == 1:  # a single simulated year with nothing observed before it: a box
        x = np.array([x[0] - 0.25, x[0] + 0.25])
        q = np.vstack([q, q])
    col = {v: i for i, v in enumerate(QUANTILES)}
    for lo, hi, tone in BANDS:
        ax.fill_between(x, q[:, col[lo]], q[:, col[hi]], facecolor=tone, edgecolor="none", lw=0,
                        gid=f"band-{round(100 * lo)}-{round(100 * hi)}", zorder=1)
    ax.plot(x, q[:, col[0.5]], color=MEDIAN_COLOUR, lw=2.0, gid="median", label=words.CHART[lang]["median"],
            zorder=3)


def _draw_anchor(ax: Axes, fan: _Fan, unit: str, lang: str) -> None:
    if fan.anchor is None:
        return
    year, value = fan.anchor
    ax.plot([year], [value], ls="none", marker="o", ms=7, mfc="white", mec=HISTORY_COLOUR, mew=2,
            gid="last-observed", label=words.CHART[lang]["last"], zorder=6)
    rising = len(fan.x) > 1 and fan.q[1, len(QUANTILES) // 2] >= value
    # below the fan when it rises, above it when it falls: clear of the bands and the history
    ax.annotate(f"{year}: {_safe(words.level(value, unit, lang), lang)}", (year, value),
                xytext=(7, -8 if rising else 8), textcoords="offset points", ha="left",
                va="top" if rising else "bottom", fontsize=8, color=HISTORY_COLOUR, zorder=7,
                gid="last-observed-label",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.9})


def _draw_targets(ax: Axes, targets: list[_Target], lang: str) -> None:
    """Each target: a dashed line, a marker at its year (numbered when several share a chart)."""
    several = len(targets) > 1
    spots: dict[tuple[int, float], list[str]] = {}
    for k, t in enumerate(targets):
        if t.threshold is None or not math.isfinite(t.threshold):
            continue
        ax.axhline(t.threshold, color=TARGET_COLOUR, lw=1.0, ls=(0, (5, 3)), alpha=0.8,
                   gid=f"target-line-{t.tid}", zorder=2)
        ax.plot([t.year], [t.threshold], ls="none", marker="D", ms=7, color=TARGET_COLOUR,
                mec="white", mew=1, gid=f"target-{t.tid}", label=words.CHART[lang]["target"], zorder=8)
        spots.setdefault((t.year, float(f"{t.threshold:.10g}")), []).append(str(k + 1))
    if several:  # one number label per spot: targets with the same threshold share it
        for (year, threshold), numbers in spots.items():
            ax.annotate(", ".join(numbers), (year, threshold), xytext=(6, 4), textcoords="offset points",
                        ha="left", va="bottom", fontsize=8, color=TARGET_COLOUR, zorder=9)


def _room_for_anchor_label(ax: Axes, fan: _Fan) -> None:
    """Keep the last-observed label (drawn below a rising fan, above a falling one) inside the axes."""
    if fan.anchor is None:
        return
    ax.autoscale_view()
    lo, hi = ax.get_ylim()
    value = fan.anchor[1]
    rising = len(fan.x) > 1 and fan.q[1, len(QUANTILES) // 2] >= value
    room = 0.1 * (hi - lo)
    if rising and value - lo < room:
        ax.set_ylim(value - room, hi)
    elif not rising and hi - value < room:
        ax.set_ylim(lo, value + room)


def _headline(ax: Axes, title: str, targets: list[_Target]) -> None:
    """The indicator's name, and under it, in the target colour, each target and its probability."""
    lines = [(f"{k + 1}. " if len(targets) > 1 else "") + t.label for k, t in enumerate(targets)]
    n = sum(line.count("\n") + 1 for line in lines)
    ax.set_title(title, fontsize=11, loc="left", pad=4 + 11 * n)
    if lines:
        ax.text(0, 1.012, "\n".join(lines), transform=ax.transAxes, ha="left", va="bottom", fontsize=8,
                color=TARGET_COLOUR, gid="target-labels", linespacing=1.25)


def _frame(ax: Axes, years: Sequence[float], unit: str, lang: str, relative: bool) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8, min_n_ticks=1))
    if len(years):
        lo, hi = min(years), max(years)
        ax.set_xlim(lo - 0.4, hi + 0.4)
    label = words.CHART[lang]["relative"] if relative else _safe(words.unit(unit, lang), lang)
    ax.set_ylabel(label)
    ax.grid(True, color="#e5e5e5", lw=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _legend_handles(lang: str, anchor: bool, history: bool, target: bool, fan: bool = True) -> list:
    T = words.CHART[lang]
    handles = []
    if fan:
        handles += [Patch(facecolor=tone, label=T["band"].format(lo=round(100 * lo), hi=round(100 * hi)))
                    for lo, hi, tone in BANDS]
        handles.append(Line2D([], [], color=MEDIAN_COLOUR, lw=2, label=T["median"]))
    if history:
        handles.append(Line2D([], [], color=HISTORY_COLOUR, lw=1.6, marker="o", ms=3.5, label=T["observed"]))
    if anchor:
        handles.append(Line2D([], [], ls="none", marker="o", ms=7, mfc="white", mec=HISTORY_COLOUR, mew=2,
                              label=T["last"]))
    if target:
        handles.append(Line2D([], [], color=TARGET_COLOUR, ls=(0, (5, 3)), marker="D", ms=6, mec="white",
                              label=T["target"]))
    return handles


def _footer(results: Results, lang: str, asked: str) -> str:
    a = results.data.attrs
    T = words.CHART[lang]
    parts = [str(a.get("scenario_file", ""))]
    if "paths" in a:
        sep = " " if lang == "en" else ""
        parts.append(f"{int(a['paths']):,}{sep}{T['paths']}")
    if "seed" in a:
        parts.append(f"{T['seed']} {a['seed']}")
    if a.get("as_of"):
        parts.append(T["as_of"].format(as_of=a["as_of"]))
    text = " · ".join(p for p in parts if p)
    if asked == "zh" and lang == "en":
        text += f"\n{T['no_cjk']}"
    return text


def _heading(fig: Figure, results: Results, scenario: str, lang: str, asked: str, *, size: float) -> None:
    """The figure's title on the left, the run it comes from on the right (small, grey)."""
    a = results.data.attrs
    where = f"{words.region(str(a.get('region', '')), lang)} {a.get('target_year', '')}".strip()
    what = (f"{words.CHART[lang]['scenario']}: {words.scenario(scenario, lang)}" if lang == "en"
            else f"{words.scenario(scenario, lang)}{words.CHART[lang]['scenario']}") if scenario else ""
    title, footer = " · ".join(x for x in (where, what) if x), _footer(results, lang, asked)
    if lang == "en":
        title, footer = _english_safe(title), _english_safe(footer)
    fig.suptitle(title, fontsize=size, x=0.01, ha="left")
    fig.text(0.99, 0.995, footer, fontsize=7, color="#777777", ha="right", va="top", gid="run-info")


def _panel(ax: Axes, results: Results, indicator: str, scenario: str, lang: str, *, legend: bool) -> dict:
    unit, factor = display_unit(results, indicator)
    hist = _history(results, indicator, factor)
    fan = _fan(results, indicator, scenario, factor, hist)
    hist = _recent(hist, fan, int(results.data["year"].max()))
    targets = _targets(results, indicator, scenario, lang, unit, factor)
    ind_kind = str(results.data["indicator_kind"].sel(indicator=indicator).item())
    relative = ind_kind == "level" and hist.empty and unit == ""
    _draw_history(ax, hist, lang)
    if len(fan.x):
        _draw_fan(ax, fan, lang)
    _draw_anchor(ax, fan, unit, lang)
    _draw_targets(ax, targets, lang)
    years = [*hist.index.tolist(), *fan.x.tolist(), *[t.year for t in targets]]
    _frame(ax, years, unit, lang, relative)
    _room_for_anchor_label(ax, fan)
    _headline(ax, _indicator_name(results, indicator, lang), targets)
    drawn = {"anchor": fan.anchor is not None, "history": not hist.empty,
             "target": any(t.threshold is not None for t in targets), "fan": len(fan.x) > 0}
    if legend:
        ax.legend(handles=_legend_handles(lang, **drawn),
                  loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=4, fontsize=8, frameon=False)
    return drawn


def fan_chart(results: Results, indicator: str, *, scenario: str = WEIGHTED, lang: str = "zh",
              ax: Axes | None = None) -> Figure:
    """One indicator's fan chart under one scenario (default: the weighted mixture).

    Draws into ``ax`` when given (and returns its figure), else into a new figure. The figure's
    ``sim_lang`` says which language was drawn: ``en`` when ``zh`` was asked but no CJK font is installed.
    """
    _check(results, indicator, scenario)
    shown = chart_language(lang)
    with mpl.rc_context(_rc()):
        fig = _new_figure(7.5, 5.0) if ax is None else ax.figure
        target_ax = fig.add_subplot() if ax is None else ax
        _panel(target_ax, results, indicator, scenario, shown, legend=True)
        if ax is None:
            _heading(fig, results, scenario, shown, lang, size=10)
    fig.sim_lang = shown
    return fig


def fan_grid(results: Results, *, scenario: str = WEIGHTED, lang: str = "zh", ncols: int = 2) -> Figure:
    """One fan chart per simulated indicator, sharing one legend."""
    indicators = [str(i) for i in results.data["indicator"].values]
    if not indicators:
        raise SimError("these results have no simulated indicator to chart")
    _check(results, indicators[0], scenario)
    shown = chart_language(lang)
    ncols = max(1, min(ncols, len(indicators)))
    nrows = math.ceil(len(indicators) / ncols)
    with mpl.rc_context(_rc()):
        fig = _new_figure(6.2 * ncols, 4.1 * nrows + 1.0)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        drawn = {"anchor": False, "history": False, "target": False, "fan": False}
        for k, indicator in enumerate(indicators):
            got = _panel(axes.flat[k], results, indicator, scenario, shown, legend=False)
            drawn = {key: drawn[key] or got[key] for key in drawn}
        for ax in axes.flat[len(indicators):]:
            ax.set_visible(False)
        _heading(fig, results, scenario, shown, lang, size=12)
        fig.legend(handles=_legend_handles(shown, **drawn),
                   loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    fig.sim_lang = shown
    return fig


def compare_fans(results: Results | Sequence[Results], indicator: str, *,
                 scenarios: str | Sequence[str] | None = None, labels: Sequence[str] | None = None,
                 lang: str = "zh", ax: Axes | None = None) -> Figure:
    """Fans of two or more scenarios (of one run), or of two or more runs, overlaid in distinct colours.

    ``results`` one Results: ``scenarios`` names those compared (default: every scenario but the
    weighted mixture). A sequence of Results: each is drawn under ``scenarios`` (one name for all, or
    one per run; default ``weighted``). ``labels`` names the fans in the legend (default: the
    scenario names, or file · as-of date · scenario for runs). History and targets are the first run's.
    """
    shown = chart_language(lang)
    if isinstance(results, Results):
        names = ([s for s in map(str, results.data["scenario"].values) if s != WEIGHTED]
                 if scenarios is None else [scenarios] if isinstance(scenarios, str) else list(scenarios))
        items = [(results, s) for s in names]
        default_labels = [words.scenario(s, shown) for s in names]
    else:
        runs = list(results)
        names = ([scenarios or WEIGHTED] * len(runs) if scenarios is None or isinstance(scenarios, str)
                 else list(scenarios))
        if len(names) != len(runs):
            raise SimError(f"compare_fans: {len(runs)} results but {len(names)} scenario names")
        items = list(zip(runs, names, strict=True))
        default_labels = [_run_label(r, s, shown) for r, s in items]
    if not items:
        raise SimError("compare_fans needs at least one fan to draw")
    if labels is not None and len(labels) != len(items):
        raise SimError(f"compare_fans: {len(items)} fans but {len(labels)} labels")
    labels = list(labels) if labels is not None else _unique(default_labels)
    for r, s in items:
        _check(r, indicator, s)
    first, first_scenario = items[0]
    unit, factor = display_unit(first, indicator)
    first_unit = str(first.data["indicator_unit"].sel(indicator=indicator).item())
    col = {v: i for i, v in enumerate(QUANTILES)}
    with mpl.rc_context(_rc()):
        fig = _new_figure(7.5, 5.0) if ax is None else ax.figure
        axis = fig.add_subplot() if ax is None else ax
        hist = _history(first, indicator, factor)
        fan0 = _fan(first, indicator, first_scenario, factor, hist)
        hist = _recent(hist, fan0, int(first.data["year"].max()))
        _draw_history(axis, hist, shown)
        legend_items: list = []
        years: list[float] = list(hist.index)
        for k, ((r, s), label) in enumerate(zip(items, labels, strict=True)):
            colour = COMPARE_COLOURS[k % len(COMPARE_COLOURS)]
            own_unit = str(r.data["indicator_unit"].sel(indicator=indicator).item())
            f = factor * (units.convert(1.0, own_unit, first_unit) if own_unit != first_unit else 1.0)
            fan = _fan(r, indicator, s, f, _history(r, indicator, f))
            if not len(fan.x):
                continue
            x, q = fan.x, fan.q
            if len(x) == 1:
                x, q = np.array([x[0] - 0.25, x[0] + 0.25]), np.vstack([q, q])
            for lo, hi, alpha in ((0.10, 0.90, 0.10), (0.25, 0.75, 0.14)):
                axis.fill_between(x, q[:, col[lo]], q[:, col[hi]], facecolor=colour, alpha=alpha,
                                  edgecolor="none", lw=0, gid=f"band-{k}-{round(100 * lo)}-{round(100 * hi)}",
                                  zorder=1)
            for edge in (0.05, 0.95):
                axis.plot(x, q[:, col[edge]], color=colour, lw=0.8, ls=(0, (1, 1.5)), zorder=2,
                          gid=f"edge-{k}")
            axis.plot(x, q[:, col[0.5]], color=colour, lw=2.2, gid=f"median-{k}", zorder=3 + k / 100)
            legend_items.append(Line2D([], [], color=colour, lw=2.2, label=label))
            years += list(x)
        _draw_anchor(axis, fan0, unit, shown)
        targets = _targets(first, indicator, first_scenario, shown, unit, factor)
        for t in targets:  # the probability differs from fan to fan: state the target only
            t.label = t.label.split(" · ")[0]
        _draw_targets(axis, targets, shown)
        years += [t.year for t in targets]
        relative = (str(first.data["indicator_kind"].sel(indicator=indicator).item()) == "level"
                    and hist.empty and unit == "")
        _frame(axis, years, unit, shown, relative)
        _room_for_anchor_label(axis, fan0)
        name = _indicator_name(first, indicator, shown)
        _headline(axis, words.CHART[shown]["compare"].format(name=name), targets)
        legend_items.append(Line2D([], [], color="#555555", lw=2.2, label=words.CHART[shown]["median"]))
        legend_items.append(Patch(facecolor="#555555", alpha=0.25, label=words.CHART[shown]["bands"]))
        legend_items.append(Line2D([], [], color="#555555", lw=0.8, ls=(0, (1, 1.5)),
                                   label=words.CHART[shown]["band"].format(lo=5, hi=95)))
        if not hist.empty:
            legend_items.append(Line2D([], [], color=HISTORY_COLOUR, lw=1.6, marker="o", ms=3.5,
                                       label=words.CHART[shown]["observed"]))
        if any(t.threshold is not None for t in targets):
            legend_items.append(Line2D([], [], color=TARGET_COLOUR, ls=(0, (5, 3)), marker="D", ms=6,
                                       mec="white", label=words.CHART[shown]["target"]))
        axis.legend(handles=legend_items, loc="upper center", bbox_to_anchor=(0.5, -0.08),
                    ncol=min(4, len(legend_items)), fontsize=8, frameon=False)
        if ax is None:
            _heading(fig, first, "", shown, lang, size=10)
    fig.sim_lang = shown
    return fig


def _run_label(r: Results, scenario: str, lang: str) -> str:
    a = r.data.attrs
    stem = str(a.get("scenario_file", "")).rsplit("/", 1)[-1].removesuffix(".yaml")
    stem = stem or str(a.get("region", ""))
    as_of = f" ({words.CHART[lang]['as_of'].format(as_of=a['as_of'])})" if a.get("as_of") else ""
    label = f"{stem}{as_of} · {words.scenario(scenario, lang)}"
    return label if lang == "zh" else _english_safe(label)


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} #{seen[lab]}")
    return out


def tornado_chart(table: pd.DataFrame, target: str, *, lang: str = "zh", top: int = 10,
                  name: str | None = None) -> Figure:
    """Horizontal bars of P(met) with each assumption moved down and up (``sensitivity`` output),
    widest swing on top, around the base probability; assumptions that move nothing are left out.
    ``name`` titles it (default: the target's id)."""
    return tornado_grid(table, [target], lang=lang, top=top, names={target: name or target}, ncols=1)


def tornado_grid(table: pd.DataFrame, targets: Sequence[str], *, lang: str = "zh", top: int = 10,
                 names: dict[str, str] | None = None, ncols: int = 2) -> Figure:
    """One tornado per target in a grid (the report's sensitivity section)."""
    for target in targets:
        if not (table["target"] == target).any():
            raise SimError(f"no sensitivity rows for target {target!r}")
    shown = chart_language(lang)
    T = words.CHART[shown]
    names = {t: _safe((names or {}).get(t, t), shown) for t in targets}
    ncols = max(1, min(ncols, len(targets)))
    nrows = math.ceil(len(targets) / ncols)
    moving = {t: _moving(table, t, top) for t in targets}
    row_h = [max(len(moving[t]), 1) for t in targets]
    height = sum(max(row_h[k:k + ncols]) * 0.32 + 1.3 for k in range(0, len(targets), ncols))
    with mpl.rc_context(_rc()):
        fig = _new_figure(6.4 * ncols, height + 0.4)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, target in zip(axes.flat, targets, strict=False):
            rows = moving[target]
            base = float(table.loc[table["target"] == target, "p_base"].iloc[0])
            title = f"{names[target]} ({T['base']} {words.percent(base)})"
            ax.set_title(title, fontsize=9, loc="left")
            ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
            if rows.empty:  # e.g. the outcome is already observed: say so rather than draw nothing
                ax.text(0.5, 0.5, T["no_move"], ha="center", va="center", transform=ax.transAxes,
                        fontsize=8, gid="no-move")
                ax.set_yticks([])
                continue
            ypos = np.arange(len(rows))
            ax.barh(ypos, rows["p_low"] - base, left=base, color="#c0504d", label=T["down"], gid="low")
            ax.barh(ypos, rows["p_high"] - base, left=base, color="#4f81bd", label=T["up"], gid="high")
            ax.axvline(base, color="black", linewidth=1)
            ax.set_yticks(ypos, [_safe(words.assumption(r, shown), shown) for r in rows.itertuples()],
                          fontsize=7.5)
            ax.set_xlabel(T["p_met"], fontsize=8)
            ax.tick_params(axis="x", labelsize=7.5)
        for ax in axes.flat[len(targets):]:
            ax.set_visible(False)
        handles = [Patch(facecolor="#c0504d", label=T["down"]), Patch(facecolor="#4f81bd", label=T["up"])]
        fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.sim_lang = shown
    return fig


def _moving(table: pd.DataFrame, target: str, top: int) -> pd.DataFrame:
    """The assumptions that move a target's probability, the widest swing on top (drawn last)."""
    mine = table[(table["target"] == target) & (table["swing"] > 0)]
    return mine.nlargest(top, "swing").iloc[::-1]


def unmoving(table: pd.DataFrame, lang: str = "en") -> list[str]:
    """The assumptions (with their steps, in ``lang``) that move no target's probability."""
    swing = table.groupby("assumption", sort=False)["swing"].max()
    still = {a for a, s in swing.items() if not s > 0}
    return [words.assumption(row, lang) for row in table.drop_duplicates("assumption").itertuples()
            if row.assumption in still]


def track_chart(track: Track, *, lang: str = "zh") -> Figure:
    """The probability of each simulated target at each month-end (``sim.track``): one line per
    target, a filled dot where new data came in, an open one where the month's data were the
    month before's; the verdict bands shaded behind."""
    shown = chart_language(lang)
    T = words.CHART[shown]
    targets = list(dict.fromkeys(track.table["target"]))
    with mpl.rc_context(_rc()):
        fig = _new_figure(9.0, 5.2)
        ax = fig.subplots()
        for lo, hi, tone in ((0, words.AT_RISK, "#fbe9e7"), (words.AT_RISK, words.ON_TRACK, "#fdf5e3"),
                             (words.ON_TRACK, 1.0, "#e6f4ea")):
            ax.axhspan(lo, hi, color=tone, zorder=0, lw=0)
        for k, target in enumerate(targets):
            rows = track.table[track.table["target"] == target].sort_values("as_of")
            colour = TRACK_COLOURS[k % len(TRACK_COLOURS)]
            x = pd.to_datetime(rows["as_of"]).to_numpy()
            y = rows["probability"].to_numpy(float)
            ax.plot(x, y, color=colour, lw=1.8, zorder=3, gid=f"track-{target}",
                    label=_safe(track.name(target, shown), shown))
            new = rows["new_data"].to_numpy(bool)
            ax.plot(x[new], y[new], ls="none", marker="o", ms=5, color=colour, zorder=4,
                    gid=f"track-new-{target}")
            ax.plot(x[~new], y[~new], ls="none", marker="o", ms=5, mfc="white", mec=colour, zorder=4,
                    gid=f"track-same-{target}")
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_ylabel(T["track_y"])
        ax.set_xlabel(T["track_x"])
        dates = pd.to_datetime(pd.Series(track.dates)).to_numpy()
        step = math.ceil(len(dates) / 12)
        ax.set_xticks(dates[::step], [d.strftime("%Y-%m") for d in track.dates[::step]], fontsize=8)
        if len(dates) > 1:
            pad = (dates[-1] - dates[0]) * 0.03
            ax.set_xlim(dates[0] - pad, dates[-1] + pad)
        ax.grid(True, color="#e5e5e5", lw=0.7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        title = T["track"].format(region=words.region(track.region, shown), year=track.year)
        ax.set_title(_safe(title, shown), fontsize=11, loc="left")
        handles, _ = ax.get_legend_handles_labels()
        handles = [h for h in handles if h.get_label() and not h.get_label().startswith("_")]
        marks = words.TRACK[shown]
        handles += [Line2D([], [], ls="none", marker="o", ms=5, color="#555555", label=marks["new"]),
                    Line2D([], [], ls="none", marker="o", ms=5, mfc="white", mec="#555555",
                           label=marks["same"])]
        fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.sim_lang = shown
    return fig


def backtest_chart(pit: pd.DataFrame, reliability: pd.DataFrame, *, lang: str = "en") -> Figure:
    """The backtest in two pictures: the PIT histogram of each vintage (flat if the forecasts are
    calibrated; a hump means bands too wide, a U too narrow) and the reliability of the target
    probabilities (on the diagonal if a 70% means met 7 times in 10)."""
    shown = chart_language(lang)
    T = words.CHART[shown]
    deciles = [c for c in pit.columns if c.endswith("%")]
    with mpl.rc_context(_rc()):
        fig = _new_figure(10.0, 4.2)
        left, right = fig.subplots(1, 2)
        width = 0.8 / max(len(pit), 1)
        for k, (vintage, row) in enumerate(pit.iterrows()):
            share = row[deciles].to_numpy(float) / max(float(row["n"]), 1.0)
            left.bar(np.arange(len(deciles)) + k * width, share, width=width, color=COMPARE_COLOURS[k],
                     label=f"{vintage} (n {int(row['n'])}, KS p {row['ks_p']:.2f})")
        left.axhline(0.1, color="black", linewidth=1, linestyle="--")
        left.set_xticks(np.arange(len(deciles)) + 0.4 - width / 2, [d.split("-")[0] for d in deciles],
                        fontsize=8)
        left.set_xlabel(T["pit_x"])
        left.set_ylabel(T["pit_y"])
        left.set_title(T["pit_title"], fontsize=10)
        left.legend(fontsize=7, frameon=False)
        right.plot([0, 1], [0, 1], color="black", linewidth=1, linestyle="--")
        if len(reliability):
            right.scatter(reliability["mean_p"], reliability["met"], s=20 + 8 * reliability["n"],
                          color=MEDIAN_COLOUR, alpha=0.8)
            for _, r in reliability.iterrows():
                right.annotate(f"n={int(r['n'])}", (r["mean_p"], r["met"]), fontsize=7,
                               xytext=(4, -10), textcoords="offset points")
        right.set_xlim(0, 1)
        right.set_ylim(0, 1)
        right.set_xlabel(T["rel_x"])
        right.set_ylabel(T["rel_y"])
        right.set_title(T["rel_title"], fontsize=10)
    fig.sim_lang = shown
    return fig
