"""Every word and number a planner reads, in English and Chinese, written once.

The table, the report, the charts, ``sim track`` and the backtest's summary take their headings,
column names, units, scenario names, evidence grades, verdicts and number formats from here, so a
Chinese page is Chinese throughout and a number reads the same wherever it appears:

- a probability in % with its Monte Carlo error, to the digit the error supports (``63.7% ± 0.3``,
  ``99.62% ± 0.02``, ``94% ± 4``);
- growth in % to one decimal (``6.5%``), a change of a share in percentage points (``+1.2 pp``,
  ``+1.2个百分点``);
- a level in its target's unit (``1.06万亿元``, ``13,823家``; in English ``1.06 trn yuan``).

The verdict bands (:data:`ON_TRACK`, :data:`AT_RISK`) are named here too, so the summary, its
legend and the tests share one threshold.
"""

from __future__ import annotations

import math
import re
import unicodedata

from sim.errors import SimError

LANGS = ("en", "zh")
ON_TRACK = 0.9  # P(met) at or above: on track
AT_RISK = 0.5  # at or above (and below ON_TRACK): at risk; below: unlikely
AIM = 0.8  # the probability the summary says what growth would give

UNIT_EN = {"元": "yuan", "万元": "10k yuan", "亿元": "100 mn yuan", "亿": "100 mn yuan",
           "千亿元": "100 bn yuan", "千亿": "100 bn yuan", "万亿元": "trn yuan", "万亿": "trn yuan",
           "家": "firms", "户": "firms", "万家": "10k firms", "万户": "10k firms", "个": "units",
           "万个": "10k units", "座": "units", "项": "items", "场": "events", "场次": "events",
           "人": "people", "万人": "10k people", "家次": "firm-visits", "万家次": "10k firm-visits",
           "架": "aircraft", "万架": "10k aircraft", "亩": "mu", "万亩": "10k mu", "个百分点": "pp",
           "%": "%", "pp": "pp", "index": "index", "": ""}
# amounts said in English in the unit English speakers use: unit -> (name, factor)
AMOUNT_EN = {"亿元": ("bn yuan", 0.1), "亿": ("bn yuan", 0.1), "千亿元": ("bn yuan", 100.0),
             "千亿": ("bn yuan", 100.0), "万亿元": ("trn yuan", 1.0), "万亿": ("trn yuan", 1.0),
             "万家": ("firms", 1e4), "万户": ("firms", 1e4), "万个": ("units", 1e4), "万人": ("people", 1e4),
             "万亩": ("mu", 1e4)}
UNIT_ZH = {"pp": "个百分点", "index": "指数"}

SCENARIO_ZH = {"baseline": "基准", "base": "基准", "central": "中性", "downside": "下行",
               "upside": "上行", "optimistic": "乐观", "pessimistic": "悲观", "severe": "严重下行",
               "stress": "压力", "weighted": "加权"}

REGION_ZH = {"China": "全国", "Anhui": "安徽", "Beijing": "北京", "Chongqing": "重庆", "Fujian": "福建",
             "Gansu": "甘肃", "Guangdong": "广东", "Guangxi": "广西", "Guizhou": "贵州", "Hainan": "海南",
             "Hebei": "河北", "Heilongjiang": "黑龙江", "Henan": "河南", "Hubei": "湖北", "Hunan": "湖南",
             "Jiangsu": "江苏", "Jiangxi": "江西", "Jilin": "吉林", "Jinan": "济南", "Liaoning": "辽宁",
             "Neimenggu": "内蒙古", "Ningxia": "宁夏", "Qingdao": "青岛", "Qinghai": "青海",
             "Shaanxi": "陕西", "Shandong": "山东", "Shanghai": "上海", "Shanxi": "山西", "Shaoxing": "绍兴",
             "Sichuan": "四川", "Tianjin": "天津", "Xinjiang": "新疆", "Xizang": "西藏", "Yunnan": "云南",
             "Zhejiang": "浙江"}

COMPARATOR = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "about": "≈"}

