"""The report folder: every file there, readable, written atomically, never overwritten by accident."""

import html
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xarray as xr

import sim
from sim import labels, report
from sim.analysis import required_growth, sensitivity
from sim.errors import SimError
from sim.track import track
from tests.conftest import ROOT
from tests.test_charts import make_rich_project
from tests.test_track import make_tracked_project

# In a Chinese report: names of programs, of the fixture's region and of a scenario with no Chinese name,
# and identifiers (target and process ids) are not English words
ZH_ALLOWED = re.compile(r"\b(?:SHA|Python|sim|numpy|numba|statsmodels|xarray|pandas|scipy|matplotlib|"
                        r"h5netcdf|h5py|netCDF4|openpyxl|Testland|shifted)\b|\b[a-z0-9]+(?:_[a-z0-9]+)+\b",
                        re.ASCII)
FILES = {"index.html", "probabilities.csv", "quantiles.csv", "report.xlsx", "results.nc"}
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def rich_path(tmp_path_factory):
    return make_rich_project(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def rich(rich_path):
    return sim.run(rich_path, paths=4000, seed=7)


@pytest.fixture(scope="module")
def analyses(rich_path, tmp_path_factory):
    """Required growth and sensitivity of the rich file (an assumption that moves nothing added), and
    a track through 2023 of a project with figures published in the year."""
    req = required_growth(rich_path, paths=4000, seed=7)
    sens = sensitivity(rich_path, paths=4000, seed=7)
    still = sens.drop_duplicates("target").assign(assumption="h mean", process="h", moved="mean", size=1.0,
                                                   unit="%", swing=0.0, p_low=sens["p_base"].iloc[0],
                                                   p_high=sens["p_base"].iloc[0])
    tracked = track(make_tracked_project(tmp_path_factory.mktemp("tracked")), paths=2000, seed=7)
    return req, pd.concat([sens, still], ignore_index=True), tracked


@pytest.fixture(scope="module")
def written(rich, analyses, tmp_path_factory):
    """One report, with the analyses, extra tables and observations, shared by the read-only tests."""
    out = tmp_path_factory.mktemp("written") / "report"
    extra = {"Planner's table": pd.DataFrame({"target": ["level_k"], "required growth (%)": [3.2]}),
             "Another table": pd.DataFrame({"shift": [-1.0, 0.0, 1.0], "P(level_k)": [0.7, 0.8, 0.9]})
             .set_index("shift")}
    obs = pd.DataFrame([{"region": "Testland", "indicator": "level", "period": 2020, "months": "1-12",
                         "value": 100.0, "unit": "亿元", "published": "2021-01-20",
                         "source": "test fixture http://example.invalid/a", "clause": "水平100亿元"}])
    req, sens, tracked = analyses
    path = report.write_report(rich, out, extra_tables=extra, observations=obs, required=req,
                               sensitivity=sens, track=tracked)
    return path


@pytest.fixture(scope="module")
def written_zh(rich, analyses, tmp_path_factory):
    req, sens, tracked = analyses
    return report.write_report(rich, tmp_path_factory.mktemp("zh") / "report", lang="zh", required=req,
                               sensitivity=sens, track=tracked)


def _html(folder):
    return (folder / "index.html").read_text(encoding="utf-8")


def test_report_holds_every_file_and_nothing_else(written):
    assert {p.name for p in written.iterdir()} == FILES
    leftovers = [p.name for p in written.parent.iterdir() if p.name != written.name]
    assert leftovers == []  # no temporary or old folders beside it


def test_index_html_is_self_contained_and_complete(written, rich):
    page = _html(written)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in page
    # nothing fetched from anywhere: no scripts, links, remote images or CSS imports
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page, re.IGNORECASE)
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    assert page.count('<img class="chart') == 3  # the track, the fans, the tornados
    assert '<img class="chart signature" alt="Through the year" src="data:image/png;base64,iVBORw0KGgo' in page
    assert '<img class="chart" alt="Fan charts" src="data:image/png;base64,iVBORw0KGgo' in page
    assert '<img class="chart" alt="Sensitivity" src="data:image/png;base64,iVBORw0KGgo' in page
    d = rich.data
    # the probability table: every target, the joint row, each scenario and the weighted mixture
    for target in d["target"].values:
        assert f">{str(target).replace('_', '_<wbr>')}<" in page
    for col in ("P(base)", "P(shifted)", "P(weighted)"):
        assert col in page
    p = d["probability"].sel(scenario="weighted", target="all").item()
    assert labels.probability(p, d["std_error"].sel(scenario="weighted", target="all").item()) in page
    # every target's clause and source document
    for clause in d["clause"].values[:-1]:
        assert str(clause) in page
    assert "test_<wbr>document.txt" in page
    # what was not simulated, and why
    assert rich.skipped and all(s.reason.split(";")[0][:30] in page.replace("_<wbr>", "_")
                                for s in rich.skipped)
    assert "企业数达到100家" in page  # the skipped target's clause, from the scenario file
    for note in rich.notes:
        assert note in page
    # assumptions from the scenario file, the input hashes, the observations and the run
    assert "growth one point higher, twice as volatile" in page and "g ×2" in page
    for sha in json.loads(d.attrs["inputs"]).values():
        assert sha in page
    assert "水平100亿元" in page and "2021-01-20" in page
    assert f"data-label=\"Value\">{d.attrs['seed']}</td>" in page and "4,000" in page
    for name in ("numpy", "numba", "statsmodels", "xarray"):
        assert f"Version of {name}" in page
    # the analyses, then the extra tables in the order given, with a meaningful index kept
    assert (page.index("Required growth") < page.index(">Sensitivity<") < page.index("Planner&#x27;s table")
            < page.index("Another table") < page.index("Targets, clauses"))
    assert ">shift<" in page and ">3.2<" in page


