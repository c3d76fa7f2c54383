"""``sim extract``: the targets and actuals a Chinese policy text states, as records.

Planners write their figures in a few patterns (规上工业增加值增长6.5%左右, 营业收入突破1万亿元,
新增专精特新中小企业300家以上, 1—11月…增长7%). Reading them by hand into a scenario file is slow
and error-prone, so this module finds every number with a unit, reads the words around it
(comparator, modality, base, period, months), tells a target from an actual, and names the
indicator through the synonym table (``sim/synonyms.yaml``, or a project's own
``models/synonyms.yaml``). What it cannot name is kept with ``indicator`` None, never dropped: the
draft scenario file lists it in a comment so a person can decide.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from sim.errors import SimError
from sim.labels import grid
from sim.output import write_text

FIELDS = ("kind", "indicator", "indicator_text", "value", "unit", "comparator", "implied", "modality",
          "base", "period", "months", "clause")
MAX_BYTES = 5_000_000


@dataclasses.dataclass(frozen=True)
class Record:
    """One figure of the text. ``value`` and ``unit`` are as written (一万 → 10000), and ``comparator``
    bounds them as written (下降3%以上: a fall of 3 or more, '>='); ``base`` is 'yoy', a base year
    (比2020年), 'level', or None when the figure compares with another region. A target always has a
    comparator: when the text gives a bare figure (增长6.5%, 新增2家, 下降3%) it is '>=', the floor
    planners mean by it, and ``implied`` is True; an actual's bare figure is exact (None)."""

    kind: str
    indicator: str | None
    indicator_text: str
    value: float
    unit: str
    comparator: str | None
    implied: bool
    modality: str | None
    base: str | int | None
    period: int | None
    months: str | None
    clause: str

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in FIELDS}


# --- normalisation -------------------------------------------------------------------------------

_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_TONED = f"a-zü{_MARKS}"
_PINYIN = re.compile(rf"(?<=[\u3400-\u9fff?])\([{_TONED}]+\)")
_PINYIN_ANY = re.compile(rf"\([{_TONED}]*[{_MARKS}][{_TONED}]*\)")  # 窟_(dá): after a garbled character
_PINYIN_ORPHAN = re.compile(rf"\?+[{_TONED}]+\)")  # '?gòu)': the character was lost, its reading not
_SPACE = re.compile(r"[ \t\u3000\xa0]+")


@cache
def _t2s() -> Any:
    try:
        from opencc import OpenCC
    except ImportError:  # pragma: no cover - a missing dependency is an install problem
        raise SimError("traditional characters need the package opencc-python-reimplemented; "
                       "pip install opencc-python-reimplemented") from None
    return OpenCC("t2s")


def normalise(text: str) -> str:
    """The text as the patterns expect it: simplified characters, ASCII digits and punctuation
    (NFKC), no pinyin readings after characters (規(guī)模 → 规模), no spaces inside numbers or
    between Chinese characters (1 万亿元 → 1万亿元)."""
    text = re.sub(r"(?<=[\d０-９])[,，](?=[\d０-９]{3}(?![\d０-９]))", "", text.replace("\r", ""))
    text = unicodedata.normalize("NFKC", text)
    if len(_PINYIN.findall(text)) >= 3:  # a reading aid, not a stray bracket
        text = _PINYIN_ORPHAN.sub("", _PINYIN_ANY.sub("", _PINYIN.sub("", text)))
    text = _t2s().convert(text)

    def space(m: re.Match) -> str:
        before, after = text[m.start() - 1: m.start()], text[m.end(): m.end() + 1]
        return " " if before.isascii() and before.isalpha() and after.isascii() and after.isalpha() else ""

    return _SPACE.sub(space, text)


# --- numbers -------------------------------------------------------------------------------------

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9}
_CN_SMALL = {"十": 10, "百": 100, "千": 1000}


def cn_number(text: str) -> int:
    """A number written in Chinese numerals: 一万 → 10000, 二十五 → 25, 一百零八 → 108, 两 → 2."""
    total = section = digit = 0
    for ch in text:
        if ch in _CN_DIGIT:
            digit = _CN_DIGIT[ch]
        elif ch in _CN_SMALL:
            section += (digit or 1) * _CN_SMALL[ch]
            digit = 0
        elif ch == "万":
            total += ((section + digit) or 1) * 10_000
            section = digit = 0
        elif ch == "亿":
            total = (total + section + digit or 1) * 100_000_000
            section = digit = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + section + digit


