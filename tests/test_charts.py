"""Fan charts: the artists drawn are the dataset's numbers, and Chinese labels never become boxes."""

import io
import re
import shutil
import warnings
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

import sim
from sim import charts, labels
from sim.errors import SimError

FIXTURE = Path(__file__).parent / "fixtures" / "ar1"
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")

# The AR(1) fixture with targets of every kind on its level (one in 千亿元, so the chart converts from
# the model's 亿元; one whose base year is observed, one whose base year is simulated) and its rate.
RICH_SCENARIO = """\
region: Testland
year: 2023
model: ar1
title: 测试地区 2023 年目标
targets:
  level_k:
    name_zh: 水平达到0.11千亿元
    name_en: level at least 0.11 hundred billion
    indicator: level
    year: 2023
    comparator: ">="
    value: 0.11
    unit: 千亿元
    clause: 水平达到0.11千亿元
    source: test_document.txt
  level_since:
    name_zh: 水平比2020年增长12%左右
    name_en: level about 12% above 2020
    indicator: level
    year: 2023
    measure: change_since
    base_year: 2020
    comparator: about
    value: 12
    unit: "%"
    clause: 水平比2020年增长12%左右
    source: test_document.txt
  level_growth:
    name_zh: 水平增长3%以上
    name_en: level growth at least 3%
    indicator: level
    year: 2023
    measure: growth
    comparator: ">="
    value: 3
    unit: "%"
    clause: 水平增长3%以上
    source: test_document.txt
  rate_low:
    name_zh: 速度不超过0.06
    name_en: rate at most 0.06
    indicator: rate
    year: 2023
    comparator: "<="
    value: 0.06
    unit: "%"
    clause: 速度不超过0.06
    source: test_document.txt
  missing:
    name_zh: 企业数达到100家
    name_en: at least 100 firms
    year: 2023
    comparator: ">="
    value: 100
    unit: 家
    clause: 企业数达到100家
    source: test_document.txt
scenarios:
  base:
    weight: 0.5
    description: as calibrated
  shifted:
    weight: 0.5
    description: growth one point higher, twice as volatile
    shift: {g: 0.01}
    volatility: {g: 2.0}
"""