def test_csv_files(written, rich):
    probs = pd.read_csv(written / "probabilities.csv")
    assert len(probs) == len(rich.to_records())
    row = probs[(probs["target"] == "level_k") & (probs["scenario"] == "weighted")].iloc[0]
    assert row["probability"] == pytest.approx(rich.data["probability"].sel(scenario="weighted",
                                                                            target="level_k").item(), abs=1e-6)
    q = pd.read_csv(written / "quantiles.csv", keep_default_na=False)
    assert list(q.columns) == ["scenario", "indicator", "target", "measure", "year", "unit",
                               "p05", "p10", "p25", "p50", "p75", "p90", "p95"]
    fan = q[(q["scenario"] == "weighted") & (q["indicator"] == "level") & (q["target"] == "")]
    expected = rich.data["indicator_quantile"].sel(scenario="weighted", indicator="level", quantile=0.5)
    np.testing.assert_allclose(fan["p50"].to_numpy(), expected.sel(year=fan["year"].to_numpy()).to_numpy())


def test_netcdf_round_trips(written, rich):
    with xr.open_dataset(written / "results.nc") as back:
        back.load()
    np.testing.assert_array_equal(back["probability"].to_numpy(), rich.data["probability"].to_numpy())
    np.testing.assert_array_equal(back["std_error"].to_numpy(), rich.data["std_error"].to_numpy())
    xr.testing.assert_equal(back["probability"], rich.data["probability"])
    assert list(back["name_zh"].values) == list(rich.data["name_zh"].values)  # unicode survives
    assert back.attrs["seed"] == rich.data.attrs["seed"]
    with xr.open_dataset(written / "results.nc", group="history") as hist:
        assert hist["value"].values.tolist() == rich.history["value"].tolist()


def test_xlsx_has_one_sheet_per_table(written, rich):
    book = openpyxl.load_workbook(written / "report.xlsx", read_only=True)
    names = book.sheetnames
    for name in ("The answer", "Through the year", "Probabilities by scenario", "Targets, clauses and sources",
                 "Not simulated", "Notes", "Scenario assumptions", "Input files", "Observations", "Quantiles",
                 "Required growth", "Sensitivity", "Planner's table", "Another table", "Run"):
        assert name in names
    assert names.index("The answer") == 0
    assert names.index("Required growth") < names.index("Sensitivity") < names.index("Planner's table")
    book.close()
    probs = pd.read_excel(written / "report.xlsx", sheet_name="Probabilities by scenario")
    np.testing.assert_allclose(probs["P(weighted)"].to_numpy(),
                               rich.data["probability"].sel(scenario="weighted").to_numpy())
    sens = pd.read_excel(written / "report.xlsx", sheet_name="Another table")
    assert list(sens.columns) == ["shift", "P(level_k)"]