_COUNTERS = ("家次|人次|场次|台\\(套\\)|台套|平方公里|公里|千瓦|家|个|项|座|款|架|辆|台|套|件|场|轮|户|所|条|"
             "人|亩|吨|块|部|种|艘|颗|张|倍|成|P(?![A-Za-z])")
_NUM = r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿]+"
_FIGURE = re.compile(
    rf"(?<![A-Za-z0-9.\-])(?P<num>{_NUM})(?:[-—–~至到](?P<num2>{_NUM}))?(?P<approx>余|多)?"
    rf"(?P<unit>个百分点|百分点|%|‰|(?P<base2>元|{_COUNTERS})|(?P<mag>万亿|千亿|百亿|千万|百万|十万|万|亿|千)"
    rf"(?P<approx2>余|多)?(?P<base>元|{_COUNTERS})?)(?P<suffix>以上|以下|以内|左右)?")
_TWO_DIGITS = re.compile(r"(?:两|双)位数(?:增长|增速)")
_STOP_NEXT = ("月", "季度", "小时", "工作日", "周年", "级", "年")
_STOP_NOUN = re.compile(r"^[^、,;。]{0,3}(?:任务|内容|部分|方面|指标)")
_MONEY_FOLLOW_OK = set("的和及与同增规大目为,;。、)”:")


def _figures(fragment: str) -> Iterator[tuple[re.Match, float, str]]:
    """(match, value, unit) for every figure in a fragment, skipping what is not one: years and
    ordinals, ranges' upper ends, money used as a size class (10亿元以上项目), numbers in short quoted
    names (“四个一”), document-structure counts (19项内容)."""
    prev_end = -2
    for m in _FIGURE.finditer(fragment):
        num, unit = m["num"], m["mag"] + (m["base"] or "") if m["mag"] else m["unit"]
        before, after = fragment[: m.start()], fragment[m.end():]
        chinese = not num[0].isdigit()
        if chinese:
            mag = re.search(r"(万亿|千亿|亿|万)$", num) if m["base2"] == "元" else None
            if mag:  # 万亿元, 两千亿元: the magnitude belongs to the money unit
                num, unit = num[: mag.start()], mag[1] + "元"
            if m["mag"] or not (m["base2"] or unit.endswith("元")):
                continue  # Chinese numerals count things: 三个, 两轮, 四成; 三%, 五万 are not written
            if num == "一" or num.startswith(("零", "〇")) or (num in ("", "十", "百", "千", "万") and not
                              re.search(r"(突破|超过|超|达到|达|近|约)$", before)):
                continue  # 一批, 千项技改: words, not figures; 突破万亿元, 超百项 are figures
            value: float = cn_number(num) if num else 1
        else:
            value = float(num) if "." in num else int(num)
        if re.search(r"(第|每|前|从)$", before) or after.startswith(_STOP_NEXT) or _STOP_NOUN.match(after):
            continue
        if m.start() == prev_end + 2 and fragment[prev_end + 1] in "至到-~—":
            continue  # the upper end of 1000万元至2000万元
        if before.count("“") > before.count("”") and len(after.split("”", 1)[0]) + len(m[0]) <= 8:
            continue
        money = unit.endswith("元") or unit in ("亿", "万亿", "千亿")
        nxt = after[:1]
        noun_next = bool(nxt) and "\u4e00" <= nxt <= "\u9fff" and nxt not in "、和及与"
        if money and noun_next and ((m["suffix"] in ("以上", "以下") and nxt not in _MONEY_FOLLOW_OK)
                                    or re.search(r"(超过|超)$", before)):
            continue  # 10亿元以上项目, 超百亿元企业, 产值超100亿元的企业: a size class
        if unit == "倍" and not re.search(r"(增长|提高|增加|翻|扩大)(近|约)?$", before):
            continue
        prev_end = m.end() - 1
        yield m, value, unit


# --- context: months, years, kind ----------------------------------------------------------------

_MONTH_RANGE = re.compile(r"(?<!\d)([1-9]|1[0-2])\s*[-—–~至到]\s*([1-9]|1[0-2])月")
_MONTH_WORDS = (("前三季度", "1-9"), ("前3季度", "1-9"), ("上半年", "1-6"), ("前两季度", "1-6"),
                ("下半年", "7-12"), ("第一季度", "1-3"), ("一季度", "1-3"), ("首季", "1-3"),
                ("前两个月", "1-2"), ("前2个月", "1-2"))
