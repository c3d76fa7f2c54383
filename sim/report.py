"""A run's report: one folder a planner can open, mail or archive.

``write_report(results, "reports/jinan-2025")`` writes

- ``index.html``: self-contained (inline CSS, charts as base64 PNG, nothing fetched from anywhere):
  the probability table, the fan charts, any extra tables, every target's clause and source, what
  was not simulated and why, the notes, the scenario assumptions, the data used with its hashes and
  sources, the quantiles, and the seed, paths and versions;
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
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import SimError
from sim.output import atomic
from sim.results import ALL, QUANTILES, WEIGHTED, Results

GENERATOR = "sim report"
VERSIONS = ("sim", "numpy", "numba", "statsmodels", "xarray", "pandas", "scipy", "matplotlib",
            "h5netcdf", "h5py", "netCDF4", "openpyxl")
OBSERVATION_COLUMNS = ["region", "indicator", "period", "months", "value", "unit", "source", "clause"]
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

L = {
    "en": {
        "title": "{region} {year}: probability of meeting the targets",
        "summary": "{paths:,} Monte Carlo paths · seed {seed} · {keep:,} kept for quantiles",
        "as_of": "data as of {as_of}", "all_data": "all data published so far",
        "probabilities": "Probabilities", "prob_note": "P(·): probability of meeting the target ± one "
        "Monte Carlo standard error (percentage points); weighted: the scenarios mixed by their weights; "
        "all targets: every simulated target met on the same path. Median and [P10, P90]: the weighted "
        "mixture, in the target's year and unit.",
        "target": "Target", "id": "ID", "year": "Year", "last": "Last observed",
        "median": "{year}: median [P10, P90]", "fans": "Fan charts",
        "fan_note": "Shaded: the 5–95, 10–90 and 25–75th percentiles of the simulated paths (weighted "
        "scenarios); line: the median; dots: observed values; diamond and dashed line: the target.",
        "targets": "Targets, clauses and sources", "indicator": "Indicator", "measure": "Measure",
        "base_year": "Base year", "stated": "Stated as", "modality": "Modality", "clause": "Clause",
        "source": "Source document", "name_zh": "Name (Chinese)", "name_en": "Name (English)",
        "skipped": "Not simulated", "reason": "Reason", "none_skipped": "Every target was simulated.",
        "notes": "Notes", "no_notes": "No notes.", "assumptions": "Scenario assumptions",
        "scenario": "Scenario", "weight": "Weight", "description": "Description", "shift": "Shift of means",
        "volatility": "Volatility multiplier", "no_descriptions": "Scenario descriptions are not "
        "available for this run; the weights are from the results.",
        "data": "Data used", "inputs": "Input files", "file": "File", "sha256": "SHA-256",
        "observations": "Observations", "no_observations": "The observations were not attached to this "
        "report; the input files above (with their hashes) hold them.",
        "region": "Region", "period": "Period", "months": "Months", "value": "Value", "unit": "Unit",
        "published": "Published", "quantiles": "Quantiles of the simulated indicators (weighted)",
        "run": "Run", "key": "Item", "setting": "Value", "seed": "Seed", "paths": "Paths",
        "keep": "Paths kept for quantiles", "antithetic": "Antithetic pairs", "yes": "yes", "no": "no",
        "as_of_key": "Data as of", "scenario_file": "Scenario file",
        "generated": "Generated", "version": "Version of {name}", "python": "Python", "not_installed":
        "not installed", "files": "Files in this folder", "joint": "all targets met together",
    },
    "zh": {
        "title": "{region} {year}年目标实现概率",
        "summary": "蒙特卡洛路径 {paths:,} 条 · 随机种子 {seed} · 分位数取前 {keep:,} 条",
        "as_of": "数据截至 {as_of}", "all_data": "使用目前已发布的全部数据",
        "probabilities": "实现概率", "prob_note": "P(·):实现目标的概率 ± 一个蒙特卡洛标准误(百分点);"
        "加权:各情景按权重混合;全部目标:同一路径上所有模拟目标同时实现。中位数及[P10, P90]:加权混合,"
        "为目标年份、目标单位下的数值。",
        "target": "目标", "id": "编号", "year": "年份", "last": "最新实际值",
        "median": "{year}年:中位数 [P10, P90]", "fans": "扇形图",
        "fan_note": "阴影:模拟路径的5–95、10–90、25–75分位区间(加权情景);实线:中位数;圆点:实际值;"
        "菱形与虚线:目标。",
        "targets": "目标、条款与出处", "indicator": "指标", "measure": "口径", "base_year": "基期",
        "stated": "目标值", "modality": "措辞", "clause": "条款原文", "source": "出处文件",
        "name_zh": "中文名称", "name_en": "英文名称", "skipped": "未模拟的目标", "reason": "原因",
        "none_skipped": "所有目标均已模拟。", "notes": "说明", "no_notes": "无。",
        "assumptions": "情景假设", "scenario": "情景", "weight": "权重", "description": "描述",
        "shift": "均值调整", "volatility": "波动倍数",
        "no_descriptions": "本次运行没有情景描述;权重取自结果。",
        "data": "所用数据", "inputs": "输入文件", "file": "文件", "sha256": "SHA-256",
        "observations": "观测数据", "no_observations": "本报告未附观测数据;见上列输入文件(含哈希值)。",
        "region": "地区", "period": "时期", "months": "月份", "value": "数值", "unit": "单位",
        "published": "发布日期", "quantiles": "模拟指标分位数(加权)",
        "run": "运行信息", "key": "项目", "setting": "取值", "seed": "随机种子", "paths": "路径数",
        "keep": "分位数所用路径数", "antithetic": "对偶路径", "yes": "是", "no": "否",
        "as_of_key": "数据截至", "scenario_file": "情景文件",
        "generated": "生成时间", "version": "{name} 版本", "python": "Python", "not_installed": "未安装",
        "files": "本文件夹中的文件", "joint": "全部目标同时实现",
    },
}
SCENARIO_ZH = {"baseline": "基准", "base": "基准", "downside": "下行", "upside": "上行",
               "weighted": "加权", "optimistic": "乐观", "pessimistic": "悲观", "central": "中性"}
MEASURE_TEXT = {
    "en": {"level": "level", "growth": "growth on the year before", "change_since": "% change since {base}",
           "difference_since": "change since {base} (pp)"},
    "zh": {"level": "水平", "growth": "比上年增长", "change_since": "比{base}年变化(%)",
           "difference_since": "比{base}年变化(百分点)"},
}
COMPARATOR_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "about": "≈"}

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
th{background:#eef3f9;font-weight:600;white-space:nowrap}td{min-width:3em}
td.clause{min-width:16em}td.nowrap{white-space:nowrap}td.id{overflow-wrap:normal}
tr:nth-child(even) td{background:#fafbfd}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.hash{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.78rem;word-break:break-all}
tr.joint td{font-weight:600;border-top:2px solid #9fb3cc}
.wide{overflow-x:auto}img.chart{max-width:100%;height:auto;border:1px solid #e3e7ee}
ul.files{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
"""