def test_xlsx_number_formats_frozen_headers_and_widths(written, rich):
    book = openpyxl.load_workbook(written / "report.xlsx")
    answer = book["The answer"]
    head = [c.value for c in answer[1]]
    p_col = head.index("probability") + 1
    cell = answer.cell(row=2, column=p_col)
    assert cell.value == pytest.approx(rich.data["probability"].sel(scenario="weighted").values[0])
    assert cell.number_format == "0.0%"
    assert answer.cell(row=2, column=head.index("std_error") + 1).number_format == "0.0%"
    probs = book["Probabilities by scenario"]
    phead = [c.value for c in probs[1]]
    assert probs.cell(row=2, column=phead.index("P(weighted)") + 1).number_format == "0.0%"
    assert probs.cell(row=2, column=phead.index("last_year") + 1).number_format != "0.0%"
    track_sheet = book["Through the year"]
    assert track_sheet.cell(row=2, column=2).number_format == "0.0%"
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
    name_col = answer.cell(row=1, column=head.index("Target") + 1).column_letter
    longest = max(len(str(c.value)) for c in answer[name_col])
    assert answer.column_dimensions[name_col].width >= longest


def test_chinese_report(rich, tmp_path):
    out = report.write_report(rich, tmp_path / "zh", lang="zh")
    page = _html(out)
    assert '<html lang="zh-CN">' in page
    assert "实现概率" in page and "条款原文" in page and "全部模拟目标同时实现" in page
    assert "P(加权)" in page and "P(基准)" in page
    assert "本报告未附观测数据" in page
    with pd.ExcelFile(out / "report.xlsx") as book:
        assert "结论" in book.sheet_names and "各情景实现概率" in book.sheet_names


def _text(html_fragment):
    return re.sub(r"<[^>]+>", "", html_fragment).replace("&#x27;", "'").replace("&amp;", "&")


def test_the_answer_comes_first(written, rich, analyses):
    page = _html(written)
    assert page.index('id="answer"') < page.index('id="track"') < page.index('id="probabilities"')
    assert page.index('id="track"') < page.index('id="fans"') < page.index('id="sensitivity"')
    answer = page[page.index('id="answer"'):page.index('id="track"')]
    d = rich.data
    for target in d["target"].values:
        p = d["probability"].sel(scenario="weighted", target=target).item()
        se = d["std_error"].sel(scenario="weighted", target=target).item()
        row = re.search(rf"<tr[^>]*><td[^>]*>{re.escape(report._name(rich, str(target), 'en'))}</td>.*?</tr>",
                        answer).group(0)
        assert labels.probability(p, se) in row
        assert f'class="verdict {labels.verdict(p)}">{labels.verdict_label(p, "en")}<' in row
        assert labels.grade(str(d["evidence"].sel(target=target).item()), "en") in row
    assert "on track if the probability is at least 90%" in answer and "unlikely below 50%" in answer
    # one sentence per simulated target at risk: the growth its required-growth row gives for 80%
    req = analyses[0]
    sentences = re.findall(r"<li>(.*?)</li>", answer)
    at_risk = [str(t) for t in d["target"].values if t != "all"
               and labels.verdict(d["probability"].sel(scenario="weighted", target=t).item()) != "on_track"]
    assert at_risk and len(sentences) == len(at_risk)
    for target, sentence in zip(at_risk, sentences, strict=True):
        row = req[(req["target"] == target) & (req["level"] == 0.8)].iloc[0]
        assert sentence.startswith(html.escape(report._name(rich, target, "en"), quote=True))
        assert f"{labels.growth(row['growth'])} in 2023 would give 80%" in _text(sentence) or \
            "no shift" in sentence or "already observed" in sentence


def test_a_chinese_report_has_no_english_heading_or_column(written_zh):
    """Every heading, column name and cell label of --lang zh is Chinese: identifiers (target ids,
    process ids), the names of programs and versions, and P(·) excepted."""
    page = _html(written_zh)
    allowed = ZH_ALLOWED
    shown = re.findall(r"<h[123][^>]*>(.*?)</h[123]>|<th[^>]*>(.*?)</th>|data-label=\"([^\"]*)\"|"
                       r"<title>(.*?)</title>|alt=\"([^\"]*)\"", page)
    texts = {_text(x) for group in shown for x in group if x}
    assert len(texts) > 40
    english = [x for x in texts if re.search(r"[A-Za-z]{3,}", allowed.sub("", x))]
    assert english == []
    # no English wording of the report anywhere on the page (names, notes, units, scenario names)
    body = _text(page[page.index("<body>"):])
    for key, text in labels.REPORT["en"].items():
        words = re.sub(r"\{[^}]*\}", "", text).strip(" .:;,")
        if len(words) >= 6 and key not in ("python", "sha256"):
            assert words not in body, key
    for word in ("weighted", "baseline", "on track", "at risk", "unlikely", "class rate", "own history"):
        assert word not in body