_RELATIVE = {"今年": 0, "明年": 1, "去年": -1, "上年": -1, "次年": 1}
_YEAR = re.compile(r"(?<![\d.])(20\d\d)\s*年(?!度|以来|同期|底|末)")
_NOT_A_NUMBER = r"(?![\d零一二两三四五六七八九十百千万亿])"  # 争取43.4亿元财政资金: 'obtained', not 'strive'
_TARGET_CUES = re.compile(rf"(?<!合)力争|确保|努力|明年|到20\d\d年|争取{_NOT_A_NUMBER}")
_ACTUAL_CUES = re.compile(r"现有|以来|去年|上年|预计全年|已经|同比增长.*?(?:居|位列)")
_MODALITY = re.compile(rf"(?<!合)力争|争取{_NOT_A_NUMBER}|努力")


def months_of(text: str) -> str | None:
    """The months a figure covers, from the words before it: 1—11月 → '1-11', 前三季度 → '1-9',
    上半年 → '1-6'; None for a whole year or when nothing says."""
    found: list[tuple[int, str]] = [(m.end(), f"{m[1]}-{m[2]}") for m in _MONTH_RANGE.finditer(text)]
    for word, months in _MONTH_WORDS:
        at = text.rfind(word)
        if at >= 0:
            found.append((at + len(word), months))
    return max(found)[1] if found else None


def period_of(text: str, document_date: dt.date | None) -> tuple[int | None, bool]:
    """The year a figure is for, from the words before it: (year, found in the words). A relative
    year (今年, 明年, 去年) needs ``document_date``; without it the year is unknown (None, True)."""
    best: tuple[int, int | None] = (-1, None)
    for m in _YEAR.finditer(text):
        if not re.search(r"(比|较|与)$", text[: m.start()]):
            best = max(best, (m.end(), int(m[1])))
    for word, shift in _RELATIVE.items():
        at = text.rfind(word)
        if at >= 0 and at + len(word) > best[0]:
            best = (at + len(word), document_date.year + shift if document_date else None)
    return best[1], best[0] >= 0


def _base_of(local: str, unit: str, since_last: str) -> str | int | None:
    """yoy for growth words, a year for 比2020年 (十四五以来: 2020), None against another region.
    ``local`` is the fragment's words before the figure, ``since_last`` the sentence's words since
    the figure before it."""
    since = re.search(r"(?:比|较)\s*(20\d\d)年", since_last)
    if since:
        return int(since[1])
    if unit not in ("%", "‰", "个百分点", "百分点", "倍"):
        return "level"
    if re.search(r"(高于|低于|快于|慢于|比|较)(全国|全省|全市|平均)", local):
        return None
    if re.search(r"十四五.?以来", since_last):
        return 2020
    if re.search(r"十三五.?以来", since_last):
        return 2015
    words = re.split(r"比重|占比|贡献率|覆盖率", local.replace("增加值", ""))[-1]
    if re.search(r"同比|增长|增速|提高|提升|下降|降低|减少|增加|增幅|降幅|涨幅|回落|上涨|翻", words):
        return "yoy"
    return "level"


# --- the phrase before a figure ------------------------------------------------------------------

_LEAD = re.compile(r"^(?:[\s,、和及与;:。.()〔〕)\[\]—-]|其中|一是|二是|三是|四是|五是|六是|七是|八是|"
                   r"\(?[一二三四五六七八九十]+\)|\d+\.|全年|力争|争取|努力|确保|预计全年|预计|同时|"
                   r"20\d\d年|今年|明年|去年|[1-9]\d?[-—~至]\d{1,2}月|前三季度|上半年|一季度)+")
_TRAIL = re.compile(r"(?:力争|争取|努力|突破|超过|超|达到|达|不低于?|不少于?|不超过|不高于?|保持在|"
                    r"稳定在|实现|近|约|分别|均|为|在)+$")
_NEW_VERBS = re.compile(r"^(新增培育|新增|新培育|新认定|新建|争创|累计培育|累计)")
_TRAIL_GROWTH = re.compile(r"(?:同比)?(?:增长|增速|提高|下降|降低)$")
_RELATIONAL = re.compile(r"^(占|高于|低于|比|较|累计$|同比|增长|增速|提高|下降|为)")
_HEADS = ("增加值", "营业收入", "营收", "固定资产投资", "投资", "产量", "出口金额", "出口额", "利润", "收入")