MEASURE = {
    "en": {"level": "level", "growth": "growth on the year before", "change_since": "% change since {base}",
           "difference_since": "change since {base} (pp)"},
    "zh": {"level": "水平", "growth": "比上年增长", "change_since": "比{base}年变化(%)",
           "difference_since": "比{base}年变化(百分点)"},
}

# grade -> (a word or two, what the probability rests on)
GRADES = {
    "en": {"A": ("own history", "the region's own history of the quantity (at least 3 full years) and "
                 "the pooled law"),
           "B": ("a few own values", "1–2 values of its own and the pooled law of its family"),
           "C": ("family law", "no value of its own (or only the plan's own figures): the family's law"),
           "D": ("class rate", "the rate at which earlier targets of its class were met (± its posterior "
                 "sd; the same in every scenario; an upper bound, as misses are published less)")},
    "zh": {"A": ("自身历史", "本地区该指标的历史数据(至少3个完整年份)及汇总规律"),
           "B": ("少量自身数据", "1–2个本地数据及同类指标的汇总规律"),
           "C": ("同类规律", "无本地数据(或仅有规划自身数字):同类指标的规律"),
           "D": ("同类完成率", "同类往年目标的完成率(± 后验标准差;各情景相同;未完成的较少公开,故为上限)")},
}

VERDICTS = {
    "en": {"on_track": "on track", "at_risk": "at risk", "unlikely": "unlikely"},
    "zh": {"on_track": "有望实现", "at_risk": "存在风险", "unlikely": "难以实现"},
}

# The terminal table of sim run
TABLE = {
    "en": {"target": "target", "other_name": "目标", "last": "last observed",
           "median": "{year}: median [P10, P90]", "evidence": "ev.",
           "legend": "P(·): probability of meeting the target ± one Monte Carlo standard error (pp); "
                     "weighted: scenarios mixed by their weights; median and range: the weighted mixture.",
           "grades": "ev.: evidence.", "notes": "Notes:", "skipped": "Not given a probability:",
           "run": "{region} {year} · {file} · {paths:,} paths · seed {seed}",
           "as_of": " · data as of {as_of}",
           "nothing": "{path}: nothing in this file can be simulated yet."},
    "zh": {"target": "目标", "other_name": "target", "last": "最新实际",
           "median": "{year}年: 中位数 [P10, P90]", "evidence": "依据",
           "legend": "P(·): 实现目标的概率 ± 一个蒙特卡洛标准误(百分点); 加权: 按情景权重混合; "
                     "中位数与区间: 加权混合分布。",
           "grades": "依据:", "notes": "说明:", "skipped": "未给出概率:",
           "run": "{region} {year}年 · {file} · 路径 {paths:,} 条 · 随机种子 {seed}",
           "as_of": " · 数据截至 {as_of}", "nothing": "{path}: 本文件中暂无可模拟的目标。"},
}