# --- entry point -------------------------------------------------------------------------------------

def write_report(results: Results, out_dir: str | Path, *, lang: str = "en", force: bool = False,
                 extra_tables: Mapping[str, pd.DataFrame] | None = None,
                 observations: pd.DataFrame | None = None,
                 scenarios: Mapping[str, str | Mapping] | None = None) -> Path:
    """Write the report folder ``out_dir`` and return its path.

    extra_tables: titled tables (required growth, sensitivity, …) shown in the given order, each also
      a sheet of report.xlsx.
    observations: the rows of calibration/data that fed the run (columns region, indicator, period,
      months, value, unit, source, clause; ``published`` too if present).
    scenarios: name -> description, or name -> {description, weight, shift, volatility}; default: read
      from the results' attributes, else from the run's scenario file when it is unchanged.
    """
    if lang not in L:
        raise SimError(f"lang must be 'zh' or 'en', got {lang!r}")
    out = Path(out_dir)
    extra = dict(extra_tables or {})
    for title, table in extra.items():
        if not isinstance(table, pd.DataFrame):
            raise SimError(f"extra table {title!r} is a {type(table).__name__}, not a pandas DataFrame")
    obs = _observations(observations)
    engine = _netcdf_engine()
    _need_openpyxl()
    with atomic(out, force=force, folder=True, replaceable=_replaceable) as tmp:
        _build(tmp, results, lang, extra, obs, scenarios, engine)
    return out


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
           obs: pd.DataFrame | None, scenarios: Mapping | None, engine: str) -> None:
    t = L[lang]
    scen_file = _scenario_file(results)
    assumptions = _assumptions(results, scenarios, scen_file, lang)
    probs_wide, probs_display = _probability_tables(results, lang)
    targets = _targets_table(results, lang)
    skipped = _skipped_table(results, scen_file, lang)
    notes = pd.DataFrame({t["notes"]: list(results.notes)})
    inputs = _inputs_table(results, lang)
    quant = quantiles_frame(results)
    run = _run_table(results, lang)
    records = pd.DataFrame(results.to_records())

    records.to_csv(folder / "probabilities.csv", index=False, encoding="utf-8")
    quant.to_csv(folder / "quantiles.csv", index=False, encoding="utf-8")
    _write_netcdf(folder / "results.nc", results, engine)
    chart_png = _fan_png(results, lang)

    sheets: list[tuple[str, pd.DataFrame]] = [
        (t["probabilities"], probs_wide), (t["targets"], targets), (t["skipped"], skipped),
        (t["notes"], notes), (t["assumptions"], assumptions), (t["inputs"], inputs)]
    if obs is not None:
        sheets.append((t["observations"], _observation_display(obs, lang)))
    sheets.append(("quantiles", quant))
    sheets += list(extra.items())
    sheets.append((t["run"], run))
    _write_xlsx(folder / "report.xlsx", sheets)

    files = ["index.html", "probabilities.csv", "quantiles.csv", "report.xlsx", "results.nc"]
    page = _html(results, lang, probs_display, chart_png, extra, targets, skipped, assumptions,
                 scenarios is not None or scen_file is not None or bool(_attr_scenarios(results)),
                 inputs, obs, quant, run, scen_file, files)
    (folder / "index.html").write_text(page, encoding="utf-8")


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
    fig = fan_grid(results, lang=lang)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    return buf.getvalue()