def _clean(text: str) -> str:
    return _TRAIL.sub("", _LEAD.sub("", text)).strip(",、和及与")


def _noun_after(after: str) -> str:
    """The noun a figure counts when it comes first (新增70家市级智能工厂)."""
    noun = re.split(r"[、,;。:()]", after, maxsplit=1)[0][:24]
    return "" if not noun or noun[0] in "的和及与同比增为左以占高" else noun


# --- the synonym table ---------------------------------------------------------------------------

def _match_form(text: str) -> str:
    return re.sub(r"[()“”‘’\"'《》〔〕\s]", "", text).replace("规模以上", "规上")


@cache
def _load_synonyms(path: Path) -> dict[str, tuple[list[tuple[re.Pattern, int]], list[str]]]:
    from sim.yamlio import load_yaml

    data, _ = load_yaml(path)
    if not isinstance(data, dict):
        raise SimError("must map indicator names to lists of phrases", file=path, line=1)
    table = {}
    for name, phrases in data.items():
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p for p in phrases):
            raise SimError(f"{name}: give a list of phrases, one a line", file=path)
        pats = [(re.compile(".{0,12}".join(re.escape(_match_form(s)) for s in p.split("…"))),
                 len(p.replace("…", ""))) for p in phrases if not p.startswith("!")]
        table[name] = (pats, [_match_form(p[1:]) for p in phrases if p.startswith("!")])
    return table


def synonyms_path() -> Path:
    """The synonym table: a project's own models/synonyms.yaml in or above the current folder, which
    may name indicators of its own, else the one shipped beside this module as package data, so that
    sim extract works from any folder and from an installed wheel. (Setuptools installs packages
    unzipped, so the shipped table is a file with a path, which the YAML loader's messages name.)"""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "models" / "synonyms.yaml").is_file():
            return folder / "models" / "synonyms.yaml"
    return Path(__file__).with_name("synonyms.yaml")


def dimension(unit: str) -> str:
    """percent, pp, money, count or other: what an indicator's unit must be."""
    if unit in ("%", "‰"):
        return "percent"
    if unit in ("个百分点", "百分点"):
        return "pp"
    if unit.endswith("元") or unit in ("亿", "万亿", "千亿"):
        return "money"
    if re.fullmatch(r"(?:万|亿)?(?:家|个|座|户|所)", unit):
        return "count"
    return "other"


def _fits(name: str, unit: str, base: str | int | None) -> bool:
    """Whether a figure in ``unit`` with ``base`` can be indicator ``name`` (by the naming of
    calibration/data/README.md: *_growth and *_change in % on the year, *_since_YYYY in % since a
    year, shares in % or in points on the year, counts of firms or stations, money levels)."""
    dim = dimension(unit)
    since = re.search(r"_since_(\d{4})$", name)
    if since:
        return dim == "percent" and base == int(since[1])
    if name.endswith(("_growth", "_change")):
        return dim == "percent" and base == "yoy"
    if name.endswith(("_share", "_coverage", "_contribution")):
        return (dim == "percent" and base == "level") or (dim == "pp" and base == "yoy")
    if name.endswith(("_count", "_firms", "_stations")):
        return dim == "count" and base == "level"
    return dim == "money" and base == "level"


def map_indicator(text: str, unit: str, base: str | int | None, synonyms: Path | None = None) -> str | None:
    """The indicator a phrase names, by the longest matching phrase of the synonym table among the
    indicators the unit and base fit; None when none does."""
    table = _load_synonyms(synonyms or synonyms_path())
    form, best = _match_form(text), (0, None)
    for name, (patterns, vetoes) in table.items():
        if not _fits(name, unit, base) or any(v in form for v in vetoes):
            continue
        for pattern, length in patterns:
            if length > best[0] and pattern.search(form):
                best = (length, name)
    return best[1]


# --- extraction ----------------------------------------------------------------------------------

