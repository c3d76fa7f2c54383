"""A run's report: one folder a planner can open, mail or archive.

``write_report(results, "reports/jinan-2025")`` writes

- ``index.html``: self-contained (inline CSS, charts as base64 PNG, nothing fetched from anywhere),
  in one language: the answer first (each target's weighted probability, its verdict and evidence,
  and for each target at risk the growth that would give 80%), the probability through the year
  (``sim.track``), the table by scenario, the fan charts, required growth, tornado charts, every
  target's clause and source, what was not simulated and why, the notes, the scenario assumptions,
  the data used with its hashes and sources, the quantiles, and the seed, paths and versions;
- ``probabilities.csv`` (the ``--json`` records), ``quantiles.csv`` (indicator and target quantiles),
  ``report.xlsx`` (one sheet per table) and ``results.nc`` (``results.data``; its observed history
  in the group ``history``).

The folder is built beside ``out_dir`` and renamed into place, so it is never seen half-written. An
existing ``out_dir`` is replaced only with ``force=True``, and only when it is empty or a report.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import json
import math
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import labels
from sim.errors import SimError
from sim.output import atomic
from sim.results import ALL, QUANTILES, WEIGHTED, Results

if TYPE_CHECKING:
    from sim.track import Track

GENERATOR = "sim report"
VERSIONS = ("sim", "numpy", "numba", "statsmodels", "xarray", "pandas", "scipy", "matplotlib",
            "h5netcdf", "h5py", "netCDF4", "openpyxl")
OBSERVATION_COLUMNS = ["region", "indicator", "period", "months", "value", "unit", "source", "clause"]
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC",
"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;margin:2rem auto;max-width:1280px;
padding:0 1.5rem;color:#1d1d1d;line-height:1.45;font-size:15px}
h1{font-size:1.6rem;margin:0 0 .3rem}
h2{font-size:1.2rem;margin:2.2rem 0 .6rem;border-bottom:2px solid #0b3d78;padding-bottom:.2rem;color:#0b3d78}
h3{font-size:1.02rem;margin:1.4rem 0 .4rem}
.sub{color:#555;margin:.1rem 0}.note{color:#555;font-size:.88rem;max-width:70rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.88rem}
th,td{border:1px solid #d5dbe3;padding:.3rem .55rem;vertical-align:top;text-align:left}
td{overflow-wrap:anywhere}
th{background:#eef3f9;font-weight:600}td{min-width:3em}
td.clause{min-width:16em}td.nowrap{white-space:nowrap}td.id{overflow-wrap:normal}
tr:nth-child(even) td{background:#fafbfd}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.hash{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.78rem;word-break:break-all}
tr.joint td{font-weight:600;border-top:2px solid #9fb3cc}
.wide{overflow-x:auto}img.chart{max-width:100%;height:auto;border:1px solid #e3e7ee}
ul.files{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
.verdict{display:inline-block;padding:.05rem .5rem;border-radius:.8rem;font-weight:600;white-space:nowrap}
.verdict.on_track{background:#dff3e4;color:#1e6b34}.verdict.at_risk{background:#fdf0d5;color:#8a5a00}
.verdict.unlikely{background:#fbe1df;color:#a12a1f}
table.answer{font-size:.95rem}ul.needs li{margin:.25rem 0}
img.signature{border:2px solid #0b3d78}
@media (max-width:760px){
body{margin:1rem auto;padding:0 .8rem;font-size:14px}
table,thead,tbody,tr,th,td{display:block}thead{display:none}
table{border:0}tr{border:1px solid #d5dbe3;margin:0 0 .6rem;padding:.2rem .3rem}
td{border:0;padding:.15rem .2rem;white-space:normal;min-width:0;text-align:left}
td.num{text-align:left;white-space:normal}td.nowrap{white-space:normal}
td[data-label]::before{content:attr(data-label);display:block;font-size:.75rem;color:#666;font-weight:600}
}
"""


# --- entry point -------------------------------------------------------------------------------------

def write_report(results: Results, out_dir: str | Path, *, lang: str = "en", force: bool = False,
                 extra_tables: Mapping[str, pd.DataFrame] | None = None,
                 observations: pd.DataFrame | None = None,
                 scenarios: Mapping[str, str | Mapping] | None = None,
                 required: pd.DataFrame | None = None, sensitivity: pd.DataFrame | None = None,
                 track: Track | str | None = None) -> Path:
    """Write the report folder ``out_dir`` and return its path.

    required: :func:`sim.analysis.required_growth` of the run's file; gives the summary its sentence
      on each target at risk (what growth would give :data:`sim.labels.AIM`) and a table.
    sensitivity: :func:`sim.analysis.sensitivity` of the run's file, drawn as tornado charts.
    track: :func:`sim.track.track` of the run's file, the page's first chart; or why there is none.
    extra_tables: further titled tables, shown in the given order, each also a sheet of report.xlsx.
    observations: the rows of calibration/data that fed the run (columns region, indicator, period,
      months, value, unit, source, clause; ``published`` too if present).
    scenarios: name -> description, or name -> {description, weight, shift, volatility}; default: read
      from the results' attributes, else from the run's scenario file when it is unchanged.
    """
    labels.check(lang)
    out = Path(out_dir)
    extra = dict(extra_tables or {})
    for title, table in {**extra, "required": required, "sensitivity": sensitivity}.items():
        if table is not None and not isinstance(table, pd.DataFrame):
            raise SimError(f"table {title!r} is a {type(table).__name__}, not a pandas DataFrame")
    obs = _observations(observations)
    engine = _netcdf_engine()
    _need_openpyxl()
    parts = _Parts(required, sensitivity, track)
    with atomic(out, force=force, folder=True, replaceable=_replaceable) as tmp:
        _build(tmp, results, lang, extra, obs, scenarios, engine, parts)
    return out