def _write_xlsx(path: Path, sheets: list[tuple[str, pd.DataFrame]]) -> None:
    used: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for title, frame in sheets:
            name = _sheet_name(title, used)
            keep_index = not _plain_index(frame)
            _clean_for_xlsx(frame).to_excel(writer, sheet_name=name, index=keep_index)
            sheet = writer.sheets[name]
            sheet.freeze_panes = "A2"
            for column in sheet.columns:
                width = max((len(str(c.value)) if c.value is not None else 0) for c in column)
                sheet.column_dimensions[column[0].column_letter].width = min(60, max(8, width + 2))


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

def _scenario_label(name: str, lang: str) -> str:
    return SCENARIO_ZH.get(name, name) if lang == "zh" else name


def _prob_text(p: float, se: float) -> str:
    if p != p:
        return "—"
    se = 100 * se
    return f"{100 * p:.1f}% ± {se:.1f}" if se >= 0.05 else f"{100 * p:.1f}% ± {se:.2f}"


def _num(x: float) -> str:
    if x is None or x != x:
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}" if abs(x) >= 100 else f"{x:.2f}"


def _display_unit(measure: str, unit: str) -> str:
    if measure in ("growth", "change_since"):
        return "%"
    if measure == "difference_since":
        return " pp"
    return unit if unit in ("%", "") else f" {unit}"