# The report (sim/report.py)
REPORT = {
    "en": {
        "title": "{region} {year}: probability of meeting the targets",
        "summary_line": "{paths:,} Monte Carlo paths · seed {seed} · {keep:,} kept for quantiles",
        "as_of": "data as of {as_of}", "all_data": "all data published so far",
        "answer": "The answer",
        "answer_d": "Targets delivered by decision: the rate at which their class was met (grade D)",
        "verdict": "Verdict", "probability": "Probability (weighted)",
        "grade": "Evidence", "bands": "Verdicts: on track if the probability is at least {on}, at risk "
        "from {risk} to below {on}, unlikely below {risk}. Probabilities are the scenarios mixed by "
        "their weights; grade D is the rate of earlier targets of the class, not a simulation.",
        "needs": "{name}: {p} now; {what} in {year} would give {aim}.",
        "needs_growth": "growth of {g}", "needs_points": "a change of {g}",
        "needs_none": "{name}: {p} now; {why}.",
        "needs_observed": "its lever is already observed for the year",
        "needs_out": "no shift of its growth within reach gives {aim}",
        "all_on_track": "Every simulated target is on track.",
        "track": "Through the year", "track_note": "Each point: the weighted probability of meeting the "
        "target with the data published by that month-end ({paths:,} paths, seed {seed}, parameters "
        "refitted on those data); a point moves when a new figure came in. The {n} grade-D targets are "
        "class rates, which data do not move: they are left out (listed below).",
        "track_note_none": "Each point: the weighted probability of meeting the target with the data "
        "published by that month-end ({paths:,} paths, seed {seed}, parameters refitted on those data).",
        "track_missing": "No track: {why}.",
        "probabilities": "Probabilities by scenario", "prob_note": "P(·): probability of meeting the "
        "target ± one Monte Carlo standard error (percentage points; grade D: ± the posterior sd of its "
        "class rate); weighted: the scenarios mixed by their weights. Median and [P10, P90]: the weighted "
        "mixture, in the target's year and unit.",
        "target": "Target", "id": "ID", "year": "Year", "last": "Last observed", "basis": "Basis",
        "median": "{year}: median [P10, P90]", "fans": "Fan charts",
        "fan_note": "Shaded: the 5–95, 10–90 and 25–75th percentiles of the simulated paths (weighted "
        "scenarios), from the last observed year; line: the median; dots: observed values; diamond and "
        "dashed line: the target.",
        "required": "Required growth", "required_note": "The growth of each target's quantity in its "
        "year that gives each probability: the mean of its lever (the process that drives it) shifted "
        "from {year} on; with the same random numbers for every shift.",
        "lever": "Lever", "level": "Probability sought", "shift": "Shift of the lever",
        "now": "Probability now",
        "growth": "Growth needed", "note": "Note",
        "sensitivity": "Sensitivity", "sensitivity_note": "Each bar: the probability with one "
        "assumption moved down (red) and up (blue) by its step, the others as in the first scenario.",
        "left_out": "Left out, as they move no probability: {names}.",
        "no_sensitivity": "No assumption moves any probability.",
        "targets": "Targets, clauses and sources", "indicator": "Indicator", "measure": "Measure",
        "base_year": "Base year", "stated": "Stated as", "modality": "Modality", "clause": "Clause",
        "source": "Source document", "name_zh": "Name (Chinese)", "name_en": "Name (English)",
        "skipped": "Not simulated", "reason": "Reason", "none_skipped": "Every target was simulated.",
        "notes": "Notes", "no_notes": "No notes.", "assumptions": "Scenario assumptions",
        "scenario": "Scenario", "weight": "Weight", "description": "Description",
        "shift_means": "Shift of means",
        "volatility": "Volatility multiplier", "from": "from {year}", "no_descriptions": "Scenario "
        "descriptions are not available for this run; the weights are from the results.",
        "data": "Data used", "inputs": "Input files", "file": "File", "sha256": "SHA-256",
        "observations": "Observations", "no_observations": "The observations were not attached to this "
        "report; the input files above (with their hashes) hold them.",
        "region": "Region", "period": "Period", "months": "Months", "value": "Value", "unit": "Unit",
        "published": "Published", "quantiles": "Quantiles of the simulated indicators (weighted)",
        "run": "Run", "key": "Item", "setting": "Value", "seed": "Seed", "paths": "Paths",
        "keep": "Paths kept for quantiles", "antithetic": "Antithetic pairs", "yes": "yes", "no": "no",
        "as_of_key": "Data as of", "scenario_file": "Scenario file",
        "generated": "Generated", "version": "Version of {name}", "python": "Python", "not_installed":
        "not installed", "files": "Files in this folder", "joint": "all simulated targets met together",
        "quantile_sheet": "Quantiles",
    },
    "zh": {
        "title": "{region} {year}年目标实现概率",
        "summary_line": "蒙特卡洛路径 {paths:,} 条 · 随机种子 {seed} · 分位数取前 {keep:,} 条",
        "as_of": "数据截至 {as_of}", "all_data": "使用目前已发布的全部数据",
        "answer": "结论", "answer_d": "按决策推进的目标:同类往年目标的完成率(依据D)",
        "verdict": "判断", "probability": "实现概率(加权)", "grade": "依据",
        "bands": "判断标准:概率不低于{on}为有望实现,{risk}至{on}为存在风险,低于{risk}为难以实现。"
        "概率为各情景按权重混合;依据为D的目标取同类往年目标的完成率,未经模拟。",
        "needs": "{name}:目前概率{p};{year}年{what}可使概率达到{aim}。",
        "needs_growth": "增长{g}", "needs_points": "变化{g}",
        "needs_none": "{name}:目前概率{p};{why}。", "needs_observed": "其驱动因素当年已有实际值",
        "needs_out": "在搜索范围内的增速调整均无法使概率达到{aim}",
        "all_on_track": "所有模拟目标均有望实现。",
        "track": "全年概率走势", "track_note": "每个点:以该月末已发布的数据(参数按这些数据重新估计;"
        "路径 {paths:,} 条,随机种子 {seed})计算的目标实现概率(加权);新数据发布时概率随之变化。"
        "依据为D的{n}个目标取同类完成率,不随数据变化,未列入(见下表)。",
        "track_note_none": "每个点:以该月末已发布的数据(参数按这些数据重新估计;路径 {paths:,} 条,"
        "随机种子 {seed})计算的目标实现概率(加权)。",
        "track_missing": "无全年走势:{why}。",
        "probabilities": "各情景实现概率", "prob_note": "P(·):实现目标的概率 ± 一个蒙特卡洛标准误(百分点;"
        "依据D:± 同类完成率的后验标准差);加权:各情景按权重混合。中位数及[P10, P90]:加权混合,"
        "为目标年份、目标单位下的数值。",
        "target": "目标", "id": "编号", "year": "年份", "last": "最新实际值", "basis": "依据说明",
        "median": "{year}年:中位数 [P10, P90]", "fans": "扇形图",
        "fan_note": "阴影:自最新实际值年份起模拟路径的5–95、10–90、25–75分位区间(加权情景);实线:中位数;"
        "圆点:实际值;菱形与虚线:目标。",
        "required": "所需增速", "required_note": "使各目标达到相应概率所需的目标年份增速:自{year}年起调整"
        "其驱动过程的均值;各调整使用相同的随机数。",
        "lever": "驱动过程", "level": "目标概率", "shift": "均值调整", "now": "目前概率",
        "growth": "所需增速",
        "note": "备注",
        "sensitivity": "敏感性", "sensitivity_note": "每根横条:单个假设按步长下调(红)和上调(蓝)时的实现概率,"
        "其余假设同第一个情景。",
        "left_out": "以下假设不改变任何概率,未画出:{names}。",
        "no_sensitivity": "没有假设改变任何概率。",
        "targets": "目标、条款与出处", "indicator": "指标", "measure": "口径", "base_year": "基期",
        "stated": "目标值", "modality": "措辞", "clause": "条款原文", "source": "出处文件",
        "name_zh": "中文名称", "name_en": "英文名称", "skipped": "未模拟的目标", "reason": "原因",
        "none_skipped": "所有目标均已模拟。", "notes": "说明", "no_notes": "无。",
        "assumptions": "情景假设", "scenario": "情景", "weight": "权重", "description": "描述",
        "shift_means": "均值调整", "volatility": "波动倍数", "from": "自{year}年",
        "no_descriptions": "本次运行没有情景描述;权重取自结果。",
        "data": "所用数据", "inputs": "输入文件", "file": "文件", "sha256": "SHA-256",
        "observations": "观测数据", "no_observations": "本报告未附观测数据;见上列输入文件(含哈希值)。",
        "region": "地区", "period": "时期", "months": "月份", "value": "数值", "unit": "单位",
        "published": "发布日期", "quantiles": "模拟指标分位数(加权)",
        "run": "运行信息", "key": "项目", "setting": "取值", "seed": "随机种子", "paths": "路径数",
        "keep": "分位数所用路径数", "antithetic": "对偶路径", "yes": "是", "no": "否",
        "as_of_key": "数据截至", "scenario_file": "情景文件",
        "generated": "生成时间", "version": "{name} 版本", "python": "Python", "not_installed": "未安装",
        "files": "本文件夹中的文件", "joint": "全部模拟目标同时实现", "quantile_sheet": "分位数",
    },
}