@dataclass(frozen=True)
class _Parts:
    """The analyses a report shows beside the run (each optional)."""

    required: pd.DataFrame | None
    sensitivity: pd.DataFrame | None
    track: Track | str | None


def _replaceable(out: Path) -> str | None:
    """Why an existing ``out`` must not be replaced by a report, if so."""
    if out.is_symlink() or not out.is_dir():
        return "exists and is not a folder; not replacing it"
    if any(out.iterdir()) and not _is_report(out):
        return ("exists and is not a sim report (no index.html written by sim); not replacing it, "
                "choose another folder")
    return None


def _is_report(folder: Path) -> bool:
    index = folder / "index.html"
    try:
        with index.open(encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}' in head


def _netcdf_engine() -> str:
    try:
        import h5netcdf  # noqa: F401
        import h5py  # noqa: F401
    except ImportError:
        pass
    else:
        return "h5netcdf"
    try:
        import netCDF4  # noqa: F401
    except ImportError:
        raise SimError("writing results.nc needs h5netcdf and h5py (pip install 'h5netcdf[h5py]') "
                       "or netCDF4") from None
    return "netcdf4"


def _need_openpyxl() -> None:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise SimError("writing report.xlsx needs openpyxl (pip install openpyxl)") from None


# --- building the folder -----------------------------------------------------------------------------

def _build(folder: Path, results: Results, lang: str, extra: dict[str, pd.DataFrame],
           obs: pd.DataFrame | None, scenarios: Mapping | None, engine: str, parts: _Parts) -> None:
    t = labels.REPORT[lang]
    scen_file = _scenario_file(results)
    assumptions = _assumptions(results, scenarios, scen_file, lang)
    summary_wide, summary = _summary(results, lang)
    probs_wide, probs_display = _probability_tables(results, lang)
    targets = _targets_table(results, lang)
    skipped = _skipped_table(results, scen_file, lang)
    notes = pd.DataFrame({t["notes"]: [labels.note(n, lang) for n in results.notes]})
    inputs = _inputs_table(results, lang)
    quant = quantiles_frame(results)
    run = _run_table(results, lang)
    records = pd.DataFrame(results.to_records())

    records.to_csv(folder / "probabilities.csv", index=False, encoding="utf-8")
    quant.to_csv(folder / "quantiles.csv", index=False, encoding="utf-8")
    _write_netcdf(folder / "results.nc", results, engine)
    charts = _Charts(fans=_fan_png(results, lang),
                     track=_track_png(parts.track, lang) if _has_track(parts.track) else None,
                     tornado=_tornado_png(results, parts.sensitivity, lang))

    sheets: list[_Sheet] = [_Sheet(t["answer"], summary_wide, ("probability", "std_error"))]
    if _has_track(parts.track):
        track = parts.track.wide(lang)
        sheets.append(_Sheet(t["track"], track, tuple(track.columns)))
    sheets += [_Sheet(t["probabilities"], probs_wide, tuple(c for c in probs_wide.columns
                                                           if c.startswith(("P(", "SE(")))),
               _Sheet(t["targets"], targets), _Sheet(t["skipped"], skipped), _Sheet(t["notes"], notes),
               _Sheet(t["assumptions"], assumptions), _Sheet(t["inputs"], inputs)]
    if obs is not None:
        sheets.append(_Sheet(t["observations"], _observation_display(obs, lang)))
    sheets.append(_Sheet(t["quantile_sheet"], quant))
    if parts.required is not None:
        sheets.append(_Sheet(t["required"], parts.required, ("level", "probability_now")))
    if parts.sensitivity is not None:
        sheets.append(_Sheet(t["sensitivity"], parts.sensitivity, ("p_low", "p_base", "p_high", "swing")))
    sheets += [_Sheet(title, frame) for title, frame in extra.items()]
    sheets.append(_Sheet(t["run"], run))
    _write_xlsx(folder / "report.xlsx", sheets)

    files = ["index.html", "probabilities.csv", "quantiles.csv", "report.xlsx", "results.nc"]
    page = _html(results, lang, summary, probs_display, charts, parts, extra, targets, skipped, assumptions,
                 scenarios is not None or scen_file is not None or bool(_attr_scenarios(results)),
                 inputs, obs, quant, run, scen_file, files)
    (folder / "index.html").write_text(page, encoding="utf-8")


@dataclass(frozen=True)
class _Charts:
    """The report's pictures, as PNG bytes (None: not drawn)."""

    fans: bytes | None
    track: bytes | None
    tornado: tuple[bytes, list[str]] | None  # and the assumptions left out as they move nothing