def _section(paragraph: str, lead_years: list[int], date: dt.date | None
             ) -> tuple[str, int | None] | None:
    """A paragraph that opens with a year (2024年以来, 2025年是…, 2025年,重庆将…) starts a section
    about that year: an account of it (actuals) or a plan for it (targets)."""
    m = re.match(r"\s*(?:做好)?(20\d\d)\s*年(?!\d)", paragraph)
    if not m:
        return None
    year, first = int(m[1]), re.split(r"[。;]", paragraph, maxsplit=1)[0]
    if re.search(r"将|力争|展望|目标任务", first):
        return "target", year
    if re.search(r"以来|回顾|过去", first):
        return "actual", year
    if date is not None:
        return _tense(year, date), year
    return ("actual" if year < max(lead_years) else "target"), year


def _tense(year: int, date: dt.date) -> str:
    """What a text of ``date`` says about ``year``: actuals for past years (and for its own year
    from October on, when summaries are written), targets otherwise."""
    return "actual" if year < date.year or (year == date.year and date.month > 9) else "target"


def extract(text: str, *, document_date: dt.date | None = None, synonyms: Path | None = None) -> list[Record]:
    """Every figure of a policy text as a target or actual record, in the order of the text.

    Relative years (今年, 明年) are resolved against ``document_date``; without it their period is
    None. Identical records (a target restated in a later section) are kept once.
    """
    text = normalise(text)
    paragraphs = [p for p in text.split("\n") if p.strip()]
    lead_years = [int(m[1]) for p in paragraphs if (m := re.match(r"\s*(?:做好)?(20\d\d)\s*年(?!\d)", p))]
    plan_words = re.search(r"目标|力争|确保|要点|行动计划|意见|方案|计划|到20\d\d年", text)
    years = Counter(int(y) for y in _YEAR.findall(text))
    main_year = max(years, key=lambda y: (years[y], y)) if years else None  # 现就2024年…: the plan's year
    kind, section_year = ("target" if plan_words else "actual"), main_year
    if document_date and main_year:
        kind = _tense(main_year, document_date)
    records: list[Record] = []
    seen: dict[tuple, set[int | None]] = {}
    for paragraph in paragraphs:
        section = _section(paragraph, lead_years, document_date)
        if section:
            kind, section_year = section
        months = None  # 1—11月,A增长7.6%。B增长11.3%。: a sentence opening with a growth rate shares it
        for sentence in re.split(r"(?<=[。;!?])", paragraph):
            said, opening = None, sentence.lstrip(" ,")
            for record in _sentence_records(sentence, kind, section_year, document_date, synonyms):
                if (not record.months and months and opening.startswith(record.clause[:6])
                        and record.base in ("yoy", None) and dimension(record.unit) in ("percent", "pp")):
                    record = dataclasses.replace(record, months=months)
                said = record.months or said
                key = (record.kind, record.indicator or _match_form(record.indicator_text), record.value,
                       record.unit, record.base, record.months)
                periods = seen.setdefault(key, set())
                if not periods or (record.period is not None and None not in periods
                                   and record.period not in periods):
                    periods.add(record.period)
                    records.append(record)
            if opening:
                months = said
    return records


_GROUP = re.compile(r"分别|(?<!亩)均(?=超|为|达|增长|高于|低于|在|保持|实现|突破)")


def _subjects(fragment: str, found: list) -> tuple[int, list[list[str]]] | None:
    """A和B分别增长9.8%和14.5%, A和B均超99%: where the shared words start, and the subjects of each
    figure after them (one each, or all of them for a single figure)."""
    group = _GROUP.search(fragment)
    n = sum(m.start() >= group.end() for m, _, _ in found) if group else 0
    if not n:
        return None
    subject = _clean(re.sub(rf"(?:{_NUM})(?:个|家)", "", fragment[: group.start()]))
    parts = [p for p in re.split(r"和|、|及|与", subject) if p]
    if len(parts) < 2 or n not in (1, len(parts)):
        return None
    head = next((h for h in _HEADS if parts[-1].endswith(h)), "")
    parts = [p if p.endswith(head) else p + head for p in parts]
    return group.end(), [parts] if n == 1 else [[p] for p in parts]