# The charts (sim/charts.py)
CHART = {
    "en": {"median": "median", "band": "{lo}–{hi}th percentile", "observed": "observed",
           "last": "last observed", "target": "target", "paths": "paths",
           "seed": "seed", "relative": "index (last observed = 1)", "no_cjk":
           "English labels: no Chinese (CJK) font installed", "growth": "growth",
           "change_since": "change vs {base}", "difference_since": "change vs {base}", "about": "about ",
           "scenario": "scenario", "compare": "{name}: scenarios compared", "p": "P",
           "bands": "25–75 / 10–90th percentiles (shaded)", "as_of": "data as of {as_of}",
           "no_line": "(threshold depends on a simulated {base}: not drawn)",
           "down": "down", "up": "up", "p_met": "P(met)", "sensitivity": "sensitivity", "base": "base",
           "mean": "mean", "volatility": "volatility",
           "no_move": "no assumption moves this probability",
           "track": "{region} {year}: probability of meeting each target through the year",
           "track_x": "data published by", "track_y": "P(met), weighted",
           "pit_x": "PIT decile (%)", "pit_y": "share of outcomes",
           "pit_title": "Where outcomes fell in the forecasts", "rel_x": "forecast P(target met)",
           "rel_y": "share met", "rel_title": "Reliability of target probabilities"},
    "zh": {"median": "中位数", "band": "{lo}–{hi}分位区间", "observed": "实际值",
           "last": "最新实际值", "target": "目标", "paths": "条路径",
           "seed": "种子", "relative": "指数(最新实际值 = 1)", "no_cjk": "",
           "growth": "增长", "change_since": "比{base}年", "difference_since": "比{base}年",
           "about": "左右", "scenario": "情景", "compare": "{name}:情景比较", "p": "概率",
           "bands": "25–75 / 10–90分位区间(阴影)", "as_of": "数据截至 {as_of}",
           "no_line": "(门槛取决于模拟的{base}年值,未画线)",
           "down": "下调", "up": "上调", "p_met": "实现概率", "sensitivity": "敏感性", "base": "基准",
           "mean": "均值", "volatility": "波动", "no_move": "没有假设改变该概率",
           "track": "{region} {year}年:全年各目标实现概率走势", "track_x": "数据截至",
           "track_y": "实现概率(加权)",
           "pit_x": "PIT 十分位(%)", "pit_y": "结果占比", "pit_title": "实际值落在预测分布中的位置",
           "rel_x": "预测的目标实现概率", "rel_y": "实际实现比例", "rel_title": "目标概率的可靠性"},
}