def _has_track(track: Track | str | None) -> bool:
    """Whether there is a track to draw (a reason instead, or no row at any date, is none)."""
    return track is not None and not isinstance(track, str) and len(track.table) > 0


def _write_netcdf(path: Path, results: Results, engine: str) -> None:
    ds = results.data.copy()
    ds.attrs = {k: (v if isinstance(v, str | int | float) else json.dumps(v, ensure_ascii=False, default=str))
                for k, v in ds.attrs.items()}
    ds.to_netcdf(path, engine=engine)
    hist = results.history
    if hist is not None and len(hist):
        h = hist.reset_index(drop=True)
        h.index.name = "observation"
        h.to_xarray().to_netcdf(path, mode="a", group="history", engine=engine)


def _fan_png(results: Results, lang: str) -> bytes | None:
    from sim.charts import fan_grid

    if not len(results.data["indicator"]):
        return None
    return _png(fan_grid(results, lang=lang))


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    return buf.getvalue()


def _track_png(track: Track, lang: str) -> bytes:
    from sim.charts import track_chart

    return _png(track_chart(track, lang=lang))


def _tornado_png(results: Results, sens: pd.DataFrame | None, lang: str) -> tuple[bytes, list[str]] | None:
    """Tornado charts of the targets some assumption moves, and the assumptions that move none."""
    from sim.charts import tornado_grid, unmoving

    if sens is None or sens.empty:
        return None
    d = results.data
    names = {str(tid): str(d["name_zh" if lang == "zh" else "name_en"].sel(target=tid).item())
             for tid in d["target"].values}
    still = unmoving(sens, lang)
    moving = set(sens.loc[sens["swing"] > 0, "target"].astype(str))
    moved = [tid for tid in map(str, d["target"].values) if tid in moving]  # in the file's order
    if not moved:
        return b"", still
    return _png(tornado_grid(sens, moved, lang=lang, names=names)), still


@dataclass(frozen=True)
class _Sheet:
    """A table of report.xlsx and its columns of probabilities (shown as percentages)."""

    title: str
    frame: pd.DataFrame
    percent: tuple[str, ...] = ()


def _write_xlsx(path: Path, sheets: list[_Sheet]) -> None:
    """One sheet per table: the header row frozen, columns as wide as their contents, probabilities
    formatted as percentages."""
    used: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for sheet_spec in sheets:
            title, frame = sheet_spec.title, sheet_spec.frame
            percent = {_ILLEGAL_XLSX.sub("", str(c)) for c in sheet_spec.percent}
            name = _sheet_name(title, used)
            keep_index = not _plain_index(frame)
            clean = _clean_for_xlsx(frame)
            clean.to_excel(writer, sheet_name=name, index=keep_index)
            sheet = writer.sheets[name]
            sheet.freeze_panes = "A2"
            for column in sheet.columns:
                head = column[0].value
                if head in percent:
                    for cell in column[1:]:
                        if isinstance(cell.value, int | float):
                            cell.number_format = "0.0%"
                width = max((_display_width(c.value) for c in column), default=0)
                sheet.column_dimensions[column[0].column_letter].width = min(60, max(8, width + 2))


def _display_width(v: object) -> int:
    """Characters a value takes in a cell (a Chinese character takes two)."""
    if v is None:
        return 0
    return labels.width(f"{v:.1%}" if isinstance(v, float) and abs(v) <= 1 else str(v))


def _plain_index(frame: pd.DataFrame) -> bool:
    """A row number (0, 1, 2, …) without a name: not worth a column."""
    idx = frame.index
    return (isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1
            and all(n is None for n in idx.names))