def _sentence_records(sentence: str, section_kind: str, section_year: int | None,
                      date: dt.date | None, synonyms: Path | None) -> Iterator[Record]:
    fragments = [f for f in re.split(r"(?<=[,:;。!?])", sentence) if f.strip()]
    offset, prev_phrase, prev_fragment, prev_end = 0, "", 0, 0
    for i, fragment in enumerate(fragments):
        found = list(_figures(fragment))
        special = _TWO_DIGITS.search(fragment)
        if special and not found:
            found = [(special, 10, "%")]
        group, k, last_end = _subjects(fragment, found), 0, 0
        for m, value, unit in found:
            before, local = sentence[: offset + m.start()], fragment[last_end: m.start()]
            noun = "" if m.re is _TWO_DIGITS or dimension(unit) in ("percent", "pp") else _noun_after(
                fragment[m.end():])
            inner = _FIGURE.search(noun)
            descriptor = bool(inner and inner.start() > 0) and dimension(unit) != "money"  # 126家培育企业…
            if descriptor:
                noun = noun[: inner.start()]
            last_end, source = m.end(), i
            if group and m.start() >= group[0]:
                phrases, k = group[1][k], k + 1
                local = fragment[group[0]: m.start()]  # 分别增长9.8%和14.5%: both are growth rates
            else:
                phrase = _clean(local)
                if noun and re.fullmatch(r"[\u4e00-\u9fff]{0,4}", phrase):  # 新增70家市级智能工厂
                    phrase += noun
                    last_end += 0 if descriptor else len(noun)
                elif not phrase or _RELATIONAL.match(phrase):  # …增长10%,占全部投资比重30%
                    core = _TRAIL_GROWTH.sub("", re.sub(r"^\([^)]*\)", "", _NEW_VERBS.sub("", prev_phrase)))
                    if core:
                        phrase, source = f"({core}){phrase}", prev_fragment
                verb = _NEW_VERBS.match(prev_phrase.lstrip("(")) if prev_fragment == i else None
                own = re.search(r"^(新|争创|累计|现有|建成|\()|总数", phrase)  # its own verb or a stock
                if verb and not own:
                    phrase = f"({verb[1]}){phrase}"  # 新培育小巨人企业100家、专精特新企业1000家
                phrases = [phrase]
            said = sentence[: offset + m.end()]
            kind = "actual" if descriptor else _kind(before + local, said, section_kind)
            period, stated = period_of(before, date)
            modality = _MODALITY.findall(said) if kind == "target" else []
            since_last = sentence[prev_end: offset + m.start()]
            base = "yoy" if m.re is _TWO_DIGITS else _base_of(local, unit, since_last)
            clause = "".join(fragments[source: i + 1]).strip(",:;。!? —")
            comparator = _comparator(m, local, kind, noun)
            implied = kind == "target" and comparator is None  # 增长6.5%, 新增2家: a floor
            for text in phrases:
                yield Record(kind=kind, indicator=map_indicator(text, unit, base, synonyms),
                             indicator_text=text, value=value, unit=unit,
                             comparator=">=" if implied else comparator, implied=implied,
                             modality=modality[-1] if modality else None, base=base,
                             period=period if stated else section_year, months=months_of(before + local),
                             clause=clause)
            prev_phrase, prev_fragment, prev_end = phrases[-1], i, offset + m.end()
        offset += len(fragment)


def _kind(before: str, said: str, section_kind: str) -> str:
    """Months (1—11月) mark an actual; 力争, 确保, 明年, 到2025年 a target; 以来, 去年, 现有, 预计全年
    an actual; otherwise the section decides."""
    if months_of(before):
        return "actual"
    if _TARGET_CUES.search(said):
        return "target"
    return "actual" if _ACTUAL_CUES.search(before) else section_kind


def _comparator(m: re.Match, local: str, kind: str, noun: str = "") -> str | None:
    """左右 → about; 以上, 突破, 超过, 不低(于), 余, 多, a range (3至5个) → >=; 以下, 不超过 → <=;
    近, 约 → about; 达到 → >= for a target, exact for an actual; None when the text says none. Before
    a noun 突破 is the verb 'achieve a breakthrough in' (突破66项关键技术), not a bound."""
    if m.re is _TWO_DIGITS:
        return ">="
    if m["suffix"] == "左右":
        return "about"
    if m["suffix"] == "以上" or m["approx"] or m["approx2"] or m["num2"]:
        return ">="
    if m["suffix"] in ("以下", "以内"):
        return "<="
    if re.search(r"(不超过|不高于?|控制在)$", local):
        return "<="
    if re.search(r"(超过|超|不低于?|不少于?|以上)$", local) or (local.endswith("突破") and not noun):
        return ">="
    if re.search(r"(近|约|接近|大约)$", local):
        return "about"
    if kind == "target" and re.search(r"(达到|达)$", local):
        return ">="
    return None


# --- files ---------------------------------------------------------------------------------------