def make_rich_project(folder: Path) -> Path:
    """A copy of the fixture project with the rich scenario; returns the scenario file."""
    dest = folder / "project"
    shutil.copytree(FIXTURE, dest)
    path = dest / "scenarios" / "testland-rich.yaml"
    path.write_text(RICH_SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    path = make_rich_project(tmp_path_factory.mktemp("charts"))
    return sim.run(path, paths=4000, seed=7)


def _polys(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def _by_gid(ax, gid):
    return [a for a in [*ax.lines, *ax.collections, *ax.texts] if a.get_gid() == gid]


def _render_strict(fig):
    """Draw to PNG with every warning an error: a missing glyph (a box) would fail here."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def _all_text(fig):
    texts = [t.get_text() for t in fig.findobj(mpl.text.Text)]
    return "\n".join(texts)


def test_fan_chart_draws_bands_median_history_and_targets(rich):
    fig = charts.fan_chart(rich, "level", lang="en")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    polys = _polys(ax)
    assert len(polys) == 3
    assert {p.get_gid() for p in polys} == {"band-5-95", "band-10-90", "band-25-75"}
    # displayed in the first level target's unit: 1 千亿元 = 1000 亿元
    unit, factor = charts.display_unit(rich, "level")
    assert unit == "千亿元" and factor == pytest.approx(0.001)
    q = rich.data["indicator_quantile"].sel(scenario="weighted", indicator="level")
    (median,) = _by_gid(ax, "median")
    x, y = median.get_xdata(), median.get_ydata()
    np.testing.assert_array_equal(x, [2020, 2021, 2022, 2023])
    assert y[0] == pytest.approx(100 * factor)  # starts from the last observed value
    np.testing.assert_allclose(y[1:], q.sel(quantile=0.5, year=[2021, 2022, 2023]).to_numpy() * factor)
    # the outer band spans the 5th to 95th percentiles
    outer = next(p for p in polys if p.get_gid() == "band-5-95")
    ys = outer.get_paths()[0].vertices[:, 1]
    assert ys.max() == pytest.approx(float(q.sel(quantile=0.95).max()) * factor)
    assert ys.min() == pytest.approx(min(float(q.sel(quantile=0.05, year=[2021, 2022, 2023]).min()) * factor,
                                         100 * factor))
    # history and the last observed value
    (hist,) = _by_gid(ax, "history")
    assert list(hist.get_ydata()) == pytest.approx([0.1])
    (last,) = _by_gid(ax, "last-observed")
    assert (last.get_xdata()[0], last.get_ydata()[0]) == (2020, pytest.approx(0.1))
    # targets: 0.11 千亿元 directly; 12% over the observed 2020 level; growth over a simulated 2022 is not drawn
    (marker,) = _by_gid(ax, "target-level_k")
    assert marker.get_xdata()[0] == 2023 and marker.get_ydata()[0] == pytest.approx(0.11)
    (since,) = _by_gid(ax, "target-level_since")
    assert since.get_ydata()[0] == pytest.approx(0.1 * 1.12)
    assert _by_gid(ax, "target-line-level_k")
    assert not _by_gid(ax, "target-level_growth")
    (target_labels,) = _by_gid(ax, "target-labels")
    p = rich.data["probability"].sel(scenario="weighted", target="level_k").item()
    assert labels.percent(p) in target_labels.get_text()
    assert "not drawn" in target_labels.get_text()
    _render_strict(fig)


def test_rate_without_history_fans_over_the_files_year_only(rich):
    fig = charts.fan_chart(rich, "rate", scenario="shifted", lang="en")
    ax = fig.axes[0]
    assert len(_polys(ax)) == 3
    assert not _by_gid(ax, "history") and not _by_gid(ax, "last-observed")
    (median,) = _by_gid(ax, "median")
    q = rich.data["indicator_quantile"].sel(scenario="shifted", indicator="rate", quantile=0.5)
    # nothing observed: no year before the file's (2023) is worth a fan; one year is drawn as a box
    np.testing.assert_allclose(median.get_ydata(), [q.sel(year=2023).item()] * 2)
    assert median.get_xdata().tolist() == [2022.75, 2023.25]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks == [2023]  # years, never fractions of one
    (marker,) = _by_gid(ax, "target-rate_low")
    assert marker.get_ydata()[0] == pytest.approx(0.06)


def test_fan_starts_at_the_last_observed_year_and_history_keeps_its_gaps(tmp_path):
    """Observed in 2020 and 2022 (not 2021): the fan starts from 2022, the observed points are marked
    and 2020 is not joined to 2022 across the gap."""
    path = make_rich_project(tmp_path)
    with (path.parent.parent / "calibration" / "data" / "testland.csv").open("a", encoding="utf-8") as f:
        f.write("Testland,level,2022,1-12,108,亿元,,2023-02-15,test fixture,水平108亿元,\n")
    res = sim.run(path, paths=2000, seed=7)
    ax = charts.fan_chart(res, "level", lang="en").axes[0]
    (median,) = _by_gid(ax, "median")
    assert median.get_xdata().tolist() == [2022, 2023]
    (last,) = _by_gid(ax, "last-observed")
    assert (last.get_xdata()[0], last.get_ydata()[0]) == (2022, pytest.approx(0.108))
    (hist,) = _by_gid(ax, "history")
    xs = np.asarray(hist.get_xdata(), float)
    assert xs[0] == 2020 and np.isnan(xs[1]) and xs[2] == 2022  # a gap stays a gap
    assert hist.get_marker() == "o"  # every observed point marked
    assert not any(p.get_paths()[0].vertices[:, 0].min() < 2022 for p in _polys(ax))


def test_fan_chart_draws_into_a_given_axes_without_touching_global_state(rich):
    import matplotlib.pyplot as plt

    family = list(mpl.rcParams["font.family"])
    figures = plt.get_fignums()
    fig = Figure()
    ax = fig.add_subplot()
    assert charts.fan_chart(rich, "level", ax=ax, lang="zh") is fig
    charts.fan_grid(rich, lang="zh")
    charts.compare_fans(rich, "level", lang="zh")
    assert plt.get_fignums() == figures
    assert list(mpl.rcParams["font.family"]) == family


def test_fan_grid_has_one_panel_per_indicator(rich):
    fig = charts.fan_grid(rich, lang="en")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(rich.data["indicator"]) == 2
    assert sum(len(_polys(ax)) for ax in visible) == 6
    assert [ax.get_title(loc="left") for ax in visible] == ["a level", "the process itself"]
    assert fig.legends  # one shared legend
    _render_strict(fig)


def test_compare_fans_overlays_scenarios_in_distinct_colours(rich):
    fig = charts.compare_fans(rich, "level", lang="en")
    ax = fig.axes[0]
    assert len(_polys(ax)) == 4  # two bands for each of two scenarios
    colours = {tuple(np.round(p.get_facecolor()[0][:3], 3)) for p in _polys(ax)}
    assert len(colours) == 2
    _, factor = charts.display_unit(rich, "level")
    for k, scenario in enumerate(["base", "shifted"]):
        (median,) = _by_gid(ax, f"median-{k}")
        q = rich.data["indicator_quantile"].sel(scenario=scenario, indicator="level", quantile=0.5)
        np.testing.assert_allclose(median.get_ydata()[1:], q.sel(year=[2021, 2022, 2023]).to_numpy() * factor)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["base", "shifted"]
    _render_strict(fig)


def test_compare_fans_of_two_runs(rich, tmp_path):
    other = sim.run(make_rich_project(tmp_path), paths=4000, seed=8)
    fig = charts.compare_fans([rich, other], "level", scenarios="base", labels=["seed 7", "seed 8"], lang="en")
    ax = fig.axes[0]
    assert len(_polys(ax)) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["seed 7", "seed 8"]
    with pytest.raises(SimError, match="labels"):
        charts.compare_fans([rich, other], "level", labels=["only one"])
    default = charts.compare_fans([rich, rich], "level", lang="en")
    names = [t.get_text() for t in default.axes[0].get_legend().get_texts()][:2]
    assert len(set(names)) == 2  # same run twice: still told apart


def test_unknown_indicator_or_scenario_is_a_one_line_error(rich):
    with pytest.raises(SimError, match=r"no indicator 'nope'.*level, rate"):
        charts.fan_chart(rich, "nope")
    with pytest.raises(SimError, match="no scenario 'nope'"):
        charts.fan_chart(rich, "level", scenario="nope")
    with pytest.raises(SimError, match="lang"):
        charts.fan_chart(rich, "level", lang="fr")


def test_chinese_labels_never_render_as_boxes(rich):
    """With or without a CJK font: lang='zh' draws without a single missing-glyph warning."""
    for fig in (charts.fan_chart(rich, "level", lang="zh"), charts.fan_grid(rich, lang="zh"),
                charts.compare_fans(rich, "level", lang="zh")):
        _render_strict(fig)
        assert fig.sim_lang == ("zh" if charts.cjk_font() else "en")


def test_chinese_labels_with_a_cjk_font(rich):
    if charts.cjk_font() is None:
        pytest.skip("no CJK font installed (Debian: apt-get install fonts-noto-cjk)")
    fig = charts.fan_chart(rich, "level", lang="zh")
    assert fig.sim_lang == "zh"
    assert fig.axes[0].get_title(loc="left") == "水平"
    assert "目标" in _all_text(fig)
    _render_strict(fig)


def test_without_a_cjk_font_chinese_quietly_becomes_english(rich, monkeypatch):
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    assert charts.chart_language("zh") == "en"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = [charts.fan_chart(rich, "level", lang="zh"), charts.fan_grid(rich, lang="zh"),
                charts.compare_fans(rich, "level", lang="zh")]
    for fig in figs:
        assert fig.sim_lang == "en"
        text = _all_text(fig)
        assert not CJK.search(text), CJK.findall(text)
        assert "no Chinese (CJK) font installed" in text
        _render_strict(fig)
    assert figs[0].axes[0].get_title(loc="left") == "a level"
    assert "100 bn yuan" in figs[0].axes[0].get_ylabel()


def test_cjk_font_detection_finds_an_installed_font():
    found = charts.cjk_font()
    if found is None:
        pytest.skip("no CJK font installed (Debian: apt-get install fonts-noto-cjk)")
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family=found), fallback_to_default=False)
    assert charts._has_chinese(path)


def test_tornados_draw_only_the_assumptions_that_move_a_probability():
    import pandas as pd

    def row(target, process, swing):
        return {"target": target, "assumption": f"{process} mean", "step": "±1", "p_low": 0.5 - swing / 2,
                "p_base": 0.5, "p_high": 0.5 + swing / 2, "swing": swing, "process": process, "moved": "mean",
                "size": 1.0, "unit": "%"}

    table = pd.DataFrame([row("t1", "g", 0.2), row("t1", "h", 0.0), row("t2", "g", 0.0), row("t2", "h", 0.0)])
    fig = charts.tornado_grid(table, ["t1", "t2"], lang="en", names={"t1": "Target one"})
    first, second = fig.axes[:2]
    assert [t.get_text() for t in first.get_yticklabels()] == ["g mean ±1.0 pp"]
    assert len(first.patches) == 2  # one bar down, one up
    assert first.get_title(loc="left") == "Target one (base 50%)"
    assert _by_gid(second, "no-move") and not second.patches
    assert charts.unmoving(table) == ["h mean ±1.0 pp"]
    assert charts.unmoving(table, "zh") == ["h 均值 ±1.0个百分点"]
    _render_strict(fig)