# sim track's table
TRACK = {
    "en": {"head": "{region} {year}: P(met), weighted, with the data published by each month-end "
                   "({paths:,} paths, seed {seed})", "date": "as of", "data": "data", "new": "new figures",
           "same": "as the month before",
           "left_out": "Grade-D targets (class rates, the same at every date) left out: {names}"},
    "zh": {"head": "{region} {year}年:各月末已发布数据下的目标实现概率"
                   "(加权;路径 {paths:,} 条,随机种子 {seed})",
           "date": "数据截至", "data": "数据", "new": "有新数据", "same": "与上月相同",
           "left_out": "依据为D的目标(同类完成率,各日期相同)未列入:{names}"},
}

# How the model's notes are worded (sim/plan.py), and the same in Chinese
_NOTES_ZH = (
    (re.compile(r"^(\d{4}) conditioned on its 1–(\d+)月 actual of (\S+) \(([-+]?[\d.]+)\)$"),
     r"\1年以1–\2月实际值为条件:\3(\4)"),
    (re.compile(r"^(\d{4}) 1–(\d+)月 (\S+) not used: the parameters give no within-year dispersion for it$"),
     r"\1年1–\2月 \3 未使用:参数未给出其年内波动"),
    (re.compile(r"^scenario (\S+): (\S+) is observed in ([\d, ]+), so its shift has no effect there$"),
     lambda m: f"{scenario(m[1], 'zh')}情景:{m[2]} 在{m[3]}年已有实际值,其调整在该年不起作用"),
)
_BASIS_ZH = (
    (re.compile(r"^own history: (\d+) full years \((.*)\)$"), r"自身历史:\1个完整年份(\2)"),
    (re.compile(r"^(\d+) own values? \((.*)\) and (?:family (\S+)'s pooled law|the pooled law)$"),
     lambda m: f"{m[1]}个本地数据({m[2]})及" + (f"{m[3]} 类汇总规律" if m[3] else "汇总规律")),
    (re.compile(r"^(?:family (\S+)'s pooled law|the pooled law) from the plan's stated figures only "
                r"\((.*)\)$"),
     lambda m: (f"{m[1]} 类汇总规律" if m[1] else "汇总规律") + f",仅有规划自身数字({m[2]})"),
    (re.compile(r"^no value of its own: (?:family (\S+)'s pooled law|the pooled law)(?: from an index of 1 "
                r"in (\d{4}))?$"),
     lambda m: "无本地数据:" + (f"{m[1]} 类汇总规律" if m[1] else "汇总规律")
     + (f",以{m[2]}年为1的指数" if m[2] else "")),
    (re.compile(r"^reference class: (\d+) of (\d+) past targets of class (\S+) \((.*?)\) met.*$"),
     r"同类完成率:\4类往年目标\2个中完成\1个(贝塔-二项后验;公开记录偏向已完成者,故为上限)"),
    (re.compile(r"^reference class: no past target of class (\S+) in the ledger.*$"),
     lambda m: f"同类完成率:台账中无{_class_zh(m[1])}类往年目标,取全部类别的完成率"),
    (re.compile(r"^the simulated targets together.*$"), "所有模拟目标合计"),
)