def read_document(path: str | Path) -> str:
    """The text of a document, or a one-line error saying what is wrong with the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SimError(f"cannot read the file ({err.strerror}); check the path", file=path) from None
    if len(raw) > MAX_BYTES:
        raise SimError(f"file is {len(raw):,} bytes, more than the {MAX_BYTES:,} a policy text needs; "
                       "is it the right file?", file=path)
    if not raw.strip():
        raise SimError("file is empty; give a policy text", file=path)
    if b"\x00" in raw or sum(b < 9 or 13 < b < 32 for b in raw[:4096]) > 8:
        raise SimError("is a binary file, not text; give the policy text as a UTF-8 .txt file", file=path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        raise SimError("is not UTF-8 text; save it as UTF-8", file=path) from None
    raise SimError("is not UTF-8 (it looks GBK/GB18030-encoded); save it as UTF-8", file=path)


def extract_file(path: str | Path, *, document_date: dt.date | None = None,
                 synonyms: Path | None = None) -> list[Record]:
    """:func:`extract` on a file; a file without a single figure is an error, not an empty list."""
    records = extract(read_document(path), document_date=document_date, synonyms=synonyms)
    if not records:
        raise SimError("found no figures (a number with a unit such as %, 亿元, 家); is it the right "
                       "document?", file=path)
    return records


# --- the draft scenario file ---------------------------------------------------------------------

_WORDS = {">=": "at least", ">": "over", "<=": "at most", "<": "under", "about": "about"}
_ZH_SUFFIX = {">=": "以上", ">": "以上", "<=": "以下", "<": "以下", "about": "左右"}
_MEASURE_WORDS = {"level": "", "growth": " growth on the year", "change_since": " change since {}",
                  "difference_since": " change since {}"}
_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "about": "about"}


def _as_target(rec: Record, model: Any, year: int, source: str
               ) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(id, target, notes) for a record, or raise ValueError saying why it cannot be one. The notes
    are the assumptions made, by the key they concern: they go in comments on those lines, since the
    scenario loader forbids unknown keys."""
    from pydantic import ValidationError

    from sim.spec import ScenarioFile

    if rec.indicator is None:
        raise ValueError(f"no indicator of the synonym table is {rec.indicator_text!r} in {rec.unit}")
    if rec.period is not None and rec.period != year:
        raise ValueError(f"a target for {rec.period}, not {year}")
    measure, base_year, name = "level", None, None
    for ind_name, ind in model.indicators.items():
        since = ind.growth_data and re.fullmatch(rf"{ind.growth_data}_since_(\d{{4}})", rec.indicator)
        if rec.indicator == (ind.data or ind_name):
            name = ind_name
            if ind.kind == "share" and rec.base == "yoy":  # 占比提高1个百分点
                measure, base_year = "difference_since", year - 1
        elif rec.indicator == ind.growth_data:
            name, measure = ind_name, "growth"
        elif since:
            name, measure, base_year = ind_name, "change_since", int(since[1])
        if name:
            break
    if name is None:
        raise ValueError(f"{rec.indicator} is not an indicator of model {model.name!r}")
    notes = {} if rec.period else {"year": f"the text states no year; {year} assumed"}
    value, comparator = rec.value, rec.comparator
    fall = rec.base not in ("level", None) and bool(re.search(r"(下降|降低|减少|回落)$", rec.indicator_text))
    if fall:
        value, comparator = -value, _FLIP[comparator]
    if rec.implied:
        notes["comparator"] = "implied: a bare figure read as a floor" + (
            f" (a fall of at least {rec.value:g}{rec.unit})" if fall else "")
    unit = "pp" if rec.unit in ("个百分点", "百分点") and measure == "difference_since" else rec.unit
    suffix = "" if rec.implied else _ZH_SUFFIX[rec.comparator]  # the clause's words, not ours
    target = {"name_zh": f"{rec.indicator_text}{rec.value:g}{rec.unit}{suffix}",
              "name_en": f"{model.indicators[name].name_en}: {_WORDS[comparator]} {value:g}"
                         f"{'' if unit in ('%', 'pp') else ' '}{unit}"
                         f"{_MEASURE_WORDS[measure].format(base_year)}",
              "indicator": name, "year": year, "measure": measure, "base_year": base_year,
              "comparator": comparator, "value": value, "unit": unit, "modality": rec.modality,
              "clause": rec.clause, "source": source}
    target = {k: v for k, v in target.items() if v is not None and not (k == "measure" and v == "level")}
    probe = {"region": "x", "year": year, "model": model.name, "targets": {name: target},
             "scenarios": {"baseline": {"weight": 1.0}}}
    try:
        ScenarioFile.model_validate(probe).check_against(model)
    except ValidationError as err:
        raise ValueError(err.errors()[0]["msg"]) from None
    except SimError as err:
        raise ValueError(err.message) from None
    return name, target, notes