def _sheet_name(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", str(title)).strip().strip("'") or "sheet"
    base = base[:31]
    name, k = base, 2
    while name.lower() in used:
        suffix = f" ({k})"
        name, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(name.lower())
    return name


def _clean_for_xlsx(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = [_ILLEGAL_XLSX.sub("", str(c)) if isinstance(c, str) else c for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: _ILLEGAL_XLSX.sub("", v) if isinstance(v, str) else v)
    return out


# --- tables ------------------------------------------------------------------------------------------

def _name(results: Results, target: str, lang: str) -> str:
    if target == ALL:
        return labels.REPORT[lang]["joint"]
    return str(results.data["name_zh" if lang == "zh" else "name_en"].sel(target=target).item())


def _uncertainty(row: object, scenario: str) -> float:
    """The ± of a probability: its Monte Carlo error, or for grade D its class rate's posterior sd."""
    if str(row["evidence"].item()) == "D":
        return float(row["posterior_sd"].item())
    return float(row["std_error"].sel(scenario=scenario).item())


def _summary(results: Results, lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The answer: each target's weighted probability, its verdict and its evidence (numbers for the
    spreadsheet, text for the page)."""
    d = results.data
    t = labels.REPORT[lang]
    wide, shown = [], []
    for target in map(str, d["target"].values):
        row = d.sel(target=target)
        p = float(row["probability"].sel(scenario=WEIGHTED).item())
        se = _uncertainty(row, WEIGHTED)
        grade = str(row["evidence"].item())
        name = _name(results, target, lang)
        wide.append({t["id"]: target, t["target"]: name, "probability": p, "std_error": se,
                     t["verdict"]: labels.verdict_label(p, lang, se), t["grade"]: labels.grade(grade, lang)})
        shown.append({t["target"]: name, t["probability"]: labels.probability(p, se),
                      t["verdict"]: labels.verdict_label(p, lang, se), t["grade"]: labels.grade(grade, lang)})
    return pd.DataFrame(wide), pd.DataFrame(shown)


def _at_risk(results: Results) -> list[str]:
    """The simulated targets (not 'all', not grade D) whose weighted probability is not on track."""
    d = results.data.sel(scenario=WEIGHTED)
    rows = zip(d["target"].values, d["evidence"].values, d["probability"].values, d["std_error"].values,
               strict=True)
    return [str(tid) for tid, g, p, se in rows
            if tid != ALL and g != "D" and labels.verdict(float(p), float(se)) != "on_track"]


def _sentences(results: Results, required: pd.DataFrame | None, lang: str) -> list[str]:
    """One sentence per simulated target at risk or unlikely: what growth would give AIM."""
    from sim.kinds import KINDS

    if required is None or required.empty:
        return []
    d = results.data
    t = labels.REPORT[lang]
    aim = labels.percent(labels.AIM)
    year = d.attrs.get("target_year", "")
    out = []
    for target in _at_risk(results):
        row = d.sel(target=target)
        p = float(row["probability"].sel(scenario=WEIGHTED).item())
        mine = required[(required["target"] == target) & np.isclose(required["level"], labels.AIM)]
        if mine.empty:
            continue
        r = mine.iloc[0]
        name, now = _name(results, target, lang), labels.probability(p, _uncertainty(row, WEIGHTED))
        if not np.isfinite(r["growth"]):
            observed = "observed" in str(r.get("note", ""))
            why = t["needs_observed"] if observed else t["needs_out"].format(aim=aim)
            out.append(t["needs_none"].format(name=name, p=now, why=why))
            continue
        kind = str(d["indicator_kind"].sel(indicator=str(row["target_indicator"].item())).item()) \
            if str(row["target_indicator"].item()) in d["indicator"].values else ""
        change = KINDS[kind].change if kind in KINDS else "value"
        if change == "difference":
            what = t["needs_points"].format(g=labels.points(r["growth"], lang))
        else:
            what = t["needs_growth"].format(g=labels.growth(r["growth"]))
        out.append(t["needs"].format(name=name, p=now, what=what, year=year, aim=aim))
    return out


def _probability_tables(results: Results, lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table a planner reads (strings) and the same numbers for the spreadsheet."""
    d = results.data
    t = labels.REPORT[lang]
    scenarios = [str(s) for s in d["scenario"].values]
    median = t["median"].format(year=d.attrs.get("target_year", ""))
    display, numeric = [], []
    for target in map(str, d["target"].values):
        row = d.sel(target=target)
        grade = str(row["evidence"].item())
        name = _name(results, target, lang)
        disp = {t["id"]: target, t["target"]: name, t["grade"]: labels.grade(grade, lang)}
        num = {"target": target, "name": name, "evidence": grade}
        unit = labels.measure_unit(str(row["measure"].item()), str(row["unit"].item()))
        last_v, last_y = float(row["last_value"].item()), float(row["last_year"].item())
        q = row["measure_quantile"].sel(scenario=WEIGHTED)
        med, p10, p90 = (float(q.sel(quantile=x).item()) for x in (0.5, 0.1, 0.9))
        simulated = target != ALL and grade != "D"
        disp[t["last"]] = (f"{labels.value(last_v, unit, lang)} ({int(last_y)})"
                           if simulated and last_v == last_v else "")
        disp[median] = labels.interval(med, p10, p90, unit, lang) if simulated and med == med else ""
        num.update(last_value=last_v, last_year=last_y, median=med, p10=p10, p90=p90,
                   unit=str(row["unit"].item()))
        for s in scenarios:
            p = float(row["probability"].sel(scenario=s).item())
            se = _uncertainty(row, s)
            disp[f"P({labels.scenario(s, lang)})"] = labels.probability(p, se)
            num[f"P({s})"] = p
            num[f"SE({s})"] = se
        display.append(disp)
        numeric.append(num)
    return pd.DataFrame(numeric), pd.DataFrame(display)


def _targets_table(results: Results, lang: str) -> pd.DataFrame:
    d = results.data
    t = labels.REPORT[lang]
    rows = []
    for target in map(str, d["target"].values):
        if target == ALL:
            continue
        r = d.sel(target=target)
        base = r["base_year"].item()
        base_text = str(int(base)) if base == base else ""
        rows.append({
            t["id"]: target, t["name_zh"]: str(r["name_zh"].item()),
            **({t["name_en"]: str(r["name_en"].item())} if lang == "en" else {}),
            t["indicator"]: str(r["target_indicator"].item()), t["year"]: int(r["target_year"].item()),
            t["measure"]: labels.measure(str(r["measure"].item()), base_text, lang),
            t["stated"]: f"{labels.comparator(str(r['comparator'].item()))} "
                         f"{labels.stated(float(r['value'].item()), str(r['unit'].item()), lang)}",
            t["modality"]: str(r["modality"].item()), t["clause"]: str(r["clause"].item()),
            t["grade"]: str(r["evidence"].item()), t["basis"]: labels.basis(str(r["basis"].item()), lang),
            t["source"]: str(r["source"].item())})
    return pd.DataFrame(rows)


def _required_display(required: pd.DataFrame, results: Results, lang: str) -> pd.DataFrame:
    """The required-growth table as people read it: names, probabilities in %, growth in %."""
    t = labels.REPORT[lang]
    units = required["unit"] if "unit" in required else pd.Series("%", index=required.index)
    return pd.DataFrame({
        t["target"]: [_name(results, str(x), lang) for x in required["target"]],
        t["lever"]: required["lever"].astype(str),
        t["now"]: [labels.percent(p) for p in required["probability_now"]],
        t["level"]: [labels.percent(q) for q in required["level"]],
        t["shift"]: [labels.shift(x, str(u), lang) for x, u in zip(required["shift"], units, strict=True)],
        t["growth"]: [labels.growth(g) for g in required["growth"]],
    })


def _skipped_table(results: Results, scen_file: object | None, lang: str) -> pd.DataFrame:
    t = labels.REPORT[lang]
    rows = []
    for s in results.skipped:
        row = {t["id"]: s.target, t["reason"]: labels.reason(s.reason, lang)}
        spec = getattr(scen_file, "targets", {}).get(s.target) if scen_file is not None else None
        row[t["target"]] = (spec.name_zh if lang == "zh" else spec.name_en) if spec is not None else ""
        row[t["clause"]] = spec.clause if spec is not None else ""
        row[t["source"]] = spec.source if spec is not None else ""
        rows.append(row)
    return pd.DataFrame(rows, columns=[t["id"], t["target"], t["reason"], t["clause"], t["source"]])


def _attr_scenarios(results: Results) -> dict:
    raw = results.data.attrs.get("scenarios")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _scenario_file(results: Results) -> object | None:
    """The run's scenario file, if it is still there and unchanged (its hash is among the inputs)."""
    name = results.data.attrs.get("scenario_file")
    if not name:
        return None
    path = Path(str(name))
    if not path.is_file():
        return None
    try:
        hashes = set(json.loads(results.data.attrs.get("inputs", "{}")).values())
    except ValueError:
        hashes = set()
    if hashes and hashlib.sha256(path.read_bytes()).hexdigest() not in hashes:
        return None
    from sim.spec import ScenarioFile

    try:
        return ScenarioFile.load(path)
    except SimError:
        return None


def _shift_text(shift: Mapping, lang: str) -> str:
    """A scenario's shifts of means, each with the year it starts from."""
    frm = labels.REPORT[lang]["from"]
    parts = []
    for proc, v in shift.items():
        if isinstance(v, Mapping):
            by, start = v.get("by"), v.get("from") or v.get("from_year")
        elif hasattr(v, "by"):
            by, start = v.by, v.from_year
        else:
            by, start = float(v), None
        parts.append(f"{proc} {by:+g}" + (f" ({frm.format(year=start)})" if start else ""))
    return ", ".join(parts)


def _assumptions(results: Results, given: Mapping | None, scen_file: object | None,
                 lang: str) -> pd.DataFrame:
    t = labels.REPORT[lang]
    d = results.data
    weights = {str(s): float(w) for s, w in zip(d["scenario"].values, d["weight"].values, strict=True)
               if str(s) != WEIGHTED}
    info: dict[str, dict] = {s: {} for s in weights}
    sources: list[Mapping] = []
    if scen_file is not None:
        sources.append({name: {"description": spec.description, "shift": spec.shift,
                               "volatility": spec.volatility, "weight": spec.weight}
                        for name, spec in scen_file.scenarios.items()})
    sources.append(_attr_scenarios(results))
    if given is not None:
        sources.append({k: (v if isinstance(v, Mapping) else {"description": str(v)})
                        for k, v in given.items()})
    for src in sources:  # later sources win: the argument over the attributes over the file
        for name, item in src.items():
            info.setdefault(str(name), {}).update({k: v for k, v in dict(item).items() if v is not None})
    rows = []
    for name, item in info.items():
        weight = item.get("weight", weights.get(name, math.nan))
        rows.append({t["scenario"]: labels.scenario(name, lang),
                     t["weight"]: float(weight),
                     t["description"]: " ".join(str(item.get("description", "")).split()),
                     t["shift_means"]: _shift_text(item.get("shift") or {}, lang),
                     t["volatility"]: ", ".join(f"{k} ×{float(v):g}"
                                                for k, v in (item.get("volatility") or {}).items())})
    return pd.DataFrame(rows)


def _inputs_table(results: Results, lang: str) -> pd.DataFrame:
    t = labels.REPORT[lang]
    try:
        inputs = json.loads(results.data.attrs.get("inputs", "{}"))
    except ValueError:
        inputs = {}
    return pd.DataFrame([{t["file"]: k, t["sha256"]: v} for k, v in inputs.items()],
                        columns=[t["file"], t["sha256"]])


def _observations(obs: pd.DataFrame | None) -> pd.DataFrame | None:
    if obs is None:
        return None
    if not isinstance(obs, pd.DataFrame):
        raise SimError(f"observations must be a pandas DataFrame, not {type(obs).__name__}")
    missing = [c for c in OBSERVATION_COLUMNS if c not in obs.columns]
    if missing:
        raise SimError(f"observations lack the column(s) {', '.join(missing)}; they need "
                       f"{', '.join(OBSERVATION_COLUMNS)}")
    published = ["published"] if "published" in obs.columns else []
    cols = [*OBSERVATION_COLUMNS[:6], *published, "source", "clause"]
    return obs[cols].reset_index(drop=True)


def _observation_display(obs: pd.DataFrame, lang: str) -> pd.DataFrame:
    t = labels.REPORT[lang]
    return obs.rename(columns={c: t[c] for c in obs.columns if c in t})


def quantiles_frame(results: Results) -> pd.DataFrame:
    """Indicator quantiles by scenario and year (fan charts) and target-measure quantiles, one table."""
    d = results.data
    qcols = [f"p{round(100 * q):02d}" for q in QUANTILES]
    iq = d["indicator_quantile"].transpose("scenario", "indicator", "year", "quantile")
    rows = []
    for s in map(str, d["scenario"].values):
        for ind in map(str, d["indicator"].values):
            unit = str(d["indicator_unit"].sel(indicator=ind).item())
            for y in d["year"].values:
                vals = iq.sel(scenario=s, indicator=ind, year=y).to_numpy()
                if not np.isfinite(vals).all():
                    continue
                rows.append({"scenario": s, "indicator": ind, "target": "", "measure": "level",
                             "year": int(y), "unit": unit, **dict(zip(qcols, vals.tolist(), strict=True))})
    mq = d["measure_quantile"].transpose("scenario", "target", "quantile")
    for s in map(str, d["scenario"].values):
        for target in map(str, d["target"].values):
            if target == ALL:
                continue
            r = d.sel(target=target)
            vals = mq.sel(scenario=s, target=target).to_numpy()
            rows.append({"scenario": s, "indicator": str(r["target_indicator"].item()), "target": target,
                         "measure": str(r["measure"].item()), "year": int(r["target_year"].item()),
                         "unit": str(r["unit"].item()), **dict(zip(qcols, vals.tolist(), strict=True))})
    return pd.DataFrame(rows, columns=["scenario", "indicator", "target", "measure", "year", "unit", *qcols])


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in VERSIONS:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = ""
    return out


def _run_table(results: Results, lang: str) -> pd.DataFrame:
    t = labels.REPORT[lang]
    a = results.data.attrs
    rows = [(t["region"], labels.region(str(a.get("region", "")), lang)),
            (t["year"], a.get("target_year", "")),
            (t["scenario_file"], a.get("scenario_file", "")), (t["seed"], a.get("seed", "")),
            (t["paths"], f"{int(a['paths']):,}" if "paths" in a else ""),
            (t["keep"], f"{int(a['keep']):,}" if "keep" in a else ""),
            (t["antithetic"], t["yes"] if a.get("antithetic") else t["no"]),
            (t["as_of_key"], a.get("as_of") or t["all_data"]),
            (t["generated"], dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
            (t["python"], platform.python_version())]
    versions = _versions()
    if a.get("sim_version"):
        versions["sim"] = str(a["sim_version"])
    for name, v in versions.items():
        if v or name in ("sim", "numpy", "numba", "statsmodels", "xarray"):
            rows.append((t["version"].format(name=name), v or t["not_installed"]))
    return pd.DataFrame([{t["key"]: k, t["setting"]: str(v)} for k, v in rows])


# --- HTML --------------------------------------------------------------------------------------------

def _e(x: object) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float | np.floating) and not math.isfinite(v)):
        return "—" if v is None or math.isnan(v) else str(v)
    if isinstance(v, float | np.floating):
        return _float_text(float(v))
    if isinstance(v, int | np.integer) and not isinstance(v, bool) and abs(v) >= 10_000:
        return f"{v:,}"
    return str(v)


def _float_text(v: float) -> str:
    """Shortest faithful decimals (at most 6), thousands separated, never in exponent form if avoidable."""
    if abs(v) >= 1e15 or (v != 0 and abs(v) < 1e-4):
        return f"{v:.4g}"
    text = np.format_float_positional(v, precision=6, unique=True, trim="-")
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-') or 0):,}" + (f".{frac}" if frac else "")


def _table(frame: pd.DataFrame, *, numeric: tuple[str, ...] = (), hashes: tuple[str, ...] = (),
           prose: tuple[str, ...] = (), ids: tuple[str, ...] = (), nowrap: tuple[str, ...] = (),
           joint_last: bool = False) -> str:
    """An HTML table: every cell escaped, numbers right-aligned.

    numeric: right-aligned and unbroken; hashes: monospace; prose: given room; ids: identifiers,
    broken only after an underscore; nowrap: never broken (dates, units).
    """
    keep_index = not _plain_index(frame)
    df = frame.reset_index() if keep_index else frame
    cols = list(df.columns)
    num_cols = {c for c in cols if c in numeric or pd.api.types.is_numeric_dtype(df[c])}
    head = "".join(f'<th class="num">{_e(c)}</th>' if c in num_cols else f"<th>{_e(c)}</th>" for c in cols)
    body = []
    for k, row in enumerate(df.itertuples(index=False, name=None)):
        cells = []
        for c, v in zip(cols, row, strict=True):
            text = _e(_cell(v))
            if c in ids:
                text = text.replace("_", "_<wbr>")
            if c in hashes:
                cls = "hash"
            elif c in prose:
                cls = "clause"
            elif c in nowrap or c in ids:
                cls = "nowrap" if c in nowrap else "id"
            elif c in num_cols or _is_number(v):
                cls = "num"
            else:
                cls = ""
            label = f' data-label="{_e(c)}"'
            cells.append(f'<td class="{cls}"{label}>{text}</td>' if cls else f"<td{label}>{text}</td>")
        tr = ' class="joint"' if joint_last and k == len(df) - 1 else ""
        body.append(f"<tr{tr}>{''.join(cells)}</tr>")
    return (f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            "</table></div>")


def _img(png: bytes, alt: str, cls: str = "chart") -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img class="{cls}" alt="{_e(alt)}" src="data:image/png;base64,{b64}">'


def _answer(summary: pd.DataFrame, results: Results, lang: str, graded_d: bool) -> str:
    """The summary table of the simulated targets (or of the grade-D ones), its verdicts coloured."""
    t = labels.REPORT[lang]
    d = results.data
    cols = list(summary.columns)
    mine = (d["evidence"].values == "D") == graded_d
    if not mine.any():
        return ""
    head = "".join(f'<th class="num">{_e(c)}</th>' if c == t["probability"] else f"<th>{_e(c)}</th>"
                   for c in cols)
    body = []
    for target, row, keep in zip(map(str, d["target"].values), summary.itertuples(index=False, name=None),
                                 mine, strict=True):
        if not keep:
            continue
        row_d = d.sel(target=target)
        p, se = float(row_d["probability"].sel(scenario=WEIGHTED).item()), _uncertainty(row_d, WEIGHTED)
        cells = []
        for c, v in zip(cols, row, strict=True):
            label = f' data-label="{_e(c)}"'
            if c == t["probability"]:
                cells.append(f'<td class="num"{label}>{_e(v)}</td>')
            elif c == t["verdict"] and p == p:
                cells.append(f'<td{label}><span class="verdict {labels.verdict(p, se)}">{_e(v)}</span></td>')
            else:
                cells.append(f"<td{label}>{_e(v)}</td>")
        tr = ' class="joint"' if target == ALL else ""
        body.append(f"<tr{tr}>{''.join(cells)}</tr>")
    return (f'<div class="wide"><table class="answer"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _html(results: Results, lang: str, summary: pd.DataFrame, probs: pd.DataFrame, charts: _Charts,
          parts: _Parts, extra: dict[str, pd.DataFrame], targets: pd.DataFrame, skipped: pd.DataFrame,
          assumptions: pd.DataFrame, have_descriptions: bool, inputs: pd.DataFrame,
          obs: pd.DataFrame | None, quant: pd.DataFrame, run: pd.DataFrame, scen_file: object | None,
          files: list[str]) -> str:
    t = labels.REPORT[lang]
    a = results.data.attrs
    title = t["title"].format(region=labels.region(str(a.get("region", "")), lang),
                              year=a.get("target_year", ""))
    doc_title = getattr(scen_file, "title", "") if scen_file is not None else ""
    line = t["summary_line"].format(paths=int(a.get("paths", 0)), seed=a.get("seed", ""),
                                    keep=int(a.get("keep", 0)))
    if a.get("antithetic"):
        line += f" · {t['antithetic']}"
    as_of = t["as_of"].format(as_of=a["as_of"]) if a.get("as_of") else t["all_data"]
    html_parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f'<meta name="generator" content="{GENERATOR} {_e(a.get("sim_version", ""))}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    if doc_title:
        html_parts.append(f'<p class="sub">{_e(doc_title)}</p>')
    html_parts.append(f'<p class="sub">{_e(a.get("scenario_file", ""))} · {_e(line)} · {_e(as_of)}</p>')
    add = html_parts.append

    add(f'<h2 id="answer">{_e(t["answer"])}</h2>')
    add(_answer(summary, results, lang, graded_d=False))
    bands = t["bands"].format(on=labels.percent(labels.ON_TRACK), risk=labels.percent(labels.AT_RISK))
    add(f'<p class="note">{_e(bands)}</p>')
    sentences = _sentences(results, parts.required, lang)
    if sentences:
        add('<ul class="needs">' + "".join(f"<li>{_e(x)}</li>" for x in sentences) + "</ul>")
    elif not _at_risk(results):
        add(f"<p>{_e(t['all_on_track'])}</p>")

    if _has_track(parts.track):
        track = parts.track
        add(f'<h2 id="track">{_e(t["track"])}</h2>')
        add(_img(charts.track, t["track"], "chart signature"))
        key = "track_note" if track.left_out else "track_note_none"
        note = t[key].format(paths=track.paths, seed=track.seed, n=len(track.left_out))
        add(f'<p class="note">{_e(note)}</p>')
    elif parts.track is not None:
        why = parts.track if isinstance(parts.track, str) else "; ".join(parts.track.notes)
        add(f'<h2 id="track">{_e(t["track"])}</h2>')
        add(f'<p class="note">{_e(t["track_missing"].format(why=why))}</p>')

    class_rates = _answer(summary, results, lang, graded_d=True)
    if class_rates:
        add(f'<h3 id="class-rates">{_e(t["answer_d"])}</h3>')
        add(class_rates)

    add(f'<h2 id="probabilities">{_e(t["probabilities"])}</h2>')
    add(_table(probs, joint_last=bool(len(probs)) and probs[t["id"]].iloc[-1] == ALL, ids=(t["id"],),
               numeric=tuple(c for c in probs.columns if str(c).startswith("P("))))
    add(f'<p class="note">{_e(t["prob_note"])}</p>')

    if charts.fans is not None:
        add(f'<h2 id="fans">{_e(t["fans"])}</h2>')
        add(_img(charts.fans, t["fans"]))
        add(f'<p class="note">{_e(t["fan_note"])}</p>')

    if parts.required is not None:
        add(f'<h2 id="required">{_e(t["required"])}</h2>')
        add(f'<p class="note">{_e(t["required_note"].format(year=a.get("target_year", "")))}</p>')
        add(_table(_required_display(parts.required, results, lang)))

    if charts.tornado is not None:
        png, still = charts.tornado
        add(f'<h2 id="sensitivity">{_e(t["sensitivity"])}</h2>')
        if png:
            add(_img(png, t["sensitivity"]))
            add(f'<p class="note">{_e(t["sensitivity_note"])}</p>')
        else:
            add(f"<p>{_e(t['no_sensitivity'])}</p>")
        if still and png:
            add(f'<p class="note left-out">{_e(t["left_out"].format(names=labels.join(still, lang)))}</p>')

    for k, (name, frame) in enumerate(extra.items()):
        add(f'<h2 id="extra-{k + 1}">{_e(name)}</h2>')
        add(_table(frame))

    add(f'<h2 id="targets">{_e(t["targets"])}</h2>')
    add(_table(targets, prose=(t["clause"],), ids=(t["id"], t["indicator"], t["source"]),
               nowrap=(t["stated"],)))

    add(f'<h2 id="skipped">{_e(t["skipped"])}</h2>')
    if len(skipped):
        add(_table(skipped, prose=(t["clause"], t["reason"]), ids=(t["id"], t["source"])))
    else:
        add(f"<p>{_e(t['none_skipped'])}</p>")
    add(f'<h3 id="notes">{_e(t["notes"])}</h3>')
    if results.notes:
        add("<ul>" + "".join(f"<li>{_e(labels.note(n, lang))}</li>" for n in results.notes) + "</ul>")
    else:
        add(f"<p>{_e(t['no_notes'])}</p>")

    add(f'<h2 id="assumptions">{_e(t["assumptions"])}</h2>')
    add(_table(assumptions, prose=(t["description"],), nowrap=(t["scenario"],)))
    if not have_descriptions:
        add(f'<p class="note">{_e(t["no_descriptions"])}</p>')

    add(f'<h2 id="data">{_e(t["data"])}</h2>')
    add(f"<h3>{_e(t['inputs'])}</h3>")
    add(_table(inputs, hashes=(t["sha256"],)))
    add(f"<h3>{_e(t['observations'])}</h3>")
    if obs is not None:
        add(_table(_observation_display(obs, lang), prose=(t["clause"],), ids=(t["indicator"],),
                   nowrap=(t["published"], t["months"], t["unit"])))
    else:
        add(f'<p class="note">{_e(t["no_observations"])}</p>')

    add(f'<h2 id="quantiles">{_e(t["quantiles"])}</h2>')
    add(_table(_quantiles_display(quant, results, lang), ids=(t["indicator"],), nowrap=(t["unit"],)))

    add(f'<h2 id="run">{_e(t["run"])}</h2>')
    add(_table(run))
    add(f"<h3>{_e(t['files'])}</h3>")
    add('<ul class="files">' + "".join(f"<li>{_e(f)}</li>" for f in files) + "</ul>")
    add("</body></html>")
    return "\n".join(html_parts) + "\n"


def _quantiles_display(quant: pd.DataFrame, results: Results, lang: str) -> pd.DataFrame:
    """The weighted indicator quantiles, named and numbered as people read them."""
    t = labels.REPORT[lang]
    d = results.data
    rows = quant[(quant["scenario"] == WEIGHTED) & (quant["target"] == "")]
    qcols = [c for c in quant.columns if re.fullmatch(r"p\d\d", c)]
    out = pd.DataFrame({
        t["indicator"]: [str(d[f"indicator_name_{lang}"].sel(indicator=i).item()) for i in rows["indicator"]],
        t["year"]: rows["year"].astype(int).to_numpy(),
        t["unit"]: [labels.unit(u, lang) for u in rows["unit"]]})
    for c in qcols:
        out[f"P{int(c[1:])}"] = [labels.value(v, u, lang) if u in ("%", "pp") else labels.number(v)
                                 for v, u in zip(rows[c], rows["unit"], strict=True)]
    return out