def test_grade_d_rows_show_the_class_rate_and_no_quantiles(tmp_path):
    res = sim.run(ROOT / "scenarios" / "qingdao-2024.yaml", paths=2000, seed=3)
    d = res.data
    graded_d = [str(t) for t, g in zip(d["target"].values, d["evidence"].values, strict=True) if g == "D"]
    assert graded_d and np.isnan(d["measure_quantile"].sel(target=graded_d[0]).values).all()
    for lang in ("en", "zh"):
        page = _html(report.write_report(res, tmp_path / lang, lang=lang))
        probs = page[page.index('id="probabilities"'):page.index('id="fans"')]
        target = graded_d[0]
        row = next(r for r in probs.split("<tr") if f">{target.replace('_', '_<wbr>')}</td>" in r)
        p, sd = d["probability"].sel(scenario="weighted", target=target).item(), d["posterior_sd"].sel(
            target=target).item()
        assert labels.probability(p, sd) in row and labels.grade("D", lang) in row
        assert "nan" not in row.lower() and "[" not in _text(row)  # no quantiles
        answer = page[page.index('id="answer"'):page.index('id="track"') if 'id="track"' in page
                      else page.index('id="probabilities"')]
        assert labels.grade("D", lang) in answer


def test_tornados_leave_out_what_moves_nothing(written, written_zh):
    page = _html(written)
    assert "Left out, as they move no probability: h mean ±1.0 pp." in page
    assert "以下假设不改变任何概率,未画出:h 均值 ±1.0个百分点。" in _html(written_zh)
    assert "<td>h mean" not in page  # no table of zeros


def test_scenarios_argument_overrides_descriptions(rich, tmp_path):
    out = report.write_report(rich, tmp_path / "r", scenarios={"base": "the planner's own words"})
    page = _html(out)
    assert "the planner&#x27;s own words" in page
    assert "growth one point higher" in page  # the other scenario still from the file


def test_existing_folder_is_refused_without_force(rich, tmp_path):
    out = tmp_path / "r"
    report.write_report(rich, out)
    stamp = (out / "index.html").read_bytes()
    with pytest.raises(SimError) as err:
        report.write_report(rich, out, lang="zh")
    assert "already exists" in str(err.value) and "force" in str(err.value)
    assert "\n" not in str(err.value)
    assert (out / "index.html").read_bytes() == stamp
    report.write_report(rich, out, lang="zh", force=True)
    assert '<html lang="zh-CN">' in _html(out)
    assert {p.name for p in tmp_path.iterdir()} == {"r"}


