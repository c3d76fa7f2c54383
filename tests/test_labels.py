"""Wording and numbers: one module, both languages, numbers to the digit they support."""

import re
from types import SimpleNamespace

import pytest

import sim
from sim import charts, cli, labels, report
from sim.spec import ModelSpec
from tests.conftest import ROOT

ASCII_WORD = re.compile(r"[A-Za-z]{3,}")
IDENTIFIER = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", re.ASCII)  # process and indicator ids stay as they are


@pytest.mark.parametrize("p, se, text", [
    (0.63712, 0.0031, "63.7% ± 0.3"),      # error in the first decimal: one decimal
    (0.99621, 0.00021, "99.62% ± 0.02"),   # in the second: two
    (0.947, 0.036, "95% ± 4"),             # whole points (a class rate's posterior sd)
    (0.5, 0.0004, "50.00% ± 0.04"),
    (0.26721, 0.000999, "26.7% ± 0.1"),    # an error that shows as 0.1 supports one decimal
    (1.0, 0.0, "100.0% ± 0.0"),
    (float("nan"), 0.01, "—"),
])
def test_probability_has_the_digits_its_error_supports(p, se, text):
    assert labels.probability(p, se) == text


def test_growth_levels_points_and_shifts():
    assert labels.growth(6.456) == "6.5%" and labels.growth(-0.512317) == "-0.5%"
    assert labels.level(10189.4, "亿元", "zh") == "10,189亿元"
    assert labels.level(1.0189, "万亿元", "zh") == "1.02万亿元"
    assert labels.level(8650, "家", "zh") == "8,650家"
    assert labels.level(100, "亿元", "en") == "10 bn yuan"  # 100亿元 said as English speakers say it
    assert labels.level(8650, "家", "en") == "8,650 firms"
    assert labels.points(1.234, "zh") == "+1.2个百分点" and labels.points(-0.5, "en") == "-0.5 pp"
    assert labels.shift(0.01, "log", "en") == "+1.0 pp"  # a log change ×100
    assert labels.shift(-2.0, "%", "zh") == "-2.0个百分点"
    assert labels.value(9.696462, "%", "en") == "9.7%"
    assert labels.number(0.52954) == "0.53" and labels.number(123.456) == "123.5"
    assert labels.number(float("nan")) == "—"
    assert labels.interval(9.7, -2.3, 21.7, "%", "en") == "9.7% [-2.3, 21.7]"
    assert labels.interval(1.0612, 1.031, 1.08, "万亿元", "en") == "1.06 trn yuan [1.03, 1.08]"
    assert labels.interval(1165, 1075, 1271, "亿元", "en") == "116.5 bn yuan [107.5, 127.1]"
    assert labels.interval(10445, 7971, 13719, "家", "zh") == "10,445家 [7,971, 13,719]"
    assert labels.stated(6.5, "%", "zh") == "6.5%" and labels.stated(1, "万亿元", "zh") == "1万亿元"


def test_verdict_bands():
    assert (labels.ON_TRACK, labels.AT_RISK) == (0.9, 0.5)
    assert labels.verdict(0.9) == "on_track" and labels.verdict(0.8999) == "at_risk"
    assert labels.verdict(0.5) == "at_risk" and labels.verdict(0.4999) == "unlikely"
    assert labels.verdict_label(0.95, "zh") == "有望实现" and labels.verdict_label(0.2, "en") == "unlikely"
    assert labels.verdict_label(float("nan"), "en") == "—"
    # with its error, the verdict of the probability as shown: 49.996% ± 0.1 reads 50.0%, at risk
    assert labels.probability(0.49996, 0.001) == "50.0% ± 0.1"
    assert labels.verdict(0.49996, 0.001) == "at_risk" and labels.verdict(0.49996) == "unlikely"
    assert labels.verdict(0.8951, 0.04) == "on_track"  # "90% ± 4"


def test_scenario_region_and_grade_names():
    assert labels.scenario("baseline", "zh") == "基准" and labels.scenario("base", "zh") == "基准"
    assert labels.scenario("downside", "zh") == "下行" and labels.scenario("upside", "zh") == "上行"
    assert labels.scenario("my_case", "zh") == "my_case"  # unknown names pass through
    assert labels.scenario("baseline", "en") == "baseline"
    assert labels.region("Qingdao", "zh") == "青岛" and labels.region("Qingdao", "en") == "Qingdao"
    assert labels.grade("D", "en") == "D · class rate" and labels.grade("A", "zh") == "A · 自身历史"
    assert set(labels.GRADES["en"]) == set(labels.GRADES["zh"]) == set("ABCD")


def test_both_languages_have_every_key():
    for table in (labels.REPORT, labels.CHART, labels.TABLE, labels.TRACK, labels.VERDICTS, labels.MEASURE):
        assert set(table["en"]) == set(table["zh"])


def test_the_old_copies_are_gone():
    """Wording and number formats live in sim.labels only."""
    for module in (cli, report, charts):
        for name in ("_num", "_prob", "_prob_text", "_pct", "SCENARIO_ZH", "UNIT_EN", "UNIT_ZH", "LABELS",
                     "TEXT", "L", "MEASURE_TEXT", "COMPARATOR_TEXT", "_SYMBOL", "_display_unit"):
            assert not hasattr(module, name), f"sim.{module.__name__}.{name}"


def test_the_models_notes_bases_and_reasons_read_in_chinese():
    """Every note, basis and reason for not simulating the shipped Qingdao file produces has a Chinese wording (a change of wording
    in sim/plan.py that labels does not know fails here)."""
    res = sim.run(ROOT / "scenarios" / "qingdao-2024.yaml", paths=1000, seed=1)
    texts = ([labels.note(n, "zh") for n in res.notes]
             + [labels.basis(str(b), "zh") for b in res.data["basis"].values]
             + [labels.reason(x.reason, "zh") for x in res.skipped])
    assert res.skipped
    assert len(res.notes) >= 3
    families = ModelSpec.load(ROOT / "models" / "industry.yaml").families  # ids, as process ids are
    for text in texts:
        bare = IDENTIFIER.sub("", text)
        for family in families:
            bare = re.sub(rf"\b{family}\b", "", bare, flags=re.ASCII)
        assert not ASCII_WORD.search(bare), text
    assert labels.note("a note of a new kind", "zh") == "a note of a new kind"  # never lost


def test_assumption_text():
    row = SimpleNamespace(process="iva_spread", moved="mean", size=1.0, unit="%")
    assert labels.assumption(row, "en") == "iva_spread mean ±1.0 pp"
    vol = SimpleNamespace(process="g", moved="volatility", size=1.5, unit="log")
    assert labels.assumption(vol, "zh") == "g 波动 ÷/×1.5"


def test_unknown_language_is_a_one_line_error():
    with pytest.raises(sim.SimError, match="lang must be"):
        labels.check("fr")