# Why a target has no probability (sim/targets.py NOT_SIMULATED, sim/plan.py), phrase by phrase
_REASONS_ZH = (
    (re.compile(r"not one quantity: it sets a number for each city, county or zone"),
     "不是单一指标:为每个市、县或功能区分别设定数值"),
    (re.compile(r"a figure for part of the year: sim simulates whole years"),
     "部分时期的数字:本模型模拟整年"),
    (re.compile(r"a gap of some firms' growth \(the parks'\) to the region's: the parks' figures are not "
                r"published"), "部分企业(园区)增速与全地区增速之差:园区数据未公开"),
    (re.compile(r"no model for this quantity yet \(model '([^']*)' has no indicator for it\)"),
     r"暂无该指标的模型(模型 \1 中没有此指标)"),
    (re.compile(r"no observation of (\S+)(?: or (\S+))? for (\S+) in calibration/data"),
     lambda m: f"calibration/data 中没有{region(m[3], 'zh')}的 {m[1]}" + (f" 或 {m[2]}" if m[2] else "")
     + " 数据"),
    (re.compile(r"(\S+) has no parameters for process (\S+) \(too few observations to estimate it\)"),
     r"\1 中没有过程 \2 的参数(观测太少,无法估计)"),
    (re.compile(r"; and no record of past targets \(calibration/ledger/outcomes.csv\) to give its "
                r"class's rate"),
     ";且没有往年目标记录(calibration/ledger/outcomes.csv)可给出同类完成率"),
)


def check(lang: str) -> str:
    """``lang`` if sim speaks it, else a one-line error."""
    if lang not in LANGS:
        raise SimError(f"lang must be 'zh' or 'en', got {lang!r}")
    return lang


# --- numbers -----------------------------------------------------------------------------------------

def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x != x