def test_force_never_replaces_what_is_not_a_report(rich, tmp_path):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.txt").write_text("precious")
    with pytest.raises(SimError, match="not a sim report"):
        report.write_report(rich, other, force=True)
    assert (other / "thesis.txt").read_text() == "precious"
    afile = tmp_path / "file.html"
    afile.write_text("x")
    with pytest.raises(SimError, match="not a folder"):
        report.write_report(rich, afile, force=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert {p.name for p in report.write_report(rich, empty, force=True).iterdir()} == FILES


def test_a_failure_leaves_nothing_half_written(rich, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    out = tmp_path / "r"
    monkeypatch.setattr(report, "_write_xlsx", broken)
    with pytest.raises(RuntimeError):
        report.write_report(rich, out)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    report.write_report(rich, out)
    stamp = (out / "index.html").read_bytes()
    monkeypatch.setattr(report, "_write_xlsx", broken)
    with pytest.raises(RuntimeError):
        report.write_report(rich, out, force=True)
    assert (out / "index.html").read_bytes() == stamp  # the old report is intact
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_bad_arguments_are_one_line_errors(rich, tmp_path):
    with pytest.raises(SimError, match="observations lack the column"):
        report.write_report(rich, tmp_path / "a", observations=pd.DataFrame({"region": ["x"]}))
    with pytest.raises(SimError, match="not a pandas DataFrame"):
        report.write_report(rich, tmp_path / "b", extra_tables={"x": [1, 2]})
    with pytest.raises(SimError, match="lang"):
        report.write_report(rich, tmp_path / "c", lang="fr")
    assert list(tmp_path.iterdir()) == []


def test_extra_tables_escape_their_contents(rich, tmp_path):
    nasty = pd.DataFrame({"<b>col</b>": ["<script>alert(1)</script>", "a\x07b"]})
    out = report.write_report(rich, tmp_path / "r", extra_tables={"<i>t</i>": nasty})
    page = _html(out)
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;i&gt;t&lt;/i&gt;" in page
    sheet = pd.read_excel(out / "report.xlsx", sheet_name="<i>t< i>")  # '/' is not allowed in a sheet name
    assert sheet["<b>col</b>"].tolist() == ["<script>alert(1)</script>", "ab"]  # control characters dropped


def _chromium(args, tmp_path):
    profile = tmp_path / "chromium-profile"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           "--enable-logging=stderr", "--v=0", "--hide-scrollbars", "--force-device-scale-factor=1", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


# Measures the laid-out page and writes what it found into it (the report itself has no script).
PROBE = """<script>
window.addEventListener("load", () => {
  const page = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("table")].map(t => t.getBoundingClientRect())
    .filter(r => r.width > page + 1 || r.right > page + 1).map(r => Math.round(r.width));
  const broken = [...document.querySelectorAll("img")].filter(i => !i.complete || i.naturalWidth === 0)
    .map(i => i.alt);
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({page, scroll: document.documentElement.scrollWidth, wide, broken,
                                    images: document.images.length});
  document.body.appendChild(out);
});
</script>"""
SIZES = {"desktop": (1400, 1000), "phone": (390, 844)}


def _screens(folder, tmp_path, name):
    """Screenshots of the report at desktop and phone width (kept under $SIM_TEST_ARTIFACTS when set),
    and the probe's measures at each width."""
    url = (folder / "index.html").resolve().as_uri()
    probe_page = folder.parent / f"{folder.name}-probe.html"
    probe_page.write_text(_html(folder).replace("</body>", PROBE + "</body>"), encoding="utf-8")
    found = {}
    for size, (width, height) in SIZES.items():
        shot = tmp_path / f"{name}-{size}.png"
        run = _chromium([f"--screenshot={shot}", f"--window-size={width},{height}", url], tmp_path / size)
        assert run.returncode == 0, run.stderr[-2000:]
        console = [line for line in run.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]
        assert console == []
        failed = [line for line in run.stderr.splitlines() if "net::ERR" in line or "Not allowed to load" in line]
        assert failed == []
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        from PIL import Image  # matplotlib depends on pillow

        with Image.open(io.BytesIO(data)) as img:
            assert img.size == (width, height)
            assert len(img.convert("L").getcolors(maxcolors=1 << 20) or []) > 10  # not a blank page
        if os.environ.get("SIM_TEST_ARTIFACTS"):
            keep = Path(os.environ["SIM_TEST_ARTIFACTS"])
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, keep / shot.name)
        dom = _chromium(["--dump-dom", "--virtual-time-budget=5000", f"--window-size={width},{height}",
                         probe_page.resolve().as_uri()], tmp_path / f"dom-{size}")
        assert dom.returncode == 0
        assert not [line for line in dom.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]
        measured = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout)
        assert measured, "the probe did not run"
        found[size] = (json.loads(html.unescape(measured.group(1))), dom.stdout)
    probe_page.unlink()
    return found


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (Debian: apt-get install chromium)")
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_in_a_real_browser_at_desktop_and_phone_width(written, written_zh, tmp_path, lang):
    """Rendered by headless Chromium at 1400 and 390 pixels: no console error, every image loaded, no
    table wider than the page, and in Chinese no English heading or column."""
    folder = written_zh if lang == "zh" else written
    for size, (probe, dom) in _screens(folder, tmp_path, f"report-{lang}").items():
        assert probe["broken"] == [], size
        assert probe["images"] == 3
        assert probe["wide"] == [], (size, probe)
        assert probe["scroll"] <= probe["page"] + 1, (size, probe)
        assert dom.count("<table") >= 8
        if lang == "zh":
            heads = {_text(h) for h in re.findall(r"<(?:h[123]|th)[^>]*>(.*?)</(?:h[123]|th)>", dom)}
            assert heads and not [h for h in heads if re.search(r"[A-Za-z]{3,}", ZH_ALLOWED.sub("", h))]


def test_netcdf_engine_is_available():
    assert report._netcdf_engine() in {"h5netcdf", "netcdf4"}



def test_a_track_without_results_says_why(rich, tmp_path):
    import datetime as dt

    from sim.track import Track

    empty = Track("Testland", 2023, 100, 1, [dt.date(2023, 1, 31)],
                  pd.DataFrame(columns=["as_of", "target", "probability", "std_error", "evidence", "new_data"]),
                  {}, notes=["2023-01-31: too few data by then"])
    page = _html(report.write_report(rich, tmp_path / "r", track=empty))
    assert "No track: 2023-01-31: too few data by then." in page
    assert 'class="chart signature"' not in page
    page = _html(report.write_report(rich, tmp_path / "s", track="a reason"))
    assert "No track: a reason." in page