def _probability_tables(results: Results, lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table a planner reads (strings) and the same numbers for the spreadsheet."""
    d = results.data
    t = L[lang]
    scenarios = [str(s) for s in d["scenario"].values]
    year = d.attrs.get("target_year", "")
    display, numeric = [], []
    for target in map(str, d["target"].values):
        row = d.sel(target=target)
        name = str(row["name_zh" if lang == "zh" else "name_en"].item())
        if target == ALL:
            name = t["joint"]
        disp = {t["id"]: target, t["target"]: name}
        num = {"target": target, "name": name}
        if target == ALL:
            disp[t["last"]] = ""
            disp[t["median"].format(year=year)] = ""
            num.update(last_value=np.nan, last_year=np.nan, median=np.nan, p10=np.nan, p90=np.nan)
        else:
            unit = _display_unit(str(row["measure"].item()), str(row["unit"].item()))
            last_v, last_y = float(row["last_value"].item()), float(row["last_year"].item())
            disp[t["last"]] = f"{_num(last_v)}{unit} ({int(last_y)})" if last_v == last_v else "—"
            q = row["measure_quantile"].sel(scenario=WEIGHTED)
            med, p10, p90 = (float(q.sel(quantile=x).item()) for x in (0.5, 0.1, 0.9))
            disp[t["median"].format(year=year)] = f"{_num(med)}{unit} [{_num(p10)}, {_num(p90)}]"
            num.update(last_value=last_v, last_year=last_y, median=med, p10=p10, p90=p90,
                       unit=str(row["unit"].item()))
        for s in scenarios:
            p = float(row["probability"].sel(scenario=s).item())
            se = float(row["std_error"].sel(scenario=s).item())
            disp[f"P({_scenario_label(s, lang)})"] = _prob_text(p, se)
            num[f"P({s})"] = p
            num[f"SE({s})"] = se
        display.append(disp)
        numeric.append(num)
    return pd.DataFrame(numeric), pd.DataFrame(display)


def _targets_table(results: Results, lang: str) -> pd.DataFrame:
    d = results.data
    t = L[lang]
    rows = []
    for target in map(str, d["target"].values):
        if target == ALL:
            continue
        r = d.sel(target=target)
        measure = str(r["measure"].item())
        base = r["base_year"].item()
        base_text = str(int(base)) if base == base else ""
        value = float(r["value"].item())
        rows.append({
            t["id"]: target, t["name_zh"]: str(r["name_zh"].item()),
            **({t["name_en"]: str(r["name_en"].item())} if lang == "en" else {}),
            t["indicator"]: str(r["target_indicator"].item()), t["year"]: int(r["target_year"].item()),
            t["measure"]: MEASURE_TEXT[lang].get(measure, measure).format(base=base_text or "?"),
            t["stated"]: f"{COMPARATOR_TEXT.get(str(r['comparator'].item()), r['comparator'].item())} "
                         f"{value:g} {r['unit'].item()}",
            t["modality"]: str(r["modality"].item()), t["clause"]: str(r["clause"].item()),
            t["source"]: str(r["source"].item())})
    return pd.DataFrame(rows)


def _skipped_table(results: Results, scen_file: object | None, lang: str) -> pd.DataFrame:
    t = L[lang]
    rows = []
    for s in results.skipped:
        row = {t["id"]: s.target, t["reason"]: s.reason}
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


def _shift_text(shift: Mapping) -> str:
    parts = []
    for proc, v in shift.items():
        if isinstance(v, Mapping):
            by, start = v.get("by"), v.get("from") or v.get("from_year")
            parts.append(f"{proc} {by:+g}" + (f" from {start}" if start else ""))
        elif hasattr(v, "by"):
            parts.append(f"{proc} {v.by:+g}" + (f" from {v.from_year}" if v.from_year else ""))
        else:
            parts.append(f"{proc} {float(v):+g}")
    return ", ".join(parts)


def _assumptions(results: Results, given: Mapping | None, scen_file: object | None,
                 lang: str) -> pd.DataFrame:
    t = L[lang]
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
        label = _scenario_label(name, lang)
        rows.append({t["scenario"]: label if label == name else f"{label} ({name})",
                     t["weight"]: float(weight),
                     t["description"]: " ".join(str(item.get("description", "")).split()),
                     t["shift"]: _shift_text(item.get("shift") or {}),
                     t["volatility"]: ", ".join(f"{k} ×{float(v):g}"
                                                for k, v in (item.get("volatility") or {}).items())})
    return pd.DataFrame(rows)


def _inputs_table(results: Results, lang: str) -> pd.DataFrame:
    t = L[lang]
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
    t = L[lang]
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
    t = L[lang]
    a = results.data.attrs
    rows = [(t["region"], a.get("region", "")), (t["year"], a.get("target_year", "")),
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
            cells.append(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>")
        tr = ' class="joint"' if joint_last and k == len(df) - 1 else ""
        body.append(f"<tr{tr}>{''.join(cells)}</tr>")
    return (f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            "</table></div>")


def _html(results: Results, lang: str, probs: pd.DataFrame, chart_png: bytes | None,
          extra: dict[str, pd.DataFrame], targets: pd.DataFrame, skipped: pd.DataFrame,
          assumptions: pd.DataFrame, have_descriptions: bool, inputs: pd.DataFrame,
          obs: pd.DataFrame | None, quant: pd.DataFrame, run: pd.DataFrame, scen_file: object | None,
          files: list[str]) -> str:
    t = L[lang]
    a = results.data.attrs
    title = t["title"].format(region=a.get("region", ""), year=a.get("target_year", ""))
    doc_title = getattr(scen_file, "title", "") if scen_file is not None else ""
    summary = t["summary"].format(paths=int(a.get("paths", 0)), seed=a.get("seed", ""),
                                  keep=int(a.get("keep", 0)))
    if a.get("antithetic"):
        summary += f" · {t['antithetic']}"
    as_of = t["as_of"].format(as_of=a["as_of"]) if a.get("as_of") else t["all_data"]
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f'<meta name="generator" content="{GENERATOR} {_e(a.get("sim_version", ""))}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    if doc_title:
        parts.append(f'<p class="sub">{_e(doc_title)}</p>')
    parts.append(f'<p class="sub">{_e(a.get("scenario_file", ""))} · {_e(summary)} · {_e(as_of)}</p>')

    parts.append(f'<h2 id="probabilities">{_e(t["probabilities"])}</h2>')
    parts.append(_table(probs, joint_last=True, ids=(t["id"],),
                        numeric=tuple(c for c in probs.columns if str(c).startswith("P("))))
    parts.append(f'<p class="note">{_e(t["prob_note"])}</p>')

    if chart_png is not None:
        b64 = base64.b64encode(chart_png).decode("ascii")
        parts.append(f'<h2 id="fans">{_e(t["fans"])}</h2>')
        parts.append(f'<img class="chart" alt="{_e(t["fans"])}" src="data:image/png;base64,{b64}">')
        parts.append(f'<p class="note">{_e(t["fan_note"])}</p>')

    for k, (name, frame) in enumerate(extra.items()):
        parts.append(f'<h2 id="extra-{k + 1}">{_e(name)}</h2>')
        parts.append(_table(frame))

    parts.append(f'<h2 id="targets">{_e(t["targets"])}</h2>')
    parts.append(_table(targets, prose=(t["clause"],), ids=(t["id"], t["indicator"], t["source"]),
                        nowrap=(t["stated"],)))

    parts.append(f'<h2 id="skipped">{_e(t["skipped"])}</h2>')
    if len(skipped):
        parts.append(_table(skipped, prose=(t["clause"], t["reason"]), ids=(t["id"], t["source"])))
    else:
        parts.append(f"<p>{_e(t['none_skipped'])}</p>")
    parts.append(f'<h3 id="notes">{_e(t["notes"])}</h3>')
    if results.notes:
        parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in results.notes) + "</ul>")
    else:
        parts.append(f"<p>{_e(t['no_notes'])}</p>")

    parts.append(f'<h2 id="assumptions">{_e(t["assumptions"])}</h2>')
    parts.append(_table(assumptions, prose=(t["description"],), nowrap=(t["scenario"],)))
    if not have_descriptions:
        parts.append(f'<p class="note">{_e(t["no_descriptions"])}</p>')

    parts.append(f'<h2 id="data">{_e(t["data"])}</h2>')
    parts.append(f"<h3>{_e(t['inputs'])}</h3>")
    parts.append(_table(inputs, hashes=(t["sha256"],)))
    parts.append(f"<h3>{_e(t['observations'])}</h3>")
    if obs is not None:
        parts.append(_table(_observation_display(obs, lang), prose=(t["clause"],), ids=(t["indicator"],),
                            nowrap=(t["published"], t["months"], t["unit"])))
    else:
        parts.append(f'<p class="note">{_e(t["no_observations"])}</p>')

    weighted = quant[(quant["scenario"] == WEIGHTED) & (quant["target"] == "")].drop(
        columns=["scenario", "target", "measure"])
    parts.append(f'<h2 id="quantiles">{_e(t["quantiles"])}</h2>')
    parts.append(_table(weighted, ids=("indicator",), nowrap=("unit",)))

    parts.append(f'<h2 id="run">{_e(t["run"])}</h2>')
    parts.append(_table(run))
    parts.append(f"<h3>{_e(t['files'])}</h3>")
    parts.append('<ul class="files">' + "".join(f"<li>{_e(f)}</li>" for f in files) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