def _yaml_scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def draft_scenario(records: list[Record], *, region: str, year: int, model: Any, source: str,
                   note: str = "") -> str:
    """The text of a scenario file holding the records that are targets of the model for ``year``,
    with every other target listed in a comment and why."""
    targets: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    skipped: list[tuple[Record, str]] = []
    for rec in records:
        if rec.kind != "target":
            continue
        try:
            name, target, notes = _as_target(rec, model, year, source)
        except ValueError as err:
            skipped.append((rec, str(err)))
            continue
        key, n = name, 2
        while key in targets:
            key, n = f"{name}_{n}", n + 1
        targets[key] = target, notes
    if not targets:
        raise SimError(f"none of the {sum(r.kind == 'target' for r in records)} targets found is one of "
                       f"model {model.name!r} for {year}; nothing to write (sim extract --json lists them)",
                       file=source)
    lines = [f"# Draft by `sim extract` from {source}: check every target against its clause.",
             f"# {sum(r.kind == 'actual' for r in records)} figures read as actuals are not listed here.",
             *([f"# {note}"] if note else []),
             f"region: {_yaml_scalar(region)}", f"year: {year}", f"model: {model.name}", "", "targets:"]
    for key, (target, notes) in targets.items():
        lines.append(f"  {key}:")
        lines += [f"    {k}: {_yaml_scalar(v)}" + (f"  # {notes[k]}" if k in notes else "")
                  for k, v in target.items()]
    lines += ["", "scenarios:", "  baseline:", "    weight: 1.0",
              "    description: The calibrated processes as they are."]
    if skipped:
        lines += ["", "# not mapped: targets of the text the model does not simulate (clause: why)"]
        lines += [f"#   {rec.clause}  [{rec.value:g}{rec.unit}]: {why}" for rec, why in skipped]
    return "\n".join(lines) + "\n"


# --- command line --------------------------------------------------------------------------------

def run_extract(args: argparse.Namespace) -> int:
    """The ``sim extract`` command."""
    records = extract_file(args.document, document_date=args.date)
    if args.output:
        _write_scenario(records, args)
    elif args.json:
        print(json.dumps([r.to_dict() for r in records], ensure_ascii=False, indent=1))
    else:
        print(table(records))
    return 0


def _write_scenario(records: list[Record], args: argparse.Namespace) -> None:
    from sim.spec import ModelSpec, ScenarioFile, find_root

    if args.region is None or args.year is None:
        raise SimError("-o needs --region and --year (the scenario file's region and target year)")
    out = Path(args.output)
    root = find_root(out.resolve())
    model = ModelSpec.load(root / "models" / f"{args.model}.yaml")
    params = root / "calibration" / "params" / f"{args.region.lower()}.yaml"
    note = "" if params.is_file() else (f"calibration/params/{params.name} does not exist yet: run "
                                        f"sim calibrate --region {args.region} before sim run")
    text = draft_scenario(records, region=args.region, year=args.year, model=model,
                          source=Path(args.document).name, note=note)

    def check(tmp: Path) -> None:
        ScenarioFile.load(tmp).check_against(model)

    write_text(out, text, force=args.force, check=check)
    n = text.split("\nscenarios:")[0].count("\n    indicator: ")  # one per target
    print(f"wrote {out}: {n} targets; the others are listed under '# not mapped'", file=sys.stderr)


def table(records: list[Record]) -> str:
    """The records as a table a person reads."""
    rows = [["kind", "indicator", "value", "cmp", "modality", "base", "period", "months", "phrase"]]
    for r in records:
        rows.append([r.kind, r.indicator or "—", f"{r.value:g} {r.unit}",
                     f"{r.comparator} (implied)" if r.implied else r.comparator or "",
                     r.modality or "", str(r.base or ""), str(r.period or ""), r.months or "",
                     r.indicator_text])

    return "\n".join(grid(rows))