def number(x: float | None) -> str:
    """A quantity as people write it: thousands separated, two decimals below 100 (trailing zeros
    dropped), one from 100, none from 1,000; a dash for a missing value."""
    if _missing(x):
        return "—"
    x = float(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    text = f"{x:.1f}" if abs(x) >= 100 else f"{x:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def unit(u: str, lang: str) -> str:
    """A unit's name: the document's own in Chinese, an English one in English."""
    if lang == "zh":
        return UNIT_ZH.get(u, u)
    return UNIT_EN.get(u, u)


def with_unit(text: str, u: str, lang: str) -> str:
    """``text`` followed by its unit: joined in Chinese and for %, spaced in English."""
    name = unit(u, lang)
    if not name:
        return text
    return f"{text}{name}" if name == "%" or lang == "zh" else f"{text} {name}"


def level(x: float | None, u: str, lang: str) -> str:
    """A level in its unit (``1.06万亿元``, ``13,823家``); in English in English units (``10 bn yuan``
    for 100亿元)."""
    if _missing(x):
        return "—"
    if lang == "en" and u in AMOUNT_EN:
        return f"{_bare(x, u, lang)} {AMOUNT_EN[u][0]}"
    return with_unit(number(x), u, lang)


def _bare(x: float | None, u: str, lang: str) -> str:
    """A value's number without its unit, in the unit :func:`value` shows it in."""
    if _missing(x):
        return "—"
    if u in ("%", "pp", "个百分点"):
        return f"{float(x):.1f}"
    return number(float(x) * AMOUNT_EN[u][1] if lang == "en" and u in AMOUNT_EN else x)


def growth(x: float | None) -> str:
    """A growth rate or share in %, to one decimal."""
    return "—" if _missing(x) else f"{float(x):.1f}%"


def points(x: float | None, lang: str, *, signed: bool = True) -> str:
    """A change in percentage points, to one decimal (``+1.2 pp``, ``+1.2个百分点``)."""
    if _missing(x):
        return "—"
    text = f"{float(x):+.1f}" if signed else f"{float(x):.1f}"
    return with_unit(text, "pp", lang)


def shift(x: float | None, process_unit: str, lang: str) -> str:
    """A shift of a process's mean: pp for a rate; a log change ×100 (≈ pp of growth); logit points."""
    if _missing(x):
        return "—"
    if process_unit == "logit":
        return f"{float(x):+.2f} logit" if lang == "en" else f"{float(x):+.2f}(logit)"
    return points(100 * float(x) if process_unit == "log" else float(x), lang)


def measure_unit(measure: str, u: str) -> str:
    """The unit a target's measure is read in: % for growth and changes since a year, pp for
    differences, the target's own unit for a level."""
    if measure in ("growth", "change_since"):
        return "%"
    if measure == "difference_since":
        return "pp"
    return u


def value(x: float | None, u: str, lang: str) -> str:
    """A measure's value in its unit: % and pp to one decimal, levels as :func:`level`."""
    if u == "%":
        return growth(x)
    if u in ("pp", "个百分点"):
        return points(x, lang, signed=False)
    return level(x, u, lang)


def interval(median: float | None, low: float | None, high: float | None, u: str, lang: str) -> str:
    """A median and its range, the unit once (``9.7% [-2.3, 21.7]``, ``1.06 trn yuan [1.03, 1.08]``)."""
    return f"{value(median, u, lang)} [{_bare(low, u, lang)}, {_bare(high, u, lang)}]"


def stated(x: float, u: str, lang: str) -> str:
    """A target's value exactly as the document states it (``6.5%``, ``1万亿元``)."""
    return with_unit(f"{x:g}", u, lang)


def _decimals(se_pp: float) -> int:
    """Decimals of a percentage that its standard error (in pp) supports: down to the first
    significant digit of the error as shown (0.0999 shows as 0.1: one decimal)."""
    if not se_pp > 0:
        return 1
    return min(3, max(0, -math.floor(math.log10(float(f"{se_pp:.0e}")))))


def probability(p: float | None, se: float | None) -> str:
    """``p ± se`` in %, both to the digit the standard error supports (``63.7% ± 0.3``)."""
    if _missing(p):
        return "—"
    se_pp = 0.0 if _missing(se) else 100 * float(se)
    d = _decimals(se_pp)
    return f"{100 * float(p):.{d}f}% ± {se_pp:.{d}f}"


def percent(p: float) -> str:
    """A probability in a chart's label: whole percent, never 100% or 0% unless every path says so."""
    if 0.995 <= p < 1:
        return f"{100 * p:.1f}%" if p < 0.9995 else ">99.9%"
    if 0 < p <= 0.005:
        return f"{100 * p:.1f}%" if p > 0.0005 else "<0.1%"
    return f"{100 * p:.0f}%"


# --- words -------------------------------------------------------------------------------------------

def join(items: list[str], lang: str) -> str:
    """A list in a sentence: 、 between Chinese items, a comma between English ones."""
    return ("、" if lang == "zh" else ", ").join(items)


def region(name: str, lang: str) -> str:
    """A region's name: Chinese in Chinese (unknown names as they are)."""
    return REGION_ZH.get(name, name) if lang == "zh" else name


def scenario(name: str, lang: str) -> str:
    """A scenario's name: Chinese for the usual ones in Chinese; unknown names as they are."""
    if lang == "zh":
        return SCENARIO_ZH.get(name, name)
    return name


def assumption(row: object, lang: str) -> str:
    """A sensitivity row's assumption and step (``iva_spread mean ±1.0 pp``, ``g 波动 ÷/×1.5``):
    ``row`` has the fields process, moved, size and unit of :func:`sim.analysis.sensitivity`."""
    what = CHART[lang][row.moved]
    if row.moved == "mean":
        step = "±" + shift(row.size, row.unit, lang).lstrip("+")
    else:
        step = f"÷/×{row.size:g}"
    return f"{row.process} {what} {step}"


def measure(name: str, base: str, lang: str) -> str:
    """What a target measures (``growth on the year before``, ``比2020年变化(%)``)."""
    return MEASURE[lang].get(name, name).format(base=base or "?")


def comparator(symbol: str) -> str:
    """A comparator as a sign (≥, ≤, ≈)."""
    return COMPARATOR.get(symbol, symbol)


def grade(letter: str, lang: str) -> str:
    """An evidence grade with its word (``B · a few own values``)."""
    word = GRADES[lang].get(letter, ("", ""))[0]
    return f"{letter} · {word}" if word else letter


def grade_legend(lang: str, letters: str = "ABCD") -> str:
    """What each grade rests on, in one line."""
    sep = "; " if lang == "en" else ";"
    return sep.join(f"{g}: {GRADES[lang][g][1]}" for g in letters)


def verdict(p: float, se: float | None = None) -> str:
    """``on_track`` (P ≥ ON_TRACK), ``at_risk`` (AT_RISK ≤ P < ON_TRACK) or ``unlikely``; given its
    error ``se``, of the probability as :func:`probability` shows it (49.996% ± 0.1 shows as 50.0%:
    at risk)."""
    if se is not None and not _missing(se):
        p = round(100 * float(p), _decimals(100 * float(se))) / 100
    if p >= ON_TRACK:
        return "on_track"
    return "at_risk" if p >= AT_RISK else "unlikely"


def verdict_label(p: float, lang: str, se: float | None = None) -> str:
    """The verdict in words; a dash for a missing probability."""
    return "—" if _missing(p) else VERDICTS[lang][verdict(p, se)]


def note(text: str, lang: str) -> str:
    """One of the model's notes in ``lang`` (a note of an unknown form stays as written)."""
    return _translate(text, _NOTES_ZH) if lang == "zh" else text


def basis(text: str, lang: str) -> str:
    """What a probability rests on, in ``lang`` (an unknown form stays as written)."""
    return _translate(text, _BASIS_ZH) if lang == "zh" else text


def reason(text: str, lang: str) -> str:
    """Why a target has no probability, in ``lang`` (phrases of unknown forms stay as written)."""
    if lang != "zh":
        return text
    for pattern, repl in _REASONS_ZH:
        text = pattern.sub(repl, text)
    return text


def _translate(text: str, patterns: tuple) -> str:
    for pattern, repl in patterns:
        if pattern.match(text):
            return pattern.sub(repl, text, count=1)
    return text


def _class_zh(name: str) -> str:
    """A class of past targets in Chinese (sim/targets.py)."""
    from sim.targets import CLASSES  # here: it loads numpy, which the CLI loads after its signal handlers

    return CLASSES[name].zh if name in CLASSES else name


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal or a spreadsheet cell (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def grid(rows: list[list[str]]) -> list[str]:
    """Rows as aligned columns, the first a header underlined."""
    widths = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for k, row in enumerate(rows):
        cells = (cell + " " * (w - width(cell)) for cell, w in zip(row, widths, strict=True))
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return out
